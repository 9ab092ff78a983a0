"""test_ui_api.py - what the web UI relies on, over plain HTTP (integration.ui.api):

- GET /ui/ and its files: content types, the security headers (CSP without
  inline script, frame-ancestors 'none', nosniff), ETag and 304, public
  even with --auth-reads, 404 40400 for an unknown file;
- GET /v1/channels/{name}/schema-diff: the library's field-level diff and
  compatibility verdict, defaults, and its errors;
- GET /v1/consumer-rules;
- PUT .../consumers/{consumer}?dry_run=true: the real request's reply and
  status, nothing stored or audited; and the one validation of consumer
  fields: a contract's consumer entry and the consumers API report the same
  messages for the same values.
"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "channels"))

from chanregd import Chanregd, ChanregdTestCase, write_token_file  # noqa: E402
from channels_harness import orders_contract, register_orders_schemas  # noqa: E402

TOKENS = {"admin": "api-admin-token", "billing-owner": "api-billing-token"}
ROLES = {"admin": "admin", "billing-owner": "owner:billing"}
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
       "frame-ancestors 'none'")
GOOD = {"principal": "User:fraud-svc", "group": "fraud.order-created",
        "scenario": "Scores each order for fraud.", "sla_p99_ms": 1000, "peak_rate_msgs": 1300,
        "degradation": "block"}


class UiApiTest(ChanregdTestCase):
    @classmethod
    def setUpClass(cls):
        d = Chanregd("--auth-reads")
        d.args += ["--token-file", write_token_file(d.dir, ROLES, TOKENS)]
        d.start()
        d.token = TOKENS["admin"]
        cls.d = d
        register_orders_schemas(d)
        reply = d.request("PUT", "/config/orders.order-created-value",
                          body={"compatibility": "BACKWARD_TRANSITIVE"})
        assert reply.status == 200, reply
        reply = d.request("PUT", "/v1/channels/orders.order-created", body=orders_contract())
        assert reply.status == 201, reply

    @classmethod
    def tearDownClass(cls):
        problems = cls.d.check_exit()
        cls.d.cleanup()
        if problems:
            raise AssertionError(problems)

    def audit_count(self):
        return len(self.d.request("GET", "/v1/audit?limit=1000").json["entries"])

    # -- the UI's files -------------------------------------------------------

    def test_files_and_headers(self):
        for path, ctype in [("/ui/", "text/html; charset=utf-8"), ("/ui", "text/html; charset=utf-8"),
                            ("/ui/index.html", "text/html; charset=utf-8"),
                            ("/ui/app.js", "text/javascript; charset=utf-8"),
                            ("/ui/style.css", "text/css; charset=utf-8"),
                            ("/ui/favicon.svg", "image/svg+xml")]:
            reply = self.d.request("GET", path, token=None)  # public despite --auth-reads
            self.assertEqual(reply.status, 200, path)
            self.assertEqual(reply.headers["Content-Type"], ctype, path)
            self.assertEqual(reply.headers["Content-Security-Policy"], CSP, path)
            self.assertEqual(reply.headers["X-Content-Type-Options"], "nosniff", path)
            self.assertEqual(reply.headers["X-Frame-Options"], "DENY", path)
            self.assertEqual(reply.headers["Cache-Control"], "no-cache", path)
            etag = reply.headers["ETag"]
            self.assertRegex(etag, r'^"[0-9a-f]{16}"$')
            again = self.d.request("GET", path, token=None, headers={"If-None-Match": etag})
            self.assertEqual(again.status, 304, path)
            self.assertEqual(again.body, b"", path)
            other = self.d.request("GET", path, token=None, headers={"If-None-Match": '"0000"'})
            self.assertEqual(other.status, 200, path)
        page = self.d.request("GET", "/ui/", token=None).body.decode()
        self.assertNotIn("<script>", page)  # scripts only from files: the CSP allows no inline one
        self.assertIn('<script src="/ui/app.js" defer></script>', page)

    def test_unknown_file(self):
        reply = self.d.request("GET", "/ui/secret.txt", token=None)
        self.assertError(reply, 404, 40400)
        # no way out of /ui/ to the API without a token
        self.assertIn(self.d.request("GET", "/ui/../v1/channels", token=None).status, (400, 404))
        self.assertEqual(self.d.request("POST", "/ui/app.js", token=None).status, 405)
        # the API stays closed with --auth-reads
        self.assertEqual(self.d.request("GET", "/v1/channels", token=None).status, 401)

    # -- schema diff ----------------------------------------------------------

    def test_schema_diff(self):
        reply = self.d.request("GET", "/v1/channels/orders.order-created/schema-diff")
        self.assertEqual(reply.status, 200, reply)
        d = reply.json
        self.assertEqual((d["from"]["version"], d["to"]["version"]), (2, 3))
        self.assertEqual((d["compatibility"], d["checked_as"]), ("BACKWARD_TRANSITIVE", "BACKWARD"))
        self.assertTrue(d["compatible"], d)
        self.assertEqual(d["issues"], [])
        self.assertIn({"kind": "field-removed",
                       "path": "com.example.orders.OrderCreated.legacy_shop_ref",
                       "old": "union[null, string]", "new": None}, d["changes"])
        self.assertIn({"kind": "field-added", "path": "com.example.orders.OrderCreated.promotion_code",
                       "old": None, "new": "union[null, string]"}, d["changes"])

        # 1 -> 3: legacy_shop_ref was not deprecated in version 1 (chan_avro_check_removals)
        d = self.d.request("GET", "/v1/channels/orders.order-created/schema-diff?from=1&to=3").json
        self.assertFalse(d["compatible"])
        self.assertEqual([i["kind"] for i in d["issues"]], ["FIELD_REMOVED_NOT_DEPRECATED"])
        self.assertIn({"kind": "type-added", "path": "com.example.orders.SalesChannel", "old": None,
                       "new": "enum"}, d["changes"])

        d = self.d.request("GET", "/v1/channels/orders.order-created/schema-diff?from=3&to=3").json
        self.assertEqual((d["changes"], d["issues"], d["compatible"]), ([], [], True))

    def test_schema_diff_errors(self):
        base = "/v1/channels/orders.order-created/schema-diff"
        self.assertError(self.d.request("GET", "/v1/channels/no.such/schema-diff"), 404, 40410)
        self.assertError(self.d.request("GET", base + "?to=9"), 404, 40402)
        self.assertError(self.d.request("GET", base + "?from=x"), 422, 42202)
        self.assertError(self.d.request("GET", base + "?to=0"), 422, 42202)
        self.assertEqual(self.d.request("GET", base, token=None).status, 401)

    # -- consumers ------------------------------------------------------------

    def test_consumer_rules(self):
        reply = self.d.request("GET", "/v1/consumer-rules")
        self.assertEqual(reply.status, 200, reply)
        fields = {f["name"]: f for f in reply.json["fields"]}
        self.assertEqual(list(fields), ["name", "principal", "group", "scenario", "sla_p99_ms",
                                        "peak_rate_msgs", "degradation"])
        self.assertEqual((fields["sla_p99_ms"]["min"], fields["sla_p99_ms"]["max"]), (1, 86400000))
        self.assertEqual(fields["degradation"]["enum"], ["drop", "lag", "fallback", "block"])

    def test_dry_run_stores_nothing(self):
        path = "/v1/channels/orders.order-created/consumers/"
        before = self.audit_count()
        revision = self.d.request("GET", "/v1/channels/orders.order-created").json["revision"]
        reply = self.d.request("PUT", path + "fraud?dry_run=true", body=GOOD)
        self.assertEqual(reply.status, 201, reply)
        self.assertIs(reply.json["dry_run"], True)
        self.assertEqual((reply.json["state"], reply.json["group"]), ("approved", GOOD["group"]))
        # another team's registration would wait for the owner: 202, as the real one
        reply = self.d.request("PUT", path + "fraud?dry_run=true", body=GOOD,
                               token=TOKENS["billing-owner"])
        self.assertEqual(reply.status, 202, reply)
        self.assertEqual(reply.json["state"], "pending")
        self.assertError(self.d.request("PUT", path + "fraud", body=GOOD, token=None), 401, 401)
        self.assertError(self.d.request("PUT", path + "fraud?dry_run=maybe", body=GOOD), 400, 40002)
        consumers = self.d.request("GET", "/v1/channels/orders.order-created/consumers").json
        self.assertNotIn("fraud", [c["name"] for c in consumers["consumers"]])
        self.assertEqual(self.audit_count(), before)
        self.assertEqual(self.d.request("GET", "/v1/channels/orders.order-created").json["revision"],
                         revision)

        bad = dict(GOOD, principal="fraud-svc", sla_p99_ms=0)
        dry = self.d.request("PUT", path + "fraud?dry_run=true", body=bad)
        real = self.d.request("PUT", path + "fraud", body=bad)
        self.assertEqual((dry.status, real.status), (422, 422))
        self.assertEqual(dry.json, real.json)

    def test_one_validation_for_contracts_and_the_api(self):
        cases = [("principal", "billing-svc"), ("group", "bad group"), ("scenario", ""),
                 ("sla_p99_ms", 0), ("peak_rate_msgs", "fast"), ("degradation", "panic"),
                 ("scenario", 5), ("sla_p99_ms", None)]
        for key, value in cases:
            with self.subTest(key=key, value=value):
                consumer = dict(GOOD)
                if value is None:
                    del consumer[key]
                else:
                    consumer[key] = value
                api = self.d.request("PUT", "/v1/channels/orders.order-created/consumers/fraud",
                                     body=consumer)
                self.assertEqual(api.status, 422, api)
                contract = orders_contract("orders.validation")
                contract["consumers"] = [dict(consumer, name="fraud")]
                put = self.d.request("PUT", "/v1/channels/orders.validation", body=contract)
                self.assertEqual(put.status, 422, put)
                # the same diagnostics; a message that starts with the field names its path
                from_api = [(e["rule"], "consumers[0]." + e["path"],
                             "consumers[0]." + e["message"] if e["message"].startswith(key)
                             else e["message"], e.get("hint"))
                            for e in api.json["errors"]]
                from_contract = [(e["rule"], e["path"], e["message"], e.get("hint"))
                                 for e in put.json["errors"]]
                self.assertEqual(from_api, from_contract)


if __name__ == "__main__":
    unittest.main(verbosity=2)
