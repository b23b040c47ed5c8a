"""The approval prompt on jail's own terminal, one waiting request at a time.

jail's side (`TerminalPrompter`) attaches to the session's broker as an
answerer. When a request waits it holds the agent's screen (jail.terminal),
starts the prompt as a child process on the terminal, and hands the answer to
the broker as the "terminal" answerer; when the prompt is closed and nothing
else waits, the agent gets its screen back. Requests that arrive meanwhile
queue up; one answered elsewhere (`jail approve`, a grant, the timeout)
closes its prompt.

The prompt is a child process (`python -m jail.approve.terminal_prompt FD`)
rather than a thread: Textual wants a main thread of its own for signals and
the terminal, and the supervisor never imports it. The child reads one JSON
line on FD (the request, seconds left, fallback, the "always" edit), writes
{"decision": D} back when the person answers, and closes when it reads
{"withdrawn": D}.
"""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from jail.approve.broker import Broker
from jail.approve.request import (
    Answer,
    ApprovalRequest,
    Decision,
    ProfileEdit,
    RequestClosed,
    RequestOpened,
)

ANSWERER = "terminal"
_STOP = object()


class TerminalPrompter:
    """Shows `broker`'s waiting requests on the terminal `proxy` owns."""

    def __init__(self, broker: Broker, proxy: Any, tell: Callable[[str], None]) -> None:
        self.broker, self.proxy, self.tell = broker, proxy, tell
        self._events: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._waiting: dict[str, RequestOpened] = {}  # in arrival order
        self._shown: _Shown | None = None
        self._detach: Callable[[], None] | None = None
        self._thread = threading.Thread(target=self._run, name="jail-prompt", daemon=True)

    def start(self) -> TerminalPrompter:
        self._detach = self.broker.attach(self._events.put)
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop prompting; a prompt still up is closed and the screen given back."""
        if self._detach is not None:
            self._detach()
        self._events.put(_STOP)
        if self._thread.is_alive():
            self._thread.join(10)

    # -- the prompt thread -------------------------------------------------------

    def _run(self) -> None:
        held = False
        try:
            while True:
                item = self._events.get()
                if item is _STOP:
                    return
                self._handle(item)
                if self._shown is None and self._waiting:
                    if not held:
                        self.proxy.hold()
                        held = True
                    self._shown = self._show(next(iter(self._waiting.values())))
                elif self._shown is None and held:
                    self.proxy.release()
                    held = False
        finally:
            if self._shown is not None:
                self._shown.end()
            if held:
                self.proxy.release()

    def _handle(self, item: Any) -> None:
        shown = self._shown
        if isinstance(item, RequestOpened):
            self._waiting[item.request.id] = item
        elif isinstance(item, RequestClosed):
            self._waiting.pop(item.request_id, None)
            if shown is not None and shown.request_id == item.request_id:
                shown.withdraw(item.decision)
        elif isinstance(item, _Answered) and shown is not None and item.shown is shown:
            try:
                self.broker.answer(shown.request_id, replace(item.decision, answerer=ANSWERER,
                                                             at=time.time(), granted_by=None))
            except ValueError as error:  # "always" could not be written: ask again
                self.tell(f"jail: {error}")
                shown.ask_again = True
        elif isinstance(item, _Ended) and item.shown is shown:
            self._shown = None
            assert shown is not None
            if item.code != 0:
                self.tell(f"jail: the approval prompt failed (exit {item.code}); answer with "
                          f"`jail approve` in another terminal, request {shown.request_id}")
                self._waiting.pop(shown.request_id, None)  # not shown again: the timeout answers
            elif not shown.ask_again:
                self._waiting.pop(shown.request_id, None)  # answered, or the timeout answers

    def _show(self, opened: RequestOpened) -> _Shown:
        request = opened.request
        edit = self.broker.propose_always(request)
        left = self.broker.remaining(request.id)
        return _Shown(request.id, {"request": request.to_json(),
                                   "expires_in": opened.expires_in if left is None else left,
                                   "fallback": opened.fallback.value,
                                   "edit": edit.to_json() if edit else None},
                      self.proxy, self._events)


class _Answered:
    def __init__(self, shown: _Shown, decision: Decision) -> None:
        self.shown, self.decision = shown, decision


class _Ended:
    def __init__(self, shown: _Shown, code: int) -> None:
        self.shown, self.code = shown, code


class _Shown:
    """One prompt child process on the terminal."""

    def __init__(self, request_id: str, message: dict[str, Any], proxy: Any,
                 events: queue.SimpleQueue[Any]) -> None:
        self.request_id = request_id
        self.ask_again = False
        self._events = events
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "jail.approve.terminal_prompt", str(theirs.fileno())],
                stdin=proxy.fd_in, stdout=proxy.fd_out, stderr=proxy.fd_out,
                pass_fds=[theirs.fileno()])
        finally:
            theirs.close()
        self._send(message)
        threading.Thread(target=self._read, name=f"jail-prompt-{request_id}", daemon=True).start()

    def withdraw(self, decision: Decision) -> None:
        self._send({"withdrawn": decision.to_json()})

    def end(self) -> None:
        """jail is finishing: close the prompt now."""
        self._proc.terminate()
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()

    def _send(self, message: dict[str, Any]) -> None:
        try:
            self._sock.sendall(json.dumps(message).encode() + b"\n")
        except OSError:
            pass  # the prompt is gone already; its end is reported by _read

    def _read(self) -> None:
        with self._sock.makefile("rb") as reader:
            for line in reader:
                try:
                    decision = Decision.from_json(json.loads(line)["decision"])
                except (ValueError, KeyError, TypeError):
                    continue
                self._events.put(_Answered(self, decision))
        code = self._proc.wait()
        self._sock.close()
        self._events.put(_Ended(self, code))


# -- the child: the prompt itself ----------------------------------------------------

def main(fd: int) -> int:
    # jail blocks the signals it forwards; the prompt needs its own (SIGWINCH, SIGTERM).
    signal.pthread_sigmask(signal.SIG_SETMASK, set())
    from jail.approve.app import PromptApp

    channel = socket.socket(fileno=fd)
    reader = channel.makefile("rb")
    shown = json.loads(reader.readline())
    request = ApprovalRequest.from_json(shown["request"])
    edit = ProfileEdit.from_json(shown["edit"]) if shown.get("edit") else None
    app = PromptApp(request, deadline=time.monotonic() + float(shown["expires_in"]),
                    fallback=Answer(shown["fallback"]), edit=edit, answerer=ANSWERER)

    def listen() -> None:
        for line in reader:
            withdrawn = json.loads(line).get("withdrawn")
            if withdrawn is not None:
                app.withdraw(Decision.from_json(withdrawn))
                return
        app.withdraw(Decision(Answer.DENY, answerer="jail"))  # jail went away

    threading.Thread(target=listen, daemon=True).start()
    decision = app.run()
    if decision is None and not app.prompt.withdrawn:
        decision = Decision(Answer.DENY, answerer=ANSWERER)  # quit without an answer: no
    if decision is not None and not app.prompt.withdrawn and decision.answerer != "timeout":
        channel.sendall(json.dumps({"decision": decision.to_json()}).encode() + b"\n")
    channel.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
