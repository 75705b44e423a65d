"""What the property tests and ``tools/fuzz.py`` share: the example budget, the pieces that
generated inputs are built from, and the checks of the contract every parser keeps.

The budget is small in ``make test`` (each property file runs in seconds) and as large as asked
on demand: ``STORYLINE_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q tests/test_*_properties.py``
gives every property 5000 examples. The pieces are invented fragments of the things the parsers
look for (tags, dates, quote marks, bylines) mixed by the strategies with random text, so that
generated inputs reach past the first ``if``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck, settings

from storyline.errors import InputProblem
from storyline.model import Extraction, InputError, Source
from storyline.read.readers import read_inputs

EXAMPLES_VARIABLE = "STORYLINE_FUZZ_EXAMPLES"


def budget(examples: int) -> settings:
    """Hypothesis settings: ``examples`` per property, or ``$STORYLINE_FUZZ_EXAMPLES`` when set.

    No deadline: a slow example on a loaded machine is not a failure (hangs show up as a run that
    does not finish, and the size-bounded tests time their inputs themselves)."""
    wanted = os.environ.get(EXAMPLES_VARIABLE, "").strip()
    return settings(max_examples=int(wanted) if wanted else examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.filter_too_much])


# Ordinary words of invented news prose, for sentences that parse as sentences.
PROSE = [
    "the", "ferry", "bridge", "council", "will", "reopen", "vote", "on", "in", "after", "before",
    "repairs", "traders", "river", "Wren", "Millbrook", "Kessel", "budget", "of", "a", "and",
    "was", "is", "had", "cost", "customers", "every", "week", "plan", "islanders", "fair",
    "Petra Lund", "Oren Vale", "Lia Ferro", "minister", "spokesperson", "police", "court",
]
CUES = ["said", "says", "told reporters", "added", "warned", "according to", "asked",
        "insisted", "wrote", "explained", "—", ":", "said on Friday", "claimed"]
SPEAKERS = ["Petra Lund", "Ms. Lund", "she", "he", "they", "the mayor", "a spokesperson for the "
            "council", "Dr. Oren Vale, the harbour master,", "Lund", "It", "who", "Q", "A"]

# Characters the parsers treat specially, and some they should survive.
ODD_CHARS = [
    "\x00", "\ud800", "\udfff", "\ufeff", "\u200b", "\u00a0", "\u2028", "\r", "\t", "\x0c",
    "\ufffd", "\U0001f600", "\u0301", "\u202e", "ß", "İ", "ﬁ", "Ⅻ", "٣", "߀",
]
QUOTE_MARKS = ['"', "'", "\u201c", "\u201d", "\u2018", "\u2019", "\u00ab", "\u00bb", "\u201e",
               "\u201a", "\u2039", "\u203a", "\u300c", "\u300d", "\u300e", "\u300f", "``", "''",
               "\u2014", "-", ":", "\u2013"]
DATES = [
    "2017-07-07", "07/07/2017", "7/13/2017", "13.07.2017", "2017/07/07", "20170707",
    "July 7, 2017", "7 July 2017", "Jul. 7", "Friday", "last Tuesday", "next week", "yesterday",
    "tomorrow", "two weeks ago", "in three years", "the 1990s", "the 21st century", "Q3 2017",
    "the third quarter", "summer", "last spring", "Christmas", "at 10:30 am", "noon",
    "every Monday", "daily", "FY2018", "2016-17", "from 2010 to 2015", "between May and June",
    "May", "March 2020", "the first week of May", "31 February 2019", "0000-00-00", "9999-12-31",
    "T10:00:00Z", "+02:00", "Published: 3 March 2021", "Updated 05.06.2022 14:00",
    "1e999", "12345678901234567890", "-1", "0", "½", "2017-W27", "in 1,000 days",
]
WORDS = [
    "said", "says", "told", "according to", "the mayor", "she", "he", "they", "Ms. Kallio",
    "Dr. Oren Vale", "the council of Millbrook", "announced", "warned", "will", "expects",
    "By Jane Marsh", "Reporting by Tomas Reyes", "Editing by Ana Lind", "©", "Copyright 2021",
    "Associated Press", "Reuters", "\n", "\n\n", " ", ".", ",", "?", "(", ")", "[", "]",
    "Advertisement", "Read more", "Share this", "Q:", "A:", "Subscribe", "WATCH:", "Photo:",
    "MILLBROOK (Reuters) -", "http://news.example/2017/07/07/a", "a" * 300, "x" * 5000,
]
TAGS = [
    "<p>", "</p>", "<div>", "</div>", "<article>", "</article>", "<h1>", "</h1>", "<h2>",
    "<br>", "<br/>", "<span class=\"byline\">", "</span>", "<a href=\"/x\">", "</a>", "<ul><li>",
    "</li></ul>", "<table><tr><td>", "</td></tr></table>", "<script>", "</script>", "<style>",
    "</style>", "<title>", "</title>", "<html lang=\"en-US\">", "<html lang=\"\u00e9\">",
    "<head>", "</head>", "<body>", "</body>", "<!--", "-->", "<![CDATA[", "]]>", "<?xml ?>",
    "<!DOCTYPE html>", "<meta charset=\"windows-1251\">", "<meta charset=\"x-bogus\">",
    "<meta property=\"article:published_time\" content=\"2017-07-07T10:00:00+02:00\">",
    "<meta name=\"date\" content=\"07/13/2017\">", "<meta name=\"author\" content=\"Lia Ferro\">",
    "<meta property=\"og:site_name\" content=\"The Wren Gazette\">",
    "<meta property=\"og:title\" content=\"\">", "<link rel=\"canonical\" href=\"http://[::1\">",
    "<time datetime=\"2017-07-07\">", "<time datetime=\"99999-99-99\">", "</time>",
    "<script type=\"application/ld+json\">{\"@type\": \"NewsArticle\", "
    "\"datePublished\": \"2017-07-07\", \"author\": {\"name\": \"Lia Ferro\"}}</script>",
    "<script type=\"application/ld+json\">{\"@graph\": [[[[[{}]]]]], \"author\": [1, null]}"
    "</script>", "<script type=\"application/ld+json\">{\"datePublished\": 5}</script>",
    "<script type=\"application/ld+json\">[</script>",
    "&amp;", "&lt;", "&nbsp;", "&#0;", "&#xD800;", "&#99999999;", "&bogus;", "&", "<", ">",
    "<p class=\"author\">By Lia Ferro, transport correspondent</p>", "<svg><p>", "<math>",
    "<template>", "<noscript>", "<iframe>", "<frameset>", "<plaintext>", "<textarea>",
]


# --- the contract ------------------------------------------------------------------------------

def check_read(name: str, data: bytes) -> None:
    """``data`` written to a file ``name`` reads as documents and one-line errors only."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, name)
        path.write_bytes(data)
        for item in read_inputs([str(path)]):
            assert isinstance(item, (Source, InputError))
            if isinstance(item, InputError):
                assert item.reason and "\n" not in item.reason
            else:
                str(item.data).encode("utf-8")  # no lone surrogate reaches a document


def check_one_line(problem: InputProblem) -> None:
    """An ``InputProblem`` says what is wrong in one line."""
    assert str(problem) and "\n" not in str(problem)


def check_day(value: str | None) -> None:
    """None, or a real calendar day written YYYY-MM-DD."""
    if value is not None:
        assert date.fromisoformat(value).isoformat() == value, value


def check_extraction(result: Extraction) -> None:
    assert all(isinstance(p, str) and p.strip() for p in result.paragraphs)
    assert all(isinstance(e, str) for e in result.evidence)
    assert result.title is None or isinstance(result.title, str)
    assert 0 <= result.evidence_before_body <= len(result.evidence)
    assert result.removed_chars >= 0


def check_cites(text: str, start: int | None, end: int | None, claimed: str | None = None) -> None:
    """A cited span lies inside ``text`` and, where the result says what it cites, holds that."""
    if start is None:
        assert end is None
        return
    assert end is not None and 0 <= start <= end <= len(text), (start, end, len(text))
    if claimed is not None:
        assert text[start:end] == claimed
