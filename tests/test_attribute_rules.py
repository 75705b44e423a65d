"""The faster NLP pass decides every token exactly as spaCy's own pipeline does.

``load_nlp`` runs the models' matrix products on numpy's BLAS and replaces the attribute ruler
and the lemmatizer by ``attribute_rules.TokenAttributes``. Both are only worth having if nothing
changes: these tests parse real news text (the evaluation corpora and the seed articles) with
spaCy's unchanged pipeline and with ours, and compare every attribute an annotator could read.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import spacy
from spacy.attrs import (DEP, ENT_IOB, ENT_KB_ID, ENT_TYPE, HEAD, LEMMA, MORPH, ORTH, POS,
                         SENT_START, TAG)
from spacy.language import Language
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc, Token

from storyline.annotate import attribute_rules
from storyline.annotate.nlp import MODEL_PACKAGES, load_nlp, parse, parse_batch
from storyline.annotate.parsed import doc_text, span_text

COMPARED = [ORTH, TAG, POS, MORPH, LEMMA, DEP, HEAD, SENT_START, ENT_IOB, ENT_TYPE, ENT_KB_ID]
# Every kind of rule of en_core_web_sm's ruler: tag-map rules, word rules, rules on the parse
# (expletive "there" + "is", "but" as an adverb, "do" as a main verb), the two-word ones
# ("gon na", "got ta", "let 's", "y' all", "c'm on", "ai n't") and spaces.
RARE_RULES = (
    "There is a plan, but it ain't done. We're gonna win, y'all, and I gotta say: let's go!\n\n"
    "C'mon, nothin' changed   since 'em folks did what they'd said. He does. You did it; it's "
    "his doin' 'nuff said.\tThat one, which that was, gets what she got. Those who do it win."
)


def _reference() -> Language:
    """spaCy's pipeline as the package ships it: BLIS products, its own ruler and lemmatizer."""
    for name in MODEL_PACKAGES:
        try:
            return spacy.load(name)
        except OSError:
            continue
    pytest.fail("no English spaCy pipeline installed")


@pytest.fixture(scope="module")
def reference() -> Language:
    return _reference()


def _texts(eval_data: Path, seeds: Path) -> Iterator[str]:
    zyte = json.loads((eval_data / "extraction" / "zyte-aeb" / "ground-truth.json").read_text())
    bodies = [item["articleBody"] for item in zyte.values() if item["articleBody"]]
    yield from bodies[:14]
    for name, count in (("quotes/polnear_dev.jsonl", 8), ("timex/te3_platinum_timex.jsonl", 4)):
        lines = (eval_data / name).read_text(encoding="utf-8").splitlines()[:count]
        yield from (json.loads(line)["text"] for line in lines)
    yield from (path.read_text(encoding="utf-8") for path in sorted(seeds.glob("*.txt")))
    yield RARE_RULES


def _attributes(doc: Doc) -> np.ndarray:
    return doc.to_array(COMPARED)


def _first_difference(ours: Doc, theirs: Doc) -> str:
    rows = np.nonzero((_attributes(ours) != _attributes(theirs)).any(axis=1))[0]
    token, expected = ours[int(rows[0])], theirs[int(rows[0])]
    return (f"{token.text!r}: ours {token.tag_}/{token.pos_}/{token.morph}/{token.lemma_}/"
            f"{token.dep_}, spaCy's {expected.tag_}/{expected.pos_}/{expected.morph}/"
            f"{expected.lemma_}/{expected.dep_}")


def test_our_parse_equals_spacys_own(reference: Language, eval_data_dir: Path,
                                     seeds_dir: Path) -> None:
    texts = list(_texts(eval_data_dir, seeds_dir))
    assert len(texts) >= 25
    ours = parse_batch(texts)
    for text, doc, expected in zip(texts, ours, reference.pipe(texts)):
        assert len(doc) == len(expected)
        assert (_attributes(doc) == _attributes(expected)).all(), _first_difference(doc, expected)


def test_the_pipeline_uses_the_look_up_and_numpy_products() -> None:
    nlp = load_nlp()
    assert attribute_rules.COMPONENT in nlp.pipe_names
    assert attribute_rules.RULER not in nlp.pipe_names
    assert attribute_rules.LEMMATIZER not in nlp.pipe_names
    tagger_ops = nlp.get_pipe("tagger").model.ops
    assert getattr(tagger_ops, "use_blis", True) is False


