"""Metadata stage: title, authors and roles, outlet, publication date, language, country, kind.

Every field is taken from the most trustworthy place that has it:
``source.hints`` (what the input record said) > ``extraction.meta`` (markup) > the page text.
Two deliberate exceptions: a syndication / "first published at" / "Source:" line names the
*original* publisher, which beats the host site's markup; and author roles only ever come from
the text (bylines, bios, author boxes), because neither hints nor markup carry them.

Text evidence is mined from every block the cleaner produced, evidence and body alike, in document
order (``evidence[:evidence_before_body] + paragraphs + evidence[evidence_before_body:]``), so the
stage works whether or not the cleaner already moved the boilerplate out of the body. The *head* of
the page is everything before the first prose paragraph: that is where headlines, bylines and
datelines live, and where unlabeled evidence (a bare name line) is believed.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, cast
from urllib.parse import urlsplit

from storyline.decode import decode_bytes, sniff_mode
from storyline.dates import date_from_url, find_publication_date, parse_date
from storyline.model import DateSource, Document, Extraction, Kind, Source

# --- data files ------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    raw = resources.files("storyline").joinpath(f"data/{name}").read_text("utf-8")
    data: dict[str, Any] = json.loads(raw)
    return data


@lru_cache(maxsize=1)
def _vocab() -> dict[str, Any]:
    return _load("metadata_vocab.json")


@lru_cache(maxsize=1)
def _countries() -> dict[str, Any]:
    return _load("metadata_countries.json")


@dataclass(frozen=True)
class Outlet:
    name: str
    domains: tuple[str, ...]
    country: str | None


@lru_cache(maxsize=1)
def _outlets() -> tuple[dict[str, Outlet], dict[str, Outlet]]:
    """(by registrable domain, by folded name or alias)."""
    by_domain: dict[str, Outlet] = {}
    by_name: dict[str, Outlet] = {}
    for row in _load("outlets.json")["outlets"]:
        outlet = Outlet(row["name"], tuple(row["domains"]), row.get("country"))
        for domain in outlet.domains:
            by_domain[domain] = outlet
        for name in [row["name"], *row.get("aliases", [])]:
            by_name[_fold_name(name)] = outlet
    return by_domain, by_name


def _fold_name(name: str) -> str:
    # "The Washington Post" and "Washington Post" are one outlet.
    folded = re.sub(r"[^\w&]+", " ", name.casefold()).strip()
    return re.sub(r"^the\s+", "", folded)


# --- page lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One non-empty line of the page, normalised, with where it sits."""

    text: str
    index: int
    head: bool  # before the first prose paragraph
    body: bool  # part of ``extraction.paragraphs``


def normalise(text: str) -> str:
    """One-line form for matching: no-break and zero-width spaces and markdown emphasis removed."""
    text = re.sub(r"[\u00a0\u2007\u202f\u2009]", " ", text)
    text = re.sub(r"[\u200b\u200c\u200d\ufeff]", "", text)
    text = text.replace("*", "")
    return re.sub(r"\s+", " ", text).strip()


def _is_prose(text: str) -> bool:
    return len(text.split()) >= int(_vocab()["prose_min_words"]) and bool(re.search(r"[.!?…»”\"]", text))


def _is_prose_block(block: str) -> bool:
    """Body prose: one long sentence-bearing line, or a hard-wrapped paragraph of long-ish lines."""
    lines = [line for line in block.splitlines() if line.strip()]
    if any(_is_prose(line) for line in lines):
        return True
    words = sum(len(line.split()) for line in lines)
    return _is_prose(" ".join(lines)) and words / max(len(lines), 1) >= 8


def _lines_of(blocks: list[tuple[str, bool]]) -> list[Line]:
    lines: list[Line] = []
    in_head = True
    for block, is_body in blocks:
        in_head = in_head and not _is_prose_block(block)
        for raw in block.splitlines():
            text = normalise(raw)
            if text:
                lines.append(Line(text, len(lines), in_head, is_body))
    return lines


