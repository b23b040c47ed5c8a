"""The syscall table is the single source of truth: consistent and complete."""

import collections

import pyseccomp
import pytest

from jail.cli import main
from jail.supervisor.paths import HANDLERS
from jail.syscalls import TABLE, TRAPPED, Family

pytestmark = pytest.mark.unit


def test_numbers_are_unique_and_agree_with_libseccomp():
    counts = collections.Counter(row.nr for row in TABLE)
    assert [nr for nr, n in counts.items() if n > 1] == []
    for row in TABLE:
        known = pyseccomp.resolve_syscall(0, row.name)
        assert known in (row.nr, -1), row.name  # -1: newer than this libseccomp


def test_every_trapped_syscall_has_a_handler():
    from jail.supervisor.loop import HANDLERS as FAMILY_HANDLERS

    for row in TRAPPED:
        assert row.family in FAMILY_HANDLERS, row.name
        if row.family in (Family.PATH, Family.FD):
            assert row.name in HANDLERS, row.name


def test_every_refused_syscall_says_why_and_how():
    for row in TABLE:
        if row.family is Family.DENY:
            assert row.errno and row.why, row.name


@pytest.mark.parametrize("name", ["open", "openat", "openat2", "creat", "unlinkat", "renameat2", "linkat",
                                  "fchmodat", "fchownat", "utimensat", "setxattr", "truncate"])
def test_the_doors_to_files_are_trapped(name):
    assert name in {row.name for row in TRAPPED}


def test_jail_syscalls_lists_the_table(capsys):
    assert main(["syscalls"]) == 0
    out = capsys.readouterr().out
    assert "io_uring_setup" in out and "ENOSYS" in out and "openat" in out
