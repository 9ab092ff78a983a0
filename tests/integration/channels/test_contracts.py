"""test_contracts.py - PUT/GET/DELETE /v1/channels against a real chanregd.

Run: CHANREGD=... python3 test_contracts.py
"""

import copy
import http.client
import json
import os
import sys
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanregd import wait_past
from channels_harness import (  # noqa: E402
    RFC3339,
    TOKENS,
    ChannelsTestCase,
    orders_contract,
    unique,
)


class PutChannelTest(ChannelsTestCase):
    def test_create_then_same_contract_changes_nothing(self):
        contract = orders_contract(unique("orders.created"))
        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 201, reply)
        self.assertEqual(reply.json, {"name": contract["channel"], "revision": 1,
                                      "changed": True, "drift": [], "adopted": [],
                                      "dry_run": False, "compatibility_allowed": True})
        entries = self.audit("channel/" + contract["channel"])
        self.assertEqual([e["action"] for e in entries], ["channel.create"])

        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json, {"name": contract["channel"], "revision": 1,
                                      "changed": False, "drift": [], "adopted": [],
                                      "dry_run": False, "compatibility_allowed": True})
        self.assertEqual(self.audit("channel/" + contract["channel"]), entries)

    def test_update_increments_revision(self):
        contract = orders_contract(unique("orders.created"))
        self.create(contract)
        contract["peak_qps"] = 2400
        del contract["consumers"][1]
        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["revision"], 2)
        self.assertTrue(reply.json["changed"])
        got = self.d.request("GET", "/v1/channels/" + contract["channel"]).json
        self.assertEqual(got["peak_qps"], 2400)
        self.assertEqual(got["revision"], 2)
        self.assertEqual([c["name"] for c in got["consumers"]], ["billing"])
        self.assertEqual(got["contract"]["peak_qps"], 2400)
        entries = self.audit("channel/" + contract["channel"])
        self.assertEqual([e["action"] for e in entries], ["channel.create", "channel.update"])
        self.assertIn("peak_qps", entries[1]["detail"]["changed"])
        self.assertEqual(entries[1]["detail"]["consumers"]["removed"], ["analytics"])

    def test_update_keeps_registration_time_of_consumers(self):
        contract = orders_contract(unique("orders.created"))
        self.create(contract)
        before = self.d.request("GET", "/v1/channels/" + contract["channel"]).json
        wait_past(before["updated_at"])
        contract["consumers"][0]["sla_p99_ms"] = 3000
        reply = self.put_contract(contract)
        self.assertEqual((reply.status, reply.json["revision"]), (200, 2), reply)
        after = self.d.request("GET", "/v1/channels/" + contract["channel"]).json
        self.assertGreater(after["updated_at"], before["updated_at"])
        self.assertEqual(after["created_at"], before["created_at"])
        old = {c["name"]: c for c in before["consumers"]}
        new = {c["name"]: c for c in after["consumers"]}
        self.assertEqual(new["billing"]["sla_p99_ms"], 3000)
        self.assertEqual(new["billing"]["registered_at"], old["billing"]["registered_at"])
        self.assertEqual(new["analytics"], old["analytics"])

    def test_body_over_the_limit(self):
        contract = orders_contract(unique("orders.created"))
        contract["description"] = "x" * (2 * 1024 * 1024)
        try:
            reply = self.put_contract(contract)
        except (OSError, http.client.HTTPException):
            reply = None  # the server may close the connection before the body is sent
        if reply is not None:
            self.assertError(reply, 413, 41300)
        self.assertError(self.d.request("GET", "/v1/channels/" + contract["channel"]), 404, 40410)

    def test_invalid_contract_reports_every_error_with_position(self):
        contract = orders_contract(unique("orders.created"))
        contract["peak_qps"] = "lots"
        contract["consumers"][0]["principal"] = "billing-svc"
        contract["consumers"][1]["degradation"] = "panic"
        contract["colour"] = "blue"
        text = json.dumps(contract, indent=2)
        lines = text.splitlines()
        reply = self.d.request("PUT", "/v1/channels/" + contract["channel"],
                               raw=text.encode("utf-8"))
        self.assertError(reply, 422, 42210, "Contract is invalid: 4 errors")
        errors = {e["path"]: e for e in reply.json["errors"]}
        self.assertEqual(set(errors), {"peak_qps", "consumers[0].principal",
                                       "consumers[1].degradation", "colour"})

        def position(needle):
            for i, line in enumerate(lines):
                if needle in line:
                    return i + 1, line.index(needle) + 1
            self.fail("%r not in the body" % needle)

        self.assertEqual(errors["peak_qps"]["rule"], "wrong-type")
        self.assertEqual((errors["peak_qps"]["line"], errors["peak_qps"]["column"]),
                         position('"lots"'))
        self.assertEqual(errors["consumers[0].principal"]["rule"], "invalid-principal")
        self.assertEqual((errors["consumers[0].principal"]["line"],
                          errors["consumers[0].principal"]["column"]), position('"billing-svc"'))
        self.assertEqual(errors["consumers[1].degradation"]["line"], position('"panic"')[0])
        self.assertEqual(errors["colour"]["rule"], "unknown-field")
        self.assertEqual(errors["colour"]["line"], position('"colour"')[0])
        for e in reply.json["errors"]:
            self.assertIn("message", e)
        self.assertError(self.d.request("GET", "/v1/channels/" + contract["channel"]), 404, 40410)

    def test_missing_mandatory_consumer_field(self):
        contract = orders_contract(unique("orders.created"))
        del contract["consumers"][0]["sla_p99_ms"]
        reply = self.put_contract(contract)
        self.assertError(reply, 422, 42210)
        self.assertEqual([(e["rule"], e["path"]) for e in reply.json["errors"]
                          if e["severity"] == "error"],
                         [("missing-field", "consumers[0].sla_p99_ms")])

    def test_channel_must_match_url(self):
        contract = orders_contract(unique("orders.created"))
        other = unique("orders.other")
        reply = self.put_contract(contract, name=other)
        self.assertError(reply, 422, 42210, "does not match")
        self.assertEqual(reply.json["errors"][0]["path"], "channel")
        self.assertIn(contract["channel"], reply.json["errors"][0]["message"])
        self.assertError(self.d.request("GET", "/v1/channels/" + other), 404, 40410)
        self.assertError(self.d.request("GET", "/v1/channels/" + contract["channel"]), 404, 40410)

    def test_schema_versions_must_be_registered(self):
        contract = orders_contract(unique("orders.created"))
        contract["schema"]["versions"] = [{"version": 5}, {"version": 4}, {"version": 3}]
        reply = self.put_contract(contract)
        self.assertError(reply, 422, 42211, "Schema versions 5, 4 of subject "
                                            "'orders.order-created-value' are not registered")
        self.assertEqual([e["path"] for e in reply.json["errors"]],
                         ["schema.versions[0]", "schema.versions[1]"])
        contract["schema"]["subject"] = "nobody.registered-this-value"
        contract["schema"]["versions"] = [{"version": 1}]
        reply = self.put_contract(contract)
        self.assertError(reply, 422, 42211, "Schema version 1 of subject "
                                            "'nobody.registered-this-value' is not registered")
        self.assertError(self.d.request("GET", "/v1/channels/" + contract["channel"]), 404, 40410)

    def test_expected_revision(self):
        contract = orders_contract(unique("orders.created"))
        path = "/v1/channels/" + contract["channel"]
        reply = self.put_contract(contract, "?expected_revision=1")
        self.assertError(reply, 409, 40910, "expected_revision=1")
        reply = self.put_contract(contract, "?expected_revision=0")
        self.assertEqual(reply.status, 201, reply)
        self.assertError(self.put_contract(contract, "?expected_revision=0"), 409, 40910,
                         "revision 1")
        contract["retention_hours"] = 24
        reply = self.put_contract(contract, "?expected_revision=1")
        self.assertEqual((reply.status, reply.json["revision"]), (200, 2), reply)
        contract["retention_hours"] = 48
        self.assertError(self.put_contract(contract, "?expected_revision=1"), 409, 40910)
        self.assertEqual(self.d.request("GET", path).json["retention_hours"], 24)
        for bad in ("abc", "-1", "1.5", "", "99999999999999999999"):
            self.assertError(self.put_contract(contract, "?expected_revision=" + bad), 422,
                             42202, "expected_revision")
        self.assertEqual(self.d.request("GET", path).json["revision"], 2)

    def test_body_must_be_a_json_object(self):
        name = unique("orders.created")
        path = "/v1/channels/" + name
        self.assertError(self.d.request("PUT", path, raw=b"{\"channel\": "), 400, 40001,
                         "Invalid JSON")
        self.assertError(self.d.request("PUT", path, raw=b"channel: x\nowner: y\n"), 400, 40001)
        self.assertError(self.d.request("PUT", path, raw=b""), 400, 40001, "empty")
        self.assertError(self.d.request("PUT", path, raw=b"[1, 2]"), 422, 42200)
        self.assertError(self.d.request("PUT", path, raw=b"{\"a\": \"\\u0000\"}"), 400, 40001)
        self.assertError(self.d.request("PUT", path, raw=b"{\"a\": \"\xff\"}"), 400, 40001)
        self.assertError(self.d.request("GET", path), 404, 40410)

    def test_non_ascii_text_round_trips(self):
        contract = orders_contract(unique("orders.created"))
        contract["description"] = "Commande pass\u00e9e \U0001F4E6 \u2014 \u6ce8\u6587"
        # json.dumps escapes non-ASCII, emoji as a surrogate pair.
        self.assertIn("\\ud83d\\udce6", json.dumps(contract))
        self.create(contract)
        got = self.d.request("GET", "/v1/channels/" + contract["channel"]).json
        self.assertEqual(got["contract"]["description"], contract["description"])

    def test_duplicate_keys_are_reported(self):
        contract = orders_contract(unique("orders.created"))
        text = json.dumps(contract)
        text = text.replace('"peak_qps": 1200', '"peak_qps": 1200, "peak_qps": 1300', 1)
        reply = self.d.request("PUT", "/v1/channels/" + contract["channel"],
                               raw=text.encode("utf-8"))
        self.assertError(reply, 422, 42210)
        self.assertIn("duplicate-key", [e["rule"] for e in reply.json["errors"]])

    def test_concurrent_creates_with_expected_revision(self):
        contract = orders_contract(unique("orders.created"))
        replies = []

        def put():
            replies.append(self.put_contract(contract, "?expected_revision=0"))

        threads = [threading.Thread(target=put) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(r.status for r in replies), [201] + [409] * 7, replies)
        for r in replies:
            if r.status == 409:
                self.assertError(r, 409, 40910)
        self.assertEqual(len(self.audit("channel/" + contract["channel"])), 1)

    def test_name_that_is_not_utf8(self):
        reply = self.d.request("GET", "/v1/channels/%FF")
        self.assertError(reply, 422, 42200, "Channel name is not valid UTF-8")
        reply = self.d.request("DELETE", "/v1/channels/%FF")
        self.assertError(reply, 422, 42200, "Channel name is not valid UTF-8")

    def test_writes_need_a_token(self):
        contract = orders_contract(unique("orders.created"))
        self.assertError(self.put_contract(contract, token=None), 401, 401)
        self.assertError(self.put_contract(contract, token="not-a-token"), 401, 401)
        self.assertError(self.d.request("GET", "/v1/channels/" + contract["channel"],
                                        token=None), 404, 40410)
        self.create(contract)
        reply = self.d.request("GET", "/v1/channels/" + contract["channel"], token=None)
        self.assertEqual(reply.status, 200, reply)
        self.assertError(self.d.request("DELETE", "/v1/channels/" + contract["channel"],
                                        token=None), 401, 401)
        self.assertEqual(self.d.request("GET", "/v1/channels/" + contract["channel"]).status, 200)


