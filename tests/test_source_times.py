"""Source times: an undated source bounded by the dates it mentions, and blindspots that respect
them (invented text)."""

from __future__ import annotations

from datetime import date

from storyline.model import Document
from storyline.annotate.annotator import annotate
from storyline.story.agenda import Issue, passages_of
from storyline.story.perspectives import blindspots
from storyline.story.source_times import SourceTime, source_time

SUMMIT = ("The leaders of Aldmark and Estmark met at the Varnholm summit on 10 June 2024.\n\n"
          "At the Varnholm summit the two leaders signed a fisheries accord for the northern waters.\n\n"
          "Crews in the harbour towns said the Varnholm summit had settled the quota quarrel.")
SUMMIT_AGAIN = ("Observers said the Varnholm summit on 10 June 2024 ended with a signed fisheries accord.\n\n"
                "Delegations left the Varnholm summit after two days of talks by the fisheries ministers.\n\n"
                "Opposition deputies called the Varnholm summit a hurried affair with little scrutiny.")
# Written in 2023: it reports no dated event, but every date it mentions is from that year.
FARES = ("Ferry operators in Estmark have kept their winter fares unchanged since March 2023.\n\n"
         "Commuters on the island routes fear that the 2023 fare table is too dear for them.\n\n"
         "The transport board promised a review of the ferry fares in its report for 2023.")


def _story(*specs: tuple[str, str]) -> tuple[list[Document], list[Issue]]:
    documents = [Document(origin=f"s{n}.txt", text=text, id=f"S{n}", country=country)
                 for n, (text, country) in enumerate(specs, start=1)]
    annotate(documents)
    passages = [p for p in passages_of(documents) if "Varnholm" in p.text]
    return documents, [Issue(label="Varnholm summit", keywords=["Varnholm"], passages=passages)]


def test_an_undated_source_is_bounded_by_the_latest_date_it_mentions() -> None:
    documents, _ = _story((FARES, "Estmark"))
    assert source_time(documents[0], today=date(2026, 1, 1)) == SourceTime("2023-03", inferred=True)


def test_dates_spoken_of_as_future_do_not_bound_a_source() -> None:
    text = ("Ferry operators in Estmark will raise their winter fares in March 2025.\n\n"
            "Commuters on the island routes complained about the fares in the summer of 2023.")
    documents, _ = _story((text, "Estmark"))
    time = source_time(documents[0], today=date(2026, 1, 1))
    assert time is not None and time.date.startswith("2023")


def test_an_undated_source_that_predates_the_news_is_not_blamed() -> None:
    documents, issues = _story((SUMMIT, "Aldmark"), (SUMMIT_AGAIN, "Aldmark"), (FARES, "Estmark"))
    assert blindspots(documents, issues) == []
