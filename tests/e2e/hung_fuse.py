#!/usr/bin/python3
"""A FUSE file system of one read-only file that can be told to hang.

Usage (as root): hung_fuse.py MOUNTPOINT NAME SOURCE
Mounts a FUSE file system (type "fuse", allow_other) at MOUNTPOINT holding
NAME with SOURCE's bytes, spoken to over /dev/fuse directly (no libfuse).
Every entry and attribute expires at once, so the kernel asks this server
on each lookup. Prints "ready" once mounted. Reads commands on stdin:
"hang" stops answering (requests stay pending, as with a dead server),
"quit" or end of input closes /dev/fuse, which fails whatever is pending.
"""
import ctypes
import errno
import os
import select
import stat
import struct
import sys

FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR = 1, 2, 3
FUSE_OPEN, FUSE_READ, FUSE_STATFS, FUSE_RELEASE = 14, 15, 17, 18
FUSE_FLUSH, FUSE_INIT, FUSE_INTERRUPT, FUSE_BATCH_FORGET = 25, 26, 36, 42
NO_REPLY = (FUSE_FORGET, FUSE_BATCH_FORGET, FUSE_INTERRUPT)
IN_HEADER = struct.Struct("<IIQQIIIHH")     # len opcode unique nodeid uid gid pid extlen pad
OUT_HEADER = struct.Struct("<IiQ")          # len error unique
ROOT, FILE = 1, 2


def attr(nodeid, size):
    """struct fuse_attr."""
    if nodeid == ROOT:
        mode, nlink, size = stat.S_IFDIR | 0o755, 2, 0
    else:
        mode, nlink = stat.S_IFREG | 0o755, 1
    return struct.pack("<QQQQQQIIIIIIIIII", nodeid, size, (size + 511) // 512, 0, 0, 0, 0, 0, 0,
                       mode, nlink, 0, 0, 0, 4096, 0)


class Server:
    def __init__(self, mnt, name, data):
        self.name = name.encode()
        self.data = data
        self.fd = os.open("/dev/fuse", os.O_RDWR)
        libc = ctypes.CDLL(None, use_errno=True)
        opts = "fd=%d,rootmode=40000,user_id=0,group_id=0,allow_other" % self.fd
        ms_nosuid, ms_nodev = 2, 4
        if libc.mount(b"tlstap-test", mnt.encode(), b"fuse", ms_nosuid | ms_nodev, opts.encode()):
            raise OSError(ctypes.get_errno(), "mount")

    def reply(self, unique, err=0, body=b""):
        os.write(self.fd, OUT_HEADER.pack(OUT_HEADER.size + len(body), -err, unique) + body)

    def handle(self, req):
        _, op, unique, nodeid = IN_HEADER.unpack_from(req)[:4]
        arg = req[IN_HEADER.size:]
        if op in NO_REPLY:
            return
        if op == FUSE_INIT:
            major, minor, readahead, _ = struct.unpack_from("<IIII", arg)
            self.reply(unique, body=struct.pack("<IIIIHHIIHHI28x", 7, 31, readahead, 0, 1, 1,
                                                128 * 1024, 1, 32, 0, 0))
        elif op == FUSE_LOOKUP:
            if nodeid != ROOT or arg.rstrip(b"\0") != self.name:
                self.reply(unique, errno.ENOENT)
            else:   # nodeid generation entry_valid attr_valid (0: ask again) nsecs attr
                self.reply(unique, body=struct.pack("<QQQQII", FILE, 1, 0, 0, 0, 0) +
                           attr(FILE, len(self.data)))
        elif op == FUSE_GETATTR:
            self.reply(unique, body=struct.pack("<QII", 0, 0, 0) + attr(nodeid, len(self.data)))
        elif op == FUSE_OPEN:
            self.reply(unique, body=struct.pack("<QII", 1, 0, 0))
        elif op == FUSE_READ:
            _, offset, size = struct.unpack_from("<QQI", arg)
            self.reply(unique, body=self.data[offset:offset + size])
        elif op == FUSE_STATFS:
            self.reply(unique, body=struct.pack("<QQQQQIIII24x", 1, 0, 0, 1, 0, 4096, 255, 4096, 0))
        elif op in (FUSE_RELEASE, FUSE_FLUSH):
            self.reply(unique)
        else:
            self.reply(unique, errno.ENOSYS)

    def run(self):
        hung = False
        print("ready", flush=True)
        while True:
            # Hung: requests stay unread, as a dead server leaves them.
            ready, _, _ = select.select([sys.stdin] if hung else [self.fd, sys.stdin], [], [])
            if sys.stdin in ready:
                cmd = sys.stdin.readline().strip()
                if cmd == "hang":
                    hung = True
                    print("hung", flush=True)
                elif cmd in ("quit", ""):
                    break
            if self.fd in ready:
                try:
                    req = os.read(self.fd, 1 << 20)
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.EINTR):
                        continue    # the request was interrupted before we read it
                    if e.errno == errno.ENODEV:
                        break       # unmounted
                    raise
                self.handle(req)
        os.close(self.fd)


def main():
    mnt, name, source = sys.argv[1:4]
    with open(source, "rb") as f:
        data = f.read()
    Server(mnt, name, data).run()


if __name__ == "__main__":
    main()
