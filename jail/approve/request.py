"""What a paused request is, what a person can answer, and how both cross the socket.

The supervisor builds an `ApprovalRequest` once, from the facts it decided on;
everything that shows or answers it (the prompt on jail's terminal, `jail
approve` in another terminal, the audit log) reads these same frozen values, so
what the person sees is exactly what will be allowed. JSON here is the one wire
format: the socket, the `--json` listing and the audit records share it, and
`from_json` checks every field because a mistyped value must never become an
answer.
"""

from __future__ import annotations

import enum
import shlex
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = ("exec", "connect")
MAX_MINUTES = 7 * 24 * 60  # "for a while" is bounded; longer is what "always" is for


class Answer(enum.Enum):
    """The five answers. Values are the wire and audit names: keep them stable."""

    ALLOW_ONCE = "once"
    ALLOW_SESSION = "session"
    ALLOW_FOR = "for"
    ALWAYS = "always"
    DENY = "deny"


@dataclass(frozen=True)
class ProcessLink:
    """One process of the chain from the asking process up to the agent."""

    pid: int
    comm: str


@dataclass(frozen=True)
class ApprovalRequest:
    """One paused operation. Sequences are stored as tuples (lists and
    {"pid", "comm"} dicts are accepted) so a request cannot change after it
    was shown."""

    id: str
    session: str
    kind: str  # "exec" | "connect"
    agent: tuple[str, ...]  # the agent's own command line
    pid: int
    chain: tuple[ProcessLink, ...]  # chain[0] is `pid`, the last one is the agent
    exe: str
    argv: tuple[str, ...]
    cwd: str
    target: str  # the host:port, or the file the command acts on; "" when none
    rule_where: str  # "destructive.toml:42"
    rule_pattern: str
    reason: str
    created: float  # wall-clock time.time()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"request kind must be one of {KINDS}, not {self.kind!r}")
        object.__setattr__(self, "agent", tuple(self.agent))
        object.__setattr__(self, "argv", tuple(self.argv))
        object.__setattr__(self, "chain", tuple(
            link if isinstance(link, ProcessLink) else ProcessLink(int(link["pid"]), str(link["comm"]))
            for link in self.chain))

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "session": self.session, "kind": self.kind, "agent": list(self.agent),
                "pid": self.pid, "chain": [{"pid": p.pid, "comm": p.comm} for p in self.chain],
                "exe": self.exe, "argv": list(self.argv), "cwd": self.cwd, "target": self.target,
                "rule_where": self.rule_where, "rule_pattern": self.rule_pattern,
                "reason": self.reason, "created": self.created}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ApprovalRequest:
        chain = _field(data, "chain", list)
        for link in chain:
            if not isinstance(link, dict):
                raise ValueError("request field 'chain' must hold objects")
            _field(link, "pid", int)
            _field(link, "comm", str)
        return cls(
            id=_field(data, "id", str), session=_field(data, "session", str),
            kind=_field(data, "kind", str), agent=_strings(data, "agent"), pid=_field(data, "pid", int),
            chain=chain, exe=_field(data, "exe", str), argv=_strings(data, "argv"),
            cwd=_field(data, "cwd", str), target=_field(data, "target", str),
            rule_where=_field(data, "rule_where", str), rule_pattern=_field(data, "rule_pattern", str),
            reason=_field(data, "reason", str), created=float(_field(data, "created", (int, float))))


@dataclass(frozen=True)
class ProfileEdit:
    """The change an "always" answer makes to the project profile. The person
    confirms `diff`; whoever writes it must find the file still equal to
    `old_text` (else the person confirmed something else) and re-pin trust."""

    path: str
    rule: str  # the pattern added to [exec] allow
    old_text: str
    new_text: str
    diff: str

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "rule": self.rule, "old_text": self.old_text,
                "new_text": self.new_text, "diff": self.diff}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProfileEdit:
        return cls(**{name: _field(data, name, str)
                      for name in ("path", "rule", "old_text", "new_text", "diff")})


@dataclass(frozen=True)
class Decision:
    """An answer and who gave it. `granted_by` names the request whose answer
    made the grant that answered this one (None when a person or the timeout
    answered this request itself); `edit` is the shown diff of an "always"."""

    answer: Answer
    minutes: int | None = None
    answerer: str = "terminal"  # "terminal" | "jail approve (pid N, uid U)" | "timeout" | "no one to ask"
    at: float = field(default_factory=time.time)
    edit: ProfileEdit | None = None
    granted_by: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.answer, Answer):
            raise ValueError(f"not an answer: {self.answer!r}")
        if self.answer is Answer.ALLOW_FOR:
            if (not isinstance(self.minutes, int) or isinstance(self.minutes, bool)
                    or not 1 <= self.minutes <= MAX_MINUTES):
                raise ValueError(f"allow for N minutes needs 1 <= N <= {MAX_MINUTES}, not {self.minutes!r}")
        elif self.minutes is not None:
            raise ValueError(f"minutes only go with {Answer.ALLOW_FOR.value!r}")
        if self.edit is not None and self.answer is not Answer.ALWAYS:
            raise ValueError("a profile edit only goes with 'always'")

    @property
    def allowed(self) -> bool:
        return self.answer is not Answer.DENY

    def to_json(self) -> dict[str, Any]:
        return {"answer": self.answer.value, "minutes": self.minutes, "answerer": self.answerer,
                "at": self.at, "edit": self.edit.to_json() if self.edit else None,
                "granted_by": self.granted_by}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        name = _field(data, "answer", str)
        try:
            answer = Answer(name)
        except ValueError:
            raise ValueError(f"unknown answer {name!r}; one of {[a.value for a in Answer]}") from None
        minutes = data.get("minutes")
        if minutes is not None and (not isinstance(minutes, int) or isinstance(minutes, bool)):
            raise ValueError("decision field 'minutes' must be an integer")
        edit = data.get("edit")
        granted_by = data.get("granted_by")
        if granted_by is not None and not isinstance(granted_by, str):
            raise ValueError("decision field 'granted_by' must be a string")
        return cls(answer=answer, minutes=minutes, answerer=str(data.get("answerer", "")),
                   at=float(data.get("at", time.time())),
                   edit=ProfileEdit.from_json(edit) if isinstance(edit, dict) else None,
                   granted_by=granted_by)


@dataclass(frozen=True)
class RequestOpened:
    """Broker event: a request started waiting; in `expires_in` seconds the
    session's `fallback` answers it."""

    request: ApprovalRequest
    expires_in: float
    fallback: Answer = Answer.DENY


@dataclass(frozen=True)
class RequestClosed:
    """Broker event: a request was answered (by anyone, or by the timeout)."""

    request_id: str
    decision: Decision


def visible(text: str) -> str:
    """`text` with every non-printable character (controls, bidi overrides,
    zero-width ones) written as a Python escape, so what is shown is all there is."""
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def shell_word(word: str) -> str:
    """One argv element as a shell would need it typed: quoted when it must be,
    as $'...' with escapes when it holds anything non-printable."""
    if all(ch.isprintable() for ch in word):
        return shlex.quote(word)
    return "$'" + visible(word).replace("'", "\\'") + "'"


def _field(data: Mapping[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"field {name!r} is missing or not of the expected type")
    return value


def _strings(data: Mapping[str, Any], name: str) -> Sequence[str]:
    value = _field(data, name, list)
    if not all(isinstance(item, str) for item in value):
        raise ValueError(f"field {name!r} must be a list of strings")
    return value
