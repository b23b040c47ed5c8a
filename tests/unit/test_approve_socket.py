"""The approval socket for real: a server on a temporary directory, a client in
this process (threads), and a foreign uid that must be refused."""

from __future__ import annotations

import argparse
import json
import os
import socket
import stat
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from approve_helpers import make_request, wait_until

from jail.approve.broker import Broker
from jail.approve.client import ApprovalClient, ApprovalClientError, list_all, session_sockets
from jail.approve.request import Answer, Decision, RequestClosed, RequestOpened
from jail.approve.server import ApprovalServer, ensure_private_dir, socket_dir
from jail.commands import approve as approve_command
from jail.errors import JailError

pytestmark = pytest.mark.unit

NOBODY = 65534


@pytest.fixture
def pool():
    with ThreadPoolExecutor(max_workers=4) as executor:
        yield executor


@pytest.fixture
def served(tmp_path):
    """A broker for session s1 served in tmp_path/jail."""
    broker = Broker("s1", timeout=60, profile_path=tmp_path / "jail.toml")
    with ApprovalServer(broker, tmp_path / "jail") as server:
        yield broker, server
    for request in broker.pending():  # a failed test must not leave a thread waiting
        broker.answer(request.id, Decision(Answer.DENY))


def ask_in_thread(pool, broker, request):
    future = pool.submit(broker.ask, request)
    wait_until(broker.pending)
    return future


def test_directory_0700_socket_0600(served) -> None:
    _, server = served
    assert stat.S_IMODE(os.stat(server.directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
    assert session_sockets(server.directory) == [server.path]


def test_answering_through_the_socket_unblocks_ask(served, pool) -> None:
    broker, server = served
    future = ask_in_thread(pool, broker, make_request())
    client = ApprovalClient(server.path)
    [pending] = client.list()
    assert pending.request == make_request() and 0 < pending.expires_in <= 60
    assert pending.fallback is Answer.DENY
    # The client's claim about who answers is ignored: the kernel says who it was.
    assert client.answer("r1", Decision(Answer.ALLOW_FOR, minutes=15, answerer="terminal"))
    decision = future.result(timeout=5)
    assert decision.answer is Answer.ALLOW_FOR and decision.minutes == 15
    assert decision.answerer == f"jail approve (pid {os.getpid()}, uid {os.getuid()})"
    assert not client.answer("r1", Decision(Answer.DENY))
    assert client.list() == []


def test_always_over_the_socket_uses_the_shown_diff(served, pool) -> None:
    broker, server = served
    future = ask_in_thread(pool, broker, make_request())
    client = ApprovalClient(server.path)
    edit = client.propose("r1")
    assert edit is not None and '+[exec]' in edit.diff
    with pytest.raises(ApprovalClientError, match="shown"):
        client.answer("r1", Decision(Answer.ALWAYS))
    assert client.answer("r1", Decision(Answer.ALWAYS, edit=edit))
    assert future.result(timeout=5).edit == edit
    assert client.propose("gone") is None


def test_watch_streams_opened_and_closed_and_counts_as_an_answerer(served, pool) -> None:
    broker, server = served
    watch = ApprovalClient(server.path).watch()
    wait_until(lambda: broker.answerers == 1)
    events = iter(watch)
    future = ask_in_thread(pool, broker, make_request())
    assert next(events) == RequestOpened(make_request(), 60.0, Answer.DENY)
    broker.answer("r1", Decision(Answer.DENY, answerer="terminal", at=5.0))
    assert next(events) == RequestClosed("r1", Decision(Answer.DENY, answerer="terminal", at=5.0))
    future.result(timeout=5)
    watch.close()
    wait_until(lambda: broker.answerers == 0)


def test_bad_lines_get_one_line_errors(served) -> None:
    _, server = served
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(str(server.path))
        reader = conn.makefile("rb")
        for line, error in [(b"nonsense\n", "Expecting value"), (b"[1]\n", "JSON object"),
                            (b'{"op": "nuke"}\n', "unknown op"), (b'{"op": "answer", "id": "r1"}\n',
                                                                   "'decision'"),
                            (b'{"op": "answer", "id": "r1", "decision": {"answer": "yes"}}\n',
                             "unknown answer")]:
            conn.sendall(line)
            reply = json.loads(reader.readline())
            assert reply["ok"] is False and error in reply["error"]


def test_closing_removes_the_socket(tmp_path) -> None:
    server = ApprovalServer(Broker("s2", timeout=1), tmp_path / "jail").start()
    assert server.path.exists()
    server.close()
    assert not server.path.exists()
    with pytest.raises(ApprovalClientError, match="cannot connect"):
        ApprovalClient(server.path).list()


def test_a_dead_sessions_socket_is_skipped(tmp_path, served) -> None:
    _, server = served
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(server.directory / "dead.sock"))
    dead.close()
    pending, problems = list_all(server.directory)
    assert pending == [] and len(problems) == 1 and "dead.sock" in problems[0]


@pytest.mark.parametrize("name", ["", "../x", ".hidden", "a/b", "s p"])
def test_session_names_that_cannot_name_a_socket(tmp_path, name) -> None:
    with pytest.raises(JailError):
        ApprovalServer(Broker(name, timeout=1), tmp_path)


def test_socket_dir_prefers_the_runtime_dir(tmp_path) -> None:
    assert socket_dir({"XDG_RUNTIME_DIR": str(tmp_path)}, 1000) == tmp_path / "jail"
    assert socket_dir({}, 1000) == Path("/tmp/jail-1000")
    assert socket_dir({"XDG_RUNTIME_DIR": "relative"}, 5) == Path("/tmp/jail-5")


def test_a_directory_someone_else_made_is_refused(tmp_path) -> None:
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    with pytest.raises(JailError, match="not a directory owned"):
        ensure_private_dir(link)
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o777)
    ensure_private_dir(loose)  # ours: tightened
    assert stat.S_IMODE(os.stat(loose).st_mode) == 0o700
    if os.getuid() == 0:
        theirs = tmp_path / "theirs"
        theirs.mkdir()
        os.chown(theirs, NOBODY, NOBODY)
        with pytest.raises(JailError, match="not a directory owned"):
            ensure_private_dir(theirs)


