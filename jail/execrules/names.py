"""Program names: how the name a rule is written for is found in what really runs.

A rule's first word names a program. It is compared with every *name* of the
command: the basename of the executable the kernel mapped (/proc/PID/exe, so a
symlink `tf -> terraform` counts as terraform), the basename of argv[0], both
without a version suffix (`python3.11` is also `python3` and `python`) or a
script extension (`gcloud.py` is also `gcloud`), and the canonical name of a
known alias (`tofu` is terraform, `podman` is docker).

Data tables only; the logic that uses them lives in invocations.py and pattern.py.
"""

from __future__ import annotations

import functools
import posixpath
import re

# Another name of the same tool -> (the name rules use, arguments it implies).
# `docker-compose down` reads as `docker compose down`.
ALIASES: dict[str, tuple[str, ...]] = {
    "tofu": ("terraform",),
    "opentofu": ("terraform",),
    "podman": ("docker",),
    "nerdctl": ("docker",),
    "docker-compose": ("docker", "compose"),
    "podman-compose": ("docker", "compose"),
    "flyctl": ("fly",),
    "vc": ("vercel",),
    "ntl": ("netlify",),
    "netlify-cli": ("netlify",),
    "firebase-tools": ("firebase",),
    "aws-cdk": ("cdk",),
    "cdktf-cli": ("cdktf",),
    "@railway/cli": ("railway",),
    "mariadb": ("mysql",),
    "mongo": ("mongosh",),
    "valkey-cli": ("redis-cli",),
    "keydb-cli": ("redis-cli",),
    "oc": ("kubectl",),
    "kubecolor": ("kubectl",),
    "sls": ("serverless",),
    "nodejs": ("node",),
    "https": ("http",),  # httpie
    "xhs": ("xh",),
    "awscli": ("aws",),  # python -m awscli
    "azure.cli": ("az",),  # python -m azure.cli (what the `az` script runs)
    "gsutil.py": ("gsutil",),
    "gcloud.py": ("gcloud",),
}

# Equivalent spellings of one option, per program (canonical name). Bundles
# such as `-rf` are understood separately (see SINGLE_DASH_LONG).
OPTION_ALIASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "rm": (("-r", "-R", "--recursive"), ("-f", "--force")),
    "chmod": (("-R", "--recursive"),),
    "chown": (("-R", "--recursive"),),
    "chgrp": (("-R", "--recursive"),),
    "git": (("-f", "--force"), ("-d", "--delete"), ("-x", "--exclude")),
    "docker": (("-f", "--force"), ("-v", "--volumes"), ("-a", "--all")),
    "kubectl": (("-n", "--namespace"), ("-A", "--all-namespaces")),
    "helm": (("-n", "--namespace"),),
    "gh": (("-X", "--method"), ("-y", "--yes")),
    "shred": (("-u", "--remove"),),
    "crontab": (("-r", "--remove"),),
    "curl": (("-X", "--request"),),
    "find": (),
    "npm": (("-f", "--force"),),
    "pulumi": (("-y", "--yes"), ("-s", "--stack")),
    "kill": (("-s", "--signal"),),
    "pkill": (("-u", "--euid"),),
    "killall": (("-u", "--user"),),
}

# Programs whose single-dash words are long options, never bundles of letters:
# `terraform apply -destroy` does not contain `-d`.
SINGLE_DASH_LONG = frozenset({
    "terraform", "terragrunt", "find", "java", "go", "dd", "ffmpeg", "gcc", "clang", "psql",
    "mysql", "sqlite3", "mongosh", "redis-cli", "xargs", "tar", "qemu-img", "openssl"})

SHELLS = frozenset({"bash", "sh", "dash", "zsh", "ksh", "mksh", "ash", "fish", "rbash", "yash"})
# Interpreters that run a script named by their first operand.
INTERPRETERS = frozenset({"python", "python3", "python2", "pypy", "pypy3", "node", "bun", "deno",
                          "perl", "ruby", "php", "Rscript", "tsx", "ts-node"})
LOADERS = ("ld-linux*.so*", "ld.so", "ld-musl-*.so*", "ld64.so*", "ld-*.so*")

SCRIPT_SUFFIXES = (".py", ".js", ".mjs", ".cjs", ".ts", ".sh", ".bash", ".rb", ".pl", ".php")
_VERSION = re.compile(r"[._-]?v?\d+\Z")
_NODE_PACKAGE = re.compile(r"/node_modules/((?:@[^/]+/)?[^/]+)/")


def basename(word: str) -> str:
    return posixpath.basename(word.rstrip("/")) if word.strip("/") else word


@functools.lru_cache(maxsize=4096)
def names_of(word: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every (name, implied arguments) the program `word` (a path or a name) goes by."""
    base = basename(word)
    if not base:
        return ()
    found: dict[str, tuple[str, ...]] = {}

    def add(name: str, implied: tuple[str, ...] = ()) -> None:
        if name and name not in found:
            found[name] = implied
            alias = ALIASES.get(name)
            if alias is not None:
                add(alias[0], alias[1:])

    add(base)
    if word.startswith("@") and word.count("/") == 1:  # a scoped npm package: @railway/cli
        add(word)
    for suffix in SCRIPT_SUFFIXES:
        if base.endswith(suffix) and len(base) > len(suffix):
            add(base[: -len(suffix)])
    for name in list(found):
        stem = name
        while True:
            shorter = _VERSION.sub("", stem)
            if shorter == stem or not re.search(r"[A-Za-z]", shorter):
                break
            add(shorter, found[name])
            stem = shorter
    package = _NODE_PACKAGE.findall(word)
    if package:
        add(package[-1])
        add(package[-1].rsplit("/", 1)[-1])
    return tuple(found.items())


def canonical(name: str) -> str:
    """The name rules use for `name` (the alias target, or the name itself)."""
    alias = ALIASES.get(name)
    return alias[0] if alias else name


def option_group(program: str, option: str) -> tuple[str, ...]:
    """Every spelling of `option` for `program` (at least the option itself)."""
    for group in OPTION_ALIASES.get(program, ()):
        if option in group:
            return group
    return (option,)
