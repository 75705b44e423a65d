"""The ``storyline`` command: a thin click layer over the library API in ``pipeline``.

Exit codes (CONTRACT.md): 0 all went well, 1 some input failed (each failure reported on one
line on stderr, the rest processed) or the output could not be written, 2 usage error.

Nothing printed on the console is read as rich markup (``markup=False``): file names, titles and
reasons come from the inputs, and a ``[/]`` in one must be printed, not obeyed.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from storyline import __version__
from storyline.annotate.embeddings import model_in_background
from storyline.context import MAX_CHARS_VARIABLE, MAX_DOCUMENT_CHARS, Settings
from storyline.errors import InputProblem, StorylineError
from storyline.model import Document, InputError, Mode
from storyline.outlets import (
    Registry,
    enrich,
    make_outlet,
    ownership_types,
    read_outlets_file,
)
from storyline.pipeline.catalogue import StorylineGroup, by_storyline, label, story_entries
from storyline.pipeline.documents import extract, ingest
from storyline.pipeline.feeds import (
    AddOutcome,
    add_sources,
    due_label,
    import_opml,
    parse_every,
    remove_sources,
    source_statuses,
)
from storyline.pipeline.politeness import PoliteClient, WatchConfig
from storyline.pipeline.watch import (
    PassReport,
    PollOutcome,
    Watch,
    WatchOptions,
    WatchRunning,
    only_watch,
    open_client,
    utc_now,
)
from storyline.pipeline.registry import registry_of
from storyline.read.decode import MAX_INPUT_BYTES, check_length, decode_bytes
from storyline.read.fetch import TIMEOUT_SECONDS, Fetcher
from storyline.store import (DATABASE_ERRORS, Store, StoryInfo, default_db_location, failure_in_use,
                              open_store)

if TYPE_CHECKING:
    from storyline.briefing import Briefing
    from storyline.story.detect import FoundStory

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE = 0, 1, 2
EXIT_STOPPED = 128 + signal.SIGTERM  # the shell's code for "ended by SIGTERM"
T = TypeVar("T")

_stderr = Console(stderr=True, highlight=False, markup=False)

db_option = click.option(
    "--db", "db_url", metavar="URL", default=None, envvar="STORYLINE_DB",
    help="database: a SQLite path, sqlite:///path or postgresql://user:password@host/db "
         f"(default $STORYLINE_DB, else {default_db_location()})",
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
max_chars_option = click.option(
    "--max-chars", type=click.IntRange(min=1), default=None, metavar="N",
    help=f"refuse a text longer than N characters (default ${MAX_CHARS_VARIABLE}, else "
         f"{MAX_DOCUMENT_CHARS:,})",
)
type_option = click.option(
    "--type", "mode", type=click.Choice(["html", "text"]), default=None,
    help="treat every input as HTML or as text copied off a page (default: detect)",
)


class _Storyline(click.Group):
    """The command group, whose last act is to write out standard output: a full disk or a
    closed pipe there is one error line and exit code 1, not a traceback after the work."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except OSError:
            if _stdout_writes():  # not standard output's failure: a true bug, shown as one
                raise
            sys.exit(EXIT_SOME_FAILED)
        finally:  # commands end in sys.exit: flushed here, whatever the exit code
            if not _stdout_writes():
                sys.exit(EXIT_SOME_FAILED)  # noqa: B012 - the exit code must say it


def _stdout_writes() -> bool:
    """Flush standard output; False (said on stderr) when it cannot be written. Its file
    descriptor is then pointed at /dev/null, so that Python's own flush at exit is quiet."""
    try:
        sys.stdout.flush()
        return True
    except OSError as exc:
        if exc.errno != errno.EPIPE:  # a reader that went away needs no message
            _say_error(f"cannot write standard output: {_os_reason(exc)}")
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return False


def _os_reason(exc: OSError) -> str:
    reason = exc.strerror or str(exc)
    return reason[:1].lower() + reason[1:]


@click.group(cls=_Storyline, context_settings={"help_option_names": ["-h", "--help"]})
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
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="write here instead of standard output")
@quiet_option
def extract_command(inputs: tuple[str, ...], fmt: str | None, mode: Mode | None,
                    allow_private: bool, timeout: float, output: str | None, quiet: bool) -> None:
    """Read, clean and give metadata to INPUTS, without a database.

    INPUT is a file, a directory, a glob, a URL, a .jsonl/.csv of records, a .warc(.gz), or -
    for standard input.
    """
    _check_outputs([output])
    results: list[Document | InputError] = []
    with _progress(quiet, "Extracting") as advance:
        fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
        for result in extract(inputs, mode=mode, fetcher=fetcher):
            _report_failure(result)
            results.append(result)
            advance()
    _write_text(_extraction_text(results, fmt or _default_format(inputs, results)), output)
    sys.exit(_exit_code(results))


def _default_format(inputs: tuple[str, ...], results: list[Document | InputError]) -> str:
    return "json" if len(inputs) == 1 and len(results) == 1 else "jsonl"


def _extraction_text(results: list[Document | InputError], fmt: str) -> str:
    objects = [r.to_dict() for r in results]
    if fmt == "json":
        payload: Any = objects[0] if len(objects) == 1 else objects
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    if fmt == "jsonl":
        return "".join(json.dumps(obj, ensure_ascii=False) + "\n" for obj in objects)
    return "".join(_as_plain_text(r) for r in results if isinstance(r, Document))


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
@click.option("--story", "story_name", metavar="NAME", default=None,
              help="put the documents into the story NAME (created if new) by hand, instead "
                   "of finding their stories")
@click.option("--no-stories", is_flag=True,
              help="do not file the new documents into found stories (story detection)")
@click.option("--scheduler", metavar="URL", default=None,
              help="read, extract and annotate on the Dask cluster of this scheduler "
                   "(tcp://HOST:8786); the workers must see the INPUTS at the same paths")
@click.option("--dask-workers", type=click.IntRange(min=1), default=None, metavar="N",
              help="read, extract and annotate on a local Dask cluster of N worker processes")
@quiet_option
def ingest_command(inputs: tuple[str, ...], db_url: str | None, mode: Mode | None,
                   allow_private: bool, timeout: float, no_annotate: bool, story_name: str | None,
                   no_stories: bool, scheduler: str | None, dask_workers: int | None,
                   quiet: bool) -> None:
    """Read, clean, annotate and store INPUTS (adding the same input twice adds nothing).

    Each new document is filed into the found story it belongs to, or starts one (story
    detection; `storyline stories --db` lists them), unless --story NAME files them by hand
    or --no-stories. With --scheduler or --dask-workers the per-document work runs on Dask
    workers, and this process stores the documents and files them into stories."""
    if scheduler is not None and dask_workers is not None:
        raise click.UsageError("give --scheduler (a running cluster) or --dask-workers (a local "
                               "one), not both")
    # The cluster first: a scheduler that does not answer must leave nothing written.
    with _dask_or_exit(scheduler, dask_workers) as cluster, _open_store_or_exit(db_url) as store, \
            _progress(quiet, "Ingesting") as advance:
        story = _story_or_exit(store, story_name)

        def on_item(result: Document | InputError) -> None:
            _report_failure(result)
            if story is not None and isinstance(result, Document) and result.id:
                store.add_to_story(story, [result.id])  # as each is stored: a killed run keeps them
            if isinstance(result, Document) or not result.stored:  # one step per input
                advance()

        find_stories = story is None and not no_stories
        with _stop_on_sigterm() as stop:
            if cluster is not None:
                from storyline.pipeline.cluster import ingest_on_cluster

                report = ingest_on_cluster(inputs, store, cluster, mode=mode,
                                           allow_private=allow_private, timeout=timeout,
                                           on_item=on_item, annotate=not no_annotate,
                                           find_stories=find_stories, stop=stop.is_set)
            else:
                fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
                report = ingest(inputs, store, mode=mode, fetcher=fetcher, on_item=on_item,
                                annotate=not no_annotate, find_stories=find_stories,
                                stop=stop.is_set)
    if not quiet:
        click.echo(report.summary())
        if report.stories:
            filed = len(set(report.stories.values()))
            click.echo(f"filed into {filed} found {'story' if filed == 1 else 'stories'}")
    if report.stopped:
        _stderr.print("stopped by SIGTERM: what was read is stored; run the same command again "
                      "to add the rest", soft_wrap=True)
        sys.exit(EXIT_STOPPED)
    sys.exit(EXIT_OK if report.ok else EXIT_SOME_FAILED)


