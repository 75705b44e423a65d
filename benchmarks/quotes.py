"""Who-said-what benchmark (PolNeAR dev half): our quote finder beside a regex baseline, same run.

Ours is ``storyline.annotate.quotes.find_attributions`` on one spaCy parse per article. The baseline is
``regex_baseline`` below: quoted spans (straight or curly double quotes) and the nearest
"said"/"says" in the same sentence, its neighbouring capitalised words (or "he"/"she") the speaker.

What is counted (quotes/README.md, after the Citron evaluation script):

* Every annotation file is scored on its own against the predictions for its article.
* Roles: content, source (our speaker offsets), cue. Discontinuous gold spans count piece by piece.
* **Exact**: a predicted span equals a gold span of the same role, after both lose surrounding
  quote marks, punctuation and spaces (gold content keeps the marks, ours does not).
  P = correct/#predicted, R = correct/#gold.
* **Overlap**: word tokens (``\\w+``) covered by predicted vs gold spans of the role, summed over
  files: P = shared/predicted tokens, R = shared/gold tokens.
* **direct**: gold attributions whose content contains a quotation mark (direct or mixed quotes),
  against our quotes that are ``direct`` or whose content contains one (an indirect clause that
  holds a partial quote). **indirect**: the rest of both. **all**: everything.
* **Speaker accuracy** (direct): among our direct quotes whose content shares words with a gold
  direct content (the gold one sharing most), those whose gold has a source, the share whose
  speaker is right: (a) our speaker offsets overlap the gold source span, or (b) the last word of
  our speaker's name is a word of the gold source text, or (c) the gold source is a pronoun or a
  common-noun phrase ("he", "the expert"; PolNeAR has no coreference) and the last word of our
  name is a word of the nearest earlier named gold source of the same file (any attribution).
  Also shown: ``spk_strict`` (a) only, ``spk_name`` (a) or (b), and ``spk_lenient`` where (c)
  accepts any earlier named gold source of the file (c').

Out of sample (``cross_validate``): 5 folds by document (articles in name order, dealt round
robin). Every tuned part of ours is refitted on the four training folds and scored on the fifth:

* the word lists of ``quotes_vocab.json`` (cue verbs, titles, role nouns, first names, ...) keep
  only the entries the training documents attest (as a token, a lemma or, for entries of several
  words, a phrase of their text): an entry that occurs in the held-out documents alone could not
  have been learnt from the training ones, so it is dropped for that fold (a pessimistic
  estimate: general words that only the held-out fold happens to use are dropped too);
* the constants (``quotes_vocab.json``, ``"constants"``) are chosen on the training folds by
  coordinate search over ``GRID`` (from the packaged values; the mean of direct speaker accuracy
  and direct content overlap F1), then applied to the held-out fold.

Not refitted, because nothing in them was fitted to these data: the pronouns (closed-class
grammar) and the WordNet speaker nouns (``data/speaker_nouns.json``, a fixed rule over WordNet).
The baseline has no fitted part: its figures per fold are shown for the spread. Reported: the
in-sample figures, the pooled held-out figures (every document scored once, by the rules fitted
without it), and the figure of each fold (min, max, standard deviation).

``--by publisher`` leaves one outlet out at a time instead (7 folds): a harder test of the
rules' generality, since each outlet has its own style.

Usage: python benchmarks/quotes.py [DATA] [--limit N] [--json FILE] [--gate] [--cache FILE] [--misses]
                                   [--folds K] [--by document|publisher] [--no-search]
"""

from __future__ import annotations

import json
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import below_floors, data_argument_parser, finish, load_floors, print_table  # noqa: E402

DATA_FILE = Path("quotes") / "polnear_dev.jsonl"
QUOTE_CHARS = "\"“”«»„"
STRIP = QUOTE_CHARS + "‘’'" + " \t\n.,;:!?—–-()"
PRONOUNS = {"he", "she", "they", "we", "i", "it", "you", "who", "which", "that", "his", "her"}
WORD = re.compile(r"\w+")
OURS = "storyline find_quotes"
OURS_CV = "storyline find_quotes, cross-validated"
BASELINE = "regex quotes + nearest said"
FOLDS = 5
# The values each constant may take in the coordinate search (the packaged value is tried too).
GRID: dict[str, list[Any]] = {
    "scare_quote_words": [2, 3, 4, 5, 6],
    "frame_min_quotes": [2, 3, 4, 5],
    "frame_share": [0.4, 0.5, 0.6, 0.7, 0.8],
    "max_before_tokens": [25, 40, 60],
    "max_after_tokens": [30, 45, 60],
}

