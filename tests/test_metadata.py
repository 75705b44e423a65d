"""storyline.metadata: the seed pages, plus invented pages for every kind of evidence.

Only short expected values (names, dates, outlets) refer to the seeds; every text below is ours.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from storyline.metadata import (
    build_document,
    canonical_outlet,
    clean_author_list,
    country_of_domain,
    detect_language,
    is_person_name,
    registrable_domain,
)
from storyline.model import Document, Extraction, Hints, Source
from storyline.textclean import clean_text

SEEDS = Path(__file__).parents[2] / "shared" / "seeds"


def _seed(prefix: str) -> Document:
    if not SEEDS.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"seed pages missing: {SEEDS}")
        pytest.skip("seed pages not available")
    path = next(SEEDS.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    return build_document(Source(origin=str(path), data=text), clean_text(text))


def _text_doc(text: str, **hints: object) -> Document:
    """A text-mode page; the Extraction is built by hand (blank-line blocks, nothing removed) so that
    these tests do not depend on the cleaner: metadata must cope with boilerplate still in the body."""
    extraction = Extraction(paragraphs=[b.strip() for b in text.split("\n\n") if b.strip()])
    return build_document(Source(origin="test", data=text, mode="text", hints=Hints(**hints)), extraction)  # type: ignore[arg-type]


def _hand_doc(paragraphs: list[str], evidence: list[str], before: int, **hints: object) -> Document:
    """An HTML-mode-like page: our own Extraction, no raw text lines to fall back on."""
    extraction = Extraction(paragraphs=paragraphs, evidence=evidence, evidence_before_body=before)
    source = Source(origin="test", data="<html></html>", mode="html", hints=Hints(**hints))  # type: ignore[arg-type]
    return build_document(source, extraction)


# --- seeds -------------------------------------------------------------------------------------


def test_seed_000_author_box_dotted_date_outlet_from_first_published() -> None:
    doc = _seed("000")
    assert doc.authors == ["Andrey Bezrukov"]
    assert doc.author_roles["Andrey Bezrukov"].startswith("Advisor")
    assert doc.published == "2018-07-23" and doc.published_from == "text"
    assert doc.outlet == "Valdai Club"
    assert doc.title and not doc.title.isupper()  # the all-capitals headline is re-cased
    assert doc.language == "en" and doc.kind == "opinion"


def test_seed_001_name_and_role_lines_outlet_left_unknown() -> None:
    doc = _seed("001")
    assert doc.authors == ["Andrey Kortunov"]
    assert doc.author_roles["Andrey Kortunov"].startswith("Director General")
    # The page never names its publisher; the author's affiliation is not the outlet.
    assert doc.outlet is None
    assert doc.title is None  # the copied text carries no headline
    assert doc.published is None
    assert doc.kind == "opinion"


def test_seed_002_syndication_line() -> None:
    doc = _seed("002")
    assert doc.authors == ["David Filipov", "Abby Phillip"]
    assert doc.outlet == "The Washington Post"
    assert doc.title and doc.title.startswith("Here's What's At Stake")  # breadcrumb skipped
    assert doc.kind == "news" and doc.country == "US"


def test_seed_003_title_and_interview() -> None:
    doc = _seed("003")
    assert doc.title and doc.title.startswith("The historic meeting")
    assert doc.authors == []
    assert doc.kind == "interview"


def test_seed_004_byline_source_and_bio() -> None:
    doc = _seed("004")
    assert doc.authors == ["Cui Heng"]
    assert doc.author_roles["Cui Heng"] == "PhD candidate at the Center for Russian Studies, East China Normal University"
    assert doc.published == "2017-07-10" and doc.published_from == "text"
    assert doc.outlet == "Global Times"
    assert doc.title == "Can Trump-Putin meet improve US-Russia ties?"
    assert doc.kind == "opinion" and doc.country == "CN"


# --- invented pages ------------------------------------------------------------------------------

BODY = (
    "The regional council approved the new budget on Tuesday after a long debate, officials said. "
    "The mayor said the plan would fund three schools and a bridge, while opposition members said "
    "the costs were underestimated and told reporters they would appeal the decision in court."
)


def test_byline_with_two_authors_and_published_label() -> None:
    text = f"Council Approves Budget\n\nBy Maria Lopez and Tom Becker | Published: March 5, 2019\n\n{BODY}\n"
    doc = _text_doc(text)
    assert doc.title == "Council Approves Budget"
    assert doc.authors == ["Maria Lopez", "Tom Becker"]
    assert doc.published == "2019-03-05" and doc.published_from == "text"


def test_junk_authors_rejected() -> None:
    junk = ["Email the author", "Staff", "Admin", "@newsdesk", "Reuters", "The Washington Post", "Staff Writer", "https://x.com/a"]
    assert clean_author_list(junk + ["Jane Roe"]) == ["Jane Roe"]
    assert not is_person_name("Share this article")
    assert not is_person_name("Request Information")
    assert is_person_name("Jean-Luc de la Fontaine")


def test_junk_byline_rejected() -> None:
    doc = _text_doc(f"Budget Passes\n\nBy Staff\n\n{BODY}\n")
    assert doc.authors == []


def test_hints_beat_meta_and_text() -> None:
    text = f"Text Headline\n\nBy Maria Lopez\n\n{BODY}\n"
    doc = _text_doc(text, title="Hinted Title", authors=["Given Author"], outlet="Hinted Outlet", published="2019-01-02")
    assert doc.title == "Hinted Title" and doc.authors == ["Given Author"] and doc.outlet == "Hinted Outlet"
    assert doc.published == "2019-01-02" and doc.published_from == "meta"


def test_meta_used_when_no_hints() -> None:
    extraction = Extraction(
        paragraphs=[BODY],
        meta={"title": "Meta Title", "authors": ["Staff", "Ann Meyer"], "published": "2020-02-03T08:00:00Z", "outlet": "Example Daily"},
    )
    doc = build_document(Source(origin="x", data="<html/>", mode="html"), extraction)
    assert doc.title == "Meta Title" and doc.authors == ["Ann Meyer"] and doc.outlet == "Example Daily"
    assert doc.published == "2020-02-03" and doc.published_from == "meta"


def test_syndication_line_names_original_outlet() -> None:
    evidence = ["This story was written by Ann Meyer and Li Wei from The Guardian and was licensed to us."]
    doc = _hand_doc([BODY], evidence, 0, url="https://aggregator.example.com/story")
    assert doc.authors == ["Ann Meyer", "Li Wei"]
    assert doc.outlet == "The Guardian" and doc.country == "GB"


def test_copyright_line_gives_outlet() -> None:
    doc = _hand_doc([BODY], ["© 2019 Lakeside Courier. All rights reserved."], 0)
    assert doc.outlet == "Lakeside Courier"


def test_first_published_at_domain() -> None:
    doc = _hand_doc([BODY], ["First published at example-news.de"], 0)
    assert doc.outlet == "example-news.de" and doc.country == "DE"


def test_source_label_that_is_a_title_is_not_an_outlet() -> None:
    doc = _hand_doc([BODY], ["Source: Why The Budget Matters: A Look Ahead?"], 0)
    assert doc.outlet is None


def test_url_domain_outlet_and_date() -> None:
    doc = _hand_doc([BODY], [], 0, url="https://www.nytimes.com/2019/05/06/world/budget.html")
    assert doc.outlet == "The New York Times" and doc.country == "US"
    assert doc.published == "2019-05-06" and doc.published_from == "url"


def test_posted_in_section_is_not_outlet() -> None:
    doc = _hand_doc([BODY], ["Posted in: Politics"], 0)
    assert doc.outlet is None


def test_author_box_with_location() -> None:
    evidence = ["AUTHOR", "Olga Petrova", "Senior Fellow", "Location: Riga, Latvia", "Field of expertise: energy policy"]
    doc = _hand_doc([BODY], evidence, 0)
    assert doc.authors == ["Olga Petrova"]
    assert doc.author_roles == {"Olga Petrova": "Senior Fellow"}
    assert doc.country == "LV"  # from the bio: nothing else says where


def test_name_then_role_at_top() -> None:
    text = f"Share\n\nPeter Novak\n\nProfessor of Economics, University of Vienna\n\n{BODY}\n"
    doc = _text_doc(text)
    assert doc.authors == ["Peter Novak"]
    assert doc.author_roles["Peter Novak"] == "Professor of Economics, University of Vienna"
    assert doc.title is None  # a role line is not a headline


def test_the_author_is_bio() -> None:
    text = f"Budget Passes\n\nBy Peter Novak\n\n{BODY}\n\nThe author is a senior researcher at the Institute of Studies.\n"
    doc = _text_doc(text)
    assert doc.author_roles == {"Peter Novak": "senior researcher at the Institute of Studies"}


def test_breadcrumb_then_title() -> None:
    text = f"Home World Europe Council Approves Budget\n\nCouncil Approves Budget\n\n{BODY}\n"
    assert _text_doc(text).title == "Council Approves Budget"


def test_breadcrumb_with_separators_gives_title() -> None:
    text = f"Home › World › Council Approves Budget\n\n{BODY}\n"
    assert _text_doc(text).title == "Council Approves Budget"


def test_date_line_and_widgets_are_not_titles() -> None:
    text = f"Print\n\n12.03.2019\n\nCouncil Approves Budget\n\n{BODY}\n"
    doc = _text_doc(text)
    assert doc.title == "Council Approves Budget"
    assert doc.published == "2019-03-12"


def test_ambiguous_date_gives_no_publication_date() -> None:
    doc = _text_doc(f"Council Approves Budget\n\n04/05/2019\n\n{BODY}\n")
    assert doc.published is None and doc.published_from is None


def test_ambiguous_date_settled_by_outlet_country() -> None:
    doc = _text_doc(f"Council Approves Budget\n\n04/05/2019\n\n{BODY}\n", url="https://www.example.co.uk/budget")
    assert doc.country == "GB" and doc.published == "2019-05-04"


def test_no_date_gives_null() -> None:
    doc = _text_doc(f"Council Approves Budget\n\nFriday\n\n{BODY}\n")
    assert doc.published is None


# --- language ----------------------------------------------------------------------------------


def test_language_german_and_russian() -> None:
    german = "Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Haushalt beschlossen."
    russian = "Городской совет во вторник после долгих споров утвердил новый бюджет на следующий год."
    assert detect_language(german) == "de"
    assert detect_language(russian) == "ru"
    assert detect_language("ok") is None


# --- kind ----------------------------------------------------------------------------------------

OPINION = [
    "I have watched this council for twenty years, and I have never seen a budget so poorly argued.",
    "We deserve better than promises. In my view the plan spends our money on the wrong things, "
    "and I believe the bridge will cost twice what the mayor claims.",
    "Our city needs schools first. I would ask every member to vote against it next time.",
]
NEWS = [
    "The regional council approved the new budget on Tuesday, officials said.",
    "Mayor Anna Berg said the plan would fund three schools. “This is a good day,” she told reporters.",
    "Opposition leader Karl Lind said the costs were underestimated, according to a statement.",
    "The finance office said the first payments would be made in the spring.",
]
INTERVIEW = [
    "What does the budget mean for schools?",
    "It means three new buildings and more teachers over the next five years.",
    "Is the bridge affordable?",
    "Only if the state contributes, and we are negotiating that now.",
    "When will work start?",
    "Next spring, if the council keeps its promises.",
]


def _kind(paragraphs: list[str], evidence: list[str] | None = None) -> str | None:
    return _hand_doc(paragraphs, evidence or [], len(evidence or [])).kind


def test_kind_opinion_from_author_voice() -> None:
    assert _kind(OPINION) == "opinion"


def test_kind_news_from_reporting() -> None:
    assert _kind(NEWS) == "news"


def test_kind_interview_from_questions() -> None:
    assert _kind(INTERVIEW) == "interview"


def test_kind_interview_from_single_expert() -> None:
    paragraphs = [
        "Economist Lena Fischer said the budget was balanced. “It works,” she said.",
        "“Schools come first,” she said. According to Fischer, the bridge can wait.",
        "“Costs will rise,” the expert said. Fischer said the state should help.",
    ]
    assert _kind(paragraphs) == "interview"


def test_kind_from_section_word() -> None:
    assert _kind(NEWS, ["Posted in: VIEWPOINT"]) == "opinion"
    assert _kind(NEWS, ["Analysis"]) == "analysis"


# --- helpers -------------------------------------------------------------------------------------


def test_domain_helpers() -> None:
    assert registrable_domain("https://www.news.example.co.uk/a/b") == "example.co.uk"
    assert registrable_domain("valdaiclub.com") == "valdaiclub.com"
    assert canonical_outlet("valdaiclub.com") == "Valdai Club"
    assert canonical_outlet("Washington Post") == "The Washington Post"
    assert canonical_outlet("unknown-site.org") == "unknown-site.org"
    assert country_of_domain("example.ru") == "RU"
    assert country_of_domain("example.co.uk") == "GB"
    assert country_of_domain("example.io") is None
    assert country_of_domain("example.com") is None


def test_words_and_removed_chars() -> None:
    extraction = Extraction(paragraphs=["one two three", "four"], removed_chars=42)
    doc = build_document(Source(origin="x", data="", mode="text"), extraction)
    assert doc.words == 4 and doc.boilerplate_removed_chars == 42
