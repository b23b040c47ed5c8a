"""Named conditions a rule can add with `when = "..."`: what a glob cannot say.

Each condition is a plain function of one command (an Invocation) and the
places the profile lets the agent write; it returns what it found (a few words
for the prompt) or None. All conditions of a rule must find something.

- outside-workspace: a target path (rm's operands, find's start points,
  chmod/chown's files, rsync's paths) is outside the workspace and the
  profile's other writable places, or is one of those places itself, or is
  `/`, `~`, `..` of them, or cannot be known (`$VAR`, unknown directory).
  Paths are resolved lexically against the command's directory (after any
  `cd` in a `sh -c` string); symlinks are not followed (the file rules are).
- device: an operand names a disk or other device (`/dev/sda`, `of=/dev/nvme0n1`),
  not /dev/null, /dev/zero, a terminal and the like.
- destructive-sql: DROP DATABASE/SCHEMA/TABLE/COLUMN, TRUNCATE, DELETE or UPDATE
  without WHERE (or with an always-true one), FLUSHALL/FLUSHDB, dropDatabase(),
  .drop(), deleteMany({}) in an argument or the command's written-out stdin.
- http-delete: the request method is DELETE (`-X DELETE`, `--request=DELETE`,
  `--method DELETE`, `http DELETE url`).
- graphql-delete: a GraphQL mutation whose field is named like a deletion
  (`volumeDelete`, `deleteProject`, `dropTable`, `removeMember`), in a request
  body, a URL or inline code.
- all-processes: `kill` aimed at pid -1 (every process the user may signal).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass

from jail.execrules.content import (
    POSITIONAL_METHOD,
    destructive_mutation,
    destructive_sql,
    graphql_documents,
    http_method,
)
from jail.execrules.invocations import Invocation
from jail.execrules.pattern import is_option


@dataclass(frozen=True)
class Places:
    """Where the agent may delete things without asking."""

    home: str
    workspace: str
    writable: tuple[str, ...] = ()  # the profile's other writable places (/tmp, ~/.cache...)

    def roots(self) -> tuple[str, ...]:
        """Writable roots, except `/` and the home directory or any of its parents."""
        home = posixpath.normpath(self.home) if self.home else ""
        out = []
        for given in (self.workspace, *self.writable):
            if not given or not given.startswith("/"):
                continue
            root = posixpath.normpath(given)
            if root == "/" or (home and (home == root or home.startswith(root + "/"))):
                continue
            out.append(root)
        return tuple(out)


Condition = Callable[[Invocation, Places], "str | None"]

_BENIGN_DEVICES = frozenset({"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
                             "/dev/tty", "/dev/stdin", "/dev/stdout", "/dev/stderr", "/dev/ptmx",
                             "/dev/console"})
_BENIGN_DEVICE_TREES = ("/dev/fd/", "/dev/pts/", "/dev/shm/", "/dev/mqueue/")  # noqa: S108 - names compared, never opened
_REMOTE = re.compile(r"\A(?:[a-z][a-z0-9+.-]*://|[^/]*:)", re.IGNORECASE)
_HOME_VARIABLE = re.compile(r"\A(?:\$HOME|\$\{HOME\})(?=/|\Z)")
_SIGNAL = re.compile(r"-(?:\d+|[A-Z][A-Z0-9+-]*|SIG\w+)\Z")


def outside_workspace(inv: Invocation, places: Places) -> str | None:
    remote = bool({"rsync", "scp"} & set(inv.names))
    roots = places.roots()
    below = "find" in inv.names  # find deletes what it finds below its start points
    for target in _targets(inv):
        if remote and _REMOTE.match(target):
            return f"{target} (another machine)"
        for cwd in inv.cwds or ("",):
            if not _inside(target, cwd, places.home, roots, below=below):
                return _shown(target, cwd, places.home)
    return None


def _targets(inv: Invocation) -> list[str]:
    names = set(inv.names)
    words = [word for word, _ in inv.arguments.positional]
    if "find" in names:
        starts = []
        for word in inv.args:
            if word in ("-H", "-L", "-P") or (word.startswith(("-D", "-O")) and len(word) <= 3):
                continue
            if word.startswith(("-", "(", "!")) or word == ",":
                break
            starts.append(word)
        return starts or ["."]
    if names & {"chmod", "chown", "chgrp"}:
        given_mode = any(a.startswith("--reference") for a in inv.args) or any(
            re.fullmatch(r"-[rwxXst]+", a) for a in inv.args if "chmod" in names)
        return words if given_mode else words[1:]
    return words


def _inside(target: str, cwd: str, home: str, roots: tuple[str, ...], *, below: bool) -> bool:
    """Is removing `target` (or, `below`, what is below it) confined to a writable root?"""
    if target == "~" or target.startswith("~/"):
        if not home:
            return False
        target = home + target[1:]
    target = _HOME_VARIABLE.sub(home, target) if home else target
    if "$" in target or "`" in target or not target:
        return False
    glob = next((i for i, ch in enumerate(target) if ch in "*?["), None)
    if glob is not None:  # what the glob expands to lies below its fixed directory
        fixed = target[:target.rfind("/", 0, glob) + 1] or "."
        base = _resolve(fixed, cwd)
        return base is not None and any(_under(base, root, strict=False) for root in roots)
    path = _resolve(target, cwd)
    return path is not None and any(_under(path, root, strict=not below) for root in roots)


def _resolve(target: str, cwd: str) -> str | None:
    if target.startswith("/"):
        return posixpath.normpath(target).replace("//", "/")
    if not cwd:
        return None
    return posixpath.normpath(posixpath.join(cwd, target))


def _under(path: str, root: str, *, strict: bool) -> bool:
    return path.startswith(root + "/") or (not strict and path == root)


def _shown(target: str, cwd: str, home: str) -> str:
    path = _resolve(target, cwd) if "$" not in target and not target.startswith("~") else None
    if path is None or path == target:
        return target
    if home and (path == home or path.startswith(home + "/")):
        path = "~" + path[len(home):]
    return f"{target} ({path})"


def device(inv: Invocation, places: Places) -> str | None:
    del places
    for word in inv.args:
        value = word.partition("=")[2] if word.startswith(("of=", "if=")) else word
        if not value.startswith("/dev/") or word.startswith("if="):
            continue
        path = posixpath.normpath(value)
        if path not in _BENIGN_DEVICES and not path.startswith(_BENIGN_DEVICE_TREES):
            return path
    return None


def sql(inv: Invocation, places: Places) -> str | None:
    del places
    for text in _texts(inv):
        found = destructive_sql(text)
        if found:
            return found
    return None


def http_delete(inv: Invocation, places: Places) -> str | None:
    del places
    positional = inv.arguments.positional if POSITIONAL_METHOD & set(inv.names) else None
    method = http_method(inv.args, positional)
    return "HTTP DELETE" if method == "DELETE" else None


def graphql_delete(inv: Invocation, places: Places) -> str | None:
    del places
    for document in graphql_documents(_texts(inv)):
        found = destructive_mutation(document)
        if found:
            return f"GraphQL mutation {found}"
    return None


def all_processes(inv: Invocation, places: Places) -> str | None:
    del places
    args = list(inv.args)
    if args[:1] and args[0] in ("-s", "-n", "--signal"):
        args = args[2:]
    elif args[:1] and (_SIGNAL.match(args[0]) or args[0].startswith("--signal=")):
        args = args[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    if args[:1] and args[0] in ("-l", "-L", "--list", "--table"):
        return None
    return "every process you own (pid -1)" if "-1" in args else None


def _texts(inv: Invocation) -> list[str]:
    texts = []
    for word in inv.args:
        texts.append(word)
        if is_option(word) and "=" in word:
            texts.append(word.partition("=")[2])
        elif not is_option(word) and "=" in word:
            texts.append(word.partition("=")[2])  # httpie `query=...`, `-d` pairs
    if inv.stdin:
        texts.append(inv.stdin)
    return texts


CONDITIONS: dict[str, Condition] = {
    "outside-workspace": outside_workspace,
    "device": device,
    "destructive-sql": sql,
    "http-delete": http_delete,
    "graphql-delete": graphql_delete,
    "all-processes": all_processes,
}
