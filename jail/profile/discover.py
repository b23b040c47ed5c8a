"""Where profiles live: the person's own base, the project's jail.toml, XDG dirs.

Nothing here prompts or decides; it only finds files and directories.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

PROJECT_FILE = "jail.toml"


def config_dir(env: Mapping[str, str], home: Path) -> Path:
    """$XDG_CONFIG_HOME/jail, by default ~/.config/jail."""
    return _xdg(env, "XDG_CONFIG_HOME", home / ".config") / "jail"


def state_dir(env: Mapping[str, str], home: Path) -> Path:
    """$XDG_STATE_HOME/jail, by default ~/.local/state/jail (audit log, trust store)."""
    return _xdg(env, "XDG_STATE_HOME", home / ".local" / "state") / "jail"


def user_base_path(env: Mapping[str, str], home: Path) -> Path:
    return config_dir(env, home) / PROJECT_FILE


def _xdg(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name, "")
    # The XDG spec says relative values are invalid and must be ignored.
    return Path(value) if value.startswith("/") else default


def present(path: Path, *, directory_ok: bool = True) -> bool:
    """Whether something is at `path`. Unreadable counts as present: the read that
    follows then fails with a clear error, where skipping could drop rules."""
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError:
        return True
    return directory_ok or not stat.S_ISDIR(mode)


def find_upwards(start: Path, name: str, *, directory_ok: bool = True) -> Path | None:
    """The first `name` in start or one of its parents, up to the filesystem root."""
    for directory in (start, *start.parents):
        candidate = directory / name
        if present(candidate, directory_ok=directory_ok):
            return candidate
    return None


def find_project_profile(cwd: Path) -> Path | None:
    return find_upwards(cwd, PROJECT_FILE, directory_ok=False)


def find_workspace(cwd: Path, home: Path) -> Path:
    """The git top-level above cwd, or cwd itself.

    A repository at the home directory (dotfiles kept in git) or at / is not
    taken: it would make the whole home writable for a task in one project.
    """
    found = find_upwards(cwd, ".git")
    if found is not None and found.parent not in (home, Path("/")):
        return found.parent
    return cwd


def looks_like_path(reference: str) -> bool:
    """`--profile` and `extends` take built-in names or paths; paths have a / or .toml."""
    return "/" in reference or reference.endswith(".toml") or reference.startswith("~")


def display_path(path: Path | str, home: Path) -> str:
    """Show paths under the home directory as ~/..."""
    text = str(path)
    home_text = str(home).rstrip("/")
    if home_text and (text == home_text or text.startswith(home_text + "/")):
        return "~" + text[len(home_text):]
    return text
