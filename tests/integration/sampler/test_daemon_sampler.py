"""test_daemon_sampler.py - chanregd with --producer-check against librdkafka's
mock cluster.

test_sampler_mock (the MOCK_KAFKA environment variable) serves a mock cluster
with the channel's topic and produces the messages this test asks for.  The
daemon gets the channel's contract over HTTP, follows its topic, and must
count every message outside the contract in
producer_schema_version_mismatch_count{channel} at /metrics and log the
reason.
"""

import os
import re
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "daemon"))
from harness import Daemon, record  # noqa: E402

TOPIC = "orders.order-created"
OTHER = "payments.unmanaged"
SUBJECT = TOPIC + "-value"
V1 = record("OrderCreated", [("order_id", "string")])
V2 = record("OrderCreated", [("order_id", "string"), ("total", "long", {"default": 0})])
METRIC = re.compile(r'^producer_schema_version_mismatch_count\{channel="%s"\} ([0-9.e+]+)$'
                    % re.escape(TOPIC), re.M)


def contract(versions):
    return {
        "apiVersion": "chanreg/v1",
        "channel": TOPIC,
        "description": "An order was placed.",
        "owner": {"team": "orders", "maintainer": "orders-oncall@example.com"},
        "peak_qps": 100,
        "retention_hours": 24,
        "schema": {"subject": SUBJECT, "compatibility": "BACKWARD",
                   "versions": [{"version": v} for v in versions]},
        "consumers": [{
            "name": "billing", "principal": "User:billing-svc", "group": "billing.orders",
            "scenario": "Invoices each order.", "sla_p99_ms": 2000, "peak_rate_msgs": 100,
            "degradation": "lag"}],
        "producers": [{"principal": "User:orders-svc"}],
    }


