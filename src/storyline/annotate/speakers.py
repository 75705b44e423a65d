"""Who a speaker phrase names: a person, people, an organisation or country, a document, a
pronoun or a role noun still to resolve; or nobody, when the phrase is no speaker at all.

A speaker must be someone who can say something: a PERSON, an organisation, a country or
nationality (as a government), a document ("the statement said"), or a common noun that names a
person or a group (WordNet's person and social-group nouns, ``data/speaker_nouns.json``; plus the
role and document nouns of ``quotes_vocab.json``). A dateline ("JAKARTA/PANGKALAN BUN —"), a
caption's words, a thing ("the logos", "radar data", "the framework") or a stray word
("neither") is no speaker.

Genders, for "he"/"she": the words around a name ("Mr.", "spokeswoman"), else the first-name
lists, else the pronouns the document uses in the clauses that person is the subject of.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from spacy.tokens import Doc, Span, Token

from storyline.annotate.parsed import doc_text
from storyline.annotate.quote_rules import QuoteRules

SUBJECTS = {"nsubj", "nsubjpass", "csubj"}
NAME_LABELS = {"PERSON"}
GROUP_LABELS = {"ORG", "NORP", "GPE", "FAC"}
OF_PHRASE_WORDS = 3  # "the head of government", "the president of the bank's board"
QUOTE_MARKS = set("\"“”„«»‘’'")
# A dateline opens a paragraph: place names in capitals, then a dash ("JAKARTA/PANGKALAN BUN —",
# "SALTBRIDGE, Corvenia (Reuters) -"); or a place and an agency in brackets before a capital
# ("Seoul (CNN) North and South ...").
DATELINE = re.compile(
    r"^[ \t]*(?:[A-Z][A-Z .'’/,-]*[A-Z](?:,[ \t]+[A-Z][\w.]*(?:[ \t]+[A-Z][\w.]*)*)?"
    r"[ \t]*(?:\([^)\n]{1,30}\)[ \t]*)?[—–-]+[ \t]"
    r"|[A-Z][\w.'’/-]*(?:[ ,]+[A-Z][\w.'’/-]*){0,3}[ \t]+\([A-Z][\w.&/ -]{0,24}\)[ \t]*(?:[—–-]+[ \t]*)?(?=[A-Z“\"]))")
# Pronouns that tell a person's gender, as the document uses them after naming someone.
GENDER_PRONOUNS = {"he": "m", "him": "m", "his": "m", "himself": "m",
                   "she": "f", "her": "f", "hers": "f", "herself": "f"}


def is_cue(tok: Token, rules: QuoteRules) -> bool:
    """A reporting verb (or "according to") that says who said something."""
    if tok.lower_ == "according":
        return tok.i + 1 < len(tok.doc) and tok.doc[tok.i + 1].lower_ == "to"
    if tok.lemma_.lower() not in rules["cue_verbs"] or tok.pos_ not in {"VERB", "AUX"}:
        return False
    # "Putin had been told": the subject of a passive cue heard the words, it did not say them;
    # "officials haven't said" reports nothing; "Vesteria may argue" reports nothing yet.
    return not any(c.dep_ in {"auxpass", "nsubjpass", "neg"} or (c.dep_ == "aux" and c.tag_ == "MD")
                   for c in tok.children)


@dataclass
class Speaker:
    """A resolved speaker: ``name``; ``start``/``end`` where the text names it (or None)."""

    name: str | None
    start: int | None
    end: int | None
    kind: str  # "person", "people", "group", "document", "nominal", "pronoun", "none"
    gender: str = "x"
    roles: frozenset[str] = field(default_factory=frozenset)


NOBODY = Speaker(None, None, None, "none")


def strip_titles(span: Span, rules: QuoteRules) -> Span:
    titles = rules["titles"]
    start = span.start
    while start < span.end - 1 and span.doc[start].lower_ in titles:
        start += 1
    end = span.end
    while end > start + 1 and span.doc[end - 1].text in {"'s", "’s", "'", "’"}:
        end -= 1
    return span.doc[start:end]


def _first_name_gender(first: str, rules: QuoteRules) -> str:
    if first.lower() in rules["female_first_names"]:
        return "f"
    if first.lower() in rules["male_first_names"]:
        return "m"
    return "x"


class NameBook:
    """The people of one document by last name, for "Suslov" -> "Dmitry Suslov", and what the
    document tells of their gender."""

    def __init__(self, doc: Doc, rules: QuoteRules) -> None:
        self.rules = rules
        self.forms: dict[str, list[tuple[int, str]]] = {}
        for ent in doc.ents:
            words = [t.lower_ for t in ent]
            if ent.label_ in NAME_LABELS and "\n" not in ent.text and ent[-1].tag_ != "NNPS" \
                    and len(set(words)) == len(words):  # "O.J. Simpson O.J. Simpson" is a glitch
                name = strip_titles(ent, rules)
                key = name[-1].lower_
                self.forms.setdefault(key, []).append((name.start_char, name.text))
        self.pronoun_genders = _pronoun_genders(doc, rules)

    def fullest(self, name: str, pos: int) -> str:
        """The longest form with the same last word; of two ("Bill Clinton", "Hillary Clinton"),
        the one seen last before ``pos``, else the first after it."""
        forms = self.forms.get(name.split()[-1].lower(), []) if name.split() else []
        if not forms:
            return name
        _, _, _, best = max((len(form.split()), at <= pos, at if at <= pos else -at, form)
                            for at, form in forms)
        return best if len(best.split()) > len(name.split()) else name

    def gender(self, words: list[str], full_name: str) -> str:
        """"m", "f" or "x": the words next to the name, the document's pronouns, the first name."""
        lowered = {w.lower() for w in words}
        if lowered & self.rules["female_words"]:
            return "f"
        if lowered & self.rules["male_words"]:
            return "m"
        parts = full_name.split()
        by_first_name = _first_name_gender(parts[0], self.rules) if len(parts) > 1 else "x"
        if by_first_name != "x" or not parts:
            return by_first_name
        return self.pronoun_genders.get(parts[-1].lower(), "x")


