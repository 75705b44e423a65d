"""Metadata stage: title, authors and roles, outlet, publication date, language, country, kind.

Every field is taken from the most trustworthy place that has it:
``source.hints`` (what the input record said) > ``extraction.meta`` (markup) > the page text.
Deliberate exceptions: a syndication line ("This article was written by A from The X") names the
*original* publisher and beats even a hinted outlet (hints and markup name the host that licensed
the copy); "first published at" / "Source:" lines beat the host site's markup; and author roles
only ever come from the text (bylines, bios, author boxes), because neither hints nor markup
carry them.

Text evidence is mined from the page's lines in document order. For plain-text input these are
the input's own lines (a cleaner may join or drop the short lines metadata lives on); otherwise
every block the cleaner produced, evidence and body alike
(``evidence[:evidence_before_body] + paragraphs + evidence[evidence_before_body:]``). Either way
the stage works whether or not the boilerplate was already moved out of the body. The *head* of
the page is everything before the first prose paragraph: that is where headlines, bylines and
datelines live, and where unlabelled evidence (a bare name line above a role line) is believed.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast

from storyline.countries import country_code, country_of_domain, second_level_suffixes
from storyline.errors import InputProblem
from storyline.model import DateSource, Document, Extraction, Kind, Source
from storyline.outlets import Outlet, Registry, fold_name, url_host
from storyline.read.dates import date_from_url, find_publication_date, parse_date
from storyline.read.decode import decode_bytes, sniff_mode
from storyline.resources import read_data

# --- data files ------------------------------------------------------------------------------


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = read_data(name)
    return data


@lru_cache(maxsize=1)
def _vocab() -> dict[str, Any]:
    return _load("metadata_vocab.json")


# The outlet registry (storyline.outlets) is given to this stage: the packaged outlets, or for an
# ingest the store's, user outlets included. Every helper that asks it takes it as ``registry``.
# "The Washington Post" and "Washington Post" fold to one name.
_fold_name = fold_name


# --- page lines ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One non-empty line of the page, normalised, with where it sits."""

    text: str
    index: int
    head: bool  # before the first prose paragraph


def normalise(text: str) -> str:
    """One-line form for matching: no-break and zero-width spaces and markdown emphasis removed."""
    text = re.sub(r"[\u00a0\u2007\u202f\u2009]", " ", text)
    text = re.sub(r"[\u200b\u200c\u200d\ufeff]", "", text)
    text = text.replace("*", "")
    # A wide gap separates menu items ("World   Economy"): keep it visible as a separator.
    text = re.sub(r"[ \t]{3,}", " | ", text.strip())
    return re.sub(r"\s+", " ", text).strip()


def _is_prose(text: str) -> bool:
    return len(text.split()) >= int(_vocab()["prose_min_words"]) and bool(re.search(r"[.!?…»”\"]", text))


def _is_hard_wrapped(lines: list[str]) -> bool:
    """A paragraph broken into fixed-width lines (e-mail, terminals): all but the last mid-length."""
    return len(lines) >= 2 and all(45 <= len(line.strip()) <= 100 for line in lines[:-1])


def _is_prose_block(block: str) -> bool:
    """Body prose: one long sentence-bearing line, or a hard-wrapped paragraph."""
    lines = [line for line in block.splitlines() if line.strip()]
    if any(_is_prose(line) for line in lines):
        return True
    return _is_hard_wrapped(lines) and _is_prose(" ".join(lines))


def _lines_of(blocks: list[str]) -> list[Line]:
    """Lines with their head flag. The head ends at the first prose line, or at the first
    hard-wrapped prose block (whose lines are each too short to look like prose)."""
    lines: list[Line] = []
    in_head = True
    for block in blocks:
        raw_lines = [line for line in block.splitlines() if line.strip()]
        if _is_hard_wrapped(raw_lines) and _is_prose(" ".join(raw_lines)):
            in_head = False
        for raw in raw_lines:
            text = normalise(raw)
            in_head = in_head and not _is_prose(text)
            if text:
                lines.append(Line(text, len(lines), in_head))
    return lines


def page_lines(extraction: Extraction) -> list[Line]:
    """Every non-empty line in document order (evidence before body, body, evidence after body)."""
    before = extraction.evidence[: extraction.evidence_before_body]
    after = extraction.evidence[extraction.evidence_before_body :]
    return _lines_of([*before, *extraction.paragraphs, *after])


def raw_text_lines(source: Source) -> list[Line] | None:
    """The input's own lines when it is plain text: the cleaner may have joined or dropped the
    short lines (bylines, name/role pairs) that metadata needs. None for HTML input."""
    if source.mode == "html":
        return None
    try:
        text = source.data if isinstance(source.data, str) else decode_bytes(source.data)
    except InputProblem:  # undecodable here: the cleaner's view is all we have
        return None
    if source.mode is None and sniff_mode(text) == "html":
        return None
    blocks = [b for b in re.split(r"\n[ \t\u00a0]*\n", text.replace("\r\n", "\n")) if b.strip()]
    return _lines_of(blocks)


# --- names -----------------------------------------------------------------------------------

_NAME_TOKEN = re.compile(r"^(?:[^\W\d_]\.){1,3}$|^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?$")


@lru_cache(maxsize=1)
def _name_vocab() -> tuple[frozenset[str], frozenset[str]]:
    """(words that are never part of a name, lower-case particles that may be)."""
    vocab = _vocab()
    # Role words ("Senior Fellow") are not names, except those that are also common given names/surnames.
    roles = set(vocab["role_words"]) - set(vocab["role_words_that_are_names"])
    stop = set(vocab["name_stop_tokens"]) | roles | set(vocab["affiliation_words"])
    return frozenset(stop), frozenset(vocab["name_particles"])


