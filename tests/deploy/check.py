#!/usr/bin/python3
"""Checks deploy/ without a cluster or an image build: the DaemonSet's fields that matter, the
Containerfile's stages, packages (against `ldd` of the built binary) and entry point, and the
systemd unit (systemd-analyze verify, when there). Ends with "N passed, N failed"."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TLSTAP = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build", "tlstap"))
DEPLOY = os.path.join(ROOT, "deploy")
# The capability set deploy/kubernetes/README.md justifies, run by run; the unit has the same.
CAPS = ["BPF", "PERFMON", "SYS_ADMIN", "SYS_PTRACE", "DAC_READ_SEARCH", "SYS_NICE"]

results = []


def check(name):
    def wrap(fn):
        try:
            fn()
            results.append((name, None))
        except AssertionError as e:
            results.append((name, str(e) or "assertion failed"))
        except (OSError, KeyError, ValueError, TypeError, AttributeError, yaml.YAMLError,
                subprocess.SubprocessError) as e:
            results.append((name, "%s: %s" % (type(e).__name__, e)))
        return fn
    return wrap


def version():
    with open(os.path.join(ROOT, "collector", "version.h")) as f:
        return re.search(r'TLSTAP_VERSION "([^"]+)"', f.read()).group(1)


def daemonset_docs():
    with open(os.path.join(DEPLOY, "kubernetes", "daemonset.yaml")) as f:
        return list(yaml.safe_load_all(f))


def the_daemonset():
    ds = [d for d in daemonset_docs() if d and d.get("kind") == "DaemonSet"]
    assert len(ds) == 1, "want one DaemonSet, got %d" % len(ds)
    return ds[0]


def container():
    cs = the_daemonset()["spec"]["template"]["spec"]["containers"]
    assert len(cs) == 1, "want one container"
    return cs[0]


def containerfile():
    """The Containerfile as (stages: [(image, name, [lines])]), continuation lines joined."""
    with open(os.path.join(DEPLOY, "Containerfile")) as f:
        text = re.sub(r"\\\n", " ", f.read())
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        m = re.match(r"FROM\s+(\S+)(?:\s+AS\s+(\S+))?$", line, re.I)
        if m:
            stages.append((m.group(1), m.group(2), []))
        else:
            assert stages, "an instruction before the first FROM: %s" % line
            stages[-1][2].append(line)
    return stages


@check("daemonset: the documents are a Namespace, a ServiceAccount and a DaemonSet in it")
def _():
    kinds = sorted(d["kind"] for d in daemonset_docs() if d)
    assert kinds == ["DaemonSet", "Namespace", "ServiceAccount"], kinds
    ds = the_daemonset()
    assert ds["metadata"]["namespace"] == "tlstap", ds["metadata"]
    sel = ds["spec"]["selector"]["matchLabels"]
    labels = ds["spec"]["template"]["metadata"]["labels"]
    assert all(labels.get(k) == v for k, v in sel.items()), "the selector does not match the pods"


@check("daemonset: hostPID, every node, a rolling update, no service account token")
def _():
    spec = the_daemonset()["spec"]
    pod = spec["template"]["spec"]
    assert pod.get("hostPID") is True, "hostPID must be true: tlstap reads /proc/PID of the node's processes"
    assert not pod.get("hostNetwork"), "hostNetwork is not needed"
    assert {"operator": "Exists"} in pod.get("tolerations", []), "must tolerate every taint"
    assert spec["updateStrategy"]["type"] == "RollingUpdate", spec["updateStrategy"]
    assert pod.get("automountServiceAccountToken") is False, "no API access is needed"


@check("daemonset: the documented capabilities exactly, all others dropped, not privileged")
def _():
    sc = container()["securityContext"]
    assert sc.get("privileged") in (None, False), "privileged: true is not needed"
    assert sc.get("allowPrivilegeEscalation") is False
    assert sc["capabilities"]["drop"] == ["ALL"], sc["capabilities"]
    assert sc["capabilities"]["add"] == CAPS, "capabilities %s, documented %s" % (sc["capabilities"]["add"], CAPS)
    assert sc.get("readOnlyRootFilesystem") is True
    with open(os.path.join(DEPLOY, "kubernetes", "README.md")) as f:
        readme = f.read()
    for cap in CAPS:
        assert "CAP_" + cap in readme, "CAP_%s is not justified in deploy/kubernetes/README.md" % cap


@check("daemonset: mounts of /sys/kernel/btf and the cgroup tree, read-only; no host /proc mount")
def _():
    pod = the_daemonset()["spec"]["template"]["spec"]
    vols = {v["name"]: v["hostPath"]["path"] for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container()["volumeMounts"]}
    for path in ("/sys/kernel/btf", "/sys/fs/cgroup"):
        assert path in mounts and mounts[path].get("readOnly") is True, "%s not mounted read-only" % path
        assert vols[mounts[path]["name"]] == path, "%s mounts %s" % (path, vols[mounts[path]["name"]])
    assert not [p for p in vols.values() if p == "/proc" or p.startswith("/proc/")], \
        "hostPID shows the node's processes in the pod's own /proc"


@check("daemonset: JSON lines, --host from the downward API, and tlstap accepts the arguments")
def _():
    c = container()
    args = c["args"]
    assert args[args.index("-o") + 1] == "json", args
    assert args[args.index("--host") + 1] == "$(NODE_NAME)", args
    env = {e["name"]: e for e in c["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert "-w" not in args and "--write" not in args, "stdout is the log pipeline's: no pcapng there"
    # --version last: every option before it is parsed and checked, nothing runs.
    p = subprocess.run([TLSTAP] + [a.replace("$(NODE_NAME)", "node-1") for a in args] + ["--version"],
                       capture_output=True, timeout=30)
    assert p.returncode == 0, "tlstap refuses the DaemonSet's arguments: %s" % p.stderr.decode()


def quantity(q):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    m = re.match(r"^(\d+)(Ki|Mi|Gi)?$", str(q))
    assert m, "memory quantity %s" % q
    return int(m.group(1)) * units.get(m.group(2), 1)


@check("daemonset: requests and limits set; --max-memory plus the rings of 64 CPUs fit the limit")
def _():
    c = container()
    res = c["resources"]
    for kind in ("requests", "limits"):
        assert "cpu" in res[kind] and "memory" in res[kind], "%s: %s" % (kind, res[kind])
    args = c["args"]
    max_mib = int(args[args.index("--max-memory") + 1])
    ring_kib = int(args[args.index("-B") + 1])
    need = (max_mib << 20) + 64 * (ring_kib << 10) + (64 << 20)    # + 64 MiB for the process itself
    assert need <= quantity(res["limits"]["memory"]), "limit %s < %d bytes" % (res["limits"]["memory"], need)
    assert quantity(res["requests"]["memory"]) <= quantity(res["limits"]["memory"])


@check("daemonset and Containerfile: the same image name and version")
def _():
    image = container()["image"]
    runtime = containerfile()[-1][2]
    label = " ".join(l for l in runtime if l.startswith("LABEL"))
    name = re.search(r'org\.opencontainers\.image\.ref\.name="([^"]+)"', label).group(1)
    ver = re.search(r'org\.opencontainers\.image\.version="([^"]+)"', label).group(1)
    assert ver == version(), "the image label says %s, collector/version.h %s" % (ver, version())
    assert image == "%s:%s" % (name, ver), "DaemonSet image %s, Containerfile builds %s:%s" % (image, name, ver)
    with open(os.path.join(DEPLOY, "Containerfile")) as f:
        assert "-t %s:%s" % (name, ver) in f.read(), "the build command in the Containerfile names another tag"


@check("Containerfile: Debian 12 build stage running make, a slim runtime stage from it")
def _():
    stages = containerfile()
    assert len(stages) == 2, "want two stages, got %d" % len(stages)
    (bimg, bname, blines), (rimg, _, rlines) = stages
    assert re.search(r"debian:12$", bimg) and re.search(r"debian:12-slim$", rimg), (bimg, rimg)
    run = " ".join(l for l in blines if l.startswith("RUN"))
    assert "./deploy/install-deps.sh build" in run and re.search(r"\bmake\b", run), run
    assert "COPY --from=%s /src/build/tlstap /usr/local/bin/tlstap" % bname in rlines, rlines
    assert not [l for l in rlines if l.startswith("RUN") and ("make" in l.split() or "-dev" in l)], \
        "the runtime stage builds nothing"


def runtime_packages():
    run = " ".join(l for l in containerfile()[-1][2] if l.startswith("RUN"))
    m = re.search(r"apt-get install -y --no-install-recommends ([^&]+)", run)
    assert m, "no apt-get install in the runtime stage"
    return set(m.group(1).split())


def package_of(path):
    """The Debian package holding a library, through its real file (usr-merge moves /lib)."""
    for cand in (os.path.realpath(path), path, re.sub(r"^/lib/", "/usr/lib/", os.path.realpath(path))):
        p = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
        if p.returncode == 0:
            return p.stdout.split(":")[0]
    raise AssertionError("no package holds %s" % path)


@check("Containerfile: the runtime packages hold every library ldd names, and nothing else")
def _():
    assert shutil.which("dpkg"), "dpkg missing"
    out = subprocess.run(["ldd", TLSTAP], capture_output=True, text=True, check=True).stdout
    libs = re.findall(r"=>\s+(/\S+)", out)
    assert libs, "ldd found no libraries: %s" % out
    need = {package_of(l) for l in libs} - {"libc6"}    # in every Debian image
    have = runtime_packages()
    assert need <= have, "missing from the runtime stage: %s" % sorted(need - have)
    assert have <= need, "not needed by the binary: %s" % sorted(have - need)


@check("Containerfile: ENTRYPOINT is the copied binary, exec form")
def _():
    rlines = containerfile()[-1][2]
    ep = [l for l in rlines if l.startswith("ENTRYPOINT")]
    assert ep == ['ENTRYPOINT ["/usr/local/bin/tlstap"]'], ep


def unit_text():
    with open(os.path.join(DEPLOY, "systemd", "tlstap.service")) as f:
        return f.read()


def unit_values(key):
    return [l.split("=", 1)[1] for l in re.sub(r"\\\n", " ", unit_text()).splitlines() if l.startswith(key + "=")]


@check("systemd: the same capabilities, strict file system but the capture directory, restarts")
def _():
    assert unit_values("CapabilityBoundingSet") == [" ".join("CAP_" + c for c in CAPS)], \
        unit_values("CapabilityBoundingSet")
    for key, want in (("ProtectSystem", "strict"), ("ReadWritePaths", "/var/lib/tlstap"),
                      ("StateDirectory", "tlstap"), ("NoNewPrivileges", "yes"),
                      ("LimitMEMLOCK", "infinity"), ("Restart", "on-failure"),
                      ("ProtectHome", "read-only")):
        assert unit_values(key) == [want], "%s=%s, want %s" % (key, unit_values(key), want)
    ex = unit_values("ExecStart")[0]
    assert ex.startswith("/usr/local/sbin/tlstap -w ${TLSTAP_FILE} ") and "--host %H" in ex, ex
    env = " ".join(unit_values("Environment"))
    assert "TLSTAP_FILE=/var/lib/tlstap/" in env and "-G 3600" in env, env


@check("systemd: systemd-analyze verify accepts the unit (with this build's binary)")
def _():
    if not shutil.which("systemd-analyze"):
        print("    (systemd-analyze not installed: not verified)")
        return
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "tlstap.service")
        with open(path, "w") as f:
            f.write(unit_text().replace("/usr/local/sbin/tlstap", TLSTAP))
        p = subprocess.run(["systemd-analyze", "verify", "--man=no", path], capture_output=True, text=True)
        assert p.returncode == 0 and not p.stderr.strip(), "systemd-analyze verify: %s" % p.stderr


@check("systemd: the unit's tlstap arguments parse")
def _():
    ex = unit_values("ExecStart")[0].split()
    args = [a.replace("${TLSTAP_FILE}", "/var/lib/tlstap/t-%Y.pcapng").replace("%H", "host")
            .replace("${INVOCATION_ID}", "0123abcd") for a in ex[1:] if a not in ("$TLSTAP_ROTATE", "$TLSTAP_OPTS")]
    p = subprocess.run([TLSTAP] + args + ["-G", "3600", "--version"], capture_output=True, timeout=30)
    assert p.returncode == 0, "tlstap refuses %s: %s" % (args, p.stderr.decode())


def main():
    failed = 0
    for name, err in results:
        print("%s %s" % ("PASS" if err is None else "FAIL", name))
        if err is not None:
            failed += 1
            print("    " + err)
    print("%d passed, %d failed" % (len(results) - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
