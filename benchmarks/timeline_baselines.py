"""The two baselines of ``tls/README.md``, reimplemented from its description.

Both read the window's articles as lists of sentences (one per line of the detokenised text,
the first usually being headline, standfirst and dateline run together) with their publication
day, and return a timeline of T dates with K sentences each.

* ``first_sentence``: the T days with the most articles published (ties: the earlier day); per
  day the first K sentences of its earliest article (lowest numeric id), topped up from the next.
* ``mention_count`` (an unsupervised DATEWISE): the T days mentioned by the most sentences
  (a regex for "March 5", "5 March 2010", "on Tuesday", "last Friday", today, yesterday,
  tomorrow, each resolved against the article's publication day; ties: more articles published
  that day, then the earlier day), topped up with first-sentence's days; per day the K sentences
  of 5-60 words closest (TF-IDF cosine, English stop words, sublinear tf) to the centroid of the
  sentences that mention the day, skipping one with cosine > 0.5 to a sentence already chosen.

Details the README leaves open, decided here: a month-day without a year takes the year that puts
it nearest the publication day; a bare weekday ("on Tuesday") is the latest such day on or before
publication, "last Tuesday" the latest strictly before; only days inside the window count.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

MONTHS = {name: number for number, names in enumerate(
    [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
     ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
     ("october", "oct"), ("november", "nov"), ("december", "dec")], start=1) for name in names}
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTH = r"(?P<{g}>January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_MENTION = re.compile(
    r"\b(?:" + _MONTH.format(g="m1") + r"\s+(?P<d1>\d{1,2})(?:st|nd|rd|th)?(?:,?\s+(?P<y1>\d{4}))?"
    r"|(?P<d2>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH.format(g="m2") + r"(?:,?\s+(?P<y2>\d{4}))?"
    r"|(?P<last>last\s+)?(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
    r"|(?P<deictic>today|yesterday|tomorrow))\b")
MIN_WORDS, MAX_WORDS, REDUNDANCY = 5, 60, 0.5


@dataclass
class Article:
    id: str
    published: date
    sentences: list[str]


def _month_day(month: int, day: int, year: int | None, published: date) -> date | None:
    years = [year] if year else [published.year - 1, published.year, published.year + 1]
    options = []
    for candidate in years:
        try:
            options.append(date(candidate, month, day))
        except ValueError:
            continue
    return min(options, key=lambda d: abs((d - published).days)) if options else None


def mentioned_days(sentence: str, published: date) -> set[date]:
    """The days a sentence mentions, by the baseline's regex."""
    days: set[date] = set()
    for m in _MENTION.finditer(sentence):
        found: date | None = None
        if m["m1"] or m["m2"]:
            month = MONTHS[(m["m1"] or m["m2"]).lower().rstrip(".")]
            day = int(m["d1"] or m["d2"])
            year = m["y1"] or m["y2"]
            found = _month_day(month, day, int(year) if year else None, published)
        elif m["wd"]:
            back = (published.weekday() - WEEKDAYS.index(m["wd"].lower())) % 7
            if m["last"] and back == 0:
                back = 7
            found = published - timedelta(days=back)
        elif m["deictic"]:
            offset = {"today": 0, "yesterday": -1, "tomorrow": 1}[m["deictic"].lower()]
            found = published + timedelta(days=offset)
        if found is not None:
            days.add(found)
    return days


def _published_counts(articles: Sequence[Article]) -> Counter[date]:
    return Counter(a.published for a in articles)


def _first_sentence_days(articles: Sequence[Article], count: int) -> list[date]:
    published = _published_counts(articles)
    return [d for d, _ in sorted(published.items(), key=lambda x: (-x[1], x[0]))][:count]


def first_sentence(articles: Sequence[Article], dates: int, k: int) -> list[tuple[date, list[str]]]:
    by_day: dict[date, list[Article]] = defaultdict(list)
    for article in sorted(articles, key=lambda a: int(a.id) if a.id.isdigit() else 0):
        by_day[article.published].append(article)
    timeline = []
    for day in sorted(_first_sentence_days(articles, dates)):
        chosen: list[str] = []
        for article in by_day[day]:
            chosen.extend(article.sentences[:k - len(chosen)])
            if len(chosen) >= k:
                break
        timeline.append((day, chosen))
    return timeline


def mention_count(articles: Sequence[Article], dates: int, k: int, start: date,
                  end: date) -> list[tuple[date, list[str]]]:
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]

    mentions: dict[date, list[str]] = defaultdict(list)
    everything: list[str] = []
    for article in articles:
        for sentence in article.sentences:
            everything.append(sentence)
            for day in mentioned_days(sentence, article.published):
                if start <= day <= end:
                    mentions[day].append(sentence)
    published = _published_counts(articles)
    ranked = sorted(mentions, key=lambda d: (-len(mentions[d]), -published[d], d))[:dates]
    for day in _first_sentence_days(articles, len(published)):
        if len(ranked) >= dates:
            break
        if day not in ranked:
            ranked.append(day)
    vectorizer = TfidfVectorizer(stop_words="english", sublinear_tf=True)
    vectorizer.fit(everything)
    firsts = dict(first_sentence(articles, len(published), k))
    timeline = []
    for day in sorted(ranked):
        pool = [s for s in dict.fromkeys(mentions.get(day, [])) if MIN_WORDS <= len(s.split()) <= MAX_WORDS]
        if not pool:
            timeline.append((day, firsts.get(day, [])[:k]))
            continue
        vectors = vectorizer.transform(pool)
        centroid = np.asarray(vectors.mean(axis=0)).ravel()
        norms = np.sqrt(vectors.multiply(vectors).sum(axis=1)).A.ravel() * (np.linalg.norm(centroid) or 1.0)
        similarity = (vectors @ centroid) / np.where(norms == 0, 1.0, norms)
        chosen: list[int] = []
        for index in np.argsort(-similarity, kind="stable"):
            if len(chosen) >= k:
                break
            if chosen and max((vectors[index] @ vectors[c].T).toarray()[0, 0] for c in chosen) > REDUNDANCY:
                continue
            chosen.append(int(index))
        timeline.append((day, [pool[i] for i in chosen]))
    return timeline
