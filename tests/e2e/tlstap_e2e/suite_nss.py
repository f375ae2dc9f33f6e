"""NSS programs (tstclnt, selfserv, strsclnt from libnss3-tools) and plain TCP through NSPR: every byte, both ends."""
import os
import subprocess

from .capture import as_sent, both_ends, clean_capture, same
from .core import CERT, KEY, PY, check, free_port, script, spawn, test, wait_port
from .peers import curl, read_file
from .scenes import check_download, download_traced, fetch_through_every_output, nginx_serving
from .tracer import Tracer

NSS_FUNCS = {"PR_Write", "PR_Send", "PR_Writev", "PR_Read", "PR_Recv"}
DEVNULL = subprocess.DEVNULL


def run(argv):
    p = subprocess.run(argv, capture_output=True, timeout=60)
    check(p.returncode == 0, "%s failed: %s" % (argv[0], (p.stdout + p.stderr).decode(errors="replace")))


def nss_db(tmp, server):
    """An NSS certificate database (sql:DIR) made from the test certificate: a client's trusts
    it, a server's holds it with its key as "localhost"."""
    d = os.path.join(tmp, "nssdb-server" if server else "nssdb-client")
    os.makedirs(d)
    run(["certutil", "-N", "-d", "sql:" + d, "--empty-password"])
    if server:
        p12 = os.path.join(tmp, "server.p12")
        run(["openssl", "pkcs12", "-export", "-in", CERT, "-inkey", KEY, "-name", "localhost",
             "-passout", "pass:", "-out", p12])
        run(["pk12util", "-i", p12, "-d", "sql:" + d, "-W", ""])
    else:
        run(["certutil", "-A", "-d", "sql:" + d, "-n", "localhost", "-t", "CT,C,C", "-i", CERT])
    return "sql:" + d


def nss_only(cap, c, what):
    evs = [e for e in cap.events if e["type"] == "data" and e["conn"] == c]
    check(evs and all(e["lib"] == "nss" for e in evs), "%s: events not marked nss" % what)
    check(cap.meta[c]["funcs"] <= NSS_FUNCS, "%s: functions %s" % (what, cap.meta[c]["funcs"]))


@test
def test_nss_tstclnt_from_nginx_1mib(tmp):
    """tstclnt's end through NSS, nginx's through OpenSSL; tstclnt's stdout and stdin go through
    PR_Write and PR_Read too, and a plain TCP client through NSPR runs alongside: neither is TLS."""
    db = nss_db(tmp, server=False)
    req = b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    req_path, raw_path = os.path.join(tmp, "req.txt"), os.path.join(tmp, "tstclnt.out")
    with open(req_path, "wb") as f:
        f.write(req)
    procs = {}

    def fetch(url, path):
        port = url.split(":")[2].split("/")[0]
        with open(raw_path, "wb") as out:
            procs["cli"] = spawn(["tstclnt", "-h", "127.0.0.1", "-p", port, "-d", db, "-A", req_path],
                                 stdout=out, stderr=DEVNULL, stdin=DEVNULL)
            check(procs["cli"].wait(60) == 0, "tstclnt failed")
        with open(path, "wb") as f:
            f.write(read_file(raw_path).partition(b"\r\n\r\n")[2])
        plain = spawn([PY, script("nspr_plain_client.py"), "plain nspr line"], stdout=subprocess.PIPE)
        procs["plain"] = plain
        check(plain.communicate(timeout=30)[0] == b"done 30\n" and plain.returncode == 0,
              "the plain NSPR client failed")
    cap, _, body = download_traced(tmp, fetch)
    c = cap.only("tstclnt", pid=procs["cli"].pid)
    nss_only(cap, c, "tstclnt")
    as_sent(cap, c, req, read_file(raw_path), "tstclnt: the request file, and what it printed")
    check_download(cap, c, body, "tstclnt")
    check(not cap.conns(pid=procs["plain"].pid), "plain TCP through NSPR was captured")


