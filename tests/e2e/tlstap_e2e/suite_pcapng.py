"""pcapng (-w): what Wireshark reads, reading back (-r), rotation, stdout, a full disk."""
import os
import re
import signal
import subprocess
import time

from .capture import same
from .core import cfg, check, spawn, test_in
from .scenes import nginx_serving
from .peers import EchoServer, curl, read_file, request_uris, tshark, urllib_post
from .tracer import Tracer, run_bad, tracer_until_exit


@test_in("auto")
def test_pcapng_three_keepalive_requests_export_objects(tmp):
    pcap = os.path.join(tmp, "cap.pcapng")
    with nginx_serving(tmp, {"a.bin": 1000, "b.bin": 70000, "c.bin": 300000}) as ngx:
        bodies = ngx.bodies
        tr = Tracer(tmp, ["-w", pcap])
        outs = []
        for n in sorted(bodies):
            outs += ["-o", os.path.join(tmp, "got-" + n)]
        c = curl(["--http1.1"] + outs + ["https://127.0.0.1:%d/%s" % (ngx.port, n) for n in sorted(bodies)])
        check(c.returncode == 0, "curl failed")
        ngx.wait_requests(3)
        tr.stop()
    check(tr.rc == 0, "tlstap -w failed (%d): %s" % (tr.rc, tr.stderr))
    check(os.stat(pcap).st_mode & 0o777 == 0o600, "pcapng file is not mode 0600")
    rc, out, err = tshark(["-r", pcap, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri",
                           "-e", "tcp.stream"])
    check(rc == 0, "tshark cannot read the file: %s" % err)
    rows = [line.split("\t") for line in out.splitlines() if line]
    check(sorted(r[0] for r in rows) == ["/a.bin", "/b.bin", "/c.bin"], "tshark lists %s" % rows)
    check(len(set(r[1] for r in rows)) == 1, "the three requests are not on one TCP stream: %s" % rows)
    objdir = os.path.join(tmp, "objects")
    rc, out, err = tshark(["-r", pcap, "-q", "--export-objects", "http,%s" % objdir])
    check(rc == 0, "tshark --export-objects failed: %s" % err)
    for name, body in bodies.items():
        path = os.path.join(objdir, name)
        check(os.path.exists(path), "tshark exported no %s: %s" % (name, os.listdir(objdir)))
        same(read_file(path), body, "exported %s vs the file served" % name)
    rc, out, err = tshark(["-r", pcap, "-T", "fields", "-e", "tcp.checksum.status", "-e", "ip.checksum.status",
                           "-o", "tcp.check_checksum:TRUE", "-o", "ip.check_checksum:TRUE"])
    check(set(out.split()) == {"1"}, "checksums not all good (1 = good): %s" % set(out.split()))


@test_in("auto")
def test_pcapng_http2_headers_decoded(tmp):
    pcap = os.path.join(tmp, "h2.pcapng")
    with nginx_serving(tmp, {"h2.txt": b"hello over h2\n" * 100}) as ngx:
        tr = Tracer(tmp, ["-w", pcap])
        c = curl(["--http2", "https://127.0.0.1:%d/h2.txt" % ngx.port])
        check(c.returncode == 0 and c.stdout.startswith(b"hello over h2"), "curl --http2 failed")
        ngx.wait_requests(1)
        tr.stop()
    # A plaintext HTTP/2 connection on a port Wireshark does not know: it
    # needs "Decode As" HTTP/2, as it would for h2c on such a port.
    rc, out, err = tshark(["-r", pcap, "-d", "tcp.port==%d,http2" % ngx.port, "-Y", "http2.header.name == \":path\"",
                           "-T", "fields", "-e", "http2.header.value"])
    check(rc == 0, "tshark failed: %s" % err)
    check("/h2.txt" in out, "tshark did not decode :path /h2.txt from HTTP/2: %r" % out[:300])


@test_in("auto")
def test_pcapng_read_back_reproduces_live_json(tmp):
    pcap = os.path.join(tmp, "rr.pcapng")
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-w", pcap, "-o", "json"])
        for size in (100, 70000):
            urllib_post(srv.port, size, tmp)
        srv.wait_closed(2)
        tr.stop()

    def split(text):
        lines = [line for line in text.splitlines() if '"type":"stats"' not in line]
        # Decoded exchanges are printed when decoding settles, a moment later
        # live than when replayed: same objects, not the same place. Live lines
        # come as the rings deliver them, the file's in time order: two streams
        # may interleave differently (each line says its stream and position).
        return (sorted(line for line in lines if '"type":"http"' not in line),
                sorted(line for line in lines if '"type":"http"' in line))
    live, live_http = split(tr.raw.decode())
    p = subprocess.run([cfg.tlstap, "-r", pcap, "-o", "json"], capture_output=True, timeout=60)
    check(p.returncode == 0, "tlstap -r failed: %s" % p.stderr)
    replayed, replayed_http = split(p.stdout.decode())
    check(len(live) > 4 and len(live_http) == 2, "too little captured (%d lines, %d http)" % (len(live), len(live_http)))
    check(live == replayed, "replay differs from live:\n%s\n---\n%s" % ("\n".join(live[:6]), "\n".join(replayed[:6])))
    check(live_http == replayed_http, "replayed http objects differ:\n%s\n---\n%s" % (live_http, replayed_http))


