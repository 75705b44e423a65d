"""Bytes -> text: encoding detection, binary detection and HTML/text sniffing.

STUB: to be implemented.
"""

from __future__ import annotations

from storyline.errors import InputProblem
from storyline.model import Mode


def decode_bytes(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise InputProblem("binary file, not text or HTML")
    return data.decode("utf-8", errors="replace")


def sniff_mode(text: str) -> Mode:
    head = text[:2048].lower()
    return "html" if ("<html" in head or "<!doctype html" in head or "<body" in head) else "text"