Spans = list[tuple[int, int]]


@dataclass
class Item:
    """One attribution, gold or predicted, as spans per role; ``name`` a predicted speaker name."""

    content: Spans
    source: Spans
    cue: Spans
    direct: bool
    name: str | None = None
    source_text: str = ""


@dataclass
class Article:
    text: str
    files: list[list[Item]]  # the gold of each annotation file
    name: str = ""
    publisher: str = ""


# --- data ------------------------------------------------------------------------------------

def _spans(role: dict[str, Any] | None) -> Spans:
    return [(int(s[0]), int(s[1])) for s in role["spans"]] if role else []


def has_quote_mark(text: str) -> bool:
    return any(ch in text for ch in QUOTE_CHARS)


def load_articles(data: Path, limit: int | None) -> list[Article]:
    by_text: dict[str, Article] = {}
    for line in (data / DATA_FILE).read_text("utf-8").splitlines():
        row = json.loads(line)
        gold = [
            Item(_spans(a["content"]), _spans(a["source"]), _spans(a["cue"]),
                 bool(a["content"]) and has_quote_mark(a["content"]["text"]),
                 source_text=a["source"]["text"] if a["source"] else "")
            for a in row["attributions"] if a["content"]
        ]
        article = Article(row["text"], [], row["article"], row["publisher"])
        by_text.setdefault(row["text"], article).files.append(gold)
    return list(by_text.values())[:limit]


def parse_articles(texts: list[str], cache: Path | None) -> list[Any]:
    """One parse per article; ``--cache`` keeps the parses in a DocBin between runs."""
    from spacy.tokens import DocBin

    from storyline.annotate.nlp import load_nlp, parse_batch

    if cache is not None and cache.exists():
        docs = {d.text: d for d in DocBin().from_disk(cache).get_docs(load_nlp().vocab)}
        if all(t in docs for t in texts):
            return [docs[t] for t in texts]
    parsed = parse_batch(texts)
    if cache is not None:
        DocBin(docs=parsed).to_disk(cache)
    return parsed


# --- systems ---------------------------------------------------------------------------------

def ours(doc: Any, rules: Any = None) -> list[Item]:
    """Our quotes of one parse, under ``rules`` (a ``QuoteRules``; None: the packaged rules)."""
    from storyline.annotate.quotes import find_attributions

    items = []
    for a in find_attributions(doc, rules=rules):
        q = a.quote
        source = ([(q.speaker_start, q.speaker_end)]
                  if q.speaker_start is not None and q.speaker_end is not None else [])
        cue = [(a.cue_start, a.cue_end)] if a.cue_start is not None and a.cue_end is not None else []
        items.append(Item([(q.start, q.end)], source, cue, q.direct or has_quote_mark(q.content),
                          name=q.speaker))
    return items


_QUOTED = re.compile(r"“([^”\n]+)”|\"([^\"\n]+)\"")
_NAME = r"(?:[A-Z][\w.'’-]*(?:\s+[A-Z][\w.'’-]*)*|he|she|He|She)"
_AFTER = re.compile(rf"^[^.!?\n“”\"]{{0,40}}?\b(?:(said|says)\s+({_NAME})|({_NAME})\s+(said|says))")
_BEFORE = re.compile(rf"({_NAME})\s+(said|says)\b[^.!?\n“”\"]*$")


