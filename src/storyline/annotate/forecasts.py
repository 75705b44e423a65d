"""Forecasts: statements about the future, who holds them and how sure they sound.

A sentence is a forecast when it carries a future marker that survives the filters below:

* epistemic phrases ("is likely to", "the odds are", "I do not expect", "is bound to") make a
  forecast on their own and set its confidence; they outrank bare modals, so in "it is not likely
  that X will ..." the hedge, not the "will", decides;
* modals (will, would, may, might, could, can) make a forecast when their clause is not an "if"
  clause, not a relative clause, not a past counterfactual ("would have"), not a wish ("would
  like"), not an unreal conditional ("if X were ..., Y would ..."), not a generic truth
  ("always"), not a stock phrase ("it can be said"); may/might/could with a stative verb ("might
  look") and "can" count only with a future horizon, since they mostly state a present
  possibility or ability;
* questions and deontic statements (should, must: not markers at all) are never forecasts, and an
  unhedged "will" + scheduling verb + a day-precise date ("the commission will meet on June 1")
  is a scheduled fact that belongs to the timeline, not to the forecasts ledger.

Confidence: the phrase's class, or the modal's class adjusted by a hedge ("will probably" ->
likely, "I think ... will" -> likely). A negated modal keeps its class: it negates the event, not
the certainty ("will not" is a certain negative forecast). A negated phrase lowers it ("not
likely" -> unlikely, "I do not expect" -> unlikely). The holder is, in order: the active subject
of a cognition verb that carries or embeds the marker ("analysts expect ..."; "I"/"we" mean the
speaker or author), the speaker of the quote around the marker or attributed in the sentence, the
X of "according to X", else ``author`` (the caller passes the document's author, or None).
The text is the sentence, cut to the quote's content when the marker is quoted; the horizon is the
prepositional phrase around a future date or an event ("after the elections", "by the end of the
year"), else the future timex's text; ``made_on`` is the publication date.
Vocabulary lives in ``data/forecasts_markers.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

from spacy.tokens import Doc, Span, Token

from storyline.annotate.events import compare_dates, sentence_units, timex_date, trimmed
from storyline.annotate.parsed import doc_text
from storyline.model import Confidence, Forecast, Quote, Timex
from storyline.resources import read_data

PHRASE_RANK = 0  # phrases outrank modals when choosing a sentence's marker
MODAL_RANK = 1


@dataclass(frozen=True)
class Marker:
    """One future marker: the tokens ``first..last`` of the sentence, and its class."""

    first: Token
    last: Token
    confidence: Confidence
    rank: int
    words: tuple[str, ...]


@lru_cache(maxsize=1)
def vocab() -> dict[str, Any]:
    data: dict[str, Any] = read_data("forecasts_markers.json")
    return data


@lru_cache(maxsize=1)
def _phrases() -> list[tuple[tuple[str, ...], Confidence]]:
    """All phrases, longest first, so the most specific one claims the tokens."""
    out = [(tuple(p.split()), cast(Confidence, conf))
           for conf, phrases in vocab()["phrases"].items() for p in phrases]
    return sorted(out, key=lambda item: -len(item[0]))


@lru_cache(maxsize=1)
def _first_words() -> frozenset[str]:
    """Every word a phrase can start with: sentences without one skip the phrase scan."""
    return frozenset(words[0] for words, _ in _phrases())


@lru_cache(maxsize=1)
def _hedges() -> list[tuple[tuple[str, ...], Confidence]]:
    return [(tuple(p.split()), cast(Confidence, c)) for p, c in vocab()["hedges"].items()]


def find_forecasts(
    doc: Doc,
    *,
    quotes: list[Quote],
    timexes: list[Timex],
    author: str | None,
    published: str | None,
) -> list[Forecast]:
    """At most one forecast per sentence, in text order."""
    forecasts = []
    text = doc_text(doc)  # Doc.text joins every token on each access: shared
    for sentence in sentence_units(doc):
        forecast = _forecast_in(text, sentence, quotes, timexes, author, published)
        if forecast is not None:
            forecasts.append(forecast)
    return forecasts


def _forecast_in(text: str, sentence: Span, quotes: list[Quote], timexes: list[Timex],
                 author: str | None, published: str | None) -> Forecast | None:
    markers = _markers(sentence)
    if not markers:
        return None  # most sentences: no marker, so no horizon to look for
    horizon = _horizon(text, sentence, timexes, published)
    markers = [m for m in markers if not _is_question(m, sentence) and _counts(m, sentence, horizon)]
    if not markers:
        return None
    marker = min(markers, key=lambda m: (m.rank, _depth(m.first), m.first.i))
    confidence = _confidence(marker, sentence)
    if confidence == "certain" and _is_scheduled_fact(marker, sentence, timexes):
        return None
    quote = _quote_at(quotes, marker.first.idx)
    start, end = _span(text, sentence, quote)
    return Forecast(holder=_holder(marker, sentence, quote, quotes, author),
                    text=text[start:end], start=start, end=end,
                    made_on=published, horizon=horizon, confidence=confidence)


# --- markers ---------------------------------------------------------------------------------


def _matches(token: Token, word: str) -> bool:
    return word in (token.lower_, token.lemma_.lower())


def _find_phrase(tokens: list[Token], index: int, words: tuple[str, ...]) -> bool:
    return _phrase_end(tokens, index, words) is not None


def _phrase_end(tokens: list[Token], index: int, words: tuple[str, ...]) -> int | None:
    """The index after a match of ``words`` at ``index``, or None. After "be", up to two
    adverbs or a negation may intervene ("is not certain to", "is also expected to")."""
    position = index
    for k, word in enumerate(words):
        if k == 1 and words[0] == "be":
            skipped = 0
            while position < len(tokens) and skipped < 2 and not _matches(tokens[position], word) \
                    and (tokens[position].dep_ == "neg" or tokens[position].pos_ == "ADV"):
                position, skipped = position + 1, skipped + 1
        if position >= len(tokens) or not _matches(tokens[position], word):
            return None
        position += 1
    return position


def _markers(sentence: Span) -> list[Marker]:
    tokens = list(sentence)
    found: list[Marker] = []
    claimed: set[int] = set()
    first_words = _first_words()
    forms = [(t.lower_, t.lemma_.lower()) for t in tokens]
    starts = [i for i, (lower, lemma) in enumerate(forms)
              if lower in first_words or lemma in first_words]
    present = {form for i in starts for form in forms[i]}
    for words, confidence in _phrases() if starts else []:
        if words[0] not in present:
            continue  # no token can start this phrase
        for index in starts:
            if words[0] not in forms[index]:
                continue
            end = _phrase_end(tokens, index, words)
            if end is None or claimed & set(range(index, end)):
                continue
            claimed.update(range(index, end))
            found.append(Marker(tokens[index], tokens[end - 1], confidence, PHRASE_RANK, words))
    modals = vocab()["modals"]
    for index, token in enumerate(tokens):
        if token.tag_ == "MD" and token.lower_ in modals and index not in claimed:
            found.append(Marker(token, token, cast(Confidence, modals[token.lower_]),
                                MODAL_RANK, (token.lower_,)))
    return found


def _depth(token: Token) -> int:
    """Distance to the sentence root: the main clause's marker speaks for the sentence."""
    depth = 0
    while token.head.i != token.i and depth < 50:
        token, depth = token.head, depth + 1
    return depth