def _pronoun_genders(doc: Doc, rules: QuoteRules) -> dict[str, str]:
    """Last name -> gender, from the first gendered pronoun in the clause a person is the
    subject of, with no other person named between them: "Moll said she expects ...", "Moll
    and her team" make Moll "f". Votes over the document; a clear majority decides."""
    votes: dict[str, Counter[str]] = {}
    for ent in doc.ents:
        if ent.label_ not in NAME_LABELS or ent.root.dep_ not in SUBJECTS:
            continue
        verb = ent.root.head
        for tok in verb.subtree:
            if tok.i < ent.end:
                continue
            if tok.ent_type_ in NAME_LABELS:
                break  # another person is nearer
            gender = GENDER_PRONOUNS.get(tok.lower_)
            if gender:
                votes.setdefault(strip_titles(ent, rules)[-1].lower_, Counter())[gender] += 1
                break
    out = {}
    for key, count in votes.items():
        (top, n), *rest = count.most_common()
        if not rest or n >= 2 * rest[0][1]:
            out[key] = top
    return out


def entity_of(tok: Token) -> Span | None:
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


def is_person(tok: Token) -> bool:
    """A word of a PERSON entity; not one the tagger made of a credit line ("Getty Images":
    a name is not a plural)."""
    if tok.ent_type_ not in NAME_LABELS:
        return False
    ent = entity_of(tok)
    return ent is None or ent[-1].tag_ != "NNPS"


def person_token(head: Token, rules: QuoteRules) -> Token | None:
    """The PERSON word of a speaker phrase ("the spokesman, Dmitry Peskov" -> Peskov)."""
    if is_person(head):
        return head
    for child in head.children:
        role_head = head.lemma_.lower() in rules["person_roles"]
        if is_person(child) and (child.dep_ == "appos" or (child.dep_ == "compound" and role_head)):
            return child
    return None


