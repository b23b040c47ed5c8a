"""Network rules under the real filter. Every server is started by the test on
loopback; nothing leaves 127.0.0.1 / ::1. A "denied" port has a listening
server too, so a connection that slipped through would be seen arriving."""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
from conftest import read_until, waiting_request

pytestmark = pytest.mark.real


class Server:
    """A loopback TCP (HTTP) or UDP server that counts what reaches it."""

    def __init__(self, kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> None:
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, kind)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.datagrams: list[bytes] = []
        if kind == socket.SOCK_STREAM:
            self.sock.listen(64)
        threading.Thread(target=self._serve, args=(kind,), daemon=True).start()

    def _serve(self, kind: int) -> None:
        while True:
            try:
                if kind == socket.SOCK_DGRAM:
                    self.datagrams.append(self.sock.recv(65536))
                    continue
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            with conn:
                conn.settimeout(5)
                try:
                    data = conn.recv(4096)
                    if data.startswith((b"GET", b"HEAD")):
                        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def servers():
    made: list[Server] = []

    def make(kind: int = socket.SOCK_STREAM, host: str = "127.0.0.1") -> Server:
        made.append(Server(kind, host))
        return made[-1]

    yield make
    for server in made:
        server.close()


def with_profile(world, text: str) -> tuple[str, ...]:
    (world.workspace / "jail.toml").write_text('extends = ["default"]\n' + textwrap.dedent(text))
    return ("--trust-project",)


def run_python(world, code: str, args: tuple[str, ...], *, proxy_loopback: bool = False):
    """Python in the sandbox; with proxy_loopback, even localhost goes through jail's proxy."""
    prefix = ("env", "NO_PROXY=", "no_proxy=") if proxy_loopback else ()
    return world.run(*prefix, sys.executable, "-c", textwrap.dedent(code), args=args)


def records(world) -> list[dict]:
    """Every session's records: sessions started within one second do not sort by time."""
    sessions = (world.home / ".local/state/jail/sessions").glob("*.jsonl")
    return [json.loads(line) for path in sessions for line in path.read_text().splitlines()]


def connects(world) -> list[dict]:
    return [r for r in records(world) if r.get("event") == "connect"]


# -- jail run -- curl http://127.0.0.1:PORT/ both ways ----------------------------------------


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_follows_the_profile_both_ways(world, servers):
    allowed, denied = servers(), servers()
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    ok = world.run("curl", "-sS", f"http://127.0.0.1:{allowed.port}/", args=args)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "ok\n"
    refused = world.run("curl", "-sS", f"http://127.0.0.1:{denied.port}/", args=args)
    assert refused.returncode == 7  # curl: couldn't connect
    assert denied.hits == 0
    assert f"127.0.0.1:{denied.port}" in refused.stderr  # jail's notice names the destination
    record = next(r for r in connects(world) if r["port"] == denied.port)
    assert record["verdict"] == "deny" and record["rule"].endswith("jail.toml:3")
    assert record["address"] == "127.0.0.1" and record["chain"][0]["comm"] == "curl"


def test_ask_is_a_denial_when_no_one_can_answer(world):
    """default = "ask" in default.toml; without a terminal the fallback (deny) applies at once.
    The name is decided before it is resolved, so nothing is looked up or sent."""
    result = run_python(world, """
        import urllib.error, urllib.request
        try:
            urllib.request.urlopen("http://unlisted.example/", timeout=20)
        except urllib.error.HTTPError as e:
            print(e.code)
    """, ())
    assert result.stdout.strip() == "403", result.stderr
    record = next(r for r in connects(world) if r.get("host") == "unlisted.example")
    assert record["verdict"] == "deny" and record["reason"].startswith("not approved")
    requests = [r for r in records(world) if r.get("event") == "approval-request"]
    assert requests and requests[0]["request"]["kind"] == "connect"
    assert requests[0]["request"]["target"] == "unlisted.example:80"
    assert requests[0]["request"]["argv"] == ["GET", "http://unlisted.example/"]


# -- address families ----------------------------------------------------------------------


