"""Every command one exec stands for: the image itself, and what it will run.

The exec gate sees the new image: its executable (/proc/PID/exe), argv, cwd and
loader variables. Some images only pass control on (`sudo`, `env`, `timeout`,
`bash -c`, an interpreter running a script, ld.so run directly); their command
is read out of the arguments statically, so that a prompt can appear at the
outermost exec and name the command that matters. The final exec of that
command is checked again when it happens: what is read here only ever adds
matches, it never removes one.
"""

from __future__ import annotations

import fnmatch
import functools
import posixpath
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from jail.execrules.names import INTERPRETERS, LOADERS, SHELLS, basename, names_of
from jail.execrules.pattern import Arguments, is_option
from jail.execrules.shell import split_commands
from jail.execrules.wrappers import WRAPPERS, Wrapper

MAX_DEPTH = 8  # wrappers inside wrappers
MAX_INVOCATIONS = 256  # per exec; a longer script is read up to here
MAX_CWDS = 8

# Variables that change what code a program runs; the gate reports these.
LOADER_VARIABLES = ("LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH", "GCONV_PATH", "BASH_ENV", "ENV",
                    "PYTHONSTARTUP", "NODE_OPTIONS", "PERL5OPT", "RUBYOPT")
_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=")
_LD_SO_VALUES = {"--library-path": "LD_LIBRARY_PATH", "--preload": "LD_PRELOAD",
                 "--audit": "LD_AUDIT", "--argv0": "", "--inhibit-rpath": "",
                 "--glibc-hwcaps-prepend": "", "--glibc-hwcaps-mask": ""}


@dataclass(frozen=True)
class Interpreter:
    code_options: frozenset[str]  # the program is inline code: no script to name
    value_options: frozenset[str]
    module_options: frozenset[str] = frozenset()  # `python -m MODULE`: MODULE is the program
    subcommands: tuple[str, ...] = ()  # skipped first words (`deno run script`)


_PYTHON = Interpreter(frozenset({"-c"}), frozenset({"-W", "-X", "-Q"}), frozenset({"-m"}))
_INTERPRETERS = {
    "python": _PYTHON, "python3": _PYTHON, "python2": _PYTHON, "pypy": _PYTHON, "pypy3": _PYTHON,
    "node": Interpreter(frozenset({"-e", "--eval", "-p", "--print"}),
                        frozenset({"-r", "--require", "--import", "--loader", "--experimental-loader",
                                   "-C", "--conditions", "--title", "--input-type", "--env-file"})),
    "bun": Interpreter(frozenset({"-e", "--eval", "-p", "--print"}),
                       frozenset({"-r", "--preload", "--cwd", "--env-file"}), subcommands=("run",)),
    "deno": Interpreter(frozenset(), frozenset({"--config", "-c", "--import-map", "--env-file"}),
                        subcommands=("run",)),
    "perl": Interpreter(frozenset({"-e", "-E"}), frozenset({"-I", "-M", "-m", "-x"})),
    "ruby": Interpreter(frozenset({"-e"}), frozenset({"-I", "-r", "-C", "-E", "-x"})),
    "php": Interpreter(frozenset({"-r"}), frozenset({"-c", "-d", "-z"})),
    "Rscript": Interpreter(frozenset({"-e"}), frozenset()),
    "tsx": Interpreter(frozenset({"-e", "--eval", "-p", "--print"}), frozenset({"--tsconfig"})),
    "ts-node": Interpreter(frozenset({"-e", "--eval", "-p", "--print"}),
                           frozenset({"-r", "--require", "-P", "--project"})),
}


@dataclass(frozen=True)
class Invocation:
    """One command an exec stands for, with what it runs with."""

    program: str  # the word that names it, as written (a path or a name)
    names: tuple[str, ...]  # every name it goes by (names.py)
    args: tuple[str, ...]
    via: tuple[str, ...] = ()  # how it was reached: () for the exec itself
    env: tuple[tuple[str, str], ...] = ()  # loader variables it would run with
    cwds: tuple[str, ...] = ()  # directories it may run in ("" = unknown)
    stdin: str | None = None  # text fed to it, when written out right there
    is_image: bool = False  # the executable the kernel maps (a rule's sha256 applies)

    @functools.cached_property
    def arguments(self) -> Arguments:
        return Arguments.of(self.args)

    @property
    def argv(self) -> tuple[str, ...]:
        return (self.program, *self.args)

    @property
    def how(self) -> str:
        return " → ".join(self.via) if self.via else "the exec itself"


