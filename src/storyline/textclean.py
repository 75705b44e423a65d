"""Extract stage, text mode: text copied off a web page -> body paragraphs + evidence lines.

The input is the whole visible text of a page (what a browser's select-all + copy gives, or
``html-text``'s output): the article plus menus, share/rating widgets, bylines, related-story
lists, ads, comment widgets and footers. The pipeline here:

1. ``split_blocks``: blank-line separated blocks (or one block per line when the text has no
   blank lines at all), re-joining a paragraph that a stray blank line cut mid-sentence.
2. ``block_features``: language-light surface features of each block (length, stop-word and
   punctuation density, capitalisation, digits, widget vocabulary, position, repetition).
3. Two stages of small gradient-boosted trees (weights in ``data/textclean_model.json``, trained by
   ``tools/train_textclean.py``): stage 1 scores each block alone; stage 2 adds the stage-1
   scores of the neighbours and the block's place relative to the densest body region,
   because an article body is mostly one contiguous run of blocks.
4. ``drop_repeated_teasers``: a block whose sentences all reappear in another body block (a
   teaser repeating the opening paragraphs) is dropped, so that one full copy remains.

Inference is pure Python + numpy.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from storyline.model import Extraction

MODEL_PATH = Path(__file__).with_name("data") / "textclean_model.json"

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v\u00a0]*\n")
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"\w+")
_LETTER_WORD = re.compile(r"[^\W\d_]+")
_SENTENCE_END = re.compile(r"[.!?…]+(?=[\"'”’)\]]*(?:\s|$))|[。！？]")
_TERMINAL = re.compile(r"[.!?…:;。！？][\"'”’)\]*」』]*$")
# Scripts written without spaces: about two characters make a word.
_UNSPACED = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_OPEN_END = re.compile(r"[\w,;\-–—]$")
_SENTENCE_SPLIT = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+")
_URL_OR_MAIL = re.compile(r"https?://|www\.|\w@\w|\.(?:com|org|net|ru|co\.uk)\b", re.I)
_SEPARATOR = re.compile(r"[|»›•·►▸→/]|\s>\s")
_DATE_LIKE = re.compile(
    r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b|\b\d{1,2}:\d{2}\b|"
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d{1,2}\b",
    re.I,
)

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
READER_WORDS = frozenset("you your you'll you're yours".split())

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
)


@dataclass
class Block:
    """One blank-line separated block of the page, whitespace-normalised for output."""

    raw: str
    text: str


# --- 1. blocks ----------------------------------------------------------------------------

def split_blocks(text: str) -> list[Block]:
    """Blocks in page order; re-joins a paragraph cut in two by a stray blank line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if _BLANK_LINE.search(text):
        pieces = _BLANK_LINE.split(text)
    else:
        # A page copied with single newlines only: every line is its own block.
        pieces = text.split("\n")
    blocks = [Block(raw=p.strip(), text=_SPACE.sub(" ", p).strip()) for p in pieces]
    # A block of invisible characters only (zero-width spaces, BOMs) is no block at all.
    return join_split_paragraphs([b for b in blocks if _INVISIBLE.sub("", b.text)])


def _is_cut_mid_sentence(first: Block, second: Block) -> bool:
    """True when ``first`` stops without punctuation and ``second`` continues it in lower case."""
    if not _OPEN_END.search(first.text) or not second.text[:1].islower():
        return False
    # Only prose on both sides: menus also end without punctuation.
    return len(first.text) >= 60 and "\n" not in first.raw.strip()[-80:]


def join_split_paragraphs(blocks: list[Block]) -> list[Block]:
    joined: list[Block] = []
    for block in blocks:
        if joined and _is_cut_mid_sentence(joined[-1], block):
            last = joined[-1]
            joined[-1] = Block(raw=f"{last.raw} {block.raw}", text=f"{last.text} {block.text}")
        else:
            joined.append(block)
    return joined


# --- 2. features --------------------------------------------------------------------------

def word_count(text: str, words: list[str] | None = None) -> int:
    """Words, counting text in scripts without spaces (CJK) at two characters a word."""
    unspaced = len(_UNSPACED.findall(text))
    spaced = len(words if words is not None else _WORD.findall(text))
    return spaced + unspaced // 2 if unspaced else spaced


