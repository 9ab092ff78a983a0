"""netload.py - many loopback connections to chanregd, for the load tests.

KeepAliveClients opens N keep-alive connections and, one round at a time,
sends one request on every connection and reads every reply, with a bounded
wait: it reports how many connections got a complete reply.  SlowClients
opens connections that hold a slot without finishing a request: "head"
sends a request line and then one header byte now and then, "body" sends a
complete head announcing a body and then one body byte now and then,
"idle" sends nothing.  drip() sends the next byte on every slow connection;
reopen() replaces the connections the server closed (and counts them).

Both use one thread (selectors, non-blocking sockets), so thousands of
connections cost one file descriptor each: raise_nofile() lifts the test's
own soft RLIMIT_NOFILE to the hard limit first.
"""

import errno
import resource
import selectors
import socket
import time


def raise_nofile(needed):
    """Raise the soft RLIMIT_NOFILE to the hard limit; AssertionError when the
    hard limit is below needed (the test cannot run as asked)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise AssertionError("RLIMIT_NOFILE hard limit %d is below the %d descriptors this "
                             "test needs" % (hard, needed))
    if soft != resource.RLIM_INFINITY and soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def connect_many(port, n, timeout=30.0):
    """n connected non-blocking sockets to 127.0.0.1:port (bounded in time)."""
    socks = []
    deadline = time.monotonic() + timeout
    try:
        while len(socks) < n:
            if time.monotonic() > deadline:
                raise AssertionError("connected %d of %d sockets in %.0fs"
                                     % (len(socks), n, timeout))
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(timeout)
            try:
                s.connect(("127.0.0.1", port))
            except OSError:
                s.close()
                raise
            s.setblocking(False)
            socks.append(s)
    except BaseException:
        for s in socks:
            s.close()
        raise
    return socks


def _reply_complete(buf):
    """Length of the first complete HTTP reply in buf (with Content-Length), or 0."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return 0
    length = 0
    for line in buf[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    total = end + 4 + length
    return total if len(buf) >= total else 0


class KeepAliveClients:
    """N keep-alive connections that each send one request per round."""

    def __init__(self, port, n, path="/healthz", connect_timeout=30.0):
        self.port = port
        self.request = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" % path).encode()
        self.socks = connect_many(port, n, connect_timeout)
        self.statuses = {}

    def close(self):
        for s in self.socks:
            s.close()
        self.socks = []

    def round(self, timeout=10.0):
        """Send one request on every connection and wait (at most timeout
        seconds) for the replies.  Returns how many connections got a complete
        reply; self.statuses counts the status lines."""
        sel = selectors.DefaultSelector()
        pending = {}
        answered = 0
        for s in self.socks:
            try:
                s.sendall(self.request)
            except OSError:
                continue
            pending[s.fileno()] = (s, bytearray())
            sel.register(s, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while pending and time.monotonic() < deadline:
                for key, _ in sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    s, buf = pending[key.fd]
                    try:
                        data = s.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    if not data:
                        sel.unregister(s)
                        del pending[key.fd]
                        continue
                    buf += data
                    n = _reply_complete(buf)
                    if n:
                        status = bytes(buf[:buf.find(b"\r\n")])
                        self.statuses[status] = self.statuses.get(status, 0) + 1
                        answered += 1
                        sel.unregister(s)
                        del pending[key.fd]
        finally:
            sel.close()
        return answered


class SlowClients:
    """Connections that hold a slot without finishing their request.  They
    connect without blocking (beyond the listen backlog the kernel keeps a
    connection waiting), and reopen() replaces those the server closed, so
    that n connections keep pressing."""

    KINDS = ("head", "body", "idle")
    HEAD = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
    BODY = (b"POST /subjects/slow-value/versions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")

    def __init__(self, port, n, kinds=KINDS, source="127.0.0.1"):
        self.port = port
        self.source = source
        self.conns = []  # [socket, kind, sent the opening]
        self.closed = 0  # connections found closed by the server
        for i in range(n):
            self.conns.append(self._open(kinds[i % len(kinds)]))

    def _open(self, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((self.source, 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        return [s, kind, False]

    def close(self):
        for c in self.conns:
            c[0].close()
        self.conns = []

    def _alive(self, s):
        try:
            data = s.recv(65536)
        except BlockingIOError:
            return True
        except OSError as e:
            if e.errno in (errno.ENOTCONN,):
                return True  # still connecting
            return False
        return False if not data else True

    def drip(self):
        """Send the opening (once connected) or one more byte on every "head"
        and "body" connection."""
        for c in self.conns:
            s, kind = c[0], c[1]
            if kind == "idle":
                continue
            try:
                if not c[2]:
                    s.send(self.HEAD if kind == "head" else self.BODY)
                    c[2] = True
                else:
                    s.send(b"x" if kind == "head" else b" ")
            except BlockingIOError:
                pass
            except OSError as e:
                if e.errno not in (errno.ENOTCONN, errno.EPIPE, errno.ECONNRESET):
                    raise

    def reopen(self):
        """Replace the connections the server has closed; returns how many."""
        n = 0
        for c in self.conns:
            if not self._alive(c[0]):
                c[0].close()
                c[:] = self._open(c[1])
                n += 1
        self.closed += n
        return n
