"""The story's agenda: the issues it is about, found in its own words, and those a user names.

How issues are found (every constant lives in ``data/agenda.json``, sections ``terms`` and
``issues``; lexical only, so it adds a fraction of a second to a briefing):

1. **Passages.** Each original source's annotated sentences, split at line breaks (a heading
   and the sentence under it are two lines); lines under ``passage.min_words`` words do not count.
2. **Terms** of a passage: its content words (stop words out, lightly stemmed, a few news
   synonyms folded: "truce" -> ceasefire, "meddling" -> interference), adjacent pairs of content
   words ("arms control"), the names of its entity mentions ("DPRK" counts as North Korea
   through the entity stage's canonical names), and people (by surname). A demonym counts as its
   place ("Syrian" -> Syria) and a capital or seat of power as its country ("Damascus" -> Syria,
   "the Kremlin" -> Russia).
3. **Not issues.** Protagonists: a term in ``story_share`` of all passages, or a named thing in
   every source and ``everywhere_share`` of the passages ("Trump", "Russia"). Actors: people who
   are quoted or forecast anything, cities and organisations ("Vessa", "Congress"), and the
   sources' own countries (their ``country``: the story's parties and observers). ``generic``
   words, units, words the story uses mostly as verbs ("to lift"), and one-word terms that no
   source discusses (two of its passages within ``discussed_window``) are not issues either.
   Nor is what names no topic: a word the tagger does not read as a common noun in most of the
   story's uses of it (a verb form, "took"; a piece of a name, NNP), a word or phrase written
   inside a longer capitalised name more often than on its own ("Coast" of "West Coast Bank",
   "Hall" of "City Hall"), and a bare compass word ("the North").
   A named thing followed by "summit", "talks" ... is an event on the agenda ("G20 summit").
4. **Seeds and keywords.** Terms score by how many sources and passages carry them (a named
   thing or a two-word phrase a little more); the best seed becomes an issue, and the terms whose
   passages mostly (``join_share``) lie in or next to the seed's become its keywords ("truce"
   beside "Syria"). A later seed that mostly repeats an issue's passages is folded into it. The
   issue's passages are the seed's plus its keywords' passages near the seed's. Issues are
   ranked by seed score plus a little per keyword gathered (a topic is discussed in several
   words; a word used in unrelated senses gathers none).
5. **Labels** come from the text: a named thing's canonical name ("North Korea"), an event with
   its head ("G20 summit"), a phrase as written ("Arms control"), a person's fullest name, and a
   single word, in the lower-case form the text gives it, with the modifier the text gives it
   ("interference in the US elections" -> "Election interference"). A word that is only that modifier elsewhere ("Election") is not
   an issue of its own.
6. **User-named issues** (``"Arms control: INF, New START"``) are always reported, first, with
   the label as a keyword too; their passages are those containing any keyword (same keys:
   case, plurals and synonyms folded).

Deterministic: statistics are counts over sets, and every tie is broken by content (the term),
never by input order, so the same documents in any order give the same issues.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import pairwise
from typing import Any

from storyline.countries import country_names_by_code
from storyline.errors import UsageError
from storyline.model import Document
from storyline.resources import read_data
from storyline.text import split_lines, stem, stop_words

# "G-20" is one token (G20); "Russia's" keeps its possessive for the stemmer to drop.
_TOKEN = re.compile(r"[A-Za-z]+-[0-9]+\b|[A-Za-z][A-Za-z0-9]*(?:['\u2019][A-Za-z]+)?|[0-9]+[A-Za-z]+")
_HYPHENATED = re.compile(r"\b[A-Za-z]+-[A-Za-z]+\b")
_GAP = re.compile(r"^[\s\-\u2010\u2011]*$")


@lru_cache(maxsize=1)
def config() -> dict[str, Any]:
    data: dict[str, Any] = read_data("agenda.json")
    return data


@lru_cache(maxsize=1)
def _generic() -> frozenset[str]:
    return frozenset(config()["terms"]["generic"])


@dataclass
class Passage:
    """One line of a source's sentence: ``text == document.text[start:end]``."""

    source: str
    order: int  # position among its source's lines (headings included), for "next to" tests
    start: int
    end: int
    text: str
    keys: list[str] = field(default_factory=list)  # content-word keys in text order (no stop words)
    terms: set[str] = field(default_factory=set)


