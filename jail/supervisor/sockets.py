"""connect, sendto, sendmsg, sendmmsg: decided by the [network] rules and
performed by jail on its duplicate of the agent's socket.

An address is copied out of the agent's memory once; that copy is what the
rules see and what jail connects or sends to, so no thread can swap it
afterwards. A send also copies its data (and control messages) before it is
decided. IPv4-mapped IPv6 addresses are judged as the IPv4 address they carry.
A unix socket named by a path is resolved in the agent's view like any file,
checked as a read of the socket file actually found and by the unix rules;
jail then connects or sends through /proc/self/fd of that object, never
through the string.

The kernel is never let run a trapped send itself (CONTINUE): between jail's
look at the socket and the kernel's own run of the call, another thread could
put a datagram socket under the same fd number, or fill in the address field.
Every trapped send is performed by jail on the socket it looked at. A stream
send of more than SEND_MAX bytes is cut to SEND_MAX (a short write, which
stream callers loop on); a datagram that large is EMSGSIZE.

Non-blocking sockets stay non-blocking: the duplicate shares the agent's open
file description and its O_NONBLOCK. A blocking connect, a send that would
block, and every ask run on a thread of their own so that no worker waits.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import os
import queue
import socket
import stat
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass

from jail import native
from jail.network.policy import NetworkPolicy
from jail.network.rules import Destination, normalise_address
from jail.policy import Access, Action, Verdict
from jail.supervisor import procinfo
from jail.supervisor.context import Context, Denied, Request, Vanished
from jail.supervisor.resolve import AT_FDCWD
from jail.syscalls import Arg

AF_UNSPEC, AF_UNIX, AF_INET, AF_INET6 = 0, 1, 2, 10
SOCKADDR_MAX = 128
SEND_MAX = 4 << 20  # bytes copied for one emulated send (a datagram: more is EMSGSIZE)
CONTROL_MAX = 64 << 10
IOV_MAX = 1024  # UIO_MAXIOV: the kernel's own limit for iovecs and mmsghdrs
MSG_FASTOPEN = 0x20000000
SCM_RIGHTS, SCM_CREDENTIALS = 1, 2
MSGHDR = struct.Struct("=QI4xQQQQi4x")  # name, namelen, iov, iovlen, control, controllen, flags
MMSGHDR_SIZE = MSGHDR.size + 8  # struct mmsghdr: msghdr, msg_len, padding
IOVEC = struct.Struct("=QQ")
CMSGHDR = struct.Struct("=Qii")



class _Waiters:
    """Daemon threads where blocking connects, sends that would block and asks
    wait, not in a supervisor worker. Idle threads are reused (starting one per
    connect cost more than the connect); daemons, so a connect still pending
    when the sandbox is gone never holds jail's exit."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, fn, *args) -> None:
        with self._lock:
            start = self._idle == 0
            if not start:
                self._idle -= 1
        self._jobs.put((fn, args))
        if start:
            threading.Thread(target=self._run, name="jail-net-wait", daemon=True).start()

    def _run(self) -> None:
        while True:
            fn, args = self._jobs.get()
            fn(*args)
            with self._lock:
                self._idle += 1


_WAITERS = _Waiters()

# ask(target, verdict, pid, detail) -> allowed; see jail/supervisor/approvals.py connect_asker.
Asker = Callable[[str, Verdict, "int | None", "list[str] | None"], bool]


class Network:
    """The session's network rules and who answers an ask (None: no one, deny)."""

    def __init__(self, policy: NetworkPolicy, ask: Asker | None = None) -> None:
        self.policy = policy
        self.ask = ask


@dataclass(frozen=True)
class _Target:
    """A decoded destination: what policy sees and what jail sends to."""

    dest: Destination | None  # None: nothing to decide (AF_UNSPEC, an abstract or unnamed unix address)
    address: bytes  # the copied sockaddr
    family: int
    unix_obj: object = None  # the resolved socket file (resolve.Resolved), for path addresses


# -- connect ----------------------------------------------------------------------------