def invocations(exe: str, argv: Sequence[str], cwd: str, env: Mapping[str, str],
                home: str = "") -> list[Invocation]:
    """The exec itself first, then every command found inside it, breadth first."""
    loader_env = tuple(sorted((k, v) for k, v in env.items() if k in LOADER_VARIABLES and v))
    words = [exe] + ([argv[0]] if argv else [])
    roots = _named(words, tuple(argv[1:]), program=argv[0] if argv and argv[0] else exe,
                   via=(), env=loader_env, cwds=(cwd,), stdin=None, is_image=True)
    found: list[Invocation] = []
    queue = [(root, 0) for root in roots]
    while queue and len(found) < MAX_INVOCATIONS:
        current, depth = queue.pop(0)
        found.append(current)
        if depth < MAX_DEPTH:
            queue.extend((child, depth + 1) for child in _children(current, home))
    return found


def _named(words: Sequence[str], args: tuple[str, ...], *, program: str, via: tuple[str, ...],
           env: tuple[tuple[str, str], ...], cwds: tuple[str, ...], stdin: str | None,
           is_image: bool = False) -> list[Invocation]:
    """One invocation per set of implied arguments (`docker-compose` is `docker compose`)."""
    groups: dict[tuple[str, ...], list[str]] = {}
    for word in words:
        for name, implied in names_of(word):
            names = groups.setdefault(implied, [])
            if name not in names:
                names.append(name)
    return [Invocation(program, tuple(names), implied + args, via, env, cwds, stdin, is_image)
            for implied, names in sorted(groups.items(), key=lambda item: len(item[0]))]


def _children(inv: Invocation, home: str) -> Iterator[Invocation]:
    """What the command runs. When its names disagree (exe `busybox`, argv[0] `sh`; or an
    argv[0] chosen to mislead), every reading is followed: more matches, never fewer."""
    if any(fnmatch.fnmatchcase(name, loader) for name in inv.names for loader in LOADERS):
        yield from _loader(inv)
    read: set[str] = set()
    for name in inv.names:
        if name in WRAPPERS and "wrapper" not in read:
            read.add("wrapper")
            yield from _wrapped(inv, name, WRAPPERS[name], home)
        elif name in SHELLS and "shell" not in read:
            read.add("shell")
            yield from _shell(inv, name, home)
        elif name in INTERPRETERS and name in _INTERPRETERS and "interpreter" not in read:
            read.add("interpreter")
            yield from _interpreted(inv, name, _INTERPRETERS[name])


def _child(inv: Invocation, words: Sequence[str], *, how: str, env: Sequence[tuple[str, str]] = (),
           cwds: tuple[str, ...] | None = None, stdin: str | None = None,
           extra_names: Sequence[str] = ()) -> list[Invocation]:
    if not words or not words[0]:
        return []
    merged = dict(inv.env)
    merged.update((k, v) for k, v in env if k in LOADER_VARIABLES)
    return _named([words[0], *extra_names], tuple(words[1:]), program=words[0],
                  via=(*inv.via, how), env=tuple(sorted((k, v) for k, v in merged.items() if v)),
                  cwds=inv.cwds if cwds is None else cwds, stdin=stdin)


def _loader(inv: Invocation) -> list[Invocation]:
    """`ld-linux.so [--preload LIB] PROGRAM ARGS...`: the program is what runs."""
    args, env, argv0 = inv.args, [], []
    index = 0
    while index < len(args):
        word = args[index]
        name, equals, value = word.partition("=")
        if name in _LD_SO_VALUES:
            value = value if equals else (args[index + 1] if index + 1 < len(args) else "")
            index += 1 if equals else 2
            if _LD_SO_VALUES[name]:
                env.append((_LD_SO_VALUES[name], value))
            elif name == "--argv0":
                argv0.append(value)
            continue
        if word.startswith("--"):
            index += 1
            continue
        break
    return _child(inv, args[index:], how="ld.so", env=env, extra_names=argv0)


