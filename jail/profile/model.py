"""Frozen objects a loaded profile is made of. Every rule remembers its file and line."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

# The rule categories a profile file can hold, as "table.key".
WRITABLE = "workspace.writable"
DENY = "files.deny"
READ_ONLY = "files.read_only"
READABLE = "files.readable"
RULE_KINDS = (WRITABLE, DENY, READ_ONLY, READABLE)
# Exec rules, as "exec.key" (see jail/exec_policy.py for how they combine).
EXEC_DENY = "exec.deny"
EXEC_ASK = "exec.ask"
EXEC_ALLOW = "exec.allow"
EXEC_KINDS = (EXEC_DENY, EXEC_ASK, EXEC_ALLOW)

# [redact] entries, as "redact.key" (see jail/profile/schema.py for the TOML).
REDACT_PASSTHROUGH = "redact.passthrough"  # environment variable names (globs) handed over as they are
REDACT_ALWAYS = "redact.always"            # paths whose every value is a secret
REDACT_NEVER = "redact.never"              # paths never scanned
REDACT_DISABLE = "redact.disable"          # catalogue rule ids switched off
# Keys that hide less than the base would: only the person's own files and the
# built-ins may use them, never a repository's profile (see loader.py).
REDACT_LOOSENING = (REDACT_PASSTHROUGH, REDACT_NEVER, REDACT_DISABLE)

# [network] rules, as "network.key" (see jail/network/policy.py for how they combine).
NET_DENY = "network.deny"
NET_ASK = "network.ask"
NET_ALLOW = "network.allow"
NET_KINDS = (NET_DENY, NET_ASK, NET_ALLOW)
NET_DEFAULTS = ("allow", "ask", "deny")  # least to most strict

# Rules that jail itself adds (state dir, protected files...) come from here.
BUILTIN_SOURCE = "<jail>"


@dataclass(frozen=True)
class Rule:
    kind: str  # one of RULE_KINDS, or "jail.*" for jail's own rules
    pattern: str  # as written in the profile (`~` and relative forms kept)
    source: str  # file the rule came from; "default.toml" for built-ins
    line: int  # 1-based; 0 for jail's own rules
    reason: str | None = None
    match: tuple[str, ...] = ()  # examples the rule must cover (`jail check`)
    no_match: tuple[str, ...] = ()  # examples it must not cover

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class ExecRule(Rule):
    """An exec rule: `pattern` is a command pattern such as "terraform destroy *"."""

    when: tuple[str, ...] = ()  # named conditions that must all hold (execrules/conditions.py)
    sha256: tuple[str, ...] = ()  # images that are this program whatever their name
    layer: int = 0  # position of its file among the merged files, base first


@dataclass(frozen=True)
class RedactSettings:
    """What content and environment redaction add to or take from the catalogue.
    Each entry is a Rule (pattern = name glob, path glob or rule id) so it keeps
    its file:line; `rules` are extra secret rules (jail.redact.rules.Rule)."""

    passthrough: tuple[Rule, ...] = ()
    always: tuple[Rule, ...] = ()
    never: tuple[Rule, ...] = ()
    disable: tuple[Rule, ...] = ()
    rules: tuple = ()

    def entries(self) -> tuple[Rule, ...]:
        return self.passthrough + self.always + self.never + self.disable


@dataclass(frozen=True)
class NetworkRule(Rule):
    """A [network] rule: `pattern` is a destination ("github.com:443", "10.0.0.0/8")
    or, with `unix`, a path glob of a unix socket."""

    unix: bool = False
    layer: int = 0  # position of its file among the merged files, base first


@dataclass(frozen=True)
class NetworkSettings:
    """Every layer's [network] rules and the strictest `default` any layer set."""

    rules: tuple[NetworkRule, ...] = ()
    default: str | None = None  # one of NET_DEFAULTS; None: no layer said
    default_where: str = ""  # file:line of the layer that set it


APPROVAL_TIMEOUT = 120.0  # seconds a paused request waits for a person
APPROVAL_FALLBACKS = ("deny", "allow")


@dataclass(frozen=True)
class ApprovalSettings:
    """[approval]: how long a paused request waits, and what applies when no
    one answers in time (or no one can: no terminal, no `jail approve`)."""

    timeout: float = APPROVAL_TIMEOUT
    fallback: str = "deny"
    timeout_where: str = ""  # file:line that set it; "" for jail's default
    fallback_where: str = ""


@dataclass(frozen=True)
class Profile:
    """The effective, merged rules for one session."""

    sources: tuple[Path, ...]  # every file merged, base first
    workspace: Path
    writable: tuple[Rule, ...]
    deny: tuple[Rule, ...]
    read_only: tuple[Rule, ...]
    readable: tuple[Rule, ...] | None  # None: everything not denied is readable
    description: str = ""
    exec_rules: tuple[ExecRule, ...] = ()  # every layer's [exec] rules, base first
    redact: RedactSettings = RedactSettings()
    network: NetworkSettings = NetworkSettings()
    approval: ApprovalSettings = ApprovalSettings()

    def rules(self) -> tuple[Rule, ...]:
        """The file rules (exec rules are in `exec_rules`)."""
        return self.writable + self.deny + self.read_only + (self.readable or ())


@dataclass(frozen=True)
class LoadedProfile:
    profile: Profile
    project_files: tuple[Path, ...]  # repository-controlled files that need trust
    all_files: tuple[Path, ...]  # every file read, to write-protect during the session
    # The exact bytes parsed, so trust is checked on what was loaded rather than
    # on a second read that the agent could race.
    contents: Mapping[Path, bytes] = field(default_factory=dict, compare=False, repr=False)

    @property
    def project_contents(self) -> dict[Path, bytes]:
        return {path: self.contents[path] for path in self.project_files if path in self.contents}
