#!/usr/bin/python3
"""integration.admission.api - the admission endpoints and `chanctl acl` / `chanctl export`.

  PlanModeTest       default --acl-mode (plan): the loop changes nothing, GET /v1/acl/plan
                     and `chanctl acl plan` (exit 1 with changes, 0 without), apply refused
  UnreachableTest    a bootstrap where nothing listens: plan with actual_state unknown,
                     `chanctl acl plan` exits 3
  NoKafkaTest        no --kafka-bootstrap: 503/50310, no Kafka work; the admission check
                     and the exports, which need no broker
"""

import math
import os
import shlex
import sys
import time
import unittest

import yaml

from admission_harness import (OP_READ, PAT_LITERAL, PERM_ALLOW, RES_GROUP, RES_TOPIC,
                               AdmissionTestCase, chanctl, free_port, put_contract,
                               register_examples)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "channels"))
from channels_harness import orders_contract  # noqa: E402

OPS = {"READ": 3, "WRITE": 4, "DESCRIBE": 8}


def wire(binding):
    """A binding of the plan JSON as a CreateAcls tuple."""
    return ({"TOPIC": RES_TOPIC, "GROUP": RES_GROUP}[binding["resource_type"]],
            binding["resource_name"], PAT_LITERAL, binding["principal"], binding["host"],
            OPS[binding["operation"]], PERM_ALLOW)


