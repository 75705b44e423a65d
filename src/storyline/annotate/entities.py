"""Named entities: clean mentions per document, and one canonical entity list per story.

spaCy's small English model finds most names in news text but makes a handful of typical
mistakes: datelines ("HAMBURG —") and headline words tagged as people, boilerplate tagged as
organisations, a surname tagged ORG in one sentence and PERSON in the next, titles glued to
names ("State Mara Lindqvist"). ``find_mentions`` repairs these with rules and with evidence from
the rest of the document, strips honorifics and titles from names (keeping them as roles), and
gives every mention of one person in a document the fullest name seen for them.

A type is checked against the text's evidence, not taken from the model alone: a sentence's
opening adjective is cut from a place ("Landlocked Mali"); a "person" whose name ends in a
place's head word ("Kessel Dam") or that the text puts after a locative preposition ("in Gao")
without ever titling it or naming it in full is a place; a US state's abbreviation after a
town ("Tampa, Fla.") is part of the dateline or the address, not an entity; one word tagged as a
place that the document also writes in lower case ("Media") and never puts after "in" is none; a rank before a
surname ("Detective Brask", "DC Brask") is a title of the person the document names. A bare
surname shared by several people goes to the one named most often.

``canonical_entities`` then merges the documents of a story: the same person spelt differently
("Sergei"/"Sergey Lavrov", "Kim Jong Un"/"Kim Jong-un", "al-Assad"/"Bashar Assad") meets under a
normalised key, surnames link to the one full name they belong to, and common organisation and
place variants ("U.S."/"United States") meet through a data table. A surname misspelt somewhere
("Lindqivst" beside "Arvo Lindqvist") joins the more frequent spelling when the two are a
typo apart and agree on every other token.

All vocabularies live in ``storyline/data/entities_*.json``. Everything here is linear in the
number of entity spans, with small fixed token windows, so it stays cheap next to the parse.
"""

from __future__ import annotations

import json
import re
import unicodedata
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any, cast

from spacy.tokens import Doc, Token

from storyline.annotate.parsed import doc_text
from storyline.briefing import EntityItem
from storyline.model import Document, EntityType, Mention

LABELS: frozenset[str] = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "EVENT", "LAW", "FAC"})
# Labels a person's surname is wrongly given often enough to be worth correcting from evidence.
MISLABELLED_PERSON: frozenset[str] = frozenset({"ORG", "FAC", "NORP", "GPE", "LOC"})
PLACE_LABELS: frozenset[str] = frozenset({"GPE", "LOC"})
# Nationality words the model sometimes tags as places ("Ukrainian", "Lebanese", "Kurdish").
DEMONYM = re.compile(r"[A-Z][a-z]+(?:ian|ean|ese|ish)s?")
MAX_ROLE_TOKENS = 8
MAX_PERSON_TOKENS = 5
# A line with at most this many words and no final full stop may be a headline or a heading.
HEADLINE_MAX_WORDS = 20
QUOTE_AND_MARKUP = "\"'“”‘’«»*_#|[](){}<>`~"
DASHES = "—–-"
DATELINE_TAIL = re.compile(r"(?:,\s*[A-Z][A-Za-z.]*)*\s*(?:\([A-Za-z .]+\)\s*)?[—–]|\s+-\s")
BAD_CHARS = re.compile(r"[@#|\\=+<>]|https?:|www\.|\d{3,}")


# --- vocabularies ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Vocab:
    """The data files, loaded once and turned into sets for O(1) look-ups."""

    honorifics: frozenset[str]
    address_titles: dict[str, str]
    plural_titles: frozenset[str]
    role_heads: frozenset[str]
    multiword_titles: tuple[tuple[str, ...], ...]
    role_leading_words: frozenset[str]
    role_lead_in: frozenset[str]
    particles: frozenset[str]
    hyphen_particles: tuple[str, ...]
    junk: frozenset[str]
    org_words: frozenset[str]
    forced_labels: dict[str, str]
    places: dict[str, str]
    equivalences: dict[str, tuple[str, str]]
    token_equivalents: dict[str, str]
    translit_rules: tuple[tuple[re.Pattern[str], str], ...]
    leading_adjectives: frozenset[str]
    adjective_suffixes: tuple[str, ...]
    place_heads: dict[str, str]
    locative: frozenset[str]
    state_abbreviations: frozenset[str]
    rank_abbreviations: frozenset[str]


def _load(name: str) -> dict[str, Any]:
    path = resources.files("storyline") / "data" / name
    return cast(dict[str, Any], json.loads(path.read_text(encoding="utf-8")))


@lru_cache(maxsize=1)
def vocab() -> Vocab:
    words = _load("entities_vocab.json")
    places = _load("entities_places.json")
    names = _load("entities_names.json")
    equivalences: dict[str, tuple[str, str]] = {}
    for entry in _load("entities_equivalences.json")["entities"]:
        for form in [entry["name"], *entry["variants"]]:
            equivalences[surface_key(form)] = (entry["name"], entry["type"])
    place_labels = {surface_key(p): "GPE" for p in places["gpe"]}
    place_labels.update({surface_key(p): "LOC" for p in places["loc"]})
    multiword = {*words["multiword_titles"], *(t for t in words["address_titles"] if " " in t)}
    return Vocab(
        honorifics=frozenset(words["honorifics"]),
        address_titles=dict(words["address_titles"]),
        plural_titles=frozenset(words["plural_titles"]),
        role_heads=frozenset(words["role_heads"]) | frozenset(words["address_titles"]),
        multiword_titles=tuple(sorted((tuple(t.split()) for t in multiword), key=len, reverse=True)),
        role_leading_words=frozenset(words["role_leading_words"]),
        role_lead_in=frozenset(words["role_lead_in"]),
        particles=frozenset(words["name_particles"]),
        hyphen_particles=tuple(words["hyphen_prefix_particles"]),
        junk=frozenset(words["junk_names"]),
        org_words=frozenset(words["org_words"]),
        forced_labels=dict(words["forced_labels"]),
        places=place_labels,
        equivalences=equivalences,
        token_equivalents=dict(names["token_equivalents"]),
        translit_rules=tuple((re.compile(p), r) for p, r in names["translit_rules"]),
        leading_adjectives=frozenset(words["leading_adjectives"]),
        adjective_suffixes=tuple(words["leading_adjective_suffixes"]),
        place_heads=dict(words["place_heads"]),
        locative=frozenset(words["locative_prepositions"]),
        state_abbreviations=frozenset(words["state_abbreviations"]),
        rank_abbreviations=frozenset(words["rank_abbreviations"]),
    )


