"""storyline.read.dates: formats, the day/month evidence rule, two-digit years, future and impossible dates."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from storyline.read.dates import (
    date_from_url,
    expand_two_digit_year,
    find_dates,
    find_publication_date,
    infer_day_first,
    parse_date,
    regional_day_first,
)

NOW = date(2024, 6, 1)


def _iso(text: str, **order: bool) -> str | None:
    parsed = parse_date(text, now=NOW, **order)
    return parsed.iso if parsed else None


def _published(blocks: list[str], **context: Any) -> str | None:
    """Just the date of ``find_publication_date``, "now" fixed."""
    found = find_publication_date(blocks, now=NOW, **context)
    return found[0] if found else None


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("23.07.18", "2018-07-23"),
        ("2017/7/10 18:53:40", "2017-07-10"),
        ("July 10, 2017", "2017-07-10"),
        ("10 July 2017", "2017-07-10"),
        ("2018-07-23T09:15:00+03:00", "2018-07-23"),
        ("Jul. 10, 2017", "2017-07-10"),
        ("Sept. 5, 2017", "2017-09-05"),
        ("Monday, July 10th, 2017 at 3 pm", "2017-07-10"),
        ("10th of July, 2017", "2017-07-10"),
        ("10-Jul-2017", "2017-07-10"),
        ("Published: 13/07/2017", "2017-07-13"),
        ("Updated 07/13/2017 10:00", "2017-07-13"),
        ("2017.07.10", "2017-07-10"),
        ("2017年7月10日", "2017-07-10"),
        ("10 de julio de 2017", "2017-07-10"),
        ("10. Juli 2017", "2017-07-10"),
        ("10 июля 2017 г.", "2017-07-10"),
        ("le 3 août 2019", "2019-08-03"),
    ],
)
def test_formats(text: str, iso: str) -> None:
    parsed = parse_date(text, now=NOW)
    assert parsed is not None and parsed.iso == iso and not parsed.ambiguous


def test_month_precision() -> None:
    parsed = parse_date("in July 2017", now=NOW)
    assert parsed is not None and parsed.iso == "2017-07" and parsed.precision == "month"


def test_ambiguous_slash_date_is_not_guessed() -> None:
    parsed = parse_date("10/07/2017", now=NOW)
    assert parsed is not None and parsed.ambiguous and parsed.iso is None
    assert set(parsed.readings) == {"2017-07-10", "2017-10-07"}


def test_document_evidence_decides_order() -> None:
    assert _iso("10/07/2017", day_first=True) == "2017-07-10"
    assert _iso("10/07/2017", day_first=False) == "2017-10-07"


def test_dotted_dates_are_day_first_by_convention() -> None:
    parsed = parse_date("04.05.2019", now=NOW)
    assert parsed is not None and parsed.iso == "2019-05-04" and "convention" in parsed.evidence


def test_document_evidence_beats_dot_convention() -> None:
    assert _iso("04.05.2019", day_first=False) == "2019-04-05"


def test_regional_convention_is_last_resort() -> None:
    assert _iso("04/05/2019", regional=False) == "2019-04-05"
    assert _iso("04/05/2019", regional=True) == "2019-05-04"
    # An unambiguous field beats the regional convention.
    assert _iso("24/05/2019", regional=False) == "2019-05-24"


def test_infer_day_first_from_other_dates() -> None:
    assert infer_day_first(["Posted 25/03/2019", "see also 04/05/2019"]) is True
    assert infer_day_first(["Posted 03/25/2019"]) is False
    assert infer_day_first(["25/03/2019 and 03/25/2019"]) is None  # contradicts itself
    assert infer_day_first(["04/05/2019"]) is None


def test_regional_day_first() -> None:
    assert regional_day_first("US", None) is False
    assert regional_day_first("DE", None) is True
    assert regional_day_first("CN", "en") is None
    assert regional_day_first(None, "en") is None
    assert regional_day_first(None, "ru") is True


def test_two_digit_years() -> None:
    assert expand_two_digit_year(18, NOW) == 2018
    assert expand_two_digit_year(99, NOW) == 1999
    assert expand_two_digit_year(24, NOW) == 2024
    assert expand_two_digit_year(25, NOW) == 1925


def test_future_and_impossible_dates_rejected() -> None:
    assert parse_date("March 3, 2031", now=NOW) is None
    assert parse_date("31/02/2017", now=NOW) is None
    assert parse_date("2017-13-01", now=NOW) is None


def test_only_reading_not_in_future_wins() -> None:
    # Read day-first, 06/07/2024 would be 6 July 2024, after "now": only 7 June 2024 remains.
    parsed = parse_date("06/07/2024", now=date(2024, 6, 10))
    assert parsed is not None and parsed.iso == "2024-06-07"


def test_relative_dates_give_nothing() -> None:
    for text in ("Friday", "2 hours ago", "yesterday at noon", "on July 9"):
        assert parse_date(text, now=NOW) is None


def test_find_dates_in_order() -> None:
    found = find_dates("From 3 May 2019 to June 4, 2019.", now=NOW)
    assert [d.iso for d in found] == ["2019-05-03", "2019-06-04"]


def test_publication_date_from_labelled_line() -> None:
    byline = "By Jane Roe Source:Example Daily Published: 2019/3/4 10:00:00"
    blocks = ["A Headline About Things", byline, "Body text."]
    assert find_publication_date(blocks, now=NOW) == ("2019-03-04", "published: 2019/3/4")


def test_label_reaches_over_weekday_and_time() -> None:
    blocks = ["Headline Of The Story", "Wed, May 8, 2019", "Published 2:16 AM EST Tuesday, May 7, 2019"]
    assert find_publication_date(blocks, now=NOW) == ("2019-05-07", "published: May 7, 2019")


def test_publication_date_prefers_published_over_updated() -> None:
    blocks = ["Updated: May 9, 2019", "Published: May 8, 2019"]
    assert _published(blocks) == "2019-05-08"


def test_publication_date_ignores_dates_in_prose() -> None:
    prose = "The talks began on July 16, 2018 and lasted for many hours, officials said on Monday."
    blocks = ["Headline", prose]
    assert _published(blocks) is None


def test_publication_date_ambiguous_gives_none_unless_evidence() -> None:
    assert _published(["04/05/2019", "Headline"]) is None
    assert _published(["04/05/2019", "Headline"], country="US") == "2019-04-05"
    # Another date on the page proves the order.
    assert _published(["04/05/2019", "A photo from 25/04/2019 shows the square"]) == "2019-05-04"


def test_bare_dateline_after_head_not_believed() -> None:
    blocks = ["Headline", "Body " * 40 + ".", "July 1, 2019"]
    assert _published(blocks, head=1) is None


def test_byline_date_beats_todays_banner_date() -> None:
    byline = "By Jane Roe On May 3, 2019 at 4:00 PM EST"
    blocks = ["Home", "Wed, May 8, 2019", "Headline Of The Story", byline]
    assert _published(blocks) == "2019-05-03"
    # An ambiguous byline date is not guessed: only the banner is left.
    blocks[-1] = "By Jane Roe On 05/03/19 at 4:00 PM EST"
    assert _published(blocks) == "2019-05-08"


def test_banner_date_in_a_menu_is_weak() -> None:
    blocks = ["World", "May 8, 2019", "Sports", "Headline Of The Story", "May 2, 2019"]
    assert _published(blocks) == "2019-05-02"


def test_timestamped_line_just_after_head() -> None:
    prose = "A long opening sentence of the story that runs on for many words, as prose does, ok."
    blocks = ["Headline Of The Story", prose, "May 2, 2019 10:15 AM", "Related story", "May 1, 2019 9:00 AM"]
    assert _published(blocks, head=1) == "2019-05-02"


def test_date_from_url() -> None:
    assert date_from_url("https://example.com/world/2018/07/23/summit-story.html", now=NOW) == "2018-07-23"
    assert date_from_url("https://example.com/news/20180723-summit", now=NOW) == "2018-07-23"
    assert date_from_url("https://example.com/news/story-123456", now=NOW) is None
