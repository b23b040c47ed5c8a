"""`jail scan PATH...`: show what content redaction would hide, without the values.

One line per finding, `file:line: rule-id (description) preview`, where the
preview shows at most the first 4 and last 2 characters of a secret longer than
16 characters (`ghp_****…7f`) and `****` otherwise; then a summary. Exit 1 if
anything was found, 0 if not. Files too large or binary for the redaction
policy are listed as unscanned and do not change the exit code. The [redact]
section of the profile that applies in the current directory (its own rules,
disabled rules, always-redact and never-scan paths) is used unless
--catalogue-only.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from jail.errors import ExitCode, UsageError
from jail.redact import EVERY_VALUE_RULE, Finding, Scanner, ScanResult
from jail.redact.scanner import MIB

SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules"})
PREVIEW_MIN = 17  # secrets shorter than this show only ****
UNREADABLE = "unscanned: unreadable"
NEVER = "unscanned: [redact] never"


@dataclass
class Report:
    findings: list[tuple[str, Finding, str]] = field(default_factory=list)  # (path, finding, preview)
    unscanned: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    files: int = 0
    scanned_bytes: int = 0


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "scan", help="show the secrets content redaction would hide (exit 1 if any)",
        description="Scan files and directories with jail's secret catalogue and show what a "
        "sandboxed process would see redacted: rule, file and line, and a masked preview. "
        "Never prints a secret.")
    parser.add_argument("paths", nargs="*", metavar="PATH", help="files or directories (default: .)")
    parser.add_argument("--all", action="store_true",
                        help="also walk " + ", ".join(sorted(SKIPPED_DIRS)) + " (skipped by default)")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--disable", action="append", default=[], metavar="RULE",
                        help="do not use this rule (repeatable)")
    parser.add_argument("--max-size", type=float, default=8, metavar="MIB",
                        help="do not scan files larger than this (default: 8)")
    parser.add_argument("--rules", action="store_true", help="list the rules and exit")
    parser.add_argument("--catalogue-only", action="store_true",
                        help="ignore the [redact] section of the profile that applies here "
                        "(its rules, disabled rules, always- and never-scanned paths)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.max_size <= 0:
        raise UsageError("--max-size must be a positive number of MiB")
    scanner, paths_policy = _scanner(args)
    if args.rules:
        for rule in scanner.rules:
            print(f"{rule.id:40s} {rule.description}")
        return ExitCode.OK
    paths = [Path(p) for p in (args.paths or ["."])]
    for path in paths:
        if not os.path.lexists(path):
            raise UsageError(f"{clean(str(path))}: no such file or directory")
    report = Report()
    for path in paths:
        for file in walk(path, include_all=args.all):
            absolute = os.path.abspath(file)
            if paths_policy is not None and paths_policy.never_scanned(absolute):
                report.unscanned.append((str(file), NEVER))
                continue
            scan_file(scanner, file, report,
                      every_value=paths_policy is not None and paths_policy.every_value(absolute))
    if args.json:
        print(json.dumps(as_json(scanner, report), indent=2))
    else:
        for line in as_lines(scanner, report):
            print(line)
    return ExitCode.FINDINGS if report.findings else ExitCode.OK


def _scanner(args: argparse.Namespace):
    """The catalogue as the profile that applies here tunes it ([redact]), or the
    bare catalogue; and the profile's always/never paths (None without one)."""
    max_bytes = int(args.max_size * MIB)
    if args.catalogue_only:
        return Scanner.from_catalogue(disabled=frozenset(args.disable), max_bytes=max_bytes), None
    import sys

    from jail.errors import ProfileError
    from jail.profile import load_profile
    from jail.redaction import Redaction

    home = Path.home()
    try:
        loaded = load_profile(cwd=Path.cwd(), home=home, env=os.environ)
        redaction = Redaction.from_settings(loaded.profile.redact, home=home,
                                            workspace=loaded.profile.workspace)
    except ProfileError as error:
        print(f"jail scan: {error}; scanning with the catalogue alone", file=sys.stderr)
        return Scanner.from_catalogue(disabled=frozenset(args.disable), max_bytes=max_bytes), None
    settings = loaded.profile.redact
    disabled = {rule.pattern for rule in settings.disable} | set(args.disable)
    return Scanner.from_catalogue(settings.rules, disabled, max_bytes=max_bytes), redaction