@dataclass
class NamedIssue:
    """An issue the user named: ``--issue "Arms control: INF, New START"``."""

    label: str
    keywords: list[str]


@dataclass
class Issue:
    """An issue of the story and the passages that are about it."""

    label: str
    keywords: list[str]
    passages: list[Passage]
    named: bool = False
    score: float = 0.0
    terms: list[str] = field(default_factory=list)  # the keywords' term keys

    def by_source(self) -> dict[str, list[Passage]]:
        out: dict[str, list[Passage]] = {}
        for passage in self.passages:
            out.setdefault(passage.source, []).append(passage)
        return out


@dataclass
class _Stats:
    passages: dict[str, set[int]]  # term -> passage indices
    surface: dict[str, Counter[str]]  # term -> forms seen
    entity: set[str]  # terms that are a named place / organisation / law / event
    excluded: set[str]  # words of people's names: never terms on their own
    kinds: dict[str, str] = field(default_factory=dict)  # entity term -> its mention type
    people: set[str] = field(default_factory=set)  # person terms ("@hollen")
    actors: set[str] = field(default_factory=set)  # person terms of speakers: never issues
    places: Any = None  # the story's _Places
    parties: set[str] = field(default_factory=set)  # place keys of the sources' own countries
    events: dict[str, Counter[str]] = field(default_factory=dict)  # named thing -> "X summit" pairs


# --- user-named issues ---------------------------------------------------------------------------

def parse_issue(spec: str) -> NamedIssue:
    """``"Label: kw1, kw2"`` -> the label and its keywords (the label is a keyword too)."""
    label, _, rest = spec.partition(":")
    label = " ".join(label.split())
    if not label:
        raise UsageError(f"--issue needs a label before the colon: {spec!r}")
    keywords = [" ".join(k.split()) for k in rest.split(",") if k.strip()]
    ordered: dict[str, str] = {}
    for keyword in [label, *keywords]:  # the label is a keyword; the first spelling of each wins
        ordered.setdefault(keyword.lower(), keyword)
    return NamedIssue(label=label, keywords=list(ordered.values()))


def named_issues(specs: Iterable[str | NamedIssue]) -> list[NamedIssue]:
    out = [spec if isinstance(spec, NamedIssue) else parse_issue(spec) for spec in specs]
    seen: set[str] = set()
    unique = []
    for issue in out:  # the same label twice is one issue (first spec wins)
        if issue.label.lower() not in seen:
            seen.add(issue.label.lower())
            unique.append(issue)
    return unique


# --- passages and terms --------------------------------------------------------------------------

def passages_of(documents: Sequence[Document]) -> list[Passage]:
    """Every countable line of the documents' annotated sentences, with its terms."""
    min_words = config()["passage"]["min_words"]
    out: list[Passage] = []
    for document in documents:
        notes = document.annotations
        if notes is None:
            continue
        order = 0
        for sentence in notes.sentences:
            for start, end in split_lines(document.text, sentence.start, sentence.end):
                text = document.text[start:end]
                if len(text.split()) >= min_words:
                    out.append(Passage(document.id or "", order, start, end, text))
                order += 1
    return out


@lru_cache(maxsize=65536)
def key_of(word: str) -> str:
    """A word's key: lower-cased, lightly stemmed, a few news synonyms folded ("truce" ->
    "ceasefire", "meddling" -> "interference")."""
    key = stem(word.replace("\u2019", "'").replace("-", "").lower())
    return _synonyms().get(key, key)


@lru_cache(maxsize=1)
def _synonyms() -> dict[str, str]:
    return {stem(k): stem(v) for k, v in config()["terms"]["synonyms"].items()}


def word_tokens(text: str) -> list[str]:
    """The words of a text, as the agenda reads them ("G-20" is one word)."""
    return [word for _, _, word in _tokens(text)]


@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[tuple[int, int, str], ...]:  # cached: passages are read often
    """(start, end, word); a hyphenated word is one word when it is a known synonym
    ("cease-fire"), else its parts ("Trump-Putin")."""
    joined = {m.start(): m for m in _HYPHENATED.finditer(text)
              if key_of(m.group()) in _synonyms().values() or key_of(m.group()) in _synonyms()}
    out = []
    skip_until = -1
    for match in _TOKEN.finditer(text):
        if match.start() < skip_until:
            continue
        whole = joined.get(match.start())
        if whole is not None:
            out.append((whole.start(), whole.end(), whole.group()))
            skip_until = whole.end()
            continue
        out.append((match.start(), match.end(), match.group()))
    return tuple(out)