def regex_baseline(doc: Any) -> list[Item]:
    """Quoted spans and the nearest "said" of their sentence, with its capitalised neighbour."""
    text: str = doc.text
    items = []
    for m in _QUOTED.finditer(text):
        group = 1 if m.group(1) is not None else 2
        start, end = m.span(group)
        item = Item([(start, end)], [], [], True)
        after = _AFTER.search(text[m.end():m.end() + 120])
        if after:
            if after.group(1):
                cue, name = after.span(1), after.span(2)
            else:
                cue, name = after.span(4), after.span(3)
            item.cue = [(m.end() + cue[0], m.end() + cue[1])]
            item.source = [(m.end() + name[0], m.end() + name[1])]
        else:
            sentence_start = max(text.rfind(c, 0, m.start()) for c in ".!?\n") + 1
            before = _BEFORE.search(text[sentence_start:m.start()])
            if before:
                item.cue = [(sentence_start + before.start(2), sentence_start + before.end(2))]
                item.source = [(sentence_start + before.start(1), sentence_start + before.end(1))]
        if item.source:
            item.name = text[item.source[0][0]:item.source[0][1]]
        items.append(item)
    return items


# --- metrics ---------------------------------------------------------------------------------

def _norm(text: str, span: tuple[int, int]) -> tuple[int, int]:
    start, end = span
    while start < end and text[start] in STRIP:
        start += 1
    while end > start and text[end - 1] in STRIP:
        end -= 1
    return start, end


def _tokens(words: list[tuple[int, int]], spans: Iterable[tuple[int, int]]) -> set[int]:
    out: set[int] = set()
    for s, e in spans:
        out.update(i for i, (ws, we) in enumerate(words) if ws < e and we > s)
    return out


