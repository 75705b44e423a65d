"""spaCy's attribute ruler and rule lemmatizer as table look-ups, with the same results.

In ``en_core_web_sm`` these two pipes cost a fifth of the whole parse (some 25 ms of a 600-word
article), though what they compute is a function of very few things: the ruler's patterns
test a token's tag, lower-case form, dependency label and whether it is a space (and, for a
handful of two-word patterns, its neighbour's), and the lemmatizer's answer depends on the
token's text, part of speech and morphology alone (spaCy caches it under that very key).
``TokenAttributes`` therefore decides once per distinct key, keeps the answer, and writes a
whole document's attributes as arrays.

Nothing is decided differently: a pattern is evaluated with the Matcher's own meaning of each
predicate, the attributes of the patterns a token matches are applied in the ruler's order
(later patterns win), a lemma the ruler set is kept (the lemmatizer does not overwrite), and a
lemma not seen before comes from spaCy's lemmatizer itself. A pipeline whose patterns use
anything else (operators, other attributes, extension attributes) keeps spaCy's own pipes:
``install`` says whether it replaced them. ``tests/test_attribute_rules.py`` compares both
on real articles.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
from spacy.attrs import DEP, IS_SPACE, LEMMA, LOWER, MORPH, ORTH, POS, TAG
from spacy.language import Language
from spacy.pipeline import AttributeRuler, Lemmatizer
from spacy.strings import get_string_id
from spacy.tokens import Doc, Token
from spacy.vocab import Vocab
from thinc.types import Ints2d

COMPONENT = "storyline_token_attributes"
RULER, LEMMATIZER = "attribute_ruler", "lemmatizer"
# What the ruler's patterns may test, and what its rules may set (by spaCy attribute id).
TESTED = (TAG, LOWER, DEP, IS_SPACE)
TESTED_NAMES = {"TAG": 0, "LOWER": 1, "DEP": 2, "IS_SPACE": 3}
SET = (POS, MORPH, LEMMA, TAG, DEP)
_POS_COLUMN, _MORPH_COLUMN, _LEMMA_COLUMN = SET.index(POS), SET.index(MORPH), SET.index(LEMMA)
_WORD_COLUMN = TESTED_NAMES["LOWER"]
# Look-up entries kept at most (each table is emptied when full): a corpus of millions of
# articles brings ever new words, and memory must stay flat.
CACHE_ENTRIES = 200_000

Predicate = Callable[[Any], bool]
Key = tuple[int, ...]


class Unsupported(ValueError):
    """A pattern or rule this look-up cannot reproduce exactly."""


@dataclass(frozen=True)
class _Pattern:
    """One token sequence of one ruler rule; ``rule`` is the rule's place in the ruler."""

    rule: int
    elements: tuple[tuple[tuple[int, Predicate], ...], ...]  # per token: (tested column, test)
    target: int  # which token of a match gets the rule's attributes


@dataclass(frozen=True)
class _KeyFacts:
    """What the patterns make of one token key: the one-token rules it matches, the longer
    patterns it can start, and every (pattern, element) it satisfies."""

    rules: tuple[int, ...]
    starts: tuple[int, ...]
    elements: frozenset[tuple[int, int]]


