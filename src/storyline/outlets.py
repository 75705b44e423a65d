"""The outlet registry: who publishes a document, from which country, under what ownership.

Two sources, merged into one ``Registry``:

* the packaged list ``data/outlets.json`` (the common international outlets, written by us), and
* the user's own outlets, stored in the database (``storyline outlets add/import``). A user entry
  takes precedence: it replaces a packaged entry that shares a name or alias with it, and its
  domains and names win any clash. ``registry_with(user)`` merges them; reading them from a
  store is the pipeline's part (``storyline.pipeline.registry``): this module knows no store.

Lookups: ``by_domain`` (a host, URL or domain; subdomains fall back to their parents, so
``news.example.co.uk`` finds ``example.co.uk``), ``by_name`` (name or alias, ignoring case,
punctuation and a leading "The"), and ``find`` (either, by the look of the text).

The registry is always passed explicitly: the metadata stage takes it as an argument (the
packaged one, or for an ingest the store's), and so does ``enrich``, which gives documents the
registry's canonical outlet name, country and ownership after the fact (the briefing does this,
so outlets the user added after an ingest still count).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from storyline.errors import InputProblem
from storyline.model import Document
from storyline.resources import read_data

DATA_FILE = "outlets.json"
MEGABYTE = 1024 * 1024
# An outlets file to import: the packaged list of some hundreds of outlets is 50 KB.
MAX_OUTLETS_FILE_BYTES = 10 * MEGABYTE
_FIELDS = ("name", "domains", "aliases", "country", "ownership")
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$")
# "VNB — Vesterian National Broadcaster": a name of the form SHORT — LONG answers to each part.
_NAME_PARTS = re.compile(r"\s+[—–]\s+")


def url_host(url: str, *, bare: bool = False) -> str:
    """The lower-case host ``url`` names, or "" when it names none. ``bare``: a text without
    a scheme ("news.example/x") is read as a host and path. A malformed URL (an unclosed IPv6
    bracket, "http://[::1") names no host: it comes from the input, so it must not stop a read."""
    text = url.strip().lower()
    if bare and "://" not in text:
        text = "//" + text
    try:
        return urlsplit(text).hostname or ""
    except ValueError:
        return ""


def fold_name(name: str) -> str:
    """The form names are compared in: "The Washington Post" and "washington post" are one."""
    folded = re.sub(r"[^\w&]+", " ", name.casefold()).strip()
    return re.sub(r"^the\s+", "", folded)


@lru_cache(maxsize=1)
def ownership_types() -> dict[str, str]:
    """The ownership vocabulary: type -> what it means (``data/outlets.json``, ``_ownership``)."""
    types: dict[str, str] = read_data(DATA_FILE)["_ownership"]
    return types


@dataclass(frozen=True)
class Outlet:
    """One publisher. ``country`` is an ISO 3166-1 alpha-2 code in the packaged list; a user may
    write any name ("Aldmark"). ``ownership`` is one of ``ownership_types()`` or None."""

    name: str
    domains: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    country: str | None = None
    ownership: str | None = None

    def names(self) -> list[str]:
        """Every name the outlet answers to: its name, its aliases, and the parts of a
        "SHORT — LONG" name."""
        parts = [part for name in (self.name, *self.aliases) for part in _NAME_PARTS.split(name)]
        return [self.name, *self.aliases, *(p for p in parts if len(p) >= 2)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "domains": list(self.domains), "country": self.country,
                "ownership": self.ownership, "aliases": list(self.aliases)}

    @classmethod
    def from_dict(cls, data: Any) -> Outlet:
        """A validated outlet from a JSON object; raises ``InputProblem`` with a one-line reason."""
        if not isinstance(data, Mapping):
            raise InputProblem(f"an outlet must be a JSON object, not {type(data).__name__}")
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise InputProblem(f"unknown field(s) {', '.join(map(repr, unknown))}: "
                               f"an outlet has {', '.join(_FIELDS)}")
        return make_outlet(
            data.get("name"), domains=_string_list(data, "domains"),
            aliases=_string_list(data, "aliases"), country=_optional_string(data, "country"),
            ownership=_optional_string(data, "ownership"),
        )


def make_outlet(
    name: Any,
    *,
    domains: Iterable[str] = (),
    aliases: Iterable[str] = (),
    country: str | None = None,
    ownership: str | None = None,
) -> Outlet:
    """An ``Outlet`` with its fields checked and tidied (domains lower-cased, "www." and any
    scheme or path dropped; a two-letter country upper-cased). Raises ``InputProblem``."""
    if not isinstance(name, str) or not name.strip():
        raise InputProblem("an outlet needs a non-empty \"name\"")
    name = " ".join(name.split())
    if ownership is not None and ownership not in ownership_types():
        raise InputProblem(f"{name}: unknown ownership {ownership!r}; "
                           f"use one of: {', '.join(ownership_types())}")
    tidy_aliases = [" ".join(a.split()) for a in aliases if a.strip()]
    return Outlet(
        name=name,
        domains=tuple(dict.fromkeys(normalise_domain(d, name) for d in domains)),
        aliases=tuple(dict.fromkeys(a for a in tidy_aliases if fold_name(a) != fold_name(name))),
        country=_tidy_country(country),
        ownership=ownership,
    )


def normalise_domain(value: str, outlet: str = "") -> str:
    """"https://www.Example.com/news" -> "example.com"; raises ``InputProblem`` for a non-host."""
    host = url_host(value, bare=True).removeprefix("www.")
    if not _HOST.fullmatch(host):
        where = f"{outlet}: " if outlet else ""
        raise InputProblem(f"{where}{value!r} is not a domain like example.com")
    return host


def _tidy_country(country: str | None) -> str | None:
    if country is None or not country.strip():
        return None
    country = " ".join(country.split())
    return country.upper() if re.fullmatch(r"[A-Za-z]{2}", country) else country


def _string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key) or []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InputProblem(f"{data.get('name', '?')}: \"{key}\" must be a list of strings")
    return value


def _optional_string(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise InputProblem(f"{data.get('name', '?')}: \"{key}\" must be a string or null")
    return value


def read_outlets_file(path: str | Path, max_bytes: int = MAX_OUTLETS_FILE_BYTES
                      ) -> tuple[list[Outlet], list[str]]:
    """The outlets of a JSON file (a list of outlet objects, or ``{"outlets": [...]}`` as in the
    packaged file) and a one-line problem for each entry that is not a valid outlet.

    Raises ``InputProblem`` when the file as a whole is unusable (unreadable, too big, not JSON,
    no list).
    """
    try:
        if Path(path).stat().st_size > max_bytes:  # before reading: a huge file is never loaded
            raise InputProblem(f"file is over the {max_bytes / MEGABYTE:g} MB limit of an outlets file")
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputProblem(f"cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise InputProblem("not UTF-8 text") from exc
    except json.JSONDecodeError as exc:
        raise InputProblem(f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from exc
    entries = data.get("outlets") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise InputProblem('expected a JSON list of outlets (or {"outlets": [...]})')
    outlets: list[Outlet] = []
    problems: list[str] = []
    for number, entry in enumerate(entries, start=1):
        try:
            outlets.append(Outlet.from_dict(entry))
        except InputProblem as exc:
            problems.append(f"outlet {number}: {exc}")
    return outlets, problems


# --- the registry ------------------------------------------------------------------------------


@dataclass
class Registry:
    """The packaged outlets merged with the user's (``user``), which take precedence."""

    packaged: Sequence[Outlet] = ()
    user: Sequence[Outlet] = ()
    _by_domain: dict[str, Outlet] = field(default_factory=dict, init=False, repr=False)
    _by_name: dict[str, Outlet] = field(default_factory=dict, init=False, repr=False)
    _outlets: list[Outlet] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        user_names = {fold_name(n) for outlet in self.user for n in outlet.names()}
        # A user entry replaces the packaged entry it names (by name or alias), whole.
        kept = [o for o in self.packaged if not user_names & {fold_name(n) for n in o.names()}]
        self._outlets = [*kept, *self.user]
        for outlet in self._outlets:  # later (user) entries overwrite earlier ones
            for domain in outlet.domains:
                self._by_domain[domain] = outlet
            for name in outlet.names():
                self._by_name[fold_name(name)] = outlet
        for outlet in self.user:  # a user's own name beats a packaged alias that folds the same
            self._by_name[fold_name(outlet.name)] = outlet

    def __iter__(self) -> Iterator[Outlet]:
        return iter(self._outlets)

    def __len__(self) -> int:
        return len(self._outlets)

    def is_user(self, outlet: Outlet) -> bool:
        return outlet in self.user

    def by_domain(self, host_or_url: str | None) -> Outlet | None:
        """The outlet at this host, URL or domain; a subdomain falls back to its parents."""
        if not host_or_url:
            return None
        labels = url_host(host_or_url, bare=True).removeprefix("www.").split(".")
        for start in range(len(labels) - 1):  # never a bare top-level domain
            found = self._by_domain.get(".".join(labels[start:]))
            if found:
                return found
        return None

    def by_name(self, name: str | None) -> Outlet | None:
        """The outlet with this name or alias (case, punctuation and "The" ignored)."""
        return self._by_name.get(fold_name(name)) if name and name.strip() else None

    def knows_name(self, name: str) -> bool:
        return fold_name(name) in self._by_name

    def find(self, text: str | None) -> Outlet | None:
        """By name, else (for text that looks like a domain or URL) by domain."""
        if not text or not text.strip():
            return None
        found = self.by_name(text)
        if found is None and re.search(r"\.[a-z]{2,}(?:/|$)", text.strip(), re.IGNORECASE):
            found = self.by_domain(text)
        return found


