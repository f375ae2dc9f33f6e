#!/usr/bin/python3
"""Many TLS uploads held open, for the end-to-end memory tests.

--mode client: opens --conns connections to 127.0.0.1:--port one after the
other and on each sends the head of a POST whose declared body never ends,
then --size bytes of that body. The head goes in its own TLS record and the
body is connection i's mark ("C007____", 8 bytes) repeated, in records of
2 KiB (many small reads, none straddling a mark). Prints "sent HEADLEN",
then keeps the connections open until stdin closes.

--mode server: prints its port, accepts --conns connections and reads
HEADLEN + --size bytes from each (Python's ssl: SSL_read_ex). Prints
"read-all" once every byte has been returned by the TLS library (so a
tracer has seen every call end), then holds the connections until stdin
closes, never answering.
"""
import argparse
import os
import socket
import sys
import threading

import tlsutil

MARK = 8
RECORD = 2048


def head(i):
    # Fixed width: every head has the same length.
    return b"POST /up/%03d HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 999999999\r\n\r\n" % i


def client(args):
    ctx = tlsutil.client_context()
    held = []
    for i in range(1, args.conns + 1):
        t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", args.port)))
        t.sendall(head(i))
        body = b"C%03d____" % i * (args.size // MARK)
        for off in range(0, len(body), RECORD):
            t.sendall(body[off:off + RECORD])
        held.append(t)
    print("sent %d" % len(head(1)), flush=True)
    sys.stdin.read()
    for t in held:
        t.close()


def server(args):
    ctx = tlsutil.server_context(args.cert, args.key)
    srv = tlsutil.listen(backlog=args.conns)
    want = len(head(1)) + args.size
    left = [args.conns]
    lock = threading.Lock()
    held = []

    def read(t):
        got = 0
        while got < want:
            d = t.recv(65536)
            if not d:
                print("connection closed after %d bytes" % got, file=sys.stderr, flush=True)
                os._exit(1)
            got += len(d)
        with lock:
            left[0] -= 1
            if not left[0]:
                print("read-all", flush=True)

    for _ in range(args.conns):
        c, _ = srv.accept()
        t = ctx.wrap_socket(c, server_side=True)
        held.append(t)
        threading.Thread(target=read, args=(t,), daemon=True).start()
    sys.stdin.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["client", "server"], required=True)
    ap.add_argument("--port", type=int)
    ap.add_argument("--conns", type=int, required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    args = ap.parse_args()
    if args.size % MARK or args.conns > 999:
        sys.exit("--size must be a multiple of %d, --conns at most 999" % MARK)
    if args.mode == "client":
        client(args)
    else:
        server(args)


if __name__ == "__main__":
    main()
