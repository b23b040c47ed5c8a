"""What an answer goes on allowing after the request that asked.

A grant is keyed on what the supervisor decided on — the real executable, the
full argv and the cwd — never on a pattern, so "allow for this session" covers
exactly the command the person read and nothing that merely resembles it.
"Always" is the one answer that widens the profile itself, so it is not a grant
here but a `ProfileEdit`: a diff the person confirms, written by
`write_profile_edit` only if the file is still what the diff was made from.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import os
import re
import shlex
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

from jail.approve.request import Answer, ApprovalRequest, Decision, ProfileEdit

GrantKey = tuple[str, str, tuple[str, ...], str]  # (kind, exe, argv, cwd)


def grant_key(request: ApprovalRequest) -> GrantKey:
    if request.kind == "connect":  # a grant names the destination, whichever process asks
        return (request.kind, "", (request.target,), "")
    return (request.kind, request.exe, request.argv, request.cwd)


class GrantStore:
    """Grants made by answers, for one session. Thread-safe; `clock` is
    monotonic seconds and only matters for "for N minutes"."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._once: dict[str, tuple[str, Decision]] = {}  # request id -> (origin, decision)
        self._lasting: dict[GrantKey, tuple[float | None, str, Decision]] = {}  # expiry, origin

    def record(self, request: ApprovalRequest, decision: Decision) -> None:
        """Remember what `decision` (the answer to `request`) allows from now on."""
        if not decision.allowed or decision.granted_by is not None:
            return  # denials are not remembered; a grant does not make grants
        with self._lock:
            if decision.answer is Answer.ALLOW_ONCE:
                self._once[request.id] = (request.id, decision)
                return
            expiry = None
            if decision.answer is Answer.ALLOW_FOR:
                assert decision.minutes is not None
                expiry = self._clock() + decision.minutes * 60
            key = grant_key(request)
            current = self._lasting.get(key)
            if current is not None and (current[0] is None or (expiry is not None and expiry <= current[0])):
                return  # never shorten a grant already made
            self._lasting[key] = (expiry, request.id, decision)

    def lookup(self, request: ApprovalRequest) -> Decision | None:
        """The grant that answers `request`, as a Decision whose `granted_by`
        names the request that was answered; None when a person must be asked.
        A "once" grant answers only its own request, and only one time."""
        with self._lock:
            once = self._once.pop(request.id, None)
            if once is not None:
                return replace(once[1], granted_by=once[0])
            key = grant_key(request)
            lasting = self._lasting.get(key)
            if lasting is None:
                return None
            expiry, origin, decision = lasting
            if expiry is not None and self._clock() >= expiry:
                del self._lasting[key]
                return None
            return replace(decision, granted_by=origin, edit=None)


def command_pattern(request: ApprovalRequest) -> str:
    """The [exec] rule that allows this command, in the exec rules' own syntax
    (jail/execrules/pattern.py): words split like a shell line, the program by
    its name, every argument as written with `*`, `?` and `[` made literal
    (`[*]`), no trailing `*`. Raises ValueError for an argv no pattern can
    state (a `--`, a `---word`, an empty program name). A #! script run
    through its interpreter (its path in `target`) is named as the script."""
    argv = request.argv
    if request.kind == "exec" and request.target and request.target in argv[1:3]:
        argv = argv[argv.index(request.target, 1):]
    name = argv[0].rsplit("/", 1)[-1] if argv else ""
    name = name or request.exe.rsplit("/", 1)[-1]
    if not name or name.startswith("-") or "=" in name:
        raise ValueError(f"no exec rule can name the program {name!r}")
    for word in argv[1:]:
        if word.startswith("-") and len(word) > 1 and (
                word.startswith("---") or word.partition("=")[0] in ("-", "--")):
            raise ValueError(f"no exec rule can state the argument {word!r}")
    return " ".join(shlex.quote(_literal(word)) for word in [name, *argv[1:]])


def _literal(word: str) -> str:
    return "".join(f"[{ch}]" if ch in "*?[" else ch for ch in word)


def render_always_diff(profile_path: Path | str, current_text: str,
                       request: ApprovalRequest) -> tuple[str, str]:
    """Add the request's command to `[exec] allow` of the profile, keeping every
    other byte (comments, order) as it was. Returns (new_text, unified_diff);
    the diff is "" when the rule is already there. Raises ValueError when the
    file is not TOML or its exec table cannot be edited as text — the result is
    re-parsed and must differ from the old data by exactly the one rule."""
    before = tomllib.loads(current_text)
    rule = command_pattern(request)
    exec_table = before.get("exec", {})
    if not isinstance(exec_table, dict) or not isinstance(exec_table.get("allow", []), list):
        raise ValueError(f"{profile_path}: 'exec' / 'exec.allow' is not a table / list")
    if rule in exec_table.get("allow", []):
        return current_text, ""
    line = f"  {_toml_string(rule)},  # {request.rule_where} ({_short(request.reason)})\n"
    new_text = _insert_rule(current_text, rule, line)
    expected = dict(before)
    expected["exec"] = {**exec_table, "allow": [*exec_table.get("allow", []), rule]}
    try:
        after = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError:
        after = None
    if after != expected:
        raise ValueError(f"{profile_path}: cannot add to [exec] allow by editing the text; add "
                         f"{_toml_string(rule)} by hand")
    diff = "".join(difflib.unified_diff(current_text.splitlines(keepends=True),
                                        new_text.splitlines(keepends=True),
                                        fromfile=str(profile_path), tofile=str(profile_path)))
    return new_text, diff