def _wrapped(inv: Invocation, name: str, spec: Wrapper, home: str) -> list[Invocation]:
    args = list(inv.args)
    index = _after_subcommand(args, spec)
    if index is None:
        return []
    if spec.dashdash and "--" in args[index:]:
        start = args.index("--", index) + 1
        return _resolve_rest(inv, name, spec, args[start:], [], inv.cwds, home)
    env: list[tuple[str, str]] = []
    cwds = inv.cwds
    leading = spec.leading
    while index < len(args):
        word = args[index]
        if word == "--":
            index += 1
            break
        if spec.assignments and _ASSIGNMENT.match(word):
            key, _, value = word.partition("=")
            env.append((key, value))
            index += 1
        elif is_option(word):
            step = _wrapper_option(args, index, spec)
            if step is None:
                return []
            advance, shell, chdir = step
            if shell is not None:
                how = f"{name} {word.partition('=')[0]}"
                return _shell_string(inv, shell, how=how, env=env, home=home)
            if chdir is not None:
                cwds = _cd(cwds, chdir, home)
            index += advance
        elif leading or not spec.positional:  # `su USER -c CMD`: operands before the option
            leading = max(leading - 1, 0)
            index += 1
        else:
            break
    if not spec.positional:
        return []
    return _resolve_rest(inv, name, spec, args[index:], env, cwds, home)


def _after_subcommand(args: list[str], spec: Wrapper) -> int | None:
    """Index after `exec` in `npm exec ...` (0 when there is no subcommand; None: not this use)."""
    if not spec.subcommands:
        return 0
    index = 0
    while index < len(args) and is_option(args[index]):
        index += 2 if args[index] in spec.value_options else 1
    if index >= len(args) or args[index] not in spec.subcommands:
        return None
    return index + 1


def _wrapper_option(args: list[str], index: int, spec: Wrapper
                    ) -> tuple[int, str | None, str | None] | None:
    """(words to skip, a shell string it runs, a directory it moves to); None: runs nothing."""
    word = args[index]
    option, equals, value = word.partition("=")
    following = args[index + 1] if index + 1 < len(args) else ""
    if option in spec.lookup_only:
        return None
    if option in spec.split_options:  # `env -S "node --flag"`: words spliced in place
        args[index:index + (1 if equals else 2)] = _split_words(value if equals else following)
        return 0, None, None
    takes = option in spec.value_options or option in spec.shell_options \
        or option in spec.chdir_options
    value = value if equals or not takes else following
    if option in spec.shell_options or _bundle_ends_in(word, spec.shell_options):
        return 0, value if (takes or equals) else following, None
    chdir = value if option in spec.chdir_options else None
    return (2 if takes and not equals else 1), None, chdir


