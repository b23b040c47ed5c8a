"""The syscall table: one row per syscall jail traps or refuses (x86-64).

The BPF filter, the notification decoder and `jail syscalls` all derive from
this table; adding a syscall is one row here and one test row.
"""

from __future__ import annotations

import enum
import errno
from dataclasses import dataclass


class Family(enum.StrEnum):
    OPEN = "open"          # emulated: the supervisor opens and injects the fd
    PATH = "path"          # emulated: a change to a name (unlink, rename, chmod...)
    EXEC = "exec"          # the kernel execs; verified at the ptrace exec event
    CONNECT = "connect"    # emulated: jail connects its duplicate of the agent's socket
    FD = "fd"              # emulated: a change to the object behind an fd
    FDSTAT = "fdstat"      # stat of an fd: answered for redacted copies, else the kernel runs it
    SEND = "send"          # a send naming its destination: decided, sent by jail on its duplicate
    DENY = "deny"          # refused in BPF with an errno, no supervisor round trip


class Arg(enum.StrEnum):
    DIRFD = "dirfd"
    PATH = "path"
    FLAGS = "flags"
    MODE = "mode"
    HOW = "how"            # struct open_how *
    SIZE = "size"
    FD = "fd"
    DEV = "dev"
    UID = "uid"
    GID = "gid"
    TIMES = "times"
    NAME = "name"          # xattr name
    VALUE = "value"
    LENGTH = "length"
    TARGET = "target"      # symlink text: stored, never resolved
    OLDDIRFD = "olddirfd"
    OLDPATH = "oldpath"
    NEWDIRFD = "newdirfd"
    NEWPATH = "newpath"
    ADDR = "addr"          # struct sockaddr *
    ADDRLEN = "addrlen"
    STATBUF = "statbuf"    # struct stat * / struct statx *
    BUF = "buf"            # data to send
    MSG = "msg"            # struct msghdr * / struct mmsghdr *
    VLEN = "vlen"          # number of struct mmsghdr
    ANY = "-"


@dataclass(frozen=True)
class Condition:
    """Deny only when (args[index] & mask) == value; compared on 64 bits.
    With `differs`, when args[index] != value (the whole argument: mask must be ~0)."""

    index: int
    mask: int
    value: int
    differs: bool = False


@dataclass(frozen=True)
class Syscall:
    name: str
    nr: int
    family: Family
    args: tuple[Arg, ...] = ()
    errno: int = 0
    when: tuple[Condition, ...] = ()  # any condition matching denies (DENY) or traps (others)
    why: str = ""


A = Arg
OPEN, PATH, FD, EXEC, DENY = Family.OPEN, Family.PATH, Family.FD, Family.EXEC, Family.DENY
CONNECT, FDSTAT, SEND = Family.CONNECT, Family.FDSTAT, Family.SEND
EPERM, ENOSYS = errno.EPERM, errno.ENOSYS

CLONE_NAMESPACE_BITS = (0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000,
                        0x40000000)
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
TIOCSTI, TIOCLINUX = 0x5412, 0x541C
AF_PACKET, AF_VSOCK = 17, 40
AT_EMPTY_PATH = 0x1000
LOW32 = 0xFFFFFFFF
ALL64 = 0xFFFFFFFFFFFFFFFF
MSG_FASTOPEN = 0x20000000

