"""OpenSSL programs (curl, nginx, Python, node, s_server, a fake libssl): every byte, both ends."""
import os
import subprocess

from .capture import Capture, as_sent, both_ends, clean_capture, port_of, short
from .core import CERT, KEY, PY, check, free_port, funcs_for, script, spawn, test, test_in, wait_port
from .scenes import check_download, download_traced, nginx_serving
from .peers import EchoServer, curl, held_client, read_file, say, www
from .tracer import Tracer


@test
def test_curl_nginx_1mib_both_ends(tmp):
    def fetch(url, path):
        check(curl(["--http1.1", "-o", path, url]).returncode == 0, "curl failed")
    cap, ngx, body = download_traced(tmp, fetch)
    c = cap.only("curl", comm="curl")
    check(port_of(cap.meta[c]["remote"]) == ngx.port, "curl's remote is not nginx's port")
    check_download(cap, c, body, "curl")


@test
def test_one_link_per_probe_without_uprobe_multi(tmp):
    """Kernels before 6.6 have no uprobe_multi links: each probe then has a link of its own, and
    captures the same (TLSTAP_NO_UPROBE_MULTI=1 takes that path on this kernel)."""
    got = os.path.join(tmp, "got.bin")
    os.environ["TLSTAP_NO_UPROBE_MULTI"] = "1"
    try:
        with nginx_serving(tmp, {"big.bin": 1 << 20}) as ngx:
            tr = Tracer(tmp, ["-v"])
            url = "https://127.0.0.1:%d/big.bin" % ngx.port
            check(curl(["--http1.1", "-o", got, url]).returncode == 0, "curl failed")
            ngx.wait_requests(1)
            tr.stop()
    finally:
        del os.environ["TLSTAP_NO_UPROBE_MULTI"]
    check("one link per probe" in tr.stderr, "tlstap did not take the one-link path: %s" % tr.stderr)
    body = ngx.bodies["big.bin"]
    check(read_file(got) == body, "the client's own download differs from the file")
    cap = clean_capture(tr)
    check_download(cap, cap.only("curl", comm="curl"), body, "curl")


@test
def test_python_urllib_post_1mib_ex_functions(tmp):
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp)
        cli = spawn([PY, script("tls_client.py"), "--mode", "urllib", "--port", str(srv.port), "--log", tmp])
        check(cli.wait(60) == 0, "python client failed")
        srv.wait_closed(1)
        tr.stop()
    cap = clean_capture(tr)
    c = cap.only("client", pid=cli.pid)
    want = funcs_for({"SSL_write_ex", "SSL_read_ex"}, {"ssl_write_internal", "ssl_read_internal"})
    check(cap.meta[c]["funcs"] == want, "python's calls should be %s, saw %s" % (want, cap.meta[c]["funcs"]))
    local_port = port_of(cap.meta[c]["local"])
    body = read_file(os.path.join(tmp, "urllib.body"))
    check(cap.stream(c, "out").endswith(body), "captured request does not end with the 1 MiB body")
    as_sent(cap, c, *srv.truth(local_port, "client"), what="python client")
    peer = both_ends(cap, c, "urllib/echo")
    check(srv.pid in cap.meta[peer]["pids"], "the other end is not the echo server")


