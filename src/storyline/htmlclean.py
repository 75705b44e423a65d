"""Extract stage, HTML mode: a page's HTML -> body paragraphs + metadata found in the markup.

STUB: to be implemented (trafilatura + htmldate + our fixes).
"""

from __future__ import annotations

from storyline.model import Extraction


def clean_html(html: str | bytes, url: str | None = None) -> Extraction:
    import trafilatura

    text = trafilatura.extract(html, url=url, include_tables=True) or ""
    return Extraction(paragraphs=[p for p in text.split("\n") if p.strip()])
