"""Trust in project profiles, pinned by content hash in the person's own state.

A jail.toml committed to a repository is written by whoever controls the
repository, possibly an agent. It is used only after the person has read it
(or, after a change, the diff) and said yes. The store keeps the sha256 and the
trusted text itself, so a later change can be shown as a diff. It lives in
$XDG_STATE_HOME/jail/trust.json, which the policy keeps out of the sandbox's
reach. Built-in profiles and the person's own base are never asked about: the
loader does not list them as project files.
"""

from __future__ import annotations

import contextlib
import difflib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jail.errors import ProfileError, UntrustedProfileError
from jail.profile.discover import state_dir

TRUSTED, NEW, CHANGED = "trusted", "new", "changed"
STORE_NAME = "trust.json"
UNTRUSTED_HINT = "run `jail trust` in a terminal after reading it, or pass --trust-project"

# Either paths (read now) or the exact bytes the loader parsed (preferred: no
# second read that could see different content than what will be enforced).
ProfileFiles = Sequence[Path] | Mapping[Path, bytes]


@dataclass(frozen=True)
class TrustStatus:
    state: str  # TRUSTED, NEW or CHANGED
    diff: str | None = None  # unified diff, old trusted text -> current, when CHANGED

    @property
    def trusted(self) -> bool:
        return self.state == TRUSTED


def default_store(env: Mapping[str, str] | None = None, home: Path | None = None) -> Path:
    return state_dir(os.environ if env is None else env, home or Path.home()) / STORE_NAME


def trust_status(files: ProfileFiles, *, store: Path | None = None) -> TrustStatus:
    current = _snapshot(files)
    if not current:
        return TrustStatus(TRUSTED)
    entry = _load(store or default_store()).get(next(iter(current)))
    if not isinstance(entry, dict):
        return TrustStatus(NEW)
    if entry.get("sha256") == _digest(current):
        return TrustStatus(TRUSTED)
    old = entry.get("files")
    return TrustStatus(CHANGED, _diff(old if isinstance(old, dict) else {}, current))


def record_trust(files: ProfileFiles, *, store: Path | None = None) -> None:
    current = _snapshot(files)
    if not current:
        return
    store = store or default_store()
    entry = {
        "sha256": _digest(current),
        "trusted_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "files": {path: data.decode("utf-8", "replace") for path, data in current.items()},
    }
    with _locked(store):
        profiles = _load(store)
        profiles[next(iter(current))] = entry
        _write_atomic(store, {"version": 1, "profiles": profiles})


def ensure_trusted(files: ProfileFiles, *, interactive: bool, assume_yes: bool,
                   ask: Callable[[str], bool], store: Path | None = None) -> None:
    """Return if trusted (or now trusted by the person); raise UntrustedProfileError if not."""
    status = trust_status(files, store=store)
    if status.trusted:
        return
    if assume_yes:
        record_trust(files, store=store)
        return
    main = next(iter(_snapshot(files)))
    what = "is new to jail" if status.state == NEW else "changed since you trusted it"
    if not interactive:
        raise UntrustedProfileError(f"the project profile {main} {what}", UNTRUSTED_HINT)
    if not ask(trust_prompt(files, status)):
        raise UntrustedProfileError(f"not trusting the project profile {main}",
                                    "nothing was started; read it and run `jail trust` "
                                    "when it looks right")
    record_trust(files, store=store)


def trust_prompt(files: ProfileFiles, status: TrustStatus) -> str:
    """What the person should read before answering."""
    current = _snapshot(files)
    main = next(iter(current))
    if status.state == CHANGED and status.diff is not None:
        return (f"The project profile {main} changed since you trusted it.\n"
                f"Changes:\n\n{status.diff}")
    shown = "\n".join(f"==> {path} <==\n{data.decode('utf-8', 'replace').rstrip()}\n"
                      for path, data in current.items())
    return (f"The project profile {main} comes from the repository, not from you.\n"
            f"It decides what the agent may read and write. Read it first:\n\n{shown}")


# -- internals ------------------------------------------------------------------

def _snapshot(files: ProfileFiles) -> dict[str, bytes]:
    if isinstance(files, Mapping):
        return {os.path.realpath(path): bytes(data) for path, data in files.items()}
    current = {}
    for path in files:
        try:
            current[os.path.realpath(path)] = Path(path).read_bytes()
        except OSError as error:
            raise ProfileError(f"cannot read profile: {error.strerror or error}",
                               str(path)) from None
    return current


def _digest(current: Mapping[str, bytes]) -> str:
    # Framed with path and length, so moving text between files changes the hash.
    digest = hashlib.sha256()
    for path, data in current.items():
        digest.update(f"{path}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def _diff(old: Mapping[str, Any], current: Mapping[str, bytes]) -> str:
    chunks = []
    for path in list(current) + [p for p in old if p not in current]:
        before = old.get(path)
        before_lines = before.splitlines(keepends=True) if isinstance(before, str) else []
        after = current.get(path)
        after_lines = after.decode("utf-8", "replace").splitlines(keepends=True) if after else []
        chunks.extend(difflib.unified_diff(
            before_lines, after_lines,
            fromfile=f"{path} (trusted)" if isinstance(before, str) else "/dev/null",
            tofile=f"{path} (now)" if after is not None else "/dev/null"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in chunks)


def _load(store: Path) -> dict[str, Any]:
    try:
        data = json.loads(store.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        # Unreadable or corrupt: trust nothing (the person is asked again).
        return {}
    profiles = data.get("profiles") if isinstance(data, dict) else None
    return dict(profiles) if isinstance(profiles, dict) else {}


@contextlib.contextmanager
def _locked(store: Path) -> Iterator[None]:
    """Serialise read-modify-write between concurrent jail sessions."""
    store.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(store.with_name(store.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write_atomic(store: Path, data: dict[str, Any]) -> None:
    fd, temp = tempfile.mkstemp(dir=store.parent, prefix=f".{store.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2, sort_keys=True)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, 0o600)
        os.replace(temp, store)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
