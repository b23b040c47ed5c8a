"""Serve files that hold secrets as redacted copies.

A regular file opened for reading is scanned once per identity (device,
inode, size, mtime, ctime). Without a finding the agent gets the file itself;
with one it gets a fresh read-only open of a sealed memfd holding the same
bytes with every secret replaced by a placeholder of its own: same line
count, so diffs and line numbers still make sense; no write, grow, shrink or
exec is possible on it.

The placeholders are unique per secret and session, so a write-back can be
restored: when a file that holds secrets is replaced by a rename (sed -i,
editors' atomic save) the new content gets the real values back before it
takes the old name, but only on lines the agent left as it read them, so a
placeholder moved into a new line (a URL, a command) never becomes the value;
such a rename is refused. Opening a secret-bearing file for writing directly
is refused, because jail would not see the write before it lands.
"""

from __future__ import annotations

import dataclasses
import os
import re
import threading
from dataclasses import dataclass

from jail.redact import ScanCache, file_key

MFD_CLOEXEC = 0x0001
MFD_ALLOW_SEALING = 0x0002
MFD_NOEXEC_SEAL = 0x0008
F_ADD_SEALS = 1033
F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_GROW, F_SEAL_WRITE = 0x1, 0x2, 0x4, 0x8
# A clean file's entry is a few dozen bytes: hold a whole large tree (a grep -r
# pass over 7,000 files rescanned everything with 4,096). Only entries with a
# copy hold a memfd, and eviction closes it.
CACHE_ENTRIES = 262144


@dataclass
class Scanned:
    memfd: int | None           # sealed redacted copy, or None when the file is served as itself
    findings: tuple             # jail.redact Findings (rule id and place, never the value)
    unscanned: str | None = None
    original: os.stat_result | None = None  # the file the copy stands for (fdstat answers with it)
    transient: bool = False     # not cached: the copy is closed once reopened for the agent


