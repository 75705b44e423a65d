"""The report renderers: HTML (self-contained, escaped, every citation resolvable) and Markdown.

Briefings here are built by hand from invented texts, with every section filled, plus one real
briefing of the example corpus. ``tests/test_report_browser.py`` opens the same reports in Chromium.
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path

import pytest

from storyline.briefing import (
    Blindspot,
    Briefing,
    Citation,
    CitedText,
    Conflict,
    CountryGroup,
    EntityItem,
    ForecastItem,
    IssueItem,
    IssueSourceView,
    Period,
    QuoteItem,
    SourceModel,
    StoryCheck,
    StorylineNeighbour,
    StorylinePlace,
    TimelineItem,
)
from storyline.render.report import (
    date_range,
    period_text,
    render,
    render_html,
    render_markdown,
    timeline_chart,
)

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "corpus"

# --- an invented story, every section filled -----------------------------------------------

HERALD = (
    "The ferry link across Lake Tarrow will close on 1 October after the operator lost its "
    "licence, the Norvale transport ministry said on Tuesday.\n\n"
    "Transport Minister Ana Brell said the closure was \"a temporary step\" and promised a new "
    "tender by March 2025.\n\n"
    "Fishermen in Port Elling fear the harbour will lose most of its trade. The operator said "
    "412 workers would lose their jobs.\n\n"
    "The ministry first warned the operator in 2019 about safety failures."
)
RADIO = (
    "Estmark officials said the Lake Tarrow ferry would stop running on 15 October, two weeks "
    "later than Norvale announced.\n\n"
    "Estmark's trade envoy, Piet Varo, said the closure would hurt both shores and called for a "
    "joint rescue fund.\n\n"
    "About 300 workers are expected to lose their jobs, according to the union. Talks between "
    "the two governments are scheduled for 12 September 2024."
)
# Emoji before the cited spans: offsets count code points, JavaScript counts UTF-16 units.
OBSERVER = (
    "\U0001F6A2 Ferries are not glamorous, but the Lake Tarrow crossing is the only fast link "
    "between two economies. \U0001F30A\n\n"
    "Closing it will probably push freight onto the long road around the lake, and prices in "
    "Port Elling are likely to rise before winter.\n\n"
    "Norvale's ministry says the licence was withdrawn for safety reasons; the operator calls it "
    "politics."
)
TEXTS = {"S1": HERALD, "S2": RADIO, "S3": OBSERVER, "S4": HERALD}


def cite(source: str, phrase: str) -> Citation:
    start = TEXTS[source].index(phrase)
    return Citation(source=source, start=start, end=start + len(phrase))


def cited(text: str, *where: tuple[str, str]) -> CitedText:
    return CitedText(text=text, citations=[cite(source, phrase) for source, phrase in where])


def _sources(title: str = "Lake Tarrow ferry to close", outlet: str = "The Norvale Herald",
             url: str = "https://herald.example/2024/09/03/ferry") -> list[SourceModel]:
    return [
        SourceModel(id="S1", origin="herald.html", url=url, title=title, authors=["Lena Ost"],
                    outlet=outlet, published="2024-09-03", country="Norvale", kind="news",
                    ownership="private", text=HERALD, words=80,
                    also_at=["https://mirror.example/ferry", "notes/ferry-copy.txt"]),
        SourceModel(id="S2", origin="radio.txt", title="Ferry to stop in mid-October",
                    outlet="Estmark Public Radio", published="2024-09-03", country="Estmark",
                    kind="news", ownership="public", text=RADIO, words=60),
        SourceModel(id="S3", origin="observer.txt", title="Why the ferry matters",
                    authors=["Mara Quist"], author_roles={"Mara Quist": "columnist"},
                    outlet="Quillon Observer", published="2024-09-04", country="Quillon",
                    kind="opinion", ownership="private", text=OBSERVER, words=50),
        SourceModel(id="S4", origin="aggregator.jsonl:4", url="https://aggregator.example/ferry",
                    title=title, outlet=outlet, published="2024-09-04", country="Norvale",
                    kind="news", duplicate_of="S1", text=HERALD, words=80),
    ]


def invented_briefing(**changes: object) -> Briefing:
    """The Lake Tarrow ferry story: three countries, four sources, every section filled."""
    closure = cited("The ferry across Lake Tarrow is to close in October.",
                    ("S1", "The ferry link across Lake Tarrow will close on 1 October"),
                    ("S2", "the Lake Tarrow ferry would stop running on 15 October"))
    fields: dict[str, object] = dict(  # noqa: C408 - keywords read like the schema
        title="Lake Tarrow ferry to close", generated_at="2024-09-05T08:00:00+00:00",
        period=Period(start="2024-09-03", end="2024-09-04"), sources=_sources(),
        summary=[
            closure,
            cited("Estmark's trade envoy called for a joint rescue fund.",
                  ("S2", "called for a joint rescue fund")),
            cited("Prices in Port Elling are likely to rise before winter.",
                  ("S3", "prices in Port Elling are likely to rise before winter")),
            cited("The licence was withdrawn for safety reasons, the ministry says.",
                  ("S3", "the licence was withdrawn for safety reasons"),
                  ("S1", "warned the operator in 2019 about safety failures")),
        ],
        timeline=[
            TimelineItem(date="2019", text="The ministry warned the operator about safety.",
                         status="happened",
                         citations=[cite("S1", "The ministry first warned the operator in 2019")]),
            TimelineItem(date="2024-09-03", text="The ministry announced the closure.",
                         status="happened", citations=[cite("S1", "the Norvale transport ministry said on Tuesday")]),
            TimelineItem(date="2024-09-12", text="Talks between the two governments.",
                         status="scheduled", citations=[cite("S2", "Talks between the two governments are scheduled for 12 September 2024")]),
            TimelineItem(date="2024-10-01", text="The ferry closes (Norvale's date).", status="scheduled",
                         citations=[cite("S1", "will close on 1 October")]),
            TimelineItem(date="2024-10-15", text="The ferry closes (Estmark's date).", status="scheduled",
                         citations=[cite("S2", "would stop running on 15 October")]),
            TimelineItem(date="2025-03", text="A new tender.", status="expected",
                         citations=[cite("S1", "promised a new tender by March 2025")]),
        ],
        entities=[
            EntityItem(name="Ana Brell", type="PERSON", aliases=["Brell"], roles=["Transport Minister"],
                       mentions=2, sources=["S1", "S4"]),
            EntityItem(name="Piet Varo", type="PERSON", roles=["trade envoy"], mentions=1, sources=["S2"]),
            EntityItem(name="Lake Tarrow", type="LOC", mentions=4, sources=["S1", "S2", "S3", "S4"]),
            EntityItem(name="Port Elling", type="GPE", mentions=3, sources=["S1", "S3", "S4"]),
        ],
        quotes=[
            QuoteItem(speaker="Ana Brell", text="a temporary step", cue="said", direct=True,
                      citations=[cite("S1", "a temporary step"), cite("S4", "a temporary step")]),
            QuoteItem(speaker="Piet Varo", text="the closure would hurt both shores", cue="said",
                      direct=False, citations=[cite("S2", "the closure would hurt both shores")]),
            QuoteItem(speaker=None, text="politics", cue="calls", direct=False,
                      citations=[cite("S3", "the operator calls it politics")]),
        ],
        forecasts=[
            ForecastItem(holder="Mara Quist", text="Prices in Port Elling are likely to rise before winter.",
                         made_on="2024-09-04", horizon="before winter", confidence="likely",
                         citations=[cite("S3", "prices in Port Elling are likely to rise before winter")]),
            ForecastItem(holder="Ana Brell", text="A new tender by March 2025.", made_on="2024-09-03",
                         horizon="March 2025", confidence="certain",
                         citations=[cite("S1", "promised a new tender by March 2025")]),
        ],
        issues=[
            IssueItem(
                label="Ferry closure", keywords=["ferry", "licence", "close"],
                summary=[closure],
                by_source={
                    "S1": IssueSourceView(sentences=3, position=[cited(
                        "Closure on 1 October; a temporary step.", ("S1", "will close on 1 October"))]),
                    "S2": IssueSourceView(sentences=2, position=[cited(
                        "Closure on 15 October.", ("S2", "would stop running on 15 October"))]),
                    "S3": IssueSourceView(sentences=1, position=[cited(
                        "The crossing is the only fast link.", ("S3", "the only fast link"))]),
                },
                agreed=[cited("The ferry will close in October.",
                              ("S1", "will close on 1 October"), ("S2", "would stop running on 15 October"))],
                disputed=[cited("When exactly it closes.", ("S2", "two weeks later than Norvale announced"))],
            ),
            IssueItem(
                label="Jobs", keywords=["workers", "jobs"],
                by_source={
                    "S1": IssueSourceView(sentences=1, position=[cited(
                        "412 jobs lost.", ("S1", "412 workers would lose their jobs"))]),
                    "S2": IssueSourceView(sentences=1, position=[cited(
                        "About 300 jobs lost.", ("S2", "About 300 workers are expected to lose their jobs"))]),
                },
            ),
            IssueItem(label="Rescue fund", keywords=["fund"],
                      by_source={"S2": IssueSourceView(sentences=1, position=[cited(
                          "A joint rescue fund.", ("S2", "called for a joint rescue fund"))])}),
        ],
        countries=[
            CountryGroup(country="Norvale", sources=["S1", "S4"], outlets=["The Norvale Herald"],
                         issues={"Ferry closure": 3, "Jobs": 1}),
            CountryGroup(country="Estmark", sources=["S2"], outlets=["Estmark Public Radio"],
                         issues={"Ferry closure": 2, "Jobs": 1, "Rescue fund": 1}),
            CountryGroup(country="Quillon", sources=["S3"], outlets=["Quillon Observer"],
                         issues={"Ferry closure": 1}),
        ],
        blindspots=[Blindspot(issue="Rescue fund", country="Estmark", sources=["S2"],
                              note="Only Estmark's outlets mention a joint rescue fund.")],
        conflicts=[
            Conflict(topic="Closing date", kind="date", sides=[
                cited("1 October", ("S1", "will close on 1 October")),
                cited("15 October", ("S2", "would stop running on 15 October"))]),
            Conflict(topic="Jobs lost", kind="number", sides=[
                cited("412 workers", ("S1", "412 workers would lose their jobs")),
                cited("about 300 workers", ("S2", "About 300 workers are expected to lose their jobs"))]),
        ],
        story=StoryCheck(coherent=True), words=120,
    )
    fields.update(changes)
    return Briefing(**fields)  # type: ignore[arg-type]


HOSTILE_TITLE = "<script>window.__pwned = 1</script>Ferry"
HOSTILE_OUTLET = '<img src=x onerror="window.__pwned = 2">'


def hostile_briefing() -> Briefing:
    """Untrusted texts everywhere a briefing carries text; nothing of it may become markup."""
    evil = "</script><script>window.__pwned = 3</script>"
    text = f"Harmless start. {evil} \"><svg onload=\"window.__pwned=4\"> end."
    sources = [SourceModel(id="S1", origin="x.txt", url="javascript:window.__pwned=5",
                           title=HOSTILE_TITLE, outlet=HOSTILE_OUTLET, authors=["<b>Eve</b>"],
                           also_at=["javascript:alert(1)"], text=text, country="<em>Nowhere</em>")]
    c = Citation(source="S1", start=text.index(evil), end=text.index(evil) + len(evil))
    item = CitedText(text=evil, citations=[c])
    return Briefing(
        title=HOSTILE_TITLE, generated_at="2024-09-05T08:00:00+00:00", period=Period(start="2024-09-03"),
        sources=sources, summary=[item],
        timeline=[TimelineItem(date="2024-09-03", text=evil, status="happened", citations=[c])],
        quotes=[QuoteItem(speaker=HOSTILE_OUTLET, text=evil, cue="<u>said</u>", direct=True, citations=[c])],
        forecasts=[ForecastItem(holder=evil, text=evil, made_on=None, horizon=evil,
                                confidence="possible", citations=[c])],
        entities=[EntityItem(name=evil, type="OTHER", roles=[evil], mentions=1, sources=["S1"])],
        issues=[IssueItem(label=evil, keywords=[evil], summary=[item],
                          by_source={"S1": IssueSourceView(sentences=2, position=[item])},
                          agreed=[item], disputed=[item])],
        conflicts=[Conflict(topic=evil, kind="outcome", sides=[item, item])],
        blindspots=[Blindspot(issue=evil, country=evil, sources=["S1"], note=evil)],
        story=StoryCheck(coherent=False, outliers=["S1"], note=evil),
        storyline=StorylinePlace(id=1, title=evil, place=1, stories=2, next=StorylineNeighbour(
            id=2, title=HOSTILE_OUTLET, period=Period(start=evil))),
    )


def minimal_briefing() -> Briefing:
    return Briefing(title="One note", generated_at="2024-09-05T08:00:00+00:00", period=Period(),
                    sources=[SourceModel(id="S1", origin="note.txt", text="Nothing happened.")])


@lru_cache(maxsize=1)
def example_briefing_cached() -> Briefing:
    """The real briefing of the example corpus (slow: models load); one per test process."""
    import storyline

    return storyline.brief([str(EXAMPLES)])


@pytest.fixture(scope="session")
def example_briefing() -> Briefing:
    return example_briefing_cached()


# --- reading the page back -----------------------------------------------------------------

class Page(HTMLParser):
    """What the tests look at in a rendered report: ids, citations, links, scripts."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.cites: list[dict[str, str]] = []
        self.links: list[tuple[str, str]] = []  # (href, class)
        self.sources: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.tags: set[str] = set()
        self.attributes: set[str] = set()
        self._in_data = False
        self.data = ""
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.add(tag)
        self.attributes |= set(values)
        if "id" in values:
            self.ids.add(values["id"])
        if tag == "a" and "cite" in values.get("class", "").split():
            self.cites.append(values)
        if "href" in values:
            self.links.append((values["href"], values.get("class", "")))
        if "src" in values:
            self.sources.append(values["src"])
        if tag == "script":
            self.scripts.append(values)
            self._in_data = values.get("id") == "sl-sources"

    def handle_data(self, data: str) -> None:
        if self._in_data:
            self.data += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_data = False

    def embedded(self) -> dict[str, dict[str, str]]:
        return json.loads(self.data)


