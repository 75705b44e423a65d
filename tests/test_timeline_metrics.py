"""The Timeline17 metrics of benchmarks/timeline.py (benchmarks/timeline_metrics.py) on invented
timelines small enough to score by hand, and the mention-count baseline's date regex."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from timeline_baselines import mentioned_days  # noqa: E402
from timeline_metrics import align_m1, average, concat, date_f1, rouge_tokens, score  # noqa: E402

REFERENCE = [
    (date(2025, 3, 3), ["Dockworkers walk out over pay at the port of Kessel."]),
    (date(2025, 3, 6), ["The port reopens after the union accepts an offer."]),
]


def test_rouge_tokens_drop_stop_words_split_hyphens_and_stem() -> None:
    assert rouge_tokens("The Dock-workers were striking at Kessel's port!") == [
        "dock", "worker", "strike", "kessel", "port"]


def test_the_reference_as_output_scores_one_everywhere() -> None:
    scores = score(REFERENCE, REFERENCE)
    assert all(value.f1 == pytest.approx(1.0) for value in scores.values())


def test_date_f1_counts_shared_days() -> None:
    system = [(date(2025, 3, 3), ["x"]), (date(2025, 3, 4), ["y"]), (date(2025, 3, 5), ["z"])]
    found = date_f1(system, REFERENCE)
    assert (found.precision, found.recall) == pytest.approx((1 / 3, 1 / 2))


def test_a_summary_one_day_off_earns_half_its_matches() -> None:
    # The right words on the wrong day: aligned to the nearest reference day, weighted 1/(1+1).
    system = [(date(2025, 3, 4), ["Dockworkers walk out over pay at the port of Kessel."])]
    unigrams = align_m1(system, REFERENCE[:1], 1)
    assert (unigrams.precision, unigrams.recall) == pytest.approx((0.5, 0.5))
    # concat ROUGE ignores dates altogether.
    assert concat(system, REFERENCE[:1], 1).f1 == pytest.approx(1.0)


def test_many_to_one_alignment_reuses_a_reference_day() -> None:
    # Two system days both align to the one reference day; its words are matched twice over
    # (precision counts each system day's own clipped matches).
    system = [(date(2025, 3, 3), ["Dockworkers walk out."]), (date(2025, 3, 3), ["Pay at Kessel."])]
    found = align_m1(system, REFERENCE[:1], 1)
    assert found.precision == pytest.approx(1.0)


def test_average_is_the_f1_of_mean_precision_and_mean_recall() -> None:
    perfect = score(REFERENCE, REFERENCE)
    nothing = score([(date(2030, 1, 1), ["Unrelated words entirely."])], REFERENCE)
    figures = average([perfect, nothing])
    assert figures["date F1"] == pytest.approx(0.5)  # P = (1 + 0) / 2, R = (1 + 0) / 2


def test_mention_count_regex_resolves_against_publication() -> None:
    published = date(2025, 3, 7)  # a Friday
    assert mentioned_days("The port reopened on Thursday.", published) == {date(2025, 3, 6)}
    assert mentioned_days("It began last Friday.", published) == {date(2025, 2, 28)}
    assert mentioned_days("It began on 3 March and ended on March 6, 2025.", published) == {
        date(2025, 3, 3), date(2025, 3, 6)}
    assert mentioned_days("Talks resume tomorrow.", published) == {date(2025, 3, 8)}
