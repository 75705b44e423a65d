"""The filters the page templates share: a story's label as the listings give it, and the
inline code of the API's descriptions (docstrings and field descriptions written in
Markdown's backticks) shown as ``<code>``."""

from __future__ import annotations

import re
from html import escape

from jinja2 import Environment
from markupsafe import Markup

from storyline.pipeline.catalogue import label

# ``double`` (reStructuredText, our docstrings) or `single` (Markdown) backticks around code
# that holds no backtick and no line break.
_INLINE_CODE = re.compile(r"``([^`\n]+)``|`([^`\n]+)`")


def inline_code(text: object) -> Markup:
    """``text`` escaped, each span in backticks shown as ``<code>`` (the backticks dropped)."""
    if text is None:
        return Markup("")
    parts, at = [], 0
    value = str(text)
    for match in _INLINE_CODE.finditer(value):
        code = match.group(1) if match.group(1) is not None else match.group(2)
        parts.append(f"{escape(value[at:match.start()])}<code>{escape(code)}</code>")
        at = match.end()
    return Markup("".join(parts) + escape(value[at:]))


def install_filters(environment: Environment) -> None:
    """Give the app's templates their filters (``story_label``, ``inline_code``)."""
    environment.filters["story_label"] = label
    environment.filters["inline_code"] = inline_code