def page_lines(extraction: Extraction) -> list[Line]:
    """Every non-empty line in document order (evidence before body, body, evidence after body)."""
    before = extraction.evidence[: extraction.evidence_before_body]
    after = extraction.evidence[extraction.evidence_before_body :]
    blocks = [(b, False) for b in before] + [(b, True) for b in extraction.paragraphs] + [(b, False) for b in after]
    return _lines_of(blocks)


def raw_text_lines(source: Source) -> list[Line] | None:
    """The input's own lines when it is plain text: the cleaner may have joined or dropped the
    short lines (bylines, name/role pairs) that metadata needs. None for HTML input."""
    if source.mode == "html":
        return None
    try:
        text = source.data if isinstance(source.data, str) else decode_bytes(source.data)
    except Exception:  # undecodable here means the cleaner's view is all we have
        return None
    if source.mode is None and sniff_mode(text) == "html":
        return None
    blocks = [b for b in re.split(r"\n[ \t\u00a0]*\n", text.replace("\r\n", "\n")) if b.strip()]
    return _lines_of([(b, False) for b in blocks])


# --- names -----------------------------------------------------------------------------------

_NAME_TOKEN = re.compile(r"^(?:[^\W\d_]\.){1,3}$|^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?$")


def _name_tokens_ok(tokens: list[str]) -> bool:
    vocab = _vocab()
    # Role words ("Senior Fellow") are not names, except those that are also common given names/surnames.
    stop = set(vocab["name_stop_tokens"]) | (set(vocab["role_words"]) - set(vocab["role_words_that_are_names"]))
    particles = set(vocab["name_particles"])
    capitalised = 0
    for token in tokens:
        if token.lower() in particles and token.islower():
            continue
        if not _NAME_TOKEN.match(token) or not token[0].isupper() or token.lower().strip(".") in stop:
            return False
        capitalised += 1
    return capitalised >= 2


def is_person_name(text: str) -> bool:
    """Looks like a person's name: 2-5 capitalised words, not junk, not an outlet, no digits/handles."""
    text = text.strip().strip(",;:")
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or re.search(r"[\d@/:#|()\[\]?!]", text):
        return False
    if text.casefold() in _vocab()["junk_authors"] or _fold_name(text) in _outlets()[1]:
        return False
    return _name_tokens_ok(tokens)


def _tidy_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,;:.-–—")
    # An all-capitals byline ("ANDREY BEZRUKOV") reads better as a name.
    return name.title() if name.isupper() else name


def clean_author_list(names: Iterable[str]) -> list[str]:
    """Names only: junk ("Staff", "Email the author"), handles, URLs and outlets dropped, duplicates merged."""
    seen: set[str] = set()
    kept: list[str] = []
    for raw in names:
        name = _tidy_name(normalise(raw))
        if is_person_name(name) and name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\bи\b)\s*")


def split_names(text: str) -> list[str]:
    """"A, B and C" -> [A, B, C]."""
    return [part for part in _NAME_SPLIT.split(text) if part and part.strip()]


# --- roles -----------------------------------------------------------------------------------


def _has_role_word(text: str) -> bool:
    words = set(re.findall(r"[^\W\d_]+", text.casefold()))
    return bool(words & set(_vocab()["role_words"]))


def is_role_line(text: str) -> bool:
    """A short line describing someone's position ("Director General of X, member of Y")."""
    return (
        len(text) <= int(_vocab()["role_max_chars"])
        and not text.endswith("?")
        and not _label_value(text)
        and _has_role_word(text)
        and not is_person_name(text)
    )


def _tidy_role(role: str) -> str:
    role = re.sub(r"^(?:a|an)\s+", "", role.strip(), flags=re.IGNORECASE)
    return role.rstrip(" .;,")


_LABEL = re.compile(r"^(?P<label>[^\W\d_][\w .'&/-]{0,30}?)\s*:\s*(?P<value>.+)$")


def _label_value(text: str) -> tuple[str, str] | None:
    """("location", "Moscow, Russia") for "Location: Moscow, Russia"."""
    match = _LABEL.match(text)
    return (match["label"].casefold(), match["value"].strip()) if match else None