# --- keys: how two surface forms are recognised as one name -----------------------------------


def _fold(text: str) -> str:
    """Case-fold and drop diacritics ("Erdoğan" -> "erdogan")."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=65536)
def surface_key(text: str) -> str:
    """Key for organisations and places: folded, without a leading "the", dots, hyphens or
    spaces ("the U.S." == "US", "G-20" == "G20")."""
    folded = _fold(text).strip()
    if folded.startswith("the "):
        folded = folded[4:]
    return re.sub(r"[\s.\-'’]+", "", folded)


@lru_cache(maxsize=65536)
def person_key(name: str) -> tuple[str, ...]:
    """Key tokens of a person's name: folded, Arabic article prefixes and lower-case particles
    dropped, hyphenated parts split, transliteration variants mapped to one spelling."""
    v = vocab()
    out: list[str] = []
    for raw in name.split():
        if raw in ("al", "el", "bin", "ibn", "bint") and out:  # lower-case particle mid-name
            continue
        token = _fold(raw).replace(".", "").replace("'", "").replace("’", "")
        for prefix in v.hyphen_particles:
            if token.startswith(prefix) and len(token) > len(prefix) + 1:
                token = token[len(prefix):]
                break
        out.extend(_translit(part) for part in token.split("-") if part)
    return tuple(out)


@lru_cache(maxsize=65536)
def _translit(token: str) -> str:
    v = vocab()
    token = v.token_equivalents.get(token, token)
    for pattern, replacement in v.translit_rules:
        token = pattern.sub(replacement, token)
    return token


def joined_key(name: str) -> str:
    """One string per person, so that "Kim Jong Un" and "Kim Jong-un" are equal."""
    return "".join(person_key(name))


# --- lines: datelines, headlines and all-caps title lines ------------------------------------


class Lines:
    """The text's lines, with the kind of each computed once on demand."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self._kinds: dict[int, str] = {}

    def index(self, char: int) -> int:
        return bisect_right(self.starts, char) - 1

    def bounds(self, index: int) -> tuple[int, int]:
        end = self.starts[index + 1] - 1 if index + 1 < len(self.starts) else len(self.text)
        return self.starts[index], end

    def kind(self, char: int) -> str:
        """'caps' (an ALL-CAPS title line), 'headline' (short, title-cased, no full stop) or 'body'."""
        index = self.index(char)
        if index not in self._kinds:
            start, end = self.bounds(index)
            self._kinds[index] = _line_kind(self.text[start:end])
        return self._kinds[index]


def _line_kind(line: str) -> str:
    letters = [ch for ch in line if ch.isalpha()]
    words = [w.strip(QUOTE_AND_MARKUP + ".,:;!?") for w in line.split()]
    words = [w for w in words if w]
    if len(letters) >= 6 and len(words) >= 2 and sum(ch.isupper() for ch in letters) > 0.85 * len(letters):
        return "caps"
    stripped = line.strip().rstrip(QUOTE_AND_MARKUP)
    if not stripped or len(words) > HEADLINE_MAX_WORDS or stripped[-1] in ".!:;,":
        return "body"
    long_words = [w for w in words if len(w) >= 4 and w[0].isalpha()]
    capitalised = sum(w[0].isupper() for w in long_words)
    # Headlines capitalise most long words; a short sentence without a full stop rarely does.
    if len(words) >= 3 and long_words and capitalised >= 0.7 * len(long_words):
        return "headline"
    return "body"


def _is_dateline(text: str, start: int, end: int, surface: str) -> bool:
    """'HAMBURG —' or 'MOSCOW (Reuters) -' opening a paragraph."""
    if not surface.isupper() or len(surface) < 3:
        return False
    before = text[max(0, start - 4):start]
    if start > 0 and not before.strip(" \t*_") == "" and "\n" not in before:
        return False
    return bool(DATELINE_TAIL.match(text, end))


# --- candidates: one cleaned span each -------------------------------------------------------


@dataclass
class Candidate:
    """An entity span being repaired; token indices are ``doc`` indices, ``end`` exclusive."""

    start: int
    end: int
    label: str
    line: str  # 'body', 'headline' or 'caps'
    dateline: bool = False
    name: str = ""
    role: str | None = None
    text_start: int = 0  # where the mention's surface text starts (an honorific may precede)
    titled: bool = False  # an honorific or title was cut from the span's start
    title_tail: bool = False  # the span only finishes a title begun before it ("of State")


def _trim(doc: Doc, start: int, end: int) -> tuple[int, int]:
    """Drop newline-separated tails, markup, quotes, leading articles and possessives."""
    for i in range(start, end):
        if doc[i].is_space or "\n" in doc[i].text:
            if i > start:
                end = i
                break
            start = i + 1
    while start < end and (_is_edge_junk(doc[start]) or doc[start].lower_ == "the"):
        start += 1
    while end > start and (_is_edge_junk(doc[end - 1]) or doc[end - 1].lower_ in ("'s", "’s", "'", "’")):
        end -= 1
    return start, end


