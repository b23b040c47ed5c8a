"""`jail doctor`: the real probes on this machine, and the formatting on made-up checks.

This machine (Linux 6.18, x86_64, root) has every feature jail uses, so the
probes must all come out present; a probe that says otherwise is broken.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import os

import pytest

import jail.cli
from jail import doctor
from jail.doctor import Check
from jail.errors import ExitCode

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def checks() -> dict[str, Check]:
    return {check.name: check for check in doctor.probe_all()}


def seccomp_mode() -> str:
    with open("/proc/self/status") as status:
        return next(line for line in status if line.startswith("Seccomp:")).split()[1]


def test_every_required_feature_is_present_here(checks):
    missing = [c for c in checks.values() if c.required and not c.ok]
    assert missing == []
    assert doctor.ready(list(checks.values()))


def test_probe_names_are_unique_and_details_say_why():
    probed = doctor.probe_all()
    assert len({check.name for check in probed}) == len(probed)
    assert all(check.detail for check in probed)


@pytest.mark.parametrize("name", [
    "architecture", "kernel", "seccomp filter", "seccomp user notification",
    "seccomp wait-killable-recv", "seccomp sync-wake-up", "pidfd_open", "pidfd_getfd",
    "openat2", "landlock", "pid namespace", "ptrace"])
def test_feature_present_on_this_kernel(checks, name):
    assert checks[name].ok, checks[name].detail


def test_user_notif_is_advertised_and_installable(checks):
    assert "user_notif" in doctor.read_sysctl("kernel.seccomp.actions_avail").split()
    assert "listener can be installed" in checks["seccomp user notification"].detail
    assert checks["seccomp wait-killable-recv"].detail.startswith("accepted")
    assert checks["seccomp sync-wake-up"].detail.startswith("accepted")


def test_landlock_abi_and_features(checks):
    abi, err = doctor.landlock_abi()
    assert abi >= 1 and err == 0
    detail = checks["landlock"].detail
    assert detail.startswith(f"ABI {abi}:")
    assert ("truncate" in detail) == (abi >= 3)
    assert ("TCP" in detail.split(";")[0]) == (abi >= 4)
    assert ("signal + abstract-socket scoping" in detail.split(";")[0]) == (abi >= 6)


def test_lifetime_mode_is_named(checks):
    assert "pid namespace (sandbox dies with jail)" in checks["pid namespace"].detail


def test_probes_leave_this_process_unfiltered():
    before = seccomp_mode()
    doctor.probe_all()
    assert seccomp_mode() == before  # the filter went into a throwaway child


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user")
def test_pid_namespace_probe_as_an_ordinary_user():
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        try:
            os.setgid(65534)
            os.setuid(65534)
            os.write(write_end, json.dumps(dataclasses.asdict(doctor.check_pid_namespace())).encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        report = json.loads(pipe.read())
    os.waitpid(pid, 0)
    allowed = doctor.check_user_namespaces().ok
    assert report["ok"] == allowed
    if allowed:
        assert "through a user namespace" in report["detail"]
    else:
        assert "fallback: subreaper + parent-death signal" in report["detail"]


@pytest.mark.parametrize(("release", "version"), [
    ("6.18.44-fc-v669", (6, 18)), ("5.15.0-91-generic", (5, 15)), ("6.6", (6, 6)),
    ("weird", (0, 0))])
def test_kernel_version(release, version):
    assert doctor.kernel_version(release) == version


# -- formatting ---------------------------------------------------------------------------

MADE_UP = [
    Check("kernel", True, True, "6.18"),
    Check("landlock", False, True, "disabled at boot"),
    Check("pid namespace", False, False, "fallback: subreaper + parent-death signal"),
]


def test_format_marks_required_and_optional_misses():
    lines = doctor.format_checks(MADE_UP).splitlines()
    assert lines[0].split() == ["ok", "kernel", "6.18"]
    assert lines[1].startswith("MISSING  landlock") and lines[1].endswith("disabled at boot")
    assert lines[2].startswith("missing  pid namespace")
    assert lines[-1] == "jail cannot run here: required landlock missing"
    assert not doctor.ready(MADE_UP)


def test_format_columns_line_up():
    lines = doctor.format_checks(MADE_UP).splitlines()[:-1]
    assert len({line.index(check.detail) for line, check in zip(lines, MADE_UP, strict=True)}) == 1


def test_optional_misses_do_not_stop_jail():
    checks = [MADE_UP[0], MADE_UP[2]]
    assert doctor.ready(checks)
    assert doctor.format_checks(checks).splitlines()[-1] == "jail can run here"


def test_format_json_round_trips():
    data = json.loads(doctor.format_json(MADE_UP))
    assert data["ready"] is False
    assert [Check(**item) for item in data["checks"]] == MADE_UP


# -- the command ----------------------------------------------------------------------------


@pytest.fixture
def cli(monkeypatch):
    present = tuple(name for name in jail.cli.COMMANDS
                    if importlib.util.find_spec(f"jail.commands.{name}"))
    monkeypatch.setattr(jail.cli, "COMMANDS", present)
    return jail.cli.main


def test_jail_doctor_exits_0_here(cli, capsys):
    assert cli(["doctor"]) == ExitCode.OK
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "jail can run here"
    assert any(line.startswith("ok") and "landlock" in line for line in out)


def test_jail_doctor_json(cli, capsys):
    assert cli(["doctor", "--json"]) == ExitCode.OK
    data = json.loads(capsys.readouterr().out)
    assert data["ready"] is True
    assert {"name", "ok", "required", "detail"} == set(data["checks"][0])


def test_jail_doctor_exits_125_when_something_required_is_missing(cli, capsys, monkeypatch):
    monkeypatch.setattr(doctor, "probe_all", lambda: MADE_UP)
    assert cli(["doctor"]) == ExitCode.JAIL_FAILED == 125
    assert "MISSING" in capsys.readouterr().out