def _name_tokens_ok(tokens: list[str]) -> bool:
    stop, particles = _name_vocab()
    all_caps = all(t.isupper() for t in tokens)
    capitalised = 0
    for token in tokens:
        if token.lower() in particles and token.islower():
            continue
        if not _NAME_TOKEN.match(token) or not token[0].isupper() or token.lower().strip(".") in stop:
            return False
        if not all_caps and _is_acronym(token) and (token is not tokens[-1] or re.search(r"[a-z]", token)):
            return False  # "NASA", "FOXBusiness": acronyms belong to headlines; "Jean DUPONT" is fine
        capitalised += 1
    return capitalised >= 2


def _is_acronym(token: str) -> bool:
    """An upper-case run of three or more letters ("NASA", "LGBTQ-friendly", "FOXBusiness")."""
    return re.search(r"[A-Z]{3}", token) is not None


def is_person_name(text: str, registry: Registry) -> bool:
    """Looks like a person's name: 2-5 capitalised words, not junk, not an outlet, no digits/handles."""
    text = text.strip().strip(",;:")
    tokens = text.split()
    if not 2 <= len(tokens) <= 5 or re.search(r"[\d@/:#|()\[\]?!]", text):
        return False
    if text.casefold() in _vocab()["junk_authors"] or registry.knows_name(text):
        return False
    return _name_tokens_ok(tokens)


def _tidy_name(name: str) -> str:
    name = re.sub(r"\s+", " ", name).strip(" ,;:.-–—")
    half = len(name.split()) // 2
    if half and name.split()[:half] == name.split()[half:]:
        name = " ".join(name.split()[:half])  # a name printed twice ("Sean Lee Sean Lee")
    # An all-capitals byline ("ANDREY BEZRUKOV") reads better as a name.
    return name.title() if name.isupper() else name


def clean_author_list(names: Iterable[str], registry: Registry) -> list[str]:
    """Names only: junk ("Staff", "Email the author"), handles, URLs and outlets dropped, duplicates
    merged."""
    kept: list[str] = []
    for raw in names:
        name = _tidy_name(normalise(raw))
        if not is_person_name(name, registry):
            continue
        same = next((i for i, other in enumerate(kept) if _same_person(name, other)), None)
        if same is None:
            kept.append(name)
        elif len(name) > len(kept[same]):
            kept[same] = name  # keep the fullest form ("Troy L. Smith" over "Troy Smith")
    return kept


def _same_person(a: str, b: str) -> bool:
    """Same first and last name, whatever the middle initials."""
    ta, tb = a.casefold().replace(".", "").split(), b.casefold().replace(".", "").split()
    return ta[0] == tb[0] and ta[-1] == tb[-1]


_NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\bund\b|\bet\b|\bи\b)\s*")


def split_names(text: str) -> list[str]:
    """"A, B and C" -> [A, B, C]."""
    return [part for part in _NAME_SPLIT.split(text) if part and part.strip()]


# --- roles -----------------------------------------------------------------------------------


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.casefold())


@lru_cache(maxsize=2)
def _role_vocab(affiliations: bool) -> frozenset[str]:
    vocab = _vocab()
    return frozenset(vocab["role_words"] + (vocab["affiliation_words"] if affiliations else []))


def _has_role_word(text: str, *, affiliations: bool = False) -> bool:
    """A job title in the text ("Professor", "Fellow"); with ``affiliations`` an institution counts too.

    Modifiers ("Senior", "Research", "Member") count only beside an institution ("member of X")
    or a title, never alone ("Senior Horse Care" is a menu item, not a role)."""
    words = set(_words(text))
    if words & _role_vocab(affiliations):
        return True
    modifiers = set(_vocab()["role_modifiers"])
    return bool(words & modifiers) and bool(words & set(_vocab()["affiliation_words"]))


def is_role_line(text: str, registry: Registry) -> bool:
    """A short line describing someone's position ("Director General of X, member of Y").

    The title must come early, and a long line must read as a phrase (a menu of capitalised
    words is not a role), and it must not itself open with a person's name.
    """
    vocab = _vocab()
    words = text.split()
    early = " ".join(words[: int(vocab["role_title_within_words"])])
    reads_as_phrase = len(words) <= 6 or any(w[:1].islower() for w in words)
    return (
        len(text) <= int(vocab["role_max_chars"])
        and text[:1].isalpha()
        and not text.endswith("?")
        and not _label_value(text)
        and _has_role_word(early)
        and reads_as_phrase
        and not is_person_name(text, registry)
        and not is_person_name(text.split(",")[0], registry)
    )


def _tidy_role(role: str) -> str:
    role = re.sub(r"@\w+", "", role)  # social handles are contact details, not roles
    role = re.sub(r"^(?:a|an)\s+", "", role.strip(), flags=re.IGNORECASE)
    return re.sub(r"\s+", " ", role).strip(" .;,|")


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
    lowercase_words: frozenset[str] = frozenset()  # words the page uses as ordinary lower-case words

    def is_phrase(self, name: str) -> bool:
        """Every word of it is an ordinary word on this page ("Healthy Living", "Enlarge Image"):
        a menu or caption item, not a person. Used where no "By" or label vouches for a name."""
        return all(token.lower() in self.lowercase_words for token in name.split())

    def add(self, name: str, registry: Registry, role: str | None = None) -> None:
        name = _tidy_name(name)
        if not is_person_name(name, registry):
            return
        existing = next((n for n in self.names if _same_person(n, name)), None)
        if existing is None:
            self.names.append(name)
            existing = name
        if role and _tidy_role(role) and existing not in self.roles:
            self.roles[existing] = _tidy_role(role)


