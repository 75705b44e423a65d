"""Who said what: direct, partial and indirect quotes with their speakers, on the one spaCy parse.

The work is done in two passes over a parsed ``Doc``:

1. *Find.* Quoted regions come from a character scan of the quote marks (any style, split quotes,
   quotes that run over paragraphs). Each region is attributed through the words around it in its
   sentence: a cue verb after it (``,” Peskov said``, ``,” said Frolov``, ``according to``) or
   before it (``Peskov said: “``, ``urging Russia “to ...``). Indirect attributions come from the
   dependency parse: a cue verb (``quotes_vocab.json``) with a subject and a clausal complement,
   or ``according to X, <clause>``.
2. *Resolve.* In text order, each speaker becomes a name: a PERSON is given its fullest form in the
   document ("Suslov" -> "Dmitry Suslov"); "he"/"she" take the most recent named speaker of a
   compatible gender; a role noun ("the expert") takes the named speaker with that role; a quote
   with no cue continues the previous speaker of its paragraph. When one person speaks most of
   the quotes (an interview piece) or the caller names one (``frame_speaker``), that person takes
   the unattributed quotes, the pronouns and the role nouns.

Offsets are exact: ``doc.text[q.start:q.end] == q.content``; speaker offsets are None whenever the
name was resolved from elsewhere.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any
from weakref import WeakKeyDictionary

from spacy.tokens import Doc, Span, Token

from storyline.model import Quote
from storyline.resources import read_data

DOUBLE_OPEN = "“„«"
DOUBLE_CLOSE = "”»"
SINGLE_OPEN = "‘‹"
SINGLE_CLOSE = "’›"
OPEN_BEFORE = set(" \t\n([{—–-/:;,")  # characters after which a straight quote opens
SENTENCE_END = {".", "!", "?"}
SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
NAME_LABELS = {"PERSON"}
GROUP_LABELS = {"ORG", "NORP", "GPE", "FAC"}
RELATIVE = {"who", "which", "that", "whom"}
CLIMB = {"advcl", "xcomp", "conj", "pcomp", "acl", "dobj", "pobj", "prep"}
MAX_BEFORE_TOKENS = 40
MAX_AFTER_TOKENS = 45  # long speaker phrases: "Sens. A (D), B (R) and C (R), all members of ..."
SCARE_QUOTE_WORDS = 4  # an embedded quote this short with no cue is a scare quote, not speech
FRAME_MIN_QUOTES = 3
FRAME_SHARE = 0.6
TRIM_END = " \t\n,;:"


# ``Doc.text`` joins every token anew on each access: one copy per Doc, kept while it lives.
_TEXTS: WeakKeyDictionary[Doc, str] = WeakKeyDictionary()


def _text(doc: Doc) -> str:
    text = _TEXTS.get(doc)
    if text is None:
        text = _TEXTS[doc] = doc.text
    return text


@lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    data: dict[str, Any] = read_data("quotes_vocab.json")
    for key, value in list(data.items()):
        if isinstance(value, list):
            data[key] = frozenset(value)
    return data


# --- 1a. quoted regions ----------------------------------------------------------------------

@dataclass
class Region:
    """A quoted region: ``start``/``end`` include the marks; ``content`` offsets exclude them."""

    start: int
    end: int
    content_start: int
    content_end: int


def _mark(text: str, i: int) -> tuple[str, str] | None:
    """(family, role) of the quote mark at ``i``: family "d"ouble or "s"ingle, role open/close."""
    ch = text[i]
    prev = text[i - 1] if i > 0 else " "
    nxt = text[i + 1] if i + 1 < len(text) else " "
    if ch in DOUBLE_OPEN:
        # A typo'd closer (“ used after a word, before a space) is common in web text.
        closing = ch == "“" and not prev.isspace() and (nxt.isspace() or nxt in ".,;:!?")
        return ("d", "close" if closing and prev not in OPEN_BEFORE else "open")
    if ch in DOUBLE_CLOSE:
        opening = ch == "”" and prev in OPEN_BEFORE and nxt.isalnum()
        return ("d", "open" if opening else "close")
    if ch == '"':
        if prev in OPEN_BEFORE and not nxt.isspace():
            return ("d", "open")
        return ("d", "close") if not prev.isspace() else None
    if ch in SINGLE_OPEN:
        # ‘90s and similar elisions are apostrophes, not quotes.
        if prev in OPEN_BEFORE or prev in DOUBLE_OPEN or prev == '"':
            return ("s", "open") if nxt.isalpha() else None
        return None
    if ch in SINGLE_CLOSE:
        return ("s", "close") if not prev.isspace() and not nxt.isalnum() else None
    return None


def _paragraph_end(text: str, pos: int) -> int:
    """End of the paragraph holding ``pos`` (a newline ends it)."""
    nl = text.find("\n", pos)
    return len(text) if nl < 0 else nl


def _starts_line(text: str, pos: int) -> bool:
    line_start = text.rfind("\n", 0, pos) + 1
    return not text[line_start:pos].strip()


def find_regions(text: str) -> list[Region]:
    """Top-level quoted regions of ``text``. Single quotes inside double quotes are nested speech,
    part of the outer quote; a double quote left open at a paragraph's end continues only when
    the next paragraph opens with a quote mark (the print convention), else it ends there."""
    marks = [(i, *m) for i, ch in enumerate(text) if ch in "“”„«»\"‘’‹›" and (m := _mark(text, i))]
    regions: list[Region] = []
    open_at: int | None = None
    family = ""
    last_para_start = 0
    for pos, fam, role in marks:
        if open_at is not None and "\n" in text[max(open_at, last_para_start):pos]:
            if fam == family == "d" and role == "open" and _starts_line(text, pos):
                last_para_start = pos  # continuation of a quote over paragraphs
                continue
            if family == "d":  # unbalanced: the quote ends with its paragraph
                _add_region(regions, text, open_at, _paragraph_end(text, last_para_start), closed=False)
            open_at = None
        if open_at is None:
            if role == "open":
                open_at, family, last_para_start = pos, fam, pos
            continue
        if fam != family:
            if family == "s" and fam == "d":  # the "single quote" was an apostrophe after all
                open_at = pos if role == "open" else None
                family, last_para_start = fam, pos
            continue
        if role == "close":
            _add_region(regions, text, open_at, pos + 1, closed=True)
            open_at = None
        elif family == "d":  # two openers in a row: the first was never closed
            _add_region(regions, text, open_at, pos, closed=False)
            open_at, last_para_start = pos, pos
    if open_at is not None and family == "d":
        _add_region(regions, text, open_at, _paragraph_end(text, last_para_start), closed=False)
    return regions


def _add_region(regions: list[Region], text: str, start: int, end: int, *, closed: bool) -> None:
    c_start, c_end = start + 1, end - 1 if closed else end
    while c_start < c_end and text[c_start].isspace():
        c_start += 1
    while c_end > c_start and text[c_end - 1] in TRIM_END:
        c_end -= 1
    if c_end > c_start:
        regions.append(Region(start, end, c_start, c_end))


# --- 1b. attributions found in the parse -----------------------------------------------------

@dataclass
class Found:
    """An attribution before its speaker is resolved to a name."""

    start: int
    end: int
    direct: bool
    cue: tuple[int, int] | None
    head: Token | None  # the speaker's head word, if the sentence names one
    paragraph: int
    embedded: bool = False  # a direct quote inside a sentence that goes on around it
    follows_quote: bool = False  # another quote comes right before it in its sentence


@dataclass
class Attribution:
    """A quote with the offsets of its cue (for evaluation); ``quote`` is the public result."""

    quote: Quote
    cue_start: int | None
    cue_end: int | None


def _is_cue(tok: Token) -> bool:
    if tok.lower_ == "according":
        return tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].lower_ == "to"
    if tok.lemma_.lower() not in vocab()["cue_verbs"] or tok.pos_ not in {"VERB", "AUX"}:
        return False
    # "Putin had been told": the subject of a passive cue heard the words, it did not say them;
    # "officials haven't said" reports nothing.
    return not any(c.dep_ in {"auxpass", "nsubjpass", "neg"} for c in tok.children)


def _is_direct_cue(tok: Token) -> bool:
    """A cue that may introduce a direct quote: not one that reports what a document shows."""
    return _is_cue(tok) and tok.lemma_.lower() not in vocab()["indirect_only_cues"]


def _cue_span(tok: Token) -> tuple[int, int]:
    """The cue phrase: the verb, its particle ("point out"), a short addressee ("told reporters")."""
    doc = tok.doc
    if tok.lower_ == "according":
        return tok.idx, doc[tok.i + 1].idx + len(doc[tok.i + 1])
    last = tok
    for child in tok.rights:
        if child.dep_ == "prt" and child.i == last.i + 1:
            last = child
        elif (child.dep_ in {"dobj", "dative", "obj"} and tok.lemma_ in vocab()["addressee_cues"]
              and child.left_edge.i == last.i + 1 and child.right_edge.i - tok.i <= 4
              and child.pos_ in {"NOUN", "PROPN", "PRON"}):
            last = child.right_edge
    return tok.idx, last.idx + len(last)


def _in_regions(pos: int, regions: list[Region]) -> bool:
    """Whether ``pos`` is inside a quoted region (regions are sorted and do not overlap)."""
    k = bisect_right(regions, pos, key=lambda r: r.start) - 1
    return k >= 0 and pos < regions[k].end


def _speaker_head(cue: Token, regions: list[Region], window: list[Token]) -> Token | None:
    """The head word of the cue's speaker: its subject (climbing from participles and conjuncts
    to the verb that has one), the object of "according to", else a name next to the cue."""
    if cue.lower_ == "according":
        to = cue.doc[cue.i + 1]
        objects = [c for c in to.children if c.dep_ == "pobj"]
        return objects[0] if objects else _next_nominal(window, cue.i + 2)
    verb = cue
    # "Peskov said A had happened and said “B”": the second "said" is parsed into the reported
    # clause, but it shares the first one's subject.
    if cue.dep_ == "conj" and cue.head.dep_ == "ccomp" and cue.head.head.lemma_ == cue.lemma_:
        verb = cue.head.head
    for _ in range(5):
        subjects = [c for c in verb.children if c.dep_ in SUBJECTS and not _in_regions(c.idx, regions)]
        # A heading glued to the sentence can hold a false subject; the true one is in the
        # cue's own paragraph.
        near = [c for c in subjects if _same_paragraph(c, cue)]
        if near:
            return _antecedent_of_relative(near[-1], verb)
        if subjects:
            break
        # Up from "saying"/"to ask" to the verb with a subject; "issued a statement saying"
        # passes through the noun to "issued".
        if verb.dep_ not in CLIMB or verb.head is verb:
            break
        verb = verb.head
    return _adjacent_nominal(cue, window)


def _same_paragraph(a: Token, b: Token) -> bool:
    lo, hi = sorted((a.idx, b.idx))
    return "\n" not in _text(a.doc)[lo:hi]


def _antecedent_of_relative(subject: Token, verb: Token) -> Token:
    """"Frolov, who said ..." -> Frolov."""
    if subject.lower_ in RELATIVE and verb.dep_ == "relcl":
        return verb.head
    return subject


def _adjacent_nominal(cue: Token, window: list[Token]) -> Token | None:
    """A broken parse: the name right before the cue ("Peskov said") or right after it ("said
    Frolov"), within the window."""
    if not window:  # cues before a quote or of a clause: the words before it in its line
        window = [t for t in cue.sent if t.i < cue.i and _same_paragraph(t, cue) and "\n" not in t.text]
    before = [t for t in window if t.i < cue.i]
    if before and before[-1].pos_ in {"PROPN", "PRON", "NOUN"}:
        return before[-1]
    if len(before) > 2 and before[-1].text == ",":  # "Flynn, the president of X, said"
        commas = [k for k, t in enumerate(before[:-1]) if t.text == ","]
        if commas and commas[-1] > 0 and before[commas[-1] - 1].pos_ in {"PROPN", "NOUN"}:
            return before[commas[-1] - 1]
    if cue.lemma_ in vocab()["addressee_cues"]:
        return None  # "telling the United States ...": the next name is the addressee
    return _next_nominal(window, cue.i + 1)


def _next_nominal(window: list[Token], from_i: int) -> Token | None:
    for tok in window:
        if tok.i >= from_i and tok.pos_ in {"PROPN", "PRON", "NOUN"}:
            # The last word of a name ("Vladimir Frolov") is its head.
            while tok.i + 1 < len(tok.doc) and tok.nbor().pos_ == "PROPN" and tok.nbor() in window:
                tok = tok.nbor()
            return tok
        if tok.i >= from_i and tok.pos_ not in {"DET", "ADJ", "PUNCT"}:
            return None
    return None


def _ends_sentence(tok: Token) -> bool:
    """A full stop, not the dot of an abbreviation the tokenizer split off ("Sens" ".")."""
    return tok.text in SENTENCE_END and tok.pos_ == "PUNCT"


def _window_after(doc: Doc, region: Region, regions: list[Region]) -> list[Token]:
    """Tokens after a quote up to the end of its sentence, its paragraph or the next quote."""
    span = doc.char_span(region.end, len(_text(doc)), alignment_mode="expand")
    tokens: list[Token] = []
    for tok in span if span is not None else []:
        if "\n" in tok.text or _in_regions(tok.idx, regions) or len(tokens) >= MAX_AFTER_TOKENS:
            break
        if _ends_sentence(tok):
            break
        tokens.append(tok)
        if "\n" in tok.whitespace_:
            break
    return tokens


def _window_before(doc: Doc, region: Region, regions: list[Region]) -> list[Token]:
    """Tokens before a quote back to the start of its sentence, paragraph or the last quote."""
    span = doc.char_span(0, region.start, alignment_mode="contract")
    tokens: list[Token] = []
    crossed_break = False
    for tok in reversed(span) if span is not None else []:
        line_break = "\n" in tok.text or "\n" in tok.whitespace_
        if not tokens and tok.is_space and line_break:
            crossed_break = True
            continue
        # Only "X wrote:" on the line above introduces a quote that opens a paragraph.
        if crossed_break and not tokens and tok.text != ":":
            break
        if tok.text == ":" and not tokens:
            tokens.append(tok)
            continue
        if (line_break or _ends_sentence(tok) or _in_regions(tok.idx, regions)
                or len(tokens) >= MAX_BEFORE_TOKENS):
            break
        tokens.append(tok)
    return tokens[::-1]


def _first_verb_cue(window: list[Token]) -> list[Token]:
    """The cue after a quote comes before any other clause: ",” Peskov said", ",” said Frolov",
    ",” Smith, a retired judge, said"; not "... “rubber stamps” for X and urge ...". A mixed
    quote ("“...” and enact her agenda, Clyburn said.") has its cue as the sentence's root."""
    roots = [t for t in window if _is_direct_cue(t) and t.dep_ == "ROOT"]
    for tok in window:
        if _is_direct_cue(tok):
            return [tok]
        next_verb = tok.i + 1 < len(tok.doc) and tok.nbor().pos_ in {"VERB", "AUX"}
        clause = {"ROOT", "conj", "ccomp", "parataxis", "advcl", "xcomp"}
        if (tok.pos_ == "CCONJ" and next_verb) or tok.pos_ == "SCONJ" or tok.tag_ == "WDT" or (
                tok.pos_ in {"VERB", "AUX"} and tok.dep_ in clause):
            return roots[:1]
    return roots[:1]


def _governing_cue(cues: list[Token], quote: Span | None) -> Token:
    """Of the cues before a quote, the one the quote depends on; a reporting verb ("said") over
    a weak one ("continued", "expects") that sits between them."""
    if quote is not None:
        ancestors = {a.i for tok in quote for a in tok.ancestors}
        governing = [c for c in cues if c.i in ancestors]
        strong = [c for c in governing if c.lemma_.lower() not in vocab()["weak_cues"]]
        if strong or governing:
            return (strong or governing)[-1]
    return cues[-1]


def _colon_speaker(before: list[Token]) -> Token | None:
    """"Name, Outlet: “...”" or "X deflected with a non sequitur: “...”": the subject of the
    words before the colon, else their first name."""
    for tok in before:
        if tok.dep_ in SUBJECTS and tok.head in before:
            return tok
    people = [t for t in before if t.ent_type_ in NAME_LABELS]
    if people:
        ent = _entity_of(people[0])
        return people[0].doc[ent.end - 1] if ent is not None else people[0]
    nouns = [t for t in before if t.pos_ in {"PROPN", "NOUN"} and t.dep_ == "ROOT"]
    return nouns[0] if nouns else None


def _follows_quote(doc: Doc, region: Region, regions: list[Region], before: list[Token]) -> bool:
    """Whether the words before the quote start right after another quote of its sentence."""
    start = before[0].idx if before else region.start
    k = bisect_right(regions, start, key=lambda r: r.end) - 1  # the last quote ending by then
    return k >= 0 and not any(ch in _text(doc)[regions[k].end:start] for ch in ".!?\n")


def _attribute_region(doc: Doc, region: Region, regions: list[Region], paragraph: int) -> Found:
    """A direct quote's cue and speaker head, from the words after or before it."""
    after = _window_after(doc, region, regions)
    before = _window_before(doc, region, regions)
    text = _text(doc)
    ends_sentence = text[region.content_end - 1] == "." if region.content_end > 0 else False
    use_after = bool(after) and (not ends_sentence or after[0].is_lower or after[0].text == ",")
    after_cues = _first_verb_cue(after) if use_after else []
    before_cues = [t for t in before if _is_direct_cue(t)]
    intro = bool(before) and before[-1].text in {":", ","} and any(
        t in before_cues for t in before[-4:])
    # Words before the quote in its sentence, and no "X said:" to introduce it: the quote is
    # part of a sentence (a partial quote, or a title or scare quote when nobody says it).
    found = Found(region.content_start, region.content_end, True, None, None, paragraph,
                  embedded=bool(before) and not intro,
                  follows_quote=_follows_quote(doc, region, regions, before))
    if after_cues and not intro:
        cue = after_cues[0]
        found.cue, found.head = _cue_span(cue), _speaker_head(cue, regions, after)
    elif before_cues:
        quote = doc.char_span(region.content_start, region.content_end, alignment_mode="expand")
        cue = _governing_cue(before_cues, quote)
        found.cue, found.head = _cue_span(cue), _speaker_head(cue, regions, [])
    elif before and before[-1].text == ":":
        colon = before[-1]
        found.cue, found.head = (colon.idx, colon.idx + 1), _colon_speaker(before[:-1])
    if found.head is not None and found.head.idx >= region.start and found.head.idx < region.end:
        found.head = None
    return found


def _trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start] in " \t\n,;:—–-":
        start += 1
    while end > start and text[end - 1] in TRIM_END + ".":
        end -= 1
    return start, end


