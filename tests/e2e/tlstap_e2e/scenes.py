"""Traffic scenes more than one suite runs: nginx serving files, a traced download from it."""
import json
import os
import subprocess

from .capture import both_ends, clean_capture, same
from .core import cfg, check
from .nginx import Nginx
from .peers import read_file, request_uris, www
from .tracer import Tracer


def nginx_serving(tmp, files, **kw):
    """Nginx serving files ({name: bytes or a size of random bytes}); .bodies holds their bytes."""
    root, bodies = www(tmp, files)
    ngx = Nginx(tmp, root, **kw)
    ngx.bodies = bodies
    return ngx


def download_traced(tmp, fetch):
    """nginx serves a 1 MiB file; fetch(url, path) downloads it while tlstap traces every process.
    Returns (the clean capture, nginx, the file's bytes); the download is checked against the file."""
    got = os.path.join(tmp, "got.bin")
    with nginx_serving(tmp, {"big.bin": 1 << 20}) as ngx:
        tr = Tracer(tmp)
        fetch("https://127.0.0.1:%d/big.bin" % ngx.port, got)
        ngx.wait_requests(1)
        tr.stop()
    body = ngx.bodies["big.bin"]
    check(read_file(got) == body, "the client's own download differs from the file")
    return clean_capture(tr), ngx, body


def check_download(cap, c, body, what):
    """Client connection c fetched body over HTTP/1.1 from nginx, captured whole at both ends."""
    head, _, rbody = cap.stream(c, "in").partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "%s: captured response does not start with a status line" % what)
    same(rbody, body, "%s: captured response body vs file served" % what)
    req = cap.stream(c, "out")
    check(req.startswith(b"GET /big.bin HTTP/1.1\r\n"), "%s: captured request line wrong: %r" % (what, req[:40]))
    peer = both_ends(cap, c, what + "/nginx")
    check(cap.meta[peer]["comm"] == "nginx", "%s: the other end is not nginx" % what)


def fetch_through_every_output(tmp, run_client, comm, lib):
    """nginx serves /small.txt; run_client(port) runs a client (command name comm) started after
    tlstap, which traces that name only, writing pcapng and printing JSON with decoded HTTP, and
    returns the client's pid once it is done. The client's
    connection must be decoded live as an HTTP/1.1 GET of /small.txt answered 200 with the file's
    length, all its data marked lib; tshark must find the request in the file; and `tlstap -r`
    must give back the same data lines and the same exchange."""
    pcap = os.path.join(tmp, lib + ".pcapng")
    with nginx_serving(tmp, {"small.txt": 20000}, http2=False) as ngx:
        # The client only: a connection traced at both ends is in the file once, from the end
        # seen first, and this is about the client's library.
        tr = Tracer(tmp, ["-w", pcap, "--comm", comm])
        pid = run_client(ngx.port)
        ngx.wait_requests(1)
        tr.stop()
    size = len(ngx.bodies["small.txt"])
    live = [json.loads(line) for line in tr.raw.decode().splitlines()]
    conns = {e["conn"] for e in live if e["type"] == "data" and e["pid"] == pid}
    check(len(conns) == 1, "%s: %d connections captured, want 1" % (comm, len(conns)))
    conn = conns.pop()
    libs = {e["lib"] for e in live if e["type"] == "data" and e["conn"] == conn}
    check(libs == {lib}, "%s: lib %s, want %s" % (comm, libs, lib))
    xs = [e for e in live if e["type"] == "http" and e["conn"] == conn]
    check(len(xs) == 1, "%s: %d decoded exchanges, want 1" % (comm, len(xs)))
    x = xs[0]
    check((x["role"], x["method"], x["path"], x["status"], x["resp_body_bytes"], x["incomplete"]) ==
          ("client", "GET", "/small.txt", 200, size, False), "%s: decoded exchange wrong: %s" % (comm, x))
    rc, out, err = request_uris(pcap)
    check(rc == 0 and "/small.txt" in out.split(), "%s: tshark finds no request in the pcapng: %s %s"
          % (comm, out, err))
    p = subprocess.run([cfg.tlstap, "-r", pcap, "-o", "json"], capture_output=True, timeout=60)
    check(p.returncode == 0, "tlstap -r failed: %s" % p.stderr)
    replayed = [json.loads(line) for line in p.stdout.decode().splitlines()]

    def of_conn(events, kind):
        return [e for e in events if e["type"] == kind and e.get("pid") == pid]

    # Live lines come as the rings deliver them, the file's in time order: the two directions
    # may interleave differently; each stream's lines must be the same, in the same order.
    def by_stream(events):
        return sorted(events, key=lambda e: (e["conn"], e["dir"], e["pos"]))
    a, b = by_stream(of_conn(live, "data")), by_stream(of_conn(replayed, "data"))
    diff = next(((x, y) for x, y in zip(a, b) if x != y), None)
    check(a == b, "%s: -r gives other data lines than live (%d vs %d; first difference: %s)"
          % (comm, len(a), len(b), diff and {k: (diff[0].get(k), diff[1].get(k)) for k in diff[0]
                                              if diff[0].get(k) != diff[1].get(k)}))
    check(of_conn(replayed, "http") == of_conn(live, "http"),
          "%s: -r gives another decoded exchange than live: %s vs %s" % (comm, of_conn(replayed, "http"), of_conn(live, "http")))