@contextmanager
def _dask_or_exit(scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """The Dask cluster an ingest runs on (None: the local process pool). A scheduler that does
    not answer is one error line and exit code 2; without dask installed, a usage error."""
    if scheduler is None and workers is None:
        yield None
        return
    try:
        from storyline.pipeline.cluster import DaskExecutor
    except ImportError as exc:
        raise click.UsageError("Dask is not installed: pip install 'storyline[cluster]'") from exc
    limit = Settings.from_env().in_flight
    try:
        executor = (DaskExecutor.connect(scheduler, limit=limit) if scheduler is not None
                    else DaskExecutor.local(workers or 1, limit=limit))
    except StorylineError as exc:
        _say_error(str(exc))
        sys.exit(EXIT_USAGE)
    with executor:
        yield executor


@contextmanager
def _stop_on_sigterm() -> Iterator[threading.Event]:
    """An event set by SIGTERM, so that a long run finishes the input in hand and stops; a
    second SIGTERM ends the process at once."""
    stop = threading.Event()

    def on_sigterm(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


def _story_or_exit(store: Any, name: str | None) -> int | None:
    if name is None:
        return None
    try:
        return int(store.create_story(name).id)
    except StorylineError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="address to listen on; any other than loopback needs $STORYLINE_TOKEN")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True,
              help="port to listen on")
@click.option("--allowed-host", "allowed_hosts", multiple=True, metavar="NAME",
              help="a name the server answers to besides localhost, 127.0.0.1 and [::1] (the "
                   "Host header; repeat for more, '*' for any); also $STORYLINE_ALLOWED_HOSTS, "
                   "comma-separated; a --host address is allowed by itself")
@click.option("--reads-per-minute", type=click.IntRange(0), default=0, show_default=True,
              help="the most page and API reads one client address may make a minute (0: no limit)")
@click.option("--writes-per-minute", type=click.IntRange(0), default=0, show_default=True,
              help="the most writes (form posts, API posts) one client address may make a minute (0: no limit)")
@db_option
@private_option
def serve_command(host: str, port: int, allowed_hosts: tuple[str, ...], reads_per_minute: int,
                  writes_per_minute: int, db_url: str | None, allow_private: bool) -> None:
    """The web app and HTTP API (http://HOST:PORT/, API documentation at /docs).

    On a non-loopback address every write needs the token in $STORYLINE_TOKEN
    (Authorization: Bearer TOKEN); without one the server refuses to start. With
    $STORYLINE_READ_TOKEN set, reading needs a token too (that one or the write token).
    """
    import uvicorn

    from storyline.web.heap import dump_heap_on_signal, tame_heap

    tame_heap()  # before any thread of the server allocates (see storyline.web.heap)
    dump_heap_on_signal()  # only with $STORYLINE_HEAPDUMP set: a diagnosis
    try:
        rates = (reads_per_minute, writes_per_minute)
        app = _web_app(host, allowed_hosts, db_url, allow_private, rates)
    except StorylineError as exc:
        raise click.UsageError(str(exc)) from exc
    _stderr.print(f"Storyline at http://{host}:{port}/ (API documentation at /docs); Ctrl+C stops it")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def _web_app(host: str, allowed_hosts: Sequence[str], db_url: str | None, allow_private: bool,
             rates: tuple[int, int] = (0, 0)) -> Any:
    """The web app for ``serve``: tokens and extra host names from the environment
    (``STORYLINE_TOKEN``, ``STORYLINE_READ_TOKEN``, ``STORYLINE_ALLOWED_HOSTS``)."""
    import os

    from storyline.web import create_app, is_loopback
    from storyline.web.app import HOSTS_ENV, READ_TOKEN_ENV, TOKEN_ENV
    from storyline.web.requests import Bounds

    names = [*allowed_hosts, *os.environ.get(HOSTS_ENV, "").split(",")]
    if host not in {"0.0.0.0", "::", ""}:
        names.append(host)  # the address it listens on is a name it answers to
    return create_app(db_url, token=os.environ.get(TOKEN_ENV) or None, public=not is_loopback(host),
                      allow_private=allow_private, read_token=os.environ.get(READ_TOKEN_ENV) or None,
                      hosts=[name for name in names if name.strip()], analysis_process=True,
                      bounds=Bounds(reads_per_minute=rates[0], writes_per_minute=rates[1]))


@main.command("docs")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl"]), default="table",
              help="table for people, json/jsonl for scripts (full documents)")
def docs_command(db_url: str | None, fmt: str) -> None:
    """List the documents stored in the database."""
    with _open_store_or_exit(db_url, create=False) as store:
        registry = registry_of(store)  # outlets added since the ingest count too
        documents = _enriched(store.iter_documents(), registry)  # streamed: any size of store
        if fmt == "json":
            _echo_json_list(doc.to_dict() for doc in documents)
        elif fmt == "jsonl":
            for doc in documents:
                click.echo(json.dumps(doc.to_dict(), ensure_ascii=False))
        else:
            _wide_console().print(_documents_table(documents))


def _enriched(documents: Iterable[Document], registry: Registry) -> Iterator[Document]:
    for document in documents:
        enrich([document], registry)
        yield document


def _echo_json_list(items: Iterable[Any]) -> None:
    """``json.dumps(list(items), indent=2)``, written one item at a time."""
    opening = "["
    for item in items:
        body = json.dumps(item, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        click.echo(f"{opening}\n  {body}", nl=False)
        opening = ","
    click.echo("[]" if opening == "[" else "\n]")


@main.command("stories")
@click.argument("inputs", nargs=-1)
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json", "jsonl", "md"]), default="table",
              help="table for people; json for scripts; jsonl (with INPUTS): one line per input "
                   "document, {\"id\", \"story\"}; md: Markdown grouped by storyline")
@type_option
@private_option
@timeout_option
@quiet_option
def stories_command(inputs: tuple[str, ...], db_url: str | None, fmt: str, mode: Mode | None,
                    allow_private: bool, timeout: float, quiet: bool) -> None:
    """The stories found in INPUTS (files, folders, URLs, ... or -); without INPUTS, the stories
    stored in the database (for brief --story NAME|ID)."""
    if inputs:
        if db_url is not None:
            raise click.UsageError("give INPUTS (stories found in them) or --db (stories stored), "
                                   "not both; `storyline ingest --db` files inputs into stories")
        _pile_stories(inputs, fmt, mode, Fetcher(allow_private=allow_private, timeout=timeout), quiet)
        return
    if fmt == "jsonl":
        raise click.UsageError("--format jsonl lists input documents: give INPUTS")
    with _open_store_or_exit(db_url, create=False) as store:
        if fmt == "table":
            _wide_console().print(_stories_table(store.stories()))
            return
        entries = story_entries(store)
    if fmt == "json":
        _echo_json_list(entry.to_dict() for entry in entries)
    else:
        click.echo(_stories_markdown(by_storyline(entries)), nl=False)