_SYNDICATION = re.compile(
    r"\b(?:[Tt]his|[Tt]he)\s+(?:article|story|piece|report|column|op-ed)\s+(?:was\s+)?(?:originally\s+)?"
    r"(?:written|authored|reported|produced)\s+by\s+(?P<names>.+?)\s+(?:from|of|for|at)\s+"
    r"(?P<outlet>(?:[Tt]he\s+)?[A-Z][\w.&'’-]*"
    r"(?:\s+(?:of|and|&)\s+[A-Z][\w.&'’-]*|\s+[A-Z][\w.&'’-]*)*)",
)

_BYLINE = re.compile(
    r"^\(?(?:by|written by|words by|reporting by|additional reporting by|text by|von|par|por|автор:?)"
    r"\s+(?P<rest>.+?)\)?$",
    re.IGNORECASE,
)
# Where a byline's names stop: a label, a separator, a date, an outlet attribution.
_BYLINE_STOP = re.compile(
    r"\s+(?i:source|published|updated|posted|photo|illustration|date|image)\s*:"
    r"|\s*[|•·–—]\s*|\s+-\s+|\d"
    r"|\s+(?:for|from|at|in)\s+(?=[A-Z])|,\s*(?:[Tt]he\s)",
)


def _syndication(lines: list[Line]) -> tuple[list[str], str | None]:
    for line in lines:
        match = _SYNDICATION.search(line.text)
        if match:
            return split_names(match["names"]), match["outlet"].strip()
    return [], None


def _byline_parts(line: Line, registry: Registry) -> tuple[list[str], str | None]:
    """"By A and B | ..." -> ([A, B], None); "By A, Senior Fellow at X" -> ([A], "Senior Fellow at X")."""
    if len(line.text) > int(_vocab()["byline_max_chars"]):
        return [], None
    match = _BYLINE.match(line.text)
    if not match:
        return [], None
    rest = match["rest"]
    written = parse_date(rest)
    if written is not None:
        rest = rest[: written.start]  # "By Jane Roe November 19, 2019": the month is no surname
    stop = _BYLINE_STOP.search(rest)
    parts = [p.strip() for p in split_names(rest[: stop.start()] if stop else rest)]
    names = [p for p in parts if is_person_name(_tidy_name(p), registry)]
    role = None
    if len(names) == 1 and "," in rest:
        after_comma = rest.split(",", 1)[1].strip()
        role = after_comma if is_role_line(after_comma, registry) else None
    return names, role


def _bylines(lines: list[Line], found: AuthorEvidence, registry: Registry) -> None:
    """Bylines in the page head; outside it only a single one (a list of them is a teaser widget)."""
    parsed = [(line, *_byline_parts(line, registry)) for line in lines]
    with_names = [item for item in parsed if item[1]]
    in_head = [item for item in with_names if item[0].head]
    chosen = in_head or (with_names if len(with_names) == 1 else [])
    for line, names, role in chosen:
        for name in names:
            found.add(name, registry, role)
        found.used_lines.add(line.index)


def _author_box(lines: list[Line], start: int, found: AuthorEvidence, registry: Registry) -> None:
    """An "AUTHOR" label followed by a name line, a role line and bio lines."""
    following = lines[start + 1 : start + 10]
    name_line = next((l for l in following[:3] if is_person_name(_tidy_name(l.text), registry)), None)
    if name_line is None:
        return
    rest = [l for l in following if l.index > name_line.index]
    role_line = next((l for l in rest[:2] if _could_be_bare_role(l.text, registry)), None)
    role = None
    if role_line is not None:
        role = _extend_role(role_line.text, [l.text for l in rest] + _bio_lines_about(lines, name_line.text))
        found.used_lines.add(role_line.index)
    found.add(name_line.text, registry, role)
    found.used_lines.update({lines[start].index, name_line.index})
    found.location_country = found.location_country or _location_country([l.text for l in rest])


def _could_be_bare_role(text: str, registry: Registry) -> bool:
    # Under an AUTHOR label the line after the name is the role even without a role word ("Advisor").
    return (not _label_value(text) and len(text) <= 120 and not is_person_name(text, registry)
            and not text.endswith("?"))


def _bio_lines_about(lines: list[Line], name: str) -> list[str]:
    """Labelled bio lines ("Work experience: Jane is ...") that mention the author by a name token."""
    tokens = {t for t in _tidy_name(name).split() if len(t) > 2}
    found = []
    for line in lines:
        pair = _label_value(line.text)
        if pair and tokens & set(re.findall(r"[^\W\d_]+", pair[1][:80])):
            found.append(line.text)
    return found


def _extend_role(role: str, bio: list[str]) -> str:
    """A bare title ("Advisor") gains its affiliation when the bio spells it out ("Advisor to X")."""
    if len(role.split()) > 3:
        return role
    # The affiliation runs to the end of the clause: a full stop, a semicolon, or "and <verb>".
    pattern = re.compile(
        rf"\b{re.escape(role)}\s+(?:to|at|of|with|for)\s+(?:[^.;]+?)(?=[.;]|\s+and\s+[a-z]|$)", re.IGNORECASE
    )
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
            code = country_code(last)
            if code:
                return code
    return None


