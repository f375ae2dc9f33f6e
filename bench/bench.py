#!/usr/bin/python3
"""tlstap benchmark: nginx (1 worker) and a Go HTTPS server (GOMAXPROCS=1, Go's
crypto/tls) over keep-alive HTTPS, loaded by the same wrk (HTTP/1.1).

Two shapes of load, interleaved in the same rounds:
- both: wrk uses the system's OpenSSL and every tracer runs system-wide, as
  users run it, so both nginx and wrk are traced;
- prod: production-shaped, the client pays no probes as when it is remote:
  wrk loads private copies of libssl/libcrypto (LD_LIBRARY_PATH) and tlstap
  runs with --comm nginx (--comm gohttps for the Go server), so the copies it
  maps are never reported to the collector and never probed (see bench/README.md).
Modes per shape: no tracer; the naive empty-probe floor (programs that do
nothing on the exported SSL_read/SSL_write/_ex: the trap cost any tracer
probing them pays); the empty-probe floor on the points tlstap chooses;
tlstap -o json to /dev/null, on the chosen points and on the exported ones;
tlstap -w to a file on disk; then one long -w run at 64 KiB per shape.
Prints requests/s, the ratio to no tracer and to the floor, tlstap's CPU,
its CPU per captured GiB and the bytes it lost, per server (Go skips the two
modes that only move OpenSSL's probes). Ratios are taken within one run,
each to the untraced runs of the same server: the machine is shared and
noisy, absolute numbers are not comparable across runs.
"""
import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from tlstap_e2e.core import CERT, KEY, Fail  # noqa: E402
from tlstap_e2e.nginx import Nginx  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
GIB = 1 << 30
# -w writes here: the bench's own folder, on the disk the checkout is on
# (tempfile's /tmp may be a tmpfs, which would measure memory, not a disk).
PCAP_DIR = os.path.join(HERE, "out")
LIBS = ("libssl.so.3", "libcrypto.so.3")
SHAPES = {"both": "both ends", "prod": "prod"}
# key: (label, tlstap arguments or None for no tracer); PCAP is the -w file.
MODES = {
    "none": ("no tracer", None),
    "naive": ("naive floor (exported)", ["--empty-probes", "--probe-mode", "exported"]),
    "floor": ("floor (chosen points)", ["--empty-probes"]),
    "json": ("tlstap -o json", ["-o", "json"]),
    "json-exported": ("tlstap -o json, exported", ["-o", "json", "--probe-mode", "exported"]),
    "w": ("tlstap -w", ["-w", "PCAP"]),
    "baseline-json": ("baseline -o json", ["-o", "json"]),
    "baseline-w": ("baseline -w", ["-w", "PCAP"]),
}
LONG = "w-long"     # -w at 64 KiB for --long-secs, once per shape after the rounds
SIZES = {"tiny": ("tiny", "/tiny", 16), "64k": ("64 KiB", "/64k", 64 * 1024)}
# key: (label in the table, the comm --comm keeps in the prod shape).
SERVERS = {"nginx": ("nginx", "nginx"), "go": ("Go", "gohttps")}
# Modes that differ from others only in where OpenSSL is probed (exported or
# chosen points): on a Go server they would repeat floor and json.
GO_SKIP = ("naive", "json-exported")
# Each server's floor for the loss ratio: the exported OpenSSL functions for
# nginx; Go's single placement (entry and every RET) for Go.
LOSS_FLOOR = {"nginx": "naive", "go": "floor"}


def start_nginx(tmp, root):
    """The e2e tests' nginx, as HTTP/1.1 only and without an access log."""
    try:
        ngx = Nginx(tmp, root, http2=False, log_requests=False)
    except Fail as e:
        sys.exit("bench: %s" % e)
    return ngx.proc, ngx.port


def start_go(gohttps, nbytes, log):
    """gohttps answering nbytes to every GET, on a port of its choice, with GOMAXPROCS=1: one
    thread runs Go code at a time, as nginx's single worker runs all of its requests. Its
    stderr goes to log, as nginx's error log does (net/http logs a handshake error per wrk run)."""
    if not os.access(gohttps, os.X_OK):
        sys.exit("bench: %s missing: run make peers (make bench builds it)" % gohttps)
    with open(log, "wb") as err:
        proc = subprocess.Popen([gohttps, "server", "-addr", "127.0.0.1:0", "-cert", CERT, "-key", KEY,
                                 "-size", str(nbytes)], stdout=subprocess.PIPE, stderr=err,
                                stdin=subprocess.DEVNULL, env=dict(os.environ, GOMAXPROCS="1"))
    proc.log = log
    line = proc.stdout.readline().split()
    if line[:1] != [b"ready"]:
        proc.kill()
        proc.wait()
        with open(log) as f:
            sys.exit("bench: gohttps did not start: %r %s" % (line, f.read()))
    return proc, int(line[1].rsplit(b":", 1)[1])


