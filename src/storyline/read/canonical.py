"""One key per article URL: tracking parameters, fragments, AMP and mobile editions removed.

A story's article reaches a watch through several feeds, each link dressed differently
(``?utm_source=rss``, ``#comments``, ``m.example.com``, ``/amp``). ``canonical_url`` strips what
does not name the article, so the watch fetches it once; the rules are data
(``data/urls.json``), handed in as ``UrlRules``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storyline.resources import read_data


@dataclass(frozen=True)
class UrlRules:
    """What ``canonical_url`` removes (see ``data/urls.json``)."""

    tracking_parameters: frozenset[str]
    tracking_prefixes: tuple[str, ...]
    mobile_host_prefixes: tuple[str, ...]
    amp_path_suffixes: tuple[str, ...]
    amp_query_flags: frozenset[str]
    amp_flag_values: frozenset[str]

    @classmethod
    def packaged(cls) -> UrlRules:
        data = read_data("urls.json")
        return cls(
            tracking_parameters=frozenset(name.lower() for name in data["tracking_parameters"]),
            tracking_prefixes=tuple(data["tracking_prefixes"]),
            mobile_host_prefixes=tuple(data["mobile_host_prefixes"]),
            amp_path_suffixes=tuple(sorted(data["amp_path_suffixes"], key=len, reverse=True)),
            amp_query_flags=frozenset(name.lower() for name in data["amp_query_flags"]),
            amp_flag_values=frozenset(data["amp_flag_values"]),
        )


def canonical_url(url: str, rules: UrlRules) -> str:
    """``url`` with a lower-case scheme and host, no default port, no fragment, no tracking or
    AMP parameters (the others sorted), no mobile or AMP host prefix and no AMP path ending.
    A URL that is not http(s) is returned as it was, stripped."""
    url = url.strip()
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        return url
    host = _desktop_host(parts.hostname.lower().rstrip("."), rules)
    port = parts.port if parts.port not in (None, 80 if scheme == "http" else 443) else None
    netloc = host if port is None else f"{host}:{port}"
    path = _without_amp_suffix(parts.path or "/", rules)
    query = urlencode(sorted(_kept_parameters(parts.query, rules)))
    return urlunsplit((scheme, netloc, path, query, ""))


def _desktop_host(host: str, rules: UrlRules) -> str:
    for prefix in rules.mobile_host_prefixes:
        # "m.example.com" -> "example.com", but never down to a bare top-level name ("m.co").
        if host.startswith(prefix) and host.count(".") >= 2:
            return host[len(prefix):]
    return host


def _without_amp_suffix(path: str, rules: UrlRules) -> str:
    for suffix in rules.amp_path_suffixes:
        if path.endswith(suffix) and len(path) > len(suffix):
            return path[: -len(suffix)]
    if path.endswith(".amp.html"):
        return path[: -len(".amp.html")] + ".html"
    return path


def _kept_parameters(query: str, rules: UrlRules) -> list[tuple[str, str]]:
    kept = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        lowered = name.lower()
        if lowered in rules.tracking_parameters or lowered.startswith(rules.tracking_prefixes):
            continue
        if lowered in rules.amp_query_flags and value.lower() in rules.amp_flag_values:
            continue
        kept.append((name, value))
    return kept
