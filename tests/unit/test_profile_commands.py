"""jail check / explain / profile / trust, run in-process against a throw-away home."""

from __future__ import annotations

import argparse
import json
import re
import textwrap
from pathlib import Path

import pytest

from jail.commands import check, explain, profile, trust
from jail.errors import ExitCode, JailError, UntrustedProfileError
from jail.profile import trust_status

pytestmark = pytest.mark.unit

PROJECT = textwrap.dedent("""\
    extends = ["default"]
    [files]
    deny = [
      { path = "secrets", reason = "prod keys", match = ["secrets/a.pem"], no_match = ["secretsx"] },
    ]
    """)


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "proj"
    workspace.mkdir()
    (workspace / "jail.toml").write_text(PROJECT)
    monkeypatch.setenv("HOME", str(home))
    for name in ("XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(workspace)
    return workspace


def jail(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="jail")
    sub = parser.add_subparsers()
    for module in (check, explain, profile, trust):
        module.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_check_passes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert jail("check") == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("ok: ") and out.count("\n") == 1
    assert "examples pass" in out and "not trusted yet" in out


def test_check_reports_every_problem_with_file_and_line(project: Path, capsys) -> None:
    (project / "jail.toml").write_text("[workspace]\nwrtable = []\n[files]\ndeny = ['/a/[']\n")
    assert jail("check") == ExitCode.INVALID
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f'{project}/jail.toml:2: unknown key "wrtable" in [workspace]'
    assert out[1] == '    hint: did you mean "writable"?'
    assert out[2].startswith(f"{project}/jail.toml:4: bad pattern")


def test_check_runs_the_examples(project: Path, capsys) -> None:
    (project / "jail.toml").write_text(PROJECT.replace('no_match = ["secretsx"]',
                                                       'no_match = ["secrets/b"]'))
    assert jail("check") == ExitCode.INVALID
    out = capsys.readouterr().out
    assert out == (f'{project}/jail.toml:4: secrets should not cover example "secrets/b", '
                   "but it does\n")


def test_check_a_named_profile(project: Path, capsys) -> None:
    assert jail("check", "strict") == ExitCode.OK
    assert "strict.toml" in capsys.readouterr().out


def test_explain(project: Path, capsys) -> None:
    assert jail("explain", "read", "~/.ssh/id_rsa") == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("deny: read ~/.ssh/id_rsa\n")
    assert "default.toml:" in out and "(files.deny)" in out and "SSH private keys" in out
    assert jail("explain", "write", "secrets/x.pem") == ExitCode.OK
    out = capsys.readouterr().out
    assert f"{project}/jail.toml:4 (files.deny)" in out and "prod keys" in out
    assert jail("explain", "write", "src/main.py", "--profile", "strict") == ExitCode.OK
    assert capsys.readouterr().out.startswith("allow: write")
    assert jail("explain", "write", "jail.toml") == ExitCode.OK
    assert "jail.protected" in capsys.readouterr().out


def test_profile_show(project: Path, capsys) -> None:
    assert jail("profile", "show") == ExitCode.OK
    out = capsys.readouterr().out
    assert "deny: can be neither read nor written" in out
    assert "~/.ssh" in out and "default.toml:" in out
    line = next(line for line in out.splitlines() if line.lstrip().startswith("secrets "))
    assert line.endswith(f"{project}/jail.toml:4  # prod keys")


def test_profile_show_json(project: Path, capsys) -> None:
    assert jail("profile", "show", "--json", "--profile", "strict") == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["workspace"] == str(project)
    assert data["readable"] and data["deny"][0]["where"].startswith("default.toml:")
    assert "/var/tmp" not in data["writable_roots"]


def test_profile_show_lists_network_redact_approval_and_exec(project: Path, capsys) -> None:
    (project / "jail.toml").write_text('[network]\nallow = ["github.com:443"]\n'
                                       '[redact]\nalways = ["*.conf"]\n'
                                       '[approval]\ntimeout = "30s"\n')
    assert jail("profile", "show") == ExitCode.OK
    out = capsys.readouterr().out
    assert "network: connections are asked unless a rule says otherwise" in out
    github = next(line for line in out.splitlines() if "github.com:443" in line)
    assert github.endswith(f"{project}/jail.toml:2")
    assert "deny  unix /var/run/docker.sock" in out
    assert next(line for line in out.splitlines() if "*.conf" in line).lstrip().startswith("always ")
    assert f"waits 30 s ({project}/jail.toml:6)" in out and "deny (jail's default)" in out
    assert re.search(r"\nexec: [1-9]\d* rules", out)  # the destructive catalogue the default includes
    assert jail("profile", "show", "--json") == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["approval"]["timeout"] == 30.0 and data["redact"]["always"][0]["pattern"] == "*.conf"
    assert any(rule["pattern"] == "github.com:443" and rule["kind"] == "network.allow"
               for rule in data["network"]["rules"])


def test_profile_list(project: Path, capsys) -> None:
    assert jail("profile", "list") == ExitCode.OK
    out = capsys.readouterr().out
    assert "\ndefault " in f"\n{out}" and "\nstrict " in out and "\nclaude " in out


def test_trust_yes_then_already_trusted(project: Path, capsys) -> None:
    assert jail("trust", "--yes") == ExitCode.OK
    assert capsys.readouterr().out.startswith("trusted: ")
    assert trust_status([project / "jail.toml"]).trusted
    assert jail("trust", str(project)) == ExitCode.OK
    assert capsys.readouterr().out.startswith("already trusted: ")


def test_trust_without_a_terminal_refuses(project: Path, monkeypatch) -> None:
    monkeypatch.setattr(trust, "has_terminal", lambda: False)
    with pytest.raises(UntrustedProfileError) as caught:
        jail("trust")
    assert "--yes" in caught.value.hint
    assert not trust_status([project / "jail.toml"]).trusted


def test_trust_asks_on_the_terminal(project: Path, monkeypatch, capsys) -> None:
    asked: list[str] = []
    monkeypatch.setattr(trust, "has_terminal", lambda: True)
    monkeypatch.setattr(trust, "ask_on_terminal", lambda text: asked.append(text) or True)
    assert jail("trust", "jail.toml") == ExitCode.OK
    assert "prod keys" in asked[0]
    assert trust_status([project / "jail.toml"]).trusted


def test_trust_with_nothing_to_trust(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert jail("trust") == ExitCode.OK
    assert capsys.readouterr().out.startswith("nothing to trust")


def test_an_invalid_profile_is_a_jail_error_elsewhere(project: Path) -> None:
    (project / "jail.toml").write_text("[approval]\ntimeout = 'soon'\n")
    with pytest.raises(JailError, match=r"jail\.toml:2: \"approval\.timeout\" must be a duration"):
        jail("explain", "read", "x")
