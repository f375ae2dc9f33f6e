"""The decoded HTTP view: HTTP/1.1 and HTTP/2 from both ends, redaction, gRPC."""
import os
import re
import subprocess

from .core import CERT, KEY, check, free_port, spawn, test_in, wait_port
from .scenes import nginx_serving
from .peers import EchoServer, curl, urllib_post, www
from .tracer import Tracer


def http_objects(tr):
    return [e for e in tr.events() if e["type"] == "http"]


@test_in("auto")
def test_http_decoded_curl_http1_and_http2_against_nginx(tmp):
    sizes = {"one.txt": 1234, "two.bin": 70000}
    with nginx_serving(tmp, sizes) as ngx:
        tr = Tracer(tmp, ["--no-data"])
        for proto in ("--http1.1", "--http2"):
            urls = ["https://127.0.0.1:%d/%s" % (ngx.port, n) for n in sorted(sizes)]
            c = curl([proto, "-o", "/dev/null", "-o", "/dev/null"] + urls)
            check(c.returncode == 0, "curl %s failed" % proto)
        ngx.wait_requests(4)
        tr.stop()
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
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid), "--no-data", "--redact", "--redact-header", "X-Api-Key"])
        tt = Tracer(tmp, ["-p", str(srv.pid), "-o", "text", "--redact"])
        urllib_post(srv.port, 200000, tmp)
        c = curl(["-H", "Authorization: Bearer s3cret", "-H", "X-Api-Key: k3y", "-H", "Cookie: session=c00kie",
                  "--data-binary", "short text body", "https://127.0.0.1:%d/secret" % srv.port])
        check(c.returncode == 0, "curl failed")
        srv.wait_closed(2)
        tr.stop()
        tt.stop()
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


GRPC_FIELDS = ("proto", "role", "grpc_service", "grpc_method", "grpc_req_msgs", "grpc_resp_msgs", "status",
               "req_body_bytes", "resp_body_bytes")


@test_in("auto")
def test_http_decoded_grpc_shaped_h2(tmp):
    htdocs, _ = www(tmp, {"pkg.Greeter/SayHello": b"\x00\x00\x00\x00\x05hello" + b"\x00\x00\x00\x00\x02hi"},
                    name="htdocs")
    req = os.path.join(tmp, "req.bin")
    with open(req, "wb") as f:
        f.write(b"\x00\x00\x00\x00\x03abc")
    port = free_port()
    spawn(["nghttpd", "-d", htdocs, str(port), KEY, CERT], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port)
    tr = Tracer(tmp, ["--no-data"])
    cli = subprocess.run(["nghttp", "-d", req, "-H", "content-type: application/grpc", "-H", "te: trailers",
                          "https://127.0.0.1:%d/pkg.Greeter/SayHello" % port], capture_output=True, timeout=60)
    check(cli.returncode == 0, "nghttp failed: %s" % cli.stderr)
    # nghttpd says nothing when done: its exchange is over once tlstap prints it.
    tr.wait_output(lambda raw: all(any(b'"type":"http"' in line and b'"comm":"%s"' % comm in line
                                       for line in raw.splitlines()) for comm in (b"nghttp", b"nghttpd")))
    tr.stop()
    xs = http_objects(tr)
    for comm, role in (("nghttp", "client"), ("nghttpd", "server")):
        g = [x for x in xs if x["comm"] == comm]
        check(len(g) == 1, "%s: want one exchange, got %s" % (comm, g))
        x = g[0]
        check(x["proto"] == "h2" and x["role"] == role and x["grpc_service"] == "pkg.Greeter" and
              x["grpc_method"] == "SayHello" and x["grpc_req_msgs"] == 1 and x["grpc_resp_msgs"] == 2 and
              x["status"] == 200 and x["req_body_bytes"] == 8 and x["resp_body_bytes"] == 17,
              "%s's gRPC exchange: %s" % (comm, {k: x.get(k) for k in GRPC_FIELDS}))
