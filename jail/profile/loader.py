"""Load the effective profile: base chain, then the project profile, merged.

Layers, in order: the person's own base (`~/.config/jail/jail.toml`, which
extends "default" unless it says otherwise) or, without one, the built-in
"default"; then the agent's built-in profile when the command is a known
agent (see jail/agents.py; not with an explicit --profile); then the project
profile (`jail.toml` found from the cwd upwards, or `--profile NAME|PATH`) with
everything it extends. Lists are unions, and deny
and read_only always beat writable and readable, so a project can only add
writable places or readable trees on top of the base; and it is only used once
the person has trusted it (see trust.py; the caller checks, this never prompts).

`[exec] catalogue = true` includes the built-in catalogue of destructive
commands (profiles/destructive.toml) as a layer right before the file that asks
for it, after what that file extends. Once a layer includes it, it stays: a
later `catalogue = false` does not take it out (silence single entries with an
`allow` instead). Exec rules remember their layer, because an `allow` only
outweighs an `ask` of the same or an earlier layer (see jail/exec_policy.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from jail.errors import ProfileError
from jail.profile.builtin import builtin_names, read_builtin
from jail.profile.discover import (
    find_project_profile,
    find_workspace,
    looks_like_path,
    present,
    user_base_path,
)
from jail.profile.model import (
    NET_DEFAULTS,
    REDACT_LOOSENING,
    ApprovalSettings,
    ExecRule,
    LoadedProfile,
    NetworkSettings,
    Profile,
    RedactSettings,
    Rule,
)
from jail.profile.schema import ParsedFile, parse_text, suggest

DEFAULT_BASE = "default"
CATALOGUE = "destructive"


@dataclass(frozen=True)
class _Node:
    key: str  # "builtin:NAME" or the resolved absolute path
    parsed: ParsedFile
    path: Path | None  # real file behind it, if any
    data: bytes
    builtin: bool


# Where a reference was written: (source, line), or None for jail's own choice.
_Where = tuple[str, int] | None


class _Resolver:
    """Reads each file once and follows `extends`, refusing cycles."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.nodes: dict[str, _Node] = {}

    def builtin(self, name: str, where: _Where) -> _Node:
        key = f"builtin:{name}"
        if key in self.nodes:
            return self.nodes[key]
        found = read_builtin(name)
        if found is None:
            names = builtin_names()
            hint = suggest(name, tuple(names))
            if not hint.startswith("did you mean"):
                hint = "built-in profiles: " + ", ".join(names)
            source, line = where if where else (None, None)
            raise ProfileError(f'unknown built-in profile "{name}"', source, line, hint)
        node = _Node(key, _parse(found.data, found.source, found.path), found.path, found.data,
                     builtin=True)
        self.nodes[key] = node
        return node

    def file(self, path: Path, where: _Where) -> _Node:
        path = Path(os.path.normpath(Path(path).absolute()))
        key = str(path.resolve())
        if key in self.nodes:
            return self.nodes[key]
        source, line = where if where else (str(path), None)
        try:
            data = path.read_bytes()
        except OSError as error:
            what = error.strerror or str(error)
            raise ProfileError(f"cannot read profile {path}: {what}", source, line) from None
        node = _Node(key, _parse(data, str(path), path), path, data, builtin=False)
        self.nodes[key] = node
        return node

    def reference(self, ref: str, parent: _Node | None, where: _Where) -> _Node:
        if not looks_like_path(ref):
            return self.builtin(ref, where)
        if parent is not None and parent.builtin:
            source, line = where if where else (parent.parsed.source, None)
            raise ProfileError(f'built-in profiles extend by name, not "{ref}"', source, line)
        target = self.home / ref[2:] if ref.startswith("~/") else Path(ref)
        if not target.is_absolute() and parent is not None and parent.path is not None:
            target = parent.path.parent / target
        return self.file(target, where)

    def chain(self, node: _Node, implicit: Sequence[str] = (), stack: tuple[str, ...] = ()
              ) -> list[_Node]:
        """`node` with everything it extends, extended files first, each once."""
        stack = (*stack, node.key)
        refs: Iterable[tuple[str, int | None]] = (
            node.parsed.extends if node.parsed.extends is not None
            else [(name, None) for name in implicit])
        result: list[_Node] = []
        for ref, ref_line in refs:
            where = (node.parsed.source, ref_line) if ref_line else None
            child = self.reference(ref, node, where)
            if child.key in stack:
                names = [self.nodes[key].parsed.source for key in stack]
                cycle = " -> ".join([*names[names.index(child.parsed.source):], child.parsed.source])
                source, line = where if where else (node.parsed.source, None)
                raise ProfileError(f"extends cycle: {cycle}", source, line,
                                   hint="remove one of the extends entries")
            result.extend(self.chain(child, stack=stack))
        if node.parsed.catalogue and node.key != f"builtin:{CATALOGUE}":
            where = (node.parsed.source, node.parsed.catalogue_line or 1)
            result.extend(self.chain(self.builtin(CATALOGUE, where), stack=stack))
        result.append(node)
        return _unique(result)