@test
def test_nss_selfserv_to_curl(tmp):
    """selfserv (NSS, a thread per connection) answers curl (OpenSSL) with the request echoed."""
    db = nss_db(tmp, server=True)
    port = free_port()
    srv = spawn(["selfserv", "-n", "localhost", "-p", str(port), "-d", db],
                stdout=DEVNULL, stderr=DEVNULL, stdin=DEVNULL)
    wait_port(port)
    tr = Tracer(tmp)
    pad = os.urandom(3000).hex()
    # selfserv listens on IPv6 (v4-mapped for 127.0.0.1): curl connects the same way, so both
    # ends name the same addresses.
    c = curl(["-g", "-H", "X-Pad: " + pad, "https://[::ffff:127.0.0.1]:%d/nss" % port])
    check(c.returncode == 0 and ("X-Pad: " + pad).encode() in c.stdout, "curl from selfserv failed")
    # selfserv says nothing when done: its last send is out once tlstap shows it.
    tr.wait_capture(lambda cap: any(cap.stream(s, "out").endswith(c.stdout) for s in cap.conns(pid=srv.pid)))
    tr.stop()
    srv.kill()
    cap = clean_capture(tr)
    s = cap.only("selfserv", pid=srv.pid)
    nss_only(cap, s, "selfserv")
    out, req = cap.stream(s, "out"), cap.stream(s, "in")
    check(out.startswith(b"HTTP/1.0 200") and out.endswith(c.stdout),
          "selfserv's captured response wrong: %r...%r" % (out[:40], out[-40:]))
    check(req.startswith(b"GET /nss HTTP/1.1\r\n") and req.endswith(b"\r\n\r\n"),
          "selfserv's captured request wrong: %r" % req[:60])
    # It echoes the request it read: what curl got holds the captured request whole.
    check(c.stdout.startswith(req), "the request selfserv echoed is not the one captured")
    peer = both_ends(cap, s, "selfserv/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")


@test
def test_nss_strsclnt_concurrent_connections(tmp):
    """strsclnt: 8 threads, 48 connections without session reuse to nginx; each captured whole
    on its own socket at both ends."""
    db = nss_db(tmp, server=False)
    n = 48
    with nginx_serving(tmp, {"abc": 40000}, http2=False) as ngx:
        tr = Tracer(tmp)
        cli = spawn(["strsclnt", "-p", str(ngx.port), "-d", db, "-c", str(n), "-t", "8", "-N", "-q",
                     "127.0.0.1"], stdout=DEVNULL, stderr=subprocess.PIPE, stdin=DEVNULL)
        err = cli.communicate(timeout=120)[1]
        check(cli.returncode == 0, "strsclnt failed: %s" % err.decode(errors="replace")[-500:])
        ngx.wait_requests(n)
        tr.stop()
        got = ngx.requests_logged()
    cap = clean_capture(tr)
    body = ngx.bodies["abc"]
    conns = cap.conns(pid=cli.pid)
    check(len(conns) == got, "strsclnt: %d connections captured, nginx served %d" % (len(conns), got))
    ports = set()
    for c in conns:
        nss_only(cap, c, "strsclnt")
        req = cap.stream(c, "out")
        check(req.startswith(b"GET /abc HTTP/1.0\r\n"), "strsclnt: request %r" % req[:40])
        head, _, rbody = cap.stream(c, "in").partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), "strsclnt: conn %d response %r" % (c, head[:40]))
        same(rbody, body, "strsclnt: conn %d body vs file served" % c)
        peer = both_ends(cap, c, "strsclnt/nginx")
        check(cap.meta[peer]["comm"] == "nginx", "the other end is not nginx")
        ports.add(cap.meta[c]["local"])
    check(len(ports) == len(conns), "two strsclnt connections share a socket")


@test
def test_nss_in_pcapng_and_decoded_http(tmp):
    """tstclnt's connection through every output: decoded HTTP, pcapng, -r."""
    db = nss_db(tmp, server=False)
    req_path = os.path.join(tmp, "req.txt")
    with open(req_path, "wb") as f:
        f.write(b"GET /small.txt HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")

    def run_client(port):
        cli = spawn(["tstclnt", "-h", "127.0.0.1", "-p", str(port), "-d", db, "-A", req_path],
                    stdout=DEVNULL, stderr=DEVNULL, stdin=DEVNULL)
        check(cli.wait(60) == 0, "tstclnt failed")
        return cli.pid
    fetch_through_every_output(tmp, run_client, "tstclnt", "nss")
