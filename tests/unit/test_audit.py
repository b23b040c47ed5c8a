"""The audit writer, reader and verifier, and `jail log`."""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import threading
import time
from pathlib import Path

import pytest

import jail.cli
from jail.audit import (
    GENESIS,
    AuditError,
    AuditWriter,
    follow_lines,
    list_sessions,
    read_records,
    verify,
)
from jail.errors import ExitCode

pytestmark = pytest.mark.unit

AGENT = ["claude", "--model", "x"]


def open_writer(directory: Path, agent: list[str] = AGENT) -> AuditWriter:
    return AuditWriter.open(directory, agent=agent, cwd="/work/project",
                            profile_sources=["default.toml", "jail.toml"],
                            jail_version="0.1.0", mode={"pidns": True, "landlock": 7})


def decision(pid: int = 100, verdict: str = "allow", target: str = "/work/project/a.py",
             **extra) -> dict:
    return {"event": "file", "pid": pid, "tid": pid, "chain": [{"pid": 1, "comm": "claude"},
            {"pid": pid, "comm": f"proc{pid}"}], "exe": "/usr/bin/python3", "syscall": "openat",
            "access": "read", "target": target, "verdict": verdict, "rule": "default.toml:14",
            "pattern": "**", "reason": "workspace", "errno": 0 if verdict == "allow" else 13,
            **extra}


def session_file(directory: Path, decisions: int = 6, end: bool = True) -> Path:
    writer = open_writer(directory)
    for number in range(decisions):
        writer.record(**decision(pid=100 + number % 2, verdict="deny" if number % 3 == 0
                                 else "allow", target=f"/work/project/f{number}"))
    if end:
        writer.close(0)
    return writer.path


def lines_of(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()


# -- writer ---------------------------------------------------------------------------------


def test_session_file_layout(tmp_path):
    writer = open_writer(tmp_path / "sessions")
    assert re.fullmatch(r"\d{8}T\d{6}Z-[0-9a-f]{6}", writer.session_id)
    assert writer.path == tmp_path / "sessions" / f"{writer.session_id}.jsonl"
    assert writer.record(**decision()) == 1
    writer.close(3)
    records = list(read_records(writer.path))
    assert [r["seq"] for r in records] == [0, 1, 2]
    assert {r["session"] for r in records} == {writer.session_id}
    header, middle, end = records
    assert header["event"] == "session-start"
    assert header["agent"] == AGENT and header["cwd"] == "/work/project"
    assert header["profile_sources"] == ["default.toml", "jail.toml"]
    assert header["jail_version"] == "0.1.0" and header["mode"] == {"pidns": True, "landlock": 7}
    assert header["prev"] == GENESIS
    assert middle["verdict"] == "allow" and middle["rule"] == "default.toml:14"
    assert end["event"] == "session-end" and end["exit_status"] == 3
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", middle["time"])
    raw = lines_of(writer.path)
    for before, after in zip(raw[:-1], records[1:], strict=True):
        assert after["prev"] == hashlib.sha256(before).hexdigest()


def test_file_is_0600_and_dirs_are_0700(tmp_path):
    old_umask = os.umask(0)
    try:
        writer = open_writer(tmp_path / "state" / "sessions")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(writer.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "state" / "sessions").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(tmp_path / "state").st_mode) == 0o700
    assert os.get_inheritable(writer._fd) is False  # the agent never inherits the log
    writer.close(0)


def test_record_is_on_disk_before_it_returns(tmp_path):
    writer = open_writer(tmp_path)
    reader = os.open(writer.path, os.O_RDONLY)
    try:
        assert os.read(reader, 1 << 20).endswith(b"\n")  # the header
        for number in range(20):
            writer.record(**decision(target=f"/t/{number}"))
            line = os.read(reader, 1 << 20)  # no sleep, no flush: already there
            assert line.endswith(b"\n") and line.count(b"\n") == 1
            assert json.loads(line)["target"] == f"/t/{number}"
    finally:
        os.close(reader)
        writer.close(0)


