"""storyline.read.htmldates: the clues of a page's publication day and how they are weighed,
on pages we wrote ourselves; plus the by-site folds and the weight fit of the dates harness."""

from __future__ import annotations

import sys
from pathlib import Path

from lxml.html import HtmlElement

from storyline.read.htmlclean import parse_html
from storyline.read.htmldates import (
    EVIDENCE_KINDS,
    DateEvidence,
    choose_day,
    date_evidence,
    date_rules,
    find_published_date,
    page_lines,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

BODY = (
    "<p>The ferry between Oskarholm and the mainland will run twice a day again from next month.</p>"
    "<p>The operator said the second boat had passed its inspection after a winter in the yard.</p>"
)


def _tree(body: str, head: str = "", lang: str = "en") -> HtmlElement:
    tree = parse_html(f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>{head}"
                      f"</head><body>{body}</body></html>")
    assert tree is not None
    return tree


def _evidence(named: dict[str, set[str]], counts: dict[str, int] | None = None,
              month: tuple[int, int] | None = None) -> DateEvidence:
    return DateEvidence({kind: frozenset(named.get(kind, set())) for kind in EVIDENCE_KINDS},
                        month, counts or {})


def test_page_lines_break_at_blocks_and_skip_scripts() -> None:
    tree = _tree("<div><h1>Ferry back to two crossings</h1><span>4 March 2022</span>"
                 "<script>var stamp = '2001-01-01';</script><p>First <b>line</b> here</p></div>")
    assert page_lines(tree) == ["Ferry back to two crossings", "4 March 2022", "First line here"]


def test_date_under_the_headline_is_a_clue_and_outweighs_a_stale_markup_date() -> None:
    # The markup keeps the day the page was first drafted; readers see the day under the headline.
    head = ("<meta property='og:title' content='Ferry back to two crossings a day'>"
            "<meta property='article:published_time' content='2022-02-20'>")
    body = ("<header><h1>Oskarholm Courier</h1></header><article><h1>Ferry back to two crossings a day</h1>"
            f"<p class='byline'>By Jo Lind</p><p>4 March 2022</p>{BODY}</article>")
    tree = _tree(body, head)
    found = date_evidence(tree, "https://courier.example/ferry", "en")
    assert found.named["head"] == {"2022-03-04"}
    assert "2022-02-20" in found.named["markup"]
    assert find_published_date(tree, "https://courier.example/ferry", "en") == ("2022-03-04", "text")


def test_a_logo_h1_is_not_the_headline() -> None:
    # The site's logo is the first <h1>; the date next to it (today's banner) is not the page's.
    head = "<meta property='og:title' content='Second ferry passes its inspection'>"
    body = ("<h1>Oskarholm Courier</h1><p>Friday 9 June 2023</p><nav><a href='/'>Home</a></nav>"
            "<main><h1>Second ferry passes its inspection</h1><p>2 June 2023</p>" + BODY + "</main>")
    found = date_evidence(_tree(body, head), None, "en")
    assert found.named["head"] == {"2023-06-02"}


def test_labelled_dates_are_clues() -> None:
    body = ("<main><h1>Ferry timetable</h1>" + BODY * 8
            + "<p>Published: 12 May 2021</p><p>Updated: 14 May 2021</p></main>")
    found = date_evidence(_tree(body), None, "en")
    assert found.named["labelled"] == {"2021-05-12"}
    assert found.named["labelled_updated"] == {"2021-05-14"}


def test_a_list_pages_markup_speaks_only_through_its_first_item() -> None:
    items = ",".join(
        f'{{"@type": "NewsArticle", "datePublished": "2020-05-{day:02d}T10:00:00+02:00"}}'
        for day in (18, 3, 1))
    head = f"<script type='application/ld+json'>[{items}]</script>"
    found = date_evidence(_tree("<main><h1>News</h1>" + BODY + "</main>", head), None, "de")
    assert found.named["markup"] == {"2020-05-18"}
    assert found.named["markup_local"] == {"2020-05-18"}


def test_utc_markup_is_read_on_the_sites_clock() -> None:
    head = "<meta property='article:published_time' content='2021-03-05T23:30:00Z'>"
    rome = date_evidence(_tree("<main><h1>Traghetto</h1>" + BODY + "</main>", head, "it"),
                         "https://giornale.example.it/notizia", "it")
    assert rome.named["markup"] == {"2021-03-06"}
    unknown = date_evidence(_tree("<main><h1>Ferry</h1>" + BODY + "</main>", head),
                            "https://paper.example.com/story", "en")
    assert unknown.named["markup"] == {"2021-03-05"}


def test_weighted_vote_and_tie_break() -> None:
    weights = {"url": 1.0, "markup": 1.0, "head": 2.0, "page_count": 0.5,
               "url_month": 1.0, "off_url_month": -1.0}
    # Two clues agreeing beat one stronger clue alone.
    agreed = _evidence({"url": {"2020-01-02"}, "markup": {"2020-01-02"}, "head": {"2020-01-05"}})
    assert choose_day(agreed, weights) == "2020-01-02"
    # A URL month makes a day inside it likelier than one outside.
    month = _evidence({"markup": {"2020-02-28"}, "head": {"2020-03-01"}}, month=(2020, 2))
    assert choose_day(month, {**weights, "head": 1.0}) == "2020-02-28"
    # Equal support: the earlier day (a publication precedes its updates).
    tied = _evidence({"markup": {"2020-01-09", "2020-01-03"}})
    assert choose_day(tied, weights) == "2020-01-03"
    assert choose_day(_evidence({}), weights) is None


def test_packaged_weights_cover_every_feature() -> None:
    from storyline.read.htmldates import FEATURES

    assert set(date_rules().weights) == set(FEATURES)


def test_site_folds_keep_a_site_together() -> None:
    from dates import site_folds, site_of

    urls = ["https://a.example.com/1", "https://www.example.com/2", "https://b.other.org/3",
            "https://other.org/4", "https://third.net/5"]
    sites = [site_of(url) for url in urls]
    assert sites[0] == sites[1] == "example.com" and sites[2] == sites[3] == "other.org"
    folds = site_folds(sites, 2)
    assert folds[0] == folds[1] and folds[2] == folds[3]
    assert set(folds) == {0, 1}


def test_weight_fit_learns_which_clue_tells_the_truth() -> None:
    from dates import fit_weights

    # On these invented pages the head date is always right and htmldate's pick never is.
    pages = [_evidence({"head": {f"2021-01-{day:02d}"}, "htmldate": {f"2021-02-{day:02d}"}})
             for day in range(1, 21)]
    golds = [f"2021-01-{day:02d}" for day in range(1, 21)]
    weights = fit_weights(pages, golds, l2=1.0)
    assert weights["head"] > 0 > weights["htmldate"]
    assert all(choose_day(page, weights) == gold for page, gold in zip(pages, golds))
