"""Text-mode cleaner: the seed pages (annotated by block index) and small pages of our own.

The seeds are read at run time from ``../shared/seeds``; nothing of their text is in this file.
Each seed's annotation names, by index among its blank-line separated blocks, which blocks are
article body, which are boilerplate or metadata, and (where a page prints its opening twice)
which blocks are the repeated teaser copy.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from storyline.read.textclean import clean_text, drop_repeated_teasers, split_blocks


def _span(first: int, last: int) -> frozenset[int]:
    return frozenset(range(first, last + 1))


@dataclass(frozen=True)
class SeedAnnotation:
    """Block indices of one seed file, split on blank lines (see ``raw_blocks``)."""

    body: frozenset[int]
    boilerplate: frozenset[int]
    teaser: frozenset[int] = frozenset()
    either: frozenset[int] = frozenset()  # subheadings: kept or not, both fine


SEED_ANNOTATIONS: dict[str, SeedAnnotation] = {
    # date line, headline | 10 paragraphs (one cut in two by a blank line) | source lines,
    # author box with a bio
    "000": SeedAnnotation(body=_span(2, 11), boilerplate=frozenset({0, 1}) | _span(12, 20)),
    # print/rating/share widget + author, author's title | teaser: the opening paragraphs
    # again, partly cut short | the full article | rating, poll
    "001": SeedAnnotation(body=_span(9, 22), boilerplate=frozenset({0, 1, 23, 24, 25}),
                          teaser=_span(2, 8)),
    # breadcrumb, headline | article | licensing line, an ad with a form
    "002": SeedAnnotation(body=_span(2, 24), boilerplate=frozenset({0, 1}) | _span(25, 33)),
    # headline | article with subheadings | disclaimer, related-articles list
    "003": SeedAnnotation(body=frozenset({1, 2, 4, 5, 6, 16, 17, 19, 20, 22, 23}) | _span(8, 14),
                          boilerplate=frozenset({0}) | _span(24, 31),
                          either=frozenset({3, 7, 15, 18, 21})),
    # headline, byline with source and date, illustration credit | article | author bio,
    # section line, comment widget
    "004": SeedAnnotation(body=_span(3, 11), boilerplate=frozenset({0, 1, 2, 12, 13, 14})),
}


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _words(text: str) -> str:
    """Lower-cased words only: a teaser may re-case a sentence it cut from its start."""
    return " ".join(re.findall(r"\w+", text.lower()))


def raw_blocks(text: str) -> list[str]:
    """The page's blocks as a reader sees them: Markdown bold marks ("**") are not words."""
    return [_normalised(b.replace("**", "")) for b in re.split(r"\n[ \t]*\n", text) if b.strip()]


def seed_path(seeds_dir: Path, key: str) -> Path:
    matches = sorted(seeds_dir.glob(f"{key}_*.txt"))
    assert matches, f"seed {key} missing from {seeds_dir}"
    return matches[0]


@pytest.mark.parametrize("key", sorted(SEED_ANNOTATIONS))
def test_seed_annotation_covers_every_block(seeds_dir: Path, key: str) -> None:
    blocks = raw_blocks(seed_path(seeds_dir, key).read_text(encoding="utf-8"))
    note = SEED_ANNOTATIONS[key]
    assert note.body | note.boilerplate | note.teaser | note.either == set(range(len(blocks)))


@pytest.mark.parametrize("key", sorted(SEED_ANNOTATIONS))
def test_seed_body_kept_once_and_boilerplate_gone(seeds_dir: Path, key: str) -> None:
    text = seed_path(seeds_dir, key).read_text(encoding="utf-8")
    blocks = raw_blocks(text)
    note = SEED_ANNOTATIONS[key]
    result = clean_text(text)
    output = _normalised(result.text)
    paragraphs = {_normalised(p) for p in result.paragraphs}
    for index in sorted(note.body):
        assert output.count(blocks[index]) == 1, f"seed {key}: body block {index} not once"
    for index in sorted(note.boilerplate):
        assert blocks[index] not in output, f"seed {key}: boilerplate block {index} kept"
    for index in sorted(note.teaser):
        # A teaser block repeats (part of) a full paragraph: it must not stand on its own.
        full_copies = [blocks[i] for i in note.body if _words(blocks[index]) in _words(blocks[i])]
        assert full_copies, f"seed {key}: teaser block {index} has no full copy"
        if all(blocks[index] != full for full in full_copies):
            assert blocks[index] not in paragraphs, f"seed {key}: teaser block {index} kept"


