"""Where jail keeps its own files, following the XDG base directory spec.

Every function takes the environment and the home directory as arguments, so
tests pass a fake environment and nothing here reads process-global state.
The state directory holds the audit log and trust pins: invariant 4 says the
agent can never write it, and a private mode keeps other users out as well.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Mapping
from pathlib import Path

from jail.errors import JailError

PRIVATE_MODE = 0o700


def _xdg_base(env: Mapping[str, str], variable: str, fallback: Path) -> Path:
    value = env.get(variable, "")
    # The spec says a relative value is invalid and must be ignored; an empty
    # one means "unset".
    if value and os.path.isabs(value):
        return Path(value)
    return fallback


def state_dir(env: Mapping[str, str], home: Path) -> Path:
    """`$XDG_STATE_HOME/jail`, or `~/.local/state/jail`."""
    return _xdg_base(env, "XDG_STATE_HOME", home / ".local" / "state") / "jail"


def config_dir(env: Mapping[str, str], home: Path) -> Path:
    """`$XDG_CONFIG_HOME/jail`, or `~/.config/jail`."""
    return _xdg_base(env, "XDG_CONFIG_HOME", home / ".config") / "jail"


def sessions_dir(env: Mapping[str, str], home: Path) -> Path:
    """The directory of per-session audit logs."""
    return state_dir(env, home) / "sessions"


def ensure_private_dir(path: Path) -> Path:
    """Create `path` (and missing parents) with mode 0700; tighten an existing one.

    An existing directory owned by someone else is refused rather than used:
    whoever owns it could read or rewrite the audit log.
    """
    path = Path(path)
    missing = []
    probe = path
    while not probe.exists():
        missing.append(probe)
        if probe.parent == probe:
            break
        probe = probe.parent
    for directory in reversed(missing):
        try:
            # os.makedirs applies the mode only to the leaf; parents we create
            # are ours too, so each is made private, whatever the umask says.
            directory.mkdir(mode=PRIVATE_MODE)
            os.chmod(directory, PRIVATE_MODE)
        except FileExistsError:
            pass  # created concurrently (another jail starting); checked below
        except OSError as error:
            raise JailError(f"cannot create directory {directory}: {error.strerror}") from error
    try:
        info = os.stat(path)
    except OSError as error:
        raise JailError(f"cannot inspect directory {path}: {error.strerror}") from error
    if not stat.S_ISDIR(info.st_mode):
        raise JailError(f"{path} exists and is not a directory")
    if info.st_uid != os.geteuid():
        raise JailError(
            f"{path} is owned by uid {info.st_uid}, not by you (uid {os.geteuid()})",
            hint="jail keeps its audit log and trust pins there; remove or chown it",
        )
    if stat.S_IMODE(info.st_mode) != PRIVATE_MODE:
        try:
            os.chmod(path, PRIVATE_MODE)
        except OSError as error:
            raise JailError(f"cannot make {path} private: {error.strerror}") from error
    return path
