#!/usr/bin/python3
"""Threads that are busy with tight TLS round trips before tlstap starts.

  busy_echo.py server --cert C --key K    echoes every read; prints its port,
                                          then "closed" as each connection ends
  busy_echo.py client --port P --threads N

The client's threads each open their own connection and send 32-byte
messages (message i of thread t is a function of t and i), reading each echo
before the next. It prints "started" once every thread has made a round trip.
SIGUSR1 makes it note how many round trips each thread has finished (the test
sends it once tlstap says it is tracing). On stdin, "wait N" makes it print
"busy" once every thread has made N more round trips since the note, "stop"
stops it. It then prints one JSON object: per thread its local port, the
round trips done and the count noted at SIGUSR1.
"""
import argparse
import json
import signal
import socket
import ssl
import sys
import threading
import time

import tlsutil

MSG = 32


def message(t, i):
    m = b"t%02d msg %010d " % (t, i)
    return m + b"." * (MSG - len(m) - 1) + b"\n"


def serve(conn):
    tlsutil.copy(conn, conn)
    conn.close()
    tlsutil.say("closed")


def server(args):
    tlsutil.serve_forever(tlsutil.listen(), tlsutil.server_context(args.cert, args.key), serve, "busy server")


def wait_all(cond, errors, timeout=60):
    """Polls the threads' counters (a condition variable would cost every round trip a wake-up)."""
    end = time.time() + timeout
    while not cond() and not errors and time.time() < end:
        time.sleep(0.01)


def client(args):
    ctx = tlsutil.client_context()
    stop = threading.Event()
    counts = [0] * args.threads
    noted = [None] * args.threads
    ports = [0] * args.threads
    errors = []

    def run(t):
        try:
            s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", args.port)))
            ports[t] = s.getsockname()[1]
            i = 0
            while not stop.is_set():
                s.sendall(message(t, i))
                got = b""
                while len(got) < MSG:
                    d = s.recv(MSG - len(got))
                    if not d:
                        raise OSError("server closed")
                    got += d
                if got != message(t, i):
                    raise OSError("bad echo %r" % got)
                i += 1
                counts[t] = i
            s.close()
        except (OSError, ssl.SSLError) as e:
            errors.append("thread %d: %s" % (t, e))

    def note(sig, frame):
        for t in range(args.threads):
            noted[t] = counts[t]

    signal.signal(signal.SIGUSR1, note)
    threads = [threading.Thread(target=run, args=(t,)) for t in range(args.threads)]
    for th in threads:
        th.start()
    wait_all(lambda: min(counts) > 0, errors)
    print("started", flush=True)
    for line in sys.stdin:
        if line.startswith("wait "):
            more = int(line.split()[1])
            wait_all(lambda: None not in noted and all(c >= n + more for c, n in zip(counts, noted)), errors)
            print("busy", flush=True)
        else:
            break
    stop.set()
    for th in threads:
        th.join()
    json.dump({"threads": [{"port": ports[t], "count": counts[t], "noted": noted[t]}
                           for t in range(args.threads)], "errors": errors}, sys.stdout)
    print(flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("role", choices=("server", "client"))
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--port", type=int)
    ap.add_argument("--threads", type=int, default=4)
    args = ap.parse_args()
    server(args) if args.role == "server" else client(args)


if __name__ == "__main__":
    main()
