"""The Landlock floor: writes confined to the writable places, signals and
abstract unix sockets scoped to the sandbox.

Landlock is race-free and costs ~1 µs per open; it cannot carve one file out
of an allowed tree, so the supervisor enforces the carve-outs above it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13      # ABI 2
TRUNCATE = 1 << 14   # ABI 3

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1                # ABI 6

_WRITES_V1 = (WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_CHAR | MAKE_DIR | MAKE_REG | MAKE_SOCK
              | MAKE_FIFO | MAKE_BLOCK | MAKE_SYM)
_FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE


@dataclass(frozen=True)
class LandlockPlan:
    abi: int
    handled_fs: int
    scoped: int
    rules: tuple[tuple[str, int], ...]  # (path, allowed access)


def handled_writes(abi: int) -> int:
    rights = _WRITES_V1
    if abi >= 2:
        rights |= REFER
    if abi >= 3:
        rights |= TRUNCATE
    return rights


def plan(abi: int, writable: list[str]) -> LandlockPlan | None:
    """Grant every write right beneath each writable place; deny writes elsewhere."""
    if abi < 1:
        return None
    handled = handled_writes(abi)
    rules = []
    for path in writable:
        try:
            is_dir = os.path.isdir(path)
        except OSError:
            continue
        if not os.path.exists(path):
            continue
        rules.append((path, handled if is_dir else handled & _FILE_RIGHTS))
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    return LandlockPlan(abi, handled, scoped, tuple(rules))