def handle_connect(ctx: Context, req: Request) -> None:
    size = min(req.arg(Arg.ADDRLEN) & 0xFFFFFFFF, SOCKADDR_MAX)
    address = _read_address(req, req.arg(Arg.ADDR), size)
    sock = native.fd_of_thread(req.tid, req.int_arg(Arg.FD))
    try:
        kind = _socket_kind(sock)
        target = _decode(ctx, req, address, kind)
        if not ctx.listener.id_valid(req.id):
            raise Vanished
    except BaseException:
        os.close(sock)
        raise
    blocking = not fcntl.fcntl(sock, fcntl.F_GETFL) & os.O_NONBLOCK

    def effect() -> int:
        if target.unix_obj is not None:
            native.connect_path(sock, f"/proc/self/fd/{target.unix_obj.fd}")
        else:
            native.connect_raw(sock, address)
        return 0

    def cleanup() -> None:
        os.close(sock)
        if target.unix_obj is not None:
            target.unix_obj.close()

    _decide_then(ctx, req, target, kind, effect, cleanup, always_record=True,
                 own_thread=blocking)


# -- sendto, sendmsg, sendmmsg ----------------------------------------------------------


@dataclass
class _Message:
    data: list[bytes]
    ancdata: list[tuple[int, int, bytes]]
    target: _Target | None  # None: the connected peer
    held: list[int]  # fds duplicated for SCM_RIGHTS, closed after the send


def handle_send(ctx: Context, req: Request) -> None:
    flags = req.int_arg(Arg.FLAGS)
    sock = native.fd_of_thread(req.tid, req.int_arg(Arg.FD))
    messages: list[_Message] = []
    try:
        kind = _socket_kind(sock)
        if req.syscall.name == "sendto":
            size = min(req.arg(Arg.ADDRLEN) & 0xFFFFFFFF, SOCKADDR_MAX)
            address = _read_address(req, req.arg(Arg.ADDR), size)
            data = _read_data(req, req.arg(Arg.BUF), req.arg(Arg.SIZE))
            messages.append(_Message([data], [], _decode(ctx, req, address, kind), []))
        elif req.syscall.name == "sendmsg":
            messages.append(_read_msghdr(ctx, req, req.arg(Arg.MSG), kind))
        else:
            count = min(req.arg(Arg.VLEN) & 0xFFFFFFFF, IOV_MAX)
            base = req.arg(Arg.MSG)
            for index in range(count):
                messages.append(_read_msghdr(ctx, req, base + index * MMSGHDR_SIZE, kind))
        if not ctx.listener.id_valid(req.id):
            raise Vanished
    except BaseException:
        if sock >= 0:
            os.close(sock)
        _release(messages)
        raise
    _send_all(ctx, req, sock, kind, flags, messages)


def _send_all(ctx: Context, req: Request, sock: int, kind: tuple[int, int, int], flags: int,
              messages: list[_Message]) -> None:
    """Decide each message's destination, then send them in order; a denial
    stops the batch (sendmmsg then answers how many went out, like the kernel)."""
    blocking = not fcntl.fcntl(sock, fcntl.F_GETFL) & os.O_NONBLOCK
    pysock = socket.socket(kind[0], kind[1], kind[2], fileno=sock)
    sent_lengths: list[int] = []
    failure: int | None = None
    # A TCP Fast Open send connects: on a blocking socket it must wait like connect.
    for message in messages if not (blocking and flags & MSG_FASTOPEN) else ():
        verdict = _judge(ctx, req, message.target, kind, once=True) if message.target else None
        if verdict is not None and verdict.action is Action.ASK:
            break  # asks are answered on a thread of their own, below
        if verdict is not None and verdict.action is Action.DENY:
            failure = errno.EACCES
            break
        try:
            sent_lengths.append(_send_one(pysock, message, flags, wait=False))
        except BlockingIOError:
            if not blocking or flags & socket.MSG_DONTWAIT:
                failure = errno.EAGAIN
            break
        except OSError as error:
            failure = error.errno or errno.EIO
            break
    rest = messages[len(sent_lengths):]
    if failure is None and rest:
        # An ask, or a blocking socket that would block: finish on a thread.
        _WAITERS.submit(_finish_sends, ctx, req, pysock, kind, flags, messages, sent_lengths)
        return
    _answer_sends(ctx, req, pysock, messages, sent_lengths, failure)


