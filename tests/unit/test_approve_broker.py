"""The broker: each ask blocks only its own thread, the first answer wins, and
without an answer the fallback decides — on a fake clock where time matters."""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from approve_helpers import FakeClock, make_request, wait_until

from jail.approve.broker import Broker
from jail.approve.request import Answer, ApprovalRequest, Decision, RequestClosed, RequestOpened

pytestmark = pytest.mark.unit


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=8) as executor:
        yield executor


def asking(pool, broker: Broker, request: ApprovalRequest) -> Future:
    future = pool.submit(broker.ask, request)
    wait_until(lambda: request.id in [r.id for r in broker.pending()] or future.done())
    return future


def test_an_answer_unblocks_the_asking_thread(pool) -> None:
    broker = Broker("s1", timeout=60)
    future = asking(pool, broker, make_request())
    assert not future.done()
    assert broker.answer("r1", Decision(Answer.ALLOW_ONCE, answerer="terminal"))
    decision = future.result(timeout=5)
    assert decision.answer is Answer.ALLOW_ONCE and decision.answerer == "terminal"
    assert broker.pending() == []


@pytest.mark.parametrize(("fallback", "expected"), [("deny", Answer.DENY), ("allow", Answer.ALLOW_ONCE)])
def test_the_timeout_applies_the_fallback(pool, fallback, expected) -> None:
    clock = FakeClock()
    broker = Broker("s1", timeout=120, fallback=fallback, clock=clock, wall=lambda: 77.0)
    broker.attach(lambda event: None)  # somebody could answer: the full timeout applies
    future = asking(pool, broker, make_request())
    clock.now += 119.9
    broker.wake()
    time.sleep(0.02)
    assert not future.done() and broker.remaining("r1") == pytest.approx(0.1)
    clock.now += 0.1
    broker.wake()
    assert future.result(timeout=5) == Decision(expected, answerer="timeout", at=77.0)
    assert not broker.answer("r1", Decision(Answer.ALLOW_ONCE))  # too late


def test_the_timeout_works_on_the_real_clock() -> None:
    broker = Broker("s1", timeout=0.05)
    started = time.monotonic()
    decision = broker.ask(make_request())
    assert decision.answer is Answer.DENY and decision.answerer == "no one to ask"
    assert 0.04 < time.monotonic() - started < 2


def test_with_no_one_attached_the_grace_decides(pool) -> None:
    clock = FakeClock()
    broker = Broker("s1", timeout=120, clock=clock, attach_grace=5)
    future = asking(pool, broker, make_request())
    clock.now += 5
    broker.wake()
    decision = future.result(timeout=5)
    assert decision.answer is Answer.DENY and decision.answerer == "no one to ask"


def test_an_answerer_attaching_during_the_grace_gets_the_full_timeout(pool) -> None:
    clock = FakeClock()
    broker = Broker("s1", timeout=120, clock=clock, attach_grace=5)
    future = asking(pool, broker, make_request())
    seen: list = []
    broker.attach(seen.append)  # hears the waiting request at once
    assert seen == [RequestOpened(make_request(), 120.0)]
    clock.now += 60
    broker.wake()
    time.sleep(0.02)
    assert not future.done()
    clock.now += 60
    broker.wake()
    assert future.result(timeout=5).answerer == "timeout"


def test_the_first_answer_wins(pool) -> None:
    broker = Broker("s1", timeout=60)
    future = asking(pool, broker, make_request())
    assert broker.answer("r1", Decision(Answer.DENY, answerer="jail approve (pid 9, uid 0)"))
    assert not broker.answer("r1", Decision(Answer.ALLOW_SESSION, answerer="terminal"))
    assert future.result(timeout=5).answerer == "jail approve (pid 9, uid 0)"
    assert not broker.answer("nope", Decision(Answer.DENY))


def test_many_requests_wait_at_once_each_in_its_own_thread(pool) -> None:
    broker = Broker("s1", timeout=60)
    requests = [make_request(id=f"r{i}", argv=["rm", "-rf", f"/data/{i}"]) for i in range(6)]
    futures = [asking(pool, broker, request) for request in requests]
    assert sorted(r.id for r in broker.pending()) == sorted(r.id for r in requests)
    for i in reversed(range(6)):
        answer = Answer.DENY if i % 2 else Answer.ALLOW_ONCE
        assert broker.answer(f"r{i}", Decision(answer))
        assert futures[i].result(timeout=5).answer is answer
        assert not any(f.done() for f in futures[:i])


