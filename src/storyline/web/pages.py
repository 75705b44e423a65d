"""The HTML pages: stories, adding articles, a story's briefing, sources, entities and search.

Each route gathers what the library gives (store, cached briefing, annotations) and hands it to
a Jinja2 template in ``templates/``; the briefing itself is ``storyline.render.report.render_html``.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from html import escape
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile
from starlette.formparsers import MultiPartException

from storyline.annotate.entities import surface_key
from storyline.briefing import Briefing, EntityItem, StorylinePlace
from storyline.errors import InvalidValue, UsageError
from storyline.model import Document
from storyline.pipeline import curation, following
from storyline.pipeline.catalogue import by_storyline, label, storyline_place
from storyline.pipeline.feeds import due_label, source_statuses
from storyline.pipeline.stories import filed_since
from storyline.render.atom import ATOM_TYPE
from storyline.render.report import Chrome, render_html
from storyline.store import MergedStory, SearchHit, Store, StoryInfo
from storyline.story.brief import DEFAULT_WORDS
from storyline.web.api import MAX_WORDS, MIN_WORDS, SEARCH_LIMIT, briefing_words
from storyline.web.highlight import marked_source
from storyline.web.requests import MAX_ID, Settings, error_response, source_key, story_key, token_problem
from storyline.web import analysis
from storyline.web.service import Article, Memo, QueueFull, news_since_visit

router = APIRouter(include_in_schema=False)
# Pasted text may hold several articles, separated by a line of three or more dashes.
ARTICLE_SEPARATOR = re.compile(r"^\s*-{3,}\s*$", re.MULTILINE)
MAX_MENTIONS = 300  # per entity page; beyond that the page would only get long
# "New since your last visit": the time of the visitor's last look at a story is kept in the
# visitor's browser, one cookie per story, scoped to the story's pages; nothing is kept on the
# server per visitor. Plain, not signed: it only chooses what its owner is shown.
VISIT_COOKIE = "storyline_seen_{story}"
VISIT_COOKIE_DAYS = 400  # the most a browser keeps a cookie (RFC 6265bis)
# The briefing page carries its own policy in a meta tag (a nonce for its script); what only a
# header can say is added here (storyline.web.guard adds the app's policy to the other pages).
BRIEFING_POLICY = "base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
ICON = "/static/favicon.svg"  # what pages link to (tools/favicon.py draws it and the ICO)
ICO_FILE = Path(__file__).resolve().parent / "static" / "favicon.ico"
ICO_TYPE = "image/vnd.microsoft.icon"
ICON_MAX_AGE = 86400  # seconds a browser may keep the icon without asking again


def _bounded() -> Any:
    """An optional id or offset of the query: a number SQLite can hold, else 422 (a fresh
    ``Query`` per parameter: FastAPI does not share one between parameters)."""
    return Query(None, ge=0, le=MAX_ID)


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings  # app.state is untyped; create_app sets it
    return settings


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    templates: Jinja2Templates = request.app.state.templates  # app.state is untyped
    return templates.TemplateResponse(request, template, context, status_code=status)


def source_link(source: str, story: int | None, start: int | None = None, end: int | None = None) -> str:
    """The source viewer's address, at a span when given (``#current`` scrolls to it)."""
    query = [f"story={story}"] if story is not None else []
    if start is not None and end is not None:
        query += [f"start={start}", f"end={end}"]
    return f"/sources/{source}" + ("?" + "&".join(query) if query else "") + (
        "#current" if start is not None else "")


# --------------------------------------------------------------------------- stories


@router.get("/", response_class=HTMLResponse)
def stories_page(request: Request) -> HTMLResponse:
    """The stories (named and found), grouped by storyline, then the stories of none."""
    with settings_of(request).store() as store:
        groups = by_storyline(request.app.state.catalogue.entries(store))
        documents = store.count()
    return page(request, "stories.html", groups=groups, documents=documents,
                storylines=any(group.storyline for group in groups))