def _finish_sends(ctx: Context, req: Request, pysock: socket.socket, kind, flags: int,
                  messages: list[_Message], sent: list[int]) -> None:
    failure = None
    try:
        for message in messages[len(sent):]:
            if message.target is not None and message.target.dest is not None:
                verdict = ctx.network.policy.decide(message.target.dest)
                if verdict.action is Action.ASK:
                    verdict = _ask(ctx, req, message.target.dest, verdict, kind)
                if verdict.action is not Action.ALLOW:
                    failure = errno.EACCES
                    break
            sent.append(_send_one(pysock, message, flags, wait=True))
    except OSError as error:
        failure = error.errno or errno.EIO
    except Exception as error:  # a bug in jail must never let a send through
        ctx.record_error(req, error)
        failure = errno.EACCES
    _answer_sends(ctx, req, pysock, messages, sent, failure)


def _answer_sends(ctx: Context, req: Request, pysock: socket.socket, messages: list[_Message],
                  sent: list[int], failure: int | None) -> None:
    try:
        if req.syscall.name != "sendmmsg":
            if failure is not None:
                ctx.listener.respond(req.id, error=failure)
            else:
                ctx.listener.respond(req.id, sent[0])
            return
        if not messages:
            ctx.listener.respond(req.id, 0)  # vlen 0: nothing to send
            return
        if not sent:
            ctx.listener.respond(req.id, error=failure or errno.EIO)
            return
        base = req.arg(Arg.MSG)
        for index, length in enumerate(sent):
            native.write_bytes(req.tid, base + index * MMSGHDR_SIZE + MSGHDR.size, struct.pack("=I", length))
        ctx.listener.respond(req.id, len(sent))
    except OSError:
        ctx.listener.respond(req.id, error=errno.EFAULT)
    finally:
        pysock.close()
        _release(messages)


def _send_one(pysock: socket.socket, message: _Message, flags: int, wait: bool) -> int:
    flags &= ~MSG_FASTOPEN if message.target is None else ~0
    if not wait:
        flags |= socket.MSG_DONTWAIT
    args: list = [message.data, message.ancdata, flags]
    if message.target is not None:
        args.append(_python_address(pysock, message.target))
    return pysock.sendmsg(*args)


def _release(messages: list[_Message]) -> None:
    for message in messages:
        for fd in message.held:
            os.close(fd)
        message.held.clear()
        if message.target is not None and message.target.unix_obj is not None:
            message.target.unix_obj.close()


def _read_msghdr(ctx: Context, req: Request, addr: int, kind) -> _Message:
    header = native.read_bytes(req.tid, addr, MSGHDR.size)
    name, namelen, iov, iovlen, control, controllen, _ = MSGHDR.unpack(header)
    target = None
    if name and namelen:
        target = _decode(ctx, req, _read_address(req, name, min(namelen, SOCKADDR_MAX)), kind)
    if iovlen > IOV_MAX:
        raise OSError(errno.EMSGSIZE, "too many iovecs")
    data, total = [], 0
    vectors = native.read_bytes(req.tid, iov, iovlen * IOVEC.size) if iovlen else b""
    for base, length in IOVEC.iter_unpack(vectors):
        size = length
        if total + size > SEND_MAX:
            if kind[1] != socket.SOCK_STREAM:
                raise OSError(errno.EMSGSIZE, "message too long for jail to copy")
            size = SEND_MAX - total  # a short write: the caller sends the rest
        total += size
        data.append(native.read_bytes(req.tid, base, size) if size else b"")
        if total >= SEND_MAX:
            break
    ancdata, held = [], []
    try:
        if control and controllen:
            if controllen > CONTROL_MAX:
                raise OSError(errno.ENOBUFS, "control data too long")
            ancdata = _control_messages(req, native.read_bytes(req.tid, control, controllen), held)
    except BaseException:
        for fd in held:
            os.close(fd)
        raise
    return _Message(data, ancdata, target, held)


def _control_messages(req: Request, raw: bytes, held: list[int]) -> list[tuple[int, int, bytes]]:
    """cmsgs as (level, type, data); passed fds become jail's duplicates of them."""
    out, offset = [], 0
    while offset + CMSGHDR.size <= len(raw):
        length, level, kind = CMSGHDR.unpack_from(raw, offset)
        if length < CMSGHDR.size or offset + length > len(raw):
            raise OSError(errno.EINVAL, "bad control message")
        data = raw[offset + CMSGHDR.size:offset + length]
        if level == socket.SOL_SOCKET and kind == SCM_CREDENTIALS:
            # jail's own credentials would vouch for them: refused.
            raise OSError(errno.EPERM, "SCM_CREDENTIALS in an emulated send")
        if level == socket.SOL_SOCKET and kind == SCM_RIGHTS:
            count = len(data) // 4
            fds = [native.fd_of_thread(req.tid, fd) for fd in struct.unpack(f"={count}i", data[:count * 4])]
            held.extend(fds)
            data = struct.pack(f"={len(fds)}i", *fds)
        out.append((level, kind, data))
        offset += (length + 7) & ~7
    return out