def _clause_verb(token: Token) -> Token:
    """The verb (or auxiliary-headed predicate) a marker token belongs to."""
    if token.tag_ == "MD" or token.dep_ in ("aux", "auxpass", "neg"):
        return token.head
    current = token
    for _ in range(6):
        if current.pos_ in ("VERB", "AUX") or current.head.i == current.i:
            return current
        current = current.head
    return current


# --- filters -----------------------------------------------------------------------------------


def _is_question(marker: Marker, sentence: Span) -> bool:
    """The marker's clause ends in a question mark ("What could happen after ...?")."""
    rest = sentence.doc[marker.last.i:sentence.end]  # the sentence may hold several clauses
    ends = [t.text for t in rest if t.text in (".", "!", "?", ";")]
    return bool(ends) and ends[0] == "?"


def _counts(marker: Marker, sentence: Span, horizon: str | None) -> bool:
    verb = _clause_verb(marker.first)
    if _in_conditional(verb) or _is_past(marker, verb):
        return False
    if _in_idiom(marker, sentence):
        return False
    if marker.rank == PHRASE_RANK:
        return _phrase_ok(marker)
    return _modal_ok(marker, verb, sentence, horizon)


def _has_conditional_clause(verb: Token) -> bool:
    marks = set(vocab()["conditional_marks"])
    return any(c.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in marks
                                         for m in c.children) for c in verb.children)


