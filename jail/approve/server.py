"""Serve one session's broker on a unix socket, for `jail approve` elsewhere.

Only this user (or root) may answer: the directory is 0700, the socket 0600,
and every connection's peer is checked with SO_PEERCRED before a byte is read.
That stops other users, not the sandbox — its processes run as the same uid —
so the socket directory must also be denied to the sandbox by policy.
The answerer recorded is the peer the kernel names, never what the client says.

Protocol: one JSON object per line each way.
  {"op": "list"}  -> {"ok": true, "session": S,
                      "requests": [{"request": R, "expires_in": s, "fallback": "deny"|"once"}]}
  {"op": "answer", "id": I, "decision": {"answer": "for", "minutes": 15, "edit": E?}}
                  -> {"ok": true, "accepted": bool}
  {"op": "propose", "id": I} -> {"ok": true, "edit": E | null}
                  (what "always" would write; null: no "always" for this request)
  {"op": "watch"} -> {"ok": true}, then {"event": "opened", "request": R, "expires_in": s, "fallback": A}
                     and {"event": "closed", "id": I, "decision": D} lines until either side
                     closes; a watcher counts as an attached answerer.
Errors: {"ok": false, "error": "one line"}.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import select
import socket
import stat
import struct
import threading
import time
from pathlib import Path
from typing import Any

from jail.approve.broker import Broker, Event
from jail.approve.request import Decision, RequestClosed, RequestOpened
from jail.errors import JailError

MAX_LINE = 1 << 20
_SESSION_OK = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


def socket_dir(env: dict[str, str] | None = None, uid: int | None = None) -> Path:
    """$XDG_RUNTIME_DIR/jail, or /tmp/jail-<uid> without a runtime dir."""
    env = dict(os.environ) if env is None else env
    uid = os.getuid() if uid is None else uid
    runtime = env.get("XDG_RUNTIME_DIR", "")
    if runtime.startswith("/") and os.path.isdir(runtime):
        return Path(runtime) / "jail"
    return Path(f"/tmp/jail-{uid}")  # noqa: S108 - checked for owner and mode before use


def ensure_private_dir(path: Path) -> Path:
    """Create `path` 0700, or accept it only if it is a real directory of ours
    that nobody else can enter (in /tmp another user could have made it first)."""
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise JailError(f"approval socket directory {path} is not a directory owned by uid {os.getuid()}",
                        "remove it, or set XDG_RUNTIME_DIR to a private directory")
    if info.st_mode & 0o077:
        os.chmod(path, 0o700)
    return path


def peer_credentials(conn: socket.socket) -> tuple[int, int, int]:
    """(pid, uid, gid) of the process at the other end, as the kernel saw it at connect."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    pid, uid, gid = struct.unpack("3i", raw)
    return pid, uid, gid


def send_line(conn: socket.socket, message: dict[str, Any]) -> None:
    conn.sendall(json.dumps(message, separators=(",", ":")).encode() + b"\n", socket.MSG_NOSIGNAL)


class ApprovalServer:
    """Accepts connections on `<directory>/<session>.sock`, one thread each."""

    def __init__(self, broker: Broker, directory: Path | None = None) -> None:
        session = broker.session
        if not session or session[0] == "." or not set(session) <= _SESSION_OK:
            raise JailError(f"session name {session!r} cannot name a socket")
        self.broker = broker
        self.directory = directory if directory is not None else socket_dir()
        self.path = self.directory / f"{session}.sock"
        self._listener: socket.socket | None = None
        self._conns: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    def start(self) -> ApprovalServer:
        ensure_private_dir(self.directory)
        if len(os.fsencode(self.path)) >= 108:
            raise JailError(f"approval socket path too long for a unix socket: {self.path}")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)  # a session id is unique: a file there is a dead session's
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM | socket.SOCK_CLOEXEC)
        listener.bind(os.fspath(self.path))
        os.chmod(self.path, 0o600)  # the directory is 0700 already: no window for others
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name=f"approve-{self.broker.session}",
                         daemon=True).start()
        return self

    def close(self) -> None:
        self._closing.set()
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
            self._listener.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
        with self._lock:
            for conn in list(self._conns):
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> ApprovalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._closing.is_set():
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with self._lock:
            self._conns.add(conn)
        try:
            pid, uid, _gid = peer_credentials(conn)
            if uid not in (os.getuid(), 0):
                send_line(conn, {"ok": False, "error": f"refused: uid {uid} may not answer this session"})
                conn.shutdown(socket.SHUT_WR)
                conn.settimeout(1.0)
                conn.recv(MAX_LINE)  # closing on unread bytes would reset, losing the reply
                return
            answerer = f"jail approve (pid {pid}, uid {uid})"
            reader = conn.makefile("rb")
            while line := reader.readline(MAX_LINE + 1):
                if len(line) > MAX_LINE or not line.endswith(b"\n"):
                    send_line(conn, {"ok": False, "error": "request line too long or cut short"})
                    return
                try:
                    message = json.loads(line)
                    if not isinstance(message, dict):
                        raise ValueError("a request is a JSON object")
                    if message.get("op") == "watch":
                        send_line(conn, {"ok": True})
                        self._watch(conn)
                        return
                    reply = self._handle(message, answerer)
                except ValueError as error:
                    reply = {"ok": False, "error": str(error).splitlines()[0]}
                send_line(conn, reply)
        except OSError:
            pass  # the client went away: nothing to answer
        finally:
            with self._lock:
                self._conns.discard(conn)
            conn.close()

    def _handle(self, message: dict[str, Any], answerer: str) -> dict[str, Any]:
        op = message.get("op")
        if op == "list":
            return {"ok": True, "session": self.broker.session, "requests": [
                {"request": r.to_json(), "expires_in": self.broker.remaining(r.id) or 0.0,
                 "fallback": self.broker.fallback.value}
                for r in self.broker.pending()]}
        if op not in ("propose", "answer"):
            raise ValueError(f"unknown op {op!r}; one of list, answer, propose, watch")
        request_id = message.get("id")
        if not isinstance(request_id, str):
            raise ValueError(f"op {op!r} needs a string 'id'")
        if op == "propose":
            request = next((r for r in self.broker.pending() if r.id == request_id), None)
            edit = self.broker.propose_always(request) if request is not None else None
            return {"ok": True, "edit": edit.to_json() if edit else None}
        sent = message.get("decision")
        if not isinstance(sent, dict):
            raise ValueError("answer needs a 'decision' object")
        given = Decision.from_json({**sent, "answerer": answerer, "at": time.time(), "granted_by": None})
        return {"ok": True, "accepted": self.broker.answer(request_id, given)}

    def _watch(self, conn: socket.socket) -> None:
        events: queue.SimpleQueue[Event] = queue.SimpleQueue()
        detach = self.broker.attach(events.put)
        try:
            while not self._closing.is_set():
                try:
                    event = events.get(timeout=0.25)
                except queue.Empty:
                    if _peer_closed(conn):
                        return
                    continue
                send_line(conn, event_to_json(event))
        finally:
            detach()


def event_to_json(event: Event) -> dict[str, Any]:
    if isinstance(event, RequestOpened):
        return {"event": "opened", "request": event.request.to_json(), "expires_in": event.expires_in,
                "fallback": event.fallback.value}
    assert isinstance(event, RequestClosed)
    return {"event": "closed", "id": event.request_id, "decision": event.decision.to_json()}


def _peer_closed(conn: socket.socket) -> bool:
    readable, _, _ = select.select([conn], [], [], 0)
    if not readable:
        return False
    data = conn.recv(4096)  # a watcher says nothing more: anything but EOF is dropped
    return not data

