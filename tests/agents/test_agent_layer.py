"""The agent layer picked from the command line, for real: `jail run -- claude`
may keep Claude Code's state, `--agent none` and other commands may not."""

from __future__ import annotations

import os

import pytest
from agentworld import AgentWorld

pytestmark = pytest.mark.agents


def fake_agent(world: AgentWorld, name: str) -> None:
    """A stand-in executable named like the agent: it tries to write the agent's state."""
    script = world.bin / name
    script.write_text('#!/bin/sh\n'
                      'touch "$HOME/.claude.json" && mkdir -p "$HOME/.claude/todos" && echo kept\n')
    script.chmod(0o755)


def test_the_command_picks_the_agent_layer(agent_world: AgentWorld) -> None:
    fake_agent(agent_world, "claude")
    done = agent_world.run(["claude"])
    assert done.returncode == 0, done.stderr
    assert "kept" in done.stdout
    assert (agent_world.home / ".claude.json").exists()
    assert agent_world.audit_records()[0]["mode"]["agent_profile"] == "claude"


def test_agent_none_leaves_it_out(agent_world: AgentWorld) -> None:
    fake_agent(agent_world, "claude")
    done = agent_world.run(["claude"], jail_args=("--agent", "none"))
    assert "kept" not in done.stdout
    assert not (agent_world.home / ".claude.json").exists()
    assert agent_world.audit_records()[0]["mode"]["agent_profile"] is None


def test_an_alias_through_a_symlink_to_the_package_still_picks_it(agent_world: AgentWorld) -> None:
    package = agent_world.home.parent / "lib/node_modules/@anthropic-ai/claude-code"
    package.mkdir(parents=True)
    fake_agent(agent_world, "real-cli")
    os.replace(agent_world.bin / "real-cli", package / "cli.js")
    (agent_world.bin / "cc").symlink_to(package / "cli.js")
    done = agent_world.run(["cc"])
    assert done.returncode == 0, done.stderr
    assert (agent_world.home / ".claude.json").exists()


def test_another_command_does_not_get_an_agent_layer(agent_world: AgentWorld) -> None:
    fake_agent(agent_world, "my-tool")
    done = agent_world.run(["my-tool"])
    assert "kept" not in done.stdout
    assert not (agent_world.home / ".claude.json").exists()


def test_an_explicit_agent_layer_for_any_command(agent_world: AgentWorld) -> None:
    fake_agent(agent_world, "my-tool")
    done = agent_world.run(["my-tool"], jail_args=("--agent", "claude"))
    assert done.returncode == 0, done.stderr
    assert (agent_world.home / ".claude.json").exists()


def test_an_unknown_agent_is_refused(agent_world: AgentWorld) -> None:
    fake_agent(agent_world, "my-tool")
    done = agent_world.run(["my-tool"], jail_args=("--agent", "clod"))
    assert done.returncode != 0
    assert 'unknown agent "clod"' in done.stderr
    assert not (agent_world.home / ".claude.json").exists()
