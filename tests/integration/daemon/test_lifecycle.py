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
import tempfile
import unittest

from chanregd import Chanregd, ChanregdTestCase, avro_record as record, binary, clean_env, \
    wait_for

SCHEMA = record("Life", [("a", "int")])
IN_FLIGHT = "chanreg_http_requests_in_flight"


def run(*args, env=None, cwd=None, open_writes=True):
    """chanregd with args; open_writes: without a token, as --allow-unauthenticated-writes."""
    env = dict(env or {})
    if open_writes:
        env.setdefault("CHANREG_ALLOW_UNAUTHENTICATED_WRITES", "true")
    return subprocess.run([binary("CHANREGD")] + list(args), capture_output=True, text=True,
                          env=clean_env(env), cwd=cwd, timeout=30)


def wait_in_flight(d, n):
    """Wait until the daemon counts n requests in flight besides the scrape asking,
    and until it has finished with the scrapes (their access log lines are written
    when the server is done with them: the client gets the reply a moment before)."""
    scrapes = []

    def scrape():
        scrapes.append(1)
        return d.metric(IN_FLIGHT) == n + 1

    wait_for(scrape, timeout=20, what="%d request(s) in flight in chanregd" % n)
    wait_for(lambda: d.read_log().count(" path=/metrics ") >= len(scrapes), timeout=20,
             what="the scrapes to complete")


