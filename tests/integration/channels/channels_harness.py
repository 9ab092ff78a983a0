"""channels_harness.py - contracts and helpers for the channels API tests.

The daemon is tests/support/chanregd.py's Chanregd, with a token file naming
two API clients so that audit entries can be checked for the actor, on a
fresh SQLite database, or a fresh PostgreSQL database when
CHANREG_TEST_PG_STATE names the test server.

Contracts are built as JSON documents in the shape of the contract format's
JSON rendering; the schema versions they declare are registered first
through the Confluent-compatible API, from the example schemas of the source
tree (schemas/<subject>/v<N>.avsc).
"""

import os
import re
import urllib.request

from chanregd import SOURCE_DIR, Chanregd, ChanregdTestCase

# name:secret lines of the token file; the name is the audit actor.
TOKENS = {"ci-bot": "ci-bot-secret", "alice": "alice-secret"}
TOKEN = TOKENS["ci-bot"]

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def Daemon(*args, **kw):
    """chanregd with the token file of TOKENS (not started)."""
    return Chanregd(*args, tokens=TOKENS, name="channels", **kw)


def schema_text(subject, version):
    with open(os.path.join(SOURCE_DIR, "schemas", subject, "v%d.avsc" % version)) as f:
        return f.read()


def orders_contract(name="orders.order-created", team="orders"):
    """A valid contract (JSON form) using the example schema subject of the orders channel."""
    return {
        "apiVersion": "chanreg/v1",
        "channel": name,
        "description": "An order was placed and accepted by the order service.",
        "owner": {"team": team, "maintainer": "%s-oncall@example.com" % team},
        "peak_qps": 1200,
        "retention_hours": 168,
        "schema": {
            "subject": "orders.order-created-value",
            "compatibility": "BACKWARD_TRANSITIVE",
            "versions": [{"version": 3}, {"version": 2}, {"version": 1}],
        },
        "consumers": [
            {
                "name": "billing",
                "principal": "User:billing-svc",
                "group": "billing.order-created",
                "scenario": "Creates the invoice of each order.",
                "sla_p99_ms": 2000,
                "peak_rate_msgs": 1500,
                "degradation": "lag",
            },
            {
                "name": "analytics",
                "principal": "User:analytics-etl",
                "group": "analytics.orders.raw",
                "scenario": "Loads orders into the warehouse.",
                "sla_p99_ms": 900000,
                "peak_rate_msgs": 5000,
                "degradation": "drop",
            },
        ],
        "producers": [{"principal": "User:orders-svc"}],
    }


def register_orders_schemas(d, versions=(1, 2, 3)):
    for version in versions:
        reply = d.request("POST", "/subjects/orders.order-created-value/versions",
                          body={"schema": schema_text("orders.order-created-value", version)})
        if reply.status != 200:
            raise AssertionError("cannot register schema v%d: %r" % (version, reply))


def consumer_body(**changes):
    body = {
        "principal": "User:fraud-svc",
        "group": "fraud.order-created",
        "scenario": "Scores each order for fraud before shipping.",
        "sla_p99_ms": 1000,
        "peak_rate_msgs": 1300,
        "degradation": "block",
    }
    body.update(changes)
    return body


class ChannelsTestCase(ChanregdTestCase):
    """One daemon per test class; the orders schemas are registered once."""

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon().start()
        register_orders_schemas(cls.d)

    def put_contract(self, contract, query="", name=None, **kw):
        return self.d.request("PUT", "/v1/channels/%s%s" % (name or contract["channel"], query),
                              body=contract, **kw)

    def create(self, contract):
        reply = self.put_contract(contract)
        self.assertEqual(reply.status, 201, reply)
        return reply.json

    def audit(self, prefix=None, after=0):
        path = "/v1/audit?after=%d&limit=1000" % after
        if prefix:
            path += "&object=" + urllib.request.quote(prefix, safe="")
        reply = self.d.request("GET", path)
        self.assertEqual(reply.status, 200, reply)
        return reply.json["entries"]


def unique(base):
    """A channel name not used by another test of the same daemon."""
    unique.n += 1
    return "%s-%d" % (base, unique.n)


unique.n = 0

__all__ = ["ChannelsTestCase", "Daemon", "RFC3339", "SOURCE_DIR", "TOKEN", "TOKENS",
           "consumer_body", "orders_contract", "register_orders_schemas", "schema_text", "unique"]
