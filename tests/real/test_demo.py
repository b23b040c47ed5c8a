"""`jail demo` replays the token-then-volumeDelete incident: the volume dies
without jail and survives with it, offline, and no token value is printed."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.skipif(shutil.which("curl") is None, reason="the demo's scripted agent uses curl")
def test_demo_shows_the_difference(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "jail", "demo", "--keep"], capture_output=True, text=True,
                          timeout=120, check=False, stdin=subprocess.DEVNULL, cwd=tmp_path)
    out = done.stdout
    world = Path(re.search(r"^kept: (\S+)", out, re.M).group(1))
    try:
        assert done.returncode == 0, out + done.stderr
        without, rest = out.split("── 2. with jail", 1)
        with_jail, audit = rest.split("── what jail did", 1)
        assert "platform API: 1 call(s): authorized" in without
        assert "volume vol-prod-db: DELETED" in without
        assert "platform API: 0 call(s)" in with_jail
        assert "volume vol-prod-db: still there" in with_jail
        assert (world / "platform/volumes/vol-prod-db/data.db").is_file()
        notes = (world / "home/notes/old-staging-deploy.md").read_text()
        token = re.search(r"RAILWAY_TOKEN=(\S+)", notes).group(1)
        assert token not in out + done.stderr
        assert "railway-token" in audit and "redact" in audit
        assert re.search(r"exec curl .*GraphQL mutation", audit)
        assert "deny" in audit
        # The audit log went to the demo's own state dir, not the caller's.
        assert list((world / "state/jail/sessions").glob("*.jsonl"))
    finally:
        shutil.rmtree(world, ignore_errors=True)


def test_demo_leaves_nothing_behind(tmp_path: Path) -> None:
    before = set(Path("/tmp").glob("jail-demo-*"))
    done = subprocess.run([sys.executable, "-m", "jail", "demo"], capture_output=True, text=True, timeout=120,
                          check=False, stdin=subprocess.DEVNULL, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert set(Path("/tmp").glob("jail-demo-*")) == before
