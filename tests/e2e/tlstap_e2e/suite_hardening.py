"""Attacks and resource bounds: planted -w files, no state kept for the dead, memory under many bodies."""
import json
import os
import re
import select
import subprocess
import time

from .core import CERT, KEY, PY, Fail, cfg, check, script, spawn, test, test_in, wait_until
from .capture import same
from .peers import EchoServer, tshark, urllib_post
from .tracer import Tracer, as_nobody, run_bad, tracer_until_exit


@test_in("auto")
def test_pcapng_never_writes_through_planted_files(tmp):
    """-w into a sticky world-writable directory (like /tmp) where another user planted the name."""
    os.chmod(tmp, 0o1777)
    victim = os.path.join(tmp, "victim")
    with open(victim, "w") as f:
        f.write("precious")
    os.chmod(victim, 0o644)
    link, theirs, fifo = (os.path.join(tmp, n) for n in ("link.pcapng", "theirs.pcapng", "fifo.pcapng"))
    as_nobody(["ln", "-s", victim, link])
    as_nobody(["sh", "-c", 'echo their data > "$1"', "sh", theirs])
    as_nobody(["mkfifo", fifo])
    with EchoServer(tmp) as srv:
        base = ["-p", str(srv.pid), "-d", "1", "--probe-mode", cfg.mode, "-w"]
        run_bad(base + [link], 1, ["cannot write", link, "symbolic link"])
        run_bad(base + [theirs], 1, ["cannot write", theirs, "another user"])
        run_bad(base + [fifo], 1, ["cannot write", fifo, "not a regular file"])
        # Rotation opens every file the same way: a planted next name stops the capture.
        rot = os.path.join(tmp, "rot")
        as_nobody(["ln", "-s", victim, rot + "1"])
        proc, first = tracer_until_exit([cfg.tlstap, "--probe-mode", cfg.mode, "-p", str(srv.pid), "-w", rot,
                                         "-C", "1"])
        check(first.startswith("tlstap: tracing"), "tlstap -C did not start: %s" % first)
        end = time.time() + 60
        while proc.poll() is None and time.time() < end:
            urllib_post(srv.port, 300000, tmp)
        check(proc.poll() is not None, "tlstap wrote into a planted rotation name or did not stop")
        rc, err = proc.wait(), proc.stderr.read().decode(errors="replace")
    with open(victim) as f:
        same(f.read().encode(), b"precious", "the symlink's target")
    with open(theirs) as f:
        same(f.read().encode(), b"their data\n", "the other user's file")
    check(os.stat(victim).st_mode & 0o777 == 0o644, "the victim's mode changed")
    check(rc == 1 and re.search(r"^tlstap: \d+ events", err, re.M), "rotation refusal: rc %d %r" % (rc, err))
    check(re.search(r"cannot write %s1: it is a symbolic link.*stopped: [1-9]\d* packets" % re.escape(rot), err),
          "the refused rotation is not reported with what was not written: %r" % err)
    code, out, terr = tshark(["-r", rot, "-q"])
    check(code == 0, "the first file is not whole: %s" % terr)


STATE_MAPS = ("active_calls", "traced_pids", "conns", "fd_sessions", "membio_pids", "last_read_fd", "pending_write")


def state_of_the_dead(started):
    """Entries of tlstap's per-thread and per-process BPF maps whose thread or process is gone."""
    shown = subprocess.run(["bpftool", "-j", "map", "show"], capture_output=True, timeout=30)
    newest = {}
    for m in json.loads(shown.stdout):
        if m.get("name") and m["id"] > newest.get(m["name"], -1):
            newest[m["name"]] = m["id"]
    dead = []
    for name in STATE_MAPS:
        check(name in newest, "no BPF map %s loaded" % name)
        out = subprocess.run(["bpftool", "-j", "map", "dump", "id", str(newest[name])], capture_output=True,
                             timeout=30)
        check(out.returncode == 0, "bpftool cannot dump %s: %s" % (name, out.stderr))
        entries = json.loads(out.stdout)
        # active_calls (a live thread keeps its entry between calls), last_read_fd and
        # pending_write are keyed by thread id, the others by process id: /proc shows both
        # while they live.
        for entry in entries:
            key = entry.get("formatted", entry)["key"]
            ident = key if isinstance(key, int) else key.get("pid")
            # pids (tgids) and tids alike appear under /proc while alive.
            if not os.path.exists("/proc/%d" % ident):
                dead.append((name, ident, started.get(ident, "?")))
    return dead