class PlanModeTest(AdmissionTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kafka = cls.peer()
        # no --acl-mode: the default is plan
        cls.d = cls.daemon("--kafka-bootstrap", cls.kafka.bootstrap, "--reconcile-interval", "1",
                           "--kafka-timeout-ms", "2000")
        register_examples(cls.d)

    def test_default_mode_plans_and_changes_nothing(self):
        status = self.d.wait_ok_pass(channels=4)
        self.assertEqual(status["mode"], "plan")
        self.assertTrue(status["leader"])
        self.assertTrue(status["last_pass"]["dry_run"])
        status = self.d.wait_passes(status["passes"] + 2)
        self.assertEqual(self.kafka.requests("CreateAcls"), 0)
        self.assertEqual(self.kafka.requests("DeleteAcls"), 0)
        self.assertGreater(self.kafka.requests("DescribeAcls"), 0)
        self.assertRegex(self.d.read_log(), r"acl pass ok mode=plan trigger=loop .*create=34 ")

    def test_plan_endpoint_and_cli_exit_codes(self):
        reply = self.d.request("GET", "/v1/acl/plan")
        self.assertEqual(reply.status, 200, reply)
        plan = reply.json
        for key in ("create", "delete", "unchanged", "bypasses", "deletes_refused", "summary",
                    "actual_state", "error", "text"):
            self.assertIn(key, plan)
        self.assertEqual(plan["actual_state"], "known")
        self.assertIsNone(plan["error"])
        self.assertEqual(plan["summary"]["create"], 34)
        billing = {"resource_type": "TOPIC", "resource_name": "orders.order-created",
                   "pattern_type": "LITERAL", "principal": "User:billing-svc", "host": "*",
                   "operation": "READ", "permission": "ALLOW"}
        self.assertIn(billing, plan["create"])

        rc, out, err = chanctl("acl", "plan", "--registry", self.d.url)
        self.assertEqual(rc, 1, err)
        self.assertIn("+ ALLOW User:billing-svc READ TOPIC orders.order-created\n", out)
        self.assertTrue(out.endswith("plan: 34 to create, 0 to delete, 0 unchanged\n"), out)
        rc, out, err = chanctl("acl", "plan", "--format", "json", env_url=self.d.url)
        self.assertEqual(rc, 1, err)
        self.assertIn('"actual_state": "known"', out)

        # The broker gets exactly the planned bindings (by hand): no changes left.
        self.kafka.create_acls([wire(b) for b in plan["create"]])
        rc, out, err = chanctl("acl", "plan", "--registry", self.d.url)
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(out, "plan: 0 to create, 0 to delete, 34 unchanged\n")

        # An unregistered principal on a managed topic is planned for deletion.
        self.kafka.create_acls([(RES_TOPIC, "payments.payment-settled", PAT_LITERAL,
                                 "User:intruder", "*", OP_READ, PERM_ALLOW)])
        rc, out, err = chanctl("acl", "plan", "--registry", self.d.url)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("- ALLOW User:intruder READ TOPIC payments.payment-settled\n", out)
        # ... but never deleted in plan mode
        self.d.wait_passes(self.d.status()["passes"] + 2)
        self.assertEqual(self.kafka.requests("DeleteAcls"), 0)

    def test_apply_refused_in_plan_mode(self):
        creates = self.kafka.requests("CreateAcls")
        reply = self.d.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 409, reply)
        self.assertEqual(reply.json["error_code"], 40920)
        self.assertIn("--acl-mode plan", reply.json["message"])
        reply = self.d.request("POST", "/v1/acl/apply", token=None)
        self.assertEqual(reply.status, 401, reply)
        rc, out, err = chanctl("acl", "apply", "--registry", self.d.url)
        self.assertEqual(rc, 1, out + err)
        self.assertIn("--acl-mode apply", err)
        self.assertEqual(self.kafka.requests("CreateAcls"), creates)
        self.assertEqual(self.kafka.requests("DeleteAcls"), 0)

    def test_status_from_chanctl(self):
        self.d.wait_ok_pass(channels=4)
        rc, out, err = chanctl("acl", "status", "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        self.assertRegex(out, r"(?m)^mode +plan$")
        self.assertRegex(out, r"(?m)^leader +true$")
        self.assertRegex(out, r"(?m)^last_pass\.ok +true$")


class UnreachableTest(AdmissionTestCase):

    def test_plan_without_a_broker(self):
        d = self.daemon("--kafka-bootstrap", "127.0.0.1:%d" % free_port(), "--acl-mode", "apply",
                        "--kafka-timeout-ms", "500", "--reconcile-interval", "1",
                        "--reconcile-backoff-min-ms", "100", "--reconcile-backoff-max-ms", "400")
        register_examples(d)
        reply = d.request("GET", "/v1/acl/plan")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["actual_state"], "unknown")
        self.assertTrue(reply.json["deletes_refused"])
        self.assertIsInstance(reply.json["error"], str)
        rc, out, err = chanctl("acl", "plan", "--registry", d.url)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("cannot read the broker's ACLs", err)
        self.assertIn("deletes refused: actual state unknown", out)

        # A pass on demand runs, fails and says why.
        reply = d.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50311)
        self.assertFalse(reply.json["ok"])
        self.assertEqual(reply.json["actual_state"], "unknown")
        self.assertEqual(reply.json["deleted"], 0)
        self.assertEqual(reply.json["created"], 0)
        rc, out, err = chanctl("acl", "apply", "--registry", d.url)
        self.assertEqual(rc, 3, out + err)
        self.assertRegex(out, r"apply: 0 created, 0 deleted, 0 failed, \d+ skipped")
        status = d.status()
        self.assertGreaterEqual(status["failures"], 2)
        self.assertGreater(status["consecutive_failures"], 0)

        # The registry itself unreachable: exit 3 as well.
        rc, out, err = chanctl("acl", "plan", "--registry", "http://127.0.0.1:%d" % free_port())
        self.assertEqual(rc, 3, out + err)


