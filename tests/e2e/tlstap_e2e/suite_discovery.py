"""Finding the TLS libraries: other mount namespaces, --list-targets, names others choose, dead FUSE servers."""
import os
import re
import shutil
import subprocess

from .capture import as_sent, clean_capture
from .core import PY, Fail, cfg, check, script, spawn, test, test_in
from .peers import EchoServer, GnutlsServ, held_client, read_file, read_until, say
from .tracer import Tracer

LIBDIR = "/usr/lib/x86_64-linux-gnu"


def in_private_mount_ns(tmp, lib_path, argv):
    """argv in a new mount namespace where lib_path is a copy (another inode)."""
    copy = os.path.join(tmp, os.path.basename(lib_path) + ".copy")
    shutil.copy2(lib_path, copy)
    script_ = 'mount --bind "$1" "$2" && shift 2 && exec "$@"'
    return ["unshare", "-m", "--propagation", "private", "sh", "-c", script_, "sh", copy, lib_path] + argv


@test
def test_libraries_in_other_mount_namespaces(tmp):
    """A process whose libssl/libgnutls is another file, visible only in its namespace."""
    libssl = os.path.realpath(LIBDIR + "/libssl.so.3")
    libgnutls = os.path.realpath(LIBDIR + "/libgnutls.so.30")
    line = b"namespaced gnutls\n"
    with EchoServer(tmp) as srv, GnutlsServ(tmp, ["--echo"]) as gsrv:
        held, _, _ = held_client(srv.port, 5000, tmp, wrap=lambda argv, **kw: spawn(
            in_private_mount_ns(tmp, libssl, argv), **kw))
        gcli = spawn(in_private_mount_ns(tmp, libgnutls, ["gnutls-cli", "--insecure", "-p", str(gsrv.port),
                                                          "127.0.0.1"]), stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        # gnutls-cli says so once its handshake is done and it waits on stdin.
        read_until(gcli.stdout, b"Simple Client Mode", 30, "namespaced gnutls-cli")
        for p, lib in ((held, libssl), (gcli, libgnutls)):
            with open("/proc/%d/maps" % p.pid) as f:
                check(os.path.basename(lib) in f.read(), "%s does not map %s" % (p.pid, lib))
        tr = Tracer(tmp, ["-v"])
        say(held, b"go\n")
        check(held.stdout.readline().strip() == b"done", "namespaced python exchange failed")
        say(gcli, line)
        # It prints the echo once its read has returned.
        read_until(gcli.stdout, line, 30, "namespaced gnutls-cli did not get the echo")
        tr.stop()
        for p in (held, gcli):
            p.kill()
            p.wait()
    check("/proc/%d/root" % held.pid in tr.stderr and "/proc/%d/root" % gcli.pid in tr.stderr,
          "the namespaced copies were not probed:\n" + tr.stderr)
    cap = clean_capture(tr)
    hc = cap.conns(pid=held.pid)
    check(len(hc) == 1, "namespaced OpenSSL client: %d connections" % len(hc))
    as_sent(cap, hc[0], read_file(os.path.join(tmp, "held.out")), read_file(os.path.join(tmp, "held.in")),
            "namespaced OpenSSL client")
    gc = cap.conns(pid=gcli.pid)
    check(len(gc) == 1, "namespaced GnuTLS client: %d connections" % len(gc))
    as_sent(cap, gc[0], line, line, "namespaced GnuTLS client")


@test_in("auto")
def test_list_targets_explains_placement(tmp):
    p = subprocess.run([cfg.tlstap, "--list-targets"], capture_output=True, timeout=30)
    out = p.stdout.decode()
    check(p.returncode == 0, "--list-targets failed")
    check(re.search(r"libssl\.so\.3\s.*\n\tversion: OpenSSL 3\.0/3\.1.*\n\tplacement: internal functions",
                    out), "libssl.so.3 not placed on its internal functions:\n" + out)
    check("ssl_read_internal" in out and "ssl_write_internal" in out, "internal points not listed")
    check("gnutls_record_send only jumps to gnutls_record_send2" in out, "GnuTLS placement not explained")
    p = subprocess.run([cfg.tlstap, "--list-targets", "--probe-mode", "exported"], capture_output=True, timeout=30)
    out = p.stdout.decode()
    check("ssl_read_internal" not in out and "\tSSL_read\t" in out, "--probe-mode exported not honoured")


@test_in("auto")
def test_list_targets_escapes_names_others_choose(tmp):
    """A libssl copy at a path with an escape sequence and a newline, mapped by a process whose
    comm has them too: --list-targets, -v and error lines show them as \\xNN, never raw."""
    d = os.path.join(tmp, "evil\x1b[31m\nname")
    os.makedirs(d)
    lib = os.path.join(d, "libssl.so.3")
    shutil.copy(os.path.realpath(LIBDIR + "/libssl.so.3"), lib)
    code = ("import ctypes, sys\n"
            "ctypes.CDLL(None).prctl(15, b'ev\\x1b[2Jil\\r', 0, 0, 0)\n"
            "ctypes.CDLL(sys.argv[1])\n"
            "print('ready', flush=True)\n"
            "sys.stdin.read()\n")
    p = spawn([PY, "-c", code, lib], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    check(p.stdout.readline().startswith(b"ready"), "the process did not load the copy")
    r = subprocess.run([cfg.tlstap, "--list-targets", "-v"], capture_output=True, timeout=60)
    p.kill()
    p.wait()
    check(r.returncode == 0, "--list-targets failed: %r" % r.stderr)
    # The path as /proc/PID/maps gives it: the kernel writes a newline there as \\012.
    want_path = (d.replace("\x1b", "\\x1b").replace("\n", "\\\\012") + "/libssl.so.3").encode()
    want_origin = ("mapped by ev\\x1b[2Jil\\x0d[%d]" % p.pid).encode()
    lines = [line for line in r.stdout.split(b"\n") if want_path in line]
    check(len(lines) == 1 and want_origin in lines[0],
          "the copy is not listed escaped:\n%r" % r.stdout)
    check(any(want_path in line and want_origin in line for line in r.stderr.split(b"\n")),
          "-v does not name the copy escaped:\n%r" % r.stderr)
    for name, text in (("stdout", r.stdout), ("stderr", r.stderr)):
        check(b"\x1b" not in text and b"\r" not in text, "a raw control byte on %s: %r" % (name, text))
    # Named with -l: the path as given, its newline escaped like any control byte.
    r = subprocess.run([cfg.tlstap, "--list-targets", "-l", lib], capture_output=True, timeout=60)
    want_path = (d.replace("\x1b", "\\x1b").replace("\n", "\\x0a") + "/libssl.so.3").encode()
    check(r.returncode == 0 and r.stdout.startswith(b"openssl\t" + want_path + b"\t--lib\n"),
          "-l: the copy is not listed escaped: %r" % r.stdout)
    check(b"\x1b" not in r.stdout, "a raw ESC with -l: %r" % r.stdout)
    # An error line naming a file that is not ELF.
    bad = os.path.join(d, "x\x1b]0;title\x07")
    with open(bad, "w") as f:
        f.write("not ELF\n")
    r = subprocess.run([cfg.tlstap, "--list-targets", "-l", bad], capture_output=True, timeout=60)
    check(r.returncode == 2, "-l on a text file: exit %d" % r.returncode)
    check(b"x\\x1b]0;title\\x07 is not an ELF" in r.stderr and b"\x1b" not in r.stderr
          and b"\x07" not in r.stderr, "the error line is not escaped: %r" % r.stderr)


def list_targets_past_dead_fuse(prefix):
    try:
        return subprocess.run(prefix + [cfg.tlstap, "--list-targets"], capture_output=True, timeout=60)
    except subprocess.TimeoutExpired:
        raise Fail("tlstap --list-targets %shung on the dead FUSE server" % ("without map_files " if prefix else ""))


@test_in("auto")
def test_hung_fuse_file_does_not_hang_the_search(tmp):
    """A process maps a libssl from a FUSE file system whose server then stops answering, as a dead
    network or FUSE server does: the system-wide search skips that file without asking the server,
    says so, and still finds the rest."""
    mnt = os.path.join(tmp, "fuse")
    os.mkdir(mnt)
    libssl = os.path.realpath(LIBDIR + "/libssl.so.3")
    srv = spawn([PY, script("hung_fuse.py"), mnt, "libssl.so.3", libssl], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE)
    cli = None
    try:
        check(srv.stdout.readline().startswith(b"ready"), "the FUSE server did not mount")
        code = "import ctypes, sys\nctypes.CDLL(sys.argv[1])\nprint('ready', flush=True)\nsys.stdin.read()\n"
        cli = spawn([PY, "-c", code, os.path.join(mnt, "libssl.so.3")], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE)
        check(cli.stdout.readline().startswith(b"ready"), "the process did not load libssl from FUSE")
        say(srv, b"hang\n")
        check(srv.stdout.readline().startswith(b"hung"), "the FUSE server did not stop answering")
        # Without CAP_SYS_ADMIN and CAP_CHECKPOINT_RESTORE, /proc/PID/map_files is closed to
        # tlstap: it opens the path under /proc/PID/root, and must judge the file system before
        # that lookup too.
        runs = [list_targets_past_dead_fuse(prefix)
                for prefix in ([], ["setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore"])]
    finally:
        if cli:
            cli.kill()
            cli.wait()
        try:
            say(srv, b"quit\n")    # closing /dev/fuse fails whatever is pending
        except OSError:
            pass
        try:
            srv.wait(30)
        except subprocess.TimeoutExpired:
            srv.kill()
        subprocess.run(["umount", "-l", mnt], stderr=subprocess.DEVNULL)
    for r in runs:
        check(r.returncode == 0, "--list-targets failed: %r" % r.stderr)
        check(b"files on network or FUSE file systems not looked at: 1 " in r.stderr,
              "the skipped file is not reported: %r" % r.stderr)
        check(b"\t" + libssl.encode() + b"\t" in r.stdout, "the local libssl was not found:\n%r" % r.stdout)
        check(mnt.encode() not in r.stdout, "the FUSE copy was listed:\n%r" % r.stdout)
