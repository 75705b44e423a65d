"""spaCy's entity recogniser, its greedy decoding run a whole batch at a time in numpy.

In ``en_core_web_sm`` the entity recogniser is the costliest pipe (some 35 ms of a 600-word
article), and two thirds of that is its decoding loop, not its network: for every token of
every document spaCy's compiled loop adds two bias vectors through a helper that takes and
drops Python's lock each time (the helper was compiled without ``noexcept``), and those lock
round trips, not the arithmetic, are most of the loop's time.

The recogniser's transitions take exactly one token each (begin, in, last, unit, out), so the
documents of a batch advance in step: token ``t`` of every document is decided at step ``t``.
``EntityDecoder`` runs those steps on arrays of the whole batch, with the recogniser's own
weights and the same arithmetic in the same order: the per-token hidden layer precomputed by
the recogniser's own layers, the three state features summed in spaCy's order, its bias, the
maxout, the output layer through the very BLIS product spaCy calls, the first best valid
transition taken. The validity rules are spaCy's (``spacy/pipeline/_parser_internals/ner.pyx``)
for documents without preset entities: no entity starts on a space or runs across a sentence
start, an open entity continues or ends with its own label. Documents that do have preset
entities, and recognisers built otherwise (another feature set, a beam, a shared token-to-
vector layer), are left to spaCy's own pipe. ``tests/test_entity_decoder.py`` compares both on
real articles.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Any

import numpy as np
from spacy.attrs import IS_SPACE, SENT_START
from spacy.language import Language
from spacy.pipeline import EntityRecognizer
from spacy.tokens import Doc, Span
from thinc.api import NumpyOps

COMPONENT = "storyline_entities"
RECOGNISER = "ner"
# spaCy's move numbers in ``ner.pyx`` (MISSING = 0).
BEGIN, IN, LAST, UNIT, OUT = 1, 2, 3, 4, 5
_MOVE_LETTERS = {"B": BEGIN, "I": IN, "L": LAST, "U": UNIT, "O": OUT}
STATE_FEATURES = 3  # spaCy's "ner" state: the next token, the open entity's first, the previous
# The output layer's product as spaCy's loop computes it: BLIS's sgemm (thinc's numpy operations
# with BLIS call it alike), so that every score is the same to the last bit.
_BLIS = NumpyOps(use_blis=True)


class Unsupported(ValueError):
    """A recogniser whose decoding this module does not reproduce."""


@dataclass(frozen=True)
class _Moves:
    """The recogniser's transitions in class order: each one's move and label (a string id),
    and, per validity situation, which of them are valid (see ``_situations``)."""

    move: np.ndarray  # (classes,) int
    label: np.ndarray  # (classes,) uint64, 0 for none
    label_index: np.ndarray  # (classes,) index into ``labels``, -1 for none
    labels: tuple[int, ...]
    valid: np.ndarray  # (4 + 2 * len(labels), classes) bool


class EntityDecoder:
    """A pipeline component doing what ``recogniser`` does, its decoding batched."""

    def __init__(self, recogniser: EntityRecognizer) -> None:
        _check(recogniser)
        self.recogniser = recogniser
        self.moves = _moves_of(recogniser)

    def __call__(self, doc: Doc) -> Doc:
        self._annotate([doc])
        return doc

    def pipe(self, docs: Iterable[Doc], *, batch_size: int = 256) -> Iterator[Doc]:
        """As spaCy's recogniser pipes: each batch sorted by length, decoded in quarters."""
        stream = iter(docs)
        while batch := list(islice(stream, batch_size)):
            by_length = sorted(batch, key=len)
            step = max(batch_size // 4, 2)
            for start in range(0, len(by_length), step):
                self._annotate(by_length[start:start + step])
            yield from batch

    def _annotate(self, docs: list[Doc]) -> None:
        if not any(len(doc) for doc in docs) or any(_has_entities(doc) for doc in docs):
            self.recogniser.set_annotations(docs, self.recogniser.predict(docs))
            return
        decided = self._decide(docs)
        for doc, moves in zip(docs, decided):
            _set_entities(doc, moves, self.moves)

    def _decide(self, docs: list[Doc]) -> list[np.ndarray]:
        """The transition (class) taken at each token of each document."""
        order = sorted(range(len(docs)), key=lambda k: len(docs[k]))
        ordered = [docs[k] for k in order]
        taken = _Steps(self.recogniser, ordered, self.moves).run()
        found: list[np.ndarray] = [taken[0]] * len(docs)
        for position, k in enumerate(order):
            found[k] = taken[position]
        return found


class _Steps:
    """One decoding of documents sorted by length (shortest first): at step ``t`` the
    documents still longer than ``t`` are a tail of the batch, so every array is sliced,
    never gathered, to the active ones."""

    def __init__(self, recogniser: EntityRecognizer, docs: list[Doc], moves: _Moves) -> None:
        tok2vec, lower, upper = recogniser.model.layers
        features = lower.predict(tok2vec.predict(docs))  # (1 + tokens, 3, hidden, pieces)
        rows, nF, self.hidden, self.pieces = features.shape
        # Feature f of token g is row g + 1 of ``by_feature[f]``, row 0 its padding; each row
        # holds the maxout's pieces one after the other (piece-major), so that the maxout is an
        # elementwise maximum of contiguous halves.
        self.by_feature = [_piece_major(features[:, f]) for f in range(nF)]
        self.bias = _piece_major(lower.get_param("b")[None])[0]
        self.weights, self.out_bias = upper.get_param("W"), upper.get_param("b")
        self.moves = moves
        self.lengths = np.array([len(doc) for doc in docs])
        self.offsets = np.concatenate(([0], np.cumsum(self.lengths)[:-1]))
        space = np.concatenate([doc.to_array(IS_SPACE) for doc in docs]).astype(bool)
        starts = np.concatenate([doc.to_array(SENT_START) for doc in docs]) == 1
        last = np.zeros(len(space), dtype=bool)
        last[self.offsets + self.lengths - 1] = True
        # Whether an entity may go on past token g: the next token is in the same document
        # and starts no sentence.
        continues = ~last & ~np.append(starts[1:], False)
        self.closed_situation = 2 * continues + space
        self.open_situation = 4 + continues.astype(np.int64)
        self.penalty = np.where(moves.valid, np.float32(0), np.float32(-np.inf))

    def run(self) -> list[np.ndarray]:
        count, longest = len(self.lengths), int(self.lengths.max())
        first, feature_one, feature_two = self.by_feature
        first = first[1:]
        is_open = np.zeros(count, dtype=bool)
        entity_row = np.zeros(count, dtype=np.int64)  # the open entity's first token's row
        label_twice = np.zeros(count, dtype=np.int64)  # 2 * the open entity's label index
        taken = np.zeros((count, longest), dtype=np.int64)
        lo = 0
        for t in range(longest):
            while self.lengths[lo] <= t:
                lo += 1
            here = self.offsets[lo:] + t
            opened = is_open[lo:]
            unmaxed = first[here]
            unmaxed += feature_one[entity_row[lo:]]
            unmaxed += feature_two[here * opened]
            unmaxed += self.bias
            pieces = unmaxed.reshape(len(here), self.pieces, self.hidden)
            hidden = pieces[:, 0].copy()
            for piece in range(1, self.pieces):
                np.maximum(hidden, pieces[:, piece], out=hidden)
            scores = _BLIS.gemm(hidden, self.weights, trans2=True)
            scores += self.out_bias
            situation = np.where(opened, self.open_situation[here] + label_twice[lo:],
                                 self.closed_situation[here])
            scores += self.penalty[situation]
            choice = scores.argmax(axis=1)
            taken[lo:, t] = choice
            move = self.moves.move[choice]
            begins = move == BEGIN
            if begins.any():
                entity_row[lo:][begins] = here[begins] + 1
                label_twice[lo:][begins] = 2 * self.moves.label_index[choice[begins]]
            ends = opened & (move == LAST)
            opened |= begins
            if ends.any():
                opened[ends] = False
                entity_row[lo:][ends] = 0
        return [taken[k, :length] for k, length in enumerate(self.lengths)]


def _piece_major(rows: np.ndarray) -> np.ndarray:
    """(n, hidden, pieces) -> (n, pieces * hidden), contiguous, pieces first."""
    count, hidden, pieces = rows.shape
    return np.ascontiguousarray(rows.transpose(0, 2, 1)).reshape(count, pieces * hidden)


def _set_entities(doc: Doc, taken: np.ndarray, moves: _Moves) -> None:
    """The entities the transitions make, set as spaCy's recogniser sets them."""
    kinds = moves.move[taken]
    spans = []
    begun = 0
    for position in np.flatnonzero(kinds != OUT):
        kind = kinds[position]
        if kind == BEGIN:
            begun = int(position)
        elif kind in (LAST, UNIT):
            start = int(position) if kind == UNIT else begun
            label = int(moves.label[taken[position]])
            spans.append(Span(doc, start, int(position) + 1, label=label))
    doc.set_ents(spans, default="outside")


def _has_entities(doc: Doc) -> bool:
    return bool(doc.has_annotation("ENT_IOB"))


def _check(recogniser: Any) -> None:
    if not isinstance(recogniser, EntityRecognizer):
        raise Unsupported("not an entity recogniser")
    if recogniser.cfg.get("beam_width", 1) != 1:
        raise Unsupported("beam search")
    if recogniser.postprocesses:
        raise Unsupported("post-processing hooks")
    model = recogniser.model
    if len(model.layers) != 3 or not model.attrs.get("has_upper"):
        raise Unsupported("no output layer")
    if model.attrs.get("unseen_classes"):
        raise Unsupported("unseen classes")
    tok2vec, lower, _upper = model.layers
    if "listener" in tok2vec.name:
        raise Unsupported("a shared token-to-vector layer")
    if lower.get_dim("nF") != STATE_FEATURES or lower.get_dim("nP") < 2:
        raise Unsupported("another state or activation")


def _moves_of(recogniser: EntityRecognizer) -> _Moves:
    names = [recogniser.moves.get_class_name(i) for i in range(recogniser.moves.n_moves)]
    strings = recogniser.vocab.strings
    letters = [name.split("-", 1)[0] for name in names]
    label_names = [name.split("-", 1)[1] if "-" in name else "" for name in names]
    if any(letter not in _MOVE_LETTERS for letter in letters):
        raise Unsupported(f"moves {names}")
    move = np.array([_MOVE_LETTERS[letter] for letter in letters])
    label = np.array([strings[n] if n else 0 for n in label_names], dtype=np.uint64)
    labels = tuple(sorted({int(v) for v in label if v}))
    label_index = np.array([labels.index(int(v)) if v else -1 for v in label])
    return _Moves(move, label, label_index, labels, _situations(move, label_index, len(labels)))


def _situations(move: np.ndarray, label_index: np.ndarray, labels: int) -> np.ndarray:
    """Valid transitions per situation, as ``ner.pyx`` decides them without preset entities.

    Rows 0-3, no entity open: 2 * (the next token exists and starts no sentence) + (this
    token is a space). Rows 4 + 2 * label + continues: an entity of ``label`` is open."""
    labelled = label_index >= 0
    rows = []
    for continues in (False, True):
        for space in (False, True):
            rows.append(((move == BEGIN) & labelled & continues & (not space))
                        | ((move == UNIT) & labelled & (not space)) | (move == OUT))
    for index in range(labels):
        for continues in (False, True):
            own = label_index == index
            rows.append(((move == IN) & own & continues) | ((move == LAST) & own))
    return np.array(rows)


@Language.factory(COMPONENT)
def make_entity_decoder(nlp: Language, name: str) -> EntityDecoder:
    """The batched decoder over the pipeline's own entity recogniser."""
    recogniser = nlp.get_pipe(RECOGNISER)
    if not isinstance(recogniser, EntityRecognizer):
        raise Unsupported("no entity recogniser to decode for")
    return EntityDecoder(recogniser)


def install(nlp: Language) -> bool:
    """Put the decoder where the recogniser was (it stays, disabled). False, and the pipeline
    unchanged, when there is no recogniser or its decoding cannot be reproduced."""
    if RECOGNISER not in nlp.pipe_names:
        return False
    try:
        nlp.add_pipe(COMPONENT, after=RECOGNISER)
    except Unsupported:
        return False
    nlp.disable_pipe(RECOGNISER)
    return True
