"""The [redact] section: parsed with lines, merged across layers, never
loosened by a project profile; the session's Redaction built from it; the
passthrough scrub of an environment block."""

from __future__ import annotations

from pathlib import Path

import pytest

from jail.errors import ProfileError
from jail.profile import load_profile, parse_text
from jail.redact import MARKER
from jail.redaction import Redaction
from jail.supervisor.envscrub import filler, scrub_block

pytestmark = pytest.mark.unit

RULE = """
[[redact.rule]]
id = "acme-token"
description = "ACME deploy token"
keywords = ["acme_"]
regex = '(?P<secret>acme_[a-z0-9]{20})'
examples = ["token: acme_0123456789abcdefghij"]
"""


def _load(tmp_path: Path, base: str | None = None, project: str | None = None):
    home, repo, config = tmp_path / "home", tmp_path / "repo", tmp_path / "config"
    (repo / ".git").mkdir(parents=True, exist_ok=True)
    home.mkdir(exist_ok=True)
    if base is not None:
        (config / "jail").mkdir(parents=True, exist_ok=True)
        (config / "jail" / "jail.toml").write_text(base)
    if project is not None:
        (repo / "jail.toml").write_text(project)
    return load_profile(cwd=repo, home=home, env={"XDG_CONFIG_HOME": str(config)})


def test_every_entry_keeps_its_file_and_line():
    parsed = parse_text('[redact]\npassthrough = ["ANTHROPIC_API_KEY", { name = "OPENAI_*", reason = "r" }]\n'
                        'always = ["**/.env*"]\nnever = ["tests/fixtures"]\ndisable = ["generic-password"]\n'
                        + RULE, "p.toml")
    r = parsed.redact
    assert [(x.pattern, x.line) for x in r.passthrough] == [("ANTHROPIC_API_KEY", 2), ("OPENAI_*", 2)]
    assert r.passthrough[1].reason == "r"
    assert [(x.pattern, x.line) for x in r.always + r.never + r.disable] == [
        ("**/.env*", 3), ("tests/fixtures", 4), ("generic-password", 5)]
    assert [rule.id for rule in r.rules] == ["acme-token"] and r.rules[0].where.startswith("p.toml:")


def test_layers_merge_and_a_project_may_add(tmp_path):
    loaded = _load(tmp_path, base='[redact]\npassthrough = ["ACME_KEY"]\nnever = ["~/fixtures"]\n',
                   project='[redact]\nalways = ["*.conf"]\n' + RULE)
    r = loaded.profile.redact
    assert [x.pattern for x in r.passthrough] == ["ACME_KEY"]
    assert [x.pattern for x in r.always] == ["*.conf"] and [x.pattern for x in r.never] == ["~/fixtures"]
    assert [rule.id for rule in r.rules] == ["acme-token"]


@pytest.mark.parametrize("entry, line", [
    ('passthrough = ["AWS_SECRET_ACCESS_KEY"]', 2), ('never = ["**"]', 2),
    ('disable = ["aws-access-key-id"]', 2)])
def test_a_project_profile_may_not_hide_less(tmp_path, entry, line):
    with pytest.raises(ProfileError, match="may only add to redaction") as caught:
        _load(tmp_path, project=f"[redact]\n{entry}\n")
    assert caught.value.line == line and caught.value.source.endswith("jail.toml")


def test_a_project_profile_may_not_replace_a_builtin_rule(tmp_path):
    weak = RULE.replace('"acme-token"', '"github-pat-classic"')
    with pytest.raises(ProfileError, match="would replace the built-in rule"):
        _load(tmp_path, project=weak)


def test_redaction_from_settings(tmp_path):
    loaded = _load(tmp_path, base='[redact]\npassthrough = ["ACME_KEY"]\ndisable = ["generic-password"]\n'
                   'never = ["~/fixtures"]\n', project='[redact]\nalways = ["**/*.conf"]\n' + RULE)
    home = tmp_path / "home"
    redaction = Redaction.from_settings(loaded.profile.redact, home=home, workspace=loaded.profile.workspace)
    assert redaction.scanner.rule("acme-token") is not None
    assert redaction.scanner.rule("generic-password") is None
    assert redaction.every_value(str(loaded.profile.workspace / "x" / "app.conf"))
    assert redaction.never_scanned(str(home / "fixtures" / "a.txt"))
    assert not redaction.never_scanned(str(home / "other.txt"))
    env, _ = redaction.environment({"ACME_KEY": "acme_0123456789abcdefghij",
                                           "DEPLOY": "acme_0123456789abcdefghij", "X": "1"})
    assert env["ACME_KEY"] == "acme_0123456789abcdefghij" and env["X"] == "1"
    assert env["DEPLOY"].startswith("REDACTED_BY_POLICY:acme-token:")
    other, _ = redaction.other_environment({"ACME_KEY": "acme_0123456789abcdefghij"})
    assert "acme_0123456789abcdefghij" not in other["ACME_KEY"]


