"""Who said what: direct, partial and indirect quotes with their speakers, on the one spaCy parse.

The work is done in two passes over a parsed ``Doc``:

1. *Find.* Quoted regions come from a character scan of the quote marks (any style, split quotes,
   quotes that run over paragraphs). Each region is attributed through the words around it in its
   sentence: a cue verb after it (``,” Peskov said``, ``,” said Frolov``, ``according to``) or
   before it (``Peskov said: “``, ``urging Russia “to ...``). Indirect attributions come from the
   dependency parse: a cue verb (``quotes_vocab.json``) with a subject and a clausal complement,
   or ``according to X, <clause>``. An interview's turns ("Q: ...", "Moll: ...") are quotes of
   the interviewer and the interviewee (``storyline.annotate.interviews``); what is quoted or
   reported inside a turn is the turn's speaker's, unless a cue there names someone else.
2. *Resolve.* What the speaker phrase names comes from ``storyline.annotate.speakers`` (a person,
   a group, a document, a pronoun, a role noun, or nobody: a dateline, a thing). In text order,
   each speaker becomes a name: a PERSON is given its fullest form in the document ("Suslov" ->
   "Dmitry Suslov"); "he"/"she" take the most recent person of a compatible gender named before
   them (as a speaker or as the subject of a sentence); a definite role noun ("the expert") takes
   the named speaker with that role, else the person last named in its paragraph; a quote with no
   cue goes to the nearest speaker before it in its paragraph: the last quote's, unless a person
   became the subject of a main clause since. When one person speaks most of the quotes (an
   interview piece), the caller names one (``frame_speaker``) or the text is a Q&A, that person
   takes the unattributed quotes, the pronouns and the role nouns.

Every tuned part (word lists, constants) is a ``QuoteRules`` argument (``quote_rules``). Offsets are
exact: ``doc.text[q.start:q.end] == q.content``; speaker offsets are None whenever the name was
resolved from elsewhere. A quote is listed once: when the same words are found twice, the
attributed finding stays.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field, replace

from spacy.tokens import Doc, Span, Token

from storyline.annotate.interviews import Turn, find_turns
from storyline.annotate.quote_rules import QuoteRules, default_rules
from storyline.annotate.parsed import doc_text
from storyline.annotate.speakers import (
    DATELINE,
    GROUP_LABELS,
    NAME_LABELS,
    NOBODY,
    SUBJECTS,
    NameBook,
    Speaker,
    describe_speaker,
    entity_of,
    is_cue,
    person_speaker,
    person_token,
)
from storyline.model import Quote

DOUBLE_OPEN = "“„«"
DOUBLE_CLOSE = "”»"
SINGLE_OPEN = "‘‹"
SINGLE_CLOSE = "’›"
OPEN_BEFORE = set(" \t\n([{—–-/:;,")  # characters after which a straight quote opens
SENTENCE_END = {".", "!", "?"}
RELATIVE = {"who", "which", "that", "whom"}
CLIMB = {"advcl", "xcomp", "conj", "pcomp", "acl", "dobj", "pobj", "prep"}
TRIM_END = " \t\n,;:"
MIN_REPEATED_WORDS = 3  # a repeated fragment this long is the same quote, not a common phrase

_text = doc_text


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
    given: Speaker | None = None  # an interview turn's speaker, known from its label
    turn: bool = False  # an interview turn


@dataclass
class Attribution:
    """A quote with the offsets of its cue (for evaluation); ``quote`` is the public result."""

    quote: Quote
    cue_start: int | None
    cue_end: int | None


def _is_direct_cue(tok: Token, rules: QuoteRules) -> bool:
    """A cue that may introduce a direct quote: not one that reports what a document shows."""
    return is_cue(tok, rules) and tok.lemma_.lower() not in rules["indirect_only_cues"]


def _cue_span(tok: Token, rules: QuoteRules) -> tuple[int, int]:
    """The cue phrase: the verb, its particle ("point out"), a short addressee ("told reporters")."""
    doc = tok.doc
    if tok.lower_ == "according":
        return tok.idx, doc[tok.i + 1].idx + len(doc[tok.i + 1])
    last = tok
    for child in tok.rights:
        if child.dep_ == "prt" and child.i == last.i + 1:
            last = child
        elif (child.dep_ in {"dobj", "dative", "obj"} and tok.lemma_ in rules["addressee_cues"]
              and child.left_edge.i == last.i + 1 and child.right_edge.i - tok.i <= 4
              and child.pos_ in {"NOUN", "PROPN", "PRON"}):
            last = child.right_edge
    return tok.idx, last.idx + len(last)


def _in_regions(pos: int, regions: list[Region]) -> bool:
    """Whether ``pos`` is inside a quoted region (regions are sorted and do not overlap)."""
    k = bisect_right(regions, pos, key=lambda r: r.start) - 1
    return k >= 0 and pos < regions[k].end


def _speaker_head(cue: Token, regions: list[Region], window: list[Token], rules: QuoteRules
                  ) -> Token | None:
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
        if verb.dep_ not in CLIMB or verb.head == verb:
            break
        verb = verb.head
    return _adjacent_nominal(cue, window, rules)


def _same_paragraph(a: Token, b: Token) -> bool:
    lo, hi = sorted((a.idx, b.idx))
    return "\n" not in _text(a.doc)[lo:hi]


def _antecedent_of_relative(subject: Token, verb: Token) -> Token:
    """"Frolov, who said ..." -> Frolov."""
    if subject.lower_ in RELATIVE and verb.dep_ == "relcl":
        return verb.head
    return subject


def _adjacent_nominal(cue: Token, window: list[Token], rules: QuoteRules) -> Token | None:
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
    if cue.lemma_ in rules["addressee_cues"]:
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


def _window_after(doc: Doc, region: Region, regions: list[Region], limit: int) -> list[Token]:
    """Tokens after a quote up to the end of its sentence, its paragraph or the next quote."""
    span = doc.char_span(region.end, len(_text(doc)), alignment_mode="expand")
    tokens: list[Token] = []
    for tok in span if span is not None else []:
        if "\n" in tok.text or _in_regions(tok.idx, regions) or len(tokens) >= limit:
            break
        if _ends_sentence(tok):
            break
        tokens.append(tok)
        if "\n" in tok.whitespace_:
            break
    return tokens


def _window_before(doc: Doc, region: Region, regions: list[Region], limit: int) -> list[Token]:
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
                or len(tokens) >= limit):
            break
        tokens.append(tok)
    return tokens[::-1]


def _first_verb_cue(window: list[Token], rules: QuoteRules) -> list[Token]:
    """The cue after a quote comes before any other clause: ",” Peskov said", ",” said Frolov",
    ",” Smith, a retired judge, said"; not "... “rubber stamps” for X and urge ...". A mixed
    quote ("“...” and enact her agenda, Clyburn said.") has its cue as the sentence's root."""
    roots = [t for t in window if _is_direct_cue(t, rules) and t.dep_ == "ROOT"]
    for tok in window:
        if _is_direct_cue(tok, rules):
            # "... “had no other choice” but to agree": an infinitive goes on with the sentence.
            infinitive = any(c.dep_ == "aux" and c.lower_ == "to" for c in tok.children)
            return roots[:1] if infinitive else [tok]
        next_verb = tok.i + 1 < len(tok.doc) and tok.nbor().pos_ in {"VERB", "AUX"}
        clause = {"ROOT", "conj", "ccomp", "parataxis", "advcl", "xcomp"}
        if (tok.pos_ == "CCONJ" and next_verb) or tok.pos_ == "SCONJ" or tok.tag_ == "WDT" or (
                tok.pos_ in {"VERB", "AUX"} and tok.dep_ in clause):
            return roots[:1]
    return roots[:1]


