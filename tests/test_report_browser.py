"""The HTML report in headless Chromium, opened from a file with every network request refused.

Screenshots (screen at 1280 px, mobile width, print media) land under the test output folder.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_render import example_briefing_cached, hostile_briefing, invented_briefing

from storyline.briefing import Briefing
from storyline.render.report import render_html

from conftest import screenshot


class Offline:
    """Routes every request of a page: files load, anything else is refused and remembered."""

    def __init__(self, page: Any) -> None:
        self.refused: list[str] = []
        page.route("**/*", self._handle)

    def _handle(self, route: Any) -> None:
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            self.refused.append(route.request.url)
            route.abort()


@pytest.fixture
def offline_page(page: Any) -> Iterator[tuple[Any, Offline]]:
    guard = Offline(page)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (errors.append(f"dialog: {dialog.message}"), dialog.dismiss()))
    yield page, guard
    assert not errors, errors
    assert not guard.refused, f"the report tried to reach the network: {guard.refused}"


def open_report(page: Any, briefing: Briefing, path: Path) -> None:
    path.write_text(render_html(briefing), encoding="utf-8")
    page.goto(path.as_uri())
    page.wait_for_load_state("load")


def reveal_every_summary_citation(page: Any, briefing: Briefing) -> int:
    """Click each summary citation; the panel must highlight exactly the cited span."""
    cites = page.locator("#summary a.cite")
    assert cites.count() == sum(len(s.citations) for s in briefing.summary) > 0
    sources = {s.id: s for s in briefing.sources}
    for n in range(cites.count()):
        cite = cites.nth(n)
        source, start, end = (cite.get_attribute(a) for a in ("data-s", "data-a", "data-b"))
        cite.click()
        assert cite.get_attribute("aria-expanded") == "true"
        panel = page.locator("#summary .reveal")
        assert panel.count() == 1 and panel.is_visible()
        expected = sources[str(source)].text[int(str(start)):int(str(end))]
        assert panel.locator("mark").text_content() == expected  # exactly, whitespace included
        assert panel.locator("mark").is_visible()
        cite.click()  # a second click closes it
        assert panel.count() == 0 and cite.get_attribute("aria-expanded") == "false"
    return cites.count()


def test_report_opens_offline_and_reveals_cited_passages(offline_page: tuple[Any, Offline],
                                                         tmp_path: Path) -> None:
    page, _ = offline_page
    briefing = invented_briefing()
    open_report(page, briefing, tmp_path / "report.html")

    chart = page.locator("svg.timeline-chart")
    assert chart.is_visible()
    marks = chart.locator("a.ev .mark")
    assert marks.count() == len(briefing.timeline) >= 1
    assert marks.first.is_visible() and marks.first.bounding_box()["width"] > 4
    screenshot(page, "report-screen")

    assert reveal_every_summary_citation(page, briefing) == 6  # S3's spans sit after emoji
    page.locator("#summary a.cite").first.click()
    screenshot(page, "report-citation-open")
    page.locator("#summary .reveal-close").click()
    assert page.locator("#summary .reveal").count() == 0
    assert page.locator("#summary a.cite").first.get_attribute("aria-expanded") == "false"

    # a citation deep in the page (the forecasts ledger) opens in its own cell
    page.locator("#forecasts a.cite").first.click()
    assert page.locator("#forecasts .reveal mark").text_content() == \
        briefing.cited_text(briefing.forecasts[0].citations[0])


def test_report_prints_with_footnote_numbers(offline_page: tuple[Any, Offline], tmp_path: Path) -> None:
    page, _ = offline_page
    briefing = invented_briefing()
    open_report(page, briefing, tmp_path / "report.html")
    page.locator("#summary a.cite").first.click()  # an open panel must not print
    page.emulate_media(media="print")
    first = page.locator("#summary a.cite").first
    assert first.locator(".cn").is_visible() and first.locator(".cn").inner_text() == "1"
    assert not first.locator(".cl").is_visible()
    assert page.locator("#notes").is_visible()
    assert page.locator("#note-1").inner_text().startswith("S1")
    assert not page.locator("nav.toc").is_visible()
    assert not page.locator(".reveal").is_visible()
    assert page.locator("svg.timeline-chart").is_visible()
    screenshot(page, "report-print")


def test_report_fits_a_phone_screen(browser: Any, tmp_path: Path) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    try:
        page = context.new_page()
        guard = Offline(page)
        open_report(page, invented_briefing(), tmp_path / "report.html")
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"the page is {overflow}px wider than the screen"
        assert page.locator("svg.timeline-chart").is_visible()
        screenshot(page, "report-mobile")
        assert not guard.refused
    finally:
        context.close()


def test_hostile_texts_run_no_script(offline_page: tuple[Any, Offline], tmp_path: Path) -> None:
    page, _ = offline_page
    briefing = hostile_briefing()
    open_report(page, briefing, tmp_path / "hostile.html")
    page.locator("#summary a.cite").first.click()
    assert page.locator("#summary .reveal mark").text_content() == briefing.summary[0].text
    assert page.evaluate("window.__pwned") is None
    assert page.title() == briefing.title  # shown as text, not run


def test_example_corpus_report_in_the_browser(offline_page: tuple[Any, Offline], tmp_path: Path) -> None:
    page, _ = offline_page
    briefing = example_briefing_cached()
    open_report(page, briefing, tmp_path / "example.html")
    assert page.locator("svg.timeline-chart a.ev").count() == len(briefing.timeline) >= 1
    reveal_every_summary_citation(page, briefing)
    screenshot(page, "report-example")
    page.emulate_media(media="print")
    screenshot(page, "report-example-print")
