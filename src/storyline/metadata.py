"""Metadata stage: title, authors and roles, outlet, publication date, language, kind.

STUB: to be implemented.
"""

from __future__ import annotations

from storyline.model import Document, Extraction, Source


def build_document(source: Source, extraction: Extraction) -> Document:
    text = extraction.text
    return Document(
        origin=source.origin,
        url=source.hints.url,
        title=source.hints.title or extraction.title,
        text=text,
        words=len(text.split()),
        boilerplate_removed_chars=extraction.removed_chars,
    )