def _address_state(doc: Doc, start: int, end: int, v: Vocab) -> bool:
    """"Fla." in "TAMPA, Fla. —" or "Tampa, Fla., police": a US state's abbreviation after a
    town belongs to the dateline or the address, and is no entity of its own."""
    return (start >= 2 and doc[start - 1].text == "," and doc[start - 2].text[:1].isupper()
            and _fold(doc[start:end].text) in v.state_abbreviations)


def _leading_adjective(doc: Doc, start: int, end: int, named: dict[str, Counter[str]], v: Vocab) -> bool:
    """Does a capitalised adjective that opens a sentence lead the span ("Landlocked Mali has
    ...", "Impoverished Veldoria")? Only when the rest is a known place or is named on its own
    elsewhere in the document, and the whole is no known name ("Northern Ireland")."""
    if end - start < 2 or not (start == 0 or doc[start].is_sent_start or "\n" in doc[start - 1].text):
        return False
    word = doc[start].lower_
    if not (word in v.leading_adjectives or (word.endswith(v.adjective_suffixes) and len(word) > 5)):
        return False
    whole, rest = surface_key(doc[start:end].text), surface_key(doc[start + 1:end].text)
    if whole in v.places or whole in v.equivalences:
        return False
    return rest in v.places or rest in v.equivalences or bool(named.get(rest))


def _label_of(key: str, named: dict[str, Counter[str]], v: Vocab) -> str | None:
    """The label of a name as the data or the document's other spans give it."""
    if key in v.equivalences:
        return v.equivalences[key][1]
    if key in v.places:
        return v.places[key]
    labels = named.get(key)
    return min(labels, key=lambda label: (-labels[label], label)) if labels else None


def _is_edge_junk(token: Token) -> bool:
    return token.is_space or (token.is_punct and token.text not in (".",)) or all(
        ch in QUOTE_AND_MARKUP for ch in token.text
    )


def _candidates(doc: Doc, lines: Lines) -> list[Candidate]:
    v = vocab()
    named: dict[str, Counter[str]] = defaultdict(Counter)
    for ent in doc.ents:
        if ent.label_ in LABELS:
            named[surface_key(ent.text)][ent.label_] += 1
    out: list[Candidate] = []
    for ent in doc.ents:
        if ent.label_ not in LABELS or _address_state(doc, ent.start, ent.end, v):
            continue
        start, end = _trim(doc, ent.start, ent.end)
        label = ent.label_
        if start < end and _leading_adjective(doc, start, end, named, v):
            start += 1  # the rest is labelled as the document labels it on its own
            label = _label_of(surface_key(doc[start:end].text), named, v) or label
        if start >= end:
            continue
        first = doc[start]
        surface = doc[start:end].text
        dateline = _is_dateline(lines.text, first.idx, doc[end - 1].idx + len(doc[end - 1]), surface)
        out.append(Candidate(start, end, label, lines.kind(first.idx), dateline))
    return out


# --- titles and roles ------------------------------------------------------------------------


def _word_before(doc: Doc, i: int) -> tuple[str, int]:
    """The lower-case word ending at token ``i`` and its first index: spaCy splits some
    abbreviations from their dot ("Sens", ".")."""
    if doc[i].text == "." and i >= 1 and not doc[i - 1].whitespace_ and doc[i - 1].is_alpha:
        return doc[i - 1].lower_ + ".", i - 1
    return doc[i].lower_, i


def _title_ending_at(doc: Doc, i: int, v: Vocab, *, of_phrase: bool = True) -> int | None:
    """Start index of a title phrase whose last token is ``doc[i]`` ("spokesman", "Foreign
    Minister", "Secretary of State", "Sens.", and with ``of_phrase`` "President of China"),
    else None."""
    if i < 0:
        return None
    lower, first = _word_before(doc, i)
    for words in v.multiword_titles:
        n = len(words)
        if i - n + 1 >= 0 and lower == words[-1] and tuple(t.lower_ for t in doc[i - n + 1:i + 1]) == words:
            return i - n + 1
    if lower in v.role_heads:
        return first
    if not of_phrase:
        return None
    # "President of China", "Director of the Institute": head + of + capitalised words.
    k = i
    while k > i - 4 and k >= 0 and (doc[k].is_title or doc[k].is_upper or doc[k].lower_ == "the"):
        k -= 1
    if k < i and k >= 1 and doc[k].lower_ == "of" and doc[k - 1].lower_ in v.role_heads:
        return k - 1
    return None


def _role_word(token: Token, v: Vocab) -> bool:
    """May ``token`` sit inside a title phrase ("Kremlin", "national", "Program", "US")?"""
    if token.ent_type_ in ("DATE", "TIME", "CARDINAL", "ORDINAL", "MONEY", "PERCENT", "QUANTITY"):
        return False
    if token.lower_ in v.role_leading_words or token.lower_ in ("'s", "’s"):
        return False
    if token.text[:1].isupper():
        return token.pos_ in ("PROPN", "ADJ", "NOUN") or bool(token.ent_type_) or token.lower_ in v.role_heads
    return token.pos_ in ("ADJ", "NOUN", "PROPN") or token.lower_ in v.role_heads


def premodifier_role(doc: Doc, start: int, v: Vocab) -> str | None:
    """The title phrase right before a name: "Kremlin spokesman", "US Secretary of State"."""
    head = _title_ending_at(doc, start - 1, v)
    if head is None:
        return None
    first = _walk_role_left(doc, head, max(0, start - MAX_ROLE_TOKENS), v)
    return normalise_role(doc[first:start].text, v)