@pytest.mark.parametrize("key", sorted(SEED_ANNOTATIONS))
def test_seed_evidence_holds_the_rest(seeds_dir: Path, key: str) -> None:
    text = seed_path(seeds_dir, key).read_text(encoding="utf-8")
    result = clean_text(text)
    evidence = " ".join(_normalised(e) for e in result.evidence)
    blocks = raw_blocks(text)
    for index in sorted(SEED_ANNOTATIONS[key].boilerplate):
        assert blocks[index] in evidence, f"seed {key}: block {index} missing from evidence"
    note = SEED_ANNOTATIONS[key]
    first_body = min(note.body)
    # Everything not kept counts as evidence, a dropped teaser copy included. Subheadings
    # ("either") and multi-line widgets (split further by the cleaner) make it a range.
    before = [i for i in note.boilerplate | note.teaser if i < first_body]
    either = [i for i in note.either if i < first_body]
    assert len(before) <= result.evidence_before_body <= len(before) + len(either) + 1
    assert result.removed_chars == len(text) - sum(len(p) for p in result.paragraphs)


# --- pages of our own ---------------------------------------------------------------------

ARTICLE = [
    "The harbour council voted on Tuesday to rebuild the old stone pier, ending a dispute "
    "that had divided the town for most of the past decade.",
    "Supporters said the pier, which was closed after a winter storm damaged its outer wall, "
    "is central to the fishing fleet and to the summer ferry that links the two islands.",
    "Opponents had argued that the money would be better spent on the school roof, and they "
    "asked the council to publish the full engineering report before any work begins.",
    "The council said the report would be released next month, and that construction should "
    "start in the spring if the regional government confirms its share of the funding.",
]

NAVIGATION = ["Home\nNews\nSport\nWeather\nContact", "Search", "Menu", "Log in | Register"]
COMMENTS = [
    "12 comments",
    "Sort by: Newest | Oldest",
    "Reply  Like  Share",
    "Post a comment",
    "Share on Facebook\nShare on Twitter\nEmail",
    "© 2024 The Example Gazette. All rights reserved. Privacy policy | Terms of use",
]


def test_menu_article_comments_page() -> None:
    page = "\n\n".join(["Pier to be rebuilt | The Example Gazette", *NAVIGATION,
                        "Pier to be rebuilt after years of dispute", *ARTICLE, *COMMENTS])
    result = clean_text(page)
    assert result.paragraphs == ARTICLE
    assert all(_normalised(b) in [_normalised(e) for e in result.evidence]
               for b in NAVIGATION + COMMENTS)
    assert result.title is not None and "Pier to be rebuilt" in result.title
    assert result.evidence_before_body == len(NAVIGATION) + 2


def test_teaser_repeating_the_opening_is_dropped() -> None:
    # Leading sentences of the first two paragraphs, printed once more above the article.
    teaser = [ARTICLE[0].split(", ending")[0] + ".", ARTICLE[1]]
    page = "\n\n".join(["Share this story", *teaser, *ARTICLE, "Share on Facebook"])
    result = clean_text(page)
    assert result.paragraphs == ARTICLE
    # The cut-short first paragraph goes; of the verbatim repeat, the copy among the full
    # paragraphs stays (the one not surrounded by teaser blocks).
    assert drop_repeated_teasers(teaser + ARTICLE) == [2, 3, 4, 5]


def test_paragraph_split_by_a_stray_blank_line_is_joined() -> None:
    first, second = ARTICLE[1].split(" which was closed")
    page = "\n\n".join([ARTICLE[0], first + " which was", "closed" + second, *ARTICLE[2:]])
    blocks = split_blocks(page)
    assert [b.text for b in blocks] == ARTICLE
    assert clean_text(page).paragraphs == ARTICLE


def test_one_line_per_block_input() -> None:
    page = "\n".join(["Home", "News", "Sport", *ARTICLE, "Share on Facebook", "Log in"])
    result = clean_text(page)
    assert result.paragraphs == ARTICLE


def test_byline_and_source_lines_are_not_body() -> None:
    page = "\n\n".join(["Pier to be rebuilt", "By Jane Example, Harbour Correspondent",
                        *ARTICLE, "Source: The Example Gazette",
                        "First published at example.org"])
    result = clean_text(page)
    assert result.paragraphs == ARTICLE
    assert result.evidence_before_body == 2