def _governing_cue(cues: list[Token], quote: Span | None, rules: QuoteRules) -> Token:
    """Of the cues before a quote, the one the quote depends on; a reporting verb ("said") over
    a weak one ("continued", "expects") that sits between them."""
    if quote is not None:
        ancestors = {a.i for tok in quote for a in tok.ancestors}
        governing = [c for c in cues if c.i in ancestors]
        strong = [c for c in governing if c.lemma_.lower() not in rules["weak_cues"]]
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
        ent = entity_of(people[0])
        return people[0].doc[ent.end - 1] if ent is not None else people[0]
    nouns = [t for t in before if t.pos_ in {"PROPN", "NOUN"} and t.dep_ == "ROOT"]
    return nouns[0] if nouns else None


def _follows_quote(doc: Doc, region: Region, regions: list[Region], before: list[Token]) -> bool:
    """Whether the words before the quote start right after another quote of its sentence."""
    start = before[0].idx if before else region.start
    k = bisect_right(regions, start, key=lambda r: r.end) - 1  # the last quote ending by then
    return k >= 0 and not any(ch in _text(doc)[regions[k].end:start] for ch in ".!?\n")


def _attribute_region(doc: Doc, region: Region, regions: list[Region], paragraph: int,
                      rules: QuoteRules) -> Found:
    """A direct quote's cue and speaker head, from the words after or before it."""
    after = _window_after(doc, region, regions, rules.constants.max_after_tokens)
    before = _window_before(doc, region, regions, rules.constants.max_before_tokens)
    text = _text(doc)
    ends_sentence = text[region.content_end - 1] == "." if region.content_end > 0 else False
    use_after = bool(after) and (not ends_sentence or after[0].is_lower or after[0].text == ",")
    after_cues = _first_verb_cue(after, rules) if use_after else []
    before_cues = [t for t in before if _is_direct_cue(t, rules)]
    intro = bool(before) and before[-1].text in {":", ","} and any(
        t in before_cues for t in before[-4:])
    # Words before the quote in its sentence, and no "X said:" to introduce it: the quote is
    # part of a sentence (a partial quote, or a title or scare quote when nobody says it).
    found = Found(region.content_start, region.content_end, True, None, None, paragraph,
                  embedded=bool(before) and not intro,
                  follows_quote=_follows_quote(doc, region, regions, before))
    if after_cues and not intro:
        cue = after_cues[0]
        found.cue, found.head = _cue_span(cue, rules), _speaker_head(cue, regions, after, rules)
    elif before_cues:
        quote = doc.char_span(region.content_start, region.content_end, alignment_mode="expand")
        cue = _governing_cue(before_cues, quote, rules)
        found.cue, found.head = _cue_span(cue, rules), _speaker_head(cue, regions, [], rules)
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
    if cue.dep_ != "parataxis" or clause == cue or clause.pos_ not in ("VERB", "AUX"):
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
    if head == tok:
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