def all_citations(briefing: Briefing) -> set[tuple[str, int, int]]:
    return {(c.source, c.start, c.end) for c in briefing._all_citations()}


SECTIONS = ["summary", "timeline", "matrix", "perspectives", "agreement", "blindspots", "quotes",
            "forecasts", "entities", "sources", "notes"]


# --- HTML ----------------------------------------------------------------------------------

def test_every_section_is_present_when_filled() -> None:
    briefing = invented_briefing()
    page = render_html(briefing)
    parsed = Page(page)
    assert set(SECTIONS) <= parsed.ids
    assert page.startswith("<!DOCTYPE html>")
    # header: title, period, sources by country with counts
    assert "Lake Tarrow ferry to close" in page and "3–4 September 2024" in page
    assert re.search(r'country-name">Norvale</span> <span class="count">2</span>', page)
    # the timeline chart: one mark per dated event, statuses distinct
    assert page.count('class="ev ev-') == len(briefing.timeline)
    assert {"ev-happened", "ev-scheduled", "ev-expected"} <= set(re.findall(r"ev-\w+", page))
    # the matrix: one row per issue, cells titled with the source's position
    assert page.count('<td class="heat') == len(briefing.issues) * len(briefing.sources)
    assert 'title="The Norvale Herald on Jobs (1 sentences): 412 jobs lost."' in page
    # forecasts ledger, sources table with duplicates and ownership
    assert "before winter" in page and "copy of <a href=\"#src-S1\">S1</a>" in page
    assert "public" in page and "also at" in page