# -- decoding ---------------------------------------------------------------------------


def _read_address(req: Request, addr: int, size: int) -> bytes:
    if size < 2:
        raise OSError(errno.EINVAL, "address too short")
    return native.read_bytes(req.tid, addr, size)


def _read_data(req: Request, addr: int, size: int) -> bytes:
    if size > SEND_MAX:
        raise OSError(errno.EMSGSIZE, "message too long for jail to copy")
    return native.read_bytes(req.tid, addr, size) if size else b""


def _socket_kind(sock: int) -> tuple[int, int, int]:
    """(domain, type, protocol) of a socket; ENOTSOCK for anything else."""
    opt = socket.socket(fileno=sock)
    try:
        return int(opt.family), int(opt.type), opt.proto
    finally:
        opt.detach()


def _decode(ctx: Context, req: Request, address: bytes, kind) -> _Target:
    family = struct.unpack_from("H", address)[0]
    transport = "udp" if kind[1] == socket.SOCK_DGRAM else "tcp"
    if family == AF_INET:
        if len(address) < 16:
            raise OSError(errno.EINVAL, "sockaddr_in too short")
        port, raw = struct.unpack_from("!H4s", address, 2)
        ip = str(ipaddress.IPv4Address(raw))
        return _Target(Destination(address=ip, port=port, transport=transport), address, family)
    if family == AF_INET6:
        if len(address) < 24:
            raise OSError(errno.EINVAL, "sockaddr_in6 too short")
        port, _flow, raw = struct.unpack_from("!HI16s", address, 2)
        ip = normalise_address(str(ipaddress.IPv6Address(raw)))
        return _Target(Destination(address=ip, port=port, transport=transport), address, family)
    if family == AF_UNIX and len(address) > 2 and address[2] != 0:  # a path, not an abstract name
        obj = _unix_target(ctx, req, address[2:].split(b"\0", 1)[0])
        return _Target(Destination(unix=obj.path, transport="unix"), address, family, obj)
    return _Target(None, address, family)


def _unix_target(ctx: Context, req: Request, raw: bytes):
    path = os.fsdecode(raw)
    obj = ctx.resolver.lookup(req.tid, AT_FDCWD, path, follow=True)
    if not stat.S_ISSOCK(obj.st.st_mode):
        obj.close()
        raise OSError(errno.ECONNREFUSED, "not a socket")
    try:
        ctx.check(req, Access.READ, obj.path, obj.st, foreign=obj.foreign)
    except BaseException:
        obj.close()
        raise
    return obj


def _python_address(pysock: socket.socket, target: _Target):
    """The copied sockaddr in the form socket.sendmsg takes."""
    if target.unix_obj is not None:
        return f"/proc/self/fd/{target.unix_obj.fd}"
    address = target.address
    if target.family == AF_UNIX:
        return address[2:]
    port = struct.unpack_from("!H", address, 2)[0]
    if target.family == AF_INET:
        ip = str(ipaddress.IPv4Address(address[4:8]))
        return (ip, port) if pysock.family == AF_INET else (f"::ffff:{ip}", port, 0, 0)
    if target.family == AF_INET6:
        flow, raw = struct.unpack_from("!I16s", address, 4)
        scope = struct.unpack_from("=I", address, 24)[0] if len(address) >= 28 else 0
        return (str(ipaddress.IPv6Address(raw)), port, flow, scope)
    raise OSError(errno.EAFNOSUPPORT, "address family not supported by jail")


# -- deciding ---------------------------------------------------------------------------


def _judge(ctx: Context, req: Request, target: _Target, kind, once: bool) -> Verdict | None:
    """The policy's verdict for a target, recorded unless it is ASK (recorded when answered)."""
    if target.dest is None:
        return None
    verdict = ctx.network.policy.decide(target.dest)
    if verdict.action is not Action.ASK:
        _record(ctx, req, target.dest, verdict, kind, once=once)
    return verdict