def listener_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


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

    def test_empty_token_is_a_configuration_error(self):
        """An empty or blank token (an unset variable) never means "no auth"."""
        cases = [
            (["--token", ""], {}, "--token is empty"),
            (["--token", "  \t"], {}, "--token is empty"),
            ([], {"CHANREG_TOKEN": ""}, "environment variable CHANREG_TOKEN is empty"),
            ([], {"CHANREG_TOKEN": " "}, "environment variable CHANREG_TOKEN is empty"),
            (["--token-file", ""], {}, "--token-file is empty"),
            ([], {"CHANREG_TOKEN_FILE": ""}, "CHANREG_TOKEN_FILE is empty"),
        ]
        for args, env, fragment in cases:
            for open_writes in (False, True):
                r = run("--check-config", *args, env=env, open_writes=open_writes)
                self.assertEqual(r.returncode, 2, (args, env, r.stderr))
                self.assertIn(fragment, r.stderr, (args, env))
                self.assertIn("--allow-unauthenticated-writes", r.stderr)
                self.assertNotIn("configuration ok", r.stdout)

    def test_open_writes_need_an_explicit_flag(self):
        r = run("--check-config", open_writes=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("no token configured", r.stderr)
        self.assertIn("hint: ", r.stderr)
        self.assertIn("--allow-unauthenticated-writes", r.stderr)
        r = run("--check-config", "--allow-unauthenticated-writes", open_writes=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration ok", r.stdout)
        self.assertIn("writes open to every client", r.stdout)
        r = run("--check-config", "--token", "t0ken", open_writes=False)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("writes open", r.stdout)
        r = run("--check-config", "--token", "t0ken", "--allow-unauthenticated-writes",
                open_writes=False)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("contradicts", r.stderr)

    def test_store_deadline_flags(self):
        r = run("--help")
        for flag in ("--db-connect-timeout-ms", "--db-statement-timeout-ms",
                     "--db-acquire-timeout-ms", "--db-busy-timeout-ms",
                     "--allow-unauthenticated-writes"):
            self.assertIn(flag, r.stdout)
        r = run("--check-config", "--db-statement-timeout-ms", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--db-statement-timeout-ms", r.stderr)

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

    def test_default_listen_address(self):
        """127.0.0.1:8081 without --listen; not bound here, a test must not need a fixed port."""
        r = run("--help")
        self.assertRegex(r.stdout, r"\[CHANREG_LISTEN, default 127\.0\.0\.1:8081\]")

    def test_default_store(self):
        """Without --db: SQLite at ./chanreg.db, in the working directory."""
        tmp = tempfile.mkdtemp(prefix="chanregd-defaults-")
        self.addCleanup(shutil.rmtree, tmp, True)
        port_file = os.path.join(tmp, "port")
        proc = subprocess.Popen([binary("CHANREGD"), "--listen", "127.0.0.1:0", "--port-file",
                                 port_file, "--allow-unauthenticated-writes"], cwd=tmp,
                                env=clean_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: os.path.exists(port_file) or proc.poll() is not None,
                     what="the port file")
            self.assertIsNone(proc.poll(), "chanregd exited")
            with open(port_file) as f:
                port = int(f.read())
            with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
                s.sendall(b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
                status, body = read_reply(s)
            self.assertEqual(status, 200, body)
            self.assertEqual(json.loads(body)["store"], "sqlite")
            self.assertTrue(os.path.exists(os.path.join(tmp, "chanreg.db")))
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                _, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                _, err = proc.communicate()
        self.assertEqual(proc.returncode, 0, err)


class ProbesAndLogsTest(ChanregdTestCase):

    def setUp(self):
        self.d = self.start_daemon("--log-level", "info")

    def test_health_and_ready(self):
        r = self.d.get("/healthz", headers={"Accept": "*/*"})
        self.assertEqual((r.status, r.json), (200, {"status": "ok"}))
        self.assertEqual(r.headers["Content-Type"], "application/json")
        r = self.d.get("/readyz")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json["status"], "ready")
        self.assertIn(r.json["store"], ("sqlite", "postgres"))
        self.assertIs(r.json["unauthenticated_writes"], True)
        self.assertIn("auth is off (--allow-unauthenticated-writes)", self.d.read_log())

    def test_ready_says_writes_are_closed_with_a_token(self):
        d = self.start_daemon(token="s3cret")
        r = d.get("/readyz", token=None)
        self.assertEqual((r.status, r.json["unauthenticated_writes"]), (200, False))
        r = d.post("/subjects/closed-value/versions", {"schema": SCHEMA}, token=None)
        self.assertEqual(r.status, 401, r)

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


class LogLevelTest(ChanregdTestCase):

    def test_warn_level_hides_info_lines(self):
        d = self.start_daemon("--log-level", "warn")
        self.assertEqual(d.get("/subjects").status, 200)
        self.assertEqual(d.get("/nope").status, 404)
        self.assertEqual(d.stop(), 0)
        log = d.read_log()
        self.assertNotIn(" info ", log)
        self.assertNotIn("request method=", log)

    def test_access_log_can_be_turned_off(self):
        d = self.start_daemon("--access-log=false")
        self.assertEqual(d.get("/subjects").status, 200)
        self.assertEqual(d.stop(), 0)
        log = d.read_log()
        self.assertIn("listening", log)
        self.assertNotIn("request method=", log)


class ShutdownTest(ChanregdTestCase):

    def test_sigterm_finishes_the_request_in_flight_and_data_survives(self):
        d = self.start_daemon("--shutdown-timeout", "20")
        body = json.dumps({"schema": SCHEMA}).encode()
        probe = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
        probe.request("GET", "/readyz")
        resp = probe.getresponse()
        self.assertEqual((resp.status, json.loads(resp.read())["status"]), (200, "ready"))
        sock = start_slow_request(d.port, "/subjects/slow-value/versions", body, 10)
        self.addCleanup(sock.close)
        wait_in_flight(d, 1)
        d.send_signal(signal.SIGTERM)
        wait_for(lambda: listener_closed(d.port), what="the listener to close")
        self.assertTrue(d.running, "the daemon waits for the request in flight")
        # A connection opened before the signal is still served, but not ready.
        probe.request("GET", "/readyz")
        resp = probe.getresponse()
        self.assertEqual(resp.status, 503)
        self.assertEqual(json.loads(resp.read())["reason"], "shutting down")
        self.assertEqual(resp.getheader("Connection"), "close")
        probe.close()
        sock.sendall(body[10:])
        status, reply = read_reply(sock)
        self.assertEqual(status, 200, reply)
        sid = json.loads(reply)["id"]
        self.assertEqual(d.wait(15), 0)
        self.assertIn("shutting down signal=15 in_flight=1", d.read_log())

        # A new daemon on the same database sees the schema.
        d2 = self.start_daemon(db=d.db, workdir=d.dir, name="second")
        self.assertEqual(d2.get("/subjects/slow-value/versions").json, [1])
        self.assertEqual(json.loads(d2.get("/schemas/ids/%d" % sid).json["schema"]),
                         json.loads(SCHEMA))

    def test_shutdown_deadline_bounds_the_wait(self):
        d = self.start_daemon("--shutdown-timeout", "1")
        body = json.dumps({"schema": SCHEMA}).encode()
        sock = start_slow_request(d.port, "/subjects/stuck-value/versions", body, 5)
        self.addCleanup(sock.close)
        wait_in_flight(d, 1)
        d.send_signal(signal.SIGTERM)
        # The request never completes: only the deadline ends the wait.
        self.assertEqual(d.wait(15), 0)
        self.assertIn("shutdown deadline passed in_flight=1", d.read_log())
        d2 = self.start_daemon(db=d.db, workdir=d.dir, name="second")
        self.assertEqual(d2.get("/subjects/stuck-value/versions").status, 404,
                         "the unfinished request wrote nothing")

    def test_second_signal_stops_waiting(self):
        d = self.start_daemon("--shutdown-timeout", "120")
        body = json.dumps({"schema": SCHEMA}).encode()
        sock = start_slow_request(d.port, "/subjects/twice-value/versions", body, 5)
        self.addCleanup(sock.close)
        wait_in_flight(d, 1)
        d.send_signal(signal.SIGTERM)
        wait_for(lambda: listener_closed(d.port), what="the listener to close")
        self.assertTrue(d.running, "still waiting for the request")
        d.send_signal(signal.SIGINT)
        # Without the second signal the wait would last 120 s, longer than this one.
        self.assertEqual(d.wait(15), 0)
        self.assertIn("second signal", d.read_log())

    def test_many_restarts_keep_ids_stable(self):
        d = self.start_daemon()
        ids = [d.post("/subjects/r%d/versions" % i,
                      {"schema": record("R%d" % i, [("a", "int")])}).json["id"]
               for i in range(5)]
        self.assertEqual(d.stop(), 0)
        d2 = self.start_daemon(db=d.db, workdir=d.dir, name="second")
        for i, sid in enumerate(ids):
            r = d2.post("/subjects/r%d/versions" % i,
                        {"schema": record("R%d" % i, [("a", "int")])})
            self.assertEqual(r.json["id"], sid)
            self.assertEqual(d2.get("/subjects/r%d/versions" % i).json, [1])


if __name__ == "__main__":
    unittest.main(verbosity=2)