def _in_idiom(marker: Marker, sentence: Span) -> bool:
    """Stock phrases with a modal that predict nothing ("it can be said", "time will tell")."""
    tokens = list(sentence)
    offset = marker.first.i - sentence.start
    for idiom in vocab()["idioms"]:
        words = tuple(idiom.split())
        for k in range(len(words)):
            if _matches(marker.first, words[k]) and offset - k >= 0 and \
                    _find_phrase(tokens, offset - k, words):
                return True
    return False


def _in_conditional(verb: Token) -> bool:
    """The marker sits inside an if/unless clause (a hypothesis, not a claim)."""
    marks = set(vocab()["conditional_marks"])
    current = verb
    for _ in range(12):
        if current.dep_ == "advcl" and any(
                c.dep_ == "mark" and c.lower_ in marks for c in current.children):
            return True
        if current.head.i == current.i:
            return False
        current = current.head
    return False


def _is_past(marker: Marker, verb: Token) -> bool:
    """A past-tense carrier ("was likely to", "expected") reports an old expectation."""
    if marker.rank == MODAL_RANK:
        return False
    carriers = [t for t in marker.first.doc[marker.first.i:marker.last.i + 1]
                if t.pos_ in ("VERB", "AUX")] or [verb]
    auxes = [c for v in carriers for c in v.children if c.dep_ in ("aux", "auxpass")]
    if any(t.tag_ == "MD" for t in auxes):
        return False
    return any(t.tag_ == "VBD" for t in carriers + auxes)


def _phrase_ok(marker: Marker) -> bool:
    """Verbal markers ("expect") count only as finite present-tense verbs."""
    token = marker.first
    if marker.words[0] not in vocab()["verbal_markers"]:
        return True
    if token.tag_ in ("VBP", "VBZ"):
        return True
    auxes = [c for c in token.children if c.dep_ == "aux"]
    return token.tag_ == "VB" and any(a.tag_ in ("VBP", "VBZ", "MD") for a in auxes)


def _modal_ok(marker: Marker, verb: Token, sentence: Span, horizon: str | None) -> bool:
    words = vocab()
    modal = marker.first.lower_
    if marker.first.dep_ not in ("aux", "auxpass"):
        return False
    if _first_conjunct(verb).dep_ in ("relcl", "acl"):
        return False  # "a deal which would fly": a relative clause describes, it does not predict
    if modal not in ("will", "'ll", "wo", "shall") and _perfect(verb):
        return False  # "would have preferred", "could have played": the past, not a forecast
    if modal == "would" and verb.lemma_.lower() in words["desire_verbs"]:
        return False  # "would like": a wish
    if modal in words["hypothetical_modals"] and _has_conditional_clause(verb):
        return False  # "if X were to ..., Y would ...": an unreal conditional
    if modal in ("will", "would", "can", "ca") and _has_any(sentence, words["generic_cues"]):
        return False  # habitual or generic truth
    if horizon is not None:
        return True
    if modal in words["modals_need_horizon"]:
        return False
    if modal in ("may", "might", "could") and verb.lemma_.lower() in words["stative_verbs"]:
        return False  # "might look stubborn": a present possibility
    return not (modal == "could" and _negated(marker))  # "could not": past inability


def _first_conjunct(verb: Token) -> Token:
    """ "which would fly and would be acceptable": the second verb shares the first one's role."""
    while verb.dep_ == "conj" and verb.head.i != verb.i:
        verb = verb.head
    return verb


