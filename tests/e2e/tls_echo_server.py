#!/usr/bin/python3
"""HTTP/1.1 echo server over Python's ssl (OpenSSL's SSL_read_ex/SSL_write_ex).

Answers each request with its body. Logs the exact plaintext bytes received
from and sent to each connection as LOG/<peer port>.in and .out, the truth the
end-to-end tests compare tlstap's capture with. Prints its port on stdout,
then "closed <peer port>" once a connection is over: every TLS call on it has
returned and its logs are complete.
"""
import argparse
import os
import ssl
import sys

import tlsutil

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024


def serve(conn, logdir):
    port = conn.getpeername()[1]
    fin = open(os.path.join(logdir, "%d.in" % port), "wb")
    fout = open(os.path.join(logdir, "%d.out" % port), "wb")
    buf = b""
    try:
        while True:
            while b"\r\n\r\n" not in buf:
                d = conn.recv(65536)
                if not d:
                    return
                fin.write(d)
                buf += d
                if len(buf) > MAX_HEAD and b"\r\n\r\n" not in buf:
                    return
            head, buf = buf.split(b"\r\n\r\n", 1)
            length = 0
            close = False
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = min(int(value.strip()), MAX_BODY)
                if name.strip().lower() == b"connection" and value.strip().lower() == b"close":
                    close = True
            while len(buf) < length:
                d = conn.recv(65536)
                if not d:
                    return
                fin.write(d)
                buf += d
            body, buf = buf[:length], buf[length:]
            resp = (b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                    b"Content-Length: %d\r\n\r\n" % len(body)) + body
            conn.sendall(resp)
            fout.write(resp)
            fout.flush()
            fin.flush()
            if close:
                return
    except (OSError, ssl.SSLError, ValueError) as e:
        print("echo server: %s" % e, file=sys.stderr)
    finally:
        fin.close()
        fout.close()
        try:
            conn.close()
        except OSError:
            pass
        tlsutil.say("closed %d" % port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0: a free one")
    args = ap.parse_args()
    srv = tlsutil.listen(args.host, port=args.port)
    tlsutil.serve_forever(srv, tlsutil.server_context(args.cert, args.key),
                          lambda t: serve(t, args.log), "echo server")


if __name__ == "__main__":
    main()
