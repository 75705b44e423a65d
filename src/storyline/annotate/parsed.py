"""What the stages read of one parse, computed once per ``Doc`` and shared.

``Doc.text`` joins every token anew on each access (and ``Span.text`` every token of the span):
on a 600-word article that is some 700 Token objects built each time, and the stages would
build it again and again. ``doc_text`` keeps one copy per Doc while the Doc lives; the parse
(``storyline.annotate.nlp``) hands over the text it parsed, which is the Doc's text already
(spaCy's tokenizer loses no character), so it is never joined at all.
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from spacy.tokens import Doc, Span

_TEXTS: WeakKeyDictionary[Doc, str] = WeakKeyDictionary()


def doc_text(doc: Doc) -> str:
    """``doc.text``, built once per Doc (or known from the parse)."""
    text = _TEXTS.get(doc)
    if text is None:
        text = _TEXTS[doc] = doc.text
    return text


def remember_text(doc: Doc, text: str) -> None:
    """Record ``text`` as ``doc``'s text: only for the very text ``doc`` was parsed from."""
    _TEXTS[doc] = text


def span_text(span: Span) -> str:
    """``span.text`` (the tokens' text from the first to the last, without the last one's
    trailing space), cut from the shared document text instead of joined token by token."""
    return doc_text(span.doc)[span.start_char:span.end_char]