def _perfect(verb: Token) -> bool:
    return verb.tag_ == "VBN" and any(
        c.lemma_.lower() == "have" for c in verb.children if c.dep_ == "aux")


def _has_any(sentence: Span, phrases: list[str]) -> bool:
    tokens = list(sentence)
    return any(_find_phrase(tokens, i, tuple(p.split()))
               for p in phrases for i in range(len(tokens)))


def _negated(marker: Marker) -> bool:
    doc = marker.first.doc
    window = doc[max(marker.first.i - 2, marker.first.sent.start):marker.first.i]
    after = doc[marker.last.i + 1:min(marker.last.i + 2, marker.first.sent.end)]
    # A negation skipped inside "is not certain to" counts; one the phrase spells out
    # ("not expect") is already in the phrase's class.
    inside = [] if "not" in marker.words else list(doc[marker.first.i:marker.last.i + 1])
    if marker.rank == MODAL_RANK:
        return any(t.lemma_.lower() == "not" or t.lower_ == "never" for t in after) or any(
            c.dep_ == "neg" for c in marker.first.head.children)
    return any(t.lemma_.lower() == "not" or t.lower_ == "never" for t in [*window, *inside])


def _is_scheduled_fact(marker: Marker, sentence: Span, timexes: list[Timex]) -> bool:
    """ "X will meet on June 1", "X is set to visit on June 1": an announced date, which the
    timeline carries."""
    words = vocab()
    # A modal heads its verb; "be set to" ends in the "to" of the scheduled verb.
    verb = marker.first.head if marker.rank == MODAL_RANK else marker.last.head
    if " ".join(marker.words) not in words["scheduled_markers"] or _negated(marker):
        return False
    if _hedge(sentence) is not None or verb.lemma_.lower() not in words["scheduling_verbs"]:
        return False
    for timex in _timexes_in(sentence, timexes):
        date = timex_date(timex)
        # Any day: a date already past at publication is an announcement reported afterwards.
        if date is not None and len(date) == 10:
            return True
    return False


# --- confidence, horizon, holder -------------------------------------------------------------


def _hedge(sentence: Span) -> Confidence | None:
    tokens = list(sentence)
    # A phrase matches only from a token that is its first word: try those tokens alone.
    forms = [(t.lower_, t.lemma_.lower()) for t in tokens]
    for words, confidence in _hedges():
        if any(_find_phrase(tokens, i, words) for i, form in enumerate(forms)
               if words[0] in form):
            return confidence
    return None


def _confidence(marker: Marker, sentence: Span) -> Confidence:
    confidence = marker.confidence
    if marker.rank == MODAL_RANK:
        # A negated modal negates the prediction, not the certainty: "will not" is a certain
        # negative forecast, "would not" a likely one.
        return _hedge(sentence) or confidence
    if _negated(marker):
        # A negated hedge lowers the certainty: "not likely", "do not expect".
        confidence = cast(Confidence, vocab()["negated"][confidence])
    return confidence


def _timexes_in(sentence: Span, timexes: list[Timex]) -> list[Timex]:
    return [t for t in timexes if sentence.start_char <= t.start < sentence.end_char]


def _is_future(timex: Timex, text: str, published: str | None) -> bool:
    if timex.value == "FUTURE_REF":
        # "in the future", "next year" are horizons; "the future of the EU" is a topic.
        before = text[max(0, timex.start - 12):timex.start].split()
        return (bool(before) and before[-1].lower() in vocab()["future_ref_preps"]) or any(
            word in timex.text.lower().split() for word in vocab()["future_words"]
            if word != "future")
    if timex.type == "DURATION":
        return False  # a length of time is a horizon only inside "in/within ..." (see _horizon)
    date = timex_date(timex)
    if date is not None and published:
        relation = compare_dates(date, published)
        if relation is not None:
            return relation > 0
    lowered = timex.text.lower().split()
    return any(word in lowered for word in vocab()["future_words"])


