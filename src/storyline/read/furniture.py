"""Page furniture that reads like a line of text, recognised the same way in both clean modes.

Photo captions and credits, gallery labels, related-article teasers and reader polls survive
both the HTML extractor and the text classifier because each sits on a line of its own that
looks enough like prose. They then leak into briefings: a caption as a fact, a poll's
"Yes 43% No 57%" as a forecast, a "Read more: ..." teaser as a timeline event. The patterns are
data (the ``furniture`` section of ``data/html_boilerplate.json``); this module applies them to
a list of lines (HTML paragraphs, or text blocks and the lines inside them).

``is_furniture_sentence`` judges one sentence inside a paragraph (a caption or teaser run into
the text): the summary and the timeline both skip such sentences.

Polls are judged as a structure, not line by line: "Yes 43%" alone may be a results table of
the article, so answer lines go only next to a question or a "Vote now"-style call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from storyline.resources import read_data

_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class FurnitureRules:
    """The ``furniture`` section of ``html_boilerplate.json``, compiled once."""

    lines: re.Pattern[str]
    poll_calls: re.Pattern[str]
    poll_option: re.Pattern[str]
    poll_question: re.Pattern[str]
    poll_inline: re.Pattern[str]
    poll_question_max_words: int
    sentences: re.Pattern[str]


def _alternation(patterns: list[str]) -> re.Pattern[str]:
    """One regex per group: a single pass per line instead of one per rule."""
    return re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.IGNORECASE)


@lru_cache(maxsize=1)
def furniture_rules() -> FurnitureRules:
    raw = read_data("html_boilerplate.json")["furniture"]
    return FurnitureRules(
        lines=_alternation(raw["lines"]),
        poll_calls=_alternation(raw["poll_calls"]),
        poll_option=re.compile(raw["poll_option"], re.IGNORECASE),
        poll_question=re.compile(raw["poll_question"], re.IGNORECASE),
        poll_inline=re.compile(raw["poll_inline"], re.IGNORECASE),
        poll_question_max_words=int(raw["poll_question_max_words"]),
        # Case matters in some of these (agency names, a capitalised weekday), so no IGNORECASE.
        sentences=re.compile("|".join(f"(?:{pattern})" for pattern in
                                      (*raw["sentences"]["captions"], *raw["sentences"]["teasers"]))),
    )


def _is_question(line: str, rules: FurnitureRules) -> bool:
    """A short question line: a poll's question when answers or a call sit right below it."""
    # The bounded regex first: it fails fast on a long paragraph, a word count would not.
    if rules.poll_question.match(line.strip()) is None:
        return False
    return len(_WORD.findall(line)) <= rules.poll_question_max_words


def _answer_runs(lines: list[str], rules: FurnitureRules) -> list[range]:
    """Maximal runs of consecutive answer lines ("Yes 43%", "No 57%")."""
    runs: list[range] = []
    start: int | None = None
    for index, line in enumerate([*lines, ""]):
        is_answer = bool(line.strip()) and rules.poll_option.match(line.strip()) is not None
        if is_answer and start is None:
            start = index
        elif not is_answer and start is not None:
            runs.append(range(start, index))
            start = None
    return runs


def _poll_indexes(lines: list[str], calls: set[int], rules: FurnitureRules) -> set[int]:
    """Answer runs that form a poll (under a question, or next to a call), with the question.

    An answer run on its own may be the article's results table, so it stays.
    """
    dropped: set[int] = set()
    for run in _answer_runs(lines, rules):
        asked = run.start > 0 and _is_question(lines[run.start - 1], rules)
        if asked or run.stop in calls or run.start - 1 in calls:
            dropped.update(run)
            if asked:
                dropped.add(run.start - 1)
    # "Do you think ...?" right above "Vote now" is the poll's question too.
    dropped.update(i - 1 for i in calls if i > 0 and _is_question(lines[i - 1], rules))
    return dropped


def furniture_indexes(lines: list[str]) -> set[int]:
    """Indexes of ``lines`` that are captions, credits, galleries, teasers or poll parts."""
    rules = furniture_rules()
    stripped = [line.strip() for line in lines]
    calls = {i for i, line in enumerate(stripped) if rules.poll_calls.match(line)}
    single = {
        i for i, line in enumerate(stripped)
        if rules.lines.match(line) or rules.poll_inline.match(line)
    }
    return single | calls | _poll_indexes(stripped, calls, rules)


def is_furniture_sentence(sentence: str) -> bool:
    """A caption or a teaser inside a paragraph: a photo or agency credit at its end ("(AP
    Photo/...)", "(Associated Press)"), a position in a picture (", left,"), a picture caption's
    closing "Aleppo, Syria, Tuesday, Sept. 25, 2012.", a sentence that withholds what it
    announces ("The most telling detail ... was not in the statement.")."""
    return furniture_rules().sentences.search(sentence) is not None
