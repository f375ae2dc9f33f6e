"""Streams rebuilt from tlstap's JSON events, and the checks that compare them with both ends."""
import base64
import hashlib
import re

from .core import Fail, check


class Capture:
    """Streams rebuilt from JSON data events, checked for holes and overlaps; close records by conn."""

    def __init__(self, events):
        self.events = events
        self.streams = {}
        self.meta = {}
        self.closes = {}
        self.gaps = [e for e in events if e["type"] == "gap"]
        for e in events:
            if e["type"] == "close":
                check(e["conn"] not in self.closes, "conn %d closed twice: %s" % (e["conn"], e))
                self.closes[e["conn"]] = e
            if e["type"] != "data":
                continue
            check(list(e.keys())[0] == "type", "type is not the first key")
            key = (e["conn"], e["dir"])
            data = base64.b64decode(e["data"])
            check(len(data) == e["len"], "len %d but %d bytes of data" % (e["len"], len(data)))
            buf = self.streams.setdefault(key, bytearray())
            check(e["pos"] == len(buf),
                  "conn %s %s: chunk at pos %d after %d bytes (hole or overlap)"
                  % (e["conn"], e["dir"], e["pos"], len(buf)))
            buf += data
            m = self.meta.setdefault(e["conn"], {"pids": set(), "funcs": set(), "local": None,
                                                 "remote": None, "fd": None, "comm": e["comm"]})
            m["pids"].add(e["pid"])
            m["funcs"].add(e["func"])
            for k in ("local", "remote", "fd", "netns"):
                if e.get(k) is not None:
                    m[k] = e[k]

    def conns(self, pid=None, comm=None):
        out = []
        for conn, m in self.meta.items():
            if pid is not None and pid not in m["pids"]:
                continue
            if comm is not None and m["comm"] != comm:
                continue
            out.append(conn)
        return sorted(out)

    def only(self, what, pid=None, comm=None):
        """The one connection of that process (or of all captured)."""
        conns = self.conns(pid, comm)
        check(len(conns) == 1, "want one %s connection, got %d: %s" % (what, len(conns), conns))
        return conns[0]

    def stream(self, conn, d):
        return bytes(self.streams.get((conn, d), b""))

    def peer_of(self, conn):
        """The connection at the other end: its local is our remote."""
        m = self.meta[conn]
        for other, om in self.meta.items():
            if other != conn and om["local"] == m["remote"] and om["remote"] == m["local"]:
                return other
        return None

    def stats(self):
        s = [e for e in self.events if e["type"] == "stats"]
        check(len(s) == 1, "want one stats line at the end, got %d" % len(s))
        return s[0]


def short(b):
    return "%d bytes sha256 %s" % (len(b), hashlib.sha256(b).hexdigest()[:12])


def same(a, b, what):
    if a != b:
        i = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
        raise Fail("%s differ: %s vs %s, first difference at byte %d" % (what, short(a), short(b), i))


def port_of(addr):
    return int(addr.rsplit(":", 1)[1])


def closed_with(cap, conn, out_bytes, in_bytes, what):
    """conn's close record counts these bytes each way and no loss."""
    c = cap.closes.get(conn)
    check(c is not None, "%s: conn %d has no close record" % (what, conn))
    got = (c["bytes_out"], c["bytes_in"], c["lost_out"], c["lost_in"])
    check(got == (out_bytes, in_bytes, 0, 0), "%s: conn %d closed with %d out, %d in, %d+%d lost; "
          "want %d out, %d in, none lost" % ((what, conn) + got + (out_bytes, in_bytes)))


def no_loss(tr, cap):
    """A clean run: exit 0, no gap, no loss counted, a summary, and every connection's close
    record counting exactly the bytes captured each way."""
    check(tr.rc == 0, "tlstap exited %d: %s" % (tr.rc, tr.stderr))
    check(not cap.gaps, "gaps reported: %s" % cap.gaps[:3])
    s = cap.stats()
    check(s["lost_bytes"] == 0 and s["ring_full_records"] == 0 and s["untraced_calls"] == 0,
          "losses reported: %s" % s)
    check(re.search(r"^tlstap: \d+ events, \d+ bytes captured", tr.stderr, re.M),
          "no summary on stderr: %s" % tr.stderr)
    for conn in cap.meta:
        closed_with(cap, conn, len(cap.stream(conn, "out")), len(cap.stream(conn, "in")), "close record")


def clean_capture(tr):
    """The capture of a stopped Tracer that must have lost nothing (see no_loss)."""
    cap = Capture(tr.events())
    no_loss(tr, cap)
    return cap


def as_sent(cap, conn, sent, received, what):
    """conn's captured streams, and its close record's counts, are what its process really
    sent and received."""
    same(cap.stream(conn, "out"), sent, what + ": captured out vs bytes really sent")
    same(cap.stream(conn, "in"), received, what + ": captured in vs bytes really received")
    closed_with(cap, conn, len(sent), len(received), what)


def both_ends(cap, conn, what):
    """Both ends of a connection saw the same bytes, each direction, and count them alike."""
    peer = cap.peer_of(conn)
    check(peer is not None, "%s: the other end of conn %d was not captured (local %s remote %s)"
          % (what, conn, cap.meta[conn]["local"], cap.meta[conn]["remote"]))
    as_sent(cap, peer, cap.stream(conn, "in"), cap.stream(conn, "out"), what + " (the other end)")
    closed_with(cap, conn, len(cap.stream(conn, "out")), len(cap.stream(conn, "in")), what)
    return peer


def stream_extent(events, conn, d):
    """Bytes delivered and bytes reported lost in one stream, checked to tile it from 0."""
    parts = sorted([(e["pos"], e["len"], "data") for e in events
                    if e["type"] == "data" and e["conn"] == conn and e["dir"] == d] +
                   [(e["pos"], e["len"], "gap") for e in events
                    if e["type"] == "gap" and e["conn"] == conn and e["dir"] == d])
    at = data = lost = 0
    for pos, n, kind in parts:
        check(pos == at, "conn %d %s: %s at %d after %d (unreported hole or overlap)" % (conn, d, kind, pos, at))
        at += n
        if kind == "data":
            data += n
        else:
            lost += n
    return at, data, lost
