"""The outlet registry of a database: the packaged outlets merged with the user's own, which the
store keeps (``storyline outlets add/import``). ``storyline.outlets`` merges; this reads."""

from __future__ import annotations

from storyline.outlets import Registry, registry_with
from storyline.store import Store, open_store


def registry_of(store: Store) -> Registry:
    """The packaged outlets merged with those stored in ``store`` (the user's take precedence)."""
    return registry_with(store.outlets())


def registry_from(db_url: str | None) -> Registry:
    """``registry_of`` the database at ``db_url`` (``open_store``'s forms)."""
    with open_store(db_url) as store:
        return registry_of(store)