def _pile_stories(inputs: tuple[str, ...], fmt: str, mode: Mode | None, fetcher: Fetcher,
                  quiet: bool) -> None:
    from storyline.pipeline.detection import find_stories

    failures: list[InputError] = []

    def on_error(error: InputError) -> None:
        failures.append(error)
        _report_failure(error)

    with model_in_background(), _status(quiet, "Reading and finding the stories"):
        found = find_stories(inputs, mode=mode, fetcher=fetcher, on_error=on_error)
    if not found.documents:
        _say_error("no document could be read from the inputs")
        sys.exit(EXIT_SOME_FAILED)
    origins: dict[int, list[str]] = {}
    for document, number in found.documents:
        origins.setdefault(number, []).append(document.origin)
    if fmt == "jsonl":
        for document, number in found.documents:
            click.echo(json.dumps({"id": document.record_id or document.origin, "story": number},
                                  ensure_ascii=False))
    elif fmt == "json":
        titles = _storyline_titles(found.stories)
        _echo_json_list(_found_entry(story, origins[story.number], titles) for story in found.stories)
    elif fmt == "md":
        click.echo(_found_markdown(found.stories, origins), nl=False)
    else:
        _wide_console().print(_found_table(found.stories, origins))
    sys.exit(EXIT_SOME_FAILED if failures else EXIT_OK)


def _found_entry(story: FoundStory, origins: list[str], titles: dict[int, str]) -> dict[str, Any]:
    start, end = story.period
    line = None if story.storyline is None else {"id": story.storyline, "title": titles[story.storyline]}
    return {"id": story.number, "title": story.title, "documents": origins,
            "period": {"start": start, "end": end}, "countries": list(story.countries),
            "storyline": line}


def _storyline_titles(stories: list[FoundStory]) -> dict[int, str]:
    """Each storyline of a pile titled by its earliest story (undated stories last)."""
    titles: dict[int, str] = {}
    for story in sorted(stories, key=lambda s: (s.period[0] is None, s.period[0] or "", s.number)):
        if story.storyline is not None:
            titles.setdefault(story.storyline, story.title)
    return titles


def _found_table(stories: list[FoundStory], origins: dict[int, list[str]]) -> Table:
    table = Table("story", "title", "documents", "period", "countries")
    for story in stories:
        period = " to ".join(p for p in story.period if p) or "-"
        table.add_row(str(story.number), story.title, str(len(origins[story.number])),
                      period, ", ".join(story.countries) or "-")
    return table


def _found_markdown(stories: list[FoundStory], origins: dict[int, list[str]]) -> str:
    lines = ["# Stories found", ""]
    for story in stories:
        period = " to ".join(p for p in story.period if p)
        lines += [f"## {story.number}. {story.title}", ""]
        if period or story.countries:
            lines += ["; ".join(x for x in (period, ", ".join(story.countries)) if x), ""]
        lines += [f"- {origin}" for origin in origins[story.number]] + [""]
    return "\n".join(lines)


def _stories_table(stories: Iterable[StoryInfo]) -> Table:
    """The stored stories, each headed by the name its user gave it, then its briefing's title."""
    table = Table("id", "story", "title", "documents", "period", "updated")
    for story in stories:
        period = " to ".join(p for p in (story.period_start, story.period_end) if p) or "-"
        title = story.title if story.title and story.title != label(story) else ""
        table.add_row(str(story.id), label(story), title, str(story.documents), period,
                      story.updated_at[:16].replace("T", " "))
    return table


def _stories_markdown(groups: Iterable[StorylineGroup]) -> str:
    """A heading per storyline (then "Other stories"), a line per story."""
    lines = ["# Stories", ""]
    for group in groups:
        line = group.storyline
        lines += [f"## {(line.title or f'Storyline {line.id}') if line else 'Other stories'}", ""]
        for entry in group.stories:
            story = entry.story
            period = " to ".join(p for p in (story.period_start, story.period_end) if p)
            details = [f"{story.documents} source{'' if story.documents == 1 else 's'}"]
            details += [period] if period else []
            details += [", ".join(entry.countries)] if entry.countries else []
            details.append(f"updated {story.updated_at[:16].replace('T', ' ')}")
            subtitle = f" ({entry.subtitle})" if entry.subtitle else ""
            lines.append(f"- **{entry.label}**{subtitle} (story {story.id}, {story.kind}): "
                         f"{'; '.join(details)}")
        lines.append("")
    if len(lines) == 2:
        lines.append("No stories yet.")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- curation


@main.command("merge")
@click.argument("keep", metavar="A")
@click.argument("other", metavar="B")
@db_option
def merge_command(keep: str, other: str, db_url: str | None) -> None:
    """Merge story B into story A (each an id or a name): B's documents join A, and B then
    leads to A."""
    from storyline.pipeline.curation import merge

    with _open_store_or_exit(db_url, create=False) as store:
        target, merged = _stored_story(store, keep), _stored_story(store, other)
        kept = _curate(lambda: merge(store, target.id, merged.id))
    click.echo(f"Merged story {merged.id} ({merged.name}) into story {kept.id} ({kept.name}): "
               f"it holds {kept.documents} document{'' if kept.documents == 1 else 's'}.")


@main.command("split")
@click.argument("story_key", metavar="STORY")
@click.argument("doc_ids", metavar="DOC...", nargs=-1, required=True)
@click.option("--name", required=True, help="the new story's name")
@db_option
def split_command(story_key: str, doc_ids: tuple[str, ...], name: str, db_url: str | None) -> None:
    """Split the documents DOC... (S3 S5 ...) off STORY into a new story named NAME."""
    from storyline.pipeline.curation import split

    with _open_store_or_exit(db_url, create=False) as store:
        story = _stored_story(store, story_key)
        new = _curate(lambda: split(store, story.id, list(doc_ids), name))
    click.echo(f"Split {', '.join(doc_ids)} off story {story.id} ({story.name}) "
               f"into the new story {new.id} ({new.name}).")


@main.command("move")
@click.argument("doc_ids", metavar="DOC...", nargs=-1, required=True)
@click.option("--from", "source", required=True, metavar="STORY", help="the story they leave")
@click.option("--to", "target", required=True, metavar="STORY", help="the story they join")
@db_option
def move_command(doc_ids: tuple[str, ...], source: str, target: str, db_url: str | None) -> None:
    """Move the documents DOC... (S3 S5 ...) from one story to another."""
    from storyline.pipeline.curation import move

    with _open_store_or_exit(db_url, create=False) as store:
        leave, join = _stored_story(store, source), _stored_story(store, target)
        _curate(lambda: move(store, list(doc_ids), leave.id, join.id))
    count = len(set(doc_ids))
    click.echo(f"Moved {count} document{'' if count == 1 else 's'} from story {leave.id} "
               f"({leave.name}) to story {join.id} ({join.name}).")


# --- sources: a story's sources removed, a source's metadata corrected ---------------------


@main.group("sources")
def sources_group() -> None:
    """A story's sources: remove one from a story, or correct a source's outlet, date or title.

    Stories that hold a changed source are briefed again the next time they are asked for
    (brief --db --story, the web app)."""


@sources_group.command("remove")
@click.argument("doc_ids", metavar="DOC...", nargs=-1, required=True)
@click.option("--story", "story_key", required=True, metavar="NAME|ID",
              help="the story they leave (they stay stored, and in other stories)")
