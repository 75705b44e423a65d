"""The web app and HTTP API (``storyline serve``): a thin FastAPI layer over the library.

``create_app(db_url)`` builds the application; ``api`` holds the JSON routes of CONTRACT.md's
"HTTP API", ``pages`` the HTML pages, ``service`` the few things both need (cached story
briefings, ingest jobs), ``highlight`` the marking of cited spans in a source's text.
"""

from storyline.web.app import create_app, is_loopback
from storyline.web.requests import Limits

__all__ = ["Limits", "create_app", "is_loopback"]