def test_empty_sections_are_left_out() -> None:
    page = render_html(minimal_briefing())
    parsed = Page(page)
    assert "sources" in parsed.ids
    assert not ({"summary", "timeline", "matrix", "perspectives", "agreement", "blindspots",
                 "quotes", "forecasts", "entities", "notes"} & parsed.ids)
    assert "undated" in page
    assert render_markdown(minimal_briefing()).count("## ") == 1  # Sources only


def test_story_warning_shows_only_when_not_coherent() -> None:
    note = "S3 seems to tell another story."
    apart = invented_briefing(story=StoryCheck(coherent=False, outliers=["S3"], note=note))
    assert note in render_html(apart) and 'class="warning"' in render_html(apart)
    assert 'class="warning"' not in render_html(invented_briefing())
    assert f"> **Warning:** {note}" in render_markdown(apart)


def test_untrusted_text_cannot_become_markup() -> None:
    page = render_html(hostile_briefing())
    parsed = Page(page)
    assert "window.__pwned" in page  # the texts are there ...
    assert not {"img", "b", "em", "u"} & parsed.tags  # ... but none became a tag
    own_svgs = len(re.findall(r'<svg (class="timeline-chart"|viewBox="0 0 (14|22) 14")', page))
    assert page.count("<svg") == own_svgs  # only the chart's and the legend's own SVGs
    assert [s.get("type", "") for s in parsed.scripts] == ["application/json", ""]
    assert page.count("</script>") == 2
    assert not [href for href, _ in parsed.links if href.lower().startswith("javascript")]
    assert not [name for name in parsed.attributes if name.startswith("on")]  # no event handlers
    # the embedded source text survives the escaping intact
    assert parsed.embedded()["S1"]["text"] == hostile_briefing().sources[0].text