def test_empty_and_blank_inputs() -> None:
    for text in ("", "   ", "\n\n\n", "\u200b\n\n\ufeff"):
        result = clean_text(text)
        assert result.paragraphs == []
        assert result.text == ""


def test_two_megabyte_single_paragraph() -> None:
    sentence = "The committee met again this week to discuss the plan for the harbour. "
    text = sentence * (2_000_000 // len(sentence))
    start = time.perf_counter()
    result = clean_text(text)
    assert time.perf_counter() - start < 10.0
    assert len(result.paragraphs) == 1
    assert len(result.paragraphs[0]) > 1_900_000


def test_markdown_bold_from_a_page_copy_is_dropped_but_arithmetic_stays() -> None:
    blocks = split_blocks("For **the harbour board**, the levy is a detail.\n\nIt costs 2 ** 8 units.")
    assert [b.text for b in blocks] == ["For the harbour board, the levy is a detail.",
                                        "It costs 2 ** 8 units."]


# --- captions, credits, polls and teasers (issue 13) ----------------------------------------

VELDHAVEN = [
    "The Veldhaven ferry company said on Monday that the new terminal on the east quay would "
    "open in March, two years later than the council had promised when work began.",
    "Ilse Varga, who chairs the harbour board, told reporters that the delay came from the "
    "soft clay under the quay, which had to be drained before the piles could be driven.",
    "A poll by the Osterdal institute found 43% support for a higher bridge toll, while most "
    "of those asked said the ferry should stay cheap for island residents.",
    "A photo of the flooded quay, taken by a dock worker in January, was shared widely and "
    "pushed the board to publish its own survey of the site.",
    "Police said two small fires at the old terminal last week were related, and that they "
    "had questioned a man who lives near the harbour.",
]

FURNITURE_BLOCKS = [
    "Image copyright Veldhaven Press Image caption The east quay terminal under construction",
    "Photograph: Ilse Varga/Nordpress",
    "Photo: Tomas Brenner",
    "Slideshow (5 Images)",
    "Read more: Osterdal council approves the harbour budget",
    "Related: Island residents protest over ferry fares",
    "You may also like",
]

POLL = ["Do you think the Veldhaven terminal will open on time?", "Yes 43%", "No 57%",
        "Vote now"]


def _cleaned_page(extra_middle: list[str], extra_end: list[str]) -> list[str]:
    page = "\n\n".join(["Terminal delayed | The Veldhaven Courier", *NAVIGATION,
                        *VELDHAVEN[:2], *extra_middle, *VELDHAVEN[2:], *extra_end, *COMMENTS])
    return clean_text(page).paragraphs


@pytest.mark.parametrize("furniture", FURNITURE_BLOCKS)
def test_caption_credit_gallery_and_teaser_blocks_are_not_body(furniture: str) -> None:
    assert _cleaned_page([furniture], []) == VELDHAVEN
    assert _cleaned_page([], [furniture]) == VELDHAVEN


def test_reader_poll_is_not_body() -> None:
    assert _cleaned_page(POLL, []) == VELDHAVEN
    # The same poll copied as one block, and with its answers on the question's line.
    assert _cleaned_page(["\n".join(POLL)], []) == VELDHAVEN
    inline = "Do you think the toll should rise? Yes 38% No 62%"
    assert _cleaned_page([inline, "1,204 votes"], []) == VELDHAVEN


def test_caption_line_inside_a_block_is_cut_and_the_prose_kept() -> None:
    block = "Photograph: Ilse Varga/Nordpress\n" + VELDHAVEN[1]
    page = "\n\n".join([VELDHAVEN[0], block, *VELDHAVEN[2:]])
    result = clean_text(page)
    assert result.paragraphs == VELDHAVEN
    assert "Photograph: Ilse Varga/Nordpress" in result.evidence


def test_prose_about_photos_polls_and_related_things_is_kept() -> None:
    prose = ["Related costs at the Veldhaven yard rose by 4% last year, the company said in "
             "its annual report, mostly because of the price of steel and timber.",
             "Will the council raise the toll again? Councillors would not say on Tuesday, "
             "and the mayor's office declined to comment on the figures."]
    page = "\n\n".join([*VELDHAVEN, *prose])
    assert clean_text(page).paragraphs == [*VELDHAVEN, *prose]