@test
def test_no_state_left_for_dead_processes(tmp):
    """Per-thread and per-process BPF state goes away with the threads and processes."""
    with EchoServer(tmp) as srv:
        tr = Tracer(tmp)
        started = {}
        for i in range(12):
            c = subprocess.Popen(["curl", "-sk", "--data-binary", "x" * 100, "https://127.0.0.1:%d/%d"
                                  % (srv.port, i)], stdout=subprocess.DEVNULL)
            c.wait(30)
            started[c.pid] = "curl"
        n = spawn(["node", script("node_client.js"), str(srv.port), "1000", os.path.join(tmp, "n.body")],
                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        started[n.pid] = "node"
        n.communicate(b"go\n", timeout=30)
        # A thread that made TLS calls, then exec'd: its id ends without an exit of its own.
        x = subprocess.run([PY, script("tls_client.py"), "--mode", "exec-thread", "--port", str(srv.port),
                            "--size", "100", "--log", tmp], capture_output=True, timeout=60)
        check(x.returncode == 0 and x.stdout.strip().isdigit(), "exec-thread client: %r" % (x,))
        started[int(x.stdout)] = "thread that exec'd"
        # Nothing says when tlstap has swept what the exits left: the maps themselves are
        # the signal, given the second the old test gave them.
        dead = []

        def clean():
            dead[:] = state_of_the_dead(started)
            return not dead
        wait_until(clean, 1.0)
        srv.wait_closed(14)
        tr.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    check(len([e for e in tr.events() if e["type"] == "close"]) >= 14, "closes missing")
    check(not dead, "state left for dead processes or threads: %s" % dead)


def vm_hwm_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise Fail("no VmHWM for pid %d" % pid)


def bpf_map_rss_kib(pid):
    """Resident KiB of the BPF maps tlstap maps (its rings: resident in full from the start)."""
    kib, name = 0, ""
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            fields = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                name = fields[5] if len(fields) > 5 else ""
            elif fields[0] == "Rss:" and name == "anon_inode:bpf-map":
                kib += int(fields[1])
    return kib


def line_from(proc, what, timeout=120):
    r, _, _ = select.select([proc.stdout], [], [], timeout)
    check(r, "%s: nothing in %d s" % (what, timeout))
    return proc.stdout.readline()


@test_in("auto")
def test_memory_budget_bounds_many_undecided_bodies(tmp):
    """200 uploads held open, their bodies undecided (text holds them to show them raw if
    decoding fails): against --max-memory 16 tlstap's peak RSS stays bounded, it gives up
    decoding the connections that hold the most, says so once each, counts them in the
    summary and still shows every byte. Unbounded, it held all 40 MB."""
    conns, size, budget_mib = 200, 200000, 8
    # Rings that hold the whole upload even if tlstap read none of it: nothing can be lost,
    # whatever else the machine is doing. They are resident from the start and do not count.
    ring_kib = 65536
    # The budget, plus the program itself (about 10 MiB: libraries, BTF, buffers). Records
    # of 2 KiB keep what one round reads from the rings (512 records a ring) well within it.
    bound_kib = (budget_mib + 16) * 1024
    note = b"memory budget (--max-memory) reached"
    hold = script("tls_hold_bodies.py")
    run_bad(["--max-memory", "4"], 2, ["--max-memory"])
    run_bad(["--max-memory", "lots"], 2, ["--max-memory"])
    srv = spawn([PY, hold, "--mode", "server", "--conns", str(conns), "--size", str(size), "--cert", CERT,
                 "--key", KEY], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    cl = None
    try:
        port = int(line_from(srv, "server port", 15))
        tr = Tracer(tmp, ["-p", str(srv.pid), "--max-memory", str(budget_mib), "-B", str(ring_kib)], out="text")
        cl = spawn([PY, hold, "--mode", "client", "--port", str(port), "--conns", str(conns), "--size", str(size)],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        sent = line_from(cl, "client").split()
        check(len(sent) == 2 and sent[0] == b"sent", "the client did not send its uploads: %r" % sent)
        head = int(sent[1])
        # Every TLS read of the server has returned: its records are in the rings.
        check(line_from(srv, "server").strip() == b"read-all", "the server did not read everything")
        # No more than budget / size connections can keep holding: the rest must be given up.
        least = conns - (budget_mib << 20) // size - 1
        wait_until(lambda: tr.peek().count(note) >= least, 120)
        rings = bpf_map_rss_kib(tr.proc.pid)
        check(rings >= ring_kib, "the rings are not resident: %d KiB" % rings)
        hwm_running = vm_hwm_kib(tr.proc.pid) - rings
        # Stop it; its peak over its whole life, drain included, is in its summary (its own
        # VmHWM: wait4's ru_maxrss would also hold this test runner's size when it forked).
        tr.stop()
    finally:
        for p in (cl, srv):
            if p:
                p.stdin.close()
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    m = re.search(r"^tlstap: memory: .*; resident peak ([\d.]+) MiB \(rings included\)$", tr.stderr, re.M)
    check(m, "no resident peak in the summary: %s" % tr.stderr)
    hwm_all = int(float(m.group(1)) * 1024) - rings
    print("    peak RSS less the rings (%d KiB): %d KiB while running (VmHWM), %d KiB in all (summary); "
          "bound %d KiB" % (rings, hwm_running, hwm_all, bound_kib))
    check(hwm_running <= bound_kib and hwm_all <= bound_kib,
          "peak RSS %d KiB (running), %d KiB (whole run) over %d KiB" % (hwm_running, hwm_all, bound_kib))
    m = re.search(r"^tlstap: (\d+) events, (\d+) bytes captured in (\d+) connections; lost (\d+) bytes",
                  tr.stderr, re.M)
    check(m, "no summary: %s" % tr.stderr)
    check(int(m.group(2)) == conns * (head + size) and int(m.group(4)) == 0,
          "captured %s bytes, lost %s: want %d, none lost: %s" % (m.group(2), m.group(4), conns * (head + size),
                                                                  tr.stderr))
    m = re.search(r"^tlstap: memory: peak ([\d.]+) of (\d+) MiB; not decoded for lack of memory: "
                  r"(\d+) connections, (\d+) bytes", tr.stderr, re.M)
    check(m, "no memory line in the summary: %s" % tr.stderr)
    peak, limit, given_up, given_up_bytes = float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
    check(limit == budget_mib and peak <= budget_mib, "memory peak %s of %s MiB" % (peak, limit))
    notes = tr.raw.count(note)
    check(least <= given_up <= conns and notes == given_up,
          "%d connections given up on, %d notes; want at least %d, one note each" % (given_up, notes, least))
    # Every byte of theirs was shown raw, none decoded: that is what the count says.
    check(given_up_bytes == given_up * (head + size),
          "%d bytes not decoded, want %d" % (given_up_bytes, given_up * (head + size)))
    # The others are decoded: one incomplete exchange each, with a body preview of 256 bytes.
    exchanges = len(re.findall(rb"POST /up/\d{3} -> \(no response\)", tr.raw))
    check(exchanges == conns - given_up, "%d decoded uploads, want %d" % (exchanges, conns - given_up))
    marks = tr.raw.count(b"____")
    want = given_up * (size // 8) + (conns - given_up) * (256 // 8)
    check(marks == want, "%d body marks shown, want %d (raw ones whole, decoded ones previewed)" % (marks, want))