def _clause_span(clause: Token) -> tuple[int, int]:
    """A clausal complement's characters, without its "that"."""
    doc = clause.doc
    left = clause.left_edge
    if left.lower_ == "that" and left.dep_ == "mark" and left.i < clause.right_edge.i:
        left = doc[left.i + 1]
    right = clause.right_edge
    return _trim_span(_text(doc), left.idx, right.idx + len(right))


def _parenthetical_clause(cue: Token) -> tuple[int, int] | None:
    """"That culture, they said, favours sales" / "..., analysts said, may ...": a cue inserted
    in the clause it reports (spaCy: the clause's verb heads the cue as parataxis). The clause is
    the content; the inserted cue stays inside it when it sits in the middle."""
    clause = cue.head
    if cue.dep_ != "parataxis" or clause is cue or clause.pos_ not in ("VERB", "AUX"):
        return None
    doc = cue.doc
    left, right = clause.left_edge, clause.right_edge
    while right.i > left.i and right.is_punct:
        right = doc[right.i - 1]
    if cue.right_edge.i >= right.i:  # the cue closes the sentence: the clause is before it
        right = doc[cue.left_edge.i - 1] if cue.left_edge.i > left.i else right
    elif cue.left_edge.i <= left.i:  # the cue opens it
        left = doc[cue.right_edge.i + 1]
    if left.i >= right.i:
        return None
    return _trim_span(_text(doc), left.idx, right.idx + len(right))


