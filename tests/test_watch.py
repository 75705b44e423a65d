"""``storyline watch`` against real HTTP servers on 127.0.0.1 whose feeds change between polls
(``feed_server.py``): conditional GETs, servers that ignore them, broken and oversized feeds,
slow and hanging servers, redirects, robots.txt, duplicates across feeds, a feed that moves;
politeness measured by the servers; and a watch killed with SIGKILL again and again."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest

from feed_server import FeedSite, article_html, atom, feed_sites, json_feed, rss, sitemap, sitemap_index
from storyline.pipeline.politeness import WatchConfig
from storyline.pipeline.watch import (
    PassReport,
    Watch,
    WatchOptions,
    WatchRunning,
    only_watch,
    open_client,
)
from storyline.store import Store, open_store

REPO = Path(__file__).resolve().parents[1]
FAST = replace(WatchConfig.packaged(), host_delay_seconds=0.0, retries=1, backoff_seconds=0.05,
               breaker_failures=50, workers=8)
RSS, ATOM, JSON, XML = ("application/rss+xml", "application/atom+xml", "application/feed+json",
                        "application/xml")


@contextmanager
def watching(path: Path | str, config: WatchConfig = FAST, timeout: float = 2.0) -> Iterator[tuple[Store, Watch]]:
    client = open_client(config, timeout=timeout)
    with open_store(str(path)) as store:
        yield store, Watch(store, client, annotator=None, config=config)
    for fetcher in client.fetchers.values():
        fetcher.close()


def one_pass(watch: Watch, **options: object) -> PassReport:
    return watch.run_pass(WatchOptions(every=900, all_sources=True, find_stories=False,
                                       refresh_briefings=False, **options))  # type: ignore[arg-type]


def add(store: Store, *urls: str, kind: str = "feed") -> None:
    for url in urls:
        store.add_watch_source(url, kind=kind, allow_private=True)


def stored_origins(store: Store) -> list[str]:
    return sorted(document.origin for document in store.iter_documents())


def test_feeds_of_every_kind_fetch_each_article_once_then_only_what_is_new(db_url: str) -> None:
    with feed_sites(3) as (a, b, c), watching(db_url) as (store, watch):
        pages = [a.put(f"/news/{i}", article_html(i)) for i in range(4)]
        extra = b.put("/b/1", article_html(11))
        a.put("/rss.xml", rss(pages[:3]), RSS)
        # The same articles dressed differently in the other feeds: fetched once all the same.
        b.put("/atom.xml", atom([pages[0] + "?utm_source=atom#top", extra]), ATOM)
        c.put("/feed.json", json_feed([pages[1] + "?fbclid=abc", pages[3]]), JSON)
        c.put("/news-1.xml", sitemap([pages[2]]), XML)
        c.put("/index.xml", sitemap_index([c.url("/news-1.xml")]), XML)
        add(store, a.url("/rss.xml"), b.url("/atom.xml"), c.url("/feed.json"))
        add(store, c.url("/index.xml"), kind="sitemap")

        first = one_pass(watch)
        assert [poll.error for poll in first.polls] == [None] * 4
        assert first.fetched == 5 and len(first.stored) == 5
        assert stored_origins(store) == sorted([*pages, extra])
        assert [a.hits(f"/news/{i}") for i in range(4)] == [1, 1, 1, 1]

        newer = a.put("/news/9", article_html(9))
        a.put("/rss.xml", rss([newer, *pages[:3]]), RSS)  # the feed changes between polls
        second = one_pass(watch)
        by_url = {poll.source.url: poll for poll in second.polls}
        assert by_url[b.url("/atom.xml")].status == 304 and by_url[c.url("/feed.json")].status == 304
        assert by_url[a.url("/rss.xml")].new == 1 and second.fetched == 1
        assert a.hits("/news/9") == 1 and [a.hits(f"/news/{i}") for i in range(4)] == [1, 1, 1, 1]
        assert any(etag for path, _, etag in a.requests if path == "/rss.xml")  # conditional GET sent


def test_a_server_ignoring_conditional_headers_is_caught_by_the_content_hash(db_url: str) -> None:
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        site.ignore_conditional = True
        page = site.put("/p/1", article_html(1))
        site.put("/rss.xml", rss([page]), RSS)
        add(store, site.url("/rss.xml"))
        assert one_pass(watch).fetched == 1
        again = one_pass(watch)
        assert again.polls[0].status == 200 and again.polls[0].listed == 0 and again.fetched == 0
        assert site.hits("/rss.xml") == 2 and site.hits("/p/1") == 1


def test_each_failing_source_gives_one_line_and_the_others_go_on(db_url: str) -> None:
    with feed_sites(2) as (good, bad), watching(db_url, timeout=1.0) as (store, watch):
        page = good.put("/p/1", article_html(1))
        good.put("/rss.xml", rss([page]), RSS)
        bad.put("/broken.xml", b"<rss><channel><item><link>http://x", RSS)
        bad.put("/half.xml", rss([page, bad.url("/p/lost")])[:-70], RSS)  # cut in its last item
        bad.put("/huge.xml", rss([page]).encode() + b"<!--" + b"x" * (20 * 1024 * 1024) + b"-->", RSS)
        bad.put("/hangs.xml", rss([page]), RSS)
        bad.hang.add("/hangs.xml")
        bad.put("/slow.xml", rss([bad.put("/p/slow", article_html(5))]), RSS)
        bad.slow["/slow.xml"] = 0.5  # slow, but within the deadline
        add(store, good.url("/rss.xml"), bad.url("/broken.xml"), bad.url("/half.xml"), bad.url("/huge.xml"),
            bad.url("/hangs.xml"), bad.url("/missing.xml"), bad.url("/slow.xml"))
        started = time.monotonic()
        report = one_pass(watch)
        assert time.monotonic() - started < 15
        errors = {poll.source.url.rsplit("/", 1)[1]: poll.error for poll in report.polls}
        assert errors["rss.xml"] is None and errors["slow.xml"] is None and errors["half.xml"] is None
        half = next(poll for poll in report.polls if poll.source.url.endswith("/half.xml"))
        assert half.listed >= 1 and "not well-formed" in (half.warning or "") and "warning" in half.line()
        assert "not a readable feed" in (errors["broken.xml"] or "")
        assert "limit" in (errors["huge.xml"] or "")
        assert "timed out" in (errors["hangs.xml"] or "")
        assert "HTTP 404" in (errors["missing.xml"] or "")
        assert all("\n" not in poll.line() for poll in report.polls)
        assert sorted(stored_origins(store)) == sorted([page, bad.url("/p/slow")])
        failing = [s for s in store.watch_sources() if s.last_error]
        assert len(failing) == 4 and all(s.failures == 1 for s in failing)
        # A failing source is polled again later than a healthy one (its interval doubled).
        healthy = next(s for s in store.watch_sources() if s.url.endswith("/rss.xml"))
        assert all(s.next_poll is not None and healthy.next_poll is not None
                   and s.next_poll > healthy.next_poll for s in failing)


def test_robots_txt_is_obeyed_for_feeds_and_pages(db_url: str) -> None:
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        allowed = site.put("/news/1", article_html(1))
        private = site.put("/private/2", article_html(2))
        site.put("/rss.xml", rss([allowed, private]), RSS)
        site.put("/hidden.xml", rss([allowed]), RSS)
        site.put("/robots.txt", "User-agent: *\nDisallow: /private/\n\nUser-agent: Storyline\n"
                                "Disallow: /private/\nDisallow: /hidden.xml\n", "text/plain")
        add(store, site.url("/rss.xml"), site.url("/hidden.xml"))
        report = one_pass(watch)
        errors = {poll.source.url: poll.error for poll in report.polls}
        assert "disallowed by" in (errors[site.url("/hidden.xml")] or "")
        assert site.hits("/private/2") == 0 and site.hits("/hidden.xml") == 0
        assert stored_origins(store) == [allowed]
        assert report.failed == [(private, f"disallowed by {site.url('/robots.txt')}")]
        one_pass(watch)
        assert store.pending_items() == []  # a disallowed article is not tried again


def test_redirects_and_a_feed_that_moves(db_url: str) -> None:
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        final = site.put("/articles/final", article_html(3))
        site.redirect("/short/3", final, status=302)
        site.put("/new-home.xml", rss([site.url("/short/3")]), RSS)
        site.redirect("/old.xml", site.url("/new-home.xml"), status=301)
        add(store, site.url("/old.xml"))
        report = one_pass(watch)
        assert report.polls[0].moved_to == site.url("/new-home.xml")
        (source,) = store.watch_sources()
        assert source.url == site.url("/new-home.xml")  # polled at its new address from now on
        (document,) = store.iter_documents()
        assert document.origin == site.url("/short/3") and document.url == final
        one_pass(watch)
        assert site.hits("/old.xml") == 1 and site.hits("/new-home.xml") == 2


def test_politeness_is_measured_by_the_server(db_url: str) -> None:
    polite = replace(FAST, host_delay_seconds=0.15, host_concurrency=2, workers=8)
    with feed_sites(2) as sites, watching(db_url, config=polite) as (store, watch):
        for site in sites:
            site.hold = 0.3  # each response takes a while, so requests would pile up
            pages = [site.put(f"/p/{i}", article_html(i + 20 * site.port % 7)) for i in range(8)]
            site.put("/rss.xml", rss(pages), RSS)
            add(store, site.url("/rss.xml"))
        report = one_pass(watch)
        assert report.fetched == 16
        for site in sites:
            assert site.most_active <= 2
            starts = site.starts()
            gaps = [later - earlier for earlier, later in zip(starts, starts[1:])]
            # The client spaces the starts exactly; the server sees them through a loaded
            # machine's scheduling, a few hundredths of a second either way.
            assert min(gaps) >= 0.15 - 0.05, gaps
            assert sum(gaps) / len(gaps) >= 0.15 - 0.005, gaps
        # Both hosts were worked at once: the pass took about one host's time, not two.
        assert max(sites[0].starts()) > min(sites[1].starts())


def test_five_thousand_items_in_one_feed(db_url: str) -> None:
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        site.put("/big.xml", rss([site.url(f"/p/{i}") for i in range(5000)]), RSS)
        add(store, site.url("/big.xml"))
        (poll,) = watch.poll_sources(store.watch_sources(), 900)
        assert poll.new == 5000
        assert len(store.pending_items()) == 5000


WATCH_TIMEOUT = 60


def run_watch(db: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.Popen(
        [sys.executable, "-m", "storyline", "watch", "--db", str(db), "--no-annotate", "--no-stories",
         "--host-delay", "0", "--every", "1s", "--timeout", "2", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_sigkill_at_random_moments_loses_nothing_and_fetches_nothing_twice(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    chance = random.Random(15)
    with feed_sites(3) as sites:
        for site in sites:
            site.hold = 0.02
            site.put("/rss.xml", rss([]), RSS)
        with open_store(str(db)) as store:
            add(store, *(site.url("/rss.xml") for site in sites))
        published: list[str] = []
        kills = 6
        killed_at: list[float] = []
        for round_number in range(kills):
            for index, site in enumerate(sites):  # the feeds grow between kills
                number = 100 * round_number + 10 * index
                fresh = [site.put(f"/p/{number + k}", article_html(number + k)) for k in range(4)]
                published.extend(fresh)
                site.put("/rss.xml", rss([u for u in published if u.startswith(site.url(""))]), RSS)
            process = run_watch(db)
            time.sleep(chance.uniform(1.2, 3.5))
            process.send_signal(signal.SIGKILL)
            killed_at.append(time.monotonic())
            process.wait(timeout=10)
            with sqlite3.connect(db) as conn:  # consistent after every kill
                assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        finished = run_watch(db, "--once", "--all")
        _, err = finished.communicate(timeout=WATCH_TIMEOUT)
        assert finished.returncode == 0, err

    with open_store(str(db)) as store:
        origins = stored_origins(store)
        assert origins == sorted(published)  # nothing lost, nothing stored twice
        assert store.pending_items() == []
    for site in sites:
        for path in {p for p, _, _ in site.requests if p.startswith("/p/")}:
            # A page is downloaded again only when a kill cut its download short (before it was
            # kept): never twice by one run, so a kill lies between any two of its downloads.
            # (Under load, two kills in a row can each cut the same download.)
            starts = sorted(start for p, start, _ in site.requests if p == path)
            for first, again in zip(starts, starts[1:]):
                assert any(first < kill < again for kill in killed_at), (path, len(starts))
    refetched = sum(site.hits(p) - 1 for site in sites
                    for p in {p for p, _, _ in site.requests if p.startswith("/p/")})
    assert refetched <= kills * FAST.workers


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_stop_signal_finishes_the_items_in_hand_and_exits_cleanly(tmp_path: Path, stop_signal: int) -> None:
    db = tmp_path / "term.db"
    with feed_sites(1) as (site,):
        site.hold = 0.2
        pages = [site.put(f"/p/{i}", article_html(i)) for i in range(30)]
        site.put("/rss.xml", rss(pages), RSS)
        with open_store(str(db)) as store:
            add(store, site.url("/rss.xml"))
        process = run_watch(db)
        deadline = time.monotonic() + 30
        while site.hits("/p/0") + site.hits("/p/1") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(stop_signal)
        _, err = process.communicate(timeout=WATCH_TIMEOUT)
        assert process.returncode == 0, err
        assert '"stopped": true' in err
    with open_store(str(db)) as store:
        fetched_pages = {p for p, _, _ in site.requests if p.startswith("/p/")}
        states = {item.state for item in store.pending_items()}
        # Every page downloaded before the stop was stored; the rest wait for the next run.
        assert len(list(store.iter_documents())) == len(fetched_pages) < 30
        assert states <= {"new"}


def test_watch_once_polls_only_the_sources_that_are_due(db_url: str) -> None:
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        site.put("/rss.xml", rss([site.url("/p/1")]), RSS)
        site.put("/p/1", article_html(1))
        add(store, site.url("/rss.xml"))
        options = WatchOptions(every=900, find_stories=False, refresh_briefings=False)
        assert len(watch.run_pass(options).polls) == 1
        assert watch.run_pass(options).polls == []  # not due for 15 minutes
        assert len(watch.run_pass(replace(options, all_sources=True)).polls) == 1
        assert 890 < watch.seconds_to_next_poll(900) <= 900


# --- end to end: two passes, with annotation, story detection and briefings -----------------

FERRY_LATER = [
    ("First Kessel ferry sails from Harwick pier",
     "The first ferry of the new Kessel line left the Harwick pier on Saturday morning with ninety "
     "passengers on board, months after the harbour council approved the ferry line. Mayor Ilse "
     "Brandvik rode the first crossing to Kessel island and said the ferry would sail every forty "
     "minutes all summer. Kessel islanders cheered the ferry as it reached the island."),
    ("Kessel ferry line carries a thousand passengers in its first week",
     "The Kessel ferry line from the Harwick pier carried more than a thousand passengers in its "
     "first week, the harbour council said on Friday. Mayor Ilse Brandvik said the ferry fares "
     "would stay as they are until the winter timetable. Shop owners on Kessel island said the "
     "ferry had already brought visitors back."),
]


def page_of(title: str, text: str) -> str:
    return (f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article><h1>{title}"
            f"</h1><p>{text}</p></article></body></html>")


def test_two_passes_make_stories_then_tell_what_is_new_in_the_briefing_and_its_feed(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from pile_texts import FERRY, VOLCANO
    from storyline.pipeline.annotation import annotator_on
    from storyline.pipeline.executor import InProcess
    from storyline.web import create_app

    db = tmp_path / "e2e.db"
    with feed_sites(1) as (site,):
        first = [site.put(f"/ferry/{i}", page_of(*item)) for i, item in enumerate(FERRY)]
        first += [site.put(f"/volcano/{i}", page_of(*item)) for i, item in enumerate(VOLCANO)]
        site.put("/rss.xml", rss(first), RSS)
        client = open_client(FAST, timeout=5.0)
        options = WatchOptions(every=900, all_sources=True)
        with open_store(str(db)) as store:
            add(store, site.url("/rss.xml"))
            watch = Watch(store, client, annotator=annotator_on(InProcess()), config=FAST)
            report = watch.run_pass(options)
            assert len(report.stored) == 6 and len(report.stories) >= 2
            ferry_story = store.found_story_of()[next(
                d.id for d in store.iter_documents() if d.origin == first[0] and d.id)]
            assert [len(store.story_updates(story)) for story in report.stories] == [1] * len(report.stories)

            later = [site.put(f"/ferry/later/{i}", page_of(*item)) for i, item in enumerate(FERRY_LATER)]
            site.put("/rss.xml", rss(later + first), RSS)
            second = watch.run_pass(options)
            assert len(second.stored) == 2 and ferry_story in second.stories
            assert not second.failed, second.failed  # a refresh that failed says why here
            new_ids = {d.id for d in store.iter_documents() if d.origin in later}
            (update, earlier) = store.story_updates(ferry_story)
            assert update.lines and set(update.sources) and set(update.sources) <= new_ids
            assert not set(earlier.sources) & new_ids
            store.add_alert("ferry")
            line = next(info.storyline for info in store.stories() if info.id == ferry_story)
            if line is None:  # a lone story may stand outside any storyline: give it one
                line = store.create_storyline("The Kessel ferry")
                store.set_storyline(ferry_story, line)
        for fetcher in client.fetchers.values():
            fetcher.close()

    with TestClient(create_app(str(db)), base_url="http://127.0.0.1") as web:
        answer = web.get(f"/stories/{ferry_story}/feed.atom")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/atom+xml")
        import xml.etree.ElementTree as ElementTree

        feed = ElementTree.fromstring(answer.text)
        entries = feed.findall("{http://www.w3.org/2005/Atom}entry")
        assert len(entries) == 2
        assert "What is new" in (entries[0].findtext("{http://www.w3.org/2005/Atom}content") or "")
        assert web.get("/stories/999/feed.atom").status_code == 404
        alert = ElementTree.fromstring(web.get("/alerts/1/feed.atom").text)
        linked = [e.find("{http://www.w3.org/2005/Atom}link").get("href")  # type: ignore[union-attr]
                  for e in alert.findall("{http://www.w3.org/2005/Atom}entry")]
        assert linked == [f"http://127.0.0.1/stories/{ferry_story}"]  # the volcano does not match
        storyline_feed = ElementTree.fromstring(web.get(f"/storylines/{line}/feed.atom").text)
        assert len(storyline_feed.findall("{http://www.w3.org/2005/Atom}entry")) >= 2
        assert web.get("/storylines/999/feed.atom").status_code == 404
        assert web.get("/alerts/7/feed.atom").status_code == 404


def test_the_sources_page_shows_each_source_and_polls_one_now(tmp_path: Path) -> None:
    from starlette.testclient import TestClient

    from storyline.web import create_app

    db = tmp_path / "web.db"
    with feed_sites(1) as (site,), watching(db) as (store, watch):
        site.put("/p/1", article_html(1))
        site.put("/rss.xml", rss([site.url("/p/1")]), RSS)
        add(store, site.url("/rss.xml"), site.url("/gone.xml"))
        one_pass(watch)
        (good, gone) = store.watch_sources()
        assert good.next_poll is not None
    with TestClient(create_app(str(db)), base_url="http://localhost", follow_redirects=False) as web:
        shown = web.get("/feeds").text
        assert site.url("/rss.xml") in shown and "HTTP 404" in shown and "Poll now" in shown
        polled = web.post(f"/feeds/{good.id}/poll")
        assert polled.status_code == 303 and polled.headers["location"] == f"/feeds?polled={good.id}"
        assert "due now" in web.get(polled.headers["location"]).text
        assert web.post("/feeds/999/poll").status_code == 404
    with open_store(str(db)) as store:
        assert next(s for s in store.watch_sources() if s.id == good.id).next_poll is None
    with TestClient(create_app(str(db), token="s3cret"), base_url="http://localhost") as guarded:
        assert guarded.post(f"/feeds/{gone.id}/poll").status_code == 401


def test_a_running_watch_polls_a_source_made_due_within_seconds(tmp_path: Path) -> None:
    db = tmp_path / "loop.db"
    with feed_sites(1) as (site,):
        first = site.put("/p/1", article_html(1))
        site.put("/rss.xml", rss([first]), RSS)
        with open_store(str(db)) as store:
            add(store, site.url("/rss.xml"))
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        process = subprocess.Popen(
            [sys.executable, "-m", "storyline", "watch", "--db", str(db), "--no-annotate", "--no-stories",
             "--host-delay", "0", "--every", "1h"], stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert wait_for(lambda: site.hits("/p/1") == 1, 30)
            later = site.put("/p/2", article_html(2))
            site.put("/rss.xml", rss([later, first]), RSS)
            time.sleep(1)
            assert site.hits("/p/2") == 0  # not due for an hour
            with open_store(str(db)) as store:
                store.mark_due(store.watch_sources()[0].id)  # the web app's "Poll now"
            assert wait_for(lambda: site.hits("/p/2") == 1, 15)
        finally:
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=WATCH_TIMEOUT)
        assert process.returncode == 0


def wait_for(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


def test_retries_with_backoff_then_the_breaker_spares_the_host(db_url: str) -> None:
    strict = replace(FAST, retries=2, backoff_seconds=0.05, breaker_failures=3, breaker_open_seconds=60)
    with feed_sites(3) as (lone, crowded, healthy), \
            watching(db_url, config=strict) as (store, watch):
        lone.put("/feed.xml", "overloaded", "text/plain", status=503)
        for name in ("a", "b", "c"):
            crowded.put(f"/{name}.xml", "overloaded", "text/plain", status=503)
        healthy.put("/p/1", article_html(1))
        healthy.put("/rss.xml", rss([healthy.url("/p/1")]), RSS)
        add(store, lone.url("/feed.xml"), *(crowded.url(f"/{n}.xml") for n in "abc"), healthy.url("/rss.xml"))

        def feed_hits(site: FeedSite) -> int:
            return sum(1 for path, _, _ in site.requests if path.endswith(".xml"))

        report = one_pass(watch)
        assert feed_hits(lone) == 3  # tried, then tried again twice after a backoff
        assert feed_hits(crowded) == 3  # three failures in a row open the breaker: no fourth request
        errors = [poll.error or "" for poll in report.polls if healthy.url("") not in poll.source.url]
        assert all("HTTP 503" in error or "circuit open" in error for error in errors)
        assert stored_origins(store) == [healthy.url("/p/1")]  # the other host goes on
        again = one_pass(watch)
        assert feed_hits(lone) == feed_hits(crowded) == 3  # left alone while the breaker is open
        assert sum("circuit open" in (poll.error or "") for poll in again.polls) == 4


def test_pages_decode_by_the_declared_charset_and_bad_pages_fail_alone(db_url: str) -> None:
    sentence = "Вчера вечером совет Березовки утвердил план ремонта моста через реку Ольшанку."
    with feed_sites(1) as (site,), watching(db_url) as (store, watch):
        russian = site.put("/ru/1", f"<html><body><article><p>{sentence}</p><p>{sentence}</p></article>"
                                    "</body></html>".encode("cp1251"), "text/html; charset=windows-1251")
        empty = site.put("/empty", b"", "text/html")
        binary = site.put("/blob", b"\x00\x01\x02" * 400, "application/octet-stream")
        pdf = site.put("/doc.pdf", b"%PDF-1.7 invented", "application/pdf")
        fine = site.put("/p/1", article_html(1))
        site.put("/rss.xml", rss([russian, empty, binary, pdf, fine]), RSS)
        add(store, site.url("/rss.xml"))
        report = one_pass(watch)
        assert stored_origins(store) == sorted([russian, fine])
        (document,) = [d for d in store.iter_documents() if d.origin == russian]
        assert sentence in document.text
        assert sorted(url for url, _ in report.failed) == sorted([empty, binary, pdf])
        assert all("\n" not in reason for _, reason in report.failed)
        assert store.pending_items() == []  # none of them is tried again


# A process that takes the watch lock of the database in argv[1], says so, and waits.
HOLD_THE_WATCH_LOCK = """
import sys, time
from storyline.pipeline.watch import only_watch
from storyline.store import open_store
with open_store(sys.argv[1]) as store, only_watch(store):
    print("held", flush=True)
    time.sleep(600)
