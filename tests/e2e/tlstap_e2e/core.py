"""The test registry, the run's settings, failures, and waiting for a readiness signal."""
import os
import signal
import socket
import subprocess
import time

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))     # tests/e2e
ROOT = os.path.dirname(os.path.dirname(HERE))
CERT = os.path.join(ROOT, "testdata", "certs", "cert.pem")
KEY = os.path.join(ROOT, "testdata", "certs", "key.pem")
PY = "/usr/bin/python3"


class Settings:
    tlstap = None       # the binary under test
    mode = "auto"       # --probe-mode of the current pass


cfg = Settings()
TESTS = []
RUNNING = []    # every process a test started, killed after the test if still running


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def test(fn):
    """Runs in both probe placements."""
    fn.modes = ("auto", "exported")
    TESTS.append(fn)
    return fn


def test_in(*modes):
    def mark(fn):
        fn.modes = modes
        TESTS.append(fn)
        return fn
    return mark


def funcs_for(exported, internal):
    """The function names a capture reports in this pass's placement."""
    return exported if cfg.mode == "exported" else internal


def script(name):
    """A helper program of tests/e2e."""
    return os.path.join(HERE, name)


def spawn(argv, **kw):
    """Popen, killed after the test if it is still running."""
    p = subprocess.Popen(argv, **kw)
    RUNNING.append(p)
    return p


def proc_state(pid):
    """The state letter of /proc/PID/stat ('T': stopped), or '' once it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return ""


def wait_until(cond, timeout, what=None, step=0.05):
    """Polls cond() until it holds. step is only the polling interval: cond is the signal
    (a port listening, a file grown, a line printed, an event in tlstap's output).
    Returns its last value; raises Fail after timeout if what names the wait."""
    end = time.time() + timeout
    while True:
        v = cond()
        if v or time.time() >= end:
            break
        time.sleep(step)
    if not v and what:
        raise Fail("%s: not within %d s" % (what, timeout))
    return v


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def accepts(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_port(port, timeout=15):
    """For servers that say nothing when ready (nginx, gnutls-serv, s_server, nghttpd)."""
    wait_until(lambda: accepts(port), timeout, "nothing listens on port %d" % port)


class Peer:
    """A server process (self.proc) a test runs in a with block: stopped at the block's end."""
    stop_signal = signal.SIGTERM

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(self.stop_signal)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