def test_every_citation_resolves_to_its_span() -> None:
    briefing = invented_briefing()
    parsed = Page(render_html(briefing))
    texts = parsed.embedded()
    sources = {s.id: s for s in briefing.sources}
    shown = {(c["data-s"], int(c["data-a"]), int(c["data-b"])) for c in parsed.cites}
    assert shown == all_citations(briefing)
    for source, start, end in shown:
        assert texts[source]["text"][start:end] == sources[source].text[start:end]
        assert start < end
    # one footnote per distinct span, numbered in reading order
    numbers = [int(n) for n in re.findall(r'<span class="cn">(\d+)</span>', render_html(briefing))]
    assert sorted(set(numbers)) == list(range(1, len(shown) + 1))
    assert numbers[0] == 1


def test_report_fetches_nothing_from_the_network() -> None:
    briefing = invented_briefing()
    page = render_html(briefing)
    parsed = Page(page)
    assert not parsed.sources  # no src= at all: no images, scripts or frames to fetch
    assert "@import" not in page and not re.search(r"url\(\s*['\"]?\w+:", page)
    assert "<link" not in page
    # the only absolute links are the sources' own addresses, as plain links
    origins = {s.url for s in briefing.sources if s.url} | {a for s in briefing.sources for a in s.also_at}
    external = [(href, cls) for href, cls in parsed.links if re.match(r"\w+:", href)]
    assert external and all(href in origins for href, _ in external)
    assert all("cite" not in cls for _, cls in external)
    assert not re.search(r"https?:", page.split("<body>")[0])
    assert "default-src 'none'" in page  # and the page's policy forbids loading anything


