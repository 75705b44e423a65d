"""The outlet registry of a database: the packaged outlets merged with the user's own, which the
store keeps (``storyline outlets add/import``). ``storyline.outlets`` merges; this reads."""

from __future__ import annotations

from storyline.outlets import Registry, registry_with
from storyline.store import Store


def registry_of(store: Store) -> Registry:
    """The packaged outlets merged with those stored in ``store`` (the user's take precedence)."""
    return registry_with(store.outlets())
