#!/usr/bin/python3
"""A reader of tlstap's output that, when told (GO appears), loads a library no scan has seen
(LIB, a fresh copy: under --hold-new its mmap gets this process held), then reads stdin to its
end and prints how many bytes it read."""
import ctypes
import os
import sys
import time

go, lib = sys.argv[1], sys.argv[2]
while not os.path.exists(go):       # the test's signal: tlstap's stdout is full by now
    time.sleep(0.02)
ctypes.CDLL(lib)
n = 0
while True:
    chunk = sys.stdin.buffer.read1(1 << 16)
    if not chunk:
        break
    n += len(chunk)
print(n, flush=True)