# --- authors ---------------------------------------------------------------------------------


@dataclass
class AuthorEvidence:
    names: list[str] = field(default_factory=list)
    roles: dict[str, str] = field(default_factory=dict)
    used_lines: set[int] = field(default_factory=set)  # lines that are bylines/roles, not headlines
    location_country: str | None = None

    def add(self, name: str, role: str | None = None) -> None:
        name = _tidy_name(name)
        if not is_person_name(name):
            return
        existing = next((n for n in self.names if n.casefold() == name.casefold()), None)
        if existing is None:
            self.names.append(name)
            existing = name
        if role and existing not in self.roles:
            self.roles[existing] = _tidy_role(role)


_SYNDICATION = re.compile(
    r"\b(?:[Tt]his|[Tt]he)\s+(?:article|story|piece|report|column|op-ed)\s+(?:was\s+)?(?:originally\s+)?"
    r"(?:written|authored|reported|produced)\s+by\s+(?P<names>.+?)\s+(?:from|of|for|at)\s+"
    r"(?P<outlet>(?:[Tt]he\s+)?[A-Z][\w.&'’-]*(?:\s+(?:of|and|&)\s+[A-Z][\w.&'’-]*|\s+[A-Z][\w.&'’-]*)*)",
)

_BYLINE = re.compile(
    r"^(?:by|written by|words by|reporting by|text by|von|par|por|di|автор:?)\s+(?P<rest>.+)$", re.IGNORECASE
)
# Where a byline's names stop: a label, a separator, a date, an outlet attribution.
_BYLINE_STOP = re.compile(
    r"\s+(?i:source|published|updated|posted|photo|illustration|date|image)\s*:|\s*[|•·–—]\s*|\s+-\s+|\d"
    r"|\s+(?:for|from|at|in)\s+(?=[A-Z])|,\s*(?:[Tt]he\s)",
)


def _syndication(lines: list[Line]) -> tuple[list[str], str | None]:
    for line in lines:
        match = _SYNDICATION.search(line.text)
        if match:
            return split_names(match["names"]), match["outlet"].strip()
    return [], None


def _byline_names(line: Line) -> list[str]:
    if len(line.text) > int(_vocab()["byline_max_chars"]):
        return []
    match = _BYLINE.match(line.text)
    if not match:
        return []
    rest = match["rest"]
    stop = _BYLINE_STOP.search(rest)
    names = rest[: stop.start()] if stop else rest
    return [n for n in split_names(names) if is_person_name(_tidy_name(n))]


def _author_box(lines: list[Line], start: int, found: AuthorEvidence) -> None:
    """An "AUTHOR" label followed by a name line, a role line and bio lines."""
    following = lines[start + 1 : start + 10]
    name_line = next((l for l in following[:3] if is_person_name(_tidy_name(l.text))), None)
    if name_line is None:
        return
    rest = [l for l in following if l.index > name_line.index]
    role_line = next((l for l in rest[:2] if not _label_value(l.text) and len(l.text) <= 120), None)
    role = role_line.text if role_line and not is_person_name(role_line.text) else None
    if role:
        role = _extend_role(role, [l.text for l in rest] + _bio_lines_about(lines, name_line.text))
        found.used_lines.add(role_line.index)  # type: ignore[union-attr]
    found.add(name_line.text, role)
    found.used_lines.update({lines[start].index, name_line.index})
    found.location_country = found.location_country or _location_country([l.text for l in rest])


def _bio_lines_about(lines: list[Line], name: str) -> list[str]:
    """Labelled bio lines ("Work experience: Jane is ...") that mention the author by a name token."""
    tokens = {t for t in _tidy_name(name).split() if len(t) > 2}
    return [
        line.text for line in lines
        if _label_value(line.text) and tokens & set(re.findall(r"[^\W\d_]+", _label_value(line.text)[1][:80]))  # type: ignore[index]
    ]


