"""Under load and loss: busy threads at attach, full rings, a stdout nobody reads, a stop mid-transfer."""
import fcntl
import json
import os
import re
import signal
import socket
import subprocess
import sys
import termios

from .capture import Capture, same, stream_extent
from .core import CERT, KEY, PY, Fail, cfg, check, proc_state, script, spawn, test, test_in, wait_until
from .scenes import nginx_serving
from .peers import EchoServer, held_client, read_file, say, tshark, urllib_post
from .tracer import Tracer

from busy_echo import MSG, message     # the client's own messages (tests/e2e is on the path: run.py)


def check_busy_stream(got, t, noted, count, what):
    """got must be messages k..count-1 of thread t, whole and in order, with
    k no later than the first round trip begun after the probes were live."""
    check(len(got) % MSG == 0 and got, "%s: %d bytes, not whole %d-byte messages" % (what, len(got), MSG))
    first = got[:MSG]
    m = re.match(rb"t(\d\d) msg (\d{10}) ", first)
    check(m and int(m.group(1)) == t, "%s: starts with %r" % (what, first))
    k = int(m.group(2))
    # Round trip `noted` may have begun before tlstap attached, and the server
    # may already have been waiting in its read of the next one: nothing
    # later may be missing.
    check(k <= noted + 2, "%s: capture starts at message %d, but round trips from %d on began "
          "after tlstap was tracing" % (what, k, noted + 1))
    want = b"".join(message(t, i) for i in range(k, count))
    same(got, want, "%s: messages %d..%d" % (what, k, count - 1))
    return count - k