def _parse(data: bytes, source: str, path: Path | None) -> ParsedFile:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ProfileError("not valid UTF-8", source, line) from None
    return parse_text(text, source, path)


def _unique(nodes: Iterable[_Node]) -> list[_Node]:
    seen: set[str] = set()
    out = []
    for node in nodes:
        if node.key not in seen:
            seen.add(node.key)
            out.append(node)
    return out


def merge(files: Sequence[ParsedFile], workspace: Path) -> Profile:
    """Union of every layer's rules; the same rule reached twice is kept once."""
    seen: set[tuple[str, str, int, str]] = set()

    def union(lists: Iterable[tuple[Rule, ...]]) -> tuple[Rule, ...]:
        out = []
        for rules in lists:
            for rule in rules:
                key = (rule.kind, rule.source, rule.line, rule.pattern)
                if key not in seen:
                    seen.add(key)
                    out.append(rule)
        return tuple(out)

    readable_layers = [f.readable for f in files if f.readable is not None]
    description = next((f.description for f in reversed(files) if f.description), "")
    exec_rules: list[ExecRule] = []
    for layer, parsed in enumerate(files):
        for rule in parsed.exec_rules:
            key = (rule.kind, rule.source, rule.line, rule.pattern)
            if key not in seen:
                seen.add(key)
                exec_rules.append(replace(rule, layer=layer))
    redact = RedactSettings(
        passthrough=union(f.redact.passthrough for f in files), always=union(f.redact.always for f in files),
        never=union(f.redact.never for f in files), disable=union(f.redact.disable for f in files),
        rules=tuple(rule for f in files for rule in f.redact.rules))
    return Profile(
        sources=tuple(f.path if f.path is not None else Path(f.source) for f in files),
        workspace=workspace,
        writable=union(f.writable for f in files),
        deny=union(f.deny for f in files),
        read_only=union(f.read_only for f in files),
        readable=union(readable_layers) if readable_layers else None,
        description=description,
        exec_rules=tuple(exec_rules),
        redact=redact,
        network=merge_network(files),
        approval=merge_approval(files),
    )


def merge_approval(files: Sequence[ParsedFile]) -> ApprovalSettings:
    """The last layer that sets a value wins; "allow" when no one answers is
    refused in a project profile (refuse_loosening), so it can only come from
    the person's own files or a built-in."""
    settings = ApprovalSettings()
    for parsed in files:
        approval = parsed.approval
        if approval.timeout is not None:
            settings = replace(settings, timeout=approval.timeout, timeout_where=approval.timeout_where)
        if approval.fallback is not None:
            settings = replace(settings, fallback=approval.fallback, fallback_where=approval.fallback_where)
    return settings


def merge_network(files: Sequence[ParsedFile]) -> NetworkSettings:
    """Every layer's [network] rules, each remembering its layer; the strictest
    `default` of any layer (a project cannot turn the base's "ask" into "allow"
    by default: it lists what it allows)."""
    rules, seen = [], set()
    default, where = None, ""
    for layer, parsed in enumerate(files):
        for rule in parsed.network.rules:
            key = (rule.kind, rule.source, rule.line, rule.pattern, rule.unix)
            if key not in seen:
                seen.add(key)
                rules.append(replace(rule, layer=layer))
        wanted = parsed.network.default
        if wanted is not None and (default is None or
                                   NET_DEFAULTS.index(wanted) >= NET_DEFAULTS.index(default)):
            default, where = wanted, parsed.network.default_where
    return NetworkSettings(tuple(rules), default, where)


