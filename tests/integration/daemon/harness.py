"""harness.py - start a real chanregd for integration tests and talk to it.

The daemon binary comes from the CHANREGD environment variable (set by
CMake).  Each Daemon gets its own temporary directory with a SQLite database
(or the store URL of test_db_url(), e.g. a PostgreSQL database started by
tests/support/pg_test_server.sh), listens on a free loopback port (port 0
plus --port-file) and logs to a file that is printed when a test fails.
"""

import base64
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

SR_JSON = "application/vnd.schemaregistry.v1+json"


def chanregd_path():
    path = os.environ.get("CHANREGD")
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("CHANREGD does not name the chanregd binary")
    return path


def test_db_url():
    """The store URL to test against: CHANREG_TEST_DB, or the contents of the
    file named by CHANREG_TEST_DB_FILE (written by pg_test_server.sh); None
    means a fresh SQLite database per daemon."""
    url = os.environ.get("CHANREG_TEST_DB")
    path = os.environ.get("CHANREG_TEST_DB_FILE")
    if not url and path:
        with open(path) as f:
            url = f.read().strip()
    return url or None


class Reply:
    """An HTTP reply: status, headers, raw body and the body parsed as JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:300])


class Daemon:
    """A chanregd process on a free port with its own state directory."""

    def __init__(self, *args, env=None, db=None, workdir=None):
        self.binary = chanregd_path()
        self.owns_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="chanregd-test-")
        self.db = db or test_db_url() or "sqlite:" + os.path.join(self.dir, "registry.db")
        self.args = list(args)
        self.env = env or {}
        self.proc = None
        self.port = None
        self.log_path = os.path.join(self.dir, "chanregd.log")

    def start(self, timeout=15.0):
        port_file = os.path.join(self.dir, "port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
        env.update(self.env)
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--port-file", port_file,
               "--db", self.db] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT,
                                     env=env, cwd=self.dir)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("chanregd exited with %d:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    return self
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        raise AssertionError("chanregd did not start:\n" + self.read_log())

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signal the daemon and wait; returns its exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
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

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, headers=None, token=None, raw=None):
        """Send one request; body is JSON-encoded unless raw bytes are given."""
        hdrs = {"Accept": SR_JSON}
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = SR_JSON
        if token is not None:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.headers, resp.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.headers, e.read())

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


def basic_auth(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


def record(name, fields, namespace="com.example"):
    """An Avro record schema as JSON text; fields are (name, type[, default]) tuples."""
    out = []
    for f in fields:
        field = {"name": f[0], "type": f[1]}
        if len(f) > 2:
            field.update(f[2])
        out.append(field)
    return json.dumps({"type": "record", "name": name, "namespace": namespace, "fields": out})


class DaemonTestCase(unittest.TestCase):
    """One daemon for the whole class; its log is shown when a test fails."""

    daemon_args = ()
    daemon_env = None

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon(*cls.daemon_args, env=cls.daemon_env).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.d.cleanup()
        if rc != 0:
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "Sanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-4000:])

    def assertError(self, reply, status, code, fragment=None):
        """reply is a JSON error with this HTTP status, error_code and message fragment."""
        self.assertEqual(reply.status, status, reply)
        self.assertIsInstance(reply.json, dict, reply)
        self.assertEqual(reply.json.get("error_code"), code, reply)
        self.assertIsInstance(reply.json.get("message"), str, reply)
        if fragment is not None:
            self.assertIn(fragment, reply.json["message"])
