"""Extract stage, HTML mode: a page's HTML -> body paragraphs + metadata found in the markup.

trafilatura finds the main content and most markup metadata; we add what it gets wrong on
news pages:

* comments are never body (trafilatura's ``extract`` keeps them by default);
* the headline and stand-first it keeps at the top, and a teaser paragraph that repeats the
  lead, are removed (they are metadata, not body);
* boilerplate paragraphs inside the body (newsletter sign-ups, "Read more", credits, blocks of
  related links, all-caps promo lines) are filtered by rules in ``data/html_boilerplate.json``;
  captions, photo credits, gallery labels, teasers and reader polls by the rules that text mode
  shares (``storyline.read.furniture``);
* author strings are cleaned ("By" prefixes, "Staff", social handles, lists split to names);
* titles lose a "| Site name" suffix;
* the publication date comes from ``storyline.read.htmldates`` (URL date, structured markup,
  htmldate's pick with our corrections, the date shown under the headline, labelled dates and
  the page's date distribution, each weighed by a fitted weight).

Removed paragraphs go to ``Extraction.evidence`` for the metadata stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import islice
from typing import Any

from lxml.etree import iterwalk
from lxml.html import HTMLParser, HtmlElement, fromstring

from storyline.errors import InputProblem
from storyline.model import Extraction
from storyline.outlets import url_host
from storyline.read.furniture import furniture_indexes
from storyline.read.htmldates import find_published_date
from storyline.resources import read_data

_TOKEN = re.compile(r"\w+")
_LIST_ITEM = re.compile(r"^[-•*·]\s")
_SPACE = re.compile(r"\s+")
# A social handle standing alone ("@harbourdesk"), not the "@" inside an e-mail address.
_HANDLE = re.compile(r"(?<!\S)@\w+")
_LETTER = re.compile(r"[^\W\d_]")
# Extraction settings: comments are not article body; tables often are (data, scores).
_EXTRACT_OPTIONS: dict[str, Any] = {
    "include_comments": False,
    "include_tables": True,
    "include_formatting": False,
    "include_images": False,
    "include_links": False,
    "with_metadata": False,
}
_INVISIBLE_TAGS = {"script", "style", "noscript", "template", "svg", "head"}


@dataclass(frozen=True)
class BoilerplateRules:
    """The tuned data of ``html_boilerplate.json``, compiled once."""

    anywhere: tuple[re.Pattern[str], ...]
    tail: tuple[re.Pattern[str], ...]
    list_headers: tuple[re.Pattern[str], ...]
    author_junk: tuple[re.Pattern[str], ...]
    author_prefixes: tuple[str, ...]
    author_separators: tuple[str, ...]
    tail_share: float
    short_line_chars: int
    caps_line_min_words: int
    caps_line_max_chars: int
    author_max_words: int
    fallback_min_prose_share: float
    fallback_max_elements: int
    prose_line_chars: int


def _compile(patterns: list[str]) -> tuple[re.Pattern[str], ...]:
    """One alternation per group: a single regex pass per paragraph instead of one per rule."""
    return (re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE),)


@lru_cache(maxsize=1)
def boilerplate_rules() -> BoilerplateRules:
    raw = read_data("html_boilerplate.json")
    # Longest prefixes first so "written by" wins over "by".
    prefixes = sorted((p.lower() for p in raw["author_prefixes"]), key=len, reverse=True)
    return BoilerplateRules(
        anywhere=_compile(raw["anywhere"]),
        tail=_compile(raw["tail"]),
        list_headers=_compile(raw["list_headers"]),
        author_junk=_compile(raw["author_junk"]),
        author_prefixes=tuple(prefixes),
        author_separators=tuple(raw["author_separators"]),
        tail_share=float(raw["tail_share"]),
        short_line_chars=int(raw["short_line_chars"]),
        caps_line_min_words=int(raw["caps_line_min_words"]),
        caps_line_max_chars=int(raw["caps_line_max_chars"]),
        author_max_words=int(raw["author_max_words"]),
        fallback_min_prose_share=float(raw["fallback_min_prose_share"]),
        fallback_max_elements=int(raw["fallback_max_elements"]),
        prose_line_chars=int(raw["prose_line_chars"]),
    )


# --- parsing -----------------------------------------------------------------------------

# libxml2 stops at 255 levels of nesting and silently drops everything deeper (the article
# with it); its "huge" mode goes deeper, and a page nested past MAX_DEPTH is refused.
_DEEP_PARSER = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8",
                          remove_comments=True, remove_pis=True, huge_tree=True)
_DEPTH_LIMIT_ERROR = "ERR_RESOURCE_LIMIT"
# The deepest nesting read. The huge-tree parser goes to 2048, but trafilatura's time grows
# with the cube of the depth for nested tables and articles (1,500 tables: 40 s; 500: 2 s);
# the deepest page of the evaluation data has 51 levels.
MAX_DEPTH = 512
# The most tags ("<", counted before parsing) one page may have. The largest page of the
# evaluation data has under 20,000; the tree and the extraction take some 2 KB and 70
# microseconds an element, so the 20 MB an input may be, in "<p>a", would take 9 GB and six
# minutes.
MAX_TAGS = 200_000


def parse_html(html: str | bytes) -> HtmlElement | None:
    """A tolerant lxml tree, or None for input that is not an HTML document at all.

    Raises ``InputProblem`` for markup nested too deeply even for the huge-tree parser, and for
    more than ``MAX_TAGS`` tags."""
    from trafilatura.utils import HTML_PARSER, load_html

    if not html or (isinstance(html, (str, bytes)) and not html.strip()):
        return None
    tags = html.count(b"<") if isinstance(html, bytes) else html.count("<")  # before parsing
    if tags > MAX_TAGS:
        raise InputProblem(f"HTML with {tags:,} tags, over the {MAX_TAGS:,} one page may have")
    try:
        tree = load_html(html)
    except (ValueError, TypeError):
        return None
    if _hit_depth_limit(HTML_PARSER):
        tree = _parse_deep(html)
    return tree if tree is not None and len(tree) else None


def _hit_depth_limit(parser: HTMLParser) -> bool:
    return any(error.type_name == _DEPTH_LIMIT_ERROR for error in parser.error_log)


def _parse_deep(html: str | bytes) -> HtmlElement:
    tree = fromstring(html.encode("utf-8") if isinstance(html, str) else html, parser=_DEEP_PARSER)
    if _hit_depth_limit(_DEEP_PARSER) or _deeper_than(tree, MAX_DEPTH):
        raise InputProblem(f"HTML nested more than {MAX_DEPTH} levels deep: its text cannot be parsed")
    return tree


def _deeper_than(tree: HtmlElement, levels: int) -> bool:
    depth = 0
    for event, _element in iterwalk(tree, events=("start", "end")):
        depth += 1 if event == "start" else -1
        if depth > levels:
            return True
    return False


def visible_text_chars(tree: HtmlElement) -> int:
    """Characters of the text a reader would see: the body's text without scripts and
    styles, whitespace runs counted as one (lxml's C-level text concatenation, ~0.3 ms)."""
    body = tree.find("body")
    root = body if body is not None else tree
    hidden = sum(len(_SPACE.sub(" ", elem.text_content())) for elem in root.iter(*_INVISIBLE_TAGS))
    return max(0, len(_SPACE.sub(" ", root.text_content())) - hidden)


# --- body --------------------------------------------------------------------------------

def _trafilatura_lines(tree: HtmlElement, url: str | None, fast: bool) -> list[str]:
    from trafilatura import bare_extraction

    try:
        document = bare_extraction(tree, url=url, fast=fast, **_EXTRACT_OPTIONS)
    except Exception:  # trafilatura can fail on pathological trees; no body is the answer
        return []
    text = getattr(document, "text", None) or ""
    return [_SPACE.sub(" ", line).strip() for line in text.split("\n") if line.strip()]


def prose_share(lines: list[str]) -> float:
    """Share of the characters that sit in sentence-length lines: low for menus and link lists."""
    total = sum(len(line) for line in lines)
    if not total:
        return 0.0
    threshold = boilerplate_rules().prose_line_chars
    return sum(len(line) for line in lines if len(line) >= threshold) / total


def extract_body_lines(tree: HtmlElement, url: str | None) -> list[str]:
    """trafilatura's main-content lines (one block per line), comments excluded.

    The fast extractor first; when its result reads like a menu (little prose), trafilatura's
    full cascade (readability/jusText comparison) runs too and the more prose-like wins. This
    keeps the cost of the full cascade to the few pages that need it, and never runs it on a
    page so large that its jusText pass (quadratic in runs of short blocks) would hang.
    """
    rules = boilerplate_rules()
    lines = _trafilatura_lines(tree, url, fast=True)
    if prose_share(lines) >= rules.fallback_min_prose_share or _more_elements_than(
            tree, rules.fallback_max_elements):
        return lines
    second = _trafilatura_lines(tree, url, fast=False)
    return second if prose_share(second) > prose_share(lines) else lines


def _more_elements_than(tree: HtmlElement, limit: int) -> bool:
    return any(True for _ in islice(tree.iter(), limit, None))


def _words(text: str) -> str:
    return " ".join(_TOKEN.findall(text.lower()))


@dataclass
class FilterResult:
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    removed_before_body: int = 0


def _is_caps_promo(line: str, rules: BoilerplateRules) -> bool:
    """ALL-CAPS lines inside a body are cross-promotion ("CLICK HERE TO GET THE APP")."""
    if len(line) > rules.caps_line_max_chars or line.startswith("|") or not _LETTER.search(line):
        return False
    words = [w for w in _TOKEN.findall(line) if _LETTER.search(w)]
    return len(words) >= rules.caps_line_min_words and line.upper() == line and line.lower() != line


def _matches(line: str, patterns: tuple[re.Pattern[str], ...]) -> bool:
    return any(p.match(line) for p in patterns)


def _heading_texts(title: str | None, extra: list[str]) -> set[str]:
    """Word forms of the page title(s) that must not open the body."""
    forms = {_words(t) for t in [title, *extra] if t}
    return {form for form in forms if form}


def _is_heading_repeat(line: str, headings: set[str]) -> bool:
    norm = _words(line)
    return bool(norm) and any(norm == h or (len(norm) > 20 and h.startswith(norm)) for h in headings)


def _boilerplate_reason(index: int, lines: list[str], rules: BoilerplateRules) -> bool:
    # Table cells come as "| a | b |": judge the cell text, not the table syntax.
    line = lines[index].strip(" |")
    if _matches(line, rules.anywhere) or _is_caps_promo(lines[index], rules):
        return True
    in_tail = index >= len(lines) * (1.0 - rules.tail_share)
    return in_tail and len(line) <= 400 and _matches(line, rules.tail)


def _related_link_block(lines: list[str], rules: BoilerplateRules) -> set[int]:
    """Indexes of short list items that follow a "Related"/"Read more" style header."""
    dropped: set[int] = set()
    for index, line in enumerate(lines):
        if len(line) > rules.short_line_chars or not _matches(line, rules.list_headers):
            continue
        follower = index + 1
        while follower < len(lines) and _LIST_ITEM.match(lines[follower]) \
                and len(lines[follower]) <= 2 * rules.short_line_chars:
            dropped.add(follower)
            follower += 1
    return dropped


def _teaser_indexes(lines: list[str]) -> set[int]:
    """An opening paragraph repeated later is a teaser: drop the early copy, keep the body's."""
    seen: dict[str, int] = {}
    dropped: set[int] = set()
    for index, line in enumerate(lines):
        norm = _words(line)
        if len(norm) < 30:
            continue
        if norm in seen:
            # Only an early copy is a teaser; repeats deeper in are the page's own text.
            if seen[norm] < 3:
                dropped.add(seen[norm])
        else:
            seen[norm] = index
    return dropped


def filter_paragraphs(
    lines: list[str], title: str | None, headings: list[str] | None = None
) -> FilterResult:
    """Split trafilatura's lines into body paragraphs and removed (evidence) lines.

    ``headings`` are other forms of the title (the h1). The meta description is deliberately
    not used to drop a stand-first: on the dev data it equals the lead paragraph (body) about
    as often as a separate dek.
    """
    rules = boilerplate_rules()
    heading_forms = _heading_texts(title, headings or [])
    drop = _related_link_block(lines, rules) | _teaser_indexes(lines) | furniture_indexes(lines)
    result = FilterResult()
    for index, line in enumerate(lines):
        is_heading = index < 3 and not result.kept and _is_heading_repeat(line, heading_forms)
        if index in drop or is_heading or _boilerplate_reason(index, lines, rules):
            result.removed.append(line)
            if not result.kept:
                result.removed_before_body += 1
        else:
            result.kept.append(line)
    return result


# --- metadata ----------------------------------------------------------------------------

def _strip_author_prefix(name: str, rules: BoilerplateRules) -> str:
    lowered = name.lower()
    for prefix in rules.author_prefixes:
        if lowered.startswith(prefix + " ") or (prefix.endswith(":") and lowered.startswith(prefix)):
            return name[len(prefix):].strip(" :,-")
    return name


def _split_authors(raw: str, rules: BoilerplateRules) -> list[str]:
    parts = [raw]
    for separator in rules.author_separators:
        parts = [piece for part in parts for piece in part.split(separator)]
    return [p.strip(" \t\n,;|-–—") for p in parts if p.strip(" \t\n,;|-–—")]


def clean_authors(raw: str | list[str] | None) -> list[str]:
    """Author field -> list of person names; junk ("Email the author", "Staff", handles) dropped."""
    rules = boilerplate_rules()
    values = raw if isinstance(raw, list) else [raw] if raw else []
    names: list[str] = []
    for value in values:
        for part in _split_authors(_HANDLE.sub("", value), rules):
            name = _SPACE.sub(" ", _strip_author_prefix(part, rules)).strip()
            if _is_plausible_name(name, rules) and name.lower() not in {n.lower() for n in names}:
                names.append(name)
    return names


def _is_plausible_name(name: str, rules: BoilerplateRules) -> bool:
    if not name or _matches(name, rules.author_junk) or not _LETTER.search(name):
        return False
    return len(name.split()) <= rules.author_max_words and not any(ch.isdigit() for ch in name)


def page_language(tree: HtmlElement) -> str | None:
    """The page's declared language (``<html lang>``, og:locale, content-language)."""
    declared = tree.get("lang") or tree.get("xml:lang")
    if not declared:
        for meta in tree.iterfind(".//meta[@content]"):
            key = (meta.get("property") or meta.get("http-equiv") or meta.get("name") or "").lower()
            if key in {"og:locale", "content-language", "language", "dc.language"}:
                declared = meta.get("content")
                break
    if not declared:
        return None
    return declared.strip().replace("_", "-").split(",")[0].lower() or None


def _outlet_from_url(url: str | None) -> str | None:
    if not url:
        return None
    return url_host(url).removeprefix("www.") or None


def _first_h1(tree: HtmlElement) -> str | None:
    for h1 in tree.iterfind(".//h1"):
        text = _SPACE.sub(" ", h1.text_content()).strip()
        if text:
            return text
    return None


_BYLINE_XPATH = (
    './/*[@rel="author" or @itemprop="author" or contains(@class, "byline")'
    ' or contains(@class, "author-name") or contains(@class, "article-author")]'
)


def _authors_from_bylines(tree: HtmlElement) -> list[str]:
    """Names of the first byline element that has any: our cheap XPath first, then
    trafilatura's byline XPaths within the article container."""
    for elem in tree.xpath(_BYLINE_XPATH)[:5]:
        text = _SPACE.sub(" ", elem.text_content()).strip()
        # Later byline elements usually belong to teasers of other articles: first one wins.
        if text and len(text) <= 100 and (names := clean_authors(text)):
            return names
    return _authors_by_trafilatura_xpaths(tree)


def _authors_by_trafilatura_xpaths(tree: HtmlElement) -> list[str]:
    """trafilatura's byline XPaths without its ``extract_author``'s copy-and-prune of the
    whole tree: matches inside its discard sections (comments, teasers) are skipped instead."""
    from trafilatura.json_metadata import normalize_authors
    from trafilatura.xpaths import AUTHOR_DISCARD_XPATHS, AUTHOR_XPATHS

    # Only inside the article container: over a whole page these XPaths cost ~10 ms, and the
    # byline of the article sits inside its container on nearly every page that has one.
    scope = tree.find(".//article")
    if scope is None:
        scope = tree.find(".//main")
    if scope is None:
        return []
    discarded = {elem for expression in AUTHOR_DISCARD_XPATHS for elem in expression(scope)}
    for expression in AUTHOR_XPATHS:
        for elem in expression(scope):
            if elem in discarded or any(a in discarded for a in elem.iterancestors()):
                continue
            text = _SPACE.sub(" ", " ".join(elem.itertext())).strip()
            if 2 < len(text) < 120:
                # trafilatura's normaliser first: it strips roles, dates and "and" lists.
                normalised = normalize_authors(None, text)
                return clean_authors(normalised.split("; ") if normalised else None)
    return []


_TITLE_SEPARATORS = (" | ", " - ", " – ", " — ", " :: ", " · ", " // ")


def strip_site_from_title(title: str | None, outlet: str | None, url: str | None) -> str | None:
    """"Headline | Site" -> "Headline" when the cut-off part names the outlet or the domain.

    Only a segment that matches the outlet is cut, so headlines with dashes stay whole.
    """
    if not title:
        return title
    site_forms = {_words(outlet or "")}
    host = _outlet_from_url(url) or ""
    site_forms.add(_words(host.rsplit(".", 1)[0]))
    site_forms.add(_words(host))
    site_forms.discard("")
    for separator in _TITLE_SEPARATORS:
        if separator not in title:
            continue
        head, _, tail = title.rpartition(separator)
        if _site_segment(tail, site_forms) and head.strip():
            return head.strip()
        first, _, rest = title.partition(separator)
        if _site_segment(first, site_forms) and rest.strip():
            return rest.strip()
    return title


def _site_segment(segment: str, site_forms: set[str]) -> bool:
    norm = _words(segment)
    squashed = norm.replace(" ", "")
    return bool(norm) and any(norm == f or squashed == f.replace(" ", "") for f in site_forms)


def extract_page_meta(tree: HtmlElement, url: str | None) -> dict[str, Any]:
    """Markup metadata via trafilatura's meta/JSON-LD readers, then our cleaning."""
    from trafilatura import metadata as tmeta

    found = tmeta.examine_meta(tree)
    try:
        found = tmeta.extract_meta_json(tree, found)
    except Exception:  # malformed JSON-LD is common; the meta tags still count
        pass
    title = found.title or tmeta.extract_title(tree)
    authors = clean_authors(found.author.split("; ") if found.author else None)
    if not authors:
        authors = _authors_from_bylines(tree)
    canonical = tmeta.extract_url(tree, url) or url
    sitename = found.sitename or tmeta.extract_sitename(tree)
    outlet = (sitename.lstrip("@") if sitename else None) or _outlet_from_url(canonical)
    return {
        "title": strip_site_from_title(title, outlet, canonical),
        "authors": authors,
        "outlet": outlet,
        "url": canonical,
        "language": page_language(tree),
        "description": found.description,
        "h1": _first_h1(tree),
    }


# --- entry point -------------------------------------------------------------------------

def _empty_meta(url: str | None) -> dict[str, Any]:
    return {
        "title": None, "authors": [], "published": None, "published_from": None,
        "outlet": _outlet_from_url(url), "url": url, "language": None, "description": None,
    }


def clean_html(html: str | bytes, url: str | None = None) -> Extraction:
    """One HTML page -> body paragraphs in order, removed lines as evidence, markup metadata."""
    tree = parse_html(html)
    if tree is None:
        return Extraction(paragraphs=[], meta=_empty_meta(url))
    meta = extract_page_meta(tree, url)
    published, origin = find_published_date(tree, url=meta["url"] or url, language=meta["language"])
    meta["published"], meta["published_from"] = published, origin
    page_chars = visible_text_chars(tree)
    # bare_extraction works on its own copy of the tree, so the metadata reads above stay valid.
    lines = extract_body_lines(tree, url)
    h1 = meta.pop("h1")
    filtered = filter_paragraphs(lines, meta["title"], [h1] if h1 else [])
    body_chars = sum(len(p) for p in filtered.kept)
    return Extraction(
        paragraphs=filtered.kept,
        title=meta["title"],
        evidence=filtered.removed,
        evidence_before_body=filtered.removed_before_body,
        removed_chars=max(0, page_chars - body_chars),
        meta=meta,
    )
