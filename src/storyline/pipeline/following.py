"""Following from outside: a story, a storyline or a saved search as an Atom feed.

Each function reads what the feed needs from the store and gives the Atom document
(``render/atom.py``); ``base`` is the address the web app answers at, for the links.

* a story: one entry per update of its briefing (``storyline watch`` keeps them), with what
  is new;
* a storyline: the updates of all its stories, newest first;
* a saved search (``storyline alerts add QUERY``): one entry per story whose sentences match,
  newest story first, with the sentences that matched, so a feed reader shows each new
  matching story once.
"""

from __future__ import annotations

from collections.abc import Iterable

from storyline.pipeline.catalogue import label
from storyline.render.atom import FeedEntry, story_feed
from storyline.store import Alert, Store, StoryInfo, StoryUpdate

FEED_ENTRIES = 50  # the most entries a feed carries (readers keep what they have seen)
ALERT_HITS = 500  # sentences searched for an alert's feed
ALERT_LINES = 3  # matched sentences shown per story


def _entries(updates: Iterable[StoryUpdate], base: str) -> list[FeedEntry]:
    return [FeedEntry(key=f"update:{update.id}", updated=update.made_at, title=update.title,
                      lines=update.lines, link=f"{base}/stories/{update.story}",
                      sources=[(source, f"{base}/sources/{source}?story={update.story}")
                               for source in update.sources])
            for update in updates]


def story_atom(store: Store, story: StoryInfo, base: str) -> str:
    page = f"{base}/stories/{story.id}"
    return story_feed(feed_id=f"urn:storyline:story:{story.id}", title=label(story), page_url=page,
                      self_url=f"{page}/feed.atom", updated=story.updated_at,
                      entries=_entries(store.story_updates(story.id, FEED_ENTRIES), base))


def storyline_atom(store: Store, storyline: int, base: str) -> str | None:
    """The storyline's feed; None when there is no such storyline."""
    line = next((found for found in store.storylines() if found.id == storyline), None)
    if line is None:
        return None
    updates = sorted((update for story in line.stories
                      for update in store.story_updates(story, FEED_ENTRIES)),
                     key=lambda update: (update.made_at, update.id), reverse=True)[:FEED_ENTRIES]
    stories = [info for story in line.stories if (info := store.story(story)) is not None]
    title = line.title or (label(stories[0]) if stories else f"storyline {storyline}")
    updated = max((info.updated_at for info in stories), default="1970-01-01T00:00:00+00:00")
    return story_feed(feed_id=f"urn:storyline:storyline:{storyline}", title=title,
                      page_url=f"{base}/", self_url=f"{base}/storylines/{storyline}/feed.atom",
                      updated=updated, entries=_entries(updates, base))


def alert_atom(store: Store, alert: Alert, base: str) -> str:
    matched: dict[int, list[tuple[str, str]]] = {}
    for hit in store.search(alert.query, limit=ALERT_HITS):
        if hit.story is not None:
            matched.setdefault(hit.story, []).append((hit.source, hit.text))
    stories = [info for story in matched if (info := store.story(story)) is not None
               and info.merged_into is None]
    stories.sort(key=lambda info: (info.created_at, info.id), reverse=True)
    entries = [FeedEntry(key=f"story:{info.id}", updated=info.created_at, title=label(info),
                         lines=[text for _, text in matched[info.id][:ALERT_LINES]],
                         sources=[(source, f"{base}/sources/{source}?story={info.id}")
                                  for source in dict.fromkeys(s for s, _ in matched[info.id][:ALERT_LINES])],
                         link=f"{base}/stories/{info.id}", lead=f"Matches “{alert.query}”:")
               for info in stories[:FEED_ENTRIES]]
    return story_feed(feed_id=f"urn:storyline:alert:{alert.id}", title=f"Storyline: {alert.query}",
                      page_url=f"{base}/search?q={alert.query}",
                      self_url=f"{base}/alerts/{alert.id}/feed.atom", updated=alert.created_at,
                      entries=entries)