def _extend_role(role: str, bio: list[str]) -> str:
    """A bare title ("Advisor") gains its affiliation when the bio spells it out ("Advisor to X")."""
    if len(role.split()) > 3:
        return role
    pattern = re.compile(rf"\b{re.escape(role)}\s+(?:to|at|of|with|for)\s+[^.;]+", re.IGNORECASE)
    for text in bio:
        match = pattern.search(text)
        if match:
            return role + match.group(0)[len(role) :]
    return role


def _location_country(texts: list[str]) -> str | None:
    for text in texts:
        pair = _label_value(text)
        if pair and pair[0] in ("location", "based in", "country"):
            last = pair[1].split(",")[-1].strip().rstrip(".")
            code = _countries()["names"].get(last)
            if code:
                return cast(str, code)
    return None


def _trailing_name(text: str) -> str | None:
    """The name a line is or ends with: a cleaner may have joined "Share this article" and the byline name."""
    tokens = text.split()
    for size in (4, 3, 2):
        tail = " ".join(tokens[-size:])
        if len(tokens) >= size and is_person_name(_tidy_name(tail)):
            before = tokens[-size - 1] if len(tokens) > size else ""
            # The joined-on words before the name must not be part of it (a capitalised word would be).
            if not before or not before[0].isupper() or before.endswith((")", ":")):
                return tail
    return None


def _head_name_role(lines: list[Line], found: AuthorEvidence) -> None:
    """At the top of the page: a lone name line directly followed by a role/affiliation line."""
    head = [l for l in lines if l.head]
    for name_line, role_line in zip(head, head[1:]):
        name = _trailing_name(name_line.text)
        if name and is_role_line(role_line.text):
            found.add(name, role_line.text)
            found.used_lines.update({name_line.index, role_line.index})


def _bio_sentences(lines: list[Line], found: AuthorEvidence) -> None:
    """"The author is a PhD candidate at X." / "Jane Roe is a fellow at Y." give roles."""
    openers = tuple(_vocab()["bio_openers"])
    for line in lines:
        if len(line.text) > 300:
            continue
        lowered = line.text.casefold()
        opener = next((o for o in openers if lowered.startswith(o + " ")), None)
        if opener and len(found.names) == 1:
            _set_role(found, found.names[0], line.text[len(opener) :])
            continue
        for name in found.names:
            if lowered.startswith(name.casefold() + " is "):
                _set_role(found, name, line.text[len(name) + 4 :])


def _set_role(found: AuthorEvidence, name: str, sentence: str) -> None:
    role = _tidy_role(re.split(r"(?<=[a-z])\.\s", sentence.strip())[0])
    if role and _has_role_word(role) and name not in found.roles:
        found.roles[name] = role


def find_authors(lines: list[Line]) -> tuple[AuthorEvidence, str | None]:
    """Authors (names and roles) the page text states, and a syndication line's original outlet."""
    found = AuthorEvidence()
    names, syndicated_outlet = _syndication(lines)
    for name in names:
        found.add(name)
    labels = set(_vocab()["author_labels"])
    for position, line in enumerate(lines):
        for name in _byline_names(line):
            found.add(name)
            found.used_lines.add(line.index)
        if line.text.casefold().rstrip(":") in labels:
            _author_box(lines, position, found)
        else:
            pair = _label_value(line.text)
            if pair and pair[0] in labels and is_person_name(pair[1]):
                found.add(pair[1])
                found.used_lines.add(line.index)
    _head_name_role(lines, found)
    _bio_sentences(lines, found)
    return found, syndicated_outlet


# --- outlets ---------------------------------------------------------------------------------


def registrable_domain(host_or_url: str) -> str | None:
    """"https://www.news.example.co.uk/x" -> "example.co.uk"; None when there is no host."""
    text = host_or_url.strip().lower()
    host = urlsplit(text if "://" in text else "//" + text).hostname
    if not host or "." not in host:
        return None
    parts = host.split(".")
    two_level = ".".join(parts[-2:]) in _countries()["second_level_suffixes"]
    keep = 3 if two_level else 2
    return ".".join(parts[-keep:]) if len(parts) >= keep else host


