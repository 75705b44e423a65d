"""Storyline: turn many outlets' coverage of one story into a faithful, cited briefing.

The public API is small; everything else lives in private stage modules::

    import storyline
    for doc in storyline.extract(["article.txt", "https://example.org/news"]):
        print(doc.title, doc.published)
"""

from typing import TYPE_CHECKING, Any

from storyline.model import Document, Extraction, Hints, InputError, Source
from storyline.pipeline.documents import extract, ingest

if TYPE_CHECKING:
    from storyline.briefing import Briefing, KeyDates

__all__ = ["Briefing", "Document", "Extraction", "Hints", "InputError", "Source", "brief",
           "brief_stories", "extract", "ingest", "timeline"]


def brief(inputs: Any, *, words: int = 250, **options: Any) -> "Briefing":
    """A cited briefing of everything in ``inputs`` (paths, URLs ... or ``Document``s), treated
    as one story; with ``stories="main"``, of the largest story found among them, the others
    named in ``other_stories``. Imported lazily: the language models load only when a briefing
    is asked for."""
    from storyline.pipeline.stories import brief as make_briefing

    return make_briefing(inputs, words=words, **options)


def brief_stories(inputs: Any, *, words: int = 250, **options: Any) -> "list[Briefing]":
    """One cited briefing per story found in ``inputs``, the largest story first."""
    from storyline.pipeline.stories import brief_stories as make_briefings

    return make_briefings(inputs, words=words, **options)


def timeline(inputs: Any, *, dates: int = 10, sentences: int = 2, **options: Any) -> "KeyDates":
    """The ``dates`` key dates of ``inputs`` (paths, URLs ... or ``Document``s), ``sentences``
    cited sentences each; ``start`` / ``end`` (``YYYY-MM-DD``) bound the days chosen."""
    from storyline.pipeline.timelines import timeline as make_timeline

    return make_timeline(inputs, dates=dates, sentences=sentences, **options)


__version__ = "0.1.0"
