"""test_lifecycle.py - chanregd as a process: command line, probes, logs,
graceful shutdown and durability across restarts.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Daemon, chanregd_path, record  # noqa: E402

SCHEMA = record("Life", [("a", "int")])


def run(*args, env=None, cwd=None):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    full_env.update(env or {})
    return subprocess.run([chanregd_path()] + list(args), capture_output=True, text=True,
                          env=full_env, cwd=cwd, timeout=30)


def read_reply(sock):
    """Read one HTTP/1.1 reply with Content-Length from sock: (status, body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before the reply: %r" % data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, rest[:length]


def start_slow_request(port, path, body, sent):
    """Send the headers and the first `sent` bytes of body, keep the socket open."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: %d\r\n\r\n" % (path, len(body))).encode()
    sock.sendall(head + body[:sent])
    return sock


class CommandLineTest(unittest.TestCase):

    def test_help_lists_flags_and_environment(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for word in ("--listen", "CHANREG_LISTEN", "--db", "CHANREG_DB", "--token",
                     "--token-file", "--auth-reads", "--max-body", "--shutdown-timeout",
                     "--log-level", "--port-file", "--check-config", "SIGTERM"):
            self.assertIn(word, r.stdout)

    def test_version(self):
        r = run("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^chanregd \d+\.\d+\.\d+\n$")

    def test_check_config(self):
        r = run("--check-config", "--listen", "[::1]:9000", "--max-body", "2M")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration ok", r.stdout)

    def test_bad_configuration_is_a_usage_error(self):
        cases = [
            (["--no-such-flag"], "unknown option"),
            (["--listen"], "needs a value"),
            (["--listen", "nohostport"], "--listen"),
            (["--listen", "127.0.0.1:70000"], "bad port"),
            (["--max-body", "lots"], "--max-body"),
            (["--max-body", "1"], "--max-body"),
            (["--threads", "0"], "--threads"),
            (["--log-level", "chatty"], "--log-level"),
            (["--default-compatibility", "SOMETIMES"], "--default-compatibility"),
            (["--auth-reads"], "--auth-reads needs a token"),
            (["--auth-reads=maybe"], "--auth-reads"),
            (["stray"], "unexpected argument"),
        ]
        for args, fragment in cases:
            r = run("--check-config", *args)
            self.assertEqual(r.returncode, 2, (args, r.stderr))
            self.assertIn(fragment, r.stderr, args)
            self.assertIn("--help", r.stderr)

    def test_bad_environment_names_the_variable(self):
        r = run("--check-config", env={"CHANREG_SHUTDOWN_TIMEOUT": "soon"})
        self.assertEqual(r.returncode, 2)
        self.assertIn("CHANREG_SHUTDOWN_TIMEOUT", r.stderr)

    def test_missing_token_file(self):
        r = run("--check-config", "--token-file", "/nonexistent/tokens")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("--token-file", r.stderr)

    def test_busy_port_is_a_runtime_error(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen(1)
            port = s.getsockname()[1]
            tmp = tempfile.mkdtemp(prefix="chanregd-busy-")
            try:
                r = run("--listen", "127.0.0.1:%d" % port, "--db", "sqlite:" + tmp + "/r.db")
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot listen", r.stderr)

    def test_unusable_store_is_a_runtime_error(self):
        r = run("--listen", "127.0.0.1:0", "--db", "sqlite:/nonexistent/dir/r.db")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cannot open the store", r.stderr)

    def test_defaults_without_flags(self):
        """No flags: SQLite at ./chanreg.db and 127.0.0.1:8081."""
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", 8081))
            except OSError:
                self.skipTest("port 8081 is in use")
        tmp = tempfile.mkdtemp(prefix="chanregd-defaults-")
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
        proc = subprocess.Popen([chanregd_path()], cwd=tmp, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    with socket.create_connection(("127.0.0.1", 8081), timeout=1) as s:
                        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                        status, body = read_reply(s)
                    break
                except ConnectionRefusedError:
                    if proc.poll() is not None:
                        self.skipTest("port 8081 was taken meanwhile")
                    time.sleep(0.05)
            else:
                self.fail("chanregd did not listen on 8081")
            self.assertEqual(status, 200)
            self.assertEqual(json.loads(body), {"status": "ok"})
            self.assertTrue(os.path.exists(os.path.join(tmp, "chanreg.db")))
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = proc.communicate(timeout=30)
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(proc.returncode, 0, err)


class ProbesAndLogsTest(unittest.TestCase):

    def setUp(self):
        self.d = Daemon("--log-level", "info").start()

    def tearDown(self):
        rc = self.d.stop()
        log = self.d.read_log()
        self.d.cleanup()
        self.assertIn(rc, (0, None), log[-3000:])
        self.assertNotIn("Sanitizer", log)

    def test_health_and_ready(self):
        r = self.d.get("/healthz", headers={"Accept": "*/*"})
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        self.assertEqual(r.headers["Content-Type"], "application/json")
        r = self.d.get("/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "ready")
        self.assertIn(r.json["store"], ("sqlite", "postgres"))

    def test_access_log_line_per_request(self):
        r = self.d.get("/subjects/nope/versions", headers={"X-Request-Id": "abc-123"})
        self.assertEqual(r.status, 404)
        self.assertEqual(self.d.stop(), 0)
        lines = [l for l in self.d.read_log().splitlines() if "request_id=abc-123" in l]
        self.assertEqual(len(lines), 1, self.d.read_log())
        self.assertRegex(lines[0], r"^\d{4}-\d\d-\d\dT[\d:.]+Z info http request method=GET "
                                   r"path=/subjects/nope/versions status=404 "
                                   r"duration_ms=\d+\.\d+ request_id=abc-123 actor=anonymous$")
        self.assertIn("shutting down signal=15", self.d.read_log())

    def test_sigint_also_stops(self):
        self.assertEqual(self.d.stop(signal.SIGINT), 0)
        self.assertIn("signal=2", self.d.read_log())


class LogLevelTest(unittest.TestCase):

    def test_warn_level_hides_info_lines(self):
        d = Daemon("--log-level", "warn").start()
        try:
            self.assertEqual(d.get("/subjects").status, 200)
            self.assertEqual(d.get("/nope").status, 404)
            self.assertEqual(d.stop(), 0)
            log = d.read_log()
            self.assertNotIn(" info ", log)
            self.assertNotIn("request method=", log)
        finally:
            d.cleanup()

    def test_access_log_can_be_turned_off(self):
        d = Daemon("--access-log=false").start()
        try:
            self.assertEqual(d.get("/subjects").status, 200)
            self.assertEqual(d.stop(), 0)
            log = d.read_log()
            self.assertIn("listening", log)
            self.assertNotIn("request method=", log)
        finally:
            d.cleanup()


class ShutdownTest(unittest.TestCase):

    def test_sigterm_finishes_the_request_in_flight_and_data_survives(self):
        d = Daemon("--shutdown-timeout", "20").start()
        try:
            body = json.dumps({"schema": SCHEMA}).encode()
            probe = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
            probe.request("GET", "/readyz")
            resp = probe.getresponse()
            self.assertEqual((resp.status, json.loads(resp.read())["status"]), (200, "ready"))
            sock = start_slow_request(d.port, "/subjects/slow-value/versions", body, 10)
            time.sleep(0.5)
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.7)
            self.assertIsNone(d.proc.poll(), "the daemon waits for the request in flight")
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", d.port), timeout=2).close()
            # A connection opened before the signal is still served, but not ready.
            probe.request("GET", "/readyz")
            resp = probe.getresponse()
            self.assertEqual(resp.status, 503)
            self.assertEqual(json.loads(resp.read())["reason"], "shutting down")
            self.assertEqual(resp.getheader("Connection"), "close")
            probe.close()
            sock.sendall(body[10:])
            status, reply = read_reply(sock)
            sock.close()
            self.assertEqual(status, 200, reply)
            sid = json.loads(reply)["id"]
            self.assertEqual(d.proc.wait(15), 0)
            self.assertIn("shutting down signal=15 in_flight=1", d.read_log())

            # A new daemon on the same database sees the schema.
            d2 = Daemon(db=d.db, workdir=d.dir).start()
            try:
                self.assertEqual(d2.get("/subjects/slow-value/versions").json, [1])
                self.assertEqual(json.loads(d2.get("/schemas/ids/%d" % sid).json["schema"]),
                                 json.loads(SCHEMA))
            finally:
                self.assertEqual(d2.stop(), 0)
        finally:
            d.cleanup()

    def test_shutdown_deadline_bounds_the_wait(self):
        d = Daemon("--shutdown-timeout", "1").start()
        try:
            body = json.dumps({"schema": SCHEMA}).encode()
            sock = start_slow_request(d.port, "/subjects/stuck-value/versions", body, 5)
            time.sleep(0.3)
            started = time.time()
            d.proc.send_signal(signal.SIGTERM)
            self.assertEqual(d.proc.wait(15), 0)
            self.assertLess(time.time() - started, 10)
            self.assertIn("shutdown deadline passed in_flight=1", d.read_log())
            sock.close()
            d2 = Daemon(db=d.db, workdir=d.dir).start()
            try:
                self.assertEqual(d2.get("/subjects/stuck-value/versions").status, 404,
                                 "the unfinished request wrote nothing")
            finally:
                self.assertEqual(d2.stop(), 0)
        finally:
            d.cleanup()

    def test_second_signal_stops_waiting(self):
        d = Daemon("--shutdown-timeout", "120").start()
        try:
            body = json.dumps({"schema": SCHEMA}).encode()
            sock = start_slow_request(d.port, "/subjects/twice-value/versions", body, 5)
            time.sleep(0.3)
            d.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            self.assertIsNone(d.proc.poll(), "still waiting for the request")
            started = time.time()
            d.proc.send_signal(signal.SIGINT)
            self.assertEqual(d.proc.wait(15), 0)
            self.assertLess(time.time() - started, 10)
            self.assertIn("second signal", d.read_log())
            sock.close()
        finally:
            d.cleanup()

    def test_many_restarts_keep_ids_stable(self):
        d = Daemon().start()
        try:
            ids = [d.post("/subjects/r%d/versions" % i,
                          {"schema": record("R%d" % i, [("a", "int")])}).json["id"]
                   for i in range(5)]
            self.assertEqual(d.stop(), 0)
            d2 = Daemon(db=d.db, workdir=d.dir).start()
            try:
                for i, sid in enumerate(ids):
                    r = d2.post("/subjects/r%d/versions" % i,
                                {"schema": record("R%d" % i, [("a", "int")])})
                    self.assertEqual(r.json["id"], sid)
                    self.assertEqual(d2.get("/subjects/r%d/versions" % i).json, [1])
            finally:
                self.assertEqual(d2.stop(), 0)
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
