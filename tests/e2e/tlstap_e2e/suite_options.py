"""Options: filters (-p, --uid, --comm), -s, -c, -d, signals, the text and hex views, --help, bad usage."""
import base64
import json
import os
import re
import signal
import subprocess
import time

from .capture import as_sent, clean_capture, port_of
from .core import PY, ROOT, Fail, cfg, check, funcs_for, script, test, test_in
from .peers import EchoServer, curl, read_file, urllib_post
from .scenes import check_download, nginx_serving
from .tracer import Tracer, drop_to_nobody, run_bad, world_readable_copy


@test
def test_pid_filter_captures_only_that_process(tmp):
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid)])
        for _ in range(2):
            urllib_post(srv.port, 50000, tmp)
        c = curl(["--data-binary", "hello from curl", "https://127.0.0.1:%d/curl" % srv.port])
        check(c.returncode == 0 and c.stdout == b"hello from curl", "curl against echo failed")
        srv.wait_closed(3)
        tr.stop()
    cap = clean_capture(tr)
    check(cap.meta, "nothing captured")
    for conn, m in cap.meta.items():
        check(m["pids"] == {srv.pid}, "conn %d belongs to %s, not only the server" % (conn, m["pids"]))
    check(len(cap.meta) == 3, "want the server's 3 connections, got %d" % len(cap.meta))
    for conn, m in cap.meta.items():
        peer_port = port_of(m["remote"])
        as_sent(cap, conn, *srv.truth(peer_port, "server"), what="server, conn %d" % conn)


@test
def test_snaplen_counts_what_it_leaves_out(tmp):
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-s", "100", "-p", str(srv.pid)])
        urllib_post(srv.port, 200000, tmp)
        srv.wait_closed(1)
        tr.stop()
    evs = tr.events()
    check(tr.rc == 0, "tlstap failed")
    datas = [e for e in evs if e["type"] == "data"]
    gaps = [e for e in evs if e["type"] == "gap"]
    check(datas and all(e["len"] <= 100 for e in datas), "a data event longer than the snaplen")
    check(gaps and all(g["reason"] == "snaplen" for g in gaps), "snaplen gaps missing")
    conn = datas[0]["conn"]
    port = port_of(datas[0]["remote"])
    close = [e for e in evs if e["type"] == "close" and e["conn"] == conn]
    check(len(close) == 1, "want one close record for conn %d: %s" % (conn, close))
    for d in ("in", "out"):
        truth = srv.logged(port, d)
        captured = sum(e["len"] for e in datas if e["dir"] == d)
        skipped = sum(g["len"] for g in gaps if g["dir"] == d)
        check(captured + skipped == len(truth), "%s: %d captured + %d skipped != %d moved"
              % (d, captured, skipped, len(truth)))
        check(close[0]["bytes_" + d] == len(truth), "%s: the close record counts %d bytes, %d moved"
              % (d, close[0]["bytes_" + d], len(truth)))
        # Each captured chunk holds exactly the bytes at its position.
        for e in datas:
            if e["dir"] == d and e["conn"] == conn:
                check(base64.b64decode(e["data"]) == truth[e["pos"]:e["pos"] + e["len"]],
                      "snapped chunk at pos %d is not the bytes at that position" % e["pos"])
    stats = [e for e in evs if e["type"] == "stats"][0]
    check(stats["snaplen_bytes"] == sum(g["len"] for g in gaps), "stats snaplen_bytes wrong")


@test_in("auto")
def test_count_and_duration_stop_by_themselves(tmp):
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-c", "3", "-p", str(srv.pid)])
        for _ in range(3):
            urllib_post(srv.port, 1000, tmp)
        check(tr.proc.wait(20) == 0, "tlstap -c 3 did not exit 0 by itself")
        tr.stop()
        check(len([e for e in tr.events() if e["type"] == "data"]) == 3, "-c 3 printed another count")
        start = time.time()
        d = subprocess.run([cfg.tlstap, "-d", "1.5", "-o", "none"], capture_output=True, timeout=30)
        took = time.time() - start
        check(d.returncode == 0, "tlstap -d failed: %s" % d.stderr)
        check(1.4 < took < 15, "tlstap -d 1.5 took %.1f s" % took)


@test
def test_sigterm_drains_and_summarises(tmp):
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid)])
        urllib_post(srv.port, 100000, tmp)
        srv.wait_closed(1)
        rc = tr.stop(signal.SIGTERM)
    check(rc == 0, "SIGTERM exit status %d" % rc)
    cap = clean_capture(tr)
    check(cap.events[-1]["type"] == "stats", "stats is not the last line")
    conn = cap.only("server", pid=srv.pid)
    peer_port = port_of(cap.meta[conn]["remote"])
    as_sent(cap, conn, *srv.truth(peer_port, "server"), what="the server, SIGTERM")
    check(len(srv.logged(peer_port, "in")) > 100000, "the server did not receive the client's POST")


