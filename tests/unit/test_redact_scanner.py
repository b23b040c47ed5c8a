"""The scanner's policy and mechanics: findings, binaries, large files, text with NULs,
every-value mode, the keyword prefilter and the scan cache."""

from __future__ import annotations

import codecs
import os
import re
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jail.redact import (
    DEFAULT_MAX_BYTES,
    EVERY_VALUE_RULE,
    Finding,
    Form,
    ScanCache,
    Scanner,
    Unscanned,
    builtin_rules,
    file_key,
)
from jail.redact.entropy import longest_run, shannon_entropy
from jail.redact.prefilter import Prefilter, trie_regex

pytestmark = pytest.mark.unit

SCANNER = Scanner.from_catalogue()
KEY = b"session-key-0123456789abcdef"
TOKEN = b"ghp_" + b"aB3dE5fG7h" * 3 + b"iJ9kLm"


def test_finding_names_rule_line_and_span_never_the_value() -> None:
    data = b"# config\nname = app\nGITHUB_TOKEN=" + TOKEN + b"\n"
    (finding,) = SCANNER.scan(data)
    assert finding == Finding("github-pat-classic", 3, data.index(TOKEN), data.index(TOKEN) + len(TOKEN))
    assert TOKEN not in repr(finding).encode()


def test_a_file_without_secrets_has_no_findings_and_is_returned_unchanged() -> None:
    data = b"def main():\n    password = get_password()\n    return token_count + 1\n"
    assert SCANNER.scan(data) == []
    assert SCANNER.redact(data, KEY) == (data, [])


def test_too_large_is_not_scanned_but_reported() -> None:
    small = Scanner(builtin_rules(), max_bytes=64)
    data = b"x" * 100 + b"\nGITHUB_TOKEN=" + TOKEN
    assert small.examine(data).unscanned is Unscanned.TOO_LARGE
    assert Unscanned.TOO_LARGE.value == "unscanned: too large"
    assert small.check_size(65) is Unscanned.TOO_LARGE and small.check_size(64) is None
    assert small.scan(data) == [] and small.redact(data, KEY) == (data, [])
    assert SCANNER.check_size(DEFAULT_MAX_BYTES + 1) is Unscanned.TOO_LARGE
    assert Scanner(builtin_rules(), max_bytes=None).check_size(1 << 40) is None


def test_binary_is_not_scanned_and_never_changed() -> None:
    elf = b"\x7fELF\x02\x01\x01\x00" + bytes(range(256)) + b"GITHUB_TOKEN=" + TOKEN
    result = SCANNER.examine(elf)
    assert result.unscanned is Unscanned.BINARY and result.form is Form.BINARY
    assert SCANNER.redact(elf, KEY) == (elf, [])


def test_a_nul_after_the_first_8_kib_does_not_make_text_binary() -> None:
    data = b"a" * 9000 + b"\x00\x01\x02 GITHUB_TOKEN=" + TOKEN
    assert SCANNER.examine(data).form is Form.TEXT
    assert [f.rule_id for f in SCANNER.scan(data)] == ["github-pat-classic"]


def test_nul_separated_text_is_scanned_and_keeps_its_nuls() -> None:
    environ = b"HOME=/home/ann\x00GITHUB_TOKEN=" + TOKEN + b"\x00LANG=C.UTF-8\x00"
    result = SCANNER.examine(environ)
    assert result.form is Form.NUL_SEPARATED
    assert [(f.rule_id, f.line) for f in result.findings] == [("github-pat-classic", 1)]
    redacted, _ = SCANNER.redact(environ, KEY)
    assert TOKEN not in redacted
    assert redacted.count(b"\x00") == 3 and b"\n" not in redacted
    assert redacted.split(b"\x00")[0] == b"HOME=/home/ann"


@pytest.mark.parametrize(("codec", "bom"), [("utf-16-le", codecs.BOM_UTF16_LE),
                                            ("utf-16-be", codecs.BOM_UTF16_BE),
                                            ("utf-16-le", b"")])
def test_utf16_text_is_decoded_scanned_and_reencoded(codec: str, bom: bytes) -> None:
    text = "# caf\u00e9 \U0001f600\r\n$env:GITHUB_TOKEN = '" + TOKEN.decode() + "'\r\n"
    data = bom + text.encode(codec)
    result = SCANNER.examine(data)
    assert result.form is Form(codec)
    (finding,) = result.findings
    assert finding.line == 2
    assert data[finding.start:finding.end].decode(codec) == TOKEN.decode()
    redacted, _ = SCANNER.redact(data, KEY)
    assert redacted.startswith(bom)
    decoded = redacted[len(bom):].decode(codec)
    assert TOKEN.decode() not in decoded and "REDACTED_BY_POLICY:github-pat-classic:" in decoded
    assert decoded.count("\n") == text.count("\n") and decoded.startswith("# caf\u00e9 \U0001f600")


def test_every_value_mode_hides_every_assignment_value() -> None:
    data = (b"# local settings\nexport DEBUG=true\nNAME='my app'\nPORT=8080 # comment\nEMPTY=\n"
            b"URL=\"https://x.dev/#frag\"\nGITHUB_TOKEN=" + TOKEN + b"\n")
    assert SCANNER.scan(data) != [] and all(f.rule_id != EVERY_VALUE_RULE for f in SCANNER.scan(data))
    findings = SCANNER.scan(data, every_value=True)
    values = [data[f.start:f.end] for f in findings]
    assert values == [b"true", b"my app", b"8080", b"https://x.dev/#frag", TOKEN]
    assert [f.rule_id for f in findings][-1] == "github-pat-classic"
    redacted, _ = SCANNER.redact(data, KEY, every_value=True)
    assert b"# local settings" in redacted and b"# comment" in redacted and b"8080" not in redacted
    assert SCANNER.redact(redacted, KEY, every_value=True)[0] == redacted


