#!/usr/bin/python3
"""integration.daemon.replicas.postgres - two chanregd on one PostgreSQL
database: each caches the latest version of subjects and the compatibility
levels, and a write on one is seen by the other (LISTEN/NOTIFY empties its
cache), polled with a bound; a write is seen by its own daemon at once.
"""

import json
import unittest

from chanregd import ChanregdTestCase, fresh_pg_url, wait_for

TOKEN = "replica-token"
SUBJECT = "replicated-value"


def schema(n):
    fields = [{"name": "id", "type": "long"}]
    fields += [{"name": "f%d" % k, "type": "string", "default": ""} for k in range(1, n)]
    return json.dumps({"type": "record", "name": "R", "fields": fields})


class ReplicasTest(ChanregdTestCase):
    def setUp(self):
        url = fresh_pg_url("replicas")
        self.a = self.start_daemon("--token", TOKEN, db=url)
        self.b = self.start_daemon("--token", TOKEN, db=url)
        self.a.token = self.b.token = TOKEN

    def latest(self, d):
        reply = d.request("GET", "/subjects/%s/versions/latest" % SUBJECT)
        return reply.json.get("version") if reply.status == 200 else reply.status

    def level(self, d):
        reply = d.request("GET", "/config/%s" % SUBJECT)
        return reply.json.get("compatibilityLevel") if reply.status == 200 else reply.status

    def register(self, d, n):
        reply = d.request("POST", "/subjects/%s/versions" % SUBJECT, {"schema": schema(n)})
        self.assertEqual(reply.status, 200, reply)

    def test_writes_reach_the_other_daemon(self):
        self.register(self.a, 1)
        # b reads (and caches) version 1 and "no level set".
        self.assertEqual(self.latest(self.b), 1)
        self.assertEqual(self.level(self.b), 404)
        self.assertEqual(self.latest(self.b), 1)

        self.register(self.a, 2)
        self.assertEqual(self.latest(self.a), 2)  # its own write: at once
        wait_for(lambda: self.latest(self.b) == 2, timeout=10, what="version 2 on b")

        reply = self.a.request("PUT", "/config/%s" % SUBJECT, {"compatibility": "FULL"})
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(self.level(self.a), "FULL")
        wait_for(lambda: self.level(self.b) == "FULL", timeout=10, what="FULL on b")

        # A delete on b reaches a.
        reply = self.b.request("DELETE", "/subjects/%s/versions/2" % SUBJECT)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(self.latest(self.b), 1)
        wait_for(lambda: self.latest(self.a) == 1, timeout=10, what="version 1 on a")
        reply = self.b.request("DELETE", "/subjects/%s" % SUBJECT)
        self.assertEqual(reply.status, 200, reply)
        wait_for(lambda: self.latest(self.a) == 404, timeout=10, what="no subject on a")


if __name__ == "__main__":
    unittest.main()
