"""admission_harness.py - chanregd with Kafka admission against the Kafka-protocol peer.

Peer runs tests/support/kafka/kafka_acl_peer.py (a single-node Kafka-protocol
peer implementing the ACL APIs) on loopback, with a pipe on its standard
input so that it never outlives the test.  It can be stopped and started
again on the same Kafka port (a broker that goes down and comes back), and
it can write ACLs itself with a raw CreateAcls v1 request (what an operator's
kafka-acls.sh would do), for bindings the registry does not know about.

Daemon runs the built chanregd (CHANREGD) on a free loopback port with a
SQLite database in a temporary directory (or a given store URL), pointed at
a peer, with short intervals so that passes come every second.

Channels are registered with the built chanctl (CHANCTL) from the example
contracts of the source tree, or as JSON contracts through the channels API.

Environment (set by CMake): CHANREGD, CHANCTL, CHANREG_SOURCE_DIR,
KAFKA_PEER (path of kafka_acl_peer.py).
"""

import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

PYTHON = "/usr/bin/python3"
SOURCE_DIR = os.environ.get(
    "CHANREG_SOURCE_DIR",
    os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..")),
)
PEER_SCRIPT = os.environ.get(
    "KAFKA_PEER", os.path.join(SOURCE_DIR, "tests", "support", "kafka", "kafka_acl_peer.py"))
TOKEN = "admission-secret"

# Kafka enum values of the wire protocol.
RES_TOPIC, RES_GROUP = 2, 3
PAT_LITERAL, PAT_PREFIXED = 3, 4
OP_READ, OP_WRITE, OP_DESCRIBE = 3, 4, 8
PERM_ALLOW = 3
RES_NAMES = {2: "TOPIC", 3: "GROUP", 4: "CLUSTER"}
OP_NAMES = {3: "READ", 4: "WRITE", 8: "DESCRIBE"}


def binary(var):
    path = os.environ.get(var)
    if not path or not os.access(path, os.X_OK):
        raise unittest.SkipTest("%s does not name the built binary" % var)
    return path


