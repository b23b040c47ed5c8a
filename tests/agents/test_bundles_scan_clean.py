"""The agents' own program files carry no false positives: redaction serves
their code as written wherever they are installed (a project's node_modules,
an npx cache), so the catalogue's code filters must keep them clean."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agentworld import install_npm

from jail.redact import Scanner

pytestmark = pytest.mark.agents

CLIS = [("@anthropic-ai/claude-code", "2.1.100", "claude"), ("@openai/codex", "0.47.0", "codex"),
        ("@google/gemini-cli", "0.10.0", "gemini")]
# Real secrets an agent ships on purpose: Google's public OAuth client of the
# Gemini CLI (installed-app flow; it is not confidential) is found, and must be.
SHIPPED = {("google-oauth-client-secret", "oauth2.js")}


def _package_dir(binary: Path, package: str) -> Path:
    """The package directory the npm shim resolves into."""
    return next(p for p in Path(os.path.realpath(binary)).parents if p.as_posix().endswith(package))


@pytest.mark.parametrize(("package", "version", "binary"), CLIS, ids=[c[2] for c in CLIS])
def test_an_agents_own_code_scans_clean(package, version, binary):
    root = _package_dir(install_npm(package, version, binary), package)
    scanner = Scanner.from_catalogue(max_bytes=None)
    found = []
    for path in root.rglob("*"):
        if path.suffix not in (".js", ".mjs", ".cjs", ".json") or not path.is_file():
            continue
        for finding in scanner.scan(path.read_bytes()):
            if (finding.rule_id, path.name) not in SHIPPED:
                found.append(f"{path.relative_to(root)}:{finding.line}: {finding.rule_id}")
    assert found == []
