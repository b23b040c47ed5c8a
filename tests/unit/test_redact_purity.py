"""The redaction library is pure: importing it pulls in nothing from the supervisor,
the kernel layer (jail.native) or the TUI. The C helper's keyword automaton
(jail._native, through cffi's small runtime) is computation only and allowed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
FORBIDDEN = ("jail.supervisor", "jail.native", "textual", "ctypes", "cffi")


def test_redact_and_scan_import_nothing_impure() -> None:
    code = ("import json, sys\n"
            "import jail.redact, jail.commands.scan\n"
            "jail.redact.Scanner.from_catalogue()\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            check=True, timeout=60)
    loaded = json.loads(result.stdout)
    assert [name for name in loaded if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)] == []