def _walk_role_left(doc: Doc, head: int, lowest: int, v: Vocab) -> int:
    """First index of the title phrase whose head starts at ``head``: modifiers to its left
    ("Kremlin", "former national security"), stopping at articles, verbs and punctuation."""
    j = head - 1
    while j >= lowest:
        token = doc[j]
        if token.text == "-" and j > 0 and not doc[j].whitespace_ and not doc[j - 1].whitespace_:
            j -= 1
            continue
        if token.lower_ in ("of", "for") and j > 0 and doc[j - 1].lower_ in v.role_heads:
            j -= 1
            continue
        if token.is_punct or token.is_space or not _role_word(token, v):
            break
        j -= 1
    return j + 1


def left_appositive_role(doc: Doc, start: int, end: int, v: Vocab) -> str | None:
    """The title in an apposition before a name: "The ministry spokesman, Ivo Varga, said",
    "Estonia's foreign minister, Ivo Varga, said". Both commas are required."""
    if start < 2 or doc[start - 1].text != "," or end >= len(doc) or doc[end].text != ",":
        return None
    head = _title_ending_at(doc, start - 2, v)
    if head is None:
        return None
    first = _walk_role_left(doc, head, max(0, start - 1 - MAX_ROLE_TOKENS), v)
    before = doc[first - 1] if first > 0 else None
    if before is not None and before.lower_ in ("'s", "’s") and first >= 2 and doc[first - 2].is_title:
        first -= 2  # "Estonia's foreign minister"
    elif before is not None and not (before.pos_ == "DET" or before.is_punct or before.is_space):
        return None  # the phrase must open a noun phrase, not end a longer one
    return normalise_role(doc[first:start - 1].text, v)


def appositive_role(doc: Doc, end: int, v: Vocab) -> str | None:
    """The title in an apposition after a name: "Varga, the ministry spokesman, said"."""
    if end >= len(doc) - 1 or doc[end].text != ",":
        return None
    k = end + 1
    limit = min(len(doc), k + MAX_ROLE_TOKENS + 2)
    while k < limit and (doc[k].lower_ in v.role_leading_words or doc[k].lower_ in v.role_lead_in):
        k += 1
    phrase_start, has_head = k, False
    while k < limit:
        token = doc[k]
        if token.ent_type_ == "PERSON":
            return None  # an enumeration of people, not an apposition
        # Parts of a hyphenated modifier ("well-known", "high-ranking") whatever their tags.
        hyphenated = (k + 1 < len(doc) and doc[k + 1].text == "-" and not token.whitespace_) or (
            doc[k - 1].text == "-" and not doc[k - 1].whitespace_
        )
        if token.lower_ in ("of", "at", "for", "the", "-") or hyphenated or _role_word(token, v):
            has_head = has_head or token.lower_ in v.role_heads
            k += 1
            continue
        break
    if k == phrase_start or not has_head or k >= len(doc):
        return None
    stop = doc[k]
    if not (stop.text in (",", ".", ";", ")", "—", "–") or stop.pos_ in ("VERB", "AUX")):
        return None
    return normalise_role(doc[end + 1:k].text, v)


def normalise_role(role: str, v: Vocab) -> str | None:
    """"the Kremlin spokesman," -> "Kremlin spokesman"; "formerly a US diplomat" -> "former US
    diplomat"; a bare plural or abbreviated title -> its singular full form ("Sens." -> "Senator")."""
    words = role.replace("\n", " ").strip(" ,;:—–-").split()
    if words and words[0].lower() in ("formerly", "former"):
        rest = [w for w in words[1:] if w.lower() not in v.role_leading_words]
        words = ["former", *rest]
    while words and words[0].lower() in v.role_leading_words:
        words = words[1:]
    if not words:
        return None
    joined = " ".join(words)
    return v.address_titles.get(joined.lower(), joined)


def _leading_titles(doc: Doc, start: int, end: int, v: Vocab) -> int:
    """Skip honorifics and titles at the start of a span ("President Putin" -> "Putin"); also
    a title completed by the text before the span ("Secretary of" + "State Mara Lindqvist")."""
    while start < end - 1:
        token = doc[start]
        lower = token.lower_
        if lower in v.honorifics or lower in v.address_titles or lower in v.plural_titles:
            start += 1
            continue
        if lower.rstrip(".") in v.rank_abbreviations and token.text[:1].isupper() and doc[start + 1].is_title:
            start += 1  # "DC Tom Brask", "Cmdr Ana Lind": a rank before a name
            continue
        if lower == "." and start > 0 and doc[start - 1].lower_ + "." in v.honorifics:
            start += 1
            continue
        title_start = _title_ending_at(doc, start, v, of_phrase=False)
        if title_start is not None and title_start < start:
            start += 1
            continue
        break
    return start


def _honorific_before(doc: Doc, start: int, v: Vocab) -> int:
    """Index where a singular honorific or address title right before ``start`` begins, else
    ``start``: "Mr. Quist" and "President Selin" are kept as seen forms of the name."""
    if start < 1:
        return start
    lower, first = _word_before(doc, start - 1)
    if lower in v.plural_titles:
        return start
    if lower in v.honorifics or (lower in v.address_titles and doc[first].text[:1].isupper()):
        return first
    if first >= 1 and f"{doc[first - 1].lower_} {lower}" in v.address_titles and doc[first - 1].is_title:
        return first - 1
    return start


# --- the document pass -----------------------------------------------------------------------