@router.get("/stories/{story_id}", response_class=HTMLResponse)
def briefing_page(request: Request, story_id: str,
                  words: int = Query(DEFAULT_WORDS, ge=MIN_WORDS, le=MAX_WORDS)) -> Response:
    """The story's briefing (the report of ``storyline.render.report``) inside the app's
    navigation, opening with what was added since the visitor's last visit, if anything was;
    a merged story's page leads to the story it was merged into."""
    now = datetime.now(timezone.utc)
    words = briefing_words(request, words)
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        if story.merged_into is not None:
            query = f"?{request.url.query}" if request.url.query else ""
            return RedirectResponse(f"/stories/{story.merged_into}{query}", status_code=303)
        visited = last_visit(request, story.id)
        news = visited is not None and filed_since(store, story.id, visited)
        place = storyline_place(store, story.id)
        memo_key = _page_key(request, story.id, words, store.story_documents_key(story.id), place)
        rendered: Memo = request.app.state.rendered  # app.state is untyped; create_app sets it
        memo = rendered.get(memo_key)
        if isinstance(memo, str) and not news:
            return _visited(_briefing_response(memo), story.id, now)
        briefings = request.app.state.briefings
        # What is new since a visit cites the new sources: that page waits for their briefing.
        found = (briefings.get if news else briefings.current_or_previous)(store, story.id, words)
        if found is None:
            return _visited(page(request, "empty_story.html", story=story), story.id, now)
        key, briefing = found
        updating = key != memo_key[2]
        # A page of the previous briefing, while the new one is made, is kept by both keys:
        # readers of a story that writers keep changing must not each render it again.
        stale_key = (*_page_key(request, story.id, words, key, place), memo_key[2])
        stale = rendered.get(stale_key) if updating and not news else None
        if isinstance(stale, str):
            return _visited(_briefing_response(stale), story.id, now)
        briefing = briefing.with_storyline(place)
    settings = settings_of(request)
    section = (news_since_visit(settings.analyst, settings.db_url, story.id, briefing, visited)
               if visited and news else None)
    nav = request.app.state.templates.get_template("story_nav.html").render(
        story=story, briefing=briefing, words=words, updating=updating)
    # A length the visitor chose carries over to the sources and to the storyline's stories.
    length = "" if words == settings_of(request).words else f"words={words}"
    html = render_html(briefing.with_new_since(section) if section else briefing,
                       source_url=lambda source: address(f"/sources/{source}", f"story={story.id}", length),
                       chrome=Chrome(stylesheet="/static/app.css", navigation=nav, icon=ICON),
                       story_url=lambda other: address(f"/stories/{other}", length))
    if section is None:  # a page with the visitor's own section is theirs alone
        rendered.put(stale_key if updating else _page_key(request, story.id, words, key, place), html)
    return _visited(_briefing_response(html), story.id, now)


@router.get("/feeds", response_class=HTMLResponse)
def feeds_page(request: Request, polled: int | None = _bounded()) -> HTMLResponse:
    """The sources ``storyline watch`` polls, as ``storyline feeds list`` shows them, each with a
    button that makes it due now (a running watch polls it within seconds)."""
    with settings_of(request).store() as store:
        statuses = source_statuses(store)
    now = datetime.now(timezone.utc)
    rows = [(status, due_label(status.source.next_poll, now)) for status in statuses]
    notice = f"Source {polled} will be polled on the watch's next look (within seconds)." if polled else None
    return page(request, "feeds.html", rows=rows, notice=notice,
                needs_token=settings_of(request).token is not None)


@router.post("/feeds/{source_id}/poll")
async def poll_now_form(request: Request, source_id: str) -> Response:
    """Make a source due now; back to the Sources page."""
    settings = settings_of(request)
    form = await _written_form(request, settings)
    if isinstance(form, Response):
        return form
    if not source_id.isdigit() or int(source_id) > MAX_ID:
        raise HTTPException(404, f"no watched source {source_id!r}")
    with settings.store() as store:
        if not store.mark_due(int(source_id)):
            raise HTTPException(404, f"no watched source {source_id!r}")
    return RedirectResponse(f"/feeds?polled={int(source_id)}", status_code=303)


@router.get("/stories/{story_id}/feed.atom")
def story_feed_page(request: Request, story_id: str) -> Response:
    """The story as an Atom feed: one entry per update of its briefing (``storyline watch``
    keeps them), with what is new, for the feed reader a visitor already uses."""
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        xml = following.story_atom(store, story, _base(request))
    return Response(xml, media_type=ATOM_TYPE)


