"""`jail scan PATH...`: masked output, exit codes, JSON, what the walk skips."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest

from jail.commands import scan
from jail.errors import ExitCode, UsageError
from jail.redact import CatalogueError

pytestmark = pytest.mark.unit

GHP = "ghp_" + "aB3dE5fG7h" * 3 + "iJ9k7f"
PASSWORD = "Zq9xPw81Lm"


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="jail")
    scan.add_parser(parser.add_subparsers())
    args = parser.parse_args(["scan", *argv])
    return args.func(args)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text("def main():\n    return 1\n")
    (tmp_path / ".env").write_text(f"# local\nGITHUB_TOKEN={GHP}\nDATABASE_URL=postgres://app:{PASSWORD}@db/app\n")
    for skipped in (".git", "node_modules"):
        (tmp_path / skipped).mkdir()
        (tmp_path / skipped / "config").write_text(f"token = {GHP}\n")
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(64)))
    return tmp_path


def test_findings_are_listed_masked_with_a_summary_and_exit_1(tree: Path, capsys) -> None:
    assert run(str(tree)) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert GHP not in out and PASSWORD not in out
    lines = out.splitlines()
    assert lines[0] == (f"{tree}/.env:2: github-pat-classic (GitHub personal access token (classic)) "
                        "ghp_****\u20267f")
    assert lines[1].startswith(f"{tree}/.env:3: postgres-connection-string (") and lines[1].endswith(") ****")
    assert lines[2] == f"{tree}/image.png: unscanned: binary"
    assert lines[3] == "2 secrets in 1 file (3 files checked, 0.0 MiB scanned, 1 unscanned)"
    assert ".git" not in out and "node_modules" not in out


def test_all_includes_skipped_directories(tree: Path, capsys) -> None:
    run("--all", str(tree))
    out = capsys.readouterr().out
    assert f"{tree}/.git/config:1: github-pat-classic" in out and f"{tree}/node_modules/config:1:" in out


def test_no_findings_exit_0(tree: Path, capsys) -> None:
    assert run(str(tree / "src")) == ExitCode.OK
    assert capsys.readouterr().out.strip() == "0 secrets in 0 files (1 file checked, 0.0 MiB scanned)"


def test_json(tree: Path, capsys) -> None:
    assert run("--json", str(tree / ".env"), str(tree / "image.png")) == ExitCode.FINDINGS
    out = capsys.readouterr().out
    assert GHP not in out and PASSWORD not in out
    document = json.loads(out)
    assert [(f["rule"], f["line"], f["preview"]) for f in document["findings"]] == [
        ("github-pat-classic", 2, "ghp_****\u20267f"), ("postgres-connection-string", 3, "****")]
    data = (tree / ".env").read_bytes()
    first = document["findings"][0]
    assert data[first["start"]:first["end"]] == GHP.encode()
    assert document["unscanned"] == [{"path": str(tree / "image.png"), "reason": "unscanned: binary"}]
    assert document["summary"] == {"findings": 2, "files_with_findings": 1, "files": 2,
                                   "bytes_scanned": len(data), "unscanned": 1}


def test_too_large_files_are_reported_not_scanned(tmp_path: Path, capsys) -> None:
    (tmp_path / "big.log").write_text(f"GITHUB_TOKEN={GHP}\n" + "x" * (2 << 20))
    assert run("--max-size", "1", str(tmp_path)) == ExitCode.OK
    assert f"{tmp_path}/big.log: unscanned: too large (2.0 MiB)" in capsys.readouterr().out


@pytest.mark.parametrize(("secret", "shown"), [
    ("sk_live_" + "Hq2Wx8Kz" * 4, "sk_l****\u2026Kz"),  # first 4, last 2
    ("Zq9xPw81LmTt77", "****"),  # 16 or fewer characters: nothing shown
], ids=["long", "short"])
def test_preview(tmp_path: Path, capsys, secret: str, shown: str) -> None:
    (tmp_path / "f").write_text(f"x = 1\nSTRIPE_KEY={secret}\nDB=postgres://a:{secret}@h/d\n")
    run(str(tmp_path / "f"))
    out = capsys.readouterr().out
    assert secret not in out and f" {shown}\n" in out


def test_control_characters_never_reach_the_terminal(tmp_path: Path, capsys) -> None:
    (tmp_path / "a\x1b[31mb").write_text(f"GITHUB_TOKEN={GHP}\n")
    run(str(tmp_path))
    out = capsys.readouterr().out
    assert "\x1b" not in out and "a?[31mb:1:" in out


def test_unreadable_and_special_files(tmp_path: Path, capsys) -> None:
    os.mkfifo(tmp_path / "fifo")  # never opened for a blocking read
    (tmp_path / "link").symlink_to(tmp_path / "fifo")
    assert run(str(tmp_path)) == ExitCode.OK
    assert capsys.readouterr().out.strip() == "0 secrets in 0 files (0 files checked, 0.0 MiB scanned)"


def test_bad_arguments_are_jail_errors(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such file or directory"):
        run(str(tmp_path / "missing"))
    with pytest.raises(UsageError, match="--max-size"):
        run("--max-size", "0", str(tmp_path))
    with pytest.raises(CatalogueError, match="unknown secret rule"):
        run("--disable", "no-such-rule", str(tmp_path))


def test_disable_and_rules(tree: Path, capsys) -> None:
    assert run("--disable", "github-pat-classic", "--disable", "postgres-connection-string",
               str(tree / ".env")) == ExitCode.FINDINGS  # generic rules still see the token
    out = capsys.readouterr().out
    assert "github-pat-classic" not in out and "generic-token" in out
    assert run("--rules") == ExitCode.OK
    listing = capsys.readouterr().out
    assert listing.count("\n") >= 70 and "github-pat-classic" in listing


def test_scan_uses_the_profile_redact_section(tmp_path, monkeypatch, capsys):
    from jail.cli import main

    (tmp_path / ".git").mkdir()
    (tmp_path / "jail.toml").write_text(
        '[redact]\nalways = ["*.conf"]\n\n[[redact.rule]]\nid = "acme-token"\ndescription = "ACME token"\n'
        'keywords = ["acme_"]\nregex = \'(?P<secret>acme_[a-z0-9]{20})\'\n')
    (tmp_path / "app.conf").write_text("mode = fast\n")
    (tmp_path / "notes.txt").write_text("key acme_0123456789abcdefghij\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    assert main(["scan", "app.conf", "notes.txt"]) == 1
    out = capsys.readouterr().out
    assert "app.conf:1: env-value (a value in a file the profile marks [redact] always)" in out
    assert "notes.txt:1: acme-token (ACME token)" in out and "acme_0123456789abcdefghij" not in out
    assert main(["scan", "--catalogue-only", "app.conf", "notes.txt"]) == 0
