"""A tracer run: tlstap started until it says it is tracing, stopped by signal, its output read back."""
import json
import os
import shutil
import signal
import subprocess
import threading

from .capture import Capture
from .core import RUNNING, Fail, cfg, check, wait_until


class Tracer:
    """tlstap running with its output (JSON by default) into a file until stop()."""

    def __init__(self, tmp, args=(), out="json"):
        self.out_path = os.path.join(tmp, "tlstap.%d.out" % len(os.listdir(tmp)))
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([cfg.tlstap, "-o", out, "--probe-mode", cfg.mode] + list(args),
                                     stdout=self.out, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        RUNNING.append(self.proc)
        self.stderr_lines = []
        self.ready = threading.Event()
        self.reader = threading.Thread(target=self._read_stderr, daemon=True)
        self.reader.start()
        if not self.ready.wait(30):
            self.proc.kill()
            raise Fail("tlstap did not start tracing: %s" % "".join(self.stderr_lines))
        if self.proc.poll() is not None:
            raise Fail("tlstap exited at start: %s" % "".join(self.stderr_lines))

    def _read_stderr(self):
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace")
            self.stderr_lines.append(line)
            if line.startswith("tlstap: tracing"):
                self.ready.set()
        self.ready.set()

    def stderr_text(self):
        """What tlstap has said on stderr so far (all of it once stopped)."""
        return "".join(self.stderr_lines)

    def stop(self, sig=signal.SIGINT):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise Fail("tlstap did not stop on signal %d" % sig)
        self.reader.join(10)
        self.out.close()
        with open(self.out_path, "rb") as f:
            self.raw = f.read()
        self.rc = rc
        self.stderr = "".join(self.stderr_lines)
        return rc

    def events(self):
        evs = []
        for line in self.raw.splitlines():
            try:
                evs.append(json.loads(line))
            except ValueError:
                raise Fail("tlstap printed a line that is not JSON: %r" % line[:200])
        return evs

    def peek(self):
        """The whole lines tlstap has written so far (it flushes its output every poll round)."""
        with open(self.out_path, "rb") as f:
            data = f.read()
        return data[:data.rfind(b"\n") + 1]

    def peek_events(self):
        return [json.loads(line) for line in self.peek().splitlines()]

    def wait_output(self, cond, timeout=30):
        """Waits until cond(whole lines so far) holds: the events a test checks are out. On a
        timeout it returns and the test's own checks say what is missing."""
        return wait_until(lambda: cond(self.peek()), timeout)

    def wait_capture(self, cond, timeout=30):
        """Waits until cond(Capture of the JSON events so far) holds, for peers that say nothing
        when their last TLS call has returned."""
        def ok(_):
            try:
                return cond(Capture(self.peek_events()))
            except Fail:
                return False
        return self.wait_output(ok, timeout)


def tracer_until_exit(argv):
    """Starts argv (a tlstap that stops by itself); returns (proc, first stderr line)."""
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    RUNNING.append(proc)
    return proc, proc.stderr.readline().decode(errors="replace")


def drop_to_nobody():
    """preexec_fn: the hostile local user of these tests."""
    os.setgroups([])
    os.setgid(65534)
    os.setuid(65534)


def as_nobody(argv):
    """Runs argv as user nobody."""
    subprocess.run(argv, preexec_fn=drop_to_nobody, check=True, timeout=30)


def world_readable_copy(tmp, path):
    """A copy another user can run: the clone may sit in a directory only root can enter."""
    os.chmod(tmp, 0o755)
    copy = os.path.join(tmp, os.path.basename(path))
    shutil.copy2(path, copy)
    os.chmod(copy, 0o755)
    return copy


def run_bad(args, want_rc, want_words, env=None, stdout=subprocess.DEVNULL, preexec=None, tlstap=None):
    """tlstap refuses args with exit want_rc and one clear first line holding want_words."""
    p = subprocess.run([tlstap or cfg.tlstap] + args, stdout=stdout, stderr=subprocess.PIPE, timeout=60, env=env,
                       preexec_fn=preexec)
    err = p.stderr.decode(errors="replace")
    first = err.splitlines()[0] if err else ""
    check(p.returncode == want_rc, "%s: exit %d, want %d (%s)" % (args, p.returncode, want_rc, err.strip()))
    check(first.startswith("tlstap: "), "%s: first stderr line is not a tlstap message: %r" % (args, err))
    check(all(w in first for w in want_words), "%s: %r lacks %s" % (args, first, want_words))
    check("libbpf" not in err and "Segmentation" not in err, "%s: raw library output: %r" % (args, err))