def outlet_for_domain(domain: str | None) -> Outlet | None:
    if not domain:
        return None
    by_domain = _outlets()[0]
    host = domain.lower()
    return by_domain.get(host) or by_domain.get(registrable_domain(host) or "")


def canonical_outlet(name: str) -> str:
    """A known outlet's display name ("Washington Post" -> "The Washington Post"), else the name."""
    if _DOMAIN.fullmatch(name.strip()):
        known = outlet_for_domain(name)
        return known.name if known else (registrable_domain(name) or name)
    known_by_name = _outlets()[1].get(_fold_name(name))
    return known_by_name.name if known_by_name else name.strip()


_DOMAIN = re.compile(r"(?:https?://)?(?:www\.)?(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?:/\S*)?", re.I)
_ORIGINAL = re.compile(
    r"\b(?:first|originally)\s+(?:published|appeared|posted)\s+(?:at|in|on|by)\s+(?P<outlet>.+?)(?:[.,;]\s|[.;]?$)"
    r"|\b(?:this|the)\s+(?:article|story|piece)\s+(?:first|originally)\s+appeared\s+(?:at|in|on)\s+(?P<outlet2>.+?)(?:[.,;]\s|[.;]?$)"
    r"|\brepublished\s+(?:with\s+permission\s+)?from\s+(?P<outlet3>.+?)(?:\s+under\b|[.,;]\s|[.;]?$)",
    re.IGNORECASE,
)
_SOURCE = re.compile(r"(?:^|\s)(?:source|quelle|источник)\s*:\s*(?P<outlet>.+?)(?=\s+(?:published|updated|posted|date)\s*:|$)", re.IGNORECASE)
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)\s*(?:©\s*)?(?P<year>(?:19|20)\d{2})(?:\s*[-–]\s*(?:19|20)\d{2})?\s*,?\s*(?:by\s+)?(?P<name>[^.|;©]+)",
    re.IGNORECASE,
)


def _outlet_like(value: str, title: str | None) -> bool:
    """A plausible publisher name: short, capitalised, not a sentence or headline, not a person."""
    value = value.strip()
    if _outlets()[1].get(_fold_name(value)) or _DOMAIN.fullmatch(value):
        return True
    words = value.split()
    same_as_title = title is not None and _fold_name(value) == _fold_name(title)
    junk = {"getty images", "shutterstock", "wordpress", "all rights reserved"}
    return (
        1 <= len(words) <= 6
        and value[0].isupper()
        and not re.search(r"[?:!]", value)
        and not same_as_title
        and value.casefold() not in junk
        and not is_person_name(value)
    )


def original_publisher(lines: list[Line], title: str | None) -> str | None:
    """"First published at x.com", "This article first appeared in X", "Source: X" (head/byline)."""
    for line in lines:
        match = _ORIGINAL.search(line.text)
        if match:
            value = (match["outlet"] or match["outlet2"] or match["outlet3"]).strip()
            if _outlet_like(value, title):
                return canonical_outlet(value)
    for line in lines:
        match = _SOURCE.search(line.text)
        if not match:
            continue
        value = match["outlet"].strip()
        known = _outlets()[1].get(_fold_name(value)) is not None
        if _outlet_like(value, title) and (known or line.head or _BYLINE.match(line.text)):
            return canonical_outlet(value)
    return None


def copyright_holder(lines: list[Line]) -> str | None:
    for line in lines:
        match = _COPYRIGHT.search(line.text)
        if match:
            name = re.sub(r"\s*all rights reserved.*$", "", match["name"], flags=re.IGNORECASE).strip(" ,")
            if name and _outlet_like(name, None):
                return canonical_outlet(name)
    return None


def _text_domain(lines: list[Line]) -> str | None:
    """A domain the text names as where the article was first published."""
    for line in lines:
        match = _ORIGINAL.search(line.text)
        value = match and (match["outlet"] or match["outlet2"] or match["outlet3"])
        if value and _DOMAIN.fullmatch(value.strip()):
            return registrable_domain(value.strip())
    return None


# --- country ---------------------------------------------------------------------------------