def test_ipv4_mapped_ipv6_meets_the_ipv4_rule(world, servers):
    denied = servers()
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        s = socket.socket(socket.AF_INET6)
        try:
            s.connect(("::ffff:127.0.0.1", {denied.port}))
            print("connected")
        except OSError as e:
            print("refused", e.errno)
    """, args)
    assert result.stdout.strip() == "refused 13", result.stderr
    assert denied.hits == 0
    record = next(r for r in connects(world) if r["port"] == denied.port)
    assert record["address"] == "127.0.0.1" and record["family"] == "inet6"


def test_ipv6_loopback_allowed_and_denied_by_port(world, servers):
    try:
        allowed, denied = servers(host="::1"), servers(host="::1")
    except OSError:
        pytest.skip("no IPv6 loopback")
    args = with_profile(world, f'[network]\ndeny = ["[::1]:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        for port in ({allowed.port}, {denied.port}):
            s = socket.socket(socket.AF_INET6)
            try:
                s.connect(("::1", port)); print("connected")
            except OSError as e:
                print("refused", e.errno)
    """, args)
    assert result.stdout.split("\n")[:2] == ["connected", "refused 13"], result.stderr
    assert allowed.hits == 1 and denied.hits == 0


def test_udp_sendto_is_decided_per_datagram(world, servers):
    allowed, denied = servers(socket.SOCK_DGRAM), servers(socket.SOCK_DGRAM)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print(s.sendto(b"hello", ("127.0.0.1", {allowed.port})))
        try:
            s.sendto(b"leak", ("127.0.0.1", {denied.port})); print("sent")
        except OSError as e:
            print("refused", e.errno)
        # A connected UDP socket sends without an address (not trapped).
        s.connect(("127.0.0.1", {allowed.port}))
        print(s.send(b"again"))
    """, args)
    assert result.stdout.split() == ["5", "refused", "13", "5"], result.stderr
    assert denied.datagrams == []
    assert sorted(allowed.datagrams) == [b"again", b"hello"]


def test_udp_sendmsg_with_an_address_is_decided(world, servers):
    allowed, denied = servers(socket.SOCK_DGRAM), servers(socket.SOCK_DGRAM)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        print(s.sendmsg([b"hel", b"lo"], [], 0, ("127.0.0.1", {allowed.port})))
        try:
            s.sendmsg([b"leak"], [], 0, ("127.0.0.1", {denied.port})); print("sent")
        except OSError as e:
            print("refused", e.errno)
        s.connect(("127.0.0.1", {allowed.port}))
        print(s.sendmsg([b"again"]))  # no address: the connected peer
    """, args)
    assert result.stdout.split() == ["5", "refused", "13", "5"], result.stderr
    assert denied.datagrams == []
    assert sorted(allowed.datagrams) == [b"again", b"hello"]


def test_a_socket_swapped_under_the_fd_cannot_send_unchecked(world, servers):
    """sendmsg on a TCP socket's fd number while another thread puts an
    unconnected UDP socket under that number, with a denied address in
    msg_name: jail sends on the socket it looked at, never the swapped one."""
    tcp, denied = servers(), servers(socket.SOCK_DGRAM)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import os, socket, threading
        t = socket.create_connection(("127.0.0.1", {tcp.port}))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        keep_t = os.dup(t.fileno())
        fd = t.fileno()
        stop = False
        def swap():
            while not stop:
                os.dup2(u.fileno(), fd)
                os.dup2(keep_t, fd)
        thread = threading.Thread(target=swap)
        thread.start()
        for _ in range(2000):
            try:
                t.sendmsg([b"x"], [], 0, ("127.0.0.1", {denied.port}))
            except OSError:
                pass
        stop = True
        thread.join()
        print("done")
    """, args)
    assert "done" in result.stdout, result.stderr
    assert denied.datagrams == []


def test_udp_connect_to_a_denied_port_is_refused(world, servers):
    denied = servers(socket.SOCK_DGRAM)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            s.connect(("127.0.0.1", {denied.port})); print("connected")
        except OSError as e:
            print("refused", e.errno)
    """, args)
    assert result.stdout.strip() == "refused 13"