def _read_file(opath_fd: int) -> bytes:
    """The whole content of the file behind an O_PATH fd, read by jail."""
    fd = os.open(f"/proc/self/fd/{opath_fd}", os.O_RDONLY | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def sealed_copy(name: str, data: bytes) -> int:
    flags = MFD_CLOEXEC | MFD_ALLOW_SEALING
    try:
        fd = os.memfd_create(name[-200:], flags | MFD_NOEXEC_SEAL)
    except OSError:  # kernels before 6.3 have no MFD_NOEXEC_SEAL
        fd = os.memfd_create(name[-200:], flags)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    import fcntl

    fcntl.fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
    return fd


CLEAN = Scanned(None, ())
# Text up to LARGE_LIMIT is scanned in chunks past the scanner's own size limit;
# larger files (and large binaries) are served as they are, and audited so.
LARGE_LIMIT = 256 << 20
CHUNK = 4 << 20
TOO_LARGE = "unscanned: too large"


def _chunk_end(data: bytes, start: int) -> int:
    """The end of a chunk from `start`: about CHUNK bytes, after a line break,
    extended past the end of a PEM block it would cut."""
    if len(data) - start <= CHUNK:
        return len(data)
    end = data.find(b"\n", start + CHUNK)
    end = len(data) if end < 0 else end + 1
    begin = data.rfind(b"-----BEGIN ", start, end)
    if begin >= 0 and data.find(b"-----END ", begin, end) < 0:
        close = data.find(b"-----END ", end)
        if close >= 0:
            line_end = data.find(b"\n", close)
            end = len(data) if line_end < 0 else line_end + 1
    return end
# /proc/PID/environ and /proc/PID/task/TID/environ: redacted as an environment
# (secret names too), with nothing passed through.
ENVIRON = re.compile(r"/proc/\d+/(?:task/\d+/)?environ\Z")


class Redactor:
    def __init__(self, redaction) -> None:
        self.redaction = redaction  # jail.redaction.Redaction: scanner, key, path rules
        self.scanner = redaction.scanner
        self.key = redaction.key
        self.every_value = redaction.every_value  # paths whose every value is a secret (e.g. **/.env*)
        self._cache: ScanCache[Scanned] = ScanCache(CACHE_ENTRIES, on_evict=self._forget)
        self._copies: dict[tuple[int, int], os.stat_result] = {}  # a copy's (dev, ino) → its file's stat
        self._lock = threading.Lock()

    def has_copies(self) -> bool:
        return bool(self._copies)

    def original_of(self, dev: int, ino: int) -> os.stat_result | None:
        """The stat of the file a redacted copy stands for; None if (dev, ino) is no copy."""
        return self._copies.get((dev, ino))

    def scanned(self, path: str, opath_fd: int, st: os.stat_result) -> Scanned:
        """The scan of the file behind opath_fd (cached by its identity)."""
        if self.redaction.never_scanned(path) or file_key(st) in self.redaction.exempt:
            return CLEAN
        if path.startswith(("/proc/", "/sys/")):
            # Pseudo files change without a new identity: scan each open afresh.
            return dataclasses.replace(self._scan(path, opath_fd, st), transient=True)
        key = (*file_key(st), self.every_value(path))
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        result = self._scan(path, opath_fd, st)
        if result.memfd is not None:
            copy = os.fstat(result.memfd)
            with self._lock:
                self._copies[(copy.st_dev, copy.st_ino)] = result.original
        self._cache.put(key, result)
        return result

    def _forget(self, _key, old: Scanned) -> None:
        """A scan left the cache: its copy is closed (descriptors the agent
        holds on it stay valid) and no longer stands for its file."""
        if old.memfd is not None:
            copy = os.fstat(old.memfd)
            with self._lock:
                self._copies.pop((copy.st_dev, copy.st_ino), None)
            os.close(old.memfd)

    def _scan(self, path: str, opath_fd: int, st: os.stat_result) -> Scanned:
        if st.st_size > LARGE_LIMIT:
            return Scanned(None, (), unscanned=TOO_LARGE)
        done = self._redact(path, _read_file(opath_fd))
        if done is None:
            return Scanned(None, (), unscanned=TOO_LARGE)
        redacted, findings = done
        if not findings:
            return Scanned(None, ())
        return Scanned(sealed_copy(path, redacted), tuple(findings), original=st)

    def snapshot(self, path: str, opath_fd: int) -> Scanned:
        """A redacted copy of what the file holds now, even without a finding: for
        a file jail is about to write secrets back into, the agent must never
        hold the file itself."""
        st = os.fstat(opath_fd)
        data = _read_file(opath_fd)
        redacted, findings = self._redact(path, data) or (data, [])
        return Scanned(sealed_copy(path, redacted), tuple(findings), original=st, transient=True)

    def _redact(self, path: str, data: bytes) -> tuple[bytes, list] | None:
        """`data` with its secrets as placeholders, and the findings; None for
        what the policy does not scan (larger than LARGE_LIMIT, a large binary)."""
        if ENVIRON.match(path):
            return self._environ(data)
        if self.scanner.check_size(len(data)) is None:
            return self.scanner.redact(data, self.key, every_value=self.every_value(path))
        if len(data) > LARGE_LIMIT or b"\0" in data[:8192]:
            return None
        return self._redact_large(data, self.every_value(path))

    def _redact_large(self, data: bytes, every_value: bool) -> tuple[bytes, list]:
        """A large text file (a log, a dump) in chunks that end at a line break
        and never inside a PEM block, so every secret is seen whole."""
        from jail.redact import Finding

        out, findings, start, lines = [], [], 0, 0
        while start < len(data):
            end = _chunk_end(data, start)
            chunk = data[start:end]
            redacted, found = self.scanner.redact(chunk, self.key, every_value=every_value)
            out.append(redacted)
            findings.extend(Finding(f.rule_id, f.line + lines, f.start + start, f.end + start) for f in found)
            lines += chunk.count(b"\n")
            start = end
        return b"".join(out), findings

    def _environ(self, data: bytes) -> tuple[bytes, list]:
        """NAME=VALUE entries, NUL-separated, redacted by name and by value.
        A finding's line is the entry's position."""
        from jail.redact import Finding

        out, findings = [], []
        for number, entry in enumerate(data.split(b"\0"), 1):
            name, sep, value = entry.decode("utf-8", "surrogateescape").partition("=")
            shown = entry
            if sep:
                redacted, found = self.redaction.other_environment({name: value})
                if found:
                    shown = f"{name}={redacted[name]}".encode("utf-8", "surrogateescape")
                    findings.extend(Finding(f.rule_id, number, 0, 0) for f in found)
            out.append(shown)
        return b"\0".join(out), findings

    def restore(self, path: str, new: bytes, original: bytes):
        """`new` with each placeholder of a secret in `original` put back, on lines
        the agent left as it read them (jail.redact.restore). The result's
        `unresolved` lists placeholders that were moved, edited or invented."""
        from jail.redact import restore

        return restore(new, original, self.key, scanner=self.scanner, every_value=self.every_value(path))

    def reopen(self, scanned: Scanned) -> int:
        """A fresh read-only description of the copy: its own offset, nothing shared."""
        fd = os.open(f"/proc/self/fd/{scanned.memfd}", os.O_RDONLY | os.O_CLOEXEC)
        if scanned.transient:
            os.close(scanned.memfd)
        return fd
