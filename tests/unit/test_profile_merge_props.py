"""Property: layering a project profile on a base never comes out looser than the base.

The only loosening a project may bring is a writable place or a readable tree of
its own; then the allowing rule must be the project's. Deny and read_only rules
of the base always hold.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.policy import Access, Action, FileEvent, Policy, PolicyContext
from jail.profile import merge, parse_text

pytestmark = pytest.mark.unit

HOME = Path("/h")
WS = Path("/h/w")
CTX = PolicyContext(home=HOME, state_dir=Path("/h/.state/jail"), config_dir=Path("/h/.config/jail"))
NAMES = ["a", "b", ".x", "w", "h"]

literal_part = st.sampled_from(NAMES)
glob_part = st.sampled_from([*NAMES, "*", "**", "?", "[ab]", "{a,.x}", "a*"])
anchor = st.sampled_from(["/", "~/", "", "**/"])


@st.composite
def glob_pattern(draw) -> str:
    parts = draw(st.lists(glob_part, min_size=1, max_size=3))
    return draw(anchor) + "/".join(parts)


@st.composite
def literal_path(draw) -> str:
    start = draw(st.sampled_from(["/", "~/", ""]))
    parts = draw(st.lists(literal_part, min_size=0 if start == "/" else 1, max_size=3))
    return (start + "/".join(parts)) or "/"


@st.composite
def layer(draw) -> dict:
    return {
        "writable": draw(st.lists(literal_path(), max_size=3)),
        "deny": draw(st.lists(glob_pattern(), max_size=3)),
        "read_only": draw(st.lists(glob_pattern(), max_size=3)),
        "readable": draw(st.none() | st.lists(glob_pattern(), max_size=3)),
    }


def to_toml(data: dict) -> str:
    lines = ["[workspace]", f"writable = {json.dumps(data['writable'])}", "[files]",
             f"deny = {json.dumps(data['deny'])}", f"read_only = {json.dumps(data['read_only'])}"]
    if data["readable"] is not None:
        lines.append(f"readable = {json.dumps(data['readable'])}")
    return "\n".join(lines) + "\n"


paths = st.lists(st.sampled_from(NAMES), max_size=4).flatmap(
    lambda parts: st.sampled_from(["", "/h", "/h/w"]).map(lambda root: root + "".join("/" + p for p in parts)
                                                          or "/"))


def policies(base: dict, project: dict) -> tuple[Policy, Policy]:
    base_file = parse_text(to_toml(base), "base.toml")
    project_file = parse_text(to_toml(project), "project.toml")
    return (Policy.from_profile(merge([base_file], WS), CTX),
            Policy.from_profile(merge([base_file, project_file], WS), CTX))


@settings(max_examples=150, deadline=None)
@given(base=layer(), project=layer(), targets=st.lists(paths, min_size=1, max_size=8))
def test_merge_is_never_looser_than_the_base(base: dict, project: dict, targets: list[str]) -> None:
    alone, merged = policies(base, project)
    for path in targets:
        for access in Access:
            before = alone.decide_file(FileEvent(access, path))
            after = merged.decide_file(FileEvent(access, path))
            if before.action is Action.ALLOW or after.action is Action.DENY:
                continue
            # The merge allows what the base alone refused: only a project
            # writable place or readable tree may do that, never past a base
            # deny or read_only rule.
            assert before.rule.kind not in ("files.deny", "files.read_only"), (access, path, before)
            assert after.rule.source == "project.toml", (access, path, before, after)
            assert after.rule.kind in ("workspace.writable", "files.readable")


@settings(max_examples=100, deadline=None)
@given(base=layer(), project=layer(), targets=st.lists(paths, min_size=1, max_size=8))
def test_a_project_without_places_of_its_own_is_never_looser(base: dict, project: dict,
                                                              targets: list[str]) -> None:
    project = {**project, "writable": [], "readable": None}
    alone, merged = policies(base, project)
    for path in targets:
        for access in Access:
            if alone.decide_file(FileEvent(access, path)).action is Action.DENY:
                assert merged.decide_file(FileEvent(access, path)).action is Action.DENY, (access, path)


@settings(max_examples=100, deadline=None)
@given(base=layer(), project=layer(), targets=st.lists(paths, min_size=1, max_size=8))
def test_base_read_only_is_never_writable(base: dict, project: dict, targets: list[str]) -> None:
    _alone, merged = policies(base, project)
    base_only = Policy.from_profile(merge([parse_text(to_toml({**base, "deny": [], "writable": ["/"],
                                                                "readable": None}), "b.toml")], WS), CTX)
    for path in targets:
        read_only = base_only.decide_file(FileEvent(Access.WRITE, path)).rule.kind == "files.read_only"
        if read_only:
            for access in (Access.WRITE, Access.CREATE, Access.DELETE, Access.LINK):
                assert merged.decide_file(FileEvent(access, path)).action is Action.DENY, (access, path)