def _decide_then(ctx: Context, req: Request, target: _Target, kind, effect: Callable[[], int],
                 cleanup: Callable[[], None], *, always_record: bool, own_thread: bool) -> None:
    verdict = _judge(ctx, req, target, kind, once=not always_record)
    if verdict is not None and verdict.action is Action.DENY:
        cleanup()
        raise Denied(verdict)
    asking = verdict is not None and verdict.action is Action.ASK

    def finish() -> None:
        try:
            if asking and _ask(ctx, req, target.dest, verdict, kind).action is not Action.ALLOW:
                ctx.listener.respond(req.id, error=errno.EACCES)
                return
            ctx.listener.respond(req.id, effect())
        except OSError as error:
            ctx.listener.respond(req.id, error=error.errno or errno.EIO)
        except Exception as error:  # a bug in jail must never let a connect through
            ctx.listener.respond(req.id, error=errno.EACCES)
            ctx.record_error(req, error)
        finally:
            cleanup()

    if own_thread or asking:
        _WAITERS.submit(finish)
    else:
        finish()


def _ask(ctx: Context, req: Request, dest: Destination, verdict: Verdict, kind) -> Verdict:
    """A person's answer (no one to ask: deny), recorded as the verdict."""
    ask = ctx.network.ask
    pid = _pid_of(req.tid)
    allowed = bool(ask and ask(str(dest), verdict, pid, None))
    answered = Verdict(Action.ALLOW if allowed else Action.DENY, verdict.rule,
                       ("approved: " if allowed else "not approved: ") + verdict.reason)
    _record(ctx, req, dest, answered, kind, once=False)
    return answered


def _pid_of(tid: int) -> int:
    try:
        return procinfo.task_ids(tid).tgid
    except (OSError, ValueError, KeyError):
        return tid


def _record(ctx: Context, req: Request, dest: Destination, verdict: Verdict, kind, *, once: bool) -> None:
    allowed = verdict.action is Action.ALLOW
    if once and not ctx.audit.seen_once(("net", req.tid, str(dest), verdict.action.value)):
        return
    pid = _pid_of(req.tid)
    chain = procinfo.chain(pid, ctx.view.shim_pid)
    rule = verdict.rule
    family = {AF_UNIX: "unix", AF_INET: "inet", AF_INET6: "inet6"}.get(kind[0], str(kind[0]))
    ctx.audit.record(
        event="connect", pid=pid, tid=req.tid, chain=chain, exe=procinfo.exe_of(pid),
        syscall=req.syscall.name,
        family=family, transport=dest.transport, address=dest.address, port=dest.port, host=dest.host,
        unix=dest.unix, verdict=verdict.action.value, rule=rule.where, pattern=rule.pattern,
        reason=verdict.reason, errno=None if allowed else "EACCES")
    if not allowed and verdict.action is Action.DENY:
        comm = chain[0]["comm"] if chain else "?"
        ctx.notices.denied("connect", str(dest), verdict, comm, pid)


def wire_network(ctx: Context, policy: NetworkPolicy, proxy, ask: Asker | None) -> None:
    """Point the socket handlers and jail's proxy at the session's rules and
    asker; the sandbox may always reach the proxy itself."""
    policy = policy.with_implicit([proxy.own_rule(), *resolver_rules()])
    ctx.network = Network(policy, ask)
    proxy.policy, proxy.ask = policy, ask
    proxy.denied = lambda target, verdict: ctx.notices.denied("connect", target, verdict, "a proxy client", 0)
    proxy.start()  # here, after jail blocked SIGCHLD: its threads must not take the exec gate's signals


def resolver_rules(path: str = "/etc/resolv.conf") -> list:
    """DNS to the configured resolvers: names must resolve for anything to work.
    (A query name can carry data out; that is a DNS-level limit, see README.)"""
    from jail.network.policy import jail_rule
    from jail.network.rules import parse_ip

    rules = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver" and (ip := parse_ip(words[1])) is not None:
                    host = f"[{ip}]" if ip.version == 6 else str(ip)
                    rules.append(jail_rule(f"{host}:53", f"DNS: a resolver in {path}"))
    except OSError:
        pass
    return rules
