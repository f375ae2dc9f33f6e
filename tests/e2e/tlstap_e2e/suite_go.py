"""Go's crypto/tls (tests/peers/go/gohttps, built by make peers): every byte at both ends, HTTP/1.1 and HTTP/2."""
import os
import struct
import subprocess

from .capture import both_ends, clean_capture, closed_with, port_of, same
from .core import CERT, KEY, Peer, cfg, check, free_port, spawn, test_in, wait_until
from .peers import read_file
from .scenes import check_download, nginx_serving
from .tracer import Tracer

FUNCS = {"crypto/tls.(*Conn).Read", "crypto/tls.(*Conn).Write"}
MIB = 1 << 20


def go_bin(variant=""):
    """A gohttps build next to the tlstap under test: "", "-stripped", "-pie", "-pie-stripped"."""
    path = os.path.join(os.path.dirname(cfg.tlstap), "peers", "gohttps" + variant)
    check(os.access(path, os.X_OK), "%s missing: run make peers" % path)
    return path


def pattern(n):
    """gohttps's body of n bytes: lines of 64 printable bytes."""
    return bytes(10 if i % 64 == 63 else 97 + (i // 64 + i % 64) % 26 for i in range(n))


class GoServer(Peer):
    """gohttps server on a free port; stop() (SIGTERM) ends it, result() says how."""

    def __init__(self, size=MIB, stress=False, env=None):
        self.port = free_port()
        argv = [go_bin(), "server", "-addr", "127.0.0.1:%d" % self.port, "-cert", CERT, "-key", KEY,
                "-size", str(size)] + (["-stress"] if stress else [])
        self.proc = spawn(argv, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
        line = self.proc.stdout.readline().split()
        check(line[:1] == [b"ready"], "gohttps server did not start")
        self.pid = self.proc.pid

    def result(self):
        """(exit code, what it printed after "ready") once stopped."""
        self.stop()
        return self.proc.returncode, self.proc.stdout.read()


def go_client(port, args, variant="", env=None, path="/"):
    """Runs a gohttps client to its end: (pid, exit code, stdout)."""
    p = spawn([go_bin(variant), "client", "-url", "https://127.0.0.1:%d%s" % (port, path), "-k"] + args,
              stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    out, _ = p.communicate(timeout=120)
    return p.pid, p.returncode, out


def dechunk(b):
    """An HTTP/1.1 chunked body, decoded; Fail if it is not exactly that."""
    out, at = bytearray(), 0
    while True:
        eol = b.index(b"\r\n", at)
        n = int(b[at:eol].split(b";")[0], 16)
        at = eol + 2
        if n == 0:
            check(b[at:] == b"\r\n", "chunked body ends with %r" % b[at:at + 20])
            return bytes(out)
        out += b[at:at + n]
        check(b[at + n:at + n + 2] == b"\r\n", "a chunk does not end with CRLF")
        at += n + 2


def h1_body(stream):
    """The body of the one HTTP/1.1 message in stream (Content-Length or chunked)."""
    head, _, body = stream.partition(b"\r\n\r\n")
    return dechunk(body) if b"transfer-encoding: chunked" in head.lower() else body


def h2_data(stream, client):
    """The DATA payload of every stream of an HTTP/2 connection's one direction, by stream id,
    the frames checked to tile it exactly (after the client's preface)."""
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    at = 0
    if client:
        check(stream.startswith(preface), "no HTTP/2 client preface: %r" % stream[:24])
        at = len(preface)
    data = {}
    while at < len(stream):
        check(at + 9 <= len(stream), "a frame header cut at the end")
        n = struct.unpack(">I", b"\0" + stream[at:at + 3])[0]
        ftype, flags, sid = stream[at + 3], stream[at + 4], struct.unpack(">I", stream[at + 5:at + 9])[0] & 0x7fffffff
        payload = stream[at + 9:at + 9 + n]
        check(len(payload) == n, "a frame cut at the end")
        if ftype == 0:
            if flags & 0x8:
                payload = payload[1:len(payload) - payload[0]]
            data[sid] = data.get(sid, b"") + payload
        at += 9 + n
    return data


def h2_closing_frames(b):
    """Whether b is whole HTTP/2 frames, each GOAWAY, PING or SETTINGS: what one end of a
    connection may write as it closes while the other, closing too, never reads it."""
    at = 0
    while at < len(b):
        if len(b) - at < 9:
            return False
        n = struct.unpack(">I", b"\0" + b[at:at + 3])[0]
        if b[at + 3] not in (4, 6, 7) or len(b) - at - 9 < n:
            return False
        at += 9 + n
    return True


def both_ends_h2(cap, conn, what):
    """both_ends for HTTP/2: each direction read whole, except that the frames an end writes
    while both close (GOAWAY, PING, SETTINGS) may be left unread by the other. Each end's
    capture is still checked against its own close record."""
    peer = cap.peer_of(conn)
    check(peer is not None, "%s: the other end of conn %d was not captured" % (what, conn))
    for src, dst in ((conn, peer), (peer, conn)):
        sent, got = cap.stream(src, "out"), cap.stream(dst, "in")
        same(sent[:len(got)], got, "%s: conn %d's captured out vs what conn %d read" % (what, src, dst))
        check(h2_closing_frames(sent[len(got):]),
              "%s: conn %d wrote %d bytes conn %d never read, not only closing frames: %r"
              % (what, src, len(sent) - len(got), dst, sent[len(got):][:64]))
    for c in (conn, peer):
        closed_with(cap, c, len(cap.stream(c, "out")), len(cap.stream(c, "in")), "%s (conn %d)" % (what, c))
    return peer


def go_conns(cap, pid):
    conns = cap.conns(pid=pid)
    for c in conns:
        libs = {e["lib"] for e in cap.events if e["type"] == "data" and e["conn"] == c}
        check(libs == {"go"}, "conn %d of pid %d: lib %s, want go" % (c, pid, libs))
        check(cap.meta[c]["funcs"] <= FUNCS, "conn %d: functions %s" % (c, cap.meta[c]["funcs"]))
        check(cap.meta[c]["local"] and cap.meta[c]["fd"] is not None, "conn %d not attributed" % c)
    return conns


def exchanges(cap, pid):
    return [e for e in cap.events if e["type"] == "http" and e["pid"] == pid]


def one_exchange(cap, pid, role, method, status, req_bytes, resp_bytes, proto):
    xs = exchanges(cap, pid)
    check(len(xs) == 1, "pid %d: %d decoded exchanges, want 1: %s" % (pid, len(xs), xs))
    x = xs[0]
    got = (x["proto"], x["role"], x["method"], x["status"], x["req_body_bytes"], x["resp_body_bytes"],
           x["incomplete"])
    want = (proto, role, method, status, req_bytes, resp_bytes, False)
    check(got == want, "pid %d: decoded exchange %s, want %s" % (pid, got, want))


@test_in("auto")
def test_go_client_and_server_http1_get_1mib(tmp):
    """A Go client GETs 1 MiB over HTTP/1.1 from a Go server, both started after tlstap."""
    tr = Tracer(tmp)
    with GoServer() as srv:
        pid, rc, out = go_client(srv.port, ["-proto", "1", "-out", os.path.join(tmp, "got")])
        check(rc == 0 and out.startswith(b"0 200 HTTP/1.1 1048576 "), "client: %d %r" % (rc, out))
        src, _ = srv.result()
    tr.stop()
    cap = clean_capture(tr)
    c = cap.only("gohttps client", pid=pid)
    go_conns(cap, pid)
    body = pattern(MIB)
    same(read_file(os.path.join(tmp, "got")), body, "the client's own download vs the pattern")
    same(h1_body(cap.stream(c, "in")), body, "captured response body vs body served")
    check(cap.stream(c, "out").startswith(b"GET / HTTP/1.1\r\n"), "request line: %r" % cap.stream(c, "out")[:30])
    s = both_ends(cap, c, "Go client/Go server")
    check(s in go_conns(cap, srv.pid), "the other end is not the Go server's")
    one_exchange(cap, pid, "client", "GET", 200, 0, MIB, "http/1.1")
    one_exchange(cap, srv.pid, "server", "GET", 200, 0, MIB, "http/1.1")


@test_in("auto")
def test_go_client_response_recorded_before_its_request(tmp):
    """A Go client whose request writes return 300 ms after their bytes went out (a writer
    descheduled before its return): each response is read back, and recorded, before the
    request it answers. Both ends still decode every exchange, paired."""
    # A connection whose write is still in progress 50 ms after its response is not
    # reused by Go's transport: one request per connection.
    size, n = 5000, 2
    tr = Tracer(tmp)
    with GoServer(size=size) as srv:
        pid, rc, out = go_client(srv.port, ["-proto", "1", "-conns", str(n), "-late-write", "300ms"])
        check(rc == 0 and out.count(b" 200 HTTP/1.1 %d " % size) == n, "client: %d %r" % (rc, out))
        srv.result()
    tr.stop()
    cap = clean_capture(tr)
    # The client's tls.Conn runs over the delaying wrapper, not a *net.TCPConn: its
    # connections have no socket (README, "Limits"), so their ends are matched by bytes.
    conns = cap.conns(pid=pid)
    check(len(conns) == n, "pid %d: %d connections, want %d" % (pid, len(conns), n))
    for c in conns:
        data = [e for e in cap.events if e["type"] == "data" and e["conn"] == c]
        first = {d: min(e["ts_ns"] for e in data if e["dir"] == d and e["pos"] == 0) for d in ("out", "in")}
        # The setting the test is about: otherwise it would prove nothing.
        check(first["in"] < first["out"], "conn %d: the response was recorded %d ns after its request, "
              "not before" % (c, first["in"] - first["out"]))
        check(cap.stream(c, "out").startswith(b"GET / HTTP/1.1\r\n"), "conn %d: request %r"
              % (c, cap.stream(c, "out")[:30]))
        same(h1_body(cap.stream(c, "in")), pattern(size), "conn %d: captured response body vs served" % c)
    srv_streams = sorted((cap.stream(c, "in"), cap.stream(c, "out")) for c in go_conns(cap, srv.pid))
    check(srv_streams == sorted((cap.stream(c, "out"), cap.stream(c, "in")) for c in conns),
          "the server's ends did not see what the client's ends sent and received")
    for p, role in ((pid, "client"), (srv.pid, "server")):
        xs = exchanges(cap, p)
        got = [(x["role"], x["method"], x["path"], x["status"], x["resp_body_bytes"], x["incomplete"]) for x in xs]
        check(got == [(role, "GET", "/", 200, size, False)] * n, "pid %d: decoded %s" % (p, got))


@test_in("auto")
def test_go_http2_post_1mib_echoed(tmp):
    """A Go client POSTs 1 MiB over HTTP/2 to a Go server that echoes it: both ends' DATA exact."""
    tr = Tracer(tmp)
    with GoServer() as srv:
        pid, rc, out = go_client(srv.port, ["-proto", "2", "-post-size", str(MIB)])
        check(rc == 0 and out.startswith(b"0 200 HTTP/2.0 1048576 "), "client: %d %r" % (rc, out))
        srv.result()
    tr.stop()
    cap = clean_capture(tr)
    c = cap.only("gohttps client", pid=pid)
    go_conns(cap, pid)
    s = both_ends_h2(cap, c, "Go client/Go server over h2")
    check(s in go_conns(cap, srv.pid), "the other end is not the Go server's")
    body = pattern(MIB)
    sent, received = h2_data(cap.stream(c, "out"), True), h2_data(cap.stream(c, "in"), False)
    check(list(sent) == [1] and list(received) == [1], "DATA on streams %s and %s" % (list(sent), list(received)))
    same(sent[1], body, "the client's captured request DATA vs the body posted")
    same(received[1], body, "the client's captured response DATA vs the echo")
    one_exchange(cap, pid, "client", "POST", 200, MIB, MIB, "h2")
    one_exchange(cap, srv.pid, "server", "POST", 200, MIB, MIB, "h2")


@test_in("auto")
def test_go_stripped_and_pie_clients_against_nginx(tmp):
    """Stripped and PIE Go clients (also externally linked, by ld and by lld, whose table's text start is only in
    its relocation), started after tlstap, fetch 1 MiB from nginx: equal at both ends."""
    clients = {}
    with nginx_serving(tmp, {"big.bin": MIB}) as ngx:
        tr = Tracer(tmp)
        for variant in ("-stripped", "-pie", "-pie-stripped", "-extpie-stripped", "-lldpie-stripped"):
            got = os.path.join(tmp, "got" + variant)
            pid, rc, out = go_client(ngx.port, ["-proto", "1", "-out", got], variant=variant, path="/big.bin")
            check(rc == 0, "gohttps%s failed: %r" % (variant, out))
            same(read_file(got), ngx.bodies["big.bin"], "gohttps%s's own download vs the file" % variant)
            clients[variant] = pid
        ngx.wait_requests(len(clients))
        tr.stop()
    cap = clean_capture(tr)
    for variant, pid in clients.items():
        c = cap.only("gohttps" + variant, pid=pid)
        go_conns(cap, pid)
        check_download(cap, c, ngx.bodies["big.bin"], "gohttps" + variant)


@test_in("auto")
def test_go_many_connections_gomaxprocs(tmp):
    """32 concurrent HTTP/1.1 connections between Go programs with GOMAXPROCS=4 (goroutines move
    between threads): every connection byte for byte at both ends."""
    env = dict(os.environ, GOMAXPROCS="4")
    tr = Tracer(tmp)
    with GoServer(size=200000, env=env) as srv:
        pid, rc, out = go_client(srv.port, ["-proto", "1", "-conns", "32", "-out", os.path.join(tmp, "got")],
                                 env=env)
        check(rc == 0 and len(out.splitlines()) == 32, "client: %d %r" % (rc, out[:200]))
        srv.result()
    tr.stop()
    cap = clean_capture(tr)
    conns = go_conns(cap, pid)
    check(len(conns) == 32, "%d client connections captured, want 32" % len(conns))
    served = set(go_conns(cap, srv.pid))
    for c in conns:
        s = both_ends(cap, c, "conn %d" % c)
        check(s in served, "conn %d's other end is not the server's" % c)
        same(h1_body(cap.stream(c, "in")), pattern(200000), "conn %d's captured body" % c)
    check(len(served) == 32, "%d server connections captured, want 32" % len(served))


@test_in("auto")
def test_go_connection_opened_before_tlstap(tmp):
    """A Go client's connection opened (TCP and TLS handshake) before tlstap starts, then two
    requests to nginx: every byte at both ends, the client's with its addresses and fd read
    from the tls.Conn itself (tlstap saw no connect, no handshake, no socket syscall)."""
    size, pause, out = 100000, os.path.join(tmp, "go-on"), os.path.join(tmp, "body")
    with nginx_serving(tmp, {"big.bin": size}, http2=False) as ngx:
        cli = spawn([go_bin(), "client", "-url", "https://127.0.0.1:%d/big.bin" % ngx.port, "-k",
                     "-proto", "1", "-requests", "2", "-pause", pause, "-out", out],
                    stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        wait_until(lambda: os.path.exists(pause + ".ready"), 60, "the client's handshake")
        tr = Tracer(tmp)
        open(pause, "w").close()
        cout, _ = cli.communicate(timeout=120)
        check(cli.returncode == 0, "gohttps client failed: %s" % cout)
        ngx.wait_requests(2)
        tr.stop()
    body = ngx.bodies["big.bin"]
    for i in (0, 1):
        same(read_file("%s.%d" % (out, i)), body, "the client's own body %d vs the file" % i)
    cap = clean_capture(tr)
    conns = go_conns(cap, cli.pid)
    check(len(conns) == 1, "client connections %s, want the one opened before" % conns)
    c = conns[0]
    check(port_of(cap.meta[c]["remote"]) == ngx.port, "client's remote %s, want port %d"
          % (cap.meta[c]["remote"], ngx.port))
    reqs = cap.stream(c, "out")
    check(reqs.startswith(b"GET /big.bin HTTP/1.1\r\n") and reqs.count(b"GET /big.bin ") == 2,
          "captured requests: %r" % reqs[:60])
    resps = cap.stream(c, "in")
    check(resps.count(b"HTTP/1.1 200 OK\r\n") == 2 and resps.count(body) == 2,
          "the two responses are not captured whole (%d bytes)" % len(resps))
    peer = both_ends(cap, c, "go client opened before tlstap")
    check(cap.meta[peer]["comm"] == "nginx", "the other end is not nginx")


@test_in("auto")
def test_go_pid_running_server(tmp):
    """-p on a Go server already running: its connections captured whole, with addresses."""
    with GoServer(size=300000) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-v"])
        pid, rc, out = go_client(srv.port, ["-proto", "2", "-out", os.path.join(tmp, "got")])
        check(rc == 0, "client failed: %r" % out)
        srv.result()
    tr.stop()
    cap = clean_capture(tr)
    check(cap.conns(pid=pid) == [], "the client was traced despite -p")
    s = cap.only("the server's", pid=srv.pid)
    go_conns(cap, srv.pid)
    body = h2_data(cap.stream(s, "out"), False)
    same(body.get(1, b""), read_file(os.path.join(tmp, "got")), "the server's captured DATA vs what the client got")
    check(cap.meta[s]["local"] == "127.0.0.1:%d" % srv.port, "server conn's address: %s" % cap.meta[s])
    check("Go go1." in tr.stderr and "RET" in tr.stderr, "-v does not say what it found: %s" % tr.stderr)
    one_exchange(cap, srv.pid, "server", "GET", 200, 0, 300000, "h2")


def stress_run(tmp, traced):
    """A -stress server and two -stress clients of 12 requests at once each (POSTs echoed, over
    HTTP/1.1 then HTTP/2): what the clients and the server printed and how they exited, the
    capture when traced, and the clients' pids."""
    env = dict(os.environ, GOMAXPROCS="4")
    tr = Tracer(tmp) if traced else None
    results, pids = [], []
    with GoServer(stress=True, env=env) as srv:
        for proto in ("1", "2"):
            pid, crc, cout = go_client(srv.port, ["-proto", proto, "-conns", "12", "-post-size", "100000",
                                                  "-stress"], env=env)
            results += [crc, cout]
            pids.append(pid)
        results += list(srv.result())
    if tr:
        tr.stop()
    return results, tr, pids


@test_in("auto")
def test_go_crash_safety_stack_growth(tmp):
    """A Go server and client under load, with goroutine stacks grown and moved while inside
    crypto/tls, run to completion traced with exactly the output and exit codes of an untraced run."""
    untraced, _, _ = stress_run(tmp, False)
    check(untraced[0] == 0 and untraced[2] == 0 and untraced[4] == 0, "the untraced run failed: %s" % (untraced,))
    traced, tr, pids = stress_run(tmp, True)
    check(traced == untraced, "traced run differs: %s vs %s" % (traced, untraced))
    cap = clean_capture(tr)
    h1, h2 = go_conns(cap, pids[0]), go_conns(cap, pids[1])
    check(len(h1) == 12 and len(h2) == 12 and len(cap.meta) == 48,
          "%d connections captured (%d, %d of the clients), want 48" % (len(cap.meta), len(h1), len(h2)))
    for c in h1:
        both_ends(cap, c, "conn %d" % c)
    for c in h2:
        both_ends_h2(cap, c, "conn %d" % c)
    for c in h1:
        same(h1_body(cap.stream(c, "out")), pattern(100000), "conn %d's captured POST" % c)
    for c in h2:
        same(h2_data(cap.stream(c, "out"), True).get(1), pattern(100000), "conn %d's captured POST" % c)
    print("  go_stack_moves: %d" % cap.stats()["go_stack_moves"])
