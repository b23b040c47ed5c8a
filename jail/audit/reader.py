"""Reading and verifying session audit logs written by `jail.audit.writer`."""

from __future__ import annotations

import dataclasses
import datetime
import functools
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from jail.audit.writer import GENESIS, AuditError, line_hash

_HEADER_LIMIT = 1 << 20  # a session header is a few hundred bytes; don't slurp a broken file


@dataclasses.dataclass
class SessionInfo:
    """One session file. The record count and exit status need a full read, so are lazy."""

    id: str
    path: Path
    start: datetime.datetime | None  # None when the header is missing or unreadable
    agent: list[str]
    header: dict[str, Any]

    @functools.cached_property
    def _scan(self) -> tuple[int, dict[str, Any] | None, bool]:
        count, end, damaged = 0, None, False
        try:
            for record in read_records(self.path):
                count += 1
                if record.get("event") == "session-end":
                    end = record
        except AuditError:
            damaged = True  # listing goes on; `jail log --verify` says what is wrong
        return count, end, damaged

    @property
    def record_count(self) -> int:
        """Records that could be read (up to the first damaged line)."""
        return self._scan[0]

    @property
    def ended(self) -> bool:
        return self._scan[1] is not None

    @property
    def exit_status(self) -> int | None:
        end = self._scan[1]
        return end.get("exit_status") if end else None

    @property
    def damaged(self) -> bool:
        return self._scan[2]


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    ok: bool
    records: int  # records verified intact (all of them when ok)
    first_bad_seq: int | None  # position from which the log can no longer be trusted
    message: str


def parse_time(value: Any) -> datetime.datetime | None:
    try:
        return datetime.datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _read_header(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as file:
            line = file.readline(_HEADER_LIMIT)
        header = json.loads(line) if line.endswith(b"\n") else {}
    except (OSError, ValueError):
        return {}  # still listed, by file name; `jail log --verify` says what is wrong
    return header if isinstance(header, dict) and header.get("event") == "session-start" else {}


def list_sessions(sessions_dir: Path) -> list[SessionInfo]:
    """Every session in `sessions_dir`, oldest first (so the newest is last)."""
    sessions_dir = Path(sessions_dir)
    if not sessions_dir.is_dir():
        return []
    sessions = []
    for path in sessions_dir.glob("*.jsonl"):
        header = _read_header(path)
        agent = header.get("agent")
        sessions.append(SessionInfo(
            id=path.stem, path=path, start=parse_time(header.get("time")),
            agent=[str(arg) for arg in agent] if isinstance(agent, list) else [],
            header=header))
    # The id starts with the start second; the header's microseconds order
    # sessions begun within the same second.
    sessions.sort(key=lambda s: (s.id[:16], str(s.header.get("time", "")), s.id))
    return sessions


def _open(path: Path) -> IO[bytes]:
    try:
        return open(path, "rb")
    except OSError as error:
        raise AuditError(f"cannot read audit log {path}: {error.strerror}") from error


def _parse(line: bytes, number: int, path: Path) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except ValueError as error:
        raise AuditError(f"{path}:{number}: not a JSON record",
                         hint="`jail log --verify` checks the whole file") from error
    if not isinstance(record, dict):
        raise AuditError(f"{path}:{number}: not a JSON object",
                         hint="`jail log --verify` checks the whole file")
    return record


def read_lines(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    """Each complete line (without newline) and its record. A partial last line
    (being written right now, or cut off by a crash) is not yielded."""
    with _open(path) as file:
        for number, raw in enumerate(file, start=1):
            if not raw.endswith(b"\n"):
                return
            line = raw[:-1]
            yield line.decode("utf-8", "replace"), _parse(line, number, Path(path))


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    for _line, record in read_lines(path):
        yield record


def follow_lines(path: Path, *, interval: float = 0.2) -> Iterator[tuple[str, dict[str, Any]]]:
    """Like `read_lines`, then keep polling for appended lines until the
    session-end record (or until the caller stops iterating)."""
    pending = b""
    number = 0
    with _open(path) as file:
        while True:
            chunk = file.read(1 << 16)
            if not chunk:
                time.sleep(interval)
                continue
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                number += 1
                record = _parse(line, number, Path(path))
                yield line.decode("utf-8", "replace"), record
                if record.get("event") == "session-end":
                    return


def _problem(seq: int, raw: bytes, expected_prev: str, session: str,
             ended: bool) -> tuple[int, str] | None:
    """(first bad seq, why) for the line at position `seq`, or None if it is sound."""
    if not raw.endswith(b"\n"):
        return seq, "the last line is cut off (truncated file)"
    try:
        record = json.loads(raw[:-1])
    except ValueError:
        return seq, "not valid JSON"
    found = record.get("seq") if isinstance(record, dict) else None
    problem = None
    if not isinstance(record, dict):
        problem = seq, "not a JSON object"
    elif ended:
        problem = seq, "a record follows the session-end record"
    elif type(found) is not int or found != seq:
        # A removed line shows as a gap (found > seq), an inserted or moved one
        # as a repeat (found < seq): the earlier position is where trust ends.
        first = min(seq, found) if type(found) is int and found >= 0 else seq
        problem = first, f"out of sequence (found seq {found!r} at position {seq})"
    elif record.get("prev") != expected_prev:
        # This record does not vouch for the one before it: that one was edited
        # or inserted, or this record's own link was changed.
        problem = (0, "the first record does not start the chain") if seq == 0 else (
            seq - 1, f"changed: its hash does not match the link in record {seq}")
    elif record.get("session") != session:
        problem = seq, f"belongs to session {record.get('session')!r}, not {session}"
    elif seq == 0 and record.get("event") != "session-start":
        problem = 0, "the first record is not a session-start header"
    return problem


def verify(path: Path) -> VerifyResult:
    """Check the hash chain, the sequence numbers and the session id of every line.

    Detects edited, removed, reordered and inserted lines and a cut-off last
    line. It cannot vouch for the last record's content (nothing links to it)
    nor notice whole records cut from the end other than by the missing
    session-end, which a running session also lacks; the message says which.
    """
    path = Path(path)
    expected_prev = GENESIS
    count = 0
    ended = False
    with _open(path) as file:
        for seq, raw in enumerate(file):
            problem = _problem(seq, raw, expected_prev, path.stem, ended)
            if problem:
                first_bad, why = problem
                return VerifyResult(False, min(count, first_bad), first_bad,
                                    f"record {first_bad}: {why}")
            ended = json.loads(raw).get("event") == "session-end"
            expected_prev = line_hash(raw[:-1])
            count += 1
    if count == 0:
        return VerifyResult(False, 0, 0, "empty: no session-start header")
    tail = "" if ended else (" — no session-end record yet: jail is still running, "
                             "or stopped before writing it, or the end was cut off")
    return VerifyResult(True, count, None, f"intact: {count} records{tail}")
