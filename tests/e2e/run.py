#!/usr/bin/python3
"""End-to-end tests: the real BPF programs against real TLS peers on 127.0.0.1.

Each test starts tlstap and the peers it needs (on free ports, stopped by
PID), drives traffic, and compares what tlstap captured with the bytes the
peers really sent and received, from both ends of each connection.
Ends with "N passed, N failed".
"""
import argparse
import base64
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CERT = os.path.join(ROOT, "testdata", "certs", "cert.pem")
KEY = os.path.join(ROOT, "testdata", "certs", "key.pem")
PY = "/usr/bin/python3"
TLSTAP = None
TESTS = []
MODE = "auto"   # --probe-mode of the current pass
RUNNING = []    # every Tracer started, killed after each test if still running


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def test(fn):
    """Runs in both probe placements."""
    fn.modes = ("auto", "exported")
    TESTS.append(fn)
    return fn


def test_in(*modes):
    def mark(fn):
        fn.modes = modes
        TESTS.append(fn)
        return fn
    return mark


def funcs_for(exported, internal):
    """The function names a capture reports in this pass's placement."""
    return exported if MODE == "exported" else internal


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=15):
    end = time.time() + timeout
    while time.time() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise Fail("nothing listens on port %d" % port)


class Tracer:
    """tlstap running with JSON output into a file until stop()."""

    def __init__(self, tmp, args=(), out="json"):
        self.out_path = os.path.join(tmp, "tlstap.%d.out" % len(os.listdir(tmp)))
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([TLSTAP, "-o", out, "--probe-mode", MODE] + list(args), stdout=self.out,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        RUNNING.append(self.proc)
        self.stderr_lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()
        if not self.ready.wait(30):
            self.proc.kill()
            raise Fail("tlstap did not start tracing: %s" % "".join(self.stderr_lines))
        if self.proc.poll() is not None:
            raise Fail("tlstap exited at start: %s" % "".join(self.stderr_lines))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.stderr_lines.append(line)
            if line.startswith("tlstap: tracing"):
                self.ready.set()
        self.ready.set()

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail("tlstap did not stop on signal %d" % sig)
        self.reader.join(10)
        self.out.close()
        with open(self.out_path, "rb") as f:
            self.raw = f.read()
        self.rc = rc
        self.stderr = "".join(self.stderr_lines)
        return rc

    def events(self):
        evs = []
        for line in self.raw.splitlines():
            try:
                evs.append(json.loads(line))
            except ValueError:
                raise Fail("tlstap printed a line that is not JSON: %r" % line[:200])
        return evs


class Capture:
    """Streams rebuilt from JSON data events, checked for holes and overlaps."""

    def __init__(self, events):
        self.events = events
        self.streams = {}
        self.meta = {}
        self.gaps = [e for e in events if e["type"] == "gap"]
        for e in events:
            if e["type"] != "data":
                continue
            check(list(e.keys())[0] == "type", "type is not the first key")
            key = (e["conn"], e["dir"])
            data = base64.b64decode(e["data"])
            check(len(data) == e["len"], "len %d but %d bytes of data" % (e["len"], len(data)))
            buf = self.streams.setdefault(key, bytearray())
            check(e["pos"] == len(buf),
                  "conn %s %s: chunk at pos %d after %d bytes (hole or overlap)"
                  % (e["conn"], e["dir"], e["pos"], len(buf)))
            buf += data
            m = self.meta.setdefault(e["conn"], {"pids": set(), "funcs": set(), "local": None,
                                                 "remote": None, "fd": None, "comm": e["comm"]})
            m["pids"].add(e["pid"])
            m["funcs"].add(e["func"])
            for k in ("local", "remote", "fd"):
                if e[k] is not None:
                    m[k] = e[k]

    def conns(self, pid=None, comm=None):
        out = []
        for conn, m in self.meta.items():
            if pid is not None and pid not in m["pids"]:
                continue
            if comm is not None and m["comm"] != comm:
                continue
            out.append(conn)
        return sorted(out)

    def stream(self, conn, d):
        return bytes(self.streams.get((conn, d), b""))

    def peer_of(self, conn):
        """The connection at the other end: its local is our remote."""
        m = self.meta[conn]
        for other, om in self.meta.items():
            if other != conn and om["local"] == m["remote"] and om["remote"] == m["local"]:
                return other
        return None


def short(b):
    return "%d bytes sha256 %s" % (len(b), hashlib.sha256(b).hexdigest()[:12])


def same(a, b, what):
    if a != b:
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        raise Fail("%s differ: %s vs %s, first difference at byte %d" % (what, short(a), short(b), i))


class Nginx:
    def __init__(self, tmp, root):
        self.port = free_port()
        self.prefix = os.path.join(tmp, "nginx")
        os.makedirs(os.path.join(self.prefix, "logs"), exist_ok=True)
        conf = os.path.join(self.prefix, "nginx.conf")
        with open(conf, "w") as f:
            f.write("""
user root;
worker_processes 1;
daemon off;
pid %(p)s/nginx.pid;
error_log %(p)s/logs/error.log warn;
events { worker_connections 256; }
http {
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path %(p)s/body;
    proxy_temp_path %(p)s/proxy;
    fastcgi_temp_path %(p)s/fastcgi;
    uwsgi_temp_path %(p)s/uwsgi;
    scgi_temp_path %(p)s/scgi;
    keepalive_requests 100000;
    server {
        listen 127.0.0.1:%(port)d ssl http2;
        ssl_certificate %(cert)s;
        ssl_certificate_key %(key)s;
        root %(root)s;
    }
}
""" % {"p": self.prefix, "port": self.port, "cert": CERT, "key": KEY, "root": root})
        self.proc = subprocess.Popen(["nginx", "-p", self.prefix, "-c", conf, "-e",
                                      os.path.join(self.prefix, "logs", "error.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_port(self.port)
        except Fail:
            self.stop()
            raise Fail("nginx did not start: %s" % self.proc.stderr.read().decode(errors="replace"))

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class EchoServer:
    def __init__(self, tmp, host="127.0.0.1"):
        self.log = os.path.join(tmp, "echo-log")
        os.makedirs(self.log, exist_ok=True)
        self.proc = subprocess.Popen([PY, os.path.join(HERE, "tls_echo_server.py"), "--cert", CERT,
                                      "--key", KEY, "--log", self.log, "--host", host],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        check(line.strip().isdigit(), "echo server did not start")
        self.port = int(line)
        self.pid = self.proc.pid

    def logged(self, peer_port, d):
        path = os.path.join(self.log, "%d.%s" % (peer_port, d))
        with open(path, "rb") as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def no_loss(tr, cap):
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    check(not cap.gaps, "gaps reported: %s" % cap.gaps[:3])
    stats = [e for e in cap.events if e["type"] == "stats"]
    check(len(stats) == 1, "no stats line at the end")
    s = stats[0]
    check(s["lost_bytes"] == 0 and s["ring_full_records"] == 0 and s["untraced_calls"] == 0,
          "losses reported: %s" % s)
    check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", tr.stderr, re.M),
          "no summary on stderr: %s" % tr.stderr)


def both_ends(cap, conn, what):
    """Both ends of a connection saw the same bytes, each direction."""
    peer = cap.peer_of(conn)
    check(peer is not None, "%s: the other end of conn %d was not captured (local %s remote %s)"
          % (what, conn, cap.meta[conn]["local"], cap.meta[conn]["remote"]))
    same(cap.stream(conn, "out"), cap.stream(peer, "in"), what + ": out vs peer's in")
    same(cap.stream(conn, "in"), cap.stream(peer, "out"), what + ": in vs peer's out")
    return peer


@test
def test_curl_nginx_1mib_both_ends(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    body = os.urandom(1 << 20)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(body)
    ngx = Nginx(tmp, root)
    try:
        tr = Tracer(tmp)
        got = os.path.join(tmp, "got.bin")
        curl = subprocess.run(["curl", "-sk", "--http1.1", "-o", got,
                               "https://127.0.0.1:%d/big.bin" % ngx.port], timeout=60)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    conns = cap.conns(comm="curl")
    check(len(conns) == 1, "want 1 curl connection, got %d" % len(conns))
    c = conns[0]
    check(port_of(cap.meta[c]["remote"]) == ngx.port, "curl's remote is not nginx's port")
    with open(got, "rb") as f:
        check(f.read() == body, "curl's own download differs from the file")
    resp = cap.stream(c, "in")
    head, _, rbody = resp.partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "captured response does not start with a status line")
    same(rbody, body, "captured response body vs file served")
    req = cap.stream(c, "out")
    check(req.startswith(b"GET /big.bin HTTP/1.1\r\n"), "captured request line wrong: %r" % req[:40])
    peer = both_ends(cap, c, "curl/nginx")
    check(cap.meta[peer]["comm"] == "nginx", "the other end is not nginx")


@test
def test_python_urllib_post_1mib_ex_functions(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp)
        cli = subprocess.Popen([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib",
                                "--port", str(srv.port), "--log", tmp])
        check(cli.wait(60) == 0, "python client failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    conns = cap.conns(pid=cli.pid)
    check(len(conns) == 1, "want 1 client connection, got %d" % len(conns))
    c = conns[0]
    want = funcs_for({"SSL_write_ex", "SSL_read_ex"}, {"ssl_write_internal", "ssl_read_internal"})
    check(cap.meta[c]["funcs"] == want, "python's calls should be %s, saw %s" % (want, cap.meta[c]["funcs"]))
    local_port = port_of(cap.meta[c]["local"])
    with open(os.path.join(tmp, "urllib.body"), "rb") as f:
        body = f.read()
    out = cap.stream(c, "out")
    check(out.endswith(body), "captured request does not end with the 1 MiB body")
    same(out, srv.logged(local_port, "in"), "client's captured out vs bytes the server received")
    same(cap.stream(c, "in"), srv.logged(local_port, "out"), "client's captured in vs bytes the server sent")
    peer = both_ends(cap, c, "urllib/echo")
    check(srv.pid in cap.meta[peer]["pids"], "the other end is not the echo server")


@test
def test_node_static_openssl_with_pid(tmp):
    srv = EchoServer(tmp)
    try:
        node = subprocess.Popen(["node", os.path.join(HERE, "node_client.js"), str(srv.port),
                                 str(256 * 1024), os.path.join(tmp, "node.body")],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(node.stdout.readline().strip() == b"ready", "node client did not start")
        tr = Tracer(tmp, ["-p", str(node.pid)])
        node.stdin.write(b"go\n")
        node.stdin.flush()
        check(node.stdout.readline().strip() == b"done", "node request failed")
        node.wait(30)
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(all(m["pids"] == {node.pid} for m in cap.meta.values()), "events of other processes with -p")
    conns = cap.conns(pid=node.pid)
    check(len(conns) == 1, "want 1 node connection, got %d" % len(conns))
    c = conns[0]
    m = cap.meta[c]
    check(m["local"] and m["remote"], "node's connection never got its addresses")
    check(port_of(m["remote"]) == srv.port, "node's remote is not the server's port")
    with open(os.path.join(tmp, "node.body"), "rb") as f:
        body = f.read()
    out = cap.stream(c, "out")
    check(out.endswith(body), "node's captured request does not end with its body")
    peer_port = port_of(m["local"])
    same(out, srv.logged(peer_port, "in"), "node's captured out vs bytes the server received")
    same(cap.stream(c, "in"), srv.logged(peer_port, "out"), "node's captured in vs bytes the server sent")


@test
def test_connection_opened_before_tlstap(tmp):
    srv = EchoServer(tmp)
    try:
        cli = subprocess.Popen([PY, os.path.join(HERE, "tls_client.py"), "--mode", "held",
                                "--port", str(srv.port), "--size", str(300000), "--log", tmp],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        ready = cli.stdout.readline().split()
        check(ready and ready[0] == b"ready", "held client did not connect")
        local_port, fd = int(ready[1]), int(ready[2])
        tr = Tracer(tmp)
        cli.stdin.write(b"go\n")
        cli.stdin.flush()
        check(cli.stdout.readline().strip() == b"done", "second exchange failed")
        time.sleep(0.3)
        tr.stop()
        cli.stdin.write(b"bye\n")
        cli.stdin.flush()
        cli.wait(10)
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    conns = cap.conns(pid=cli.pid)
    check(len(conns) == 1, "want 1 client connection, got %d" % len(conns))
    c = conns[0]
    m = cap.meta[c]
    check(m["local"] == "127.0.0.1:%d" % local_port, "local %s, want port %d" % (m["local"], local_port))
    check(m["remote"] == "127.0.0.1:%d" % srv.port, "remote %s" % m["remote"])
    check(m["fd"] == fd, "fd %s, want %d" % (m["fd"], fd))
    with open(os.path.join(tmp, "held.out"), "rb") as f:
        sent = f.read()
    with open(os.path.join(tmp, "held.in"), "rb") as f:
        received = f.read()
    same(cap.stream(c, "out"), sent, "captured out vs what the client sent after tlstap started")
    same(cap.stream(c, "in"), received, "captured in vs what the client received after tlstap started")
    # The server was already blocked inside SSL_read_ex when tlstap attached:
    # a call in progress at attach time has no return probe, so the server's
    # capture starts with its next call. It must be the exact tail of what the
    # client sent, short by at most that one call (one TLS record).
    peer = cap.peer_of(c)
    check(peer is not None, "the server's end of the held connection was not captured")
    srv_in = cap.stream(peer, "in")
    check(sent.endswith(srv_in) and len(sent) - len(srv_in) <= 16384,
          "server captured %s, not the tail of the client's %s" % (short(srv_in), short(sent)))
    same(cap.stream(peer, "out"), received, "server's captured out vs what the client received")


def busy_message(t, i):
    m = b"t%02d msg %010d " % (t, i)
    return m + b"." * (32 - len(m) - 1) + b"\n"


def check_busy_stream(got, t, noted, count, what):
    """got must be messages k..count-1 of thread t, whole and in order, with
    k no later than the first round trip begun after the probes were live."""
    check(len(got) % 32 == 0 and got, "%s: %d bytes, not whole 32-byte messages" % (what, len(got)))
    first = got[:32]
    m = re.match(rb"t(\d\d) msg (\d{10}) ", first)
    check(m and int(m.group(1)) == t, "%s: starts with %r" % (what, first))
    k = int(m.group(2))
    # Round trip `noted` may have begun before tlstap attached, and the server
    # may already have been waiting in its read of the next one: nothing
    # later may be missing.
    check(k <= noted + 2, "%s: capture starts at message %d, but round trips from %d on began "
          "after tlstap was tracing" % (what, k, noted + 1))
    want = b"".join(busy_message(t, i) for i in range(k, count))
    same(got, want, "%s: messages %d..%d" % (what, k, count - 1))
    return count - k


@test
def test_started_while_threads_are_busy_misses_nothing_after(tmp):
    """tlstap starts while four threads of one process are in tight TLS round
    trips: every thread, at both ends, is captured whole from its first call
    after the probes were attached to the end."""
    srv = subprocess.Popen([PY, os.path.join(HERE, "busy_echo.py"), "server", "--cert", CERT, "--key", KEY],
                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    RUNNING.append(srv)
    port = int(srv.stdout.readline())
    cli = subprocess.Popen([PY, os.path.join(HERE, "busy_echo.py"), "client", "--port", str(port),
                            "--threads", "4"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    RUNNING.append(cli)
    try:
        check(cli.stdout.readline().strip() == b"started", "busy client did not start")
        time.sleep(0.5)     # every thread in its loop before tlstap starts
        tr = Tracer(tmp)
        cli.send_signal(signal.SIGUSR1)     # what each thread had done when tracing began
        time.sleep(2)
        cli.stdin.write(b"stop\n")
        cli.stdin.flush()
        res = json.loads(cli.stdout.readline())
        cli.wait(10)
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.kill()
        srv.wait()
    check(not res["errors"], "client: %s" % res["errors"])
    cap = Capture(tr.events())
    check(tr.rc == 0 and not cap.gaps, "rc %d, gaps %s" % (tr.rc, cap.gaps[:3]))
    total = 0
    for t, th in enumerate(res["threads"]):
        check(th["noted"] is not None and th["count"] > th["noted"] + 50,
              "thread %d did too little while traced: %s" % (t, th))
        local = "127.0.0.1:%d" % th["port"]
        mine = [c for c in cap.conns(pid=cli.pid) if cap.meta[c]["local"] == local]
        check(len(mine) == 1, "thread %d (port %d): %d client connections captured"
              % (t, th["port"], len(mine)))
        c = mine[0]
        peer = cap.peer_of(c)
        check(peer is not None and srv.pid in cap.meta[peer]["pids"],
              "thread %d: the server's end was not captured" % t)
        for conn, d, who in ((c, "out", "client sent"), (c, "in", "client received"),
                             (peer, "in", "server received"), (peer, "out", "server sent")):
            total += check_busy_stream(cap.stream(conn, d), t, th["noted"], th["count"],
                                       "thread %d, %s" % (t, who))
    stats = [e for e in cap.events if e["type"] == "stats"][0]
    check(stats["lost_bytes"] == 0 and stats["ring_full_records"] == 0, "losses: %s" % stats)


def stream_extent(events, conn, d):
    """Bytes delivered and bytes reported lost in one stream, checked to tile it from 0."""
    parts = sorted([(e["pos"], e["len"], "data") for e in events
                    if e["type"] == "data" and e["conn"] == conn and e["dir"] == d] +
                   [(e["pos"], e["len"], "gap") for e in events
                    if e["type"] == "gap" and e["conn"] == conn and e["dir"] == d])
    at = data = lost = 0
    for pos, n, kind in parts:
        check(pos == at, "conn %d %s: %s at %d after %d (unreported hole or overlap)" % (conn, d, kind, pos, at))
        at += n
        if kind == "data":
            data += n
        else:
            lost += n
    return at, data, lost


@test_in("auto")
def test_bytes_that_never_reached_a_ring_are_a_gap_at_exit_and_at_stop(tmp):
    """The collector is stopped (SIGSTOP) while a client reads 4 MiB, so its
    128 KiB ring overflows. Whether tlstap stops first or the client exits
    without closing, every byte the client sent and received is either
    captured or inside a reported gap, up to the last one."""
    srv = EchoServer(tmp)
    try:
        for ending in ("tlstap stops", "client killed"):
            cli = subprocess.Popen([PY, os.path.join(HERE, "tls_client.py"), "--mode", "held",
                                    "--port", str(srv.port), "--size", str(4 << 20), "--log", tmp],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
            RUNNING.append(cli)
            check(cli.stdout.readline().startswith(b"ready"), "held client did not connect")
            tr = Tracer(tmp, ["-B", "128", "-p", str(cli.pid)])
            tr.proc.send_signal(signal.SIGSTOP)
            try:
                cli.stdin.write(b"go\n")
                cli.stdin.flush()
                check(cli.stdout.readline().strip() == b"done", "exchange failed")
                if ending == "client killed":
                    cli.kill()      # exits without close(): only the exit is seen
                    cli.wait(10)
            finally:
                tr.proc.send_signal(signal.SIGCONT)
            time.sleep(0.5)
            tr.stop()
            if cli.poll() is None:
                cli.stdin.write(b"bye\n")
                cli.stdin.flush()
                cli.wait(10)
            check(tr.rc == 0, "%s: tlstap exited %d: %s" % (ending, tr.rc, tr.stderr))
            with open(os.path.join(tmp, "held.out"), "rb") as f:
                sent = f.read()
            with open(os.path.join(tmp, "held.in"), "rb") as f:
                received = f.read()
            evs = tr.events()
            conns = sorted({e["conn"] for e in evs if e["type"] == "data" and e["pid"] == cli.pid})
            check(len(conns) == 1, "%s: want one connection, got %s" % (ending, conns))
            total_lost = 0
            for d, truth in (("out", sent), ("in", received)):
                at, data, lost = stream_extent(evs, conns[0], d)
                check(at == len(truth), "%s: %s stream accounted to %d bytes (%d captured, %d in gaps), "
                      "but %d were %s" % (ending, d, at, data, lost, len(truth),
                                         "sent" if d == "out" else "received"))
                total_lost += lost
            check(total_lost > 0, "%s: no loss was forced" % ending)
            stats = [e for e in evs if e["type"] == "stats"][0]
            check(stats["lost_bytes"] == total_lost, "%s: stats say %d lost, gaps %d"
                  % (ending, stats["lost_bytes"], total_lost))
    finally:
        srv.stop()


@test
def test_call_left_by_longjmp_costs_that_call_only(tmp):
    """A TLS call left by siglongjmp never returns; the same call site calls
    again at the same stack pointer on the same session. That next call and
    all after it are captured; the one that never returned is counted."""
    lib = os.path.join(tmp, "libssl.so.99")
    prog = os.path.join(tmp, "longjmp_reader")
    for cmd in (["gcc", "-O1", "-shared", "-fPIC", "-o", lib, os.path.join(HERE, "fake_libssl.c")],
                ["gcc", "-O1", "-o", prog, os.path.join(HERE, "longjmp_reader.c"), lib,
                 "-Wl,-rpath," + tmp]):
        r = subprocess.run(cmd, capture_output=True)
        check(r.returncode == 0, "cannot build the test program: %s" % r.stderr.decode())
    p = subprocess.Popen([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    RUNNING.append(p)
    check(p.stdout.readline().strip() == b"ready", "the reader did not start")
    tr = Tracer(tmp, ["-p", str(p.pid), "-l", lib])
    p.stdin.write(b"go\n")
    p.stdin.flush()
    check(p.stdout.readline().strip() == b"done", "the reader failed")
    time.sleep(0.3)
    tr.stop()
    p.stdin.write(b"bye\n")
    p.stdin.flush()
    p.wait(10)
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    cap = Capture(tr.events())
    conns = cap.conns(pid=p.pid)
    check(len(conns) == 1, "want one connection, got %s" % conns)
    got = cap.stream(conns[0], "in")
    want = b"".join(b"message %02d ....................." % i for i in range(20) if i != 5)
    same(got, want, "captured reads (all but the one left by longjmp)")
    stats = [e for e in cap.events if e["type"] == "stats"][0]
    check(stats["unfinished_calls"] == 1 and stats["untraced_calls"] == 1 and stats["lost_bytes"] == 0,
          "want exactly the one call counted: %s" % stats)


@test
def test_pid_filter_captures_only_that_process(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid)])
        for _ in range(2):
            cli = subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib",
                                  "--port", str(srv.port), "--size", "50000", "--log", tmp], timeout=60)
            check(cli.returncode == 0, "python client failed")
        curl = subprocess.run(["curl", "-sk", "--data-binary", "hello from curl",
                               "https://127.0.0.1:%d/curl" % srv.port], capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout == b"hello from curl", "curl against echo failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(cap.meta, "nothing captured")
    for conn, m in cap.meta.items():
        check(m["pids"] == {srv.pid}, "conn %d belongs to %s, not only the server" % (conn, m["pids"]))
    check(len(cap.meta) == 3, "want the server's 3 connections, got %d" % len(cap.meta))
    for conn, m in cap.meta.items():
        peer_port = port_of(m["remote"])
        same(cap.stream(conn, "in"), srv.logged(peer_port, "in"), "server in, conn %d" % conn)
        same(cap.stream(conn, "out"), srv.logged(peer_port, "out"), "server out, conn %d" % conn)


@test
def test_snaplen_counts_what_it_leaves_out(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp, ["-s", "100", "-p", str(srv.pid)])
        cli = subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib",
                              "--port", str(srv.port), "--size", "200000", "--log", tmp], timeout=60)
        check(cli.returncode == 0, "python client failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    evs = tr.events()
    check(tr.rc == 0, "tlstap failed")
    datas = [e for e in evs if e["type"] == "data"]
    gaps = [e for e in evs if e["type"] == "gap"]
    check(datas and all(e["len"] <= 100 for e in datas), "a data event longer than the snaplen")
    check(gaps and all(g["reason"] == "snaplen" for g in gaps), "snaplen gaps missing")
    conn = datas[0]["conn"]
    port = port_of(datas[0]["remote"])
    for d in ("in", "out"):
        truth = srv.logged(port, d)
        captured = sum(e["len"] for e in datas if e["dir"] == d)
        skipped = sum(g["len"] for g in gaps if g["dir"] == d)
        check(captured + skipped == len(truth), "%s: %d captured + %d skipped != %d moved"
              % (d, captured, skipped, len(truth)))
        # Each captured chunk holds exactly the bytes at its position.
        for e in datas:
            if e["dir"] == d and e["conn"] == conn:
                check(base64.b64decode(e["data"]) == truth[e["pos"]:e["pos"] + e["len"]],
                      "snapped chunk at pos %d is not the bytes at that position" % e["pos"])
    stats = [e for e in evs if e["type"] == "stats"][0]
    check(stats["snaplen_bytes"] == sum(g["len"] for g in gaps), "stats snaplen_bytes wrong")


@test_in("auto")
def test_count_and_duration_stop_by_themselves(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp, ["-c", "3", "-p", str(srv.pid)])
        for _ in range(3):
            subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib",
                            "--port", str(srv.port), "--size", "1000", "--log", tmp], timeout=60)
        check(tr.proc.wait(20) == 0, "tlstap -c 3 did not exit 0 by itself")
        tr.stop()
        check(len([e for e in tr.events() if e["type"] == "data"]) == 3, "-c 3 printed another count")
        start = time.time()
        d = subprocess.run([TLSTAP, "-d", "1.5", "-o", "none"], capture_output=True, timeout=30)
        took = time.time() - start
        check(d.returncode == 0, "tlstap -d failed: %s" % d.stderr)
        check(1.4 < took < 15, "tlstap -d 1.5 took %.1f s" % took)
    finally:
        srv.stop()


@test
def test_sigterm_drains_and_summarises(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid)])
        subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib",
                        "--port", str(srv.port), "--size", "100000", "--log", tmp], timeout=60)
        rc = tr.stop(signal.SIGTERM)
    finally:
        srv.stop()
    check(rc == 0, "SIGTERM exit status %d" % rc)
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(cap.events[-1]["type"] == "stats", "stats is not the last line")


@test_in("auto")
def test_stop_is_honoured_while_nobody_reads_stdout(tmp):
    """stdout is a pipe or a socket (a journal) that nobody reads, and it is
    full: SIGINT still stops tlstap promptly, with its summary on stderr and
    what it could not write said, for the text views and for -w -."""
    srv = EchoServer(tmp)
    try:
        for args, kind, said in ((["-o", "hex"], "pipe", r"^tlstap: \d+ bytes of output were dropped"),
                                 (["-o", "hex"], "socket", r"^tlstap: \d+ bytes of output were dropped"),
                                 (["-w", "-"], "pipe", r"^tlstap: cannot write -: its reader took nothing")):
            if kind == "pipe":
                r, w = os.pipe()
            else:
                r, w = socket.socketpair()
                r, w = r.detach(), w.detach()
            p = subprocess.Popen([TLSTAP, "-p", str(srv.pid)] + args, stdout=w,
                                 stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            RUNNING.append(p)
            os.close(w)
            try:
                line = p.stderr.readline().decode()
                check(line.startswith("tlstap: tracing"), "did not start: %r" % line)
                # 1 MiB each way is ~9 MB as a hexdump, 2 MB as pcapng: more than the
                # pipe or socket and tlstap's buffers hold, so tlstap blocks on stdout.
                subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib", "--port",
                                str(srv.port), "--size", str(1 << 20), "--log", tmp], timeout=60, check=True)
                time.sleep(0.5)
                p.send_signal(signal.SIGINT)
                try:
                    rc = p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    raise Fail("%s to a %s: tlstap did not stop within 10 s of SIGINT while stdout was "
                               "full" % (" ".join(args), kind))
                err = p.stderr.read().decode()
            finally:
                os.close(r)
            what = "%s to a %s" % (" ".join(args), kind)
            check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", err, re.M),
                  "%s: no summary: %r" % (what, err))
            check(re.search(said, err, re.M) and rc == 1,
                  "%s: rc %d, what was not written is not said: %r" % (what, rc, err))
    finally:
        srv.stop()


@test
def test_text_and_hex_output(tmp):
    srv = EchoServer(tmp)
    try:
        tt = Tracer(tmp, ["-p", str(srv.pid), "--raw"], out="text")
        th = Tracer(tmp, ["-p", str(srv.pid)], out="hex")
        curl = subprocess.run(["curl", "-sk", "--data-binary", "line one\nline two",
                               "https://127.0.0.1:%d/t" % srv.port], capture_output=True, timeout=60)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.3)
        tt.stop()
        th.stop()
    finally:
        srv.stop()
    text = tt.raw.decode()
    func = funcs_for("SSL_read_ex", "ssl_read_internal")
    check(re.search(r"^\d\d:\d\d:\d\d\.\d{6} python3\[%d/\d+\] openssl %s 127\.0\.0\.1:%d <- "
                    r"127\.0\.0\.1:\d+ in \d+ bytes conn \d+ pos 0$" % (srv.pid, func, srv.port), text, re.M),
          "text header missing or malformed:\n" + text[:500])
    check("\n  POST /t HTTP/1.1\n" in text and "\n  line one\n  line two" in text,
          "text payload missing or not indented:\n" + text[:500])
    hexout = th.raw.decode()
    check(re.search(r"^  00000000  50 4f 53 54 20 2f 74 20 ", hexout, re.M), "hex dump missing:\n" + hexout[:400])


