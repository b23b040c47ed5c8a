"""Profiles: load TOML, follow `extends`, validate, merge; trust for project files.

Pure apart from reading files (and the trust store in trust.py): nothing here
imports the supervisor, native code or the TUI.
"""

from jail.profile.builtin import builtin_descriptions, builtin_names, preload, read_builtin
from jail.profile.discover import (
    config_dir,
    display_path,
    find_project_profile,
    find_workspace,
    state_dir,
    user_base_path,
)
from jail.profile.examples import ExampleFailure, example_path, run_examples
from jail.profile.globs import GlobError, RuleMatcher, check_glob, compile_glob, normalize_path
from jail.profile.loader import load_profile, merge
from jail.profile.model import (
    BUILTIN_SOURCE,
    DENY,
    READ_ONLY,
    READABLE,
    RULE_KINDS,
    WRITABLE,
    LoadedProfile,
    Profile,
    Rule,
)
from jail.profile.schema import CombinedProfileError, ParsedFile, parse_text
from jail.profile.trust import (
    TrustStatus,
    default_store,
    ensure_trusted,
    record_trust,
    trust_prompt,
    trust_status,
)

__all__ = [
    "BUILTIN_SOURCE", "DENY", "READABLE", "READ_ONLY", "RULE_KINDS", "WRITABLE",
    "CombinedProfileError", "ExampleFailure", "GlobError", "LoadedProfile", "ParsedFile",
    "Profile", "Rule", "RuleMatcher", "TrustStatus", "builtin_descriptions", "builtin_names",
    "check_glob", "compile_glob", "config_dir", "default_store", "display_path",
    "ensure_trusted", "example_path", "find_project_profile", "find_workspace",
    "load_profile", "merge", "normalize_path", "parse_text", "preload", "read_builtin",
    "record_trust", "run_examples", "state_dir", "trust_prompt", "trust_status",
    "user_base_path",
]