def test_sendmmsg_to_a_connected_peer_works_and_names_are_decided(world, servers, tmp_path):
    """glibc's resolver sends its A and AAAA queries with one sendmmsg."""
    allowed, denied = servers(socket.SOCK_DGRAM), servers(socket.SOCK_DGRAM)
    source = tmp_path / "mmsg.c"
    source.write_text(MMSG_C)
    binary = tmp_path / "mmsg"
    subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-o", str(binary), str(source)], check=True)
    copy = world.workspace / "mmsg"
    shutil.copy(binary, copy)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = world.run(str(copy), str(allowed.port), str(denied.port), args=args)
    assert result.stdout.split() == ["connected=2", "named-allowed=1", "named-denied=-1:13"], result.stderr
    assert denied.datagrams == []
    assert sorted(allowed.datagrams) == [b"a", b"b", b"c"]


MMSG_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static struct sockaddr_in to(int port) {
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

int main(int argc, char **argv) {
    int ok = atoi(argv[1]), bad = atoi(argv[2]);
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in peer = to(ok);
    if (connect(s, (struct sockaddr *)&peer, sizeof peer) < 0) return 2;
    struct iovec iov[2] = {{"a", 1}, {"b", 1}};
    struct mmsghdr m[2];
    memset(m, 0, sizeof m);
    m[0].msg_hdr.msg_iov = &iov[0]; m[0].msg_hdr.msg_iovlen = 1;
    m[1].msg_hdr.msg_iov = &iov[1]; m[1].msg_hdr.msg_iovlen = 1;
    printf("connected=%d\n", sendmmsg(s, m, 2, MSG_NOSIGNAL));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in good = to(ok), evil = to(bad);
    struct iovec c = {"c", 1}, d = {"d", 1};
    struct mmsghdr n[1];
    memset(n, 0, sizeof n);
    n[0].msg_hdr.msg_name = &good; n[0].msg_hdr.msg_namelen = sizeof good;
    n[0].msg_hdr.msg_iov = &c; n[0].msg_hdr.msg_iovlen = 1;
    printf("named-allowed=%d\n", sendmmsg(u, n, 1, 0));
    n[0].msg_hdr.msg_name = &evil; n[0].msg_hdr.msg_iov = &d;
    int r = sendmmsg(u, n, 1, 0);
    printf("named-denied=%d:%d\n", r, r < 0 ? errno : 0);
    return 0;
}
"""


# -- races and non-blocking ------------------------------------------------------------------


RACE_C = r"""
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static struct sockaddr_in addr;
static volatile int stop;
static int ok_port, bad_port;

static void *swap(void *arg) {
    (void)arg;
    volatile unsigned short *port = &addr.sin_port;  /* every store happens */
    while (!stop) {
        *port = htons(bad_port);
        *port = htons(ok_port);
    }
    return NULL;
}

int main(int argc, char **argv) {
    ok_port = atoi(argv[1]);
    bad_port = atoi(argv[2]);
    int rounds = atoi(argv[3]);
    int udp = argc > 4;
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(ok_port);
    pthread_t t;
    pthread_create(&t, NULL, swap, NULL);
    int connected = 0, refused = 0;
    int u = udp ? socket(AF_INET, SOCK_DGRAM, 0) : -1;
    /* at least `rounds`, and on until the swap has landed on both sides (a loaded machine) */
    for (int i = 0; i < rounds || ((!connected || !refused) && i < rounds * 20); i++) {
        if (udp) {
            if (sendto(u, "x", 1, 0, (struct sockaddr *)&addr, sizeof addr) == 1) connected++; else refused++;
            continue;
        }
        int s = socket(AF_INET, SOCK_STREAM, 0);
        if (connect(s, (struct sockaddr *)&addr, sizeof addr) == 0) connected++; else refused++;
        close(s);
    }
    stop = 1;
    pthread_join(t, NULL);
    printf("%d %d\n", connected, refused);
    return 0;
}
"""


@pytest.fixture
def race_prog(world, tmp_path) -> Path:
    source = tmp_path / "race.c"
    source.write_text(RACE_C)
    binary = world.workspace / "race"
    subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-pthread", "-o", str(binary), str(source)], check=True)
    return binary


@pytest.mark.parametrize("udp", [False, True], ids=["connect", "sendto"])
def test_a_racing_thread_cannot_swap_the_address(world, servers, race_prog, udp):
    kind = socket.SOCK_DGRAM if udp else socket.SOCK_STREAM
    allowed, denied = servers(kind), servers(kind)
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    extra = ("udp",) if udp else ()
    result = world.run(str(race_prog), str(allowed.port), str(denied.port), "2000", *extra,
                       args=(*args, "-q"), timeout=240)
    connected, refused = map(int, result.stdout.split())
    assert connected + refused >= 2000
    assert connected > 0 and refused > 0, "the swap never landed on either side: the race did not run"
    # Whatever the agent's memory said when, what jail connected to is what it checked.
    assert denied.hits == 0 and denied.datagrams == []


def test_non_blocking_connect_still_works_for_allowed_destinations(world, servers):
    server = servers()
    args = with_profile(world, "")
    result = run_python(world, f"""
        import errno, select, socket
        s = socket.socket()
        s.setblocking(False)
        code = s.connect_ex(("127.0.0.1", {server.port}))
        print(errno.errorcode.get(code, code))
        select.select([], [s], [], 10)
        print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        s.setblocking(True)
        s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
        print(s.recv(100).split(b"\\r\\n")[0].decode())
    """, args)
    lines = result.stdout.split("\n")
    assert lines[0] in ("EINPROGRESS", "0"), result.stderr
    assert lines[1:3] == ["0", "HTTP/1.1 200 OK"]


# -- unix sockets ------------------------------------------------------------------------------


def test_unix_socket_rule(world):
    sock_dir = world.workspace / "run"
    sock_dir.mkdir()
    listeners = []
    for name in ("agent.sock", "other.sock"):
        listener = socket.socket(socket.AF_UNIX)
        listener.bind(str(sock_dir / name))
        listener.listen(4)
        listeners.append(listener)
    try:
        args = with_profile(world, '[network]\ndeny = [{ unix = "**/agent.sock", reason = "test agent" }]\n')
        result = run_python(world, f"""
            import socket
            for name in ("agent.sock", "other.sock"):
                s = socket.socket(socket.AF_UNIX)
                try:
                    s.connect("{sock_dir}/" + name); print(name, "connected")
                except OSError as e:
                    print(name, "refused", e.errno)
        """, args)
        expected = ["agent.sock refused 13", "other.sock connected"]
        assert result.stdout.split("\n")[:2] == expected, result.stderr
        record = next(r for r in connects(world) if r.get("unix"))
        assert record["unix"].endswith("agent.sock") and record["reason"] == "test agent"
    finally:
        for listener in listeners:
            listener.close()


# -- the proxy ---------------------------------------------------------------------------------



def proxy_profile(world, allowed: Server, denied: Server) -> tuple[str, ...]:
    return with_profile(world, f"""
        [network]
        default = "deny"
        allow = ["localhost:{allowed.port}"]
        deny = ["localhost:{denied.port}", "blocked.example"]
    """)


def _without_no_proxy(command: str) -> list[str]:
    return ["env", "NO_PROXY=", "no_proxy=", "sh", "-c", command]


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_proxy_decides_by_host_name_for_curl(world, servers):
    allowed, denied = servers(), servers()
    args = proxy_profile(world, allowed, denied)
    script = (f"curl -sS -o /dev/null -w '%{{http_code}}\\n' http://localhost:{allowed.port}/; "
              f"curl -sS -o /dev/null -w '%{{http_code}}\\n' http://localhost:{denied.port}/; "
              "curl -sS -o /dev/null -w '%{http_code}\\n' http://blocked.example/")
    result = world.run(*_without_no_proxy(script), args=args)
    assert result.stdout.split() == ["200", "403", "403"], result.stderr
    assert allowed.hits == 1 and denied.hits == 0
    proxied = [r for r in connects(world) if r.get("via") == "proxy"]
    assert {(r["host"], r["verdict"]) for r in proxied} >= {
        ("localhost", "allow"), ("localhost", "deny"), ("blocked.example", "deny")}
    assert any(r.get("method") == "GET" and r.get("path", "").endswith("/") for r in proxied)


def test_proxy_is_honoured_by_python_urllib_and_requests(world, servers):
    pytest.importorskip("requests")
    allowed, denied = servers(), servers()
    args = proxy_profile(world, allowed, denied)
    result = run_python(world, f"""
        import urllib.error, urllib.request, requests
        for port in ({allowed.port}, {denied.port}):
            try:
                print("urllib", urllib.request.urlopen(f"http://localhost:{{port}}/", timeout=20).status)
            except urllib.error.HTTPError as e:
                print("urllib", e.code)
            print("requests", requests.get(f"http://localhost:{{port}}/", timeout=20).status_code)
    """, args, proxy_loopback=True)
    assert result.stdout.split("\n")[:4] == ["urllib 200", "requests 200", "urllib 403", "requests 403"], \
        result.stderr
    assert allowed.hits == 2 and denied.hits == 0


def _node_honours_proxy_env() -> bool:
    node = shutil.which("node")
    if node is None:
        return False
    version = subprocess.run([node, "--version"], capture_output=True, text=True, check=True).stdout
    major, minor = (int(x) for x in version.strip().lstrip("v").split(".")[:2])
    return major >= 25 or (major == 24 and minor >= 5) or (major == 22 and minor >= 21)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node")
def test_node_fetch_through_the_proxy_or_judged_by_address(world, servers):
    allowed, denied = servers(), servers()
    args = with_profile(world, f"""
        [network]
        default = "deny"
        allow = ["localhost:{allowed.port}"]
        deny = ["localhost:{denied.port}", "127.0.0.1:{denied.port}"]
    """)
    code = textwrap.dedent(f"""
        (async () => {{
          for (const port of [{allowed.port}, {denied.port}]) {{
            try {{ const r = await fetch(`http://localhost:${{port}}/`); console.log(r.status); }}
            catch (e) {{ console.log("failed"); }}
          }}
        }})();
    """)
    result = world.run("env", "NO_PROXY=", "no_proxy=", "node", "-e", code, args=args)
    assert result.stdout.split()[0] == "200", result.stderr
    assert result.stdout.split()[1] in ("403", "failed")
    assert denied.hits == 0
    proxied = [r for r in connects(world) if r.get("via") == "proxy"]
    through_proxy = any(r["host"] == "localhost" for r in proxied)
    if _node_honours_proxy_env():
        assert through_proxy
    elif not through_proxy:
        # Node before 22.21 ignores the proxy variables: its direct connections
        # met the address rules instead.
        direct = [r for r in connects(world) if r.get("via") is None and r.get("port") == denied.port]
        assert direct and all(r["verdict"] == "deny" for r in direct)


def test_the_proxy_is_reachable_even_when_loopback_is_denied(world, servers):
    allowed = servers()
    args = with_profile(world, f"""
        [network]
        deny = ["127.0.0.0/8:1-{allowed.port - 1}", "127.0.0.0/8:{allowed.port + 1}-65535"]
        allow = ["localhost:{allowed.port}"]
    """)
    result = run_python(world, f"""
        import os, urllib.request
        print(urllib.request.urlopen("http://localhost:{allowed.port}/", timeout=20).status)
        print(os.environ["HTTPS_PROXY"].startswith("http://127.0.0.1:"), os.environ["NODE_USE_ENV_PROXY"])
    """, args, proxy_loopback=True)
    assert result.stdout.split("\n")[:2] == ["200", "True 1"], result.stderr
    assert json.dumps(records(world)).count('"<jail>"') >= 1  # jail's own rule let the proxy through


def test_tcp_fast_open_sends_are_connects_and_meet_the_rules(world, servers):
    """sendto and sendmsg with MSG_FASTOPEN connect and send in one call."""
    allowed, denied = servers(), servers()
    args = with_profile(world, f'[network]\ndeny = ["127.0.0.1:{denied.port}"]\n')
    result = run_python(world, f"""
        import socket
        request = b"GET / HTTP/1.0\\r\\n\\r\\n"
        for call in ("sendto", "sendmsg"):
            for port in ({allowed.port}, {denied.port}):
                s = socket.socket()
                try:
                    if call == "sendto":
                        s.sendto(request, socket.MSG_FASTOPEN, ("127.0.0.1", port))
                    else:
                        s.sendmsg([request], [], socket.MSG_FASTOPEN, ("127.0.0.1", port))
                    print(call, s.recv(100).split(b"\\r\\n")[0].decode())
                except OSError as e:
                    print(call, "refused", e.errno)
    """, args)
    assert result.stdout.split("\n")[:4] == ["sendto HTTP/1.1 200 OK", "sendto refused 13",
                                              "sendmsg HTTP/1.1 200 OK", "sendmsg refused 13"], result.stderr
    assert allowed.hits == 2 and denied.hits == 0


# -- asks --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("answer", "connected"), [("once", True), ("deny", False)])
def test_an_asked_connect_waits_for_jail_approve(world, servers, answer, connected):
    import os
    import pty

    server = servers()
    with_profile(world, f'[network]\nask = ["127.0.0.1:{server.port}"]\n')
    # The prompt on jail's terminal shows this code: the result printed must
    # not appear in it as written ('RESULT', 'x' prints as "RESULT x").
    code = (f"import socket\ns = socket.socket()\ntry:\n    s.connect(('127.0.0.1', {server.port}))\n"
            "    print('RESULT', 'connected')\nexcept OSError as e:\n"
            "    print('RESULT', 'refused', e.errno)\n")
    pid, fd = pty.fork()
    if pid == 0:
        os.chdir(world.workspace)
        os.execve(sys.executable, [sys.executable, "-m", "jail", "run", "--trust-project", "--",
                                   sys.executable, "-c", code], world.env)
    try:
        waiting = waiting_request(world)
        request = waiting["request"]
        assert request["kind"] == "connect" and request["target"] == f"127.0.0.1:{server.port}"
        assert request["argv"][:2] == [sys.executable, "-c"] and request["rule_where"].endswith("jail.toml:3")
        approve = [sys.executable, "-m", "jail", "approve", "--answer", waiting["id"], answer]
        answered = subprocess.run(approve, env=world.env, capture_output=True, text=True, timeout=30,
                                  check=False)
        assert answered.returncode == 0, answered.stderr
        seen = read_until(fd, rb"RESULT \w+\r?\n", b"")
    finally:
        os.waitpid(pid, 0)
    assert re.search(rb"RESULT (\w+)", seen).group(1) == (b"connected" if connected else b"refused"), seen
    assert server.hits == (1 if connected else 0)
    record = next(r for r in connects(world) if r["port"] == server.port)
    assert record["verdict"] == ("allow" if connected else "deny")
    assert record["reason"].startswith("approved" if connected else "not approved")


def test_unix_datagrams_by_path_meet_the_unix_rules(world):
    sock_dir = world.workspace / "dgram"
    sock_dir.mkdir()
    receivers = {}
    for name in ("agent.sock", "log.sock"):
        receiver = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        receiver.bind(str(sock_dir / name))
        receiver.setblocking(False)
        receivers[name] = receiver
    try:
        args = with_profile(world, '[network]\ndeny = [{ unix = "**/agent.sock" }]\n')
        result = run_python(world, f"""
            import socket
            s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            for name in ("agent.sock", "log.sock"):
                try:
                    print(name, s.sendto(b"hello " + name.encode(), "{sock_dir}/" + name))
                except OSError as e:
                    print(name, "refused", e.errno)
        """, args)
        assert result.stdout.split("\n")[:2] == ["agent.sock refused 13", "log.sock 14"], result.stderr
        assert receivers["log.sock"].recv(100) == b"hello log.sock"
        with pytest.raises(BlockingIOError):
            receivers["agent.sock"].recv(100)
    finally:
        for receiver in receivers.values():
            receiver.close()