def _according_clause(tok: Token) -> tuple[int, int] | None:
    """"According to X, <clause>" or "<clause>, according to X": the clause, without the cue
    (with it, when it is set inside the clause)."""
    head = tok.head
    if head is tok:
        return None
    sub_l, sub_r = tok.left_edge.i, tok.right_edge.i
    doc = tok.doc
    left, right = head.left_edge, head.right_edge
    while right.i > sub_r and right.is_punct:  # "..., according to X." ends at X, not at the stop
        right = doc[right.i - 1]
    if sub_l <= left.i:  # cue first: the clause follows it
        start, end = doc[sub_r].idx + len(doc[sub_r]), right.idx + len(right)
    elif sub_r >= right.i:  # cue last
        start, end = left.idx, tok.idx
    else:  # set inside ("Coke, according to the memo, gave $4 million"): the clause, cue and all
        start, end = left.idx, right.idx + len(right)
    return _trim_span(_text(doc), start, end)


def _indirect(doc: Doc, regions: list[Region], paragraphs: list[int]) -> list[Found]:
    """Cue verbs with a subject and a clausal complement, and "according to" clauses."""
    found: list[Found] = []
    weak = vocab()["direct_only_cues"]
    for tok in doc:
        if _in_regions(tok.idx, regions) or not _is_cue(tok):
            continue
        if tok.lower_ == "according":
            span = _according_clause(tok)
        else:
            if tok.lemma_.lower() in weak:
                continue
            clauses = [c for c in tok.children if c.dep_ == "ccomp"]
            if clauses and tok.lemma_.lower() in vocab()["indirect_only_cues"] and not _finite(clauses[0]):
                continue  # "the video showed Putin smiling" depicts; it states nothing
            span = _clause_span(clauses[0]) if clauses else _parenthetical_clause(tok)
        if span is None or len(_text(doc)[span[0]:span[1]].split()) < 3:
            continue
        head = _speaker_head(tok, regions, [])
        if head is None or head.dep_ == "expl" or head.lower_ in vocab()["not_speakers"]:
            continue
        if tok.lemma_.lower() in vocab()["indirect_only_cues"] and not _evidence(head):
            continue  # "the order of the meetings shows ..." is the writer's own reading
        found.append(Found(span[0], span[1], False, _cue_span(tok), head,
                           _paragraph_of(paragraphs, tok.idx)))
    return found