@test_in("auto")
def test_pcapng_rotation_files_open_on_their_own(tmp):
    base = os.path.join(tmp, "rot")
    with nginx_serving(tmp, {"big.bin": 1 << 20}) as ngx:
        tr = Tracer(tmp, ["-w", base, "-C", "1", "--comm", "curl"])
        c = curl(["-o", "/dev/null"] * 3 + ["https://127.0.0.1:%d/big.bin" % ngx.port] * 3)
        check(c.returncode == 0, "curl failed")
        tr.stop()       # only curl is traced, and it is gone: the drain has all
    files = sorted(f for f in os.listdir(tmp) if f.startswith("rot"))
    check(len(files) >= 3, "-C 1 with 3 MiB wrote %s" % files)
    total = 0
    for f in files:
        path = os.path.join(tmp, f)
        rc, out, err = tshark(["-r", path, "-T", "fields", "-e", "tcp.flags.syn", "-e", "tcp.len"])
        check(rc == 0, "tshark cannot open %s alone: %s" % (f, err))
        rows = [line.split("\t") for line in out.splitlines() if line]
        data = [r for r in rows if r[1] != "0"]
        if data:
            check(rows[0][0] == "1", "%s: data but no handshake first" % f)
        total += sum(int(r[1]) for r in data)
        check(os.path.getsize(path) < 1000000 + 70000, "%s is larger than -C allows" % f)
    check(total >= 3 << 20, "the files hold %d payload bytes, want at least 3 MiB" % total)


def requests_until_exit(proc, port, path, timeout, body="tick", pause=0.2):
    """One small request after another until tlstap (proc) stops by itself. The pause between
    them only paces the traffic: what the loop waits for is tlstap's exit."""
    end = time.time() + timeout
    while proc.poll() is None and time.time() < end:
        curl(["--data-binary", body, "https://127.0.0.1:%d%s" % (port, path)], timeout=30)
        time.sleep(pause)


def each_file_has_request(tmp, files, uri):
    for f in files:
        rc, out, err = request_uris(os.path.join(tmp, f))
        check(rc == 0 and uri in out, "%s: no request readable by tshark (%s)" % (f, err))


def request_per_file(proc, tmp, prefix, port, path, timeout):
    """One small request as soon as each new file whose name starts with prefix appears, until
    tlstap (proc) stops by itself. A file lasts its whole -G second from then (counted to the
    millisecond from its open, the first from the start of capture), and a request takes a
    few milliseconds: each file gets one, whatever the machine's load."""
    end, seen = time.time() + timeout, 0
    while proc.poll() is None and time.time() < end:
        n = sum(1 for f in os.listdir(tmp) if f.startswith(prefix))
        if n > seen:
            seen = n
            curl(["--data-binary", "tick", "https://127.0.0.1:%d%s" % (port, path)], timeout=30)
        time.sleep(0.02)


def rotate_each_second(tmp, name, files, timeout, uri):
    """tlstap -w NAME -G 1 -W files with a request to uri in each file until it stops by itself;
    returns the names of the files in tmp that start as NAME does."""
    prefix = name.split("%")[0]
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-p", str(srv.pid), "-w", os.path.join(tmp, name), "-G", "1", "-W", str(files)])
        request_per_file(tr.proc, tmp, prefix, srv.port, uri, timeout)
        check(tr.proc.poll() is not None, "tlstap -G 1 -W %d did not stop after %d files" % (files, files))
        tr.stop()
    check(tr.rc == 0, "tlstap -G -W exited %s: %s" % (tr.rc, tr.stderr))
    return sorted(f for f in os.listdir(tmp) if f.startswith(prefix))


@test_in("auto")
def test_pcapng_time_rotation_stops_after_count(tmp):
    files = rotate_each_second(tmp, "g-%H%M%S.pcapng", 2, 6, "/g")
    check(len(files) == 2, "-G 1 -W 2 wrote %s" % files)
    each_file_has_request(tmp, files, "/g")


@test_in("auto")
def test_pcapng_time_rotation_without_pattern_numbers_files(tmp):
    """-G with a name that does not change: FILE, FILE1, FILE2, not one file reopened and lost."""
    files = rotate_each_second(tmp, "same.pcapng", 3, 10, "/n")
    check(files == ["same.pcapng", "same.pcapng.1", "same.pcapng.2"],
          "-G 1 -W 3 without a pattern wrote %s" % files)
    each_file_has_request(tmp, files, "/n")


