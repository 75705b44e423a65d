"""storyline.story.date_ranker: the evidence that a day mattered, and the learned day score.

The story is invented: a ferry company's collapse at the port of Vellmar in 2024 (Tuesday 2
April: the company stops sailing; Friday 5 April: the rescue offer; later reports look back).
"""

from __future__ import annotations

import math

import pytest

from storyline.model import Document
from storyline.pipeline.timelines import annotated_for_timeline
from storyline.story.date_ranker import (
    FEATURES,
    TOPIC_SCALE,
    DateRanker,
    candidate_days,
    day_features,
    day_scores,
    topicalities,
)
from storyline.story.key_dates import KeyDateConstants

ARTICLES = [
    ("2024-04-03", "Vellmar ferries stop sailing\n\nThe Vellmar ferry company stopped every "
                   "sailing on Tuesday after its bank withdrew credit.\n\nPassengers were sent "
                   "to the coach station."),
    ("2024-04-03", "Ferry staff told to stay home\n\nCrews of the Vellmar ferry company were "
                   "told on Tuesday to stay at home until further notice."),
    ("2024-04-06", "Rescue offer for Vellmar ferries\n\nA shipping group from Osterby made a "
                   "rescue offer on Friday for the stranded ferry company."),
    ("2024-04-20", "Vellmar ferries sail again\n\nThe first ferry left Vellmar on Saturday.\n\n"
                   "The company stopped sailing on April 2 when its bank withdrew credit."),
    ("2024-05-15", "Vellmar ferry inquiry opens\n\nAn inquiry into the collapse opened on "
                   "Wednesday.\n\nThe ferries stopped on April 2, leaving hundreds stranded."),
]


@pytest.fixture(scope="module")
def documents() -> list[Document]:
    made = [Document(origin=f"a{i}.txt", text=text, published=published, id=f"S{i + 1}")
            for i, (published, text) in enumerate(ARTICLES)]
    return annotated_for_timeline(made)


def test_the_day_named_weeks_later_carries_that_evidence(documents: list[Document]) -> None:
    ranker = KeyDateConstants.packaged().dates
    found = day_features(documents, ranker)
    stop, offer = found["2024-04-02"], found["2024-04-05"]
    # Named by four documents: two on the day after, two weeks and six weeks later.
    assert stop["references"] == pytest.approx(math.log1p(4))
    assert stop["later"] == pytest.approx(math.log1p(2))
    assert stop["later_long"] == pytest.approx(math.log1p(1))
    assert stop["fresh"] == pytest.approx(math.log1p(2))
    assert stop["naming_days"] == pytest.approx(math.log1p(3))
    # "April 2" states the day; "on Tuesday" does not.
    assert stop["explicit"] == pytest.approx(math.log1p(2))
    assert offer["references"] == pytest.approx(math.log1p(1))
    assert offer["later"] == 0.0 and offer["explicit"] == 0.0
    # Nothing was published on 2 April; two reports on the 3rd, the day after.
    assert stop["published"] == 0.0
    assert stop["published_next"] == pytest.approx(math.log1p(2))


def test_later_share_does_not_punish_the_end_of_the_coverage(documents: list[Document]) -> None:
    ranker = KeyDateConstants.packaged().dates
    found = day_features(documents, ranker)
    # Two of the two documents published a week or more after 2 April name it: the whole share.
    assert found["2024-04-02"]["later_share"] == pytest.approx(math.log1p(2) - math.log1p(2))
    # The inquiry's day has no later coverage at all: nothing to lose either.
    assert found["2024-05-15"]["later_share"] == 0.0
    # The offer's day had two later documents, neither named it.
    assert found["2024-04-05"]["later_share"] == pytest.approx(-math.log1p(2))


def test_the_packaged_score_puts_the_turning_point_first(documents: list[Document]) -> None:
    ranker = KeyDateConstants.packaged().dates
    scores = day_scores(documents, ranker)
    assert max(scores, key=scores.__getitem__) == "2024-04-02"
    assert set(scores) == candidate_days(documents)
    inside = day_scores(documents, ranker, start="2024-04-04", end="2024-04-30")
    assert set(inside) == {d for d in scores if "2024-04-04" <= d <= "2024-04-30"}


def test_the_weights_name_known_features_only() -> None:
    data = KeyDateConstants.packaged().to_dict()["dates"]
    assert set(data["weights"]) == set(FEATURES)
    with pytest.raises(ValueError, match="unknown day features"):
        DateRanker.from_dict({**data, "weights": {**data["weights"], "sunshine": 1.0}})


def test_a_day_named_only_off_topic_has_less_topic_evidence(documents: list[Document]) -> None:
    # A pool built by keyword holds articles that only brush the story: a cup final report that
    # mentions a ferry in passing names its own day.
    aside = annotated_for_timeline([Document(
        origin="aside.txt", published="2024-04-14", id="S9",
        text="Osterby win the cup final\n\nOsterby beat Kellin 3-1 in the cup final on "
             "Saturday, April 13, before a crowd of 40,000.\n\nFans arrived by ferry.")])
    pool = [*documents, *aside]
    closeness = topicalities(pool)
    assert min(range(len(pool)), key=closeness.__getitem__) == len(pool) - 1
    found = day_features(pool, KeyDateConstants.packaged().dates)
    assert found["2024-04-13"]["on_topic"] == pytest.approx(math.log1p(TOPIC_SCALE * closeness[-1]))
    # Each of the ferry story's days is named by at least one document closer to the pool's
    # centre than the cup final report.
    for day in ("2024-04-02", "2024-04-05"):
        assert found[day]["on_topic"] > found["2024-04-13"]["on_topic"]
