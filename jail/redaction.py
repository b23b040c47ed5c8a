"""A session's redaction, set up from the profile's [redact] section.

The scanner (catalogue plus the profile's rules, less the disabled ones), the
always-redact and never-scan path matchers, the environment handed to the
agent, and the session key that makes every placeholder unique per secret.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from jail.errors import ProfileError
from jail.profile.globs import RuleMatcher
from jail.profile.model import RedactSettings
from jail.redact import EnvFinding, Scanner, file_key, new_session_key, redact_environment
from jail.redact.rules import CatalogueError


@dataclass
class Redaction:
    scanner: Scanner
    key: bytes
    settings: RedactSettings
    always: RuleMatcher
    never: RuleMatcher
    # jail's own catalogue and profiles, by exact identity (device, inode, size,
    # mtime, ctime): a jail inside the sandbox must read its rule examples as
    # written. Any change to such a file, or another file, is scanned as usual.
    exempt: frozenset = field(default_factory=frozenset)

    @classmethod
    def from_settings(cls, settings: RedactSettings, *, home: Path, workspace: Path,
                      key: bytes | None = None) -> Redaction:
        disabled = {rule.pattern for rule in settings.disable}
        try:
            scanner = Scanner.from_catalogue(extra_rules=settings.rules, disabled=disabled)
        except CatalogueError as error:
            where = next((rule for rule in settings.disable if rule.pattern not in _known(settings)), None)
            raise ProfileError(str(error), where.source if where else None, where.line if where else None,
                               error.hint) from None
        return cls(scanner, key or new_session_key(), settings,
                   RuleMatcher(settings.always, home=home, workspace=workspace),
                   RuleMatcher(settings.never, home=home, workspace=workspace), _own_files())

    def every_value(self, path: str) -> bool:
        """Every value in this file is a secret (e.g. **/.env*)."""
        return self.always.match(path) is not None

    def never_scanned(self, path: str) -> bool:
        return self.never.match(path) is not None and not self.every_value(path)

    @property
    def passthrough(self) -> tuple[str, ...]:
        return tuple(rule.pattern for rule in self.settings.passthrough)

    def environment(self, env: Mapping[str, str]) -> tuple[dict[str, str], list[EnvFinding]]:
        """The agent's environment: secrets as placeholders, except the passthrough names."""
        return redact_environment(env, self.passthrough, self.key, scanner=self.scanner)

    def other_environment(self, env: Mapping[str, str]) -> tuple[dict[str, str], list[EnvFinding]]:
        """Another process's environment as a sandboxed reader sees it: nothing passes through."""
        return redact_environment(env, (), self.key, scanner=self.scanner)


def _own_files() -> frozenset:
    from jail.profile.builtin import builtin_files

    found = set()
    for path in builtin_files():
        try:
            found.add(file_key(os.stat(path)))
        except OSError:
            continue
    return frozenset(found)


def _known(settings: RedactSettings) -> set[str]:
    from jail.redact.rules import builtin_rules

    return {rule.id for rule in builtin_rules()} | {rule.id for rule in settings.rules}
