"""Opening a store: the backend is picked by the database URL.

A path or ``sqlite:///path`` (or nothing: the default location) opens the embedded SQLite
store; ``postgresql://user:password@host:port/db`` (also ``postgres://``, ``postgresql+psycopg://``)
the shared PostgreSQL store. Every ``--db`` and ``STORYLINE_DB`` goes through ``open_store``.
"""

from __future__ import annotations

import sqlite3

import psycopg

from storyline.store.base import Store
from storyline.store._common import default_db_location
from storyline.store.postgres import PostgresStore, first_line, is_postgres_url, redacted
from storyline.store.sqlite import open_store as open_sqlite_store

# What a database raises while in use (a damaged SQLite file, a PostgreSQL server gone away):
# the faces catch it to say so in one line.
DATABASE_ERRORS: tuple[type[Exception], ...] = (sqlite3.DatabaseError, psycopg.Error)


def open_store(url: str | None = None, *, create: bool = True) -> Store:
    """A store for ``url`` (see the module docstring). Raises ``UsageError`` for an unsupported
    or malformed URL, a database that cannot be opened (an unreachable server, refused
    credentials: ``DatabaseUnreachable``), and, with ``create=False`` (commands that only
    read), for a database that does not exist or has no Storyline tables: nothing is made."""
    if is_postgres_url(url):
        assert url is not None
        return PostgresStore(url, create=create)
    return open_sqlite_store(url, create=create)


def failure_in_use(url: str | None, exc: BaseException) -> str:
    """One line for a database that failed while in use (``DATABASE_ERRORS``): where (a
    server's password hidden) and what it said, with the likely cause for its kind."""
    if is_postgres_url(url):
        assert url is not None
        return (f"database {redacted(url)}: {first_line(exc)} (the server failed, or the "
                "database is not a Storyline database)")
    return (f"database {url or default_db_location()}: {exc} (the file is damaged, or not a "
            "Storyline database)")
