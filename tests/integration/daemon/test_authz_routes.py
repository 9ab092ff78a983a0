"""test_authz_routes.py - every write route x every role, over real HTTP.

The daemon runs with a token file (v2 lines, SHA-256 digests computed here)
naming one identity per role.  For each write route of `chanregd
--list-routes` (action other than public, read and self) the ROUTES table
says which roles may call it on a target owned by team "orders"; each
(route, role) pair gets its own fresh channel and subject, created by the
admin, so that one allowed call does not change the next one's target.
Allowed means neither 401 nor 403; refused means 403 with error code 40301
(401 for anonymous).  The test fails when --list-routes shows a write route
that the table does not cover.

Hole tests: another team's owner can neither delete a channel owned by
"orders" nor set the compatibility of its subject to NONE.
"""

import itertools
import os
import secrets
import subprocess
import sys
import unittest

from chanregd import Chanregd as Daemon, avro_record as record, binary, write_token_file  # noqa: E402


def chanregd_path():
    return binary("CHANREGD")

# role -> identity name in the token file (None: no token at all)
ROLES = {
    "anonymous": None,
    "reader": "prometheus",
    "ci:orders": "ci-orders",
    "ci:billing": "ci-billing",
    "owner:orders": "orders-team",
    "owner:billing": "billing-team",
    "admin": "root",
}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16))
          for name in ROLES.values() if name}

ANY_WRITER = {"admin", "owner:orders", "ci:orders"}
ADMIN = {"admin"}

# (method, pattern) -> (path template, body maker, roles allowed on orders' target)
# Templates: {s} subject bound to the channel {c} owned by orders; {k} a consumer.
ROUTES = {
    ("POST", "/subjects/{subject}/versions"):
        ("/subjects/{s}/versions", lambda: {"schema": schema(2)}, ANY_WRITER),
    ("DELETE", "/subjects/{subject}/versions/{version}"):
        ("/subjects/{s}/versions/1", None, ANY_WRITER),
    ("DELETE", "/subjects/{subject}"): ("/subjects/{s}", None, ANY_WRITER),
    ("PUT", "/config"): ("/config", lambda: {"compatibility": "BACKWARD"}, ADMIN),
    ("DELETE", "/config"): ("/config", None, ADMIN),
    ("PUT", "/config/{subject}"): ("/config/{s}", lambda: {"compatibility": "FULL"}, ANY_WRITER),
    ("DELETE", "/config/{subject}"): ("/config/{s}", None, ANY_WRITER),
    ("PUT", "/mode"): ("/mode", lambda: {"mode": "READWRITE"}, ADMIN),
    ("PUT", "/mode/{subject}"): ("/mode/{s}", lambda: {"mode": "READWRITE"}, ADMIN),
    ("DELETE", "/mode/{subject}"): ("/mode/{s}", None, ADMIN),
    ("PUT", "/v1/channels/{name}"):
        ("/v1/channels/{c}", "contract", ANY_WRITER),
    ("DELETE", "/v1/channels/{name}"): ("/v1/channels/{c}", None, {"admin", "owner:orders"}),
    # A team registers its own consumer on another team's channel; the
    # owning team's ci may not register one in the name of another team.
    ("PUT", "/v1/channels/{name}/consumers/{consumer}"):
        ("/v1/channels/{c}/consumers/fraud", lambda: consumer_body("fraud"),
         {"admin", "owner:orders", "owner:billing", "ci:billing"}),
    ("DELETE", "/v1/channels/{name}/consumers/{consumer}"):
        ("/v1/channels/{c}/consumers/billing", None, ANY_WRITER),
    ("POST", "/v1/channels/{name}/consumers/{consumer}/renew"):
        ("/v1/channels/{c}/consumers/billing/renew", None, ANY_WRITER),
    ("POST", "/v1/channels/{name}/waiver/approve"):
        ("/v1/channels/{c}/waiver/approve", None, ADMIN),
    # The channel owner decides on registrations ("billing" is a contract consumer,
    # so an allowed call answers 409: it is not pending).
    ("POST", "/v1/channels/{name}/consumers/{consumer}/approve"):
        ("/v1/channels/{c}/consumers/billing/approve", None, {"admin", "owner:orders"}),
    ("POST", "/v1/channels/{name}/consumers/{consumer}/reject"):
        ("/v1/channels/{c}/consumers/billing/reject", lambda: {"reason": "not needed"},
         {"admin", "owner:orders"}),
    ("POST", "/v1/acl/apply"): ("/v1/acl/apply", None, ADMIN),
    ("POST", "/v1/topics/apply"): ("/v1/topics/apply", None, ADMIN),
    ("POST", "/v1/tokens"):
        ("/v1/tokens", lambda: {"identity": "made-by-test", "roles": ["reader"]}, ADMIN),
    ("GET", "/v1/tokens"): ("/v1/tokens", None, ADMIN),
    ("DELETE", "/v1/tokens/{id}"): ("/v1/tokens/000000000000", None, ADMIN),
}