def _person_within(head: Token) -> Token | None:
    """A person named inside an organisation's or a country's phrase: "Vesteria's prime minister,
    Dmitar Kovalen", "the ministry, through its spokeswoman Ana Lind": the person speaks."""
    for tok in head.subtree:
        if tok != head and is_person(tok) and tok.dep_ in {"appos", "pobj", "compound"}:
            ent = entity_of(tok)
            return tok.doc[ent.end - 1] if ent is not None else tok
    return None


def _roles_of(head: Token, name: Span) -> frozenset[str]:
    """Role words around a name: "Kremlin spokesman Dmitry Peskov", "Frolov, an analyst"."""
    roles = {t.lemma_.lower() if t.pos_ == "NOUN" else t.lower_ for t in head.subtree
             if t.pos_ in {"NOUN", "PROPN", "ADJ"} and not (name.start <= t.i < name.end)}
    return frozenset(roles)


def _group_phrase(head: Token) -> Span:
    """A nominal speaker's phrase: its left modifiers, itself and a short "of" phrase ("the
    Russian foreign ministry", "the head of government")."""
    start, end = head.i, head.i + 1
    for child in head.lefts:
        if child.dep_ in {"det", "amod", "compound", "poss", "nmod", "nummod", "case"}:
            start = min(start, child.left_edge.i)
    for child in head.rights:
        if child.i == end and child.lower_ == "of" and child.right_edge.i - child.i <= OF_PHRASE_WORDS \
                and not any(t.is_punct for t in child.subtree):
            end = child.right_edge.i + 1
    doc = head.doc
    while start < head.i and "\n" in doc[start:head.i + 1].text:
        start += 1  # a heading glued to the sentence is not part of the speaker
    # Nor are a widget's words before it ("Skip x Embed x Share FBI officials"), an adverb
    # ("Sometimes Cruz and Hooper") or quote marks.
    for k in range(head.i - 1, start - 1, -1):
        if doc[k].pos_ in {"VERB", "AUX", "X", "SYM"} or doc[k].text in QUOTE_MARKS:
            start = k + 1
            break
    while start < head.i and (doc[start].pos_ in {"ADV", "PUNCT", "CCONJ"} or doc[start].text in QUOTE_MARKS):
        start += 1
    return doc[start:end]


def in_dateline(tok: Token) -> bool:
    """Whether ``tok`` is in the dateline that opens its paragraph."""
    text = doc_text(tok.doc)
    line_start = text.rfind("\n", 0, tok.idx) + 1
    match = DATELINE.match(text, line_start, min(len(text), line_start + 80))
    return match is not None and tok.idx < match.end()


def _shouted(tok: Token) -> bool:
    """A word in capitals longer than an acronym, or places joined by a slash: headings,
    captions, datelines ("KORVIK/HARBOURTON")."""
    letters = [c for c in tok.text if c.isalpha()]
    return all(c.isupper() for c in letters) and (len(letters) > 5 or "/" in tok.text)


def can_speak(head: Token, rules: QuoteRules) -> bool:
    """Whether a common noun can name a speaker: a person, a group or organisation, a role, a
    document ("the statement", "the posting") or a study ("a poll"); not a thing ("the logos"),
    not raw evidence ("radar data", "the figures")."""
    lemma = head.lemma_.lower()
    nouns = rules.speaker_nouns
    # Words that name what is said, not who says it ("his favourite quote was ...").
    said = lemma in rules["raw_evidence_nouns"] or lemma in rules["not_speakers"]
    return (lemma in nouns or head.lower_ in nouns) and not said