@router.get("/storylines/{storyline_id}/feed.atom")
def storyline_feed_page(request: Request, storyline_id: str) -> Response:
    """A storyline as an Atom feed: the updates of all its stories."""
    with settings_of(request).store() as store:
        xml = (following.storyline_atom(store, int(storyline_id), _base(request))
               if storyline_id.isdigit() and int(storyline_id) <= MAX_ID else None)
    if xml is None:
        raise HTTPException(404, f"no storyline {storyline_id!r}")
    return Response(xml, media_type=ATOM_TYPE)


@router.get("/alerts/{alert_id}/feed.atom")
def alert_feed_page(request: Request, alert_id: str) -> Response:
    """A saved search (``storyline alerts add``) as an Atom feed of the stories matching it."""
    with settings_of(request).store() as store:
        alert = next((a for a in store.alerts() if str(a.id) == alert_id), None)
        if alert is None:
            raise HTTPException(404, f"no saved search {alert_id!r}")
        xml = following.alert_atom(store, alert, _base(request))
    return Response(xml, media_type=ATOM_TYPE)


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _briefing_response(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": BRIEFING_POLICY})


def address(path: str, *query: str) -> str:
    """``path`` with the non-empty query parts (``/sources/S3?story=2&words=40``)."""
    parts = [part for part in query if part]
    return path + ("?" + "&".join(parts) if parts else "")


def _page_key(request: Request, story: int, words: int, documents_key: str,
              place: StorylinePlace | None) -> tuple[object, ...]:
    """What a rendered story page depends on: its documents, and its place in its storyline,
    which changes when other stories are linked while its documents stay the same."""
    return (story, words, documents_key,
            place.model_dump_json() if place is not None else None)


def last_visit(request: Request, story: int) -> datetime | None:
    """When the visitor last saw the story (its cookie), or None: first visit, or a cookie that
    is not a time."""
    value = request.cookies.get(VISIT_COOKIE.format(story=story), "")
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, timezone.utc) if math.isfinite(seconds) else None
    except (ValueError, OverflowError, OSError):
        return None


