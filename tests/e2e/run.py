#!/usr/bin/python3
"""End-to-end tests: the real BPF programs against real TLS peers on 127.0.0.1.

Each test starts tlstap and the peers it needs (on free ports, stopped by
PID), drives traffic, and compares what tlstap captured with the bytes the
peers really sent and received, from both ends of each connection. The tests
live in tlstap_e2e/ (one suite_* module per subject). Usage:
  run.py --tlstap build/tlstap [-k NAME]
Ends with "N passed, N failed".
"""
import os
import sys

# No __pycache__ (root-owned) left in the checkout, by this runner or the peers it starts.
sys.dont_write_bytecode = True
os.environ["PYTHONDONTWRITEBYTECODE"] = "1"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from tlstap_e2e.runner import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