class _Places:
    """Folds the story's ways of naming a place into one key: a demonym ("Syrian",
    "North Korean") and a capital or seat of power ("Damascus", "the Kremlin") count as the
    place itself."""

    def __init__(self, documents: Sequence[Document]) -> None:
        terms_config = config()["terms"]
        self.endings = tuple(terms_config["demonym_endings"])
        self.seats = {seat: _phrase_key(country) for seat, country in terms_config["seats"].items()}
        self.names: dict[str, str] = {}  # surface (lower-cased) -> key
        for document in documents:
            for mention in document.annotations.mentions if document.annotations else []:
                if mention.label in ("GPE", "LOC"):
                    key = _phrase_key(mention.name)
                    for surface in (mention.name, mention.text):
                        self.names.setdefault(surface.lower(), key)
        self.roots = sorted(self.names, key=lambda n: (-len(n), n))
        self.regions: set[str] = set()  # LOC places: regions, seas
        self.with_demonym: set[str] = set()  # places the story names by a demonym: countries
        for document in documents:
            for mention in document.annotations.mentions if document.annotations else []:
                if mention.label == "LOC":
                    self.regions.add(_phrase_key(mention.name))
        for document in documents:  # a place also tagged as a city or country is not a region
            for mention in document.annotations.mentions if document.annotations else []:
                if mention.label == "GPE":
                    self.regions.discard(_phrase_key(mention.name))

    def fold(self, surface: str) -> str | None:
        lowered = surface.lower().removeprefix("the ")
        if lowered in self.seats:
            return self.seats[lowered]
        for name in self.roots:
            root = name[:-1] if len(name) > 4 else name
            if lowered != name and lowered.startswith(root) and lowered[len(root):] in self.endings:
                key = self.seats.get(name, self.names[name])
                self.with_demonym.add(key)
                return key
        return None


def _phrase_key(text: str) -> str:
    return " ".join(key_of(w) for w in _words(text))


def _collect(documents: Sequence[Document], passages: list[Passage]) -> _Stats:
    stats = _Stats(passages={}, surface={}, entity=set(), excluded=set())
    places = _Places(documents)
    stats.places = places
    _collect_mentions(documents, passages, stats, places)
    stats.actors = _speakers(documents) & stats.people
    stats.parties = _parties(documents)
    for index, passage in enumerate(passages):
        _collect_words(index, passage, stats, places)
    return stats


def _collect_mentions(documents: Sequence[Document], passages: list[Passage], stats: _Stats,
                      places: _Places) -> None:
    """Named things as terms (under their canonical names); people's names are kept out."""
    labels = set(config()["terms"]["entity_labels"])
    by_source: dict[str, list[int]] = {}
    for index, passage in enumerate(passages):
        by_source.setdefault(passage.source, []).append(index)
    for document in documents:
        indices = by_source.get(document.id or "", [])
        for mention in document.annotations.mentions if document.annotations else []:
            if mention.label == "PERSON":
                stats.excluded.update(key_of(w) for w in _words(f"{mention.name} {mention.text}"))
                _add_person(stats, mention.name, mention.start, indices, passages)
                continue
            folded = places.fold(mention.name) or places.fold(mention.text)
            if mention.label not in labels and folded is None:
                continue
            key = folded or _phrase_key(mention.name)
            name = _display_place(folded, places) if folded else mention.name
            at = next((i for i in indices if passages[i].start <= mention.start < passages[i].end), None)
            if key and at is not None:
                _add(stats, key, at, name)
                stats.entity.add(key)
                stats.kinds.setdefault(key, "GPE" if folded else mention.label)
                stats.surface[key][name] += 5  # the canonical name labels a named thing


def _add_person(stats: _Stats, name: str, start: int, indices: list[int], passages: list[Passage]) -> None:
    """A person as a possible issue (the detained reporter), keyed by surname: which people are
    actors rather than cases is decided once the story's speakers are known."""
    words = _words(name)
    index = next((i for i in indices if passages[i].start <= start < passages[i].end), None)
    if not words or index is None:
        return
    key = "@" + key_of(words[-1])
    _add(stats, key, index, name)
    stats.surface[key][name] += len(words)  # the fullest form names the person
    stats.people.add(key)


