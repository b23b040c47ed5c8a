"""The built-in profiles shipped with jail (profiles/*.toml, package jail.builtin_profiles).

Their bytes are cached on first read, and `preload()` reads them all up front,
so a process that drops privileges afterwards (or whose installation becomes
unreachable) still has them.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from importlib.resources.abc import Traversable
from pathlib import Path

import tomli

PACKAGE = "jail.builtin_profiles"
# Catalogues that live beside the profiles but are data, not profiles.
DATA_FILES = frozenset({"secrets"})


@dataclass(frozen=True)
class Builtin:
    name: str
    data: bytes
    path: Path | None  # the file on disk, when the package is a plain directory

    @property
    def source(self) -> str:
        """How rules from this profile name their file: "default.toml"."""
        return f"{self.name}.toml"


_cache: dict[str, Builtin] = {}


def _root() -> Traversable:
    try:
        return importlib.resources.files(PACKAGE)
    except ModuleNotFoundError:
        # An uninstalled checkout: <repo>/jail/profile/builtin.py -> <repo>/profiles
        return Path(__file__).resolve().parents[2] / "profiles"


def builtin_files() -> list[Path]:
    """The built-in profile and data files on disk (none when installed as a zip)."""
    root = _root()
    return [Path(str(entry)) for entry in root.iterdir()
            if entry.name.endswith(".toml") and isinstance(entry, Path)] if isinstance(root, Path) else []


def builtin_names() -> list[str]:
    return list(_scan_names())


@functools.cache
def _scan_names() -> tuple[str, ...]:
    return tuple(sorted(entry.name[:-5] for entry in _root().iterdir()
                        if entry.name.endswith(".toml") and entry.is_file()
                        and entry.name[:-5] not in DATA_FILES))


def read_builtin(name: str) -> Builtin | None:
    """The built-in profile `name`, or None if there is no such profile."""
    if name in _cache:
        return _cache[name]
    if not name or "/" in name or name.startswith(".") or name not in builtin_names():
        return None
    entry = _root() / f"{name}.toml"
    found = Builtin(name, entry.read_bytes(), entry if isinstance(entry, Path) else None)
    _cache[name] = found
    return found


def preload() -> None:
    """Read every built-in profile now (before dropping privileges, say)."""
    for name in builtin_names():
        read_builtin(name)


def builtin_descriptions() -> dict[str, str]:
    """Name -> the profile's own `description`."""
    result = {}
    for name in builtin_names():
        found = read_builtin(name)
        try:
            data = tomli.loads(found.data.decode("utf-8")) if found else {}
        except (tomli.TOMLDecodeError, UnicodeDecodeError):
            data = {}
        description = data.get("description", "")
        result[name] = description if isinstance(description, str) else ""
    return result
