"""Pending requests and the first answer to each: the meeting point between the
supervisor's threads, which ask and wait, and the people who answer.

`ask` blocks only the calling thread; every other request (and the rest of the
agent) goes on. Answerers — the prompt on jail's own terminal, each `jail
approve` watching through the socket — attach to hear about requests and call
`answer`; the first answer wins, a late one is told so. When nobody answers in
time the profile's fallback applies, deny unless the profile says otherwise,
so a run without a person (CI) never hangs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from jail.approve.grants import GrantStore, propose_always, write_profile_edit
from jail.approve.request import (
    Answer,
    ApprovalRequest,
    Decision,
    ProfileEdit,
    RequestClosed,
    RequestOpened,
)

Event = RequestOpened | RequestClosed
Listener = Callable[[Event], None]
TIMEOUT = "timeout"
NO_ONE = "no one to ask"


@dataclass
class _Waiting:
    request: ApprovalRequest
    deadline: float  # on the broker's clock
    grace_end: float  # when no answerer has attached by then, nobody will answer
    saw_answerer: bool
    decision: Decision | None = None


class Broker:
    """One session's pending requests.

    `timeout` seconds after a request arrives the fallback answers it
    ("timeout"). `attach_grace` (default: the whole timeout) bounds how long
    a request waits while no answerer is attached at all; past it the
    fallback answers with answerer "no one to ask". `profile_path` is the
    project profile an "always" would change (None: no "always");
    `write_always` writes a confirmed edit before the answer takes effect
    (by default `write_profile_edit`; jail run also re-pins trust and audits).
    """

    def __init__(self, session: str, *, timeout: float, fallback: str = "deny",
                 clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
                 grants: GrantStore | None = None, profile_path: Path | None = None,
                 attach_grace: float | None = None,
                 write_always: Callable[[ProfileEdit], object] | None = None) -> None:
        if fallback not in ("deny", "allow"):
            raise ValueError(f"fallback must be 'deny' or 'allow', not {fallback!r}")
        if timeout <= 0:
            raise ValueError("the approval timeout must be positive")
        self.session = session
        self.timeout = timeout
        self.fallback = Answer.DENY if fallback == "deny" else Answer.ALLOW_ONCE
        self.attach_grace = timeout if attach_grace is None else attach_grace
        self.profile_path = profile_path
        self.write_always = write_always or write_profile_edit
        self._answering = threading.Lock()  # one answer at a time: an "always" writes a file
        self.grants = grants if grants is not None else GrantStore(clock)
        self._clock, self._wall = clock, wall
        self._cond = threading.Condition()
        self._waiting: dict[str, _Waiting] = {}
        self._listeners: dict[int, Listener] = {}
        self._next_listener = 0

    def ask(self, request: ApprovalRequest) -> Decision:
        """Wait for the answer to `request`. A grant from an earlier answer
        answers at once (its Decision names the request in `granted_by`)."""
        with self._cond:
            granted = self.grants.lookup(request)
            if granted is not None:
                return granted
            if request.id in self._waiting:
                raise ValueError(f"request {request.id} is already waiting")
            now = self._clock()
            entry = _Waiting(request, now + self.timeout, now + self.attach_grace, bool(self._listeners))
            self._waiting[request.id] = entry
            try:
                self._emit(RequestOpened(request, self.timeout, self.fallback))
                while entry.decision is None:
                    now = self._clock()
                    entry.saw_answerer = entry.saw_answerer or bool(self._listeners)
                    if now >= entry.deadline:
                        self._close(entry, self._fall_back(TIMEOUT if entry.saw_answerer else NO_ONE))
                    elif not entry.saw_answerer and now >= entry.grace_end:
                        self._close(entry, self._fall_back(NO_ONE))
                    else:
                        end = entry.deadline if entry.saw_answerer else min(entry.deadline, entry.grace_end)
                        self._cond.wait(end - now)
            finally:
                if entry.decision is None:  # a listener raised: no answer may outlive its request
                    self._waiting.pop(request.id, None)
            return entry.decision

    def answer(self, request_id: str, decision: Decision) -> bool:
        """Answer a waiting request. False when it is not waiting (answered
        already, timed out, unknown). An "always" must carry the edit the
        person confirmed, and it must still be the edit the profile needs;
        otherwise ValueError, and the request keeps waiting. A confirmed
        edit is written (`write_always`) before the request is answered; when
        that fails, ValueError says why and the request keeps waiting."""
        with self._answering:
            return self._answer(request_id, decision)

    def _answer(self, request_id: str, decision: Decision) -> bool:
        with self._cond:
            entry = self._waiting.get(request_id)
            if entry is None or entry.decision is not None:
                return False
            request = entry.request
        if decision.answer is Answer.ALWAYS:
            edit = self.propose_always(request)  # reads the file: outside the lock
            if edit is None or decision.edit != edit:
                raise ValueError("the profile change shown is not the one that would be written "
                                 "(no project profile, or it changed since); show it again")
            try:
                self.write_always(edit)
            except (OSError, ValueError) as error:
                raise ValueError(f"could not write {edit.path}: {error}") from error
        with self._cond:
            if entry.decision is not None or self._waiting.get(request_id) is not entry:
                return False
            self._close(entry, replace(decision, granted_by=None))
            self.grants.record(request, entry.decision)
            for other in list(self._waiting.values()):  # a new grant may answer others waiting
                granted = self.grants.lookup(other.request)
                if granted is not None:
                    self._close(other, granted)
            return True

    def propose_always(self, request: ApprovalRequest) -> ProfileEdit | None:
        """The profile change "always" would make, for the person to confirm;
        None when there is none to offer: no project profile, not an exec, or a
        command or profile that cannot be written as a rule (the other answers remain)."""
        if self.profile_path is None or request.kind != "exec":
            return None
        try:
            return propose_always(self.profile_path, request)
        except ValueError:
            return None

    def pending(self) -> list[ApprovalRequest]:
        with self._cond:
            return [w.request for w in self._waiting.values() if w.decision is None]

    def remaining(self, request_id: str) -> float | None:
        """Seconds until the timeout answers `request_id`; None if not waiting."""
        with self._cond:
            entry = self._waiting.get(request_id)
            return None if entry is None else max(0.0, entry.deadline - self._clock())

    def attach(self, listener: Listener) -> Callable[[], None]:
        """Register an answerer; returns the call that detaches it. `listener`
        first hears a RequestOpened for each request already waiting, then
        every event in order. It runs under the broker's lock: it must only
        hand the event on (a queue, `post_message`), never block or call back."""
        with self._cond:
            key, self._next_listener = self._next_listener, self._next_listener + 1
            self._listeners[key] = listener
            now = self._clock()
            for entry in self._waiting.values():
                listener(RequestOpened(entry.request, max(0.0, entry.deadline - now), self.fallback))
            self._cond.notify_all()

        def detach() -> None:
            with self._cond:
                self._listeners.pop(key, None)
        return detach

    @property
    def answerers(self) -> int:
        with self._cond:
            return len(self._listeners)

    def wake(self) -> None:
        """Make every waiting request look at the clock again (for a fake clock)."""
        with self._cond:
            self._cond.notify_all()

    def _fall_back(self, answerer: str) -> Decision:
        return Decision(self.fallback, answerer=answerer, at=self._wall())

    def _close(self, entry: _Waiting, decision: Decision) -> None:
        entry.decision = decision
        del self._waiting[entry.request.id]
        self._emit(RequestClosed(entry.request.id, decision))
        self._cond.notify_all()

    def _emit(self, event: Event) -> None:
        for listener in list(self._listeners.values()):
            listener(event)