def refuse_loosening(untrusted: Iterable[ParsedFile]) -> None:
    """A repository's profile may add secret rules and always-redact paths, but
    never hide less than the person's own base: passthrough, never and disable
    belong in ~/.config/jail/jail.toml or a built-in."""
    for parsed in untrusted:
        if parsed.redact.rules:
            from jail.redact.rules import builtin_rules

            builtin_ids = {rule.id for rule in builtin_rules()}
            for rule in parsed.redact.rules:
                if rule.id in builtin_ids:
                    raise ProfileError(
                        f'[[redact.rule]] "{rule.id}" would replace the built-in rule of that name, '
                        "and a project profile may only add to redaction", hint="give it an id of its own")
        if parsed.approval.fallback == "allow":
            source, _, line = parsed.approval.fallback_where.rpartition(":")
            raise ProfileError('[approval] when_no_one_answers = "allow" would run what no one approved, '
                               "and a project profile may not choose that", source, int(line or 0) or None,
                               hint="put it in your own ~/.config/jail/jail.toml")
        for rule in parsed.redact.entries():
            if rule.kind in REDACT_LOOSENING:
                key = rule.kind.split(".", 1)[1]
                raise ProfileError(
                    f'[redact] {key} "{rule.pattern}" would hide less than your base profile, '
                    "and a project profile may only add to redaction", rule.source, rule.line,
                    hint="put it in your own ~/.config/jail/jail.toml, which extends the built-ins")


def load_profile(*, cwd: Path, home: Path, env: Mapping[str, str], profile: str | None = None,
                 workspace: Path | None = None, agent: str | None = None) -> LoadedProfile:
    cwd = Path(cwd).absolute()
    resolver = _Resolver(home)
    base_path = user_base_path(env, home)
    if present(base_path, directory_ok=False):
        base_chain = resolver.chain(resolver.file(base_path, None), implicit=[DEFAULT_BASE])
    else:
        base_chain = resolver.chain(resolver.builtin(DEFAULT_BASE, None))

    project: _Node | None = None
    discovered = False
    if profile is None:
        found = find_project_profile(cwd)
        if found is not None and found.resolve() != base_path.resolve():
            project, discovered = resolver.file(found, None), True
    elif looks_like_path(profile):
        target = home / profile[2:] if profile.startswith("~/") else cwd / profile
        if not present(target, directory_ok=False):
            raise ProfileError(f"no profile file at {target}", hint="give a built-in name "
                               "(" + ", ".join(builtin_names()) + ") or a path to a .toml file")
        project = resolver.file(target, None)
    else:
        project = resolver.builtin(profile, None)
    project_chain = resolver.chain(project) if project is not None else []

    if workspace is None:
        workspace = _workspace_for(project, discovered, cwd, home)
    nodes = _unique(base_chain + _agent_chain(resolver, agent, profile) + project_chain)
    base_keys = {node.key for node in base_chain}
    # The project file first: trust is keyed by it; then the files it extends.
    untrusted = [n for n in project_chain[-1:] + project_chain[:-1]
                 if not n.builtin and n.key not in base_keys]
    refuse_loosening(n.parsed for n in untrusted)
    read = [n for n in resolver.nodes.values() if n.path is not None]
    return LoadedProfile(
        profile=merge([n.parsed for n in nodes], Path(workspace).absolute()),
        project_files=tuple(n.path for n in untrusted if n.path is not None),
        all_files=tuple(n.path for n in read if n.path is not None),
        contents={n.path: n.data for n in read if n.path is not None},
    )


def _agent_chain(resolver: _Resolver, agent: str | None, profile: str | None) -> list[_Node]:
    """The agent's built-in profile (claude, codex ...) as a layer between the
    base and the project, so a project jail.toml that extends "default" still
    lets the agent keep its state. An explicit --profile replaces it."""
    if agent is None or profile is not None:
        return []
    return resolver.chain(resolver.builtin(agent, None))


def _workspace_for(project: _Node | None, discovered: bool, cwd: Path, home: Path) -> Path:
    if project is not None and project.path is not None and not project.builtin:
        directory = project.path.absolute().parent
        # A discovered jail.toml marks its project; an explicit --profile PATH only
        # does so when the cwd is inside its directory.
        if discovered or directory == cwd or directory in cwd.parents:
            return directory
    return find_workspace(cwd, home)