NOT_WRITES = {"public", "read", "self"}


def schema(version):
    fields = [("id", "string")]
    if version > 1:
        fields.append(("note", ["null", "string"], {"default": None}))
    return record("Order", fields)


def consumer_body(name):
    return {
        "principal": "User:%s-svc" % name,
        "group": "%s.group" % name,
        "scenario": "Reads every event for %s." % name,
        "sla_p99_ms": 1000,
        "peak_rate_msgs": 100,
        "degradation": "lag",
    }


def contract(channel, subject, team="orders"):
    return {
        "apiVersion": "chanreg/v1",
        "channel": channel,
        "description": "Test channel %s owned by %s." % (channel, team),
        "owner": {"team": team, "maintainer": "%s-oncall@example.com" % team},
        "peak_qps": 10,
        "retention_hours": 24,
        "schema": {"subject": subject, "compatibility": "BACKWARD",
                   "versions": [{"version": 1}]},
        "consumers": [dict(consumer_body("billing"), name="billing")],
        "producers": [{"principal": "User:orders-svc"}],
    }




def list_routes():
    out = subprocess.run([chanregd_path(), "--list-routes"], check=True, capture_output=True,
                         text=True, timeout=30).stdout
    routes = [tuple(line.split()) for line in out.splitlines() if line.strip()]
    return {(m, p): a for m, p, a in routes}


class AuthzRoutesTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        identities = {name: role for role, name in ROLES.items() if name}
        cls.d.args += ["--token-file", write_token_file(cls.d.dir, identities, TOKENS)]
        cls.d.start()
        cls.counter = itertools.count(1)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.d.cleanup()
        if rc != 0:
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "Sanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-4000:])

    def as_role(self, role, method, path, body=None):
        name = ROLES[role]
        return self.d.request(method, path, body=body, token=TOKENS[name] if name else None)

    def admin(self, method, path, body=None):
        r = self.as_role("admin", method, path, body)
        self.assertLess(r.status, 300, (method, path, r))
        return r

    def fresh_channel(self, team="orders"):
        """A new channel owned by team with its subject (version 1) and consumer billing."""
        n = next(self.counter)
        channel, subject = "%s.authz-%d" % (team, n), "%s.authz-%d-value" % (team, n)
        self.admin("POST", "/subjects/%s/versions" % subject, {"schema": schema(1)})
        self.admin("PUT", "/v1/channels/" + channel, contract(channel, subject, team))
        return channel, subject

    def test_list_routes_names_an_action_for_every_route(self):
        routes = list_routes()
        self.assertEqual(routes[("GET", "/healthz")], "public")
        self.assertEqual(routes[("GET", "/v1/whoami")], "self")
        self.assertEqual(routes[("POST", "/subjects/{subject}/versions")], "subject.write")
        self.assertNotIn("?", routes.values())

    def test_every_write_route_is_in_the_table(self):
        writes = {k for k, action in list_routes().items() if action not in NOT_WRITES}
        self.assertEqual(writes - set(ROUTES), set(), "write routes missing from ROUTES")
        self.assertEqual(set(ROUTES) - writes, set(), "ROUTES entries that are not write routes")

    def test_write_routes_by_role(self):
        for (method, pattern), (template, body, allowed) in sorted(ROUTES.items()):
            for role in ROLES:
                with self.subTest(route="%s %s" % (method, pattern), role=role):
                    channel, subject = self.fresh_channel()
                    path = template.format(c=channel, s=subject)
                    if body == "contract":
                        payload = contract(channel, subject)
                    else:
                        payload = body() if body else None
                    r = self.as_role(role, method, path, payload)
                    if role in allowed:
                        self.assertNotIn(r.status, (401, 403), r)
                    elif role == "anonymous":
                        self.assertEqual(r.status, 401, r)
                    else:
                        self.assertEqual(r.status, 403, r)
                        self.assertEqual(r.json["error_code"], 40301, r)

    def test_confluent_refusal_shape(self):
        channel, subject = self.fresh_channel()
        r = self.as_role("ci:billing", "POST", "/subjects/%s/versions" % subject,
                         {"schema": schema(2)})
        self.assertEqual(r.status, 403, r)
        self.assertEqual(set(r.json), {"error_code", "message"}, r)
        self.assertEqual(r.json["error_code"], 40301)
        self.assertTrue(r.json["message"].startswith(
            "User is denied operation Write on Subject: %s. " % subject), r)
        self.assertIn("ci:orders or owner:orders", r.json["message"])
        self.assertIn("identity ci-billing has ci:billing", r.json["message"])

    def test_v1_refusal_shape(self):
        channel, _ = self.fresh_channel()
        r = self.as_role("ci:orders", "DELETE", "/v1/channels/" + channel)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40301)
        self.assertEqual(r.json["identity"], "ci-orders")
        self.assertEqual(r.json["missing_roles"], ["admin", "owner:orders"])
        self.assertIn("ci-orders", r.json["message"])

    def test_channel_put_cannot_move_a_channel_to_another_team(self):
        channel, subject = self.fresh_channel()
        r = self.as_role("owner:billing", "PUT", "/v1/channels/" + channel,
                         contract(channel, subject, team="billing"))
        self.assertEqual(r.status, 403, r)
        r = self.as_role("owner:orders", "PUT", "/v1/channels/" + channel,
                         contract(channel, subject, team="billing"))
        self.assertEqual(r.status, 403, r)

    def test_unbound_subject_needs_a_writer_role(self):
        subject = "free.authz-%d-value" % next(self.counter)
        r = self.as_role("reader", "POST", "/subjects/%s/versions" % subject,
                         {"schema": schema(1)})
        self.assertEqual(r.status, 403, r)
        r = self.as_role("ci:billing", "POST", "/subjects/%s/versions" % subject,
                         {"schema": schema(1)})
        self.assertEqual(r.status, 200, r)

    def test_whoami(self):
        r = self.as_role("owner:orders", "GET", "/v1/whoami")
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"identity": "orders-team", "roles": ["owner:orders"],
                                  "source": "file", "expires_at": None, "auth": True})
        r = self.as_role("anonymous", "GET", "/v1/whoami")
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["identity"], r.json["roles"]), ("anonymous", []))

    def test_audit_actor_is_the_identity(self):
        channel, _ = self.fresh_channel()
        r = self.as_role("owner:orders", "DELETE", "/v1/channels/" + channel)
        self.assertEqual(r.status, 200, r)
        r = self.d.get("/v1/audit?object=channel/%s" % channel)
        self.assertEqual(r.status, 200, r)
        deletes = [e for e in r.json["entries"] if e["action"] == "channel.delete"]
        self.assertEqual([e["actor"] for e in deletes], ["orders-team"], r.json)

    # Holes: both calls succeeded before authorization had teams.

    def test_other_team_cannot_delete_channel(self):
        channel, _ = self.fresh_channel()
        r = self.as_role("owner:billing", "DELETE", "/v1/channels/" + channel)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40301)
        self.assertIn("owner:orders", r.json["missing_roles"])
        self.assertEqual(self.d.get("/v1/channels/" + channel).status, 200)

    def test_other_team_cannot_set_config_none(self):
        channel, subject = self.fresh_channel()
        r = self.as_role("owner:billing", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40301)
        self.assertIn("denied operation Write on Subject: " + subject, r.json["message"])
        r = self.d.get("/config/%s?defaultToGlobal=true" % subject)
        self.assertNotEqual(r.json.get("compatibilityLevel"), "NONE", r)


class OpenModeTest(unittest.TestCase):

    def test_open_mode_is_anonymous_admin_with_a_warning(self):
        d = Daemon().start()
        try:
            r = d.get("/v1/whoami")
            self.assertEqual(r.json, {"identity": "anonymous", "roles": ["admin"],
                                      "source": "open", "expires_at": None, "auth": False})
            self.assertEqual(d.put("/config", {"compatibility": "FULL"}).status, 200)
        finally:
            self.assertEqual(d.stop(), 0)
            log = d.read_log()
            d.cleanup()
        self.assertRegex(log, r"warn config auth is off")


if __name__ == "__main__":
    unittest.main(verbosity=2)