def start_servers(a, tmp, root):
    """{(server, size): port} and the processes to stop: nginx serves every size from one
    worker, gohttps one size per instance (it answers the same body to every path)."""
    ports, procs = {}, []
    try:
        if "nginx" in a.servers:
            proc, port = start_nginx(tmp, root)
            procs.append(proc)
            ports.update({("nginx", size): port for size in a.sizes})
        if "go" in a.servers:
            for size in a.sizes:
                proc, ports[("go", size)] = start_go(a.gohttps, SIZES[size][2],
                                                     os.path.join(tmp, "gohttps-%s.log" % size))
                procs.append(proc)
    except BaseException:
        stop_servers(procs)
        raise
    return ports, procs


def stop_servers(procs):
    """Each by its PID: nginx's master quits gracefully on SIGQUIT, gohttps on SIGTERM."""
    for proc in procs:
        proc.send_signal(signal.SIGTERM if proc.args[0] != "nginx" else signal.SIGQUIT)
    for proc in procs:
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.returncode and hasattr(proc, "log"):     # gohttps says 1 when a request failed
            with open(proc.log) as f:
                print("bench: WARNING: gohttps exited with %d:\n%s" % (proc.returncode, f.read()),
                      file=sys.stderr)


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def proc_state(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0]


class Tracer:
    def __init__(self, tlstap, args):
        self.proc = subprocess.Popen([tlstap] + args, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stderr.readline().decode()
        if not line.startswith("tlstap: tracing"):
            self.proc.kill()
            sys.exit("bench: tlstap did not start: %s%s" % (line, self.proc.stderr.read().decode()))
        self.ticks0 = cpu_ticks(self.proc.pid)

    def stop(self):
        """CPU seconds until the stop (as before) and until exit (the drain included: the
        bytes captured include what was drained), and what the summary says."""
        pid = self.proc.pid
        ticks = cpu_ticks(pid) - self.ticks0
        self.proc.send_signal(signal.SIGINT)
        err = self.proc.stderr.read().decode()
        # Not reaped yet: a zombie's stat still holds its CPU times.
        deadline = time.monotonic() + 60
        while proc_state(pid) != "Z" and time.monotonic() < deadline:
            time.sleep(0.01)
        ticks_all = cpu_ticks(pid) - self.ticks0
        self.proc.wait(60)
        r = {"cpu": ticks / CLK_TCK, "cpu_all": ticks_all / CLK_TCK, "log": err.strip()}
        m = re.search(r"lost (\d+) bytes \(ring full: (\d+) records", err)
        r["lost_records"] = int(m.group(2)) if m else None
        r["lost_bytes"] = int(m.group(1)) if m else None
        m = re.search(r"(\d+) events, (\d+) bytes captured in (\d+) connections", err)
        r["captured"] = int(m.group(2)) if m else None
        r["conns"] = int(m.group(3)) if m else None
        # Said only when some were (not a loss): records the -B rings took.
        m = re.search(r"rings: (\d+) records \((\d+) bytes\) went to the -B rings", err)
        r["overflow_bytes"] = int(m.group(2)) if m else 0
        return r


def mapped_libs(pid):
    """The paths of the OpenSSL libraries a process maps, once its loader mapped them."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with open("/proc/%d/maps" % pid) as f:
                paths = {ln.split(None, 5)[5].strip() for ln in f if len(ln.split(None, 5)) == 6}
        except FileNotFoundError:
            break
        found = {p for p in paths if os.path.basename(p) in LIBS}
        if len(found) == len(LIBS):
            return found
        time.sleep(0.005)
    sys.exit("bench: could not see wrk map %s" % " and ".join(LIBS))


MAPPING = re.compile(r"^[0-9a-f]+-[0-9a-f]+ (\S{4}) \S+ \S+ \d+\s*(.*)$")


def probed_kib(pid):
    """KiB of the OpenSSL code a process maps that the kernel copied to place uprobe
    breakpoints (Anonymous in the file's executable mappings): 0 if nothing probes it."""
    kib, code = 0, False
    with open("/proc/%d/smaps" % pid) as f:
        for ln in f:
            m = MAPPING.match(ln)
            if m:
                code = "x" in m.group(1) and os.path.basename(m.group(2)) in LIBS
            elif code and ln.startswith("Anonymous:"):
                kib += int(ln.split()[1])
    return kib


def wrk(port, path, secs, conns, threads, libdir=None):
    """Requests/s and the KiB of breakpoint pages in wrk's OpenSSL. With libdir, wrk runs on
    the copies there and must map them, not the system's."""
    env = dict(os.environ, LD_LIBRARY_PATH=libdir) if libdir else None
    proc = subprocess.Popen(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs,
                             "https://127.0.0.1:%d%s" % (port, path)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)
    maps = mapped_libs(proc.pid)
    if libdir and any(os.path.dirname(p) != libdir for p in maps):
        proc.kill()
        sys.exit("bench: wrk maps %s, not only the copies in %s" % (sorted(maps), libdir))
    # Halfway: long after the watch would have probed files wrk mapped (about 1 ms).
    time.sleep(secs / 2)
    probed = probed_kib(proc.pid)
    out = proc.communicate(timeout=secs + 60)[0].decode()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        sys.exit("bench: wrk printed no rate:\n" + out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        sys.exit("bench: wrk saw errors:\n" + out)
    return float(m.group(1)), probed


def copy_libs(libdir):
    """Private copies of the libssl/libcrypto wrk would load (other files, other inodes)."""
    ldd = subprocess.run(["ldd", shutil.which("wrk")], capture_output=True, check=True).stdout.decode()
    os.makedirs(libdir)
    for lib in LIBS:
        m = re.search(r"^\s*%s => (\S+)" % re.escape(lib), ldd, re.M)
        if not m:
            sys.exit("bench: wrk does not load %s:\n%s" % (lib, ldd))
        shutil.copy2(os.path.realpath(m.group(1)), os.path.join(libdir, lib))


def fs_type(path):
    """The type of the file system path is on (the longest mount point above it)."""
    best, kind = "", "?"
    path = os.path.realpath(path)
    with open("/proc/mounts") as f:
        for ln in f:
            mnt, typ = ln.split()[1], ln.split()[2]
            if (path == mnt or path.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best):
                best, kind = mnt, typ
    return kind


def parse_args():
    ap = argparse.ArgumentParser(description="tlstap benchmark (see bench/README.md)")
    ap.add_argument("--tlstap", required=True)
    ap.add_argument("--server", choices=("nginx", "go", "all"), default="all",
                    help="nginx (1 worker), go (gohttps, GOMAXPROCS=1) or all (default): each "
                         "in every round, each with its own no-tracer runs")
    ap.add_argument("--gohttps", metavar="PATH",
                    help="the Go server (default: peers/gohttps next to --tlstap, built by make peers)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--long-secs", type=int, default=30,
                    help="length of the long -w run at 64 KiB (mode w-long), 0: none")
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--shape", choices=("prod", "both", "all"), default="all",
                    help="prod: the client on private library copies, unprobed; "
                         "both: both ends traced; all (default): both shapes")
    ap.add_argument("--sizes", default="tiny,64k", help="comma-separated: tiny, 64k")
    ap.add_argument("--modes", default="all",
                    help="comma-separated among %s, %s (no tracer always runs: ratios need it)"
                         % (", ".join(k for k in MODES if not k.startswith("baseline")), LONG))
    ap.add_argument("--baseline", metavar="TLSTAP",
                    help="another tlstap binary (an older build) also run with -o json and -w, "
                         "interleaved, so a change is compared with it in the same run")
    args = ap.parse_args()
    args.shapes = list(SHAPES) if args.shape == "all" else [args.shape]
    args.servers = list(SERVERS) if args.server == "all" else [args.server]
    args.gohttps = args.gohttps or os.path.join(os.path.dirname(args.tlstap), "peers", "gohttps")
    args.sizes = args.sizes.split(",")
    own = [k for k in MODES if not k.startswith("baseline")] + [LONG]
    modes = own if args.modes == "all" else args.modes.split(",")
    for name in args.sizes:
        if name not in SIZES:
            ap.error("unknown size %r (tiny, 64k)" % name)
    for name in modes:
        if name not in own:
            ap.error("unknown mode %r (%s)" % (name, ", ".join(own)))
    args.long = LONG in modes and args.long_secs > 0 and "64k" in args.sizes
    args.modes = ["none"] + [k for k in MODES if k in modes and k != "none"]
    if args.baseline:
        args.modes += ["baseline-json", "baseline-w"]
    return args


def server_modes(a, server):
    """The modes run against server, in order."""
    return [m for m in a.modes if server != "go" or m not in GO_SKIP]


class Bench:
    def __init__(self, args, ports, libdir):
        self.a, self.ports, self.libdir = args, ports, libdir
        self.pcap = os.path.join(PCAP_DIR, "bench-%d.pcapng" % os.getpid())
        self.results = {}

    def run(self, server, shape, size, mode, secs, rnd):
        """One wrk run with the mode's tracer; its result is kept under (server, shape, size, mode)."""
        _, path, _ = SIZES[size]
        key = "w" if mode == LONG else mode
        targs = MODES[key][1]
        binary = self.a.baseline if key.startswith("baseline") else self.a.tlstap
        tracer = None
        if targs is not None:
            targs = [self.pcap if a == "PCAP" else a for a in targs]
            comm = SERVERS[server][1]
            tracer = Tracer(binary, (["--comm", comm] if shape == "prod" else []) + targs)
        rate, probed = wrk(self.ports[(server, size)], path, secs, self.a.conns, self.a.threads,
                           self.libdir if shape == "prod" else None)
        r = tracer.stop() if tracer else {}
        r["rate"], r["client_kib"] = rate, probed
        if probed and shape == "prod":
            print("bench: WARNING: %d KiB of wrk's OpenSSL copies hold breakpoints: the client "
                  "was probed" % probed, file=sys.stderr)
        if os.path.exists(self.pcap):
            r["file"] = os.path.getsize(self.pcap)
            os.unlink(self.pcap)
        if shape == "prod" and (r.get("conns") or 0) > self.a.conns:
            print("bench: WARNING: tlstap saw %d connections for wrk's %d: the client was traced"
                  % (r["conns"], self.a.conns), file=sys.stderr)
        if r.get("lost_bytes"):
            # What tlstap said of the loss (rings, disk, memory): the table keeps only counts.
            print("bench: tlstap's summary of a run that lost bytes:\n%s" % r["log"], file=sys.stderr)
        self.results.setdefault((server, shape, size, mode), []).append(r)
        print("round %s %-5s %-5s %-7s %-24s %10.0f req/s%s" % (
            rnd, server, shape, size, mode, rate,
            "" if "cpu" not in r else "  tlstap CPU %.2f s, %s conns, captured %s bytes, lost %s records %s bytes"
            "%s" % (r["cpu"], r["conns"], r["captured"], r["lost_records"], r["lost_bytes"],
                    ", %d bytes through the -B rings" % r["overflow_bytes"]
                    if r.get("overflow_bytes") else "")),
            file=sys.stderr, flush=True)

    def run_all(self):
        a = self.a
        for size in a.sizes:
            for server in a.servers:
                for shape in a.shapes:      # warm up
                    wrk(self.ports[(server, size)], SIZES[size][1], 1, a.conns, a.threads,
                        self.libdir if shape == "prod" else None)
            for rnd in range(a.rounds):
                for server in a.servers:
                    for shape in a.shapes:
                        for mode in server_modes(a, server):
                            self.run(server, shape, size, mode, a.secs, rnd + 1)
        if a.long:
            for server in a.servers:
                for shape in a.shapes:
                    self.run(server, shape, "64k", LONG, a.long_secs, "long")


def med(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def to_floor(rs, floors, paired):
    """The rate over the chosen-point floor's: with paired, the median of each round's ratio
    (its floor ran seconds apart in the same round, so the machine's drift between rounds
    cancels) and their range; else over the floor's median (a run made once)."""
    if not floors or not statistics.median(floors):
        return ""
    if not paired:
        return "%.2f (to the median)" % (med(rs, "rate") / statistics.median(floors))
    ratios = [r["rate"] / f for r, f in zip(rs, floors) if f]
    if not ratios:
        return ""
    return "%.2f (%.2f-%.2f)" % (statistics.median(ratios), min(ratios), max(ratios))


def row(rs, base, secs, floor_cell):
    """The columns after the mode of one (shape, size, mode), runs of secs seconds."""
    rate = med(rs, "rate")
    cells = ["%.0f" % rate, "%.3f" % (rate / base) if base else "", floor_cell,
             "%.0f" % med(rs, "client_kib")]
    if "cpu" not in rs[0]:
        return cells + [""] * 5
    cells.append("%.0f%%" % (100 * med(rs, "cpu") / secs))
    cpu_all = sum(r["cpu_all"] for r in rs)
    captured, how = sum(r["captured"] or 0 for r in rs), ""
    if captured == 0 and any(r.get("file") for r in rs):   # fallback: the pcapng's size
        captured, how = sum(r.get("file", 0) for r in rs), " (file size)"
    if captured:
        cells += ["%.1f%s" % (cpu_all / (captured / GIB), how), "%.3f%s" % (captured / GIB, how)]
    else:
        cells += ["", ""]
    conns = med(rs, "conns")
    cells.append("" if conns is None else "%.0f" % conns)
    cells.append("" if rs[0]["lost_records"] is None else "%d / %d" % (
        sum(r["lost_records"] or 0 for r in rs), sum(r["lost_bytes"] or 0 for r in rs)))
    return cells


def report(a, results):
    print("\n| shape | response | server | mode | req/s (median of %d) | ratio to no tracer "
          "| ratio to floor, median of rounds (range) | client probed KiB | tlstap CPU %% of run "
          "| collector CPU s per captured GiB | captured GiB | connections seen "
          "| lost records / bytes |" % a.rounds)
    print("|" + " --- |" * 13)
    for shape in a.shapes:
        for size in a.sizes:
            for server in a.servers:
                base = med(results[(server, shape, size, "none")], "rate")
                floors = [r["rate"] for r in results.get((server, shape, size, "floor"), [])]
                modes = server_modes(a, server) + ([LONG] if a.long and size == "64k" else [])
                for mode in modes:
                    rs = results[(server, shape, size, mode)]
                    label = MODES[mode][0] if mode in MODES else "tlstap -w, %d s once" % a.long_secs
                    secs = a.long_secs if mode == LONG else a.secs
                    cell = "" if mode in ("none", "floor") else to_floor(rs, floors, mode != LONG)
                    print("| %s | %s | %s | %s | %s |" % (
                        SHAPES[shape], SIZES[size][0], SERVERS[server][0], label,
                        " | ".join(row(rs, base, secs, cell))))
    print()
    for shape in a.shapes:
        for size in a.sizes:
            for server in a.servers:
                loss_ratios(results, server, shape, size)


def loss_ratios(results, server, shape, size):
    """The throughput each -o json mode loses over what the server's floor loses."""
    base = med(results[(server, shape, size, "none")], "rate")
    ref = LOSS_FLOOR[server]
    if (server, shape, size, ref) not in results:
        return
    floor = med(results[(server, shape, size, ref)], "rate")
    for mode in ("json", "json-exported"):
        if (server, shape, size, mode) not in results:
            continue
        tl = med(results[(server, shape, size, mode)], "rate")
        print("%s, %s, %s: loss(%s) / loss(%s) = %.2f" % (
            SHAPES[shape], SIZES[size][0], SERVERS[server][0], MODES[mode][0], MODES[ref][0],
            (1 - tl / base) / (1 - floor / base) if floor < base else float("nan")))


def main():
    a = parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root to load BPF programs")
    os.makedirs(PCAP_DIR, exist_ok=True)
    kind = fs_type(PCAP_DIR)
    print("bench: -w writes to %s (%s)%s" % (PCAP_DIR, kind, ", NOT a disk" if kind == "tmpfs" else ""),
          file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="tlstap-bench-")
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    for size in a.sizes:
        _, path, nbytes = SIZES[size]
        with open(root + path, "wb") as f:
            f.write(os.urandom(nbytes))
    libdir = os.path.join(tmp, "lib")
    copy_libs(libdir)
    ports, servers = start_servers(a, tmp, root)
    bench = Bench(a, ports, libdir)
    try:
        bench.run_all()
    finally:
        stop_servers(servers)
        shutil.rmtree(tmp, ignore_errors=True)
    report(a, bench.results)


if __name__ == "__main__":
    main()
