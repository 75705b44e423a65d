"""Render stage: a ``Briefing`` as JSON, Markdown or one self-contained HTML report.

The HTML report is a single file with no external assets: inline CSS, inline JavaScript, inline
SVG, and the cited sources' texts embedded as JSON so that a citation opens the cited passage in
place. It works offline and prints well (citations become footnote numbers). Every text in a
briefing is untrusted: the page is built by Jinja2 with autoescaping, the embedded JSON is escaped
for a ``<script>`` block, and only ``http(s)`` addresses ever become links.

The Markdown report has the same sections; citations are ``[S1]`` reference links whose
definitions (the source list) close the file.
"""

from __future__ import annotations

import json
import math
import re
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Protocol

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from storyline.briefing import (
    Briefing,
    Citation,
    EntityItem,
    IssueItem,
    NewSince,
    Period,
    QuoteItem,
    SourceModel,
    StorylineNeighbour,
    StorylinePlace,
    TimelineItem,
)

FORMATS = ("json", "md", "html")

SourceUrl = Callable[[str], str]
StoryUrl = Callable[[int], str]  # a stored story's page, by story id (the web app's)


@dataclass(frozen=True)
class Chrome:
    """What a host adds when it shows the report inside its own pages (the web app): its
    stylesheet URL and navigation (trusted HTML, placed first in the body), and its icon (an
    SVG's URL). The report's policy then allows the host's own styles, forms and icon
    ('self'); a report file forbids all three."""

    stylesheet: str
    navigation: str
    icon: str | None = None


def render(briefing: Briefing, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(briefing.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(briefing)
    if fmt == "html":
        return render_html(briefing)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# --- shared helpers ------------------------------------------------------------------------

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
UNKNOWN_COUNTRY = "Country unknown"
CONFIDENCE_LEVELS = {"certain": 4, "likely": 3, "possible": 2, "unlikely": 1}


def human_date(value: str | None) -> str:
    """``2025-05-02`` → ``2 May 2025``; ``2025-05`` → ``May 2025``; anything else as given."""
    if not value:
        return ""
    parts = value.split("-")
    try:
        if len(parts) == 3:
            return f"{int(parts[2])} {_MONTHS[int(parts[1]) - 1]} {parts[0]}"
        if len(parts) == 2:
            return f"{_MONTHS[int(parts[1]) - 1]} {parts[0]}"
    except (ValueError, IndexError):
        pass
    return value


def period_text(briefing: Briefing) -> str:
    return span_text(briefing.period)


def span_text(period: Period) -> str:
    """A period in words: ``3–4 September 2024``, ``May 2025``, ``undated``."""
    start, end = period.start, period.end
    if not (start and end) or start == end:
        return human_date(start or end) or "undated"
    first, last = human_date(start).split(" "), human_date(end).split(" ")
    if len(first) == len(last) == 3 and first[1:] == last[1:]:
        return f"{first[0]}–{human_date(end)}"  # 3–4 September 2024
    if len(first) == len(last) == 3 and first[2] == last[2]:
        return f"{first[0]} {first[1]} – {human_date(end)}"  # 28 August – 4 September 2024
    return f"{human_date(start)} – {human_date(end)}"


def source_label(source: SourceModel) -> str:
    """What to call a source in running text: its outlet, else its address, else its id."""
    if source.outlet:
        return source.outlet
    address = source.url or source.origin
    host = re.match(r"^https?://(?:www\.)?([^/:?#]+)", address or "")
    if host:
        return host.group(1)
    return (address or source.id).rsplit("/", 1)[-1] or source.id


def web_link(address: str | None) -> str | None:
    """``address`` when it is safe to link to (http or https), else None: no ``javascript:``."""
    if address and re.match(r"^https?://[^\s\"'<>`]+$", address, re.IGNORECASE):
        return address
    return None


@dataclass
class CountryView:
    name: str
    sources: list[str]
    outlets: list[str]


def countries(briefing: Briefing) -> list[CountryView]:
    """The sources by country: the briefing's own grouping, else grouped here from the sources."""
    if briefing.countries:
        return [CountryView(group.country or UNKNOWN_COUNTRY, list(group.sources),
                            list(group.outlets)) for group in briefing.countries]
    groups: dict[str, CountryView] = {}
    for source in briefing.sources:
        name = source.country or UNKNOWN_COUNTRY
        view = groups.setdefault(name, CountryView(name, [], []))
        view.sources.append(source.id)
        if source.outlet and source.outlet not in view.outlets:
            view.outlets.append(source.outlet)
    return sorted(groups.values(), key=lambda v: (v.name == UNKNOWN_COUNTRY, -len(v.sources), v.name))


def sources_by_country(briefing: Briefing) -> list[SourceModel]:
    """Every source, ordered by its country group (then as listed): the matrix's columns."""
    by_id = {source.id: source for source in briefing.sources}
    ordered = [by_id[sid] for group in countries(briefing) for sid in group.sources if sid in by_id]
    seen = {source.id for source in ordered}
    return ordered + [source for source in briefing.sources if source.id not in seen]


def country_of(briefing: Briefing) -> dict[str, str]:
    return {sid: group.name for group in countries(briefing) for sid in group.sources}


@dataclass
class QuoteGroup:
    speaker: str
    roles: list[str]
    quotes: list[QuoteItem]


def quote_groups(briefing: Briefing) -> list[QuoteGroup]:
    """Quotes grouped by speaker, most quoted first; unattributed quotes last."""
    groups: dict[str | None, list[QuoteItem]] = {}
    for quote in briefing.quotes:
        groups.setdefault(quote.speaker, []).append(quote)
    roles = _roles_by_name(briefing.entities)
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, -len(kv[1]), kv[0] or ""))
    return [QuoteGroup(speaker or "Unattributed", roles.get(speaker or "", []),
                       sorted(quotes, key=lambda q: not q.direct)) for speaker, quotes in ordered]


