"""test_daemon_sampler.py - chanregd with --producer-check against librdkafka's
mock cluster.

test_sampler_mock (the MOCK_KAFKA environment variable) serves a mock cluster
with the channel's topic and produces the messages this test asks for.  The
daemon gets the channel's contract over HTTP, follows its topic, and must
count every message outside the contract in
producer_schema_version_mismatch_count{channel} at /metrics and log the
reason.
"""

import re
import subprocess
import unittest

from chanregd import Chanregd, ChanregdTestCase, avro_record as record, binary, wait_for

TOPIC = "orders.order-created"
OTHER = "payments.unmanaged"
SUBJECT = TOPIC + "-value"
V1 = record("OrderCreated", [("order_id", "string")])
V2 = record("OrderCreated", [("order_id", "string"), ("total", "long", {"default": 0})])
METRIC = re.compile(r'^producer_schema_version_mismatch_count\{channel="%s"\} ([0-9.e+]+)$'
                    % re.escape(TOPIC), re.M)


def contract(versions, version=None):
    doc = {
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
    if version is not None:
        doc["version"] = version
    return doc


class MockCluster:
    """test_sampler_mock serve: a mock cluster that produces on request."""

    def __init__(self, *topics):
        self.proc = subprocess.Popen([binary("MOCK_KAFKA"), "serve"] + list(topics), stdin=subprocess.PIPE,
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


class ProducerCheckTest(ChanregdTestCase):

    def setUp(self):
        self.mock = MockCluster(TOPIC, OTHER)
        self.addCleanup(self.mock.close)
        self.d = self.start_daemon("--producer-check", "--producer-check-sample", "1",
                                   "--producer-check-interval", "1", "--kafka-bootstrap",
                                   self.mock.bootstrap, "--kafka-timeout-ms", "3000",
                                   "--acl-mode", "off")

    def wait_log(self, fragment, timeout=30.0):
        self.d.wait_log(fragment, timeout)

    def mismatches(self):
        reply = self.d.get("/metrics")
        self.assertEqual(reply.status, 200, reply)
        m = METRIC.search(reply.body.decode())
        return float(m.group(1)) if m else 0.0

    def wait_mismatches(self, n, timeout=30.0):
        wait_for(lambda: self.mismatches() >= n, timeout=timeout, interval=0.2,
                 what="%d mismatches:\n%s" % (n, self.d.read_log()[-4000:]))
        self.assertEqual(self.mismatches(), n, self.d.read_log()[-4000:])

    def register(self, version=None):
        ids = []
        for schema in (V1, V2):
            reply = self.d.post("/subjects/%s/versions" % SUBJECT, {"schema": schema})
            self.assertEqual(reply.status, 200, reply)
            ids.append(reply.json["id"])
        reply = self.d.put("/v1/channels/" + TOPIC, contract([2, 1], version),
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

        # Graceful shutdown with the consumer running (killed, and failed, after 15 s).
        self.assertEqual(self.d.stop(timeout=15), 0)
        self.assertFalse(self.d.killed)

    def test_contract_version_header(self):
        id1, id2 = self.register(version="3.2.1")
        self.assertEqual(self.d.get("/v1/channels/" + TOPIC).json["version"], "3.2.1")
        self.wait_log("producer check: watching topic=%s" % TOPIC)
        # Releases 3.0.0 to 3.2.1 may write any schema version of the contract.
        self.mock.produce(TOPIC, "v3.2.1", "wire:%d" % id1)
        self.mock.produce(TOPIC, "v3.2.1", "wire:%d" % id2)
        self.mock.produce(TOPIC, "v3.0.0", "wire:%d" % id2)
        self.mock.produce(TOPIC, "2", "wire:%d" % id2)
        # Outside: another major, a newer release, an unknown schema id, a malformed version.
        self.mock.produce(TOPIC, "v4.0.0", "wire:%d" % id2)          # unknown_version
        self.mock.produce(TOPIC, "v3.3.0", "wire:%d" % id2)          # unknown_version
        self.mock.produce(TOPIC, "v3.2.1", "wire:%d" % (id2 + 1000))  # unknown_schema_id
        self.mock.produce(TOPIC, "v3.2", "wire:%d" % id2)            # bad_header
        self.wait_mismatches(4)
        log = self.d.read_log()
        for reason in ("unknown_version", "unknown_schema_id", "bad_header"):
            self.assertIn("channel=%s reason=%s" % (TOPIC, reason), log)
        self.assertNotIn("reason=version_id_mismatch", log)
        self.assertEqual(self.d.stop(), 0)

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
        self.wait_log("contracts updated channels=1 versions=1")
        self.mock.produce(TOPIC, "1", "wire:%d" % id1)
        self.mock.produce(TOPIC, "2", "wire:%d" % id2)
        self.wait_mismatches(2)
        self.assertIn("reason=unknown_version", self.d.read_log())
        self.assertEqual(self.d.stop(), 0)


class ConfigurationTest(unittest.TestCase):

    def test_producer_check_needs_bootstrap(self):
        d = Chanregd("--producer-check")
        self.addCleanup(d.cleanup)
        with self.assertRaises(AssertionError) as cm:
            d.start(timeout=10)
        self.assertIn("--producer-check needs --kafka-bootstrap", str(cm.exception))
        self.assertEqual(d.returncode, 2, "a usage error")


if __name__ == "__main__":
    unittest.main(verbosity=2)
