"""The TLS peers the tests trace: the echo server, gnutls-serv, files to serve, clients, tshark."""
import os
import select
import subprocess
import threading
import time

from .core import CERT, KEY, PY, Fail, Peer, check, free_port, script, spawn, wait_port, wait_until


class EchoServer(Peer):
    """tls_echo_server.py: logs every byte each connection moved (the truth), and says when a
    connection is over, so a test knows every TLS call of the server's end has returned."""

    def __init__(self, tmp, host="127.0.0.1", port=0, wrap=(), name="echo-log"):
        """wrap: a command to run the server under (ip netns exec NS)."""
        self.log = os.path.join(tmp, name)
        os.makedirs(self.log, exist_ok=True)
        self.proc = spawn(list(wrap) + [PY, script("tls_echo_server.py"), "--cert", CERT, "--key", KEY,
                                        "--log", self.log, "--host", host, "--port", str(port)],
                          stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
        line = self.proc.stdout.readline()
        check(line.strip().isdigit(), "echo server did not start")
        self.port = int(line)
        self.pid = self.proc.pid
        self.closed = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.proc.stdout:
            if line.startswith(b"closed "):
                self.closed.append(int(line.split()[1]))

    def wait_closed(self, n, timeout=30):
        """Waits until n connections are over, their logs complete."""
        wait_until(lambda: len(self.closed) >= n, timeout, "the echo server ended fewer than %d connections" % n)

    def logged(self, peer_port, d):
        with open(os.path.join(self.log, "%d.%s" % (peer_port, d)), "rb") as f:
            return f.read()

    def truth(self, peer_port, side):
        """(sent, received) by the client at peer_port, or by the server's end of its connection."""
        sent, received = self.logged(peer_port, "in"), self.logged(peer_port, "out")
        return (sent, received) if side == "client" else (received, sent)

    def wait_logged(self, peer_port, d, cond, timeout=30):
        """For a connection still open: waits until cond(what it logged so far) holds (it logs a
        response once sendall returned)."""
        def ok():
            try:
                return cond(self.logged(peer_port, d))
            except FileNotFoundError:
                return False
        wait_until(ok, timeout, "the echo server's log of port %d %s" % (peer_port, d))


class GnutlsServ(Peer):
    """gnutls-serv (GnuTLS server) on a free port: --http with a file, or --echo."""

    def __init__(self, tmp, args):
        self.port = free_port()
        self.proc = spawn(["gnutls-serv", "-p", str(self.port), "--x509certfile", CERT, "--x509keyfile", KEY]
                          + args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        self.pid = self.proc.pid
        wait_port(self.port)


def www(tmp, files, name="www"):
    """A folder of files {name: bytes or size (random bytes)} to serve; returns (path, {name: bytes})."""
    root = os.path.join(tmp, name)
    os.makedirs(root, exist_ok=True)
    bodies = {}
    for fname, content in files.items():
        bodies[fname] = os.urandom(content) if isinstance(content, int) else content
        path = os.path.join(root, fname)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(bodies[fname])
    return root, bodies


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def urllib_post(port, size, tmp, check_rc=True, **kw):
    """tls_client.py --mode urllib: POSTs size random bytes (kept in tmp/urllib.body), checks the echo."""
    p = subprocess.run([PY, script("tls_client.py"), "--mode", "urllib", "--port", str(port), "--size", str(size),
                        "--log", tmp], timeout=60, **kw)
    if check_rc:
        check(p.returncode == 0, "python client failed (exit %d)" % p.returncode)
    return p


def held_client(port, size, tmp, wrap=None):
    """tls_client.py --mode held: connected (one exchange made), waits for "go"; returns (proc, local port, fd)."""
    argv = [PY, script("tls_client.py"), "--mode", "held", "--port", str(port), "--size", str(size), "--log", tmp]
    cli = (wrap or spawn)(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    ready = cli.stdout.readline().split()
    check(ready and ready[0] == b"ready", "held client did not connect")
    return cli, int(ready[1]), int(ready[2])


def say(proc, line):
    proc.stdin.write(line)
    proc.stdin.flush()


def curl(args, timeout=60):
    return subprocess.run(["curl", "-sk"] + args, capture_output=True, timeout=timeout)


def tshark(args):
    p = subprocess.run(["tshark"] + args, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def request_uris(path):
    """The HTTP request URIs tshark finds in a capture file: (rc, text, stderr)."""
    return tshark(["-r", path, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"])


def read_until(stream, want, timeout, what):
    """Reads a pipe until want appears (what a peer prints once it got something)."""
    seen = b""
    end = time.time() + timeout
    while want not in seen:
        r, _, _ = select.select([stream], [], [], max(end - time.time(), 0))
        chunk = os.read(stream.fileno(), 65536) if r else b""
        if not chunk:
            raise Fail("%s: no %r within %d s (got %r)" % (what, want, timeout, seen[-300:]))
        seen += chunk
    return seen
