"""GnuTLS programs (wget, gnutls-serv, gnutls-cli) and GnuTLS's OpenSSL layer: every byte, both ends."""
import os
import subprocess

from .capture import as_sent, both_ends, clean_capture
from .core import PY, check, funcs_for, script, spawn, test
from .scenes import check_download, download_traced
from .peers import GnutlsServ, curl, read_until, say, www
from .tracer import Tracer


@test
def test_gnutls_wget_from_nginx_1mib(tmp):
    wget = []

    def fetch(url, path):
        wget.append(spawn(["wget", "-q", "--no-check-certificate", "-O", path, url]))
        check(wget[0].wait(60) == 0, "wget failed")
    cap, _, body = download_traced(tmp, fetch)
    c = cap.only("wget", pid=wget[0].pid)
    want = funcs_for({"gnutls_record_send", "gnutls_record_recv"}, {"gnutls_record_send2", "gnutls_record_recv"})
    check(cap.meta[c]["funcs"] == want, "wget's functions: %s, want %s" % (cap.meta[c]["funcs"], want))
    evs = [e for e in cap.events if e["type"] == "data" and e["conn"] == c]
    check(all(e["lib"] == "gnutls" for e in evs), "lib is not gnutls")
    check_download(cap, c, body, "wget")


@test
def test_gnutls_serv_http_to_curl(tmp):
    _, files = www(tmp, {"page.bin": 300000}, name=".")
    body = files["page.bin"]
    with GnutlsServ(tmp, ["--http", "--httpdata", os.path.join(tmp, "page.bin")]) as srv:
        tr = Tracer(tmp)
        c = curl(["https://127.0.0.1:%d/" % srv.port])
        check(c.returncode == 0 and c.stdout == body, "curl from gnutls-serv failed")
        # gnutls-serv says nothing when done: its last send is out once tlstap shows it.
        tr.wait_capture(lambda cap: any(cap.stream(s, "out").endswith(body) for s in cap.conns(pid=srv.pid)))
        tr.stop()
    cap = clean_capture(tr)
    s = cap.only("gnutls-serv", pid=srv.pid)
    check(all(e["lib"] == "gnutls" for e in cap.events if e["type"] == "data" and e["conn"] == s),
          "server events not marked gnutls")
    check(cap.stream(s, "out").endswith(body), "server's captured out does not end with the page")
    check(cap.stream(s, "in").startswith(b"GET / HTTP/1.1"), "server's captured request wrong")
    peer = both_ends(cap, s, "gnutls-serv/curl")
    check(cap.meta[peer]["comm"] == "curl", "the other end is not curl")


@test
def test_gnutls_cli_line_to_echo_server(tmp):
    line = b"tlstap line %d\n" % os.getpid()
    with GnutlsServ(tmp, ["--echo"]) as srv:
        tr = Tracer(tmp)
        # Not HTTP: the default text view must fall back to the raw bytes.
        tt = Tracer(tmp, [], out="text")
        cli = spawn(["gnutls-cli", "--insecure", "-p", str(srv.port), "127.0.0.1"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        say(cli, line)
        read_until(cli.stdout, line.strip(), 20, "gnutls-cli did not get the echo")
        cli.stdin.close()
        cli.wait(20)
        # gnutls-serv says nothing when done: both ends are out once tlstap shows them.
        tr.wait_capture(lambda cap: [cap.stream(c, d) for c in cap.conns(pid=srv.pid) for d in ("in", "out")]
                        == [line, line])
        tt.wait_output(lambda raw: raw.count(line.strip()) >= 4)
        tr.stop()
        tt.stop()
    text = tt.raw.decode(errors="replace")
    check(text.count(line.decode().strip()) >= 4,
          "text view does not show the non-HTTP line raw from both ends, both ways:\n" + text[:800])
    cap = clean_capture(tr)
    c = cap.only("gnutls-cli", pid=cli.pid)
    as_sent(cap, c, line, line, "gnutls-cli: the line it was given, and the echo")
    peer = both_ends(cap, c, "gnutls-cli/gnutls-serv")
    check(srv.pid in cap.meta[peer]["pids"], "the other end is not gnutls-serv")


@test
def test_both_libraries_in_one_call_counted_once(tmp):
    """GnuTLS's OpenSSL layer: SSL_write calls gnutls_record_send on the same bytes."""
    with GnutlsServ(tmp, ["--echo"]) as srv:
        cli = spawn([PY, script("gnutls_compat_client.py"), str(srv.port), "compat line"],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(cli.stdout.readline().strip() == b"ready", "compat client did not connect")
        tr = Tracer(tmp, ["-p", str(cli.pid), "-v"])
        say(cli, b"go\n")
        check(cli.stdout.readline().strip() == b"done", "compat client failed")
        check(cli.wait(10) == 0, "compat client failed")
        tr.stop()       # only the client is traced, and it is gone: the drain has all
    check("libgnutls-openssl" in tr.stderr and "gnutls_record_send" in tr.stderr,
          "both libraries were not probed:\n" + tr.stderr)
    cap = clean_capture(tr)
    as_sent(cap, cap.only("compat client"), b"compat line\n", b"compat line\n", "captured once each way")