def _speakers(documents: Sequence[Document]) -> set[str]:
    """Surname keys of everyone quoted or forecasting: they are actors, not issues."""
    out: set[str] = set()
    for document in documents:
        notes = document.annotations
        if notes is None:
            continue
        for who in [q.speaker for q in notes.quotes] + [f.holder for f in notes.forecasts]:
            words = _words(who or "")
            if words:
                out.add("@" + key_of(words[-1]))
    return out


def _parties(documents: Sequence[Document]) -> set[str]:
    """Place keys of the sources' own countries (``country`` is a name or an ISO code)."""
    by_code = country_names_by_code()
    seats = config()["terms"]["seats"]
    out: set[str] = set()
    for document in documents:
        country = document.country
        if not country:
            continue
        for name in by_code.get(country.upper(), [country]):
            out.add(_phrase_key(name))
            out.update(_phrase_key(seat) for seat, of in seats.items() if of == name)
    return out


def _display_place(key: str, places: _Places) -> str:
    for country in config()["terms"]["seats"].values():
        if _phrase_key(country) == key:
            return str(country)
    forms = sorted(n for n, k in places.names.items() if k == key)
    return forms[0].title() if forms else key


def _collect_words(index: int, passage: Passage, stats: _Stats, places: _Places) -> None:
    """Content words and adjacent pairs of content words of one passage."""
    stop = stop_words()
    min_chars = config()["terms"]["min_word_chars"]
    previous: tuple[int, str, int, str] | None = None  # end, key, start, word
    for start, end, word in _tokens(passage.text):
        lowered = word.lower()
        if lowered in stop or (len(lowered) < min_chars and not word.isupper()):
            previous = None
            continue
        key = (places.fold(word) if word[0].isupper() else None) or key_of(word)
        passage.keys.append(key)
        _add(stats, key, index, word if word[0].isupper() else lowered)
        if previous is not None and _GAP.match(passage.text[previous[0]:start]):
            surface = passage.text[previous[2]:end]
            pair = (places.fold(surface) if previous[3][0].isupper() else None) or f"{previous[1]} {key}"
            _add(stats, pair, index, surface)
            if previous[1] in stats.entity and key in _event_heads():
                stats.events.setdefault(previous[1], Counter())[pair] += 1  # "G20 summit"
        previous = (end, key, start, word)


def _words(name: str) -> list[str]:
    return [w for _, _, w in _tokens(name)]


def _add(stats: _Stats, key: str, index: int, surface: str) -> None:
    stats.passages.setdefault(key, set()).add(index)
    stats.surface.setdefault(key, Counter())[surface] += 1


# --- discovery -----------------------------------------------------------------------------------

def _candidate(term: str, stats: _Stats, passages: list[Passage]) -> bool:
    """Could name an issue: not a generic word, a protagonist, an actor or a mere setting."""
    terms_config = config()["terms"]
    indices = stats.passages[term]
    words = term.split()
    if len(indices) < terms_config["min_passages"]:
        return False
    if term in stats.people:
        if term[1:] in stats.entity or term[1:] in stats.places.names:
            return False  # a place the tagger once took for a person ("Vessa")
        return (term not in stats.actors and len({passages[i].source for i in indices}) >= 2
                and not _protagonist(term, stats, passages))
    if term in stats.entity:
        return _topical_place(term, stats) and not _protagonist(term, stats, passages)
    if len(words) == 2 and words[0] in stats.entity and words[1] in _event_heads():
        return not _protagonist(words[0], stats, passages)  # "G20 summit": an event on the agenda
    if any(w in stats.excluded or w in _generic() or w.isdigit() for w in words):
        return False
    if len(indices) >= terms_config["story_share"] * len(passages):
        return False
    if len(words) == 1 and not _discussed(indices, passages):
        return False
    return not (len(words) > 1 and any(_protagonist(w, stats, passages) for w in words))


@lru_cache(maxsize=1)
def _event_heads() -> frozenset[str]:
    return frozenset(key_of(w) for w in config()["terms"]["event_heads"])


@lru_cache(maxsize=1)
def _country_names() -> frozenset[str]:
    return frozenset(_phrase_key(name) for names in country_names_by_code().values() for name in names)


