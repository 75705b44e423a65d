"""A source's text as HTML with every cited span marked, the chosen one kept whole.

Cited spans nest (a quote inside a summary sentence) and sometimes cross (a quote running over
two sentences). HTML elements can only nest, so a span that crosses another is drawn as several
``<mark>`` parts, all carrying the span's ``data-start``/``data-end``. The chosen span (the one a
link pointed at) is never split: the spans crossing it are cut at its edges instead, so the one
element ``mark#current`` holds exactly ``text[start:end]``.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape
from itertools import pairwise

from markupsafe import Markup


@dataclass(frozen=True, order=True)
class _Piece:
    start: int
    neg_end: int  # longer pieces first at the same start, so that they enclose the shorter
    span: tuple[int, int]
    part: bool  # a continuation of a span cut by a crossing one

    @property
    def end(self) -> int:
        return -self.neg_end


def marked_source(
    text: str,
    spans: Iterable[tuple[int, int]],
    current: tuple[int, int] | None = None,
    notes: Mapping[tuple[int, int], list[str]] | None = None,
) -> Markup:
    """``text`` escaped, with ``<mark class="cite">`` around every span and ``id="current"`` on
    ``current``; ``notes`` gives each span's tooltip (the statements that cite it)."""
    valid = {(s, e) for s, e in spans if 0 <= s < e <= len(text)}
    if current is not None and not (0 <= current[0] < current[1] <= len(text)):
        current = None
    pieces = _pieces(valid, current)
    return Markup(_render(text, pieces, current, notes or {}))


def _pieces(spans: set[tuple[int, int]], current: tuple[int, int] | None) -> list[_Piece]:
    pieces = []
    for span in spans | ({current} if current else set()):
        cuts = [span[0], span[1]]
        if current and span != current:
            cuts += [edge for edge in current if span[0] < edge < span[1] and not _contains(span, current)]
        cuts = sorted(set(cuts))
        for index, (start, end) in enumerate(pairwise(cuts)):
            pieces.append(_Piece(start, -end, span, part=index > 0))
    return pieces


def _contains(outer: tuple[int, int], inner: tuple[int, int]) -> bool:
    return outer[0] <= inner[0] and inner[1] <= outer[1]


def _render(text: str, pieces: list[_Piece], current: tuple[int, int] | None,
            notes: Mapping[tuple[int, int], list[str]]) -> str:
    """Open and close marks in text order; a piece crossing the enclosing one is split at its end."""
    queue = list(pieces)
    heapq.heapify(queue)
    out: list[str] = []
    stack: list[_Piece] = []
    cursor = 0
    while queue:
        piece = heapq.heappop(queue)
        cursor = _close_until(text, out, stack, cursor, piece.start)
        if stack and piece.end > stack[-1].end:  # crosses the enclosing mark: split at its end
            heapq.heappush(queue, _Piece(stack[-1].end, piece.neg_end, piece.span, part=True))
            piece = _Piece(piece.start, -stack[-1].end, piece.span, piece.part)
        out.append(escape(text[cursor:piece.start]))
        out.append(_open_tag(piece, current, notes))
        stack.append(piece)
        cursor = piece.start
    cursor = _close_until(text, out, stack, cursor, len(text) + 1)
    out.append(escape(text[cursor:]))
    return "".join(out)


def _close_until(text: str, out: list[str], stack: list[_Piece], cursor: int, position: int) -> int:
    """Close every open mark that ends at or before ``position``."""
    while stack and stack[-1].end <= position:
        piece = stack.pop()
        out.append(escape(text[cursor:piece.end]))
        out.append("</mark>")
        cursor = piece.end
    return cursor


def _open_tag(piece: _Piece, current: tuple[int, int] | None,
              notes: Mapping[tuple[int, int], list[str]]) -> str:
    start, end = piece.span
    classes = ["cite"] + (["part"] if piece.part else [])
    attributes = f' data-start="{start}" data-end="{end}"'
    if piece.span == current:
        classes.append("current")
        attributes += ' id="current"'
    cited_by = notes.get(piece.span)
    if cited_by:
        attributes += f' title="{escape(" | ".join(cited_by))}"'
    return f'<mark class="{" ".join(classes)}"{attributes}>'