def _trailing_name(text: str, registry: Registry) -> str | None:
    """The name a line is or ends with: a cleaner may have joined "Share this article" and the byline name."""
    tokens = text.split()
    for size in (4, 3, 2):
        tail = " ".join(tokens[-size:])
        if len(tokens) >= size and is_person_name(_tidy_name(tail), registry):
            before = tokens[-size - 1] if len(tokens) > size else ""
            # The joined-on words before the name must not be part of it (a capitalised word would be).
            if not before or not before[0].isupper() or before.endswith((")", ":")):
                return tail
    return None


def _head_name_comma_role(lines: list[Line], found: AuthorEvidence, registry: Registry) -> None:
    """At the top of the page: "JANE ROE, Senior Correspondent" (a byline without "By")."""
    for line in lines:
        if not line.head or line.index in found.used_lines or "," not in line.text:
            continue
        name, role = (part.strip() for part in line.text.split(",", 1))
        if (is_person_name(_tidy_name(name), registry) and not found.is_phrase(name)
                and is_role_line(role, registry)):
            found.add(name, registry, role)
            found.used_lines.add(line.index)


def _is_list_item(lines: list[Line], index: int) -> bool:
    """A short, unpunctuated line: one entry of a menu or a list of links."""
    if not 0 <= index < len(lines):
        return False
    text = lines[index].text
    return len(text.split()) <= 5 and not re.search(r"[.,:;!?]$", text) and not _is_dateline(text)


def _inside_list(lines: list[Line], first: int, last: int) -> bool:
    # A name/role pair with list entries on both sides is itself two entries of a menu.
    return _is_list_item(lines, first - 1) and _is_list_item(lines, last + 1)


def _head_name_role(lines: list[Line], found: AuthorEvidence, registry: Registry) -> None:
    """At the top of the page: a lone name line directly followed by a role/affiliation line."""
    head = [l for l in lines if l.head]
    for name_line, role_line in zip(head, head[1:]):
        if {name_line.index, role_line.index} & found.used_lines or _BYLINE.match(role_line.text):
            continue  # a headline above a byline is not a name above a role
        name = _trailing_name(name_line.text, registry)
        if not name or found.is_phrase(name) or _inside_list(lines, name_line.index, role_line.index):
            continue
        if is_role_line(role_line.text, registry):
            found.add(name, registry, role_line.text)
            found.used_lines.update({name_line.index, role_line.index})
        elif name == name_line.text and _is_dateline(role_line.text):
            found.add(name, registry)  # "Jane Roe" over "06 May 2025": a byline without "By"
            found.used_lines.add(name_line.index)


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
    if role and _has_role_word(role, affiliations=True) and name not in found.roles:
        found.roles[name] = role


def find_authors(lines: list[Line], registry: Registry) -> tuple[AuthorEvidence, str | None]:
    """Authors (names and roles) the page text states, and a syndication line's original outlet."""
    words = (w for line in lines for w in re.findall(r"\b[^\W\d_]+\b", line.text))
    lowercase = frozenset(w for w in words if w.islower())
    found = AuthorEvidence(lowercase_words=lowercase)
    names, syndicated_outlet = _syndication(lines)
    for name in names:
        found.add(name, registry)
    labels = set(_vocab()["author_labels"])
    _bylines(lines, found, registry)
    for position, line in enumerate(lines):
        if line.text.casefold().rstrip(":") in labels:
            _author_box(lines, position, found, registry)
        else:
            pair = _label_value(line.text)
            if pair and pair[0] in labels and is_person_name(pair[1], registry):
                found.add(pair[1], registry)
                found.used_lines.add(line.index)
    _head_name_role(lines, found, registry)
    _head_name_comma_role(lines, found, registry)
    _bio_sentences(lines, found)
    return found, syndicated_outlet


# --- outlets ---------------------------------------------------------------------------------


_DOMAIN = re.compile(
    r"(?:https?://)?(?:www\.)?(?P<domain>[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})(?:/\S*)?", re.IGNORECASE
)


def registrable_domain(host_or_url: str) -> str | None:
    """"https://www.news.example.co.uk/x" -> "example.co.uk"; None when there is no host."""
    host = url_host(host_or_url, bare=True)
    if not host or "." not in host:
        return None
    parts = host.split(".")
    two_level = ".".join(parts[-2:]) in second_level_suffixes()
    keep = 3 if two_level else 2
    return ".".join(parts[-keep:]) if len(parts) >= keep else host


def outlet_for_domain(domain: str | None, registry: Registry) -> Outlet | None:
    """The registry's outlet at this host or domain (a subdomain falls back to its parents)."""
    return registry.by_domain(domain)


def canonical_outlet(name: str, registry: Registry) -> str:
    """A known outlet's display name ("Washington Post" -> "The Washington Post"), else the name."""
    if _DOMAIN.fullmatch(name.strip()):
        known = outlet_for_domain(registrable_domain(name), registry)
        # An unknown domain is shown as the page wrote it ("CBSSports.com"), minus scheme and "www.".
        bare = re.sub(r"^(?:https?://)?(?:www\.)?", "", name.strip(), flags=re.IGNORECASE).rstrip("/")
        return known.name if known else bare
    known_by_name = registry.by_name(name)
    return known_by_name.name if known_by_name else name.strip()


