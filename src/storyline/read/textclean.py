"""Extract stage, text mode: text copied off a web page -> body paragraphs + evidence lines.

The input is the whole visible text of a page (what a browser's select-all + copy gives, or
``html-text``'s output): the article plus menus, share/rating widgets, bylines, related-story
lists, ads, comment widgets and footers. The pipeline here:

1. ``split_blocks``: blank-line separated blocks (or one block per line when the text has no
   blank lines at all), re-joining a paragraph that a stray blank line cut mid-sentence.
2. ``block_features``: language-light surface features of each block (length, stop-word and
   punctuation density, capitalisation, digits, widget vocabulary, position, repetition).
3. Two stages of small gradient-boosted trees (``data/textclean_model.json``, trained by
   ``tools/train_textclean.py``): stage 1 scores each block alone; stage 2 adds the stage-1
   scores of the neighbours and the block's place relative to the densest body region,
   because an article body is mostly one contiguous run of blocks.
4. ``drop_repeated_teasers``: a block whose sentences all reappear in another body block (a
   teaser repeating the opening paragraphs) is dropped, so that one full copy remains.
5. ``trim_attribution_edges``: bylines, credit, licence and author-bio lines at either end of
   the body run go to the evidence (the metadata stage reads them there), never to the body.
6. ``strip_furniture``: captions, photo credits, gallery labels, related-article teasers and
   reader polls (rules shared with HTML mode, ``storyline.read.furniture``) leave the body,
   as whole blocks or as lines of a block.

Inference is pure Python + numpy. A text of more than ``MAX_LINES`` lines is refused
(``InputProblem``): no page's text has that many, and each line costs a kilobyte to score.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from storyline.errors import InputProblem
from storyline.model import Extraction
from storyline.read.furniture import furniture_indexes
from storyline.resources import DATA_DIR

MODEL_PATH = DATA_DIR / "textclean_model.json"

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?…]+(?=[\"'”’)\]]*(?:\s|$))|[。！？]")
_TERMINAL = re.compile(r"[.!?…:;。！？][\"'”’)\]*」』]*$")
# Scripts written without spaces: about two characters make a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
# Bold kept as Markdown by a page-to-text copy ("For **the minister**, ..."): markup, not words.
_MARKDOWN_BOLD = re.compile(r"\*\*(?=\S)([^*\n]+?)(?<=\S)\*\*")
_OPEN_END = re.compile(r"[\w,;\-–—]$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_URL = re.compile(r"https?://|www\.|\.(?:com|org|net|co\.uk)\b")
_SEPARATOR = re.compile(r"[|»›•·►▸→/]|\s>\s")
_NUMERIC_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}")
_DIGIT = re.compile(r"\d")
_MARK_OR_DIGIT = re.compile(r"[^\w\s]|\d")
QUOTE_MARKS = frozenset("\"“”«»„")

# Function words of the languages the pages mostly come in: prose is dense in them, widgets,
# menus and headlines are not. A density, so a few missing words barely matter.
STOP_WORDS = frozenset(
    """a about after against all also an and any are as at be because been before being but
    by can could did do does during each for from had has have he her his how i if in into is
    it its just may me more most my no not of on one only or other our out over said she should
    so some such than that the their them then there these they this those through to too under
    up very was we were what when where which while who whom why will with would you your
    der die das und ist nicht ein eine zu den von mit sich des auf für im dem auch es an als
    le la les et des est un une du que qui dans pour pas sur au avec il elle
    el los las y en por con para es una lo del se""".split()
)

# Words of page furniture rather than prose: sharing, accounts, navigation, ads, comments,
# legal lines. A density feature; no single word decides anything.
WIDGET_WORDS = frozenset(
    """share shares shared tweet print email e-mail facebook twitter linkedin whatsapp reddit
    pinterest instagram youtube telegram flipboard rss subscribe subscription subscribers
    newsletter newsletters sign login log logout register account password cookie cookies
    privacy policy terms advertisement advertising advertise sponsored ad ads comment comments
    commenting reply replies like likes follow followers menu search home navigation skip
    content contact careers about related read more recommended popular trending latest
    previous next page pages click here download app apps copyright reserved rights
    published updated posted filed tags tagged topics category categories section sections
    photo photos image images video videos credit credits getty caption gallery watch listen
    podcast rate rating ratings votes vote poll loading please required enter submit form
    validation message free trial offer buy shop deals store edition english help faq
    feedback sitemap rss archive archives jobs""".split()
)

# Terms addressed to the reader: ads, forms and calls to action speak to "you".
READER_WORDS = frozenset("you your yours yourself".split())

FEATURE_NAMES = (
    "bias_one",
    "log_chars",
    "log_words",
    "log_lines",
    "log_words_per_line",
    "stop_ratio",
    "widget_ratio",
    "reader_ratio",
    "capital_ratio",
    "upper_ratio",
    "digit_ratio",
    "punct_ratio",
    "ends_terminal",
    "lines_terminal_ratio",
    "sentences_per_word",
    "commas_per_word",
    "starts_lower",
    "has_url",
    "has_separator",
    "has_date",
    "has_copyright",
    "short_repeated",
    "log_repeat",
    "position",
    "char_position",
    "is_short",
    "is_long",
    "quote_ratio",
    "word_share",
    "relative_to_longest",
    "is_longest",
    "log_page_blocks",
    "is_headline_repeat",
    "after_headline",
    "log_blocks_after_headline",
)


@dataclass
class Block:
    """One blank-line separated block of the page, whitespace-normalised for output."""

    raw: str
    text: str


# --- 1. blocks ----------------------------------------------------------------------------

def split_blocks(text: str) -> list[Block]:
    """Blocks in page order; re-joins a paragraph cut in two by a stray blank line."""
    # Zero-width spaces, BOMs and soft hyphens: invisible on the page, noise to the features.
    text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _MARKDOWN_BOLD.sub(r"\1", text)
    if _BLANK_LINE.search(text):
        pieces = _BLANK_LINE.split(text)
    else:
        # A page copied with single newlines only: every line is its own block.
        pieces = text.split("\n")
    blocks = [Block(raw=unwrap_lines(p.strip()), text=_SPACE.sub(" ", p).strip()) for p in pieces]
    return join_split_paragraphs([b for b in blocks if b.text])


# The most lines one text may have. The longest page texts of the evaluation data have under
# 700; scoring takes about a kilobyte and 50 microseconds a block, so the 20 MB an input may
# be, in one-character lines, would take 10 GB and ten minutes.
MAX_LINES = 100_000
WRAPPED_LINE_CHARS = 40  # hard-wrapped prose (e-mail, plain-text exports) has long lines


def unwrap_lines(raw: str) -> str:
    """Join the lines of a hard-wrapped paragraph, so that a paragraph wrapped at 72 or 100
    columns looks like the one-line paragraph a browser copy gives. Menus and lists keep their
    lines: their lines are short, or end where a sentence ends."""
    lines = raw.split("\n")
    if len(lines) < 2:
        return raw
    out = [lines[0]]
    for line in lines[1:]:
        previous = out[-1]
        if len(previous) >= WRAPPED_LINE_CHARS and _OPEN_END.search(previous.rstrip()) and line.strip():
            out[-1] = f"{previous.rstrip()} {line.strip()}"
        else:
            out.append(line)
    return "\n".join(out)


PROSE_MIN_WORDS = 4  # words a block needs before a cut in it counts as a cut sentence


@dataclass
class _Run:
    """Blocks that read as one paragraph cut by stray blank lines, joined once at the end: a page
    of thousands of such cuts must not copy (or count the words of) the growing paragraph at
    each join."""

    blocks: list[Block]
    words: int  # counted up to PROSE_MIN_WORDS: enough to tell prose from a menu
    has_line_break: bool

    @classmethod
    def of(cls, block: Block) -> _Run:
        return cls([block], _words_up_to(block.text, PROSE_MIN_WORDS), "\n" in block.raw)

    def add(self, block: Block) -> None:
        self.blocks.append(block)
        if self.words < PROSE_MIN_WORDS:
            self.words = min(PROSE_MIN_WORDS, self.words + _words_up_to(block.text, PROSE_MIN_WORDS))
        self.has_line_break = self.has_line_break or "\n" in block.raw

    def joined(self) -> Block:
        if len(self.blocks) == 1:
            return self.blocks[0]
        return Block(raw=" ".join(b.raw for b in self.blocks), text=" ".join(b.text for b in self.blocks))


def _words_up_to(text: str, most: int) -> int:
    return sum(1 for _ in islice(_WORD.finditer(text), most))


def _is_cut_mid_sentence(first: _Run, second: Block) -> bool:
    """True when ``first`` stops without punctuation and ``second`` continues it in lower case."""
    if not _OPEN_END.match(first.blocks[-1].text[-1:]) or not second.text[:1].islower():
        return False
    # Only prose on both sides: menus also end without punctuation.
    return first.words >= PROSE_MIN_WORDS and not first.has_line_break


def join_split_paragraphs(blocks: list[Block]) -> list[Block]:
    runs: list[_Run] = []
    for block in blocks:
        if runs and _is_cut_mid_sentence(runs[-1], block):
            runs[-1].add(block)
        else:
            runs.append(_Run.of(block))
    return [run.joined() for run in runs]


# --- 2. features --------------------------------------------------------------------------

def word_count(text: str, words: list[str] | None = None) -> int:
    """Words, counting text in scripts without spaces (CJK) at two characters a word."""
    unspaced = 0 if text.isascii() else len(_UNSPACED.findall(text))
    spaced = len(words if words is not None else _WORD.findall(text))
    return spaced + unspaced // 2 if unspaced else spaced


def _block_features(block: Block, index: int, count: int, char_start: int, total_chars: int,
                    repeats: int) -> list[float]:
    text = block.text
    chars = max(len(text), 1)
    words = _WORD.findall(text)
    n_words = max(word_count(text, words), 1)
    lines = block.raw.count("\n") + 1
    lowered = list(map(str.lower, words))
    # Per-word counts through map() over C-level predicates, and sparse-character counts
    # through findall: the feature pass dominates the running time of the whole cleaner.
    initials = "".join(map(itemgetter(0), words))
    marks = _MARK_OR_DIGIT.findall(text)  # one pass for digits, punctuation and quotes
    digits = sum(map(str.isdigit, marks))
    return [
        1.0,
        math.log1p(chars),
        math.log1p(n_words),
        math.log(lines),
        math.log1p(n_words / lines),
        sum(map(STOP_WORDS.__contains__, lowered)) / n_words,
        sum(map(WIDGET_WORDS.__contains__, lowered)) / n_words,
        sum(map(READER_WORDS.__contains__, lowered)) / n_words,
        sum(map(str.isupper, initials)) / n_words,
        sum(map(str.isupper, words)) / n_words,  # ALL-CAPS words (one letter counts too)
        digits / chars,
        (len(marks) - digits) / chars,
        1.0 if ends_terminal(text) else 0.0,
        _terminal_line_share(block.raw, lines),
        len(_SENTENCE_END.findall(text)) / n_words,
        text.count(",") / n_words,
        1.0 if text[:1].islower() else 0.0,
        1.0 if ("@" in text or _URL.search(text)) else 0.0,
        1.0 if _SEPARATOR.search(text) else 0.0,
        1.0 if _looks_dated(text, lowered) else 0.0,
        1.0 if ("©" in text or "copyright" in lowered) else 0.0,
        1.0 if repeats > 1 and n_words < 12 else 0.0,
        math.log(repeats) if n_words < 12 else 0.0,
        index / max(count - 1, 1),
        char_start / max(total_chars, 1),
        1.0 if n_words < 8 else 0.0,
        1.0 if n_words >= 40 else 0.0,
        sum(map(QUOTE_MARKS.__contains__, marks)) / n_words,
    ]


TERMINAL_TAIL = 12  # a sentence mark plus a few closing quotes/brackets


def ends_terminal(text: str) -> bool:
    """Ends like a sentence; only the tail is searched (an end-anchored search over a long
    paragraph would try every position)."""
    return _TERMINAL.search(text[-TERMINAL_TAIL:]) is not None


def _terminal_line_share(raw: str, lines: int) -> float:
    if lines == 1:
        return 1.0 if ends_terminal(raw.rstrip()) else 0.0
    parts = [line.strip() for line in raw.split("\n")]
    return sum(1 for line in parts if ends_terminal(line)) / lines


MONTH_PREFIXES = frozenset("jan feb mar apr may jun jul aug sep oct nov dec".split())


def _looks_dated(text: str, lowered: list[str]) -> bool:
    """A numeric date or a time of day, or a month name next to a number."""
    if not _DIGIT.search(text):
        return False
    if _NUMERIC_DATE.search(text):
        return True
    return any(w[:3] in MONTH_PREFIXES and len(w) <= 9 for w in lowered if w.isalpha())


def block_features(blocks: list[Block]) -> np.ndarray:
    """One row of ``FEATURE_NAMES`` per block."""
    repeats = Counter(block.text.lower() for block in blocks)
    total_chars = sum(len(block.text) for block in blocks)
    # Filled row by row: a page of a million one-word lines must not hold a million Python
    # lists of floats (some 800 bytes a block) on the way to the array (200 bytes a block).
    table = np.empty((len(blocks), len(FEATURE_NAMES) - 7))
    char_start = 0
    for index, block in enumerate(blocks):
        table[index] = _block_features(block, index, len(blocks), char_start, total_chars,
                                       repeats[block.text.lower()])
        char_start += len(block.text)
    return np.hstack([table, _page_relative_features(table), _headline_features(blocks)])


def _page_relative_features(table: np.ndarray) -> np.ndarray:
    """Where a block stands among the page's blocks: the longest block of a page is nearly
    always article text, even when a byline got glued onto its front."""
    if len(table) == 0:
        return np.zeros((0, 4))
    words = np.expm1(table[:, FEATURE_NAMES.index("log_words")])
    longest = max(float(words.max()), 1.0)
    return np.column_stack([
        words / max(float(words.sum()), 1.0),
        words / longest,
        (words >= longest).astype(float),
        np.full(len(table), math.log(len(table))),
    ])


_TITLE_SEPARATOR = re.compile(r"\s+[|\-–—:·•»]\s+")


def find_headline_repeat(blocks: list[Block], search: int = 60) -> int | None:
    """Index of the block repeating the page's first line (its <title>) as the headline.

    Whole-page text usually opens with the document title ("Headline | Site"); the article's
    own headline repeats its longest part just above the body. None when there is no repeat.
    """
    if len(blocks) < 2 or "\n" in blocks[0].raw:
        return None
    parts = [_normalised(part) for part in _TITLE_SEPARATOR.split(blocks[0].text)]
    key = max(parts, key=len, default="")
    if len(key.split()) < 3:
        return None
    for index in range(1, min(len(blocks), search)):
        candidate = _normalised(blocks[index].text)
        if key in candidate and len(candidate) <= 2 * len(key) + 20:
            return index
    return None


def _headline_features(blocks: list[Block]) -> np.ndarray:
    n = len(blocks)
    headline = find_headline_repeat(blocks)
    if headline is None:
        return np.zeros((n, 3))
    idx = np.arange(n)
    after = idx > headline
    return np.column_stack([(idx == headline).astype(float), after.astype(float),
                            np.where(after, np.log1p(np.maximum(idx - headline, 0)), 0.0)])


# --- 3. context --------------------------------------------------------------------------

CONTEXT_NAMES = (
    "p_self",
    "p_prev1",
    "p_next1",
    "p_prev2",
    "p_next2",
    "p_window3",
    "p_window8",
    "in_best_region",
    "log_distance_to_region",
    "before_region",
    "after_region",
    "region_share",
)


def best_body_region(scores: np.ndarray, weights: np.ndarray) -> tuple[int, int]:
    """[start, end) of the run of blocks with the largest sum of (score - 0.5) * weight.

    Kadane's maximum-subarray: the article body is mostly one contiguous stretch of blocks,
    interrupted by a few captions or ads whose negative mass the run can absorb.
    """
    gains = (scores - 0.5) * weights
    best_sum, best = 0.0, (0, 0)
    running, start = 0.0, 0
    for i, gain in enumerate(gains):
        if running <= 0:
            running, start = 0.0, i
        running += float(gain)
        if running > best_sum:
            best_sum, best = running, (start, i + 1)
    return best


def _shifted(values: np.ndarray, shift: int, fill: float) -> np.ndarray:
    out = np.full_like(values, fill)
    if shift > 0:
        out[shift:] = values[:-shift]
    elif shift < 0:
        out[:shift] = values[-shift:]
    else:
        out[:] = values
    return out


def _window_mean(values: np.ndarray, radius: int) -> np.ndarray:
    padded = np.concatenate([np.zeros(1), np.cumsum(values)])
    idx = np.arange(len(values))
    lo = np.clip(idx - radius, 0, len(values))
    hi = np.clip(idx + radius + 1, 0, len(values))
    means: np.ndarray = (padded[hi] - padded[lo]) / np.maximum(hi - lo, 1)
    return means


def context_features(scores: np.ndarray, log_words: np.ndarray) -> np.ndarray:
    """Stage-2 inputs: a block's own stage-1 score and its neighbourhood's."""
    n = len(scores)
    start, end = best_body_region(scores, log_words)
    idx = np.arange(n)
    distance = np.where(idx < start, start - idx, np.where(idx >= end, idx - end + 1, 0))
    return np.column_stack([
        scores,
        _shifted(scores, 1, 0.0),
        _shifted(scores, -1, 0.0),
        _shifted(scores, 2, 0.0),
        _shifted(scores, -2, 0.0),
        _window_mean(scores, 3),
        _window_mean(scores, 8),
        (distance == 0).astype(float),
        np.log1p(distance),
        (idx < start).astype(float),
        (idx >= end).astype(float),
        np.full(n, (end - start) / max(n, 1)),
    ])


# --- model -------------------------------------------------------------------------------

ROWS_PER_PASS = 1024  # blocks scored together: some 10 MB of numpy temporaries at a time


@dataclass(frozen=True)
class TreeStage:
    """Gradient-boosted trees of one fixed depth, stored as flat arrays (see the trainer).

    Internal nodes of a tree are numbered heap-style (children of ``k`` are ``2k+1`` and
    ``2k+2``); a row goes right when ``row[feature] > threshold``. The leaves hold the
    additive log-odds. Every tree is complete, so all rows take ``depth`` steps.
    """

    depth: int
    features: np.ndarray    # (trees, 2**depth - 1) feature index per internal node
    thresholds: np.ndarray  # (trees, 2**depth - 1)
    leaves: np.ndarray      # (trees, 2**depth)
    base: float

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TreeStage:
        return cls(int(data["depth"]), np.array(data["split_features"], dtype=np.intp),
                   np.array(data["split_thresholds"], dtype=float),
                   np.array(data["leaf_values"], dtype=float), float(data["base"]))

    def raw_margin(self, rows: np.ndarray) -> np.ndarray:
        """Summed leaf values (log-odds without the base), a slice of rows at a time: the
        gathers below hold a (rows x trees) array of 8-byte indexes each, 2 KB a row, so a page of
        a million one-word lines scored at once would take gigabytes."""
        if len(rows) <= ROWS_PER_PASS:
            return self._raw_margin(rows)
        return np.concatenate([self._raw_margin(rows[start:start + ROWS_PER_PASS])
                               for start in range(0, len(rows), ROWS_PER_PASS)])

    def _raw_margin(self, rows: np.ndarray) -> np.ndarray:
        n_trees, n_internal = self.features.shape
        if len(rows) == 0 or n_trees == 0:
            return np.zeros(len(rows))
        # Flat gathers (np.take) are much cheaper than 2-D fancy indexing.
        features, thresholds = self.features.ravel(), self.thresholds.ravel()
        tree_offset = (np.arange(n_trees) * n_internal)[None, :]
        row_offset = (np.arange(len(rows)) * rows.shape[1])[:, None]
        flat_rows = np.ascontiguousarray(rows).ravel()
        node = np.zeros((len(rows), n_trees), dtype=np.intp)
        for _ in range(self.depth):
            at = node + tree_offset
            values = np.take(flat_rows, row_offset + np.take(features, at))
            node = 2 * node + 1 + (values > np.take(thresholds, at))
        leaf = node - n_internal + (np.arange(n_trees) * (n_internal + 1))[None, :]
        margins: np.ndarray = np.take(self.leaves.ravel(), leaf).sum(axis=1)
        return margins

    def predict(self, rows: np.ndarray) -> np.ndarray:
        z = self.base + self.raw_margin(rows)
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


@dataclass(frozen=True)
class TextCleanModel:
    stage1: TreeStage
    stage2: TreeStage
    threshold: float


@lru_cache(maxsize=4)
def load_model(path: Path = MODEL_PATH) -> TextCleanModel:
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["stage1"]["features"]) != FEATURE_NAMES or \
            tuple(data["stage2"]["features"]) != FEATURE_NAMES + CONTEXT_NAMES:
        raise ValueError(f"{path}: feature list differs from the code's; retrain the model")
    return TextCleanModel(TreeStage.from_dict(data["stage1"]),
                          TreeStage.from_dict(data["stage2"]), float(data["threshold"]))


def score_blocks(blocks: list[Block], model: TextCleanModel) -> np.ndarray:
    """Probability that each block is article body."""
    if not blocks:
        return np.zeros(0)
    rows = block_features(blocks)
    first = model.stage1.predict(rows)
    log_words = rows[:, FEATURE_NAMES.index("log_words")]
    return model.stage2.predict(np.hstack([rows, context_features(first, log_words)]))


# --- 4. teasers --------------------------------------------------------------------------

def _normalised(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _sentences(text: str) -> list[str]:
    return [s for s in (_normalised(part) for part in _SENTENCE_SPLIT.split(text)) if s]


PREFILTER_SENTENCES = 3


def _repeated_sentences(text: str, page: str) -> list[str]:
    """The block's sentences, or [] when one of its first ones occurs only once in the page
    (a necessary condition for a teaser, checked by a few whole-page substring counts)."""
    sentences = _sentences(text)
    head = sentences[:PREFILTER_SENTENCES]
    return sentences if all(page.count(s) >= 2 for s in head) else []


def _contained_in_longer(sentences: list[str], own: str, others: list[str]) -> bool:
    return bool(sentences) and any(
        len(other) > len(own) and all(s in other for s in sentences) for other in others
    )


MAX_TEASER_BLOCKS = 400  # quadratic check; pages with more body blocks than this skip it
MIN_TEASER_WORDS = 8     # shorter blocks (subheadings) are naturally contained in paragraphs


def drop_repeated_teasers(texts: list[str]) -> list[int]:
    """Indices of ``texts`` to keep: one full copy of anything the page says twice.

    A block whose every sentence appears inside a longer block is a truncated teaser copy.
    Of blocks repeated verbatim, keep the copy that sits among full paragraphs rather than
    among teaser blocks (see ``_teaser_side``).
    """
    if len(texts) > MAX_TEASER_BLOCKS:
        return list(range(len(texts)))
    normalised = [_normalised(t) for t in texts]
    # Cheap filter first: a teaser's sentences occur at least twice in the whole page.
    page = "\n".join(normalised)
    longest = max(map(len, normalised), default=0)
    teaser = [
        len(own) < longest and len(own.split()) >= MIN_TEASER_WORDS
        and _contained_in_longer(_repeated_sentences(text, page), own, normalised)
        for text, own in zip(texts, normalised)
    ]
    copies: dict[str, list[int]] = {}
    for i, own in enumerate(normalised):
        if own and not teaser[i]:
            copies.setdefault(own, []).append(i)
    repeated = {i for indices in copies.values() if len(indices) > 1 for i in indices}
    keep = [not flag for flag in teaser]
    for indices in copies.values():
        if len(indices) > 1:
            best = min(indices, key=lambda i: (_teaser_side(teaser, repeated, i), i))
            for i in indices:
                keep[i] = i == best
    return [i for i, flag in enumerate(keep) if flag]


def _teaser_side(teaser: list[bool], repeated: set[int], index: int) -> float:
    """How teaser-like the surroundings of a repeated block are: for each side, 1 when the
    nearest block that is not itself repeated is a teaser, 0.5 when there is none."""
    score = 0.0
    for step in (-1, 1):
        j = index + step
        while 0 <= j < len(teaser) and j in repeated:
            j += step
        score += 0.5 if not 0 <= j < len(teaser) else float(teaser[j])
    return score


# --- attribution lines at the edges of the body ------------------------------------------------

# Words of credit, licensing and disclaimer lines ("this article was written by ... and
# licensed through ...", "views expressed are the author's own"): such lines sit just before
# or after the body and read like prose, so the classifier alone can let them through.
ATTRIBUTION_WORDS = frozenset(
    """author authors written published republished reprinted originally licensed licensing
    license licence copyright permission views expressed opinions necessarily reflect
    contributor contributors columnist correspondent syndicated disclaimer""".split()
)
# At least one of these must be present: words that rarely occur in news prose itself
# ("the authors of the study published ..." is prose, "licensed through ..." is not).
ATTRIBUTION_STRONG = frozenset(
    """licensed licensing license licence copyright republished reprinted permission
    syndicated disclaimer expressed""".split()
)
_BYLINE = re.compile(r"^(?:by|von|par|por)\s+[A-ZÀ-Þ][\w.'’-]*(?:\s+[A-ZÀ-Þ][\w.'’-]*)", re.I)
_ABOUT_AUTHOR = re.compile(
    r"^(?:about the (?:author|writer)s?\b|the (?:author|writer) (?:is|was|has)\b)", re.I)
_CREDIT_START = re.compile(
    r"^(?:(?:first|originally)\s+)?(?:published|appeared|posted|filed)\s+(?:at|in|on|by|under)\b"
    r"|^(?:source|sources|photo|photos|image|illustration|credit|credits|tags)\s*:", re.I)
MAX_CREDIT_WORDS = 20
_PUBLISHED_AT = re.compile(
    r"^(?:(?:first|originally)\s+)?(?:published|appeared)\s+(?:at|in|on|by)\b", re.I)
MAX_ATTRIBUTION_WORDS = 60


def is_attribution(text: str) -> bool:
    """A byline, credit, caption credit, licence, disclaimer or author-bio line."""
    words = _WORD.findall(text)
    if not words or len(words) > MAX_ATTRIBUTION_WORDS:
        return False
    if _BYLINE.match(text) and len(words) <= 20 and words[1][:1].isupper() and \
            (len(words) <= 6 or not text.rstrip().endswith(".")):
        # "By Jane Example, Harbour Correspondent", not "By Tuesday, the pier had reopened."
        return True
    if not any(ch.isalpha() for ch in text):
        return True  # a date or a counter on its own line
    if _CREDIT_START.match(text) and len(words) <= MAX_CREDIT_WORDS:
        return True
    return is_closing_credit(text, words)


def is_closing_credit(text: str, words: list[str] | None = None) -> bool:
    """A line that ends an article: publication credit, licence, disclaimer, author bio.

    Unlike a photo credit (which may sit mid-article), nothing after one of these is the
    article's own text.
    """
    if len(text) > MAX_ATTRIBUTION_WORDS * 12:
        return False  # too long to be a credit line, whatever its words
    words = _WORD.findall(text) if words is None else words
    if not words or len(words) > MAX_ATTRIBUTION_WORDS:
        return False
    if _ABOUT_AUTHOR.match(text) or _PUBLISHED_AT.match(text):
        return True
    if any(q in text for q in "\"“”«»„"):
        return False  # quoting someone: reported prose, not a credit line
    lowered = {w.lower() for w in words}
    return bool(lowered & ATTRIBUTION_STRONG) and \
        sum(w.lower() in ATTRIBUTION_WORDS for w in words) >= 2


EDGE_SCAN = 4  # how many blocks at each end of the body run are checked


def trim_attribution_edges(texts: list[str], kept: list[int]) -> list[int]:
    """Cut the body run at a byline/credit/licence line near either end.

    A closing credit ("this article was licensed through ...", "first published at ...",
    an author bio) ends the article even when the classifier left it out: later blocks that
    look like prose (an author's biography, an advertisement) go too, as long as the cut
    keeps most of the body's words.
    """
    head = [k for k, i in enumerate(kept[:EDGE_SCAN]) if is_attribution(texts[i])]
    kept = kept[head[-1] + 1:] if head else kept
    kept = _cut_at_closing_credit(texts, kept)
    tail_from = max(0, len(kept) - EDGE_SCAN)
    tail = [k for k in range(tail_from, len(kept)) if is_attribution(texts[kept[k]])]
    return kept[:tail[0]] if tail else kept


def _cut_at_closing_credit(texts: list[str], kept: list[int]) -> list[int]:
    if not kept:
        return kept
    words = {i: len(texts[i]) for i in kept}  # characters: a cheap proxy for words
    total = sum(words.values())
    before = 0
    position = 0
    for index in range(kept[0], len(texts)):
        while position < len(kept) and kept[position] < index:
            before += words[kept[position]]
            position += 1
        if 2 * before > total and is_closing_credit(texts[index]):
            return kept[:position]
    return kept


# --- title -------------------------------------------------------------------------------

def guess_title(blocks: list[Block], first_body: int) -> str | None:
    """A short headline-like block before the body, preferring the one nearest to it."""
    headline = find_headline_repeat(blocks)
    if headline is not None and headline < first_body:
        return blocks[headline].text
    best: tuple[float, str] | None = None
    for index in range(min(first_body, len(blocks))):
        text = blocks[index].text
        words = _WORD.findall(text)
        if not 3 <= len(words) <= 25 or "\n" in blocks[index].raw:
            continue
        if text.endswith(".") or sum(ch.isdigit() for ch in text) > len(text) * 0.2:
            continue
        letter_words = _LETTER_WORD.findall(text)
        widget = sum(w.lower() in WIDGET_WORDS for w in words) / len(words)
        score = (
            index / max(first_body, 1)  # nearer the body is likelier the headline
            + (1.0 if 5 <= len(words) <= 18 else 0.0)
            + sum(w[0].isupper() for w in letter_words) / max(len(letter_words), 1) * 0.5
            - widget * 3.0
        )
        if best is None or score > best[0]:
            best = (score, text)
    return best[1] if best else None


# --- selection -----------------------------------------------------------------------------

def select_body(scores: np.ndarray, threshold: float) -> list[int]:
    """Indices of the blocks taken as body candidates.

    When no block clears the threshold, a page still has an article (we were given it as one):
    take the most body-like block, so one uncertain page does not come out empty.
    """
    chosen = [i for i, score in enumerate(scores) if score >= threshold]
    if chosen or len(scores) == 0:
        return chosen
    return [int(np.argmax(scores))]


MAX_OPENING_TITLE_WORDS = 15


def _is_opening_title(blocks: list[Block], candidates: list[int]) -> bool:
    """The page's first block, one short line, with body following: the page or article
    title (html-text puts <title> first; a copied article starts with its headline)."""
    return len(candidates) >= 3 and candidates[0] == 0 and _is_one_short_line(blocks[0])


def _is_leading_headline(blocks: list[Block], candidates: list[int]) -> bool:
    """The first candidate is one short line without a sentence end, with body following:
    the article's headline or kicker, which belongs to the title, not the body (the Zyte gold
    bodies leave headlines out: 2 of the 75 pages whose headline repeats the page title count
    it as body)."""
    if len(candidates) < 2:
        return False
    first = blocks[candidates[0]]
    return _is_one_short_line(first) and not ends_terminal(first.text)


def _is_one_short_line(block: Block) -> bool:
    """What a title or headline looks like: one line of at most MAX_OPENING_TITLE_WORDS."""
    return "\n" not in block.raw and word_count(block.text) <= MAX_OPENING_TITLE_WORDS


def choose_body(blocks: list[Block], scores: np.ndarray, threshold: float) -> list[int]:
    """Body block indices: classifier's choice, less titles, teaser repeats and edge
    attributions."""
    candidates = select_body(scores, threshold)
    if _is_opening_title(blocks, candidates):
        candidates = candidates[1:]
    if _is_leading_headline(blocks, candidates):
        candidates = candidates[1:]
    kept = [candidates[j] for j in drop_repeated_teasers([blocks[i].text for i in candidates])]
    return trim_attribution_edges([block.text for block in blocks], kept)


# --- furniture ---------------------------------------------------------------------------

def _without_lines(block: Block, dropped: set[int]) -> Block:
    lines = [line for k, line in enumerate(block.raw.split("\n")) if k not in dropped]
    return Block(raw="\n".join(lines), text=_SPACE.sub(" ", " ".join(lines)).strip())


def strip_furniture(blocks: list[Block], kept: list[int]) -> tuple[list[Block], list[int], list[str]]:
    """Blocks with furniture lines cut out of kept ones, the kept indices less furniture
    blocks, and the lines cut out (evidence).

    Runs after the classifier, which was trained without these rules: captions and polls
    read enough like prose to pass it. Whole blocks are judged first, with all blocks as
    context (a poll's question, answers and "Vote now" may be separate blocks); then the
    lines inside a multi-line kept block (a caption pasted above its paragraph).
    """
    dropped_blocks = furniture_indexes([block.text for block in blocks])
    blocks = list(blocks)
    remaining: list[int] = []
    cut: list[str] = []
    for index in (i for i in kept if i not in dropped_blocks):
        lines = blocks[index].raw.split("\n")
        dropped = furniture_indexes(lines) if len(lines) > 1 else set()
        cut.extend(_SPACE.sub(" ", lines[k]).strip() for k in sorted(dropped))
        if len(dropped) < len(lines):
            blocks[index] = _without_lines(blocks[index], dropped) if dropped else blocks[index]
            remaining.append(index)
    return blocks, remaining, cut


# --- entry point ---------------------------------------------------------------------------

def clean_text(text: str) -> Extraction:
    """Body paragraphs of a page's visible text, the other blocks as evidence. Raises
    ``InputProblem`` for a text of more than ``MAX_LINES`` lines."""
    lines = (text or "").count("\n") + 1
    if lines > MAX_LINES:
        raise InputProblem(f"text of {lines:,} lines, over the {MAX_LINES:,} one page's text may "
                           "have: split it into documents")
    blocks = split_blocks(text or "")
    model = load_model()
    scores = score_blocks(blocks, model)
    blocks, kept, cut = strip_furniture(blocks, choose_body(blocks, scores, model.threshold))
    kept_set = set(kept)
    paragraphs = [blocks[i].text for i in kept]
    evidence = [block.text for i, block in enumerate(blocks) if i not in kept_set] + cut
    first_body = kept[0] if kept else len(blocks)
    return Extraction(
        paragraphs=paragraphs,
        title=guess_title(blocks, first_body),
        evidence=evidence,
        evidence_before_body=sum(1 for i in range(first_body) if i not in kept_set),
        removed_chars=max(0, len(text or "") - sum(len(p) for p in paragraphs)),
    )