@db_option
def sources_remove_command(doc_ids: tuple[str, ...], story_key: str, db_url: str | None) -> None:
    """Remove the sources DOC... (S3 S5 ...) from a story."""
    from storyline.pipeline.curation import remove

    with _open_store_or_exit(db_url, create=False) as store:
        story = _stored_story(store, story_key)
        removed = _curate(lambda: remove(store, story.id, list(doc_ids)))
        left = _stored_story(store, str(story.id)).documents
    click.echo(f"Removed {', '.join(dict.fromkeys(doc_ids))} from story {story.id} ({label(story)}): "
               f"it holds {left} source{'' if left == 1 else 's'}.")


@sources_group.command("correct")
@click.argument("doc_id", metavar="DOC")
@click.option("--outlet", default=None, metavar="NAME", help="the outlet that published it")
@click.option("--date", "published", default=None, metavar="YYYY-MM-DD",
              help="the day it was published")
@click.option("--title", default=None, metavar="TITLE", help="its headline")
@db_option
def sources_correct_command(doc_id: str, outlet: str | None, published: str | None,
                            title: str | None, db_url: str | None) -> None:
    """Correct the outlet, date or title of the stored source DOC (S3). The correction stays
    when the same source is ingested again."""
    from storyline.pipeline.curation import correct

    with _open_store_or_exit(db_url, create=False) as store:
        before = store.get(doc_id)
        corrected = _curate(lambda: correct(store, doc_id, title=title, outlet=outlet,
                                            published=published, registry=registry_of(store)))
    changes = [f"{name} {_quoted(getattr(corrected, name))} (was {_quoted(getattr(before, name, None))})"
               for name, given in (("outlet", outlet), ("published", published), ("title", title))
               if given is not None]
    click.echo(f"Corrected {corrected.id}: {'; '.join(changes)}.")


def _quoted(value: str | None) -> str:
    return "none" if value is None else repr(value)


def _stored_story(store: Store, key: str) -> StoryInfo:
    story = store.story(key)
    if story is None:
        raise click.UsageError(f"no story {key!r} (storyline stories --db DB lists them)")
    return story


def _curate(operation: Callable[[], T]) -> T:
    """Run a curation; what the user got wrong (an unknown document, a story merged already, a
    split into nothing) is a usage error, and nothing was changed."""
    try:
        return operation()
    except KeyError as exc:
        raise click.UsageError(str(exc.args[0]) if exc.args else "not found") from exc
    except StorylineError as exc:
        raise click.UsageError(str(exc)) from exc


@main.command("brief")
@click.argument("inputs", nargs=-1)
@click.option("--words", type=click.IntRange(min=20, max=5000), default=250, show_default=True,
              help="length of the summary in words")
@click.option("--format", "fmt", type=click.Choice(["html", "md", "json", "jsonl"]), default=None,
              help="output format (default: from the -o file's suffix, else md; jsonl with --batch)")
@click.option("-o", "--output", "outputs", type=click.Path(writable=True),
              multiple=True, help="write the briefing here instead of standard output; repeat for "
                                  "several formats at once (each taken from its suffix); with "
                                  "--each-story a folder (DIR/story-1.md ...) or a file name "
                                  "(NAME-1.md ...)")
