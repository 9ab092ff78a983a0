#!/usr/bin/python3
"""integration.daemon.reply_cache(.postgres) - chanregd's reply cache
(--reply-cache-mb): repeated reads are hits in GET /metrics, every kind of
write through the API is visible in the very next read of the routes the
cache serves, and with two daemons on one store (one PostgreSQL database, or
one SQLite file) a write on B becomes visible on A (polled with a bound).

Runs on SQLite, or on PostgreSQL when CHANREG_TEST_PG_STATE names the test
server.
"""

import json
import os
import secrets
import shutil
import sys
import tempfile
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "channels"))

from chanregd import (  # noqa: E402
    ChanregdTestCase,
    avro_record,
    fresh_pg_url,
    pg_state,
    wait_for,
    write_token_file,
)
from channels_harness import (  # noqa: E402
    consumer_body,
    orders_contract,
    register_orders_schemas,
    unique,
)

IDENTITIES = {"orders-team": "owner:orders", "billing-team": "owner:billing", "root": "admin"}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16)) for name in IDENTITIES}
SUBJECT = "cached-value"


def schema(n):
    fields = [("id", "long")] + [("f%d" % k, "string", {"default": ""}) for k in range(1, n)]
    return avro_record("Cached", fields)


class ReplyCacheTest(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanreg-replycache-")
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.token_file = write_token_file(self.tmp, IDENTITIES, TOKENS)

    def daemon(self, *args, db=None, name="chanregd"):
        d = self.start_daemon("--token-file", self.token_file, *args, db=db, name=name,
                              workdir=self.tmp)
        d.token = TOKENS["root"]
        return d

    def shared_db(self):
        if pg_state():
            return fresh_pg_url("replycache")
        return "sqlite:" + os.path.join(self.tmp, "shared.db")

    def as_(self, d, who, method, path, body=None):
        return d.request(method, path, body=body, token=TOKENS[who])

    def read(self, d, path, body=None, status=200):
        """Read path twice (the second read is served by the cache when it
        can be) and check that both replies are the same."""
        method = "GET" if body is None else "POST"
        first = d.request(method, path, body=body)
        second = d.request(method, path, body=body)
        self.assertEqual((first.status, first.body), (second.status, second.body))
        self.assertEqual(first.status, status, first)
        return second.json

    def register(self, d, n, subject=SUBJECT):
        reply = d.request("POST", "/subjects/%s/versions" % subject, {"schema": schema(n)})
        self.assertEqual(reply.status, 200, reply)
        return reply.json["id"]

    # -- tests ---------------------------------------------------------------

    def test_hits_in_metrics(self):
        d = self.daemon()
        self.register(d, 1)
        hits = d.metric("chanreg_reply_cache_hits_total") or 0

        # Read until repeated reads are hits: a PostgreSQL store caches
        # nothing until its LISTEN connection is up, shortly after start.
        def read_again():
            self.assertEqual(d.get("/subjects").json, [SUBJECT])
            self.assertEqual(d.get("/schemas/ids/1").status, 200)
            return d.metric("chanreg_reply_cache_hits_total") >= hits + 4

        wait_for(read_again, timeout=10, what="reply cache hits")
        self.assertGreater(d.metric("chanreg_reply_cache_misses_total"), 0)
        self.assertGreater(d.metric("chanreg_reply_cache_bytes"), 0)
        self.assertGreater(d.metric("chanreg_reply_cache_entries"), 0)

        # Content types are apart: the same path asked for another type.
        reply = d.request("GET", "/subjects",
                          headers={"Accept": "application/vnd.schemaregistry.v1+json"})
        self.assertEqual(reply.headers["Content-Type"], "application/vnd.schemaregistry.v1+json")
        self.assertEqual(d.get("/subjects").headers["Content-Type"], "application/json")

        # Who asks does not matter, but authorization still runs before a hit.
        off = self.daemon("--auth-reads", name="authreads")
        self.register(off, 1)
        self.assertEqual(off.get("/subjects").status, 200)
        self.assertEqual(off.request("GET", "/subjects", token=None).status, 401)

    def test_disabled(self):
        d = self.daemon("--reply-cache-mb", "0")
        self.register(d, 1)
        for _ in range(3):
            self.assertEqual(d.get("/subjects").json, [SUBJECT])
        self.assertEqual(d.metric("chanreg_reply_cache_hits_total"), 0)
        self.assertEqual(d.metric("chanreg_reply_cache_entries"), 0)

    def test_paging_headers_are_kept(self):
        d = self.daemon()
        register_orders_schemas(d)
        for n in range(3):
            reply = self.as_(d, "orders-team", "PUT", "/v1/channels/orders.p%d" % n,
                             orders_contract("orders.p%d" % n))
            self.assertEqual(reply.status, 201, reply)
        first = d.get("/v1/channels?limit=1")
        second = d.get("/v1/channels?limit=1")
        self.assertEqual(first.body, second.body)
        self.assertEqual(first.headers.get("Link"), second.headers.get("Link"))
        self.assertNotEqual(first.headers.get("X-Request-Id"), second.headers.get("X-Request-Id"))

    def test_schema_writes_visible_at_once(self):
        d = self.daemon()
        self.register(d, 1)
        v2 = {"schema": schema(2)}
        self.assertEqual(self.read(d, "/subjects/%s/versions" % SUBJECT), [1])
        self.read(d, "/subjects/%s" % SUBJECT, body=v2, status=404)
        self.assertEqual(self.read(d, "/subjects/%s/versions/latest" % SUBJECT)["version"], 1)

        # Register
        id2 = self.register(d, 2)
        self.assertEqual(d.get("/subjects/%s/versions" % SUBJECT).json, [1, 2])
        self.assertEqual(d.post("/subjects/%s" % SUBJECT, v2).json["version"], 2)
        self.assertEqual(d.get("/subjects/%s/versions/latest" % SUBJECT).json["id"], id2)
        self.assertEqual(self.read(d, "/schemas/ids/%d/versions" % id2),
                         [{"subject": SUBJECT, "version": 2}])

        # Delete a version
        self.assertEqual(d.delete("/subjects/%s/versions/2" % SUBJECT).status, 200)
        self.assertEqual(d.get("/subjects/%s/versions" % SUBJECT).json, [1])
        self.assertEqual(d.get("/subjects/%s/versions/latest" % SUBJECT).json["version"], 1)
        self.assertEqual(d.post("/subjects/%s" % SUBJECT, v2).status, 404)
        self.assertEqual(d.get("/schemas/ids/%d/versions" % id2).json, [])

        # Config, global and per subject
        self.read(d, "/config/%s" % SUBJECT, status=404)
        self.assertEqual(self.read(d, "/config")["compatibilityLevel"], "BACKWARD")
        self.assertEqual(d.put("/config/%s" % SUBJECT, {"compatibility": "FULL"}).status, 200)
        self.assertEqual(d.get("/config/%s" % SUBJECT).json["compatibilityLevel"], "FULL")
        self.assertEqual(d.put("/config", {"compatibility": "FORWARD"}).status, 200)
        self.assertEqual(d.get("/config").json["compatibilityLevel"], "FORWARD")
        self.assertEqual(d.delete("/config/%s" % SUBJECT).status, 200)
        self.assertEqual(d.get("/config/%s" % SUBJECT).status, 404)

        # Mode, global and per subject
        self.assertEqual(self.read(d, "/mode")["mode"], "READWRITE")
        self.read(d, "/mode/%s" % SUBJECT, status=404)
        self.assertEqual(d.put("/mode/%s" % SUBJECT, {"mode": "READONLY"}).status, 200)
        self.assertEqual(d.get("/mode/%s" % SUBJECT).json["mode"], "READONLY")
        self.assertEqual(d.put("/mode", {"mode": "READONLY"}).status, 200)
        self.assertEqual(d.get("/mode").json["mode"], "READONLY")
        self.assertEqual(d.put("/mode", {"mode": "READWRITE"}).status, 200)
        self.assertEqual(d.get("/mode").json["mode"], "READWRITE")

        # Delete the subject
        self.assertEqual(self.read(d, "/subjects"), [SUBJECT])
        self.assertEqual(d.delete("/mode/%s" % SUBJECT).status, 200)
        self.assertEqual(d.delete("/subjects/%s" % SUBJECT).status, 200)
        self.assertEqual(d.get("/subjects").json, [])
        self.assertEqual(d.get("/subjects/%s/versions" % SUBJECT).status, 404)

    def test_channel_writes_visible_at_once(self):
        d = self.daemon()
        register_orders_schemas(d)
        contract = orders_contract(unique("orders.cached"))
        name = contract["channel"]
        path = "/v1/channels/" + name
        consumers = path + "/consumers"

        def names(reply_json, key):
            return [c["name"] for c in reply_json[key]]

        def states():
            return {c["name"]: c["state"] for c in d.get(consumers).json["consumers"]}

        # Channel PUT (create, change)
        self.assertEqual(names(self.read(d, "/v1/channels"), "channels"), [])
        self.read(d, path, status=404)
        self.assertEqual(self.as_(d, "orders-team", "PUT", path, contract).status, 201)
        self.assertEqual(names(d.get("/v1/channels").json, "channels"), [name])
        self.assertEqual(self.read(d, path)["peak_qps"], 1200)
        contract["peak_qps"] = 1500
        self.assertEqual(self.as_(d, "orders-team", "PUT", path, contract).status, 200)
        self.assertEqual(d.get(path).json["peak_qps"], 1500)
        self.assertEqual(d.get("/v1/channels").json["channels"][0]["peak_qps"], 1500)

        # Consumer register (approved at once, and pending)
        self.assertEqual(sorted(self.read(d, consumers)["consumers"][i]["name"]
                                for i in range(2)), ["analytics", "billing"])
        total = self.read(d, "/v1/consumers")["total"]
        reply = self.as_(d, "orders-team", "PUT", consumers + "/fraud", consumer_body())
        self.assertEqual(reply.status, 201, reply)
        self.assertEqual(states().get("fraud"), "approved")
        self.assertEqual(d.get("/v1/consumers").json["total"], total + 1)
        body = consumer_body(principal="User:invoicing-svc", group="invoicing.orders",
                             scenario="Bills each order.")
        reply = self.as_(d, "billing-team", "PUT", consumers + "/invoicing", body)
        self.assertEqual(reply.status, 202, reply)
        self.assertEqual(states().get("invoicing"), "pending")
        self.assertEqual(self.read(d, "/v1/consumers?state=pending")["total"], 1)

        # Consumer approve
        reply = self.as_(d, "orders-team", "POST", consumers + "/invoicing/approve")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(states().get("invoicing"), "approved")
        self.assertEqual(d.get("/v1/consumers?state=pending").json["total"], 0)

        # Consumer delete
        self.assertEqual(self.as_(d, "orders-team", "DELETE", consumers + "/fraud").status, 200)
        self.assertNotIn("fraud", states())
        self.assertNotIn("fraud", [c["name"] for c in d.get(path).json["consumers"]])

        # Channel DELETE (a contract without deprecation date is refused: give one in the past)
        reply = self.as_(d, "orders-team", "DELETE", path)
        if reply.status != 200:
            contract["deprecation_date"] = "2021-06-30"
            self.assertEqual(self.as_(d, "orders-team", "PUT", path, contract).status, 200)
            self.assertEqual(d.get(path).json.get("deprecation_date"), "2021-06-30")
            reply = self.as_(d, "orders-team", "DELETE", path)
        self.assertIn(reply.status, (200, 204), reply)
        self.assertEqual(d.get(path).status, 404)
        self.assertEqual(names(d.get("/v1/channels").json, "channels"), [])

    def test_two_daemons(self):
        db = self.shared_db()
        a = self.daemon(db=db, name="a")
        b = self.daemon(db=db, name="b")
        register_orders_schemas(b)

        # a reads and caches; b writes; a sees the write within a bound.
        self.assertEqual(self.read(a, "/subjects"), ["orders.order-created-value"])
        self.register(b, 1)
        wait_for(lambda: SUBJECT in a.get("/subjects").json, timeout=10,
                 what="b's subject on a")

        self.read(a, "/config/%s" % SUBJECT, status=404)
        self.assertEqual(b.put("/config/%s" % SUBJECT, {"compatibility": "NONE"}).status, 200)
        wait_for(lambda: a.get("/config/%s" % SUBJECT).status == 200, timeout=10,
                 what="b's config on a")

        contract = orders_contract(unique("orders.two"))
        path = "/v1/channels/" + contract["channel"]
        self.read(a, path, status=404)
        self.assertEqual(self.as_(b, "orders-team", "PUT", path, contract).status, 201)
        wait_for(lambda: a.get(path).status == 200, timeout=10, what="b's channel on a")
        wait_for(lambda: len(a.get("/v1/channels").json["channels"]) == 1, timeout=10,
                 what="b's channel in a's list")

        # A lookup a has cached as 404 becomes found once b registers it.
        v2 = {"schema": schema(2)}
        self.read(a, "/subjects/%s" % SUBJECT, body=v2, status=404)
        self.register(b, 2)
        wait_for(lambda: a.post("/subjects/%s" % SUBJECT, v2).status == 200, timeout=10,
                 what="b's version on a")
        self.assertEqual(b.delete("/subjects/%s/versions/2" % SUBJECT).status, 200)
        wait_for(lambda: a.get("/subjects/%s/versions" % SUBJECT).json == [1], timeout=10,
                 what="b's delete on a")
        self.assertEqual(json.loads(json.dumps(a.get("/subjects").json)),
                         sorted(["orders.order-created-value", SUBJECT]))
        # The other direction too.
        self.read(b, "/mode/%s" % SUBJECT, status=404)
        self.assertEqual(a.put("/mode/%s" % SUBJECT, {"mode": "READONLY"}).status, 200)
        wait_for(lambda: b.get("/mode/%s" % urllib.parse.quote(SUBJECT)).status == 200,
                 timeout=10, what="a's mode on b")


if __name__ == "__main__":
    unittest.main()
