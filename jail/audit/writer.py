"""The audit writer: one hash-chained JSON line per decision, on disk before the effect.

Invariant 6 says nothing is lost: `record()` has handed its line to the kernel
with `os.write` before it returns, and a record that cannot be written raises
`AuditError`, which callers treat as fatal (no effect without its record).
Invariant 7 is the caller's half of the contract: pass a secret's type and
location, never its value — the writer cannot tell them apart.

Each line carries `seq`, `time`, `session` and `prev` (sha256 of the previous
line's bytes), so a removed, edited, reordered or inserted line breaks the chain;
see `jail.audit.reader.verify`.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import hashlib
import json
import os
import secrets
import threading
from collections.abc import Hashable
from pathlib import Path
from typing import Any

from jail.errors import JailError
from jail.state import ensure_private_dir

GENESIS = "0" * 64  # `prev` of the first record: there is no previous line
RESERVED_FIELDS = frozenset({"seq", "time", "session", "prev"})
DEDUPE_KEYS = 65536
_OPEN_ATTEMPTS = 8  # session id collisions need the same second and 24 random bits


class AuditError(JailError):
    """The audit log could not be written; the decision it records must not take effect."""


def new_session_id(now: datetime.datetime | None = None) -> str:
    """`20261121T163012Z-a1b2c3`: sorts by start time, unique by its random tail."""
    now = now or datetime.datetime.now(datetime.UTC)
    return f"{now.strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utc_timestamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def line_hash(line: bytes) -> str:
    """The chain link: sha256 of a line's bytes without its newline."""
    return hashlib.sha256(line).hexdigest()


def _encode(record: dict[str, Any]) -> bytes:
    # ASCII keeps every line valid UTF-8 even for undecodable paths (surrogate
    # escapes become \udcXX), and default=str turns pids, Paths and enums into text.
    try:
        text = json.dumps(record, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        # A value json cannot take even via str() (non-string dict keys, a cycle):
        # keep the record and its other fields, with that value as its str().
        safe = {}
        for key, value in record.items():
            try:
                json.dumps(value, default=str)
                safe[str(key)] = value
            except (TypeError, ValueError):
                safe[str(key)] = str(value)
        text = json.dumps(safe, default=str, separators=(",", ":"))
    return text.encode("ascii")


class AuditWriter:
    """Appends one session's records to `sessions/<session_id>.jsonl`.

    Thread-safe: a lock serialises sequence numbers, chain links and writes, and
    each line goes out in a single `os.write` on an O_APPEND descriptor.
    """

    def __init__(self, fd: int, path: Path, session_id: str, dedupe_keys: int = DEDUPE_KEYS):
        self.path = path
        self.session_id = session_id
        self._fd: int | None = fd
        self._seq = 0
        self._prev = GENESIS
        self._lock = threading.Lock()
        self._failure: AuditError | None = None
        self._seen: collections.OrderedDict[Hashable, None] = collections.OrderedDict()
        self._seen_lock = threading.Lock()
        self._dedupe_keys = dedupe_keys

    @classmethod
    def open(cls, sessions_dir: Path, *, agent: list[str], cwd: str | os.PathLike[str],
             profile_sources: list[str], jail_version: str, mode: dict[str, Any]) -> AuditWriter:
        """Create a new session file (O_EXCL, 0600) and write its session-start header."""
        sessions_dir = ensure_private_dir(Path(sessions_dir))
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC | os.O_NOFOLLOW
        for _ in range(_OPEN_ATTEMPTS):
            session_id = new_session_id()
            path = sessions_dir / f"{session_id}.jsonl"
            try:
                fd = os.open(path, flags, 0o600)
            except FileExistsError:
                continue
            except OSError as error:
                raise AuditError(f"cannot create audit log {path}: {error.strerror}") from error
            break
        else:
            raise AuditError(f"cannot create a new audit log in {sessions_dir}: names keep colliding")
        try:
            os.fchmod(fd, 0o600)  # the umask may only remove bits; make the mode exact
        except OSError as error:
            os.close(fd)
            raise AuditError(f"cannot set the mode of {path}: {error.strerror}") from error
        writer = cls(fd, path, session_id)
        writer.record(event="session-start", agent=list(agent), cwd=str(cwd),
                      profile_sources=list(profile_sources), jail_version=jail_version,
                      mode=dict(mode))
        return writer

    @property
    def closed(self) -> bool:
        return self._fd is None

    @property
    def next_seq(self) -> int:
        return self._seq

    def record(self, **fields: Any) -> int:
        """Write one record and return its seq; it is in the file when this returns."""
        clash = RESERVED_FIELDS.intersection(fields)
        if clash:
            raise ValueError(f"audit fields {sorted(clash)} are set by the writer")
        with self._lock:
            return self._record_locked(fields)

    def _record_locked(self, fields: dict[str, Any]) -> int:
        if self._failure is not None:
            # The file may end in a partial line now; refuse rather than let
            # later effects happen with records a verifier would reject.
            raise AuditError(f"audit log {self.path} failed earlier: {self._failure}")
        if self._fd is None:
            raise AuditError(f"audit log {self.path} is closed")
        seq = self._seq
        record = {"seq": seq, "time": utc_timestamp(), "session": self.session_id,
                  "prev": self._prev, **fields}
        line = _encode(record)
        self._write_all(line + b"\n")
        self._prev = line_hash(line)
        self._seq += 1
        return seq

    def _write_all(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        try:
            while view:
                # One write normally; a short write (disk full) is finished here,
                # still under the lock, so no other line can land in between.
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as error:
            self._failure = AuditError(f"cannot write audit log {self.path}: {error.strerror}")
            raise self._failure from error

    def seen_once(self, key: Hashable) -> bool:
        """True the first time `key` is seen (within the last `DEDUPE_KEYS` keys).

        Lets callers log a repeated allow, e.g. per (pid, path), only once.
        Forgetting old keys only costs a duplicate record, never a missing one.
        """
        with self._seen_lock:
            if key in self._seen:
                self._seen.move_to_end(key)
                return False
            self._seen[key] = None
            if len(self._seen) > self._dedupe_keys:
                self._seen.popitem(last=False)
            return True

    def close(self, exit_status: int | None) -> None:
        """Write the session-end record, flush it to disk and close. Idempotent."""
        with self._lock:
            if self._fd is None:
                return
            try:
                self._record_locked({"event": "session-end", "exit_status": exit_status})
            finally:
                fd, self._fd = self._fd, None
                # Once per session, so the end survives a power cut; the lines
                # already reached the kernel, so a failing fsync loses nothing new.
                with contextlib.suppress(OSError):
                    os.fsync(fd)
                os.close(fd)
