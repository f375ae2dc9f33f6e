"""BoringSSL programs (tests/peers, built against Debian's android-libboringssl) with OpenSSL peers: every byte, both ends."""
import os
import subprocess

from .capture import as_sent, both_ends, clean_capture
from .core import CERT, KEY, Peer, cfg, check, funcs_for, spawn, test
from .peers import curl, read_file, www
from .scenes import check_download, download_traced, fetch_through_every_output
from .tracer import Tracer


def peer_bin(name):
    """A BoringSSL peer built next to the tlstap under test (make peers)."""
    path = os.path.join(os.path.dirname(cfg.tlstap), "peers", name)
    check(os.access(path, os.X_OK), "%s missing: run make peers" % path)
    return path


def libs_of(cap, conn):
    return {e["lib"] for e in cap.events if e["type"] == "data" and e["conn"] == conn}


class BoringServer(Peer):
    """boring_server: answers one request with a file, logs every byte it moved, says "closed"
    once its last TLS call returned."""

    def __init__(self, tmp, body):
        self.log = os.path.join(tmp, "boring-server")
        path = os.path.join(tmp, "served.bin")
        with open(path, "wb") as f:
            f.write(body)
        self.proc = spawn([peer_bin("boring_server"), CERT, KEY, path, self.log],
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        check(line.strip().isdigit(), "boring_server did not start")
        self.port = int(line)
        self.pid = self.proc.pid

    def wait_closed(self):
        check(self.proc.stdout.readline().strip() == b"closed", "boring_server failed")
        check(self.proc.wait(10) == 0, "boring_server failed")
        return read_file(self.log + ".in"), read_file(self.log + ".out")


@test
def test_boringssl_client_nginx_1mib(tmp):
    """A BoringSSL client started after tlstap fetches 1 MiB from nginx (system OpenSSL)."""
    cli = []

    def fetch(url, path):
        cli.append(spawn([peer_bin("boring_client"), url.rsplit(":", 1)[1].split("/")[0], "/big.bin", path]))
        check(cli[0].wait(60) == 0, "boring_client failed")
    cap, _, body = download_traced(tmp, fetch)
    got = os.path.join(tmp, "got.bin")
    c = cap.only("boring_client", pid=cli[0].pid)
    check(libs_of(cap, c) == {"boringssl"}, "client's lib: %s, want boringssl" % libs_of(cap, c))
    check(cap.meta[c]["funcs"] == {"SSL_write", "SSL_read"}, "client's functions: %s" % cap.meta[c]["funcs"])
    as_sent(cap, c, read_file(got + ".sent"), read_file(got + ".received"), "boring_client")
    check_download(cap, c, body, "boring_client")
    ngx = cap.peer_of(c)
    check(libs_of(cap, ngx) == {"openssl"}, "nginx's lib: %s, want openssl" % libs_of(cap, ngx))


@test
def test_boringssl_server_curl_1mib_each_way(tmp):
    """curl (OpenSSL) POSTs 1 MiB to a BoringSSL server started after tlstap and gets 1 MiB back."""
    _, files = www(tmp, {"up.bin": 1 << 20, "down.bin": 1 << 20}, name="files")
    up, down = files["up.bin"], files["down.bin"]
    tr = Tracer(tmp)
    with BoringServer(tmp, down) as srv:
        # No "Expect: 100-continue": curl would wait a second for an answer the server never sends.
        r = curl(["--http1.1", "-H", "Expect:", "--data-binary", "@" + os.path.join(tmp, "files", "up.bin"),
                  "https://127.0.0.1:%d/" % srv.port])
        check(r.returncode == 0 and r.stdout == down, "curl did not get the file from boring_server")
        received, sent = srv.wait_closed()
    tr.stop()
    cap = clean_capture(tr)
    s = cap.only("boring_server", pid=srv.pid)
    check(libs_of(cap, s) == {"boringssl"}, "server's lib: %s, want boringssl" % libs_of(cap, s))
    check(cap.meta[s]["funcs"] == {"SSL_write", "SSL_read"}, "server's functions: %s" % cap.meta[s]["funcs"])
    check(received.endswith(up) and sent.endswith(down), "boring_server's own log lacks the bodies")
    as_sent(cap, s, sent, received, "boring_server")
    peer = both_ends(cap, s, "boring_server/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")
    check(libs_of(cap, peer) == {"openssl"}, "curl's lib: %s, want openssl" % libs_of(cap, peer))
    want = funcs_for({"SSL_write", "SSL_read"}, {"ssl_write_internal", "ssl_read_internal"})
    check(cap.meta[peer]["funcs"] == want, "curl's functions: %s, want %s" % (cap.meta[peer]["funcs"], want))


@test
def test_boringssl_in_pcapng_and_decoded_http(tmp):
    """The BoringSSL client's connection through every output: decoded HTTP, pcapng, -r."""
    def run_client(port):
        cli = spawn([peer_bin("boring_client"), str(port), "/small.txt", os.path.join(tmp, "small.got")])
        check(cli.wait(60) == 0, "boring_client failed")
        return cli.pid
    fetch_through_every_output(tmp, run_client, "boring_client", "boringssl")