def test_citations_link_to_the_source_viewer_when_given() -> None:
    briefing = invented_briefing()
    parsed = Page(render_html(briefing, source_url=lambda sid: f"/sources/{sid}"))
    assert parsed.cites
    for c in parsed.cites:
        assert c["href"] == f"/sources/{c['data-s']}#c-{c['data-a']}-{c['data-b']}"
    plain = Page(render_html(briefing))
    assert all(c["href"] == f"#src-{c['data-s']}" for c in plain.cites)
    assert {f"src-{s.id}" for s in briefing.sources} <= plain.ids


def test_only_cited_sources_are_embedded_once() -> None:
    briefing = invented_briefing(quotes=[], forecasts=[], issues=[], conflicts=[], blindspots=[],
                                 summary=[], timeline=[])
    assert Page(render_html(briefing)).embedded() == {}
    texts = Page(render_html(invented_briefing())).embedded()
    assert set(texts) == {"S1", "S2", "S3", "S4"}


@pytest.mark.parametrize("dates, unit_pattern", [
    (["2024-09-03"], r"\d{1,2} Sep"),                       # one day
    (["2024-09-03", "2024-09-04"], r"\d{1,2} Sep"),         # two days
    (["2024-09-01", "2024-11-20"], r"^(Sep|Oct|Nov|Dec)"),  # months
    (["2019", "2024-09-03", "2025-03"], r"^20\d\d$"),       # years, mixed precision
    (["1914", "2024"], r"^\d{4}$"),                         # a century
])
def test_timeline_chart_scales_from_a_day_to_a_century(dates: list[str], unit_pattern: str) -> None:
    items = [TimelineItem(date=d, text=f"Event {n}", status=("happened", "scheduled", "expected")[n % 3],
                          citations=[]) for n, d in enumerate(dates)]
    briefing = invented_briefing(timeline=items, period=Period(start=None, end=None))
    chart = timeline_chart(briefing)
    assert chart is not None and len(chart.events) == len(dates)
    assert 2 <= len(chart.ticks) <= 8 or len(dates) == 1
    assert chart.ticks and all(re.search(unit_pattern, t.label) for t in chart.ticks)
    for event in chart.events:
        assert 0 <= event.x1 <= event.x <= event.x2 <= chart.width
        assert 0 < event.y < chart.axis_y
    xs = [e.x for e in sorted(chart.events, key=lambda e: e.index)]
    assert xs == sorted(xs)  # dates in order map to positions in order


