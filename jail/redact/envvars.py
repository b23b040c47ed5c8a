"""Redact a process environment before the agent starts.

A variable is redacted when its *name* says it holds a secret (`*_TOKEN`,
`*_SECRET*`, `*_PASSWORD`, `*_API_KEY`, `AWS_SECRET_ACCESS_KEY`, `PGPASSWORD`
...) or when its *value* matches a catalogue rule (a `ghp_...` in `GH_PAT`, the
password of `postgres://user:pass@` in `DATABASE_URL`). A secret name redacts
the whole value; a value rule redacts just the secret (so `DATABASE_URL` keeps
its host). Names in `passthrough` (shell globs, case-sensitive) are left alone:
the agent's own API key, declared by the per-agent profile.

Not redacted by name: empty values, values that are already placeholders, file
paths (`GOOGLE_APPLICATION_CREDENTIALS=/home/ann/sa.json`), and names ending in
one of NOT_SECRET_SUFFIXES (_FILE, _PATH, _URL, _HOST, _ID ...): they say where a
secret is, not the secret; their values still go through the value rules.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from jail.redact.filters import is_path
from jail.redact.placeholders import MARKER, check_key, mask
from jail.redact.scanner import Scanner

NAME_RULE = "secret-env-name"
# Whole-name patterns (upper-cased before matching).
SECRET_NAMES = re.compile(
    r"""(?x)^(?:
        .*_?TOKEN(?:_.*)? | .*_?SECRET(?:S)?(?:_.*)? | .*PASSWORD.* | .*_PASSWD | .*_PASS | .*_PWD
      | .*_?API_?KEY(?:_.*)? | .*_ACCESS_KEY.* | .*_PRIVATE_KEY.* | .*_SIGNING_KEY | .*_ENCRYPTION_KEY
      | .*_MASTER_KEY | .*_CLIENT_KEY | .*_AUTH_KEY | .*_AUTH | .*_CREDENTIALS? | .*_SESSION_KEY
      | .*_WEBHOOK_SECRET | .*_LICENSE_KEY | .*_DSN | .*_CONNECTION_STRING | .*_PAT
      | PGPASSWORD | MYSQL_PWD | TF_TOKEN_.* | NPM_CONFIG__AUTH.* | DOCKER_AUTH_CONFIG | OP_SESSION_.*
    )$""")
NOT_SECRET_SUFFIXES = ("_FILE", "_PATH", "_DIR", "_URL", "_URI", "_HOST", "_PORT", "_USER", "_USERNAME",
                       "_ID", "_NAME", "_REGION", "_TYPE", "_MODE", "_ENABLED", "_DISABLED", "_EXPIRY",
                       "_EXPIRES", "_TTL", "_ENDPOINT", "_HEADER", "_PROMPT", "_LENGTH")


@dataclass(frozen=True)
class EnvFinding:
    name: str
    rule_id: str  # NAME_RULE when the name decided, else the value rule


def secret_name(name: str) -> bool:
    upper = name.upper()
    return bool(SECRET_NAMES.match(upper)) and not upper.endswith(NOT_SECRET_SUFFIXES)


def passes_through(name: str, passthrough: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in passthrough)


def redact_environment(env: Mapping[str, str], passthrough: Iterable[str], key: bytes, *,
                       scanner: Scanner | None = None) -> tuple[dict[str, str], list[EnvFinding]]:
    """A copy of `env` with secret values replaced by placeholders, and what was replaced."""
    check_key(key)
    scanner = scanner or Scanner.from_catalogue()
    passthrough = tuple(passthrough)
    result: dict[str, str] = {}
    findings: list[EnvFinding] = []
    for name, value in env.items():
        if not value or passes_through(name, passthrough):
            result[name] = value
            continue
        raw = value.encode("utf-8", "surrogateescape")
        redacted, found = scanner.redact(raw, key)
        if secret_name(name) and MARKER not in raw and not _looks_like_path(raw):
            covers_all = len(found) == 1 and found[0].end - found[0].start == len(raw)
            whole = found[0].rule_id if covers_all else NAME_RULE
            redacted, found = mask(raw, whole, key), []
            findings.append(EnvFinding(name, whole))
        findings.extend(EnvFinding(name, f.rule_id) for f in found)
        result[name] = redacted.decode("utf-8", "surrogateescape")
    return result, findings


def _looks_like_path(value: bytes) -> bool:
    return is_path(value, None) and not any(c in value for c in b"+=") and b" " not in value