@test
def test_no_state_left_for_dead_processes(tmp):
    """Per-thread and per-process BPF state goes away with the threads and processes."""
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp)
        started = {}
        for i in range(12):
            c = subprocess.Popen(["curl", "-sk", "--data-binary", "x" * 100, "https://127.0.0.1:%d/%d"
                                  % (srv.port, i)], stdout=subprocess.DEVNULL)
            c.wait(30)
            started[c.pid] = "curl"
        n = subprocess.Popen(["node", os.path.join(HERE, "node_client.js"), str(srv.port), "1000",
                              os.path.join(tmp, "n.body")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started[n.pid] = "node"
        n.communicate(b"go\n", timeout=30)
        time.sleep(1.0)
        shown = subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True, timeout=30)
        newest = {}
        for m in json.loads(shown.stdout):
            if m.get("name") and m["id"] > newest.get(m["name"], -1):
                newest[m["name"]] = m["id"]
        dead = []
        for name in ("active_calls", "traced_pids", "conns", "fd_sessions", "membio_pids",
                     "last_read_fd", "pending_write"):
            check(name in newest, "no BPF map %s loaded" % name)
            out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(newest[name])],
                                 capture_output=True, timeout=30)
            check(out.returncode == 0, "bpftool cannot dump %s: %s" % (name, out.stderr))
            entries = json.loads(out.stdout)
            if name == "active_calls":
                check(entries == [], "threads left in active_calls: %s" % entries)
                continue
            for entry in entries:
                key = entry.get("formatted", entry)["key"]
                ident = key if isinstance(key, int) else key.get("pid")
                # pids (tgids) and tids alike appear under /proc while alive.
                if not os.path.exists("/proc/%d" % ident):
                    dead.append((name, ident, started.get(ident, "?")))
        tr.stop()
    finally:
        srv.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    check(len([e for e in tr.events() if e["type"] == "close"]) >= 13, "closes missing")
    check(not dead, "state left for dead processes or threads: %s" % dead)


