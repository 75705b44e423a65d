"""Bytes -> text: size limit, binary detection, encoding detection and HTML/text sniffing.

Decoding order (``decode_bytes``):

1. a byte-order mark (UTF-8, UTF-16, UTF-32) decides;
2. known binary formats (magic numbers) are refused; UTF-16 without a byte-order mark (text
   whose NUL bytes all fall on one side of each byte pair) is read as such; other binary content
   (NUL bytes, many control bytes) is refused;
3. strict UTF-8 - valid UTF-8 wins over any declaration, because mis-declared ISO-8859-1 headers
   are common while legacy-encoded prose that happens to be valid UTF-8 is vanishingly rare;
4. the declared charset (HTTP header, WARC record), then an HTML ``<meta charset>``;
5. charset-normalizer, accepted only when its "chaos" (mess) score is low; among equally good
   guesses the encodings most common on the web win (its own ranking often prefers e.g. cp1250
   for French text, which turns "après" into "aprčs").

``valid_unicode`` replaces lone surrogates (``"\\ud800"``, which JSON escapes can carry but no
UTF-8 can) with U+FFFD, as browsers do, so that hashing, storing and printing a text never fail.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from storyline.errors import InputProblem
from storyline.model import Mode

# Largest single input (file, stdin, decompressed .gz, one record of a JSONL/CSV/WARC file).
# News articles are well under 1 MB even as full HTML pages; anything larger is almost surely
# not an article, and the cap keeps one bad input from exhausting memory.
MAX_INPUT_BYTES = 20 * 1024 * 1024
# Decompressed output is produced at most this much at a time, then counted against the cap.
INFLATE_PIECE_BYTES = 64 * 1024
# Web pages inflate 3 to 15 times; past a first piece, anything that inflates more than this is a
# bomb (a response or a ``.gz`` file). The size cap alone is not enough: 2 KB of gzip inflate to
# 2 MB of "<p>" tags, half a million elements, which take the HTML cleaner a gigabyte and minutes.
MAX_INFLATE_RATIO = 50
MEGABYTE = 1024 * 1024

# How much of the start of the data the binary and HTML checks look at.
SNIFF_BYTES = 8192
# Share of control bytes (other than tab, newline, CR, form feed, ESC) above which data is binary.
MAX_CONTROL_RATIO = 0.05
# charset-normalizer "chaos" above which a guess is treated as garbage.
MAX_CHAOS = 0.25
# Guesses within this chaos / coherence of the best one count as ties.
CHAOS_TIE = 0.01
COHERENCE_TIE = 0.15
# Tie-break among equally plausible guesses: the legacy encodings most used by news sites.
PREFERRED_ENCODINGS = (
    "cp1252", "cp1251", "cp1250", "koi8_r", "iso8859_2", "cp1253", "cp1254", "cp1256",
    "cp1255", "cp1257", "gb18030", "gbk", "big5", "shift_jis", "euc_jp", "euc_kr", "cp874",
)

BOMS = (  # UTF-32 first: its little-endian BOM starts with the UTF-16 one.
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

MAGIC_NUMBERS = (
    (b"%PDF-", "PDF"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"PK\x03\x04", "ZIP"),
    (b"PK\x05\x06", "ZIP"),
    (b"\x7fELF", "ELF"),
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"Rar!\x1a\x07", "RAR"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "MS Office"),
    (b"SQLite format 3\x00", "SQLite"),
    (b"OggS", "Ogg"),
    (b"ID3", "MP3"),
    (b"wOFF", "WOFF"),
    (b"wOF2", "WOFF2"),
    (b"\x00asm", "WebAssembly"),
    (b"\xca\xfe\xba\xbe", "Java class"),
)

# Control bytes that do occur in real text: tab, LF, VT, FF, CR, and ESC (ANSI colours).
TEXT_CONTROL_BYTES = frozenset(b"\t\n\x0b\x0c\r\x1b")
CONTROL_BYTES = frozenset(range(0x20)) - TEXT_CONTROL_BYTES | {0x7F}

META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)

# Markers that make a document HTML however little markup it has.
STRONG_HTML_MARKERS = ("<!doctype html", "<html", "<head", "<body", "<meta ", "<title>")
# Tags that are common in HTML fragments; several of them also mean HTML.
WEAK_HTML_TAG = re.compile(
    r"</?(?:p|div|br|span|a|article|section|h[1-6]|ul|li|table|img|strong|em)\b[^>]*>", re.IGNORECASE
)
MIN_WEAK_HTML_TAGS = 3

# UTF-16 without a byte-order mark: at least this share of the byte pairs at the start hold a
# NUL (ASCII characters, spaces and digits in any script) and no NUL falls on the other side.
MIN_UTF16_NUL_PAIRS = 0.1


class BinaryContent(InputProblem):
    """The data is binary (an image, a PDF, an executable ...), not text or HTML."""


def check_size(size: int) -> None:
    """Refuse an input of ``size`` bytes when it is over ``MAX_INPUT_BYTES``."""
    if size > MAX_INPUT_BYTES:
        raise InputProblem(
            f"file is {size / MEGABYTE:.1f} MB, over the {MAX_INPUT_BYTES // MEGABYTE} MB limit"
        )


def check_length(text: str, limit: int, *, raise_with: str = "$STORYLINE_MAX_CHARS") -> None:
    """Refuse a text longer than ``limit`` characters (the NLP pass's budget for one input);
    the message names the setting ``raise_with`` that raises the limit."""
    if len(text) > limit:
        raise InputProblem(f"text is over the {limit:,}-character limit for one document "
                           f"(raise it with {raise_with})")


def decode_bytes(data: bytes, *, declared: str | None = None) -> str:
    """Decode raw input to text; ``declared`` is a charset the input's container named.

    Raises ``InputProblem`` for empty, binary or undecodable data.
    """
    if not data:
        raise InputProblem("empty file")
    bom_text = decode_with_bom(data)
    if bom_text is not None:
        return bom_text
    refuse_known_formats(data)
    utf16_text = decode_utf16_without_bom(data)
    if utf16_text is not None:
        return utf16_text
    refuse_binary(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    for charset in (declared, meta_charset(data)):
        text = decode_declared(data, charset)
        if text is not None:
            return text
    return decode_detected(data)


def decode_with_bom(data: bytes) -> str | None:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(encoding)
            except UnicodeDecodeError as exc:
                raise InputProblem(f"invalid {encoding.upper()} text despite its byte-order mark") from exc
    return None


def refuse_known_formats(data: bytes) -> None:
    """Raise ``BinaryContent`` naming the format when ``data`` starts like a binary format."""
    for magic, name in MAGIC_NUMBERS:
        if data.startswith(magic):
            raise BinaryContent(f"binary file ({name}), not text or HTML")
    if data[8:12] == b"WEBP" and data.startswith(b"RIFF"):
        raise BinaryContent("binary file (WebP), not text or HTML")


def decode_utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 text saved without a byte-order mark (some Windows tools), else None."""
    head = data[: SNIFF_BYTES - SNIFF_BYTES % 2]
    pairs = len(head) // 2
    if not pairs or len(data) % 2:
        return None
    nul_low, nul_high = head[0::2].count(0), head[1::2].count(0)
    if min(nul_low, nul_high) or max(nul_low, nul_high) < MIN_UTF16_NUL_PAIRS * pairs:
        return None
    try:
        text = data.decode("utf-16-le" if nul_high else "utf-16-be")
    except UnicodeDecodeError:
        return None
    sample = text[: SNIFF_BYTES // 2]
    control = sum(1 for char in sample if ord(char) in CONTROL_BYTES)
    return text if "\x00" not in sample and control <= MAX_CONTROL_RATIO * len(sample) else None


def valid_unicode(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD (a valid pair is joined) and each
    U+0000 removed: text any store can keep (PostgreSQL refuses NUL in text; JSON allows it)."""
    text = text.replace("\x00", "")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def refuse_binary(data: bytes) -> None:
    """Raise ``InputProblem`` naming the format when ``data`` is not text."""
    refuse_known_formats(data)
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        raise BinaryContent("binary file, not text or HTML")
    control = sum(1 for byte in head if byte in CONTROL_BYTES)
    if control / len(head) > MAX_CONTROL_RATIO:
        raise BinaryContent("binary file, not text or HTML")


def meta_charset(data: bytes) -> str | None:
    """The charset an HTML ``<meta>`` tag near the top declares, if any."""
    match = META_CHARSET.search(data[:SNIFF_BYTES])
    return match.group(1).decode("ascii", errors="ignore") if match else None


def decode_declared(data: bytes, charset: str | None) -> str | None:
    """Decode with a declared charset; None when it is unknown or does not fit the bytes."""
    encoding = normalise_charset(charset)
    if encoding is None or encoding == "utf-8":  # strict UTF-8 already failed
        return None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        return None


def normalise_charset(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip("\"'")).name
    except LookupError:
        return None
    # Browsers read ISO-8859-1 and ASCII as windows-1252 (WHATWG encoding standard); so do servers'
    # authors, who write curly quotes and euro signs under those labels.
    return "cp1252" if name in ("iso8859-1", "latin-1", "ascii") else name


def decode_detected(data: bytes) -> str:
    guesses = [guess for guess in from_bytes(data) if guess.chaos <= MAX_CHAOS]
    if not guesses:
        raise InputProblem("cannot detect the text encoding (not UTF-8, no plausible legacy encoding)")
    best = min(guesses, key=lambda guess: (guess.chaos, -guess.coherence))
    ties = {
        guess.encoding: guess
        for guess in guesses
        if guess.chaos <= best.chaos + CHAOS_TIE and guess.coherence >= best.coherence - COHERENCE_TIE
    }
    chosen = next((ties[name] for name in PREFERRED_ENCODINGS if name in ties), best)
    return str(chosen)


def sniff_mode(text: str) -> Mode:
    """Guess whether decoded text is HTML or plain text."""
    head = text[:SNIFF_BYTES].lstrip("\ufeff \t\r\n").lower()
    if any(marker in head for marker in STRONG_HTML_MARKERS):
        return "html"
    return "html" if len(WEAK_HTML_TAG.findall(head)) >= MIN_WEAK_HTML_TAGS else "text"