def _visited(response: HTMLResponse, story: int, now: datetime) -> HTMLResponse:
    """The page, remembering this visit in the visitor's cookie; the page depends on that
    cookie, so no shared cache may keep it (``private``) and none may answer another visitor
    with it (``Vary: Cookie``)."""
    response.set_cookie(VISIT_COOKIE.format(story=story), f"{now.timestamp():.6f}",
                        max_age=VISIT_COOKIE_DAYS * 86400, path=f"/stories/{story}",
                        httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Cookie"
    return response


def _story_or_404(store: Store, story_id: str | int) -> StoryInfo:
    story = store.story(story_key(story_id))
    if story is None:
        raise HTTPException(404, f"no story {story_id!r}")
    return story


def _briefing_or_none(request: Request, store: Store, story: StoryInfo,
                      words: int | None = None) -> Briefing | None:
    length = briefing_words(request, words or settings_of(request).words)
    found = request.app.state.briefings.current_or_previous(store, story.id, length)
    return found[1] if found else None


# --------------------------------------------------------------------------- curation

CURATION_STATUS = {KeyError: 404, MergedStory: 409, InvalidValue: 422}


def curation_status(exc: Exception) -> int:
    """The status of a refused curation (400 when nothing more precise applies)."""
    return next((code for kind, code in CURATION_STATUS.items() if isinstance(exc, kind)), 400)


def curation_message(exc: Exception) -> str:
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


@router.get("/stories/{story_id}/manage", response_class=HTMLResponse)
def manage_page(request: Request, story_id: str, moved: int | None = _bounded(),
                to: int | None = _bounded(), removed: int | None = _bounded()) -> Response:
    """Move chosen documents to another story, split them into a new one, remove them, or
    merge the story into another; ``moved``/``to`` and ``removed`` report what was just done."""
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        if story.merged_into is not None:
            return RedirectResponse(f"/stories/{story.merged_into}/manage", status_code=303)
        target = store.story(to) if to is not None else None
        notice = (f"Moved {moved} document{'' if moved == 1 else 's'} to "
                  f"{label(target)}." if moved is not None and target else None)
        if removed is not None:
            notice = (f"Removed {removed} source{'' if removed == 1 else 's'} from this story; "
                      "its briefing is made again without them.")
        return _manage_form(request, store, story, notice=notice)


def _manage_form(request: Request, store: Store, story: StoryInfo, problem: str | None = None,
                 status: int = 200, notice: str | None = None) -> HTMLResponse:
    others = [other for other in store.stories() if other.id != story.id]
    return page(request, "manage.html", status, story=story, documents=store.story_documents(story.id),
                others=others, problem=problem, notice=notice,
                needs_token=settings_of(request).token is not None)


@router.post("/stories/{story_id}/move")
async def move_form(request: Request, story_id: str) -> Response:
    """The chosen documents leave the story for the chosen one; back to this page."""
    return await _curate(request, story_id, _move_chosen)


@router.post("/stories/{story_id}/split")
async def split_form(request: Request, story_id: str) -> Response:
    """The chosen documents form a new story; on to its page."""
    return await _curate(request, story_id, _split_chosen)


@router.post("/stories/{story_id}/remove")
async def remove_form(request: Request, story_id: str) -> Response:
    """The chosen documents leave the story (they stay stored); back to this page."""
    return await _curate(request, story_id, _remove_chosen)


@router.post("/stories/{story_id}/merge")
async def merge_form(request: Request, story_id: str) -> Response:
    """The story joins the chosen one; on to that story's page."""
    return await _curate(request, story_id, _merge_chosen)


Curation = Callable[[Store, StoryInfo, FormData], str]  # the page to go to next


def _move_chosen(store: Store, story: StoryInfo, form: FormData) -> str:
    target = _chosen(store, form, "to", "choose the story the documents go to")
    curation.move(store, _documents(form), story.id, target.id)
    return f"/stories/{story.id}/manage?moved={len(set(_documents(form)))}&to={target.id}"


def _split_chosen(store: Store, story: StoryInfo, form: FormData) -> str:
    return f"/stories/{curation.split(store, story.id, _documents(form), _field(form, 'name')).id}"


def _remove_chosen(store: Store, story: StoryInfo, form: FormData) -> str:
    return f"/stories/{story.id}/manage?removed={curation.remove(store, story.id, _documents(form))}"


def _merge_chosen(store: Store, story: StoryInfo, form: FormData) -> str:
    target = _chosen(store, form, "into", "choose the story to merge this one into")
    return f"/stories/{curation.merge(store, target.id, story.id).id}"


def _documents(form: FormData) -> list[str]:
    return [value.strip() for value in form.getlist("documents") if isinstance(value, str)]


def _chosen(store: Store, form: FormData, field: str, missing: str) -> StoryInfo:
    key = _field(form, field)
    if not key:
        raise UsageError(missing)
    found = store.story(story_key(key))
    if found is None:
        raise KeyError(f"no story {key!r}")
    return found


async def _curate(request: Request, story_id: str, operation: Curation) -> Response:
    """The write rules of every form (same origin, the token), then ``operation`` on the
    story; a refusal shows the page again with the reason (or an error page when the story
    itself is gone or merged)."""
    settings = settings_of(request)  # where it came from: checked by storyline.web.guard
    form = await _written_form(request, settings)
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_curate_in_thread, request, story_id, operation, form)


def _curate_in_thread(request: Request, story_id: str, operation: Curation, form: FormData) -> Response:
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        if story.merged_into is not None:
            return error_response(request, 409, str(MergedStory(story.id, story.merged_into)))
        try:
            return RedirectResponse(operation(store, story, form), status_code=303)
        except (KeyError, UsageError) as exc:
            return _manage_form(request, store, story, problem=curation_message(exc),
                                status=curation_status(exc))


# --------------------------------------------------------------------------- correcting a source

# The form's fields, by the document's field each corrects.
CORRECTED_FIELDS = {"title": "title", "outlet": "outlet", "published": "date"}


@router.get("/sources/{source_id}/correct", response_class=HTMLResponse)
def correct_page(request: Request, source_id: str, story: int | None = _bounded()) -> HTMLResponse:
    """A form to correct the source's outlet, date or title, filled with what is stored."""
    with settings_of(request).store() as store:
        document = _source_or_404(store, source_id)
        story_info = store.story(story) if story is not None else None
    return _correct_form(request, document, story_info)


def _correct_form(request: Request, document: Document, story: StoryInfo | None,
                  problem: str | None = None, status: int = 200) -> HTMLResponse:
    return page(request, "correct.html", status, document=document, story=story, problem=problem,
                needs_token=settings_of(request).token is not None)