def _topical_place(term: str, stats: _Stats) -> bool:
    """A named thing that can be an issue: a law, an event, a region, or a country that is not
    one of the sources' own (those are the story's parties and observers). Cities and
    organisations are settings and actors ("Vessa", "Congress"): keywords at most."""
    kind = stats.kinds.get(term)
    if kind in ("LAW", "EVENT") or term in stats.events:
        return True
    if term in stats.parties:
        return False
    places = stats.places
    if kind == "LOC" or term in places.regions:
        return True
    return kind == "GPE" and (term in _country_names() or term in places.with_demonym)


def _protagonist(term: str, stats: _Stats, passages: list[Passage]) -> bool:
    """So present that it is what the whole story is about: in ``story_share`` of all passages,
    or in every source (of three or more) and ``everywhere_share`` of the passages."""
    terms_config = config()["terms"]
    indices = stats.passages.get(term, set())
    if len(indices) >= terms_config["story_share"] * len(passages):
        return True
    if term not in stats.entity and term not in stats.people and term not in stats.excluded:
        return False  # a common word present everywhere ("tariffs") can still be an issue
    sources = {p.source for p in passages}
    covered = {passages[i].source for i in indices}
    return (len(sources) >= 3 and covered == sources
            and len(indices) >= terms_config["everywhere_share"] * len(passages))


def _discussed(indices: set[int], passages: list[Passage]) -> bool:
    """Some source returns to it within ``discussed_window`` passages: a topic is discussed,
    a passing word is only mentioned."""
    window = config()["terms"]["discussed_window"]
    orders = sorted((passages[i].source, passages[i].order) for i in indices)
    return any(a[0] == b[0] and b[1] - a[1] <= window for a, b in pairwise(orders))


def _nouns(terms: list[str], stats: _Stats, passages: list[Passage]) -> set[str]:
    """The one-word terms spaCy's tagger reads as common nouns where the story uses them: a
    topic is a thing, not a verb form ("took"), an adverb ("finally") or a piece of a name
    ("Coast" of "West Coast Bank", tagged NNP). Up to ``noun_sample`` of each term's passages
    are tagged (tagger only, once per passage): tens of milliseconds for a story's candidates."""
    from storyline.annotate.nlp import load_nlp

    if not terms:
        return set()
    terms_config = config()["terms"]
    tags = set(terms_config["noun_tags"])
    sample = {t: sorted(stats.passages[t])[:terms_config["noun_sample"]] for t in terms}
    wanted = sorted({i for indices in sample.values() for i in indices})
    nlp = load_nlp()
    with nlp.select_pipes(enable=["tok2vec", "tagger"]):
        tagged = dict(zip(wanted, nlp.pipe(passages[i].text for i in wanted)))
    out = set()
    for term, indices in sample.items():
        found = [token.tag_ for i in indices for token in tagged[i]
                 if token.is_alpha and key_of(token.text) == term]
        if found and 2 * sum(tag in tags for tag in found) > len(found):
            out.add(term)
    return out


def _name_part(term: str, passages: list[Passage], indices: set[int]) -> bool:
    """A term written as part of a longer capitalised name ("Hall" of "City Hall", "Diego
    Healthcare" of "San Diego Healthcare System") more often than on its own in lower case:
    a fragment of a proper name, never a topic."""
    size = len(term.split())
    in_name = common = 0
    for index in indices:
        tokens = _tokens(passages[index].text)
        keys = [key_of(word) for _, _, word in tokens]
        for position in range(len(tokens) - size + 1):
            if " ".join(keys[position:position + size]) != term:
                continue
            words = [word for _, _, word in tokens[position:position + size]]
            if all(w[:1].islower() for w in words):
                common += 1
                continue
            text = passages[index].text
            before = tokens[position - 1] if position > 0 else None
            after = tokens[position + size] if position + size < len(tokens) else None
            joined_before = before is not None and before[2][:1].isupper() and _GAP.match(
                text[before[1]:tokens[position][0]]) is not None
            joined_after = after is not None and after[2][:1].isupper() and _GAP.match(
                text[tokens[position + size - 1][1]:after[0]]) is not None
            in_name += joined_before or joined_after
    return in_name > common


