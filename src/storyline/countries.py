"""The country table (``data/countries.json``): country names and codes, and what a domain says.

Shared by the metadata stage (a bio's "Location: City, Country", a country-code domain), the
agenda (the sources' own countries are parties, not issues) and the perspectives (a country
group's display name). Codes are ISO 3166-1 alpha-2.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from storyline.resources import read_data

DATA_FILE = "countries.json"


@lru_cache(maxsize=1)
def _table() -> dict[str, Any]:
    data: dict[str, Any] = read_data(DATA_FILE)
    return data


def country_code(name: str) -> str | None:
    """The code of a country's English name ("Germany" -> "DE"), exactly as written; else None."""
    code = _table()["names"].get(name)
    return str(code) if code else None


@lru_cache(maxsize=1)
def country_names_by_code() -> dict[str, tuple[str, ...]]:
    """ISO 3166-1 alpha-2 code -> the country's English names, the usual one first."""
    names: dict[str, list[str]] = {}
    for name, code in _table()["names"].items():
        names.setdefault(code, []).append(name)
    return {code: tuple(found) for code, found in names.items()}


def country_of_domain(domain: str | None) -> str | None:
    """A country-code TLD's country ("example.ru" -> "RU"); None for generic and vanity TLDs."""
    if not domain:
        return None
    tld = domain.rsplit(".", 1)[-1].lower()
    data = _table()
    if tld in data["tld_to_country"]:
        return str(data["tld_to_country"][tld])
    if len(tld) != 2 or tld in data["generic_cctlds"]:
        return None
    return tld.upper()


@lru_cache(maxsize=1)
def second_level_suffixes() -> frozenset[str]:
    """Suffixes under which domains are registered one level down ("co.uk", "com.au")."""
    return frozenset(_table()["second_level_suffixes"])