_ORIGINAL = re.compile(
    r"\b(?:first|originally)\s+(?:published|appeared|posted)\s+(?:at|in|on|by)\s+"
    r"(?P<outlet>.+?)(?:[.,;]\s|[.;]?$)"
    r"|\b(?:this|the)\s+(?:article|story|piece)\s+(?:first|originally)\s+appeared\s+(?:at|in|on)\s+"
    r"(?P<outlet2>.+?)(?:[.,;]\s|[.;]?$)"
    r"|\brepublished\s+(?:with\s+permission\s+)?from\s+(?P<outlet3>.+?)(?:\s+under\b|[.,;]\s|[.;]?$)",
    re.IGNORECASE,
)
_SOURCE = re.compile(
    r"(?:^|\s)(?:source|quelle|источник)\s*:\s*(?P<outlet>.+?)"
    r"(?=\s+(?:published|updated|posted|date)\s*:|$)",
    re.IGNORECASE,
)
_COPYRIGHT = re.compile(
    r"(?:©|\(c\)|copyright)(?:\s*(?:©|copyright))?\s*(?:(?:19|20)\d{2})(?:\s*[-–]\s*(?:19|20)\d{2})?"
    r"\s*,?\s*(?:by\s+)?(?P<name>[^.|;©]+)"
    r"|(?:©|\(c\)|copyright)(?:\s*(?:©|copyright))?\s*(?P<name_first>[^.|;©\d]+?)\s*,?\s*(?:19|20)\d{2}\b",
    re.IGNORECASE,
)


def _outlet_like(value: str, title: str | None, registry: Registry) -> bool:
    """A plausible publisher name: short, capitalised, not a sentence or headline, not a person."""
    value = value.strip()
    if registry.knows_name(value) or _DOMAIN.fullmatch(value):
        return True
    words = value.split()
    same_as_title = title is not None and _fold_name(value) == _fold_name(title)
    junk = {"getty images", "shutterstock", "wordpress", "all rights reserved"}
    return (
        1 <= len(words) <= 6
        and value[0].isupper()
        and not re.search(r"\d", value)
        and not re.search(r"[?:!]", value)
        and not same_as_title
        and value.casefold() not in junk
        and not is_person_name(value, registry)
    )


def _original_values(lines: list[Line], title: str | None, registry: Registry) -> list[str]:
    """Every publisher a "first published" or "Source:" line names, in that order.

    An unknown name after "Source:" is believed in the page head, in a byline, or next to a
    "first published" line (an attribution block); elsewhere "Source:" often credits a chart.
    """
    values: list[str] = []
    attribution_lines: set[int] = set()
    for line in lines:
        match = _ORIGINAL.search(line.text)
        value = match and (match["outlet"] or match["outlet2"] or match["outlet3"]).strip()
        if value and _outlet_like(value, title, registry):
            values.append(value)
            attribution_lines.update(range(line.index - 2, line.index + 3))
    for line in lines:
        match = _SOURCE.search(line.text)
        if not match:
            continue
        value = re.split(r",?\s+(?:https?://|www\.)", match["outlet"])[0].strip(" ,")  # "Name, https://..."
        known = registry.knows_name(value)
        trusted_place = line.head or _BYLINE.match(line.text) or line.index in attribution_lines
        if _outlet_like(value, title, registry) and (known or trusted_place):
            values.append(value)
    return values


def original_publisher(lines: list[Line], title: str | None, registry: Registry) -> str | None:
    """"First published at x.com", "This article first appeared in X", "Source: X" (head/byline).

    A publisher's name beats a bare unknown domain ("First published at x.org" and
    "Source: X Institute" on one page give "X Institute").
    """
    names = [canonical_outlet(value, registry) for value in _original_values(lines, title, registry)]
    readable = [name for name in names if not _DOMAIN.fullmatch(name)]
    return readable[0] if readable else names[0] if names else None


def _tidy_holder(name: str) -> str:
    """A copyright holder as a publisher name: "The Republic unless otherwise noted" -> "The Republic",
    "The New York Times Company" -> "The New York Times", "CNBC LLC" -> "CNBC"."""
    name = re.split(r"\s*[(\[/|]|\s[-–—]\s|\s*[-–—]$", name)[0]
    connectors = set(_vocab()["outlet_name_connectors"])
    words: list[str] = []
    for word in name.split():
        if word[:1].islower() and word.lower() not in connectors:
            break  # the name ends where ordinary lower-case prose begins
        words.append(word)
    suffixes = set(_vocab()["corporate_suffixes"])
    while len(words) > 1 and words[-1].lower().strip(",") in suffixes:
        words.pop()
    return " ".join(words).strip(" ,&-")


def copyright_holder(lines: list[Line], registry: Registry) -> str | None:
    """"© 2019 Example Daily Ltd. All rights reserved." -> "Example Daily"."""
    for line in lines:
        match = _COPYRIGHT.search(line.text)
        if match:
            holder = match["name"] or match["name_first"]
            name = _tidy_holder(re.sub(r"\s*all rights reserved.*$", "", holder, flags=re.I))
            if name and _outlet_like(name, None, registry):
                return canonical_outlet(name, registry)
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
# What a domain or a place name says about the country: storyline.countries.

def _outlet_country(outlet: str | None, registry: Registry) -> str | None:
    known = registry.find(outlet)
    return known.country if known else None


def _outlet_ownership(outlet: str | None, registry: Registry) -> str | None:
    known = registry.find(outlet)
    return known.ownership if known else None


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
    import py3langid  # imported here: loading its model costs time the other stages never need

    code, _score = py3langid.classify(text[:20000])
    return str(code)


# --- title -----------------------------------------------------------------------------------

_NOT_HEADLINE_LABELS = re.compile(
    r"^(?:by|source|published|updated|posted|photo|illustration|image|credit|location|date|tags?)\b",
    re.IGNORECASE,
)


