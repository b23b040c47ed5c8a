"""jail's terminal and the agent's own pty.

When jail runs on a terminal, the agent gets a pty of jail's instead: the
slave is its stdin, stdout, stderr and controlling terminal (in a session of
its own, see native/jail_native.c take_terminal), and one thread copies bytes
between jail's terminal, put in raw mode, and the master. Keys such as Ctrl-C
reach the agent as bytes and the pty's line discipline signals it; the real
terminal stays out of the sandbox's reach.

Owning the copy lets jail `hold` the agent's screen while the approval prompt
uses the terminal: the agent keeps running, its output is kept (up to
HOLD_LIMIT, after which its writes block), and nothing jail reads from the
keyboard goes to it. `release` gives the screen back: the alternate screen
the agent was on is entered again, the held output written, and a size wiggle
makes a full-screen agent redraw.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import re
import select
import signal
import struct
import termios
import threading
import time
import tty

HOLD_LIMIT = 1 << 20  # bytes of agent output kept while a prompt is up
ENTER_ALT_SCREEN = b"\x1b[?1049h"
# Switches between the main and the alternate screen, as full-screen programs write them.
_ALT_SCREEN = re.compile(rb"\x1b\[\?(?:1049|1047|47)([hl])")
_TAIL = 8  # a switch split across two reads is still seen
TIOCGSID = 0x5429  # the session of a terminal (not in Python's termios)
REDRAW_PAUSE = 0.05  # between the two sizes of the wiggle, so the agent sees a change


def has_own_terminal() -> bool:
    """jail's stdin, stdout and stderr are a terminal: run the agent on a pty of
    jail's. With any of them redirected the agent keeps jail's stdio as it is
    (`2>log` must still catch its errors)."""
    return all(os.isatty(fd) for fd in (0, 1, 2))


class TerminalProxy:
    """The pty between jail's terminal (`fd_in`, `fd_out`) and the agent."""

    def __init__(self, fd_in: int = 0, fd_out: int = 1, owner_uid: int = -1) -> None:
        self.fd_in, self.fd_out = fd_in, fd_out
        self.master, self.slave = os.openpty()
        if owner_uid >= 0:
            os.fchown(self.slave, owner_uid, -1)  # --user: the agent's own terminal
        os.set_blocking(self.master, False)
        self._saved = termios.tcgetattr(fd_in)
        # The agent starts with the person's settings (erase key, flow control...).
        termios.tcsetattr(self.slave, termios.TCSANOW, self._saved)
        self.alt_screen = False  # the agent's screen is the alternate one
        self._lock = threading.Lock()  # held output, hold state, writes to fd_out
        self._held = False
        self._held_output = bytearray()
        self._to_agent = bytearray()
        self._tail = b""
        self._raw = False
        self._closing = False
        self._wake_r, self._wake_w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._copy, name="jail-terminal", daemon=True)
        self.messages = _Messages(self)

    # -- lifetime ----------------------------------------------------------------

    def start(self) -> None:
        """Call once the agent holds the slave: raw mode, size, copying."""
        os.close(self.slave)
        self.slave = -1
        self.sync_size()
        tty.setraw(self.fd_in, termios.TCSANOW)
        self._raw = True
        self._thread.start()

    def close(self, drain: float = 2.0) -> None:
        """After the agent exited: copy what it wrote last (until the pty hangs up,
        at most `drain` seconds), then give the terminal its mode back."""
        try:
            if self._thread.is_alive():
                self._thread.join(drain)
            self._closing = True
            self._wake()
            if self._thread.is_alive():
                self._thread.join(1.0)
        finally:
            self.restore_mode()
            for fd in (self.master, self.slave, self._wake_r, self._wake_w):
                if fd >= 0:
                    with contextlib.suppress(OSError):
                        os.close(fd)
            self.master = self.slave = -1

    def restore_mode(self) -> None:
        if self._raw:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self.fd_in, termios.TCSANOW, self._saved)  # no wait on output
            self._raw = False

    # -- size --------------------------------------------------------------------

    def size(self) -> tuple[int, int]:
        rows, cols, _, _ = struct.unpack("HHHH", fcntl.ioctl(self.fd_out, termios.TIOCGWINSZ, b"\0" * 8))
        return rows, cols

    def sync_size(self) -> None:
        """jail's terminal was resized: the kernel tells the agent (SIGWINCH) if it changed."""
        with contextlib.suppress(OSError):
            self._set_size(*self.size())

    def _set_size(self, rows: int, cols: int) -> None:
        if self.master < 0:
            return
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))

    # -- holding the screen ------------------------------------------------------

    def hold(self) -> None:
        """Stop showing the agent's output and stop reading keys for it."""
        with self._lock:  # waits out a copy in progress: after this, none starts
            self._held = True
        self._wake()

    def release(self) -> None:
        """Give the screen back to the agent, with everything it wrote meanwhile."""
        for fd in (self.fd_in, self.fd_out):  # as the prompt may have left them
            with contextlib.suppress(OSError):
                os.set_blocking(fd, True)
        with self._lock:
            held, self._held_output = bytes(self._held_output), bytearray()
            self._held = False
            if self.alt_screen:
                self._write_out(ENTER_ALT_SCREEN)
            self._write_out(held)
        self._wake()
        if self.alt_screen:
            self.redraw()

    def redraw(self) -> None:
        """Make a full-screen agent draw itself again: one row less, then the real size."""
        with contextlib.suppress(OSError):
            rows, cols = self.size()
            self._set_size(max(1, rows - 1), cols)
            time.sleep(REDRAW_PAUSE)
            self._set_size(rows, cols)

    # -- the copy loop -----------------------------------------------------------

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")

    def _copy(self) -> None:
        reading_keys = True
        while not self._closing:
            with self._lock:
                held, full = self._held, len(self._held_output) >= HOLD_LIMIT
            readers = [self._wake_r]
            if not (held and full):
                readers.append(self.master)
            if reading_keys and not held:
                readers.append(self.fd_in)
            writers = [self.master] if self._to_agent else []
            try:
                readable, writable, _ = select.select(readers, writers, [])
            except InterruptedError:
                continue
            if self._wake_r in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 512)
            if self.master in readable and not self._from_agent():
                return  # the pty hung up: every process of the sandbox is gone
            if self.fd_in in readable and not self._from_keyboard():
                # jail's terminal hung up: hang up the agent's as a terminal
                # would (the kernel signals its session), keep its last output.
                self._hang_up()
                return
            if self.master in writable:
                self._send_keys()

    def _from_agent(self) -> bool:
        try:
            data = os.read(self.master, 65536)
        except BlockingIOError:
            return True
        except OSError as error:
            if error.errno == errno.EIO:
                return False
            raise
        if not data:
            return False
        self._track_screen(data)
        with self._lock:
            if self._held:
                self._held_output += data
            else:
                self._write_out(data)
        return True

    def _hang_up(self) -> None:
        """What the kernel does when a terminal hangs up: SIGHUP, then SIGCONT,
        to the session leader and the foreground group. (Closing the master
        alone would not: the sandbox's init, cloned from jail, holds a copy.)"""
        with contextlib.suppress(OSError):
            session = struct.unpack("i", fcntl.ioctl(self.master, TIOCGSID, b"\0" * 4))[0]
            for target in {session, -os.tcgetpgrp(self.master)}:
                os.kill(target, signal.SIGHUP)
                os.kill(target, signal.SIGCONT)
        with self._lock:
            master, self.master = self.master, -1
        os.close(master)

    def _from_keyboard(self) -> bool:
        with self._lock:  # hold() cannot slip in between the check and the read
            if self._held:
                return True
            try:
                data = os.read(self.fd_in, 4096)
            except BlockingIOError:
                return True  # another reader took it (the prompt), or O_NONBLOCK was left on
            except OSError:
                return False  # the terminal hung up
        if not data:
            return False
        self._to_agent += data
        self._send_keys()
        if self._suspends(data):
            self._suspend()
        return True

    def _send_keys(self) -> None:
        try:
            sent = os.write(self.master, self._to_agent)
        except BlockingIOError:
            return  # the agent is not reading: keep the keys, wait for room
        except OSError:
            self._to_agent.clear()
            return
        del self._to_agent[:sent]

    def _track_screen(self, data: bytes) -> None:
        switches = _ALT_SCREEN.findall(self._tail + data)
        if switches:
            self.alt_screen = switches[-1] == b"h"
        self._tail = (self._tail + data)[-_TAIL:]

    def _write_out(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.fd_out, view):]
            except (InterruptedError, BlockingIOError):
                select.select([], [self.fd_out], [], 1.0)  # someone left the terminal non-blocking
                continue
            except OSError:
                return  # the terminal is gone; the agent's output has nowhere to go

    # -- Ctrl-Z ------------------------------------------------------------------

    def _suspends(self, data: bytes) -> bool:
        """The bytes hold the agent's suspend key and its terminal turns keys into signals."""
        try:
            attrs = termios.tcgetattr(self.master)
        except termios.error:
            return False
        suspend = attrs[6][termios.VSUSP]
        return bool(attrs[3] & termios.ISIG) and suspend not in (b"\0", 0) and suspend in data

    def _suspend(self) -> None:
        """Ctrl-Z: stop the agent's foreground group and jail with it, as a
        shell's job; when jail is continued, continue the agent. The agent leads
        its own session, so its group is orphaned and the kernel drops the
        SIGTSTP its terminal sends: SIGSTOP is the stop that works."""
        with contextlib.suppress(OSError):
            group = os.tcgetpgrp(self.master)
            os.killpg(group, signal.SIGSTOP)
            _wait_stopped(group)
        self.restore_mode()
        # To this thread: it is the one that stops the group, so nothing below
        # runs before jail is stopped (a kill(2) to the process may be taken by
        # another thread while this one goes on).
        signal.pthread_kill(threading.get_ident(), signal.SIGSTOP)
        tty.setraw(self.fd_in, termios.TCSANOW)
        self._raw = True
        self.sync_size()
        with contextlib.suppress(OSError):
            os.killpg(os.tcgetpgrp(self.master), signal.SIGCONT)
        self.redraw()


def _wait_stopped(group: int, timeout: float = 2.0) -> None:
    """Until the group's leader has stopped. A process waiting in a trapped
    syscall stops only once jail has answered it: jail stops after it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{group}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] in ("T", "t"):
                    return
        except (OSError, IndexError):
            return  # gone
        time.sleep(0.01)


class _Messages:
    """A text stream for jail's own lines while the terminal is raw: CR LF line
    ends, and held with the agent's output while a prompt is up."""

    def __init__(self, proxy: TerminalProxy) -> None:
        self._proxy = proxy

    def write(self, text: str) -> int:
        data = text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8", "replace")
        proxy = self._proxy
        with proxy._lock:
            if proxy._held:
                proxy._held_output += data
            else:
                proxy._write_out(data)
        return len(text)

    def flush(self) -> None:
        pass
