"""Extract stage, text mode: text copied off a web page -> body paragraphs + evidence lines.

STUB: to be implemented (block splitting, body/boilerplate classifier, teaser removal).
"""

from __future__ import annotations

from storyline.model import Extraction


def clean_text(text: str) -> Extraction:
    paragraphs = [p.strip() for p in text.split("\n\n") if p.strip()]
    return Extraction(paragraphs=paragraphs)
