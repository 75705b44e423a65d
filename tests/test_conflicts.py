"""Contradictions between sources: counts of one thing in other words, proportions, dates and
outcomes of one event, and the guards against false ones (invented stories)."""

from __future__ import annotations

import math

from storyline.annotate.annotator import annotate
from storyline.annotate.embeddings import SentenceVectors
from storyline.briefing import Briefing, CitedText
from storyline.model import Document
from storyline.pipeline.stories import brief
from storyline.story.agenda import key_of
from storyline.story.counts import Amount, amounts, compatible
from storyline.story.outcomes import outcomes
from storyline.story.perspectives import _Judge, _same_thing

COUNTRIES = ["Aland", "Borvia", "Aland", "Borvia"]


def _story(texts: dict[str, str], issue: str, published: dict[str, str] | None = None) -> Briefing:
    dates = published or {}
    documents = [Document(origin=f"{i}.txt", text=t, id=i, country=c, published=dates.get(i))
                 for (i, t), c in zip(texts.items(), COUNTRIES)]
    annotate(documents)
    return brief(documents, issues=[issue])


def _sources(item: CitedText) -> set[str]:
    return {c.source for c in item.citations}


def _in_conflict(briefing: Briefing, kind: str) -> set[str]:
    return {s for c in briefing.conflicts if c.kind == kind for side in c.sides for s in _sources(side)}


def _assert_consistent(briefing: Briefing) -> None:
    """A contradicted claim is never agreed, and no sentence is both agreed and disputed."""
    disputed = {(c.source, c.start) for conflict in briefing.conflicts for side in conflict.sides
                for c in side.citations}
    for item in briefing.issues:
        in_issue = {(c.source, c.start) for side in item.disputed for c in side.citations}
        for entry in item.agreed:
            cited = {(c.source, c.start) for c in entry.citations}
            assert not cited & disputed and not cited & in_issue, entry.text


# --- the four kinds the issue found missing -------------------------------------------------------

def test_pieces_and_fragments_of_one_wreck_are_one_count() -> None:
    briefing = _story({
        "S1": "Rescuers searching Lake Tarnow for the missing seaplane found two large pieces of "
              "wreckage on Sunday, the coastguard said.",
        "S2": "Divers searching Lake Tarnow for the missing seaplane recovered four fragments of "
              "the aircraft on Sunday, according to the coastguard.",
    }, "Seaplane search: seaplane, Tarnow, search")
    assert _in_conflict(briefing, "number") == {"S1", "S2"}
    assert "pieces / fragments" in briefing.conflicts[0].topic
    assert all(not item.agreed for item in briefing.issues)  # before: listed as agreed
    _assert_consistent(briefing)


def test_a_third_against_the_whole_eastern_half_is_a_conflict() -> None:
    briefing = _story({
        "S1": "The wildfire near Corrinvale has burned a third of the Halden forest since Thursday, "
              "fire officials said.",
        "S2": "The wildfire near Corrinvale has destroyed the Halden forest's whole eastern half since "
              "Thursday, fire officials said.",
    }, "Corrinvale fire: wildfire, Corrinvale, Halden")
    assert _in_conflict(briefing, "number") == {"S1", "S2"}
    _assert_consistent(briefing)


def test_a_vote_on_two_different_days_is_a_date_conflict() -> None:
    briefing = _story({
        "S1": "Lawmakers in Merovia approved the new water charter in a vote held on May 3, the "
              "assembly said.",
        "S2": "The Merovian assembly passed the water charter on May 4 after a long debate, its speaker said.",
    }, "Water charter: charter, Merovia, vote")
    assert _in_conflict(briefing, "date") == {"S1", "S2"}
    _assert_consistent(briefing)


def test_two_vans_against_three_vans_in_other_words() -> None:
    briefing = _story({
        "S1": "Masked robbers in two vans stole the payroll from the Brevik depot on Friday, police said.",
        "S2": "Police said the gang used three getaway vans to escape with the Brevik depot payroll on Friday.",
    }, "Brevik robbery: robbers, Brevik, depot")
    assert _in_conflict(briefing, "number") == {"S1", "S2"}
    _assert_consistent(briefing)


