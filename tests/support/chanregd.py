"""chanregd.py - the one harness that starts and stops chanregd for the Python tests.

A Chanregd is the built daemon (CHANREGD environment variable, set by CMake)
on a free loopback port (--listen 127.0.0.1:0 plus --port-file), with its
own temporary directory for the store, the port file and the log.

    d = Chanregd("--log-level", "info", token="secret").start()
    reply = d.post("/subjects/s-value/versions", {"schema": "\"string\""})
    d.stop()            # SIGTERM, bounded wait, SIGKILL when it does not exit
    d.cleanup()         # stop and remove the directory

start() returns once GET /readyz answers 200, polling with a bounded
deadline; when the daemon exits or the deadline passes it raises
AssertionError with the daemon's log.  stop() sends SIGTERM (or the signal
given) and waits a bounded time, then kills the process; check_exit() gives
the problems found after a stop (an exit status other than 0, a kill, a
sanitizer report) with the end of the log, so that tests report them.

The store is, in this order: the db argument (any store URL); a fresh
database on the test PostgreSQL server when CHANREG_TEST_PG_STATE names the
state directory of tests/support/pg_test_server.sh (and pg is not False);
else a SQLite file in the daemon's directory.

HTTPS: with --tls-cert FILE among the arguments the daemon is reached over
https:// and requests trust FILE (a self-signed test certificate).

Authentication: token="s" passes --token s; tokens={"name": "secret", ...}
writes a token file (--token-file).  Requests send the first of them as a
Bearer token unless told otherwise (token=None sends none).  Without any
token (none here, in the arguments or in env) the daemon runs with
--allow-unauthenticated-writes.

CHANREG_* variables of the test's environment are not passed on to the
daemon (they would configure it); env= adds variables.
"""

import calendar
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("CHANREG_SOURCE_DIR", os.path.abspath(os.path.join(HERE, "..", "..")))
PG_TEST_SERVER = os.path.join(HERE, "pg_test_server.sh")
PG_STATE_ENV = "CHANREG_TEST_PG_STATE"
SR_JSON = "application/vnd.schemaregistry.v1+json"
SANITIZER_MARKS = ("runtime error", "AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                   "UndefinedBehaviorSanitizer")

_DEFAULT = object()


def binary(var):
    """The built program named by the environment variable var (set by CMake)."""
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        raise AssertionError("%s does not name a built binary (got %r); run the test "
                             "through ctest" % (var, path))
    return path


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Poll predicate until it returns a true value, which is returned.

    Bounded in time (timeout seconds) and so in count; raises AssertionError
    with the last value when the deadline passes.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s (last: %r)"
                                 % (timeout, what, last))
        time.sleep(interval)