def test_events_on_one_day_stack_instead_of_overlapping() -> None:
    items = [TimelineItem(date="2024-09-03", text=f"Event {n}", status="happened", citations=[])
             for n in range(5)]
    chart = timeline_chart(invented_briefing(timeline=items))
    assert chart is not None and len({e.y for e in chart.events}) == 5


@pytest.mark.parametrize("start, end, shown", [
    ("2024-09-03", "2024-09-04", "3–4 September 2024"),
    ("2024-08-28", "2024-09-04", "28 August – 4 September 2024"),
    ("2023-12-30", "2024-01-02", "30 December 2023 – 2 January 2024"),
    ("2024-09-03", None, "3 September 2024"),
    (None, None, "undated"),
])
def test_period_is_written_compactly(start: str | None, end: str | None, shown: str) -> None:
    assert period_text(invented_briefing(period=Period(start=start, end=end))) == shown


def test_date_ranges_follow_the_precision_given() -> None:
    assert date_range("2024-09-03") is not None
    day, month, year = (date_range(d) for d in ("2024-02-29", "2024-02", "2024"))
    assert day and month and year
    assert (day[1] - day[0], month[1] - month[0], year[1] - year[0]) == (1, 29, 366)
    assert date_range("0000") is None


def test_a_big_briefing_renders_fast_and_once_per_span() -> None:
    text = " ".join(f"Sentence number {n} says something." for n in range(600))
    starts = [m.start() for m in re.finditer("Sentence", text)]
    source = SourceModel(id="S1", origin="big.txt", text=text, outlet="Big")
    summary = [CitedText(text=f"Claim {n}.", citations=[Citation(source="S1", start=s, end=s + 15)])
               for n, s in enumerate(starts)]
    timeline = [TimelineItem(date=f"20{10 + n % 15}-0{1 + n % 9}", text=f"T{n}", status="happened",
                             citations=summary[n].citations) for n in range(300)]
    briefing = Briefing(title="Big", generated_at="2024-01-01T00:00:00+00:00", period=Period(),
                        sources=[source], summary=summary, timeline=timeline)
    began = time.perf_counter()
    page = render_html(briefing)
    elapsed = time.perf_counter() - began
    assert elapsed < 3.0, f"{elapsed:.2f} s for {len(summary) + len(timeline)} citations"
    assert len(Page(page).cites) == 900
    assert page.count('<li id="note-') == 600  # repeated spans share one footnote
    assert page.count(text) == 1  # the source text is embedded once, however often it is cited


def test_json_rendering_is_the_briefing_itself() -> None:
    briefing = invented_briefing()
    assert json.loads(render(briefing, "json")) == briefing.to_dict()
    with pytest.raises(ValueError, match="unknown format"):
        render(briefing, "pdf")


def ferry_storyline(**changes: object) -> StorylinePlace:
    """The ferry story as the second of three in a storyline (invented)."""
    fields: dict[str, object] = dict(  # noqa: C408 - keywords read like the schema
        id=4, title="Crossing Lake Tarrow", place=2, stories=3,
        previous=StorylineNeighbour(id=7, title="Ferry operator warned",
                                    period=Period(start="2019-05-02", end="2019-05-03")),
        next=StorylineNeighbour(id=9, title="Tender for a new ferry", period=Period(start="2025-03-01",
                                                                                     end="2025-03-01")))
    fields.update(changes)
    return StorylinePlace.model_validate(fields)