def _indirect(doc: Doc, regions: list[Region], paragraphs: list[int], rules: QuoteRules) -> list[Found]:
    """Cue verbs with a subject and a clausal complement, and "according to" clauses."""
    found: list[Found] = []
    weak = rules["direct_only_cues"]
    for tok in doc:
        if _in_regions(tok.idx, regions) or not is_cue(tok, rules):
            continue
        if tok.lower_ == "according":
            span = _according_clause(tok)
        else:
            if tok.lemma_.lower() in weak:
                continue
            clauses = [c for c in tok.children if c.dep_ == "ccomp"]
            if clauses and tok.lemma_.lower() in rules["indirect_only_cues"] and not _finite(clauses[0]):
                continue  # "the video showed Putin smiling" depicts; it states nothing
            span = _clause_span(clauses[0]) if clauses else _parenthetical_clause(tok)
        span = _in_paragraph(_text(doc), span, tok.idx) if span is not None else None
        span = _after_dateline(_text(doc), span) if span is not None else None
        if span is None or len(_text(doc)[span[0]:span[1]].split()) < 3:
            continue
        head = _speaker_head(tok, regions, [], rules)
        if head is None or head.dep_ == "expl" or head.lower_ in rules["not_speakers"]:
            continue
        if tok.lemma_.lower() in rules["indirect_only_cues"] and not _evidence(head, rules):
            continue  # "the order of the meetings shows ..." is the writer's own reading
        found.append(Found(span[0], span[1], False, _cue_span(tok, rules), head,
                           _paragraph_of(paragraphs, tok.idx)))
    return found