def _is_headline_like(text: str, registry: Registry) -> bool:
    """Shaped like a headline: a few words to a long sentence, no closing full stop, not a label,
    widget, section word, date, time or person's name."""
    vocab = _vocab()
    words = text.split()
    if not int(vocab["headline_min_words"]) <= len(words) <= int(vocab["headline_max_words"]):
        return False
    if len(text) > int(vocab["headline_max_chars"]) or text.endswith((".", ",", ":", ";")):
        return False
    if _NOT_HEADLINE_LABELS.match(text) or text.startswith("("):
        return False
    if text.casefold() in vocab["widget_lines"] or text.casefold() in vocab["section_kinds"]:
        return False
    date = parse_date(text)
    if date and len(text) - (date.end - date.start) < 15:
        return False
    # Headlines open with a capital or a digit (scripts without case pass); time stamps are no headline.
    if text[0].islower() or _TIME_ONLY.fullmatch(text):
        return False
    return bool(re.search(r"[^\W\d_]{2}", text)) and not is_person_name(text, registry)


_TIME_ONLY = re.compile(r"\d{1,2}[:.]\d{2}\s*(?:[ap]\.?m\.?)?\s*\w{0,4}", re.IGNORECASE)


_NAV_SPLIT = re.compile(r"\s*[|/>›»•]\s*")


def _nav_segments(text: str) -> list[str]:
    return [segment for segment in _NAV_SPLIT.split(text) if segment.strip()]


def _is_nav_line(text: str) -> bool:
    """A menu, breadcrumb or section tag: short items split by | / > ("ANALYSIS / WORLD")."""
    segments = _nav_segments(text)
    return len(segments) >= 2 and all(len(segment.split()) <= 3 for segment in segments)


@lru_cache(maxsize=1)
def _widget_patterns() -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p, re.IGNORECASE) for p in _vocab()["widget_patterns"])


def _is_widget(text: str) -> bool:
    return text.casefold() in _vocab()["widget_lines"] or any(p.search(text) for p in _widget_patterns())


def _breadcrumb_title(line: Line, later: list[Line], registry: Registry) -> str | None:
    """A breadcrumb ("Home Politics Title") gives the title when a later line is its tail, else its
    last segment ("Home > World > Title")."""
    for other in later:
        if other.text != line.text and line.text.endswith(" " + other.text):
            return None  # the later line itself is the title; let it be picked
    segments = _nav_segments(line.text)
    return segments[-1] if len(segments) > 1 and _is_headline_like(segments[-1], registry) else None


def _is_breadcrumb(text: str) -> bool:
    first = text.split()[0].casefold() if text.split() else ""
    return first in _vocab()["breadcrumb_starts"] and len(text.split()) > 1


def _is_dateline(text: str) -> bool:
    parsed = parse_date(text)
    return parsed is not None and parsed.precision == "day" and len(text) - (parsed.end - parsed.start) <= 30


def _is_masthead(text: str, outlet: str | None, registry: Registry) -> bool:
    """The outlet's own name at the top of the page ("THE EXAMPLE LEDGER") is not a headline."""
    folded = _fold_name(text)
    return (outlet is not None and folded == _fold_name(outlet)) or registry.knows_name(text)


def _title_candidates(head: list[Line], outlet: str | None, registry: Registry) -> list[Line]:
    return [
        line for line in head
        if _is_headline_like(line.text, registry)
        and not _is_nav_line(line.text)
        and not _is_widget(line.text)
        and not _is_masthead(line.text, outlet, registry)
    ]


def _nearest_to_anchor(candidates: list[Line], anchor: int) -> Line:
    """The headline sits right above its byline/dateline (or right below it); of a headline and
    the standfirst under it, the headline is the upper one."""
    window = int(_vocab()["title_anchor_window_lines"])
    above = [c for c in candidates if anchor - window <= c.index < anchor]
    below = [c for c in candidates if anchor < c.index <= anchor + window]
    if not above and not below:
        return candidates[0]  # the byline/dateline stands apart from any headline
    if above and (not below or anchor - above[-1].index <= below[0].index - anchor):
        top = above[-1]
        indices = {c.index: c for c in above}
        while top.index - 1 in indices:
            top = indices[top.index - 1]
        return top
    return below[0]


def title_from_text(lines: list[Line], used: set[int], registry: Registry, outlet: str | None = None
                    ) -> str | None:
    """The headline at the top of the page: the headline-like line nearest the byline or dateline
    (else the first one), never a masthead, menu, widget, byline or date; a breadcrumb's last item
    only when nothing else is there."""
    head = [l for l in lines if l.head and l.index not in used and not _is_breadcrumb(l.text)]
    candidates = _title_candidates(head, outlet, registry)
    anchor = next((l.index for l in lines if l.head and (l.index in used or _is_dateline(l.text))), None)
    if candidates:
        return (_nearest_to_anchor(candidates, anchor) if anchor is not None else candidates[0]).text
    crumbs = [l for l in lines if l.head and _is_breadcrumb(l.text)]
    for crumb in crumbs:
        title = _breadcrumb_title(crumb, [l for l in lines if l.index > crumb.index], registry)
        if title:
            return title
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
_FIRST_PERSON_SINGULAR = re.compile(r"\b(?:I|I'm|I’m|I've|I’ve|I'd|I’d|[Mm]y|[Mm]e)\b")
# "We"/"our" is weaker evidence: sites speak as "we" in their widgets ("we use cookies").
_FIRST_PERSON_PLURAL = re.compile(r"\b(?:[Ww]e|[Oo]ur|us|[Ww]e're|[Ww]e’re)\b")
_CAPITALISED = r"(?:[A-Z][\w’'-]+\.?\s+){0,3}[A-Z][\w’'-]+"