CONNECT = """
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("connect:", e.strerror); raise SystemExit(0)
s.settimeout(10)
s.sendall(b'{"op": "list"}\\n')
print(s.makefile("rb").readline().decode().strip())
"""


# A python that another uid can run (pyenv's lives under /root).
PUBLIC_PYTHON = next((p for p in ("/usr/bin/python3", "/usr/local/bin/python3")
                      if os.access(p, os.X_OK)), None)


@pytest.mark.skipif(os.getuid() != 0 or PUBLIC_PYTHON is None,
                    reason="needs root and a system python to run a client as another uid")
def test_a_foreign_uid_is_refused() -> None:
    # The parents must be traversable for nobody, so not pytest's 0700 tmp_path.
    base = Path(tempfile.mkdtemp(prefix="jail-approve-test-", dir="/tmp"))
    try:
        os.chmod(base, 0o711)
        broker = Broker("s1", timeout=60)
        with ApprovalServer(broker, base / "jail") as server:
            def as_nobody() -> str:
                return subprocess.run([PUBLIC_PYTHON, "-I", "-c", CONNECT, str(server.path)], user=NOBODY,
                                      group=NOBODY, extra_groups=[], capture_output=True, text=True,
                                      timeout=30, check=True).stdout.strip()

            # First wall: the directory is 0700, so nobody cannot even reach the socket.
            assert as_nobody() == "connect: Permission denied"
            # Second wall: with the modes opened up, SO_PEERCRED still refuses the peer.
            os.chmod(server.directory, 0o711)
            os.chmod(server.path, 0o666)
            reply = json.loads(as_nobody())
            assert reply == {"ok": False, "error": f"refused: uid {NOBODY} may not answer this session"}
            assert broker.answerers == 0
    finally:
        subprocess.run(["rm", "-rf", str(base)], check=True)


def run_command(monkeypatch, tmp_path, capsys, *argv: str) -> tuple[int, str, str]:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    parser = argparse.ArgumentParser()
    approve_command.add_parser(parser.add_subparsers())
    args = parser.parse_args(["approve", *argv])
    code = args.func(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_jail_approve_list_and_answer(served, pool, monkeypatch, tmp_path, capsys) -> None:
    broker, _ = served
    assert run_command(monkeypatch, tmp_path, capsys, "--list")[1] == "no requests waiting\n"
    future = ask_in_thread(pool, broker, make_request(argv=["terraform", "destroy", "\x1b[2J"]))
    code, out, _ = run_command(monkeypatch, tmp_path, capsys, "--list")
    assert code == 0 and "s1:r1  exec" in out and "terraform destroy $'\\x1b[2J'" in out
    assert "\x1b" not in out
    code, out, _ = run_command(monkeypatch, tmp_path, capsys, "--list", "--json")
    assert json.loads(out)["request"]["argv"][2] == "\x1b[2J"
    with pytest.raises(JailError, match="--minutes"):
        run_command(monkeypatch, tmp_path, capsys, "--answer", "r1", "for")
    with pytest.raises(JailError, match="unknown answer 'always'") as refused:
        run_command(monkeypatch, tmp_path, capsys, "--answer", "r1", "always")
    assert "diff is shown" in refused.value.hint
    with pytest.raises(JailError, match="no waiting request"):
        run_command(monkeypatch, tmp_path, capsys, "--answer", "r9", "deny")
    code, out, _ = run_command(monkeypatch, tmp_path, capsys, "--answer", "s1:r1", "for", "--minutes", "5")
    assert code == 0 and future.result(timeout=5).minutes == 5
