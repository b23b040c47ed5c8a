"""The approval prompt: one paused request, read in full, answered with one key.

Everything shown that came from the sandbox (argv, paths, process names) is
untrusted text: control and invisible characters are shown as escapes and
Rich markup is never interpreted, so an agent cannot dress a command up as
another one. Long values wrap, never cut; the details scroll if a huge argv
needs it while the answers and the countdown stay on screen.

The screen is typed by its result (`ModalScreen[Decision]`); escape means no.
Other threads reach it only through `post_message` (`PromptApp.withdraw`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Static

from jail.approve.client import ApprovalClient, ApprovalClientError, Watch, session_sockets
from jail.approve.request import (
    MAX_MINUTES,
    Answer,
    ApprovalRequest,
    Decision,
    ProfileEdit,
    RequestClosed,
    RequestOpened,
    shell_word,
    visible,
)

DEFAULT_MINUTES = 15
# A prompt can appear while the person is typing into the agent: for this long
# only deny works, so a stray "o" or "s" cannot allow anything.
ARM_AFTER = 0.6


def describe(request: ApprovalRequest) -> Table:
    """Who asks, exactly what, and why, as a three-column grid that wraps."""
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column(width=5, style="bold")
    grid.add_column(width=6, style="dim")
    grid.add_column(ratio=1, overflow="fold")
    chain = " ← ".join(f"{visible(link.comm)} {link.pid}" for link in request.chain) or str(request.pid)
    rows = [
        ("Who", "agent", " ".join(shell_word(w) for w in request.agent)),
        ("", "chain", chain),
        ("", "cwd", visible(request.cwd)),
        ("What", request.kind, visible(request.exe)),
        ("", "argv", Text(" ".join(shell_word(w) for w in request.argv), style="bold")),
        ("", "target", visible(request.target)),
        ("Why", "rule", Text(visible(request.rule_pattern), style="bold")),
        ("", "from", visible(request.rule_where)),
        ("", "reason", visible(request.reason)),
    ]
    for section, key, value in rows:
        if key == "target" and not request.target:
            continue
        grid.add_row(section, key, value if isinstance(value, Text) else Text(value))
    return grid


def countdown(seconds: float, fallback: Answer) -> str:
    seconds = max(0, int(seconds + 0.999))
    verb = "denies" if fallback is Answer.DENY else "allows"
    return f"{verb} in {seconds // 60}:{seconds % 60:02d} unless you answer"


def keys_line(*pairs: tuple[str, str]) -> Text:
    line = Text()
    for key, label in pairs:
        line.append(f" {key} ", style="reverse bold")
        line.append(f" {label}  ")
    return line


class ApprovalScreen(ModalScreen[Decision]):
    """Ask about one request. `deadline` is on `clock` (monotonic); when it
    passes, the screen closes with the fallback answered by "timeout". `edit`
    is what "always" would write; without one, "always" is not offered."""

    DEFAULT_CSS = """
    ApprovalScreen { align: center middle; }
    #dialog { width: 100%; height: 100%; border: heavy $warning; padding: 0 1; }
    #title { text-style: bold; color: $warning; }
    #details { height: 1fr; }
    #diff { display: none; margin-top: 1; }
    #minutes-row { display: none; height: 1; }
    #minutes { width: 8; height: 1; border: none; padding: 0; }
    #countdown { color: $warning; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "once", "allow once"),
        Binding("s", "session", "allow for this session"),
        Binding("t", "for_minutes", "allow for N minutes"),
        Binding("a", "always", "always: add to the profile"),
        Binding("d", "deny", "deny"),
        Binding("y", "confirm_always", "write the profile change", show=False),
        Binding("escape", "back_or_deny", "deny", show=False),
    ]

    def __init__(self, request: ApprovalRequest, *, deadline: float | None = None,
                 fallback: Answer = Answer.DENY, edit: ProfileEdit | None = None,
                 answerer: str = "terminal", minutes: int = DEFAULT_MINUTES,
                 clock: Callable[[], float] = time.monotonic, arm_after: float = ARM_AFTER) -> None:
        super().__init__()
        self.armed_at = clock() + arm_after
        self.request, self.deadline, self.fallback, self.edit = request, deadline, fallback, edit
        self.answerer, self.minutes, self.clock = answerer, minutes, clock
        self.mode = "choose"  # | "minutes" | "always"
        self.withdrawn = False  # closed because the request was answered elsewhere
        self.done = False

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(Text(f"jail: approve this {self.request.kind}?  session "
                             f"{visible(self.request.session)}"), id="title")
            with VerticalScroll(id="details"):
                yield Static(describe(self.request), id="request")
                yield Static(id="diff")
            with Horizontal(id="minutes-row"):
                yield Label("allow for ")
                yield Input(str(self.minutes), type="integer", max_length=5, id="minutes")
                yield Label(" minutes   enter: allow   esc: back")
            yield Static(id="keys")
            yield Static(id="countdown")

    def on_mount(self) -> None:
        self._show_keys()
        self.tick()
        if self.deadline is not None:
            self.set_interval(0.25, self.tick)

    def tick(self) -> None:
        if self.deadline is None:
            return
        remaining = self.deadline - self.clock()
        if remaining <= 0:
            self._finish(Decision(self.fallback, answerer="timeout"))
        else:
            self.query_one("#countdown", Static).update(countdown(remaining, self.fallback))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "confirm_always":
            return self.mode == "always"
        if action in ("once", "session", "for_minutes", "always"):
            return (self.mode == "choose" and self.clock() >= self.armed_at
                    and (action != "always" or self.edit is not None))
        return True

    def action_once(self) -> None:
        self._finish(Decision(Answer.ALLOW_ONCE, answerer=self.answerer))

    def action_session(self) -> None:
        self._finish(Decision(Answer.ALLOW_SESSION, answerer=self.answerer))

    def action_for_minutes(self) -> None:
        self._set_mode("minutes")
        self.query_one("#minutes-row").display = True
        self.query_one("#minutes", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        try:
            minutes = int(event.value)
        except ValueError:
            minutes = 0
        if not 1 <= minutes <= MAX_MINUTES:
            self.notify(f"minutes: a whole number from 1 to {MAX_MINUTES}", severity="error")
            return
        self._finish(Decision(Answer.ALLOW_FOR, minutes=minutes, answerer=self.answerer))

    def action_always(self) -> None:
        assert self.edit is not None
        # The file is named once, above; the diff's ---/+++ header would repeat it.
        hunks = self.edit.diff.splitlines()[2:] or ["(no change: the rule is already there)"]
        shown = Text(f"always: add to [exec] allow in {visible(self.edit.path)}\n", style="bold")
        for line in hunks:
            style = "green" if line.startswith("+") else "red" if line.startswith("-") else ""
            shown.append(visible(line) + "\n", style=style)
        block = self.query_one("#diff", Static)
        block.update(shown)
        block.display = True
        self._set_mode("always")
        details = self.query_one("#details", VerticalScroll)
        self.call_after_refresh(details.scroll_to_widget, block, animate=False, top=True)

    def action_confirm_always(self) -> None:
        self._finish(Decision(Answer.ALWAYS, answerer=self.answerer, edit=self.edit))

    def action_deny(self) -> None:
        self._finish(Decision(Answer.DENY, answerer=self.answerer))

    def action_back_or_deny(self) -> None:
        if self.mode == "choose":
            self.action_deny()
            return
        self.query_one("#minutes-row").display = False
        self.query_one("#diff").display = False
        self._set_mode("choose")
        self.query_one("#details").focus()

    def withdraw(self, decision: Decision) -> None:
        """The request was answered elsewhere (or timed out): close with that answer."""
        self.withdrawn = True
        self._finish(decision)

    def _set_mode(self, mode: str) -> None:
        self.mode = mode
        self._show_keys()
        self.refresh_bindings()

    def _show_keys(self) -> None:
        if self.mode == "always":
            pairs = [("y", "write this change and allow"), ("esc", "back"), ("d", "deny")]
        elif self.mode == "minutes":
            pairs = [("enter", "allow for that long"), ("esc", "back")]
        else:
            pairs = [("o", "once"), ("s", "this session"), ("t", f"{self.minutes} min"),
                     *([("a", "always")] if self.edit is not None else []), ("d/esc", "deny")]
        self.query_one("#keys", Static).update(keys_line(*pairs))

    def _finish(self, decision: Decision) -> None:
        if not self.done:  # the first answer wins, here as in the broker
            self.done = True
            self.dismiss(decision)


class PromptApp(App[Decision]):
    """The prompt on its own: run it, get the Decision (None if the app was
    quit without one). `withdraw` may be called from any thread."""

    class Withdrawn(Message):
        def __init__(self, decision: Decision) -> None:
            super().__init__()
            self.decision = decision

    def __init__(self, request: ApprovalRequest, **screen_options: object) -> None:
        super().__init__()
        self.screen_options = screen_options
        self.prompt = ApprovalScreen(request, **screen_options)  # type: ignore[arg-type]

    def on_mount(self) -> None:
        self.push_screen(self.prompt, callback=self.exit)

    def withdraw(self, decision: Decision) -> None:
        self.post_message(self.Withdrawn(decision))

    def on_prompt_app_withdrawn(self, message: Withdrawn) -> None:
        self.prompt.withdraw(message.decision)



class ApproveApp(App[None]):
    """`jail approve`: the waiting requests of every session in `directory`,
    kept current by one watch connection per session (each counts as an
    answerer there); enter opens the prompt, the answer goes back by socket."""

    TITLE = "jail approve"
    DEFAULT_CSS = """
    #heading { text-style: bold; }
    #pending { height: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("q", "quit", "quit")]

    class Event(Message):
        """One broker event from one session's watch thread; None: session ended."""

        def __init__(self, path: Path, event: RequestOpened | RequestClosed | None) -> None:
            super().__init__()
            self.path, self.event = path, event

    def __init__(self, directory: Path, *, clock: Callable[[], float] = time.monotonic,
                 rescan: float = 1.0) -> None:
        super().__init__()
        self.directory, self.clock, self.rescan = directory, clock, rescan
        # row key -> (socket, the opened event, deadline on `clock`)
        self.waiting: dict[str, tuple[Path, RequestOpened, float]] = {}
        self.watches: dict[Path, Watch] = {}
        self.open_key: str | None = None

    def compose(self) -> ComposeResult:
        yield Label(Text(f"waiting requests of the sessions in {self.directory}"), id="heading")
        table: DataTable[object] = DataTable(id="pending", cursor_type="row", zebra_stripes=True)
        for name in ("session", "left", "what", "rule"):
            table.add_column(name, key=name)
        yield table
        yield Static(keys_line(("enter", "open"), ("q", "quit")), id="keys")

    def on_mount(self) -> None:
        self.scan()
        self.set_interval(self.rescan, self.scan)

    def on_unmount(self) -> None:
        for watch in list(self.watches.values()):
            watch.close()

    def scan(self) -> None:
        """Watch every session socket not yet watched (sessions come and go),
        and count down the time left of each request."""
        for path in session_sockets(self.directory):
            if path in self.watches:
                continue
            try:
                watch = ApprovalClient(path).watch()
            except ApprovalClientError:
                continue  # a session that ended without removing its socket
            self.watches[path] = watch
            threading.Thread(target=self._pump, args=(path, watch), daemon=True).start()
        table = self.query_one("#pending", DataTable)
        for key, (_, _, deadline) in self.waiting.items():
            left = max(0, int(deadline - self.clock()))
            table.update_cell(key, "left", f"{left // 60}:{left % 60:02d}")

    def _pump(self, path: Path, watch: Watch) -> None:
        try:
            for event in watch:
                self.post_message(self.Event(path, event))
        finally:
            self.post_message(self.Event(path, None))

    def on_approve_app_event(self, message: Event) -> None:
        event, path = message.event, message.path
        if event is None:  # the session ended: its requests went with it
            self.watches.pop(path, None)
            for key in [k for k, v in self.waiting.items() if v[0] == path]:
                self._drop(key, Decision(Answer.DENY, answerer="session ended"))
        elif isinstance(event, RequestOpened):
            key, r = f"{path}:{event.request.id}", event.request
            if key in self.waiting:
                return
            self.waiting[key] = (path, event, self.clock() + event.expires_in)
            what = " ".join(shell_word(w) for w in r.argv) if r.kind == "exec" else visible(r.target)
            self.query_one("#pending", DataTable).add_row(
                Text(visible(r.session)), "", Text(what), Text(r.rule_pattern), key=key)
            self.scan()
        else:
            self._drop(f"{path}:{event.request_id}", event.decision)

    def _drop(self, key: str, decision: Decision) -> None:
        if self.waiting.pop(key, None) is None:
            return
        self.query_one("#pending", DataTable).remove_row(key)
        if self.open_key == key and isinstance(self.screen, ApprovalScreen):
            self.screen.withdraw(decision)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if key is None or key not in self.waiting or self.open_key is not None:
            return
        path, opened, deadline = self.waiting[key]
        request, client = opened.request, ApprovalClient(path)
        try:
            edit = client.propose(request.id) if request.kind == "exec" else None
        except ApprovalClientError as error:
            self.notify(str(error), severity="error")
            return
        self.open_key = key
        prompt = ApprovalScreen(request, deadline=deadline, fallback=opened.fallback, edit=edit,
                                answerer="jail approve", clock=self.clock)

        def send(decision: Decision | None) -> None:
            self.open_key = None
            if prompt.withdrawn or decision is None or decision.answerer == "timeout":
                return  # answered elsewhere, or the session's own timeout answers it
            try:
                accepted = client.answer(request.id, decision)
            except ApprovalClientError as error:
                self.notify(str(error), severity="error")
                return
            self.notify(f"sent: {decision.answer.value}" if accepted else "already answered elsewhere")

        self.push_screen(prompt, callback=send)