def country_of_domain(domain: str | None) -> str | None:
    """A country-code TLD's country ("example.ru" -> "RU"); None for generic and vanity TLDs."""
    if not domain:
        return None
    tld = domain.rsplit(".", 1)[-1].lower()
    data = _countries()
    if tld in data["tld_to_country"]:
        return cast(str, data["tld_to_country"][tld])
    if len(tld) != 2 or tld in data["generic_cctlds"]:
        return None
    return tld.upper()


def _outlet_country(outlet: str | None) -> str | None:
    known = _outlets()[1].get(_fold_name(outlet)) if outlet else None
    return known.country if known else None


# --- dates -----------------------------------------------------------------------------------


def normalise_date(value: str | None) -> str | None:
    """A metadata date string ("2018-07-23T10:00:00Z", "July 23, 2018") -> "2018-07-23", or None."""
    if not value:
        return None
    parsed = parse_date(str(value))
    return parsed.iso if parsed and parsed.iso and parsed.precision == "day" else None


def _text_date(lines: list[Line], country: str | None, language: str | None) -> str | None:
    head = sum(1 for line in lines if line.head)
    found = find_publication_date([l.text for l in lines], country=country, language=language, head=head)
    return found[0] if found else None


# --- language --------------------------------------------------------------------------------


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the body (py3langid); None when there is too little text to tell."""
    if len(re.findall(r"[^\W\d_]", text)) < 20:
        return None
    import py3langid

    code, _score = py3langid.classify(text[:20000])
    return str(code)


# --- title -----------------------------------------------------------------------------------

_NOT_HEADLINE_LABELS = re.compile(
    r"^(?:by|source|published|updated|posted|photo|illustration|image|credit|location|date|tags?)\b", re.IGNORECASE
)


def _is_headline_like(text: str) -> bool:
    vocab = _vocab()
    words = text.split()
    if not int(vocab["headline_min_words"]) <= len(words) <= int(vocab["headline_max_words"]):
        return False
    if len(text) > int(vocab["headline_max_chars"]) or text.endswith((".", ",", ":", ";")):
        return False
    if _NOT_HEADLINE_LABELS.match(text) or text.casefold() in vocab["widget_lines"] or text.startswith("("):
        return False
    date = parse_date(text)
    if date and len(text) - (date.end - date.start) < 15:
        return False
    return bool(re.search(r"[^\W\d_]{2}", text)) and not is_person_name(text)


def _breadcrumb_title(line: Line, later: list[Line]) -> str | None:
    """A breadcrumb ("Home Politics Title") gives the title when a later line is its tail, or by its last '>' segment."""
    for other in later:
        if other.text != line.text and line.text.endswith(" " + other.text):
            return None  # the later line itself is the title; let it be picked
    segments = re.split(r"\s*[›>»|/]\s*", line.text)
    return segments[-1] if len(segments) > 1 and _is_headline_like(segments[-1]) else None


def _is_breadcrumb(text: str) -> bool:
    first = text.split()[0].casefold() if text.split() else ""
    return first in _vocab()["breadcrumb_starts"] and len(text.split()) > 1


def title_from_text(lines: list[Line], used: set[int]) -> str | None:
    """The first headline-like line at the top of the page that is not a byline, date or widget."""
    head = [l for l in lines if l.head and l.index not in used]
    for position, line in enumerate(head):
        if _is_breadcrumb(line.text):
            crumb = _breadcrumb_title(line, head[position + 1 :])
            if crumb:
                return crumb
            continue
        if _is_headline_like(line.text):
            return line.text
    return None


def recase_title(title: str, lines: list[Line]) -> str:
    """An all-capitals headline takes its normal casing from another line that repeats it."""
    if not title.isupper():
        return title
    folded = _fold_name(title)
    for line in lines:
        pair = _label_value(line.text)
        for candidate in (line.text, pair[1] if pair else ""):
            if candidate and not candidate.isupper() and _fold_name(candidate) == folded:
                return candidate.strip()
    return title


# --- kind ------------------------------------------------------------------------------------

_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“”]*[“”]")
_FIRST_PERSON = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|[Mm]y|[Mm]e|[Ww]e|[Oo]ur|[Uu]s|[Ww]e're|[Ww]e’re)\b")
_CAPITALISED = r"(?:[A-Z][\w’'-]+\.?\s+){0,3}[A-Z][\w’'-]+"


def _section_kind(lines: list[Line], title: str | None) -> Kind | None:
    """"Posted in: VIEWPOINT", a head line "Opinion", a title "Analysis: ..." name the kind."""
    sections: dict[str, str] = _vocab()["section_kinds"]
    labels = set(_vocab()["section_labels"])
    for line in lines:
        pair = _label_value(line.text)
        if pair and pair[0] in labels and pair[1].casefold() in sections:
            return cast(Kind, sections[pair[1].casefold()])
        if line.head and line.text.casefold() in sections and sections[line.text.casefold()] != "news":
            return cast(Kind, sections[line.text.casefold()])
    prefix = _label_value(title or "")
    if prefix and prefix[0] in sections and sections[prefix[0]] != "news":
        return cast(Kind, sections[prefix[0]])
    return None


def _is_qa(paragraphs: list[str]) -> bool:
    """Interview transcripts: Q:/A: turns, or many paragraphs that are only a question."""
    thresholds = _vocab()["kind"]
    if sum(bool(re.match(r"^(?:Q|Question|Frage|Вопрос)\s*[:.]", p)) for p in paragraphs) >= 2:
        return True
    questions = [
        p for p in paragraphs
        if p.rstrip().endswith("?") and len(p.split()) <= int(thresholds["qa_question_max_words"])
    ]
    return (
        len(questions) >= int(thresholds["qa_min_question_paragraphs"])
        and len(questions) / max(len(paragraphs), 1) >= float(thresholds["qa_min_question_share"])
    )


def _attributions(text: str) -> tuple[int, Counter[str]]:
    """How many speech attributions the unquoted text has, and who the named speakers are (by surname)."""
    verbs = "|".join(re.escape(v) for v in _vocab()["reporting_verbs"])
    total = len(re.findall(rf"\b(?:{verbs})\b", text))
    speakers: Counter[str] = Counter()
    named = (
        rf"(?P<a>{_CAPITALISED})\s+(?:{verbs})\b"
        rf"|\b(?:said|says|according to)\s+(?P<b>{_CAPITALISED})"
    )
    for match in re.finditer(named, text):
        name = (match["a"] or match["b"]).split()[-1]
        if name not in {"He", "She", "They", "It", "This", "That", "The", "But", "And"}:
            speakers[name] += 1
    return total, speakers


def classify_kind(paragraphs: list[str], lines: list[Line], title: str | None, has_author_bio: bool) -> Kind | None:
    """news / opinion / interview / analysis from section words, Q&A shape, who speaks, and author voice."""
    labelled = _section_kind(lines, title)
    if labelled:
        return labelled
    if not paragraphs:
        return None
    if _is_qa(paragraphs):
        return "interview"
    thresholds = _vocab()["kind"]
    unquoted = _QUOTED.sub(" ", "\n".join(paragraphs))
    words = max(len(unquoted.split()), 1)
    total, speakers = _attributions(unquoted)
    if total >= int(thresholds["interview_min_attributions"]) and len(speakers) == 1:
        return "interview"  # one expert quoted throughout: an interview written up as prose
    first_person = len(_FIRST_PERSON.findall(unquoted)) * 1000 / words
    sparse_quotes = total * 100 / words <= float(thresholds["opinion_max_attributions_per_100"])
    if sparse_quotes and (first_person >= float(thresholds["first_person_per_1000"]) or has_author_bio):
        return "opinion"
    if total >= int(thresholds["news_min_attributions"]):
        return "news"
    return "opinion" if has_author_bio else None


# --- assembly --------------------------------------------------------------------------------


def _pick_authors(source: Source, extraction: Extraction, found: AuthorEvidence) -> list[str]:
    if source.hints.authors:
        return [a.strip() for a in source.hints.authors if a and a.strip()]
    meta = extraction.meta.get("authors") or []
    meta_names = clean_author_list(split_names(meta) if isinstance(meta, str) else meta)
    return meta_names or found.names


def _roles_for(authors: list[str], found: AuthorEvidence) -> dict[str, str]:
    by_fold = {name.casefold(): role for name, role in found.roles.items()}
    return {name: by_fold[name.casefold()] for name in authors if name.casefold() in by_fold}


def _pick_outlet(
    source: Source, extraction: Extraction, lines: list[Line], syndicated: str | None, title: str | None, url: str | None
) -> str | None:
    url_domain = registrable_domain(url) if url else None
    known_from_url = outlet_for_domain(url_domain)
    candidates = [
        source.hints.outlet,
        canonical_outlet(syndicated) if syndicated else None,  # the original publisher beats the host
        original_publisher(lines, title),
        extraction.meta.get("outlet"),
        known_from_url.name if known_from_url else None,
        copyright_holder(lines),
        url_domain,
    ]
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)


def _pick_country(outlet: str | None, lines: list[Line], url: str | None, found: AuthorEvidence) -> str | None:
    outlet_domain = _text_domain(lines)
    if outlet_domain is None and url and not _outlet_country(outlet):
        outlet_domain = registrable_domain(url)
    for candidate in (_outlet_country(outlet), country_of_domain(outlet_domain), found.location_country):
        if candidate:
            return candidate
    return None


def _pick_date(
    source: Source, extraction: Extraction, lines: list[Line], url: str | None, country: str | None, language: str | None
) -> tuple[str | None, DateSource | None]:
    hinted = normalise_date(source.hints.published)
    if hinted:
        return hinted, "meta"
    meta = normalise_date(extraction.meta.get("published"))
    if meta:
        where = extraction.meta.get("published_from")
        return meta, cast(DateSource, where if where in ("meta", "text", "url", "inferred") else "meta")
    in_text = _text_date(lines, country, language)
    if in_text:
        return in_text, "text"
    from_url = date_from_url(url) if url else None
    return (from_url, "url") if from_url else (None, None)


def _plausible_cleaner_title(title: str | None, lines: list[Line], used: set[int]) -> str | None:
    """The cleaner's headline guess, unless it is a line we know to be a byline, role, name or date."""
    if not title or not title.strip():
        return None
    title = normalise(title)
    consumed = {lines[i].text for i in used if i < len(lines)}
    return title if title not in consumed and _is_headline_like(title) else None


