"""The ``storyline`` command: a thin click layer over the library API in ``pipeline``.

Exit codes (CONTRACT.md): 0 all went well, 1 some input failed (each failure reported on one
line on stderr, the rest processed), 2 usage error.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from storyline import __version__
from storyline.errors import StorylineError
from storyline.fetch import TIMEOUT_SECONDS, Fetcher
from storyline.model import Document, InputError, Mode
from storyline.pipeline import extract, ingest
from storyline.store import default_db_location, open_store

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2

_stderr = Console(stderr=True, highlight=False)

db_option = click.option(
    "--db", "db_url", metavar="URL", default=None,
    help=f"database: a SQLite path or sqlite:///path (default {default_db_location()})",
)
quiet_option = click.option("--quiet", "-q", is_flag=True, help="no progress bar or summary, only errors")
private_option = click.option(
    "--allow-private", is_flag=True,
    help="allow fetching URLs that resolve to private or loopback addresses",
)
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0.1), default=TIMEOUT_SECONDS, show_default=True,
    help="seconds to wait for each URL",
)
type_option = click.option(
    "--type", "mode", type=click.Choice(["html", "text"]), default=None,
    help="treat every input as HTML or as text copied off a page (default: detect)",
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="storyline")
def main() -> None:
    """Storyline: turn many outlets' coverage of one story into a faithful, cited briefing."""


@main.command("extract")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--format", "fmt", type=click.Choice(["json", "jsonl", "text"]), default=None,
              help="json: one document (a list for several); jsonl: one per line; text: clean text "
                   "(default: json for one input, jsonl for several)")
@type_option
@private_option
@timeout_option
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-",
              help="write here instead of standard output")
@quiet_option
def extract_command(inputs: tuple[str, ...], fmt: str | None, mode: Mode | None,
                    allow_private: bool, timeout: float, output: IO[str], quiet: bool) -> None:
    """Read, clean and give metadata to INPUTS, without a database.

    INPUT is a file, a directory, a glob, a URL, a .jsonl/.csv of records, a .warc(.gz), or -
    for standard input.
    """
    results: list[Document | InputError] = []
    with _progress(quiet, "Extracting") as advance:
        fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
        for result in extract(inputs, mode=mode, fetcher=fetcher):
            _report_failure(result)
            results.append(result)
            advance()
    _write_extraction(results, fmt or _default_format(inputs, results), output)
    sys.exit(_exit_code(results))


def _default_format(inputs: tuple[str, ...], results: list[Document | InputError]) -> str:
    return "json" if len(inputs) == 1 and len(results) == 1 else "jsonl"


def _write_extraction(results: list[Document | InputError], fmt: str, output: IO[str]) -> None:
    objects = [r.to_dict() for r in results]
    if fmt == "json":
        payload: Any = objects[0] if len(objects) == 1 else objects
        output.write(json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    elif fmt == "jsonl":
        for obj in objects:
            output.write(json.dumps(obj, ensure_ascii=False) + "\n")
    else:
        for result in results:
            if isinstance(result, Document):
                output.write(_as_plain_text(result))


def _as_plain_text(doc: Document) -> str:
    header = [doc.title or "(untitled)", ", ".join(filter(None, [
        " and ".join(doc.authors) or None, doc.outlet, doc.published]))]
    return "\n".join(line for line in header if line) + "\n\n" + doc.text + "\n\n"


@main.command("ingest")
@click.argument("inputs", nargs=-1, required=True)
@db_option
@type_option
@private_option
@timeout_option
@click.option("--no-annotate", is_flag=True,
              help="store clean documents only, without the NLP pass (faster)")
@quiet_option
def ingest_command(inputs: tuple[str, ...], db_url: str | None, mode: Mode | None,
                   allow_private: bool, timeout: float, no_annotate: bool, quiet: bool) -> None:
    """Read, clean, annotate and store INPUTS (adding the same input twice adds nothing)."""
    with _open_store_or_exit(db_url) as store, _progress(quiet, "Ingesting") as advance:
        def on_item(result: Document | InputError) -> None:
            _report_failure(result)
            advance()

        fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
        report = ingest(inputs, store, mode=mode, fetcher=fetcher, on_item=on_item,
                        annotate=not no_annotate)
    if not quiet:
        click.echo(report.summary())
    sys.exit(EXIT_OK if report.ok else EXIT_SOME_FAILED)


@main.command("docs")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table",
              help="table for people, json/jsonl for scripts (full documents)")
