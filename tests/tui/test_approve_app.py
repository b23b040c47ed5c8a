"""Pilot tests of the approval prompt: each key gives the right Decision, escape
denies, the countdown denies, and at 80x24 the argv and the rule are on screen.
Async Textual tests run under asyncio.run inside plain sync tests."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from approve_helpers import REALISTIC, FakeClock
from approve_helpers import make_request as _make_request

from jail.approve.app import ApprovalScreen, ApproveApp, PromptApp
from jail.approve.broker import Broker
from jail.approve.grants import propose_always
from jail.approve.request import Answer, ApprovalRequest, Decision
from jail.approve.server import ApprovalServer

pytestmark = pytest.mark.tui


def make_request(**changes) -> ApprovalRequest:
    return _make_request(REALISTIC, **changes)


def screen_text(app) -> str:
    """What the terminal shows, line by line (the compositor's own render)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def run_prompt(keys: list[str], request: ApprovalRequest | None = None, **options) -> PromptApp:
    app = PromptApp(request or make_request(), **{"arm_after": 0.0, **options})

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for key in keys:
                await pilot.press(key)
            await pilot.pause()

    asyncio.run(drive())
    return app


@pytest.fixture
def edit(tmp_path):
    profile = tmp_path / "jail.toml"
    profile.write_text('[exec]\nallow = [\n  "make *",\n]\n')
    return propose_always(profile, make_request())


@pytest.mark.parametrize(("keys", "answer", "minutes"), [
    (["o"], Answer.ALLOW_ONCE, None),
    (["s"], Answer.ALLOW_SESSION, None),
    (["t", "enter"], Answer.ALLOW_FOR, 15),
    (["t", "backspace", "backspace", "4", "5", "enter"], Answer.ALLOW_FOR, 45),
    (["d"], Answer.DENY, None),
    (["escape"], Answer.DENY, None),
    (["t", "escape", "escape"], Answer.DENY, None),  # escape leaves the minutes, then denies
    (["t", "o", "s", "d", "enter"], Answer.ALLOW_FOR, 15),  # letters do not answer while typing
])
def test_each_key_gives_its_decision(keys, answer, minutes) -> None:
    decision = run_prompt(keys).return_value
    assert decision is not None and decision.answer is answer and decision.minutes == minutes
    assert decision.answerer == "terminal" and decision.granted_by is None


def test_minutes_out_of_range_are_not_accepted() -> None:
    app = run_prompt(["t", "backspace", "backspace", "0", "enter"])
    assert app.return_value is None and app.prompt.mode == "minutes"


def test_always_shows_the_diff_and_needs_y(edit) -> None:
    app = PromptApp(make_request(), edit=edit, arm_after=0.0)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("y")  # nothing to confirm yet
            assert app.return_value is None
            await pilot.press("a")
            await pilot.pause(0.1)  # the diff is scrolled into view after the next refresh
            text = screen_text(app)
            assert '+  "terraform destroy -auto-approve' in text and "always: add to [exec] allow" in text
            assert "  ]" in text  # the diff's end is on screen, scrolled into view
            assert " y  write this change and allow" in text
            await pilot.press("o")  # the other answers wait while the diff is shown
            assert app.return_value is None
            await pilot.press("y")
            await pilot.pause()

    asyncio.run(drive())
    assert app.return_value == Decision(Answer.ALWAYS, answerer="terminal", edit=edit,
                                        at=app.return_value.at)


def test_allow_keys_wait_a_moment_deny_does_not() -> None:
    clock = FakeClock()
    app = PromptApp(make_request(), clock=clock)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for key in ("o", "s", "t"):  # typed into the agent a moment before the prompt came
                await pilot.press(key)
            assert app.return_value is None and app.prompt.mode == "choose"
            clock.now += 0.6
            await pilot.press("s")
            await pilot.pause()

    asyncio.run(drive())
    assert app.return_value.answer is Answer.ALLOW_SESSION
    assert run_prompt(["d"], arm_after=10.0).return_value.answer is Answer.DENY
    assert run_prompt(["escape"], arm_after=10.0).return_value.answer is Answer.DENY


def test_always_then_escape_goes_back(edit) -> None:
    decision = run_prompt(["a", "escape", "s"], edit=edit).return_value
    assert decision.answer is Answer.ALLOW_SESSION


def test_no_always_without_a_profile_edit() -> None:
    app = run_prompt(["a", "y"])
    assert app.return_value is None and app.prompt.mode == "choose"


@pytest.mark.parametrize(("fallback", "answer"), [(Answer.DENY, Answer.DENY),
                                                  (Answer.ALLOW_ONCE, Answer.ALLOW_ONCE)])
def test_the_countdown_applies_the_fallback(fallback, answer) -> None:
    clock = FakeClock()
    app = PromptApp(make_request(), deadline=1120.0, clock=clock, fallback=fallback)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            verb = "denies" if fallback is Answer.DENY else "allows"
            assert f"{verb} in 2:00 unless you answer" in screen_text(app)
            clock.now = 1055.5
            await pilot.pause(0.4)
            assert f"{verb} in 1:05" in screen_text(app)
            clock.now = 1120.0
            await pilot.pause(0.4)

    asyncio.run(drive())
    assert app.return_value.answer is answer and app.return_value.answerer == "timeout"


def test_at_80x24_the_whole_argv_the_rule_and_the_answers_are_on_screen() -> None:
    request = make_request(argv=[*make_request().argv, "-var=note=" + "x" * 150, "tail-marker"])
    app = PromptApp(request, deadline=time.monotonic() + 120)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            lines = text.splitlines()
            assert len(lines) == 24 and all(len(line) <= 80 for line in lines)
            flat = "".join(line.strip("┃ ").strip() for line in lines)
            for word in request.argv:
                assert word in flat
            assert "terraform destroy *" in text and "profiles/destructive.toml:42" in text
            assert "destroys every resource" in text and "/home/alice/src/infra/production" in text
            assert "terraform 4242 ← bash 4200 ← claude 4100" in text
            for key in (" o ", " s ", " t ", " d/esc "):
                assert key in text
            assert "denies in 2:00" in text or "denies in 1:59" in text
            await pilot.press("d")

    asyncio.run(drive())


def test_untrusted_text_is_shown_escaped_never_interpreted() -> None:
    request = make_request(argv=["rm", "-rf", "[bold red]safe[/]", "x\x1b[2Jy", "a\u202eb"],
                           cwd="/tmp/\nfake line")
    app = PromptApp(request)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            text = screen_text(app)
            assert "'[bold red]safe[/]'" in text and "$'x\\x1b[2Jy'" in text
            assert "$'a\\u202eb'" in text and "/tmp/\\nfake line" in text
            assert "\x1b" not in text and "\u202e" not in text
            await pilot.press("d")

    asyncio.run(drive())


def test_withdraw_from_another_thread_closes_the_prompt() -> None:
    app = PromptApp(make_request())
    elsewhere = Decision(Answer.DENY, answerer="jail approve (pid 1, uid 0)", at=1.0)

    async def drive() -> None:
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await asyncio.to_thread(app.withdraw, elsewhere)
            await pilot.pause(0.1)

    asyncio.run(drive())
    assert app.return_value == elsewhere and app.prompt.withdrawn


def wait_until(condition, timeout: float = 5.0):
    async def wait() -> None:
        end = time.monotonic() + timeout
        while not condition():
            assert time.monotonic() < end, "condition never became true"
            await asyncio.sleep(0.02)
    return wait()


def test_jail_approve_lists_a_session_and_answers_it(tmp_path: Path) -> None:
    broker = Broker("s1", timeout=60, attach_grace=0.0)
    directory = tmp_path / "jail"
    with ApprovalServer(broker, directory), ThreadPoolExecutor(2) as pool:
        app = ApproveApp(directory, rescan=0.1)

        async def drive() -> None:
            async with app.run_test(size=(80, 24)) as pilot:
                await wait_until(lambda: broker.answerers == 1)
                future = pool.submit(broker.ask, make_request())  # the watcher makes it wait
                await wait_until(lambda: app.waiting)
                assert "terraform destroy" in screen_text(app)
                await pilot.press("enter")
                await pilot.pause()
                assert isinstance(app.screen, ApprovalScreen)
                assert "terraform destroy *" in screen_text(app)
                await pilot.press("d")
                decision = await asyncio.to_thread(future.result, 5)
                assert decision.answer is Answer.DENY
                assert decision.answerer.startswith("jail approve (pid ")
                await wait_until(lambda: not app.waiting)
                # Answered elsewhere while the prompt is open: the prompt closes.
                second = pool.submit(broker.ask, make_request(id="r2"))
                await wait_until(lambda: app.waiting)
                await pilot.press("enter")
                await pilot.pause()
                assert isinstance(app.screen, ApprovalScreen)
                broker.answer("r2", Decision(Answer.ALLOW_ONCE, answerer="terminal"))
                await wait_until(lambda: not isinstance(app.screen, ApprovalScreen))
                assert (await asyncio.to_thread(second.result, 5)).answerer == "terminal"
                await pilot.press("q")

        asyncio.run(drive())
