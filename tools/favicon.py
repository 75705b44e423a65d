"""Draw the web app's icon: ``src/storyline/web/static/favicon.svg`` and ``favicon.ico``.

    .venv/bin/python tools/favicon.py

Our own drawing, from one description: a dark rounded square holding three lines of text of
different lengths (a briefing), the first led by an amber dot (a citation). The SVG is what
pages link to; the ICO (one 32x32 PNG inside, written here with zlib alone) answers browsers
that ask for ``/favicon.ico`` by themselves.
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

STATIC = Path(__file__).resolve().parents[1] / "src" / "storyline" / "web" / "static"
SIZE = 32
RADIUS = 6
BACKGROUND = (29, 53, 87)
LINE = (241, 250, 238)
DOT = (244, 162, 97)
# (x, y, width, height) of each line, on the 32x32 grid.
LINES = ((13, 8, 13, 4), (6, 14, 20, 4), (6, 20, 15, 4))
DOT_CENTRE, DOT_RADIUS = (8.0, 10.0), 2.5


def svg() -> str:
    lines = "".join(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="1.5" fill="#{_hex(LINE)}"/>'
                    for x, y, w, h in LINES)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">'
            f'<rect width="{SIZE}" height="{SIZE}" rx="{RADIUS}" fill="#{_hex(BACKGROUND)}"/>'
            f'{lines}<circle cx="{DOT_CENTRE[0]}" cy="{DOT_CENTRE[1]}" r="{DOT_RADIUS}" '
            f'fill="#{_hex(DOT)}"/></svg>\n')


def _hex(colour: tuple[int, int, int]) -> str:
    return "".join(f"{part:02x}" for part in colour)


def pixel(x: int, y: int) -> tuple[int, int, int, int]:
    """The colour (RGBA) at pixel (x, y), sampled at its centre."""
    cx, cy = x + 0.5, y + 0.5
    if not _in_rounded_square(cx, cy):
        return (0, 0, 0, 0)
    if (cx - DOT_CENTRE[0]) ** 2 + (cy - DOT_CENTRE[1]) ** 2 <= DOT_RADIUS ** 2:
        return (*DOT, 255)
    if any(lx <= cx < lx + w and ly <= cy < ly + h for lx, ly, w, h in LINES):
        return (*LINE, 255)
    return (*BACKGROUND, 255)


def _in_rounded_square(cx: float, cy: float) -> bool:
    nearest_x = min(max(cx, RADIUS), SIZE - RADIUS)
    nearest_y = min(max(cy, RADIUS), SIZE - RADIUS)
    return (cx - nearest_x) ** 2 + (cy - nearest_y) ** 2 <= RADIUS ** 2


def png() -> bytes:
    rows = b"".join(b"\x00" + bytes(v for x in range(SIZE) for v in pixel(x, y)) for y in range(SIZE))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", SIZE, SIZE, 8, 6, 0, 0, 0)  # 8-bit RGBA
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9))
            + chunk(b"IEND", b""))


def ico(image: bytes) -> bytes:
    """An ICO file holding one PNG image (allowed since Windows Vista, read by every browser)."""
    directory = struct.pack("<HHH", 0, 1, 1)
    entry = struct.pack("<BBBBHHII", SIZE, SIZE, 0, 0, 1, 32, len(image), 6 + 16)
    return directory + entry + image


def main() -> None:
    (STATIC / "favicon.svg").write_text(svg(), encoding="utf-8")
    (STATIC / "favicon.ico").write_bytes(ico(png()))
    print(f"wrote {STATIC / 'favicon.svg'} and {STATIC / 'favicon.ico'}")


if __name__ == "__main__":
    main()
