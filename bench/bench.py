#!/usr/bin/python3
"""tlstap benchmark: nginx (1 worker) over keep-alive HTTPS, loaded by wrk.

Interleaved rounds of: no tracer; the naive empty-probe floor (programs
that do nothing on the exported SSL_read/SSL_write/_ex: the trap cost any
tracer probing them pays); the empty-probe floor on the points tlstap
chooses; tlstap -o json to /dev/null, on the chosen points and on the
exported ones. Every tracer runs system-wide, as users run it, so both nginx and
wrk (OpenSSL too) are traced. Prints requests/s, the ratio to no tracer,
tlstap's CPU and the events it lost. Ratios are taken within one run: the
machine is shared and noisy, absolute numbers are not comparable across runs.
"""
import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from tlstap_e2e.core import Fail  # noqa: E402
from tlstap_e2e.nginx import Nginx  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")


def start_nginx(tmp, root):
    """The e2e tests' nginx, as HTTP/1.1 only and without an access log."""
    try:
        ngx = Nginx(tmp, root, http2=False, log_requests=False)
    except Fail as e:
        sys.exit("bench: %s" % e)
    return ngx.proc, ngx.port


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


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
        ticks = cpu_ticks(self.proc.pid) - self.ticks0
        self.proc.send_signal(signal.SIGINT)
        err = self.proc.stderr.read().decode()
        self.proc.wait(60)
        m = re.search(r"lost (\d+) bytes \(ring full: (\d+) records", err)
        lost_records = int(m.group(2)) if m else None
        lost_bytes = int(m.group(1)) if m else None
        return ticks / CLK_TCK, lost_records, lost_bytes, err.strip()


def wrk(port, path, secs, conns, threads):
    out = subprocess.run(["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % secs,
                          "https://127.0.0.1:%d%s" % (port, path)],
                         capture_output=True, timeout=secs + 60).stdout.decode()
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        sys.exit("bench: wrk printed no rate:\n" + out)
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)|Socket errors: (.*)", out)
    if errors:
        sys.exit("bench: wrk saw errors:\n" + out)
    return float(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlstap", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--secs", type=int, default=5)
    ap.add_argument("--conns", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--baseline", metavar="TLSTAP",
                    help="another tlstap binary (an older build) also run with -o json and -w, "
                         "interleaved, so a change is compared with it in the same run")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root to load BPF programs")

    modes = [
        ("no tracer", None),
        ("naive floor (exported)", ["--empty-probes", "--probe-mode", "exported"]),
        ("floor (chosen points)", ["--empty-probes"]),
        ("tlstap -o json", ["-o", "json"]),
        ("tlstap -o json, exported", ["-o", "json", "--probe-mode", "exported"]),
        ("tlstap -w", ["-w", "PCAP"]),
    ]
    if args.baseline:
        modes += [("baseline -o json", ["BASELINE", "-o", "json"]),
                  ("baseline -w", ["BASELINE", "-w", "PCAP"])]
    sizes = [("tiny", "/tiny", 16), ("64 KiB", "/64k", 64 * 1024)]
    tmp = tempfile.mkdtemp(prefix="tlstap-bench-")
    root = os.path.join(tmp, "www")
    os.makedirs(root)
    for _, path, size in sizes:
        with open(root + path, "wb") as f:
            f.write(os.urandom(size))
    nginx, port = start_nginx(tmp, root)
    results = {}
    try:
        for size_name, path, _ in sizes:
            wrk(port, path, 1, args.conns, args.threads)   # warm up
            for rnd in range(args.rounds):
                for mode, targs in modes:
                    pcap = os.path.join(tmp, "bench.pcapng")
                    targs = [pcap if a == "PCAP" else a for a in targs] if targs else None
                    binary = args.tlstap
                    if targs and targs[0] == "BASELINE":
                        binary, targs = args.baseline, targs[1:]
                    tracer = Tracer(binary, targs) if targs else None
                    rate = wrk(port, path, args.secs, args.conns, args.threads)
                    cpu = lost_rec = lost_bytes = None
                    if tracer:
                        cpu, lost_rec, lost_bytes, _ = tracer.stop()
                    if os.path.exists(pcap):
                        os.unlink(pcap)
                    results.setdefault((size_name, mode), []).append((rate, cpu, lost_rec, lost_bytes))
                    print("round %d %-8s %-20s %10.0f req/s%s" % (
                        rnd + 1, size_name, mode, rate,
                        "" if cpu is None else "  tlstap CPU %.2f s, lost %s records %s bytes"
                        % (cpu, lost_rec, lost_bytes)), file=sys.stderr, flush=True)
    finally:
        nginx.send_signal(signal.SIGQUIT)
        nginx.wait(30)

    print("\n| response | mode | req/s (median of %d) | ratio to no tracer | tlstap CPU %% of run | lost records / bytes |"
          % args.rounds)
    print("| --- | --- | --- | --- | --- | --- |")
    for size_name, _, _ in sizes:
        base = statistics.median(r[0] for r in results[(size_name, "no tracer")])
        floor = statistics.median(r[0] for r in results[(size_name, "naive floor (exported)")])
        for mode, targs in modes:
            rs = results[(size_name, mode)]
            rate = statistics.median(r[0] for r in rs)
            cpu = "" if rs[0][1] is None else "%.0f%%" % (100 * statistics.median(r[1] for r in rs) / args.secs)
            lost = "" if rs[0][2] is None or "floor" in mode else "%d / %d" % (
                sum(r[2] or 0 for r in rs), sum(r[3] or 0 for r in rs))
            print("| %s | %s | %.0f | %.3f | %s | %s |" % (size_name, mode, rate, rate / base, cpu, lost))
        for mode in ("tlstap -o json", "tlstap -o json, exported"):
            tl = statistics.median(r[0] for r in results[(size_name, mode)])
            print("| %s | loss(%s) / loss(naive floor) | | %.2f | | |"
                  % (size_name, mode, (1 - tl / base) / (1 - floor / base) if floor < base else float("nan")))


if __name__ == "__main__":
    main()