def _speaking_noun(head: Token, rules: QuoteRules) -> tuple[Token, Span] | None:
    """The noun of a speaker phrase that can speak, and the phrase: the head; the noun a broken
    parse hung on it ("a job posting" parsed as "job" with "posting" attached); the people a
    share or a count is of ("75 percent of voters", "a spate of women"). A tagger's adverb or
    adjective as subject ("the US daily") counts as a noun."""
    nominal = head.pos_ in {"NOUN", "PROPN"} or head.dep_ in SUBJECTS
    if nominal and head.lower_ not in rules.pronouns and can_speak(head, rules):
        return head, _group_phrase(head)
    after = head.nbor() if head.i + 1 < len(head.doc) else None
    if after is not None and after.head == head and after.dep_ in {"acl", "compound", "appos"} \
            and can_speak(after, rules):
        return after, head.doc[_group_phrase(head).start:after.i + 1]
    for prep in head.rights:
        if prep.lower_ == "of" and prep.dep_ == "prep":
            people = [c for c in prep.children if c.dep_ == "pobj" and c.pos_ in {"NOUN", "PROPN"}
                      and (c.lemma_.lower() in rules.person_nouns or c.lemma_.lower() in rules.group_nouns
                           or c.ent_type_ in {"NORP", "ORG"})]
            if people:
                return people[0], head.doc[_group_phrase(head).start:people[0].i + 1]
    return None


def describe_speaker(head: Token | None, names: NameBook, rules: QuoteRules) -> Speaker:
    """What the sentence itself says about the speaker."""
    if head is None or in_dateline(head) or any(c in QUOTE_MARKS for c in head.text):
        return NOBODY  # a dateline, or a word glued to a quote mark ('safety."We')
    pronouns = rules.pronouns
    head = _sentence_antecedent(head, rules)
    if head.pos_ == "NOUN" and head.lemma_.lower() in rules["document_nouns"]:
        owners = [c for c in head.children if c.dep_ == "poss" and c.lower_ not in pronouns]
        if owners:  # "read the ministry's statement": the ministry speaks
            head = owners[0]
    if head.lower_ in pronouns:
        return Speaker(head.text, head.idx, head.idx + len(head), "pronoun", pronouns[head.lower_])
    person = person_token(head, rules)
    if person is not None:
        return person_speaker(head, person, names, rules)
    ent = entity_of(head)
    if head.is_title and (head.pos_ == "PROPN" or head.dep_ in SUBJECTS) and _untagged_person(
            head, ent, names, rules):
        return person_speaker(head, head, names, rules)
    if head.pos_ == "PROPN" and ent is not None and head.i == ent.end - 1 and any(
            t.lower_ in rules["person_roles"] for t in head.subtree if t.i < head.i):
        return person_speaker(head, head, names, rules)  # "Secretary of State Rex Tillerson" as an ORG
    if head.pos_ == "PROPN" and head.lower_ in rules["person_roles"] and (ent is None or len(ent) == 1):
        # "the President declared": a role, capitalised, that the next step resolves to a name
        span = _group_phrase(head)
        return Speaker(span.text, span.start_char, span.end_char, "nominal", "x", frozenset({head.lower_}))
    group = ent is not None and ent.label_ in GROUP_LABELS
    if head.is_title and group and _untagged_person(head, ent, names, rules):
        return person_speaker(head, head, names, rules)  # "Chiara Tanus, a student" tagged ORG
    if group or head.pos_ == "PROPN":
        return _group_speaker(head, ent, names, rules)
    speaking = _speaking_noun(head, rules)
    if speaking is None:
        return NOBODY  # "neither", "the framework", "radar data"
    head, span = speaking
    kind = "document" if head.lemma_.lower() in rules["document_nouns"] else "nominal"
    return Speaker(span.text, span.start_char, span.end_char, kind,
                   names.gender([head.lemma_], ""), frozenset({head.lemma_.lower()}))  # roles: its noun


def _group_speaker(head: Token, ent: Span | None, names: NameBook, rules: QuoteRules) -> Speaker:
    """An organisation, a country, a nationality, or a proper noun the tagger left untyped;
    the person it names inside speaks for it."""
    inner = _person_within(head)
    if inner is not None:
        return person_speaker(inner, inner, names, rules)
    phrase = head.doc[ent.start:ent.end] if ent is not None else _group_phrase(head)
    if any(_shouted(t) for t in phrase) and (ent is None or ent.label_ != "ORG" or "/" in ent.text):
        return NOBODY  # a heading, a caption or a dateline in capitals ("JAKARTA/PANGKALAN BUN")
    span = _group_phrase(head)
    if ent is not None and ent.label_ in GROUP_LABELS:  # "the Ministry of Agriculture"
        span = head.doc[min(ent.start, span.start):max(ent.end, span.end)]
    while len(span) > 1 and (span[0].lower_ == "the" or span[0].lower_ in rules["weekdays"]):
        span = span[1:]
    if ent is None and head.pos_ == "PROPN" and not head.is_title and not head.is_upper:
        return NOBODY
    return Speaker(span.text, span.start_char, span.end_char, "group")