def wait_past(timestamp, timeout=5.0):
    """Wait until the wall clock is past the second of an RFC 3339 UTC timestamp
    (times are stored to the second: a later write then gets a later time)."""
    t = calendar.timegm(time.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ"))
    # time(2), which the daemon reads, follows the coarse real-time clock:
    # it may lag time.time() by a clock tick (a few ms), so wait a little more.
    wait_for(lambda: time.time() >= t + 1.05, timeout=timeout, interval=0.02,
             what="the clock to pass %s" % timestamp)


def free_port():
    """A loopback TCP port that nothing listened on a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(extra=None):
    """The test's environment without CHANREG_* variables, plus extra."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    env.update(extra or {})
    return env


def write_token_file(directory, identities, tokens):
    """Write the token file of identities ({name: "role[,role...]"}) in
    directory: v2 lines with the SHA-256 of each name's token (tokens, {name:
    token}), never the token.  Returns its path (mode 0600)."""
    path = os.path.join(directory, "tokens")
    with open(path, "w") as f:
        for name, roles in identities.items():
            digest = hashlib.sha256(tokens[name].encode()).hexdigest()
            f.write("%s sha256=%s roles=%s\n" % (name, digest, roles))
    os.chmod(path, 0o600)
    return path


def pg_state():
    """The state directory of the test PostgreSQL server, or None (SQLite only)."""
    return os.environ.get(PG_STATE_ENV) or None


_pg_databases = [0]


def fresh_pg_url(prefix="chanreg", state=None):
    """A new empty database on the test PostgreSQL server; its URL."""
    state = state or pg_state()
    if not state:
        raise AssertionError("%s is not set" % PG_STATE_ENV)
    with open(os.path.join(state, "url")) as f:
        url = urllib.parse.urlsplit(f.read().strip())
    with open(os.path.join(state, "bindir")) as f:
        bindir = f.read().strip()
    _pg_databases[0] += 1
    name = "%s_%d_%d" % (re.sub(r"[^a-z0-9_]", "_", prefix.lower()), os.getpid(),
                         _pg_databases[0])
    subprocess.run([os.path.join(bindir, "createdb"), "-h", url.hostname, "-p", str(url.port),
                    "-U", url.username, name], check=True, timeout=60)
    return "postgresql://%s@%s:%d/%s" % (url.username, url.hostname, url.port, name)


class Reply:
    """An HTTP reply: status, headers, raw body and the body parsed as JSON (or None)."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:800])


class Chanregd:
    """One chanregd process; see the module comment."""

    def __init__(self, *args, db=None, pg=None, workdir=None, name="chanregd", token=None,
                 tokens=None, env=None, accept="application/json"):
        self.binary = binary("CHANREGD")
        self.args = list(args)
        self.name = name
        self.owns_dir = workdir is None
        self.dir = workdir or tempfile.mkdtemp(prefix="chanregd-test-")
        if db is None:
            db = fresh_pg_url(name) if pg is not False and pg_state() else \
                "sqlite:" + os.path.join(self.dir, name + ".db")
        self.db = db
        self.env = dict(env or {})
        self.accept = accept
        self.log_path = os.path.join(self.dir, name + ".log")
        self.port_file = os.path.join(self.dir, name + ".port")
        self.token = token
        self.token_file = None
        if tokens:
            self.token_file = os.path.join(self.dir, name + ".tokens")
            with open(self.token_file, "w") as f:
                for user, secret in tokens.items():
                    f.write("%s:%s\n" % (user, secret))
            os.chmod(self.token_file, 0o600)
            if token is None:
                self.token = next(iter(tokens.values()))
        # With --tls-cert the daemon serves HTTPS; requests trust that
        # (self-signed) certificate.
        self.cafile = None
        if "--tls-cert" in self.args:
            self.cafile = self.args[self.args.index("--tls-cert") + 1]
        self.proc = None
        self.port = None
        self.returncode = None
        self.killed = False
        self._log = None

    # -- process ------------------------------------------------------------

    def command(self):
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
               "--db", self.db]
        if self.token_file:
            cmd += ["--token-file", self.token_file]
        elif self.token:
            cmd += ["--token", self.token]
        elif self.open_writes():
            cmd += ["--allow-unauthenticated-writes"]
        return cmd + self.args

    def open_writes(self):
        """True when nothing configures a token: the daemon then needs
        --allow-unauthenticated-writes, which the harness adds."""
        given = " ".join(self.args)
        return not (self.token_file or self.token or "--token" in given or
                    "--allow-unauthenticated-writes" in given or
                    "CHANREG_TOKEN" in self.env or "CHANREG_TOKEN_FILE" in self.env or
                    "CHANREG_ALLOW_UNAUTHENTICATED_WRITES" in self.env)

    def start(self, timeout=30.0):
        """Start and wait until GET /readyz answers 200; returns self."""
        assert self.proc is None, "%s is already running" % self.name
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        self.port = None
        self.returncode = None
        self.killed = False
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self._log, stderr=subprocess.STDOUT,
                                     env=clean_env(self.env), cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                rc = self.stop()
                raise AssertionError("%s exited with %d:\n%s" % (self.name, rc, self.read_log()))
            if self.port is None:
                try:
                    with open(self.port_file) as f:
                        text = f.read().strip()
                    if text:  # written atomically by the daemon
                        self.port = int(text)
                except (OSError, ValueError):
                    pass
            if self.port is not None:
                try:
                    if self.request("GET", "/readyz", token=None, timeout=5).status == 200:
                        return self
                except OSError:
                    pass
            time.sleep(0.02)
        self.stop()
        raise AssertionError("%s was not ready within %.0fs:\n%s"
                             % (self.name, timeout, self.read_log()))

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def send_signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=30.0):
        """Wait for the exit (no signal sent); kill after timeout.  The exit status."""
        if self.proc is None:
            return self.returncode
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self._log.close()
        self.returncode = rc
        return rc

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Send sig (when still running) and wait; kill after timeout.  The exit status,
        None when it was never started."""
        if self.proc is None:
            return self.returncode
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        return self.wait(timeout)

    def check_exit(self):
        """Stop; the problems found (bad exit status, a kill, sanitizer reports) as text."""
        rc = self.stop()
        log = self.read_log()
        problems = []
        if self.killed:
            problems.append("%s did not exit in time and was killed:\n%s"
                            % (self.name, log[-4000:]))
        elif rc not in (0, None):
            problems.append("%s exited with %r:\n%s" % (self.name, rc, log[-4000:]))
        if any(mark in log for mark in SANITIZER_MARKS):
            problems.append("sanitizer report in the log of %s:\n%s" % (self.name, log[-6000:]))
        return problems

    def cleanup(self):
        """Stop and remove the directory (when the harness made it)."""
        self.stop()
        if self.owns_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def wait_log(self, fragment, timeout=30.0):
        """Wait until fragment appears in the log."""
        wait_for(lambda: fragment in self.read_log(), timeout=timeout,
                 what="%r in the log of %s:\n%s" % (fragment, self.name,
                                                    self.read_log()[-3000:]))

    # -- HTTP ---------------------------------------------------------------

    @property
    def url(self):
        return "%s://127.0.0.1:%d" % ("https" if self.cafile else "http", self.port)

    def request(self, method, path, body=None, raw=None, headers=None, token=_DEFAULT,
                timeout=60):
        """One request; body is sent as JSON unless raw bytes are given."""
        hdrs = {"Accept": self.accept}
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if token is _DEFAULT:
            token = self.token
        if token:
            hdrs["Authorization"] = "Bearer " + token
        hdrs.update(headers or {})
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            ctx = ssl.create_default_context(cafile=self.cafile) if self.cafile else None
            with urllib.request.urlopen(req, timeout=timeout, context=ctx) as resp:
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

    def metric(self, name, labels=""):
        """The value of one series of GET /metrics (labels as rendered, e.g.
        'channel="x"'), or None when the scrape does not have it."""
        reply = self.request("GET", "/metrics", token=None)
        if reply.status != 200:
            raise AssertionError("GET /metrics: %r" % reply)
        series = name + ("{%s}" % labels if labels else "")
        for line in reply.body.decode("utf-8").splitlines():
            key, _, value = line.rpartition(" ")
            if key == series:
                return float(value)
        return None


def chanctl(*args, env=None, cwd=None, timeout=120):
    """Run the built chanctl (CHANCTL) with a clean environment plus env;
    returns the CompletedProcess (text mode)."""
    return subprocess.run([binary("CHANCTL")] + [str(a) for a in args], capture_output=True,
                          text=True, env=clean_env(env), cwd=cwd, timeout=timeout)


def avro_record(name, fields, namespace="com.example"):
    """An Avro record schema as JSON text; fields are (name, type[, extra attributes])."""
    out = []
    for f in fields:
        field = {"name": f[0], "type": f[1]}
        if len(f) > 2:
            field.update(f[2])
        out.append(field)
    return json.dumps({"type": "record", "name": name, "namespace": namespace, "fields": out})


class ChanregdTestCase(unittest.TestCase):
    """Daemons that are checked when they stop: a class-wide one (self.d, started
    with daemon_args and daemon_kwargs unless daemon_args is None) and per-test
    ones from start_daemon().  A bad exit status, a kill or a sanitizer report
    fails the test (or the class) with the end of the daemon's log."""

    daemon_args = None
    daemon_kwargs = {}

    @classmethod
    def setUpClass(cls):
        cls.d = None
        if cls.daemon_args is not None:
            cls.d = Chanregd(*cls.daemon_args, **cls.daemon_kwargs).start()

    @classmethod
    def tearDownClass(cls):
        if cls.d is not None:
            problems = cls.d.check_exit()
            cls.d.cleanup()
            if problems:
                raise AssertionError("\n".join(problems))

    def start_daemon(self, *args, **kw):
        """A daemon for this test only, started; stopped and checked at its end."""
        d = Chanregd(*args, **kw)
        self.addCleanup(self.check_daemon, d)
        return d.start()

    def check_daemon(self, d):
        problems = d.check_exit()
        d.cleanup()
        if problems:
            raise AssertionError("\n".join(problems))

    def assertError(self, reply, status, code, fragment=None):
        """reply is a JSON error with this HTTP status, error_code and message fragment."""
        self.assertEqual(reply.status, status, reply)
        self.assertIsInstance(reply.json, dict, reply)
        self.assertEqual(reply.json.get("error_code"), code, reply)
        self.assertIsInstance(reply.json.get("message"), str, reply)
        if fragment is not None:
            self.assertIn(fragment, reply.json["message"], reply)
