"""Storyline: turn many outlets' coverage of one story into a faithful, cited briefing.

The public API is small; everything else lives in private stage modules::

    import storyline
    for doc in storyline.extract(["article.txt", "https://example.org/news"]):
        print(doc.title, doc.published)
"""

from storyline.model import Document, Extraction, Hints, InputError, Source
from storyline.pipeline import extract, ingest

__all__ = ["Document", "Extraction", "Hints", "InputError", "Source", "extract", "ingest"]
__version__ = "0.1.0"
