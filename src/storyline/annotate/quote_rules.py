"""The rules of the quote finder as one value: its word lists and its tuned constants.

Everything the finder was tuned with lives in ``data/quotes_vocab.json`` (word lists, and the
constants under ``"constants"``); the nouns that can name a speaker come from WordNet by a fixed
rule (``data/speaker_nouns.json``, see ``tools/wordnet_speaker_nouns.py``) and are fitted to no
evaluation data. The rules are an argument of every step, so a benchmark can refit the tuned
parts on some documents and apply them to others (``benchmarks/quotes.py``, cross-validation).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache
from typing import Any

from storyline.resources import read_data

# Closed-class grammar, not tuned: the pronouns that can stand for a speaker, the weekdays.
GRAMMAR_LISTS = frozenset({"resolvable_pronouns", "weekdays"})


@dataclass(frozen=True)
class Constants:
    """The tuned numbers (``quotes_vocab.json``, ``"constants"``)."""

    scare_quote_words: int  # an embedded quote this short with no cue is a scare quote
    frame_min_quotes: int  # an interviewee speaks at least this many direct quotes ...
    frame_share: float  # ... and this share of them
    max_before_tokens: int  # how far before a quote its cue is looked for
    max_after_tokens: int  # and after it ("Sens. A (D), B (R) and C (R), all members of ...")


@dataclass(frozen=True)
class QuoteRules:
    """Word lists by name (``rules.words["cue_verbs"]``), pronoun genders, constants."""

    words: Mapping[str, frozenset[str]]
    pronouns: Mapping[str, str]
    constants: Constants
    person_nouns: frozenset[str]
    group_nouns: frozenset[str]
    document_nouns: frozenset[str]

    def __getitem__(self, name: str) -> frozenset[str]:
        return self.words[name]

    @cached_property
    def speaker_nouns(self) -> frozenset[str]:
        """Every common noun that can name a speaker: WordNet's person, group and document
        nouns, the role, document, institution and study nouns; never raw evidence."""
        nouns = self.person_nouns | self.group_nouns | self.document_nouns
        nouns |= (self["person_roles"] | self["document_nouns"] | self["institution_nouns"]
                  | self["study_nouns"])
        return nouns - self["raw_evidence_nouns"]

    def tuned_lists(self) -> list[str]:
        """The word lists written by hand while developing (a benchmark refits them)."""
        return sorted(name for name in self.words if name not in GRAMMAR_LISTS)

    def keeping(self, keep: Callable[[str, str], bool]) -> QuoteRules:
        """The same rules with only the tuned list entries ``keep(list, entry)`` accepts."""
        words = {name: entries if name in GRAMMAR_LISTS else
                 frozenset(e for e in entries if keep(name, e)) for name, entries in self.words.items()}
        return replace(self, words=words)

    def with_constants(self, **values: Any) -> QuoteRules:
        return replace(self, constants=replace(self.constants, **values))


@lru_cache(maxsize=1)
def default_rules() -> QuoteRules:
    """The packaged rules, read once."""
    data: dict[str, Any] = read_data("quotes_vocab.json")
    nouns: dict[str, Any] = read_data("speaker_nouns.json")
    words = {key: frozenset(value) for key, value in data.items()
             if isinstance(value, list) and not key.startswith("_")}
    # "Friday CBS News reported": a weekday glued to a speaker's name is no part of it.
    words["weekdays"] = frozenset(read_data("timex_vocab.json")["weekdays"])
    return QuoteRules(words=words, pronouns=dict(data["pronouns"]),
                      constants=Constants(**data["constants"]),
                      person_nouns=frozenset(nouns["person"]), group_nouns=frozenset(nouns["group"]),
                      document_nouns=frozenset(nouns["document"]))
