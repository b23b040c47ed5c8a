"""Every door around the supervisor is shut: foreign ABIs die, the calls that
open, trace or remap by another route fail with a clear errno."""

from __future__ import annotations

import signal
import textwrap

PROBE = textwrap.dedent("""
    import ctypes, errno, os
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    def call(nr, *args):
        ret = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(a) for a in args])
        return errno.errorcode.get(ctypes.get_errno(), "OK") if ret < 0 else "OK"
    buf = ctypes.create_string_buffer(512)
    print("io_uring_setup", call(425, 8, ctypes.addressof(buf)))
    print("clone3", call(435, 0, 0))
    print("ptrace", call(101, 0, 0, 0, 0))                      # PTRACE_TRACEME
    print("process_vm_readv", call(310, os.getppid(), 0, 0, 0, 0, 0))
    print("pidfd_getfd", call(438, 0, 0, 0))
    print("unshare_user", call(272, 0x10000000))
    print("clone_newuser", call(56, 0x10000000 | 17, 0, 0, 0, 0))
    print("setns", call(308, 0, 0))
    print("mount", call(165, 0, 0, 0, 0, 0))
    print("open_by_handle_at", call(304, -100, ctypes.addressof(buf), 0))
    print("userfaultfd", call(323, 0))
    print("bpf", call(321, 0, 0, 0))
    print("seccomp_listener", call(317, 1, 1 << 3, ctypes.addressof(buf)))
    print("tiocsti", call(16, 0, 0x5412, ctypes.addressof(buf)))
    print("tiocsti_high_bits", call(16, 0, (1 << 32) | 0x5412, ctypes.addressof(buf)))
    print("vsock", call(41, 40, 1, 0))
    print("kexec_load", call(246, 0, 0, 0, 0))
    print("chroot", call(161, ctypes.addressof(ctypes.create_string_buffer(b"/tmp"))))
""")

EXPECTED = {
    "io_uring_setup": "ENOSYS", "clone3": "ENOSYS", "ptrace": "EPERM", "process_vm_readv": "EPERM",
    "pidfd_getfd": "EPERM", "unshare_user": "EPERM", "clone_newuser": "EPERM", "setns": "EPERM",
    "mount": "EPERM", "open_by_handle_at": "EPERM", "userfaultfd": "EPERM", "bpf": "EPERM",
    "seccomp_listener": "EPERM", "tiocsti": "EPERM", "tiocsti_high_bits": "EPERM", "vsock": "EPERM",
    "kexec_load": "EPERM", "chroot": "EPERM",
}


def test_bypass_syscalls_fail_with_a_clear_errno(world):
    result = world.run("python3", "-c", PROBE)
    assert result.returncode == 0, result.stderr
    got = dict(line.split() for line in result.stdout.splitlines())
    assert got == EXPECTED


def test_the_same_probe_without_jail_shows_the_calls_are_real(world):
    """Guards the test above: outside jail these calls are not all refused."""
    import subprocess
    import sys
    bare = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=False)
    got = dict(line.split() for line in bare.stdout.splitlines())
    assert got["io_uring_setup"] != "ENOSYS"
    assert got["seccomp_listener"] != "EPERM"


def test_i386_int80_kills_the_process(world, progs):
    result = world.run(str(progs["foreign_arch"]), "i386")
    assert result.returncode == 128 + signal.SIGSYS, (result.returncode, result.stdout)
    assert "survived" not in result.stdout


def test_x32_syscall_numbers_kill_the_process(world, progs):
    result = world.run(str(progs["foreign_arch"]), "x32")
    assert result.returncode == 128 + signal.SIGSYS, (result.returncode, result.stdout)


def test_a_listener_already_taken_refuses_to_start(world):
    """jail inside jail: the inner filter cannot get a listener, so the inner
    command is never run unprotected."""
    import sys
    inner_state = f"XDG_STATE_HOME={world.workspace}/inner-state"
    result = world.run("env", inner_state, sys.executable, "-m", "jail", "run", "--", "echo", "INNER-RAN")
    assert "INNER-RAN" not in result.stdout
    assert "seccomp" in result.stderr and "not started" in result.stderr
    assert result.returncode == 125
