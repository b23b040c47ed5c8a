"""Scan results per file identity, so a file is scanned once per change.

The key is (st_dev, st_ino, st_size, st_mtime_ns, st_ctime_ns): any write
changes mtime and ctime, and a replaced file has a new inode. The one blind
spot is two same-size writes within one timestamp tick (a few ms on coarse
clocks); ctime cannot be set from user space, so the file's owner cannot forge
an old identity on purpose.

The cache holds findings (rule, line, offsets), never file contents or secret
values. It is bounded (least recently used goes first) and safe to share
between threads; two threads that miss on the same file may both scan it, and
the second store wins, which is harmless since both results are the same.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

FileKey = tuple[int, int, int, int, int]
DEFAULT_ENTRIES = 65536
T = TypeVar("T")


def file_key(st: os.stat_result) -> FileKey:
    """The cache key of a file from its stat (or fstat) result."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


class ScanCache(Generic[T]):
    """A bounded, thread-safe LRU map from a FileKey (or a key that extends
    one, such as the supervisor's key with the always-redact flag) to a scan
    result."""

    def __init__(self, max_entries: int = DEFAULT_ENTRIES,
                 on_evict: Callable[[Hashable, T], None] | None = None) -> None:
        """`on_evict(key, result)` is called, outside the lock, for each entry
        dropped as least recently used (a result holding a resource closes it)."""
        if max_entries < 1:
            raise ValueError("a scan cache needs room for at least one entry")
        self.max_entries = max_entries
        self.on_evict = on_evict
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> T | None:
        with self._lock:
            result = self._entries.get(key)
            if result is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return result

    def put(self, key: Hashable, result: T) -> None:
        evicted = []
        with self._lock:
            self._entries[key] = result
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                evicted.append(self._entries.popitem(last=False))
        if self.on_evict is not None:
            for old_key, old in evicted:
                self.on_evict(old_key, old)

    def get_or_scan(self, key: Hashable, scan: Callable[[], T]) -> T:
        """The cached result for `key`, or scan() stored under it (scanned outside the lock)."""
        result = self.get(key)
        if result is None:
            result = scan()
            self.put(key, result)
        return result

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._entries