class MockCluster:
    """test_sampler_mock serve: a mock cluster that produces on request."""

    def __init__(self, *topics):
        binary = os.environ.get("MOCK_KAFKA")
        if not binary or not os.access(binary, os.X_OK):
            raise unittest.SkipTest("MOCK_KAFKA does not name test_sampler_mock")
        self.proc = subprocess.Popen([binary, "serve"] + list(topics), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline().split()
        if len(line) != 2 or line[0] != "bootstrap":
            raise AssertionError("mock cluster did not start: %r" % line)
        self.bootstrap = line[1]

    def produce(self, topic, header, value):
        self.proc.stdin.write("produce %s %s %s\n" % (topic, header, value))
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if not answer.startswith("ok"):
            raise AssertionError("produce failed: %r" % answer)

    def close(self):
        self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


class ProducerCheckTest(unittest.TestCase):

    def setUp(self):
        self.mock = MockCluster(TOPIC, OTHER)
        self.addCleanup(self.mock.close)
        self.d = Daemon("--producer-check", "--producer-check-sample", "1",
                        "--producer-check-interval", "1", "--kafka-bootstrap",
                        self.mock.bootstrap, "--kafka-timeout-ms", "3000", "--acl-mode", "off")
        self.d.start()
        self.addCleanup(self.d.cleanup)

    def wait_log(self, fragment, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if fragment in self.d.read_log():
                return
            time.sleep(0.1)
        self.fail("no %r in the log:\n%s" % (fragment, self.d.read_log()[-4000:]))

    def mismatches(self):
        reply = self.d.get("/metrics")
        self.assertEqual(reply.status, 200, reply)
        m = METRIC.search(reply.body.decode())
        return float(m.group(1)) if m else 0.0

    def wait_mismatches(self, n, timeout=30.0):
        deadline = time.time() + timeout
        while time.time() < deadline and self.mismatches() < n:
            time.sleep(0.2)
        self.assertEqual(self.mismatches(), n, self.d.read_log()[-4000:])

    def register(self):
        ids = []
        for schema in (V1, V2):
            reply = self.d.post("/subjects/%s/versions" % SUBJECT, {"schema": schema})
            self.assertEqual(reply.status, 200, reply)
            ids.append(reply.json["id"])
        reply = self.d.put("/v1/channels/" + TOPIC, contract([2, 1]),
                           headers={"Content-Type": "application/json"})
        self.assertIn(reply.status, (200, 201), reply)
        return ids

    def test_counts_messages_outside_the_contract(self):
        id1, id2 = self.register()
        self.wait_log("producer check: watching topic=%s" % TOPIC)

        # Within the contract: nothing counted.
        self.mock.produce(TOPIC, "1", "wire:%d" % id1)
        self.mock.produce(TOPIC, "2", "wire:%d" % id2)
        self.mock.produce(TOPIC, "2", "null")
        # Outside: one of each reason.
        self.mock.produce(TOPIC, "-", "wire:%d" % id2)              # missing_header
        self.mock.produce(TOPIC, "v2", "wire:%d" % id2)             # bad_header
        self.mock.produce(TOPIC, "3", "wire:%d" % id2)              # unknown_version
        self.mock.produce(TOPIC, "2", "00000000")                   # not_wire_format (4 bytes)
        self.mock.produce(TOPIC, "2", "wire:%d" % (id2 + 1000))     # unknown_schema_id
        self.mock.produce(TOPIC, "2", "wire:%d" % id1)              # version_id_mismatch
        # Not a channel: never read.
        self.mock.produce(OTHER, "-", "ff")

        self.wait_mismatches(6)
        log = self.d.read_log()
        for reason in ("missing_header", "bad_header", "unknown_version", "not_wire_format",
                       "unknown_schema_id", "version_id_mismatch"):
            self.assertIn("channel=%s reason=%s" % (TOPIC, reason), log)
        self.assertNotIn('channel="%s"' % OTHER, self.d.get("/metrics").body.decode())

        # Logging is rate-limited per reason; the metric counts every message.
        for _ in range(3):
            self.mock.produce(TOPIC, "-", "wire:%d" % id2)
        self.wait_mismatches(9)
        self.assertEqual(self.d.read_log().count("reason=missing_header"), 1)

        # Graceful and prompt shutdown with the consumer running.
        start = time.time()
        self.assertEqual(self.d.stop(), 0)
        self.assertLess(time.time() - start, 15)
        log = self.d.read_log()
        self.assertNotIn("Sanitizer", log)
        self.assertNotIn("runtime error", log)

    def test_contract_change_is_followed(self):
        id1, id2 = self.register()
        self.wait_log("producer check: watching topic=%s" % TOPIC)
        self.assertIn("contracts updated channels=1 versions=2", self.d.read_log())
        self.mock.produce(TOPIC, "1", "wire:%d" % id1)
        self.mock.produce(TOPIC, "1", "wire:%d" % id2)  # version_id_mismatch
        self.wait_mismatches(1)
        # Version 1 leaves the contract: a v1 message is now an unknown version.
        reply = self.d.put("/v1/channels/" + TOPIC, contract([2]),
                           headers={"Content-Type": "application/json"})
        self.assertEqual(reply.status, 200, reply)
        deadline = time.time() + 30
        while "contracts updated channels=1 versions=1" not in self.d.read_log():
            self.assertLess(time.time(), deadline, self.d.read_log()[-4000:])
            time.sleep(0.1)
        self.mock.produce(TOPIC, "1", "wire:%d" % id1)
        self.mock.produce(TOPIC, "2", "wire:%d" % id2)
        self.wait_mismatches(2)
        self.assertIn("reason=unknown_version", self.d.read_log())
        self.assertEqual(self.d.stop(), 0)
        log = self.d.read_log()
        self.assertNotIn("Sanitizer", log)
        self.assertNotIn("runtime error", log)


class ConfigurationTest(unittest.TestCase):

    def test_producer_check_needs_bootstrap(self):
        d = Daemon("--producer-check")
        try:
            with self.assertRaises(AssertionError) as cm:
                d.start(timeout=10)
            self.assertIn("--producer-check needs --kafka-bootstrap", str(cm.exception))
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