def _evidence(head: Token) -> bool:
    """A subject that can show or find something: a named source, a document, a poll, data."""
    if head.pos_ == "PROPN" or head.ent_type_ in NAME_LABELS | GROUP_LABELS:
        return True
    if head.lower_ in vocab()["pronouns"] and head.lower_ not in {"it", "you"}:
        return True  # a person shows what they think by what they do
    lemma = head.lemma_.lower()
    return lemma in vocab()["document_nouns"] or lemma in vocab()["evidence_nouns"]


def _finite(clause: Token) -> bool:
    """A clause with a tensed verb or a modal ("exports fell", "prices will rise")."""
    tensed = {"VBD", "VBZ", "VBP", "MD"}
    return clause.tag_ in tensed or any(
        c.dep_ in {"aux", "auxpass"} and c.tag_ in tensed for c in clause.children)


def _paragraph_starts(text: str) -> list[int]:
    """Where each paragraph starts; blank lines between paragraphs are no paragraphs."""
    starts = [0]
    pos = text.find("\n")
    while pos >= 0:
        if text[starts[-1]:pos].strip():
            starts.append(pos + 1)
        else:
            starts[-1] = pos + 1
        pos = text.find("\n", pos + 1)
    return starts


def _paragraph_of(starts: list[int], pos: int) -> int:
    lo, hi = 0, len(starts) - 1
    while lo < hi:  # the last paragraph start <= pos
        mid = (lo + hi + 1) // 2
        if starts[mid] <= pos:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _quoted_share(start: int, end: int, regions: list[Region]) -> float:
    inside = sum(max(0, min(end, r.end) - max(start, r.start)) for r in regions)
    return inside / max(1, end - start)


