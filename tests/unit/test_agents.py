"""Agent detection from the command line, the agent layer in the loader, and
the per-agent built-in profiles themselves."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from jail.agents import AGENTS, BY_PROFILE, detect_agent
from jail.commands import profiles as profiles_command
from jail.errors import ProfileError
from jail.policy import Access, FileEvent, Policy, PolicyContext
from jail.profile import builtin_names, load_profile, read_builtin
from jail.profile.schema import parse_text

pytestmark = pytest.mark.unit

CLAUDE_JS = "/usr/lib/node_modules/@anthropic-ai/claude-code/cli.js"

# (argv, resolved executable or None, expected profile or None)
DETECTION = [
    (["claude", "-p", "hi"], None, "claude"),
    (["/usr/local/bin/claude"], None, "claude"),
    (["cc"], CLAUDE_JS, "claude"),  # an alias symlink still names its package
    (["node", CLAUDE_JS, "-p", "x"], "/usr/bin/node", "claude"),
    (["npx", "-y", "@anthropic-ai/claude-code@2.1.0"], "/usr/bin/npx", "claude"),
    (["env", "FOO=1", "claude"], "/usr/bin/env", "claude"),
    (["codex", "exec", "x"], None, "codex"),
    (["x"], "/home/a/.npm-global/lib/node_modules/@openai/codex/bin/codex.js", "codex"),
    (["gemini"], None, "gemini"),
    (["npx", "@google/gemini-cli"], None, "gemini"),
    (["cursor-agent", "-p"], None, "cursor-agent"),
    (["agent"], "/home/a/.local/share/cursor-agent/versions/2025.10.1/cursor-agent", "cursor-agent"),
    (["opencode", "run"], None, "opencode"),
    (["aider", "--model", "x"], None, "aider"),
    (["python3", "-m", "aider"], None, "aider"),
    (["python3.11", "-m", "aider.main"], None, "aider"),
    (["uvx", "aider-chat"], None, "aider"),
    (["pipx", "run", "aider-chat"], None, "aider"),
    # Not agents: nothing is guessed.
    (["bash", "-c", "claude"], "/usr/bin/bash", None),
    (["node", "server.js"], "/usr/bin/node", None),
    (["python3", "-m", "http.server"], None, None),
    (["ls", "/node_modules"], "/usr/bin/ls", None),
    (["claudette"], None, None),
    ([], None, None),
]


@pytest.mark.parametrize(("argv", "executable", "expected"), DETECTION)
def test_detect_agent(argv, executable, expected) -> None:
    found = detect_agent(argv, executable)
    assert (found.profile if found else None) == expected


@pytest.mark.parametrize("agent", AGENTS, ids=lambda a: a.profile)
def test_every_agent_has_a_builtin_profile_that_extends_default(agent) -> None:
    found = read_builtin(agent.profile)
    assert found is not None, f"profiles/{agent.profile}.toml is missing"
    parsed = parse_text(found.data.decode(), found.source)
    assert [name for name, _line in parsed.extends] == ["default"]
    assert parsed.description
    assert parsed.writable, "an agent profile names its own state dirs"
    rules = [*parsed.writable, *parsed.deny, *parsed.redact.passthrough, *parsed.redact.never]
    assert all(rule.reason for rule in rules), [r.pattern for r in rules if not r.reason]
    assert parsed.redact.passthrough, "the agent's own API key reaches it"
    # An agent profile only adds places of its own: never the home or the project's parents.
    for rule in parsed.writable:
        assert rule.pattern.startswith("~/.") and rule.pattern.count("/") >= 1, rule.pattern


def test_agent_profiles_are_listed_with_the_commands_that_choose_them() -> None:
    rows = {row["name"]: row for row in profiles_command.rows()}
    assert set(BY_PROFILE) <= set(rows)
    assert rows["claude"]["commands"] == ["claude", "claude-code"]
    assert rows["default"]["commands"] == []
    assert all(row["description"] for row in rows.values())
    assert set(BY_PROFILE) <= set(builtin_names())


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    # The home is never read; it must lie outside /tmp, which "default" makes writable.
    home, repo = Path("/home/person-under-test"), tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    return {"home": home, "repo": repo, "env": {"XDG_CONFIG_HOME": str(tmp_path / "config")}}


def policy_of(world, **kwargs) -> Policy:
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=world["env"], **kwargs)
    return Policy.from_profile(loaded.profile, PolicyContext.for_person(home=world["home"], env=world["env"]))


def may(policy: Policy, access: str, path: Path) -> bool:
    return policy.decide_file(FileEvent(Access(access), str(path))).allowed


def test_the_agent_layer_makes_its_state_writable_and_keeps_every_denial(world) -> None:
    home = world["home"]
    bare, claude = policy_of(world), policy_of(world, agent="claude")
    assert not may(bare, "write", home / ".claude/settings.json")
    assert may(claude, "write", home / ".claude/settings.json")
    assert may(claude, "create", home / ".claude.json")
    assert not may(claude, "write", home / ".claudex")
    assert not may(claude, "read", home / ".ssh/id_ed25519")
    assert not may(claude, "write", home / ".codex/auth.json")  # another agent's state stays read-only


def test_a_project_profile_extending_default_still_gets_the_agent_layer(world) -> None:
    (world["repo"] / "jail.toml").write_text(
        'extends = ["default"]\n[files]\ndeny = ["~/.claude/projects"]\n')
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=world["env"], agent="codex")
    names = [path.name for path in loaded.profile.sources]
    assert names.index("default.toml") < names.index("codex.toml") < names.index("jail.toml")
    assert loaded.project_files == (world["repo"] / "jail.toml",)
    policy = policy_of(world, agent="claude")
    assert may(policy, "write", world["home"] / ".claude/todos/a.json")
    assert not may(policy, "read", world["home"] / ".claude/projects/x.jsonl")  # the project's deny wins


def test_an_explicit_profile_replaces_the_agent_layer(world) -> None:
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=world["env"], agent="claude",
                          profile="strict")
    assert "claude.toml" not in [path.name for path in loaded.profile.sources]


def test_the_agent_layer_passes_only_its_own_key(world) -> None:
    loaded = load_profile(cwd=world["repo"], home=world["home"], env=world["env"], agent="claude")
    names = {rule.pattern for rule in loaded.profile.redact.passthrough}
    assert "ANTHROPIC_API_KEY" in names
    assert "OPENAI_API_KEY" not in names
    plain = load_profile(cwd=world["repo"], home=world["home"], env=world["env"])
    assert not plain.profile.redact.passthrough


def test_an_unknown_agent_is_a_clear_error(world) -> None:
    with pytest.raises(ProfileError, match='unknown built-in profile "clade"') as caught:
        load_profile(cwd=world["repo"], home=world["home"], env=world["env"], agent="clade")
    assert "claude" in (caught.value.hint or "")


def test_run_agent_flag(monkeypatch) -> None:
    from jail.commands.run import _agent_layer
    from jail.errors import UsageError

    env = {"PATH": "/nonexistent"}
    assert _agent_layer(None, ["claude", "-p", "x"], env) == "claude"
    assert _agent_layer("none", ["claude"], env) is None
    assert _agent_layer("codex", ["bash"], env) == "codex"
    assert _agent_layer(None, ["bash"], env) is None
    with pytest.raises(UsageError, match="unknown agent"):
        _agent_layer("gpt", ["bash"], env)


def test_profiles_command_prints_descriptions(capsys) -> None:
    assert profiles_command.run(argparse.Namespace(json=False)) == 0
    out = capsys.readouterr().out
    assert "chosen by: jail run -- claude" in out
    assert "Claude Code:" in out


@pytest.mark.parametrize("agent", AGENTS, ids=lambda a: a.profile)
def test_never_redacted_places_are_not_writable(world, agent) -> None:
    """A file moved into a never-scanned place would be read unredacted; so
    every such place of an agent profile must be out of the agent's reach."""
    home = world["home"]
    loaded = load_profile(cwd=world["repo"], home=home, env=world["env"], agent=agent.profile)
    policy = Policy.from_profile(loaded.profile, PolicyContext.for_person(home=home, env=world["env"]))
    for rule in loaded.profile.redact.never:
        sample = rule.pattern.replace("**", "x").replace("*", "v20")
        sample = str(home) + sample[1:] if sample.startswith("~") else sample
        assert sample.startswith("/"), rule.pattern
        for access in ("create", "write"):
            assert not may(policy, access, Path(sample) / "stolen.env"), (rule.pattern, access)