@click.option("--batch", "batch_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help='many briefings: a JSONL file of {"id": ..., "documents": [text, ...]} lines')
@click.option("--issue", "issues", multiple=True, metavar='"LABEL: KW, KW"',
              help='an issue always to report, with its keywords (the label is one too); '
                   'repeatable, e.g. --issue "Arms control: INF, New START"')
@db_option
@click.option("--story", "story", metavar="NAME|ID", default=None,
              help="with --db: brief this stored story from its stored annotations (INPUTS, if "
                   "given, are ingested into it first; a new name creates the story)")
@click.option("--since", "since", metavar="DATE|last", default=None,
              help="with --db and --story: add what is new since DATE (YYYY-MM-DD or an ISO "
                   "time; sources published then or later) or since the story's last briefing")
@click.option("--each-story", is_flag=True,
              help="one briefing per story found in INPUTS (default: the main story, the "
                   "others named)")
@click.option("--one-story", is_flag=True,
              help="brief everything in INPUTS as one story, without looking for stories")
@type_option
@private_option
@timeout_option
@quiet_option
def brief_command(inputs: tuple[str, ...], words: int, fmt: str | None, outputs: tuple[str, ...],
                  batch_file: str | None, issues: tuple[str, ...], db_url: str | None,
                  story: str | None, since: str | None, each_story: bool, one_story: bool,
                  mode: Mode | None, allow_private: bool, timeout: float, quiet: bool) -> None:
    """The main job: a cited briefing of the story in INPUTS.

    When INPUTS hold several stories, the main (largest) one is briefed and the others are
    named with their documents; --each-story briefs each, --one-story briefs all as one.
    With --db the inputs are also ingested into that database, and the briefing covers them.
    With --db and --story the briefing covers that stored story (nothing is parsed again), and
    --since adds what is new since a date or since the story's last briefing.
    """
    if story is not None and db_url is None:
        raise click.UsageError("--story briefs a stored story: give the database with --db")
    if since is not None and (story is None or db_url is None):
        raise click.UsageError("--since tells what is new in a stored story: give --db and --story")
    if each_story and (one_story or story is not None or batch_file):
        raise click.UsageError("--each-story finds the stories of INPUTS: not with --one-story, "
                               "--story or --batch")
    _check_outputs(outputs)
    if batch_file:
        if inputs or story is not None:
            raise click.UsageError("give either INPUTS (or --story) or --batch, not both")
        if len(outputs) > 1:
            raise click.UsageError("--batch writes one file: give -o once")
        if issues:
            raise click.UsageError("--issue is for one briefing, not --batch")
        _brief_batch(batch_file, words, fmt or "jsonl", outputs[0] if outputs else None, quiet)
        return
    if not inputs and story is None:
        raise click.UsageError("give at least one INPUT (a file, folder, URL, ... or -), "
                               "or --db and --story for a stored story")
    targets: list[tuple[str | None, str]]  # no output path: the briefing goes to stdout
    targets = [(path, _format_from_suffix(path) or fmt or "md") for path in outputs] or [
        (None, fmt or "md")
    ]
    if any(target_fmt == "jsonl" for _, target_fmt in targets):
        raise click.UsageError("--format jsonl is for --batch; use json for one briefing")
    _check_story_targets(targets, each_story)
    failures: list[InputError] = []

    def on_error(error: InputError) -> None:
        failures.append(error)
        _report_failure(error)

    # First, before any thread starts (the status spinner is one) and before spaCy is imported:
    # the embedding model loads in a second process while this one reads and parses.
    with model_in_background():
        from storyline.errors import UsageError as StorylineUsageError
        from storyline.pipeline.stories import (
            brief_inputs,
            brief_inputs_each,
            check_since,
            mark_briefed,
        )
        from storyline.story.agenda import named_issues

        try:
            named_issues(issues)
            if since is not None:
                check_since(since)
        except StorylineUsageError as exc:
            raise click.UsageError(str(exc)) from exc
        fetcher = Fetcher(allow_private=allow_private, timeout=timeout)
        briefed: list[tuple[int, str]] = []
        with _status(quiet, "Reading, annotating and briefing"):
            try:
                if each_story:
                    briefings = brief_inputs_each(inputs, words=words, mode=mode, fetcher=fetcher,
                                                  db_url=db_url, on_error=on_error, issues=issues)
                else:
                    briefings = [brief_inputs(
                        inputs, words=words, mode=mode, fetcher=fetcher, db_url=db_url,
                        story=story, on_error=on_error, issues=issues, since=since,
                        on_note=lambda note: _stderr.print(f"note: {note}", soft_wrap=True),
                        on_briefed=lambda sid, at: briefed.append((sid, at)),
                        stories="one" if one_story else "main")]
            except StorylineError as exc:
                _say_error(str(exc))
                sys.exit(EXIT_SOME_FAILED)
            except DATABASE_ERRORS as exc:  # a damaged --db file, a server gone away
                _say_error(failure_in_use(db_url, exc))
                sys.exit(EXIT_SOME_FAILED)
    if not quiet:
        _say_stories(briefings, each_story)
    if each_story:
        written = _write_each_story(briefings, targets)
    else:
        from storyline.render.report import render

        written = []
        for path, target_fmt in targets:
            _write_text(render(briefings[0], target_fmt), path)
            written += [path] if path else []
    _say_written(written, quiet)
    for story_id, read_at in briefed:  # printed: where the next --since last starts
        mark_briefed(db_url, story_id, read_at)
    sys.exit(EXIT_SOME_FAILED if failures else EXIT_OK)


def _check_story_targets(targets: list[tuple[str | None, str]], each_story: bool) -> None:
    """A folder is an output only for --each-story; several HTML reports need files."""
    if not each_story:
        for path, _ in targets:
            if path and (os.path.isdir(path) or path.endswith(("/", os.sep))):
                raise click.UsageError(f"-o {path} is a folder: give a file, or --each-story "
                                       "for one briefing per story in it")
        return
    if any(path is None and target_fmt == "html" for path, target_fmt in targets):
        raise click.UsageError("--each-story writes HTML reports to files: give -o DIR")


def _say_stories(briefings: list[Briefing], each_story: bool) -> None:
    """One line on stderr when the inputs held several stories; nothing for one."""
    if each_story:
        if len(briefings) > 1:
            _stderr.print(f"{len(briefings)} stories in the input; one briefing each",
                          soft_wrap=True)
        return
    briefing = briefings[0]
    if briefing.other_stories:
        count = len(briefing.sources)
        _stderr.print(f"{1 + len(briefing.other_stories)} stories in the input; briefing the "
                      f"main one ({count} document{'s' if count != 1 else ''}); --each-story "
                      "briefs each", soft_wrap=True)


def story_paths(path: str, fmt: str, count: int) -> list[str]:
    """Where --each-story writes ``count`` briefings given ``-o path``: in a folder (one that
    exists, or a path ending in a slash, made if missing) ``story-1.FMT``, ``story-2.FMT`` ...;
    else beside the file named, ``NAME-1.SUFFIX`` ... (1 is the main, largest story)."""
    if os.path.isdir(path) or path.endswith(("/", os.sep)):
        os.makedirs(path, exist_ok=True)
        return [os.path.join(path, f"story-{n}.{fmt}") for n in range(1, count + 1)]
    stem, suffix = os.path.splitext(path)
    return [f"{stem}-{n}{suffix or '.' + fmt}" for n in range(1, count + 1)]


def _write_each_story(briefings: list[Briefing], targets: list[tuple[str | None, str]]) -> list[str]:
    """Each briefing to its own file, or all to stdout: a JSON list, or Markdown reports one
    after another, divided by a rule. Returns the files written."""
    from storyline.render.report import render

    written: list[str] = []
    for path, target_fmt in targets:
        if path is None:
            if target_fmt == "json":
                _write_text(json.dumps([b.to_dict() for b in briefings], ensure_ascii=False,
                                       indent=2) + "\n", None)
            else:
                _write_text("\n---\n\n".join(render(b, target_fmt) for b in briefings), None)
            continue
        for briefing, story_path in zip(briefings, story_paths(path, target_fmt, len(briefings))):
            _write_text(render(briefing, target_fmt), story_path)
            written.append(story_path)
    return written


def _say_written(paths: Iterable[str], quiet: bool) -> None:
    """One line on stderr per file written, with its full path: where to look, without
    guessing what a relative -o resolved to (stdout may be carrying a briefing)."""
    if quiet:
        return
    for path in paths:
        _stderr.print(f"wrote {os.path.abspath(path)}", soft_wrap=True)


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
    from storyline.pipeline.batch import brief_batch

    with _progress(quiet, "Briefing") as advance, _stop_on_sigterm() as stop:
        lines, failed, stopped = brief_batch(batch_file, words=words, on_done=advance,
                                             on_error=_report_failure, stop=stop.is_set)
    _write_text("".join(line + "\n" for line in lines), output)
    _say_written([output] if output else [], quiet)
    if stopped:
        _stderr.print(f"stopped by SIGTERM: {len(lines)} line{'s' if len(lines) != 1 else ''} "
                      "written, the rest of the batch not briefed", soft_wrap=True)
        sys.exit(EXIT_STOPPED)
    sys.exit(EXIT_SOME_FAILED if failed else EXIT_OK)


def _write_text(text: str, output: str | None) -> None:
    """``text`` to the file ``output`` (or standard output); a failure (a full disk, a folder
    gone meanwhile) is one error line and exit code 1."""
    try:
        if output:
            with open(output, "w", encoding="utf-8") as handle:
                handle.write(text)
        else:
            click.echo(text, nl=False)
    except OSError as exc:
        if not output and not _stdout_writes():
            sys.exit(EXIT_SOME_FAILED)
        _say_error(f"cannot write {output or 'standard output'}: {_os_reason(exc)}")
        sys.exit(EXIT_SOME_FAILED)


def _check_outputs(paths: Iterable[str | None]) -> None:
    """Refuse, before any work, an output file whose folder does not exist (or is a file)."""
    for path in paths:
        if not path or path.endswith(("/", os.sep)):  # stdout, or a folder --each-story makes
            continue
        folder = os.path.dirname(path) or "."
        if not os.path.isdir(folder):
            raise click.UsageError(f"cannot write {path}: no such folder {folder}")


@contextmanager
def _status(quiet: bool, message: str) -> Iterator[None]:
    """A spinner on stderr for one long step (only on a terminal)."""
    if quiet or not _stderr.is_terminal:
        yield
        return
    with _stderr.status(message):
        yield


@main.command("timeline")
@click.argument("inputs", nargs=-1, required=True)
@click.option("--dates", "dates", type=click.IntRange(min=1), default=10, show_default=True,
              help="how many key dates (T)")
@click.option("--sentences", "sentences", type=click.IntRange(min=1), default=2, show_default=True,
              help="cited sentences for each date (K)")
@click.option("--start", metavar="YYYY-MM-DD", default=None,
              help="the first day a key date may be (default: no bound)")
@click.option("--end", metavar="YYYY-MM-DD", default=None,
              help="the last day a key date may be (default: no bound)")
@click.option("--format", "fmt", type=click.Choice(["json", "md"]), default="json",
              show_default=True, help="JSON (the sentences with their citations) or Markdown")
@click.option("-o", "--output", default=None, type=click.Path(writable=True),
              help="write here instead of standard output")
@type_option
@private_option
@timeout_option
@quiet_option
def timeline_command(inputs: tuple[str, ...], dates: int, sentences: int, start: str | None,
                     end: str | None, fmt: str, output: str | None, mode: Mode | None,
                     allow_private: bool, timeout: float, quiet: bool) -> None:
    """The key dates of the story in INPUTS: the T most important days and K cited sentences
    for each.

    A day matters when many documents name it, name it weeks later, or are published on it;
    its sentences are the most central of the events the documents date to it. Documents need
    publication dates (a "published" field in JSONL records) for relative dates to resolve.
    """
    from storyline.errors import UsageError as StorylineUsageError
    from storyline.pipeline.timelines import check_window

    try:
        check_window(dates, sentences, start, end)
    except StorylineUsageError as exc:
        raise click.UsageError(str(exc)) from exc
    _check_outputs([output])
    failures: list[InputError] = []

    def on_error(error: InputError) -> None:
        failures.append(error)
        _report_failure(error)

    with model_in_background():
        from storyline.pipeline.timelines import timeline

        with _status(quiet, "Reading, annotating and choosing dates"):
            try:
                found = timeline(inputs, dates=dates, sentences=sentences, start=start, end=end,
                                 mode=mode, fetcher=Fetcher(allow_private=allow_private,
                                                            timeout=timeout),
                                 on_error=on_error)
            except StorylineError as exc:
                _say_error(str(exc))
                sys.exit(EXIT_SOME_FAILED)
    if not quiet:
        for note in found.notes:
            _stderr.print(f"note: {note}", soft_wrap=True)
    if fmt == "json":
        text = json.dumps(found.to_dict(), ensure_ascii=False, indent=2) + "\n"
    else:
        text = _timeline_markdown(found)
    _write_text(text, output)
    sys.exit(EXIT_SOME_FAILED if failures else EXIT_OK)


def _timeline_markdown(found: Any) -> str:
    """Each key date as a heading, its sentences as a list, citations as [S3]."""
    lines = ["# Key dates", ""]
    for item in found.timeline:
        lines += [f"## {item.date}", ""]
        for sentence in item.sentences:
            sources = ", ".join(dict.fromkeys(c.source for c in sentence.citations))
            lines.append(f"- {sentence.text} [{sources}]")
        lines.append("")
    return "\n".join(lines)


@main.group("feeds")
def feeds_group() -> None:
    """The sources `storyline watch` polls: feeds (RSS, Atom, JSON Feed), news sitemaps and
    sitemap indexes, kept in the database."""


every_option = click.option(
    "--every", "every", metavar="DURATION", default=None,
    help="how often to poll: seconds, minutes or hours (90s, 15m, 1h)")


@feeds_group.command("add")
@click.argument("urls", metavar="URL...", nargs=-1, required=True)
@every_option
@db_option
@private_option
@timeout_option
def feeds_add_command(urls: tuple[str, ...], every: str | None, db_url: str | None,
                      allow_private: bool, timeout: float) -> None:
    """Watch each URL: a feed or a sitemap as it is, a web page through the feeds its
    <link rel="alternate"> announce, an OPML list through the feeds it names."""
    interval = _duration_or_exit(every) if every is not None else None
    with _open_store_or_exit(db_url) as store, _watch_client(timeout) as client:
        outcomes = add_sources(store, urls, client, allow_private=allow_private, interval=interval)
    _say_added(outcomes)


@feeds_group.command("import")
@click.argument("location", metavar="OPML")
@every_option
@db_option
@private_option
@timeout_option
def feeds_import_command(location: str, every: str | None, db_url: str | None,
                         allow_private: bool, timeout: float) -> None:
    """Watch every feed an OPML list names (a file, or an http(s) URL)."""
    interval = _duration_or_exit(every) if every is not None else None
    with _open_store_or_exit(db_url) as store, _watch_client(timeout) as client:
        outcome = import_opml(store, location, client, allow_private=allow_private, interval=interval)
    _say_added([outcome])


def _say_added(outcomes: list[AddOutcome]) -> None:
    for outcome in outcomes:
        if outcome.error is not None:
            _say_error(outcome.line())
        else:
            click.echo(outcome.line())
    sys.exit(EXIT_SOME_FAILED if any(o.error is not None for o in outcomes) else EXIT_OK)


@feeds_group.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="a table, or a JSON array")
def feeds_list_command(db_url: str | None, fmt: str) -> None:
    """The watched sources: last poll, HTTP status, new items, errors and next poll."""
    with _open_store_or_exit(db_url) as store:
        statuses = source_statuses(store)
    if fmt == "json":
        click.echo(json.dumps([status.as_dict() for status in statuses], ensure_ascii=False, indent=2))
        return
    table = Table("id", "source", "last poll", "status", "new", "stored", "error", "next poll")
    now = utc_now()
    for status in statuses:
        source = status.source
        table.add_row(str(source.id), source.url, source.last_poll or "never",
                      "" if source.last_status is None else str(source.last_status),
                      str(source.last_new), str(status.stored), source.last_error or "",
                      due_label(source.next_poll, now))
    _wide_console().print(table)