def walk(path: Path, *, include_all: bool) -> Iterator[Path]:
    """Files under `path` in a stable order; symbolic links inside directories are not followed."""
    if not path.is_dir():
        yield path
        return
    for root, dirs, files in os.walk(path):
        dirs[:] = sorted(d for d in dirs if include_all or d not in SKIPPED_DIRS)
        for name in sorted(files):
            file = Path(root) / name
            if not file.is_symlink():
                yield file


def scan_file(scanner: Scanner, path: Path, report: Report, *, every_value: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        report.unscanned.append((str(path), f"{UNREADABLE} ({error.strerror})"))
        return
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return
        report.files += 1
        too_large = scanner.check_size(st.st_size)
        if too_large:
            report.unscanned.append((str(path), f"{too_large.value} ({st.st_size / MIB:.1f} MiB)"))
            return
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read()
    except OSError as error:
        report.unscanned.append((str(path), f"{UNREADABLE} ({error.strerror})"))
        return
    finally:
        os.close(fd)
    result = scanner.examine(data, every_value=every_value)
    if result.unscanned is not None:
        report.unscanned.append((str(path), result.unscanned.value))
        return
    report.scanned_bytes += len(data)
    for finding in result.findings:
        report.findings.append((str(path), finding, preview(data[finding.start:finding.end], result)))


def preview(value: bytes, result: ScanResult) -> str:
    """`ghp_****…7f`: at most the first 4 and last 2 characters, and only of a long secret."""
    text = value.decode(result.form.value if result.form.value.startswith("utf-16") else "utf-8", "replace")
    text = "".join(text.split())  # a multi-line key body previews as one word
    if len(text) < PREVIEW_MIN:
        return "****"
    return clean(text[:4]) + "****\u2026" + clean(text[-2:])


def clean(text: str) -> str:
    """`text` without control characters (a file name or a preview must not drive the terminal)."""
    return "".join(c if c.isprintable() else "?" for c in text)


def as_lines(scanner: Scanner, report: Report) -> Iterator[str]:
    for path, finding, shown in report.findings:
        described = _describe(scanner, finding.rule_id)
        yield f"{clean(path)}:{finding.line}: {finding.rule_id} ({described}) {shown}"
    for path, reason in report.unscanned:
        yield f"{clean(path)}: {reason}"
    files_with = len({path for path, _, _ in report.findings})
    count = len(report.findings)
    summary = (f"{count} secret{_s(count)} in {files_with} file{_s(files_with)}"
               f" ({report.files} file{_s(report.files)} checked, "
               f"{report.scanned_bytes / MIB:.1f} MiB scanned")
    if report.unscanned:
        summary += f", {len(report.unscanned)} unscanned"
    yield summary + ")"


def _s(count: int) -> str:
    return "" if count == 1 else "s"


def _describe(scanner: Scanner, rule_id: str) -> str:
    if rule_id == EVERY_VALUE_RULE:
        return "a value in a file the profile marks [redact] always"
    rule = scanner.rule(rule_id)
    return rule.description if rule else rule_id


def as_json(scanner: Scanner, report: Report) -> dict:
    def describe(rule_id: str) -> str:
        return _describe(scanner, rule_id)

    return {
        "findings": [{"path": path, "line": f.line, "rule": f.rule_id, "description": describe(f.rule_id),
                      "start": f.start, "end": f.end, "preview": shown}
                     for path, f, shown in report.findings],
        "unscanned": [{"path": path, "reason": reason} for path, reason in report.unscanned],
        "summary": {"findings": len(report.findings),
                    "files_with_findings": len({path for path, _, _ in report.findings}),
                    "files": report.files, "bytes_scanned": report.scanned_bytes,
                    "unscanned": len(report.unscanned)},
    }

