"""Tests of the HTML-mode cleaner on small pages we wrote ourselves, plus one metric floor."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from storyline.read.htmlclean import (
    clean_authors,
    clean_html,
    filter_paragraphs,
    strip_site_from_title,
)
from storyline.read.htmldates import (
    date_from_url,
    day_first_evidence,
    fix_day_month_swap,
    month_from_url,
    resolve_numeric_date,
)

BODY_SENTENCES = [
    "The harbour council of Lindqvist voted on Tuesday to rebuild the old grain pier before winter storms return.",
    "Engineers told the council that the timber piles had rotted far faster than the survey of last spring predicted.",
    "Fishing crews have moored at the northern jetty for three weeks, paying a fee that several captains called unfair.",
    "The mayor said the town would borrow against next year's ferry income rather than raise the harbour levy again.",
    "Work is due to start in the first week of October and should take about eleven weeks if the weather holds.",
]


def _page(body: str, head: str = "", lang: str = "en") -> str:
    return f"<!DOCTYPE html><html lang=\"{lang}\"><head><meta charset=\"utf-8\">{head}</head><body>{body}</body></html>"


def _article(paragraphs: list[str], extra_before: str = "", extra_after: str = "") -> str:
    inner = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<article><h1>Harbour pier to be rebuilt</h1>{extra_before}{inner}{extra_after}</article>"


NAV = "<nav><ul><li><a href='/'>Home</a></li><li><a href='/world'>World</a></li><li><a href='/sport'>Sport</a></li></ul></nav>"
FOOTER = "<footer><p>Contact the newsroom</p><p>Privacy settings and cookie choices</p></footer>"
COMMENTS = (
    "<section id='comments' class='comments'><h3>Comments</h3>"
    "<div class='comment'><p>I walked past that pier every morning as a child and never trusted it.</p></div></section>"
)


def test_article_keeps_body_and_drops_nav_footer_comments() -> None:
    html = _page(NAV + _article(BODY_SENTENCES) + COMMENTS + FOOTER,
                 head="<title>Harbour pier to be rebuilt | Lindqvist Gazette</title>")
    result = clean_html(html, url="https://gazette.example/2023/04/18/harbour-pier")
    assert result.paragraphs == BODY_SENTENCES
    assert "never trusted it" not in result.text
    assert "Privacy settings" not in result.text
    assert result.meta["published"] == "2023-04-18" and result.meta["published_from"] == "url"
    assert result.removed_chars > 0


def test_headline_is_not_body_and_title_is_metadata() -> None:
    html = _page(_article(BODY_SENTENCES), head="<meta property='og:title' content='Harbour pier to be rebuilt'>")
    result = clean_html(html)
    assert result.title == "Harbour pier to be rebuilt"
    assert result.paragraphs[0] == BODY_SENTENCES[0]


def test_site_name_is_cut_from_title_but_dashes_in_headlines_stay() -> None:
    assert strip_site_from_title("Pier vote passes | Lindqvist Gazette", "Lindqvist Gazette", None) == "Pier vote passes"
    assert strip_site_from_title("Gazette - Pier vote passes", None, "https://www.gazette.example/a") == "Pier vote passes"
    assert strip_site_from_title("Storm - what we know so far", "Gazette", None) == "Storm - what we know so far"


def test_teaser_repeated_at_start_is_dropped_once() -> None:
    teaser = BODY_SENTENCES[0]
    html = _page(_article([teaser, *BODY_SENTENCES]))
    result = clean_html(html)
    assert result.paragraphs.count(teaser) == 1
    assert result.paragraphs == BODY_SENTENCES


def test_trailing_boilerplate_is_filtered() -> None:
    lines = [*BODY_SENTENCES, "Read more: Lighthouse keepers demand new radios",
             "Sign up for our newsletter to get the harbour briefing every morning.",
             "Follow us on Twitter and Facebook."]
    result = filter_paragraphs(lines, title=None)
    assert result.kept == BODY_SENTENCES
    assert len(result.removed) == 3


def test_junk_author_strings_are_cleaned() -> None:
    assert clean_authors("By Mira Holt and Tomas Vik") == ["Mira Holt", "Tomas Vik"]
    assert clean_authors(["Email the author", "Staff", "@harbourdesk"]) == []
    assert clean_authors("Written by Ada Brenn, Lukas Oyelaran; Staff Reporter") == ["Ada Brenn", "Lukas Oyelaran"]
    assert clean_authors("von Jana Kessler") == ["Jana Kessler"]


def test_author_from_meta_is_cleaned_in_extraction() -> None:
    head = "<meta name='author' content='By Mira Holt | Staff'>"
    result = clean_html(_page(_article(BODY_SENTENCES), head=head))
    assert result.meta["authors"] == ["Mira Holt"]


def test_day_first_evidence_from_unambiguous_dates() -> None:
    text = "Posted 05/10/2018. Earlier update 23/09/2018."
    assert day_first_evidence(text, None, None) is True
    text_us = "Posted 05/10/2018. Earlier update 09/23/2018."
    assert day_first_evidence(text_us, None, None) is False


def test_day_first_evidence_from_locale_and_none_without_evidence() -> None:
    assert day_first_evidence("Posted 05/10/2018.", None, "de-de") is True
    assert day_first_evidence("Posted 05/10/2018.", None, "en-us") is False
    assert day_first_evidence("Posted 05/10/2018.", None, "en") is None
    assert resolve_numeric_date(5, 10, 2018, None) is None  # never a silent guess
    assert resolve_numeric_date(5, 10, 2018, True) == "2018-10-05"
    assert resolve_numeric_date(5, 10, 2018, False) == "2018-05-10"
    assert resolve_numeric_date(25, 10, 2018, None) == "2018-10-25"


def test_day_month_swap_is_corrected_by_page_evidence() -> None:
    text = "Published 05/10/2018 - other story 28/09/2018 - another 30/09/2018"
    assert fix_day_month_swap("2018-05-10", text, None, "en") == "2018-10-05"
    # The URL date is the strongest evidence: it stands.
    assert fix_day_month_swap("2018-05-10", text, "https://x.example/2018/05/10/a", "en") == "2018-05-10"


def test_ambiguous_page_date_in_html_uses_evidence() -> None:
    dateline = "<p class='date'>Published 04/09/2021</p><p class='date'>Updated 17/09/2021</p>"
    html = _page(_article(BODY_SENTENCES, extra_before=dateline), lang="en-gb")
    result = clean_html(html)
    assert result.meta["published"] in ("2021-09-04", "2021-09-17")


def test_structured_date_wins() -> None:
    head = "<meta property='article:published_time' content='2022-03-14T09:30:00+01:00'>"
    result = clean_html(_page(_article(BODY_SENTENCES), head=head))
    assert result.meta["published"] == "2022-03-14"
    assert result.meta["published_from"] == "meta"


def test_url_dates() -> None:
    assert date_from_url("https://x.example/news/2019/7/4/fireworks") == "2019-07-04"
    assert date_from_url("https://x.example/2019-07-04-fireworks.html") == "2019-07-04"
    assert date_from_url("https://web.archive.org/web/20160218174457/http://x.example/a") is None
    assert month_from_url("https://x.example/blog/2011/12/some-post/") == (2011, 12)


def test_utc_timestamp_moves_to_the_sites_local_day() -> None:
    ld = '{"@type": "NewsArticle", "datePublished": "2021-03-05T23:30:00Z"}'
    head = f"<script type='application/ld+json'>{ld}</script>"
    late_in_rome = clean_html(_page(_article(BODY_SENTENCES), head=head, lang="it"),
                              url="https://giornale.example.it/notizia")
    assert late_in_rome.meta["published"] == "2021-03-06"
    no_zone = clean_html(_page(_article(BODY_SENTENCES), head=head, lang="en"),
                         url="https://paper.example.com/story")
    assert no_zone.meta["published"] == "2021-03-05"


def test_html_without_body_gives_empty_paragraphs() -> None:
    result = clean_html("<html><head><title>Only a head</title></head></html>")
    assert result.paragraphs == []
    assert clean_html("").paragraphs == []
    assert clean_html(b"   ").paragraphs == []


def test_broken_markup_does_not_crash() -> None:
    broken = "<html><body><div><p>" + "</p><p>".join(BODY_SENTENCES) + "<div><span><b>unclosed"
    result = clean_html(broken)
    assert BODY_SENTENCES[1] in result.text


def test_bytes_input_and_huge_page() -> None:
    filler = "".join(f"<div class='teaser'><a href='/x{i}'>Link {i}</a></div>" for i in range(5000))
    html = _page(NAV + filler + _article(BODY_SENTENCES) + filler).encode("utf-8")
    result = clean_html(html)
    assert BODY_SENTENCES[2] in result.text


def test_non_english_page() -> None:
    german = [
        "Der Gemeinderat von Lindqvist hat am Dienstag beschlossen, den alten Getreidesteg vor den Winterstürmen zu erneuern.",
        "Die Ingenieure erklärten, dass die Holzpfähle viel schneller verrottet seien als im letzten Frühjahr erwartet.",
        "Die Fischer liegen seit drei Wochen an der Nordmole und zahlen eine Gebühr, die mehrere Kapitäne ungerecht nennen.",
        "Der Bürgermeister will die Arbeiten aus den Fähreinnahmen des nächsten Jahres bezahlen.",
    ]
    html = _page(NAV + _article(german, extra_after="<p>Lesen Sie auch: Neue Funkgeräte für Leuchttürme</p>") + FOOTER,
                 head="<meta property='og:site_name' content='Lindqvister Bote'>", lang="de-DE")
    result = clean_html(html)
    assert result.paragraphs == german
    assert result.meta["language"] == "de-de"
    assert result.meta["outlet"] == "Lindqvister Bote"


# --- a metric floor on real pages (read at run time, never copied into the repo) ------------

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval-data" / "extraction" / "zyte-aeb"
ZYTE_SAMPLE = 12
ZYTE_FLOOR_F1 = 0.93


def test_zyte_sample_meets_floor() -> None:
    if not (DATA / "ground-truth.json").exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"eval data missing at {DATA}")
        pytest.skip("eval data not available")
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from common import shingle_corpus_f1

    truth = json.loads((DATA / "ground-truth.json").read_text("utf-8"))
    ids = sorted(truth)[:ZYTE_SAMPLE]
    pairs = []
    for page_id in ids:
        html = gzip.decompress((DATA / "html" / f"{page_id}.html.gz").read_bytes())
        pairs.append((truth[page_id]["articleBody"], clean_html(html).text))
    assert shingle_corpus_f1(pairs)["f1"] >= ZYTE_FLOOR_F1


# --- captions, credits, polls and teasers (issue 13) ----------------------------------------

VELDHAVEN = [
    "The Veldhaven ferry company said on Monday that the new terminal on the east quay would open in March.",
    "Ilse Varga, who chairs the harbour board, said the delay came from the soft clay under the quay.",
    "A poll by the Osterdal institute found 43% support for a higher bridge toll among island residents.",
    "A photo of the flooded quay, taken by a dock worker in January, pushed the board to publish its survey.",
    "Police said two small fires at the old terminal last week were related to a dispute over berths.",
    "Related costs at the Veldhaven yard rose by 4% last year, mostly because of the price of steel.",
]

HTML_FURNITURE = [
    "Image copyright Veldhaven Press Image caption The east quay terminal under construction",
    "The east quay at dawn. Photograph: Ilse Varga/Nordpress",
    "Photo: Tomas Brenner",
    "Photos by Tomas Brenner",
    "Slideshow (5 Images)",
    "Read more: Osterdal council approves the harbour budget",
    "Related: Island residents protest over ferry fares",
    "You may also like",
]


@pytest.mark.parametrize("furniture", HTML_FURNITURE)
def test_caption_credit_gallery_and_teaser_paragraphs_are_filtered(furniture: str) -> None:
    lines = [*VELDHAVEN[:2], furniture, *VELDHAVEN[2:]]
    result = filter_paragraphs(lines, title=None)
    assert result.kept == VELDHAVEN
    assert result.removed == [furniture]


def test_reader_poll_paragraphs_are_filtered() -> None:
    poll = ["Do you think the Veldhaven terminal will open on time?", "Yes 43%", "No 57%",
            "Vote now"]
    inline = ["Do you think the toll should rise? Yes 38% No 62%", "1,204 votes"]
    result = filter_paragraphs([*VELDHAVEN[:3], *poll, *VELDHAVEN[3:], *inline], title=None)
    assert result.kept == VELDHAVEN
    assert result.removed == [*poll, *inline]


def test_results_table_and_questions_in_the_article_stay() -> None:
    # Shares under a prose line are the article's table; a question followed by prose is
    # the article's own question. Only answers under a question (or by a call) make a poll.
    lines = [*VELDHAVEN[:2], "Harbour party 43%", "Island list 21%",
             "Will the council raise the toll again?", *VELDHAVEN[2:]]
    assert filter_paragraphs(lines, title=None).kept == lines


def test_caption_and_poll_are_dropped_from_a_page() -> None:
    figure = ("<figure><img src='quay.jpg'><figcaption>The east quay at dawn. "
              "Photograph: Ilse Varga/Nordpress</figcaption></figure>")
    poll = ("<div class='poll'><p>Do you think the Veldhaven terminal will open on time?</p>"
            "<p>Yes 43%</p><p>No 57%</p><p>Vote now</p></div>")
    teaser = "<p>Read more: Osterdal council approves the harbour budget</p>"
    html = _page(_article(VELDHAVEN[:2], extra_after="")
                 .replace("</article>", figure + poll + teaser + "".join(
                     f"<p>{p}</p>" for p in VELDHAVEN[2:]) + "</article>"))
    result = clean_html(html, url="https://courier.example/2024/03/04/terminal")
    assert result.paragraphs == VELDHAVEN
