"""Feeds, sitemaps and OPML lists as ``read/feeds.py`` reads them; URL canonicalisation; the
watch tables of the store (on SQLite and PostgreSQL: ``conftest.db_url``); ``storyline feeds
add|import|list|remove`` against real servers on 127.0.0.1 (``feed_server.py``)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from feed_server import atom, feed_sites, json_feed, opml, rss, sitemap, sitemap_index
from storyline.cli import main
from storyline.errors import InputProblem
from storyline.read.canonical import UrlRules, canonical_url
from storyline.read.feeds import parse_listing
from storyline.store import ListedItem, PollRecord, open_store

LINKS = ["http://news.invalid/a/1", "http://news.invalid/a/2", "http://news.invalid/a/3"]


@pytest.mark.parametrize("body", [rss(LINKS), atom(LINKS), json_feed(LINKS), sitemap(LINKS)],
                         ids=["rss", "atom", "json-feed", "news-sitemap"])
def test_every_listing_kind_gives_its_articles_in_order(body: str) -> None:
    listing = parse_listing(body.encode(), "http://news.invalid/feed")
    assert [item.url for item in listing.items] == LINKS
    assert all(item.published and item.published.startswith("2026-11-03") for item in listing.items)


def test_rss_1_0_rdf_is_read() -> None:
    rdf = ('<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
           'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="http://news.invalid/"><title>T</title>'
           '<link>http://news.invalid/</link><description>d</description></channel>'
           '<item rdf:about="http://news.invalid/a/9"><title>Nine</title>'
           "<link>http://news.invalid/a/9</link></item></rdf:RDF>")
    assert [item.url for item in parse_listing(rdf.encode(), "http://x.invalid/").items] == [
        "http://news.invalid/a/9"]


def test_news_sitemap_dates_are_utc_and_titles_kept() -> None:
    (first, *_) = parse_listing(sitemap(LINKS).encode(), "http://news.invalid/sitemap.xml").items
    assert first.published == "2026-11-03T09:00:00+00:00"
    assert first.title == "Item 0"


def test_sitemap_index_lists_its_children() -> None:
    listing = parse_listing(sitemap_index(["/s1.xml", "http://news.invalid/s2.xml"]).encode(),
                            "http://news.invalid/index.xml")
    assert listing.kind == "sitemap-index"
    assert listing.links == ("http://news.invalid/s1.xml", "http://news.invalid/s2.xml")


def test_opml_names_nested_feeds() -> None:
    listing = parse_listing(opml(["http://a.invalid/rss", "http://b.invalid/atom"]).encode(), "x")
    assert listing.kind == "opml"
    assert listing.links == ("http://a.invalid/rss", "http://b.invalid/atom")


def test_html_page_announces_its_feeds() -> None:
    page = ('<html><head><title>Home</title>'
            '<link rel="alternate" type="application/rss+xml" href="/rss.xml">'
            '<link rel="Alternate" type="application/atom+xml; charset=utf-8" href="https://news.invalid/atom">'
            '<link rel="alternate" type="text/html" hreflang="fr" href="/fr/">'
            '<link rel="stylesheet" href="/s.css"></head><body></body></html>')
    listing = parse_listing(page.encode(), "https://news.invalid/section/", "text/html")
    assert listing.kind == "html"
    assert listing.links == ("https://news.invalid/rss.xml", "https://news.invalid/atom")


def test_broken_feed_keeps_items_before_the_break_and_says_so() -> None:
    broken = rss(LINKS)[:-60]  # cut inside the last item
    listing = parse_listing(broken.encode(), "http://news.invalid/feed")
    assert [item.url for item in listing.items][:2] == LINKS[:2]
    assert listing.warnings and "not well-formed" in listing.warnings[0]


@pytest.mark.parametrize("body", [b"<rss><channel><item><ti", b"<?xml version='1.0'?><rss><<<>",
                                  b'{"version": "https://jsonfeed.org/version/1", "items": 3}',
                                  b'{"not": "a feed"}', b""])
def test_unreadable_listings_raise_one_line(body: bytes) -> None:
    with pytest.raises(InputProblem) as raised:
        parse_listing(body, "http://news.invalid/feed", "application/rss+xml")
    assert "\n" not in str(raised.value)


def test_sitemap_entities_are_not_expanded() -> None:
    laughs = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
              '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
              '<!ENTITY x SYSTEM "file:///etc/passwd">]>'
              '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
              "<url><loc>http://news.invalid/&lol2;&x;</loc></url></urlset>")
    listing = parse_listing(laughs.encode(), "http://news.invalid/sitemap.xml")
    assert all("lollol" not in item.url and "root:" not in item.url for item in listing.items)


def test_five_thousand_items_are_read() -> None:
    links = [f"http://news.invalid/a/{i}" for i in range(5000)]
    assert len(parse_listing(rss(links).encode(), "http://news.invalid/feed").items) == 5000


RULES = UrlRules.packaged()


@pytest.mark.parametrize(("variant", "canonical"), [
    ("HTTP://News.Example.com:80/world/story-1?utm_source=rss&utm_medium=feed#comments",
     "http://news.example.com/world/story-1"),
    ("https://m.example.com/world/story-1?b=2&a=1&fbclid=XYZ", "https://example.com/world/story-1?a=1&b=2"),
    ("https://example.com/world/story-1/amp", "https://example.com/world/story-1"),
    ("https://amp.example.com/world/story-1?amp=1", "https://example.com/world/story-1"),
    ("https://example.com/world/story-1.amp.html", "https://example.com/world/story-1.html"),
    ("https://example.com:8443/a?id=7&ref=home", "https://example.com:8443/a?id=7"),
])
def test_canonical_url_drops_tracking_fragments_amp_and_mobile(variant: str, canonical: str) -> None:
    assert canonical_url(variant, RULES) == canonical


def test_canonical_url_keeps_what_names_the_article() -> None:
    assert canonical_url("https://example.com/news?id=12&page=2", RULES) == "https://example.com/news?id=12&page=2"
    assert canonical_url("https://m.co/x", RULES) == "https://m.co/x"  # not down to a bare "co"
    assert canonical_url("mailto:desk@example.com", RULES) == "mailto:desk@example.com"


def test_watch_tables_keep_items_once_and_validators_with_them(db_url: str) -> None:
    with open_store(db_url) as store:
        source, created = store.add_watch_source("http://news.invalid/feed", kind="feed")
        again, created_again = store.add_watch_source("http://news.invalid/feed", kind="feed")
        assert created and not created_again and again.id == source.id
        items = [ListedItem("http://news.invalid/a/1", "http://news.invalid/a/1?utm_source=x")]
        record = PollRecord(polled_at="2026-11-03T10:00:00+00:00", next_poll="2026-11-03T10:15:00+00:00",
                            status=200, etag='"v1"')
        assert store.record_poll(source.id, record, items) == 1
        assert store.record_poll(source.id, record, items) == 0  # seen before: not new
        (pending,) = store.pending_items()
        assert pending.state == "new" and pending.url.endswith("utm_source=x")
        store.save_item_page(pending.key, b"<p>page</p>", "text/html", pending.url)
        assert store.pending_items()[0].state == "fetched"
        store.items_stored({pending.key: "S1"})
        assert store.pending_items() == []
        (kept,) = store.watch_sources()
        assert kept.etag == '"v1"' and kept.last_status == 200 and kept.last_new == 0
        assert store.watch_item_counts() == {source.id: {"stored": 1}}
        assert store.remove_watch_source(source.url) and store.watch_sources() == []


def test_a_failed_item_is_tried_again_until_given_up(db_url: str) -> None:
    with open_store(db_url) as store:
        source, _ = store.add_watch_source("http://news.invalid/feed", kind="feed")
        record = PollRecord(polled_at="2026-11-03T10:00:00+00:00", next_poll="x", status=200)
        store.record_poll(source.id, record, [ListedItem("k", "http://news.invalid/a")])
        store.item_failed("k", "timed out", give_up=False)
        assert store.pending_items()[0].attempts == 1
        store.item_failed("k", "timed out", give_up=True)
        assert store.pending_items() == []
        assert store.watch_item_counts()[source.id] == {"failed": 1}


# SQLite only: it rewinds SQLite's migrations (PostgreSQL's are tested in test_store.py).
def test_the_migration_adds_the_tables_to_an_older_store(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with open_store(str(path)):
        pass
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE watch_items")
        conn.execute("DROP TABLE watch_sources")
        conn.execute("DROP TABLE story_updates")
        conn.execute("DROP TABLE alerts")
        conn.execute("DROP TABLE sentence_vectors")  # migration 9 runs again after 8
        conn.execute("DELETE FROM schema_migrations WHERE version >= 8")
        conn.execute("PRAGMA user_version = 7")
    with open_store(str(path)) as store:
        assert store.watch_sources() == []


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_feeds_add_discovers_import_lists_and_removes(tmp_path: Path, db_url: str) -> None:
    db = db_url
    with feed_sites(1) as (site,):
        feed = site.put("/rss.xml", rss(LINKS), "application/rss+xml")
        site.put("/atom.xml", atom(LINKS), "application/atom+xml")
        site.put("/sitemap.xml", sitemap(LINKS), "application/xml")
        site.put("/", '<html><head><link rel="alternate" type="application/atom+xml" href="/atom.xml">'
                      "</head><body>home</body></html>")
        site.put("/plain", "<html><body>nothing announced</body></html>")
        (tmp_path / "list.opml").write_text(opml([feed, site.url("/other.json")]))

        code, out = invoke("feeds", "add", site.url("/"), site.url("/sitemap.xml"), "--db", db,
                           "--allow-private", "--every", "10m")
        assert code == 0, out
        assert f"watching {site.url('/atom.xml')} (feed" in out and "(sitemap" in out
        code, out = invoke("feeds", "import", str(tmp_path / "list.opml"), "--db", db, "--allow-private")
        assert code == 0 and out.count("watching") == 2
        code, out = invoke("feeds", "add", site.url("/plain"), feed, "--db", db, "--allow-private")
        assert code == 1
        assert "announces no feed" in out and f"already watched: {feed}" in out

        code, out = invoke("feeds", "list", "--db", db, "--format", "json")
        listed = json.loads(out)
        assert [entry["url"] for entry in listed] == [
            site.url("/atom.xml"), site.url("/sitemap.xml"), feed, site.url("/other.json")]
        assert all(entry["next_poll"] is None and entry["last_poll"] is None for entry in listed)

        code, out = invoke("feeds", "remove", "2", feed, "99", "--db", db)
        assert code == 1 and "99: no watched source" in out
        code, out = invoke("feeds", "list", "--db", db, "--format", "json")
        assert [entry["url"] for entry in json.loads(out)] == [site.url("/atom.xml"), site.url("/other.json")]


def test_feeds_add_refuses_loopback_without_allow_private(tmp_path: Path) -> None:
    with feed_sites(1) as (site,):
        feed = site.put("/rss.xml", rss(LINKS), "application/rss+xml")
        code, out = invoke("feeds", "add", feed, "--db", str(tmp_path / "f.db"))
        assert code == 1 and "--allow-private" in out
        assert site.requests == []  # refused before any connection


def test_every_takes_seconds_minutes_and_hours(tmp_path: Path) -> None:
    from storyline.pipeline.feeds import parse_every

    assert [parse_every(t) for t in ("90s", "15m", "1h", "45")] == [90, 900, 3600, 45]
    code, out = invoke("watch", "--every", "soon", "--once", "--db", str(tmp_path / "f.db"))
    assert code == 2 and "not a duration" in out


def test_alerts_add_list_remove(db_url: str) -> None:
    db = db_url
    code, out = invoke("alerts", "add", "  ferry   fares ", "--db", db)
    assert code == 0 and "saved: alert 1 “ferry fares”" in out and "/alerts/1/feed.atom" in out
    code, out = invoke("alerts", "add", "ferry fares", "--db", db)
    assert code == 0 and out.startswith("already saved: alert 1")
    assert invoke("alerts", "add", "   ", "--db", db)[0] == 2
    code, out = invoke("alerts", "list", "--db", db)
    assert out.splitlines() == ["1\tferry fares\t/alerts/1/feed.atom"]
    assert invoke("alerts", "remove", "1", "--db", db) == (0, "removed alert 1\n")
    code, out = invoke("alerts", "remove", "1", "--db", db)
    assert code == 1 and "no saved search" in out


def test_watch_once_prints_one_json_line_per_poll_and_exits_1_on_a_failure(tmp_path: Path) -> None:
    db = str(tmp_path / "once.db")
    with feed_sites(1) as (site,):
        site.put("/rss.xml", rss([]), "application/rss+xml")
        assert invoke("feeds", "add", site.url("/rss.xml"), "--db", db, "--allow-private")[0] == 0
        with open_store(db) as store:  # a source that will fail, added as `feeds add` would
            store.add_watch_source(site.url("/gone.xml"), kind="feed", allow_private=True)
        result = CliRunner().invoke(main, ["watch", "--once", "--db", db, "--no-annotate",
                                           "--no-stories", "--host-delay", "0"])
        assert result.exit_code == 1
        lines = [json.loads(line) for line in result.stderr.splitlines()]
        polls = {line["url"]: line for line in lines if line["event"] == "poll"}
        assert polls[site.url("/rss.xml")]["status"] == 200 and polls[site.url("/rss.xml")]["error"] is None
        assert "HTTP 404" in polls[site.url("/gone.xml")]["error"]
        assert lines[-1]["event"] == "pass" and lines[-1]["polled"] == 2
        code, out = invoke("feeds", "list", "--db", db)
        assert code == 0 and site.url("/gone.xml") in out and "404" in out