@router.post("/sources/{source_id}/correct")
async def correct_form(request: Request, source_id: str) -> Response:
    """The fields the form changed are corrected (same origin and token rules as every write);
    on to the source's page, or the form again with the reason."""
    form = await _written_form(request, settings_of(request))
    if isinstance(form, Response):
        return form
    return await run_in_threadpool(_correct_in_thread, request, source_id, form)


def _correct_in_thread(request: Request, source_id: str, form: FormData) -> Response:
    with settings_of(request).store() as store:
        document = _source_or_404(store, source_id)
        key = _field(form, "story")
        story = store.story(story_key(key)) if key else None
        changes = _changed(document, form)
        try:
            settings = settings_of(request)
            settings.analyst.run(analysis.correct_source, settings.db_url, document.id or source_id,
                                 changes.get("title"), changes.get("outlet"), changes.get("published"))
        except (KeyError, UsageError) as exc:
            return _correct_form(request, document, story, problem=curation_message(exc),
                                 status=curation_status(exc))
    onward = address(f"/sources/{document.id}", f"story={story.id}" if story else "", "corrected=1")
    return RedirectResponse(onward, status_code=303)


def _changed(document: Document, form: FormData) -> dict[str, str]:
    """The fields the form changes: sent, and not what is stored. An empty date is none: a
    date input cannot show a stored month ("2026-03") and sends it back empty."""
    changes = {}
    for name, field in CORRECTED_FIELDS.items():
        value = _raw_field(form, field)
        if value is None or (name == "published" and not value.strip()):
            continue
        if value.strip() != (getattr(document, name) or ""):
            changes[name] = value
    return changes


def _raw_field(form: FormData, name: str) -> str | None:
    """A text field as sent (None: not sent), so that an emptied field is told from a missing one."""
    value = form.get(name)
    return value if isinstance(value, str) else None


def _source_or_404(store: Store, source_id: str) -> Document:
    document = store.get(source_key(source_id))
    if document is None:
        raise HTTPException(404, f"no source {source_id!r}")
    return document


# --------------------------------------------------------------------------- adding articles


@router.get("/add", response_class=HTMLResponse)
def add_page(request: Request, story: int | None = _bounded()) -> HTMLResponse:
    with settings_of(request).store() as store:
        stories = store.stories()
    return _add_form(request, stories, story)


def _add_form(request: Request, stories: list[StoryInfo], chosen: int | None,
              problem: str | None = None, status: int = 200) -> HTMLResponse:
    settings = settings_of(request)
    return page(request, "add.html", status, stories=stories, chosen=chosen, problem=problem,
                needs_token=settings.token is not None, limits=settings.limits)


@router.post("/add")
async def add_articles(request: Request) -> Response:
    """Start an ingest of the form's texts, files and URLs into a story; show its progress."""
    settings = settings_of(request)  # where it came from: checked by storyline.web.guard
    form = await _written_form(request, settings)
    if isinstance(form, Response):
        return form
    articles, problem = await _articles(form, settings)
    if isinstance(problem, TooLarge):
        return error_response(request, 413, str(problem))
    story, story_problem = await run_in_threadpool(_chosen_story, settings, form)
    problem = story_problem or problem
    if problem or story is None:
        stories = await run_in_threadpool(_all_stories, settings)
        chosen = story.id if story else None
        return _add_form(request, stories, chosen, problem or "choose a story", status=400)
    try:
        job = request.app.state.jobs.submit(story.id, articles)
    except QueueFull as full:
        busy = error_response(request, 503, str(full))
        busy.headers["Retry-After"] = str(full.retry_after)
        return busy
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def _written_form(request: Request, settings: Settings) -> FormData | Response:
    """The form of a write, once its token is right; else the answer to give (401, 413, 400).
    Where it came from is checked by ``storyline.web.guard`` before."""
    form = await _read_form(request, settings)
    if isinstance(form, Response):
        return form
    problem = token_problem(request, _field(form, "token"))
    return error_response(request, 401, problem) if problem else form


