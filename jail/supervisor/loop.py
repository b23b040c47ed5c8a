"""The notification loop: several worker threads, each receive → decode →
handle → answer. Any error inside a handler answers a denial (fail closed);
an error of the loop itself stops the supervisor and jail tears the sandbox
down."""

from __future__ import annotations

import errno
import os
import threading

from jail import native
from jail.audit import AuditError
from jail.supervisor.context import Context, Denied, Request, Vanished
from jail.supervisor.fdstat import handle_fdstat
from jail.supervisor.files import handle_open
from jail.supervisor.paths import handle_path
from jail.supervisor.sockets import handle_connect, handle_send
from jail.syscalls import BY_NR, Family


def handle_exec(ctx: Context, req: Request) -> None:
    ctx.exec_gate.submit(req)


HANDLERS = {Family.OPEN: handle_open, Family.PATH: handle_path, Family.FD: handle_path,
            Family.EXEC: handle_exec, Family.CONNECT: handle_connect, Family.FDSTAT: handle_fdstat,
            Family.SEND: handle_send}


class Supervisor:
    def __init__(self, ctx: Context, workers: int = 4,
                 creds: tuple[int, int, list[int]] | None = None) -> None:
        self.ctx = ctx
        self.workers = workers
        self.creds = creds  # set when jail runs as root and the agent does not
        self.failure: BaseException | None = None
        self.failed = threading.Event()
        self._stop_r, self._stop_w = os.pipe2(os.O_CLOEXEC)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for i in range(self.workers):
            thread = threading.Thread(target=self._worker, name=f"jail-supervisor-{i}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        if self.ctx.fast is not None:
            # What C answered without a record of its own (see README, Performance).
            self.ctx.audit.record(event="fast-path", **self.ctx.fast.stats())

    def _worker(self) -> None:
        try:
            # A private umask per thread; and the agent's identity for every
            # file this thread opens (never more power than the agent).
            native.private_thread_fs()
            if self.creds is not None:
                uid, gid, groups = self.creds
                native.set_thread_fscreds(uid, gid, groups)
            buf = native.new_notification_buffer()
            while True:
                try:
                    notif = self.ctx.listener.serve(self._stop_r, buf, self.ctx.fast)
                except EOFError:
                    return
                if notif is not None:
                    self._handle(notif)
        except BaseException as error:  # the loop itself broke: stop everything
            self.failure = error
            self.failed.set()

    def _handle(self, notif: native.Notification) -> None:
        row = BY_NR.get(notif.nr)
        if row is None or notif.arch != 0xC000003E:  # cannot happen: the filter traps only table rows
            self.ctx.listener.respond(notif.id, error=errno.ENOSYS)
            return
        req = Request(notif.id, notif.pid, row, notif.args)
        try:
            HANDLERS[row.family](self.ctx, req)
        except Vanished:
            return
        except Denied as denial:
            self.ctx.listener.respond(req.id, error=denial.errno)
        except OSError as error:
            # The kernel's own answer for the agent (ENOENT, EACCES from DAC, ...).
            self.ctx.listener.respond(req.id, error=error.errno or errno.EIO)
        except AuditError:
            self.ctx.listener.respond(req.id, error=errno.EACCES)
            raise
        except Exception as error:
            # A bug in jail must never let a syscall through.
            self.ctx.listener.respond(req.id, error=errno.EACCES)
            self.ctx.record_error(req, error)
