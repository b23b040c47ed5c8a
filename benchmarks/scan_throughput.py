#!/usr/bin/env python3
"""Secret scanning throughput: cold scans, warm-cache lookups, and the keyword prefilter.

    python benchmarks/scan_throughput.py [--files N] [--reps N] [--tree PATH] [--prefilter]

Builds a realistic tree in a temporary directory: source files copied from the
installed Python standard library (code, docstrings, tests), plus generated
config files (.env, YAML, JSON, shell, .npmrc), a few of them holding fake
secrets, and a few binaries. Then, one file at a time, the way the supervisor
does it:

  cold   fstat, read, Scanner.examine() (prefilter + the rules it unlocks)
  warm   fstat, file_key(), ScanCache.get() hit
  redact Scanner.redact() of the files that hold secrets

and prints MB/s (cold over the bytes actually scanned; warm over the same bytes,
as if they had been served) and the cost of one cached lookup in microseconds.
`--tree PATH` scans an existing tree instead. `--prefilter` also times the
keyword search alternatives over the same text (see jail/redact/prefilter.py).
Nothing here asserts a timing; it reports.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import statistics
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from jail.redact import ScanCache, Scanner, file_key
from jail.redact.prefilter import NativeKeywords, trie_regex
from jail.redact.textform import Form, classify

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
DIGITS = "0123456789"

MB = 1e6
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def fake(rng: random.Random, n: int, alphabet: str = ALNUM) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def config_file(rng: random.Random, with_secret: bool) -> tuple[str, str]:
    """(name, text) of a generated config file; with_secret plants one fake credential."""
    secret = rng.choice([
        lambda: "ghp_" + fake(rng, 36), lambda: "sk_live_" + fake(rng, 48),
        lambda: "AKIA" + fake(rng, 16, BASE32),
        lambda: "xoxb-" + fake(rng, 12, DIGITS) + "-" + fake(rng, 12, DIGITS) + "-" + fake(rng, 24),
        lambda: "sk-ant-api03-" + fake(rng, 95), lambda: "npm_" + fake(rng, 36),
    ])() if with_secret else "${FROM_VAULT}"
    kind = rng.choice(["env", "yaml", "json", "sh", "npmrc"])
    lines = [f"# generated settings {rng.randint(0, 10**6)}"]
    for i in range(rng.randint(10, 60)):
        value = rng.choice(["true", "false", str(rng.randint(0, 9999)), "https://api.acme.dev/v1"])
        lines.append(f"SETTING_{i}={value}")
    if kind == "env":
        lines.insert(rng.randint(1, len(lines)), f"API_TOKEN={secret}")
        return ".env", "\n".join(lines) + "\n"
    if kind == "yaml":
        body = "\n".join(f"  {line.split('=')[0].lower()}: {line.split('=', 1)[1]}" for line in lines[1:])
        return "config.yaml", f"service:\n{body}\n  token: {secret}\n"
    if kind == "json":
        pairs = (line.split("=", 1) for line in lines[1:])
        items = ",\n".join(f'  "{name.lower()}": "{value}"' for name, value in pairs)
        return "settings.json", "{\n" + items + f',\n  "apiKey": "{secret}"\n}}\n'
    if kind == "sh":
        return "deploy.sh", "#!/bin/sh\nset -eu\n" + "\n".join(f"export {line}" for line in lines[1:]) + \
            f"\ncurl -H \"Authorization: Bearer {secret}\" https://api.acme.dev\n"
    return ".npmrc", f"registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={secret}\n"


def build_tree(root: Path, files: int, seed: int = 6) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    sources = sorted(p for p in stdlib.rglob("*.py") if p.is_file() and p.stat().st_size < 200_000)
    for i in range(files):
        directory = root / f"pkg{i // 50:03d}" / f"mod{i % 7}"
        directory.mkdir(parents=True, exist_ok=True)
        roll = rng.random()
        if roll < 0.80:
            source = rng.choice(sources)
            shutil.copyfile(source, directory / f"{i}_{source.name}")
        elif roll < 0.98:
            name, text = config_file(rng, with_secret=rng.random() < 0.3)
            (directory / f"{i}{name}").write_text(text)
        else:
            (directory / f"{i}.bin").write_bytes(os.urandom(rng.randint(1_000, 200_000)))


def walk(root: Path) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs)


def read(path: str) -> tuple[os.stat_result, bytes]:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        chunks = []
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
        return st, b"".join(chunks)
    finally:
        os.close(fd)


def measure(paths: list[str], reps: int) -> None:
    start = time.perf_counter()
    scanner = Scanner.from_catalogue()
    compile_s = time.perf_counter() - start
    print(f"catalogue: {len(scanner.rules)} rules, compiled in {compile_s * 1000:.0f} ms")
    cold, scanned_bytes, stats = [], 0, {"files": len(paths), "binary": 0, "large": 0, "with": 0}
    secret_files: list[bytes] = []
    cache: ScanCache = ScanCache()
    for rep in range(reps):
        cache.clear()
        t0 = time.perf_counter()
        total = 0
        for path in paths:
            st, data = read(path)
            result = scanner.examine(data)
            cache.put(file_key(st), result)
            if result.unscanned is None:
                total += len(data)
            if rep == 0:
                stats["binary"] += result.unscanned is not None and result.form is Form.BINARY
                stats["large"] += result.unscanned is not None and result.form is not Form.BINARY
                if result.findings:
                    stats["with"] += 1
                    secret_files.append(data)
        cold.append(time.perf_counter() - t0)
        scanned_bytes = total
    warm = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for path in paths:
            assert cache.get(file_key(os.stat(path))) is not None
        warm.append(time.perf_counter() - t0)
    stat_only = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for path in paths:
            os.stat(path)
        stat_only.append(time.perf_counter() - t0)
    key = os.urandom(32)
    t0 = time.perf_counter()
    redacted_bytes = sum(len(scanner.redact(data, key)[0]) for data in secret_files)
    redact_s = time.perf_counter() - t0
    cold_s, warm_s, stat_s = statistics.median(cold), statistics.median(warm), statistics.median(stat_only)
    print(f"tree: {stats['files']} files, {scanned_bytes / MB:.1f} MB of text scanned, "
          f"{stats['binary']} binary and {stats['large']} too large (not scanned), "
          f"{stats['with']} with secrets")
    print(f"cold scan (fstat + read + examine):  {scanned_bytes / MB / cold_s:7.1f} MB/s   "
          f"{cold_s / len(paths) * 1e6:8.1f} us/file   (median of {reps})")
    print(f"warm cache (stat + key + lookup):    {scanned_bytes / MB / warm_s:7.0f} MB/s   "
          f"{warm_s / len(paths) * 1e6:8.2f} us/file")
    lookup_us = (warm_s - stat_s) / len(paths) * 1e6
    print(f"  of which the cache lookup itself:                  {lookup_us:8.2f} us/file")
    if secret_files:
        print(f"redact (files with secrets):         {redacted_bytes / MB / redact_s:7.1f} MB/s   "
              f"{redact_s / len(secret_files) * 1e6:8.1f} us/file")


def prefilter_alternatives(paths: list[str]) -> None:
    """Time the keyword search alternatives over the same lower-cased text."""
    scanner = Scanner.from_catalogue()
    words = list(scanner._prefilter.words)  # the benchmark measures the internals
    texts = []
    for path in paths:
        data = read(path)[1]
        if classify(data) is Form.TEXT:
            texts.append(data.lower())
    total = sum(map(len, texts))
    print(f"\nkeyword prefilter: {len(words)} keywords over {total / MB:.1f} MB of lower-cased text")
    lookahead = re.compile(b"(?=(" + trie_regex(words) + b"))")
    consuming = re.compile(trie_regex(words))
    flat = re.compile(b"|".join(re.escape(w) for w in sorted(words, key=len, reverse=True)))
    native = NativeKeywords.build(words)
    candidates = [
        *([("Aho-Corasick in jail's C helper (in use)", native.find)] if native else []),
        ("trie regex in a lookahead (fallback)", lambda x: set(lookahead.findall(x))),
        ("trie regex, consuming", lambda x: set(consuming.findall(x))),
        ("flat alternation, longest first", lambda x: set(flat.findall(x))),
        ("bytes `in`, once per keyword", lambda x: {w for w in words if w in x}),
        ("Aho-Corasick, pure Python", aho_corasick(words)),
    ]
    try:
        import ahocorasick  # pyahocorasick: a C extension, not a dependency of jail
    except ImportError:
        print("  (pyahocorasick not installed: `pip install pyahocorasick` adds a C automaton to compare)")
    else:
        automaton = ahocorasick.Automaton()
        for word in words:
            automaton.add_word(word.decode("latin-1"), word)
        automaton.make_automaton()
        candidates.append(("Aho-Corasick in C (pyahocorasick)",
                           lambda x: {w for _, w in automaton.iter(x.decode("latin-1"))}))
    for name, search in candidates:
        sample = texts if "pure Python" not in name else texts[: max(1, len(texts) // 10)]
        size = sum(map(len, sample))
        t0 = time.perf_counter()
        for text in sample:
            search(text)
        elapsed = time.perf_counter() - t0
        note = "   (a tenth of the files)" if sample is not texts else ""
        print(f"  {name:40s} {size / MB / elapsed:7.1f} MB/s{note}")


def aho_corasick(words: list[bytes]):
    goto: list[dict[int, int]] = [{}]
    fail, out = [0], [set()]
    for word in words:
        node = 0
        for byte in word:
            if byte not in goto[node]:
                goto.append({})
                fail.append(0)
                out.append(set())
                goto[node][byte] = len(goto) - 1
            node = goto[node][byte]
        out[node].add(word)
    queue = list(goto[0].values())
    while queue:
        node = queue.pop(0)
        for byte, child in goto[node].items():
            queue.append(child)
            back = fail[node]
            while back and byte not in goto[back]:
                back = fail[back]
            fail[child] = goto[back].get(byte, 0) if goto[back].get(byte, 0) != child else 0
            out[child] |= out[fail[child]]

    def search(text: bytes) -> set[bytes]:
        node, found = 0, set()
        for byte in text:
            while node and byte not in goto[node]:
                node = fail[node]
            node = goto[node].get(byte, 0)
            if out[node]:
                found |= out[node]
        return found

    return search


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=3000, help="files in the generated tree (default 3000)")
    parser.add_argument("--reps", type=int, default=3, help="repetitions; medians are reported (default 3)")
    parser.add_argument("--tree", type=Path, help="scan this existing tree instead of a generated one")
    parser.add_argument("--prefilter", action="store_true", help="also compare keyword search alternatives")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jail-scan-bench-") as temp:
        root = args.tree or Path(temp)
        if args.tree is None:
            build_tree(root, args.files)
        paths = [p for p in walk(root) if os.path.isfile(p) and not os.path.islink(p)]
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        measure(paths, args.reps)
        if args.prefilter:
            prefilter_alternatives(paths)
    return 0


if __name__ == "__main__":
    sys.exit(main())
