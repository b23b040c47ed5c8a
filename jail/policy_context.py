"""Build the Policy for a run: the pure policy plus facts only the filesystem
knows (inodes of protected files, hardlinks into credential stores)."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from jail import state
from jail.policy import Policy, PolicyContext

SCAN_LIMIT = 20000  # entries walked under deny paths when looking for hardlinks


def _inode(path: Path) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def _files_under(root: str):
    if not os.path.isdir(root):
        yield root
        return
    for dirpath, _dirs, files in os.walk(root, onerror=lambda _e: None):
        for name in files:
            yield os.path.join(dirpath, name)


def hardlinked_inodes(roots: Iterable[str], limit: int = SCAN_LIMIT) -> frozenset[tuple[int, int]]:
    """Inodes under the deny paths that also have another name somewhere else.

    A second name of ~/.ssh/id_rsa inside the workspace is the same file: the
    supervisor matches it by (device, inode), not by the name it was opened by.
    """
    found: set[tuple[int, int]] = set()
    seen = 0
    for root in roots:
        for path in _files_under(root):
            seen += 1
            if seen > limit:
                return frozenset(found)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                found.add((st.st_dev, st.st_ino))
    return frozenset(found)


def build_policy(loaded, *, env: Mapping[str, str], home: Path) -> Policy:
    jail_env, jail_home = os.environ, Path.home()  # jail's own state, even with --user
    protected = tuple(p for p in loaded.all_files if _inode(Path(p)) is not None)
    from jail.approve.server import socket_dir

    ctx = PolicyContext(home=home, state_dir=state.state_dir(jail_env, jail_home),
                        config_dir=state.config_dir(jail_env, jail_home), protected_files=protected,
                        private_dirs=(socket_dir(dict(jail_env)),), jail_terminal=_jail_terminal())
    first = Policy.from_profile(loaded.profile, ctx)
    protected_inodes = frozenset(filter(None, (_inode(Path(p)) for p in protected)))
    literals = first.deny_literals()
    # ~/.ssh may be a symlink into a dotfiles repo: the supervisor sees the real path.
    aliases = tuple((path, real) for path in literals if (real := os.path.realpath(path)) != path)
    ctx = replace(ctx, protected_inodes=protected_inodes, deny_aliases=aliases,
                  denied_inodes=hardlinked_inodes([*literals, *(real for _, real in aliases)]))
    return Policy.from_profile(loaded.profile, ctx)


def _jail_terminal() -> Path | None:
    """jail's terminal, when the agent runs on a pty of jail's (jail.terminal)."""
    from jail.terminal import has_own_terminal

    return Path(os.ttyname(0)) if has_own_terminal() else None