def test_placeholders_already_in_the_text_are_not_findings() -> None:
    data = b"TOKEN=REDACTED_BY_POLICY:github-pat-classic:0a1b2c3d\npassword: REDACTED_BY_POLICY\n"
    assert SCANNER.scan(data) == []
    assert SCANNER.scan(data, every_value=True) == []


@pytest.mark.parametrize(("value", "low", "high"), [(b"", 0, 0), (b"aaaa", 0, 0), (b"abcd", 2, 2),
                                                    (b"changeme", 2.5, 3.0), (TOKEN, 4.0, 5.5)])
def test_entropy(value: bytes, low: float, high: float) -> None:
    assert low <= shannon_entropy(value) <= high


def test_longest_run() -> None:
    assert longest_run(b"") == 0 and longest_run(b"abbbc") == 3 and longest_run("xyz") == 1


WORDS = ["ghp_", "sk_live_", "key", "api_key", "pass", "password", "-us", "://", "eyj", "aaaa", "sk", "k_l"]


def naive(words: list[str], text: bytes) -> set[int]:
    return {i for i, w in enumerate(words) if w.encode() in text}


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from([*WORDS, "gh", "p_", "sk_", "live", "a", "_", " ", "\n", ":/", "/"]),
                max_size=40).map("".join))
def test_prefilter_finds_exactly_the_keywords_that_occur(text: str) -> None:
    words = [[w] for w in WORDS]
    assert Prefilter(words).candidates(text.encode()) == naive(WORDS, text.encode())


def test_trie_regex_matches_exactly_its_words() -> None:
    pattern = re.compile(b"(?:" + trie_regex([b"ab", b"abc", b"b.d", b"x"]) + b")\\Z")
    for word in (b"ab", b"abc", b"b.d", b"x"):
        assert pattern.match(word)
    for other in (b"a", b"abd", b"bxd", b"xx", b""):
        assert not pattern.match(other)


def test_prefilter_runs_only_rules_whose_keywords_occur(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    scanner = Scanner.from_catalogue()
    for rule in scanner.rules:
        original = rule.pattern

        class Spy:
            def __init__(self, rule_id: str, pattern: re.Pattern[bytes]) -> None:
                self.rule_id, self.pattern = rule_id, pattern

            def finditer(self, text: bytes):
                ran.append(self.rule_id)
                return self.pattern.finditer(text)

        object.__setattr__(rule, "pattern", Spy(rule.id, original))
    try:
        scanner.scan(b"GITHUB_TOKEN=" + TOKEN)
    finally:
        for rule in scanner.rules:
            object.__setattr__(rule, "pattern", rule.pattern.pattern)
    assert "github-pat-classic" in ran and "generic-token" in ran
    assert "stripe-secret-key" not in ran and "private-key" not in ran and len(ran) < 10


def test_scan_cache_is_a_bounded_lru() -> None:
    cache: ScanCache[str] = ScanCache(max_entries=2)
    cache.put((1, 1, 1, 1, 1), "a")
    cache.put((1, 2, 1, 1, 1), "b")
    assert cache.get((1, 1, 1, 1, 1)) == "a"  # now the most recent
    cache.put((1, 3, 1, 1, 1), "c")
    assert (1, 2, 1, 1, 1) not in cache and len(cache) == 2
    assert cache.get((1, 2, 1, 1, 1)) is None and cache.hits == 1 and cache.misses == 1
    with pytest.raises(ValueError):
        ScanCache(max_entries=0)


def test_scan_cache_hands_what_it_drops_to_on_evict() -> None:
    dropped: list = []
    cache: ScanCache[str] = ScanCache(max_entries=1,
                                      on_evict=lambda key, result: dropped.append((key, result)))
    cache.put((1, 1, 1, 1, 1, False), "a")
    cache.put((1, 1, 1, 1, 1, False), "a again")  # replaced, not evicted
    assert dropped == []
    cache.put((1, 2, 1, 1, 1, True), "b")
    assert dropped == [((1, 1, 1, 1, 1, False), "a again")] and cache.get((1, 2, 1, 1, 1, True)) == "b"


def test_scan_cache_key_changes_with_the_file(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"one")
    first = file_key(os.stat(path))
    os.utime(path, ns=(1, 1))
    second = file_key(os.stat(path))
    path.write_bytes(b"three")
    assert len({first, second, file_key(os.stat(path))}) == 3


def test_scan_cache_scans_each_identity_once_and_is_thread_safe() -> None:
    cache: ScanCache[int] = ScanCache(max_entries=64)
    scans: list[int] = []
    lock = threading.Lock()

    def scan(n: int) -> int:
        with lock:
            scans.append(n)
        return n

    def worker() -> None:
        for i in range(2000):
            n = i % 100
            assert cache.get_or_scan((0, n, 0, 0, 0), lambda n=n: scan(n)) == n

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(cache) == 64 and cache.hits + cache.misses == 8000