def test_eight_threads_make_one_valid_chain(tmp_path):
    writer = open_writer(tmp_path)
    per_thread = 400
    start = threading.Barrier(8)

    def work(worker: int) -> None:
        start.wait()
        for number in range(per_thread):
            writer.record(**decision(pid=worker, target=f"/w{worker}/{number}" + "x" * 300))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close(0)
    result = verify(writer.path)
    assert result.ok, result.message
    assert result.records == 8 * per_thread + 2
    records = list(read_records(writer.path))  # every line parses: nothing interleaved
    for worker in range(8):
        targets = [r["target"] for r in records if r.get("pid") == worker]
        assert targets == [f"/w{worker}/{n}" + "x" * 300 for n in range(per_thread)]


def test_fields_that_json_cannot_take_are_kept_as_text(tmp_path):
    writer = open_writer(tmp_path)
    cycle: list = []
    cycle.append(cycle)
    writer.record(event="file", target=Path("/etc/passwd"), pid=os.getpid(),
                  odd_keys={(1, 2): 3}, cycle=cycle, obj=object(), raw=b"\xff",
                  name="caf\udce9")  # an undecodable file name, surrogate-escaped
    writer.close(0)
    record = list(read_records(writer.path))[1]
    assert record["target"] == "/etc/passwd"
    assert record["odd_keys"] == "{(1, 2): 3}"
    assert record["name"] == "caf\udce9"
    assert verify(writer.path).ok


def test_reserved_fields_cannot_be_overridden(tmp_path):
    writer = open_writer(tmp_path)
    with pytest.raises(ValueError, match="seq"):
        writer.record(event="file", seq=99)
    writer.close(0)
    assert verify(writer.path).ok


def test_a_failed_write_raises_and_poisons_the_writer(tmp_path):
    writer = AuditWriter(os.open("/dev/full", os.O_WRONLY), tmp_path / "x.jsonl", "x")
    with pytest.raises(AuditError, match="cannot write audit log"):
        writer.record(event="file", verdict="allow")
    with pytest.raises(AuditError, match="failed earlier"):
        writer.record(event="file", verdict="allow")
    assert writer.next_seq == 0
    with pytest.raises(AuditError):
        writer.close(0)
    assert writer.closed


def test_record_after_close_raises_and_close_is_idempotent(tmp_path):
    writer = open_writer(tmp_path)
    writer.close(0)
    writer.close(1)
    with pytest.raises(AuditError, match="closed"):
        writer.record(event="file")
    assert [r["event"] for r in read_records(writer.path)] == ["session-start", "session-end"]


def test_seen_once_is_bounded(tmp_path):
    writer = AuditWriter(os.open(os.devnull, os.O_WRONLY), tmp_path / "x", "x", dedupe_keys=3)
    assert writer.seen_once((1, "/a")) is True
    assert writer.seen_once((1, "/a")) is False
    for key in ("b", "c", "d"):
        assert writer.seen_once(key) is True
    assert writer.seen_once((1, "/a")) is True  # forgotten: logged again, never lost
    assert writer.seen_once("d") is False


# -- verifier -------------------------------------------------------------------------------


def edit_field(lines: list[bytes]) -> list[bytes]:
    record = json.loads(lines[3])
    record["verdict"] = "allow" if record["verdict"] == "deny" else "deny"
    return [*lines[:3], json.dumps(record, separators=(",", ":")).encode(), *lines[4:]]


def forge(lines: list[bytes]) -> list[bytes]:
    # A forger who knows the format links the new line to its predecessor correctly.
    record = json.loads(lines[2])
    record.update(seq=3, prev=hashlib.sha256(lines[2]).hexdigest(), target="/forged")
    return [*lines[:3], json.dumps(record, separators=(",", ":")).encode(), *lines[3:]]


TAMPERINGS = {
    "edit a field": (edit_field, 3),
    "edit the seq": (lambda ls: [*ls[:3], ls[3].replace(b'"seq":3', b'"seq":9'), *ls[4:]], 3),
    "delete a line": (lambda ls: ls[:3] + ls[4:], 3),
    "swap two lines": (lambda ls: [*ls[:3], ls[4], ls[3], *ls[5:]], 3),
    "insert a forged line": (forge, 3),
    "append after the end": (lambda ls: [*ls, ls[-1]], 8),
    "replace the header": (lambda ls: [ls[1], *ls[1:]], 0),
}


