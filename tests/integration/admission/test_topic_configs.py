"""Topic configuration as part of the contract, against the Kafka-protocol
peer, whose AlterConfigs replaces every dynamic config of a topic as Kafka
does: the plan (retention.ms from retention_hours, DescribeConfigs), the
apply that sends each topic's full set so that no other config is lost, the
dry run that sends nothing, idempotence, the audit, missing topics, the
opt-in daemon mode, and a broker that is down or refuses the requests."""

import json
import os
import unittest

from admission_harness import AdmissionTestCase, chanctl, register_examples
from chanregd import wait_for

HOURS = {"inventory.stock-updated": 72, "orders.order-created": 168,
         "payments.payment-settled": 720, "shipping.parcel-scanned": 48}


def ms(hours):
    return str(hours * 3600000)


class TopicConfigTest(AdmissionTestCase):

    def start(self, *args):
        peer = self.peer()
        for t in HOURS:
            peer.command("topic %s 3" % t)
        # orders: other dynamic configs that an apply must keep, and a wrong retention
        peer.command("config orders.order-created min.insync.replicas 2")
        peer.command("config orders.order-created max.message.bytes 2000000")
        peer.command("config orders.order-created retention.ms 86400000")
        # payments: already as its contract says
        peer.command("config payments.payment-settled retention.ms %s"
                     % ms(HOURS["payments.payment-settled"]))
        d = self.daemon("--kafka-bootstrap", peer.bootstrap, "--kafka-timeout-ms", "2000", *args)
        register_examples(d)
        return peer, d

    def configs(self, peer, topic):
        return peer.command("configs " + topic)["configs"]

    def test_plan_apply_keeps_every_other_config(self):
        peer, d = self.start("--acl-mode", "off")
        reply = d.request("GET", "/v1/topics/plan")
        self.assertEqual(reply.status, 200, reply)
        plan = reply.json["plan"]
        self.assertEqual(plan["checked"], 4)
        self.assertEqual(plan["missing"], [])
        changes = {c["topic"]: c for c in plan["changes"] if c["key"] == "retention.ms"}
        self.assertEqual(sorted(changes), ["inventory.stock-updated", "orders.order-created",
                                           "shipping.parcel-scanned"])
        self.assertEqual(changes["orders.order-created"]["actual"], "86400000")
        self.assertEqual(changes["orders.order-created"]["desired"], ms(168))
        self.assertTrue(changes["orders.order-created"]["dynamic"])
        self.assertEqual(changes["inventory.stock-updated"]["actual"], "604800000")
        self.assertFalse(changes["inventory.stock-updated"]["dynamic"])  # broker default
        self.assertIn({"topic": "inventory.stock-updated", "key": "cleanup.policy",
                       "actual": "delete", "desired": "compact", "dynamic": False},
                      plan["changes"])
        alters = {a["topic"]: a for a in plan["alters"]}
        self.assertEqual(alters["orders.order-created"]["configs"],
                         {"min.insync.replicas": "2", "max.message.bytes": "2000000",
                          "retention.ms": ms(168)})
        self.assertEqual(alters["shipping.parcel-scanned"]["configs"], {"retention.ms": ms(48)})

        rc, out, err = chanctl("topic", "plan", "--registry", d.url)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("~ orders.order-created retention.ms: 86400000 -> 604800000", out)
        self.assertIn("AlterConfigs orders.order-created:", out)

        # A dry run prints exactly what the apply sends, and sends nothing.
        rc, out, err = chanctl("topic", "apply", "--dry-run", "--registry", d.url,
                               "--format", "json")
        self.assertEqual(rc, 0, out + err)
        dry = json.loads(out)
        self.assertTrue(dry["dry_run"])
        self.assertEqual({r["status"] for r in dry["results"]}, {"would_apply"})
        self.assertEqual(peer.stats()["alters"], 0)
        self.assertEqual(self.configs(peer, "orders.order-created")["retention.ms"], "86400000")

        rc, out, err = chanctl("topic", "apply", "--registry", d.url, "--format", "json")
        self.assertEqual(rc, 0, out + err)
        done = json.loads(out)
        self.assertEqual(done["applied"], 3)
        self.assertEqual([(r["topic"], r["configs"]) for r in done["results"]],
                         [(r["topic"], r["configs"]) for r in dry["results"]])
        # The peer replaced each topic's set: nothing else was lost.
        self.assertEqual(self.configs(peer, "orders.order-created"),
                         {"min.insync.replicas": "2", "max.message.bytes": "2000000",
                          "retention.ms": ms(168)})
        # inventory declares cleanup_policy: compact (the broker default is delete).
        self.assertEqual(self.configs(peer, "inventory.stock-updated"),
                         {"retention.ms": ms(72), "cleanup.policy": "compact"})
        self.assertEqual(self.configs(peer, "payments.payment-settled"),
                         {"retention.ms": ms(720)})
        self.assertEqual(peer.stats()["alters"], 3)

        # Every apply is audited.
        audit = d.request("GET", "/v1/audit?object=topic/").json
        entries = audit["entries"] if isinstance(audit, dict) else audit
        applies = [e for e in entries if e["action"] == "topic.config.apply"]
        self.assertEqual(sorted(e["object"] for e in applies),
                         ["topic/inventory.stock-updated", "topic/orders.order-created",
                          "topic/shipping.parcel-scanned"])

        # Converged: no drift, and an apply sends nothing.
        rc, out, err = chanctl("topic", "plan", "--registry", d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("0 change(s) on 4 topic(s) checked", out)
        rc, out, err = chanctl("topic", "apply", "--registry", d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(peer.stats()["alters"], 3)

        # A channel whose topic does not exist is reported, not created ...
        peer.command("untopic shipping.parcel-scanned")
        plan = d.request("GET", "/v1/topics/plan").json["plan"]
        self.assertEqual(plan["missing"], ["shipping.parcel-scanned"])
        self.assertEqual(plan["checked"], 3)
        rc, out, err = chanctl("topic", "apply", "--registry", d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertNotIn("shipping.parcel-scanned", peer.command("topics")["topics"])
        # ... unless asked: the dry run shows it, the apply creates it with its retention.
        rc, out, err = chanctl("topic", "apply", "--dry-run", "--create-missing", "--partitions",
                               "6", "--registry", d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("would_create shipping.parcel-scanned: retention.ms=%s" % ms(48), out)
        self.assertEqual(peer.stats()["created_topics"], 0)
        rc, out, err = chanctl("topic", "apply", "--create-missing", "--partitions", "6",
                               "--registry", d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("created shipping.parcel-scanned", out)
        self.assertEqual(peer.command("topics")["topics"]["shipping.parcel-scanned"], 6)
        self.assertEqual(self.configs(peer, "shipping.parcel-scanned"), {"retention.ms": ms(48)})
        audit = d.request("GET", "/v1/audit?object=topic/shipping").json
        entries = audit["entries"] if isinstance(audit, dict) else audit
        self.assertEqual([e["action"] for e in entries if e["action"] == "topic.create"],
                         ["topic.create"])
        # A refused create (replication factor above the one broker) fails and is audited.
        peer.command("untopic shipping.parcel-scanned")
        rc, out, err = chanctl("topic", "apply", "--create-missing", "--partitions", "6",
                               "--replication-factor", "3", "--registry", d.url)
        self.assertEqual(rc, 3, out + err)
        self.assertNotIn("shipping.parcel-scanned", peer.command("topics")["topics"])
        rc, out, err = chanctl("topic", "apply", "--create-missing", "--registry", d.url)
        self.assertEqual(rc, 2, out + err)

    def test_refused_and_down(self):
        peer, d = self.start("--acl-mode", "off")
        # DescribeConfigs refused: no plan, nothing sent.
        peer.command("fail describeconfigs 29")
        reply = d.request("GET", "/v1/topics/plan")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50313)
        reply = d.request("POST", "/v1/topics/apply", body={})
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(peer.stats()["alters"], 0)
        rc, out, err = chanctl("topic", "plan", "--registry", d.url)
        self.assertEqual(rc, 3, out + err)
        peer.command("clear")

        # AlterConfigs refused: reported per topic, audited as failed, nothing changed.
        peer.command("fail alterconfigs 40 not-allowed")
        reply = d.request("POST", "/v1/topics/apply", body={})
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50314)
        self.assertEqual(reply.json["failed"], 3)
        self.assertEqual({r["status"] for r in reply.json["results"]}, {"failed"})
        self.assertEqual(self.configs(peer, "orders.order-created")["retention.ms"], "86400000")
        audit = d.request("GET", "/v1/audit?object=topic/").json
        entries = audit["entries"] if isinstance(audit, dict) else audit
        failed = [json.loads(e["detail"]) if isinstance(e["detail"], str) else e["detail"]
                  for e in entries if e["action"] == "topic.config.apply"]
        self.assertEqual(len(failed), 3)
        self.assertTrue(all(not x["ok"] for x in failed))
        rc, out, err = chanctl("topic", "apply", "--registry", d.url)
        self.assertEqual(rc, 3, out + err)
        peer.command("clear")

        # No answer in time (--kafka-timeout-ms 2000): the alter's outcome is unknown,
        # reported as failed and audited as such.
        peer.command("delay alterconfigs 4000")
        reply = d.request("POST", "/v1/topics/apply", body={})
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50314)
        self.assertEqual({r["status"] for r in reply.json["results"]}, {"failed"})
        self.assertTrue(all("tim" in r["message"].lower() for r in reply.json["results"]),
                        reply.json["results"])
        peer.command("clear")
        peer.command("untopic shipping.parcel-scanned")
        peer.command("delay createtopics 4000")
        reply = d.request("POST", "/v1/topics/apply?create_missing=true&partitions=2", body={})
        self.assertEqual(reply.status, 503, reply)
        created = [r for r in reply.json["results"] if r["topic"] == "shipping.parcel-scanned"]
        self.assertEqual([r["status"] for r in created], ["failed"])
        audit = d.request("GET", "/v1/audit?object=topic/shipping").json
        entries = audit["entries"] if isinstance(audit, dict) else audit
        self.assertIn("topic.create", [e["action"] for e in entries])
        peer.command("clear")

        # Broker down: no plan, and the apply sends nothing.
        peer.stop()
        reply = d.request("GET", "/v1/topics/plan")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50313)
        reply = d.request("POST", "/v1/topics/apply", body={})
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50313)

    def test_daemon_mode_apply(self):
        peer, d = self.start("--acl-mode", "plan", "--topic-mode", "apply",
                             "--reconcile-interval", "1")
        wait_for(lambda: self.configs(peer, "orders.order-created").get("retention.ms") == ms(168),
                 timeout=30, what="the loop to fix the retention of orders.order-created")
        self.assertEqual(self.configs(peer, "orders.order-created")["min.insync.replicas"], "2")
        wait_for(lambda: self.configs(peer, "shipping.parcel-scanned").get("retention.ms")
                 == ms(48), timeout=30, what="the loop to fix shipping.parcel-scanned")
        audit = d.request("GET", "/v1/audit?object=topic/").json
        entries = audit["entries"] if isinstance(audit, dict) else audit
        self.assertTrue(all(e["actor"] == "reconciler" for e in entries
                            if e["action"] == "topic.config.apply"))

    def test_no_kafka_and_usage(self):
        d = self.daemon()
        reply = d.request("GET", "/v1/topics/plan")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50310)
        rc, out, err = chanctl("topic", "plan", "--dry-run", "--registry", d.url)
        self.assertEqual(rc, 2, out + err)
        rc, out, err = chanctl("topic", "frobnicate", "--registry", d.url)
        self.assertEqual(rc, 2, out + err)


if __name__ == "__main__":
    unittest.main()