TABLE: tuple[Syscall, ...] = (
    # Every way to open a file: emulated, decided on the object actually opened.
    Syscall("open", 2, OPEN, (A.PATH, A.FLAGS, A.MODE)),
    Syscall("openat", 257, OPEN, (A.DIRFD, A.PATH, A.FLAGS, A.MODE)),
    Syscall("openat2", 437, OPEN, (A.DIRFD, A.PATH, A.HOW, A.SIZE)),
    Syscall("creat", 85, OPEN, (A.PATH, A.MODE)),
    # Exec cannot be emulated: the new image is checked at the ptrace exec
    # event, before it runs an instruction, from the kernel's own copy.
    Syscall("execve", 59, EXEC, (A.PATH, A.ANY, A.ANY)),
    Syscall("execveat", 322, EXEC, (A.DIRFD, A.PATH, A.ANY, A.ANY, A.FLAGS)),
    # Sockets: a unix socket is named by a path like a file; jail connects the
    # agent's socket itself with its own copy of the address.
    Syscall("connect", 42, CONNECT, (A.FD, A.ADDR, A.ADDRLEN)),
    # A datagram names its destination in each send: a send with an address is
    # decided and then sent by jail on its duplicate with copied data. sendto
    # without an address (in a register: decided in BPF) is not trapped; the
    # address of sendmsg/sendmmsg is in memory, so every one is performed by jail.
    Syscall("sendto", 44, SEND, (A.FD, A.BUF, A.SIZE, A.FLAGS, A.ADDR, A.ADDRLEN),
            when=(Condition(4, ALL64, 0, differs=True),)),
    Syscall("sendmsg", 46, SEND, (A.FD, A.MSG, A.FLAGS)),
    Syscall("sendmmsg", 307, SEND, (A.FD, A.MSG, A.VLEN, A.FLAGS)),
    # A redacted copy must look like the file it stands for to tools that
    # compare the name's stat with the open fd's (cp, tar, install): stats of
    # an fd are trapped; any other fd is answered by the kernel itself.
    Syscall("fstat", 5, FDSTAT, (A.FD, A.STATBUF)),
    Syscall("newfstatat", 262, FDSTAT, (A.DIRFD, A.PATH, A.STATBUF, A.FLAGS),
            when=(Condition(3, AT_EMPTY_PATH, AT_EMPTY_PATH),)),
    Syscall("statx", 332, FDSTAT, (A.DIRFD, A.PATH, A.FLAGS, A.MODE, A.STATBUF),
            when=(Condition(2, AT_EMPTY_PATH, AT_EMPTY_PATH),)),
    # Changes to names and metadata: emulated so carve-outs inside writable
    # trees hold (Landlock below confines the rest without a race).
    Syscall("unlink", 87, PATH, (A.PATH,)),
    Syscall("unlinkat", 263, PATH, (A.DIRFD, A.PATH, A.FLAGS)),
    Syscall("rmdir", 84, PATH, (A.PATH,)),
    Syscall("mkdir", 83, PATH, (A.PATH, A.MODE)),
    Syscall("mkdirat", 258, PATH, (A.DIRFD, A.PATH, A.MODE)),
    Syscall("mknod", 133, PATH, (A.PATH, A.MODE, A.DEV)),
    Syscall("mknodat", 259, PATH, (A.DIRFD, A.PATH, A.MODE, A.DEV)),
    Syscall("rename", 82, PATH, (A.OLDPATH, A.NEWPATH)),
    Syscall("renameat", 264, PATH, (A.OLDDIRFD, A.OLDPATH, A.NEWDIRFD, A.NEWPATH)),
    Syscall("renameat2", 316, PATH, (A.OLDDIRFD, A.OLDPATH, A.NEWDIRFD, A.NEWPATH, A.FLAGS)),
    Syscall("link", 86, PATH, (A.OLDPATH, A.NEWPATH)),
    Syscall("linkat", 265, PATH, (A.OLDDIRFD, A.OLDPATH, A.NEWDIRFD, A.NEWPATH, A.FLAGS)),
    Syscall("symlink", 88, PATH, (A.TARGET, A.NEWPATH)),
    Syscall("symlinkat", 266, PATH, (A.TARGET, A.NEWDIRFD, A.NEWPATH)),
    Syscall("truncate", 76, PATH, (A.PATH, A.LENGTH)),
    Syscall("chmod", 90, PATH, (A.PATH, A.MODE)),
    Syscall("fchmodat", 268, PATH, (A.DIRFD, A.PATH, A.MODE)),
    Syscall("fchmodat2", 452, PATH, (A.DIRFD, A.PATH, A.MODE, A.FLAGS)),
    Syscall("chown", 92, PATH, (A.PATH, A.UID, A.GID)),
    Syscall("lchown", 94, PATH, (A.PATH, A.UID, A.GID)),
    Syscall("fchownat", 260, PATH, (A.DIRFD, A.PATH, A.UID, A.GID, A.FLAGS)),
    Syscall("utime", 132, PATH, (A.PATH, A.TIMES)),
    Syscall("utimes", 235, PATH, (A.PATH, A.TIMES)),
    Syscall("futimesat", 261, PATH, (A.DIRFD, A.PATH, A.TIMES)),
    Syscall("utimensat", 280, PATH, (A.DIRFD, A.PATH, A.TIMES, A.FLAGS)),
    Syscall("setxattr", 188, PATH, (A.PATH, A.NAME, A.VALUE, A.SIZE, A.FLAGS)),
    Syscall("lsetxattr", 189, PATH, (A.PATH, A.NAME, A.VALUE, A.SIZE, A.FLAGS)),
    Syscall("removexattr", 197, PATH, (A.PATH, A.NAME)),
    Syscall("lremovexattr", 198, PATH, (A.PATH, A.NAME)),
    Syscall("fchmod", 91, FD, (A.FD, A.MODE)),
    Syscall("fchown", 93, FD, (A.FD, A.UID, A.GID)),
    Syscall("fsetxattr", 190, FD, (A.FD, A.NAME, A.VALUE, A.SIZE, A.FLAGS)),
    Syscall("fremovexattr", 199, FD, (A.FD, A.NAME)),
    # Doors around the supervisor: refused outright.
    Syscall("io_uring_setup", 425, DENY, errno=ENOSYS,
            why="io_uring opens files and sockets without syscalls; ENOSYS makes libraries fall back"),
    Syscall("io_uring_enter", 426, DENY, errno=ENOSYS, why="io_uring"),
    Syscall("io_uring_register", 427, DENY, errno=ENOSYS, why="io_uring"),
    Syscall("clone3", 435, DENY, errno=ENOSYS,
            why="its flags live in memory BPF cannot read; ENOSYS makes libc fall back to clone"),
    Syscall("clone", 56, DENY, errno=EPERM,
            when=tuple(Condition(0, bit, bit) for bit in CLONE_NAMESPACE_BITS),
            why="new namespaces could remap what paths mean"),
    Syscall("unshare", 272, DENY, errno=EPERM, why="new namespaces could remap what paths mean"),
    Syscall("setns", 308, DENY, errno=EPERM, why="entering other namespaces"),
    Syscall("seccomp", 317, DENY, errno=EPERM,
            when=(Condition(1, SECCOMP_FILTER_FLAG_NEW_LISTENER, SECCOMP_FILTER_FLAG_NEW_LISTENER),),
            why="a listener of its own would answer its own syscalls once jail's is gone"),
    Syscall("ioctl", 16, DENY, errno=EPERM,
            when=(Condition(1, LOW32, TIOCSTI), Condition(1, LOW32, TIOCLINUX)),
            why="pushing keystrokes into the person's terminal"),
    Syscall("socket", 41, DENY, errno=EPERM,
            when=(Condition(0, LOW32, AF_PACKET), Condition(0, LOW32, AF_VSOCK)),
            why="raw packets and host bridges (vsock)"),
    Syscall("ptrace", 101, DENY, errno=EPERM, why="rewriting another process's memory or registers"),
    Syscall("process_vm_readv", 310, DENY, errno=EPERM, why="reading another process's memory"),
    Syscall("process_vm_writev", 311, DENY, errno=EPERM, why="writing another process's memory"),
    Syscall("pidfd_getfd", 438, DENY, errno=EPERM, why="stealing another process's fds"),
    Syscall("kcmp", 312, DENY, errno=EPERM, why="probing other processes' kernel objects"),
    Syscall("userfaultfd", 323, DENY, errno=EPERM, why="stalling the supervisor's memory reads"),
    Syscall("open_by_handle_at", 304, DENY, errno=EPERM, why="opens by inode handle, no path to check"),
    Syscall("name_to_handle_at", 303, DENY, errno=EPERM, why="pairs with open_by_handle_at"),
    Syscall("bpf", 321, DENY, errno=EPERM, why="kernel attack surface"),
    Syscall("perf_event_open", 298, DENY, errno=EPERM, why="kernel attack surface"),
    Syscall("mount", 165, DENY, errno=EPERM, why="mounts change what paths mean"),
    Syscall("umount2", 166, DENY, errno=EPERM, why="mounts change what paths mean"),
    Syscall("pivot_root", 155, DENY, errno=EPERM, why="changes what paths mean"),
    Syscall("chroot", 161, DENY, errno=EPERM, why="changes what paths mean"),
    Syscall("open_tree", 428, DENY, errno=EPERM, why="mount API"),
    Syscall("move_mount", 429, DENY, errno=EPERM, why="mount API"),
    Syscall("fsopen", 430, DENY, errno=EPERM, why="mount API"),
    Syscall("fsconfig", 431, DENY, errno=EPERM, why="mount API"),
    Syscall("fsmount", 432, DENY, errno=EPERM, why="mount API"),
    Syscall("fspick", 433, DENY, errno=EPERM, why="mount API"),
    Syscall("mount_setattr", 442, DENY, errno=EPERM, why="mount API"),
    Syscall("open_tree_attr", 467, DENY, errno=EPERM, why="mount API"),
    Syscall("setxattrat", 463, DENY, errno=ENOSYS, why="path-based xattr change not emulated yet"),
    Syscall("removexattrat", 466, DENY, errno=ENOSYS, why="path-based xattr change not emulated yet"),
    Syscall("file_setattr", 469, DENY, errno=ENOSYS, why="path-based inode flag change not emulated"),
    Syscall("uselib", 134, DENY, errno=ENOSYS, why="loads a library by path in the kernel"),
    Syscall("keyctl", 250, DENY, errno=EPERM, why="kernel keyrings hold credentials"),
    Syscall("add_key", 248, DENY, errno=EPERM, why="kernel keyrings"),
    Syscall("request_key", 249, DENY, errno=EPERM, why="kernel keyrings"),
    Syscall("kexec_load", 246, DENY, errno=EPERM, why="replaces the kernel"),
    Syscall("kexec_file_load", 320, DENY, errno=EPERM, why="replaces the kernel"),
    Syscall("init_module", 175, DENY, errno=EPERM, why="loads kernel code"),
    Syscall("finit_module", 313, DENY, errno=EPERM, why="loads kernel code"),
    Syscall("delete_module", 176, DENY, errno=EPERM, why="unloads kernel code"),
    Syscall("acct", 163, DENY, errno=EPERM, why="writes a file named by path from the kernel"),
    Syscall("swapon", 167, DENY, errno=EPERM, why="system administration"),
    Syscall("swapoff", 168, DENY, errno=EPERM, why="system administration"),
    Syscall("reboot", 169, DENY, errno=EPERM, why="system administration"),
    Syscall("settimeofday", 164, DENY, errno=EPERM, why="system clock"),
    Syscall("clock_settime", 227, DENY, errno=EPERM, why="system clock"),
    Syscall("adjtimex", 159, DENY, errno=EPERM, why="system clock"),
    Syscall("clock_adjtime", 305, DENY, errno=EPERM, why="system clock"),
    Syscall("quotactl", 179, DENY, errno=EPERM, why="system administration"),
    Syscall("quotactl_fd", 443, DENY, errno=EPERM, why="system administration"),
    Syscall("iopl", 172, DENY, errno=EPERM, why="raw hardware access"),
    Syscall("ioperm", 173, DENY, errno=EPERM, why="raw hardware access"),
    Syscall("lookup_dcookie", 212, DENY, errno=EPERM, why="kernel attack surface"),
)

BY_NR: dict[int, Syscall] = {row.nr: row for row in TABLE}
TRAPPED: tuple[Syscall, ...] = tuple(row for row in TABLE if row.family is not DENY)


def arg_index(row: Syscall, role: Arg) -> int:
    return row.args.index(role)