def test_opposite_outcomes_for_the_same_bill() -> None:
    briefing = _story({
        "S1": "The Velmar parliament approved the Ostrava fishing bill on Tuesday by a wide margin, "
              "officials said.",
        "S2": "The Velmar parliament rejected the Ostrava fishing bill on Tuesday after a tense "
              "debate, officials said.",
    }, "Fishing bill: bill, Velmar, parliament")
    assert _in_conflict(briefing, "outcome") == {"S1", "S2"}
    _assert_consistent(briefing)


def test_a_contradicted_claim_stays_out_of_agreed_even_when_two_sources_state_it() -> None:
    briefing = _story({
        "S1": "Rescuers searching Lake Tarnow for the missing seaplane found two large pieces of "
              "wreckage on Sunday, the coastguard said.",
        "S2": "Rescuers searching Lake Tarnow for the missing seaplane found two large pieces of "
              "wreckage on Sunday, the coastguard said.",
        "S3": "Divers searching Lake Tarnow for the missing seaplane recovered four fragments of "
              "the aircraft on Sunday, according to the coastguard.",
    }, "Seaplane search: seaplane, Tarnow, search")
    assert "S3" in _in_conflict(briefing, "number")
    _assert_consistent(briefing)
    assert all("S3" not in _sources(entry) for item in briefing.issues for entry in item.agreed)


# --- guards: what is not a contradiction ---------------------------------------------------------

RAID = ("Pirates in {} raided the fishing harbour of Veldhaven on Tuesday night and stole nets, "
        "the coastguard said.")


def _raid(first: str, second: str) -> Briefing:
    return _story({"S1": RAID.format(first), "S2": RAID.format(second)},
                  "Veldhaven raid: pirates, Veldhaven, harbour")


def test_a_part_of_a_whole_is_not_a_different_count() -> None:
    assert _raid("two of the four boats", "four boats").conflicts == []
    assert _raid("two of the four boats", "two boats").conflicts == []


def test_a_range_or_a_bound_meets_a_count_inside_it() -> None:
    assert _raid("three to five boats", "four boats").conflicts == []
    assert _raid("at least three boats", "five boats").conflicts == []
    assert _raid("about 14 boats", "12 boats").conflicts == []


def test_a_range_or_a_bound_still_clashes_with_a_count_outside_it() -> None:
    assert _in_conflict(_raid("three to five boats", "eight boats"), "number") == {"S1", "S2"}
    assert _in_conflict(_raid("at most two boats", "five boats"), "number") == {"S1", "S2"}


def test_boats_and_speedboats_are_one_thing_to_count() -> None:
    assert _in_conflict(_raid("two boats", "three speedboats"), "number") == {"S1", "S2"}


def test_counts_of_different_things_are_not_compared() -> None:
    assert _raid("two boats", "two boats with four men").conflicts == []
    assert _raid("two fishing boats", "three boats of the navy").conflicts == []  # which boats differ
    briefing = _story({
        "S1": "Masked robbers in two vans stole the payroll from the Brevik depot on Friday, police said.",
        "S2": "Masked robbers tied up three guards and stole the payroll from the Brevik depot on Friday, "
              "police said.",
    }, "Brevik robbery: robbers, Brevik, depot")
    assert briefing.conflicts == []


def test_a_death_toll_that_rises_later_is_no_contradiction() -> None:
    texts = {"S1": "The ferry disaster off Kessel has killed 12 people, the Kessel harbour master said.",
             "S2": "The ferry disaster off Kessel has killed 19 people, the Kessel harbour master said."}
    later = _story(texts, "Kessel ferry: ferry, Kessel", {"S1": "2025-03-01", "S2": "2025-03-03"})
    assert later.conflicts == []
    same_day = _story(texts, "Kessel ferry: ferry, Kessel", {"S1": "2025-03-01", "S2": "2025-03-01"})
    assert _in_conflict(same_day, "number") == {"S1", "S2"}


