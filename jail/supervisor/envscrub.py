"""Keep the agent's own API key from the programs it starts.

A profile passes a few variables through unredacted (the agent's API key).
The agent's children inherit its environment, so at each exec event — the new
image is mapped and stopped before its first instruction — those variables'
values are overwritten in the new process's own memory, unless the new
program is the agent's own executable (node for Claude Code, the codex
binary...). What can be told apart this way is the program, not the intent:
the agent re-running its own interpreter keeps the key.

The value is overwritten in place with a placeholder cut to its length
(NUL-padded when shorter): the environment block cannot grow, and the
process's envp pointers stay valid.
"""

from __future__ import annotations

import fnmatch
import os

from jail import native
from jail.redact import MARKER

SCRUB_LIMIT = 1 << 20  # an environment block larger than this is left alone (and recorded)


def env_range(pid: int) -> tuple[int, int]:
    """(env_start, env_end) of a process, from /proc/PID/stat (fields 50 and 51)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return int(fields[47]), int(fields[48])


def filler(value_length: int) -> bytes:
    if value_length <= len(MARKER):
        return MARKER[:value_length]
    return MARKER + b"\0" * (value_length - len(MARKER))


def scrub_block(block: bytes, passthrough: tuple[str, ...]) -> tuple[bytes, list[str]]:
    """The environment block with passthrough variables' values replaced; and their names."""
    out, scrubbed, position = bytearray(block), [], 0
    for entry in block.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        text = name.decode("utf-8", "surrogateescape")
        if sep and value and any(fnmatch.fnmatchcase(text, pattern) for pattern in passthrough):
            start = position + len(name) + 1
            out[start:start + len(value)] = filler(len(value))
            scrubbed.append(text)
        position += len(entry) + 1
    return bytes(out), scrubbed


def package_root(executable: str) -> str | None:
    """The npm package directory an agent command lives in, if it is one
    (…/node_modules/@openai/codex for the `codex` wrapper script)."""
    path = os.path.realpath(executable)
    directory = os.path.dirname(path)
    while "/node_modules/" in directory + "/":
        if os.path.exists(os.path.join(directory, "package.json")):
            return directory
        directory = os.path.dirname(directory)
    return None


class EnvScrubber:
    def __init__(self, passthrough: tuple[str, ...], agent_pid: int,
                 agent_command: str | None = None) -> None:
        self.passthrough = passthrough
        self.agent_pid = agent_pid
        self.agent_exe: str | None = None
        root = package_root(agent_command) if agent_command else None
        self.agent_root = root + "/" if root else None

    def is_agent_program(self, exe: str) -> bool:
        return exe == self.agent_exe or bool(self.agent_root and exe.startswith(self.agent_root))

    def at_exec(self, pid: int, exe: str) -> list[str]:
        """Scrub a stopped new image; the names scrubbed (for the audit log)."""
        if not self.passthrough:
            return []
        if pid == self.agent_pid:
            # The agent itself, also when it re-execs (a #! launcher running
            # node): its key is for it, and so is its latest program.
            self.agent_exe = exe
            return []
        if self.is_agent_program(exe):
            return []
        start, end = env_range(pid)
        if not 0 < end - start <= SCRUB_LIMIT:
            return []
        block = native.read_bytes(pid, start, end - start)
        new, scrubbed = scrub_block(block, self.passthrough)
        if scrubbed:
            native.write_bytes(pid, start, new)
        return scrubbed