def _split_words(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()


def _bundle_ends_in(word: str, options: frozenset[str]) -> bool:
    return not word.startswith("--") and any(
        len(o) == 2 and word.endswith(o[1]) and len(word) > 2 for o in options)


def _resolve_rest(inv: Invocation, name: str, spec: Wrapper, rest: Sequence[str],
                  env: list[tuple[str, str]], cwds: tuple[str, ...], home: str) -> list[Invocation]:
    if not rest:
        return []
    if spec.joined:
        return _shell_string(inv, " ".join(rest), how=name, env=env, home=home)
    words = list(rest)
    if spec.package:
        words[0] = _package_name(words[0])
    return _child(inv, words, how=name, env=env, cwds=cwds)


def _package_name(spec: str) -> str:
    """`vercel@latest` -> vercel, `@railway/cli@3` -> @railway/cli."""
    scoped = spec.startswith("@")
    body = spec[1:] if scoped else spec
    body = body.split("@", 1)[0]
    return ("@" if scoped else "") + body


def _shell(inv: Invocation, name: str, home: str) -> list[Invocation]:
    """`bash [options] -c STRING` or `bash [options] SCRIPT ARGS...`."""
    args = inv.args
    index, command_mode = 0, False
    while index < len(args):
        word = args[index]
        if word == "--":
            index += 1
            break
        if word in ("--rcfile", "--init-file"):
            index += 2
            continue
        if word.startswith("--"):
            index += 1
            continue
        if word[:1] in "-+" and len(word) > 1:
            letters = word[1:]
            command_mode = command_mode or (word[0] == "-" and "c" in letters)
            index += 2 if letters[-1] in "oO" else 1
            continue
        break
    if command_mode:
        text = args[index] if index < len(args) else ""
        return _shell_string(inv, text, how=f"{name} -c", env=(), home=home)
    if index < len(args):
        return _child(inv, args[index:], how=f"{name} script")
    return []


def _shell_string(inv: Invocation, text: str, *, how: str, env: Sequence[tuple[str, str]],
                  home: str) -> list[Invocation]:
    found: list[Invocation] = []
    cwds = inv.cwds
    for number, command in enumerate(split_commands(text), start=1):
        words = command.words
        if words[0] in ("cd", "pushd"):
            target = next((w for w in words[1:] if not w.startswith("-") or w == "-"), "~")
            cwds = _cd(cwds, target, home)
            continue
        found.extend(_child(inv, words, how=f"{how}, command {number}",
                            env=[*env, *command.assignments], cwds=cwds, stdin=command.stdin))
        if len(found) >= MAX_INVOCATIONS:
            break
    return found


def _cd(cwds: tuple[str, ...], target: str, home: str) -> tuple[str, ...]:
    """Every directory the command may run in once `cd TARGET` ran (kept: the old ones)."""
    if target in ("-", "") or any(ch in target for ch in "$`*?["):
        new = ("",)
    elif target == "~" or target.startswith("~/"):
        new = (posixpath.normpath(home + target[1:]),) if home else ("",)
    elif target.startswith("/"):
        new = (posixpath.normpath(target),)
    else:
        new = tuple(posixpath.normpath(posixpath.join(c, target)) if c else "" for c in cwds)
    merged = list(dict.fromkeys((*cwds, *new)))
    return tuple(merged[:MAX_CWDS])


def _interpreted(inv: Invocation, name: str, spec: Interpreter) -> list[Invocation]:
    """`python script.py ARGS`, `python -m MODULE ARGS`, `node /path/bin/vercel ARGS`."""
    args = inv.args
    index = 0
    if args[:1] and args[0] in spec.subcommands:
        index = 1
    while index < len(args):
        word = args[index]
        if word == "--":
            index += 1
            break
        if not is_option(word):
            break
        option, equals, _ = word.partition("=")
        if option in spec.code_options or _bundle_holds(word, spec.code_options):
            return []  # inline code: conditions still see it among the arguments
        module = _module_option(word, spec.module_options)
        if module is not None:
            if module:
                return _child(inv, [module, *args[index + 1:]], how=f"{name} -m")
            return _child(inv, args[index + 1:], how=f"{name} -m")
        index += 2 if option in spec.value_options and not equals and len(word) == len(option) \
            else 1
    if index < len(args):
        return _child(inv, args[index:], how=f"{name} script")
    return []


def _bundle_holds(word: str, options: frozenset[str]) -> bool:
    return not word.startswith("--") and any(
        len(o) == 2 and o[1] in word[1:] for o in options) and word[1:].isalpha()


def _module_option(word: str, options: frozenset[str]) -> str | None:
    """The module named by `-m MOD` / `-mMOD` / `-Im` ('' = in the next word), else None."""
    for option in options:
        if word == option or (not word.startswith("--") and word[1:].isalpha()
                              and word.endswith(option[1]) and len(option) == 2):
            return ""
        if word.startswith(option) and len(word) > len(option) and len(option) == 2:
            return word[len(option):]
    return None


def display(words: Sequence[str]) -> str:
    """A command line as a person reads it: program basename, then the arguments."""
    if not words:
        return ""
    return " ".join([basename(words[0]) or words[0], *(shlex.quote(w) for w in words[1:])])
