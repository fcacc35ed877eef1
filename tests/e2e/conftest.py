"""Fixtures shared by the end-to-end tests."""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


class _SilentMemoryTracker:
    """The SDK's debug memory tracker prints from an atexit hook, after pytest's summary; tests do not need it."""

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


@pytest.fixture(autouse=True)
def _no_memory_tracker_at_exit(monkeypatch):
    from fivetran_connector_sdk_cli import connector

    monkeypatch.setattr(connector, "DebugMemoryTracker", _SilentMemoryTracker)