@test
def test_started_while_threads_are_busy_misses_nothing_after(tmp):
    """tlstap starts while four threads of one process are in tight TLS round
    trips: every thread, at both ends, is captured whole from its first call
    after the probes were attached to the end."""
    threads = 4
    srv = spawn([PY, script("busy_echo.py"), "server", "--cert", CERT, "--key", KEY],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    port = int(srv.stdout.readline())
    cli = spawn([PY, script("busy_echo.py"), "client", "--port", str(port), "--threads", str(threads)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    # Every thread has made a round trip: all are in their loops.
    check(cli.stdout.readline().strip() == b"started", "busy client did not start")
    tr = Tracer(tmp)
    cli.send_signal(signal.SIGUSR1)     # what each thread had done when tracing began
    say(cli, b"wait 1000\n")            # then a thousand round trips more, each
    check(cli.stdout.readline().strip() == b"busy", "busy client did not go on")
    say(cli, b"stop\n")
    res = json.loads(cli.stdout.readline())
    cli.wait(10)
    # The server says when each connection is over: its last echo has returned.
    for _ in range(threads):
        check(srv.stdout.readline().strip() == b"closed", "busy server did not end a connection")
    tr.stop()
    srv.kill()
    srv.wait()
    check(not res["errors"], "client: %s" % res["errors"])
    cap = Capture(tr.events())
    check(tr.rc == 0 and not cap.gaps, "rc %d, gaps %s" % (tr.rc, cap.gaps[:3]))
    for t, th in enumerate(res["threads"]):
        check(th["noted"] is not None and th["count"] > th["noted"] + 50,
              "thread %d did too little while traced: %s" % (t, th))
        local = "127.0.0.1:%d" % th["port"]
        mine = [c for c in cap.conns(pid=cli.pid) if cap.meta[c]["local"] == local]
        check(len(mine) == 1, "thread %d (port %d): %d client connections captured" % (t, th["port"], len(mine)))
        c = mine[0]
        peer = cap.peer_of(c)
        check(peer is not None and srv.pid in cap.meta[peer]["pids"],
              "thread %d: the server's end was not captured" % t)
        for conn, d, who in ((c, "out", "client sent"), (c, "in", "client received"),
                             (peer, "in", "server received"), (peer, "out", "server sent")):
            n = check_busy_stream(cap.stream(conn, d), t, th["noted"], th["count"], "thread %d, %s" % (t, who))
            key = "bytes_" + d
            check(cap.closes.get(conn, {}).get(key) == n * MSG, "thread %d, %s: close record %s, want %d bytes"
                  % (t, who, cap.closes.get(conn), n * MSG))
    stats = cap.stats()
    check(stats["lost_bytes"] == 0 and stats["ring_full_records"] == 0, "losses: %s" % stats)


def exit_closed(tr, pid):
    """tlstap has printed the close record of pid's connection ended by its exit."""
    return b'"pid":%d,"reason":"exit"' % pid in tr.peek()


@test_in("auto")
def test_bytes_that_never_reached_a_ring_are_a_gap_at_exit_and_at_stop(tmp):
    """The collector is stopped (SIGSTOP) while a client reads 4 MiB, so its
    128 KiB ring overflows. Whether tlstap stops first or the client exits
    without closing, every byte the client sent and received is either
    captured or inside a reported gap, up to the last one."""
    with EchoServer(tmp) as srv:
        for ending in ("tlstap stops", "client killed"):
            cli, _, _ = held_client(srv.port, 4 << 20, tmp)
            tr = Tracer(tmp, ["-B", "128", "-p", str(cli.pid)])
            tr.proc.send_signal(signal.SIGSTOP)
            try:
                say(cli, b"go\n")
                check(cli.stdout.readline().strip() == b"done", "exchange failed")
                if ending == "client killed":
                    cli.kill()      # exits without close(): only the exit is seen
                    cli.wait(10)
            finally:
                tr.proc.send_signal(signal.SIGCONT)
            if ending == "client killed":
                # The exit is handled while tlstap runs, not by the stop.
                tr.wait_output(lambda _: exit_closed(tr, cli.pid))
            # "tlstap stops": the stop drains the rings and ends the open connection.
            tr.stop()
            if cli.poll() is None:
                say(cli, b"bye\n")
                cli.wait(10)
            check(tr.rc == 0, "%s: tlstap exited %d: %s" % (ending, tr.rc, tr.stderr))
            sent = read_file(os.path.join(tmp, "held.out"))
            received = read_file(os.path.join(tmp, "held.in"))
            evs = tr.events()
            conns = sorted({e["conn"] for e in evs if e["type"] == "data" and e["pid"] == cli.pid})
            check(len(conns) == 1, "%s: want one connection, got %s" % (ending, conns))
            closes = [e for e in evs if e["type"] == "close" and e["conn"] == conns[0]]
            check(len(closes) == 1 and closes[0]["reason"] == ("exit" if ending == "client killed" else "end"),
                  "%s: close records %s" % (ending, closes))
            total_lost = 0
            for d, truth in (("out", sent), ("in", received)):
                at, data, lost = stream_extent(evs, conns[0], d)
                check(at == len(truth), "%s: %s stream accounted to %d bytes (%d captured, %d in gaps), "
                      "but %d were %s" % (ending, d, at, data, lost, len(truth),
                                         "sent" if d == "out" else "received"))
                check((closes[0]["bytes_" + d], closes[0]["lost_" + d]) == (len(truth), lost),
                      "%s: the close record counts %s, want %d bytes %s, %d lost"
                      % (ending, closes[0], len(truth), d, lost))
                total_lost += lost
            check(total_lost > 0, "%s: no loss was forced" % ending)
            stats = [e for e in evs if e["type"] == "stats"][0]
            check(stats["lost_bytes"] == total_lost, "%s: stats say %d lost, gaps %d"
                  % (ending, stats["lost_bytes"], total_lost))


def queued(fd):
    """Bytes waiting in a pipe or socket for its reader."""
    return int.from_bytes(fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"), sys.byteorder)


@test_in("auto")
def test_a_collector_behind_its_fast_ring_loses_nothing(tmp):
    """The collector is stopped (SIGSTOP) while a client pinned to one CPU
    sends and receives 4 MiB each way: that CPU's fast ring (4 MiB with
    -B 16384) fills and its -B ring takes the rest. Every byte is captured
    in order, nothing is lost, and the summary counts what went to the -B
    ring: what the fast ring could not hold, and not more."""
    size = 4 << 20
    with EchoServer(tmp) as srv:
        cli, _, _ = held_client(srv.port, size, tmp)
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(cli.pid, {cpu})
        tr = Tracer(tmp, ["-B", "16384", "-p", str(cli.pid)])
        tr.proc.send_signal(signal.SIGSTOP)
        try:
            wait_until(lambda: proc_state(tr.proc.pid) == "T", 10, "tlstap stopped")
            say(cli, b"go\n")
            check(cli.stdout.readline().strip() == b"done", "exchange failed")
        finally:
            tr.proc.send_signal(signal.SIGCONT)
        say(cli, b"bye\n")
        cli.wait(10)
        tr.stop()
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    sent = read_file(os.path.join(tmp, "held.out"))
    received = read_file(os.path.join(tmp, "held.in"))
    cap = Capture(tr.events())
    conns = cap.conns(pid=cli.pid)
    check(len(conns) == 1, "want one connection, got %s" % conns)
    same(cap.stream(conns[0], "out"), sent, "bytes captured and sent")
    same(cap.stream(conns[0], "in"), received, "bytes captured and received")
    stats = cap.stats()
    check(stats["lost_bytes"] == 0 and stats["ring_full_records"] == 0, "losses: %s" % stats)
    # The fast ring holds under 4 MiB of records: the rest had to overflow,
    # and only the rest (the fast ring is written first).
    total = len(sent) + len(received)
    check(total - (4 << 20) <= stats["overflow_bytes"] < total - (3 << 20) and stats["overflow_records"] > 0,
          "overflow of %d bytes sent and received not counted right: %s" % (total, stats))
    check(re.search(r"rings: %d records \(%d bytes\) went to the -B rings"
                    % (stats["overflow_records"], stats["overflow_bytes"]), tr.stderr),
          "the summary does not say it: %s" % tr.stderr)


@test_in("auto")
def test_stop_is_honoured_while_nobody_reads_stdout(tmp):
    """stdout is a pipe or a socket (a journal) that nobody reads, and it is
    full: SIGINT still stops tlstap promptly, with its summary on stderr and
    what it could not write said, for the text views and for -w -."""
    with EchoServer(tmp) as srv:
        for args, kind, said in ((["-o", "hex"], "pipe", r"^tlstap: \d+ bytes of output were dropped"),
                                 (["-o", "hex"], "socket", r"^tlstap: \d+ bytes of output were dropped"),
                                 (["-w", "-"], "pipe", r"^tlstap: cannot write -: its reader took nothing")):
            if kind == "pipe":
                r, w = os.pipe()
            else:
                r, w = socket.socketpair()
                r, w = r.detach(), w.detach()
            p = spawn([cfg.tlstap, "-p", str(srv.pid)] + args, stdout=w, stderr=subprocess.PIPE,
                      stdin=subprocess.DEVNULL)
            os.close(w)
            what = "%s to a %s" % (" ".join(args), kind)
            try:
                line = p.stderr.readline().decode()
                check(line.startswith("tlstap: tracing"), "did not start: %r" % line)
                # 1 MiB each way is ~9 MB as a hexdump, 2 MB as pcapng: more than the
                # pipe or socket and tlstap's buffers hold, so tlstap blocks on stdout
                # once it has begun writing it.
                urllib_post(srv.port, 1 << 20, tmp)
                wait_until(lambda: queued(r) > 0, 30, "%s: tlstap wrote nothing" % what)
                p.send_signal(signal.SIGINT)
                try:
                    rc = p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                    raise Fail("%s: tlstap did not stop within 10 s of SIGINT while stdout was full" % what)
                err = p.stderr.read().decode()
            finally:
                os.close(r)
            check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", err, re.M),
                  "%s: no summary: %r" % (what, err))
            check(re.search(said, err, re.M) and rc == 1,
                  "%s: rc %d, what was not written is not said: %r" % (what, rc, err))


@test_in("auto")
def test_pcapng_interrupted_under_load_is_valid(tmp):
    pcap = os.path.join(tmp, "load.pcapng")
    with nginx_serving(tmp, {"big.bin": 4 << 20}, log_requests=False) as ngx:
        tr = Tracer(tmp, ["-w", pcap])
        curls = [spawn(["curl", "-sk"] + ["https://127.0.0.1:%d/big.bin" % ngx.port] * 20, stdout=subprocess.DEVNULL)
                 for _ in range(4)]
        # In the middle of the transfers: 8 MiB of the 320 are in the file.
        wait_until(lambda: os.path.exists(pcap) and os.path.getsize(pcap) >= 8 << 20, 60,
                   "the pcapng file did not grow")
        running = [c.poll() is None for c in curls]
        tr.stop()       # SIGINT
        for c in curls:
            c.kill()
            c.wait()
    check(all(running), "the transfers were over before the stop: %s" % running)
    check(tr.rc == 0, "tlstap failed (%d): %s" % (tr.rc, tr.stderr))
    rc, out, err = tshark(["-r", pcap, "-q", "-z", "io,stat,0"])
    check(rc == 0 and "cut short" not in err and "appears to be damaged" not in err,
          "tshark on the interrupted file: rc %d %s" % (rc, err))
    m = re.search(r"\|\s*0\.0+\s*<>\s*\S+\s*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", out)
    check(m and int(m.group(1)) > 0, "tshark finds no packet in the interrupted file:\n%s" % out)
    p = subprocess.run([cfg.tlstap, "-r", pcap, "-o", "json"], capture_output=True, timeout=120)
    check(p.returncode == 0, "tlstap -r rejects the interrupted file: %s" % p.stderr)
    got = sum(e["len"] for e in map(json.loads, p.stdout.splitlines()) if e["type"] == "data")
    check(got >= 4 << 20, "tlstap -r finds %d bytes of data in the interrupted file, want 4 MiB or more" % got)


@test_in("auto")
def test_pcapng_forced_loss_is_a_sequence_gap_and_a_drop_count(tmp):
    pcap = os.path.join(tmp, "loss.pcapng")
    with nginx_serving(tmp, {"big.bin": 2 << 20}) as ngx:
        # The smallest rings and nobody reading them while curl runs: most
        # records find them full, every time.
        tr = Tracer(tmp, ["-w", pcap, "-B", "128", "--comm", "curl"])
        tr.proc.send_signal(signal.SIGSTOP)
        try:
            c = subprocess.run(["curl", "-sk", "-o", "/dev/null", "https://127.0.0.1:%d/big.bin" % ngx.port],
                               timeout=60)
        finally:
            tr.proc.send_signal(signal.SIGCONT)
        check(c.returncode == 0, "curl failed")
        tr.stop()       # only curl is traced, and it is gone: the drain has all
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    m = re.search(r"lost (\d+) bytes", tr.stderr)
    check(m and int(m.group(1)) > 0, "no loss was forced: %s" % tr.stderr)
    rc, out, err = tshark(["-r", pcap, "-Y", "tcp.analysis.lost_segment", "-T", "fields", "-e", "frame.number"])
    check(rc == 0 and out.strip(), "tshark sees no missing segment: %s" % err)
    drops = pcapng_isb_drops(pcap)
    check(drops and max(drops.values()) > 0, "no interface drop count in the file: %s" % drops)


def pcapng_isb_drops(path):
    """Interface statistics drops, read from the file's blocks by hand (independent of tlstap)."""
    import struct
    data = read_file(path)
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