def test_a_session_grant_answers_the_same_command_waiting_and_later(pool) -> None:
    broker = Broker("s1", timeout=60)
    first, second = asking(pool, broker, make_request()), asking(pool, broker, make_request(id="r2"))
    other = asking(pool, broker, make_request(id="r3", cwd="/elsewhere"))
    assert broker.answer("r1", Decision(Answer.ALLOW_SESSION))
    assert first.result(timeout=5).granted_by is None
    assert second.result(timeout=5).granted_by == "r1"
    assert not other.done()
    later = broker.ask(make_request(id="r4"))  # no wait at all
    assert later.answer is Answer.ALLOW_SESSION and later.granted_by == "r1"
    broker.answer("r3", Decision(Answer.DENY))
    assert other.result(timeout=5).answer is Answer.DENY


def test_a_denial_asks_again_next_time(pool) -> None:
    broker = Broker("s1", timeout=60)
    future = asking(pool, broker, make_request())
    broker.answer("r1", Decision(Answer.DENY))
    future.result(timeout=5)
    again = asking(pool, broker, make_request(id="r2"))
    assert not again.done()
    broker.answer("r2", Decision(Answer.DENY))


def test_always_needs_the_edit_the_person_saw(pool, tmp_path) -> None:
    profile = tmp_path / "jail.toml"
    profile.write_text('[exec]\nallow = ["make"]\n')
    broker = Broker("s1", timeout=60, profile_path=profile)
    future = asking(pool, broker, make_request())
    with pytest.raises(ValueError, match="shown"):
        broker.answer("r1", Decision(Answer.ALWAYS))
    shown = broker.propose_always(make_request())
    profile.write_text('[exec]\nallow = ["make", "ls"]\n')  # changed after it was shown
    with pytest.raises(ValueError, match="shown"):
        broker.answer("r1", Decision(Answer.ALWAYS, edit=shown))
    edit = broker.propose_always(make_request())
    assert broker.answer("r1", Decision(Answer.ALWAYS, edit=edit))
    decision = future.result(timeout=5)
    assert decision.edit == edit and '"terraform destroy"' in edit.new_text
    assert profile.read_text() == edit.new_text  # written before the answer took effect


def test_always_that_cannot_be_written_keeps_the_request_waiting(pool, tmp_path) -> None:
    profile = tmp_path / "jail.toml"
    profile.write_text('[exec]\nallow = ["make"]\n')

    def refuse(edit):
        raise OSError(30, "Read-only file system")

    broker = Broker("s1", timeout=60, profile_path=profile, write_always=refuse)
    future = asking(pool, broker, make_request())
    edit = broker.propose_always(make_request())
    with pytest.raises(ValueError, match=r"could not write .*Read-only"):
        broker.answer("r1", Decision(Answer.ALWAYS, edit=edit))
    assert not future.done() and profile.read_text() == edit.old_text
    assert broker.answer("r1", Decision(Answer.DENY))
    assert future.result(timeout=5).answer is Answer.DENY


def test_no_project_profile_means_no_always() -> None:
    assert Broker("s1", timeout=1).propose_always(make_request()) is None


def test_listeners_hear_every_request_open_and_close_in_order(pool) -> None:
    broker = Broker("s1", timeout=60)
    events: list = []
    detach = broker.attach(events.append)
    assert broker.answerers == 1
    future = asking(pool, broker, make_request())
    broker.answer("r1", Decision(Answer.DENY, at=3.0))
    future.result(timeout=5)
    assert events == [RequestOpened(make_request(), 60.0), RequestClosed("r1", Decision(Answer.DENY, at=3.0))]
    detach()
    assert broker.answerers == 0


def test_a_grant_answers_without_asking_anyone() -> None:
    broker = Broker("s1", timeout=60)
    broker.grants.record(make_request(id="r0"), Decision(Answer.ALLOW_FOR, minutes=5))
    events: list = []
    broker.attach(events.append)
    assert broker.ask(make_request()).granted_by == "r0"
    assert events == []


def test_the_same_request_cannot_wait_twice(pool) -> None:
    broker = Broker("s1", timeout=60)
    asking(pool, broker, make_request())
    with pytest.raises(ValueError, match="already waiting"):
        broker.ask(make_request())
    broker.answer("r1", Decision(Answer.DENY))


def test_answers_race_and_exactly_one_wins(pool) -> None:
    broker = Broker("s1", timeout=60)
    future = asking(pool, broker, make_request())
    start = threading.Barrier(8)

    def answer(i: int) -> bool:
        start.wait()
        return broker.answer("r1", Decision(Answer.ALLOW_ONCE, answerer=f"a{i}"))

    results = [pool.submit(answer, i) for i in range(7)]
    start.wait()
    wins = [i for i, r in enumerate(results) if r.result(timeout=5)]
    assert len(wins) == 1 and future.result(timeout=5).answerer == f"a{wins[0]}"


@pytest.mark.parametrize(("options", "message"), [
    ({"timeout": 0}, "positive"), ({"timeout": 5, "fallback": "ask"}, "fallback"),
])
def test_bad_settings(options, message) -> None:
    with pytest.raises(ValueError, match=message):
        Broker("s1", **options)
