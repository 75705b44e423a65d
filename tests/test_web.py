"""The web app in headless Chromium against a real uvicorn server on 127.0.0.1: the seeds'
briefing, a citation followed to its passage highlighted in the source viewer, articles added
through the form (pasted, uploaded, fetched), search, the entity page, and a story split and
merged back through its manage page. Screenshots go to the test output folder
(``tests/conftest.py: screenshot``). The marking of cited spans is also tested directly, without a
browser.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from storyline.cli import main
from storyline.web import create_app
from storyline.web.highlight import marked_source

from conftest import BACKENDS, database_on, screenshot
from live_server import uvicorn_serving

JOB_SECONDS = 180  # an ingest annotates and re-briefs the story; CI machines are slow
# Invented articles (our own words).
HARBOUR_TITLE = "Harbour cranes return to Millbrook"
HARBOUR = (
    f"{HARBOUR_TITLE}\n\n"
    "Two new cranes arrived at the harbour of Millbrook on Thursday, ending a year in which ships "
    "had to be unloaded by hand. The harbour master, Lena Strand, said the cranes would double "
    "the number of ships served each week.\n\n"
    "\"This is the best news the port has had in a decade,\" Strand said."
)
ORCHARD_TITLE = "Orchard owners count frost damage"
ORCHARD = (
    f"{ORCHARD_TITLE}\n\n"
    "A late frost last weekend destroyed most of the apple blossom in the valley above Millbrook, "
    "the growers' cooperative said on Monday. Its chairman, Tomas Vik, expects the harvest to be "
    "half of last year's."
)


FAIR_TITLE = "Millbrook fair draws record crowd"
FAIR = (
    f"{FAIR_TITLE}\n\n"
    "More than ten thousand visitors came to the autumn fair on the harbour square of Millbrook "
    "on Saturday, the organisers said. The new cranes towered over the stalls, and the harbour "
    "master, Lena Strand, opened the fair with a short speech about the port's good year."
)


# --------------------------------------------------------------------------- marking spans


def test_marked_source_keeps_the_chosen_span_whole() -> None:
    text = "abcdefghijklmnopqrstuvwxyz"
    spans = [(0, 10), (5, 15), (2, 4), (10, 20)]  # (5, 15) crosses (0, 10) and (10, 20)
    html = str(marked_source(text, spans, current=(5, 15)))
    assert re.sub(r"<[^>]+>", "", html) == text
    assert html.count('id="current"') == 1
    current = re.search(r'<mark class="cite current"[^>]*>(.*?)</mark></mark>', html)
    assert current and re.sub(r"<[^>]+>", "", current.group(1)) == text[5:15]
    assert html.count("<mark") == html.count("</mark>")


def test_marked_source_escapes_and_ignores_spans_out_of_range() -> None:
    html = str(marked_source("a<b>&c", [(1, 4), (3, 99), (4, 2)], notes={(1, 4): ['say "x"']}))
    assert html == ('a<mark class="cite" data-start="1" data-end="4" title="say &quot;x&quot;">'
                    "&lt;b&gt;</mark>&amp;c")


def test_marked_source_splits_crossing_spans_into_parts() -> None:
    html = str(marked_source("0123456789", [(0, 6), (4, 9)]))
    assert html == ('<mark class="cite" data-start="0" data-end="6">0123<mark class="cite" '
                    'data-start="4" data-end="9">45</mark></mark><mark class="cite part" '
                    'data-start="4" data-end="9">678</mark>9')


# --------------------------------------------------------------------------- a live server


@dataclass
class LiveApp:
    base: str
    db: str

    def url(self, path: str) -> str:
        return self.base + path

    def api(self, path: str, **params: Any) -> Any:
        answer = httpx.get(self.url(path), params=params, timeout=JOB_SECONDS)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
         seeds_dir: Path) -> Iterator[LiveApp]:
    """The seeds ingested into the story "Seeds" (through ``storyline ingest --story``), served
    by uvicorn on a free port of 127.0.0.1, its briefing made once before the browser comes;
    on each backend."""
    db = database_on(request.param, request, tmp_path_factory.mktemp("web"), "web")
    result = CliRunner().invoke(main, ["ingest", str(seeds_dir), "--db", db, "--story", "Seeds", "-q"])
    assert result.exit_code == 0, result.output
    with serving(db) as live_app:
        live_app.api("/api/stories/1/briefing")
        yield live_app


@contextmanager
def serving(db: str) -> Iterator[LiveApp]:
    """The app over ``db`` served by uvicorn on a free port of 127.0.0.1 while the block runs."""
    with uvicorn_serving(create_app(db, allow_private=True)) as address:
        yield LiveApp(f"http://{address}", db)


def cited_text(live: LiveApp, source: str, start: int, end: int) -> str:
    briefing = live.api("/api/stories/1/briefing")
    text = next(s["text"] for s in briefing["sources"] if s["id"] == source)
    return str(text[start:end])


def test_the_story_is_listed_with_its_seeds(live: LiveApp, page: Any, seeds_dir: Path) -> None:
    page.goto(live.url("/"))
    row = page.locator("table.app-table tbody tr")
    assert row.count() == 1
    assert row.first.locator("td").nth(1).inner_text() == str(len(list(seeds_dir.glob("*.txt"))))
    screenshot(page, "web-stories")


def test_a_citation_leads_to_its_passage_highlighted_in_the_source(live: LiveApp, page: Any) -> None:
    page.goto(live.url("/stories/1"))
    cite = page.locator("#summary a.cite").first
    source, start, end = (cite.get_attribute(name) for name in ("data-s", "data-a", "data-b"))
    assert source and start and end
    cite.click()
    viewer_link = page.locator(".reveal a[href*='/sources/']").first
    viewer_link.wait_for()
    screenshot(page, "web-briefing-citation-open")
    viewer_link.click()
    page.wait_for_url(re.compile(rf"/sources/{source}\b"))
    current = page.locator("#source-text mark.current")
    current.first.wait_for()
    assert current.count() == 1
    assert current.text_content() == cited_text(live, source, int(start), int(end))
    assert current.evaluate("m => getComputedStyle(m).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert page.locator("#source-text mark.cite").count() > 1, "every cited span is marked"
    screenshot(page, "web-source-viewer")


def test_a_fragment_naming_an_uncited_span_is_drawn_whole_by_the_server(live: LiveApp, page: Any) -> None:
    source = live.api("/api/stories/1/briefing")["sources"][0]
    start, end = 0, source["text"].index(" ", 20)
    page.goto(live.url(f"/sources/{source['id']}?story=1#c-{start}-{end}"))
    page.wait_for_url(re.compile(rf"start={start}&end={end}#current$"))
    assert page.locator("mark#current").text_content() == source["text"][start:end]


def test_search_results_open_the_sentence_in_its_source(live: LiveApp, page: Any) -> None:
    briefing = live.api("/api/stories/1/briefing")
    word = max(re.findall(r"[A-Za-z]{6,}", briefing["summary"][0]["text"]), key=len)
    page.goto(live.url("/"))
    page.fill(".app-search input[name=q]", word)
    page.press(".app-search input[name=q]", "Enter")
    page.wait_for_url(re.compile(r"/search\?"))
    results = page.locator("ol.app-results li a")
    assert results.count() >= 1
    assert word.lower() in results.first.locator("mark").first.inner_text().lower()
    screenshot(page, "web-search")
    first_hit = live.api("/api/search", q=word)[0]
    results.first.click()
    page.wait_for_url(re.compile(r"/sources/"))
    assert page.locator("mark#current").text_content() == first_hit["text"]


def test_the_entity_page_shows_mentions_that_open_in_the_source(live: LiveApp, page: Any) -> None:
    page.goto(live.url("/stories/1/entities"))
    first = page.locator("table.app-table").first.locator("tbody tr a").first
    name = first.inner_text()
    first.click()
    page.wait_for_url(re.compile(r"/entities/."))
    assert page.locator("h1").inner_text().startswith(name)
    mentions = page.locator("ul.app-list li")
    assert mentions.count() >= 1
    shown = mentions.last.locator("mark").inner_text()
    screenshot(page, "web-entity")
    mentions.last.locator("a.app-cite").click()
    page.wait_for_url(re.compile(r"/sources/"))
    assert page.locator("mark#current").text_content() == shown


def test_an_article_added_through_the_form_appears_in_the_story(live: LiveApp, page: Any) -> None:
    page.goto(live.url("/add?story=1"))
    page.fill("textarea[name=text]", HARBOUR)
    screenshot(page, "web-add-form")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/"))
    screenshot(page, "web-add-progress")
    page.wait_for_url(re.compile(r"/stories/1$"), timeout=JOB_SECONDS * 1000)
    assert HARBOUR_TITLE in page.locator("#sources").inner_text()
    screenshot(page, "web-story-after-adding")
    titles = [s["title"] for s in live.api("/api/stories/1/briefing")["sources"]]
    assert HARBOUR_TITLE in titles


def test_a_new_story_from_an_upload_and_a_url(live: LiveApp, page: Any, tmp_path: Path,
                                             news_server: Any) -> None:
    upload = tmp_path / "orchard.txt"
    upload.write_text(ORCHARD, encoding="utf-8")
    page.goto(live.url("/add"))
    page.fill("input[name=new_story]", "Valley news")
    page.set_input_files("input[name=files]", str(upload))
    page.fill("textarea[name=urls]", news_server.url("/article") + "\n" + news_server.url("/missing"))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/jobs/"))
    done = page.locator("#job-done a")
    done.wait_for(timeout=JOB_SECONDS * 1000)  # an input failed: the page stays to say which
    assert "/missing" in page.locator("#job-errors").inner_text()
    assert page.locator("#job-progress").get_attribute("value") == "3"
    screenshot(page, "web-add-errors")
    done.click()
    page.wait_for_url(re.compile(r"/stories/\d+$"))
    sources = page.locator("#sources").inner_text()
    assert ORCHARD_TITLE in sources and "Bridge reopens in Millbrook" in sources
    stories = {s["name"]: s["sources"] for s in live.api("/api/stories")}
    assert stories["Valley news"] == 2


# --------------------------------------------------------------------------- curation


@pytest.fixture
def curation_live(tmp_path: Path, db_url: str) -> Iterator[LiveApp]:
    """The story "Millbrook week" of three invented articles: S1 the harbour cranes, S2 the
    orchard's frost, S3 the fair; on each backend."""
    folder = tmp_path / "week"
    folder.mkdir()
    for name, text in {"a-harbour": HARBOUR, "b-orchard": ORCHARD, "c-fair": FAIR}.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", db_url, "--story", "Millbrook week", "-q"])
    assert result.exit_code == 0, result.output
    with serving(db_url) as live_app:
        yield live_app


