"""Storage behind a narrow, backend-neutral interface (SQLite embedded by default, PostgreSQL
for a shared server).

``storyline.store.base`` holds the interface (protocols split by concern, combined in ``Store``)
and its values; ``storyline.store.sqlite`` and ``storyline.store.postgres`` the backends, which
``storyline.store.open.open_store`` picks by the URL. Callers use these names only.
"""

from storyline.store.base import (
    AddResult,
    Alert,
    BriefingCache,
    DetectionStore,
    DetectionUpdate,
    DocumentStore,
    DocumentTimes,
    DuplicateCheck,
    ListedItem,
    MergedStory,
    OutletStore,
    PollRecord,
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
    StoryUpdate,
    WatchItem,
    WatchSource,
    WatchStore,
)
from storyline.store._common import default_db_location
from storyline.store.open import DATABASE_ERRORS, failure_in_use, open_store
from storyline.store.postgres import DatabaseUnreachable

__all__ = [
    "DATABASE_ERRORS",
    "failure_in_use",
    "DatabaseUnreachable",
    "AddResult",
    "Alert",
    "BriefingCache",
    "DetectionStore",
    "DetectionUpdate",
    "DocumentStore",
    "DocumentTimes",
    "DuplicateCheck",
    "ListedItem",
    "MergedStory",
    "OutletStore",
    "PollRecord",
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
    "StoryUpdate",
    "StorylineInfo",
    "WatchItem",
    "WatchSource",
    "WatchStore",
    "default_db_location",
    "open_store",
]