def test_disabling_an_unknown_rule_names_the_line(tmp_path):
    loaded = _load(tmp_path, base='[redact]\n\ndisable = ["no-such-rule"]\n')
    with pytest.raises(ProfileError, match='unknown secret rule "no-such-rule"') as caught:
        Redaction.from_settings(loaded.profile.redact, home=tmp_path, workspace=tmp_path)
    assert caught.value.line == 3


def test_scrub_keeps_the_block_size_and_every_other_variable():
    block = b"A=1\0ACME_KEY=" + b"k" * 40 + b"\0B=2\0SHORT_KEY=abc\0EMPTY_KEY=\0"
    new, names = scrub_block(block, ("ACME_KEY", "*_KEY"))
    assert len(new) == len(block) and names == ["ACME_KEY", "SHORT_KEY"]
    assert b"k" * 5 not in new and b"abc" not in new
    assert new.startswith(b"A=1\0ACME_KEY=" + MARKER) and b"\0B=2\0SHORT_KEY=RED\0EMPTY_KEY=\0" in new
    assert filler(3) == MARKER[:3] and filler(20) == MARKER + b"\0\0"


def test_jail_check_runs_a_profile_secret_rules_examples(tmp_path):
    from jail.profile import run_examples

    bad = RULE.replace('examples = ["token: acme_0123456789abcdefghij"]',
                       'examples = ["token: acme_0123456789abcdefghij", "acme_short"]\n'
                       'counterexamples = ["see acme_ docs"]')
    loaded = _load(tmp_path, project="[redact]\n" + bad)
    count, failures = run_examples(loaded.profile, home=tmp_path / "home")
    assert count >= 3
    assert [(f.example, f.expected) for f in failures] == [("acme_short", True)]
    assert "acme-token should cover" in str(failures[0])


def test_the_agents_own_package_keeps_its_key(tmp_path):
    from jail.supervisor.envscrub import EnvScrubber, package_root

    package = tmp_path / "lib" / "node_modules" / "@openai" / "codex"
    (package / "bin").mkdir(parents=True)
    (package / "vendor").mkdir()
    (package / "package.json").write_text("{}")
    (package / "bin" / "codex.js").write_text("#!/usr/bin/env node\n")
    link = tmp_path / "bin" / "codex"
    link.parent.mkdir()
    link.symlink_to(package / "bin" / "codex.js")
    assert package_root(str(link)) == str(package)
    assert package_root("/usr/bin/env") is None
    scrubber = EnvScrubber(("OPENAI_API_KEY",), agent_pid=10, agent_command=str(link))
    scrubber.agent_exe = "/usr/bin/node"
    assert scrubber.is_agent_program(str(package / "vendor" / "codex"))
    assert scrubber.is_agent_program("/usr/bin/node")
    assert not scrubber.is_agent_program("/usr/bin/bash")
    assert not scrubber.is_agent_program(str(package) + "-evil/x")


def test_approval_section_merges_last_wins_and_allow_only_from_the_base(tmp_path):
    loaded = _load(tmp_path, base='[approval]\ntimeout = "5m"\nwhen_no_one_answers = "allow"\n',
                   project='[approval]\ntimeout = 30\n')
    approval = loaded.profile.approval
    assert (approval.timeout, approval.fallback) == (30.0, "allow")
    assert approval.timeout_where.endswith("jail.toml:2") and approval.fallback_where.endswith("jail.toml:3")
    assert _load(tmp_path / "b").profile.approval.fallback == "deny"
    with pytest.raises(ProfileError, match="may not choose that") as caught:
        _load(tmp_path / "c", project='[approval]\nwhen_no_one_answers = "allow"\n')
    assert caught.value.line == 2