def test_a_story_split_through_its_page_and_merged_back(curation_live: LiveApp, page: Any) -> None:
    live = curation_live
    page.goto(live.url("/stories/1/manage"))
    assert page.locator("#curate-documents input[name=documents]").count() == 3
    assert page.locator("#curate-merge").count() == 0  # no other story to merge into yet
    page.check("#doc-S2")
    page.fill("#curate-documents input[name=name]", "Valley orchards")
    screenshot(page, "web-curate-split")
    page.click("#curate-documents button[formaction$='/split']")
    page.wait_for_url(re.compile(r"/stories/2$"), timeout=JOB_SECONDS * 1000)
    assert ORCHARD_TITLE in page.locator("#sources").inner_text()
    assert {s["name"]: s["sources"] for s in live.api("/api/stories")} == {
        "Millbrook week": 2, "Valley orchards": 1}

    page.click("a[href='/stories/2/manage']")
    page.wait_for_url(re.compile(r"/stories/2/manage$"))
    page.select_option("#curate-merge select[name=into]", "1")
    screenshot(page, "web-curate-merge")
    page.click("#curate-merge button[type=submit]")
    page.wait_for_url(re.compile(r"/stories/1$"), timeout=JOB_SECONDS * 1000)
    sources = page.locator("#sources").inner_text()
    assert ORCHARD_TITLE in sources and FAIR_TITLE in sources
    page.goto(live.url("/stories/2"))  # the merged story's old address leads to the story it joined
    assert page.url == live.url("/stories/1")
    assert [(s["id"], s["sources"]) for s in live.api("/api/stories")] == [(1, 3)]
    assert live.api("/api/stories/2")["merged_into"] == 1