def _in_paragraph(text: str, span: tuple[int, int], cue_at: int) -> tuple[int, int] | None:
    """A reported clause stays in its cue's paragraph: a parse that runs over a line break has
    glued a caption or a heading to it."""
    paragraph_start = text.rfind("\n", 0, cue_at) + 1
    paragraph_end = text.find("\n", cue_at)
    start = max(span[0], paragraph_start)
    end = min(span[1], len(text) if paragraph_end < 0 else paragraph_end)
    return _trim_span(text, start, end) if start < end else None


def _after_dateline(text: str, span: tuple[int, int]) -> tuple[int, int]:
    """A reported clause that opens its paragraph starts after the dateline ("KORVIK (Reuters) -")."""
    line_start = text.rfind("\n", 0, span[0]) + 1
    match = DATELINE.match(text, line_start, span[1])
    if match is None or text[line_start:span[0]].strip() or match.end() <= span[0]:
        return span
    return match.end(), span[1]


def _evidence(head: Token, rules: QuoteRules) -> bool:
    """A subject that can show or find something: a named source, a document, a poll, data."""
    if head.pos_ == "PROPN" or head.ent_type_ in NAME_LABELS | GROUP_LABELS:
        return True
    if head.lower_ in rules.pronouns and head.lower_ not in {"it", "you"}:
        return True  # a person shows what they think by what they do
    lemma = head.lemma_.lower()
    return lemma in rules["document_nouns"] or lemma in rules["evidence_nouns"]


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


def _inside(pos: int, spans: list[tuple[int, int]]) -> bool:
    """Whether ``pos`` falls in one of ``spans`` (sorted, not overlapping)."""
    k = bisect_right(spans, pos, key=lambda s: s[0]) - 1
    return k >= 0 and pos < spans[k][1]


def _find_raw(doc: Doc, turns: list[Turn], rules: QuoteRules) -> tuple[list[Found], list[Region]]:
    """Pass 1: every interview turn, direct quote region and indirect attribution, speakers not
    yet resolved."""
    text = _text(doc)
    regions = find_regions(text)
    starts = _paragraph_starts(text)
    turn_spans = [(t.start, t.end) for t in turns]
    found = [Found(t.start, t.end, True, (t.label_start, t.label_end) if t.label_end > t.label_start
                   else None, None, _paragraph_of(starts, t.start), given=t.speaker or NOBODY,
                   turn=True) for t in turns]
    for region in regions:
        item = _attribute_region(doc, region, regions, _paragraph_of(starts, region.start), rules)
        words = len(text[item.start:item.end].split())
        if item.head is None and item.embedded and words <= rules.constants.scare_quote_words:
            continue  # a scare quote or a title ("the so-called “cure”"), not speech
        if item.head is None and _inside(item.start, turn_spans):
            continue  # words the turn's speaker quotes are the turn's
        found.append(item)
    for item in _indirect(doc, regions, starts, rules):
        # A clause that is mostly a quote is that quote, already found; what a turn reports
        # ("Vesteria may argue that ...") is the turn speaker's view.
        if _quoted_share(item.start, item.end, regions) < 0.5 and not _inside(item.start, turn_spans):
            found.append(item)
    found.sort(key=lambda f: (f.start, not f.direct))
    return found, regions


