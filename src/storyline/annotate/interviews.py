"""Interview frames: a Q&A text's questions and answers as quotes of the interviewer and the
interviewee.

A turn is a paragraph that opens with a speaker label and a colon: "Q:", "Question:", "A:",
"Answer:", a name ("Moll:", "KATRIN MOLL:", "Dr Moll:") or an outlet ("SPIEGEL:"). A text is an
interview when it has at least two question turns and two answer turns. Question labels are the
interview words of ``quotes_vocab.json`` (``question_labels``), else the one label whose turns
mostly end with a question mark. An answer's speaker is the person its label names; an "A:"
answer is the interviewee's: the person the caller names (``frame_speaker``), else the person
the introduction (the text before the first turn) names most often over the whole text. A
question is the interviewer's: a name in its label, else the one the caller gives (the byline or
the outlet); with neither, a question is no quote. Unlabelled paragraphs between an answer and
the next turn go on with that answer.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from spacy.tokens import Doc

from storyline.annotate.quote_rules import QuoteRules
from storyline.annotate.parsed import doc_text
from storyline.annotate.speakers import NAME_LABELS, NameBook, Speaker, strip_titles

LABEL = re.compile(r"[ \t]*(?P<label>[A-Z][\w.’'-]*(?:[ \t]+[A-Z][\w.’'-]*){0,3})[ \t]*:[ \t]+(?=\S)")
MIN_TURNS = 2


@dataclass
class Turn:
    """One paragraph of an interview: ``start``/``end`` its words after the label."""

    start: int
    end: int
    label_start: int
    label_end: int
    asks: bool
    speaker: Speaker | None = None


def _paragraphs(text: str) -> list[tuple[int, int]]:
    out, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            out.append((pos, pos + len(line.rstrip())))
        pos += len(line) + 1
    return out


def _labelled(text: str, paragraphs: list[tuple[int, int]]) -> list[tuple[int, int, int, str] | None]:
    """Per paragraph: (label start, label end, words start, label) or None."""
    out: list[tuple[int, int, int, str] | None] = []
    for start, end in paragraphs:
        m = LABEL.match(text, start, end)
        out.append((m.start("label"), m.end("label"), m.end(), m["label"]) if m else None)
    return out


def _question_labels(labels: list[tuple[int, int, int, str] | None], text: str,
                     paragraphs: list[tuple[int, int]], rules: QuoteRules) -> set[str]:
    keys = {lab[3].lower().rstrip(".") for lab in labels if lab}
    listed = keys & rules["question_labels"]
    if listed:
        return listed
    asking = Counter(lab[3].lower().rstrip(".") for lab, (_, end) in zip(labels, paragraphs)
                     if lab and text[:end].rstrip().endswith("?"))
    total = Counter(lab[3].lower().rstrip(".") for lab in labels if lab)
    best = [k for k, n in asking.items() if n >= MIN_TURNS and n * 2 >= total[k]]
    return set(best[:1]) if len(best) == 1 else set()


def find_turns(doc: Doc, names: NameBook, rules: QuoteRules, *, frame_speaker: str | None = None,
               interviewer: str | None = None) -> list[Turn]:
    """The turns of an interview, each with its speaker (None where nobody can be named); no
    turns when ``doc`` is no interview."""
    text = doc_text(doc)
    paragraphs = _paragraphs(text)
    labels = _labelled(text, paragraphs)
    asks = _question_labels(labels, text, paragraphs, rules)
    kinds = [None if lab is None else lab[3].lower().rstrip(".") in asks for lab in labels]
    if not asks or kinds.count(True) < MIN_TURNS or kinds.count(False) < MIN_TURNS:
        return []
    first = kinds.index(True) if True in kinds else 0
    interviewee = _interviewee(doc, names, rules, paragraphs[:first], frame_speaker)
    asker = Speaker(interviewer, None, None, "group") if interviewer else None
    turns: list[Turn] = []
    answering: Speaker | None = None
    for k, ((p_start, p_end), lab, kind) in enumerate(zip(paragraphs, labels, kinds)):
        if lab is None:
            # Between an answer and the next turn: the answer goes on.
            if answering is not None and any(x is not None for x in kinds[k + 1:]):
                turns.append(Turn(p_start, p_end, p_start, p_start, False, answering))
            continue
        label_start, label_end, words_start, label = lab
        named = _label_speaker(doc, label, label_start, label_end, names, rules)
        if kind:
            turns.append(Turn(words_start, p_end, label_start, label_end, True, named or asker))
            answering = None
        else:
            answering = named or interviewee
            turns.append(Turn(words_start, p_end, label_start, label_end, False, answering))
    return [t for t in turns if t.end > t.start]


def _label_speaker(doc: Doc, label: str, start: int, end: int, names: NameBook,
                   rules: QuoteRules) -> Speaker | None:
    """The speaker a label names: "Moll" -> Katrin Moll (offsets on the label); "Q", "A" name
    nobody."""
    words = [w for w in label.split() if w.lower() not in rules["titles"]]
    key = label.lower().rstrip(".")
    if not words or key in rules["question_labels"] or key in rules["answer_labels"]:
        return None
    name = " ".join(w if not w.isupper() or len(w) <= 3 else w.title() for w in words)
    if len(words) == 1 and words[0].isupper() and 2 <= len(words[0]) <= 4:
        name = _by_initials(doc, words[0]) or name  # "MB:" for Mike Brown
    full = names.fullest(name, start)
    person = full.split()[-1].lower() in names.forms
    return Speaker(full, start, end, "person" if person else "group",
                   names.gender(label.split(), full) if person else "x")


def _by_initials(doc: Doc, initials: str) -> str | None:
    """The person or organisation of the text whose initials a label is: "MB" -> "Mike Brown",
    "WP" -> "The Washington Post"; None when no one or several match."""
    found = set()
    for ent in doc.ents:
        words = [w for w in ent.text.split() if w[0].isupper() and w != "The"]
        if ent.label_ in NAME_LABELS | {"ORG"} and "".join(w[0] for w in words) == initials:
            found.add(" ".join(words))
    return found.pop() if len(found) == 1 else None


def _interviewee(doc: Doc, names: NameBook, rules: QuoteRules, intro: list[tuple[int, int]],
                 frame_speaker: str | None) -> Speaker | None:
    if frame_speaker:
        full = names.fullest(frame_speaker, 0)
        return Speaker(full, None, None, "person", names.gender([], full))
    if not intro:
        return None
    end = intro[-1][1]
    everyone = [strip_titles(e, rules) for e in doc.ents if e.label_ in NAME_LABELS]
    people = [p for p in everyone if p.end_char <= end]
    if not people:
        return None
    counts = Counter(p[-1].lower_ for p in everyone)
    best = max(people, key=lambda p: (counts[p[-1].lower_], -p.start))
    full = names.fullest(best.text, best.start_char)
    return Speaker(full, None, None, "person", names.gender([], full))

