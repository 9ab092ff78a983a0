"""admission_harness.py - chanregd with Kafka admission against the Kafka-protocol peer.

Peer runs tests/support/kafka/kafka_acl_peer.py (a single-node Kafka-protocol
peer implementing the ACL APIs) on loopback, with a pipe on its standard
input so that it never outlives the test.  It can be stopped and started
again on the same Kafka port (a broker that goes down and comes back), and
it can write ACLs itself with a raw CreateAcls v1 request (what an operator's
kafka-acls.sh would do), for bindings the registry does not know about.

Daemon is the shared harness's Chanregd (tests/support/chanregd.py) with the
admission token, a SQLite database in the test class's directory (or a
given store URL), and the reconciler's status.

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
import sys
import tempfile
import unittest

from chanregd import SOURCE_DIR, Chanregd, free_port, wait_for
from chanregd import chanctl as run_chanctl

PYTHON = sys.executable
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
        wait_for(lambda: os.path.exists(ready) or self.proc.poll() is not None, timeout=15,
                 what="the Kafka peer to start")
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self.stop()
            raise AssertionError("the Kafka peer exited with %d" % rc)
        with open(ready) as f:  # written atomically (rename)
            broker, control = f.read().split()
        self.port, self.control_port = int(broker), int(control)
        return self

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

class Daemon(Chanregd):
    """chanregd with Kafka admission options; extra flags come from `args`."""

    def __init__(self, directory, db=None, args=(), name="chanregd"):
        super().__init__("--shutdown-timeout", "10", *args, db=db, pg=False, workdir=directory,
                         name=name, token=TOKEN)

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
    env = {"CHANREG_TOKEN": TOKEN}
    if env_url:
        env["CHANREG_URL"] = env_url
    r = run_chanctl(*args, env=env, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def register_examples(daemon):
    """Push the example contracts of contracts/ (and their schemas) with chanctl register."""
    rc, out, err = chanctl("register", os.path.join(SOURCE_DIR, "contracts"), "--registry",
                           daemon.url)
    assert rc == 0, "chanctl register failed (%d):\n%s\n%s" % (rc, out, err)


def put_contract(daemon, contract):
    reply = daemon.request("PUT", "/v1/channels/" + contract["channel"], body=contract)
    assert reply.status in (200, 201), reply
    return reply.json


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
            problems += d.check_exit()
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