@pytest.mark.parametrize("kind", TAMPERINGS)
def test_verify_detects_tampering(tmp_path, kind):
    path = session_file(tmp_path)
    assert verify(path).ok
    tamper, first_bad = TAMPERINGS[kind]
    path.write_bytes(b"\n".join(tamper(lines_of(path))) + b"\n")
    result = verify(path)
    assert not result.ok
    assert result.first_bad_seq == first_bad, result.message
    assert result.records == first_bad
    assert f"record {first_bad}" in result.message


def test_verify_detects_a_truncated_last_line(tmp_path):
    path = session_file(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-20])
    result = verify(path)
    assert not result.ok and result.first_bad_seq == 7 and "cut off" in result.message
    assert [r["seq"] for r in read_records(path)] == list(range(7))  # partial line skipped


def test_verify_detects_a_line_moved_from_another_session(tmp_path):
    first, second = session_file(tmp_path), session_file(tmp_path)
    lines = lines_of(first)
    lines[2] = lines_of(second)[2]
    first.write_bytes(b"\n".join(lines) + b"\n")
    assert verify(first).first_bad_seq == 1


def test_verify_a_running_session_is_intact_but_says_it_has_no_end(tmp_path):
    path = session_file(tmp_path, end=False)
    result = verify(path)
    assert result.ok and result.records == 7 and result.first_bad_seq is None
    assert "no session-end" in result.message


def test_verify_an_empty_file(tmp_path):
    path = tmp_path / "20260101T000000Z-000000.jsonl"
    path.write_bytes(b"")
    result = verify(path)
    assert not result.ok and result.records == 0 and result.first_bad_seq == 0


# -- reader ---------------------------------------------------------------------------------


def test_list_sessions_newest_last_with_lazy_details(tmp_path):
    assert list_sessions(tmp_path / "missing") == []
    paths = [session_file(tmp_path, decisions=n) for n in (1, 2, 3)]
    sessions = list_sessions(tmp_path)
    assert [s.path for s in sessions] == paths
    newest = sessions[-1]
    assert newest.agent == AGENT and newest.start is not None
    assert newest.record_count == 5 and newest.exit_status == 0 and newest.ended
    assert not newest.damaged


def test_follow_stops_at_session_end(tmp_path):
    writer = open_writer(tmp_path)

    def finish() -> None:
        for number in range(3):
            time.sleep(0.05)
            writer.record(**decision(target=f"/late/{number}"))
        writer.close(7)

    thread = threading.Thread(target=finish)
    thread.start()
    seen = [record for _, record in follow_lines(writer.path, interval=0.01)]
    thread.join()
    assert [r["seq"] for r in seen] == [0, 1, 2, 3, 4]
    assert seen[-1]["exit_status"] == 7


# -- jail log -------------------------------------------------------------------------------


@pytest.fixture
def state(tmp_path, monkeypatch) -> Path:
    """XDG_STATE_HOME in a tmp dir; returns the sessions dir."""
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    return tmp_path / "jail" / "sessions"


def run_log(capsys, *argv: str) -> tuple[int, list[str], str]:
    code = jail.cli.main(["log", *argv])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def test_log_without_sessions_is_one_clear_line(state, capsys):
    code, out, err = run_log(capsys)
    assert code == ExitCode.INVALID and out == []
    assert err.startswith("jail: no sessions recorded in ") and "Traceback" not in err


def test_log_table(state, capsys):
    session_file(state)  # an older one
    writer = open_writer(state)
    writer.record(**decision(pid=42, verdict="deny", target="/home/u/.ssh/id_ed25519"))
    writer.record(**decision(pid=43, target="/very/long/" + "deep/" * 40 + "tail.txt"))
    writer.close(0)
    code, out, _ = run_log(capsys)
    assert code == ExitCode.OK
    assert out[0].startswith(f"session {writer.session_id}  started ")
    assert "agent: claude --model x" in out[0]
    assert out[1].split() == ["TIME", "PID", "PROCESS", "SYSCALL", "VERDICT", "TARGET", "RULE"]
    assert all(len(line) <= 100 for line in out)
    deny = out[2]
    assert re.match(r"\d\d:\d\d:\d\d\.\d{3} +42 +proc42 +openat +deny +/home/u/.ssh/id_ed25519 "
                    r"+default.toml:14$", deny)
    assert "…" in out[3] and "tail.txt" in out[3]  # long paths keep their end
    assert out[4].endswith("session ended, exit status 0")