@feeds_group.command("remove")
@click.argument("keys", metavar="ID|URL...", nargs=-1, required=True)
@db_option
def feeds_remove_command(keys: tuple[str, ...], db_url: str | None) -> None:
    """Stop watching sources (the articles already stored stay)."""
    with _open_store_or_exit(db_url, create=False) as store:
        results = remove_sources(store, keys)
    for key, removed in results:
        if removed:
            click.echo(f"stopped watching {key}")
        else:
            _say_error(f"{key}: no watched source with this id or URL")
    sys.exit(EXIT_OK if all(removed for _, removed in results) else EXIT_SOME_FAILED)


@main.group("alerts")
def alerts_group() -> None:
    """Saved searches: each has an Atom feed of the stories whose sentences match it
    (`/alerts/ID/feed.atom` in the web app)."""


@alerts_group.command("add")
@click.argument("query", metavar="QUERY")
@db_option
def alerts_add_command(query: str, db_url: str | None) -> None:
    """Save QUERY (words, "quoted phrases", as for search)."""
    cleaned = " ".join(query.split())
    if not cleaned:
        raise click.BadParameter("an empty search", param_hint="QUERY")
    with _open_store_or_exit(db_url) as store:
        alert, created = store.add_alert(cleaned)
    said = "saved" if created else "already saved"
    click.echo(f"{said}: alert {alert.id} “{alert.query}”; its feed: /alerts/{alert.id}/feed.atom")


@alerts_group.command("list")
@db_option
def alerts_list_command(db_url: str | None) -> None:
    """The saved searches and their feeds."""
    with _open_store_or_exit(db_url, create=False) as store:
        for alert in store.alerts():
            click.echo(f"{alert.id}\t{alert.query}\t/alerts/{alert.id}/feed.atom")


@alerts_group.command("remove")
@click.argument("alert_id", metavar="ID", type=int)
@db_option
def alerts_remove_command(alert_id: int, db_url: str | None) -> None:
    """Forget a saved search."""
    with _open_store_or_exit(db_url, create=False) as store:
        removed = store.remove_alert(alert_id)
    if not removed:
        _say_error(f"{alert_id}: no saved search with this id")
        sys.exit(EXIT_SOME_FAILED)
    click.echo(f"removed alert {alert_id}")


@main.command("watch")
@every_option
@click.option("--once", is_flag=True, help="one pass over the sources that are due, then exit")
@click.option("--all", "all_sources", is_flag=True, help="poll every source, due or not")
@db_option
@timeout_option
@click.option("--no-annotate", is_flag=True, help="store the articles without annotations")
@click.option("--no-stories", is_flag=True, help="do not file the articles into found stories")
@click.option("--host-delay", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="least time between two requests to one host (default from data/watch.json: "
                   "1 s; a robots.txt Crawl-delay that is longer wins)")
@click.option("--host-concurrency", type=click.IntRange(min=1), default=None, metavar="N",
              help="most requests to one host at once (default 2)")