async def _read_form(request: Request, settings: Settings) -> FormData | Response:
    try:
        return await request.form(max_files=settings.limits.documents,
                                   max_part_size=settings.limits.file)
    except MultiPartException as exc:
        status = 413 if "maximum" in str(exc).lower() or "too many" in str(exc).lower() else 400
        return error_response(request, status, f"the form could not be read: {exc}")


def _field(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


class TooLarge(str):
    """A problem that is a size limit (answered 413, not 400)."""


async def _articles(form: FormData, settings: Settings) -> tuple[list[Article], str | None]:
    articles = [
        Article(f"pasted text {number}", text)
        for number, text in enumerate((t for t in ARTICLE_SEPARATOR.split(_field(form, "text"))
                                       if t.strip()), start=1)
    ]
    for upload in form.getlist("files"):
        if not isinstance(upload, UploadFile) or not upload.filename:
            continue
        data = await upload.read(settings.limits.file + 1)
        if len(data) > settings.limits.file:
            return [], TooLarge(f"{upload.filename} is larger than the limit of "
                                f"{settings.limits.file / (1024 * 1024):g} MB per file")
        articles.append(Article(upload.filename, data, upload=True))
    urls = [line.strip() for line in _field(form, "urls").splitlines() if line.strip()]
    if len(urls) > settings.limits.urls:
        return [], TooLarge(f"too many URLs: at most {settings.limits.urls} at a time")
    articles += [Article.from_url(url) for url in urls]
    if not articles:
        return [], "nothing to add: paste a text, choose files or give URLs"
    return articles, None


def _chosen_story(settings: Settings, form: FormData) -> tuple[StoryInfo | None, str | None]:
    name, chosen = _field(form, "new_story"), _field(form, "story")
    with settings.store() as store:
        if name:
            return store.create_story(name), None
        if chosen:
            story = store.story(story_key(chosen))
            return story, None if story else f"no story {chosen!r}"
    return None, "choose a story or name a new one"


def _all_stories(settings: Settings) -> list[StoryInfo]:
    with settings.store() as store:
        return store.stories()


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    job = request.app.state.jobs.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs are forgotten when the server restarts)")
    return page(request, "job.html", job=job)


# --------------------------------------------------------------------------- sources


@router.get("/sources/{source_id}", response_class=HTMLResponse)
def source_page(request: Request, source_id: str, story: int | None = _bounded(),
                start: int | None = _bounded(), end: int | None = _bounded(),
                words: int | None = Query(None, ge=MIN_WORDS, le=MAX_WORDS),
                corrected: int | None = _bounded()) -> HTMLResponse:
    """A source's text with every span the story's briefing cites marked; ``start``/``end`` (or
    a ``#START-END`` fragment, handled in the browser) choose the one to show; ``corrected``
    says that its metadata was just corrected."""
    with settings_of(request).store() as store:
        document = _source_or_404(store, source_id)
        story_info = store.story(story) if story is not None else None
        briefing = _briefing_or_none(request, store, story_info, words) if story_info else None
    notes = _citing_statements(briefing, source_id) if briefing else {}
    current = (start, end) if start is not None and end is not None else None
    text = marked_source(document.text, notes.keys(), current, notes)
    return page(request, "source.html", document=document, story=story_info, text=text,
                cited=len(notes), current=current, corrected=bool(corrected))


def _citing_statements(briefing: Briefing, source_id: str) -> dict[tuple[int, int], list[str]]:
    """Every span of ``source_id`` the briefing cites -> the statements citing it."""
    notes: dict[tuple[int, int], list[str]] = {}
    groups: list[tuple[str, Any]] = [("Summary", s) for s in briefing.summary]
    groups += [("Timeline", t) for t in briefing.timeline]
    groups += [("Quote", q) for q in briefing.quotes] + [("Forecast", f) for f in briefing.forecasts]
    for part, item in groups:
        for citation in item.citations:
            if citation.source == source_id:
                notes.setdefault((citation.start, citation.end), []).append(f"{part}: {item.text}")
    for citation in briefing._all_citations():  # issues and conflicts too
        if citation.source == source_id:
            notes.setdefault((citation.start, citation.end), [])
    return notes


# --------------------------------------------------------------------------- entities


@router.get("/stories/{story_id}/entities", response_class=HTMLResponse)
def entities_page(request: Request, story_id: str) -> HTMLResponse:
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        briefing = _briefing_or_none(request, store, story)
    if briefing is None:
        return page(request, "empty_story.html", story=story)
    return page(request, "entities.html", story=story, briefing=briefing)


