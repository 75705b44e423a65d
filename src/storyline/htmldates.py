"""Publication date of an HTML page: structured markup first, then the URL, then htmldate.

Why our own layer over htmldate: htmldate weighs many weak signals; a page's own structured
data (JSON-LD ``datePublished``, ``article:published_time``, a ``<time pubdate>``) is nearly
always right when present, and a date in the URL path is the publication day for most news
sites. Numeric dates such as ``05/10/2018`` are ambiguous: we decide day-first vs month-first
from evidence on the same page (other unambiguous dates in the same format, the URL date, the
page locale) and report ``None`` rather than guess when there is no evidence at all.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

from lxml.html import HtmlElement

DateOrigin = Literal["meta", "text", "url", "inferred"]

_ISO_PREFIX = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})(?:T|$)")
_URL_DATE = re.compile(r"/((?:19|20)\d{2})[/_-]?(0[1-9]|1[0-2])[/_-]?(0[1-9]|[12]\d|3[01])(?:/|[_-]|\.|$)")
_URL_YEAR_MONTH = re.compile(r"/((?:19|20)\d{2})/(0[1-9]|1[0-2])/")
# Numeric dates whose day/month order needs evidence: a-b-year with one separator kind.
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})([./-])(\d{1,2})\2((?:19|20)\d{2})\b")


@dataclass(frozen=True)
class DateRules:
    """Tuned data: which markup fields carry the publication date, best first."""

    json_ld_keys: tuple[str, ...]
    meta_names: tuple[str, ...]
    month_first_locales: tuple[str, ...]
    min_year: int


@lru_cache(maxsize=1)
def date_rules() -> DateRules:
    raw = json.loads(resources.files("storyline").joinpath("data", "html_dates.json").read_text("utf-8"))
    return DateRules(
        json_ld_keys=tuple(raw["json_ld_keys"]),
        meta_names=tuple(name.lower() for name in raw["meta_names"]),
        month_first_locales=tuple(raw["month_first_locales"]),
        min_year=int(raw["min_year"]),
    )


def _valid_iso(year: int, month: int, day: int) -> str | None:
    if year < date_rules().min_year or year > date.today().year + 1:
        return None
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def parse_iso_like(value: str) -> str | None:
    """An ISO-8601-ish timestamp (``2019-11-19T08:57:40+01:00``, ``20191119``) -> YYYY-MM-DD."""
    value = value.strip()
    match = _ISO_PREFIX.match(value) or _COMPACT.match(value)
    if not match:
        return None
    return _valid_iso(int(match[1]), int(match[2]), int(match[3]))


# --- structured markup -------------------------------------------------------------------

def _json_ld_objects(tree: HtmlElement) -> list[dict[str, Any]]:
    """All dict nodes of every JSON-LD block (``@graph`` flattened); broken blocks skipped."""
    found: list[dict[str, Any]] = []
    for script in tree.iterfind('.//script[@type="application/ld+json"]'):
        try:
            data = json.loads(script.text or "")
        except (ValueError, TypeError):
            continue
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict):
                found.append(node)
                stack.extend(value for value in node.values() if isinstance(value, (list, dict)))
    return found


def _is_page_item(node: dict[str, Any]) -> bool:
    """Skip JSON-LD of things that are not the page (a person's birthDate, an event, a video)."""
    kind = node.get("@type", "")
    kinds = kind if isinstance(kind, list) else [kind]
    skip = {"Person", "Event", "VideoObject", "ImageObject", "Organization", "Comment"}
    return not any(str(k) in skip for k in kinds)


def date_from_json_ld(tree: HtmlElement) -> str | None:
    nodes = [node for node in _json_ld_objects(tree) if _is_page_item(node)]
    for key in date_rules().json_ld_keys:
        for node in nodes:
            value = node.get(key)
            if isinstance(value, str) and (parsed := parse_iso_like(value)):
                return parsed
    return None


def date_from_meta(tree: HtmlElement) -> str | None:
    """``<meta property|name|itemprop=... content=ISO>`` in the order of ``meta_names``."""
    by_name: dict[str, str] = {}
    for elem in tree.iterfind(".//meta[@content]"):
        key = (elem.get("property") or elem.get("name") or elem.get("itemprop") or "").lower()
        if key and key not in by_name:
            by_name[key] = elem.get("content", "")
    for name in date_rules().meta_names:
        if name in by_name and (parsed := parse_iso_like(by_name[name])):
            return parsed
    return None


def date_from_time_element(tree: HtmlElement) -> str | None:
    """A ``<time>`` explicitly marked as the publication time (pubdate / itemprop)."""
    for elem in tree.iterfind(".//time[@datetime]"):
        marked = "pubdate" in elem.attrib or elem.get("itemprop", "").lower() == "datepublished"
        if marked and (parsed := parse_iso_like(elem.get("datetime", ""))):
            return parsed
    return None


def date_from_url(url: str | None) -> str | None:
    if not url:
        return None
    match = _URL_DATE.search(url)
    if not match:
        return None
    return _valid_iso(int(match[1]), int(match[2]), int(match[3]))


# --- day/month evidence ------------------------------------------------------------------

def _locale_prefers_month_first(language: str | None) -> bool | None:
    """en-US style locales write month first; None when the locale says nothing decisive."""
    if not language:
        return None
    lang = language.lower().replace("_", "-")
    if lang in date_rules().month_first_locales:
        return True
    if lang == "en":
        return None  # bare English: US or UK, no evidence either way
    return False


def day_first_evidence(text: str, url: str | None, language: str | None) -> bool | None:
    """Decide whether numeric dates on this page are day-first (True), month-first (False).

    Evidence, strongest first: unambiguous numeric dates on the same page (a first number
    above 12 means day-first), then the page locale. None when nothing tells.
    """
    votes_day_first = votes_month_first = 0
    for match in _NUMERIC_DATE.finditer(text):
        first, second = int(match[1]), int(match[3])
        if first > 12 >= second:
            votes_day_first += 1
        elif second > 12 >= first:
            votes_month_first += 1
    if votes_day_first != votes_month_first:
        return votes_day_first > votes_month_first
    month_first = _locale_prefers_month_first(language)
    return None if month_first is None else not month_first


def resolve_numeric_date(
    first: int, second: int, year: int, day_first: bool | None, url_date: str | None = None
) -> str | None:
    """``first/second/year`` -> ISO; ambiguous orders need evidence (or a URL date to match)."""
    as_day_first = _valid_iso(year, second, first)
    as_month_first = _valid_iso(year, first, second)
    if as_day_first and as_month_first and as_day_first != as_month_first:
        if url_date in (as_day_first, as_month_first):
            return url_date
        if day_first is None:
            return None  # never a silent guess
        return as_day_first if day_first else as_month_first
    return as_day_first or as_month_first


def fix_day_month_swap(
    candidate: str, text: str, url: str | None, language: str | None
) -> str:
    """htmldate may read ``05/10/2018`` in the wrong order: re-decide it with our evidence.

    Only when the page shows the candidate as an ambiguous numeric date (both orders valid)
    and our evidence points the other way do we swap; otherwise the candidate stands.
    """
    year, month, day = (int(part) for part in candidate.split("-"))
    if day > 12 or month > 12 or day == month:
        return candidate
    swapped = date(year, day, month).isoformat()
    if date_from_url(url) == candidate:
        return candidate
    shown_ambiguous = any(
        int(m[4]) == year and {int(m[1]), int(m[3])} == {day, month}
        for m in _NUMERIC_DATE.finditer(text)
    )
    if not shown_ambiguous:
        return candidate
    day_first = day_first_evidence(text, url, language)
    if day_first is None:
        return candidate
    for match in _NUMERIC_DATE.finditer(text):
        if int(match[4]) == year and {int(match[1]), int(match[3])} == {day, month}:
            decided = resolve_numeric_date(int(match[1]), int(match[3]), year, day_first)
            return decided if decided in (candidate, swapped) else candidate
    return candidate


# --- the cascade -------------------------------------------------------------------------

def find_published_date(
    tree: HtmlElement, url: str | None = None, language: str | None = None
) -> tuple[str | None, DateOrigin | None]:
    """The page's publication day as ISO plus where it came from, or (None, None)."""
    for finder in (date_from_json_ld, date_from_meta, date_from_time_element):
        found = finder(tree)
        if found:
            return found, "meta"
    from_url = date_from_url(url)
    if from_url:
        return from_url, "url"
    return _date_from_htmldate(tree, url, language)


def _date_from_htmldate(
    tree: HtmlElement, url: str | None, language: str | None
) -> tuple[str | None, DateOrigin | None]:
    from htmldate import find_date

    try:
        found = find_date(tree, original_date=True, extensive_search=True, url=url)
    except Exception:  # htmldate raises on odd trees; a missing date is not an error here
        return None, None
    if not found:
        return None, None
    page_text = tree.text_content() if len(tree) else ""
    return fix_day_month_swap(found, page_text, url, language), "text"