def _prf(tp: float, n_pred: float, n_gold: float) -> dict[str, float]:
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_gold if n_gold else 0.0
    return {"p": p, "r": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


ROLES = ("content", "source", "cue")


def span_counts(text: str, words: list[tuple[int, int]], gold: list[Item], pred: list[Item]
                ) -> Counter[str]:
    counts: Counter[str] = Counter()
    for role in ROLES:
        g_spans = [sp for it in gold for sp in getattr(it, role)]
        p_spans = [sp for it in pred for sp in getattr(it, role)]
        g_exact = Counter(_norm(text, sp) for sp in g_spans)
        p_exact = Counter(_norm(text, sp) for sp in p_spans)
        counts[f"{role}_exact_tp"] += sum((g_exact & p_exact).values())
        counts[f"{role}_exact_pred"] += sum(p_exact.values())
        counts[f"{role}_exact_gold"] += sum(g_exact.values())
        g_tok, p_tok = _tokens(words, g_spans), _tokens(words, p_spans)
        counts[f"{role}_tok_tp"] += len(g_tok & p_tok)
        counts[f"{role}_tok_pred"] += len(p_tok)
        counts[f"{role}_tok_gold"] += len(g_tok)
    return counts


def _last_word(name: str | None) -> str | None:
    words = WORD.findall((name or "").lower())
    return words[-1] if words else None


def _is_unnamed(source_text: str) -> bool:
    words = source_text.split()
    return source_text.lower() in PRONOUNS or not any(w[:1].isupper() for w in words[1:] + words[:1]
                                                       if w.lower() not in {"the", "a", "an"})


def speaker_counts(text: str, words: list[tuple[int, int]], gold: list[Item], pred: list[Item]
                   ) -> Counter[str]:
    """``gold`` is every attribution of the file: direct ones are judged, all give antecedents."""
    counts: Counter[str] = Counter()
    everything, gold = gold, [g for g in gold if g.direct]
    gold_tokens = [_tokens(words, g.content) for g in gold]
    for item in pred:
        if not item.direct:
            continue
        mine = _tokens(words, item.content)
        best = max(range(len(gold)), key=lambda i: len(mine & gold_tokens[i]), default=None)
        if best is None or not mine & gold_tokens[best]:
            continue
        g = gold[best]
        if not g.source:
            counts["no_gold_source"] += 1
            continue
        counts["judged"] += 1
        overlap = any(ps < ge and pe > gs for ps, pe in item.source for gs, ge in g.source)
        last = _last_word(item.name)
        by_name = last is not None and last in WORD.findall(g.source_text.lower())
        named_before = sorted((o.source[0][0], o.source_text) for o in everything if o.source
                              and o.source[0][0] < g.source[0][0] and not _is_unnamed(o.source_text))
        nearest = {w for _, t in named_before[-1:] for w in WORD.findall(t.lower())}
        earlier = {w for _, t in named_before for w in WORD.findall(t.lower())}
        unnamed = last is not None and _is_unnamed(g.source_text)
        counts["right_strict"] += overlap
        counts["right_name"] += overlap or by_name
        counts["right"] += overlap or by_name or (unnamed and last in nearest)
        counts["right_lenient"] += overlap or by_name or (unnamed and last in earlier)
    return counts


def evaluate(articles: list[Article], predictions: list[list[Item]]) -> dict[str, Any]:
    per_cat: dict[str, Counter[str]] = {c: Counter() for c in ("direct", "indirect", "all")}
    speakers: Counter[str] = Counter()
    for article, pred in zip(articles, predictions):
        words = [m.span() for m in WORD.finditer(article.text)]
        for gold in article.files:
            for cat, keep in (("direct", True), ("indirect", False), ("all", None)):
                g = [it for it in gold if keep is None or it.direct == keep]
                p = [it for it in pred if keep is None or it.direct == keep]
                per_cat[cat] += span_counts(article.text, words, g, p)
            speakers += speaker_counts(article.text, words, gold, pred)
    out: dict[str, Any] = {}
    for cat, c in per_cat.items():
        for role in ROLES:
            for kind in ("exact", "tok"):
                f = _prf(c[f"{role}_{kind}_tp"], c[f"{role}_{kind}_pred"], c[f"{role}_{kind}_gold"])
                label = "overlap" if kind == "tok" else "exact"
                for key, value in f.items():
                    out[f"{cat}_{role}_{label}_{key}"] = value
    judged = speakers["judged"]
    out["direct_speaker_accuracy"] = speakers["right"] / judged if judged else 0.0
    for kind in ("strict", "name", "lenient"):
        out[f"direct_speaker_acc_{kind}"] = speakers[f"right_{kind}"] / judged if judged else 0.0
    out["direct_speaker_judged"] = judged
    out["direct_no_gold_source"] = speakers["no_gold_source"]
    return out


# --- cross-validation ------------------------------------------------------------------------

def fold_numbers(articles: list[Article], k: int, by: str = "document") -> list[int]:
    """Each article's fold: by document, articles in name order dealt round robin into ``k``
    folds; by publisher, one fold per outlet (``k`` is then the number of outlets)."""
    if by == "publisher":
        outlets = sorted({a.publisher for a in articles})
        return [outlets.index(a.publisher) for a in articles]
    order = sorted(range(len(articles)), key=lambda i: articles[i].name)
    folds = [0] * len(articles)
    for rank, i in enumerate(order):
        folds[i] = rank % k
    return folds


def attested_words(docs: list[Any]) -> tuple[set[str], str]:
    """The tokens and lemmas (lower case) of ``docs``, and their texts joined (for phrases)."""
    words = {w for doc in docs for tok in doc for w in (tok.lower_, tok.lemma_.lower())}
    return words, "\n".join(doc.text.lower() for doc in docs)


def _attested(entry: str, words: set[str], text: str) -> bool:
    return entry in words if WORD.fullmatch(entry) else entry in text


def fold_rules(base: Any, train_docs: list[Any], all_words: tuple[set[str], str]) -> Any:
    """``base`` with its word lists cut to what the training documents attest (entries the
    whole dev set never uses stay: they cannot have been fitted to it)."""
    words, text = attested_words(train_docs)
    every, every_text = all_words
    return base.keeping(lambda _list, entry: _attested(entry, words, text)
                        or not _attested(entry, every, every_text))


def _objective(figures: dict[str, Any]) -> float:
    return float(figures["direct_speaker_accuracy"] + figures["direct_content_overlap_f1"]) / 2


def search_constants(rules: Any, articles: list[Article], docs: list[Any]) -> tuple[Any, float]:
    """Coordinate search over ``GRID`` on ``articles``: each constant in turn takes the value
    that scores best with the others held, ties kept at the current value; one pass."""
    def score(candidate: Any) -> float:
        return _objective(evaluate(articles, [ours(doc, candidate) for doc in docs]))

    best = score(rules)
    for name, values in GRID.items():
        for value in values:
            if value == getattr(rules.constants, name):
                continue
            candidate = rules.with_constants(**{name: value})
            value_score = score(candidate)
            if value_score > best:
                rules, best = candidate, value_score
    return rules, best


def cross_validate(articles: list[Article], docs: list[Any], k: int = FOLDS, *, search: bool = True,
                   by: str = "document") -> dict[str, Any]:
    """Held-out figures of ours (every tuned part refitted per fold), pooled and per fold,
    and the baseline's per fold; the constants each fold chose."""
    from storyline.annotate.quote_rules import default_rules

    folds = fold_numbers(articles, k, by)
    k = max(folds) + 1
    all_words = attested_words(docs)
    held: list[list[Item]] = [[] for _ in articles]
    per_fold: list[dict[str, Any]] = []
    for fold in range(k):
        train = [i for i in range(len(articles)) if folds[i] != fold]
        test = [i for i in range(len(articles)) if folds[i] == fold]
        rules = fold_rules(default_rules(), [docs[i] for i in train], all_words)
        if search:
            rules, _ = search_constants(rules, [articles[i] for i in train], [docs[i] for i in train])
        for i in test:
            held[i] = ours(docs[i], rules)
        mine = evaluate([articles[i] for i in test], [held[i] for i in test])
        base = evaluate([articles[i] for i in test], [regex_baseline(docs[i]) for i in test])
        per_fold.append({"fold": fold, "documents": len(test), OURS_CV: mine, BASELINE: base,
                         "held_out": sorted({articles[i].publisher for i in test}) if by == "publisher" else [],
                         "constants": vars(rules.constants)})
    return {"pooled": evaluate(articles, held), "folds": per_fold}


def spread(per_fold: list[dict[str, Any]], system: str, metric: str) -> dict[str, float]:
    values = [f[system][metric] for f in per_fold]
    return {"min": min(values), "max": max(values),
            "sd": statistics.stdev(values) if len(values) > 1 else 0.0}


def print_cross_validation(results: dict[str, dict[str, Any]], cv: dict[str, Any], by: str) -> None:
    per_fold = cv["folds"]
    metrics = {"spk_acc": "direct_speaker_accuracy", "cont_ov_f1": "direct_content_overlap_f1",
               "ind_ov_f1": "indirect_content_overlap_f1", "all_ov_f1": "all_content_overlap_f1"}
    rows = [(OURS + ", in-sample", {m: results[OURS][k] for m, k in metrics.items()}),
            (OURS_CV, {m: cv["pooled"][k] for m, k in metrics.items()}),
            (BASELINE, {m: results[BASELINE][k] for m, k in metrics.items()})]
    print_table(f"Cross-validated, {len(per_fold)} folds by {by} (held-out figures pooled; "
                "word lists and constants refitted on the training folds)", rows, list(metrics))
    rows = []
    for system in (OURS_CV, BASELINE):
        for metric in ("spk_acc", "cont_ov_f1"):
            figures = spread(per_fold, system, metrics[metric])
            rows.append((f"{system[:22]} {metric}", figures))
    print_table("Spread over the folds", rows, ["min", "max", "sd"])
    table = [(f"fold {f['fold']} ({f['documents']} docs{' ' + f['held_out'][0] if f['held_out'] else ''})",
              {"ours_spk": f[OURS_CV]["direct_speaker_accuracy"],
               "base_spk": f[BASELINE]["direct_speaker_accuracy"],
               "ours_cont": f[OURS_CV]["direct_content_overlap_f1"],
               "judged": f[OURS_CV]["direct_speaker_judged"]}) for f in per_fold]
    print_table("Each held-out fold: direct speaker accuracy and content overlap F1", table,
                ["ours_spk", "base_spk", "ours_cont", "judged"])
    for f in per_fold:
        print(f"fold {f['fold']} constants: {f['constants']}")


# --- report ----------------------------------------------------------------------------------

def run_system(func: Callable[[Any], list[Item]], docs: list[Any]) -> tuple[list[list[Item]], float]:
    start = time.perf_counter()
    out = [func(doc) for doc in docs]
    return out, time.perf_counter() - start


SHORT = {"content": "cont", "source": "src", "cue": "cue", "exact": "ex", "overlap": "ov"}


def print_report(results: dict[str, dict[str, Any]]) -> None:
    rows = list(results.items())
    for cat in ("direct", "indirect", "all"):
        keys = {f"{SHORT[role]}_{SHORT[m]}": f"{cat}_{role}_{m}_f1"
                for role in ROLES for m in ("exact", "overlap")}
        table = [(name, {short: r[long] for short, long in keys.items()}) for name, r in rows]
        print_table(f"PolNeAR dev, {cat} attributions: F1 per role (ex = exact, ov = overlap)",
                    table, list(keys))
    keys = {"cont_ov_p": "direct_content_overlap_p", "cont_ov_r": "direct_content_overlap_r",
            "cont_ov_f1": "direct_content_overlap_f1", "spk_acc": "direct_speaker_accuracy",
            "spk_strict": "direct_speaker_acc_strict", "spk_name": "direct_speaker_acc_name",
            "spk_lenient": "direct_speaker_acc_lenient", "judged": "direct_speaker_judged"}
    print_table("Direct quotes: content overlap P/R/F1 and speaker accuracy (a+b+c; a; a+b; a+b+c')",
                [(n, {short: r[long] for short, long in keys.items()}) for n, r in rows], list(keys))
    print_table("Speed", [(n, {"seconds": r["seconds"]}) for n, r in rows], ["seconds"])


def check_floors(results: dict[str, dict[str, Any]]) -> list[str]:
    return below_floors(results, load_floors("quotes"))


def print_misses(articles: list[Article], docs: list[Any], predictions: list[list[Item]]) -> None:
    """Our direct quotes whose speaker is judged wrong, for study."""
    for article, doc, pred in zip(articles, docs, predictions):
        words = [m.span() for m in WORD.finditer(article.text)]
        gold = article.files[0]
        for item in pred:
            if item.direct and speaker_counts(article.text, words, gold, [item])["judged"] == 1 \
                    and not speaker_counts(article.text, words, gold, [item])["right"]:
                s, e = item.content[0]
                print(f"MISS ours={item.name!r} | {article.text[s:e][:70]!r}")


def main() -> int:
    parser = data_argument_parser(__doc__.splitlines()[0])
    parser.add_argument("--gate", action="store_true", help="fail when a figure is below its floor")
    parser.add_argument("--cache", type=Path, default=None, help="DocBin file caching the parses")
    parser.add_argument("--misses", action="store_true", help="list our wrong direct speakers")
    parser.add_argument("--folds", type=int, default=FOLDS, help="cross-validation folds (0: none)")
    parser.add_argument("--by", choices=["document", "publisher"], default="document",
                        help="fold by document (--folds of them) or leave one publisher out")
    parser.add_argument("--no-search", action="store_true",
                        help="cross-validate the word lists only (keep the packaged constants)")
    args = parser.parse_args()
    articles = load_articles(args.data, args.limit)
    start = time.perf_counter()
    docs = parse_articles([a.text for a in articles], args.cache)
    parse_seconds = time.perf_counter() - start
    results: dict[str, dict[str, Any]] = {}
    outputs = {}
    for name, func in ((OURS, ours), (BASELINE, regex_baseline)):
        outputs[name], seconds = run_system(func, docs)
        results[name] = {**evaluate(articles, outputs[name]), "seconds": seconds}
    n_files = sum(len(a.files) for a in articles)
    print(f"{len(articles)} articles, {n_files} annotation files; spaCy parse {parse_seconds:.1f} s"
          " (shared by both systems; 'seconds' below is quote finding alone)")
    print_report(results)
    if args.folds > 1:
        cv = cross_validate(articles, docs, args.folds, search=not args.no_search, by=args.by)
        results[OURS_CV] = cv["pooled"]
        results["folds"] = {str(f["fold"]): f for f in cv["folds"]}
        print_cross_validation(results, cv, args.by)
    if args.misses:
        print_misses(articles, docs, outputs[OURS])
    return finish(results, args.json_out, check_floors(results) if args.gate else None)


if __name__ == "__main__":
    sys.exit(main())
