"""Plain TCP through NSPR (no SSL layer): PR_Write, PR_Send, PR_Read and PR_Recv on an imported
socket to an echo thread of its own. tlstap probes these functions for NSS and must capture none
of it. Prints "done N" with the bytes echoed back, then exits."""
import ctypes
import socket
import sys
import threading

NO_TIMEOUT = 0xffffffff     # PR_INTERVAL_NO_TIMEOUT


def echo(srv):
    c, _ = srv.accept()
    while True:
        d = c.recv(65536)
        if not d:
            break
        c.sendall(d)
    c.close()


def main():
    line = sys.argv[1].encode()
    nspr = ctypes.CDLL("libnspr4.so")
    nspr.PR_ImportTCPSocket.restype = ctypes.c_void_p
    nspr.PR_ImportTCPSocket.argtypes = [ctypes.c_int]
    for f in (nspr.PR_Write, nspr.PR_Read):
        f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    for f in (nspr.PR_Send, nspr.PR_Recv):
        f.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_uint32]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    threading.Thread(target=echo, args=(srv,), daemon=True).start()
    s = socket.create_connection(srv.getsockname())
    fd = nspr.PR_ImportTCPSocket(s.detach())
    got = b""
    buf = ctypes.create_string_buffer(65536)
    rounds = ((lambda: nspr.PR_Write(fd, line, len(line)), lambda: nspr.PR_Read(fd, buf, len(buf))),
              (lambda: nspr.PR_Send(fd, line, len(line), 0, NO_TIMEOUT),
               lambda: nspr.PR_Recv(fd, buf, len(buf), 0, NO_TIMEOUT)))
    for send, recv in rounds:
        if send() != len(line):
            sys.exit("send failed")
        want = len(got) + len(line)
        while len(got) < want:
            n = recv()
            if n <= 0:
                sys.exit("read failed")
            got += buf.raw[:n]
    nspr.PR_Close(ctypes.c_void_p(fd))
    print("done %d" % len(got), flush=True)


if __name__ == "__main__":
    main()