class TokenAttributes:
    """A pipeline component doing what ``ruler`` then ``lemmatizer`` do, by look-up."""

    def __init__(self, vocab: Vocab, ruler: AttributeRuler, lemmatizer: Lemmatizer) -> None:
        if lemmatizer.mode != "rule":
            raise Unsupported(f"lemmatizer mode {lemmatizer.mode!r}")
        self.vocab = vocab
        self.lemmatizer = lemmatizer
        self.rule_lemmas = RuleLemmas(lemmatizer)
        self.overwrite_lemmas = bool(lemmatizer.overwrite)
        self.rule_attrs = [_settable(attrs) for attrs in ruler.attrs]
        self.patterns = [pattern for number, rule in enumerate(ruler.patterns)
                         for pattern in _compiled(number, rule)]
        self.index = _ElementIndex(self.patterns)
        self._facts: dict[Key, _KeyFacts] = {}
        self._unworded: dict[tuple[int, int, int], frozenset[tuple[int, int]]] = {}
        self._effects: dict[tuple[int, ...], tuple[tuple[int, int], ...]] = {}
        self._lemmas: dict[Key, int] = {}

    def __call__(self, doc: Doc) -> Doc:
        if len(doc) == 0:
            return doc
        tested = doc.to_array(list(TESTED)).tolist()
        values = doc.to_array(list(SET)).tolist()
        for index, rules in enumerate(self._rules_per_token([tuple(row) for row in tested])):
            if rules:
                row = values[index]
                for column, value in self._effect(rules):
                    row[column] = value
        doc.from_array(list(SET), _array(values))
        self._lemmatize(doc, values)
        return doc

    # --- the ruler ------------------------------------------------------------------------

    def _rules_per_token(self, keys: Sequence[Key]) -> list[tuple[int, ...]]:
        facts = [self._facts_of(key) for key in keys]
        rules: list[list[int] | tuple[int, ...]] = [f.rules for f in facts]
        for start, fact in enumerate(facts):
            for number in fact.starts:
                pattern = self.patterns[number]
                end = start + len(pattern.elements)
                if end <= len(facts) and all((number, k) in facts[start + k].elements
                                             for k in range(1, len(pattern.elements))):
                    target = start + pattern.target
                    rules[target] = [*rules[target], pattern.rule]
        return [tuple(sorted(set(r))) if isinstance(r, list) else r for r in rules]

    def _facts_of(self, key: Key) -> _KeyFacts:
        facts = self._facts.get(key)
        if facts is None:
            if len(self._facts) >= CACHE_ENTRIES:
                self._facts.clear()
            elements = self._elements_of(key)
            rules = tuple(sorted({self.patterns[number].rule for number, k in elements
                                  if len(self.patterns[number].elements) == 1}))
            starts = tuple(sorted(number for number, k in elements
                                  if k == 0 and len(self.patterns[number].elements) > 1))
            facts = self._facts[key] = _KeyFacts(rules, starts, elements)
        return facts

    def _elements_of(self, key: Key) -> frozenset[tuple[int, int]]:
        """The (pattern, element) pairs a token with ``key`` satisfies: those that do not test
        its lower-case form (decided once per tag, label and spaceness), and those whose test
        of the form passes (found through the index of forms) and whose other tests pass."""
        tag, lower, dep, is_space = key
        strings = self._strings(key)
        unworded = self._unworded.get((tag, dep, is_space))
        if unworded is None:
            unworded = self._unworded[(tag, dep, is_space)] = frozenset(
                element for element, tests in self.index.without_word
                if all(test(strings[column]) for column, test in tests))
        worded = [element for element, tests in self.index.with_word(strings[1])
                  if all(test(strings[column]) for column, test in tests)]
        return unworded.union(worded) if worded else unworded

    def _strings(self, key: Key) -> tuple[Any, ...]:
        tag, lower, dep, is_space = key
        strings = self.vocab.strings
        return strings[tag], strings[lower], strings[dep], bool(is_space)

    def _effect(self, rules: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
        """The (column, value) pairs that applying ``rules`` in order leaves."""
        effect = self._effects.get(rules)
        if effect is None:
            merged: dict[int, int] = {}
            for rule in rules:
                merged.update(self.rule_attrs[rule])
            effect = self._effects[rules] = tuple(merged.items())
        return effect

    # --- the lemmatizer -------------------------------------------------------------------

    def _lemmatize(self, doc: Doc, values: list[list[int]]) -> None:
        """Lemmas where the ruler set none, as spaCy's lemmatizer gives them for a token of
        this text, part of speech and morphology (``values``: as the ruler left them)."""
        orths = doc.to_array(ORTH).tolist()
        for index, row in enumerate(values):
            if row[_LEMMA_COLUMN] == 0 or self.overwrite_lemmas:
                key = (orths[index], row[_POS_COLUMN], row[_MORPH_COLUMN])
                lemma = self._lemmas.get(key)
                if lemma is None:
                    if len(self._lemmas) >= CACHE_ENTRIES:
                        self._lemmas.clear()
                    text = self.rule_lemmas.first(doc[index])
                    lemma = self._lemmas[key] = self.vocab.strings.add(text)
                row[_LEMMA_COLUMN] = lemma
        doc.from_array([LEMMA], _array([[row[_LEMMA_COLUMN]] for row in values]))


def _array(rows: list[list[int]]) -> Ints2d:
    return cast(Ints2d, np.array(rows, dtype=np.uint64))


class RuleLemmas:
    """spaCy's rule lemmatizer with its word lists as sets: the same lemma, found in
    microseconds.

    ``Lemmatizer.rule_lemmatize`` asks whether each candidate form is in the part of speech's
    word list, and that list is a Python list (57,000 nouns): a linear scan for every
    candidate of every word not seen before, some 0.3 ms a word, a tenth of the parse of an
    article while the look-up tables are filling. Here the same steps run in the same order
    on a set of each list; a lemmatizer whose rule lemmatization is its own (a subclass that
    overrides it) is asked itself."""

    def __init__(self, lemmatizer: Lemmatizer) -> None:
        self.lemmatizer = lemmatizer
        self.own = type(lemmatizer).rule_lemmatize is Lemmatizer.rule_lemmatize
        tables = lemmatizer.lookups
        self.index = {pos: frozenset(words) for pos, words
                      in tables.get_table("lemma_index", {}).items()}
        self.exceptions = tables.get_table("lemma_exc", {})
        self.rules = tables.get_table("lemma_rules", {})

    def first(self, token: Token) -> str:
        """The lemma spaCy's lemmatizer gives ``token`` (the first of its forms)."""
        if not self.own:
            return str(self.lemmatizer.lemmatize(token)[0])
        univ_pos = token.pos_.lower()
        if univ_pos in ("", "eol", "space"):
            return str(self.lemmatizer.rule_lemmatize(token)[0])  # its warning, its answer
        if self.lemmatizer.is_base_form(token):
            return token.text.lower()
        key = get_string_id(univ_pos)  # the tables are keyed by the names' hashes
        index = self.index.get(key)
        exceptions = self.exceptions.get(key)
        rules = self.rules.get(key)
        if not (index or exceptions or rules):
            return token.text if univ_pos == "propn" else token.text.lower()
        return self._forms(token.text, index or frozenset(), exceptions or {}, rules or [])[0]

    @staticmethod
    def _forms(text: str, index: frozenset[str], exceptions: dict[str, list[str]],
               rules: list[list[str]]) -> list[str]:
        """``rule_lemmatize``'s list of forms, step by step as spaCy builds it."""
        word = text.lower()
        forms: list[str] = []
        oov_forms: list[str] = []
        for old, new in rules:
            if word.endswith(old):
                form = word[: len(word) - len(old)] + new
                if not form:
                    continue
                if form in index:
                    forms.insert(0, form)
                elif not form.isalpha():
                    forms.append(form)
                else:
                    oov_forms.append(form)
        forms = list(dict.fromkeys(forms))
        for form in exceptions.get(word, []):
            if form not in forms:
                forms.insert(0, form)
        return forms or oov_forms or [text]


Element = tuple[int, int]  # (pattern number, token position in the pattern)
Tests = tuple[tuple[int, Predicate], ...]


class _ElementIndex:
    """The patterns' token elements, sorted by how they test the lower-case form: not at all,
    by a list of forms (an equality or ``IN``: found by dictionary look-up), or otherwise
    (``NOT_IN``, ``REGEX``: tried on every form). Each entry keeps the element's other tests."""

    def __init__(self, patterns: Sequence[_Pattern]) -> None:
        self.without_word: list[tuple[Element, Tests]] = []
        self.by_form: dict[str, list[tuple[Element, Tests]]] = {}
        self.by_test: list[tuple[Element, Predicate, Tests]] = []
        for number, pattern in enumerate(patterns):
            for position, tests in enumerate(pattern.elements):
                element = (number, position)
                word = [test for column, test in tests if column == _WORD_COLUMN]
                others = tuple((column, test) for column, test in tests
                               if column != _WORD_COLUMN)
                forms = _forms(word)
                if not word:
                    self.without_word.append((element, others))
                elif forms is not None:
                    for form in forms:
                        self.by_form.setdefault(form, []).append((element, others))
                else:
                    self.by_test.append((element, word[0], others))

    def with_word(self, form: str) -> list[tuple[Element, Tests]]:
        """The elements whose test of the lower-case form ``form`` passes, with their others."""
        found = list(self.by_form.get(form, ()))
        found.extend((element, others) for element, test, others in self.by_test if test(form))
        return found


def _forms(word_tests: list[Predicate]) -> frozenset[str] | None:
    """The forms a lower-case test accepts when it is a plain list of them, else None."""
    if len(word_tests) == 1 and isinstance(word_tests[0], _OneOf):
        return word_tests[0].forms
    return None


def _settable(attrs: dict[Any, Any]) -> dict[int, int]:
    """A rule's normalised attributes as (column of ``SET``, value)."""
    unknown = [name for name in attrs if name not in SET]
    if unknown:
        raise Unsupported(f"a rule sets {unknown}")
    return {SET.index(name): int(value) for name, value in attrs.items()}


def _compiled(rule: int, entry: dict[str, Any]) -> Iterable[_Pattern]:
    index = int(entry.get("index", 0))
    for sequence in entry["patterns"]:
        if not isinstance(sequence, list) or not sequence:
            raise Unsupported(f"pattern {sequence!r}")
        target = index if index >= 0 else len(sequence) + index
        if not 0 <= target < len(sequence):
            raise Unsupported(f"index {index} of a {len(sequence)}-token pattern")
        yield _Pattern(rule, tuple(_element(token) for token in sequence), target)


def _element(token: dict[str, Any]) -> tuple[tuple[int, Predicate], ...]:
    tests = []
    for name, wanted in token.items():
        if name not in TESTED_NAMES:
            raise Unsupported(f"a pattern tests {name}")
        tests.append((TESTED_NAMES[name], _predicate(name, wanted)))
    return tuple(tests)


def _predicate(name: str, wanted: Any) -> Predicate:
    """The Matcher's meaning of one attribute test, on the attribute as a string (a bool for
    IS_SPACE). A dict of operators must hold them all."""
    if name == "IS_SPACE":
        if isinstance(wanted, dict):
            raise Unsupported("operators on IS_SPACE")
        return _Is(bool(wanted))
    if not isinstance(wanted, dict):
        return _OneOf(_strings_of([wanted]))
    tests = [_operator(operator, argument) for operator, argument in wanted.items()]
    return tests[0] if len(tests) == 1 else _AllOf(tuple(tests))


def _operator(operator: str, argument: Any) -> Predicate:
    if operator == "IN":
        return _OneOf(_strings_of(argument))
    if operator == "NOT_IN":
        return _NoneOf(_strings_of(argument))
    if operator == "REGEX":
        return _Search(re.compile(argument))
    raise Unsupported(f"operator {operator}")


def _strings_of(values: Any) -> frozenset[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise Unsupported(f"values {values!r}")
    return frozenset(values)


@dataclass(frozen=True)
class _Is:
    wanted: bool

    def __call__(self, value: Any) -> bool:
        return bool(value == self.wanted)


@dataclass(frozen=True)
class _OneOf:
    forms: frozenset[str]

    def __call__(self, value: Any) -> bool:
        return value in self.forms


@dataclass(frozen=True)
class _NoneOf:
    forms: frozenset[str]

    def __call__(self, value: Any) -> bool:
        return value not in self.forms


@dataclass(frozen=True)
class _Search:
    pattern: re.Pattern[str]

    def __call__(self, value: Any) -> bool:
        return self.pattern.search(value) is not None


@dataclass(frozen=True)
class _AllOf:
    tests: tuple[Predicate, ...]

    def __call__(self, value: Any) -> bool:
        return all(test(value) for test in self.tests)


@Language.factory(COMPONENT)
def make_token_attributes(nlp: Language, name: str) -> TokenAttributes:
    """The look-up built from the pipeline's own ruler and lemmatizer."""
    ruler = nlp.get_pipe(RULER)
    lemmatizer = nlp.get_pipe(LEMMATIZER)
    if not isinstance(ruler, AttributeRuler) or not isinstance(lemmatizer, Lemmatizer):
        raise Unsupported("no attribute ruler and lemmatizer to replace")
    return TokenAttributes(nlp.vocab, ruler, lemmatizer)


def install(nlp: Language) -> bool:
    """Put the look-up where the ruler and the lemmatizer were (they stay, disabled). False,
    and the pipeline unchanged, when they are not next to each other or cannot be reproduced."""
    names = nlp.pipe_names
    if RULER not in names or LEMMATIZER not in names:
        return False
    if names.index(LEMMATIZER) != names.index(RULER) + 1:
        return False
    try:
        nlp.add_pipe(COMPONENT, after=LEMMATIZER)
    except Unsupported:
        return False
    nlp.disable_pipe(RULER)
    nlp.disable_pipe(LEMMATIZER)
    return True
