"""Shared fixtures. Tests under tests/real start real processes under the real
filter on this kernel; nothing there mocks the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(items):
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "real", "native", "tui"):
            item.add_marker(getattr(pytest.mark, tier))
