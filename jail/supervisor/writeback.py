"""Writing into a secret-bearing file in place keeps the real secrets.

The agent read the file with placeholders. When it opens the file write-only
(`>`, `>>`, an editor or an agent tool rewriting it), jail first keeps the
real content — in memory and in a 0600 backup under jail's state dir, out of
the sandbox's reach — and watches the file with inotify. When the writer
closes it, jail puts each real value back on the lines the agent left as it
read them (jail.redact.restore), exactly as for a rename over the file. A
placeholder the agent moved or invented stays a placeholder, the backup is
kept and the audit log says which lines; otherwise the backup is removed at
the end of the session.

A read-write open of such a file stays refused: it would read the real bytes.
Between the writer's close and the restore, a reader sees placeholders (never
a secret); jail restores before it handles anything else for that file.
"""

from __future__ import annotations

import ctypes
import errno
import os
import select
import struct
import threading
from dataclasses import dataclass
from pathlib import Path

IN_CLOSE_WRITE = 0x00000008
IN_IGNORED = 0x00008000
IN_CLOEXEC = 0o2000000
IN_NONBLOCK = 0o4000
_EVENT = struct.Struct("iIII")

_libc = ctypes.CDLL(None, use_errno=True)


def _inotify_init() -> int:
    fd = _libc.inotify_init1(IN_CLOEXEC | IN_NONBLOCK)
    if fd < 0:
        raise OSError(ctypes.get_errno(), "inotify_init1")
    return fd


def _add_watch(inotify: int, path: str, mask: int) -> int:
    wd = _libc.inotify_add_watch(inotify, os.fsencode(path), ctypes.c_uint32(mask))
    if wd < 0:
        raise OSError(ctypes.get_errno(), "inotify_add_watch")
    return wd


@dataclass
class _Watched:
    path: str
    opath: int  # O_PATH fd of the inode: renames and unlinks do not lose it
    original: bytes  # the real content, secrets included
    backup: Path
    lossy: bool = False  # a restore could not put every secret back: keep the backup


class WriteBack:
    def __init__(self, redactor, audit, tell, backup_dir: Path) -> None:
        self.redactor = redactor
        self.audit = audit
        self.tell = tell
        self.backup_dir = backup_dir
        self._inotify = _inotify_init()
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC)
        self._by_wd: dict[int, _Watched] = {}
        self._by_inode: dict[tuple[int, int], int] = {}
        self._lock = threading.RLock()
        self._thread = threading.Thread(target=self._run, name="jail-writeback", daemon=True)
        self._thread.start()

    def watch(self, path: str, opath_fd: int) -> None:
        """Keep the real content of the file behind opath_fd before a write-only open of it."""
        st = os.fstat(opath_fd)
        with self._lock:
            if (st.st_dev, st.st_ino) in self._by_inode:
                return  # already kept: the first content is the real one
            with open(f"/proc/self/fd/{opath_fd}", "rb") as f:
                original = f.read()
            self.backup_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            backup = self.backup_dir / f"{len(self._by_wd) + 1}-{os.path.basename(path)}"
            fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with open(fd, "wb") as f:
                f.write(original)
            wd = _add_watch(self._inotify, f"/proc/self/fd/{opath_fd}", IN_CLOSE_WRITE)
            self._by_wd[wd] = _Watched(path, os.dup(opath_fd), original, backup)
            self._by_inode[(st.st_dev, st.st_ino)] = wd

    def settle(self, st: os.stat_result) -> bool:
        """Is this file kept for a write-back? Restores any pending close first,
        so a reader never races the restore."""
        if (st.st_dev, st.st_ino) not in self._by_inode:
            return False
        self._drain()
        return True

    def close(self) -> None:
        """Restore what is pending, stop, and remove backups that are no longer needed."""
        os.write(self._stop_w, b"x")
        self._thread.join(timeout=5)
        self._drain()
        for watched in self._by_wd.values():
            if not watched.lossy:
                watched.backup.unlink(missing_ok=True)
            os.close(watched.opath)
        try:
            self.backup_dir.rmdir()
        except OSError:
            pass

    def _run(self) -> None:
        while True:
            ready, _, _ = select.select([self._inotify, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            self._drain()

    def _drain(self) -> None:
        with self._lock:
            while True:
                try:
                    data = os.read(self._inotify, 64 * 1024)
                except BlockingIOError:
                    return
                position = 0
                while position + _EVENT.size <= len(data):
                    wd, mask, _cookie, length = _EVENT.unpack_from(data, position)
                    position += _EVENT.size + length
                    watched = self._by_wd.get(wd)
                    if watched is not None and mask & IN_CLOSE_WRITE:
                        self._restore(watched)

    def _restore(self, watched: _Watched) -> None:
        magic = f"/proc/self/fd/{watched.opath}"
        try:
            with open(magic, "rb") as f:
                written = f.read()
            result = self.redactor.restore(watched.path, written, watched.original)
            if result.data != written:
                with open(magic, "r+b") as f:
                    if f.read() != written:
                        return  # written again meanwhile: its own close comes next
                    f.seek(0)
                    f.write(result.data)
                    f.truncate()
        except OSError as error:
            watched.lossy = True
            self.audit.record(event="writeback", target=watched.path, verdict="error",
                              reason=f"{errno.errorcode.get(error.errno or 0, error)}",
                              backup=str(watched.backup))
            return
        if result.restored == 0 and not result.unresolved:
            watched.original = written  # no placeholders: this is the file's real content now
            return
        unresolved = [{"line": u.line, "rule": u.rule_id, "reason": u.reason} for u in result.unresolved]
        self.audit.record(event="writeback", target=watched.path, verdict="restore", restored=result.restored,
                          unresolved=unresolved, **({"backup": str(watched.backup)} if unresolved else {}))
        if unresolved:
            watched.lossy = True
            self.tell(f"jail: {watched.path} was rewritten with {len(unresolved)} placeholder(s) on lines "
                      f"the agent changed; the real values are kept in {watched.backup}")
        else:
            watched.original = result.data