def test_a_third_and_33_percent_agree() -> None:
    briefing = _story({
        "S1": "The wildfire near Corrinvale has burned a third of the Halden forest since Thursday, "
              "fire officials said.",
        "S2": "The wildfire near Corrinvale has burned 33 percent of the Halden forest since Thursday, "
              "fire officials said.",
    }, "Corrinvale fire: wildfire, Corrinvale, Halden")
    assert briefing.conflicts == []


def test_held_then_released_in_reports_of_different_days_is_no_conflict() -> None:
    texts = {"S1": "The Tamsk journalist Oren Hask was arrested by border police at the Tamsk crossing, "
                   "his newspaper said.",
             "S2": "The Tamsk journalist Oren Hask was released by border police at the Tamsk crossing, "
                   "his newspaper said."}
    assert _story(texts, "Hask: Hask, Tamsk", {"S1": "2025-05-01", "S2": "2025-05-04"}).conflicts == []


def test_the_winner_and_the_loser_of_one_race_are_consistent() -> None:
    briefing = _story({
        "S1": "Anna Lindqvist defeated Marta Sole in the Osterdal mayoral race on Sunday, officials said.",
        "S2": "Marta Sole lost the Osterdal mayoral race to Anna Lindqvist on Sunday, officials said.",
    }, "Mayoral race: mayoral, Osterdal")
    assert briefing.conflicts == []


def test_a_count_the_other_source_also_writes_is_no_contradiction() -> None:
    briefing = _story({
        "S1": "The mayor of Dunmore said he won 61 council seats in the Dunmore election, when in fact he won 58.",
        "S2": "The mayor of Dunmore ended up with 58 council seats in the Dunmore election after two recounts.",
    }, "Dunmore election: Dunmore, council")
    assert briefing.conflicts == []


def test_counts_of_different_years_are_not_compared() -> None:
    briefing = _story({
        "S1": "Health officials in Borvia began tracking the Lerrin fever in 2019, when 121 cases of the "
              "Lerrin fever were confirmed.",
        "S2": "Health officials in Borvia said that in 2023 there were 50 confirmed cases of the Lerrin "
              "fever across the country.",
    }, "Lerrin fever: fever, Lerrin, cases")
    assert _in_conflict(briefing, "number") == set()


def test_a_number_after_a_name_is_a_label_not_a_count() -> None:
    briefing = _story({
        "S1": "Storm Ilva strengthened into a Category 4 storm off the Veldhaven coast on Tuesday, "
              "forecasters said.",
        "S2": "Storm Ilva weakened into a Category 3 storm off the Veldhaven coast on Tuesday, forecasters said.",
    }, "Storm Ilva: storm, Ilva, Veldhaven")
    assert _in_conflict(briefing, "number") == set()


def test_one_value_in_two_units_and_a_duration_in_two_forms_are_no_conflict() -> None:
    briefing = _story({
        "S1": "The Dunmore judge approved a plea deal under which Karel Osk will serve 7 years, 1 month "
              "in prison for the Dunmore bank fraud.",
        "S2": "The Dunmore judge approved a plea deal under which Karel Osk will serve an 85-month "
              "prison term for the Dunmore bank fraud.",
    }, "Osk trial: Osk, Dunmore, fraud")
    assert briefing.conflicts == []
    hike = _story({
        "S1": "Walkers on the Tarnow ridge trail cover more than 20 miles (32 kilometers) a day on the "
              "Tarnow ridge, rangers said.",
        "S2": "Walkers on the Tarnow ridge trail cross the 420-mile Tarnow ridge in three weeks, rangers said.",
    }, "Tarnow trail: Tarnow, ridge, trail")
    assert hike.conflicts == []


def test_different_things_happening_in_different_months_are_no_date_conflict() -> None:
    briefing = _story({
        "S1": "The Borvian lunar mission is scheduled to launch in July 2027, the space agency said.",
        "S2": "The Borvian lunar mission is scheduled to end in June 2031, the space agency said.",
    }, "Lunar mission: lunar, mission, Borvian")
    assert briefing.conflicts == []


