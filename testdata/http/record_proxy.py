#!/usr/bin/env python3
"""Records one TCP connection through a relay as a testdata/http .rec file.

    record_proxy.py LISTEN_PORT UPSTREAM_PORT OUT.rec "comment"

Accepts one connection on 127.0.0.1:LISTEN_PORT, relays it to
127.0.0.1:UPSTREAM_PORT and writes every read, in the order it happened, as
the client side would see it: "out" = client to server, "in" = server to
client, times in ns from the first byte. Used by capture.sh.
"""
import socket
import sys
import threading
import time


def main():
    lport, uport, path, comment = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", lport))
    ls.listen(1)
    print("ready", flush=True)
    cs, _ = ls.accept()
    us = socket.create_connection(("127.0.0.1", uport))
    events, lock, t0 = [], threading.Lock(), [None]

    def now():
        t = time.monotonic_ns()
        if t0[0] is None:
            t0[0] = t
        return t - t0[0] + 1000

    def relay(src, dst, name):
        while True:
            b = src.recv(65536)
            with lock:
                if b:
                    events.append((name, now(), b))
            if not b:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass
                return
            dst.sendall(b)

    th = [threading.Thread(target=relay, args=(cs, us, "out")),
          threading.Thread(target=relay, args=(us, cs, "in"))]
    for t in th:
        t.start()
    for t in th:
        t.join()
    end = now()
    with open(path, "w") as f:
        f.write("# %s\n# Captured by capture.sh through record_proxy.py: do not edit.\n" % comment)
        for name, ts, b in events:
            s = "".join(
                "\\r" if c == 13 else "\\n" if c == 10 else "\\\\" if c == 92 else '\\"' if c == 34
                else chr(c) if 32 <= c < 127 else "\\x%02x" % c for c in b)
            f.write('%s %d "%s"\n' % (name, ts, s))
        f.write("close %d\n" % end)


if __name__ == "__main__":
    main()