def test_the_rare_rules_fire_and_agree(reference: Language) -> None:
    ours = parse_batch([RARE_RULES])[0]
    expected = reference(RARE_RULES)
    assert (_attributes(ours) == _attributes(expected)).all(), _first_difference(ours, expected)
    lemmas = {token.text: token.lemma_ for token in ours}
    assert lemmas["gon"] == "go" and lemmas["ta"] == "to"  # two-word rules, both positions
    assert lemmas["ai"] == "be" and lemmas["'em"] == "them"
    there_is = [t for t in ours if t.lower_ == "is" and t.i > 0 and ours[t.i - 1].dep_ == "expl"]
    assert there_is and there_is[0].pos_ == "VERB"


def test_full_tables_are_emptied_and_answers_stay_the_same(
        reference: Language, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(attribute_rules, "CACHE_ENTRIES", 5)
    nlp = _reference()
    assert attribute_rules.install(nlp)
    component = nlp.get_pipe(attribute_rules.COMPONENT)
    assert isinstance(component, attribute_rules.TokenAttributes)
    ours, expected = nlp(RARE_RULES), reference(RARE_RULES)
    assert (_attributes(ours) == _attributes(expected)).all(), _first_difference(ours, expected)
    assert len(component._facts) <= 5 and len(component._lemmas) <= 5  # noqa: SLF001


def test_a_ruler_it_cannot_reproduce_keeps_spacys_pipes() -> None:
    nlp = _reference()
    nlp.get_pipe(attribute_rules.RULER).add([[{"LOWER": "very", "OP": "+"}]], {"POS": "ADV"})
    before = list(nlp.pipe_names)
    assert attribute_rules.install(nlp) is False
    assert nlp.pipe_names == before


def test_an_empty_text_passes() -> None:
    nlp = load_nlp()
    assert len(nlp("")) == 0


def test_the_shared_text_is_the_docs_own(eval_data_dir: Path, seeds_dir: Path) -> None:
    texts = list(_texts(eval_data_dir, seeds_dir))[-6:]
    long_text = "The ferry sailed at noon.\n\n" * 4_000  # parsed in pieces, joined again
    for doc in [*parse_batch(texts), parse(texts[0]), parse(long_text)]:
        assert doc_text(doc) == doc.text
        spans = [*doc.sents, *doc.ents, doc[3:9], doc[len(doc) - 2:]]
        assert all(span_text(span) == span.text for span in spans)


# Words of no table: each of the lemmatizer's rules gets a form it has never listed.
UNLISTED = ("The glorbers were blicking the snarfiest zubs. She has flonked twelve quibbits, "
            "frazzier than the dronkest wibbles, and they re-plonked 3-D gizmoes.")


def test_the_rule_lemmas_are_spacys_first_form(reference: Language, eval_data_dir: Path,
                                               seeds_dir: Path) -> None:
    lemmatizer = reference.get_pipe(attribute_rules.LEMMATIZER)
    assert isinstance(lemmatizer, Lemmatizer)
    rule_lemmas = attribute_rules.RuleLemmas(lemmatizer)
    assert rule_lemmas.own  # en_core_web_sm's English lemmatizer: only is_base_form is its own
    texts = [*list(_texts(eval_data_dir, seeds_dir))[:20], UNLISTED]
    tokens = [token for doc in parse_batch(texts) for token in doc]
    assert len(tokens) > 10_000
    for token in tokens:
        lemmatizer.cache.clear()
        assert rule_lemmas.first(token) == lemmatizer.rule_lemmatize(token)[0], token.text


def test_a_lemmatizer_with_its_own_rules_is_asked_itself(reference: Language) -> None:
    spacys = reference.get_pipe(attribute_rules.LEMMATIZER)
    assert isinstance(spacys, Lemmatizer)

    class Shouting(type(spacys)):  # type: ignore[misc]
        def rule_lemmatize(self, token: Token) -> list[str]:
            return [token.text.upper()]

    shouting = Shouting(reference.vocab, spacys.model, spacys.name, mode="rule")
    shouting.lookups = spacys.lookups
    rule_lemmas = attribute_rules.RuleLemmas(shouting)
    assert not rule_lemmas.own
    assert [rule_lemmas.first(t) for t in parse_batch(["Dogs barked."])[0]] == \
        ["DOGS", "BARKED", "."]


def test_the_loaded_pipeline_is_kept_out_of_full_collections() -> None:
    load_nlp()
    assert gc.get_freeze_count() > 100_000  # the vocabulary, tables and weights
