"""storyline.read.metadata: the seed pages, plus invented pages for every kind of evidence.

Only short expected values (names, dates, outlets) refer to the seeds; every text below is ours.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storyline.countries import country_code, country_names_by_code, country_of_domain
from storyline.model import Document, Extraction, Hints, Source
from storyline.outlets import packaged_registry
from storyline.read.metadata import (
    build_document,
    canonical_outlet,
    clean_author_list,
    detect_language,
    is_person_name,
    registrable_domain,
)
from storyline.read.textclean import clean_text

# The packaged outlets: the registry every page below is read with.
OUTLETS = packaged_registry()


def _seed(seeds_dir: Path, prefix: str) -> Document:
    """A seed page (``seeds_dir`` skips, or fails under CI, when the shared seeds are absent)."""
    path = next(seeds_dir.glob(f"{prefix}_*.txt"))
    text = path.read_text(encoding="utf-8")
    return build_document(Source(origin=str(path), data=text), clean_text(text), OUTLETS)


def _text_doc(text: str, **hints: Any) -> Document:
    """A text-mode page; the Extraction is built by hand (blank-line blocks, nothing removed) so that
    these tests do not depend on the cleaner: metadata must cope with boilerplate still in the body."""
    extraction = Extraction(paragraphs=[b.strip() for b in text.split("\n\n") if b.strip()])
    source = Source(origin="test", data=text, mode="text", hints=Hints(**hints))
    return build_document(source, extraction, OUTLETS)


def _hand_doc(paragraphs: list[str], evidence: list[str], before: int, **hints: Any) -> Document:
    """An HTML-mode-like page: our own Extraction, no raw text lines to fall back on."""
    extraction = Extraction(paragraphs=paragraphs, evidence=evidence, evidence_before_body=before)
    source = Source(origin="test", data="<html></html>", mode="html", hints=Hints(**hints))
    return build_document(source, extraction, OUTLETS)


# --- seeds -------------------------------------------------------------------------------------


def test_seed_000_author_box_dotted_date_outlet_from_first_published(seeds_dir: Path) -> None:
    doc = _seed(seeds_dir, "000")
    assert doc.authors == ["Andrey Bezrukov"]
    assert doc.author_roles["Andrey Bezrukov"].startswith("Advisor")
    assert doc.published == "2018-07-23" and doc.published_from == "text"
    assert doc.outlet == "Valdai Club"
    assert doc.title and not doc.title.isupper()  # the all-capitals headline is re-cased
    assert doc.language == "en" and doc.kind == "opinion"


def test_seed_001_name_and_role_lines_outlet_left_unknown(seeds_dir: Path) -> None:
    doc = _seed(seeds_dir, "001")
    assert doc.authors == ["Andrey Kortunov"]
    assert doc.author_roles["Andrey Kortunov"].startswith("Director General")
    # The page never names its publisher; the author's affiliation is not the outlet.
    assert doc.outlet is None
    assert doc.title is None  # the copied text carries no headline
    assert doc.published is None
    assert doc.kind == "opinion"


def test_seed_002_syndication_line(seeds_dir: Path) -> None:
    doc = _seed(seeds_dir, "002")
    assert doc.authors == ["David Filipov", "Abby Phillip"]
    assert doc.outlet == "The Washington Post"
    assert doc.title and doc.title.startswith("Here's What's At Stake")  # breadcrumb skipped
    assert doc.kind == "news" and doc.country == "US"


def test_seed_003_title_and_interview(seeds_dir: Path) -> None:
    doc = _seed(seeds_dir, "003")
    assert doc.title and doc.title.startswith("The historic meeting")
    assert doc.authors == []
    assert doc.kind == "interview"


def test_seed_004_byline_source_and_bio(seeds_dir: Path) -> None:
    doc = _seed(seeds_dir, "004")
    assert doc.authors == ["Cui Heng"]
    role = "PhD candidate at the Center for Russian Studies, East China Normal University"
    assert doc.author_roles["Cui Heng"] == role
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


def test_single_newline_page() -> None:
    text = f"Council Approves Budget\nBy Maria Lopez\nPublished: March 5, 2019\n{BODY}\n{BODY}\n"
    doc = _text_doc(text)
    assert doc.title == "Council Approves Budget"
    assert (doc.authors, doc.published) == (["Maria Lopez"], "2019-03-05")


def test_hard_wrapped_page() -> None:
    wrapped = "\n".join(BODY[i : i + 70] for i in range(0, len(BODY), 70))
    text = f"Council Approves Budget\n\nBy Maria Lopez\n\n{wrapped}\n\nBy the way, Some Other Name said\n"
    doc = _text_doc(text)
    assert (doc.title, doc.authors) == ("Council Approves Budget", ["Maria Lopez"])


def test_junk_authors_rejected() -> None:
    junk = ["Email the author", "Staff", "Admin", "@newsdesk", "Reuters", "The Washington Post", "Staff Writer"]
    junk.append("https://x.com/a")
    assert clean_author_list(junk + ["Jane Roe"], OUTLETS) == ["Jane Roe"]
    assert not is_person_name("Share this article", OUTLETS)
    assert not is_person_name("Request Information", OUTLETS)
    assert is_person_name("Jean-Luc de la Fontaine", OUTLETS)
    assert is_person_name("Jean DUPONT", OUTLETS) and not is_person_name("Jane Roe FOXNews", OUTLETS)
    assert clean_author_list(["Sean Lee Sean Lee"], OUTLETS) == ["Sean Lee"]


def test_menu_entries_are_not_name_and_role() -> None:
    text = f"Top Shows\nBehind The Scenes\nRogue Engine\nRambling Reporter\nWorld Selects\n\n{BODY}\n"
    assert _text_doc(text).authors == []


def test_junk_byline_rejected() -> None:
    doc = _text_doc(f"Budget Passes\n\nBy Staff\n\n{BODY}\n")
    assert doc.authors == []


def test_byline_with_role_after_comma() -> None:
    doc = _text_doc(f"Budget Passes\n\nBy Peter Novak, Senior Correspondent\n\n{BODY}\n")
    assert doc.authors == ["Peter Novak"]
    assert doc.author_roles == {"Peter Novak": "Senior Correspondent"}


def test_teaser_bylines_after_body_are_not_authors() -> None:
    text = f"Budget Passes\n\n{BODY}\n\nRelated\n\nOther Story\n\nBy Ann Meyer\n\nThird Story\n\nBy Li Wei\n"
    assert _text_doc(text).authors == []


def test_head_dateline_beats_teaser_published_label() -> None:
    head = "Budget Passes\n\nJane Roe | Example Daily | 10 July 2017"
    text = f"{head}\n\n{BODY}\n\nOther Story\n\nPublished: 3 May 2017\n"
    doc = _text_doc(text)
    assert doc.published == "2017-07-10"


def test_hints_beat_meta_and_text() -> None:
    text = f"Text Headline\n\nBy Maria Lopez\n\n{BODY}\n"
    hints = {"title": "Hinted Title", "authors": ["Given Author"], "outlet": "Hinted Outlet", "published": "2019-01-02"}
    doc = _text_doc(text, **hints)
    assert doc.title == "Hinted Title" and doc.authors == ["Given Author"] and doc.outlet == "Hinted Outlet"
    assert doc.published == "2019-01-02" and doc.published_from == "meta"


def test_meta_used_when_no_hints() -> None:
    extraction = Extraction(
        paragraphs=[BODY],
        meta={
            "title": "Meta Title",
            "authors": ["Staff", "Ann Meyer"],
            "published": "2020-02-03T08:00:00Z",
            "outlet": "Example Daily",
        },
    )
    doc = build_document(Source(origin="x", data="<html/>", mode="html"), extraction, OUTLETS)
    assert doc.title == "Meta Title" and doc.authors == ["Ann Meyer"] and doc.outlet == "Example Daily"
    assert doc.published == "2020-02-03" and doc.published_from == "meta"


def test_known_domain_name_beats_site_name_markup() -> None:
    extraction = Extraction(paragraphs=[BODY], meta={"outlet": "NYTimes", "url": "https://www.nytimes.com/x"})
    doc = build_document(Source(origin="x", data="<html/>", mode="html"), extraction, OUTLETS)
    assert doc.outlet == "The New York Times" and doc.url == "https://www.nytimes.com/x"


def test_meta_language_used_only_for_tiny_bodies() -> None:
    extraction = Extraction(paragraphs=["Ja."], meta={"language": "de-AT"})
    assert build_document(Source(origin="x", data="<html/>", mode="html"), extraction, OUTLETS).language == "de"


def test_syndication_line_names_original_outlet() -> None:
    evidence = ["This story was written by Ann Meyer and Li Wei from The Guardian and was licensed to us."]
    doc = _hand_doc([BODY], evidence, 0, url="https://aggregator.example.com/story")
    assert doc.authors == ["Ann Meyer", "Li Wei"]
    assert doc.outlet == "The Guardian" and doc.country == "GB"


def test_syndication_line_beats_hinted_host_outlet() -> None:
    text = f"{BODY}\n\nThis article was written by Ann Meyer from The Guardian and was licensed to us.\n"
    doc = _text_doc(text, outlet="Aggregator Hub", authors=["Ann Meyer"])
    assert doc.outlet == "The Guardian" and doc.authors == ["Ann Meyer"]


def test_reporting_by_credit_line() -> None:
    doc = _text_doc(f"{BODY}\n\n(Reporting by Mira Holt; Editing by Simon Vale)\n")
    assert doc.authors == ["Mira Holt"]


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
    evidence = ["AUTHOR", "Olga Petrova", "Senior Fellow", "Location: Riga, Latvia", "Field of expertise: energy"]
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


def test_name_joined_onto_widget_line_by_a_cleaner() -> None:
    evidence = ["Print Share this article Peter Novak", "Professor of Economics, University of Vienna"]
    doc = _hand_doc([BODY], evidence, 2)
    assert doc.authors == ["Peter Novak"]
    assert doc.title is None


def test_cleaner_title_guess_checked() -> None:
    role = "Professor of Economics, University of Vienna"
    evidence = ["Peter Novak", role]
    source = Source(origin="x", data="<html/>", mode="html")
    wrong = Extraction(paragraphs=[BODY], title=role, evidence=evidence, evidence_before_body=2)
    assert build_document(source, wrong, OUTLETS).title is None  # the role line is not a headline
    right = Extraction(paragraphs=[BODY], title="Budget Passes", evidence=evidence, evidence_before_body=2)
    assert build_document(source, right, OUTLETS).title == "Budget Passes"


def test_author_box_bare_title_gains_affiliation_from_bio() -> None:
    evidence = [
        "AUTHOR", "Olga Petrova", "Advisor",
        "Work experience: Olga works as an Advisor to the Board of Example Bank and teaches history.",
    ]
    doc = _hand_doc([BODY], evidence, 0)
    assert doc.author_roles == {"Olga Petrova": "Advisor to the Board of Example Bank"}


def test_the_author_is_bio() -> None:
    bio = "The author is a senior researcher at the Institute of Studies."
    text = f"Budget Passes\n\nBy Peter Novak\n\n{BODY}\n\n{bio}\n"
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
    text = f"Council Approves Budget\n\n04/05/2019\n\n{BODY}\n"
    doc = _text_doc(text, url="https://www.example.co.uk/budget")
    assert doc.country == "GB" and doc.published == "2019-05-04"


def test_no_date_gives_null() -> None:
    doc = _text_doc(f"Council Approves Budget\n\nFriday\n\n{BODY}\n")
    assert doc.published is None


def test_masthead_tagline_menu_and_section_tag_are_skipped() -> None:
    text = (
        "THE LAKESIDE COURIER\nThe valley's daily paper since 1900\n\n"
        "News | World | Analysis | Opinion | Sport\n\nSubscribe   Log in\n\nANALYSIS / WORLD\n\n"
        "The Budget Buys Time. It Does Not Settle The Debt\n\nBy Ann Meyer | Published: May 3, 2021\n\n"
        f"Reading time: 4 min\n\n{BODY}\n\n© The Lakeside Courier Ltd 2021\n"
    )
    doc = _text_doc(text)
    assert doc.title == "The Budget Buys Time. It Does Not Settle The Debt"
    assert doc.outlet == "The Lakeside Courier"
    assert doc.authors == ["Ann Meyer"] and doc.published == "2021-05-03"
    assert doc.kind == "analysis"


def test_headline_then_standfirst_then_name_and_date() -> None:
    text = (
        "OPINION\n\nThe Budget Is A Truce, Not A Peace\n\n"
        "The council's plan is a real achievement and it is also built for a good year\n\n"
        f"Nadia Ferro\n06 May 2021\n\n{BODY}\n"
    )
    doc = _text_doc(text)
    assert doc.title == "The Budget Is A Truce, Not A Peace"
    assert doc.authors == ["Nadia Ferro"] and doc.published == "2021-05-06"
    assert doc.kind == "opinion"


def test_source_name_with_url_beats_bare_domain() -> None:
    source = "Source: Valley Policy Institute, https://valley-institute.example/x"
    text = f"{BODY}\n\nFirst published at valley-institute.example\n{source}\n"
    assert _text_doc(text).outlet == "Valley Policy Institute"


def test_breadcrumb_names_interview_section() -> None:
    doc = _hand_doc([BODY], ["Home / Publications / Interviews / Water"], 1)
    assert doc.kind == "interview"


def test_dated_headline_after_dateline() -> None:
    text = f"02.05.21 19:42\nUpdated: 02.05.21 21:10\n\nMINISTER VISITS THE VALLEY\n\n{BODY}\n"
    doc = _text_doc(text)
    assert doc.title == "MINISTER VISITS THE VALLEY" and doc.published == "2021-05-02"


# --- language ----------------------------------------------------------------------------------


def test_language_german_and_russian() -> None:
    german = "Der Stadtrat hat am Dienstag nach einer langen Debatte den neuen Haushalt beschlossen."
    russian = "Городской совет во вторник после долгих споров утвердил новый бюджет."
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
    assert canonical_outlet("valdaiclub.com", OUTLETS) == "Valdai Club"
    assert canonical_outlet("Washington Post", OUTLETS) == "The Washington Post"
    assert canonical_outlet("unknown-site.org", OUTLETS) == "unknown-site.org"
    assert country_of_domain("example.ru") == "RU"
    assert country_of_domain("example.co.uk") == "GB"
    assert country_of_domain("example.io") is None
    assert country_of_domain("example.com") is None


def test_country_table() -> None:
    assert country_code("Germany") == "DE" and country_code("Atlantis") is None
    assert country_names_by_code()["BA"][0] == "Bosnia and Herzegovina"  # the usual name first


def test_words_and_removed_chars() -> None:
    extraction = Extraction(paragraphs=["one two three", "four"], removed_chars=42)
    doc = build_document(Source(origin="x", data="", mode="text"), extraction, OUTLETS)
    assert doc.words == 4 and doc.boilerplate_removed_chars == 42