def _block_features(block: Block, index: int, count: int, char_start: int, total_chars: int,
                    repeats: int) -> list[float]:
    text = _INVISIBLE.sub("", block.text)
    chars = len(text)
    words = _WORD.findall(text)
    n_words = max(word_count(text, words), 1)
    lines = [line for line in block.raw.split("\n") if line.strip()] or [text]
    letter_words = _LETTER_WORD.findall(text)
    n_letter = max(len(letter_words), 1)
    lowered = [w.lower() for w in words]
    letters = sum(ch.isalpha() for ch in text) or 1
    digits = sum(ch.isdigit() for ch in text)
    punct = sum(1 for ch in text if not ch.isalnum() and not ch.isspace())
    return [
        1.0,
        math.log1p(chars),
        math.log1p(n_words),
        math.log(len(lines)),
        math.log1p(n_words / len(lines)),
        sum(w in STOP_WORDS for w in lowered) / n_words,
        sum(w in WIDGET_WORDS for w in lowered) / n_words,
        sum(w in READER_WORDS for w in lowered) / n_words,
        sum(w[0].isupper() for w in letter_words) / n_letter,
        sum(ch.isupper() for ch in text) / letters,
        digits / max(chars, 1),
        punct / max(chars, 1),
        1.0 if _TERMINAL.search(text) else 0.0,
        sum(1 for line in lines if _TERMINAL.search(line.strip())) / len(lines),
        len(_SENTENCE_END.findall(text)) / n_words,
        text.count(",") / n_words,
        1.0 if text[:1].islower() else 0.0,
        1.0 if _URL_OR_MAIL.search(text) else 0.0,
        1.0 if _SEPARATOR.search(text) else 0.0,
        1.0 if _DATE_LIKE.search(text) else 0.0,
        1.0 if ("©" in text or "copyright" in text.lower()) else 0.0,
        1.0 if repeats > 1 and n_words < 12 else 0.0,
        math.log(repeats) if n_words < 12 else 0.0,
        index / max(count - 1, 1),
        char_start / max(total_chars, 1),
        1.0 if n_words < 8 else 0.0,
        1.0 if n_words >= 40 else 0.0,
        sum(text.count(q) for q in "\"“”«»") / n_words,
    ]


def block_features(blocks: list[Block]) -> np.ndarray:
    """One row of ``FEATURE_NAMES`` per block."""
    repeats = Counter(block.text.lower() for block in blocks)
    total_chars = sum(len(block.text) for block in blocks)
    rows: list[list[float]] = []
    char_start = 0
    for index, block in enumerate(blocks):
        rows.append(_block_features(block, index, len(blocks), char_start, total_chars,
                                    repeats[block.text.lower()]))
        char_start += len(block.text)
    table = np.array(rows, dtype=float).reshape(len(blocks), len(FEATURE_NAMES) - 4)
    return np.hstack([table, _page_relative_features(table)])


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
    return (padded[hi] - padded[lo]) / np.maximum(hi - lo, 1)


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
        """Summed leaf values (log-odds without the base)."""
        n_trees = self.features.shape[0]
        if len(rows) == 0 or n_trees == 0:
            return np.zeros(len(rows))
        tree_index = np.arange(n_trees)[None, :]
        row_index = np.arange(len(rows))[:, None]
        node = np.zeros((len(rows), n_trees), dtype=np.intp)
        for _ in range(self.depth):
            feature = self.features[tree_index, node]
            go_right = rows[row_index, feature] > self.thresholds[tree_index, node]
            node = 2 * node + 1 + go_right
        leaf = node - (2 ** self.depth - 1)
        return self.leaves[tree_index, leaf].sum(axis=1)

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


def _contained_in_longer(sentences: list[str], own: str, others: list[str]) -> bool:
    return bool(sentences) and any(
        len(other) > len(own) and all(s in other for s in sentences) for other in others
    )


MAX_TEASER_BLOCKS = 400  # quadratic check; pages with more body blocks than this skip it


def drop_repeated_teasers(texts: list[str]) -> list[int]:
    """Indices of ``texts`` to keep: one full copy of anything the page says twice.

    A block whose every sentence appears inside a longer block is a truncated teaser copy.
    Of blocks repeated verbatim, keep the copy with the fewest teaser blocks around it, so the
    kept copy is the one inside the full article rather than inside the teaser.
    """
    if len(texts) > MAX_TEASER_BLOCKS:
        return list(range(len(texts)))
    normalised = [_normalised(t) for t in texts]
    teaser = [
        _contained_in_longer(_sentences(text), own, normalised)
        for text, own in zip(texts, normalised)
    ]
    keep = [not flag for flag in teaser]
    copies: dict[str, list[int]] = {}
    for i, own in enumerate(normalised):
        if own and keep[i]:
            copies.setdefault(own, []).append(i)
    for indices in copies.values():
        if len(indices) > 1:
            best = min(indices, key=lambda i: (_teasers_near(teaser, i), i))
            for i in indices:
                keep[i] = i == best
    return [i for i, flag in enumerate(keep) if flag]


def _teasers_near(teaser: list[bool], index: int, radius: int = 2) -> int:
    return sum(teaser[max(0, index - radius): index + radius + 1])


# --- title -------------------------------------------------------------------------------

def guess_title(blocks: list[Block], first_body: int) -> str | None:
    """A short headline-like block before the body, preferring the one nearest to it."""
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


# --- entry point ---------------------------------------------------------------------------

def clean_text(text: str) -> Extraction:
    """Body paragraphs of a page's visible text, the other blocks as evidence."""
    blocks = split_blocks(text or "")
    model = load_model()
    scores = score_blocks(blocks, model)
    body_candidates = select_body(scores, model.threshold)
    kept = [body_candidates[j] for j in
            drop_repeated_teasers([blocks[i].text for i in body_candidates])]
    kept_set = set(kept)
    paragraphs = [blocks[i].text for i in kept]
    evidence = [block.text for i, block in enumerate(blocks) if i not in kept_set]
    first_body = kept[0] if kept else len(blocks)
    return Extraction(
        paragraphs=paragraphs,
        title=guess_title(blocks, first_body),
        evidence=evidence,
        evidence_before_body=sum(1 for i in range(first_body) if i not in kept_set),
        removed_chars=max(0, len(text or "") - sum(len(p) for p in paragraphs)),
    )