# --- 2. speakers as names --------------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    """A person named as a subject outside quotes: an antecedent for "he"/"she", and, as the
    subject of a main clause, the nearest speaker for a quote with no cue after it."""

    at: int
    speaker: Speaker
    main: bool
    paragraph: int


@dataclass
class _State:
    """What resolution has seen so far, in text order."""

    subjects: list[Subject]
    # People who spoke: where they are named (or quoted), who, in which paragraph.
    named: list[tuple[int, Speaker, int]] = field(default_factory=list)
    last_by_paragraph: dict[int, tuple[int, Speaker]] = field(default_factory=dict)
    last_direct_by_paragraph: dict[int, tuple[int, Speaker]] = field(default_factory=dict)
    sentence_starts: list[int] = field(default_factory=list)

    def sentence_of(self, pos: int) -> int:
        return bisect_right(self.sentence_starts, pos)


def _main_clause_subject(tok: Token) -> bool:
    verb = tok.head.head if tok.dep_ == "conj" else tok.head
    return verb.dep_ == "ROOT" or (verb.dep_ == "conj" and verb.head.dep_ == "ROOT")


def _subject_people(doc: Doc, regions: list[Region], names: NameBook, starts: list[int],
                    rules: QuoteRules) -> list[Subject]:
    """Every person named as a subject outside quotes."""
    out = []
    for tok in doc:
        subject = tok.dep_ in SUBJECTS or (tok.dep_ == "conj" and tok.head.dep_ in SUBJECTS)
        if not subject or _in_regions(tok.idx, regions):
            continue
        if tok.pos_ != "PROPN" and person_token(tok, rules) is None:
            continue  # "Her rival, Oskar Brandt, was scathing" counts; "the plan" does not
        if describe_speaker(tok, names, rules).kind in {"person", "people"}:
            # "Mary Klein and Peter Voss met ...": each of them can be "she" or "he" later.
            person = person_speaker(tok, person_token(tok, rules) or tok, names, rules, alone=True)
            out.append(Subject(tok.idx, person, _main_clause_subject(tok), _paragraph_of(starts, tok.idx)))
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


def _resolve_nominal(item: Found, raw: Speaker, state: _State, frame: Frame | None,
                     rules: QuoteRules) -> Speaker:
    """"The expert said": the interviewee, the named speaker with that role, else the person
    last named in the paragraph or the one before. Only a definite role noun refers back ("a Coca-Cola spokesman"
    is someone new), and its modifiers must be roles of the same person ("the Kremlin
    spokesman" -> Peskov, not another spokesman)."""
    words = (raw.name or "").lower().split()
    role = next(iter(raw.roles), "")
    person = role in rules["person_roles"] or role in rules.person_nouns
    if not words or words[0] not in {"the", "this"} or not person:
        return raw
    # A detected interviewee is "the expert", not "the president" someone else may be.
    if frame is not None and (frame.given or role in rules["frame_roles"] | frame.speaker.roles):
        return _resolved(frame.speaker)
    modifiers = {w for w in words[1:-1]}
    for _, named, _ in reversed(state.named):
        if role in named.roles and modifiers <= named.roles | {role}:
            return _resolved(named)
    at = raw.start if raw.start is not None else item.start
    if item.head is not None and _introduced_unnamed(item.head.doc, role, at):
        return raw  # "an official said ... The official added": someone the text never names
    near = {item.paragraph, item.paragraph - 1}
    nearby = [(s.at, s.speaker) for s in state.subjects if s.paragraph in near and s.at < at]
    nearby += [(pos, sp) for pos, sp, paragraph in state.named if pos < at and paragraph in near]
    people = [sp for _, sp in sorted(nearby, key=lambda c: c[0]) if sp.kind == "person"
              and _compatible(raw.gender, sp)]
    return _resolved(people[-1]) if people else raw


def _introduced_unnamed(doc: Doc, role: str, before: int) -> bool:
    """Whether the text brought in someone by this role noun with no name before ``before``:
    "an official familiar with the matter", "two officials"."""
    for tok in doc:
        if tok.idx >= before:
            return False
        if tok.lemma_.lower() != role or tok.pos_ != "NOUN":
            continue
        dets = {c.lower_ for c in tok.children if c.dep_ in {"det", "nummod"}}
        if dets & {"a", "an", "another", "one", "two", "three", "several", "some"}:
            if not any(c.ent_type_ in NAME_LABELS for c in tok.subtree):
                return True
    return False


def _resolve_pronoun(item: Found, raw: Speaker, state: _State, frame: Frame | None,
                     rules: QuoteRules) -> Speaker:
    """"He said": the most recent person of a compatible gender named before the pronoun,
    among the named speakers and the people named as subjects; in an interview piece, among
    the named speakers and the subjects of its paragraph's main clauses."""
    if (raw.name or "").lower() not in rules["resolvable_pronouns"]:
        return NOBODY
    if frame is not None and frame.given and _compatible(raw.gender, frame.speaker):
        return _resolved(frame.speaker)
    at = raw.start if raw.start is not None else item.start
    pool = [(pos, True, sp) for pos, sp, _ in state.named]
    # In an interview piece the people the expert talks about are not the ones talking, unless
    # one of them is the subject of a main clause of the pronoun's own paragraph.
    pool += [(s.at, s.main, s.speaker) for s in state.subjects
             if frame is None or (s.main and s.paragraph == item.paragraph)]
    people = [c for c in pool if c[0] < at and c[2].kind == "person" and _compatible(raw.gender, c[2])]
    if people:
        # The nearest sentence naming someone; in it, the subject of the main clause or the
        # speaker before a person the sentence reports about ("Trump said Assad is ...").
        last = max(state.sentence_of(c[0]) for c in people)
        here = sorted((c for c in people if state.sentence_of(c[0]) == last), key=lambda c: (c[1], c[0]))
        return _resolved(here[-1][2])
    if frame is not None and _compatible(raw.gender, frame.speaker):
        return _resolved(frame.speaker)
    return NOBODY


def _resolve_uncued(item: Found, state: _State, frame: Frame | None) -> Speaker:
    """A quote with no cue goes to the nearest speaker before it in its paragraph: the last
    quote's, unless a person became the subject of a main clause after it; else the last
    direct quote's of the paragraph before, else the interviewee."""
    previous = (state.last_direct_by_paragraph.get(item.paragraph)
                or state.last_by_paragraph.get(item.paragraph))
    if not item.embedded or item.follows_quote:
        since = previous[0] if previous is not None else -1
        subjects = [s for s in state.subjects if s.main and s.paragraph == item.paragraph
                    and since < s.at < item.start]
        if subjects:
            return _resolved(subjects[-1].speaker)
        previous = previous or state.last_direct_by_paragraph.get(item.paragraph - 1)
        if previous is not None and previous[1].name is not None:
            return _resolved(previous[1])
    return _resolved(frame.speaker) if frame is not None else NOBODY


def _resolve(item: Found, raw: Speaker, state: _State, frame: Frame | None, rules: QuoteRules) -> Speaker:
    """A name for pronouns, role nouns and quotes without a cue."""
    if item.given is not None:
        return item.given
    if raw.kind in {"person", "people", "group", "document"}:
        return raw
    if raw.kind == "pronoun":
        return _resolve_pronoun(item, raw, state, frame, rules)
    if raw.kind == "nominal":
        return _resolve_nominal(item, raw, state, frame, rules)
    if item.head is not None or not item.direct:
        return NOBODY  # the cue's subject is no speaker ("radar data showed"): nobody to name
    return _resolve_uncued(item, state, frame)


def _resolve_all(found: list[Found], raws: list[Speaker], frame: Frame | None,
                 subjects: list[Subject], sentence_starts: list[int], rules: QuoteRules) -> list[Speaker]:
    state = _State(subjects=subjects, sentence_starts=sentence_starts)
    out: list[Speaker] = []
    for item, raw in zip(found, raws):
        speaker = _resolve(item, raw, state, frame, rules)
        out.append(speaker)
        if speaker.name is not None:
            if speaker.kind == "person":
                at = speaker.start if speaker.start is not None else item.start
                state.named.append((at, speaker, item.paragraph))
            state.last_by_paragraph[item.paragraph] = (item.end, speaker)
            if item.direct:
                state.last_direct_by_paragraph[item.paragraph] = (item.end, speaker)
    return out


def _detect_frame(found: list[Found], speakers: list[Speaker], rules: QuoteRules) -> Frame | None:
    """The interviewee: one person who speaks most of the direct quotes."""
    direct = [s for f, s in zip(found, speakers) if f.direct]
    people = Counter(s.name for s in direct if s.kind == "person" and s.name)
    if not people:
        return None
    name, count = people.most_common(1)[0]
    if count < rules.constants.frame_min_quotes or count < rules.constants.frame_share * len(direct):
        return None
    return Frame(next(s for s in direct if s.name == name), given=False)


def _frame_from_name(name: str, names: NameBook) -> Frame:
    full = names.fullest(name, 0)
    return Frame(Speaker(full, None, None, "person", names.gender([], full)), given=True)


def _interview_frame(turns: list[Turn]) -> Frame | None:
    """A Q&A's interviewee: the speaker of most answers."""
    answers = Counter(t.speaker.name for t in turns if not t.asks and t.speaker and t.speaker.name)
    if not answers:
        return None
    name = answers.most_common(1)[0][0]
    speaker = next(t.speaker for t in turns if t.speaker and t.speaker.name == name)
    return Frame(_resolved(speaker), given=False) if speaker is not None else None


def find_attributions(doc: Doc, *, frame_speaker: str | None = None, interviewer: str | None = None,
                      rules: QuoteRules | None = None) -> list[Attribution]:
    """Every quote of ``doc`` with its cue offsets (the evaluation needs them). ``interviewer``
    names who asks an interview's questions when its text does not (the byline or outlet)."""
    rules = rules or default_rules()
    names = NameBook(doc, rules)
    turns = find_turns(doc, names, rules, frame_speaker=frame_speaker, interviewer=interviewer)
    found, regions = _find_raw(doc, turns, rules)
    raws = [describe_speaker(f.head, names, rules) for f in found]
    subjects = _subject_people(doc, regions, names, _paragraph_starts(_text(doc)), rules)
    sentence_starts = [sent.start_char for sent in doc.sents]
    frame = _frame_from_name(frame_speaker, names) if frame_speaker else _interview_frame(turns)
    speakers = _resolve_all(found, raws, frame, subjects, sentence_starts, rules)
    if frame is None:
        frame = _detect_frame(found, speakers, rules)
        if frame is not None:
            speakers = _resolve_all(found, raws, frame, subjects, sentence_starts, rules)
    # An indirect statement nobody can be named for ("it was said that ...") is no quote, nor
    # is an interview question nobody can be named for.
    kept = [(f, s) for f, s in zip(found, speakers) if s.name or (f.direct and not (f.turn and f.given is NOBODY))]
    return [_attribution(doc, f, s) for f, s in _listed_once(_text(doc), kept)]


def _words(text: str) -> str:
    return " ".join("".join(c for c in text.lower() if c.isalnum() or c.isspace()).split())


def _listed_once(text: str, items: list[tuple[Found, Speaker]]) -> list[tuple[Found, Speaker]]:
    """A quote found again with no speaker (a headline, a teaser, a pull quote repeating it)
    takes the speaker of the attributed finding that holds its words: one quote is never both
    attributed and unattributed. The same span found twice is listed once."""
    attributed = [(_words(text[f.start:f.end]), s) for f, s in items if s.name]
    out: list[tuple[Found, Speaker]] = []
    seen: set[tuple[int, int]] = set()
    for found, speaker in items:
        if (found.start, found.end) in seen:
            continue
        seen.add((found.start, found.end))
        if speaker.name is None:
            words = _words(text[found.start:found.end])
            holder = next((s for w, s in attributed if words and (words == w or (
                len(words.split()) >= MIN_REPEATED_WORDS and f" {words} " in f" {w} "))), None)
            speaker = _resolved(holder) if holder is not None else speaker
        out.append((found, speaker))
    return out


def _attribution(doc: Doc, item: Found, speaker: Speaker) -> Attribution:
    cue_start, cue_end = item.cue if item.cue else (None, None)
    cue = _text(doc)[cue_start:cue_end] if item.cue else None
    quote = Quote(speaker=speaker.name, speaker_start=speaker.start, speaker_end=speaker.end,
                  cue=cue, content=_text(doc)[item.start:item.end], start=item.start,
                  end=item.end, direct=item.direct)
    return Attribution(quote, cue_start, cue_end)


def find_quotes(doc: Doc, *, frame_speaker: str | None = None, interviewer: str | None = None,
                rules: QuoteRules | None = None) -> list[Quote]:
    """Who said what in ``doc``: direct, partial and indirect quotes in text order."""
    return [a.quote for a in find_attributions(doc, frame_speaker=frame_speaker,
                                               interviewer=interviewer, rules=rules)]


def quotes_of_text(text: str, *, frame_speaker: str | None = None,
                   interviewer: str | None = None) -> list[Quote]:
    """Parse ``text`` (the one NLP pass) and find its quotes."""
    from storyline.annotate.nlp import parse

    return find_quotes(parse(text), frame_speaker=frame_speaker, interviewer=interviewer)