def _untagged_person(head: Token, ent: Span | None, names: NameBook, rules: QuoteRules) -> bool:
    """A person the tagger missed or called an ORG: a surname it tagged PERSON elsewhere, a
    name after a title ("Mr. Suslov"), or a name set beside a person noun ("Rusk, the foreign
    minister", "Ana Rusk, a farmer")."""
    known = head.lower_ in names.forms
    described = any(c.dep_ == "appos" and c.pos_ == "NOUN" and (
        c.lemma_.lower() in rules.person_nouns or c.lemma_.lower() in rules["person_roles"])
        for c in head.children)
    if ent is not None:
        return (len(ent) == 1 and known) or (described and ent.label_ not in {"GPE", "NORP"})
    titled = head.i > 0 and head.nbor(-1).lower_ in rules["titles"] and head.nbor(-1).is_title
    return known or titled or described


def _sentence_antecedent(head: Token, rules: QuoteRules) -> Token:
    """"Trump said he was looking forward ...": "he" is the subject of the verb it reports to."""
    if head.lower_ not in rules["resolvable_pronouns"]:
        return head
    clause = head.head
    if clause.dep_ in {"ccomp", "xcomp", "advcl"} and clause.head != clause and is_cue(clause.head, rules):
        subjects = [c for c in clause.head.children if c.dep_ in SUBJECTS]
        if subjects and subjects[0].pos_ == "PROPN":
            return subjects[0]
    return head


def _with_given_names(name: Span, rules: QuoteRules) -> Span:
    """A name the tagger cut short, with the capitalised words of the same name before it:
    "Rusk" in "Ana Rusk" -> "Ana Rusk" (not a title or a person noun such as "Captain", not
    across a line)."""
    start = name.start
    doc = name.doc
    while start > 0:
        before = doc[start - 1]
        if (before.pos_ != "PROPN" or not before.is_title or before.dep_ != "compound"
                or before.lower_ in rules["titles"] or before.lower_ in rules.person_nouns
                or before.ent_type_ not in {"", "PERSON"}
                or "\n" in before.whitespace_):
            break
        start -= 1
    return doc[start:name.end]


def person_speaker(head: Token, person: Token, names: NameBook, rules: QuoteRules, *,
                   alone: bool = False) -> Speaker:
    ent = entity_of(person)
    # The tagger's bounds of a name of two words or more are kept ("Frail Robert Durst" is not
    # a name); a lone surname it tagged, or a name it missed, may take the given names before.
    if ent is not None and len(strip_titles(ent, rules)) > 1:
        name = strip_titles(ent, rules)
    else:
        name = _with_given_names(strip_titles(ent, rules) if ent is not None
                                 else person.doc[person.i:person.i + 1], rules)
    people = [name]
    for conj in () if alone else person.conjuncts:  # "Shaheen, Rubio and Isakson wrote"
        other = entity_of(conj)
        if other is not None and other.label_ in NAME_LABELS:
            people.append(strip_titles(other, rules))
    full = [names.fullest(p.text, p.start_char) for p in people]
    text = full[0] if len(full) == 1 else ", ".join(full[:-1]) + " and " + full[-1]
    words = [t.text for t in (ent if ent is not None else name)]
    words += [t.text for t in head.subtree if t.pos_ == "NOUN"]
    start, end = people[0].start_char, max(p.end_char for p in people)
    kind = "person" if len(people) == 1 else "people"
    return Speaker(text, start, end, kind, names.gender(words, full[0]), _roles_of(head, name))
