"""test_consumers.py - /v1/channels/{name}/consumers against a real chanregd.

Run: CHANREGD=... python3 test_consumers.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanregd import wait_past
from channels_harness import (  # noqa: E402
    RFC3339,
    TOKENS,
    ChannelsTestCase,
    consumer_body,
    orders_contract,
    unique,
)


class ConsumersTest(ChannelsTestCase):
    def setUp(self):
        self.contract = orders_contract(unique("orders.created"))
        self.create(self.contract)
        self.base = "/v1/channels/%s/consumers" % self.contract["channel"]

    def channel(self):
        reply = self.d.request("GET", "/v1/channels/" + self.contract["channel"])
        self.assertEqual(reply.status, 200, reply)
        return reply.json

    def test_list(self):
        reply = self.d.request("GET", self.base)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(set(reply.json), {"consumers", "next_cursor", "total"})
        self.assertEqual([c["name"] for c in reply.json["consumers"]], ["analytics", "billing"])
        self.assertEqual((reply.json["next_cursor"], reply.json["total"]), (None, 2))
        self.assertEqual(reply.json["consumers"], self.channel()["consumers"])
        self.assertError(self.d.request("GET", "/v1/channels/no.such/consumers"), 404, 40410,
                         "Channel 'no.such' not found.")

    def test_register_update_and_reregister(self):
        reply = self.d.request("PUT", self.base + "/fraud", body=consumer_body())
        self.assertEqual(reply.status, 201, reply)
        fraud = reply.json
        expected = dict(consumer_body(), name="fraud", age_days=0)
        for key, value in expected.items():
            self.assertEqual(fraud[key], value, key)
        self.assertRegex(fraud["registered_at"], RFC3339)
        self.assertEqual(self.channel()["revision"], 2)
        self.assertIn(fraud, self.channel()["consumers"])

        # The same registration again: 200, nothing but renewed_at changes.
        reply = self.d.request("PUT", self.base + "/fraud", body=consumer_body())
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["registered_at"], fraud["registered_at"])
        self.assertEqual(self.channel()["revision"], 2)

        reply = self.d.request("PUT", self.base + "/fraud",
                               body=consumer_body(sla_p99_ms=250, degradation="fallback"),
                               token=TOKENS["alice"])
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual((reply.json["sla_p99_ms"], reply.json["degradation"]),
                         (250, "fallback"))
        self.assertEqual(reply.json["registered_at"], fraud["registered_at"])
        self.assertEqual(self.channel()["revision"], 3)
        entries = self.audit("channel/%s/consumer/fraud" % self.contract["channel"])
        self.assertEqual(entries[0]["action"], "consumer.register")
        self.assertEqual(entries[0]["actor"], "ci-bot")
        self.assertEqual((entries[-1]["action"], entries[-1]["actor"]),
                         ("consumer.update", "alice"))
        self.assertEqual(entries[-1]["detail"]["sla_p99_ms"], 250)

    def test_invalid_bodies(self):
        cases = [
            ({}, {("missing-field", k) for k in consumer_body()}),
            (consumer_body(principal="fraud-svc"), {("invalid-principal", "principal")}),
            (consumer_body(principal="User:"), {("invalid-principal", "principal")}),
            (consumer_body(principal="User:a b"), {("invalid-principal", "principal")}),
            (consumer_body(group="no spaces"), {("invalid-name", "group")}),
            (consumer_body(scenario=""), {("invalid-value", "scenario")}),
            (consumer_body(scenario="x" * 5000), {("invalid-value", "scenario")}),
            (consumer_body(sla_p99_ms=0), {("invalid-value", "sla_p99_ms")}),
            (consumer_body(sla_p99_ms=-5), {("invalid-value", "sla_p99_ms")}),
            (consumer_body(sla_p99_ms=86400001), {("invalid-value", "sla_p99_ms")}),
            (consumer_body(sla_p99_ms="100"), {("wrong-type", "sla_p99_ms")}),
            (consumer_body(sla_p99_ms=1.5), {("wrong-type", "sla_p99_ms")}),
            (consumer_body(peak_rate_msgs=True), {("wrong-type", "peak_rate_msgs")}),
            (consumer_body(peak_rate_msgs=None), {("wrong-type", "peak_rate_msgs")}),
            (consumer_body(degradation="panic"), {("invalid-value", "degradation")}),
            (consumer_body(degradation="LAG"), {("invalid-value", "degradation")}),
            (consumer_body(principal=7), {("wrong-type", "principal")}),
            (consumer_body(group=["a"]), {("wrong-type", "group")}),
            (consumer_body(name="fraud"), {("unknown-field", "name")}),
            (consumer_body(principal="User:\u00e9t\u00e9 " + "x" * 300),
             {("invalid-principal", "principal")}),
            (consumer_body(**{"\u65e5\u672c" * 50: 1}), {("unknown-field", "\u65e5\u672c" * 50)}),
            (consumer_body(sla_p99_ms=0, degradation="x", colour="red"),
             {("invalid-value", "sla_p99_ms"), ("invalid-value", "degradation"),
              ("unknown-field", "colour")}),
        ]
        for body, expected in cases:
            with self.subTest(body=body):
                reply = self.d.request("PUT", self.base + "/fraud", body=body)
                self.assertError(reply, 422, 42210, "Consumer is invalid")
                got = {(e["rule"], e["path"]) for e in reply.json["errors"]}
                self.assertEqual(got, expected)
                for e in reply.json["errors"]:
                    self.assertTrue(e["message"], e)
                    self.assertLess(len(e["message"]), 200, e)
        reply = self.d.request("PUT", self.base + "/Fraud%20Team", body=consumer_body())
        self.assertError(reply, 422, 42210)
        self.assertEqual([e["path"] for e in reply.json["errors"]], ["name"])
        reply = self.d.request("PUT", self.base + "/fr%C3%A9ud", body=consumer_body())
        self.assertError(reply, 422, 42210)
        self.assertEqual(reply.json["errors"][0]["message"], 'invalid consumer name "fr??ud"')
        self.assertError(self.d.request("PUT", self.base + "/fraud", raw=b"{"), 400, 40001)
        self.assertError(self.d.request("PUT", self.base + "/fraud", raw=b"[]"), 422, 42200)
        self.assertEqual([c["name"] for c in self.channel()["consumers"]],
                         ["analytics", "billing"])
        self.assertEqual(self.channel()["revision"], 1)

    def test_group_of_another_consumer(self):
        reply = self.d.request("PUT", self.base + "/fraud",
                               body=consumer_body(group="billing.order-created"))
        self.assertError(reply, 422, 42210)
        self.assertEqual([(e["rule"], e["path"]) for e in reply.json["errors"]],
                         [("duplicate-consumer", "group")])
        self.assertIn("billing", reply.json["errors"][0]["message"])
        # A consumer keeps its own group when it is updated.
        reply = self.d.request("PUT", self.base + "/fraud", body=consumer_body())
        self.assertEqual(reply.status, 201, reply)
        reply = self.d.request("PUT", self.base + "/fraud",
                               body=consumer_body(sla_p99_ms=500))
        self.assertEqual(reply.status, 200, reply)

    def test_unknown_channel(self):
        reply = self.d.request("PUT", "/v1/channels/no.such/consumers/fraud",
                               body=consumer_body())
        self.assertError(reply, 404, 40410, "Channel 'no.such' not found.")
        self.assertError(self.d.request("POST", "/v1/channels/no.such/consumers/fraud/renew"),
                         404, 40410)
        self.assertError(self.d.request("DELETE", "/v1/channels/no.such/consumers/fraud"),
                         404, 40410)

    def test_writes_need_a_token(self):
        self.assertError(self.d.request("PUT", self.base + "/fraud", body=consumer_body(),
                                        token=None), 401, 401)
        self.assertError(self.d.request("POST", self.base + "/billing/renew", token=None),
                         401, 401)
        self.assertError(self.d.request("DELETE", self.base + "/billing", token=None), 401, 401)
        self.assertEqual(self.d.request("GET", self.base, token=None).status, 200)
        self.assertEqual([c["name"] for c in self.channel()["consumers"]],
                         ["analytics", "billing"])

    def test_renew(self):
        before = {c["name"]: c for c in self.channel()["consumers"]}["billing"]
        wait_past(before["renewed_at"])
        reply = self.d.request("POST", self.base + "/billing/renew")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["name"], "billing")
        self.assertEqual(reply.json["registered_at"], before["registered_at"])
        self.assertGreater(reply.json["renewed_at"], before["renewed_at"])
        self.assertEqual(reply.json["age_days"], 0)
        after = {c["name"]: c for c in self.channel()["consumers"]}["billing"]
        self.assertEqual(after, reply.json)
        self.assertEqual(self.audit("channel/%s/consumer/billing" % self.contract["channel"])
                         [-1]["action"], "consumer.renew")
        reply = self.d.request("POST", self.base + "/fraud/renew")
        self.assertError(reply, 404, 40411, "Consumer 'fraud' of channel '%s' not found."
                         % self.contract["channel"])

    def test_delete(self):
        self.assertEqual(self.d.request("PUT", self.base + "/fraud", body=consumer_body()).status,
                         201)
        reply = self.d.request("DELETE", self.base + "/fraud")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json, {"channel": self.contract["channel"], "consumer": "fraud",
                                      "deleted": True})
        self.assertEqual([c["name"] for c in self.channel()["consumers"]],
                         ["analytics", "billing"])
        self.assertError(self.d.request("DELETE", self.base + "/fraud"), 404, 40411)
        self.assertEqual(self.audit("channel/%s/consumer/fraud" % self.contract["channel"])
                         [-1]["action"], "consumer.remove")
        # A contract consumer goes with its contract, not over the API.
        self.assertError(self.d.request("DELETE", self.base + "/billing"), 409, 40913,
                         "managed by the contract")


class DeprecatedChannelTest(ChannelsTestCase):
    def test_no_new_consumers_after_deprecation(self):
        contract = orders_contract(unique("orders.legacy"))
        base = "/v1/channels/%s/consumers" % contract["channel"]
        self.assertEqual(self.put_contract(contract).status, 201)
        reply = self.d.request("PUT", base + "/billing-api",
                               body=consumer_body(group="billing.api"))
        self.assertEqual(reply.status, 201, reply)
        contract["deprecation_date"] = "2021-06-30"
        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 200, reply)

        reply = self.d.request("PUT", base + "/fraud", body=consumer_body())
        self.assertError(reply, 409, 40912, "2021-06-30")
        self.assertNotIn("fraud", [c["name"] for c in self.d.request("GET", base).json
                                   ["consumers"]])
        # An existing consumer may still change.
        reply = self.d.request("PUT", base + "/billing-api",
                               body=consumer_body(group="billing.api"))
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["principal"], "User:fraud-svc")

        # Deprecation in the future: registrations are still accepted.
        contract["deprecation_date"] = "2999-01-01"
        self.assertEqual(self.put_contract(contract).status, 200)
        reply = self.d.request("PUT", base + "/fraud", body=consumer_body())
        self.assertEqual(reply.status, 201, reply)


if __name__ == "__main__":
    unittest.main(verbosity=2)
