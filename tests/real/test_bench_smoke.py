"""The benchmark itself works: a tiny version of every workload in every mode.

No timing is asserted here (timings are the benchmark's report, not a test);
only that the run finishes, exits 0 and writes JSON with every workload x
mode, the micro-benchmarks and the start-up figures present.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "benchmarks"))

import workloads  # noqa: E402

MODES = ("bare", "jail", "bwrap")


def test_quick_benchmark_writes_every_workload_and_mode(tmp_path):
    out = tmp_path / "out.json"
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", "--reps", "1", "--json", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    doc = json.loads(out.read_text())
    assert doc["failures"] == []
    for workload in workloads.WORKLOADS:
        entry = doc["workloads"][workload.name]
        for mode in MODES:
            data = entry["modes"][mode]
            if mode == "bwrap" and "error" in data and os.geteuid() != 0:
                continue  # not root: the benchmark could not install bubblewrap, and says so
            assert "error" not in data, f"{workload.name} {mode}: {data.get('error')}"
            assert len(data["runs"]) == 1 and data["median_s"] is not None, (workload.name, mode)
        assert entry["modes"]["jail"]["jail_rss_kb_max"], workload.name
    for op in ("open_cached", "open_missing", "open_fresh", "stat", "exec", "connect"):
        assert doc["micro"][op]["us_per_op"]["bare"] is not None
        assert doc["micro"][op]["us_per_op"]["jail"] is not None
    assert doc["micro"]["open_cached"]["us_per_op"]["floor-emulate"] is not None
    assert doc["startup"]["median_ms"]["jail"] is not None
    assert {t["target"] for t in doc["targets"]} >= {"geomean slowdown over workloads", "`jail run -- true`"}
    assert "Targets (issue 6):" in result.stdout
