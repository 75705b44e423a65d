"""tools/fuzz.py, without atheris: every target's one-input function takes any bytes (the
contract holds, nothing raises), its fallback names property tests that exist, and the
dictionary it hands libFuzzer reads back as the pieces it was made from."""

from __future__ import annotations

import ast
import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.fuzzing import DATES, TAGS, budget


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("storyline_fuzz_tool", REPO / "tools" / "fuzz.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


TOOL = load_tool()
ANY_BYTES = st.binary(max_size=300) | st.lists(
    st.sampled_from(TAGS + DATES).map(str.encode) | st.binary(max_size=8), max_size=20).map(b"".join)


@pytest.mark.parametrize("target", sorted(TOOL.TARGETS))
@budget(8)
@given(data=ANY_BYTES)
def test_every_target_takes_any_bytes(target: str, data: bytes) -> None:
    TOOL.TARGETS[target][0](data)


@pytest.mark.parametrize("target", sorted(TOOL.TARGETS))
def test_every_target_takes_its_seeds(target: str) -> None:
    for seed in TOOL.seeds():
        TOOL.TARGETS[target][0](seed)


def test_each_fallback_names_property_tests_that_exist() -> None:
    for target, (_run, selection) in TOOL.TARGETS.items():
        path, _, rest = selection.partition("::")
        path, _, keywords = path.partition(" -k ")
        tests = {node.name for node in ast.parse((REPO / path).read_text()).body
                 if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}
        wanted = [rest] if rest else [w for w in keywords.split() if w not in {"or", "and", "not"}]
        for word in wanted:
            assert any(word in name for name in tests), (target, word)


def test_the_dictionary_reads_back_as_its_pieces(tmp_path: Path) -> None:
    path = TOOL.write_dictionary(tmp_path)
    entries = path.read_text(encoding="ascii").splitlines()
    assert len(entries) > 100
    decoded = {re.sub(rb"\\x([0-9a-f]{2})", lambda m: bytes([int(m[1], 16)]),
                      entry[1:-1].encode()) for entry in entries}
    assert "<p>".encode() in decoded and "\u201c".encode() in decoded
    assert "\ud800".encode("utf-8", "surrogatepass") in decoded
    assert all(entry.startswith('"') and entry.endswith('"') for entry in entries)


def test_the_fuzzer_gets_a_corpus_a_dictionary_and_a_hang_limit(tmp_path: Path) -> None:
    arguments = TOOL.fuzzer_arguments(["-max_total_time=5"], tmp_path)
    assert f"-timeout={TOOL.HANG_SECONDS}" in arguments
    assert any(a.startswith("-dict=") for a in arguments)
    corpus = Path(arguments[-1])
    assert len(list(corpus.iterdir())) == len(TOOL.seeds())
    given_own = TOOL.fuzzer_arguments(["-timeout=3", "-dict=mine.dict", "my-corpus"], tmp_path / "x")
    assert given_own[1:] == ["-timeout=3", "-dict=mine.dict", "my-corpus"]


def test_the_scaling_check_tells_quadratic_from_linear() -> None:
    def linear(data: bytes) -> None:
        sum(data)

    # n * n / 9 steps: 28 million at 16,000 bytes, some 0.5 s on a fast core: well past
    # SCALING_MIN_SECONDS (at n * n / 16 a fast core took 0.29-0.35 s, too near it: flaky)
    def quadratic(data: bytes) -> None:
        steps = 0
        for _i in range(0, len(data), 3):
            for _j in range(0, len(data), 3):
                steps += 1

    assert TOOL.superlinear(linear, "ab") is None
    times = TOOL.superlinear(quadratic, "ab")
    assert times is not None and times[1] > TOOL.SCALING_RATIO * times[0]