# --------------------------------------------------------------------------- the icon

LOADS_AS_IMAGE = """src => new Promise(done => {
  const image = new Image();
  image.onload = () => done(image.naturalWidth > 0);
  image.onerror = () => done(false);
  image.src = src;
})"""


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """Two invented articles in the story "Millbrook harbour", served, its briefing made. On
    SQLite only: the icon tests check pages' rendering and policy, which the backend does not
    touch (``live`` and ``curation_live`` run the store-backed pages on both backends)."""
    folder = tmp_path_factory.mktemp("small")
    for name, text in {"harbour.txt": HARBOUR, "fair.txt": FAIR}.items():
        (folder / name).write_text(text, encoding="utf-8")
    db = folder / "small.db"
    result = CliRunner().invoke(main, ["ingest", str(folder), "--db", str(db), "--story",
                                       "Millbrook harbour", "-q"])
    assert result.exit_code == 0, result.output
    with serving(str(db)) as live_app:
        live_app.api("/api/stories/1/briefing")
        yield live_app


@pytest.mark.parametrize("path", ["/", "/stories/1", "/docs", "/sources/S1?story=1"])
def test_every_page_shows_the_icon_within_its_policy(small: LiveApp, page: Any, path: str) -> None:
    refused: list[str] = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.goto(small.url(path))
    icon = page.locator("link[rel=icon]")
    assert icon.count() == 1 and icon.get_attribute("type") == "image/svg+xml"
    # Loaded as the page itself would load an image: under the page's policy.
    assert page.evaluate(LOADS_AS_IMAGE, icon.evaluate("link => link.href")) is True
    assert page.evaluate(LOADS_AS_IMAGE, small.url("/favicon.ico")) is True
    assert refused == []
