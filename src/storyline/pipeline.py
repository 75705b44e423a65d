"""The document pipeline: read -> extract/clean -> metadata -> (annotate) -> store.

The library API the CLI and the web app stand on. Each stage lives in its own module; this
module only wires them together and turns stage failures into one-line ``InputError``s so that
one bad input never stops a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from storyline.decode import decode_bytes, sniff_mode
from storyline.errors import InputProblem
from storyline.htmlclean import clean_html
from storyline.metadata import build_document
from storyline.model import Document, Extraction, InputError, Mode, Source
from storyline.readers import read_inputs
from storyline.textclean import clean_text


def extract_source(source: Source) -> Document:
    """Clean one source and give it metadata. Raises ``InputProblem`` for unusable input."""
    text = source.data if isinstance(source.data, str) else decode_bytes(source.data)
    mode = source.mode or sniff_mode(text)
    extraction: Extraction = clean_html(text, url=source.hints.url) if mode == "html" else clean_text(text)
    if not extraction.paragraphs:
        raise InputProblem("no article text found" if text.strip() else "empty input")
    return build_document(source, extraction)


def extract(
    inputs: Iterable[str], *, mode: Mode | None = None, allow_private: bool = False
) -> Iterator[Document | InputError]:
    """Read, clean and give metadata to every input, in order; failures come back as ``InputError``."""
    for item in read_inputs(inputs, mode=mode, allow_private=allow_private):
        if isinstance(item, InputError):
            yield item
            continue
        yield extract_one(item)


def extract_one(source: Source) -> Document | InputError:
    try:
        return extract_source(source)
    except InputProblem as exc:
        return InputError(source.origin, str(exc))


def ingest(*args: object, **kwargs: object) -> None:  # pragma: no cover - replaced below
    raise NotImplementedError