# (agent, destination, expected verdict): each agent reaches its own provider, not the others'.
CONNECTIONS = [
    ("claude", "api.anthropic.com:443", "allow"),
    ("claude", "api.openai.com:443", "ask"),
    ("claude", "api.anthropic.com:80", "ask"),
    ("codex", "api.openai.com:443", "allow"),
    ("codex", "api.anthropic.com:443", "ask"),
    ("gemini", "generativelanguage.googleapis.com:443", "allow"),
    ("gemini", "play.googleapis.com:443", "deny"),
    ("cursor-agent", "api2.cursor.sh:443", "allow"),
    ("opencode", "models.dev:443", "allow"),
    ("aider", "pypi.org:443", "allow"),
    ("aider", "evil.example.com:443", "ask"),
]


@pytest.mark.parametrize(("agent", "target", "expected"), CONNECTIONS)
def test_agent_network_rules(world, agent, target, expected) -> None:
    from jail.network.rules import parse_example

    policy = policy_of(world, agent=agent)
    assert policy.network.explain(parse_example(target)).verdict.action.value == expected


def test_without_the_agent_layer_its_api_is_asked(world) -> None:
    from jail.network.rules import parse_example

    decision = policy_of(world).network.explain(parse_example("api.anthropic.com:443"))
    assert decision.verdict.action.value == "ask"