def test_numbers_about_different_people_are_not_compared() -> None:
    briefing = _story({
        "S1": "Arne Dahl scored 14 points as the Veldhaven Herons beat the Kessel Owls 70-61 on Friday night.",
        "S2": "Lena Mork scored 12 points as the Veldhaven Herons beat the Kessel Owls 70-61 on Friday night.",
    }, "Herons win: Herons, Veldhaven, Owls")
    assert _in_conflict(briefing, "number") == set()


def test_a_total_so_far_is_not_held_against_one_operation() -> None:
    briefing = _story({
        "S1": "The frigate Tarn has seized a total of 14 rifles from pirate skiffs off the Kessel coast, "
              "the navy said.",
        "S2": "The frigate Tarn seized six rifles from pirate skiffs off the Kessel coast on Monday, the navy said.",
    }, "Kessel pirates: pirate, Kessel, frigate")
    assert _in_conflict(briefing, "number") == set()


def test_ages_and_ratios_are_no_counts() -> None:
    assert amounts("A 36-year-old climber from Lune fell.") == {}
    assert amounts("The climber, 36 years old, fell.") == {}
    assert amounts("As many as 1 in 500 users were exposed.") == {}


# --- the parts ----------------------------------------------------------------------------------

def test_amounts_read_ranges_bounds_parts_and_shares() -> None:
    assert amounts("Three to five boats attacked.")["boat"].amounts == {Amount(3, 5)}
    assert amounts("between three and five boats")["boat"].amounts == {Amount(3, 5)}
    assert amounts("At least three boats attacked.")["boat"].amounts == {Amount(3, math.inf)}
    assert amounts("Two of the four boats sank.")["boat"].amounts == {Amount(2, 2), Amount(4, 4)}
    assert amounts("Two of the boats sank.")["boat"].amounts == {Amount(2, math.inf)}
    assert amounts("The fire burned 33% of the forest.")["forest"].amounts == {Amount(0.33, 0.33, share=True)}
    assert amounts("The fire burned most of the forest.")["forest"].amounts == {Amount(0.5, 1.0, share=True)}
    assert amounts("The fire burned the entire forest.")["forest"].amounts == {Amount(1.0, 1.0, share=True)}
    assert amounts("Rebels hold the entire northern half of the country.")["country"].amounts == {
        Amount(0.5, 0.5, share=True)}


def test_ordinals_times_of_day_and_years_are_no_counts() -> None:
    assert amounts("A fifth route was added in the third year.") == {}
    assert amounts("The ferry left at 10:20 p.m. sharp.") == {}
    assert amounts("The airline, founded in 2001, quickly grew.") == {}
    assert amounts("Hide Caption 11 of 13 photos")["photo"].amounts == {Amount(13, 13)}


def test_shares_compare_with_a_tolerance_and_never_with_counts() -> None:
    third, percent, half = (amounts(t)["forest"].amounts for t in (
        "a third of the forest", "33 percent of the forest", "half of the forest"))
    assert compatible(third, percent) and not compatible(third, half)
    assert compatible(amounts("two forests")["forest"].amounts, half)


def test_counted_words_of_one_meaning_are_one_thing() -> None:
    judge = _Judge(SentenceVectors(), {})

    def same(a: str, b: str) -> bool:
        return _same_thing(key_of(a), a, key_of(b), b, judge)

    assert same("pieces", "fragments") and same("objects", "parts") and same("soldiers", "troops")
    assert not same("boats", "vans") and not same("days", "weeks") and not same("men", "women")


def test_outcome_phrases_take_the_longest_reading_and_skip_negations() -> None:
    assert [(o.kind, o.side) for o in outcomes("Sole was defeated by Lindqvist.")] == [("contest", 1)]
    assert [(o.kind, o.side) for o in outcomes("Lindqvist defeated Sole.")] == [("contest", 0)]
    assert outcomes("The bill was not approved.") == []