@quiet_option
def watch_command(every: str | None, once: bool, all_sources: bool, db_url: str | None,
                  timeout: float, no_annotate: bool, no_stories: bool, host_delay: float | None,
                  host_concurrency: int | None, quiet: bool) -> None:
    """Poll the watched sources (`storyline feeds add`), fetch each new article once, and
    extract, annotate, store and file it into its story; the briefings of the stories that
    changed are made afresh. Without --once it runs until SIGTERM or Ctrl+C, which finish the
    article in hand. On a terminal it prints progress; otherwise one JSON line per poll."""
    config = WatchConfig.packaged()
    config = replace(config, host_delay_seconds=config.host_delay_seconds if host_delay is None
                     else host_delay, host_concurrency=host_concurrency or config.host_concurrency)
    interval = _duration_or_exit(every) if every is not None else config.interval_seconds
    options = WatchOptions(every=interval, all_sources=all_sources, find_stories=not no_stories,
                           refresh_briefings=not no_annotate and not no_stories)
    settings = Settings.from_env()
    options.batch_size, options.max_chars = settings.batch_size, settings.max_chars
    with _open_store_or_exit(db_url) as store, _watch_lock_or_exit(store), \
            _watch_client(timeout, config) as client, _stop_on_signals() as stop, \
            _watch_annotator(not no_annotate, settings.workers) as annotator:
        log = _poll_logger(quiet)
        watch = Watch(store, client, annotator=annotator, stop=stop.is_set, on_poll=log.poll,
                      on_item=log.item)
        with log.progress:
            failed = _watch_passes(watch, options, log, once, stop)
    sys.exit(EXIT_SOME_FAILED if failed and once else EXIT_OK)


def _watch_passes(watch: Watch, options: WatchOptions, log: _PollLog, once: bool,
                  stop: threading.Event) -> bool:
    """Run passes until ``once`` is done or ``stop``; whether anything failed."""
    failed = False
    while True:
        report = watch.run_pass(options)
        failed = failed or any(poll.error for poll in report.polls) or bool(report.failed)
        log.done(report)
        if once or stop.is_set():
            return failed
        options.all_sources = False
        watch.wait_until_due(options.every)
        if stop.is_set():
            return failed


@contextmanager
def _watch_lock_or_exit(store: Store) -> Iterator[None]:
    try:
        with only_watch(store):
            yield
    except WatchRunning as exc:  # raised only when taking the lock, before any work
        _say_error(str(exc))
        sys.exit(EXIT_SOME_FAILED)


def _duration_or_exit(text: str) -> int:
    try:
        return parse_every(text)
    except InputProblem as exc:
        raise click.BadParameter(str(exc), param_hint="--every") from exc


@contextmanager
def _watch_client(timeout: float, config: WatchConfig | None = None) -> Iterator[PoliteClient]:
    client = open_client(config or WatchConfig.packaged(), timeout=timeout)
    try:
        yield client
    finally:
        for fetcher in client.fetchers.values():
            fetcher.close()


