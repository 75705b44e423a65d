"""Render stage: a ``Briefing`` as JSON, Markdown (``[S1]`` footnotes) or one self-contained HTML file.

The HTML here is the plain, offline, printable page; it needs no assets and no JavaScript:
every citation is a link to the cited passage, shown in full in the sources section.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable

from storyline.briefing import Briefing, CitationModel, CitedText

FORMATS = ("json", "md", "html")


def render(briefing: Briefing, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(briefing.to_dict(), ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(briefing)
    if fmt == "html":
        return render_html(briefing)
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


# --- Markdown ------------------------------------------------------------------------------

def _marks(citations: Iterable[CitationModel]) -> str:
    seen: list[str] = []
    for citation in citations:
        if citation.source not in seen:
            seen.append(citation.source)
    return "".join(f"[{source}]" for source in seen)


def render_markdown(briefing: Briefing) -> str:
    lines = [f"# {briefing.title}", "", _period_line(briefing), ""]
    if briefing.story and briefing.story.note:
        lines += [f"> **Note:** {briefing.story.note}", ""]
    lines += _md_section("Summary", [f"{s.text} {_marks(s.citations)}" for s in briefing.summary])
    lines += _md_section("Timeline", [
        f"**{t.date}** ({t.status}) — {t.text} {_marks(t.citations)}" for t in briefing.timeline
    ])
    lines += _md_section("Who said what", [
        f"**{q.speaker or 'Unattributed'}**{' (reported)' if not q.direct else ''}: "
        f"{_quoted(q.text, q.direct)} {_marks(q.citations)}" for q in briefing.quotes
    ])
    lines += _md_section("Forecasts", [
        f"**{f.holder or 'Unattributed'}** ({f.confidence}"
        f"{', horizon: ' + f.horizon if f.horizon else ''}): {f.text} {_marks(f.citations)}"
        for f in briefing.forecasts
    ])
    lines += _md_section("Entities", [
        f"**{e.name}** ({e.type}, {e.mentions} mentions"
        f"{'; ' + '; '.join(e.roles) if e.roles else ''}) — in {', '.join(e.sources)}"
        for e in briefing.entities[:40]
    ])
    lines += ["## Sources", ""]
    for source in briefing.sources:
        lines.append(f"[{source.id}]: {_source_line(source)}")
    return "\n".join(lines).rstrip() + "\n"


def _md_section(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"## {title}", "", *[f"- {item}" for item in items], ""]


def _quoted(text: str, direct: bool) -> str:
    return f"“{text}”" if direct else text


def _period_line(briefing: Briefing) -> str:
    period = briefing.period
    span = " to ".join(filter(None, [period.start, period.end])) or "undated"
    outlets = sorted({s.outlet for s in briefing.sources if s.outlet})
    return f"*{len(briefing.sources)} sources ({', '.join(outlets) or 'outlets unknown'}); {span}.*"


def _source_line(source: object) -> str:
    s = source  # a SourceModel
    parts = [
        getattr(s, "outlet", None), ", ".join(getattr(s, "authors", []) or []) or None,
        getattr(s, "published", None), getattr(s, "title", None),
        getattr(s, "url", None) or getattr(s, "origin", None),
    ]
    text = " — ".join(str(p) for p in parts if p)
    if getattr(s, "duplicate_of", None):
        text += f" (duplicate of {s.duplicate_of})"  # type: ignore[attr-defined]
    return text


# --- HTML ----------------------------------------------------------------------------------

_STYLE = """
body{font:16px/1.55 Georgia,serif;max-width:52rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.8rem;margin-bottom:.2rem}h2{border-bottom:1px solid #ccc;margin-top:2rem}
.meta{color:#555;font-style:italic}.note{background:#fff4d6;padding:.6rem 1rem;border-left:4px solid #e0a800}
a.cite{font-size:.75em;vertical-align:super;text-decoration:none;margin-left:.1em}
li{margin:.35rem 0}.src{white-space:pre-wrap;font:14px/1.5 system-ui,sans-serif;background:#f7f7f7;padding:1rem}
mark{background:#ffe58a}.date{font-weight:bold;font-variant-numeric:tabular-nums}
@media print{a.cite{color:#000}.src{break-inside:avoid}}
"""


def render_html(briefing: Briefing) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{e(briefing.title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{e(briefing.title)}</h1><p class=\"meta\">{e(_period_line(briefing).strip('*'))}</p>",
    ]
    if briefing.story and briefing.story.note:
        parts.append(f"<p class=\"note\">{e(briefing.story.note)}</p>")
    parts += _html_list("Summary", [_html_cited(s) for s in briefing.summary])
    parts += _html_list("Timeline", [
        f"<span class=\"date\">{e(t.date)}</span> ({e(t.status)}) {e(t.text)}{_html_marks(t.citations)}"
        for t in briefing.timeline
    ])
    parts += _html_list("Who said what", [
        f"<b>{e(q.speaker or 'Unattributed')}</b>: {e(_quoted(q.text, q.direct))}{_html_marks(q.citations)}"
        for q in briefing.quotes
    ])
    parts += _html_list("Forecasts", [
        f"<b>{e(f.holder or 'Unattributed')}</b> ({e(f.confidence)}): {e(f.text)}{_html_marks(f.citations)}"
        for f in briefing.forecasts
    ])
    parts += _html_list("Entities", [
        f"<b>{e(x.name)}</b> ({e(x.type)}, {x.mentions}){' — ' + e('; '.join(x.roles)) if x.roles else ''}"
        for x in briefing.entities[:40]
    ])
    parts.append("<h2>Sources</h2>")
    for source in briefing.sources:
        parts.append(f"<h3 id=\"{e(source.id)}\">[{e(source.id)}] {e(_source_line(source))}</h3>")
        parts.append(f"<div class=\"src\">{_html_source_text(briefing, source.id, source.text)}</div>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_list(title: str, items: list[str]) -> list[str]:
    if not items:
        return []
    return [f"<h2>{html.escape(title)}</h2><ul>", *[f"<li>{item}</li>" for item in items], "</ul>"]


def _html_cited(item: CitedText) -> str:
    return html.escape(item.text) + _html_marks(item.citations)


def _html_marks(citations: Iterable[CitationModel]) -> str:
    return "".join(
        f"<a class=\"cite\" href=\"#{c.source}-{c.start}\">[{html.escape(c.source)}]</a>" for c in citations
    )


def _html_source_text(briefing: Briefing, source_id: str, text: str) -> str:
    """The source text with every cited span marked and anchored (nested spans: outer wins)."""
    spans = sorted({(c.start, c.end) for c in briefing._all_citations() if c.source == source_id})
    out: list[str] = []
    cursor = 0
    for start, end in spans:
        if start < cursor:
            continue
        out.append(html.escape(text[cursor:start]))
        out.append(f"<mark id=\"{source_id}-{start}\">{html.escape(text[start:end])}</mark>")
        cursor = end
    out.append(html.escape(text[cursor:]))
    return "".join(out)
