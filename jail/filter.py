"""Build the BPF program from the syscall table with libseccomp (pyseccomp).

Order of checks: a foreign architecture (i386 `int 0x80`) or an x32 number
kills the process before anything else; then DENY rows answer with their
errno in the kernel; trapped rows (only when their condition holds, if they
have one) go to the supervisor; everything else runs
at full speed.

What is trapped is only what policy needs, decided in BPF wherever the
deciding bits are in registers (no race): stats of a name are never trapped,
stats of an fd only with AT_EMPTY_PATH. Reviewed and deliberately still
trapped: opens with O_PATH. Such an fd reads nothing itself, but the
supervisor resolves a dirfd through /proc/TID/fd/N, so an O_PATH fd the kernel
handed out unchecked (say of /proc/<jail's pid> where there is no pid
namespace) would become a starting point that skips the resolver's check of
/proc entries of processes outside the sandbox. The cost of a repeated trapped
open is paid in C instead (native/jail_fastpath.c).
"""

from __future__ import annotations

import os
import tempfile

import pyseccomp

from jail.syscalls import TABLE, Family

_ATTR_ACT_BADARCH = 0x2  # SCMP_FLTATR_ACT_BADARCH


def build_filter() -> bytes:
    """The BPF program as raw struct sock_filter bytes."""
    flt = pyseccomp.SyscallFilter(pyseccomp.ALLOW)
    flt.set_attr(_ATTR_ACT_BADARCH, pyseccomp.KILL_PROCESS)
    for row in TABLE:
        action = pyseccomp.ERRNO(row.errno) if row.family is Family.DENY else pyseccomp.NOTIFY
        if not row.when:
            flt.add_rule(action, row.nr)
        for cond in row.when:
            if cond.differs:  # libseccomp's NE compares the whole argument
                flt.add_rule(action, row.nr, pyseccomp.Arg(cond.index, pyseccomp.NE, cond.value))
            else:
                flt.add_rule(action, row.nr,
                             pyseccomp.Arg(cond.index, pyseccomp.MASKED_EQ, cond.mask, cond.value))
    with tempfile.TemporaryFile() as out:
        flt.export_bpf(out)
        out.flush()
        out.seek(0)
        program = out.read()
    if not program or len(program) % 8:
        raise RuntimeError("libseccomp exported an empty or malformed BPF program")
    return program


def describe(program: bytes) -> str:
    """A short summary for `jail doctor` and debugging."""
    return f"{len(program) // 8} BPF instructions, pid {os.getpid()}"