class GetChannelTest(ChannelsTestCase):
    def test_get_returns_the_stored_channel(self):
        contract = orders_contract(unique("orders.created"))
        self.create(contract)
        reply = self.d.request("GET", "/v1/channels/" + contract["channel"])
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.headers["Content-Type"], "application/json")
        got = reply.json
        self.assertEqual(set(got), {"name", "revision", "created_at", "updated_at", "owner_team",
                                    "maintainer", "peak_qps", "retention_hours",
                                    "deprecation_date", "retirement_date", "subject", "compatibility",
                                    "version", "contract",
                                    "consumers", "producers"})
        self.assertIsNone(got["version"])  # the contract declares none
        self.assertEqual(got["name"], contract["channel"])
        self.assertEqual(got["revision"], 1)
        self.assertRegex(got["created_at"], RFC3339)
        self.assertEqual(got["updated_at"], got["created_at"])
        self.assertEqual(got["owner_team"], "orders")
        self.assertEqual(got["maintainer"], "orders-oncall@example.com")
        self.assertEqual((got["peak_qps"], got["retention_hours"]), (1200, 168))
        self.assertIsNone(got["deprecation_date"])
        self.assertIsNone(got["retirement_date"])
        self.assertEqual(got["subject"], "orders.order-created-value")
        self.assertEqual(got["compatibility"], "BACKWARD_TRANSITIVE")
        self.assertEqual(got["contract"], contract)
        self.assertEqual([c["name"] for c in got["consumers"]], ["analytics", "billing"])
        billing = got["consumers"][1]
        self.assertEqual(set(billing), {"name", "principal", "group", "scenario", "sla_p99_ms",
                                        "peak_rate_msgs", "degradation", "registered_at",
                                        "renewed_at", "age_days", "stale", "origin", "state",
                                        "requester_team", "requested_by", "decided_by",
                                        "decided_at", "decision_reason"})
        self.assertEqual((billing["origin"], billing["state"]), ("contract", "approved"))
        self.assertIs(billing["stale"], False)
        expected = dict(contract["consumers"][0])
        for key, value in expected.items():
            self.assertEqual(billing[key], value, key)
        self.assertRegex(billing["registered_at"], RFC3339)
        self.assertEqual(billing["renewed_at"], billing["registered_at"])
        self.assertEqual(billing["age_days"], 0)
        self.assertEqual(got["producers"], [{"principal": "User:orders-svc"}])

    def test_unknown_channel(self):
        reply = self.d.request("GET", "/v1/channels/no.such-channel")
        self.assertError(reply, 404, 40410)
        self.assertEqual(reply.json["message"], "Channel 'no.such-channel' not found.")
        self.assertNotIn("errors", reply.json)

    def test_percent_encoded_name(self):
        reply = self.d.request("GET", "/v1/channels/a%2Fb")
        self.assertError(reply, 404, 40410, "Channel 'a/b' not found.")