@dataclass
class Evidence:
    """What the document says about people: full names by surname, and label votes."""

    full_keys: set[str] = field(default_factory=set)
    surnames: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    person_votes: Counter[str] = field(default_factory=Counter)
    other_votes: Counter[str] = field(default_factory=Counter)
    body_keys: set[str] = field(default_factory=set)
    titled: set[str] = field(default_factory=set)  # names seen after "Mr." or "President"
    located: set[str] = field(default_factory=set)  # names seen after "in", "near" ... ("in Gao")
    common_words: set[str] = field(default_factory=set)  # words the document writes in lower case

    def add(self, name: str, label: str, line: str) -> None:
        tokens = person_key(name)
        if not tokens:
            return
        key = "".join(tokens)
        if line == "body":
            self.body_keys.add(key)
            self.body_keys.add(surface_key(name))
        if label != "PERSON":
            self.other_votes[key] += 1
            return
        self.person_votes[key] += 1
        if len(tokens) >= 2 and line == "body" and not _looks_compound(name):
            self.full_keys.add(key)
            self.surnames[tokens[-1]].add(key)
            self.body_keys.add(tokens[-1])

    def is_person(self, name: str) -> bool:
        """A full name seen as PERSON, the surname of one, or a single word tagged PERSON at
        least as often as anything else."""
        tokens = person_key(name)
        key = "".join(tokens)
        if key in self.full_keys:
            return True
        if len(tokens) != 1:
            return False
        if self.surnames.get(tokens[0]) or key in self.titled:
            return True
        return self.person_votes[key] > 0 and self.person_votes[key] >= self.other_votes[key]

    def has_full_name_for(self, name: str) -> bool:
        tokens = person_key(name)
        return len(tokens) == 1 and bool(self.surnames.get(tokens[0]))


def _strip_titles(doc: Doc, cand: Candidate, v: Vocab) -> None:
    """Cut honorifics and titles from the span's start and set the candidate's name. Only a
    person's span loses them, or a span whose rest reads as a person's full name ("Mr Ivo
    Varga" tagged ORG): "General Motors" and "King's College" keep theirs."""
    start = _leading_titles(doc, cand.start, cand.end, v)
    if start > cand.start and cand.label != "PERSON":
        rest = _clean_name(doc[start:cand.end].text)
        if not (_looks_like_full_name(rest) and not _has_org_word(rest, v)):
            start = cand.start
    cand.titled, cand.start = start > cand.start, start
    title = _title_ending_at(doc, cand.end - 1, v, of_phrase=False)
    cand.title_tail = title is not None and title < cand.start
    cand.name = _clean_name(doc[cand.start:cand.end].text)


def _after_locative(doc: Doc, cand: Candidate, v: Vocab) -> bool:
    """"in Gao", "near Kessel": a locative preposition before the span, no possessive after it
    ("in Selin's view" speaks of a person)."""
    before = doc[cand.start - 1].lower_ if cand.start > 0 else ""
    after = doc[cand.end].lower_ if cand.end < len(doc) else ""
    return before in v.locative and after not in ("'s", "’s")


def _untitle_known_person(doc: Doc, cand: Candidate, evidence: Evidence, v: Vocab) -> None:
    """"Detective Brask" or "DC Brask" tagged ORG, where the document names Tom Brask: the
    title goes, and the rest is the person."""
    if cand.label == "PERSON":
        return
    start = _leading_titles(doc, cand.start, cand.end, v)
    rest = _clean_name(doc[start:cand.end].text)
    if start > cand.start and evidence.is_person(rest):
        cand.start, cand.name, cand.label, cand.titled = start, rest, "PERSON", True


def _looks_compound(name: str) -> bool:
    """"Trump-Putin", "Russia-China": two capitalised words joined by a hyphen name a pair of
    entities, never one person (hyphenated given names and "Jong-un" are not both capitalised
    or come with another word)."""
    parts = name.split("-")
    return " " not in name and len(parts) == 2 and all(p[:1].isupper() and p[1:].islower() for p in parts)


def find_mentions(doc: Doc) -> list[Mention]:
    """The document's entity mentions, repaired, labelled and named (see the module docstring)."""
    v = vocab()
    lines = Lines(doc_text(doc))  # Doc.text joins every token: shared, never per span
    candidates = _candidates(doc, lines)
    evidence = Evidence(common_words={token.text for token in doc if token.is_lower and token.is_alpha})
    for cand in candidates:
        _strip_titles(doc, cand, v)
        if cand.line != "caps":
            evidence.add(cand.name, cand.label, cand.line)
            if cand.titled or _honorific_before(doc, cand.start, v) < cand.start:
                evidence.titled.add(joined_key(cand.name))
            if _after_locative(doc, cand, v):
                evidence.located.add(surface_key(cand.name))
    kept: list[Candidate] = []
    for cand in candidates:
        for part in _split_compound(doc, cand, evidence, v):
            _untitle_known_person(doc, part, evidence, v)
            _relabel(part, evidence, v)
            if _keep(part, evidence, v):
                kept.append(part)
    for cand in kept:
        _assign_role(doc, cand, v)
    _resolve_people(kept)
    return [_to_mention(doc, lines.text, cand) for cand in kept]