"""


def test_the_watch_lock_has_one_holder_on_either_backend_and_dies_with_it(db_url: str) -> None:
    """A file lock beside SQLite; on PostgreSQL an advisory lock, so that watches on two
    machines sharing one server exclude each other too."""
    with open_store(db_url) as first, open_store(db_url) as second:
        with only_watch(first):
            with pytest.raises(WatchRunning, match="another storyline watch is running"):
                with only_watch(second):
                    pass
        with only_watch(second):  # released when the block ended
            pass
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    holder = subprocess.Popen([sys.executable, "-c", HOLD_THE_WATCH_LOCK, db_url],
                              stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with open_store(db_url) as store:
            with pytest.raises(WatchRunning):
                with only_watch(store):
                    pass
            holder.send_signal(signal.SIGKILL)
            holder.wait(timeout=10)

            def free() -> bool:
                with store.watch_lock() as taken:
                    return taken

            assert wait_for(free, 10)  # the server ends a dead client's session at once
    finally:
        holder.kill()
        holder.wait(timeout=10)


def test_a_second_watch_on_the_same_database_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    with feed_sites(1) as (site,):
        site.put("/rss.xml", rss([]), RSS)
        with open_store(str(db)) as store:
            add(store, site.url("/rss.xml"))
        first = run_watch(db, "--every", "1h")
        try:
            assert wait_for(lambda: site.hits("/rss.xml") == 1, 30)
            second = run_watch(db, "--once")
            _, err = second.communicate(timeout=WATCH_TIMEOUT)
            assert second.returncode == 1 and "another storyline watch is running" in err
            assert site.hits("/rss.xml") == 1  # the second polled nothing
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        again = run_watch(db, "--once", "--all")  # a killed watch leaves no lock behind
        _, err = again.communicate(timeout=WATCH_TIMEOUT)
        assert again.returncode == 0, err
