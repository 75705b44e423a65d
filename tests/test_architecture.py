"""The architecture is a checked contract: import-linter enforces the layers written in
pyproject.toml, and docs/architecture.md must draw exactly those contracts and name every module
that exists (and no module that does not)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "src" / "storyline"
PAGE = (REPO / "docs" / "architecture.md").read_text(encoding="utf-8")


def _contracts() -> list[dict[str, Any]]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return contracts


def _modules() -> set[str]:
    """Every module of the package as a path below src/ (``storyline/read/fetch.py``)."""
    return {
        path.relative_to(PACKAGE.parent).as_posix()
        for path in PACKAGE.rglob("*.py")
        if path.name not in {"__init__.py", "__main__.py"}
    }


def test_import_linter_keeps_every_contract() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, f"import-linter found broken contracts:\n{done.stdout}{done.stderr}"
    assert f"{len(_contracts())} kept, 0 broken" in done.stdout


def test_contracts_cover_layers_the_store_and_cycles() -> None:
    kinds = {contract["type"] for contract in _contracts()}
    assert {"layers", "forbidden", "acyclic_siblings"} <= kinds


def test_the_page_shows_every_contract_as_configured() -> None:
    """Each contract appears on the page as a block that says what pyproject.toml says: its id
    and type, then its layers (top first) or its source and forbidden modules."""
    for contract in _contracts():
        block = _contract_block(contract)
        assert block in PAGE, f"docs/architecture.md must show this contract:\n{block}"


def _contract_block(contract: dict[str, Any]) -> str:
    lines = [f"{contract['id']} ({contract['type']})"]
    if contract["type"] == "layers":
        lines += [f"  {layer}" for layer in contract["layers"]]
    elif contract["type"] == "forbidden":
        lines.append(f"  {', '.join(contract['source_modules'])}")
        lines.append(f"    must not import {', '.join(contract['forbidden_modules'])}")
    else:
        lines.append(f"  within {', '.join(contract['ancestors'])}")
    return "\n".join(lines)


def test_the_page_names_only_modules_that_exist() -> None:
    named = set(re.findall(r"`(storyline/[\w/]+\.py)`", PAGE))
    assert named, "the page names modules as `storyline/package/module.py`"
    missing = sorted(named - _modules())
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_the_page_names_every_module() -> None:
    named = set(re.findall(r"`(storyline/[\w/]+\.py)`", PAGE))
    unnamed = sorted(_modules() - named)
    assert not unnamed, f"docs/architecture.md does not say where these modules fit: {unnamed}"


def test_subpackages_stay_light_to_import() -> None:
    """Importing a flow package must not load the language models' libraries: only the
    modules that need spaCy or torch import them."""
    script = ("import sys, storyline.read, storyline.annotate, storyline.story, storyline.store, "
              "storyline.render, storyline.pipeline; "
              "print(sorted({'spacy', 'torch', 'sentence_transformers'} & set(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.strip() == "[]"