def _find_raw(doc: Doc) -> tuple[list[Found], list[Region]]:
    """Pass 1: every direct quote region and indirect attribution, speakers not yet resolved."""
    text = _text(doc)
    regions = find_regions(text)
    starts = _paragraph_starts(text)
    found: list[Found] = []
    for region in regions:
        item = _attribute_region(doc, region, regions, _paragraph_of(starts, region.start))
        words = len(text[item.start:item.end].split())
        if item.head is None and item.embedded and words <= SCARE_QUOTE_WORDS:
            continue  # a scare quote or a title ("the so-called “cure”"), not speech
        found.append(item)
    for item in _indirect(doc, regions, starts):
        # A clause that is mostly a quote is that quote, already found.
        if _quoted_share(item.start, item.end, regions) < 0.5:
            found.append(item)
    found.sort(key=lambda f: (f.start, not f.direct))
    return found, regions


# --- 2. speakers as names --------------------------------------------------------------------

@dataclass
class Speaker:
    """A resolved speaker: ``name``; ``start``/``end`` where the text names it (or None)."""

    name: str | None
    start: int | None
    end: int | None
    kind: str  # "person", "group", "nominal", "pronoun", "none"
    gender: str = "x"
    roles: frozenset[str] = field(default_factory=frozenset)


