"""Programs and libraries that appear after tlstap started: an executable with OpenSSL linked in (node),
a process in a new mount namespace with its own libssl, a libssl loaded with dlopen from a path no
scan looked at. No -p, no -l: tlstap learns of each from its exec or mmap and probes it at once."""
import fcntl
import os
import re
import shutil
import signal
import struct
import subprocess
import termios

from .capture import as_sent, both_ends, clean_capture
from .core import PY, cfg, check, proc_state, script, spawn, test, wait_until
from .peers import EchoServer, curl, read_file, say
from .scenes import check_download, nginx_serving
from .suite_discovery import LIBDIR, in_private_mount_ns
from .tracer import Tracer


def attached_later(tr, pid, what):
    """The -v line saying what was probed later for pid, and its delay in ms."""
    pat = re.compile(r"^tlstap: attached later: (\S+) \((?:exec of|mapped later by) [^\n]*\[%d\], "
                     r"([0-9.]+) ms after (exec|mmap)\)$" % pid, re.M)
    m = pat.search(tr.stderr_text())
    check(m is not None, "%s: no 'attached later' line for pid %d:\n%s" % (what, pid, tr.stderr_text()))
    return m.group(1), float(m.group(2))


def wait_attached(tr, pid, what):
    wait_until(lambda: re.search(r"attached later: .*\[%d\]" % pid, tr.stderr_text()), 30,
               "%s: pid %d's TLS file was not probed" % (what, pid))


def no_late_note(cap, conn, what):
    notes = [e for e in cap.events if e["type"] == "note" and e["conn"] == conn]
    check(not notes, "%s: captured whole, yet noted as begun before its probes: %s" % (what, notes))


def node_fetch_traced(tmp, args):
    """tlstap (-v and args) traces every process; node, started after it, fetches 64 KiB from
    nginx at once. Returns (the stopped tracer, node, the file's bytes, the delay in ms from node's
    exec to its probes); node's own download and the probed file are checked."""
    got = os.path.join(tmp, "node.got")
    with nginx_serving(tmp, {"late.bin": 64 << 10}, http2=False) as ngx:
        tr = Tracer(tmp, ["-v"] + args)
        node = spawn(["node", script("node_fetch.js"), "https://127.0.0.1:%d/late.bin" % ngx.port, got])
        check(node.wait(60) == 0, "node's fetch failed")
        ngx.wait_requests(1)
        tr.stop()
    body = ngx.bodies["late.bin"]
    check(read_file(got) == body, "node's own download differs from the file")
    path, delay = attached_later(tr, node.pid, "node")
    check(path.endswith("/usr/bin/node"), "node: another file was probed: %s" % path)
    return tr, node, body, delay


def check_node_fetch(cap, c, body, delay):
    """Node's connection c: its request and the whole response, checked at both ends."""
    head, _, rbody = cap.stream(c, "in").partition(b"\r\n\r\n")
    check(head.startswith(b"HTTP/1.1 200"), "node: captured response has no status line")
    check(rbody == body, "node: captured body differs from the file (probed %.1f ms after exec)" % delay)
    check(cap.stream(c, "out").startswith(b"GET /late.bin HTTP/1.1\r\n"), "node: request line not captured")
    peer = both_ends(cap, c, "node/nginx")
    check(cap.meta[peer]["comm"] == "nginx", "node: the other end is not nginx")


@test
def test_node_started_after_tlstap(tmp):
    """node (OpenSSL linked into its executable, which no scan looked at) started after tlstap
    fetches 64 KiB from nginx at once: its exec is seen in BPF and node is probed before its first
    TLS call, so both ends are byte-exact. Should node win the race, the test says by how much."""
    check(b" T SSL_read\n" in subprocess.run(["nm", "-D", "/usr/bin/node"], capture_output=True).stdout,
          "/usr/bin/node does not export SSL_read: not an OpenSSL-linked node")
    tr, node, body, delay = node_fetch_traced(tmp, [])
    cap = clean_capture(tr)
    conns = cap.conns(pid=node.pid)
    notes = [e["note"] for e in cap.events if e["type"] == "note" and e.get("pid") == node.pid]
    check(len(conns) == 1, "node's connection not captured (probed %.1f ms after its exec: it made "
          "its TLS calls before; notes: %s)" % (delay, notes))
    # A note (its socket was open when the probes came, under load) is honest, not a failure:
    # the bytes must be whole either way.
    check_node_fetch(cap, conns[0], body, delay)