def propose_always(profile_path: Path, request: ApprovalRequest) -> ProfileEdit:
    """Read the profile (a missing file counts as empty) and build the edit."""
    try:
        current = profile_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    new_text, diff = render_always_diff(profile_path, current, request)
    return ProfileEdit(str(profile_path), command_pattern(request), current, new_text, diff)


def write_profile_edit(edit: ProfileEdit) -> bytes:
    """Write a confirmed "always" and return the bytes written. Under a lock on
    the profile's directory (two sessions cannot interleave) the file must
    still hold exactly `edit.old_text` — else ValueError: the person confirmed
    a change to something else. The new text replaces the file in one rename
    (a temporary file beside it, synced), keeping its mode."""
    path = Path(edit.path)
    new = edit.new_text.encode("utf-8")
    directory = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        fcntl.flock(directory, fcntl.LOCK_EX)
        try:
            current, mode = path.read_bytes(), path.stat().st_mode & 0o7777
        except FileNotFoundError:
            current, mode = b"", 0o644
        if current != edit.old_text.encode("utf-8"):
            raise ValueError(f"{path} changed since the change was shown; nothing was written")
        fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(new)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(temp, mode)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        os.fsync(directory)
    finally:
        os.close(directory)
    return new


def always_writer(trusted: Mapping[Path, bytes],
                  record: Callable[..., object]) -> Callable[[ProfileEdit], bytes]:
    """How `jail run` writes a confirmed "always": the file (`write_profile_edit`),
    then trust re-pinned to the new bytes — the person has just read exactly
    this change, which is what trust asks of them — so the next run does not
    ask again, then an audit record. `trusted` is the project profile's files
    as they were trusted when the session started."""
    def write(edit: ProfileEdit) -> bytes:
        from jail.profile.trust import record_trust

        new = write_profile_edit(edit)
        target = os.path.realpath(edit.path)
        record_trust({path: new if os.path.realpath(path) == target else data
                      for path, data in trusted.items()})
        record(event="profile-edit", path=edit.path, rule=edit.rule, diff=edit.diff)
        return new
    return write


_HEADER = re.compile(r"^[ \t]*\[\[?[ \t]*([^\]\s]+)[ \t]*\]\]?[ \t]*(?:#.*)?$", re.MULTILINE)
_ALLOW = re.compile(r"^[ \t]*allow[ \t]*=[ \t]*", re.MULTILINE)


def _insert_rule(text: str, rule: str, line: str) -> str:
    if text and not text.endswith("\n"):
        text += "\n"
    headers = list(_HEADER.finditer(text))
    section = next((h for h in headers if h.group(1) == "exec"), None)
    if section is None:
        gap = "\n" if text.strip() else ""
        return f"{text}{gap}[exec]\nallow = [\n{line}]\n"
    later = [h.start() for h in headers if h.start() > section.end()]
    end = later[0] if later else len(text)
    allow = _ALLOW.search(text, section.end(), end)
    if allow is None:
        at = section.end() + 1
        return f"{text[:at]}allow = [\n{line}]\n{text[at:]}"
    opening = allow.end()
    if text[opening:opening + 1] != "[":
        raise ValueError("exec.allow is not a literal array")
    closing, last = _array_end(text, opening)
    if "\n" not in text[opening:closing]:
        sep = ", " if last is not None else ""
        return f"{text[:closing]}{sep}{_toml_string(rule)}{text[closing:]}"
    comma = "," if last is not None and text[last] != "," else ""
    head = text[:last + 1] + comma + text[last + 1:closing] if last is not None else text[:closing]
    line_start = head.rfind("\n") + 1
    if head[line_start:].strip():  # "]" shares a line with content: start a new one
        return f"{head}\n{line}{text[closing:]}"
    return f"{head[:line_start]}{line}{head[line_start:]}{text[closing:]}"


def _array_end(text: str, opening: int) -> tuple[int, int | None]:
    """Index of the "]" closing the array at `opening`, and of the last
    significant character inside it (None for an empty array)."""
    depth, i, last = 0, opening, None
    while i < len(text):
        ch = text[i]
        if ch == "#":
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        if ch in "\"'":
            quote = ch * 3 if text.startswith(ch * 3, i) else ch
            j = i + len(quote)
            while not text.startswith(quote, j):
                if j >= len(text):
                    raise ValueError("unterminated string in exec.allow")
                j += 2 if ch == '"' and text[j] == "\\" else 1
            i = j + len(quote)
            last = i - 1
            continue
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
            if depth == 0:
                return i, last
        if not ch.isspace() and i != opening:
            last = i
        i += 1
    raise ValueError("unterminated array in exec.allow")


def _toml_string(value: str) -> str:
    out = value.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(ch if ch.isprintable() else f"\\U{ord(ch):08x}" for ch in out)
    return f'"{out}"'


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join("".join(ch if ch.isprintable() else " " for ch in text).split())
    return flat if len(flat) <= limit else flat[:limit - 1] + "…"
