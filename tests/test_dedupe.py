"""Exact and near-duplicate detection, on an invented wire story and its variants.

The variants are the tuning set of ``storyline.story.dedupe`` (its docstring has the measured table).
"""

from __future__ import annotations

import numpy as np
import pytest

from storyline.story.dedupe import (
    LSH_BANDS,
    LSH_ROWS,
    MIN_WORDS_FOR_NEAR_DUP,
    NEAR_DUP_CONTAINMENT,
    NEAR_DUP_JACCARD,
    NUM_PERM,
    RECENT_DOCUMENTS,
    Deduper,
    MinHashIndex,
    NearDuplicateIndex,
    containment,
    content_hash,
    fingerprint,
    jaccard,
    minhash,
    normalise_for_hash,
    shingles,
    sketch_bytes,
    sketch_from_bytes,
)

WIRE = """The city council of Norhaven voted 7-2 on Tuesday night to close the Eastbrook water \
treatment plant by the end of next year, ending months of dispute over the ageing facility that \
supplies roughly a third of the town's drinking water.

Mayor Elena Varga said the decision was "painful but unavoidable" after engineers found cracks in \
two of the plant's four settling basins during an inspection in March. "We cannot keep patching a \
building that was designed in 1961," Varga told reporters outside the council chamber.

Under the plan approved on Tuesday, Norhaven will buy water from the neighbouring Calder district \
through a new pipeline, which officials estimate will cost 48 million euros and take about 14 \
months to build. Residents' bills are expected to rise by around 6 percent from January.

Councillor Tomas Reiner, one of the two members who voted against the closure, said the council \
had not studied cheaper repairs seriously. "This is a rushed decision that hands our water supply \
to another district," he said.

The Eastbrook plant employs 38 people. The council said all staff would be offered jobs at the \
town's remaining plant or in the new pipeline project.

A citizens' group, Clean Tap Norhaven, said it would ask the regional water authority to review \
the vote. Its spokeswoman, Ines Maalouf, said the group had collected more than 4,000 signatures \
against the closure since May."""

# Syndicated: curly quotes, and the partner's footer that boilerplate removal let through.
SYNDICATED = WIRE.replace('"painful but unavoidable"', "\u201cpainful but unavoidable\u201d") + """

This article was originally published by the Norhaven Courier and is republished here under a \
content-sharing agreement. Follow our regional coverage for more news from the valley."""

LIGHT_EDIT = (
    WIRE.replace("roughly a third", "about a third")
    .replace("next year", "2027")
    .replace("Residents' bills", "Residents\u2019 bills")
)

COPY_EDITED = (
    WIRE.replace("voted 7-2 on Tuesday night", "voted seven to two late on Tuesday")
    .replace("roughly a third", "about one third")
    .replace("told reporters outside the council chamber", "told reporters")
    .replace("The Eastbrook plant employs 38 people. ", "")
    .replace("Residents' bills", "Household water bills")
)

LOCAL_LEDE = WIRE.replace(
    WIRE.split("\n\n")[0],
    "Residents of the Eastbrook quarter woke up on Wednesday to the news that the plant at the end "
    "of their street, a landmark since the 1960s, will close: the city council voted 7-2 on Tuesday "
    "night to shut it by the end of next year.",
)

TRIMMED = "\n\n".join(WIRE.split("\n\n")[:4])  # syndication cuts from the bottom

UPDATE = WIRE + """

On Wednesday morning, the regional water authority confirmed it had received the request from \
Clean Tap Norhaven and said it would decide within 30 days whether to open a formal review. A \
spokesman for the authority said such reviews were rare and had overturned a council decision only \
once in the past decade.

Meanwhile, the Calder district council said it had not yet agreed on the price Norhaven would pay \
for the water, and that negotiations could take several months. Calder's deputy mayor, Piet \
Hollander, said the district had enough capacity but wanted guarantees on maintenance costs before \
signing any contract."""

OTHER_OUTLET = """Norhaven will shut its Eastbrook water plant after councillors backed the \
closure on Tuesday, a move critics say was rushed through without a proper look at alternatives.

The vote, seven in favour and two against, follows an inspection this spring that found damage to \
the plant's settling basins. Mayor Elena Varga called the decision "painful but unavoidable" and \
said the 1960s building could no longer be kept safe at a reasonable cost.

Opponents were unconvinced. "This is a rushed decision that hands our water supply to another \
district," said Councillor Tomas Reiner. Campaigners from Clean Tap Norhaven, who gathered \
thousands of signatures over the summer, want the regional water authority to step in.

The town now plans to draw water from Calder through a pipeline expected to cost 48 million euros. \
Officials expect higher bills from January, although they did not say by how much. Workers at \
Eastbrook have been promised jobs elsewhere, according to the council."""