@test
def test_hold_new_stops_node_until_probed(tmp):
    """--hold-new: node, started after tlstap, is stopped from its exec until its executable is
    probed, then continued: the race cannot be lost; node finishes normally (not left stopped),
    both ends exact, no note; the summary counts the file."""
    tr, node, body, delay = node_fetch_traced(tmp, ["--hold-new"])
    cap = clean_capture(tr)
    c = cap.only("node", pid=node.pid)
    no_late_note(cap, c, "node")
    check_node_fetch(cap, c, body, delay)
    check(re.search(r"files that appeared later: \d+ looked at, [1-9]\d* probed", tr.stderr),
          "the summary does not count the file probed later:\n" + tr.stderr)


@test
def test_libssl_copy_in_mount_namespace_started_after_tlstap(tmp):
    """A process started after tlstap in a new mount namespace, where libssl.so.3 is a private copy
    (another inode, on no path tlstap scanned): the copy is found from its mapping, through
    /proc/PID/root, probed once, and the process's bytes are captured at both ends."""
    libssl = os.path.realpath(LIBDIR + "/libssl.so.3")
    code = ("import ssl, sys, urllib.request\n"
            "print('loaded', flush=True)\n"
            "sys.stdin.readline()\n"
            "sys.argv = [sys.argv[0], '--mode', 'urllib', '--port', sys.argv[1], '--size', '200000', "
            "'--log', sys.argv[2]]\n"
            "sys.path.insert(0, %r)\n"
            "import tls_client\n"
            "tls_client.main()\n" % os.path.dirname(script("tls_client.py")))
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-v"])
        cli = spawn(in_private_mount_ns(tmp, libssl, [PY, "-c", code, str(srv.port), tmp]),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(cli.stdout.readline().strip() == b"loaded", "the namespaced client did not start")
        # Its libssl is mapped now: the test lets it talk once the copy is probed.
        wait_attached(tr, cli.pid, "namespaced client")
        say(cli, b"go\n")
        check(cli.wait(60) == 0, "the namespaced client failed")
        srv.wait_closed(1)
        tr.stop()
    path, delay = attached_later(tr, cli.pid, "namespaced client")
    check(path == "/proc/%d/root%s" % (cli.pid, libssl), "namespaced client: probed %s" % path)
    cap = clean_capture(tr)
    c = cap.only("namespaced client", pid=cli.pid)
    no_late_note(cap, c, "namespaced client")
    body = read_file(os.path.join(tmp, "urllib.body"))
    check(cap.stream(c, "out").endswith(body), "namespaced client: request body not captured whole")
    both_ends(cap, c, "namespaced client/echo server")


def dlopen_run(tmp, early):
    """dlopen_client (see there) on a private copy of libssl, started after tlstap, let talk once
    the copy is probed. Returns (the stopped tracer, the client)."""
    prog = os.path.join(tmp, "dlopen_client")
    check(subprocess.call(["gcc", "-O1", "-o", prog, script("dlopen_client.c"), "-ldl"]) == 0,
          "cannot build dlopen_client")
    libdir = os.path.join(tmp, "private-lib")
    os.makedirs(libdir)
    copy = os.path.join(libdir, "libssl.so.3")
    shutil.copy(os.path.realpath(LIBDIR + "/libssl.so.3"), copy)
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp, ["-v"])
        cli = spawn([prog, copy, str(srv.port), "300000", tmp] + (["early"] if early else []),
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        check(cli.stdout.readline().strip() == b"loaded", "dlopen_client did not load the copy")
        wait_attached(tr, cli.pid, "dlopen client")
        say(cli, b"go\n")
        check(cli.stdout.readline().strip() == b"done", "dlopen_client's exchange failed")
        check(cli.wait(30) == 0, "dlopen_client failed")
        srv.wait_closed(1)
        tr.stop()
    path, _ = attached_later(tr, cli.pid, "dlopen client")
    check(path.endswith(copy), "dlopen client: probed %s, not the copy" % path)
    return tr, cli


@test
def test_libssl_loaded_later_with_dlopen(tmp):
    """A C program dlopen()s a copy of libssl from a directory no scan looked at, after it started:
    the mmap is seen in BPF, the copy probed, and the exchange captured at both ends."""
    tr, cli = dlopen_run(tmp, early=False)
    cap = clean_capture(tr)
    c = cap.only("dlopen client", pid=cli.pid)
    no_late_note(cap, c, "dlopen client")
    as_sent(cap, c, read_file(os.path.join(tmp, "dlopen.out")), read_file(os.path.join(tmp, "dlopen.in")),
            "dlopen client")
    both_ends(cap, c, "dlopen client/echo server")


@test
def test_connection_open_before_a_late_probe_is_noted(tmp):
    """The same client with its TCP connection made before it loads libssl: that socket was open
    when the copy was probed, so tlstap cannot know it moved nothing before; the connection gets a
    note saying so (never silent), and its bytes are still captured whole."""
    tr, cli = dlopen_run(tmp, early=True)
    cap = clean_capture(tr)
    c = cap.only("dlopen client", pid=cli.pid)
    notes = [e for e in cap.events if e["type"] == "note" and e["conn"] == c]
    check(len(notes) == 1 and re.match(r"probes attached [0-9.]+ ms after the process ran or mapped its TLS "
                                       r"file, with this connection's socket open: bytes before may be "
                                       r"missing$", notes[0]["note"]),
          "dlopen client: want one note on the connection open before its probes, got %s" % notes)
    as_sent(cap, c, read_file(os.path.join(tmp, "dlopen.out")), read_file(os.path.join(tmp, "dlopen.in")),
            "dlopen client")


@test
def test_list_targets_then_files_that_appear_later(tmp):
    """--list-targets -d: the list at start, then node's executable (not in it: no scan looks at a
    program not running) listed when node starts, with its probe points, when and why; nothing is
    probed, so node runs as it would untraced; tlstap ends by itself after -d."""
    lister = subprocess.Popen([cfg.tlstap, "--list-targets", "-d", "20"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    first = b""
    while b"tlstap: listing the TLS files" not in first:
        line = lister.stderr.readline()
        check(line, "tlstap --list-targets -d did not start watching: %r" % first)
        first += line
    node = spawn(["node", "-e", "process.exit(0)"])
    check(node.wait(60) == 0, "node failed")
    out = b""
    while b"found later" not in out:
        line = lister.stdout.readline()
        check(line, "no file listed after node started: %r" % out)
        out += line
    lister.send_signal(signal.SIGINT)
    rest, err = lister.communicate(timeout=30)
    check(lister.returncode == 0, "tlstap --list-targets -d failed: %s" % err.decode(errors="replace"))
    text = (out + rest).decode(errors="replace")
    m = re.search(r"^openssl\t(\S+)\texec of node\[%d\]\n(?:\t.*\n)*?\tfound later: [0-9.]+ ms after its "
                  r"exec \(not probed: --list-targets\)$" % node.pid, text, re.M)
    check(m is not None and m.group(1).endswith("/usr/bin/node"), "node not listed as found later:\n" + text)
    check(re.search(r"^\tSSL_(read|write)", text, re.M), "node's probe points not listed:\n" + text)
    check(b"attached later" not in err, "--list-targets probed something: %s" % err)


def queued(pid, fd):
    """Bytes waiting in the pipe that is pid's descriptor fd."""
    try:
        with open("/proc/%d/fd/%d" % (pid, fd), "rb", buffering=0) as f:
            return struct.unpack("i", fcntl.ioctl(f.fileno(), termios.FIONREAD, b"\0" * 4))[0]
    except OSError:
        return 0


@test
def test_hold_new_never_deadlocks_with_a_held_reader(tmp):
    """tlstap --hold-new -o json | reader: tlstap blocks writing once the pipe is full; the reader
    then loads a library no scan has seen and is held, its report waiting in a ring tlstap is not
    reading. The hold lasts at most 2 s whatever tlstap is doing: the reader resumes, reads
    everything, and tlstap stops cleanly."""
    lib = os.path.join(tmp, "libzcopy.so")
    shutil.copy("/usr/lib/x86_64-linux-gnu/libz.so.1", lib)
    go = os.path.join(tmp, "go")
    with nginx_serving(tmp, {"big.bin": 1 << 20}, http2=False) as ngx:
        tl = spawn([cfg.tlstap, "--hold-new", "-o", "json", "--probe-mode", cfg.mode],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        reader = spawn([PY, script("held_reader.py"), go, lib], stdin=tl.stdout,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        tl.stdout.close()
        line = tl.stderr.readline()
        check(line.startswith(b"tlstap: tracing"), "tlstap did not start: %r" % line)
        r = curl(["-o", "/dev/null", "https://127.0.0.1:%d/big.bin" % ngx.port])
        check(r.returncode == 0, "curl failed")
        # 1 MiB both ends is about 2.8 MB of JSON: past tlstap's 1 MiB buffer and the pipe.
        wait_until(lambda: queued(reader.pid, 0) >= 65536, 30, "tlstap's output pipe full")
        with open(go, "w"):
            pass
        wait_until(lambda: proc_state(reader.pid) == "T", 10, "the reader held for its new library")
        # The guard resumes it after 2 s; without it, it would stay stopped for good.
        wait_until(lambda: proc_state(reader.pid) != "T", 10, "the held reader resumed")
        tl.send_signal(signal.SIGINT)
        out, _ = reader.communicate(timeout=60)
        err = tl.stderr.read().decode(errors="replace")
        check(tl.wait(30) == 0, "tlstap failed: %s" % err)
    check(reader.returncode == 0 and int(out) > 2 << 20, "the reader read %r bytes" % out)