class ListChannelsTest(ChannelsTestCase):
    def test_filters(self):
        a = orders_contract("list.b-payments", team="payments")
        b = orders_contract("list.a-orders", team="orders")
        c = orders_contract("list.c-old", team="orders")
        c["deprecation_date"] = "2020-01-31"
        d = orders_contract("list.d-later", team="orders")
        d["deprecation_date"] = "2999-12-31"
        for contract in (a, b, c, d):
            # A deprecated channel takes no new consumers: create it, then deprecate it.
            date = contract.pop("deprecation_date", None)
            self.create(contract)
            if date:
                contract["deprecation_date"] = date
                self.assertEqual(self.put_contract(contract).status, 200)

        def names(query=""):
            reply = self.d.request("GET", "/v1/channels" + query)
            self.assertEqual(reply.status, 200, reply)
            self.assertEqual(set(reply.json), {"channels", "next_cursor", "total"})
            return [ch["name"] for ch in reply.json["channels"]
                    if ch["name"].startswith("list.")]

        self.assertEqual(names(), ["list.a-orders", "list.b-payments", "list.c-old",
                                   "list.d-later"])
        self.assertEqual(names("?owner_team=orders"), ["list.a-orders", "list.c-old",
                                                       "list.d-later"])
        self.assertEqual(names("?owner_team=payments"), ["list.b-payments"])
        self.assertEqual(names("?maintainer=payments-oncall%40example.com"), ["list.b-payments"])
        self.assertEqual(names("?owner_team=nobody"), [])
        self.assertEqual(names("?deprecated=true"), ["list.c-old"])
        self.assertEqual(names("?deprecated=false"), ["list.a-orders", "list.b-payments",
                                                      "list.d-later"])
        self.assertEqual(names("?deprecated=true&owner_team=payments"), [])
        self.assertError(self.d.request("GET", "/v1/channels?deprecated=maybe"), 400, 40002)

        entries = self.d.request("GET", "/v1/channels?owner_team=orders").json["channels"]
        old = [ch for ch in entries if ch["name"] == "list.c-old"][0]
        self.assertNotIn("contract", old)
        self.assertEqual(old["deprecation_date"], "2020-01-31")
        self.assertEqual(len(old["consumers"]), 2)
        self.assertEqual(old["producers"], [{"principal": "User:orders-svc"}])


class DeleteChannelTest(ChannelsTestCase):
    def test_delete(self):
        contract = orders_contract(unique("orders.created"))
        path = "/v1/channels/" + contract["channel"]
        self.create(contract)
        reply = self.d.request("DELETE", path)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json, {"name": contract["channel"], "deleted": True})
        self.assertError(self.d.request("GET", path), 404, 40410)
        self.assertError(self.d.request("GET", path + "/consumers"), 404, 40410)
        self.assertError(self.d.request("DELETE", path), 404, 40410,
                         "Channel '%s' not found." % contract["channel"])
        actions = [(e["action"], e["actor"]) for e in self.audit("channel/" + contract["channel"])]
        self.assertEqual(actions, [("channel.create", "ci-bot"), ("channel.delete", "ci-bot")])
        # Created again, it starts over at revision 1.
        reply = self.put_contract(copy.deepcopy(contract), token=TOKENS["alice"])
        self.assertEqual((reply.status, reply.json["revision"]), (201, 1), reply)


if __name__ == "__main__":
    unittest.main(verbosity=2)
