"""Regenerate the README's screenshot of a story's page, ``docs/img/story-page.png``.

    .venv/bin/python tools/screenshot.py [--db out/example.db] [--out docs/img/story-page.png]

The example corpus (``examples/corpus``, our own fictional story) is stored as ``make run``
stores it (its outlets imported, the story "Orla river deal"), unless ``--db`` names a database
that holds it already; the web app serves it on a free port of 127.0.0.1, and headless Chromium
(``/usr/bin/chromium``, driven by Playwright) photographs the top of the story's page. The
image is kept small (one screen, device scale 1): the README shows it, git keeps it.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tests"))

import httpx  # noqa: E402

from live_server import uvicorn_serving  # noqa: E402
from storyline.web import create_app  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
STORY = "Orla river deal"
VIEWPORT = {"width": 1100, "height": 900}
BRIEFING_SECONDS = 600  # the first briefing loads the models and annotates nothing (stored)


def stored_example(db: Path) -> None:
    """The example corpus in ``db``, as ``make run`` stores it (nothing done when it is there)."""
    commands = [["outlets", "import", str(ROOT / "examples" / "outlets.json")],
                ["ingest", str(ROOT / "examples" / "corpus"), "--story", STORY, "-q"]]
    for command in commands:
        subprocess.run([sys.executable, "-m", "storyline", *command, "--db", str(db)],
                       check=True, cwd=ROOT)


def photograph(db: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with uvicorn_serving(create_app(str(db))) as address:
        base = f"http://{address}"
        story = httpx.get(f"{base}/api/stories/{STORY}", timeout=30).json()["id"]
        httpx.get(f"{base}/api/stories/{story}/briefing", timeout=BRIEFING_SECONDS).raise_for_status()
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True)
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(f"{base}/stories/{story}")
            page.wait_for_load_state("networkidle")
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out), full_page=False)
            browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=ROOT / "out" / "screenshot.db",
                        help="a database holding the example story (made when missing)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img" / "story-page.png")
    args = parser.parse_args()
    if not args.db.exists():
        args.db.parent.mkdir(parents=True, exist_ok=True)
        stored_example(args.db)
    photograph(args.db, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