def _clean_name(text: str) -> str:
    """Whitespace collapsed, markup and possessives off, a credit suffix ("Ana Lind/AFP") cut."""
    name = " ".join(text.split()).strip(QUOTE_AND_MARKUP + " ,;:")
    name = name.split("/")[0].strip()
    for suffix in ("'s", "’s"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    if name.endswith(("s'", "s’")):
        name = name[:-1]
    if name.lower().startswith("the "):
        name = name[4:]
    return name.strip(QUOTE_AND_MARKUP + " ,;:")


def _split_compound(doc: Doc, cand: Candidate, evidence: Evidence, v: Vocab) -> list[Candidate]:
    """"Trump-Putin" and "Trump Russia" are two entities when each part is known on its own;
    otherwise the span is kept whole."""
    owner = _possessor(doc, cand, evidence)
    if owner is not None:
        return [owner]
    parts = _compound_parts(doc, cand.start, cand.end)
    if len(parts) != 2 or joined_key(cand.name) in evidence.full_keys:
        return [cand]
    out: list[Candidate] = []
    for start, end in parts:
        name = _clean_name(doc[start:end].text)
        key = surface_key(name)
        if evidence.is_person(name):
            label = "PERSON"
        elif key in v.equivalences:
            label = v.equivalences[key][1]
        elif key in v.places:
            label = v.places[key]
        else:
            return [cand]
        out.append(Candidate(start, end, label, cand.line, False, name))
    return out


def _possessor(doc: Doc, cand: Candidate, evidence: Evidence) -> Candidate | None:
    """"Selin's Harvest Speech" tagged ORG: the mention is of Selin, the rest is no entity."""
    for i in range(cand.start + 1, cand.end - 1):
        if doc[i].lower_ in ("'s", "’s"):
            name = _clean_name(doc[cand.start:i].text)
            if evidence.is_person(name):
                return Candidate(cand.start, i, "PERSON", cand.line, False, name)
            return None
    return None


def _compound_parts(doc: Doc, start: int, end: int) -> list[tuple[int, int]]:
    """Two one-word capitalised parts joined by a hyphen or a space."""
    tokens = doc[start:end]
    if len(tokens) == 3 and tokens[1].text in DASHES and not tokens[0].whitespace_:
        left, right = tokens[0], tokens[2]
        if left.is_title and right.is_title:
            return [(start, start + 1), (start + 2, end)]
    if len(tokens) == 2 and tokens[0].is_title and tokens[1].is_title:
        return [(start, start + 1), (start + 1, end)]
    return []


def _assign_role(doc: Doc, cand: Candidate, v: Vocab) -> None:
    """A person's role, and the surface start (with "Mr." or "President" before a lone surname)."""
    cand.text_start = cand.start
    if cand.label in ("ORG", "FAC") and _looks_like_full_name(cand.name) and not _has_org_word(cand.name, v):
        # "Ivo Varga, an energy analyst, said": a person's title is evidence of a person.
        if _role(doc, cand, v):
            cand.label = "PERSON"
    if cand.label != "PERSON":
        return
    cand.role = _role(doc, cand, v)
    if len(cand.name.split()) == 1:
        cand.text_start = _honorific_before(doc, cand.start, v)


def _role(doc: Doc, cand: Candidate, v: Vocab) -> str | None:
    return (
        premodifier_role(doc, cand.start, v)
        or appositive_role(doc, cand.end, v)
        or left_appositive_role(doc, cand.start, cand.end, v)
    )


def _relabel(cand: Candidate, evidence: Evidence, v: Vocab) -> None:
    """Fix the label from data (datelines, known organisations and places) and evidence."""
    key = surface_key(cand.name)
    if cand.dateline:
        cand.label, cand.name = "GPE", cand.name.title()
        return
    if cand.titled and cand.label in ("ORG", "FAC") and _looks_like_full_name(cand.name):
        cand.label = "PERSON"  # "Mr Ivo Varga", "State Mara Lindqvist": a title, then a name
        return
    if key in v.equivalences:
        cand.label = v.equivalences[key][1]
    elif _fold(cand.name) in v.forced_labels:
        cand.label = v.forced_labels[_fold(cand.name)]
    elif key in v.places and not evidence.has_full_name_for(cand.name):
        # A known place is a place, unless the document names a person with it as surname.
        if cand.label in ("PERSON", "ORG", "NORP", "FAC"):
            cand.label = v.places[key]
    elif (cand.label == "PERSON" or cand.label in MISLABELLED_PERSON) and _place_by_evidence(cand, evidence, v):
        # A span already tagged as a place keeps its kind ("Staten Island" GPE, a prison FAC).
        if cand.label not in ("GPE", "LOC", "FAC"):
            cand.label = v.place_heads.get(cand.name.split()[-1].lower(), "GPE")
    elif cand.label in MISLABELLED_PERSON and evidence.is_person(cand.name):
        cand.label = "PERSON"
    elif cand.label in PLACE_LABELS and DEMONYM.fullmatch(cand.name):
        cand.label = "NORP"  # "the Ukrainian issue": a nationality adjective, not a place


def _place_by_evidence(cand: Candidate, evidence: Evidence, v: Vocab) -> bool:
    """A span tagged PERSON that the text treats as a place: it ends in a place's head word
    ("Kessel Dam", "Varn River"), or it is one word the document puts after a locative
    preposition ("in Gao") and never gives a title or a full name of a person."""
    if cand.titled or joined_key(cand.name) in evidence.titled:
        return False
    words = cand.name.split()
    if len(words) >= 2 and words[-1].lower() in v.place_heads:
        return True
    return (cand.label == "PERSON" and len(words) == 1 and surface_key(cand.name) in evidence.located
            and not evidence.has_full_name_for(cand.name))


def _looks_like_full_name(name: str) -> bool:
    words = name.split()
    return 2 <= len(words) <= 4 and all(w[:1].isupper() and not w.isupper() for w in words)


def _has_org_word(name: str, v: Vocab) -> bool:
    """An organisation's word anywhere in the name, or a place's head word at its end."""
    words = [word.lower().strip(".,") for word in name.split()]
    return any(word in v.org_words for word in words) or bool(words and words[-1] in v.place_heads)


def _keep(cand: Candidate, evidence: Evidence, v: Vocab) -> bool:
    """Reject junk: title lines, headline fragments, boilerplate words, lower-case words,
    numbers, bare titles, over-long or symbol-laden "names"."""
    name = cand.name
    if (cand.line == "caps" and not cand.dateline) or cand.title_tail:
        return False
    if len(name) < 2 or not any(ch.isalpha() for ch in name) or BAD_CHARS.search(name):
        return False
    lower = name.lower()
    if lower in v.junk or lower in v.role_heads or lower in v.honorifics or lower in v.plural_titles:
        return False
    first = name.split()[0]
    if first[0].islower() and first.lower().split("-")[0] not in v.particles:
        return False
    if cand.label == "PERSON" and (len(name.split()) > MAX_PERSON_TOKENS or any(ch.isdigit() for ch in name)):
        return False
    if cand.label in PLACE_LABELS and _common_word_as_place(cand, evidence, v):
        return False
    if cand.line == "headline":
        # Headline words ("Trump Finally") pass only when the body names the same thing.
        return joined_key(name) in evidence.body_keys or surface_key(name) in evidence.body_keys
    return True


def _common_word_as_place(cand: Candidate, evidence: Evidence, v: Vocab) -> bool:
    """"Media" or "Children" tagged GPE: one word the document also writes in lower case, in no
    place list, never put after a locative preposition nor in a dateline, names no place."""
    key = surface_key(cand.name)
    return (" " not in cand.name and not cand.dateline and key not in v.places and key not in v.equivalences
            and key not in evidence.located and cand.name.lower() in evidence.common_words)


def _resolve_people(cands: list[Candidate]) -> None:
    """Give every mention of one person the fullest form of their name seen in the document;
    a surname (or, failing that, a lone first name) links to the one full name it belongs to."""
    people = [c for c in cands if c.label == "PERSON"]
    groups: dict[str, list[Candidate]] = defaultdict(list)
    for cand in people:
        groups[joined_key(cand.name)].append(cand)
    by_last: dict[str, set[str]] = defaultdict(set)
    by_first: dict[str, set[str]] = defaultdict(set)
    for key, members in groups.items():
        tokens = person_key(members[0].name)
        if len(tokens) >= 2 and not _looks_compound(members[0].name):
            by_last[tokens[-1]].add(key)
            by_first[tokens[0]].add(key)
    target: dict[str, str] = {}
    counts = {key: len(members) for key, members in groups.items()}
    for key, members in groups.items():
        tokens = person_key(members[0].name)
        if len(tokens) == 1:
            options = by_last.get(tokens[0]) or by_first.get(tokens[0]) or set()
            chosen = dominant(options, counts)
            if chosen is not None:
                target[key] = chosen
    names = {key: fullest(c.name for c in members) for key, members in groups.items()}
    for key, members in groups.items():
        final = names[target.get(key, key)]
        for cand in members:
            cand.name = final


def dominant(options: set[str], counts: Mapping[str, int]) -> str | None:
    """The one full name a bare surname refers to: the only one with that surname, else the one
    named strictly more often than each of the others ("Sementilli" is the victim named ten
    times, not his wife named twice); None when no one stands out."""
    if len(options) <= 1:
        return next(iter(options), None)
    ranked = sorted(options, key=lambda key: (-counts.get(key, 0), key))
    return ranked[0] if counts.get(ranked[0], 0) > counts.get(ranked[1], 0) else None


def fullest(forms: Iterable[str]) -> str:
    """The fullest form: most name parts (then words: "Kim Jong Un" over "Kim Jong-un"), then
    the most frequent, then the longest."""
    counts = Counter(forms)
    return max(counts, key=lambda f: (len(person_key(f)), len(f.split()), counts[f], len(f)))


def _to_mention(doc: Doc, full_text: str, cand: Candidate) -> Mention:
    v = vocab()
    start_char = doc[cand.text_start].idx
    last = doc[cand.end - 1]
    end_char = last.idx + len(last.text)
    text = full_text[start_char:end_char]
    # The surface text keeps what the reader saw, minus a possessive or a credit suffix.
    for suffix in ("'s", "’s"):
        if text.endswith(suffix):
            end_char -= len(suffix)
    if "/" in text:
        end_char = start_char + text.index("/")
    text = full_text[start_char:end_char]
    name = cand.name
    if cand.label != "PERSON":
        name = v.equivalences.get(surface_key(name), (name, ""))[0]
    return Mention(start_char, end_char, text, cast(EntityType, cand.label), name, cand.role)


# --- the story level -------------------------------------------------------------------------


@dataclass
class _Seen:
    """One mention with the document it came from."""

    source: str
    order: int
    mention: Mention


def canonical_entities(documents: list[Document]) -> list[EntityItem]:
    """Merge the documents' mentions into the story's entities, most mentioned first."""
    seen = [
        _Seen(doc.id or doc.origin, order, m)
        for order, doc in enumerate(documents)
        if doc.annotations is not None
        for m in doc.annotations.mentions
    ]
    people = _StoryPeople(seen)
    groups: dict[tuple[str, str], list[_Seen]] = defaultdict(list)
    for item in seen:
        groups[_group_key(item.mention, people)].append(item)
    _merge_misspelt_people(groups)
    entities = [_build_entity(kind, members) for (kind, _), members in groups.items()]
    entities.sort(key=lambda e: (-e.mentions, e.name.casefold()))
    return entities


def _merge_misspelt_people(groups: dict[tuple[str, str], list[_Seen]]) -> None:
    """A person's name misspelt somewhere in the story ("Semintelli" beside "Fabio Sementilli",
    "Linneaus" beside "Linnaeus") joins the better-attested spelling: the same type (PERSON),
    the same story, the same tokens but the surname, and surnames a typo apart
    (``_typo_apart``). The rarer spelling joins the more frequent one; candidates share the
    tokens before the surname and its first letter, so this stays linear in practice."""
    people = sorted((key for key in groups if key[0] == "PERSON"),
                    key=lambda key: (-len(groups[key]), key[1]))
    # Full names by their first tokens and the surname's first letter; bare surnames, and
    # every full name, by that letter alone: a full name meets full names with the same first
    # tokens and bare surnames, a bare surname meets any name.
    full: dict[tuple[str, ...], list[tuple[str, str]]] = defaultdict(list)
    bare: dict[str, list[tuple[str, str]]] = defaultdict(list)
    any_name: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key in people:
        tokens = person_key(fullest(item.mention.name for item in groups[key]))
        if not tokens or not tokens[-1]:
            continue
        letter = tokens[-1][0]
        near = full[(*tokens[:-1], letter)] + bare[letter] if len(tokens) > 1 else any_name[letter]
        target = next((other for other in near if _typo_apart(tokens[-1], _surname(groups[other]))), None)
        if target is not None:
            groups[target].extend(groups.pop(key))
            continue
        if len(tokens) > 1:
            full[(*tokens[:-1], letter)].append(key)
        else:
            bare[letter].append(key)
        any_name[letter].append(key)


def _surname(members: list[_Seen]) -> str:
    return person_key(fullest(item.mention.name for item in members))[-1]


def _typo_apart(a: str, b: str) -> bool:
    """Two different spellings a typo apart: at most one edit (a swap of neighbours counts
    as one) for names of five letters or more, two for names of nine or more."""
    if a == b or min(len(a), len(b)) < 5:
        return False
    limit = 2 if min(len(a), len(b)) >= 9 else 1
    return abs(len(a) - len(b)) <= limit and _edit_distance(a, b) <= limit


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (insertions, deletions, substitutions, swaps)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


class _StoryPeople:
    """Full names of the story's people by surname, to link surnames and mislabelled spans."""

    def __init__(self, seen: list[_Seen]) -> None:
        v = vocab()
        self.by_last: dict[str, set[str]] = defaultdict(set)
        self.by_first_last: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.person_single: set[str] = set()
        self.counts: Counter[str] = Counter()
        for item in seen:
            if item.mention.label != "PERSON":
                continue
            tokens = person_key(item.mention.name)
            if len(tokens) >= 2 and not _looks_compound(item.mention.name):
                self.counts["".join(tokens)] += 1
                self.by_last[tokens[-1]].add("".join(tokens))
                self.by_first_last[(tokens[0], tokens[-1])].add("".join(tokens))
            elif tokens:
                self.person_single.add(tokens[0])
        self.places = v.places

    def key_for(self, name: str) -> str | None:
        """The person key this name belongs to, or None when it names no known person."""
        tokens = person_key(name)
        if not tokens:
            return None
        if len(tokens) == 1:
            return dominant(self.by_last.get(tokens[0], set()), self.counts)
        key = "".join(tokens)
        options = self.by_first_last.get((tokens[0], tokens[-1]), set())
        if len(options) == 1:
            return next(iter(options))
        # "Vladimir Vladimirovich Putin" and "Vladimir Putin": first and last names agree.
        if len(options) == 2 and key in options:
            return max(options, key=len)
        return key if key in options else None


def _group_key(mention: Mention, people: _StoryPeople) -> tuple[str, str]:
    if mention.label == "PERSON":
        return ("PERSON", people.key_for(mention.name) or joined_key(mention.name))
    key = surface_key(mention.name)
    canonical = vocab().equivalences.get(key)
    if canonical:
        return ("OTHER", surface_key(canonical[0]))
    if mention.label in MISLABELLED_PERSON and key not in people.places:
        linked = people.key_for(mention.name)
        tokens = person_key(mention.name)
        # A span tagged PERSON elsewhere in the story (as this surname or this full name).
        if linked and (len(tokens) > 1 or tokens[0] in people.person_single):
            return ("PERSON", linked)
    return ("OTHER", key)


def _build_entity(kind: str, members: list[_Seen]) -> EntityItem:
    v = vocab()
    names = [item.mention.name for item in members]
    if kind == "PERSON":
        name, label = fullest(names), "PERSON"
    else:
        key = surface_key(names[0])
        canonical = v.equivalences.get(key)
        name = canonical[0] if canonical else _most_common_form(names)
        label = canonical[1] if canonical else Counter(i.mention.label for i in members).most_common(1)[0][0]
    return EntityItem(
        name=name,
        type=cast(EntityType, label),
        aliases=_aliases(name, members),
        roles=_roles(members),
        mentions=len(members),
        sources=_sources(members),
    )


def _most_common_form(names: list[str]) -> str:
    counts = Counter(names)
    # Prefer a form that is not ALL CAPS ("Hamburg" over "HAMBURG"), then frequency, then length.
    return max(counts, key=lambda f: (not (f.isupper() and len(f) > 4), counts[f], len(f)))


def _aliases(name: str, members: list[_Seen]) -> list[str]:
    """Every other surface form seen, once each (case-insensitively), in order of frequency."""
    counts: Counter[str] = Counter()
    for item in members:
        counts[" ".join(item.mention.text.split())] += 1
        counts[item.mention.name] += 1
    chosen: dict[str, str] = {}
    for form, _ in counts.most_common():
        folded = form.casefold()
        if folded != name.casefold() and folded not in chosen and form:
            chosen[folded] = form
    return list(chosen.values())


def _roles(members: list[_Seen]) -> list[str]:
    counts: Counter[str] = Counter()
    first: dict[str, str] = {}
    for item in members:
        role = item.mention.role
        if role:
            counts[role.casefold()] += 1
            first.setdefault(role.casefold(), role)
    return [first[key] for key, _ in counts.most_common()]


def _sources(members: list[_Seen]) -> list[str]:
    order: dict[str, int] = {}
    for item in members:
        order.setdefault(item.source, item.order)
    return sorted(order, key=lambda s: order[s])


__all__ = ["canonical_entities", "find_mentions", "joined_key", "person_key", "surface_key"]
