"""test_audit.py - GET /v1/audit, and data surviving a restart of chanregd.

Run: CHANREGD=... python3 test_audit.py
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from channels_harness import (  # noqa: E402
    RFC3339,
    TOKENS,
    ChannelsTestCase,
    Daemon,
    consumer_body,
    orders_contract,
    register_orders_schemas,
    schema_text,
)


class AuditTest(ChannelsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.channel = "audit.orders"
        reply = cls.d.request("PUT", "/v1/channels/" + cls.channel,
                              body=orders_contract(cls.channel))
        assert reply.status == 201, reply
        base = "/v1/channels/%s/consumers/" % cls.channel
        for method, path, body, token in [
            ("PUT", base + "fraud", consumer_body(), TOKENS["alice"]),
            ("POST", base + "fraud/renew", None, TOKENS["ci-bot"]),
            ("DELETE", base + "fraud", None, TOKENS["alice"]),
        ]:
            reply = cls.d.request(method, path, body=body, token=token)
            assert reply.status in (200, 201), reply

    def test_entries(self):
        reply = self.d.request("GET", "/v1/audit")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(set(reply.json), {"entries", "next", "next_cursor", "total"})
        entries = reply.json["entries"]
        # 3 schema versions, then the channel and the consumer's life.
        self.assertEqual([(e["action"], e["object"], e["actor"]) for e in entries], [
            ("schema.register", "subject/orders.order-created-value/1", "ci-bot"),
            ("schema.register", "subject/orders.order-created-value/2", "ci-bot"),
            ("schema.register", "subject/orders.order-created-value/3", "ci-bot"),
            ("channel.create", "channel/audit.orders", "ci-bot"),
            ("consumer.register", "channel/audit.orders/consumer/fraud", "alice"),
            ("consumer.renew", "channel/audit.orders/consumer/fraud", "ci-bot"),
            ("consumer.remove", "channel/audit.orders/consumer/fraud", "alice"),
        ])
        ids = [e["id"] for e in entries]
        self.assertEqual(ids, sorted(set(ids)))
        self.assertEqual(reply.json["next"], ids[-1])
        for e in entries:
            self.assertEqual(set(e), {"id", "ts", "actor", "action", "object", "detail"})
            self.assertRegex(e["ts"], RFC3339)
        create = entries[3]["detail"]
        self.assertIsInstance(create, dict)
        self.assertEqual(create["revision"], 1)
        self.assertEqual(create["consumers"]["added"], ["billing", "analytics"])
        self.assertEqual(entries[4]["detail"]["principal"], "User:fraud-svc")

    def test_paging_and_prefix(self):
        everything = self.audit()
        first = self.d.request("GET", "/v1/audit?limit=2").json
        self.assertEqual(first["entries"], everything[:2])
        self.assertEqual(first["next"], everything[1]["id"])
        rest = self.d.request("GET", "/v1/audit?after=%d&limit=1000" % first["next"]).json
        self.assertEqual(rest["entries"], everything[2:])
        end = self.d.request("GET", "/v1/audit?after=%d" % rest["next"]).json
        self.assertEqual(end, {"entries": [], "next": rest["next"], "next_cursor": None,
                               "total": 0})

        reply = self.d.request("GET", "/v1/audit?object=channel%2Faudit.orders%2Fconsumer%2F")
        self.assertEqual([e["action"] for e in reply.json["entries"]],
                         ["consumer.register", "consumer.renew", "consumer.remove"])
        reply = self.d.request("GET", "/v1/audit?object=subject%%2F&after=%d" % everything[0]["id"])
        self.assertEqual([e["object"] for e in reply.json["entries"]],
                         ["subject/orders.order-created-value/2",
                          "subject/orders.order-created-value/3"])
        reply = self.d.request("GET", "/v1/audit?object=nothing%2F")
        self.assertEqual(reply.json["entries"], [])

    def test_bad_numbers(self):
        for query in ("after=-1", "after=x", "after=", "limit=0", "limit=1001", "limit=ten",
                      "limit=1e2", "after=18446744073709551616"):
            with self.subTest(query=query):
                reply = self.d.request("GET", "/v1/audit?" + query)
                self.assertError(reply, 422, 42202, query.split("=")[0])
        self.assertEqual(len(self.d.request("GET", "/v1/audit?limit=1000").json["entries"]), 7)

    def test_readable_without_token(self):
        reply = self.d.request("GET", "/v1/audit?limit=1", token=None)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(len(reply.json["entries"]), 1)


class RestartTest(ChannelsTestCase):
    @classmethod
    def setUpClass(cls):
        cls.d = None  # each test starts its own

    def test_data_survives_restart(self):
        d = Daemon()
        self.addCleanup(self.check_daemon, d)
        d.start()
        register_orders_schemas(d)
        contract = orders_contract("restart.orders")
        self.assertEqual(d.request("PUT", "/v1/channels/restart.orders", body=contract).status,
                         201)
        self.assertEqual(d.request("PUT", "/v1/channels/restart.orders/consumers/fraud",
                                   body=consumer_body()).status, 201)
        self.assertEqual(d.request("PUT", "/v1/channels/restart.orders/consumers/extra",
                                   body=consumer_body(group="extra.g")).status, 201)
        self.assertEqual(d.request("DELETE", "/v1/channels/restart.orders/consumers/extra")
                         .status, 200)
        before = d.request("GET", "/v1/channels/restart.orders").json
        audit_before = d.request("GET", "/v1/audit").json
        self.assertEqual(d.stop(), 0, d.read_log())

        d.start()
        after = d.request("GET", "/v1/channels/restart.orders")
        self.assertEqual(after.status, 200, after)
        self.assertEqual(after.json, before)
        self.assertEqual([c["name"] for c in after.json["consumers"]],
                         ["analytics", "billing", "fraud"])
        self.assertEqual(d.request("GET", "/v1/audit").json, audit_before)
        # The contract manages its own consumers only: the one registered through the API
        # stays and is reported as drift; nothing changes.
        reply = d.request("PUT", "/v1/channels/restart.orders", body=contract)
        self.assertEqual((reply.json["revision"], reply.json["changed"]), (4, False), reply)
        self.assertEqual([c["name"] for c in reply.json["drift"]], ["fraud"])
        got = d.request("GET", "/v1/channels/restart.orders").json
        self.assertEqual([c["name"] for c in got["consumers"]], ["analytics", "billing", "fraud"])
        self.assertEqual(d.stop(), 0, d.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