@test
def test_text_and_hex_output(tmp):
    with EchoServer(tmp) as srv:
        tt = Tracer(tmp, ["-p", str(srv.pid), "--raw"], out="text")
        th = Tracer(tmp, ["-p", str(srv.pid)], out="hex")
        c = curl(["--data-binary", "line one\nline two", "https://127.0.0.1:%d/t" % srv.port])
        check(c.returncode == 0, "curl failed")
        srv.wait_closed(1)
        tt.stop()
        th.stop()
    text = tt.raw.decode()
    for d, arrow, func in (("in", "<-", funcs_for("SSL_read_ex", "ssl_read_internal")),
                           ("out", "->", funcs_for("SSL_write_ex", "ssl_write_internal"))):
        check(re.search(r"^\d\d:\d\d:\d\d\.\d{6} python3\[%d/\d+\] openssl %s 127\.0\.0\.1:%d %s "
                        r"127\.0\.0\.1:\d+ %s \d+ bytes conn \d+ pos 0$" % (srv.pid, func, srv.port, arrow, d),
                        text, re.M),
              "text header of the %s direction missing or malformed:\n%s" % (d, text[:500]))
    check("\n  POST /t HTTP/1.1\n" in text and "\n  line one\n  line two" in text,
          "text payload missing or not indented:\n" + text[:500])
    check("\n  HTTP/1.1 200 OK\n" in text, "the response is missing from the text view:\n" + text[:800])
    hexout = th.raw.decode()
    check(re.search(r"^  00000000  50 4f 53 54 20 2f 74 20 ", hexout, re.M), "hex dump missing:\n" + hexout[:400])
    check(re.search(r"^  00000000  48 54 54 50 2f 31 2e 31  20 32 30 30 ", hexout, re.M),
          "hex dump of the response missing:\n" + hexout[:800])


@test
def test_ipv6_with_comm_filter(tmp):
    body = os.urandom(40000)
    with open(os.path.join(tmp, "body"), "wb") as f:
        f.write(body)
    with EchoServer(tmp, host="::1") as srv:
        tr = Tracer(tmp, ["--comm", "curl"])
        c = curl(["--data-binary", "@" + os.path.join(tmp, "body"), "https://[::1]:%d/v6" % srv.port])
        check(c.returncode == 0 and c.stdout == body, "curl over IPv6 failed")
        srv.wait_closed(1)      # its logs are complete
        tr.stop()
    cap = clean_capture(tr)
    conn = cap.only("--comm curl: only curl's")
    m = cap.meta[conn]
    check(m["comm"] == "curl", "--comm curl captured %s" % m["comm"])
    check(m["remote"] == "[::1]:%d" % srv.port, "IPv6 remote is %s" % m["remote"])
    check(re.match(r"^\[::1\]:\d+$", m["local"] or ""), "IPv6 local is %s" % m["local"])
    peer_port = port_of(m["local"])
    as_sent(cap, conn, *srv.truth(peer_port, "client"), what="curl over IPv6")


@test
def test_uid_filter(tmp):
    logdir = os.path.join(tmp, "nobody")
    os.makedirs(logdir)
    os.chmod(tmp, 0o755)
    os.chmod(logdir, 0o777)
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["--uid", "65534"])
        client = world_readable_copy(tmp, script("tls_client.py"))
        cli = subprocess.run([PY, client, "--mode", "urllib", "--port", str(srv.port), "--size", "30000",
                              "--log", logdir], preexec_fn=drop_to_nobody, timeout=60)
        check(cli.returncode == 0, "client as nobody failed")
        root_cli = curl(["--data-binary", "as root", "https://127.0.0.1:%d/root" % srv.port])
        check(root_cli.returncode == 0, "curl as root failed")
        srv.wait_closed(2)      # its logs are complete
        tr.stop()
    cap = clean_capture(tr)
    conn = cap.only("--uid 65534: only nobody's")
    peer_port = port_of(cap.meta[conn]["local"])
    as_sent(cap, conn, *srv.truth(peer_port, "client"), what="nobody's client")



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
    run_bad(["-d", "1"], 1, ["needs root"], preexec=drop_to_nobody, tlstap=world_readable_copy(tmp, cfg.tlstap))

    # Output that cannot be written: tlstap says so and fails, it does not hang or crash.
    with EchoServer(tmp) as srv, open("/dev/full", "wb") as full:
        p = subprocess.Popen([cfg.tlstap, "-p", str(srv.pid)], stdout=full, stderr=subprocess.PIPE)
        first = p.stderr.readline().decode()
        check(first.startswith("tlstap: tracing"), "tlstap did not start: %r" % first)
        curl(["--data-binary", "x" * 5000, "https://127.0.0.1:%d/f" % srv.port], timeout=30)
        try:
            rc = p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            raise Fail("tlstap kept running with an unwritable output")
        err = p.stderr.read().decode()
    check(rc == 1 and "cannot write the output" in err, "unwritable output: rc %d, %r" % (rc, err))