def _strip_titles(span: Span) -> Span:
    titles = vocab()["titles"]
    start = span.start
    while start < span.end - 1 and span.doc[start].lower_ in titles:
        start += 1
    end = span.end
    while end > start + 1 and span.doc[end - 1].text in {"'s", "’s", "'", "’"}:
        end -= 1
    return span.doc[start:end]


class NameBook:
    """The people of one document by last name, for "Suslov" -> "Dmitry Suslov"."""

    def __init__(self, doc: Doc) -> None:
        self.forms: dict[str, list[tuple[int, str]]] = {}
        for ent in doc.ents:
            if ent.label_ in NAME_LABELS and "\n" not in ent.text:
                name = _strip_titles(ent)
                key = name[-1].lower_
                self.forms.setdefault(key, []).append((name.start_char, name.text))

    def fullest(self, name: str, pos: int) -> str:
        """The longest form with the same last word; of two ("Bill Clinton", "Hillary Clinton"),
        the one seen last before ``pos``, else the first after it."""
        forms = self.forms.get(name.split()[-1].lower(), []) if name.split() else []
        if not forms:
            return name
        _, _, _, best = max((len(form.split()), at <= pos, at if at <= pos else -at, form)
                            for at, form in forms)
        return best if len(best.split()) > len(name.split()) else name


def _gender(words: list[str], first_name: str = "") -> str:
    """"m", "f" or "x" (unknown) from gendered words around a name and its first name."""
    v = vocab()
    lowered = {w.lower() for w in words}
    first = first_name.lower()
    if lowered & v["female_words"] or first in v["female_first_names"]:
        return "f"
    if lowered & v["male_words"] or first in v["male_first_names"]:
        return "m"
    return "x"


def _entity_of(tok: Token) -> Span | None:
    """The entity holding ``tok``; one that runs over a line break is a tagging error."""
    if not tok.ent_type_:
        return None
    doc, start, end = tok.doc, tok.i, tok.i + 1
    while start > 0 and doc[start].ent_iob_ == "I":
        start -= 1
    while end < len(doc) and doc[end].ent_iob_ == "I":
        end += 1
    ent = Span(doc, start, end, label=tok.ent_type_)
    return None if "\n" in ent.text else ent


def _person_token(head: Token) -> Token | None:
    """The PERSON word of a speaker phrase ("the spokesman, Dmitry Peskov" -> Peskov)."""
    if head.ent_type_ in NAME_LABELS:
        return head
    for child in head.children:
        role_head = head.lemma_.lower() in vocab()["person_roles"]
        if child.ent_type_ in NAME_LABELS and (child.dep_ == "appos" or (child.dep_ == "compound" and role_head)):
            return child
    return None


def _roles_of(head: Token, name: Span) -> frozenset[str]:
    """Role words around a name: "Kremlin spokesman Dmitry Peskov", "Frolov, an analyst"."""
    roles = {t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_ for t in head.subtree
             if t.pos_ in {"NOUN", "PROPN", "ADJ"} and not (name.start <= t.i < name.end)}
    return frozenset(roles)


def _group_phrase(head: Token) -> Span:
    """A nominal speaker's phrase: its left modifiers and itself ("the Russian foreign ministry")."""
    start = head.i
    for child in head.lefts:
        if child.dep_ in {"det", "amod", "compound", "poss", "nmod", "nummod", "case"}:
            start = min(start, child.left_edge.i)
    while start < head.i and "\n" in head.doc[start:head.i + 1].text:
        start += 1  # a heading glued to the sentence is not part of the speaker
    return head.doc[start:head.i + 1]


def describe_speaker(head: Token | None, names: NameBook) -> Speaker:
    """Pass 2a: what the sentence itself says about the speaker."""
    if head is None:
        return Speaker(None, None, None, "none")
    pronouns = vocab()["pronouns"]
    head = _sentence_antecedent(head)
    if head.pos_ == "NOUN" and head.lemma_.lower() in vocab()["document_nouns"]:
        owners = [c for c in head.children if c.dep_ == "poss" and c.lower_ not in pronouns]
        if owners:  # "read the ministry's statement": the ministry speaks
            head = owners[0]
    if head.lower_ in pronouns:
        return Speaker(head.text, head.idx, head.idx + len(head), "pronoun", pronouns[head.lower_])
    person = _person_token(head)
    if person is not None:
        return _person_speaker(head, person, names)
    ent = _entity_of(head)
    if head.pos_ == "PROPN" and head.is_title and _untagged_person(head, ent, names):
        return _person_speaker(head, head, names)
    if head.pos_ == "PROPN" and ent is not None and head.i == ent.end - 1 and any(
            t.lower_ in vocab()["person_roles"] for t in head.subtree if t.i < head.i):
        return _person_speaker(head, head, names)  # "Secretary of State Rex Tillerson" as an ORG
    if head.pos_ == "PROPN" or (ent is not None and ent.label_ in GROUP_LABELS):
        span = _group_phrase(head)
        if ent is not None and ent.label_ in GROUP_LABELS and ent.start < span.start:
            span = head.doc[ent.start:span.end]
        span = span[1:] if len(span) > 1 and span[0].lower_ == "the" else span
        return Speaker(span.text, span.start_char, span.end_char, "group")
    span = _group_phrase(head)
    return Speaker(span.text, span.start_char, span.end_char, "nominal",
                   _gender([head.lemma_]), frozenset({head.lemma_.lower()}))  # roles: its noun