def docs_command(db_url: str | None, fmt: str) -> None:
    """List the documents stored in the database."""
    with _open_store_or_exit(db_url) as store:
        documents = store.documents()
    if fmt == "json":
        click.echo(json.dumps([d.to_dict() for d in documents], ensure_ascii=False, indent=2))
    elif fmt == "jsonl":
        for doc in documents:
            click.echo(json.dumps(doc.to_dict(), ensure_ascii=False))
    else:
        console = Console(highlight=False)
        if not console.is_terminal:  # piped or under make: don't squeeze the table into 80 columns
            console = Console(highlight=False, width=150)
        console.print(_documents_table(documents))


@main.command("brief")
@click.argument("inputs", nargs=-1)
@click.option("--words", type=click.IntRange(min=20, max=5000), default=250, show_default=True,
              help="length of the summary in words")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json", "jsonl"]), default=None,
              help="output format (default: from the -o file's suffix, else md; jsonl with --batch)")
@click.option("-o", "--output", "outputs", type=click.Path(dir_okay=False, writable=True),
              multiple=True, help="write the briefing here instead of standard output; repeat for "
                                  "several formats at once (each taken from its suffix)")
@click.option("--batch", "batch_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help='many briefings: a JSONL file of {"id": ..., "documents": [text, ...]} lines')
@db_option
@type_option
@private_option
@timeout_option
@quiet_option
def brief_command(inputs: tuple[str, ...], words: int, fmt: str | None, outputs: tuple[str, ...],
                  batch_file: str | None, db_url: str | None, mode: Mode | None,
                  allow_private: bool, timeout: float, quiet: bool) -> None:
    """The main job: a cited briefing of everything in INPUTS, treated as one story.

    With --db the inputs are also ingested into that database, and the briefing covers them.
    """
    if batch_file:
        if inputs:
            raise click.UsageError("give either INPUTS or --batch, not both")
        if len(outputs) > 1:
            raise click.UsageError("--batch writes one file: give -o once")
        _brief_batch(batch_file, words, fmt or "jsonl", outputs[0] if outputs else None, quiet)
        return
    if not inputs:
        raise click.UsageError("give at least one INPUT (a file, folder, URL, ... or -)")
    targets = [(path, _format_from_suffix(path) or fmt or "md") for path in outputs] or [
        (None, fmt or "md")
    ]
    if any(target_fmt == "jsonl" for _, target_fmt in targets):
        raise click.UsageError("--format jsonl is for --batch; use json for one briefing")
    from storyline.brief import brief_inputs
    from storyline.render import render

    failures: list[InputError] = []

    def on_error(error: InputError) -> None:
        failures.append(error)
        _report_failure(error)

    fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
    with _status(quiet, "Reading, annotating and briefing"):
        try:
            briefing = brief_inputs(inputs, words=words, mode=mode, fetcher=fetcher,
                                    db_url=db_url, on_error=on_error)
        except StorylineError as exc:
            _stderr.print(f"[bold red]error:[/] {exc}")
            sys.exit(EXIT_SOME_FAILED)
    for path, target_fmt in targets:
        _write_text(render(briefing, target_fmt), path)
    sys.exit(EXIT_SOME_FAILED if failures else EXIT_OK)


def _format_from_suffix(path: str | None) -> str | None:
    suffixes = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".jsonl": "jsonl"}
    if not path:
        return None
    for suffix, fmt in suffixes.items():
        if path.lower().endswith(suffix):
            return fmt
    return None


