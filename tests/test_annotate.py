"""The annotate stage as a whole: one pass, stored with the document (on SQLite and PostgreSQL:
``conftest.db_url``), robust to bad input."""

from __future__ import annotations

import time
from pathlib import Path

from storyline.annotate.annotator import annotate
from storyline.model import Document, InputError, Source
from storyline.pipeline.documents import ingest, ingest_sources
from storyline.store import open_store

NEWS = (
    "The harbour council voted on Monday to open a ferry line to the island of Kessel. "
    '"We listened to the islanders," said council chair Petra Lund. '
    "The first boat will sail on June 3, and Lund said the line is likely to pay for itself "
    "within five years."
)


def _annotated(text: str, published: str | None = "2024-03-05") -> Document:
    document = Document(origin="t", text=text, published=published, id="S1")
    annotate([document])
    assert document.annotations is not None
    return document


def test_every_annotation_points_into_the_text() -> None:
    document = _annotated(NEWS)
    notes = document.annotations
    assert notes is not None
    assert len(notes.sentences) == 3
    for span in [*notes.sentences, *notes.mentions, *notes.timexes]:
        assert document.text[span.start:span.end] == span.text
    for quote in notes.quotes:
        assert document.text[quote.start:quote.end] == quote.content
    assert any(m.name == "Petra Lund" for m in notes.mentions)
    assert any(t.value == "2024-03-04" for t in notes.timexes)
    assert any(q.speaker == "Petra Lund" and q.direct for q in notes.quotes)
    assert any(e.date == "2024-06-03" for e in notes.events)
    assert any(f.holder == "Petra Lund" and f.confidence == "likely" for f in notes.forecasts)


def test_empty_text_and_text_without_sentences() -> None:
    assert _annotated("").annotations.sentences == []  # type: ignore[union-attr]
    symbols = _annotated("— — — | | | ### *** ...")
    assert symbols.annotations is not None and not symbols.annotations.quotes


def test_a_two_megabyte_single_paragraph_is_annotated_without_crashing() -> None:
    text = ("The council met again on Tuesday and talked about the ferry for a long time "
            "while the rain kept falling on the harbour ") * 18_000
    assert len(text) > 2_000_000
    started = time.perf_counter()
    document = _annotated(text)
    assert document.annotations is not None and document.annotations.sentences
    assert time.perf_counter() - started < 600


def test_text_in_another_language_is_annotated_as_far_as_possible() -> None:
    german = ("Der Stadtrat hat am Montag beschlossen, eine neue Fährlinie zur Insel Kessel "
              "einzurichten. „Wir haben den Inselbewohnern zugehört“, sagte Petra Lund.")
    document = _annotated(german)
    assert document.annotations is not None and len(document.annotations.sentences) == 2


def test_ingest_stores_annotations_so_nothing_is_parsed_twice(tmp_path: Path, db_url: str) -> None:
    source = tmp_path / "ferry.txt"
    source.write_text(f"Ferry line approved\n\n{NEWS}\n", encoding="utf-8")
    with open_store(db_url) as store:
        report = ingest([str(source)], store)
        assert report.ok and report.new == ["S1"]
        stored = next(store.iter_documents(with_annotations=True))
    assert stored.annotations is not None and stored.annotations.quotes
    assert stored.language == "en"


def test_a_text_the_annotator_cannot_take_is_stored_and_reported(db_url: str) -> None:
    def annotator(documents: list[Document]) -> None:  # breaks on one text, as a crash would
        if any("Kessel" in d.text for d in documents):
            raise ValueError("parser crashed")
        annotate(documents)

    calm = Source(origin="calm.txt", data="The bakery on Mill Street reopened on Friday after "
                  "two weeks of repairs to its oven and its roof.", mode="text")
    heard: list[Document | InputError] = []
    with open_store(db_url) as store:
        report = ingest_sources([Source(origin="ferry.txt", data=NEWS, mode="text"), calm], store,
                                annotator=annotator, on_item=heard.append)
        stored = {d.origin: d for d in store.iter_documents(with_annotations=True)}
    assert [type(item).__name__ for item in heard] == ["InputError", "Document", "Document"]
    failure = heard[0]
    assert isinstance(failure, InputError) and failure.stored and failure.origin == "ferry.txt"
    assert "annotation failed" in failure.reason and report.failed == [failure]
    assert stored["ferry.txt"].annotations is None  # kept, without annotations
    assert stored["calm.txt"].annotations is not None