def wait_for(predicate, timeout=20.0, interval=0.05, what="condition"):
    """Poll predicate until it returns a true value; return that value."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError("timed out after %.1fs waiting for %s (last: %r)" % (timeout, what, last))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------------------
# The Kafka-protocol peer
# ---------------------------------------------------------------------------

def _kstr(s):
    b = s.encode("utf-8")
    return struct.pack(">h", len(b)) + b


class Peer:
    """kafka_acl_peer.py as a child process; stop() and start() keep the Kafka port."""

    def __init__(self, directory):
        self.dir = directory
        self.proc = None
        self.port = 0
        self.control_port = None

    def start(self):
        ready = os.path.join(self.dir, "peer.ready")
        if os.path.exists(ready):
            os.unlink(ready)
        self.log = open(os.path.join(self.dir, "peer.log"), "ab")
        self.proc = subprocess.Popen(
            [PYTHON, PEER_SCRIPT, "--ready-file", ready, "--port", str(self.port)],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("the Kafka peer exited with %d" % self.proc.returncode)
            if os.path.exists(ready):
                with open(ready) as f:
                    broker, control = f.read().split()
                self.port, self.control_port = int(broker), int(control)
                return self
            time.sleep(0.02)
        raise AssertionError("the Kafka peer did not start")

    def stop(self):
        if self.proc is None:
            return
        self.proc.stdin.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
        self.log.close()

    @property
    def bootstrap(self):
        return "127.0.0.1:%d" % self.port

    def command(self, line):
        with socket.create_connection(("127.0.0.1", self.control_port), timeout=10) as s:
            s.sendall((line + "\n").encode("utf-8"))
            data = b""
            while not data.endswith(b"\n"):
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        reply = json.loads(data.decode("utf-8"))
        if "error" in reply:
            raise AssertionError("peer command %r failed: %r" % (line, reply))
        return reply

    def stats(self):
        return self.command("stats")

    def requests(self, api):
        return self.stats()["requests"].get(api, 0)

    def acls(self):
        """The stored bindings as readable tuples (type, name, pattern, principal, host, op, perm)."""
        out = set()
        for restype, name, pattern, principal, host, op, perm in self.command("acls")["acls"]:
            out.add((RES_NAMES.get(restype, str(restype)), name,
                     "PREFIXED" if pattern == PAT_PREFIXED else "LITERAL", principal, host,
                     OP_NAMES.get(op, str(op)), "ALLOW" if perm == PERM_ALLOW else "DENY"))
        return out

    def create_acls(self, bindings):
        """CreateAcls v1 on the wire, as an operator's tool would send it.

        bindings: (restype, name, pattern, principal, host, op, perm) with wire enum values.
        """
        body = struct.pack(">i", len(bindings))
        for restype, name, pattern, principal, host, op, perm in bindings:
            body += struct.pack(">b", restype) + _kstr(name) + struct.pack(">b", pattern)
            body += _kstr(principal) + _kstr(host) + struct.pack(">bb", op, perm)
        header = struct.pack(">hhi", 30, 1, 4242) + _kstr("test-operator")
        msg = header + body
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as s:
            s.sendall(struct.pack(">i", len(msg)) + msg)
            size = struct.unpack(">i", self._read(s, 4))[0]
            reply = self._read(s, size)
        correlation, _throttle, n = struct.unpack(">iii", reply[:12])
        assert correlation == 4242 and n == len(bindings), reply
        pos = 12
        for _ in range(n):
            code = struct.unpack(">h", reply[pos:pos + 2])[0]
            pos += 2
            length = struct.unpack(">h", reply[pos:pos + 2])[0]
            pos += 2 + max(length, 0)
            assert code == 0, "CreateAcls failed with error %d" % code

    @staticmethod
    def _read(s, n):
        data = b""
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                raise AssertionError("the peer closed the connection")
            data += chunk
        return data


# ---------------------------------------------------------------------------
# chanregd
# ---------------------------------------------------------------------------

class Reply:
    def __init__(self, status, body):
        self.status = status
        self.body = body
        try:
            self.json = json.loads(body.decode("utf-8")) if body else None
        except ValueError:
            self.json = None

    def __repr__(self):
        return "Reply(%d, %r)" % (self.status, self.body[:800])


class Daemon:
    """chanregd with Kafka admission options; extra flags come from `args`."""

    def __init__(self, directory, db=None, args=(), name="chanregd"):
        self.binary = binary("CHANREGD")
        self.dir = directory
        self.name = name
        self.db = db or "sqlite:" + os.path.join(directory, name + ".db")
        self.args = list(args)
        self.log_path = os.path.join(directory, name + ".log")
        self.port_file = os.path.join(directory, name + ".port")
        self.proc = None
        self.port = None

    def start(self, timeout=20.0):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
        cmd = [self.binary, "--listen", "127.0.0.1:0", "--port-file", self.port_file,
               "--db", self.db, "--token", TOKEN, "--shutdown-timeout", "10"] + self.args
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     cwd=self.dir)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("chanregd exited with %d:\n%s"
                                     % (self.proc.returncode, self.read_log()))
            try:
                with open(self.port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    if self.request("GET", "/healthz").status == 200:
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

    def read_log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def request(self, method, path, body=None, token=TOKEN):
        hdrs = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        if token:
            hdrs["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=hdrs)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                return Reply(resp.status, resp.read())
        except urllib.error.HTTPError as e:
            return Reply(e.code, e.read())

    def status(self):
        reply = self.request("GET", "/v1/acl/status")
        assert reply.status == 200, reply
        return reply.json

    def wait_passes(self, count, timeout=30.0):
        """Wait until the status counts `count` passes (ran ones, ok or not); return the status."""
        return wait_for(lambda: (lambda s: s if s["passes"] >= count else None)(self.status()),
                        timeout=timeout, what="%d reconciler passes of %s" % (count, self.name))

    def wait_ok_pass(self, timeout=30.0, **counts):
        """Wait for a successful pass whose counts match (e.g. create=0, delete=0)."""
        def check():
            s = self.status()
            last = s.get("last_pass")
            if not last or not last["ok"]:
                return None
            for key, value in counts.items():
                if last[key] != value:
                    return None
            return s
        return wait_for(check, timeout=timeout,
                        what="a successful pass of %s with %r" % (self.name, counts))


def chanctl(*args, env_url=None, timeout=60):
    """Run the built chanctl; returns (exit code, stdout, stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    if env_url:
        env["CHANREG_URL"] = env_url
    env["CHANREG_TOKEN"] = TOKEN
    proc = subprocess.run([binary("CHANCTL")] + list(args), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, env=env, timeout=timeout)
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def register_examples(daemon):
    """Push the example contracts of contracts/ (and their schemas) with chanctl register."""
    rc, out, err = chanctl("register", os.path.join(SOURCE_DIR, "contracts"), "--registry",
                           daemon.url)
    assert rc == 0, "chanctl register failed (%d):\n%s\n%s" % (rc, out, err)


def put_contract(daemon, contract):
    reply = daemon.request("PUT", "/v1/channels/" + contract["channel"], body=contract)
    assert reply.status in (200, 201), reply
    return reply.json


def orders_contract(name="orders.order-created", deprecation_date=None, consumers=None,
                    producers=None):
    """A valid contract on the example subject orders.order-created-value (registered by
    register_examples)."""
    contract = {
        "apiVersion": "chanreg/v1",
        "channel": name,
        "description": "An order was placed and accepted by the order service.",
        "owner": {"team": "orders", "maintainer": "orders-oncall@example.com"},
        "peak_qps": 1200,
        "retention_hours": 168,
        "schema": {
            "subject": "orders.order-created-value",
            "compatibility": "BACKWARD_TRANSITIVE",
            "versions": [{"version": 3}, {"version": 2}, {"version": 1}],
        },
        "consumers": consumers if consumers is not None else [
            {"name": "billing", "principal": "User:billing-svc", "group": "billing.x",
             "scenario": "Creates invoices.", "sla_p99_ms": 2000, "peak_rate_msgs": 100,
             "degradation": "lag"},
        ],
        "producers": producers if producers is not None else [{"principal": "User:orders-svc"}],
    }
    if deprecation_date:
        contract["deprecation_date"] = deprecation_date
    return contract


class AdmissionTestCase(unittest.TestCase):
    """A temporary directory per test class, removed at the end; daemons are checked for
    clean exits and sanitizer reports."""

    started = 0  # daemons started so far: names (and default databases) stay unique

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="chanreg-admission-")
        cls.daemons = []
        cls.peers = []

    @staticmethod
    def check_daemons(daemons):
        """Stop daemons; the problems found (bad exit, sanitizer reports)."""
        problems = []
        for d in daemons:
            rc = d.stop()
            log = d.read_log()
            if rc not in (None, 0):
                problems.append("%s exited with %r:\n%s" % (d.name, rc, log[-4000:]))
            if "runtime error" in log or "AddressSanitizer" in log or "LeakSanitizer" in log:
                problems.append("sanitizer report in %s:\n%s" % (d.name, log[-6000:]))
        return problems

    def setUp(self):
        self._first_daemon = len(self.daemons)
        self._first_peer = len(self.peers)

    def tearDown(self):
        """What a test started is stopped at its end (class-level ones at the class's end)."""
        mine = self.daemons[self._first_daemon:]
        del self.daemons[self._first_daemon:]
        problems = self.check_daemons(mine)
        for p in self.peers[self._first_peer:]:
            p.stop()
        del self.peers[self._first_peer:]
        if problems:
            raise AssertionError("\n".join(problems))

    @classmethod
    def tearDownClass(cls):
        problems = cls.check_daemons(cls.daemons)
        for p in cls.peers:
            p.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if problems:
            raise AssertionError("\n".join(problems))

    @classmethod
    def peer(cls):
        directory = tempfile.mkdtemp(prefix="peer-", dir=cls.tmp)
        p = Peer(directory).start()
        cls.peers.append(p)
        return p

    @classmethod
    def daemon(cls, *args, name=None, db=None):
        AdmissionTestCase.started += 1
        d = Daemon(cls.tmp, db=db, args=args,
                   name=name or "chanregd-%d" % AdmissionTestCase.started)
        cls.daemons.append(d)
        return d.start()