def _direction(term: str, stats: _Stats) -> bool:
    """A bare compass word ("North", "the west"): a direction names no topic, even when the
    tagger takes "the North" for a place."""
    return _display(term, stats).lower().removeprefix("the ") in _directions()


@lru_cache(maxsize=1)
def _directions() -> frozenset[str]:
    return frozenset(config()["terms"]["directions"])


def _verb_used(term: str, stats: _Stats, passages: list[Passage]) -> bool:
    """Used in this story more often as a verb ("to lift") than as a noun ("the lift")."""
    terms_config = config()["terms"]
    verb, noun = set(terms_config["verb_markers"]), set(terms_config["noun_markers"])
    as_verb = as_noun = 0
    for index in stats.passages[term]:
        tokens = [w.lower() for _, _, w in _tokens(passages[index].text)]
        for before, word in pairwise(tokens):
            if key_of(word) == term:
                as_verb += before in verb
                as_noun += before in noun
    return as_verb > as_noun


def _score(term: str, stats: _Stats, passages: list[Passage]) -> float:
    issues_config = config()["issues"]
    indices = stats.passages[term]
    sources = len({passages[i].source for i in indices})
    value = sources * issues_config["w_sources"] + math.log2(1 + len(indices)) * issues_config["w_passages"]
    bonus = max(issues_config["entity_bonus"] if term in stats.entity else 1.0,
                issues_config["phrase_bonus"] if " " in term else 1.0)
    score: float = value * bonus
    return score


def _neighbourhood(indices: set[int], passages: list[Passage], window: int) -> set[tuple[str, int]]:
    return {(passages[i].source, passages[i].order + step) for i in indices
            for step in range(-window, window + 1)}


def _near(indices: set[int], around: set[tuple[str, int]], passages: list[Passage]) -> set[int]:
    return {i for i in indices if (passages[i].source, passages[i].order) in around}


def discover(documents: Sequence[Document], passages: list[Passage], stats: _Stats,
             room: int, taken: set[str]) -> list[Issue]:
    """Up to ``room`` issues found in the passages; ``taken`` terms belong to named issues."""
    issues_config = config()["issues"]
    candidates = [t for t in stats.passages if t not in taken and _candidate(t, stats, passages)]
    candidates = [t for t in candidates if not _direction(t, stats)
                  and (t in stats.entity or t in stats.people or not _name_part(t, passages, stats.passages[t]))]
    plain = sorted(t for t in candidates if " " not in t and t not in stats.entity)
    nouns = {t for t in _nouns(plain, stats, passages) if not _verb_used(t, stats, passages)}
    seeds = [t for t in candidates if t in nouns or t in stats.entity or t in stats.people or " " in t]
    scores = {t: _score(t, stats, passages) for t in candidates}
    ranked = sorted(seeds, key=lambda t: (-scores[t], t))
    used: set[str] = set(taken)
    min_sources = min(issues_config["min_sources"], len({p.source for p in passages}))
    found: list[tuple[Issue, set[int]]] = []
    for seed in ranked:
        if len(found) >= room * issues_config["pool_factor"]:
            break
        if seed in used or any(part in used for part in seed.split()):
            continue
        if any(_part_of(seed, term) for issue, _ in found for term in issue.terms):
            used.add(seed)  # "commission" after "monitoring commission"
            continue
        seed_indices = stats.passages[seed]
        if len({passages[i].source for i in seed_indices}) < min_sources:
            continue
        if _folded(seed, seed_indices, found, stats, passages):
            used.add(seed)
            continue
        around = _neighbourhood(seed_indices, passages, issues_config["join_window"])
        members = set(seed_indices)
        keywords = [seed]
        joiners = []
        for term in seeds:
            if term in used or term == seed or _part_of(term, seed):
                continue
            indices = stats.passages[term]
            if len(indices) < issues_config["min_keyword_passages"]:
                continue
            near = _near(indices, around, passages)
            if len(near) >= issues_config["join_share"] * len(indices):
                joiners.append((-len(near & seed_indices), -scores[term], term, near))
        for _, _, term, near in sorted(joiners):
            if len(keywords) >= issues_config["max_keywords"] or any(_part_of(term, k) for k in keywords):
                continue
            keywords.append(term)
            members |= near
        used.update(keywords)
        issue = Issue(label=_label(seed, stats, passages), keywords=_keywords(keywords, stats),
                      passages=[passages[i] for i in sorted(members, key=lambda i: _order_key(passages[i]))],
                      score=scores[seed], terms=list(keywords))
        found.append((issue, members))
    # "Election" next to "Election interference": a word the text uses in many senses, whose
    # one sense that makes an issue is already one.
    modifiers = {issue.label.split()[0].lower() for issue, _ in found if len(issue.label.split()) == 2}
    kept = [f for f in found if not (len(f[0].terms) and " " not in f[0].terms[0]
                                     and f[0].label.lower() in modifiers)]
    best = sorted(kept, key=lambda f: (-_issue_score(f[0]), f[0].label))[:room]
    return [issue for issue, _ in best]