def _section_word(text: str) -> Kind | None:
    kind = _vocab()["section_kinds"].get(text.casefold().strip())
    return cast(Kind, kind) if kind else None


def _in_menu(lines: list[Line], position: int) -> bool:
    """A one-word line between other one-to-three-word lines is a navigation menu entry."""
    neighbours = [lines[i].text for i in (position - 1, position + 1) if 0 <= i < len(lines)]
    return any(len(text.split()) <= 3 and parse_date(text) is None for text in neighbours)


def _head_section_kind(line: Line) -> Kind | None:
    """A head line naming the section: "Opinion", "ANALYSIS / WORLD" (its first item), or any item
    of a breadcrumb ("Home / Publications / Interviews / ..."). A menu of many items names nothing."""
    if not line.head:
        return None
    segments = _nav_segments(line.text)
    if _is_breadcrumb(line.text):
        kinds = [_section_word(segment) for segment in segments[1:]]
        return next((k for k in kinds if k and k != "news"), None)
    if len(segments) <= 3:
        return _section_word(segments[0]) if len(segments) > 1 else _section_word(line.text)
    return None


def _section_kind(lines: list[Line], title: str | None) -> Kind | None:
    """"Posted in: VIEWPOINT", a lone head line "Opinion", a title "Analysis: ..." name the kind.

    "News" is too generic to name a kind; a section word inside a navigation menu names nothing.
    """
    labels = set(_vocab()["section_labels"])
    for position, line in enumerate(lines):
        pair = _label_value(line.text)
        if pair and pair[0] in labels and _section_word(pair[1]):
            return _section_word(pair[1])
        kind = _head_section_kind(line) if not _in_menu(lines, position) else None
        if kind and kind != "news":
            return kind
    prefix = re.match(r"^\s*([^\W\d_][\w &-]{0,24}?)\s*[|:]\s", title or "")
    kind = _section_word(prefix.group(1)) if prefix else None
    return kind if kind != "news" else None


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


def _attributions(text: str, registry: Registry) -> tuple[int, Counter[str]]:
    """How many speech attributions the unquoted text has, and who the named speakers are (by surname)."""
    verbs = "|".join(re.escape(v) for v in _vocab()["reporting_verbs"])
    total = len(re.findall(rf"\b(?:{verbs})\b", text))
    speakers: Counter[str] = Counter()
    named = (
        rf"(?P<a>{_CAPITALISED})\s+(?:{verbs})\b"
        rf"|\b(?:said|says|according to)\s+(?P<b>{_CAPITALISED})"
    )
    not_people = {"He", "She", "They", "It", "This", "That", "The", "But", "And", "We", "I"}
    for match in re.finditer(named, text):
        phrase = match["a"] or match["b"]
        name = phrase.split()[-1]
        # "told Reuters" names a news agency, not a speaker.
        is_outlet = registry.knows_name(phrase) or registry.knows_name(name)
        if name not in not_people and not is_outlet:
            speakers[name] += 1
    return total, speakers


def _author_voice_per_1000(unquoted: str) -> float:
    words = max(len(unquoted.split()), 1)
    weight = float(_vocab()["kind"]["we_weight"])
    singular = len(_FIRST_PERSON_SINGULAR.findall(unquoted))
    count = singular + weight * len(_FIRST_PERSON_PLURAL.findall(unquoted))
    return count * 1000 / words


def author_is_commentator(roles: dict[str, str], lines: list[Line]) -> bool:
    """The byline belongs to an outside expert or a columnist, not a staff reporter.

    Evidence: a bio line ("The author is ..."), or a role that is not a newsroom job.
    """
    vocab = _vocab()
    openers = tuple(vocab["bio_openers"])
    if any(line.text.casefold().startswith(openers) for line in lines):
        return True
    newsroom = set(vocab["journalist_role_words"])
    return any(not set(_words(role)) & newsroom for role in roles.values()) or any(
        set(_words(role)) & set(vocab["opinion_role_words"]) for role in roles.values()
    )


def classify_kind(
    paragraphs: list[str], lines: list[Line], title: str | None, commentator: bool, registry: Registry
) -> Kind | None:
    """news / opinion / interview / analysis from section words, Q&A shape, who speaks, and author voice.

    Voice and speech features are measured on prose paragraphs only, outside quotation marks, so
    that left-over widgets and quoted speakers do not count as the author's voice.
    """
    labelled = _section_kind(lines, title)
    if labelled:
        return labelled
    if not paragraphs:
        return None
    if _is_qa(paragraphs):
        return "interview"
    thresholds = _vocab()["kind"]
    prose = [p for p in paragraphs if _is_prose_block(p)] or paragraphs
    unquoted = _QUOTED.sub(" ", "\n".join(prose))
    total, speakers = _attributions(unquoted, registry)
    single = len(speakers) == 1 and next(iter(speakers.values())) >= 2
    if total >= int(thresholds["interview_min_attributions"]) and single:
        return "interview"  # one expert quoted throughout: an interview written up as prose
    words = max(len(unquoted.split()), 1)
    sparse_quotes = total * 100 / words <= float(thresholds["opinion_max_attributions_per_100"])
    own_voice = _author_voice_per_1000(unquoted) >= float(thresholds["first_person_per_1000"])
    if sparse_quotes and (own_voice or commentator):
        return "opinion"
    if total >= int(thresholds["news_min_attributions"]):
        return "news"
    return "opinion" if commentator else None


# --- assembly --------------------------------------------------------------------------------