@test_in("auto")
def test_pcapng_to_stdout_for_wireshark(tmp):
    with EchoServer(tmp) as srv:
        proc = spawn([cfg.tlstap, "-w", "-", "-p", str(srv.pid)], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
        line = proc.stderr.readline().decode()
        check(line.startswith("tlstap: tracing"), "tlstap -w - did not start: %s" % line)
        curl(["--data-binary", "to stdout", "https://127.0.0.1:%d/s" % srv.port], timeout=30)
        srv.wait_closed(1)
        proc.send_signal(signal.SIGINT)
        data, _ = proc.communicate(timeout=30)
    check(proc.returncode == 0, "tlstap -w - failed")
    path = os.path.join(tmp, "stdout.pcapng")
    with open(path, "wb") as f:
        f.write(data)
    rc, out, err = request_uris(path)
    check(rc == 0 and "/s" in out, "tshark on -w - output: %s %s" % (out, err))
    run_bad(["-w", "-", "-o", "json"], 2, ["-w -"])
    run_bad(["-C", "1"], 2, ["-w"])
    run_bad(["-r", path, "-p", "1"], 2, ["-r"])
    notpcap = os.path.join(tmp, "not.pcapng")
    with open(notpcap, "w") as f:
        f.write("garbage")
    run_bad(["-r", notpcap], 1, ["cannot read"])


@test_in("auto")
def test_pcapng_full_disk_stops_cleanly(tmp):
    """-w on a file system that fills up: drain, summary, what was not written, a file readable to its end."""
    mnt = os.path.join(tmp, "small")
    os.makedirs(mnt)
    kept = os.path.join(tmp, "kept.pcapng")
    # The 256 KiB tmpfs lives in a private mount namespace; the file is copied out before it goes.
    script = ('mount -t tmpfs -o size=256k tlstap-e2e "$1" || exit 99; shift; out=$1; shift; '
              '"$@"; rc=$?; cp "%s/cap.pcapng" "$out"; exit $rc' % mnt)
    with EchoServer(tmp) as srv:
        proc, first = tracer_until_exit(["unshare", "-m", "--propagation", "private", "sh", "-c", script, "sh",
                                         mnt, kept, cfg.tlstap, "--probe-mode", cfg.mode, "-p", str(srv.pid),
                                         "-w", os.path.join(mnt, "cap.pcapng")])
        check(first.startswith("tlstap: tracing"), "tlstap did not start: %s" % first)
        end = time.time() + 60
        while proc.poll() is None and time.time() < end:
            urllib_post(srv.port, 2000000, tmp)
        check(proc.poll() is not None, "tlstap kept running on a full file system")
        rc, err = proc.wait(), first + proc.stderr.read().decode(errors="replace")
    check(rc == 1, "exit %d on a full disk, want 1: %s" % (rc, err))
    check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", err, re.M), "no summary on a full disk: %r" % err)
    m = re.search(r"cannot write \S+cap\.pcapng: No space left on device; stopped: (\d+) packets \((\d+) bytes\) "
                  r"not written; the file ends with its last complete block", err)
    check(m and int(m.group(1)) > 0 and int(m.group(2)) > 0, "what was not written is not reported: %r" % err)
    size = os.path.getsize(kept)
    check(100000 < size <= 256 * 1024, "the file holds %d bytes of a 256 KiB file system" % size)
    code, out, terr = tshark(["-r", kept, "-q", "-z", "io,stat,0"])
    check(code == 0 and "cut short" not in terr and "damaged" not in terr, "tshark on the full-disk file: %s" % terr)
    p = subprocess.run([cfg.tlstap, "-r", kept, "-o", "none"], capture_output=True, timeout=60)
    check(p.returncode == 0, "tlstap -r rejects the full-disk file: %s" % p.stderr)


@test_in("auto")
def test_pcapng_to_stdout_reader_gone_exits_0(tmp):
    """tlstap -w - | head -c 100: like text and JSON, a reader that went away is a normal end."""
    got = os.path.join(tmp, "head.out")
    with EchoServer(tmp) as srv:
        with open(got, "wb") as out:
            tl = spawn([cfg.tlstap, "--probe-mode", cfg.mode, "-w", "-", "-p", str(srv.pid)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
            head = spawn(["head", "-c", "100"], stdin=tl.stdout, stdout=out)
            tl.stdout.close()
        first = tl.stderr.readline().decode(errors="replace")
        check(first.startswith("tlstap: tracing"), "tlstap -w - did not start: %s" % first)
        requests_until_exit(tl, srv.port, "/h", 30, body="x" * 2000, pause=0.1)
        check(tl.poll() is not None, "tlstap -w - did not stop when its reader went away")
        rc, err = tl.wait(), tl.stderr.read().decode(errors="replace")
        head.wait(10)
    data = read_file(got)
    check(len(data) == 100 and data[:4] == b"\x0a\x0d\x0d\x0a", "head did not get the start of a pcapng file")
    check(rc == 0, "tlstap -w - | head exited %d, want 0 as text and JSON do: %r" % (rc, err))
    check(re.search(r"^tlstap: \d+ events", err, re.M), "no summary after the reader went away: %r" % err)
    check("cannot write" not in err, "a reader that went away reported as an error: %r" % err)