def _horizon(text: str, sentence: Span, timexes: list[Timex],
             published: str | None) -> str | None:
    """The future time the forecast is about: a prepositional phrase around a future date or
    an event ("after the elections"), else the future timex itself."""
    future = [t for t in _timexes_in(sentence, timexes) if _is_future(t, text, published)]
    durations = [t for t in _timexes_in(sentence, timexes) if t.type == "DURATION"]
    words = vocab()
    for token in sentence:
        if token.lower_ not in words["horizon_preps"] or token.dep_ not in ("prep", "advmod"):
            continue
        subtree = list(token.subtree)
        first, last = subtree[0].idx, subtree[-1].idx + len(subtree[-1])
        # The date must be what the preposition governs: "in three years", not "in the
        # three-year-old war".
        objects = [c.idx for c in token.children if c.dep_ == "pobj"]
        has_date = any(t.start <= o < t.end for t in future for o in objects)
        has_span = token.lower_ in ("in", "within") and any(
            t.start <= o < t.end for t in durations for o in objects)
        has_event = token.lower_ in words["event_preps"] and any(
            t.lower_ in words["event_nouns"] for t in subtree[1:])
        if (has_date or has_span or has_event) and len(subtree) <= words["max_horizon_tokens"]:
            return text[first:last]
    return future[0].text if future else None


def _quote_at(quotes: list[Quote], char: int) -> Quote | None:
    inside = [q for q in quotes if q.start <= char < q.end]
    return min(inside, key=lambda q: q.end - q.start) if inside else None


def _span(text: str, sentence: Span, quote: Quote | None) -> tuple[int, int]:
    """The sentence, cut to the quote's content when the marker is inside a quote."""
    start, end = sentence.start_char, sentence.end_char
    if quote is not None:
        start, end = max(start, quote.start), min(end, quote.end)
    start, end = trimmed(text, start, end)
    while end > start and text[end - 1] == ",":
        end -= 1  # "..., he said": the comma belongs to the attribution
    return start, end


def _holder(marker: Marker, sentence: Span, quote: Quote | None, quotes: list[Quote],
            author: str | None) -> str | None:
    speaker = quote.speaker if quote is not None else _attribution_speaker(sentence, quotes)
    voice = speaker if (quote is not None or speaker) else author
    subject = _reported_subject(marker)
    if subject is not None:
        lowered = subject.lower_
        if lowered in vocab()["self_pronouns"]:
            return voice
        if subject.pos_ != "PRON":
            return _name_of(subject)
    according = _according_to(sentence)
    if quote is not None or speaker:
        return speaker
    return according or author


def _attribution_speaker(sentence: Span, quotes: list[Quote]) -> str | None:
    """The speaker of a quote whose cue or speaker sits in this sentence ("..., he said")."""
    for quote in quotes:
        if quote.speaker_start is not None and \
                sentence.start_char <= quote.speaker_start < sentence.end_char:
            return quote.speaker
    return None


def _reported_subject(marker: Marker) -> Token | None:
    """The subject of the cognition verb that carries or embeds the marker ("X expects ...")."""
    cognition = set(vocab()["cognition_verbs"])
    current = marker.first if marker.rank == PHRASE_RANK else marker.first.head
    for _ in range(4):
        if current.pos_ == "VERB" and current.lemma_.lower() in cognition:
            # Only an active subject holds the view: "X is expected to" means others expect.
            subjects = [c for c in current.children if c.dep_ == "nsubj"]
            if subjects:
                return subjects[0]
        if current.dep_ not in ("ccomp", "xcomp", "ROOT") and current is not marker.first:
            return None
        if current.head.i == current.i:
            return None
        current = current.head
    return None


def _name_of(token: Token) -> str:
    """A subject's name: the compound/flat name for people, the noun phrase otherwise."""
    parts = [t for t in token.subtree if t.dep_ in ("compound", "amod", "flat", "nmod")
             and t.i < token.i and t.head.i == token.i]
    first = min([token.i] + [t.i for t in parts])
    return token.doc[first:token.i + 1].text


def _according_to(sentence: Span) -> str | None:
    for token in sentence:
        if token.lower_ == "according" and token.i + 2 < sentence.end and \
                sentence.doc[token.i + 1].lower_ == "to":
            objects = [c for c in sentence.doc[token.i + 1].children if c.dep_ == "pobj"]
            if objects:
                return _name_of(objects[0])
    return None