@test
def test_ipv6_with_comm_filter(tmp):
    srv = EchoServer(tmp, host="::1")
    try:
        tr = Tracer(tmp, ["--comm", "curl"])
        body = os.urandom(40000)
        with open(os.path.join(tmp, "body"), "wb") as f:
            f.write(body)
        curl = subprocess.run(["curl", "-sk", "--data-binary", "@" + os.path.join(tmp, "body"),
                               "https://[::1]:%d/v6" % srv.port], capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout == body, "curl over IPv6 failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(len(cap.meta) == 1, "--comm curl: want only curl's connection, got %d" % len(cap.meta))
    conn, m = list(cap.meta.items())[0]
    check(m["comm"] == "curl", "--comm curl captured %s" % m["comm"])
    check(m["remote"] == "[::1]:%d" % srv.port, "IPv6 remote is %s" % m["remote"])
    check(re.match(r"^\[::1\]:\d+$", m["local"] or ""), "IPv6 local is %s" % m["local"])
    peer_port = port_of(m["local"])
    same(cap.stream(conn, "out"), srv.logged(peer_port, "in"), "curl out vs server in (IPv6)")
    same(cap.stream(conn, "in"), srv.logged(peer_port, "out"), "curl in vs server out (IPv6)")


@test
def test_uid_filter(tmp):
    srv = EchoServer(tmp)
    logdir = os.path.join(tmp, "nobody")
    os.makedirs(logdir)
    os.chmod(tmp, 0o755)
    os.chmod(logdir, 0o777)

    def as_nobody():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    try:
        tr = Tracer(tmp, ["--uid", "65534"])
        client = world_readable_copy(tmp, os.path.join(HERE, "tls_client.py"))
        cli = subprocess.run([PY, client, "--mode", "urllib",
                              "--port", str(srv.port), "--size", "30000", "--log", logdir],
                             preexec_fn=as_nobody, timeout=60)
        check(cli.returncode == 0, "client as nobody failed")
        root_cli = subprocess.run(["curl", "-sk", "--data-binary", "as root",
                                   "https://127.0.0.1:%d/root" % srv.port], capture_output=True, timeout=60)
        check(root_cli.returncode == 0, "curl as root failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(len(cap.meta) == 1, "--uid 65534: want only nobody's connection, got %d" % len(cap.meta))
    conn, m = list(cap.meta.items())[0]
    peer_port = port_of(m["local"])
    same(cap.stream(conn, "out"), srv.logged(peer_port, "in"), "nobody's out vs server in")


@test
def test_nested_tls_through_https_proxy(tmp):
    """curl's TLS session with the server runs inside its TLS session with the proxy."""
    srv = EchoServer(tmp)
    proxy = subprocess.Popen([PY, os.path.join(HERE, "tls_connect_proxy.py"), "--cert", CERT,
                              "--key", KEY], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        pport = int(proxy.stdout.readline())
        tr = Tracer(tmp, ["--comm", "curl"])
        body = os.urandom(100000)
        with open(os.path.join(tmp, "body"), "wb") as f:
            f.write(body)
        curl = subprocess.run(["curl", "-sk", "--proxy-insecure", "-x", "https://127.0.0.1:%d" % pport,
                               "--data-binary", "@" + os.path.join(tmp, "body"),
                               "https://127.0.0.1:%d/nested" % srv.port], capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout == body, "curl through the proxy failed: %s"
              % curl.stderr)
        time.sleep(0.3)
        tr.stop()
    finally:
        proxy.kill()
        proxy.wait()
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(len(cap.meta) == 2, "want curl's 2 sessions (proxy, server), got %d" % len(cap.meta))
    inner = [c for c in cap.meta if cap.stream(c, "out").startswith(b"POST /nested ")]
    outer = [c for c in cap.meta if cap.stream(c, "out").startswith(b"CONNECT 127.0.0.1:%d" % srv.port)]
    check(len(inner) == 1 and len(outer) == 1, "inner and outer sessions not both captured")
    i, o = inner[0], outer[0]
    # Both run over curl's one TCP connection to the proxy.
    check(port_of(cap.meta[i]["remote"]) == pport and cap.meta[i]["local"] == cap.meta[o]["local"],
          "inner session not attributed to the proxy socket: %s" % cap.meta[i])
    check(cap.stream(i, "out").endswith(body), "inner request body not captured whole")
    echo_logs = os.listdir(srv.log)
    check(len([n for n in echo_logs if n.endswith(".in")]) == 1, "echo server saw another count of connections")
    port = int(echo_logs[0].split(".")[0])
    same(cap.stream(i, "out"), srv.logged(port, "in"), "curl's inner out vs what the server received")
    same(cap.stream(i, "in"), srv.logged(port, "out"), "curl's inner in vs what the server sent")


class GnutlsServ:
    """gnutls-serv (GnuTLS server) on a free port: --http with a file, or --echo."""

    def __init__(self, tmp, args):
        self.port = free_port()
        self.proc = subprocess.Popen(["gnutls-serv", "-p", str(self.port), "--x509certfile", CERT,
                                      "--x509keyfile", KEY] + args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        wait_port(self.port)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)


@test
def test_gnutls_wget_from_nginx_1mib(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    body = os.urandom(1 << 20)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(body)
    ngx = Nginx(tmp, root)
    try:
        tr = Tracer(tmp)
        got = os.path.join(tmp, "got.bin")
        wget = subprocess.Popen(["wget", "-q", "--no-check-certificate", "-O", got,
                                 "https://127.0.0.1:%d/big.bin" % ngx.port])
        check(wget.wait(60) == 0, "wget failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    conns = cap.conns(pid=wget.pid)
    check(len(conns) == 1, "want 1 wget connection, got %d" % len(conns))
    c = conns[0]
    want = funcs_for({"gnutls_record_send", "gnutls_record_recv"}, {"gnutls_record_send2", "gnutls_record_recv"})
    check(cap.meta[c]["funcs"] == want, "wget's functions: %s, want %s" % (cap.meta[c]["funcs"], want))
    evs = [e for e in cap.events if e["type"] == "data" and e["conn"] == c]
    check(all(e["lib"] == "gnutls" for e in evs), "lib is not gnutls")
    with open(got, "rb") as f:
        check(f.read() == body, "wget's own download differs")
    head, _, rbody = cap.stream(c, "in").partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "no status line captured")
    same(rbody, body, "wget's captured body vs the file")
    peer = both_ends(cap, c, "wget/nginx")
    check(cap.meta[peer]["comm"] == "nginx", "the other end is not nginx")


@test
def test_gnutls_serv_http_to_curl(tmp):
    body = os.urandom(300000)
    page = os.path.join(tmp, "page.bin")
    with open(page, "wb") as f:
        f.write(body)
    srv = GnutlsServ(tmp, ["--http", "--httpdata", page])
    try:
        tr = Tracer(tmp)
        curl = subprocess.run(["curl", "-sk", "https://127.0.0.1:%d/" % srv.port],
                              capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout == body, "curl from gnutls-serv failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    sconns = cap.conns(pid=srv.pid)
    check(len(sconns) == 1, "want 1 gnutls-serv connection, got %d" % len(sconns))
    s = sconns[0]
    check(all(e["lib"] == "gnutls" for e in cap.events if e["type"] == "data" and e["conn"] == s),
          "server events not marked gnutls")
    check(cap.stream(s, "out").endswith(body), "server's captured out does not end with the page")
    check(cap.stream(s, "in").startswith(b"GET / HTTP/1.1"), "server's captured request wrong")
    peer = both_ends(cap, s, "gnutls-serv/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")


@test
def test_gnutls_cli_line_to_echo_server(tmp):
    srv = GnutlsServ(tmp, ["--echo"])
    try:
        tr = Tracer(tmp)
        # Not HTTP: the default text view must fall back to the raw bytes.
        tt = Tracer(tmp, [], out="text")
        cli = subprocess.Popen(["gnutls-cli", "--insecure", "-p", str(srv.port), "127.0.0.1"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        line = b"tlstap line %d\n" % os.getpid()
        cli.stdin.write(line)
        cli.stdin.flush()
        seen = b""
        end = time.time() + 20
        while line.strip() not in seen and time.time() < end:
            r, _, _ = select.select([cli.stdout], [], [], 1)
            if r:
                chunk = os.read(cli.stdout.fileno(), 65536)
                if not chunk:
                    break
                seen += chunk
        check(line.strip() in seen, "gnutls-cli did not get the echo")
        cli.stdin.close()
        cli.wait(20)
        time.sleep(0.3)
        tr.stop()
        tt.stop()
    finally:
        srv.stop()
    text = tt.raw.decode(errors="replace")
    check(text.count(line.decode().strip()) >= 4,
          "text view does not show the non-HTTP line raw from both ends, both ways:\n" + text[:800])
    cap = Capture(tr.events())
    no_loss(tr, cap)
    conns = cap.conns(pid=cli.pid)
    check(len(conns) == 1, "want 1 gnutls-cli connection, got %d" % len(conns))
    c = conns[0]
    same(cap.stream(c, "out"), line, "gnutls-cli's captured out vs the line it was given")
    same(cap.stream(c, "in"), line, "gnutls-cli's captured in vs the echo")
    peer = both_ends(cap, c, "gnutls-cli/gnutls-serv")
    check(srv.pid in cap.meta[peer]["pids"], "the other end is not gnutls-serv")


@test
def test_both_libraries_in_one_call_counted_once(tmp):
    """GnuTLS's OpenSSL layer: SSL_write calls gnutls_record_send on the same bytes."""
    srv = GnutlsServ(tmp, ["--echo"])
    try:
        cli = subprocess.Popen([PY, os.path.join(HERE, "gnutls_compat_client.py"), str(srv.port),
                                "compat line"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(cli.stdout.readline().strip() == b"ready", "compat client did not connect")
        tr = Tracer(tmp, ["-p", str(cli.pid), "-v"])
        cli.stdin.write(b"go\n")
        cli.stdin.flush()
        check(cli.stdout.readline().strip() == b"done", "compat client failed")
        cli.wait(10)
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    check("libgnutls-openssl" in tr.stderr and "gnutls_record_send" in tr.stderr,
          "both libraries were not probed:\n" + tr.stderr)
    cap = Capture(tr.events())
    no_loss(tr, cap)
    check(len(cap.meta) == 1, "want one connection, got %d: %s" % (len(cap.meta), cap.meta))
    c = list(cap.meta)[0]
    same(cap.stream(c, "out"), b"compat line\n", "out captured once")
    same(cap.stream(c, "in"), b"compat line\n", "in captured once")


def in_private_mount_ns(tmp, lib_path, argv):
    """argv in a new mount namespace where lib_path is a copy (another inode)."""
    copy = os.path.join(tmp, os.path.basename(lib_path) + ".copy")
    shutil.copy2(lib_path, copy)
    script = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                             copy, lib_path] + argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)


@test
def test_libraries_in_other_mount_namespaces(tmp):
    """A process whose libssl/libgnutls is another file, visible only in its namespace."""
    libssl = os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3")
    libgnutls = os.path.realpath("/usr/lib/x86_64-linux-gnu/libgnutls.so.30")
    srv = EchoServer(tmp)
    gsrv = GnutlsServ(tmp, ["--echo"])
    procs = []
    try:
        held = in_private_mount_ns(tmp, libssl, [PY, os.path.join(HERE, "tls_client.py"), "--mode",
                                                 "held", "--port", str(srv.port), "--size", "5000",
                                                 "--log", tmp])
        procs.append(held)
        check(held.stdout.readline().startswith(b"ready"), "namespaced python client did not connect")
        gcli = in_private_mount_ns(tmp, libgnutls, ["gnutls-cli", "--insecure", "-p", str(gsrv.port),
                                                    "127.0.0.1"])
        procs.append(gcli)
        time.sleep(1.5)     # handshake done; gnutls-cli waits on stdin
        for p, lib in ((held, libssl), (gcli, libgnutls)):
            maps = open("/proc/%d/maps" % p.pid).read()
            check(os.path.basename(lib) in maps, "%s does not map %s" % (p.pid, lib))
        tr = Tracer(tmp, ["-v"])
        held.stdin.write(b"go\n")
        held.stdin.flush()
        check(held.stdout.readline().strip() == b"done", "namespaced python exchange failed")
        gcli.stdin.write(b"namespaced gnutls\n")
        gcli.stdin.flush()
        time.sleep(1.0)
        tr.stop()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        srv.stop()
        gsrv.stop()
    check("/proc/%d/root" % held.pid in tr.stderr and "/proc/%d/root" % gcli.pid in tr.stderr,
          "the namespaced copies were not probed:\n" + tr.stderr)
    cap = Capture(tr.events())
    no_loss(tr, cap)
    hc = cap.conns(pid=held.pid)
    check(len(hc) == 1, "namespaced OpenSSL client: %d connections" % len(hc))
    with open(os.path.join(tmp, "held.out"), "rb") as f:
        same(cap.stream(hc[0], "out"), f.read(), "namespaced OpenSSL client's out")
    gc = cap.conns(pid=gcli.pid)
    check(len(gc) == 1, "namespaced GnuTLS client: %d connections" % len(gc))
    same(cap.stream(gc[0], "out"), b"namespaced gnutls\n", "namespaced GnuTLS client's out")
    same(cap.stream(gc[0], "in"), b"namespaced gnutls\n", "namespaced GnuTLS client's in")


@test_in("auto")
def test_openssl_s_server_www_through_the_ssl_bio(tmp):
    """s_server -WWW reads and writes through an SSL BIO, never SSL_read/SSL_write:
    only the internal placement sees its side."""
    www = os.path.join(tmp, "www")
    os.makedirs(www)
    body = os.urandom(200000)
    with open(os.path.join(www, "file.bin"), "wb") as f:
        f.write(body)
    port = free_port()
    srv = subprocess.Popen(["openssl", "s_server", "-WWW", "-accept", "127.0.0.1:%d" % port, "-cert", CERT,
                            "-key", KEY, "-quiet"], cwd=www, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        tr = Tracer(tmp)
        curl = subprocess.run(["curl", "-sk", "https://127.0.0.1:%d/file.bin" % port],
                              capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout == body, "curl from s_server failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.kill()
        srv.wait()
    cap = Capture(tr.events())
    no_loss(tr, cap)
    sconns = cap.conns(pid=srv.pid)
    check(len(sconns) == 1, "want s_server's connection captured, got %d" % len(sconns))
    s_ = sconns[0]
    check(cap.meta[s_]["funcs"] == {"ssl_read_internal", "ssl_write_internal"},
          "s_server's functions: %s" % cap.meta[s_]["funcs"])
    check(cap.stream(s_, "out").endswith(body), "s_server's captured out does not end with the file")
    peer = both_ends(cap, s_, "s_server/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")


@test_in("auto")
def test_list_targets_explains_placement(tmp):
    p = subprocess.run([TLSTAP, "--list-targets"], capture_output=True, timeout=30)
    out = p.stdout.decode()
    check(p.returncode == 0, "--list-targets failed")
    check(re.search(r"libssl\.so\.3\s.*\n\tversion: OpenSSL 3\.0/3\.1.*\n\tplacement: internal functions",
                    out), "libssl.so.3 not placed on its internal functions:\n" + out)
    check("ssl_read_internal" in out and "ssl_write_internal" in out, "internal points not listed")
    check("gnutls_record_send only jumps to gnutls_record_send2" in out, "GnuTLS placement not explained")
    p = subprocess.run([TLSTAP, "--list-targets", "--probe-mode", "exported"], capture_output=True, timeout=30)
    out = p.stdout.decode()
    check("ssl_read_internal" not in out and "\tSSL_read\t" in out, "--probe-mode exported not honoured")


@test_in("auto")
def test_list_targets_escapes_names_others_choose(tmp):
    """A libssl copy at a path with an escape sequence and a newline, mapped by a process whose
    comm has them too: --list-targets, -v and error lines show them as \\xNN, never raw."""
    d = os.path.join(tmp, "evil\x1b[31m\nname")
    os.makedirs(d)
    lib = os.path.join(d, "libssl.so.3")
    shutil.copy(os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3"), lib)
    code = ("import ctypes, sys\n"
            "ctypes.CDLL(None).prctl(15, b'ev\\x1b[2Jil\\r', 0, 0, 0)\n"
            "ctypes.CDLL(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    p = subprocess.Popen([PY, "-c", code, lib], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        check(p.stdout.readline().startswith(b"ready"), "the process did not load the copy")
        r = subprocess.run([TLSTAP, "--list-targets", "-v"], capture_output=True, timeout=60)
    finally:
        p.kill()
        p.wait()
    check(r.returncode == 0, "--list-targets failed: %r" % r.stderr)
    # The path as /proc/PID/maps gives it: the kernel writes a newline there as \\012.
    want_path = (d.replace("\x1b", "\\x1b").replace("\n", "\\\\012") + "/libssl.so.3").encode()
    want_origin = ("mapped by ev\\x1b[2Jil\\x0d[%d]" % p.pid).encode()
    lines = [line for line in r.stdout.split(b"\n") if want_path in line]
    check(len(lines) == 1 and want_origin in lines[0],
          "the copy is not listed escaped:\n%r" % r.stdout)
    check(any(want_path in line and want_origin in line for line in r.stderr.split(b"\n")),
          "-v does not name the copy escaped:\n%r" % r.stderr)
    for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        check(b"\x1b" not in text and b"\r" not in text, "a raw control byte on %s: %r" % (name, text))
    # Named with -l: the path as given, its newline escaped like any control byte.
    r = subprocess.run([TLSTAP, "--list-targets", "-l", lib], capture_output=True, timeout=60)
    want_path = (d.replace("\x1b", "\\x1b").replace("\n", "\\x0a") + "/libssl.so.3").encode()
    check(r.returncode == 0 and r.stdout.startswith(b"openssl\t" + want_path + b"\t--lib\n"),
          "-l: the copy is not listed escaped: %r" % r.stdout)
    check(b"\x1b" not in r.stdout, "a raw ESC with -l: %r" % r.stdout)
    # An error line naming a file that is not ELF.
    bad = os.path.join(d, "x\x1b]0;title\x07")
    with open(bad, "w") as f:
        f.write("not ELF\n")
    r = subprocess.run([TLSTAP, "--list-targets", "-l", bad], capture_output=True, timeout=60)
    check(r.returncode == 2, "-l on a text file: exit %d" % r.returncode)
    check(b"x\\x1b]0;title\\x07 is not an ELF" in r.stderr and b"\x1b" not in r.stderr
          and b"\x07" not in r.stderr, "the error line is not escaped: %r" % r.stderr)


@test_in("auto")
def test_hung_fuse_file_does_not_hang_the_search(tmp):
    """A process maps a libssl from a FUSE file system whose server then stops answering, as a dead
    network or FUSE server does: the system-wide search skips that file without asking the server,
    says so, and still finds the rest."""
    mnt = os.path.join(tmp, "fuse")
    os.mkdir(mnt)
    libssl = os.path.realpath("/usr/lib/x86_64-linux-gnu/libssl.so.3")
    srv = subprocess.Popen([PY, os.path.join(HERE, "hung_fuse.py"), mnt, "libssl.so.3", libssl],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cli = None
    try:
        check(srv.stdout.readline().startswith(b"ready"), "the FUSE server did not mount")
        code = "import ctypes, sys\nctypes.CDLL(sys.argv[1])\nprint('ready', flush=True)\nsys.stdin.read()\n"
        cli = subprocess.Popen([PY, "-c", code, os.path.join(mnt, "libssl.so.3")], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
        check(cli.stdout.readline().startswith(b"ready"), "the process did not load libssl from FUSE")
        srv.stdin.write(b"hang\n")
        srv.stdin.flush()
        check(srv.stdout.readline().startswith(b"hung"), "the FUSE server did not stop answering")
        runs = []
        # Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, /proc/PID/map_files is closed to
        # tlstap: it opens the path under /proc/PID/root, and must judge the file system before
        # that lookup too.
        for prefix in ([], ["setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore"]):
            try:
                runs.append(subprocess.run(prefix + [TLSTAP, "--list-targets"], capture_output=True,
                                           timeout=60))
            except subprocess.TimeoutExpired:
                raise Fail("tlstap --list-targets %shung on the dead FUSE server" %
                           ("without map_files " if prefix else ""))
    finally:
        if cli:
            cli.kill()
            cli.wait()
        try:
            srv.stdin.write(b"quit\n")    # closing /dev/fuse fails whatever is pending
            srv.stdin.flush()
        except OSError:
            pass
        if srv.wait(30) is None:
            srv.kill()
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
    for r in runs:
        check(r.returncode == 0, "--list-targets failed: %r" % r.stderr)
        check(b"files on network or FUSE file systems not looked at: 1 " in r.stderr,
              "the skipped file is not reported: %r" % r.stderr)
        check(b"\t" + libssl.encode() + b"\t" in r.stdout, "the local libssl was not found:\n%r" % r.stdout)
        check(mnt.encode() not in r.stdout, "the FUSE copy was listed:\n%r" % r.stdout)


def tshark(args):
    p = subprocess.run(["tshark"] + args, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def pcapng_isb_drops(path):
    """Interface statistics drops, read from the file's blocks by hand (independent of tlstap)."""
    import struct
    data = open(path, "rb").read()
    off, drops = 0, {}
    while off + 12 <= len(data):
        btype, blen = struct.unpack_from("<II", data, off)
        if blen < 12 or off + blen > len(data):
            raise Fail("malformed block at %d" % off)
        if btype == 5:      # ISB
            if_id, = struct.unpack_from("<I", data, off + 8)
            o = off + 20
            while o + 4 <= off + blen - 4:
                code, olen = struct.unpack_from("<HH", data, o)
                if code == 0:
                    break
                if code == 5:   # isb_ifdrop
                    drops[if_id] = struct.unpack_from("<Q", data, o + 4)[0]
                o += 4 + ((olen + 3) & ~3)
        off += blen
    return drops


@test_in("auto")
def test_pcapng_three_keepalive_requests_export_objects(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    bodies = {}
    for name, size in (("a.bin", 1000), ("b.bin", 70000), ("c.bin", 300000)):
        bodies[name] = os.urandom(size)
        with open(os.path.join(root, name), "wb") as f:
            f.write(bodies[name])
    ngx = Nginx(tmp, root)
    pcap = os.path.join(tmp, "cap.pcapng")
    try:
        tr = Tracer(tmp, ["-w", pcap])
        urls = ["https://127.0.0.1:%d/%s" % (ngx.port, n) for n in sorted(bodies)]
        outs = []
        for n in sorted(bodies):
            outs += ["-o", os.path.join(tmp, "got-" + n)]
        curl = subprocess.run(["curl", "-sk", "--http1.1"] + outs + urls, timeout=60)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    check(tr.rc == 0, "tlstap -w failed (%d): %s" % (tr.rc, tr.stderr))
    check(os.stat(pcap).st_mode & 0o777 == 0o600, "pcapng file is not mode 0600")
    rc, out, err = tshark(["-r", pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri",
                           "-e", "tcp.stream"])
    check(rc == 0, "tshark cannot read the file: %s" % err)
    rows = [l.split("\t") for l in out.splitlines() if l]
    check(sorted(r[0] for r in rows) == ["/a.bin", "/b.bin", "/c.bin"], "tshark lists %s" % rows)
    check(len(set(r[1] for r in rows)) == 1, "the three requests are not on one TCP stream: %s" % rows)
    objdir = os.path.join(tmp, "objects")
    rc, out, err = tshark(["-r", pcap, "-q", "--export-objects", "http,%s" % objdir])
    check(rc == 0, "tshark --export-objects failed: %s" % err)
    for name, body in bodies.items():
        path = os.path.join(objdir, name)
        check(os.path.exists(path), "tshark exported no %s: %s" % (name, os.listdir(objdir)))
        same(open(path, "rb").read(), body, "exported %s vs the file served" % name)
    rc, out, err = tshark(["-r", pcap, "-T", "fields", "-e", "tcp.checksum.status", "-e", "ip.checksum.status",
                           "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"])
    check(set(out.split()) == {"1"}, "checksums not all good (1 = good): %s" % set(out.split()))


@test_in("auto")
def test_pcapng_http2_headers_decoded(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "h2.txt"), "w") as f:
        f.write("hello over h2\n" * 100)
    ngx = Nginx(tmp, root)
    pcap = os.path.join(tmp, "h2.pcapng")
    try:
        tr = Tracer(tmp, ["-w", pcap])
        curl = subprocess.run(["curl", "-sk", "--http2", "https://127.0.0.1:%d/h2.txt" % ngx.port],
                              capture_output=True, timeout=60)
        check(curl.returncode == 0 and curl.stdout.startswith(b"hello over h2"), "curl --http2 failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    # A plaintext HTTP/2 connection on a port Wireshark does not know: it
    # needs "Decode As" HTTP/2, as it would for h2c on such a port.
    rc, out, err = tshark(["-r", pcap, "-d", "tcp.port==%d,http2" % ngx.port, "-Y", "http2.header.name == \":path\"",
                           "-T", "fields", "-e", "http2.header.value"])
    check(rc == 0, "tshark failed: %s" % err)
    check("/h2.txt" in out, "tshark did not decode :path /h2.txt from HTTP/2: %r" % out[:300])


@test_in("auto")
def test_pcapng_interrupted_under_load_is_valid(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(4 << 20))
    ngx = Nginx(tmp, root)
    pcap = os.path.join(tmp, "load.pcapng")
    curls = []
    try:
        tr = Tracer(tmp, ["-w", pcap])
        for i in range(4):
            curls.append(subprocess.Popen(["curl", "-sk"] + ["https://127.0.0.1:%d/big.bin" % ngx.port] * 20,
                                          stdout=subprocess.DEVNULL))
        time.sleep(1.5)
        tr.stop()       # SIGINT in the middle of the transfers
    finally:
        for c in curls:
            c.kill()
            c.wait()
        ngx.stop()
    check(tr.rc == 0, "tlstap failed (%d): %s" % (tr.rc, tr.stderr))
    rc, out, err = tshark(["-r", pcap, "-q", "-z", "io,stat,0"])
    check(rc == 0 and "cut short" not in err and "appears to be damaged" not in err,
          "tshark on the interrupted file: rc %d %s" % (rc, err))
    p = subprocess.run([TLSTAP, "-r", pcap, "-o", "none"], capture_output=True, timeout=120)
    check(p.returncode == 0, "tlstap -r rejects the interrupted file: %s" % p.stderr)


@test_in("auto")
def test_pcapng_forced_loss_is_a_sequence_gap_and_a_drop_count(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(2 << 20))
    ngx = Nginx(tmp, root)
    pcap = os.path.join(tmp, "loss.pcapng")
    try:
        # The smallest rings and nobody reading them while curl runs: most
        # records find them full, every time.
        tr = Tracer(tmp, ["-w", pcap, "-B", "128", "--comm", "curl"])
        tr.proc.send_signal(signal.SIGSTOP)
        try:
            curl = subprocess.run(["curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:%d/big.bin"
                                   % ngx.port], timeout=60)
        finally:
            tr.proc.send_signal(signal.SIGCONT)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    m = re.search(r"lost (\d+) bytes", tr.stderr)
    check(m and int(m.group(1)) > 0, "no loss was forced: %s" % tr.stderr)
    rc, out, err = tshark(["-r", pcap, "-Y", "tcp.analysis.lost_segment", "-T", "fields", "-e", "frame.number"])
    check(rc == 0 and out.strip(), "tshark sees no missing segment: %s" % err)
    drops = pcapng_isb_drops(pcap)
    check(drops and max(drops.values()) > 0, "no interface drop count in the file: %s" % drops)


@test_in("auto")
def test_pcapng_read_back_reproduces_live_json(tmp):
    srv = EchoServer(tmp)
    pcap = os.path.join(tmp, "rr.pcapng")
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-w", pcap, "-o", "json"])
        for size in (100, 70000):
            subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib", "--port",
                            str(srv.port), "--size", str(size), "--log", tmp], timeout=60, check=True)
        time.sleep(0.3)
        tr.stop()
    finally:
        srv.stop()
    def split(text):
        lines = [l for l in text.splitlines() if '"type":"stats"' not in l]
        # Decoded exchanges are printed when decoding settles, a moment later
        # live than when replayed: same objects, not the same place.
        return [l for l in lines if '"type":"http"' not in l], sorted(l for l in lines if '"type":"http"' in l)
    live, live_http = split(tr.raw.decode())
    p = subprocess.run([TLSTAP, "-r", pcap, "-o", "json"], capture_output=True, timeout=60)
    check(p.returncode == 0, "tlstap -r failed: %s" % p.stderr)
    replayed, replayed_http = split(p.stdout.decode())
    check(len(live) > 4 and len(live_http) == 2, "too little captured (%d lines, %d http)" % (len(live), len(live_http)))
    check(live == replayed, "replay differs from live:\n%s\n---\n%s" % ("\n".join(live[:6]), "\n".join(replayed[:6])))
    check(live_http == replayed_http, "replayed http objects differ:\n%s\n---\n%s" % (live_http, replayed_http))


@test_in("auto")
def test_pcapng_rotation_files_open_on_their_own(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    with open(os.path.join(root, "big.bin"), "wb") as f:
        f.write(os.urandom(1 << 20))
    ngx = Nginx(tmp, root)
    base = os.path.join(tmp, "rot")
    try:
        tr = Tracer(tmp, ["-w", base, "-C", "1", "--comm", "curl"])
        curl = subprocess.run(["curl", "-sk", "-o", "/dev/null", "-o", "/dev/null", "-o", "/dev/null",
                               "https://127.0.0.1:%d/big.bin" % ngx.port,
                               "https://127.0.0.1:%d/big.bin" % ngx.port,
                               "https://127.0.0.1:%d/big.bin" % ngx.port], timeout=60)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.3)
        tr.stop()
    finally:
        ngx.stop()
    files = sorted(f for f in os.listdir(tmp) if f.startswith("rot"))
    check(len(files) >= 3, "-C 1 with 3 MiB wrote %s" % files)
    total = 0
    for f in files:
        path = os.path.join(tmp, f)
        rc, out, err = tshark(["-r", path, "-T", "fields", "-e", "tcp.flags.syn", "-e", "tcp.len"])
        check(rc == 0, "tshark cannot open %s alone: %s" % (f, err))
        rows = [l.split("\t") for l in out.splitlines() if l]
        data = [r for r in rows if r[1] != "0"]
        if data:
            check(rows[0][0] == "1", "%s: data but no handshake first" % f)
        total += sum(int(r[1]) for r in data)
        check(os.path.getsize(path) < 1000000 + 70000, "%s is larger than -C allows" % f)
    check(total >= 3 << 20, "the files hold %d payload bytes, want at least 3 MiB" % total)


@test_in("auto")
def test_pcapng_time_rotation_stops_after_count(tmp):
    srv = EchoServer(tmp)
    pattern = os.path.join(tmp, "g-%H%M%S.pcapng")
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-w", pattern, "-G", "1", "-W", "2"])
        end = time.time() + 6
        while tr.proc.poll() is None and time.time() < end:
            subprocess.run(["curl", "-sk", "--data-binary", "tick", "https://127.0.0.1:%d/g" % srv.port],
                           capture_output=True, timeout=30)
            time.sleep(0.2)
        check(tr.proc.poll() is not None, "tlstap -G 1 -W 2 did not stop after 2 files")
        tr.stop()
    finally:
        srv.stop()
    check(tr.rc == 0, "tlstap -G -W exited %s: %s" % (tr.rc, tr.stderr))
    files = sorted(f for f in os.listdir(tmp) if f.startswith("g-"))
    check(len(files) == 2, "-G 1 -W 2 wrote %s" % files)
    for f in files:
        rc, out, err = tshark(["-r", os.path.join(tmp, f), "-Y", "http.request", "-T", "fields",
                               "-e", "http.request.uri"])
        check(rc == 0 and "/g" in out, "%s: no request readable by tshark (%s)" % (f, err))


@test_in("auto")
def test_pcapng_to_stdout_for_wireshark(tmp):
    srv = EchoServer(tmp)
    try:
        proc = subprocess.Popen([TLSTAP, "-w", "-", "-p", str(srv.pid)], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        line = proc.stderr.readline().decode()
        check(line.startswith("tlstap: tracing"), "tlstap -w - did not start: %s" % line)
        subprocess.run(["curl", "-sk", "--data-binary", "to stdout", "https://127.0.0.1:%d/s" % srv.port],
                       capture_output=True, timeout=30)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        data, _ = proc.communicate(timeout=30)
    finally:
        srv.stop()
    check(proc.returncode == 0, "tlstap -w - failed")
    path = os.path.join(tmp, "stdout.pcapng")
    open(path, "wb").write(data)
    rc, out, err = tshark(["-r", path, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])
    check(rc == 0 and "/s" in out, "tshark on -w - output: %s %s" % (out, err))
    run_bad(["-w", "-", "-o", "json"], 2, ["-w -"])
    run_bad(["-C", "1"], 2, ["-w"])
    run_bad(["-r", path, "-p", "1"], 2, ["-r"])
    notpcap = os.path.join(tmp, "not.pcapng")
    open(notpcap, "w").write("garbage")
    run_bad(["-r", notpcap], 1, ["cannot read"])


def as_nobody(argv):
    """Runs argv as user nobody: the hostile local user of these tests."""
    def drop():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    subprocess.run(argv, preexec_fn=drop, check=True, timeout=30)


def tracer_until_exit(argv, timeout=60):
    """Starts argv (a tlstap that stops by itself); returns (proc, first stderr line)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    RUNNING.append(proc)
    return proc, proc.stderr.readline().decode(errors="replace")


@test_in("auto")
def test_pcapng_never_writes_through_planted_files(tmp):
    """-w into a sticky world-writable directory (like /tmp) where another user planted the name."""
    os.chmod(tmp, 0o1777)
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("precious")
    os.chmod(victim, 0o644)
    link, theirs, fifo = (os.path.join(tmp, n) for n in ("link.pcapng", "theirs.pcapng", "fifo.pcapng"))
    as_nobody(["ln", "-s", victim, link])
    as_nobody(["sh", "-c", 'echo their data > "$1"', "sh", theirs])
    as_nobody(["mkfifo", fifo])
    srv = EchoServer(tmp)
    try:
        base = ["-p", str(srv.pid), "-d", "1", "--probe-mode", MODE, "-w"]
        run_bad(base + [link], 1, ["cannot write", link, "symbolic link"])
        run_bad(base + [theirs], 1, ["cannot write", theirs, "another user"])
        run_bad(base + [fifo], 1, ["cannot write", fifo, "not a regular file"])
        # Rotation opens every file the same way: a planted next name stops the capture.
        rot = os.path.join(tmp, "rot")
        as_nobody(["ln", "-s", victim, rot + "1"])
        proc, first = tracer_until_exit([TLSTAP, "--probe-mode", MODE, "-p", str(srv.pid), "-w", rot, "-C", "1"])
        check(first.startswith("tlstap: tracing"), "tlstap -C did not start: %s" % first)
        end = time.time() + 60
        while proc.poll() is None and time.time() < end:
            subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib", "--port", str(srv.port),
                            "--size", "300000", "--log", tmp], timeout=60, check=True)
        check(proc.poll() is not None, "tlstap wrote into a planted rotation name or did not stop")
        rc, err = proc.wait(), proc.stderr.read().decode(errors="replace")
    finally:
        srv.stop()
    with open(victim) as f:
        same(f.read().encode(), b"precious", "the symlink's target")
    with open(theirs) as f:
        same(f.read().encode(), b"their data\n", "the other user's file")
    check(os.stat(victim).st_mode & 0o777 == 0o644, "the victim's mode changed")
    check(rc == 1 and re.search(r"^tlstap: \d+ events", err, re.M), "rotation refusal: rc %d %r" % (rc, err))
    check(re.search(r"cannot write %s1: it is a symbolic link.*stopped: [1-9]\d* packets" % re.escape(rot), err),
          "the refused rotation is not reported with what was not written: %r" % err)
    code, out, terr = tshark(["-r", rot, "-q"])
    check(code == 0, "the first file is not whole: %s" % terr)


@test_in("auto")
def test_pcapng_time_rotation_without_pattern_numbers_files(tmp):
    """-G with a name that does not change: FILE, FILE1, FILE2, not one file reopened and lost."""
    srv = EchoServer(tmp)
    base = os.path.join(tmp, "same.pcapng")
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-w", base, "-G", "1", "-W", "3"])
        end = time.time() + 10
        while tr.proc.poll() is None and time.time() < end:
            subprocess.run(["curl", "-sk", "--data-binary", "tick", "https://127.0.0.1:%d/n" % srv.port],
                           capture_output=True, timeout=30)
            time.sleep(0.2)
        check(tr.proc.poll() is not None, "tlstap -G 1 -W 3 did not stop after 3 files")
        tr.stop()
    finally:
        srv.stop()
    check(tr.rc == 0, "tlstap -G -W exited %s: %s" % (tr.rc, tr.stderr))
    files = sorted(f for f in os.listdir(tmp) if f.startswith("same.pcapng"))
    check(files == ["same.pcapng", "same.pcapng.1", "same.pcapng.2"],
          "-G 1 -W 3 without a pattern wrote %s" % files)
    for f in files:
        rc, out, err = tshark(["-r", os.path.join(tmp, f), "-Y", "http.request", "-T", "fields",
                               "-e", "http.request.uri"])
        check(rc == 0 and "/n" in out, "%s: no request readable by tshark (%s)" % (f, err))


@test_in("auto")
def test_pcapng_full_disk_stops_cleanly(tmp):
    """-w on a file system that fills up: drain, summary, what was not written, a file readable to its end."""
    srv = EchoServer(tmp)
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    kept = os.path.join(tmp, "kept.pcapng")
    # The 256 KiB tmpfs lives in a private mount namespace; the file is copied out before it goes.
    script = ('mount -t tmpfs -o size=256k tlstap-e2e "$1" || exit 99; shift; out=$1; shift; '
              '"$@"; rc=$?; cp "%s/cap.pcapng" "$out"; exit $rc' % mnt)
    try:
        proc, first = tracer_until_exit(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                                         mnt, kept, TLSTAP, "--probe-mode", MODE, "-p", str(srv.pid),
                                         "-w", os.path.join(mnt, "cap.pcapng")])
        check(first.startswith("tlstap: tracing"), "tlstap did not start: %s" % first)
        end = time.time() + 60
        while proc.poll() is None and time.time() < end:
            subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib", "--port", str(srv.port),
                            "--size", "2000000", "--log", tmp], timeout=60, check=True)
        check(proc.poll() is not None, "tlstap kept running on a full file system")
        rc, err = proc.wait(), first + proc.stderr.read().decode(errors="replace")
    finally:
        srv.stop()
    check(rc == 1, "exit %d on a full disk, want 1: %s" % (rc, err))
    check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", err, re.M), "no summary on a full disk: %r" % err)
    m = re.search(r"cannot write \S+cap\.pcapng: No space left on device; stopped: (\d+) packets \((\d+) bytes\) "
                  r"not written; the file ends with its last complete block", err)
    check(m and int(m.group(1)) > 0 and int(m.group(2)) > 0, "what was not written is not reported: %r" % err)
    size = os.path.getsize(kept)
    check(100000 < size <= 256 * 1024, "the file holds %d bytes of a 256 KiB file system" % size)
    code, out, terr = tshark(["-r", kept, "-q", "-z", "io,stat,0"])
    check(code == 0 and "cut short" not in terr and "damaged" not in terr, "tshark on the full-disk file: %s" % terr)
    p = subprocess.run([TLSTAP, "-r", kept, "-o", "none"], capture_output=True, timeout=60)
    check(p.returncode == 0, "tlstap -r rejects the full-disk file: %s" % p.stderr)


@test_in("auto")
def test_pcapng_to_stdout_reader_gone_exits_0(tmp):
    """tlstap -w - | head -c 100: like text and JSON, a reader that went away is a normal end."""
    srv = EchoServer(tmp)
    got = os.path.join(tmp, "head.out")
    try:
        with open(got, "wb") as out:
            tl = subprocess.Popen([TLSTAP, "--probe-mode", MODE, "-w", "-", "-p", str(srv.pid)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            RUNNING.append(tl)
            head = subprocess.Popen(["head", "-c", "100"], stdin=tl.stdout, stdout=out)
            RUNNING.append(head)
            tl.stdout.close()
        first = tl.stderr.readline().decode(errors="replace")
        check(first.startswith("tlstap: tracing"), "tlstap -w - did not start: %s" % first)
        end = time.time() + 30
        while tl.poll() is None and time.time() < end:
            subprocess.run(["curl", "-sk", "--data-binary", "x" * 2000, "https://127.0.0.1:%d/h" % srv.port],
                           capture_output=True, timeout=30)
            time.sleep(0.1)
        check(tl.poll() is not None, "tlstap -w - did not stop when its reader went away")
        rc, err = tl.wait(), tl.stderr.read().decode(errors="replace")
        head.wait(10)
    finally:
        srv.stop()
    with open(got, "rb") as f:
        data = f.read()
    check(len(data) == 100 and data[:4] == b"\x0a\x0d\x0d\x0a", "head did not get the start of a pcapng file")
    check(rc == 0, "tlstap -w - | head exited %d, want 0 as text and JSON do: %r" % (rc, err))
    check(re.search(r"^tlstap: \d+ events", err, re.M), "no summary after the reader went away: %r" % err)
    check("cannot write" not in err, "a reader that went away reported as an error: %r" % err)


def http_objects(tr):
    return [e for e in tr.events() if e["type"] == "http"]


@test_in("auto")
def test_http_decoded_curl_http1_and_http2_against_nginx(tmp):
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    sizes = {"one.txt": 1234, "two.bin": 70000}
    for name, size in sizes.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(os.urandom(size))
    ngx = Nginx(tmp, root)
    try:
        tr = Tracer(tmp, ["--no-data"])
        for proto in ("--http1.1", "--http2"):
            urls = ["https://127.0.0.1:%d/%s" % (ngx.port, n) for n in sorted(sizes)]
            curl = subprocess.run(["curl", "-sk", proto, "-o", "/dev/null", "-o", "/dev/null"] + urls,
                                  timeout=60)
            check(curl.returncode == 0, "curl %s failed" % proto)
        time.sleep(0.5)
        tr.stop()
    finally:
        ngx.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    check(not [e for e in tr.events() if e["type"] == "data"], "--no-data printed data events")
    xs = http_objects(tr)
    for proto in ("http/1.1", "h2"):
        for role, comm in (("client", "curl"), ("server", "nginx")):
            got = sorted((x["method"], x["path"], x["status"], x["resp_body_bytes"]) for x in xs
                         if x["proto"] == proto and x["role"] == role and x["comm"] == comm)
            want = sorted(("GET", "/" + n, 200, size) for n, size in sizes.items())
            check(got == want, "%s %s seen by %s: %s, want %s" % (proto, role, comm, got, want))
    for x in xs:
        check(x["latency_ns"] > 0 and not x["incomplete"], "exchange without latency or incomplete: %s" % x)
        if x["proto"] == "h2":
            check(x["stream"] % 2 == 1 and x["authority"] == "127.0.0.1:%d" % ngx.port, "h2 fields: %s" % x)


@test_in("auto")
def test_http_decoded_python_post_and_redaction(tmp):
    srv = EchoServer(tmp)
    try:
        tr = Tracer(tmp, ["-p", str(srv.pid), "--no-data", "--redact", "--redact-header", "X-Api-Key"])
        tt = Tracer(tmp, ["-p", str(srv.pid), "-o", "text", "--redact"])
        subprocess.run([PY, os.path.join(HERE, "tls_client.py"), "--mode", "urllib", "--port", str(srv.port),
                        "--size", "200000", "--log", tmp], timeout=60, check=True)
        curl = subprocess.run(["curl", "-sk", "-H", "Authorization: Bearer s3cret", "-H", "X-Api-Key: k3y",
                               "-H", "Cookie: session=c00kie", "--data-binary", "short text body",
                               "https://127.0.0.1:%d/secret" % srv.port], capture_output=True, timeout=60)
        check(curl.returncode == 0, "curl failed")
        time.sleep(0.5)
        tr.stop()
        tt.stop()
    finally:
        srv.stop()
    xs = http_objects(tr)
    post = [x for x in xs if x["path"] == "/echo"]
    check(len(post) == 1, "python's POST not decoded: %s" % xs)
    x = post[0]
    check(x["method"] == "POST" and x["status"] == 200 and x["req_body_bytes"] == 200000 and
          x["resp_body_bytes"] == 200000 and x["role"] == "server", "python POST decoded wrong: %s" %
          {k: x[k] for k in ("method", "status", "req_body_bytes", "resp_body_bytes", "role")})
    sec = [x for x in xs if x["path"] == "/secret"]
    check(len(sec) == 1, "curl's request not decoded")
    hdrs = dict((n.lower(), v) for n, v in sec[0]["req_headers"])
    check(hdrs.get("authorization") == "[redacted]" and hdrs.get("x-api-key") == "[redacted]" and
          hdrs.get("cookie") == "[redacted]", "headers not redacted: %s" % hdrs)
    text = tt.raw.decode(errors="replace")
    check("s3cret" not in text and "c00kie" not in text, "a secret leaked into the text output")
    check(re.search(r"POST /secret -> 200", text) and "[body 15 bytes] short text body" in text,
          "text view lacks the decoded exchange:\n" + text[:1500])
    check("> Authorization: [redacted]" in text, "text view does not show the redaction")


@test_in("auto")
def test_http_decoded_grpc_shaped_h2(tmp):
    htdocs = os.path.join(tmp, "htdocs", "pkg.Greeter")
    os.makedirs(htdocs)
    with open(os.path.join(htdocs, "SayHello"), "wb") as f:
        f.write(b"\x00\x00\x00\x00\x05hello" + b"\x00\x00\x00\x00\x02hi")
    req = os.path.join(tmp, "req.bin")
    with open(req, "wb") as f:
        f.write(b"\x00\x00\x00\x00\x03abc")
    port = free_port()
    srv = subprocess.Popen(["nghttpd", "-d", os.path.join(tmp, "htdocs"), str(port), KEY, CERT],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port)
        tr = Tracer(tmp, ["--no-data"])
        cli = subprocess.run(["nghttp", "-d", req, "-H", "content-type: application/grpc", "-H", "te: trailers",
                              "https://127.0.0.1:%d/pkg.Greeter/SayHello" % port], capture_output=True, timeout=60)
        check(cli.returncode == 0, "nghttp failed: %s" % cli.stderr)
        time.sleep(0.5)
        tr.stop()
    finally:
        srv.terminate()
        srv.wait()
    xs = http_objects(tr)
    for comm, role in (("nghttp", "client"), ("nghttpd", "server")):
        g = [x for x in xs if x["comm"] == comm]
        check(len(g) == 1, "%s: want one exchange, got %s" % (comm, g))
        x = g[0]
        check(x["proto"] == "h2" and x["role"] == role and x["grpc_service"] == "pkg.Greeter" and
              x["grpc_method"] == "SayHello" and x["grpc_req_msgs"] == 1 and x["grpc_resp_msgs"] == 2 and
              x["status"] == 200 and x["req_body_bytes"] == 8 and x["resp_body_bytes"] == 17,
              "%s's gRPC exchange: %s" % (comm, {k: x.get(k) for k in ("proto", "role", "grpc_service",
              "grpc_method", "grpc_req_msgs", "grpc_resp_msgs", "status", "req_body_bytes", "resp_body_bytes")}))


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise Fail("no VmHWM for pid %d" % pid)


def bpf_map_rss_kib(pid):
    """Resident KiB of the BPF maps tlstap maps (its rings: resident in full from the start)."""
    kib, name = 0, ""
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = fields[5] if len(fields) > 5 else ""
            elif fields[0] == "Rss:" and name == "anon_inode:bpf-map":
                kib += int(fields[1])
    return kib


def line_from(proc, what, timeout=120):
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    check(r, "%s: nothing in %d s" % (what, timeout))
    return proc.stdout.readline()


@test_in("auto")
def test_memory_budget_bounds_many_undecided_bodies(tmp):
    """200 uploads held open, their bodies undecided (text holds them to show them raw if
    decoding fails): against --max-memory 16 tlstap's peak RSS stays bounded, it gives up
    decoding the connections that hold the most, says so once each, counts them in the
    summary and still shows every byte. Unbounded, it held all 40 MB."""
    conns, size, budget_mib = 200, 200000, 8
    # Rings that hold the whole upload even if tlstap read none of it: nothing can be lost,
    # whatever else the machine is doing. They are resident from the start and do not count.
    ring_kib = 65536
    # The budget, plus the program itself (about 10 MiB: libraries, BTF, buffers). Records
    # of 2 KiB keep what one round reads from the rings (512 records a ring) well within it.
    bound_kib = (budget_mib + 16) * 1024
    note = b"memory budget (--max-memory) reached"
    script = os.path.join(HERE, "tls_hold_bodies.py")
    run_bad(["--max-memory", "4"], 2, ["--max-memory"])
    run_bad(["--max-memory", "lots"], 2, ["--max-memory"])
    srv = subprocess.Popen([PY, script, "--mode", "server", "--conns", str(conns), "--size", str(size),
                            "--cert", CERT, "--key", KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cl = None
    try:
        port = int(line_from(srv, "server port", 15))
        tr = Tracer(tmp, ["-p", str(srv.pid), "--max-memory", str(budget_mib), "-B", str(ring_kib)],
                    out="text")
        cl = subprocess.Popen([PY, script, "--mode", "client", "--port", str(port), "--conns", str(conns),
                               "--size", str(size)], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        sent = line_from(cl, "client").split()
        check(len(sent) == 2 and sent[0] == b"sent", "the client did not send its uploads: %r" % sent)
        head = int(sent[1])
        # Every TLS read of the server has returned: its records are in the rings.
        check(line_from(srv, "server").strip() == b"read-all", "the server did not read everything")
        # No more than budget / size connections can keep holding: the rest must be given up.
        least = conns - (budget_mib << 20) // size - 1
        end = time.time() + 120
        while time.time() < end:
            with open(tr.out_path, "rb") as f:
                if f.read().count(note) >= least:
                    break
            time.sleep(0.2)
        rings = bpf_map_rss_kib(tr.proc.pid)
        check(rings >= ring_kib, "the rings are not resident: %d KiB" % rings)
        hwm_running = vm_hwm_kib(tr.proc.pid) - rings
        # Stop it; its peak over its whole life, drain included, is in its summary (its own
        # VmHWM: wait4's ru_maxrss would also hold this test runner's size when it forked).
        tr.stop()
    finally:
        for p in (cl, srv):
            if p:
                p.stdin.close()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    m = re.search(r"^tlstap: memory: .*; resident peak ([\d.]+) MiB \(rings included\)$", tr.stderr, re.M)
    check(m, "no resident peak in the summary: %s" % tr.stderr)
    hwm_all = int(float(m.group(1)) * 1024) - rings
    print("    peak RSS less the rings (%d KiB): %d KiB while running (VmHWM), %d KiB in all (summary); "
          "bound %d KiB" % (rings, hwm_running, hwm_all, bound_kib))
    check(hwm_running <= bound_kib and hwm_all <= bound_kib,
          "peak RSS %d KiB (running), %d KiB (whole run) over %d KiB" % (hwm_running, hwm_all, bound_kib))
    m = re.search(r"^tlstap: (\d+) events, (\d+) bytes captured in (\d+) connections; lost (\d+) bytes",
                  tr.stderr, re.M)
    check(m, "no summary: %s" % tr.stderr)
    check(int(m.group(2)) == conns * (head + size) and int(m.group(4)) == 0,
          "captured %s bytes, lost %s: want %d, none lost: %s" % (m.group(2), m.group(4), conns * (head + size),
                                                                  tr.stderr))
    m = re.search(r"^tlstap: memory: peak ([\d.]+) of (\d+) MiB; not decoded for lack of memory: "
                  r"(\d+) connections, (\d+) bytes", tr.stderr, re.M)
    check(m, "no memory line in the summary: %s" % tr.stderr)
    peak, limit, given_up, given_up_bytes = float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
    check(limit == budget_mib and peak <= budget_mib, "memory peak %s of %s MiB" % (peak, limit))
    notes = tr.raw.count(note)
    check(least <= given_up <= conns and notes == given_up,
          "%d connections given up on, %d notes; want at least %d, one note each" % (given_up, notes, least))
    # Every byte of theirs was shown raw, none decoded: that is what the count says.
    check(given_up_bytes == given_up * (head + size),
          "%d bytes not decoded, want %d" % (given_up_bytes, given_up * (head + size)))
    # The others are decoded: one incomplete exchange each, with a body preview of 256 bytes.
    exchanges = len(re.findall(rb"POST /up/\d{3} -> \(no response\)", tr.raw))
    check(exchanges == conns - given_up, "%d decoded uploads, want %d" % (exchanges, conns - given_up))
    marks = tr.raw.count(b"____")
    want = given_up * (size // 8) + (conns - given_up) * (256 // 8)
    check(marks == want, "%d body marks shown, want %d (raw ones whole, decoded ones previewed)" % (marks, want))


def world_readable_copy(tmp, path):
    """A copy another user can run: the clone may sit in a directory only root can enter."""
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, os.path.basename(path))
    shutil.copy2(path, copy)
    os.chmod(copy, 0o755)
    return copy


def run_bad(args, want_rc, want_words, env=None, stdout=subprocess.DEVNULL, preexec=None, tlstap=None):
    p = subprocess.run([tlstap or TLSTAP] + args, stdout=stdout, stderr=subprocess.PIPE, timeout=60, env=env,
                       preexec_fn=preexec)
    err = p.stderr.decode(errors="replace")
    first = err.splitlines()[0] if err else ""
    check(p.returncode == want_rc, "%s: exit %d, want %d (%s)" % (args, p.returncode, want_rc, err.strip()))
    check(first.startswith("tlstap: "), "%s: first stderr line is not a tlstap message: %r" % (args, err))
    check(all(w in first for w in want_words), "%s: %r lacks %s" % (args, first, want_words))
    check("libbpf" not in err and "Segmentation" not in err, "%s: raw library output: %r" % (args, err))


@test_in("auto")
def test_bad_input_is_one_clear_line(tmp):
    notelf = os.path.join(tmp, "not-elf")
    with open(notelf, "w") as f:
        f.write("hello\n")
    run_bad(["-l", notelf], 2, ["not an ELF"])
    run_bad(["-l", "/bin/true"], 2, ["none of the TLS functions"])
    run_bad(["-l", os.path.join(tmp, "missing.so")], 2, ["No such file"])
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        run_bad(["-p", str(sleeper.pid)], 2, ["uses no TLS library"])
    finally:
        sleeper.kill()
        sleeper.wait()
    dead = subprocess.Popen(["true"])
    dead.wait()
    run_bad(["-p", str(dead.pid)], 2, ["no process"])
    run_bad(["-p", "abc"], 2, ["--pid"])
    run_bad(["-c", "0"], 2, ["--count"])
    run_bad(["-o", "xml"], 2, ["--output"])
    run_bad(["-B", "1"], 2, ["--buffer-size"])
    run_bad(["-B", "64"], 2, ["--buffer-size"])
    run_bad(["-d", "soon"], 2, ["--duration"])
    run_bad(["--comm", "a-very-long-command-name"], 2, ["--comm"])
    run_bad(["--bogus"], 2, ["unknown option"])
    run_bad(["stray"], 2, ["unexpected argument"])

    def drop_root():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    run_bad(["-d", "1"], 1, ["needs root"], preexec=drop_root, tlstap=world_readable_copy(tmp, TLSTAP))

    # Output that cannot be written: tlstap says so and fails, it does not hang or crash.
    srv = EchoServer(tmp)
    try:
        with open("/dev/full", "wb") as full:
            p = subprocess.Popen([TLSTAP, "-p", str(srv.pid)], stdout=full, stderr=subprocess.PIPE)
            time.sleep(2)
            subprocess.run(["curl", "-sk", "--data-binary", "x" * 5000, "https://127.0.0.1:%d/f"
                            % srv.port], capture_output=True, timeout=30)
            try:
                rc = p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
                raise Fail("tlstap kept running with an unwritable output")
        err = p.stderr.read().decode()
        check(rc == 1 and "cannot write the output" in err, "unwritable output: rc %d, %r" % (rc, err))
    finally:
        srv.stop()


@test_in("auto")
def test_help_is_complete(tmp):
    p = subprocess.run([TLSTAP, "--help"], capture_output=True, timeout=10)
    check(p.returncode == 0, "--help failed")
    out = p.stdout.decode()
    for opt in ("--pid", "--uid", "--comm", "--lib", "--output", "--snaplen", "--buffer-size",
                "--count", "--duration", "--list-targets", "EXAMPLES"):
        check(opt in out, "--help does not mention %s" % opt)


def main():
    global TLSTAP
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlstap", required=True)
    ap.add_argument("-k", help="run only tests whose name contains this")
    args = ap.parse_args()
    TLSTAP = os.path.abspath(args.tlstap)
    if os.geteuid() != 0:
        print("e2e: SKIP: not root, cannot load BPF programs")
        print("0 passed, 0 failed, %d skipped" % len(TESTS))
        return 0
    global MODE
    passed = failed = 0
    for mode in ("auto", "exported"):
        MODE = mode
        for fn in TESTS:
            if (args.k and args.k not in fn.__name__) or mode not in fn.modes:
                continue
            name = "%s[%s]" % (fn.__name__, mode)
            tmp = tempfile.mkdtemp(prefix="tlstap-e2e-")
            start = time.time()
            try:
                fn(tmp)
                passed += 1
                print("PASS %s (%.1f s)" % (name, time.time() - start), flush=True)
            except Exception as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
                if not isinstance(e, Fail):
                    traceback.print_exc()
            finally:
                for p in RUNNING:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                del RUNNING[:]
                shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