@dataclass(frozen=True)
class MentionView:
    source: str
    outlet: str | None
    sentence: Markup
    role: str | None
    link: str


@router.get("/stories/{story_id}/entities/{name:path}", response_class=HTMLResponse)
def entity_page(request: Request, story_id: str, name: str) -> HTMLResponse:
    """One entity across the story: its roles, every mention in context, its quotes and forecasts."""
    with settings_of(request).store() as store:
        story = _story_or_404(store, story_id)
        briefing = _briefing_or_none(request, store, story)
        entity = next((e for e in briefing.entities if e.name == name), None) if briefing else None
        if briefing is None or entity is None:
            raise HTTPException(404, f"no entity {name!r} in story {story.name!r}")
        documents = store.story_documents(story.id, with_annotations=True)
    mentions = _mentions(entity, documents, story.id)
    quotes = [q for q in briefing.quotes if q.speaker == entity.name]
    forecasts = [f for f in briefing.forecasts if f.holder == entity.name]
    return page(request, "entity.html", story=story, entity=entity, mentions=mentions,
                shown=mentions[:MAX_MENTIONS], quotes=quotes, forecasts=forecasts,
                cite=lambda c: source_link(c.source, story.id, c.start, c.end))


def _mentions(entity: EntityItem, documents: list[Document], story: int) -> list[MentionView]:
    keys = {surface_key(form) for form in [entity.name, *entity.aliases]}
    found = []
    for document in documents:
        notes = document.annotations
        if notes is None or document.duplicate_of:
            continue
        starts = [s.start for s in notes.sentences]
        for mention in notes.mentions:
            if surface_key(mention.name) not in keys and surface_key(mention.text) not in keys:
                continue
            index = bisect_right(starts, mention.start) - 1
            sentence = notes.sentences[index] if index >= 0 else None
            found.append(MentionView(
                document.id or "", document.outlet,
                _in_context(document.text, sentence, mention.start, mention.end), mention.role,
                source_link(document.id or "", story, mention.start, mention.end),
            ))
    return found


def _in_context(text: str, sentence: Any, start: int, end: int) -> Markup:
    left, right = (sentence.start, sentence.end) if sentence and sentence.end >= end else (start, end)
    return Markup(f"{escape(text[left:start])}<mark>{escape(text[start:end])}</mark>"
                  f"{escape(text[end:right])}")


# --------------------------------------------------------------------------- search


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, q: str = "", story: int | None = _bounded()) -> HTMLResponse:
    hits: list[Any] = []
    with settings_of(request).store() as store:
        story_info = store.story(story) if story is not None else None
        if q.strip():
            hits = store.search(q, limit=SEARCH_LIMIT, story=story)
        titles = {s.id: label(s) for s in store.stories()} if hits else {}
    results = [
        {"hit": hit, "marked": _marked(hit), "story_title": titles.get(hit.story or -1),
         "link": source_link(hit.source, hit.story, hit.start, hit.end)}
        for hit in hits
    ]
    return page(request, "search.html", q=q, story=story_info, results=results)


def _marked(hit: SearchHit) -> Markup:
    """The hit's sentence, escaped, with each matched term in ``<mark>``."""
    parts, at = [], 0
    for start, end in hit.matches:
        parts.append(f"{escape(hit.text[at:start])}<mark>{escape(hit.text[start:end])}</mark>")
        at = end
    return Markup("".join(parts) + escape(hit.text[at:]))


# --------------------------------------------------------------------------- the icon


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """The icon browsers ask for by themselves (pages link to the SVG drawing of it)."""
    return FileResponse(ICO_FILE, media_type=ICO_TYPE,
                        headers={"Cache-Control": f"public, max-age={ICON_MAX_AGE}"})


# --------------------------------------------------------------------------- API documentation


@router.get("/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """The OpenAPI description as a page that needs nothing from the network."""
    spec = request.app.openapi()
    operations = [
        {"method": method.upper(), "path": path, **operation}
        for path, methods in spec.get("paths", {}).items() for method, operation in methods.items()
    ]
    return page(request, "docs.html", spec=spec, operations=operations,
                schemas=spec.get("components", {}).get("schemas", {}))