@contextmanager
def _watch_annotator(enabled: bool, workers: int) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    from storyline.pipeline.annotation import annotator_on
    from storyline.pipeline.executor import local_executor

    with local_executor(workers) as executor:
        yield annotator_on(executor)


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event set by SIGTERM or SIGINT: the watch finishes the article in hand and stops;
    a second signal ends the process at once."""
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()
        signal.signal(signum, signal.SIG_DFL)

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


class _PollLog:
    """The watch's output: on a terminal a line per poll under a live progress line (rich);
    otherwise one JSON line per poll."""

    def __init__(self, quiet: bool, terminal: bool) -> None:
        self.quiet = quiet
        self.terminal = terminal
        self.counts = {"polled": 0, "stored": 0, "failed": 0}
        self.progress = Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                 TimeElapsedColumn(), console=_stderr, transient=True,
                                 disable=quiet or not terminal)
        self._task = self.progress.add_task(self._description())

    def _description(self) -> str:
        return (f"Watching: {self.counts['polled']} polls, {self.counts['stored']} articles "
                f"stored, {self.counts['failed']} failed")

    def _advance(self, what: str) -> None:
        self.counts[what] += 1
        self.progress.update(self._task, description=self._description())

    def poll(self, outcome: PollOutcome) -> None:
        self._advance("polled")
        if self.terminal:
            if outcome.error is not None:
                _say_error(outcome.line())
            elif not self.quiet:
                _stderr.print(outcome.line(), soft_wrap=True)
            return
        if self.quiet and outcome.error is None:
            return
        self._json({"event": "poll", "source": outcome.source.id, "url": outcome.source.url,
                    "status": outcome.status, "listed": outcome.listed, "new": outcome.new,
                    "error": outcome.error, "warning": outcome.warning, "moved_to": outcome.moved_to,
                    "next_poll": outcome.next_poll})

    def item(self, url: str, error: str | None) -> None:
        self._advance("stored" if error is None else "failed")
        if error is None:
            return
        if self.terminal:
            _say_error(f"{url}: {error}")
        else:
            self._json({"event": "article", "url": url, "error": error})

    def done(self, report: PassReport) -> None:
        if self.quiet:
            return
        if self.terminal:
            _stderr.print(report.summary(), soft_wrap=True)
        else:
            self._json({"event": "pass", "polled": len(report.polls), "fetched": report.fetched,
                        "stored": len(report.stored), "failed": len(report.failed),
                        "stories": len(report.stories), "stopped": report.stopped})

    @staticmethod
    def _json(record: dict[str, Any]) -> None:
        sys.stderr.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stderr.flush()


def _poll_logger(quiet: bool) -> _PollLog:
    return _PollLog(quiet, _stderr.is_terminal)


@main.command("timex")
@click.option("--dct", required=True, metavar="YYYY-MM-DD",
              help="document creation time: relative expressions are resolved against it")
@click.argument("source", type=click.File("rb"), default="-")
@max_chars_option
def timex_command(dct: str, source: IO[bytes], max_chars: int | None) -> None:
    """Temporal expressions of a text (FILE or - for standard input), normalised to TimeML values."""
    from storyline.annotate.timex import find_timexes
    from storyline.read.dates import parse_date

    parsed = parse_date(dct)
    if parsed is None or parsed.iso is None or len(parsed.iso) != 10:
        raise click.BadParameter(f"{dct!r} is not a date like 2017-07-10", param_hint="--dct")
    found = find_timexes(_text_or_exit(source, max_chars), parsed.iso)
    click.echo(json.dumps([_timex_dict(t) for t in found], ensure_ascii=False, indent=2))


def _text_or_exit(source: IO[bytes], max_chars: int | None) -> str:
    """The text of FILE or standard input, decoded as any input is (a BOM, UTF-8, UTF-16, a
    legacy encoding) and no longer than the limit (the NLP pass needs gigabytes for a few
    megabytes of text); what cannot be text, or is too long, is one error line and exit code 1."""
    name = str(getattr(source, "name", "-"))
    name = "<stdin>" if name in ("-", "<stdin>") else name
    limit = max_chars if max_chars is not None else _settings_or_exit().max_chars
    try:
        data = source.read(MAX_INPUT_BYTES + 1)
        if len(data) > MAX_INPUT_BYTES:
            raise InputProblem(f"over the {MAX_INPUT_BYTES // 2**20} MB limit")
        text = decode_bytes(data)
        check_length(text, limit, raise_with="--max-chars or $STORYLINE_MAX_CHARS")
        return text
    except StorylineError as exc:
        _say_error(f"{name}: {exc}")
    except OSError as exc:
        _say_error(f"{name}: {_os_reason(exc)}")
    sys.exit(EXIT_SOME_FAILED)


def _timex_dict(timex: Any) -> dict[str, Any]:
    return {"start": timex.start, "end": timex.end, "text": timex.text, "type": timex.type,
            "value": timex.value}


@main.command("quotes")
@click.argument("source", type=click.File("rb"), default="-")
@max_chars_option
def quotes_command(source: IO[bytes], max_chars: int | None) -> None:
    """Who said what in a text (FILE or - for standard input): direct and indirect quotes."""
    from dataclasses import asdict

    from storyline.annotate.quotes import quotes_of_text

    found = quotes_of_text(_text_or_exit(source, max_chars))
    click.echo(json.dumps([asdict(q) for q in found], ensure_ascii=False, indent=2))


def _settings_or_exit() -> Settings:
    try:
        return Settings.from_env()
    except StorylineError as exc:
        raise click.UsageError(str(exc)) from exc


# --- outlets: the outlet registry --------------------------------------------------------------


@main.group("outlets")
def outlets_group() -> None:
    """The outlet registry: each outlet's name, domains, country and ownership.

    The packaged list of common outlets plus your own, kept in the database; yours take
    precedence. Ingest and brief use both.
    """


ownership_option = click.option(
    "--ownership", type=click.Choice(list(ownership_types()), case_sensitive=False),
    default=None, help="what kind of outlet it is (see docs/cli.md)",
)


@outlets_group.command("add")
@click.argument("name")
@click.option("--domain", "domains", multiple=True, metavar="DOMAIN",
              help="a domain the outlet publishes at (repeat for several; subdomains match)")
@click.option("--country", default=None, metavar="COUNTRY",
              help="ISO 3166-1 code such as RU, US, CN (or any country name)")
@ownership_option
@click.option("--alias", "aliases", multiple=True, metavar="NAME",
              help="another name the outlet is cited by (repeat for several)")
@db_option
def outlets_add_command(name: str, domains: tuple[str, ...], country: str | None,
                        ownership: str | None, aliases: tuple[str, ...], db_url: str | None) -> None:
    """Add (or replace) your outlet NAME. Options left out keep what the registry already
    knows about an outlet of that name."""
    with _open_store_or_exit(db_url) as store:
        known = registry_of(store).by_name(name)
        if known is not None:  # what the registry knows fills the options not given
            domains = domains or known.domains
            aliases = aliases or (*known.aliases, known.name)
            country = country or known.country
            ownership = ownership or known.ownership
        try:
            outlet = make_outlet(name, domains=domains, aliases=aliases, country=country,
                                 ownership=ownership)
        except StorylineError as exc:
            raise click.UsageError(str(exc)) from exc
        store.add_outlet(outlet)
    click.echo(f"Saved {outlet.name}: {_outlet_summary(outlet)}.")


def _outlet_summary(outlet: Any) -> str:
    return ", ".join([outlet.country or "no country", outlet.ownership or "no ownership type",
                      ", ".join(outlet.domains) or "no domains"])


@outlets_group.command("list")
@db_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              help="table for people; json (the import format) for scripts")
@click.option("--user-only", is_flag=True, help="only your own outlets, not the packaged ones")
def outlets_list_command(db_url: str | None, fmt: str, user_only: bool) -> None:
    """List the outlets the registry knows: packaged and yours."""
    with _open_store_or_exit(db_url, create=False) as store:
        registry = registry_of(store)
    outlets = [o for o in registry if registry.is_user(o) or not user_only]
    if fmt == "json":
        click.echo(json.dumps([o.to_dict() for o in outlets], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"{len(outlets)} outlet{'s' if len(outlets) != 1 else ''}")
    for column in ("name", "country", "ownership", "domains", "aliases", "from"):
        table.add_column(column, overflow="fold")
    for outlet in outlets:
        table.add_row(outlet.name, outlet.country or "", outlet.ownership or "",
                      ", ".join(outlet.domains), ", ".join(outlet.aliases),
                      "yours" if registry.is_user(outlet) else "packaged")
    _wide_console().print(table)


@outlets_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@db_option
def outlets_import_command(file: str, db_url: str | None) -> None:
    """Add (or replace) the outlets of FILE: a JSON list of {"name", "domains", "country",
    "ownership", "aliases"} objects. A bad entry is reported and skipped."""
    try:
        outlets, problems = read_outlets_file(file)
    except StorylineError as exc:
        _outlet_failure(file, str(exc))
        sys.exit(EXIT_SOME_FAILED)
    for problem in problems:
        _outlet_failure(file, problem)
    with _open_store_or_exit(db_url) as store:
        for outlet in outlets:
            store.add_outlet(outlet)
    click.echo(f"Imported {len(outlets)} outlet{'s' if len(outlets) != 1 else ''}"
               + (f"; {len(problems)} skipped." if problems else "."))
    sys.exit(EXIT_SOME_FAILED if problems else EXIT_OK)


@outlets_group.command("remove")
@click.argument("name")
@db_option
def outlets_remove_command(name: str, db_url: str | None) -> None:
    """Remove your outlet NAME (by name or alias). Packaged outlets stay; add one of the same
    name to override it."""
    with _open_store_or_exit(db_url, create=False) as store:
        registry = registry_of(store)
        found = registry.by_name(name)
        removed = found is not None and registry.is_user(found) and store.remove_outlet(found.name)
    if not removed:
        packaged = " (a packaged outlet: add your own of that name to override it)" if found else ""
        _outlet_failure(name, f"not one of your outlets{packaged}")
        sys.exit(EXIT_SOME_FAILED)
    click.echo(f"Removed {found.name if found else name}.")


def _outlet_failure(origin: str, reason: str) -> None:
    _say_error(f"{origin}: {reason}")


def _say_error(message: str) -> None:
    """One error line on stderr; ``message`` is printed as it is, never read as markup."""
    _stderr.print(Text.assemble(("error:", "bold red"), " ", message), soft_wrap=True)


def _wide_console() -> Console:
    # markup=False: titles, names and outlets in the tables are the inputs' text.
    console = Console(highlight=False, markup=False)
    # Piped or under make: don't squeeze the table into 80 columns.
    return console if console.is_terminal else Console(highlight=False, markup=False, width=150)


def _documents_table(documents: Iterable[Document]) -> Table:
    table = Table()
    columns = ("id", "title", "outlet", "country", "authors", "published", "kind", "words", "dup of")
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in {"id", "published"})
    for doc in documents:  # only the rows are kept, not the documents' texts
        table.add_row(
            doc.id or "", _shorten(doc.title, 48), doc.outlet or "", doc.country or "",
            ", ".join(doc.authors), doc.published or "", doc.kind or "", str(doc.words),
            doc.duplicate_of or "",
        )
    table.title = f"{table.row_count} stored document{'s' if table.row_count != 1 else ''}"
    return table


def _shorten(text: str | None, width: int) -> str:
    if not text:
        return ""
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _report_failure(result: Document | InputError) -> None:
    if isinstance(result, InputError):
        _say_error(f"{result.origin}: {result.reason}")


def _exit_code(results: list[Document | InputError]) -> int:
    return EXIT_SOME_FAILED if any(isinstance(r, InputError) for r in results) else EXIT_OK


@contextmanager
def _open_store_or_exit(db_url: str | None, *, create: bool = True) -> Iterator[Any]:
    """The store, for the command's work; ``create=False`` for commands that only read or
    change what is stored (no database: a usage error, exit code 2, and nothing made). A database that
    turns out damaged while in use is one error line and exit code 1."""
    try:
        store = open_store(db_url, create=create)
    except StorylineError as exc:  # a bad URL, a missing file, a server that refuses: one line
        _say_error(str(exc))
        sys.exit(EXIT_USAGE)
    with store:
        try:
            yield store
        except DATABASE_ERRORS as exc:
            _say_error(failure_in_use(db_url, exc))
            sys.exit(EXIT_SOME_FAILED)


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
