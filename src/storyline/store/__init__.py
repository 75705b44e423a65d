"""Storage behind a narrow, backend-neutral interface (SQLite embedded by default).

``storyline.store.base`` holds the interface (protocols split by concern, combined in ``Store``)
and its values; ``storyline.store.sqlite`` the SQLite backend. Callers use these names only.
"""

from storyline.store.base import (
    AddResult,
    BriefingCache,
    DetectionStore,
    DetectionUpdate,
    DocumentStore,
    DocumentTimes,
    DuplicateCheck,
    MergedStory,
    OutletStore,
    SearchHit,
    SearchIndex,
    Sketch,
    SketchStore,
    SourceCorrection,
    StaleCheck,
    Store,
    StoredSketch,
    StoryInfo,
    StorylineInfo,
    StoryStore,
)
from storyline.store.sqlite import DATABASE_ERRORS, default_db_location, open_store

__all__ = [
    "DATABASE_ERRORS",
    "AddResult",
    "BriefingCache",
    "DetectionStore",
    "DetectionUpdate",
    "DocumentStore",
    "DocumentTimes",
    "DuplicateCheck",
    "MergedStory",
    "OutletStore",
    "SearchHit",
    "SearchIndex",
    "Sketch",
    "SketchStore",
    "SourceCorrection",
    "StaleCheck",
    "Store",
    "StoredSketch",
    "StoryInfo",
    "StoryStore",
    "StorylineInfo",
    "default_db_location",
    "open_store",
]
