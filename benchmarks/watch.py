"""How fast ``storyline watch`` goes, against local servers (no network):

* new articles: 20 hosts on 127.0.0.1 (each its own port), each with a feed listing
  ``--per-host`` new articles; one pass (poll, fetch, extract, store; annotation and story
  detection excluded, as with ``watch --no-annotate --no-stories``). Reported: articles
  fetched and extracted per second over the pass (target >= 50/s on 2 cores);
* idle pass: ``--feeds`` feeds spread over the same 20 hosts, all polled once, then a pass in
  which every one answers 304 (target <= 5 s).

The servers run in a child process (their threads must not share the watch's interpreter
lock); the articles are invented, each different (towns, topics and numbers vary). Politeness
is the watch's own (``PoliteClient``): ``--host-delay`` (default 0: a local server needs no
pause; the packaged 1 s would cap 20 hosts at 20 requests a second whatever the code does) and
the packaged concurrency cap of 2 per host.

    python benchmarks/watch.py [--per-host 25] [--feeds 500] [--host-delay 0]
"""

from __future__ import annotations

import argparse
import multiprocessing
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

HOSTS = 20


def serve(per_host: int, feeds: int, ports: multiprocessing.Queue, stop: multiprocessing.Event) -> None:  # type: ignore[type-arg]
    """The child: 20 sites, each with one feed of new articles and its share of idle feeds."""
    from feed_server import article_html, feed_sites, rss

    with feed_sites(HOSTS) as sites:
        for index, site in enumerate(sites):
            links = []
            for k in range(per_host):
                number = index * 1000 + k
                links.append(site.put(f"/p/{number}", article_html(number)))
            site.put("/rss.xml", rss(links), "application/rss+xml")
            for feed in range(index, feeds, HOSTS):
                site.put(f"/idle/{feed}.xml", rss([site.url(f"/p/{index * 1000}")]), "application/rss+xml")
        for site in sites:
            ports.put(site.port)
        stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-host", type=int, default=25)
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--host-delay", type=float, default=0.0)
    args = parser.parse_args()

    from storyline.pipeline.politeness import WatchConfig
    from storyline.pipeline.watch import Watch, WatchOptions, open_client
    from storyline.store import open_store

    ports: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    stop = multiprocessing.Event()
    child = multiprocessing.Process(target=serve, args=(args.per_host, args.feeds, ports, stop), daemon=True)
    child.start()
    hosts = [f"http://127.0.0.1:{ports.get(timeout=60)}" for _ in range(HOSTS)]
    config = replace(WatchConfig.packaged(), host_delay_seconds=args.host_delay)
    options = WatchOptions(every=900, all_sources=True, find_stories=False, refresh_briefings=False)
    client = open_client(config, timeout=20)
    try:
        with tempfile.TemporaryDirectory() as folder, open_store(str(Path(folder) / "w.db")) as store:
            for host in hosts:
                store.add_watch_source(f"{host}/rss.xml", kind="feed", allow_private=True)
            watch = Watch(store, client, annotator=None, config=config)
            started = time.perf_counter()
            report = watch.run_pass(options)
            seconds = time.perf_counter() - started
            stored = len(report.stored)
            print(f"new articles: {stored} fetched and extracted from {HOSTS} hosts in {seconds:.2f} s "
                  f"= {stored / seconds:.1f} articles/s (target >= 50/s); host delay "
                  f"{config.host_delay_seconds:g} s, {config.host_concurrency} per host at once")

            for feed in range(args.feeds):
                store.add_watch_source(f"{hosts[feed % HOSTS]}/idle/{feed}.xml", kind="feed",
                                       allow_private=True)
            watch.run_pass(options)  # the first poll of the idle feeds keeps their validators
            started = time.perf_counter()
            idle = watch.run_pass(options)
            seconds = time.perf_counter() - started
            not_modified = sum(1 for poll in idle.polls if poll.status == 304)
            print(f"idle pass: {len(idle.polls)} feeds polled ({not_modified} answered 304, "
                  f"{idle.fetched} pages fetched) in {seconds:.2f} s (target <= 5 s)")
    finally:
        for fetcher in client.fetchers.values():
            fetcher.close()
        stop.set()
        child.join(timeout=10)


if __name__ == "__main__":
    main()