@test
def test_node_static_openssl_with_pid(tmp):
    with EchoServer(tmp) as srv:
        node = spawn(["node", script("node_client.js"), str(srv.port), str(256 * 1024),
                      os.path.join(tmp, "node.body")], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(node.stdout.readline().strip() == b"ready", "node client did not start")
        tr = Tracer(tmp, ["-p", str(node.pid)])
        say(node, b"go\n")
        check(node.stdout.readline().strip() == b"done", "node request failed")
        check(node.wait(30) == 0, "node client failed")
        srv.wait_closed(1)      # its logs are complete
        tr.stop()
    cap = clean_capture(tr)
    check(all(m["pids"] == {node.pid} for m in cap.meta.values()), "events of other processes with -p")
    c = cap.only("node", pid=node.pid)
    m = cap.meta[c]
    check(m["local"] and m["remote"], "node's connection never got its addresses")
    check(port_of(m["remote"]) == srv.port, "node's remote is not the server's port")
    body = read_file(os.path.join(tmp, "node.body"))
    check(cap.stream(c, "out").endswith(body), "node's captured request does not end with its body")
    peer_port = port_of(m["local"])
    as_sent(cap, c, *srv.truth(peer_port, "client"), what="node")


@test
def test_connection_opened_before_tlstap(tmp):
    with EchoServer(tmp) as srv:
        cli, local_port, fd = held_client(srv.port, 300000, tmp)
        tr = Tracer(tmp)
        say(cli, b"go\n")
        check(cli.stdout.readline().strip() == b"done", "second exchange failed")
        received = read_file(os.path.join(tmp, "held.in"))
        # The server's end stays open: its log shows when its last SSL_write returned.
        srv.wait_logged(local_port, "out", lambda b: b.endswith(received))
        tr.stop()
        say(cli, b"bye\n")
        cli.wait(10)
    cap = clean_capture(tr)
    c = cap.only("client", pid=cli.pid)
    m = cap.meta[c]
    check(m["local"] == "127.0.0.1:%d" % local_port, "local %s, want port %d" % (m["local"], local_port))
    check(m["remote"] == "127.0.0.1:%d" % srv.port, "remote %s" % m["remote"])
    check(m["fd"] == fd, "fd %s, want %d" % (m["fd"], fd))
    sent = read_file(os.path.join(tmp, "held.out"))
    as_sent(cap, c, sent, received, "the client, after tlstap started")
    # The server was already blocked inside SSL_read_ex when tlstap attached:
    # a call in progress at attach time has no return probe, so the server's
    # capture starts with its next call. It must be the exact tail of what the
    # client sent, short by at most that one call (one TLS record).
    peer = cap.peer_of(c)
    check(peer is not None, "the server's end of the held connection was not captured")
    srv_in = cap.stream(peer, "in")
    check(sent.endswith(srv_in) and len(sent) - len(srv_in) <= 16384,
          "server captured %s, not the tail of the client's %s" % (short(srv_in), short(sent)))
    as_sent(cap, peer, received, srv_in, "the server, after tlstap started")


@test
def test_call_left_by_longjmp_costs_that_call_only(tmp):
    """A TLS call left by siglongjmp never returns; the same call site calls
    again at the same stack pointer on the same session. That next call and
    all after it are captured; the one that never returned is counted."""
    lib = os.path.join(tmp, "libssl.so.99")
    prog = os.path.join(tmp, "longjmp_reader")
    for cmd in (["gcc", "-O1", "-shared", "-fPIC", "-o", lib, script("fake_libssl.c")],
                ["gcc", "-O1", "-o", prog, script("longjmp_reader.c"), lib, "-Wl,-rpath," + tmp]):
        r = subprocess.run(cmd, capture_output=True)
        check(r.returncode == 0, "cannot build the test program: %s" % r.stderr.decode())
    p = spawn([prog], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    check(p.stdout.readline().strip() == b"ready", "the reader did not start")
    tr = Tracer(tmp, ["-p", str(p.pid), "-l", lib])
    say(p, b"go\n")
    # Every read has returned: their records are in the rings, which the stop drains.
    check(p.stdout.readline().strip() == b"done", "the reader failed")
    tr.stop()
    say(p, b"bye\n")
    p.wait(10)
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    cap = Capture(tr.events())
    want = b"".join(b"message %02d ....................." % i for i in range(20) if i != 5)
    as_sent(cap, cap.only("reader", pid=p.pid), b"", want, "captured reads (all but the one left by longjmp)")
    stats = cap.stats()
    check(stats["unfinished_calls"] == 1 and stats["untraced_calls"] == 1 and stats["lost_bytes"] == 0,
          "want exactly the one call counted: %s" % stats)


@test
def test_nested_tls_through_https_proxy(tmp):
    """curl's TLS session with the server runs inside its TLS session with the proxy."""
    _, files = www(tmp, {"body": 100000}, name=".")
    body = files["body"]
    with EchoServer(tmp) as srv:
        proxy = spawn([PY, script("tls_connect_proxy.py"), "--cert", CERT, "--key", KEY],
                      stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        pport = int(proxy.stdout.readline())
        tr = Tracer(tmp, ["--comm", "curl"])
        c = curl(["--proxy-insecure", "-x", "https://127.0.0.1:%d" % pport, "--data-binary",
                  "@" + os.path.join(tmp, "body"), "https://127.0.0.1:%d/nested" % srv.port])
        check(c.returncode == 0 and c.stdout == body, "curl through the proxy failed: %s" % c.stderr)
        srv.wait_closed(1)      # its logs are complete
        tr.stop()
    cap = clean_capture(tr)
    check(len(cap.meta) == 2, "want curl's 2 sessions (proxy, server), got %d" % len(cap.meta))
    inner = [c for c in cap.meta if cap.stream(c, "out").startswith(b"POST /nested ")]
    outer = [c for c in cap.meta if cap.stream(c, "out").startswith(b"CONNECT 127.0.0.1:%d" % srv.port)]
    check(len(inner) == 1 and len(outer) == 1, "inner and outer sessions not both captured")
    i, o = inner[0], outer[0]
    # Both run over curl's one TCP connection to the proxy.
    check(port_of(cap.meta[i]["remote"]) == pport and cap.meta[i]["local"] == cap.meta[o]["local"],
          "inner session not attributed to the proxy socket: %s" % cap.meta[i])
    check(cap.stream(o, "in").startswith(b"HTTP/1.1 200 Connection established\r\n\r\n"),
          "the proxy's answer is not what the outer session received: %r" % cap.stream(o, "in")[:60])
    check(cap.stream(i, "out").endswith(body), "inner request body not captured whole")
    echo_logs = os.listdir(srv.log)
    check(len([n for n in echo_logs if n.endswith(".in")]) == 1, "echo server saw another count of connections")
    port = int(echo_logs[0].split(".")[0])
    as_sent(cap, i, *srv.truth(port, "client"), what="curl's inner session")


@test_in("auto")
def test_openssl_s_server_www_through_the_ssl_bio(tmp):
    """s_server -WWW reads and writes through an SSL BIO, never SSL_read/SSL_write:
    only the internal placement sees its side."""
    root, files = www(tmp, {"file.bin": 200000})
    body = files["file.bin"]
    port = free_port()
    srv = spawn(["openssl", "s_server", "-WWW", "-accept", "127.0.0.1:%d" % port, "-cert", CERT, "-key", KEY,
                 "-quiet"], cwd=root, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
    wait_port(port)
    tr = Tracer(tmp)
    c = curl(["https://127.0.0.1:%d/file.bin" % port])
    check(c.returncode == 0 and c.stdout == body, "curl from s_server failed")
    # s_server says nothing when it is done: its last write is out once tlstap shows it.
    tr.wait_capture(lambda cap: any(cap.stream(c, "out").endswith(body) for c in cap.conns(pid=srv.pid)))
    tr.stop()
    srv.kill()
    srv.wait()
    cap = clean_capture(tr)
    s_ = cap.only("s_server", pid=srv.pid)
    check(cap.meta[s_]["funcs"] == {"ssl_read_internal", "ssl_write_internal"},
          "s_server's functions: %s" % cap.meta[s_]["funcs"])
    check(cap.stream(s_, "out").endswith(body), "s_server's captured out does not end with the file")
    peer = both_ends(cap, s_, "s_server/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")
