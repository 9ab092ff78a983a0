"""test_load.py - chanregd under many and slow clients, and binary garbage.

Every daemon runs on SQLite with free loopback ports.  The clients come from
netload.py (one thread, selectors); the test raises its own RLIMIT_NOFILE
first.  No timing is asserted: each request has a client timeout, and each
loop is bounded.
"""

import os
import socket
import time
import unittest

from chanregd import Chanregd, ChanregdTestCase, free_port, wait_for
from netload import KeepAliveClients, SlowClients, raise_nofile

CLIENT_TIMEOUT = 10.0
PRLIMIT = os.environ.get("PRLIMIT", "prlimit")


def read_reply(sock, timeout=CLIENT_TIMEOUT):
    """Everything the server sends until it closes (bounded by timeout)."""
    sock.settimeout(timeout)
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def http_get(port, path, timeout=CLIENT_TIMEOUT):
    """Status of one GET on a fresh connection (Connection: close)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                   % path).encode())
        data, _ = read_reply(s, timeout)
    line = data.split(b"\r\n", 1)[0]
    return int(line.split()[1]) if line.startswith(b"HTTP/1.1 ") else None


class ManyClientsTest(ChanregdTestCase):
    """More keep-alive clients than FD_SETSIZE, and exactly the default limit."""

    def rounds(self, d, n, rounds=5):
        clients = KeepAliveClients(d.port, n)
        try:
            for r in range(rounds):
                answered = clients.round(timeout=CLIENT_TIMEOUT * 3)
                self.assertEqual(answered, n, "round %d: %d of %d connections answered (%r)"
                                 % (r, answered, n, clients.statuses))
            self.assertEqual(list(clients.statuses), [b"HTTP/1.1 200 OK"])
        finally:
            clients.close()

    def test_more_than_1024_keepalive_clients(self):
        raise_nofile(1300 + 64)
        d = self.start_daemon("--connection-limit", "2048", "--per-ip-connection-limit", "0",
                              "--access-log=false")
        self.rounds(d, 1300)
        self.assertEqual(d.get("/healthz").status, 200)

    def test_default_limit_full_of_keepalive_clients(self):
        # 1,024 clients at the default limit of 1,024: every worker thread holds
        # its whole share (256), the case that froze the daemon.  The overload
        # timeout is long here: idle time between two rounds must not count.
        raise_nofile(1024 + 64)
        d = self.start_daemon("--per-ip-connection-limit", "0", "--overload-timeout", "600",
                              "--access-log=false")
        self.rounds(d, 1024, rounds=8)

    def test_connection_limit_fits_the_open_files_limit(self):
        # The daemon raises its soft limit to the hard one; when even that is
        # too low it lowers the connection limit to fit, and says so.
        d = self.start_daemon("--access-log=false")
        self.assertIn("open files limit nofile=", d.read_log())
        low = Chanregd("--connection-limit", "60000", "--access-log=false")
        low.command = lambda: [PRLIMIT, "--nofile=256:512", "--"] + Chanregd.command(low)
        self.addCleanup(self.check_daemon, low)
        low.start()
        log = low.read_log()
        self.assertIn("connection limit lowered to fit the open files limit", log)
        self.assertIn("requested=60000 nofile=512", log)
        self.assertEqual(low.get("/healthz").status, 200)


class SlowClientsTest(ChanregdTestCase):
    """2,000 slow connections; probes and reads keep answering."""

    def test_probes_and_reads_answer_while_slow_clients_press(self):
        raise_nofile(2000 + 256)
        health_port = free_port()
        d = self.start_daemon("--per-ip-connection-limit", "0", "--access-log=false",
                              "--health-listen", "127.0.0.1:%d" % health_port)
        self.assertIn("health listener host=127.0.0.1 port=%d" % health_port, d.read_log())
        self.assertEqual(d.post("/subjects/kept-value/versions",
                                {"schema": '"string"'}).status, 200)
        slow = SlowClients(d.port, 2000)
        try:
            failures = []
            for second in range(15):
                slow.drip()
                slow.reopen()
                checks = (("health /healthz", health_port, "/healthz"),
                          ("health /readyz", health_port, "/readyz"),
                          ("main /healthz", d.port, "/healthz"),
                          ("main read", d.port, "/subjects/kept-value/versions/latest"))
                for name, port, path in checks:
                    try:
                        status = http_get(port, path)
                    except OSError as e:
                        status = repr(e)
                    if status != 200:
                        failures.append((second, name, status))
                pace = time.monotonic() + 1.0  # pacing, not synchronisation: a check a second
                while time.monotonic() < pace:
                    time.sleep(0.1)
            self.assertEqual(failures, [])
            self.assertGreater(slow.closed, 0, "the daemon closed no slow connection")
        finally:
            slow.close()
        d.wait_log("closed slow connections")
        self.assertEqual(d.get("/healthz").status, 200)

    def test_health_listener_serves_only_the_probes(self):
        health_port = free_port()
        d = self.start_daemon("--health-listen", "127.0.0.1:%d" % health_port)
        self.assertEqual(http_get(health_port, "/healthz"), 200)
        self.assertEqual(http_get(health_port, "/readyz"), 200)
        self.assertEqual(http_get(health_port, "/subjects"), 404)
        self.assertEqual(http_get(health_port, "/metrics"), 404)

    def test_health_listen_needs_an_address(self):
        d = Chanregd("--health-listen", "nonsense")
        with self.assertRaises(AssertionError) as ctx:
            d.start(timeout=20)
        self.assertIn("--health-listen: expected HOST:PORT", str(ctx.exception))
        d.cleanup()

    def slow_one(self, d, kind):
        c = SlowClients(d.port, 1, kinds=(kind,))
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                c.drip()
                if c.reopen():
                    return True
                time.sleep(0.25)
            return False
        finally:
            c.close()

    def test_head_and_body_deadlines_close_slow_requests(self):
        # A byte every quarter second keeps the idle timeout (60 s) away; the
        # deadlines of the head and of the body are not reset by it.
        d = self.start_daemon("--request-head-timeout", "2", "--request-body-timeout", "2",
                              "--connection-timeout", "60")
        self.assertTrue(self.slow_one(d, "head"), "a slow head was never closed")
        self.assertTrue(self.slow_one(d, "body"), "a slow body was never closed")
        d.wait_log("closed slow connections")
        self.assertEqual(d.get("/healthz").status, 200)

    def test_per_ip_connection_limit(self):
        d = self.start_daemon("--per-ip-connection-limit", "4")
        held = SlowClients(d.port, 4, kinds=("body",), source="127.0.0.2")
        try:
            wait_for(lambda: (held.drip(), d.metric("chanreg_http_requests_in_flight"))[1] >= 4,
                     what="4 requests in flight from 127.0.0.2")
            with socket.socket() as s:
                s.bind(("127.0.0.2", 0))
                s.settimeout(CLIENT_TIMEOUT)
                s.connect(("127.0.0.1", d.port))
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                data, closed = read_reply(s)
            self.assertEqual((data, closed), (b"", True))
            # Other addresses are still served.
            self.assertEqual(d.get("/healthz").status, 200)
        finally:
            held.close()


class GarbageTest(ChanregdTestCase):
    """A request line of binary garbage gets 400 and a close."""

    daemon_args = ("--request-head-timeout", "600", "--connection-timeout", "600")

    def test_binary_garbage_gets_400_and_close(self):
        payloads = [
            b"\x00\x01\x02\xff\xfe\r\n",
            b"\xff" * 40 + b"\n\n",
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)),
            bytes(range(256)),
            b"\x80\x81\x82",
        ]
        for payload in payloads:
            with self.subTest(payload=payload[:12]):
                with socket.create_connection(("127.0.0.1", self.d.port),
                                              timeout=CLIENT_TIMEOUT) as s:
                    s.sendall(payload)
                    data, closed = read_reply(s)
                self.assertTrue(data.startswith(b"HTTP/1.1 400 "), data[:200])
                self.assertIn(b'"error_code":40000', data)
                self.assertTrue(closed, "the connection stayed open")
        self.assertEqual(self.d.get("/healthz").status, 200)

    def test_requests_split_across_packets_are_served(self):
        with socket.create_connection(("127.0.0.1", self.d.port),
                                      timeout=CLIENT_TIMEOUT) as s:
            s.sendall(b"GE")
            time.sleep(0.1)  # not synchronisation: the split is the point of the test
            s.sendall(b"T /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data, closed = read_reply(s)
        self.assertTrue(data.startswith(b"HTTP/1.1 200 "), data[:200])


if __name__ == "__main__":
    unittest.main(verbosity=2)
