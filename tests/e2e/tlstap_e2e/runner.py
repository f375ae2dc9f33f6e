"""Runs the registered tests in both probe placements and prints "N passed, N failed"."""
import argparse
import os
import shutil
import tempfile
import time
import traceback

from . import (suite_openssl, suite_gnutls, suite_options, suite_discovery, suite_load,  # noqa: F401 (they register)
               suite_pcapng, suite_http, suite_hardening, suite_boringssl,
               suite_nss, suite_late, suite_containers, suite_go)
from .core import RUNNING, TESTS, Fail, cfg


def run_one(fn, name):
    tmp = tempfile.mkdtemp(prefix="tlstap-e2e-")
    start = time.time()
    try:
        fn(tmp)
        print("PASS %s (%.1f s)" % (name, time.time() - start), flush=True)
        return True
    except Exception as e:
        print("FAIL %s: %s" % (name, e), flush=True)
        if not isinstance(e, Fail):
            traceback.print_exc()
        return False
    finally:
        for p in RUNNING:
            if p.poll() is None:
                p.kill()
                p.wait()
        del RUNNING[:]
        os.environ.get("KEEP") or shutil.rmtree(tmp, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--tlstap", required=True)
    ap.add_argument("-k", help="run only tests whose name contains this")
    args = ap.parse_args(argv)
    cfg.tlstap = os.path.abspath(args.tlstap)
    if os.geteuid() != 0:
        print("e2e: SKIP: not root, cannot load BPF programs")
        print("0 passed, 0 failed, %d skipped" % sum(len(fn.modes) for fn in TESTS))
        return 0
    passed = failed = 0
    for mode in ("auto", "exported"):
        cfg.mode = mode
        for fn in TESTS:
            if (args.k and args.k not in fn.__name__) or mode not in fn.modes:
                continue
            if run_one(fn, "%s[%s]" % (fn.__name__, mode)):
                passed += 1
            else:
                failed += 1
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0
