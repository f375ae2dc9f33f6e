"""Containers: a client in a container-style cgroup the test makes (attribution in every output,
--container and --cgroup), and two network namespaces using the same addresses kept apart."""
import hashlib
import json
import os
import re
import subprocess

from .capture import Capture, same
from .core import PY, check, cfg, script, spawn, test_in, wait_until
from .peers import EchoServer, curl, read_file, tshark
from .scenes import nginx_serving
from .tracer import Tracer, run_bad


def cgroup2_root():
    """The cgroup2 mount (/sys/fs/cgroup, or /sys/fs/cgroup/unified on hybrid hosts)."""
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                return line.split()[4]
    check(False, "no cgroup2 file system mounted")


class ContainerCgroup:
    """ROOT/tlstap-test-PID.slice/docker-ID.scope, made for the test and removed after it (its
    processes are waited for first: a cgroup with processes cannot be removed)."""

    def __init__(self, owner=None):
        # Deterministic per run: the id is the hash of the test's own pid.
        self.id = hashlib.sha256(b"tlstap-e2e-%d-%s" % (os.getpid(), b"%d" % owner if owner else b"")).hexdigest()
        self.parent = os.path.join(cgroup2_root(), "tlstap-test-%d.slice" % os.getpid())
        self.path = os.path.join(self.parent, "docker-%s.scope" % self.id)
        os.makedirs(self.path)
        if owner:
            # As a delegated subtree (user@UID.service): the user made both.
            os.chown(self.parent, owner, owner)
            os.chown(self.path, owner, owner)
        self.cgroup_id = os.stat(self.path).st_ino      # a cgroup2 directory's inode is its id

    def run(self, argv):
        """argv run inside the cgroup: the shell moves itself in, then becomes argv."""
        return subprocess.run(["/bin/sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', self.path] + argv,
                              capture_output=True, timeout=60)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for d in (self.path, self.parent):
            if os.path.isdir(d):
                os.rmdir(d)


def fetch(port, got, cg=None):
    """curl downloads /small.txt to got, inside cg or not (checked)."""
    argv = ["curl", "-sk", "--http1.1", "-o", got, "https://127.0.0.1:%d/small.txt" % port]
    p = cg.run(argv) if cg else subprocess.run(argv, capture_output=True, timeout=60)
    check(p.returncode == 0, "curl failed: %s" % p.stderr)


def pids_of(events):
    return {e["pid"] for e in events if e["type"] == "data"}


def traced_fetches(tmp, ngx, cg, args, out="json"):
    """tlstap with args traces a curl inside cg and one outside (both exited, nginx done with
    both); returns the stopped tracer."""
    before = ngx.requests_logged()
    tr = Tracer(tmp, ["--comm", "curl"] + args, out=out)
    gots = [os.path.join(tmp, "in.%d" % len(os.listdir(tmp))), os.path.join(tmp, "out.%d" % len(os.listdir(tmp)))]
    fetch(ngx.port, gots[0], cg)
    fetch(ngx.port, gots[1])
    ngx.wait_requests(before + 2)
    tr.stop()
    for g in gots:
        same(read_file(g), ngx.bodies["small.txt"], "a client's own download vs the file")
    return tr


def client_conn(cap, body, what):
    """The one client connection of the capture, checked against the file nginx served."""
    conns = cap.conns(comm="curl")
    check(len(conns) >= 1, "%s: no curl connection captured" % what)
    for c in conns:
        head, _, rbody = cap.stream(c, "in").partition(b"\r\n\r\n")
        check(head.startswith(b"HTTP/1.1 200"), "%s: no status line in the capture" % what)
        same(rbody, body, "%s: captured response body vs file served" % what)
        check(cap.stream(c, "out").startswith(b"GET /small.txt HTTP/1.1\r\n"), "%s: request line wrong" % what)
    return conns


@test_in("auto")
def test_container_cgroup_named_in_every_output_and_filters(tmp):
    pcap = os.path.join(tmp, "ctr.pcapng")
    host_netns = os.stat("/proc/self/ns/net").st_ino
    with nginx_serving(tmp, {"small.txt": 30000}, http2=False) as ngx, ContainerCgroup() as cg:
        body = ngx.bodies["small.txt"]
        # Everything: JSON and pcapng.
        tr = traced_fetches(tmp, ngx, cg, ["-w", pcap, "-o", "json"])
        check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
        evs = tr.events()
        client_conn(Capture(evs), body, "all")
        check(len(pids_of(evs)) == 2, "want two curl processes: %s" % pids_of(evs))
        want = {"id": cg.id, "runtime": "docker", "pod_uid": None}
        inside = [e for e in evs if e.get("container")]
        outside = [e for e in evs if e["type"] in ("conn", "data", "close") and e.get("container") is None]
        check(inside and outside, "want lines from inside and outside the container")
        for e in evs:
            if e["type"] not in ("conn", "data", "close", "http"):
                continue
            check("cgroup_id" in e and "container" in e and "netns" in e, "%s line lacks who: %s" % (e["type"], e))
            if e["type"] != "close":
                check(e["netns"] == host_netns, "netns %s, want the host's %d" % (e["netns"], host_netns))
        for e in inside:
            check(e["container"] == want and e["cgroup_id"] == cg.cgroup_id,
                  "container line says %s cgroup %s, want %s cgroup %d" % (e["container"], e["cgroup_id"], want,
                                                                           cg.cgroup_id))
        check(len(pids_of(inside)) == 1, "container lines of %d processes" % len(pids_of(inside)))
        check(all(e["cgroup_id"] != cg.cgroup_id for e in outside), "outside client has the container's cgroup")
        check({"data", "close"} <= {e["type"] for e in inside}, "no data or close line names the container")

        # pcapng: each packet's comment and the process's interface description.
        rc, out, err = tshark(["-r", pcap, "-Y", "frame.comment contains \"container=docker:%s\"" % cg.id,
                               "-T", "fields", "-e", "frame.interface_description"])
        check(rc == 0 and out.strip(), "no packet comment names the container: %s" % err)
        descrs = set(out.split("\n")) - {""}
        check(all(("cgroup %d container docker:%s" % (cg.cgroup_id, cg.id)) in d for d in descrs),
              "interface description lacks the container: %s" % descrs)
        p = subprocess.run([cfg.tlstap, "-r", pcap, "-o", "json"], capture_output=True, timeout=60)
        check(p.returncode == 0, "tlstap -r failed: %s" % p.stderr)
        replayed = [json.loads(line) for line in p.stdout.decode().splitlines()]
        a = [e for e in evs if e["type"] == "data"]
        b = [e for e in replayed if e["type"] == "data"]
        # Each connection once in the file: compare the client side's lines (the file has them all).
        # Live lines come as the rings deliver them, the file's in time order.
        a = sorted((e for e in a if e["comm"] == "curl"), key=lambda e: (e["conn"], e["dir"], e["pos"]))
        b = sorted((e for e in b if e["comm"] == "curl"), key=lambda e: (e["conn"], e["dir"], e["pos"]))
        check(a == b, "-r gives other data lines than live (%d vs %d)" % (len(a), len(b)))

        # Text: the short id beside comm[pid], only for the process inside.
        tr = traced_fetches(tmp, ngx, cg, [], out="text")
        tags = re.findall(rb"^\S+ curl\[(\d+)(?:/\d+)?\](@[0-9a-f]+)? ", tr.raw, re.M)
        check(tags, "no curl header lines in the text view")
        tagged = {pid for pid, tag in tags if tag == b"@" + cg.id[:12].encode()}
        untagged = {pid for pid, tag in tags if not tag}
        check(len(tagged) == 1 and len(untagged) == 1 and not tagged & untagged and
              {t for _, t in tags} <= {b"", b"@" + cg.id[:12].encode()}, "text tags: %s" % tags)

        # --container PREFIX and --cgroup PATH: the process inside only, filtered in BPF.
        for args in (["--container", cg.id[:8]], ["--cgroup", cg.parent]):
            tr = traced_fetches(tmp, ngx, cg, args)
            check(tr.rc == 0, "tlstap %s failed: %s" % (args, tr.stderr))
            evs = tr.events()
            client_conn(Capture(evs), body, " ".join(args))
            check(len(pids_of(evs)) == 1 and all(e.get("container") == want for e in evs if e["type"] == "data"),
                  "%s: traced %s" % (args, {(e["pid"], json.dumps(e.get("container"))) for e in evs if "pid" in e}))
    run_bad(["--container", "xyz1"], 2, ["--container", "xyz1", "hex"])
    run_bad(["--container", "abc"], 2, ["--container"])
    run_bad(["--cgroup", tmp], 1, ["--cgroup", "not a cgroup v2 directory"])


@test_in("auto")
def test_container_name_made_by_a_user_is_not_believed(tmp):
    """Anyone with a delegated cgroup subtree can name a cgroup docker-<id>.scope: a container
    is named only by a directory root made, and --container never traces such a cgroup."""
    with nginx_serving(tmp, {"small.txt": 30000}, http2=False) as ngx, ContainerCgroup(owner=65534) as cg:
        body = ngx.bodies["small.txt"]
        tr = traced_fetches(tmp, ngx, cg, [])
        evs = tr.events()
        client_conn(Capture(evs), body, "forged")
        inside = [e for e in evs if e["type"] == "data" and e.get("cgroup_id") == cg.cgroup_id]
        check(inside, "the process in the user's cgroup was not traced")
        check(all(e.get("container") is None for e in evs if e["type"] in ("conn", "data", "close", "http")),
              "a cgroup a user made names a container: %s" % {json.dumps(e.get("container")) for e in evs})
        tr = traced_fetches(tmp, ngx, cg, ["--container", cg.id[:8]])
        check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
        check(not [e for e in tr.events() if e["type"] == "data"], "--container traced a cgroup a user made")


class NetNs:
    """A network namespace of the test's own (unique name), its loopback up; deleted after."""

    def __init__(self, tag):
        self.name = "tlstap-e2e-%d-%s" % (os.getpid(), tag)
        subprocess.run(["ip", "netns", "add", self.name], check=True, timeout=30)
        self.wrap = ["ip", "netns", "exec", self.name]
        subprocess.run(self.wrap + ["ip", "link", "set", "lo", "up"], check=True, timeout=30)
        self.inode = os.stat("/run/netns/" + self.name).st_ino

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        subprocess.run(["ip", "netns", "delete", self.name], timeout=30)


@test_in("auto")
def test_two_netns_same_addresses_kept_apart(tmp):
    # The same in both, at both ends (the client's port too): each namespace has its own loopback.
    port, sport = 4433, 40000
    pcap = os.path.join(tmp, "ns.pcapng")
    with NetNs("a") as na, NetNs("b") as nb:
        servers = [EchoServer(tmp, port=port, wrap=ns.wrap, name="log-" + ns.name) for ns in (na, nb)]
        try:
            tr = Tracer(tmp, ["--comm", "python3", "-w", pcap, "-o", "json"])
            for ns, size in ((na, 3000), (nb, 5000)):
                logdir = os.path.join(tmp, ns.name)
                os.makedirs(logdir)
                p = subprocess.run(ns.wrap + [PY, script("tls_client.py"), "--mode", "urllib", "--port", str(port),
                                              "--size", str(size), "--log", logdir, "--source-port", str(sport)],
                                   capture_output=True, timeout=60)
                check(p.returncode == 0, "client in %s failed: %s" % (ns.name, p.stderr))
            for s in servers:
                s.wait_closed(1)
            tr.stop()
        finally:
            for s in servers:
                s.stop()
    check(tr.rc == 0, "tlstap failed: %s" % tr.stderr)
    cap = Capture(tr.events())
    by_ns = {}
    for c in cap.conns():
        m = cap.meta[c]
        check(m["local"].startswith("127.0.0.1:") and m["remote"].startswith("127.0.0.1:"),
              "connection %d not on loopback: %s" % (c, m))
        by_ns.setdefault(m["netns"], []).append(c)
    check(set(by_ns) == {na.inode, nb.inode}, "netns values %s, want %s" % (set(by_ns), {na.inode, nb.inode}))
    for ns, srv in zip((na, nb), servers):
        conns = by_ns[ns.inode]
        check(len(conns) == 2, "%s: %d connection ends, want client and server" % (ns.name, len(conns)))
        server_end = [c for c in conns if cap.meta[c]["local"] == "127.0.0.1:%d" % port]
        client_end = [c for c in conns if c not in server_end]
        check(len(server_end) == 1 and len(client_end) == 1, "%s: ends %s" % (ns.name, conns))
        check(cap.meta[client_end[0]]["local"] == "127.0.0.1:%d" % sport, "%s: client port" % ns.name)
        peer_port = sport
        sent, received = srv.truth(peer_port, "client")
        same(cap.stream(client_end[0], "out"), sent, "%s: client's sent bytes" % ns.name)
        same(cap.stream(client_end[0], "in"), received, "%s: client's received bytes" % ns.name)
        same(cap.stream(server_end[0], "in"), sent, "%s: server's received bytes" % ns.name)
        same(cap.stream(server_end[0], "out"), received, "%s: server's sent bytes" % ns.name)
        body = read_file(os.path.join(tmp, ns.name, "urllib.body"))
        check(body in sent, "%s: the client's body is not in what it sent" % ns.name)
    # pcapng: two TCP connections (one per namespace, each written from one end), their packets
    # naming their namespace.
    rc, out, err = tshark(["-r", pcap, "-Y", "tcp.flags.syn == 1 && tcp.flags.ack == 0", "-T", "fields",
                           "-e", "frame.comment"])
    check(rc == 0, "tshark failed: %s" % err)
    syns = [line for line in out.splitlines() if line]
    check(len(syns) == 2, "%d SYNs in the pcapng, want 2: %s" % (len(syns), syns))
    rc, out, err = tshark(["-r", pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "frame.comment"])
    nets = set(re.findall(r" netns=(\d+) ", out))
    check(nets == {str(na.inode), str(nb.inode)}, "pcapng comments name netns %s" % nets)