def _untagged_person(head: Token, ent: Span | None, names: NameBook) -> bool:
    """A person the tagger missed or called an ORG: a surname it tagged PERSON elsewhere, or a
    name after a title ("Mr. Suslov")."""
    known = head.lower_ in names.forms
    if ent is not None:
        return len(ent) == 1 and known
    titled = head.i > 0 and head.nbor(-1).lower_ in vocab()["titles"] and head.nbor(-1).is_title
    return known or titled


def _sentence_antecedent(head: Token) -> Token:
    """"Trump said he was looking forward ...": "he" is the subject of the verb it reports to."""
    if head.lower_ not in vocab()["resolvable_pronouns"]:
        return head
    clause = head.head
    if clause.dep_ in {"ccomp", "xcomp", "advcl"} and clause.head is not clause and _is_cue(clause.head):
        subjects = [c for c in clause.head.children if c.dep_ in SUBJECTS]
        if subjects and subjects[0].pos_ == "PROPN":
            return subjects[0]
    return head


def _person_speaker(head: Token, person: Token, names: NameBook, *, alone: bool = False) -> Speaker:
    ent = _entity_of(person)
    name = _strip_titles(ent) if ent is not None else person.doc[person.i:person.i + 1]
    people = [name]
    for conj in () if alone else person.conjuncts:  # "Shaheen, Rubio and Isakson wrote"
        other = _entity_of(conj)
        if other is not None and other.label_ in NAME_LABELS:
            people.append(_strip_titles(other))
    full = [names.fullest(p.text, p.start_char) for p in people]
    text = full[0] if len(full) == 1 else ", ".join(full[:-1]) + " and " + full[-1]
    words = [t.text for t in (ent if ent is not None else name)]
    words += [t.text for t in head.subtree if t.pos_ == "NOUN"]
    first = full[0].split()[0] if len(full[0].split()) > 1 else ""
    start, end = people[0].start_char, max(p.end_char for p in people)
    kind = "person" if len(people) == 1 else "people"
    return Speaker(text, start, end, kind, _gender(words, first), _roles_of(head, name))


@dataclass
class _State:
    """What resolution has seen so far, in text order."""

    named: list[tuple[int, Speaker]] = field(default_factory=list)
    last_by_paragraph: dict[int, Speaker] = field(default_factory=dict)
    last_direct_by_paragraph: dict[int, Speaker] = field(default_factory=dict)
    subjects: list[tuple[int, Speaker]] = field(default_factory=list)  # people as subjects


def _subject_people(doc: Doc, regions: list[Region], names: NameBook) -> list[tuple[int, Speaker]]:
    """Every person named as a subject outside quotes: the antecedents "he"/"she" can take."""
    out = []
    for tok in doc:
        subject = tok.dep_ in SUBJECTS or (tok.dep_ == "conj" and tok.head.dep_ in SUBJECTS)
        if not subject or tok.pos_ != "PROPN" or _in_regions(tok.idx, regions):
            continue
        if describe_speaker(tok, names).kind in {"person", "people"}:
            # "Mary Klein and Peter Voss met ...": each of them can be "she" or "he" later.
            out.append((tok.idx, _person_speaker(tok, _person_token(tok) or tok, names, alone=True)))
    return out


def _compatible(gender: str, speaker: Speaker) -> bool:
    return gender == "x" or speaker.gender in {"x", gender}


def _resolved(speaker: Speaker) -> Speaker:
    """The same speaker, named from elsewhere: no offsets in this sentence."""
    return replace(speaker, start=None, end=None)


@dataclass
class Frame:
    """The interviewee: named by the caller (``given``) or detected from the quotes."""

    speaker: Speaker
    given: bool


def _resolve_nominal(raw: Speaker, state: _State, frame: Frame | None) -> Speaker:
    """"The expert said": the interviewee, or the named speaker with that role. Only a definite
    role noun refers back ("a Coca-Cola spokesman" is someone new), and its modifiers must be
    roles of the same person ("the Kremlin spokesman" -> Peskov, not another spokesman)."""
    words = (raw.name or "").lower().split()
    role = next(iter(raw.roles), "")
    if not words or words[0] not in {"the", "this"} or role not in vocab()["person_roles"]:
        return raw
    # A detected interviewee is "the expert", not "the president" someone else may be.
    if frame is not None and (frame.given or role in vocab()["frame_roles"] | frame.speaker.roles):
        return _resolved(frame.speaker)
    modifiers = {w for w in words[1:-1]}
    for _, named in reversed(state.named):
        if role in named.roles and modifiers <= named.roles | {role}:
            return _resolved(named)
    return raw