def test_log_json_prints_the_raw_lines(state, capsys):
    path = session_file(state)
    code, out, _ = run_log(capsys, "--json")
    assert code == ExitCode.OK
    assert [line.encode() for line in out] == lines_of(path)


def test_log_denied_and_pid_filters(state, capsys):
    session_file(state)
    _, out, _ = run_log(capsys, "--denied")
    rows = out[2:-1]
    assert rows and all(" deny " in row for row in rows)
    _, out, _ = run_log(capsys, "--pid", "101")
    rows = out[2:-1]
    assert rows and all(row.split()[1] == "101" for row in rows)
    _, out, _ = run_log(capsys, "--json", "--denied", "--pid", "100")
    records = [json.loads(line) for line in out]
    assert records and all(r["verdict"] == "deny" and r["pid"] == 100 for r in records)


def test_log_picks_a_session_by_prefix(state, capsys):
    older = session_file(state, decisions=1)
    newer = session_file(state, decisions=2)
    unique = next(n for n, (a, b) in enumerate(zip(older.stem, newer.stem, strict=True)) if a != b)
    code, out, _ = run_log(capsys, older.stem[:unique + 1], "--json")
    assert code == ExitCode.OK and len(out) == 3
    code, _, err = run_log(capsys, "2", "--json")
    assert code == ExitCode.INVALID and "matches 2 sessions" in err
    code, _, err = run_log(capsys, "nope")
    assert code == ExitCode.INVALID and "no session matches 'nope'" in err


def test_log_verify(state, capsys):
    path = session_file(state)
    code, out, _ = run_log(capsys, "--verify")
    assert code == ExitCode.OK and out == [f"session {path.stem}: intact: 8 records"]
    path.write_bytes(b"\n".join(edit_field(lines_of(path))) + b"\n")
    code, out, _ = run_log(capsys, "--verify")
    assert code == ExitCode.FINDINGS and "record 3:" in out[0]


def test_log_list(state, capsys):
    first = session_file(state, decisions=1)
    second = session_file(state, decisions=4, end=False)
    code, out, _ = run_log(capsys, "--list")
    assert code == ExitCode.OK
    assert out[0].split() == ["SESSION", "STARTED", "RECORDS", "EXIT", "AGENT"]
    assert out[1].startswith(first.stem) and out[1].split()[3:5] == ["3", "0"]
    assert out[2].startswith(second.stem) and out[2].split()[3:5] == ["5", "-"]
    assert out[1].endswith("claude --model x")
    _, out, _ = run_log(capsys, "--list", "--json")
    assert [json.loads(line)["records"] for line in out] == [3, 5]


def test_log_follow_stops_at_session_end(state, capsys):
    writer = open_writer(state)
    codes = []
    follower = threading.Thread(target=lambda: codes.append(jail.cli.main(["log", "--follow"])),
                                daemon=True)
    follower.start()
    time.sleep(0.3)
    writer.record(**decision(pid=5, verdict="deny", target="/late"))
    writer.close(2)
    follower.join(timeout=10)
    assert not follower.is_alive(), "--follow did not stop at session-end"
    out = capsys.readouterr().out.splitlines()
    assert codes == [ExitCode.OK]
    assert "/late" in out[2] and out[-1].endswith("exit status 2")


def test_log_row_for_a_command_keeps_its_start(state, capsys):
    writer = open_writer(state)
    writer.record(event="exec", pid=9, exe="/usr/bin/terraform", syscall="execve",
                  argv=["terraform", "destroy", "-auto-approve", *["-var=x"] * 20],
                  verdict="deny", rule="jail.toml:9")
    writer.close(1)
    _, out, _ = run_log(capsys)
    assert re.search(r" terraform +execve +deny +terraform destroy -auto\S*… jail.toml:9$",
                     out[2])
    assert len(out[2]) <= 100