def _roles_by_name(entities: Iterable[EntityItem]) -> dict[str, list[str]]:
    roles: dict[str, list[str]] = {}
    for entity in entities:
        for name in (entity.name, *entity.aliases):
            if entity.roles and name not in roles:
                roles[name] = list(entity.roles)
    return roles


def one_line(text: str) -> str:
    return " ".join(text.split())


def new_since_heading(section: NewSince) -> str:
    """"New since 4 March 2024", "New since the last briefing (…)", "New since your last visit"."""
    if section.basis == "last visit":
        return "New since your last visit"
    if section.basis == "last briefing":
        return f"New since the last briefing ({human_date(section.since[:10])})"
    return f"New since {human_date(section.since) if len(section.since) == 10 else section.since}"


def new_sources_text(section: NewSince) -> str:
    count = len(section.sources)
    if not count:
        return "No new sources."
    return f"{count} new source{'s' if count != 1 else ''}: {', '.join(section.sources)}."


def storyline_lead(place: StorylinePlace) -> str:
    """"Part 2 of 3 of the storyline": the words before the storyline's title."""
    return f"Part {place.place} of {place.stories} of the storyline"


@dataclass(frozen=True)
class NeighbourView:
    """A story beside the briefed one in its storyline, as the report names it: ``when`` is
    empty for a story without dates; ``link`` its page, where the host has story pages."""

    label: str
    title: str
    when: str
    link: str | None


def neighbours(place: StorylinePlace, story_url: StoryUrl | None = None) -> list[NeighbourView]:
    """The previous and the next story of the storyline, those there are."""
    beside = (("previous", place.previous), ("next", place.next))
    return [_neighbour_view(label, story, story_url) for label, story in beside if story]


def _neighbour_view(label: str, story: StorylineNeighbour, story_url: StoryUrl | None
                    ) -> NeighbourView:
    dated = story.period.start or story.period.end
    return NeighbourView(label, story.title, span_text(story.period) if dated else "",
                         story_url(story.id) if story_url else None)


# --- Markdown ------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")


def md_escape(text: str) -> str:
    """Untrusted text made inert in Markdown: one line, markup characters backslash-escaped."""
    return _MD_SPECIAL.sub(r"\\\1", one_line(text))


def md_marks(citations: Iterable[Citation]) -> str:
    """``[S1][S3]``: each cited source once, as reference links to the source list."""
    seen: list[str] = []
    for citation in citations:
        if citation.source not in seen:
            seen.append(citation.source)
    return "".join(f"[{source}]" for source in seen)


class _Cited(Protocol):
    """Any briefing item that is a text with its citations (summary, timeline, forecast)."""

    @property
    def text(self) -> str: ...

    @property
    def citations(self) -> list[Citation]: ...


