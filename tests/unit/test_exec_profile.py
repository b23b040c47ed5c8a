"""[exec] in profile files: checked with file:line, layered with the catalogue, explained,
and kept pure."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jail.commands import check, explain
from jail.errors import ExitCode, ProfileError
from jail.profile import CombinedProfileError, load_profile, merge, parse_text, run_examples
from jail.profile.model import EXEC_ALLOW, EXEC_ASK, EXEC_DENY

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]


def test_the_format_of_the_design() -> None:
    parsed = parse_text(textwrap.dedent("""\
        [exec]
        catalogue = true
        ask   = ["terraform destroy *", { command = "kubectl delete *", reason = "deletes cluster objects",
                 match = ["kubectl delete ns prod"], no_match = ["kubectl get pods"] }]
        deny  = ["mkfs*"]
        allow = ["terraform destroy -target=module.scratch *"]
        """), "p.toml")
    assert parsed.catalogue is True and parsed.catalogue_line == 2
    shown = [(r.kind, r.pattern, r.line) for r in parsed.exec_rules]
    assert shown == [(EXEC_ASK, "terraform destroy *", 3), (EXEC_ASK, "kubectl delete *", 3),
                     (EXEC_DENY, "mkfs*", 5), (EXEC_ALLOW, "terraform destroy -target=module.scratch *", 6)]
    kubectl = parsed.exec_rules[1]
    assert kubectl.reason == "deletes cluster objects" and kubectl.match == ("kubectl delete ns prod",)


def test_tables_of_rules_take_the_line_of_their_contents() -> None:
    parsed = parse_text(textwrap.dedent("""\
        [[exec.ask]]
        command = "psql *"
        when = ["destructive-sql"]
        reason = "drops data"

        [[exec.deny]]
        command = "dd *"
        when = "device"
        """), "p.toml")
    assert [(r.kind, r.line, r.when) for r in parsed.exec_rules] == [
        (EXEC_ASK, 2, ("destructive-sql",)), (EXEC_DENY, 7, ("device",))]


# (profile text, line, message fragment, hint fragment or None)
CASES = [
    ("[exec]\nask = 'terraform destroy *'\n", 2, '"exec.ask" must be an array of commands', "write ask = "),
    ("[exec]\nasks = []\n", 2, 'unknown key "asks" in [exec]', 'did you mean "ask"?'),
    ("[exec]\ncatalogue = 'yes'\n", 2, '"exec.catalogue" must be true or false', "catalogue = true"),
    ("[exec]\nask = [\n  'ok *',\n  'bad \"quote',\n]\n", 4, 'bad command "bad "quote": cannot split', None),
    ("[exec]\ndeny = ['/sbin/mkfs *']\n", 2, "name the program, not a path", None),
    ("[exec]\nask = [3]\n", 2, 'each entry in "exec.ask" must be a command or a table', None),
    ("[exec]\nask = [{ reason = 'x' }]\n", 2, 'needs a "command"', "command = "),
    ("[exec]\nask = [{ command = 1 }]\n", 2, '"command" must be a string', None),
    ("[exec]\nask = [{ command = 'x', resaon = 'r' }]\n", 2, 'unknown key "resaon"',
     'did you mean "reason"?'),
    ("[exec]\nask = [{ command = 'x', path = 'r' }]\n", 2, 'unknown key "path"', None),
    ("[exec]\nask = [{ command = 'rm -r *',\n  when = 'outside-workspac' }]\n", 3,
     'unknown condition "outside-workspac"', 'did you mean "outside-workspace"?'),
    ("[exec]\nask = [{ command = 'x', sha256 = ['abc'] }]\n", 2, "is not a sha256 digest", None),
    ("[exec]\nask = [{ command = 'x',\n  match = ['']}]\n", 3, 'each "match" entry must be a non-empty',
     None),
    ("[exec]\nask = [{ command = 'x', no_match = ['a \"b'] }]\n", 2, 'bad example "a "b"', None),
    ("\n\n[[exec.ask]]\ncommand = 'x'\nwhen = 'nope'\n", 5, 'unknown condition "nope"', None),
    ("[[exec.ask]]\nreason = 'r'\n", 2, 'needs a "command"', None),
    ("exec = 1\n", 1, '"exec" must be a table', None),
]


@pytest.mark.parametrize(("text", "line", "message", "hint"), CASES)
def test_bad_exec_entries_name_file_and_line(tmp_path: Path, text: str, line: int, message: str,
                                             hint: str | None) -> None:
    project = tmp_path / "proj"
    project.mkdir()
    path = project / "jail.toml"
    path.write_text(text)
    with pytest.raises(ProfileError) as caught:
        load_profile(cwd=project, home=tmp_path / "home", env={})
    error = caught.value
    errors = getattr(error, "errors", [error])
    assert any(e.line == line and message in str(e) for e in errors), [str(e) for e in errors]
    assert str(errors[0]).startswith(f"{path}:")
    if hint is not None:
        assert any(e.hint and hint in e.hint for e in errors)


def test_every_exec_problem_is_listed() -> None:
    with pytest.raises(CombinedProfileError) as caught:
        parse_text("[exec]\nask = ['a \"']\ndeny = [{ command = 'x', when = 'q' }]\n", "p.toml")
    assert sorted(e.line for e in caught.value.errors) == [2, 3]


def test_catalogue_is_a_layer_before_the_file_that_asks_for_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "jail.toml").write_text('extends = []\n[exec]\ncatalogue = true\n'
                                    'allow = ["terraform destroy -target=module.scratch *"]\n')
    loaded = load_profile(cwd=repo, home=tmp_path / "home", env={})
    names = [path.name for path in loaded.profile.sources]
    assert names == ["destructive.toml", "default.toml", "jail.toml"]
    layers = {Path(rule.source).name: rule.layer for rule in loaded.profile.exec_rules}
    assert layers == {"destructive.toml": 0, "jail.toml": 2}
    assert any(path.name == "destructive.toml" for path in loaded.all_files)  # write-protected


def test_a_later_catalogue_false_does_not_take_it_out(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "jail.toml").write_text('[exec]\ncatalogue = false\n')
    loaded = load_profile(cwd=repo, home=tmp_path / "home", env={})
    assert any(rule.source == "destructive.toml" for rule in loaded.profile.exec_rules)


def test_without_the_catalogue_there_are_no_exec_rules() -> None:
    merged = merge([parse_text('[files]\ndeny = ["/x"]\n', "a.toml")], Path("/w"))
    assert merged.exec_rules == ()


def test_exec_examples_run_and_failures_name_the_rule() -> None:
    parsed = parse_text('[exec]\nask = [\n  { command = "terraform destroy *",\n'
                        '    match = ["terraform plan"], no_match = ["terraform destroy"] },\n]\n',
                        "p.toml")
    count, failures = run_examples(merge([parsed], Path("/w")), home=Path("/h"))
    assert count == 2
    assert [str(f) for f in failures] == [
        'terraform destroy * should cover example "terraform plan", but it does not',
        'terraform destroy * should not cover example "terraform destroy", but it does']
    assert {f.rule.where for f in failures} == {"p.toml:3"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    workspace = tmp_path / "proj"
    workspace.mkdir()
    (workspace / ".git").mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    monkeypatch.chdir(workspace)
    return workspace


def jail(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="jail")
    sub = parser.add_subparsers()
    for module in (check, explain):
        module.add_parser(sub)
    args = parser.parse_args(argv)
    return int(args.func(args))


def test_explain_exec_names_file_line_and_reason(project: Path, capsys) -> None:
    assert jail("explain", "exec", "--", "terraform", "destroy") == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "ask: terraform destroy"
    assert out[1].startswith("  rule     destructive.toml:") and out[1].endswith("(exec.ask)")
    assert out[2] == "  pattern  terraform destroy *"
    assert out[3] == "  reason   destroys every resource the Terraform state manages"


def test_explain_exec_shows_the_command_found_inside(project: Path, capsys) -> None:
    assert jail("explain", "exec", "--", "bash", "-c", "cd infra && terraform destroy -auto-approve") \
        == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("ask: bash -c 'cd infra && terraform destroy -auto-approve'\n")
    assert "  matched  terraform destroy -auto-approve  (bash -c, command 2)\n" in out


def test_explain_exec_with_a_project_allow_and_loader_variables(project: Path, capsys) -> None:
    (project / "jail.toml").write_text('extends = ["default"]\n[exec]\n'
                                       'allow = ["terraform destroy -target=module.scratch *"]\n')
    assert jail("explain", "exec", "--", "terraform", "destroy", "-target=module.scratch") == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("allow: terraform destroy -target=module.scratch\n")
    assert f"  rule     {project}/jail.toml:3 (exec.allow)" in out
    assert "  also     ask destructive.toml:" in out
    assert jail("explain", "exec", "--", "LD_PRELOAD=/x.so", "terraform", "destroy") == ExitCode.OK
    out = capsys.readouterr().out
    assert out.startswith("deny: terraform destroy\n") and "(jail.exec_loader)" in out


def test_explain_exec_allowed_and_usage(project: Path, capsys) -> None:
    assert jail("explain", "exec", "--", "ls", "-la") == ExitCode.OK
    assert capsys.readouterr().out.startswith("allow: ls -la\n  rule     <jail> (jail.exec_default)")
    with pytest.raises(Exception, match="takes one path"):
        jail("explain", "read", "a", "b")


def test_check_reports_a_failing_exec_example(project: Path, capsys) -> None:
    (project / "jail.toml").write_text('[exec]\nask = [{ command = "kubectl delete *",\n'
                                       '  match = ["kubectl get pods"] }]\n')
    assert jail("check") == ExitCode.INVALID
    out = capsys.readouterr().out
    assert f'{project}/jail.toml:2: kubectl delete * should cover example "kubectl get pods"' in out


def test_exec_policy_imports_nothing_impure() -> None:
    forbidden = ("jail.supervisor", "jail.native", "jail._native", "textual", "ctypes", "cffi",
                 "_cffi_backend")
    code = ("import json, sys\nimport jail.exec_policy, jail.policy, jail.profile\n"
            "import jail.execrules.conditions, jail.execrules.invocations\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                            check=True, timeout=60)
    loaded = json.loads(result.stdout)
    assert [n for n in loaded if any(n == f or n.startswith(f + ".") for f in forbidden)] == []
    assert "jail.execrules.shell" in loaded
