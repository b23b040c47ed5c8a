"""The other end of server.py: find running sessions, list, watch and answer.

Each running session is one socket in the socket directory; a socket nobody
listens on is a session that ended without cleaning up, and is skipped. The
client only says *what* the answer is — who answered is what the server reads
from the kernel (SO_PEERCRED).
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jail.approve.request import Answer, ApprovalRequest, Decision, ProfileEdit, RequestClosed, RequestOpened
from jail.approve.server import MAX_LINE, send_line
from jail.errors import JailError

Event = RequestOpened | RequestClosed


class ApprovalClientError(JailError):
    """A session refused or could not be reached; the message names the socket."""


@dataclass(frozen=True)
class Pending:
    """A waiting request, where it waits, and how long it has left."""

    socket: Path
    request: ApprovalRequest
    expires_in: float
    fallback: Answer = Answer.DENY


def session_sockets(directory: Path) -> list[Path]:
    """Sockets of sessions in `directory`, oldest name first; [] if there is none."""
    try:
        return sorted(p for p in directory.iterdir() if p.suffix == ".sock" and p.is_socket())
    except FileNotFoundError:
        return []


class ApprovalClient:
    """One session's socket. Each call is one short connection."""

    def __init__(self, path: Path, timeout: float = 5.0) -> None:
        self.path = path
        self.timeout = timeout

    def list(self) -> list[Pending]:
        reply = self._call({"op": "list"})
        try:
            return [Pending(self.path, ApprovalRequest.from_json(item["request"]),
                            float(item["expires_in"]), Answer(item.get("fallback", "deny")))
                    for item in reply["requests"]]
        except (KeyError, TypeError, ValueError) as error:
            raise ApprovalClientError(f"{self.path}: unreadable list reply ({error})") from error

    def propose(self, request_id: str) -> ProfileEdit | None:
        edit = self._call({"op": "propose", "id": request_id}).get("edit")
        return ProfileEdit.from_json(edit) if isinstance(edit, dict) else None

    def answer(self, request_id: str, decision: Decision) -> bool:
        """Send an answer; True if it was the first (the request was still waiting)."""
        sent = {"answer": decision.answer.value, "minutes": decision.minutes,
                "edit": decision.edit.to_json() if decision.edit else None}
        return bool(self._call({"op": "answer", "id": request_id, "decision": sent}).get("accepted"))

    def watch(self) -> Watch:
        conn = self._connect(timeout=self.timeout)
        send_line(conn, {"op": "watch"})
        reader = conn.makefile("rb")
        self._check(_read_reply(reader, self.path))
        conn.settimeout(None)
        return Watch(conn, reader, self.path)

    def _call(self, message: dict[str, Any]) -> dict[str, Any]:
        with self._connect(timeout=self.timeout) as conn, conn.makefile("rb") as reader:
            send_line(conn, message)
            return self._check(_read_reply(reader, self.path))

    def _connect(self, timeout: float) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        conn.settimeout(timeout)
        try:
            conn.connect(str(self.path))
        except OSError as error:
            conn.close()
            raise ApprovalClientError(f"{self.path}: cannot connect ({error.strerror or error})") from error
        return conn

    def _check(self, reply: dict[str, Any]) -> dict[str, Any]:
        if reply.get("ok") is not True:
            raise ApprovalClientError(f"{self.path}: {reply.get('error', 'refused')}")
        return reply


class Watch:
    """Events from one session until it ends or `close()` is called (from any thread)."""

    def __init__(self, conn: socket.socket, reader: Any, path: Path) -> None:
        self._conn, self._reader, self.path = conn, reader, path

    def __iter__(self) -> Iterator[Event]:
        while True:
            try:
                line = self._reader.readline(MAX_LINE * 64)
            except (OSError, ValueError):
                return  # closed under us
            if not line:
                return
            data = json.loads(line)
            if data.get("event") == "opened":
                yield RequestOpened(ApprovalRequest.from_json(data["request"]), float(data["expires_in"]),
                                    Answer(data.get("fallback", "deny")))
            elif data.get("event") == "closed":
                yield RequestClosed(str(data["id"]), Decision.from_json(data["decision"]))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._conn.shutdown(socket.SHUT_RDWR)
        self._conn.close()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def list_all(directory: Path) -> tuple[list[Pending], list[str]]:
    """Pending requests of every session in `directory`, and one line per
    session that could not be asked (ended, or refused)."""
    found: list[Pending] = []
    problems: list[str] = []
    for path in session_sockets(directory):
        try:
            found.extend(ApprovalClient(path).list())
        except ApprovalClientError as error:
            problems.append(str(error))
    found.sort(key=lambda p: p.request.created)
    return found, problems


def _read_reply(reader: Any, path: Path) -> dict[str, Any]:
    try:
        line = reader.readline(MAX_LINE * 64)
    except OSError as error:
        raise ApprovalClientError(f"{path}: no reply ({error})") from error
    if not line:
        raise ApprovalClientError(f"{path}: the session closed the connection")
    try:
        reply = json.loads(line)
    except ValueError as error:
        raise ApprovalClientError(f"{path}: unreadable reply") from error
    if not isinstance(reply, dict):
        raise ApprovalClientError(f"{path}: unreadable reply")
    return reply