def _issue_score(issue: Issue) -> float:
    """The seed's score plus a little for each keyword it gathered: an issue is a topic the
    sources discuss in several words ("truce", "zones", "settlement" around "Syria"), where a
    word used in unrelated senses ("election") gathers none."""
    score: float = issue.score + config()["issues"]["w_keywords"] * (len(issue.keywords) - 1)
    return score


def _folded(seed: str, indices: set[int], found: list[tuple[Issue, set[int]]], stats: _Stats,
            passages: list[Passage]) -> bool:
    """A seed whose passages mostly lie in or next to an issue already found is one of its
    keywords, not an issue of its own."""
    issues_config = config()["issues"]
    for issue, members in found:
        # A named place overlaps its neighbours' runs of sentences ("Syria and Ukraine"); it
        # folds only into the issue whose passages it shares, a common word into the one it
        # sits next to.
        if seed in stats.entity or seed in stats.people:
            near = indices & members
        else:
            near = _near(indices, _neighbourhood(members, passages, issues_config["fold_window"]), passages)
        if len(near) >= issues_config["merge_share"] * len(indices):
            display = _display(seed, stats)
            if (display not in issue.keywords and len(issue.keywords) < issues_config["max_keywords"]
                    and not any(_part_of(seed, k) for k in issue.terms)):
                issue.keywords.append(display)
                issue.terms.append(seed)
            return True
    return False


def _keywords(terms: list[str], stats: _Stats) -> list[str]:
    """The keywords to show: each term's usual form, then the other words folded into it as
    synonyms ("meddled" beside "interference"), so a reader sees why a sentence counts."""
    shown = [_display(t, stats) for t in terms]
    for term in terms:
        usual = stem(_display(term, stats).lower())
        variants = sorted((form for form in stats.surface.get(term, {}) if " " not in form
                           and stem(form.lower()) != usual and form.lower() not in stop_words()),
                          key=lambda f: (-stats.surface[term][f], f))
        if variants and len(shown) < config()["issues"]["max_keywords"] and variants[0] not in shown:
            shown.append(variants[0])
    return shown


def _part_of(term: str, seed: str) -> bool:
    """"Korean" or "North" for the seed "North Korea": a piece of the seed, not a keyword."""
    seed_words = seed.split()
    return all(any(w[:4] == s[:4] for s in seed_words) for w in term.split())


def _order_key(passage: Passage) -> tuple[str, int]:
    return (passage.source, passage.order)


def _display(term: str, stats: _Stats) -> str:
    """The form of a term to show: the most frequent surface form (ties: alphabetical)."""
    forms = stats.surface.get(term)
    if not forms:
        return term
    return min(forms.items(), key=lambda kv: (-kv[1], kv[0]))[0]


def _label(seed: str, stats: _Stats, passages: list[Passage]) -> str:
    """A short label in the text's own words."""
    display = _display(seed, stats)
    named = seed in stats.entity or seed in stats.people
    lower = [form for form in stats.surface.get(seed, {}) if form.islower()]
    if not named and " " not in seed and lower:  # "Street" of "Whose street?" -> "street"
        display = min(lower, key=lambda form: (-stats.surface[seed][form], form))
    if seed in stats.events and seed not in stats.parties:  # "G20" -> "G20 summit"
        pair = min(stats.events[seed].items(), key=lambda kv: (-kv[1], kv[0]))[0]
        display = _display(pair, stats)
    if seed in stats.entity or seed in stats.people or " " in seed or display[:1].isupper():
        return display[:1].upper() + display[1:]
    modifier = _modifier(seed, stats, passages)
    # The modifier is a key ("specy" for "species"): shown in the text's own spelling.
    label = f"{_display(modifier, stats)} {display}" if modifier else display
    return label[:1].upper() + label[1:]