@lru_cache(maxsize=1)
def packaged_outlets() -> tuple[Outlet, ...]:
    return tuple(Outlet.from_dict(row) for row in read_data(DATA_FILE)["outlets"])


@lru_cache(maxsize=1)
def packaged_registry() -> Registry:
    """The packaged outlets alone."""
    return Registry(packaged_outlets())


def registry_with(user: Sequence[Outlet]) -> Registry:
    """The packaged outlets merged with the user's ``user`` (none: the packaged registry itself)."""
    return _merged_registry(tuple(user)) if user else packaged_registry()


@lru_cache(maxsize=16)
def _merged_registry(user: tuple[Outlet, ...]) -> Registry:
    # Indexing the packaged list takes some 14 ms, more than a web page takes to serve; every
    # page and request asks for the registry, and the user's outlets rarely change. A Registry
    # is never changed once built, so one per distinct user list can be shared.
    return Registry(packaged_outlets(), user)


# --- documents -------------------------------------------------------------------------------


def outlet_of(document: Document, registry: Registry) -> Outlet | None:
    """The registry's entry for a document's outlet: by the name (or domain) it carries; by its
    URL only when it carries none (a named outlet may be the original of a syndicated copy)."""
    if document.outlet:
        return registry.find(document.outlet)
    return registry.by_domain(document.url)