def _resolve_pronoun(item: Found, raw: Speaker, state: _State, frame: Frame | None) -> Speaker:
    """"He said": the most recent person of a compatible gender, among the named speakers and
    the people named as subjects; in an interview piece, among the named speakers only (the
    people the expert talks about are not the ones talking)."""
    if (raw.name or "").lower() not in vocab()["resolvable_pronouns"]:
        return Speaker(None, None, None, "none")
    if frame is not None and frame.given and _compatible(raw.gender, frame.speaker):
        return _resolved(frame.speaker)
    at = raw.start if raw.start is not None else item.start
    pool = state.named if frame is not None else state.named + state.subjects
    for _, named in sorted((c for c in pool if c[0] < at), key=lambda c: c[0], reverse=True):
        if named.kind == "person" and _compatible(raw.gender, named):
            return _resolved(named)
    if frame is not None and _compatible(raw.gender, frame.speaker):
        return _resolved(frame.speaker)
    return Speaker(None, None, None, "none")


def _resolve(item: Found, raw: Speaker, state: _State, frame: Frame | None) -> Speaker:
    """Pass 2b: a name for pronouns, role nouns and quotes without a cue."""
    if raw.kind in {"person", "people", "group"}:
        return raw
    if raw.kind == "pronoun":
        return _resolve_pronoun(item, raw, state, frame)
    if raw.kind == "nominal":
        return _resolve_nominal(raw, state, frame)
    # A quote with no cue goes on from the last quote of its paragraph or the one before.
    previous = (state.last_direct_by_paragraph.get(item.paragraph)
                or state.last_by_paragraph.get(item.paragraph)
                or state.last_direct_by_paragraph.get(item.paragraph - 1))
    if previous is not None and previous.name is not None and (not item.embedded or item.follows_quote):
        return _resolved(previous)
    return _resolved(frame.speaker) if frame is not None else raw


def _resolve_all(found: list[Found], raws: list[Speaker], frame: Frame | None,
                 subjects: list[tuple[int, Speaker]]) -> list[Speaker]:
    state = _State(subjects=subjects)
    out: list[Speaker] = []
    for item, raw in zip(found, raws):
        speaker = _resolve(item, raw, state, frame)
        out.append(speaker)
        if speaker.name is not None:
            if speaker.kind == "person":
                state.named.append((item.start, speaker))
            state.last_by_paragraph[item.paragraph] = speaker
            if item.direct:
                state.last_direct_by_paragraph[item.paragraph] = speaker
    return out


def _detect_frame(found: list[Found], speakers: list[Speaker]) -> Frame | None:
    """The interviewee: one person who speaks most of the direct quotes."""
    direct = [s for f, s in zip(found, speakers) if f.direct]
    people = Counter(s.name for s in direct if s.kind == "person" and s.name)
    if not people:
        return None
    name, count = people.most_common(1)[0]
    if count < FRAME_MIN_QUOTES or count < FRAME_SHARE * len(direct):
        return None
    return Frame(next(s for s in direct if s.name == name), given=False)


def _frame_from_name(name: str, names: NameBook) -> Frame:
    full = names.fullest(name, 0)
    return Frame(Speaker(full, None, None, "person", _gender([], full.split()[0])), given=True)


def find_attributions(doc: Doc, *, frame_speaker: str | None = None) -> list[Attribution]:
    """Every quote of ``doc`` with its cue offsets (the evaluation needs them)."""
    found, regions = _find_raw(doc)
    names = NameBook(doc)
    raws = [describe_speaker(f.head, names) for f in found]
    subjects = _subject_people(doc, regions, names)
    frame = _frame_from_name(frame_speaker, names) if frame_speaker else None
    speakers = _resolve_all(found, raws, frame, subjects)
    if frame is None:
        frame = _detect_frame(found, speakers)
        if frame is not None:
            speakers = _resolve_all(found, raws, frame, subjects)
    # An indirect statement nobody can be named for ("it was said that ...") is no quote.
    return [_attribution(doc, f, s) for f, s in zip(found, speakers) if f.direct or s.name]


def _attribution(doc: Doc, item: Found, speaker: Speaker) -> Attribution:
    cue_start, cue_end = item.cue if item.cue else (None, None)
    cue = _text(doc)[cue_start:cue_end] if item.cue else None
    quote = Quote(speaker=speaker.name, speaker_start=speaker.start, speaker_end=speaker.end,
                  cue=cue, content=_text(doc)[item.start:item.end], start=item.start,
                  end=item.end, direct=item.direct)
    return Attribution(quote, cue_start, cue_end)


def find_quotes(doc: Doc, *, frame_speaker: str | None = None) -> list[Quote]:
    """Who said what in ``doc``: direct, partial and indirect quotes in text order."""
    return [a.quote for a in find_attributions(doc, frame_speaker=frame_speaker)]


def quotes_of_text(text: str, *, frame_speaker: str | None = None) -> list[Quote]:
    """Parse ``text`` (the one NLP pass) and find its quotes."""
    from storyline.annotate.nlp import parse

    return find_quotes(parse(text), frame_speaker=frame_speaker)