def _modifier(seed: str, stats: _Stats, passages: list[Passage]) -> str | None:
    """The word the text most often attaches to a single-word seed: "X in (the) (Y) Z" gives
    "z x" (interference in the elections -> election interference)."""
    issues_config = config()["issues"]
    prepositions = set(issues_config["label_prepositions"])
    stop = stop_words()
    counts: Counter[str] = Counter()
    for index in stats.passages[seed]:
        tokens = _tokens(passages[index].text)
        for position, (_, end, word) in enumerate(tokens):
            if key_of(word) != seed or position + 1 >= len(tokens):
                continue
            if tokens[position + 1][2].lower() not in prepositions:
                continue
            head = _head_after(tokens, position + 2, passages[index].text, stop)
            if head is not None:
                counts[head] += 1
    allowed = {m: c for m, c in counts.items()
               if m not in stats.excluded and m not in _generic() and m != seed
               and m not in stats.entity and not m.startswith("@") and _display(m, stats).islower()
               and _is_topic_word(m, stats, passages)}
    if not allowed:
        return None
    best, count = min(allowed.items(), key=lambda kv: (-kv[1], kv[0]))
    if count >= issues_config["min_label_modifier"] or (count == 1 and _story_word(best, stats, passages)):
        return best
    return None


def _story_word(term: str, stats: _Stats, passages: list[Passage]) -> bool:
    indices = stats.passages.get(term, set())
    is_story_word: bool = (len(indices) >= config()["terms"]["min_passages"]
                           and len({passages[i].source for i in indices}) >= config()["issues"]["modifier_sources"])
    return is_story_word


def _head_after(tokens: Sequence[tuple[int, int, str]], position: int, text: str,
                stop: frozenset[str]) -> str | None:
    """The head noun of the short phrase starting at ``position`` (its last content word
    before punctuation, at most three words on)."""
    head = None
    for start, end, word in tokens[position:position + 3]:
        if position < len(tokens) and start > 0 and re.search(r"[,.;:!?()\u2014]", text[tokens[position - 1][1]:start]):
            break
        if word.lower() not in stop:
            head = key_of(word)
        position += 1
    return head


def _is_topic_word(term: str, stats: _Stats, passages: list[Passage]) -> bool:
    """A modifier must not be a protagonist (a term present throughout the story)."""
    return not _protagonist(term, stats, passages)


def match_named(issue: NamedIssue, passages: list[Passage]) -> Issue:
    """A user-named issue: the passages that contain any of its keywords."""
    patterns = [_key_phrase(k) for k in issue.keywords]
    patterns = [p for p in patterns if p]
    members = [p for p in passages if any(pattern in f" {' '.join(p.keys)} " for pattern in patterns)]
    return Issue(label=issue.label, keywords=list(issue.keywords), passages=members, named=True)


def _key_phrase(keyword: str) -> str:
    stop = stop_words()
    keys = [key_of(w) for w in _words(keyword) if w.lower() not in stop or w.isupper()]
    return f" {' '.join(keys)} " if keys else ""


def _taken_terms(named: list[NamedIssue]) -> set[str]:
    stop = stop_words()
    return {key_of(w) for issue in named for k in issue.keywords for w in _words(k)
            if w.lower() not in stop} | {_key_phrase(k).strip() for issue in named for k in issue.keywords}


def find_issues(documents: Sequence[Document], named: Iterable[str | NamedIssue] = ()) -> list[Issue]:
    """The story's issues: the user-named ones first (always), then those discovered, up to
    ``issues.max_issues`` in all. ``documents`` are the original (non-duplicate) sources."""
    return read_agenda(documents, named)[0]


def read_agenda(documents: Sequence[Document], named: Iterable[str | NamedIssue] = ()
                ) -> tuple[list[Issue], list[Passage]]:
    """``find_issues`` and the story's passages as read for it (terms and keys filled in), for
    the perspectives stage to reuse."""
    wanted = named_issues(named)
    passages = passages_of(documents)
    stats = _collect(documents, passages)
    issues = [match_named(issue, passages) for issue in wanted]
    room = max(0, config()["issues"]["max_issues"] - len(issues))
    issues += discover(documents, passages, stats, room, _taken_terms(wanted))
    return issues, passages