def help_options(text):
    """The options --help lists: [(short or None, long)]."""
    return re.findall(r"^  (?:-(\w), )?\s*--([a-z][a-z-]*)", text, re.M)


@test_in("auto")
def test_help_is_complete(tmp):
    """Every option --help lists is one the binary accepts (its short form alike) and one the
    manual page documents; the ones users need most are among them."""
    p = subprocess.run([cfg.tlstap, "--help"], capture_output=True, timeout=10)
    check(p.returncode == 0, "--help failed")
    out = p.stdout.decode()
    for opt in ("--pid", "--uid", "--comm", "--lib", "--output", "--snaplen", "--buffer-size",
                "--count", "--duration", "--list-targets", "EXAMPLES"):
        check(opt in out, "--help does not mention %s" % opt)
    opts = help_options(out)
    check(len(opts) >= 26 and len(set(opts)) == len(opts), "--help lists only %d options: %s" % (len(opts), opts))
    with open(os.path.join(ROOT, "docs", "tlstap.8")) as f:
        man = f.read()
    undocumented = [o for _, o in opts if "\\-\\-" + o.replace("-", "\\-") not in man]
    check(not undocumented, "docs/tlstap.8 does not document %s" % ", ".join("--" + o for o in undocumented))
    for short, long in opts:
        # A bogus word and a stray argument after it: the option is parsed (or answers, for
        # --help and --version), nothing starts tracing, and its short form does the same.
        res = []
        for form in ["--" + long] + (["-" + short] if short else []):
            r = subprocess.run([cfg.tlstap, form, "--bogus-word", "stray"], capture_output=True, timeout=60)
            err = r.stderr.decode(errors="replace")
            check(r.returncode in (0, 2) and "tracing" not in err, "%s: exit %d %r" % (form, r.returncode, err))
            check("unknown option '%s'" % form not in err, "the binary does not know %s: %r" % (form, err))
            res.append((r.returncode, err, r.stdout))
        check(len(set(res)) == 1, "-%s and --%s differ: %s" % (short, long, res))


@test_in("auto")
def test_host_and_run_id_label_every_json_line_and_the_pcapng(tmp):
    """--host and --run-id end every JSON line (conn, data, http, close, stats) and are the
    pcapng section's comments (capinfos reads them); -r without them prints neither."""
    host, run = 'node-7 "a"', "run\\42"
    pcap, got = os.path.join(tmp, "fleet.pcapng"), os.path.join(tmp, "got.bin")
    with nginx_serving(tmp, {"big.bin": 200000}, http2=False) as ngx:
        tr = Tracer(tmp, ["--host", host, "--run-id", run, "-w", pcap])
        c = curl(["--http1.1", "-o", got, "https://127.0.0.1:%d/big.bin" % ngx.port])
        check(c.returncode == 0, "curl failed")
        ngx.wait_requests(1)
        tr.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    evs = tr.events()
    for e in evs:
        check(list(e)[-2:] == ["host", "run_id"] and e["host"] == host and e["run_id"] == run,
              "a %s line without the labels at its end: %s" % (e["type"], list(e)[-3:]))
    kinds = {e["type"] for e in evs}
    check({"conn", "data", "http", "close", "stats"} <= kinds, "line kinds seen: %s" % kinds)
    # The labels change nothing else: the bytes are still those sent at both ends.
    cap = clean_capture(tr)
    check(read_file(got) == ngx.bodies["big.bin"], "curl's own download differs from the file")
    ours = [c for c in cap.conns(comm="curl") if port_of(cap.meta[c]["remote"]) == ngx.port]
    check(len(ours) == 1, "want curl's one connection to nginx, got %s" % ours)
    check_download(cap, ours[0], ngx.bodies["big.bin"], "curl")
    info = subprocess.run(["capinfos", "-k", pcap], capture_output=True, timeout=60)
    text = info.stdout.decode(errors="replace")
    check(info.returncode == 0 and "host=" + host in text and "run_id=" + run in text,
          "capinfos does not show the section comments: %s" % text)
    plain = subprocess.run([cfg.tlstap, "-r", pcap, "-o", "json"], capture_output=True, timeout=60)
    lines = [json.loads(line) for line in plain.stdout.splitlines()]
    check(plain.returncode == 0 and lines, "tlstap -r failed: %s" % plain.stderr[-300:])
    check(not [e for e in lines if "host" in e or "run_id" in e], "-r without --host printed labels")