def _meta_str(extraction: Extraction, key: str) -> str | None:
    """A string field of the markup metadata; anything else (None, lists, numbers) counts as absent."""
    value = extraction.meta.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _pick_authors(
    source: Source, extraction: Extraction, found: AuthorEvidence, registry: Registry
) -> list[str]:
    if source.hints.authors:
        return [a.strip() for a in source.hints.authors if a and a.strip()]
    meta = extraction.meta.get("authors") or []
    meta_names = clean_author_list(split_names(meta) if isinstance(meta, str) else meta, registry)
    return meta_names or found.names


def _roles_for(authors: list[str], found: AuthorEvidence) -> dict[str, str]:
    """Text-found roles for the chosen authors, matched by first and last name."""
    roles: dict[str, str] = {}
    for author in authors:
        role = next((r for name, r in found.roles.items() if _same_person(name, author)), None)
        if role:
            roles[author] = role
    return roles


def _pick_outlet(
    source: Source,
    extraction: Extraction,
    lines: list[Line],
    syndicated: str | None,
    url: str | None,
    registry: Registry,
) -> str | None:
    url_domain = registrable_domain(url) if url else None
    known_from_url = outlet_for_domain(url_domain, registry)
    candidates = [
        # A syndication line names the original publisher; a record's or page's outlet field names
        # the host that licensed the copy, so the line wins even over hints.
        canonical_outlet(syndicated, registry) if syndicated else None,
        source.hints.outlet,
        original_publisher(lines, source.hints.title or _meta_str(extraction, "title"), registry),
        # The site itself: our curated display name for a known domain reads better than
        # site_name markup ("NYTimes"); both name the same host.
        known_from_url.name if known_from_url else None,
        canonical_outlet(meta_outlet, registry) if (meta_outlet := _meta_str(extraction, "outlet")) else None,
        copyright_holder(lines, registry),
        url_domain,
    ]
    return next((c.strip() for c in candidates if isinstance(c, str) and c.strip()), None)


def _pick_country(
    outlet: str | None, lines: list[Line], url: str | None, found: AuthorEvidence, registry: Registry
) -> str | None:
    outlet_domain = _text_domain(lines)
    if outlet_domain is None and url and not _outlet_country(outlet, registry):
        outlet_domain = registrable_domain(url)
    for candidate in (_outlet_country(outlet, registry), country_of_domain(outlet_domain),
                      found.location_country):
        if candidate:
            return candidate
    return None


def _pick_date(
    source: Source,
    extraction: Extraction,
    lines: list[Line],
    url: str | None,
    country: str | None,
    language: str | None,
) -> tuple[str | None, DateSource | None]:
    hinted = normalise_date(source.hints.published)
    if hinted:
        return hinted, "meta"
    meta = normalise_date(_meta_str(extraction, "published"))
    if meta:
        where = extraction.meta.get("published_from")
        return meta, cast(DateSource, where if where in ("meta", "text", "url", "inferred") else "meta")
    in_text = _text_date(lines, country, language)
    if in_text:
        return in_text, "text"
    from_url = date_from_url(url) if url else None
    return (from_url, "url") if from_url else (None, None)


def _plausible_cleaner_title(
    title: str | None, lines: list[Line], used: set[int], registry: Registry
) -> str | None:
    """The cleaner's headline guess, unless it is a line we know to be a byline, role, name or date."""
    if not title or not title.strip():
        return None
    title = normalise(title)
    consumed = {lines[i].text for i in used if i < len(lines)}
    rejected = (
        title in consumed
        or _is_dateline(title)
        or _is_widget(title)
        or is_role_line(title, registry)
    )
    return None if rejected else title


def _pick_title(
    source: Source,
    extraction: Extraction,
    lines: list[Line],
    used: set[int],
    outlet: str | None,
    registry: Registry,
) -> str | None:
    for candidate in (source.hints.title, _meta_str(extraction, "title")):
        if isinstance(candidate, str) and candidate.strip():
            return recase_title(normalise(candidate), lines)
    found = (_plausible_cleaner_title(extraction.title, lines, used, registry)
             or title_from_text(lines, used, registry, outlet))
    return recase_title(found, lines) if found else None


def _meta_language(extraction: Extraction) -> str | None:
    """The markup's language ("en-US" -> "en") when the body is too short to detect one."""
    value = _meta_str(extraction, "language")
    code = re.split(r"[-_]", value)[0].lower() if value else ""
    return code if re.fullmatch(r"[a-z]{2}", code) else None


def build_document(source: Source, extraction: Extraction, registry: Registry) -> Document:
    """The contract's document object for one cleaned input, every metadata field from evidence.
    ``registry`` names the outlets: their canonical names, countries and ownership."""
    lines = raw_text_lines(source) or page_lines(extraction)
    text = extraction.text
    url = source.hints.url or _meta_str(extraction, "url")
    found, syndicated = find_authors(lines, registry)
    authors = _pick_authors(source, extraction, found, registry)
    outlet = _pick_outlet(source, extraction, lines, syndicated, url, registry)
    title = _pick_title(source, extraction, lines, found.used_lines, outlet, registry)
    language = detect_language(text) or _meta_language(extraction)
    country = _pick_country(outlet, lines, url, found, registry)
    published, published_from = _pick_date(source, extraction, lines, url, country, language)
    commentator = author_is_commentator(_roles_for(authors, found), lines)
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
        ownership=_outlet_ownership(outlet, registry),
        kind=classify_kind(extraction.paragraphs, lines, title, commentator, registry),
        words=len(text.split()),
        boilerplate_removed_chars=extraction.removed_chars,
        record_id=source.hints.record_id,
    )
