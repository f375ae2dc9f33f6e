#!/usr/bin/python3
"""HTTPS proxy (TLS to the proxy, then CONNECT) for the nested-TLS test.

curl -x https://... runs its TLS session with the target inside the TLS
session with this proxy: its SSL calls nest. Prints its port on stdout.
Relays only to 127.0.0.1.
"""
import argparse
import socket
import ssl
import threading

import tlsutil


def pipe(src, dst):
    tlsutil.copy(src, dst)
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except (OSError, ssl.SSLError, ValueError):
            pass


def handle(c):
    head = b""
    while b"\r\n\r\n" not in head and len(head) < 8192:
        d = c.recv(4096)
        if not d:
            c.close()
            return
        head += d
    line = head.split(b"\r\n", 1)[0].split()
    host, _, port = line[1].decode().rpartition(":") if len(line) > 1 else ("", "", "0")
    if line[0] != b"CONNECT" or host not in ("127.0.0.1", "localhost"):
        c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
        c.close()
        return
    up = socket.create_connection(("127.0.0.1", int(port)))
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    threading.Thread(target=pipe, args=(up, c), daemon=True).start()
    pipe(c, up)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    args = ap.parse_args()
    tlsutil.serve_forever(tlsutil.listen(backlog=16), tlsutil.server_context(args.cert, args.key),
                          handle, "proxy")


if __name__ == "__main__":
    main()
