"""Which agent a command starts, so `jail run -- claude` gets Claude Code's profile.

Pure: the caller hands in the command line and, when it has one, the real path
of the executable (symlinks resolved): `claude` installed by npm is a symlink to
.../node_modules/@anthropic-ai/claude-code/cli.js, so a renamed or aliased
link still names its package. Only cheap clues are used: names and paths,
never the file's contents.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Agent:
    profile: str  # the built-in profile's name (profiles/NAME.toml)
    title: str
    commands: tuple[str, ...]  # executable basenames that start it
    packages: tuple[str, ...]  # path fragments of its installations (npm, PyPI, installers)


AGENTS = (
    Agent("claude", "Claude Code", ("claude", "claude-code"),
          ("/node_modules/@anthropic-ai/claude-code/", "/.local/share/claude/versions/")),
    Agent("codex", "OpenAI Codex CLI", ("codex",), ("/node_modules/@openai/codex/",)),
    Agent("gemini", "Gemini CLI", ("gemini",), ("/node_modules/@google/gemini-cli/",)),
    Agent("cursor-agent", "Cursor CLI", ("cursor-agent",), ("/.local/share/cursor-agent/",)),
    Agent("opencode", "opencode", ("opencode",),
          ("/node_modules/opencode-ai/", "/node_modules/opencode-linux-", "/.opencode/bin/")),
    Agent("aider", "aider", ("aider",), ("/site-packages/aider/", "/aider-chat/", "/aider-install/")),
)

BY_PROFILE = {agent.profile: agent for agent in AGENTS}
_BY_COMMAND = {command: agent for agent in AGENTS for command in agent.commands}

# Programs that start another program named by a later argument.
_RUNNERS = frozenset({"node", "nodejs", "bun", "deno", "npx", "bunx", "pnpx", "uvx", "pipx", "env",
                      "python", "python3", "uv", "nice", "nohup", "time", "exec"})
# Runner arguments that are a subcommand or option, not the program ("uv run aider", "pipx run aider").
_RUNNER_WORDS = frozenset({"run", "exec", "tool", "x", "dlx"})


def agent_named(name: str) -> Agent | None:
    return BY_PROFILE.get(name)


def detect_agent(argv: Sequence[str], executable: str | None = None) -> Agent | None:
    """The agent `argv` starts, or None. `executable` is argv[0] found on PATH
    with its symlinks resolved, when the caller has it."""
    if not argv:
        return None
    found = _by_name(argv[0]) or (_by_path(executable) if executable else None) or _by_path(argv[0])
    if found:
        return found
    if _is_runner(argv[0]):
        return _through_runner(argv[1:])
    return None


def _through_runner(rest: Sequence[str]) -> Agent | None:
    """`node /path/cli.js`, `npx @anthropic-ai/claude-code`, `env A=1 claude`, `python -m aider`."""
    for index, word in enumerate(rest):
        if word == "-m" and index + 1 < len(rest):  # python -m aider
            return _by_name(rest[index + 1].split(".", 1)[0])
        if word.startswith("-") or "=" in word or word in _RUNNER_WORDS:
            continue
        return _by_name(word) or _by_path(word) or _by_package(word) or (
            _through_runner(rest[index + 1:]) if _is_runner(word) else None)
    return None


def _by_name(word: str) -> Agent | None:
    return _BY_COMMAND.get(_base(word))


def _by_path(path: str) -> Agent | None:
    normal = posixpath.normpath(path) + "/"
    for agent in AGENTS:
        if any(fragment in normal for fragment in agent.packages):
            return agent
    return None


def _by_package(word: str) -> Agent | None:
    """An npm or PyPI package spec: "@anthropic-ai/claude-code@2.1.0", "aider-chat"."""
    name = word.rsplit("@", 1)[0] if word.rfind("@") > 0 else word
    return _by_path(f"/node_modules/{name}/") or (BY_PROFILE["aider"] if name == "aider-chat" else None)


def _is_runner(word: str) -> bool:
    base = _base(word)
    return base in _RUNNERS or base.startswith("python")


def _base(word: str) -> str:
    return posixpath.basename(word.rstrip("/"))
