"""channels_harness.py - a real chanregd for the channels API tests.

Each Daemon runs the built chanregd (CHANREGD environment variable, set by
CMake) on a free loopback port (--listen 127.0.0.1:0 plus --port-file) with a
SQLite database in its own temporary directory, and with a token file naming
two API clients, so that audit entries can be checked for the actor.

With CHANREG_TEST_PG_STATE naming the state directory of
tests/support/pg_test_server.sh, every Daemon gets a fresh database on that
PostgreSQL server instead of SQLite.

Contracts are built as JSON documents in the shape of the contract format's
JSON rendering; the schema versions they declare are registered first
through the Confluent-compatible API, from the example schemas of the source
tree (schemas/<subject>/v<N>.avsc).
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

SOURCE_DIR = os.environ.get(
    "CHANREG_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")),
)

# name:secret lines of the token file; the name is the audit actor.
TOKENS = {"ci-bot": "ci-bot-secret", "alice": "alice-secret"}
TOKEN = TOKENS["ci-bot"]

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def fresh_store_url(directory):
    """A new empty store: SQLite in directory, or a new PostgreSQL database."""
    state = os.environ.get("CHANREG_TEST_PG_STATE")
    if not state:
        return "sqlite:" + os.path.join(directory, "registry.db")
    with open(os.path.join(state, "url")) as f:
        url = urllib.parse.urlsplit(f.read().strip())
    with open(os.path.join(state, "bindir")) as f:
        bindir = f.read().strip()
    fresh_store_url.n += 1
    name = "channels_%d_%d" % (os.getpid(), fresh_store_url.n)
    subprocess.run([os.path.join(bindir, "createdb"), "-h", url.hostname, "-p", str(url.port),
                    "-U", url.username, name], check=True, timeout=60)
    return "postgresql://%s@%s:%d/%s" % (url.username, url.hostname, url.port, name)


fresh_store_url.n = 0


def chanregd_path():
    path = os.environ.get("CHANREGD")
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("CHANREGD does not name the chanregd binary")
    return path


class Reply:
    """Status, headers and body of an HTTP reply; json is the parsed body."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:600])


class Daemon:
    """chanregd with a fresh store (see fresh_store_url) and files in directory."""

    def __init__(self, directory=None):
        self.binary = chanregd_path()
        self.owns_dir = directory is None
        self.dir = directory or tempfile.mkdtemp(prefix="chanreg-channels-")
        self.db = fresh_store_url(self.dir)
        self.log_path = os.path.join(self.dir, "chanregd.log")
        self.token_file = os.path.join(self.dir, "tokens")
        with open(self.token_file, "w") as f:
            for name, secret in TOKENS.items():
                f.write("%s:%s\n" % (name, secret))
        os.chmod(self.token_file, 0o600)
        self.proc = None
        self.port = None
        self.log = None

    def start(self, timeout=20.0):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
               "--db", self.db, "--token-file", self.token_file]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("chanregd exited with %d:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    # The port is bound; wait until requests are served.
                    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.port,
                                                timeout=2):
                        return self
            except (OSError, ValueError):
                pass
            time.sleep(0.02)
        self.stop()
        raise AssertionError("chanregd did not start:\n" + self.read_log())

    def stop(self, timeout=30.0):
        """SIGTERM and wait; returns the exit status (None when not running)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def cleanup(self):
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def request(self, method, path, body=None, raw=None, token=TOKEN, headers=None):
        """One request; body is sent as JSON unless raw bytes are given."""
        hdrs = {"Accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.headers, e.read())


def schema_text(subject, version):
    with open(os.path.join(SOURCE_DIR, "schemas", subject, "v%d.avsc" % version)) as f:
        return f.read()


def orders_contract(name="orders.order-created", team="orders"):
    """A valid contract (JSON form) using the example schema subject of the orders channel."""
    return {
        "apiVersion": "chanreg/v1",
        "channel": name,
        "description": "An order was placed and accepted by the order service.",
        "owner": {"team": team, "maintainer": "%s-oncall@example.com" % team},
        "peak_qps": 1200,
        "retention_hours": 168,
        "schema": {
            "subject": "orders.order-created-value",
            "compatibility": "BACKWARD_TRANSITIVE",
            "versions": [{"version": 3}, {"version": 2}, {"version": 1}],
        },
        "consumers": [
            {
                "name": "billing",
                "principal": "User:billing-svc",
                "group": "billing.order-created",
                "scenario": "Creates the invoice of each order.",
                "sla_p99_ms": 2000,
                "peak_rate_msgs": 1500,
                "degradation": "lag",
            },
            {
                "name": "analytics",
                "principal": "User:analytics-etl",
                "group": "analytics.orders.raw",
                "scenario": "Loads orders into the warehouse.",
                "sla_p99_ms": 900000,
                "peak_rate_msgs": 5000,
                "degradation": "drop",
            },
        ],
        "producers": [{"principal": "User:orders-svc"}],
    }


def consumer_body(**changes):
    body = {
        "principal": "User:fraud-svc",
        "group": "fraud.order-created",
        "scenario": "Scores each order for fraud before shipping.",
        "sla_p99_ms": 1000,
        "peak_rate_msgs": 1300,
        "degradation": "block",
    }
    body.update(changes)
    return body


class ChannelsTestCase(unittest.TestCase):
    """One daemon per test class; the orders schemas are registered once."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        for version in (1, 2, 3):
            reply = cls.d.request("POST", "/subjects/orders.order-created-value/versions",
                                  body={"schema": schema_text("orders.order-created-value",
                                                              version)})
            if reply.status != 200:
                cls.d.cleanup()
                raise AssertionError("cannot register schema v%d: %r" % (version, reply))

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.d.cleanup()
        if rc != 0:
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "AddressSanitizer" in log or "LeakSanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-6000:])

    def assertError(self, reply, status, code, fragment=None):
        self.assertEqual(reply.status, status, reply)
        self.assertIsInstance(reply.json, dict, reply)
        self.assertEqual(reply.json.get("error_code"), code, reply)
        self.assertIsInstance(reply.json.get("message"), str, reply)
        if fragment is not None:
            self.assertIn(fragment, reply.json["message"], reply)

    def put_contract(self, contract, query="", name=None, **kw):
        return self.d.request("PUT", "/v1/channels/%s%s" % (name or contract["channel"], query),
                              body=contract, **kw)

    def create(self, contract):
        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 201, reply)
        return reply.json

    def audit(self, prefix=None, after=0):
        path = "/v1/audit?after=%d&limit=1000" % after
        if prefix:
            path += "&object=" + urllib.request.quote(prefix, safe="")
        reply = self.d.request("GET", path)
        self.assertEqual(reply.status, 200, reply)
        return reply.json["entries"]


def unique(base):
    """A channel name not used by another test of the same daemon."""
    unique.n += 1
    return "%s-%d" % (base, unique.n)


unique.n = 0

__all__ = ["ChannelsTestCase", "Daemon", "RFC3339", "TOKEN", "TOKENS", "consumer_body",
           "orders_contract", "schema_text", "unique"]
