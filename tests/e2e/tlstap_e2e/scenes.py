"""Traffic scenes more than one suite runs: nginx serving files, a traced download from it."""
import os

from .capture import both_ends, clean_capture, same
from .core import check
from .nginx import Nginx
from .peers import read_file, www
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
