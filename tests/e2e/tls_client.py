#!/usr/bin/python3
"""TLS client for the end-to-end tests.

--mode urllib: POST --size random bytes with urllib (SSL_write_ex/SSL_read_ex)
and check the echoed body. --mode held: open one connection, make a first
exchange, print "ready", wait for a line on stdin, then make a second
exchange on the same connection (a connection that predates tlstap). The
bytes sent and received after "ready" are written to --log DIR/held.out, .in.
--mode exec-thread: the urllib POST from a second thread, which then prints
its thread id and execs /bin/true (the thread takes the process id; its own
id goes without an exit of its own).
"""
import argparse
import http.client
import os
import socket
import ssl
import sys
import threading
import urllib.request


def source_post(port, size, logdir, sport):
    """The same POST over http.client from source port sport (two network namespaces: the
    same addresses and ports at both ends)."""
    body = os.urandom(size)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=60,
                                    source_address=("127.0.0.1", sport))
    c.request("POST", "/echo", body=body, headers={"Content-Type": "application/octet-stream"})
    got = c.getresponse().read()
    c.close()
    with open(os.path.join(logdir, "urllib.body"), "wb") as f:
        f.write(body)
    if got != body:
        sys.exit("echoed body differs")


def urllib_post(port, size, logdir):
    body = os.urandom(size)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    req = urllib.request.Request("https://127.0.0.1:%d/echo" % port, data=body, method="POST",
                                 headers={"Content-Type": "application/octet-stream"})
    with urllib.request.urlopen(req, context=ctx, timeout=60) as r:
        got = r.read()
    with open(os.path.join(logdir, "urllib.body"), "wb") as f:
        f.write(body)
    if got != body:
        sys.exit("echoed body differs")


def exchange(t, body):
    req = b"POST /held HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    t.sendall(req)
    want = b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    got = b""
    while len(got) < len(want):
        d = t.recv(65536)
        if not d:
            break
        got += d
    if got != want:
        sys.exit("unexpected response")
    return req, got


def held(port, size, logdir):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    t = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    exchange(t, b"before tlstap")
    print("ready %d %d" % (t.getsockname()[1], t.fileno()), flush=True)
    sys.stdin.readline()
    sent, got = exchange(t, os.urandom(size))
    with open(os.path.join(logdir, "held.out"), "wb") as f:
        f.write(sent)
    with open(os.path.join(logdir, "held.in"), "wb") as f:
        f.write(got)
    print("done", flush=True)
    sys.stdin.readline()
    t.close()


def exec_from_thread(port, size, logdir):
    def run():
        urllib_post(port, size, logdir)
        print(threading.get_native_id(), flush=True)
        os.execv("/bin/true", ["true"])
    t = threading.Thread(target=run)
    t.start()
    t.join()
    sys.exit("the thread did not exec")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["urllib", "held", "exec-thread"], required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--size", type=int, default=1 << 20)
    ap.add_argument("--log", required=True)
    ap.add_argument("--source-port", type=int, default=0, help="urllib mode: connect from this port")
    args = ap.parse_args()
    if args.mode == "urllib" and args.source_port:
        source_post(args.port, args.size, args.log, args.source_port)
    elif args.mode == "urllib":
        urllib_post(args.port, args.size, args.log)
    elif args.mode == "exec-thread":
        exec_from_thread(args.port, args.size, args.log)
    else:
        held(args.port, args.size, args.log)


if __name__ == "__main__":
    main()