def test_the_storyline_line_names_the_place_and_the_stories_beside() -> None:
    briefing = invented_briefing(storyline=ferry_storyline())
    page = render_html(briefing)
    line = re.search(r'<p class="storyline-place">(.*?)</p>', page)
    assert line and re.sub(r"<[^>]+>", "", line.group(1)) == (
        "Part 2 of 3 of the storyline Crossing Lake Tarrow — previous: Ferry operator warned "
        "(2–3 May 2019); next: Tender for a new ferry (1 March 2025)")
    assert "<a " not in line.group(1)  # a report file has no story pages to link to
    assert page.index('class="storyline-place"') < page.index('id="summary"')
    text = render_markdown(briefing)
    assert ("Part 2 of 3 of the storyline **Crossing Lake Tarrow** — previous: Ferry operator "
            "warned (2–3 May 2019); next: Tender for a new ferry (1 March 2025)\n") in text
    assert text.index("Part 2 of 3") < text.index("## Summary")


def test_the_storyline_line_links_the_stories_when_the_host_has_pages() -> None:
    page = render_html(invented_briefing(storyline=ferry_storyline()),
                       story_url=lambda story: f"/stories/{story}")
    assert '<a href="/stories/7" rel="prev">Ferry operator warned</a>' in page
    assert '<a href="/stories/9" rel="next">Tender for a new ferry</a>' in page


def test_the_first_story_has_no_previous_and_an_undated_one_no_period() -> None:
    first = ferry_storyline(place=1, previous=None, next=StorylineNeighbour(
        id=9, title="Tender for a new ferry", period=Period()))
    text = render_markdown(invented_briefing(storyline=first))
    assert "Part 1 of 3 of the storyline **Crossing Lake Tarrow** — next: Tender for a new ferry\n" in text
    alone = ferry_storyline(place=1, stories=1, previous=None, next=None)
    assert "of the storyline **Crossing Lake Tarrow**\n" in render_markdown(invented_briefing(storyline=alone))


def test_no_storyline_no_line() -> None:
    assert 'class="storyline-place"' not in render_html(invented_briefing())
    assert "of the storyline" not in render_markdown(invented_briefing())


# --- Markdown ------------------------------------------------------------------------------

def test_markdown_has_the_sections_and_footnotes() -> None:
    briefing = invented_briefing()
    text = render_markdown(briefing)
    for heading in ["## Summary", "## Timeline", "## Issues × sources", "## Perspectives by issue",
                    "## Agreed and disputed", "## Blindspots", "## Who said what", "## Forecasts",
                    "## Entities", "## Sources"]:
        assert f"\n{heading}\n" in text
    used = set(re.findall(r"\[(S\d+)\](?!:)", text))
    defined = set(re.findall(r"^\[(S\d+)\]: <", text, re.MULTILINE))
    assert used and used <= defined == {s.id for s in briefing.sources}
    assert "[S1]: <https://herald.example/2024/09/03/ferry>" in text
    assert "[S2]: <#sources>" in text  # no address: the citation points at the source list
    assert re.search(r"^\| Ferry closure \| 3 \| – \| 2 \| 1 \|$", text, re.MULTILINE)
    assert "- **2024-10-15** · scheduled — The ferry closes (Estmark's date). [S2]" in text
    assert "| Mara Quist | Prices in Port Elling are likely to rise before winter. [S3] |" in text


def test_markdown_escapes_untrusted_text() -> None:
    text = render_markdown(hostile_briefing())
    assert not re.search(r"(?<!\\)<\s*/?\s*(script|img|svg)", text)  # every < is escaped
    assert "javascript:" not in text.split("## Sources")[1].split("\n[S1]")[1]
    assert r"\<script\>window.\_\_pwned = 1\</script\>Ferry" in text


# --- the real example corpus ---------------------------------------------------------------

def test_example_corpus_report_resolves_every_citation(example_briefing: Briefing) -> None:
    page = render_html(example_briefing)
    parsed = Page(page)
    assert {"summary", "timeline", "quotes", "forecasts", "entities", "sources"} <= parsed.ids
    texts = parsed.embedded()
    shown = {(c["data-s"], int(c["data-a"]), int(c["data-b"])) for c in parsed.cites}
    assert shown == all_citations(example_briefing)
    by_id = {s.id: s for s in example_briefing.sources}
    assert all(texts[s]["text"][a:b] == by_id[s].text[a:b] for s, a, b in shown)
    assert page.count('class="ev ev-') == len(example_briefing.timeline)
    markdown = render_markdown(example_briefing)
    assert set(re.findall(r"\[(S\d+)\](?!:)", markdown)) <= {s.id for s in example_briefing.sources}
