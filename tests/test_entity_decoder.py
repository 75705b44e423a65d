"""The batched entity decoding finds exactly the entities spaCy's own recogniser finds.

``entity_decoder.EntityDecoder`` replaces only the recogniser's decoding loop; its network and
weights are the recogniser's. These tests run both on the same parsed documents (real news
text: the evaluation corpora, the seed articles) and compare every entity attribute of every
token, then the edges: empty and one-token documents, spaces, sentence starts, documents with
entities already set, batches of very different lengths, and recognisers it must leave alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from spacy.attrs import ENT_ID, ENT_IOB, ENT_KB_ID, ENT_TYPE
from spacy.tokens import Doc, Span

from storyline.annotate import entity_decoder
from storyline.annotate.nlp import load_nlp, parse_batch
from tests.test_attribute_rules import _reference

ENTITY_ATTRIBUTES = [ENT_IOB, ENT_TYPE, ENT_KB_ID, ENT_ID]
EDGES = [
    "",
    "Obama",
    "   ",
    "Paris\n\nLondon",
    "He met Angela Merkel in Berlin.\n\n  \n Then Emmanuel Macron flew to Paris on Monday.",
    "The United Nations. Security Council met. New York Times reported it.",
    "Apple Inc.",
]


def _texts(eval_data: Path, seeds: Path) -> Iterator[str]:
    zyte = json.loads((eval_data / "extraction" / "zyte-aeb" / "ground-truth.json").read_text())
    yield from (item["articleBody"] for item in zyte.values() if item["articleBody"])
    for name in ("quotes/polnear_dev.jsonl", "timex/te3_platinum_timex.jsonl"):
        lines = (eval_data / name).read_text(encoding="utf-8").splitlines()[:20]
        yield from (json.loads(line)["text"] for line in lines)
    yield from (path.read_text(encoding="utf-8") for path in sorted(seeds.glob("*.txt")))
    yield from EDGES


def _without_entities(texts: list[str]) -> list[Doc]:
    """Our parse of ``texts`` up to the recogniser: tags, parse and sentence starts set."""
    return parse_batch(texts, entities=False)


def _pair(docs: list[Doc], batch_size: int) -> tuple[list[Doc], list[Doc]]:
    nlp = load_nlp()
    recogniser = nlp.get_pipe(entity_decoder.RECOGNISER)
    ours = [doc.copy() for doc in docs]
    theirs = [doc.copy() for doc in docs]
    decoder = nlp.get_pipe(entity_decoder.COMPONENT)
    list(decoder.pipe(ours, batch_size=batch_size))
    list(recogniser.pipe(theirs, batch_size=batch_size))
    return ours, theirs


def _assert_same(ours: Doc, theirs: Doc) -> None:
    assert [(e.start, e.end, e.label_) for e in ours.ents] == \
        [(e.start, e.end, e.label_) for e in theirs.ents], ours.text[:80]
    assert (ours.to_array(ENTITY_ATTRIBUTES) == theirs.to_array(ENTITY_ATTRIBUTES)).all()


@pytest.mark.parametrize("batch_size", [32, 3])
def test_the_decoder_finds_spacys_entities(eval_data_dir: Path, seeds_dir: Path,
                                           batch_size: int) -> None:
    texts = list(_texts(eval_data_dir, seeds_dir))
    assert len(texts) >= 100
    ours, theirs = _pair(_without_entities(texts), batch_size)
    assert sum(len(doc.ents) for doc in ours) > 1000  # the comparison is not of empty lists
    for mine, spacys in zip(ours, theirs):
        _assert_same(mine, spacys)


def test_the_loaded_pipeline_decodes_with_it() -> None:
    nlp = load_nlp()
    assert entity_decoder.COMPONENT in nlp.pipe_names
    assert entity_decoder.RECOGNISER not in nlp.pipe_names
    doc = nlp("Angela Merkel met Emmanuel Macron in Paris on Monday.")
    assert {(e.text, e.label_) for e in doc.ents} >= {("Angela Merkel", "PERSON"),
                                                      ("Paris", "GPE")}


def test_the_edges_agree_one_by_one() -> None:
    nlp = load_nlp()
    decoder = nlp.get_pipe(entity_decoder.COMPONENT)
    recogniser = nlp.get_pipe(entity_decoder.RECOGNISER)
    for doc in _without_entities(EDGES):
        ours, theirs = decoder(doc.copy()), recogniser(doc.copy())
        _assert_same(ours, theirs)
        assert all(token.ent_iob_ in ("B", "I", "O") for token in ours)


def test_no_entity_starts_on_a_space_or_crosses_a_sentence() -> None:
    text = ("Joe Biden spoke.   Kamala Harris listened.\n\nNew York\nCity Hall closed. "
            "Barack Obama's library opened in Chicago.")
    doc = load_nlp()(text)
    assert doc.ents
    for entity in doc.ents:
        assert not entity[0].is_space
        assert not any(token.is_sent_start for token in entity[1:])


def test_documents_with_entities_set_go_to_spacys_own_recogniser() -> None:
    nlp = load_nlp()
    decoder = nlp.get_pipe(entity_decoder.COMPONENT)
    recogniser = nlp.get_pipe(entity_decoder.RECOGNISER)
    doc = _without_entities(["Smith met Jones in Paris on Monday."])[0]
    doc.set_ents([Span(doc, 0, 1, label="ORG")], default="unmodified")
    ours, theirs = decoder(doc.copy()), recogniser(doc.copy())
    _assert_same(ours, theirs)
    assert ours.ents[0].label_ == "ORG"


def test_a_beam_recogniser_keeps_spacys_pipe() -> None:
    nlp = _reference()
    nlp.get_pipe(entity_decoder.RECOGNISER).cfg["beam_width"] = 4
    before = list(nlp.pipe_names)
    assert entity_decoder.install(nlp) is False
    assert nlp.pipe_names == before


def test_a_pipeline_without_a_recogniser_is_unchanged() -> None:
    nlp = _reference()
    nlp.remove_pipe(entity_decoder.RECOGNISER)
    before = list(nlp.pipe_names)
    assert entity_decoder.install(nlp) is False
    assert nlp.pipe_names == before


def test_skipping_entities_skips_the_decoder() -> None:
    doc = parse_batch(["Angela Merkel visited Paris."], entities=False)[0]
    assert not doc.has_annotation("ENT_IOB")
    assert not doc.ents


def test_situations_follow_spacys_rules() -> None:
    recogniser = load_nlp().get_pipe(entity_decoder.RECOGNISER)
    moves = entity_decoder.EntityDecoder(recogniser).moves
    names = [recogniser.moves.get_class_name(i) for i in range(recogniser.moves.n_moves)]
    valid = {row: {names[c] for c in np.flatnonzero(moves.valid[row])}
             for row in range(len(moves.valid))}
    units = {n for n in names if n.startswith("U-") and n != "U-"}  # "U-": preset blocks only
    begins = {n for n in names if n.startswith("B-")}
    # Nothing open, the entity may go on, not a space: B, U (labelled) and O.
    assert valid[2] == begins | units | {"O"}
    assert valid[3] == valid[1] == {"O"}  # a space: only O
    assert valid[0] == units | {"O"}  # the last token, or the next starts a sentence
    person = moves.labels.index(recogniser.vocab.strings["PERSON"])
    assert valid[4 + 2 * person] == {"L-PERSON"}
    assert valid[4 + 2 * person + 1] == {"I-PERSON", "L-PERSON"}
