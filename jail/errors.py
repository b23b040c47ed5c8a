"""One exception hierarchy and the exit codes jail itself uses.

The command's own exit status passes through `jail run` untouched; jail's own
failures use the 125-127 range, as container runtimes do, so a script can tell
"the agent failed" from "jail refused".
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FINDINGS = 1  # a check found something (jail scan, jail log --verify)
    INVALID = 2  # bad usage or an invalid profile
    UNTRUSTED = 3  # a project profile the person has not trusted
    JAIL_FAILED = 125  # jail could not set up or keep up the sandbox
    CANNOT_EXECUTE = 126
    NOT_FOUND = 127


class JailError(Exception):
    """An error jail reports as one line on stderr."""

    exit_code: ExitCode = ExitCode.JAIL_FAILED

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.hint = hint


class UsageError(JailError):
    exit_code = ExitCode.INVALID


class ProfileError(JailError):
    """A profile that cannot be used: names file, line and what was expected."""

    exit_code = ExitCode.INVALID

    def __init__(self, message: str, source: str | None = None, line: int | None = None,
                 hint: str | None = None) -> None:
        where = f"{source}:{line}: " if source and line else (f"{source}: " if source else "")
        super().__init__(f"{where}{message}", hint)
        self.source = source
        self.line = line


class UntrustedProfileError(JailError):
    exit_code = ExitCode.UNTRUSTED


class SandboxError(JailError):
    """The sandbox could not be set up; the command was not started."""

    exit_code = ExitCode.JAIL_FAILED


class CommandNotFound(JailError):
    exit_code = ExitCode.NOT_FOUND


class CannotExecute(JailError):
    exit_code = ExitCode.CANNOT_EXECUTE


class SupervisorFailed(JailError):
    """The supervisor stopped; the sandbox was torn down (fail closed)."""

    exit_code = ExitCode.JAIL_FAILED