# Lower-case words that may sit inside an institution's name ("Council on Foreign Relations").
_NAME_CONNECTORS = frozenset({"of", "on", "for", "and", "the", "de", "la", "le", "du", "des", "di",
                              "del", "für", "und", "&"})
_MAX_NAME_WORDS = 8


def _capitalised(token: str) -> bool:
    return token[:1].isupper() or token[:1].isdigit()


def outlets_named_in(text: str, registry: Registry) -> list[Outlet]:
    """Registry outlets named inside a phrase such as a role ("Valdai Club Program Director",
    "Director General of the Russian International Affairs Council"), longest name first at each
    position. Only capitalised names count, and a one-word name only as an acronym ("RIAC"):
    "part-time" must not find the magazine "Time"."""
    tokens = re.findall(r"[^\s,;:()]+", text)
    found: list[Outlet] = []
    for start, first in enumerate(tokens):
        if not _capitalised(first):
            continue
        for end in range(min(len(tokens), start + _MAX_NAME_WORDS), start, -1):
            window = tokens[start:end]
            inner_ok = all(_capitalised(t) or t.lower() in _NAME_CONNECTORS for t in window)
            acronym = len(window) > 1 or (len(first) >= 3 and first.isupper())
            plausible = inner_ok and acronym and _capitalised(window[-1])
            outlet = registry.by_name(" ".join(window)) if plausible else None
            if outlet is not None:
                found.append(outlet)
                break
    return found


def _main_speaker(document: Document) -> str | None:
    """The person an interview quotes throughout (more than half of its attributed quotes)."""
    quotes = document.annotations.quotes if document.annotations else []
    counts = Counter(q.speaker for q in quotes if q.speaker)
    if not counts:
        return None
    speaker, number = counts.most_common(1)[0]
    return speaker if number * 2 > sum(counts.values()) else None


def _voice_roles(document: Document) -> list[str]:
    """The roles of those whose piece it is: its authors, or for an unsigned interview the
    expert it quotes throughout."""
    roles = list(document.author_roles.values())
    if not document.authors and document.kind == "interview" and document.annotations:
        speaker = _main_speaker(document)
        roles += [m.role for m in document.annotations.mentions if m.name == speaker and m.role]
    return roles


def affiliation_country(document: Document, registry: Registry) -> str | None:
    """The country of the registry outlet (typically a think tank) that the piece's own voice is
    affiliated with: an institution's expert writing, or interviewed, under its name."""
    for role in _voice_roles(document):
        for outlet in outlets_named_in(role, registry):
            if outlet.country:
                return outlet.country
    return None


def enrich(documents: Iterable[Document], registry: Registry) -> None:
    """Give documents what the registry knows (in place).

    For a known outlet (by name, else by URL): its canonical name, its ownership, and its
    country, which replaces the stored one (as in the metadata stage, a known outlet's country
    beats any other evidence). For an unknown outlet, a missing country is taken from the
    registry outlet an author is affiliated with.
    """
    for document in documents:
        outlet = outlet_of(document, registry)
        if outlet is not None:
            document.outlet = outlet.name
            document.country = outlet.country or document.country
            document.ownership = outlet.ownership or document.ownership
        elif document.country is None:
            document.country = affiliation_country(document, registry)