def _md_cited(item: _Cited) -> str:
    return f"{md_escape(item.text)} {md_marks(item.citations)}".rstrip()


def _md_table(header: Sequence[str], rows: Iterable[Sequence[str]], align: str = "") -> list[str]:
    rule = [("---:" if align[i:i + 1] == "r" else "---") for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(briefing: Briefing) -> str:
    lines = [f"# {md_escape(briefing.title)}", ""]
    lines += _md_header(briefing)
    for section in (_md_new_since, _md_summary, _md_timeline, _md_matrix, _md_perspectives,
                    _md_agreement, _md_blindspots, _md_quotes, _md_forecasts, _md_entities,
                    _md_other_stories, _md_sources):
        lines += section(briefing)
    return "\n".join(lines).rstrip() + "\n"


def _md_header(briefing: Briefing) -> list[str]:
    groups = countries(briefing)
    countries_word = "country" if len(groups) == 1 else "countries"
    dek = f"{period_text(briefing)} · {len(briefing.sources)} sources from {len(groups)} {countries_word}"
    lines = [f"*{md_escape(dek)}*", "", *_md_storyline(briefing)]
    lines += [f"- **{md_escape(g.name)}** ({len(g.sources)}): "
              f"{md_escape(', '.join(g.outlets) or ', '.join(g.sources))}" for g in groups]
    lines.append("")
    story = briefing.story
    if story and not story.coherent:
        note = story.note or "These sources may not tell one story."
        lines += [f"> **Warning:** {md_escape(note)}", ""]
    return lines


def _md_storyline(briefing: Briefing) -> list[str]:
    """One line: the story's place in its storyline and the stories beside it."""
    place = briefing.storyline
    if place is None:
        return []
    line = f"{md_escape(storyline_lead(place))} **{md_escape(place.title)}**"
    beside = [f"{view.label}: {md_escape(view.title)}" + (f" ({md_escape(view.when)})" if view.when else "")
              for view in neighbours(place)]
    return [line + (" — " + "; ".join(beside) if beside else ""), ""]


def _md_summary(briefing: Briefing) -> list[str]:
    if not briefing.summary:
        return []
    return ["## Summary", "", " ".join(_md_cited(s) for s in briefing.summary), ""]


def _md_new_since(briefing: Briefing) -> list[str]:
    section = briefing.new_since
    if section is None:
        return []
    lines = [f"## {md_escape(new_since_heading(section))}", "",
             f"*{md_escape(new_sources_text(section))}*", ""]
    if section.note:
        lines += [f"> {md_escape(section.note)}", ""]
    if section.summary:
        lines += [*[f"- {_md_cited(fact)}" for fact in section.summary], ""]
    if section.quotes:
        lines += ["**New quotes**", ""]
        for quote in section.quotes:
            said = f"“{md_escape(quote.text)}”" if quote.direct else md_escape(quote.text)
            lines.append(f"- **{md_escape(quote.speaker or 'Unattributed')}:** {said} "
                         f"{md_marks(quote.citations)}")
        lines.append("")
    if section.forecasts:
        lines += ["**New forecasts**", "", *[
            f"- **{md_escape(f.holder or 'Unattributed')}** ({f.confidence}): {_md_cited(f)}"
            for f in section.forecasts], ""]
    if section.bearing:
        lines += ["**Earlier forecasts and what came after**", "", *[
            f"- *Forecast:* {_md_cited(b.forecast)} — *later:* {_md_cited(b.later)}"
            for b in section.bearing], ""]
    return lines


def _md_timeline(briefing: Briefing) -> list[str]:
    if not briefing.timeline:
        return []
    return ["## Timeline", "", *[
        f"- **{md_escape(t.date)}** · {t.status} — {_md_cited(t)}" for t in briefing.timeline
    ], ""]


def _md_matrix(briefing: Briefing) -> list[str]:
    if not briefing.issues:
        return []
    columns = sources_by_country(briefing)
    rows = [[md_escape(issue.label), *[
        str(issue.by_source[s.id].sentences) if s.id in issue.by_source else "–" for s in columns
    ]] for issue in briefing.issues]
    header = ["Issue", *[f"{s.id} {md_escape(source_label(s))}" for s in columns]]
    return ["## Issues × sources", "", "Sentences each source gives each issue.", "",
            *_md_table(header, rows, "l" + "r" * len(columns))]


def _md_perspectives(briefing: Briefing) -> list[str]:
    by_id = {s.id: s for s in briefing.sources}
    lines: list[str] = []
    for issue in briefing.issues:
        positions = [(sid, view) for sid, view in issue.by_source.items() if view.position]
        if not (positions or issue.summary):
            continue
        lines += [f"### {md_escape(issue.label)}", ""]
        if issue.keywords:
            lines += [f"*Keywords: {md_escape(', '.join(issue.keywords))}*", ""]
        if issue.summary:
            lines += [" ".join(_md_cited(s) for s in issue.summary), ""]
        for sid, view in positions:
            who = md_escape(source_label(by_id[sid])) if sid in by_id else sid
            lines.append(f"- **{sid} {who}:** " + " ".join(_md_cited(p) for p in view.position))
        lines.append("")
    return ["## Perspectives by issue", "", *lines] if lines else []


def _md_agreement(briefing: Briefing) -> list[str]:
    lines: list[str] = []
    for issue in briefing.issues:
        if not (issue.agreed or issue.disputed):
            continue
        lines += [f"### {md_escape(issue.label)}", ""]
        for title, items in (("Agreed", issue.agreed), ("Disputed", issue.disputed)):
            if items:
                lines += [f"**{title}**", "", *[f"- {_md_cited(item)}" for item in items], ""]
    if briefing.conflicts:
        lines += ["### Conflicts", ""]
        for conflict in briefing.conflicts:
            lines.append(f"- **{md_escape(conflict.topic)}** ({conflict.kind})")
            lines += [f"  - {_md_cited(side)}" for side in conflict.sides]
        lines.append("")
    return ["## Agreed and disputed", "", *lines] if lines else []


def _md_blindspots(briefing: Briefing) -> list[str]:
    if not briefing.blindspots:
        return []
    return ["## Blindspots", "", *[
        f"- **{md_escape(b.issue)}** — only {md_escape(b.country)} ({md_marks_ids(b.sources)}): "
        f"{md_escape(b.note)}" for b in briefing.blindspots
    ], ""]


def md_marks_ids(source_ids: Iterable[str]) -> str:
    return "".join(f"[{sid}]" for sid in source_ids)


def _md_quotes(briefing: Briefing) -> list[str]:
    lines: list[str] = []
    for group in quote_groups(briefing):
        roles = f" — *{md_escape('; '.join(group.roles))}*" if group.roles else ""
        lines += [f"### {md_escape(group.speaker)}{roles}", ""]
        for quote in group.quotes:
            text = f"“{md_escape(quote.text)}”" if quote.direct else f"*(reported)* {md_escape(quote.text)}"
            lines.append(f"- {text} {md_marks(quote.citations)}")
        lines.append("")
    return ["## Who said what", "", *lines] if lines else []


def _md_forecasts(briefing: Briefing) -> list[str]:
    if not briefing.forecasts:
        return []
    rows = [[md_escape(f.holder or "Unattributed"), _md_cited(f), f.made_on or "",
             md_escape(f.horizon or ""), f.confidence] for f in briefing.forecasts]
    return ["## Forecasts", "",
            *_md_table(["Holder", "Forecast", "Made on", "Horizon", "Confidence"], rows)]


def _md_entities(briefing: Briefing) -> list[str]:
    if not briefing.entities:
        return []
    rows = [[md_escape(e.name), e.type, md_escape("; ".join(e.roles)),
             md_escape(", ".join(e.aliases)), str(e.mentions), ", ".join(e.sources)]
            for e in briefing.entities]
    return ["## Entities", "",
            *_md_table(["Name", "Type", "Roles", "Also called", "Mentions", "Sources"], rows,
                       "llllr")]


def _md_other_stories(briefing: Briefing) -> list[str]:
    """The other stories found in the same inputs: not briefed here, named with their documents."""
    if not briefing.other_stories:
        return []
    lines = ["## Other stories in the input", "",
             "Not part of this briefing (`storyline brief --each-story` briefs each):", ""]
    for story in briefing.other_stories:
        count = len(story.documents)
        lines.append(f"- **{md_escape(story.title)}** ({count} document{'s' if count != 1 else ''}): "
                     f"{md_escape(', '.join(story.documents))}")
    return [*lines, ""]


def _md_sources(briefing: Briefing) -> list[str]:
    groups = country_of(briefing)
    rows = [[s.id, md_escape(source_label(s)), md_escape(", ".join(s.authors)),
             s.published or "", s.kind or "", md_escape(groups.get(s.id, "")),
             md_escape(s.ownership or ""), md_escape(_duplicates_text(s))] for s in briefing.sources]
    lines = ["## Sources", "", *_md_table(
        ["", "Outlet", "Author", "Date", "Kind", "Country", "Ownership", "Duplicates"], rows)]
    # The reference definitions make every [S1] a link (to the article when it has an address).
    for source in briefing.sources:
        target = web_link(source.url) or "#sources"
        title = md_escape(f"{source_label(source)}, {source.published or 'undated'}: "
                          f"{source.title or source.origin}").replace('"', "'")
        lines.append(f'[{source.id}]: <{target}> "{title}"')
    return lines


def _duplicates_text(source: SourceModel) -> str:
    parts = [f"duplicate of {source.duplicate_of}"] if source.duplicate_of else []
    if source.also_at:
        parts.append("also at " + ", ".join(source.also_at))
    return "; ".join(parts)


# --- HTML: citations -----------------------------------------------------------------------

@dataclass
class Note:
    """One cited passage, numbered in reading order: the printed report's footnote."""

    number: int
    source: str
    outlet: str
    passage: str


NOTE_PASSAGE_CHARS = 280


class CitationMarks:
    """Renders citation links and numbers each distinct cited span in the order it appears."""

    def __init__(self, briefing: Briefing, source_url: SourceUrl | None) -> None:
        self._sources = {source.id: source for source in briefing.sources}
        self._source_url = source_url
        self._numbers: dict[tuple[str, int, int], int] = {}
        self.notes: list[Note] = []

    def __call__(self, citations: Iterable[Citation]) -> Markup:
        return Markup("").join(self._mark(citation) for citation in citations)

    def _mark(self, citation: Citation) -> Markup:
        number = self._number(citation)
        source = self._sources[citation.source]
        if self._source_url:
            href = f"{self._source_url(citation.source)}#c-{citation.start}-{citation.end}"
        else:
            href = f"#src-{citation.source}"
        return Markup(
            '<a class="cite" href="{href}" data-s="{s}" data-a="{a}" data-b="{b}" '
            'aria-expanded="false" title="{title}"><span class="cl">{s}</span>'
            '<span class="cn">{n}</span></a>'
        ).format(href=href, s=citation.source, a=citation.start, b=citation.end,
                 title=f"{citation.source}: {source_label(source)}", n=number)

    def _number(self, citation: Citation) -> int:
        key = (citation.source, citation.start, citation.end)
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            source = self._sources[citation.source]
            passage = one_line(source.text[citation.start:citation.end])
            if len(passage) > NOTE_PASSAGE_CHARS:
                passage = passage[:NOTE_PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"
            self.notes.append(Note(self._numbers[key], citation.source, source_label(source), passage))
        return self._numbers[key]


def cited_by(citations: Iterable[Citation], sources: dict[str, SourceModel]) -> str:
    """``The Aldmark Courier, VNB``: who a statement's citations point at, each once."""
    names: list[str] = []
    for citation in citations:
        name = source_label(sources[citation.source])
        if name not in names:
            names.append(name)
    return ", ".join(names) or "Unattributed"


def _cited_ids(briefing: Briefing) -> set[str]:
    return {citation.source for citation in briefing._all_citations()}


def script_json(value: object) -> Markup:
    """JSON that is safe inside ``<script type="application/json">``: no ``</script>`` breakout."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                         ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Markup(text)


def _embedded_sources(briefing: Briefing) -> dict[str, dict[str, str]]:
    """The texts the reveal panels read: only sources that are cited, each once."""
    cited = _cited_ids(briefing)
    return {s.id: {"label": source_label(s), "date": human_date(s.published), "text": s.text}
            for s in briefing.sources if s.id in cited}


# --- HTML: the timeline chart --------------------------------------------------------------

CHART_WIDTH = 960
CHART_MARGIN = 28
CHART_TOP = 30
LANE_HEIGHT = 22
AXIS_HEIGHT = 34
MAX_LANES = 12
MARK_RADIUS = 6
MARK_GAP = 4
MAX_TICKS = 8
MIN_SPAN_DAYS = 3

# (unit, step) from finest to coarsest; the first that gives at most MAX_TICKS ticks wins.
TICK_STEPS = [("day", 1), ("day", 2), ("day", 7), ("month", 1), ("month", 2), ("month", 3),
              ("month", 6), ("year", 1), ("year", 2), ("year", 5), ("year", 10), ("year", 25),
              ("year", 50), ("year", 100), ("year", 250), ("year", 500), ("year", 1000)]


@dataclass
class ChartEvent:
    index: int
    status: str
    x: float
    y: float
    x1: float
    x2: float
    ranged: bool
    label: str


@dataclass
class ChartTick:
    x: float
    label: str


@dataclass
class TimelineChart:
    width: int
    height: int
    axis_y: float
    events: list[ChartEvent]
    ticks: list[ChartTick]
    now_x: float | None
    now_label: str
    caption: str
    marker_radius: int = MARK_RADIUS
    diamond: float = field(default=MARK_RADIUS * 1.25)


def date_range(value: str) -> tuple[int, int] | None:
    """The days a timeline date covers, as ordinals ``[first, last + 1)``; None if not a date."""
    try:
        parts = [int(p) for p in value.split("-")]
        if len(parts) == 3:
            day = date(*parts).toordinal()
            return day, day + 1
        if len(parts) == 2:
            first = date(parts[0], parts[1], 1)
            following = date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
            return first.toordinal(), following.toordinal()
        first, following = date(parts[0], 1, 1), date(parts[0] + 1, 1, 1)
        return first.toordinal(), following.toordinal()
    except ValueError:
        return None


def timeline_chart(briefing: Briefing) -> TimelineChart | None:
    """The timeline as chart geometry: dated events stacked in lanes over a scaled time axis."""
    spans = [(i, item, date_range(item.date)) for i, item in enumerate(briefing.timeline)]
    dated = [(i, item, span) for i, item, span in spans if span]
    if not dated:
        return None
    now = date_range(briefing.period.end) if briefing.period.end else None
    low, high = _chart_domain([span for _, _, span in dated] + ([now] if now else []))
    plot = CHART_WIDTH - 2 * CHART_MARGIN

    def to_x(day: float) -> float:
        return round(CHART_MARGIN + (day - low) / (high - low) * plot, 1)

    events, lanes = _place_events(dated, to_x)
    axis_y = CHART_TOP + lanes * LANE_HEIGHT
    ticks = [ChartTick(to_x(day), label) for day, label in _ticks(low, high)]
    first = min(dated, key=lambda d: d[2][0])[1].date
    last = max(dated, key=lambda d: d[2][1])[1].date
    when = f"on {human_date(first)}" if first == last else f"{human_date(first)} to {human_date(last)}"
    caption = f"{len(events)} dated event{'s' if len(events) != 1 else ''}, {when}"
    return TimelineChart(CHART_WIDTH, int(axis_y + AXIS_HEIGHT), axis_y, events, ticks,
                         to_x((now[0] + now[1]) / 2) if now else None,
                         f"latest report, {human_date(briefing.period.end)}", caption)


def _chart_domain(spans: list[tuple[int, int]]) -> tuple[float, float]:
    """The axis' first and last day: every span, at least MIN_SPAN_DAYS wide, a little padded."""
    low: float = min(first for first, _ in spans)
    high: float = max(following for _, following in spans)
    if high - low < MIN_SPAN_DAYS:  # one day would otherwise fill the whole width
        middle = (low + high) / 2
        low, high = middle - MIN_SPAN_DAYS / 2, middle + MIN_SPAN_DAYS / 2
    pad = (high - low) * 0.03
    return low - pad, high + pad


def _place_events(dated: list[tuple[int, TimelineItem, tuple[int, int]]],
                  to_x: Callable[[float], float]) -> tuple[list[ChartEvent], int]:
    """Stack events into lanes so that no two marks overlap (beyond MAX_LANES they share)."""
    lane_ends: list[float] = []
    events: list[ChartEvent] = []
    for index, item, (first, following) in sorted(dated, key=lambda d: (d[2][0], d[2][1])):
        x1, x2 = to_x(first), to_x(following)
        ranged = following - first > 1 and x2 - x1 > 2 * MARK_RADIUS
        x = round((x1 + x2) / 2, 1)
        left = (x1 if ranged else x - MARK_RADIUS) - MARK_GAP
        right = x2 if ranged else x + MARK_RADIUS
        lane = next((n for n, end in enumerate(lane_ends) if end <= left), None)
        if lane is None and len(lane_ends) < MAX_LANES:
            lane = len(lane_ends)
            lane_ends.append(right)
        elif lane is None:
            lane = min(range(len(lane_ends)), key=lane_ends.__getitem__)
        lane_ends[lane] = max(lane_ends[lane], right)
        label = f"{human_date(item.date)} · {item.status}: {one_line(item.text)}"
        events.append(ChartEvent(index, item.status, x,
                                 CHART_TOP + lane * LANE_HEIGHT + LANE_HEIGHT / 2, x1, x2, ranged, label))
    return events, len(lane_ends)


def _ticks(low: float, high: float) -> list[tuple[float, str]]:
    for unit, step in TICK_STEPS:
        days = _tick_days(unit, step, low, high)
        if len(days) <= MAX_TICKS:
            return _tick_labels(unit, days)
    return []


def _tick_days(unit: str, step: int, low: float, high: float) -> list[date]:
    first, last = date.fromordinal(max(1, math.floor(low))), date.fromordinal(math.ceil(high))
    if unit == "day":
        days = [date.fromordinal(n) for n in range(first.toordinal(), last.toordinal() + 1)]
        if step == 7:
            return [d for d in days if d.weekday() == 0]
        return [d for d in days if d.toordinal() % step == 0]
    if unit == "month":
        months = range(first.year * 12 + first.month - 1, last.year * 12 + last.month)
        return [date(m // 12, m % 12 + 1, 1) for m in months
                if m % step == 0 and low <= date(m // 12, m % 12 + 1, 1).toordinal() <= high]
    years = range(((first.year + step - 1) // step) * step, last.year + 1, step)
    return [date(y, 1, 1) for y in years if low <= date(y, 1, 1).toordinal() <= high]


def _tick_labels(unit: str, days: list[date]) -> list[tuple[float, str]]:
    out: list[tuple[float, str]] = []
    for n, day in enumerate(days):
        new_year = n == 0 or days[n - 1].year != day.year
        if unit == "day":
            label = f"{day.day} {_MONTHS[day.month - 1][:3]}" + (f" {day.year}" if new_year else "")
            out.append((day.toordinal() + 0.5, label))  # day ticks sit on the day's middle
        elif unit == "month":
            label = _MONTHS[day.month - 1][:3] + (f" {day.year}" if new_year else "")
            out.append((day.toordinal(), label))
        else:
            out.append((day.toordinal(), str(day.year)))
    return out


# --- HTML: the issue × source matrix -------------------------------------------------------

HEAT_RGB = (43, 93, 138)  # the report's accent colour, as RGB for the cells' alpha shade
HEAT_MIN_ALPHA = 0.10
HEAT_DARK_TEXT_BELOW = 0.55


@dataclass
class MatrixCell:
    count: int
    shade: str
    dark: bool
    tip: str


@dataclass
class MatrixRow:
    label: str
    cells: list[MatrixCell]


@dataclass
class Matrix:
    columns: list[SourceModel]
    groups: list[tuple[str, int]]
    rows: list[MatrixRow]


def matrix(briefing: Briefing) -> Matrix | None:
    if not briefing.issues:
        return None
    columns = sources_by_country(briefing)
    top = max((view.sentences for issue in briefing.issues for view in issue.by_source.values()),
              default=0)
    rows = [MatrixRow(issue.label, [_cell(issue, source, top) for source in columns])
            for issue in briefing.issues]
    where = country_of(briefing)
    groups: list[tuple[str, int]] = []
    for source in columns:
        name = where.get(source.id, UNKNOWN_COUNTRY)
        if groups and groups[-1][0] == name:
            groups[-1] = (name, groups[-1][1] + 1)
        else:
            groups.append((name, 1))
    return Matrix(columns, groups, rows)


def _cell(issue: IssueItem, source: SourceModel, top: int) -> MatrixCell:
    view = issue.by_source.get(source.id)
    count = view.sentences if view else 0
    if not count or not top:
        return MatrixCell(0, "", False, f"{source_label(source)} does not cover {issue.label}")
    alpha = HEAT_MIN_ALPHA + (1 - HEAT_MIN_ALPHA) * math.sqrt(count / top)
    position = " ".join(one_line(p.text) for p in view.position) if view else ""
    tip = f"{source_label(source)} on {issue.label} ({count} sentences)"
    tip += f": {position}" if position else ""
    r, g, b = HEAT_RGB
    return MatrixCell(count, f"background-color:rgba({r},{g},{b},{alpha:.2f})",
                      alpha >= HEAT_DARK_TEXT_BELOW, tip)


# --- HTML: the page ------------------------------------------------------------------------

@dataclass
class SourceRow:
    source: SourceModel
    label: str
    link: str | None
    country: str
    also_at: list[tuple[str, str | None]]


def _source_rows(briefing: Briefing) -> list[SourceRow]:
    where = country_of(briefing)
    return [SourceRow(s, source_label(s), web_link(s.url), where.get(s.id) or UNKNOWN_COUNTRY,
                      [(origin, web_link(origin)) for origin in s.also_at])
            for s in briefing.sources]


def _sections(briefing: Briefing, chart: TimelineChart | None, heat: Matrix | None) -> list[tuple[str, str]]:
    """(anchor, title) of every section the report shows; empty sections are left out."""
    issues_with_positions = any(v.position for i in briefing.issues for v in i.by_source.values())
    agreement = briefing.conflicts or any(i.agreed or i.disputed for i in briefing.issues)
    candidates = [
        ("new", "New", briefing.new_since is not None),
        ("summary", "Summary", bool(briefing.summary)),
        ("timeline", "Timeline", bool(briefing.timeline)),
        ("matrix", "Coverage", heat is not None),
        ("perspectives", "Perspectives", issues_with_positions or any(i.summary for i in briefing.issues)),
        ("agreement", "Agreed & disputed", bool(agreement)),
        ("blindspots", "Blindspots", bool(briefing.blindspots)),
        ("quotes", "Who said what", bool(briefing.quotes)),
        ("forecasts", "Forecasts", bool(briefing.forecasts)),
        ("entities", "Entities", bool(briefing.entities)),
        ("other-stories", "Other stories", bool(briefing.other_stories)),
        ("sources", "Sources", True),
    ]
    return [(anchor, title) for anchor, title, present in candidates if present]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(loader=PackageLoader("storyline.render", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["human_date"] = human_date
    env.filters["one_line"] = one_line
    env.globals["new_since_heading"] = new_since_heading
    env.globals["new_sources_text"] = new_sources_text
    return env


@lru_cache(maxsize=2)
def _asset(name: str) -> Markup:
    """Our own stylesheet or script, inlined verbatim (trusted: it ships with the package)."""
    return Markup(resources.files("storyline.render").joinpath("templates", name).read_text("utf-8"))


def render_html(briefing: Briefing, *, source_url: SourceUrl | None = None,
                chrome: Chrome | None = None, story_url: StoryUrl | None = None) -> str:
    """The briefing as one self-contained HTML report (see the module docstring); ``chrome``:
    the host page's stylesheet and navigation when it is shown inside the web app;
    ``story_url``: the host's page of a stored story, to link the storyline's previous and
    next stories (a report file names them without links)."""
    chart, heat = timeline_chart(briefing), matrix(briefing)
    sources = {source.id: source for source in briefing.sources}
    page = _environment().get_template("report.html.j2").render(
        b=briefing,
        cite=CitationMarks(briefing, source_url),
        period=period_text(briefing),
        storyline_lead=storyline_lead(briefing.storyline) if briefing.storyline else "",
        neighbours=neighbours(briefing.storyline, story_url) if briefing.storyline else [],
        countries=countries(briefing),
        sections=_sections(briefing, chart, heat),
        chart=chart,
        heat=heat,
        labels={sid: source_label(s) for sid, s in sources.items()},
        cited_by=lambda citations: cited_by(citations, sources),
        country_of=country_of(briefing),
        quote_groups=quote_groups(briefing),
        source_rows=_source_rows(briefing),
        confidence_levels=CONFIDENCE_LEVELS,
        unknown_country=UNKNOWN_COUNTRY,
        outliers=[sources[sid] for sid in (briefing.story.outliers if briefing.story else [])
                  if sid in sources],
        embedded=script_json(_embedded_sources(briefing)),
        nonce=secrets.token_urlsafe(12),
        chrome=chrome,
        style=_asset("report.css"),
        script=_asset("report.js"),
    )
    return page.rstrip() + "\n"
