"""Sentence embeddings: the packaged model, in-process and loaded beside the work in a child."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Sequence

import numpy as np
import pytest

from storyline.annotate.embeddings import (
    DIMENSIONS,
    PRECISION_VARIABLE,
    Embedder,
    Matrix,
    SentenceVectors,
    cpu_has_bfloat16,
    embed,
    model_in_background,
    pack_vectors,
    precision,
    text_key,
    unpack_vectors,
)
from storyline.errors import UsageError

SENTENCES = [
    "The river authority signed the water-sharing deal on Tuesday.",
    "On Tuesday the deal on sharing the river's water was signed by the authority.",
    "A late frost ruined most of the apple harvest in the hills.",
]


def test_vectors_are_normalised_and_put_paraphrases_together() -> None:
    vectors = embed(SENTENCES)
    assert vectors.shape == (3, DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > 0.8 > 0.3 > vectors[0] @ vectors[2]


def test_bfloat16_is_used_only_where_the_cpu_has_it_and_gives_float32s_vectors_closely(
        monkeypatch: pytest.MonkeyPatch) -> None:
    texts = SENTENCES + ["Ministers from the three valley states met again in the spring, and "
                         "their engineers agreed on how much water each reservoir may release."]
    monkeypatch.delenv(PRECISION_VARIABLE, raising=False)
    assert precision() == ("bfloat16" if cpu_has_bfloat16() else "float32")
    native = embed(texts)
    monkeypatch.setenv(PRECISION_VARIABLE, "float32")
    assert precision() == "float32"
    exact = embed(texts)
    assert native.dtype == exact.dtype == np.float32
    assert np.array_equal(native, exact) != cpu_has_bfloat16()  # bfloat16 ran where it could
    assert np.all(np.sum(native * exact, axis=1) > 0.9995)
    assert np.abs(native @ native.T - exact @ exact.T).max() < 0.01  # the similarities agree
    monkeypatch.setenv(PRECISION_VARIABLE, "half")
    with pytest.raises(UsageError, match=PRECISION_VARIABLE):
        precision()


def test_empty_input_gives_an_empty_matrix() -> None:
    assert embed([]).shape == (0, DIMENSIONS)


def _fake_embedder(calls: list[list[str]]) -> Embedder:
    """Rows that identify the sentence (its length), and a record of each call."""
    def fake(sentences: Sequence[str]) -> Matrix:
        calls.append(list(sentences))
        rows = np.zeros((len(sentences), DIMENSIONS), dtype=np.float32)
        rows[:, 0] = [len(s) for s in sentences]
        return rows
    return fake


def test_sentence_vectors_embed_what_is_missing_in_one_call() -> None:
    calls: list[list[str]] = []
    vectors = SentenceVectors(_fake_embedder(calls))
    first = vectors(["aa", "b", "aa"])
    assert calls == [["aa", "b"]] and first[:, 0].tolist() == [2, 1, 2]
    second = vectors(["b", "cccc", "dd", "cccc"])
    assert calls[1] == ["cccc", "dd"] and second[:, 0].tolist() == [1, 4, 2, 4]
    vectors(["aa", "dd"])
    assert len(calls) == 2  # all known: no call
    assert "aa" in vectors and "zz" not in vectors
    assert vectors([]).shape == (0, DIMENSIONS) and len(calls) == 2


def test_sentence_vectors_forget_past_their_limit() -> None:
    calls: list[list[str]] = []
    vectors = SentenceVectors(_fake_embedder(calls), limit=3)
    vectors(["a", "b"])
    vectors(["c", "d"])  # 2 + 2 > 3: what was known is dropped first
    assert "a" not in vectors and "c" in vectors and "d" in vectors


def test_kept_vectors_are_taken_as_they_are_and_only_the_others_embedded() -> None:
    """Vectors packed earlier (a filed document's sentences) come back bit for bit, keyed by
    their text; a sentence asked for with a kept vector is not embedded, the others are
    embedded together in one call, as without kept vectors."""
    made = embed(SENTENCES[:2])
    kept = unpack_vectors(pack_vectors(SENTENCES[:2], made))
    assert sorted(kept) == sorted(text_key(s) for s in SENTENCES[:2])
    assert np.array_equal(kept[text_key(SENTENCES[1])], made[1])
    calls: list[list[str]] = []
    vectors = SentenceVectors(_fake_embedder(calls))
    vectors.keep(kept)
    assert SENTENCES[0] in vectors and "zz" not in vectors
    rows = vectors([SENTENCES[1], "zz", SENTENCES[0], "y"])
    assert calls == [["zz", "y"]]
    assert np.array_equal(rows[0], made[1]) and np.array_equal(rows[2], made[0])
    assert rows[1, 0] == 2 and rows[3, 0] == 1
    vectors([SENTENCES[0], "zz"])
    assert len(calls) == 1  # all known now


def test_packed_vectors_of_another_size_are_not_taken() -> None:
    """Vectors of another model's size (an embedder given to story detection) are kept as
    they are, and never taken for this model's."""
    assert len(unpack_vectors(pack_vectors(["a"], np.ones((1, DIMENSIONS), dtype=np.float32)))) == 1
    assert unpack_vectors(pack_vectors(["a", "b"], np.ones((2, 2), dtype=np.float32))) == {}


def test_no_child_where_torch_is_already_loaded() -> None:
    embed(SENTENCES[:1])  # torch and the model are in this process now
    with model_in_background() as started:
        assert not started
        assert sys.modules["torch"] is not None


def _run_fresh(body: str) -> dict[str, object]:
    """Run ``body`` in a new interpreter (single-threaded, no torch yet); it prints JSON."""
    script = "import json, sys\nimport numpy as np\n" + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_child_embeds_as_the_process_itself_would() -> None:
    result = _run_fresh(f"""
        from storyline.annotate import embeddings
        sentences = {SENTENCES!r}
        with embeddings.model_in_background() as started:
            hidden = sys.modules.get("torch", "absent") is None
            child = embeddings._background._process
            remote = embeddings.embed(sentences)
            in_child = child.is_alive()
        ended = not child.is_alive()
        local = embeddings.embed(sentences)  # the model now loads in this process
        print(json.dumps({{"started": started, "hidden": hidden, "in_child": in_child,
                           "ended": ended, "loaded_here": embeddings.load_model.cache_info().currsize,
                           "gap": float(np.abs(remote - local).max())}}))
    """)
    assert result["started"] and result["in_child"] and result["ended"]
    assert result["hidden"]  # torch hidden from spaCy's thinc while the child has the model
    assert result["loaded_here"] == 1
    assert result["gap"] < 1e-4


def test_a_dead_child_falls_back_to_the_model_in_process() -> None:
    result = _run_fresh(f"""
        from storyline.annotate import embeddings
        with embeddings.model_in_background() as started:
            embeddings._background._process.kill()
            embeddings._background._process.join()
            vectors = embeddings.embed({SENTENCES!r})
            torch_back = sys.modules.get("torch") is not None
        print(json.dumps({{"started": started, "rows": len(vectors), "torch_back": torch_back,
                           "loaded_here": embeddings.load_model.cache_info().currsize}}))
    """)
    assert result == {"started": True, "rows": 3, "torch_back": True, "loaded_here": 1}
