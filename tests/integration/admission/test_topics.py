"""Topic discovery against the Kafka-protocol peer: the cluster's topic list
(Metadata for all topics, many of them), managed and unmanaged topics in
GET /v1/topics, the include/exclude patterns, the checklist gauges of
/metrics, chanctl check counting unmanaged topics, and a broker that is
down or refuses the Metadata request (the list is then unknown and nothing
is counted)."""

import os
import unittest

from admission_harness import AdmissionTestCase, chanctl, register_examples
from chanregd import SOURCE_DIR, wait_for

EXAMPLE_CHANNELS = ["inventory.stock-updated", "orders.order-created",
                    "payments.payment-settled", "shipping.parcel-scanned"]
UNMANAGED = ["legacy.t-%03d" % i for i in range(150)]
INTERNAL = ["__consumer_offsets", "__transaction_state", "_schemas"]


class TopicDiscoveryTest(AdmissionTestCase):

    def start(self, *args):
        peer = self.peer()
        for t in EXAMPLE_CHANNELS:
            peer.command("topic %s 3" % t)
        for t in UNMANAGED + INTERNAL:
            peer.command("topic %s 1" % t)
        d = self.daemon("--kafka-bootstrap", peer.bootstrap, "--kafka-timeout-ms", "2000",
                        *args)
        register_examples(d)
        return peer, d

    def topics(self, d, refresh=True):
        reply = d.request("GET", "/v1/topics" + ("?refresh=true" if refresh else ""))
        self.assertEqual(reply.status, 200, reply)
        return reply.json

    def test_managed_unmanaged_and_excluded(self):
        peer, d = self.start("--acl-mode", "off")
        doc = self.topics(d)
        self.assertEqual(doc["state"], "known", doc)
        self.assertIsNone(doc["error"])
        self.assertEqual(doc["managed"], EXAMPLE_CHANNELS)
        self.assertEqual(doc["unmanaged"], UNMANAGED)
        self.assertEqual(doc["excluded"], sorted(INTERNAL))
        self.assertEqual(doc["exclude"], ["_*"])
        self.assertEqual(doc["include"], [])
        self.assertEqual(doc["topics"], len(EXAMPLE_CHANNELS) + len(UNMANAGED))
        self.assertGreaterEqual(peer.stats()["answered"].get("Metadata", 0), 1)

        # The metrics judge the last read: unmanaged topics count against the rates.
        self.assertEqual(d.metric("chanreg_unmanaged_topics"), len(UNMANAGED))
        self.assertEqual(d.metric("chanreg_topics"), len(EXAMPLE_CHANNELS) + len(UNMANAGED))
        self.assertAlmostEqual(d.metric("chanreg_schema_registration_rate"),
                               len(EXAMPLE_CHANNELS) / (len(EXAMPLE_CHANNELS) + len(UNMANAGED)))
        self.assertEqual(d.metric("chanreg_consumer_registration_completeness"), 1.0)
        # No reconciler pass in mode off: no ACL coverage to show.
        self.assertIsNone(d.metric("chanreg_acl_coverage"))

        # A topic created later is seen at the next read; one deleted disappears.
        peer.command("topic audit.events 2")
        peer.command("untopic legacy.t-000")
        doc = self.topics(d)
        self.assertIn("audit.events", doc["unmanaged"])
        self.assertNotIn("legacy.t-000", doc["unmanaged"])
        self.assertEqual(len(doc["unmanaged"]), len(UNMANAGED))

        # chanctl check names the unmanaged topics and fails the schema registration rate.
        contracts = os.path.join(SOURCE_DIR, "contracts")
        rc, out, err = chanctl("check", contracts, "--registry", d.url)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("topic audit.events: no channel contract (unmanaged)", out)
        self.assertIn("topic legacy.t-149: no channel contract (unmanaged)", out)
        self.assertIn("150 unmanaged topic(s) of the cluster counted as failing", out)
        self.assertIn("(4/154 channels)", out)

    def test_include_and_exclude_patterns(self):
        peer, d = self.start("--acl-mode", "off", "--topic-include", "orders.*, legacy.t-00?",
                             "--topic-exclude", "_*,legacy.t-005")
        doc = self.topics(d)
        self.assertEqual(doc["include"], ["orders.*", "legacy.t-00?"])
        self.assertEqual(doc["exclude"], ["_*", "legacy.t-005"])
        self.assertEqual(doc["managed"], ["orders.order-created"])
        self.assertEqual(doc["unmanaged"], ["legacy.t-%03d" % i for i in range(10) if i != 5])
        # Channels out of scope are still managed; topics out of scope are simply not judged.
        self.assertIn("inventory.stock-updated", doc["excluded"])
        self.assertEqual(d.metric("chanreg_unmanaged_topics"), 9)

    def test_acl_coverage_counts_unmanaged_topics(self):
        peer, d = self.start("--acl-mode", "apply", "--reconcile-interval", "1")
        def applied():
            plan = d.request("GET", "/v1/acl/plan").json
            return plan if plan["unchanged"] and not plan["create"] else None
        plan = wait_for(applied, timeout=30, what="the example contracts' ACLs in place")
        principals = {b["principal"] for b in plan["unchanged"]}
        d.wait_ok_pass(create=0, delete=0)

        def coverage():
            v = d.metric("chanreg_acl_coverage")
            return v if v is not None and v > 0 else None
        value = wait_for(coverage, timeout=30, what="chanreg_acl_coverage after an applied pass")
        self.assertAlmostEqual(value, len(principals) / (len(principals) + len(UNMANAGED)))
        # The loop read the topics itself: no GET /v1/topics was needed.
        self.assertEqual(d.metric("chanreg_unmanaged_topics"), len(UNMANAGED))

    def test_broker_down_and_refused_metadata(self):
        peer, d = self.start("--acl-mode", "off")
        self.assertEqual(self.topics(d)["state"], "known")
        self.assertEqual(d.metric("chanreg_unmanaged_topics"), len(UNMANAGED))

        # Refused: every topic answered with TOPIC_AUTHORIZATION_FAILED.
        peer.command("fail metadata 29")
        doc = self.topics(d)
        self.assertEqual(doc["state"], "unknown", doc)
        self.assertIn("authoriz", doc["error"].lower())
        self.assertEqual((doc["managed"], doc["unmanaged"], doc["excluded"]), ([], [], []))
        # Nothing is judged on a failed read.
        self.assertIsNone(d.metric("chanreg_unmanaged_topics"))
        self.assertEqual(d.metric("chanreg_schema_registration_rate"), 1.0)
        peer.command("clear")
        self.assertEqual(self.topics(d)["state"], "known")

        # Down: no answer within --kafka-timeout-ms.
        peer.stop()
        doc = self.topics(d)
        self.assertEqual(doc["state"], "unknown", doc)
        self.assertTrue(doc["error"])
        self.assertEqual(doc["unmanaged"], [])
        self.assertIsNone(d.metric("chanreg_unmanaged_topics"))
        contracts = os.path.join(SOURCE_DIR, "contracts")
        rc, out, err = chanctl("check", contracts, "--registry", d.url)
        self.assertIn("the cluster's topics could not be read, unmanaged topics not counted",
                      out)
        self.assertNotIn("unmanaged)", out)

    def test_no_kafka(self):
        d = self.daemon()
        reply = d.request("GET", "/v1/topics")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50310)


if __name__ == "__main__":
    unittest.main()