def _sh(text: str):  # type: ignore[no-untyped-def]
    return shingles(normalise_for_hash(text))


# --------------------------------------------------------------------------- normalisation


def test_normalise_unifies_case_quotes_dashes_and_spacing() -> None:
    a = "The mayor said: \u201cIt\u2019s over\u201d \u2014 and   left.\n\nNothing\u00a0more."
    b = 'the Mayor said "it\'s over" - and left. nothing more'
    assert normalise_for_hash(a) == normalise_for_hash(b) == "the mayor said its over and left nothing more"


def test_normalise_drops_invisible_characters_and_keeps_symbols() -> None:
    assert normalise_for_hash("pipe\u00adline\u200b costs \u20ac48m (6%)") == "pipeline costs \u20ac48m 6%"


def test_content_hash_is_sha256_hex_of_normalised_text() -> None:
    digest = content_hash(WIRE)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert content_hash(WIRE.upper().replace("\n\n", "\n")) == digest
    assert content_hash(WIRE + " Extra words.") != digest


# --------------------------------------------------------------------------- the tuning set


@pytest.mark.parametrize("variant", [SYNDICATED, LIGHT_EDIT, COPY_EDITED, TRIMMED])
def test_near_duplicate_variants_match_the_wire(variant: str) -> None:
    deduper = Deduper()
    assert deduper.add("S1", WIRE) is None
    assert deduper.add("S2", variant) == "S1"


@pytest.mark.parametrize("variant", [UPDATE, LOCAL_LEDE, OTHER_OUTLET])
def test_updates_and_other_outlets_are_distinct(variant: str) -> None:
    deduper = Deduper()
    deduper.add("S1", WIRE)
    assert deduper.add("S2", variant) is None


def test_thresholds_leave_a_margin_around_the_tuning_set() -> None:
    wire = _sh(WIRE)
    assert jaccard(_sh(SYNDICATED), wire) >= NEAR_DUP_JACCARD + 0.05
    assert containment(_sh(COPY_EDITED), wire) >= NEAR_DUP_CONTAINMENT + 0.01
    update = _sh(UPDATE)
    assert max(jaccard(update, wire), containment(update, wire)) <= NEAR_DUP_CONTAINMENT - 0.1


def test_a_trimmed_copy_first_does_not_make_the_fuller_story_a_duplicate() -> None:
    # Containment is asymmetric on purpose: the full story adds paragraphs to cite.
    deduper = Deduper()
    deduper.add("S1", TRIMMED)
    assert deduper.add("S2", WIRE) is None


# --------------------------------------------------------------------------- Deduper behaviour


def test_exact_duplicate_matches_whatever_the_typography() -> None:
    deduper = Deduper()
    deduper.add("S1", WIRE)
    assert deduper.add("S2", WIRE.replace('"', "\u201d").upper()) == "S1"


def test_short_texts_match_exactly_only() -> None:
    short = "Council votes to close Eastbrook water plant, mayor calls it painful but unavoidable."
    assert len(short.split()) < MIN_WORDS_FOR_NEAR_DUP
    deduper = Deduper()
    deduper.add("S1", short)
    assert deduper.add("S2", short.replace("Council", "The council")) is None
    assert deduper.add("S3", short.lower()) == "S1"


def test_near_duplicates_point_at_the_original_not_at_each_other() -> None:
    deduper = Deduper()
    deduper.add("S1", WIRE)
    assert deduper.add("S2", LIGHT_EDIT) == "S1"
    assert deduper.add("S3", LIGHT_EDIT.replace("2027", "next year, officials said")) == "S1"


def test_earliest_of_several_originals_wins() -> None:
    deduper = Deduper()
    deduper.add("S1", TRIMMED)
    deduper.add("S2", WIRE)  # distinct: adds paragraphs
    assert deduper.add("S3", TRIMMED + "\n\nReporting by staff.") == "S1"


def test_the_near_duplicate_index_takes_judged_documents_and_asks_for_candidates() -> None:
    index = NearDuplicateIndex()
    texts = {"S1": WIRE, "S2": LIGHT_EDIT, "S3": OTHER_OUTLET, "S4": "Too short to compare."}
    index.add("S1", fingerprint(WIRE).minhash, is_duplicate=False)
    index.add("S2", fingerprint(LIGHT_EDIT).minhash, is_duplicate=True)  # stays out of the bands
    index.add("S3", fingerprint(OTHER_OUTLET).minhash, is_duplicate=False)
    index.add("S4", None, is_duplicate=False)
    index.add("S1", fingerprint(UPDATE).minhash, is_duplicate=False)  # known: ignored
    assert len(index) == 4 and "S4" in index
    asked: list[list[str]] = []

    def shingles_of(ids: list[str]) -> list[np.ndarray]:
        asked.append(ids)
        return [_sh(texts[i]) for i in ids]

    assert index.match(fingerprint(SYNDICATED), shingles_of) == "S1"
    assert asked == [["S1"]]  # only candidates are asked for, and never the near duplicate S2
    assert index.match(fingerprint(UPDATE), shingles_of) is None
    assert index.match(fingerprint("Too short to compare."), shingles_of) is None


