"""test_paging.py - the paging convention of the /v1 lists (limit, cursor,
next_cursor, total, Link) and the catalog members of GET /v1/channels
(q, stale, consumer_count, stale_consumer_count, latest_version), plus
Confluent's offset and limit on GET /subjects and `chanctl list`
following the pages, against a real chanregd.

Run: CHANREGD=... CHANCTL=... python3 test_paging.py
"""

import json
import os
import sqlite3
import subprocess
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from chanregd import Chanregd  # noqa: E402
from channels_harness import (  # noqa: E402
    TOKEN,
    TOKENS,
    ChannelsTestCase,
    orders_contract,
    register_orders_schemas,
)

CHANCTL = os.environ["CHANCTL"]


def catalog_contract(name, team, maintainer=None, consumers=True):
    c = orders_contract(name, team=team)
    if maintainer:
        c["owner"]["maintainer"] = maintainer
    if not consumers:
        c["consumers"] = []
    return c


class PagingTest(ChannelsTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.names = ["page.%02d" % i for i in range(7)]
        for i, name in enumerate(cls.names):
            reply = cls.d.request(
                "PUT", "/v1/channels/" + name,
                body=catalog_contract(name, "pageteam", consumers=i != 3,
                                      maintainer="Zoe.Pager@example.com" if i == 5 else None))
            assert reply.status == 201, reply

    def get(self, path):
        reply = self.d.request("GET", path)
        self.assertEqual(reply.status, 200, reply)
        return reply

    def walk(self, path, key, limit):
        """Follow next_cursor; returns the items and the replies."""
        items, replies, cursor = [], [], None
        for _ in range(100):
            sep = "&" if "?" in path else "?"
            url = path + sep + "limit=%d" % limit
            if cursor:
                url += "&cursor=" + urllib.parse.quote(cursor, safe="")
            reply = self.get(url)
            replies.append(reply)
            items += reply.json[key]
            cursor = reply.json["next_cursor"]
            if cursor is None:
                return items, replies
        self.fail("pages do not end")

    def test_channel_pages(self):
        items, replies = self.walk("/v1/channels?owner_team=pageteam", "channels", 3)
        self.assertEqual([c["name"] for c in items], self.names)
        self.assertEqual([len(r.json["channels"]) for r in replies], [3, 3, 1])
        self.assertEqual({r.json["total"] for r in replies}, {7})
        # Link names the next page with the same filters; none on the last page.
        link = replies[0].headers.get("Link")
        self.assertIsNotNone(link)
        self.assertTrue(link.endswith('>; rel="next"'), link)
        target = link[1:link.index(">")]
        self.assertIn("owner_team=pageteam", target)
        self.assertEqual([c["name"] for c in self.get(target).json["channels"]],
                         self.names[3:6])
        self.assertIsNone(replies[-1].headers.get("Link"))

    def test_default_limit_and_bounds(self):
        reply = self.get("/v1/channels?owner_team=pageteam")
        self.assertEqual(len(reply.json["channels"]), 7)
        self.assertIsNone(reply.json["next_cursor"])
        for bad in ("limit=0", "limit=1001", "limit=x", "cursor=nonsense", "cursor=p1.%2A"):
            reply = self.d.request("GET", "/v1/channels?" + bad)
            self.assertEqual(reply.status, 422, (bad, reply))
            self.assertEqual(reply.json["error_code"], 42202, bad)

    def test_catalog_members(self):
        reply = self.get("/v1/channels?owner_team=pageteam&limit=4")
        by_name = {c["name"]: c for c in reply.json["channels"]}
        self.assertEqual(by_name["page.00"]["consumer_count"], 2)
        self.assertEqual(by_name["page.03"]["consumer_count"], 0)
        self.assertEqual(by_name["page.00"]["stale_consumer_count"], 0)
        self.assertEqual(by_name["page.00"]["latest_version"], 3)
        # A list item is the channel as GET shows it (without the contract), plus the counts.
        one = self.get("/v1/channels/page.01").json
        del one["contract"]
        item = dict(by_name["page.01"])
        for key in ("consumer_count", "stale_consumer_count", "latest_version"):
            del item[key]
        self.assertEqual(item, one)

    def test_q_matches_names_teams_maintainers_subjects(self):
        def names(q):
            return [c["name"] for c in
                    self.get("/v1/channels?owner_team=pageteam&q=" +
                             urllib.parse.quote(q)).json["channels"]]
        self.assertEqual(names("PAGE.0"), self.names)
        self.assertEqual(names("zoe.pager"), ["page.05"])
        self.assertEqual(names("ORDERS.ORDER-CREATED-VALUE"), self.names)
        self.assertEqual(names("_"), [])
        self.assertEqual(names("%"), [])

    def test_consumer_lists_page(self):
        items, replies = self.walk("/v1/consumers?team=pageteam", "consumers", 4)
        self.assertEqual(len(items), 12)
        self.assertEqual([(c["channel"], c["name"]) for c in items],
                         sorted((c["channel"], c["name"]) for c in items))
        self.assertEqual({r.json["total"] for r in replies}, {12})
        items, replies = self.walk("/v1/channels/page.00/consumers", "consumers", 1)
        self.assertEqual([c["name"] for c in items], ["analytics", "billing"])

    def test_audit_and_tokens_page(self):
        everything = self.audit()
        items, replies = self.walk("/v1/audit", "entries", 5)
        self.assertEqual(items, everything)
        self.assertEqual({r.json["total"] for r in replies}, {len(everything)})
        reply = self.get("/v1/tokens")
        self.assertEqual((reply.json["next_cursor"], reply.json["total"]),
                         (None, len(reply.json["tokens"])))

    def test_subjects_offset_and_limit(self):
        for i in range(5):
            reply = self.d.request("POST", "/subjects/pg-subj-%d/versions" % i,
                                   body={"schema": '"string"'})
            self.assertEqual(reply.status, 200, reply)
        every = [s for s in self.get("/subjects").json if s.startswith("pg-subj-")]
        self.assertEqual(every, ["pg-subj-%d" % i for i in range(5)])
        self.assertEqual(self.get("/subjects?subjectPrefix=pg-subj-&offset=1&limit=2").json,
                         ["pg-subj-1", "pg-subj-2"])
        self.assertEqual(self.get("/subjects?subjectPrefix=pg-subj-&offset=4").json,
                         ["pg-subj-4"])
        self.assertEqual(self.get("/subjects?subjectPrefix=pg-subj-&limit=-1").json, every)
        self.assertEqual(self.d.request("GET", "/subjects?offset=-1").status, 400)

    def test_chanctl_list_follows_pages(self):
        env = dict(os.environ, CHANREG_TOKEN=TOKEN)
        r = subprocess.run([CHANCTL, "list", "channels", "--owner-team", "pageteam",
                            "--limit", "2", "--format", "json", "--registry", self.d.url],
                           capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual([c["name"] for c in doc["channels"]], self.names)
        self.assertNotIn("next_cursor", doc)
        r = subprocess.run([CHANCTL, "list", "channels", "--limit", "0", "--registry",
                            self.d.url], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(r.returncode, 2, r.stderr)


class StaleFilterTest(ChannelsTestCase):
    """stale=true and stale_consumer_count, on a SQLite store the test ages."""

    @classmethod
    def setUpClass(cls):
        cls.d = Chanregd(tokens=TOKENS, pg=False, name="stale").start()
        register_orders_schemas(cls.d)

    def test_stale(self):
        for name in ("stale.a", "stale.b"):
            self.create(catalog_contract(name, "staleteam"))
        listed = self.d.request("GET", "/v1/channels?stale=true").json
        self.assertEqual((listed["channels"], listed["total"]), ([], 0))
        self.d.stop()
        self.d.check_exit()
        con = sqlite3.connect(self.d.db[len("sqlite:"):])
        try:
            con.execute("UPDATE consumers SET renewed_at = renewed_at - 91 * 86400 "
                        "WHERE channel = 'stale.b' AND name = 'billing'")
            con.commit()
        finally:
            con.close()
        self.d.start()
        listed = self.d.request("GET", "/v1/channels?stale=true").json
        self.assertEqual([c["name"] for c in listed["channels"]], ["stale.b"])
        self.assertEqual(listed["total"], 1)
        self.assertEqual(listed["channels"][0]["stale_consumer_count"], 1)
        self.assertEqual(listed["channels"][0]["consumer_count"], 2)


if __name__ == "__main__":
    unittest.main()