class NoKafkaTest(AdmissionTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = cls.daemon()
        register_examples(cls.d)
        # a retired channel with its own principals, and billing-svc on it too
        legacy = orders_contract("legacy.orders-v0")
        legacy["deprecation_date"] = "2020-01-01"
        legacy["consumers"] = [
                {"name": "old-reader", "principal": "User:legacy-reader", "group": "legacy.g",
                 "scenario": "Reads old orders.", "sla_p99_ms": 1000, "peak_rate_msgs": 10,
                 "degradation": "drop"},
                {"name": "billing", "principal": "User:billing-svc", "group": "legacy.billing",
                 "scenario": "Old invoices.", "sla_p99_ms": 1000, "peak_rate_msgs": 7000,
                 "degradation": "drop"}]
        legacy["producers"] = [{"principal": "User:legacy-writer"}]
        # A deprecated channel takes no new consumers: create it, then deprecate it.
        del legacy["deprecation_date"]
        put_contract(cls.d, legacy)
        legacy["deprecation_date"] = "2020-01-01"
        put_contract(cls.d, legacy)
        cls.channels = cls.d.request("GET", "/v1/channels").json["channels"]

    def live_channels(self):
        today = time.strftime("%Y-%m-%d", time.gmtime())
        return [c for c in self.channels
                if not c["deprecation_date"] or c["deprecation_date"] > today]

    def test_no_kafka_work(self):
        reply = self.d.request("GET", "/v1/acl/plan")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50310)
        self.assertTrue(reply.json["message"].startswith("Kafka is not configured"), reply)
        reply = self.d.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 503, reply)
        self.assertEqual(reply.json["error_code"], 50310)
        status = self.d.status()
        self.assertFalse(status["kafka_configured"])
        self.assertFalse(status["leader"])
        self.assertIsNone(status["last_pass"])
        rc, out, err = chanctl("acl", "plan", "--registry", self.d.url)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("Kafka is not configured", err)
        log = self.d.read_log()
        self.assertNotIn("acl pass", log)
        self.assertNotIn("leadership", log)
        self.assertFalse(os.path.exists(self.d.db[len("sqlite:"):] + ".leader"))

    def test_admission_check(self):
        reply = self.d.request("GET", "/v1/admission/User:billing-svc")
        self.assertEqual(reply.status, 200, reply)
        doc = reply.json
        self.assertEqual(doc["principal"], "User:billing-svc")
        self.assertTrue(doc["registered"])
        self.assertEqual(sorted((r["channel"], r["group"], r["consumer"]) for r in doc["read"]),
                         [("orders.order-created", "billing.order-created", "billing"),
                          ("payments.payment-settled", "billing.payment-settled", "billing")])
        for r in doc["read"]:
            self.assertIn("registered consumer \"billing\"", r["reason"])
            self.assertIn("READ on group " + r["group"], r["reason"])
        self.assertEqual(doc["write"], [])
        self.assertEqual([(x["channel"], x["role"]) for x in doc["denied"]],
                         [("legacy.orders-v0", "consumer")])
        self.assertIn("retired since 2020-01-01", doc["denied"][0]["reason"])

        # The quota that applies, by the exports' rule (same figures as export strimzi).
        consumed, produced = self.quota_bytes(1024)
        self.assertEqual(doc["quota"]["consumer_byte_rate"], math.ceil(consumed["User:billing-svc"]))
        self.assertEqual(doc["quota"]["producer_byte_rate"], 0)
        self.assertEqual(doc["quota"]["default_avg_message_bytes"], 1024)
        doc = self.d.request("GET", "/v1/admission/User:billing-svc?avg_message_bytes=10"
                             "&headroom=2").json
        consumed, produced = self.quota_bytes(10)
        self.assertEqual(doc["quota"]["consumer_byte_rate"],
                         math.ceil(consumed["User:billing-svc"] * 2))
        for bad in ("avg_message_bytes=0", "avg_message_bytes=x", "headroom=0.5",
                    "headroom=nan"):
            reply = self.d.request("GET", "/v1/admission/User:billing-svc?" + bad)
            self.assertEqual(reply.status, 422, bad)
            self.assertEqual(reply.json["error_code"], 42222, bad)

        doc = self.d.request("GET", "/v1/admission/User:orders-svc").json
        consumed, produced = self.quota_bytes(1024)
        self.assertEqual(doc["quota"]["producer_byte_rate"], math.ceil(produced["User:orders-svc"]))
        self.assertGreater(doc["quota"]["producer_byte_rate"], 0)
        self.assertEqual(doc["quota"]["consumer_byte_rate"], 0)
        self.assertEqual([w["channel"] for w in doc["write"]], ["orders.order-created"])
        self.assertIn("registered producer", doc["write"][0]["reason"])
        self.assertEqual(doc["read"], [])

        doc = self.d.request("GET", "/v1/admission/User:legacy-writer").json
        self.assertEqual(doc["write"], [])
        self.assertEqual([(x["channel"], x["role"]) for x in doc["denied"]],
                         [("legacy.orders-v0", "producer")])
        # before the deprecation date the same registration grants access
        doc = self.d.request("GET", "/v1/admission/User:legacy-writer?as_of=2019-12-31").json
        self.assertEqual([w["channel"] for w in doc["write"]], ["legacy.orders-v0"])
        self.assertIn("access ends on 2020-01-01", doc["write"][0]["reason"])

        reply = self.d.request("GET", "/v1/admission/User:nobody")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual((reply.json["read"], reply.json["write"], reply.json["denied"]),
                         ([], [], []))
        self.assertFalse(reply.json["registered"])
        self.assertIn("not registered on any channel", reply.json["message"])

        reply = self.d.request("GET", "/v1/admission/billing-svc")
        self.assertEqual(reply.status, 422, reply)
        self.assertEqual(reply.json["error_code"], 42220)
        reply = self.d.request("GET", "/v1/admission/User:x?as_of=2020-13-45")
        self.assertEqual(reply.status, 422, reply)
        self.assertEqual(reply.json["error_code"], 42221)

        rc, out, err = chanctl("acl", "check", "User:billing-svc", "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        self.assertIn("read   orders.order-created: registered consumer", out)
        self.assertIn("denied legacy.orders-v0: channel legacy.orders-v0 is retired", out)
        rc, out, err = chanctl("acl", "check", "User:nobody", "--registry", self.d.url)
        self.assertEqual(rc, 1, err)
        self.assertIn("not registered on any channel", out)
        rc, out, err = chanctl("acl", "check", "nobody", "--registry", self.d.url)
        self.assertEqual(rc, 2, err)

    def principals(self):
        """Registered consumers and producers of live channels, and each consumer's peak sum."""
        rates = {}
        producers = set()
        for ch in self.live_channels():
            for c in ch["consumers"]:
                rates[c["principal"]] = rates.get(c["principal"], 0) + c["peak_rate_msgs"]
            for p in ch["producers"]:
                producers.add(p["principal"])
        return rates, producers

    def quota_bytes(self, default_size):
        """Per principal, the consumed and produced bytes/s before headroom: peak rates times
        the channel's avg_message_bytes, else the export's default size (docs: Quotas)."""
        consumed, produced = {}, {}
        for ch in self.live_channels():
            size = ch.get("avg_message_bytes") or default_size
            for c in ch["consumers"]:
                consumed[c["principal"]] = consumed.get(c["principal"], 0) + \
                    c["peak_rate_msgs"] * size
            for p in ch["producers"]:
                produced[p["principal"]] = produced.get(p["principal"], 0) + \
                    ch["peak_qps"] * size
        return consumed, produced

    def test_export_strimzi(self):
        rc, out, err = chanctl("export", "strimzi", "--cluster", "prod-kafka", "--namespace",
                               "kafka", "--avg-message-bytes", "512", "--headroom", "1.5",
                               "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        docs = [d for d in yaml.safe_load_all(out) if d is not None]
        rates, producers = self.principals()
        consumed, produced = self.quota_bytes(512)
        self.assertTrue(any(ch.get("avg_message_bytes") for ch in self.live_channels()))
        users = {d["metadata"]["name"]: d for d in docs}
        # only registered principals of live channels get a KafkaUser
        self.assertEqual(set(users), {p[len("User:"):] for p in set(rates) | producers})
        self.assertNotIn("legacy-reader", users)
        self.assertNotIn("legacy-writer", users)
        for name, d in users.items():
            self.assertEqual(d["apiVersion"], "kafka.strimzi.io/v1")
            self.assertEqual(d["kind"], "KafkaUser")
            self.assertEqual(d["metadata"]["namespace"], "kafka")
            self.assertEqual(d["metadata"]["labels"]["strimzi.io/cluster"], "prod-kafka")
            self.assertEqual(d["spec"]["authentication"]["type"], "scram-sha-512")
            self.assertEqual(d["spec"]["authorization"]["type"], "simple")
            principal = "User:" + name
            quotas = d["spec"].get("quotas", {})
            if principal in rates:
                # the retired channel's 7000 msgs/s of billing-svc do not count
                expected = math.ceil(consumed[principal] * 1.5)
                self.assertEqual(quotas["consumerByteRate"], expected, name)
            else:
                self.assertNotIn("consumerByteRate", quotas)
            if principal in producers:
                # producers get peak_qps x message size
                self.assertEqual(quotas["producerByteRate"],
                                 math.ceil(produced[principal] * 1.5), name)
            else:
                self.assertNotIn("producerByteRate", quotas)
        billing = users["billing-svc"]["spec"]["authorization"]["acls"]
        self.assertIn({"resource": {"type": "topic", "name": "orders.order-created",
                                    "patternType": "literal"},
                       "operations": ["Read", "Describe"], "host": "*", "type": "allow"}, billing)
        self.assertIn({"resource": {"type": "group", "name": "billing.order-created",
                                    "patternType": "literal"},
                       "operations": ["Read"], "host": "*", "type": "allow"}, billing)
        self.assertFalse(any(a["resource"]["name"].startswith("legacy") for a in billing))

        # defaults: cluster my-cluster, 1024-byte messages, no namespace
        rc, out, err = chanctl("export", "strimzi", "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        docs = {d["metadata"]["name"]: d for d in yaml.safe_load_all(out) if d}
        self.assertEqual(docs["billing-svc"]["metadata"]["labels"]["strimzi.io/cluster"],
                         "my-cluster")
        self.assertNotIn("namespace", docs["billing-svc"]["metadata"])
        consumed, _ = self.quota_bytes(1024)
        self.assertEqual(docs["billing-svc"]["spec"]["quotas"]["consumerByteRate"],
                         math.ceil(consumed["User:billing-svc"]))

    def test_export_kafka_configs(self):
        rc, out, err = chanctl("export", "kafka-configs", "--bootstrap-server", "kafka-0:9093",
                               "--command-config", "/etc/kafka/admin.properties",
                               "--avg-message-bytes", "100", "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        rates, producers = self.principals()
        acl_principals, quotas = set(), {}
        for line in out.splitlines():
            if not line or line.startswith("#") or line == "set -eu":
                continue
            words = shlex.split(line)
            self.assertEqual(words[1:5], ["--bootstrap-server", "kafka-0:9093",
                                          "--command-config", "/etc/kafka/admin.properties"])
            if words[0] == "kafka-acls.sh":
                self.assertIn("--add", words)
                acl_principals.add(words[words.index("--allow-principal") + 1])
            else:
                self.assertEqual(words[0], "kafka-configs.sh")
                config = words[words.index("--add-config") + 1]
                quotas["User:" + words[words.index("--entity-name") + 1]] = config
        self.assertEqual(acl_principals, set(rates) | producers)
        consumed, produced = self.quota_bytes(100)
        expected = {}
        for p in set(consumed) | set(produced):
            parts = []
            if p in consumed:
                parts.append("consumer_byte_rate=%d" % math.ceil(consumed[p]))
            if p in produced:
                parts.append("producer_byte_rate=%d" % math.ceil(produced[p]))
            expected[p] = ",".join(parts)
        self.assertEqual(quotas, expected)
        self.assertIn("kafka-acls.sh --bootstrap-server 'kafka-0:9093' --command-config "
                      "'/etc/kafka/admin.properties' --add --allow-principal 'User:billing-svc' "
                      "--allow-host '*' --operation Read --operation Describe --topic "
                      "'orders.order-created' --resource-pattern-type literal\n", out)

    def test_export_usage_errors(self):
        for args in (["export", "kafka-configs"],
                     ["export", "strimzi", "--headroom", "0.5"],
                     ["export", "strimzi", "--avg-message-bytes", "-3"],
                     ["export", "strimzi", "--bootstrap-server", "k:1"],
                     ["export", "nothing"],
                     ["export", "strimzi", "--as-of", "yesterday"]):
            rc, out, err = chanctl(*args, "--registry", self.d.url)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(out, "")
        rc, out, err = chanctl("export", "strimzi", "--cluster", "Not A Label!",
                               "--registry", self.d.url)
        self.assertEqual(rc, 1, err)
        self.assertIn("not a valid label value", err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