def test_sketches_round_trip_as_bytes() -> None:
    sketch = fingerprint(WIRE).minhash
    assert sketch is not None
    data = sketch_bytes(sketch)
    assert len(data) == 4 * len(sketch)
    assert np.array_equal(sketch_from_bytes(data), sketch)  # type: ignore[arg-type]
    assert sketch_bytes(None) == b"" and sketch_from_bytes(b"") is None
    with pytest.raises(ValueError):
        sketch_from_bytes(data[:8])


def test_minhash_estimates_jaccard() -> None:
    rng = np.random.default_rng(7)
    pool = rng.choice(2**32, size=900, replace=False).astype(np.uint32)
    a, b = np.sort(pool[:600]), np.sort(pool[300:])  # 300 shared of 900: J = 1/3
    estimate = float((minhash(a) == minhash(b)).mean())
    assert abs(estimate - 1 / 3) < 0.15  # four standard deviations at 128 hash functions
    assert (minhash(a) == minhash(a.copy())).all()


def test_index_returns_close_sketches_and_not_unrelated_ones() -> None:
    rng = np.random.default_rng(11)
    pool = rng.choice(2**32, size=2000, replace=False).astype(np.uint32)
    original, close, unrelated = np.sort(pool[:500]), np.sort(pool[50:550]), np.sort(pool[1000:1500])
    index = MinHashIndex()
    index.insert("original", minhash(original))
    assert index.query(minhash(close)) == {"original"}  # J = 0.82
    assert index.query(minhash(unrelated)) == set()


def _sharing_a_band(sketches: np.ndarray, query: np.ndarray) -> set[int]:
    bands = sketches[:, :LSH_BANDS * LSH_ROWS].reshape(len(sketches), LSH_BANDS, LSH_ROWS)
    wanted = query[:LSH_BANDS * LSH_ROWS].reshape(LSH_BANDS, LSH_ROWS)
    return set(np.nonzero((bands == wanted).all(axis=2).any(axis=1))[0].tolist())


def test_the_band_index_answers_as_a_search_of_every_band_across_runs() -> None:
    # Values from {0, 1, 2}: a band is one of 243, so most documents share bands with many
    # others, and the answer is checked against a direct search of every sketch's bands,
    # with documents added one by one and in a block: the block and the table become one run,
    # later tables runs that merge into it, and it ends as two runs and a part-full table.
    rng = np.random.default_rng(5)
    count = 5 * RECENT_DOCUMENTS + 700
    sketches = rng.integers(0, 3, size=(count, NUM_PERM)).astype(np.uint32)
    index = MinHashIndex()
    ids = [f"S{k}" for k in range(count)]
    for k in range(300):
        index.insert(ids[k], sketches[k])
    index.insert_many(ids[300:RECENT_DOCUMENTS + 500], sketches[300:RECENT_DOCUMENTS + 500])
    for k in range(RECENT_DOCUMENTS + 500, count):
        index.insert(ids[k], sketches[k])
    assert len(index) == count
    queries = rng.integers(0, 3, size=(40, NUM_PERM)).astype(np.uint32)
    for query in [*queries, sketches[0], sketches[count - 1]]:
        assert index.query(query) == {ids[k] for k in _sharing_a_band(sketches, query)}


def test_a_stores_documents_load_at_once_as_they_would_one_by_one() -> None:
    judged = [(f"S{k}", fingerprint(text).minhash, duplicate)
              for k, (text, duplicate) in enumerate([(WIRE, False), (LIGHT_EDIT, True),
                                                     (OTHER_OUTLET, False), ("Short.", False)])]
    one_by_one, at_once = NearDuplicateIndex(), NearDuplicateIndex()
    for doc_id, sketch, duplicate in judged:
        one_by_one.add(doc_id, sketch, is_duplicate=duplicate)
    at_once.add_many(judged + [("S0", fingerprint(UPDATE).minhash, False)])  # known: ignored
    for text in (SYNDICATED, UPDATE, WIRE):
        sketch = fingerprint(text).minhash
        assert sketch is not None
        assert at_once.candidates(sketch) == one_by_one.candidates(sketch)
    assert len(at_once) == 4 and at_once.candidates(fingerprint(SYNDICATED).minhash) == ["S0"]  # type: ignore[arg-type]
