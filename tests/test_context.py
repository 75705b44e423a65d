"""The shared settings, read once from the environment and passed explicitly."""

from __future__ import annotations

import os

import pytest

from storyline.context import Settings, default_workers
from storyline.errors import UsageError


def test_default_settings() -> None:
    settings = Settings()
    assert settings.workers == min(2, os.cpu_count() or 1) == default_workers()
    assert settings.batch_size == 16


def test_workers_come_from_the_environment() -> None:
    assert Settings.from_env({}).workers == default_workers()
    assert Settings.from_env({"STORYLINE_WORKERS": " 3 "}).workers == 3
    assert Settings.from_env({"STORYLINE_WORKERS": ""}).workers == default_workers()


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_worker_count_is_a_clear_error(value: str) -> None:
    with pytest.raises(UsageError, match=r"\$STORYLINE_WORKERS must be a whole number of at least 1"):
        Settings.from_env({"STORYLINE_WORKERS": value})


def test_the_cluster_window_comes_from_the_environment() -> None:
    assert Settings.from_env({}).in_flight == Settings().in_flight == 256
    assert Settings.from_env({"STORYLINE_IN_FLIGHT": "32"}).in_flight == 32
    with pytest.raises(UsageError, match=r"\$STORYLINE_IN_FLIGHT must be a whole number"):
        Settings.from_env({"STORYLINE_IN_FLIGHT": "0"})