def _pick_title(source: Source, extraction: Extraction, lines: list[Line], used: set[int]) -> str | None:
    for candidate in (source.hints.title, extraction.meta.get("title")):
        if isinstance(candidate, str) and candidate.strip():
            return recase_title(normalise(candidate), lines)
    found = _plausible_cleaner_title(extraction.title, lines, used) or title_from_text(lines, used)
    return recase_title(found, lines) if found else None


def build_document(source: Source, extraction: Extraction) -> Document:
    """The contract's document object for one cleaned input, with every metadata field filled from evidence."""
    lines = raw_text_lines(source) or page_lines(extraction)
    text = extraction.text
    url = source.hints.url or extraction.meta.get("url")
    found, syndicated = find_authors(lines)
    title = _pick_title(source, extraction, lines, found.used_lines)
    authors = _pick_authors(source, extraction, found)
    outlet = _pick_outlet(source, extraction, lines, syndicated, title, url)
    language = detect_language(text) or extraction.meta.get("language")
    country = _pick_country(outlet, lines, url, found)
    published, published_from = _pick_date(source, extraction, lines, url, country, language)
    has_bio = bool(found.roles) or any(l.text.casefold().startswith(tuple(_vocab()["bio_openers"])) for l in lines)
    return Document(
        origin=source.origin,
        url=url,
        title=title,
        text=text,
        authors=authors,
        author_roles=_roles_for(authors, found),
        outlet=outlet,
        published=published,
        published_from=published_from,
        language=language,
        country=country,
        kind=classify_kind(extraction.paragraphs, lines, title, has_bio),
        words=len(text.split()),
        boilerplate_removed_chars=extraction.removed_chars,
    )