def _brief_batch(batch_file: str, words: int, fmt: str, output: str | None, quiet: bool) -> None:
    if fmt != "jsonl":
        raise click.UsageError("--batch writes --format jsonl")
    from storyline.batch import brief_batch

    with _progress(quiet, "Briefing") as advance:
        lines, failed = brief_batch(batch_file, words=words, on_done=advance, on_error=_report_failure)
    _write_text("".join(line + "\n" for line in lines), output)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _write_text(text: str, output: str | None) -> None:
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        click.echo(text, nl=False)


@contextmanager
def _status(quiet: bool, message: str) -> Iterator[None]:
    """A spinner on stderr for one long step (only on a terminal)."""
    if quiet or not _stderr.is_terminal:
        yield
        return
    with _stderr.status(message):
        yield


@main.command("timex")
@click.option("--dct", required=True, metavar="YYYY-MM-DD",
              help="document creation time: relative expressions are resolved against it")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
def timex_command(dct: str, source: IO[str]) -> None:
    """Temporal expressions of a text (FILE or - for standard input), normalised to TimeML values."""
    from storyline.dates import parse_date
    from storyline.timex import find_timexes

    parsed = parse_date(dct)
    if parsed is None or parsed.iso is None or len(parsed.iso) != 10:
        raise click.BadParameter(f"{dct!r} is not a date like 2017-07-10", param_hint="--dct")
    found = find_timexes(source.read(), parsed.iso)
    click.echo(json.dumps([_timex_dict(t) for t in found], ensure_ascii=False, indent=2))


def _timex_dict(timex: Any) -> dict[str, Any]:
    return {"start": timex.start, "end": timex.end, "text": timex.text, "type": timex.type,
            "value": timex.value}


@main.command("quotes")
@click.argument("source", type=click.File("r", encoding="utf-8"), default="-")
def quotes_command(source: IO[str]) -> None:
    """Who said what in a text (FILE or - for standard input): direct and indirect quotes."""
    from dataclasses import asdict

    from storyline.quotes import quotes_of_text

    found = quotes_of_text(source.read())
    click.echo(json.dumps([asdict(q) for q in found], ensure_ascii=False, indent=2))


def _documents_table(documents: list[Document]) -> Table:
    table = Table(title=f"{len(documents)} stored document{'s' if len(documents) != 1 else ''}")
    for column in ("id", "title", "outlet", "authors", "published", "kind", "words", "dup of"):
        table.add_column(column, overflow="fold", no_wrap=column in {"id", "published"})
    for doc in documents:
        table.add_row(
            doc.id or "", _shorten(doc.title, 48), doc.outlet or "", ", ".join(doc.authors),
            doc.published or "", doc.kind or "", str(doc.words), doc.duplicate_of or "",
        )
    return table


def _shorten(text: str | None, width: int) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _report_failure(result: Document | InputError) -> None:
    if isinstance(result, InputError):
        _stderr.print(f"[bold red]error:[/] {result.origin}: {result.reason}", soft_wrap=True)


def _exit_code(results: list[Document | InputError]) -> int:
    return EXIT_SOME_FAILED if any(isinstance(r, InputError) for r in results) else EXIT_OK


@contextmanager
def _open_store_or_exit(db_url: str | None) -> Iterator[Any]:
    try:
        store = open_store(db_url)
    except StorylineError as exc:
        raise click.UsageError(str(exc)) from exc
    with store:
        yield store


@contextmanager
def _progress(quiet: bool, label: str) -> Iterator[Any]:
    """A progress bar on stderr (shown only on a terminal); yields a function that advances it."""
    progress = Progress(
        SpinnerColumn(), TextColumn(f"{label}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=_stderr, transient=True,
        disable=quiet or not _stderr.is_terminal,
    )
    with progress:
        task = progress.add_task(label, total=None)
        yield lambda: progress.advance(task)


if __name__ == "__main__":  # pragma: no cover
    main()
