"""test_floor.py - the policy floor of compatibility (--min-compatibility), over real HTTP.

The daemon runs with a token file naming an admin, the owner and the ci of
team "orders".  Each test gets its own channel owned by orders, bound to
its own subject (version 1: a record with a long "id"), created by the
admin.  The holes closed here: the owner of a bound subject could set it to
NONE, after which a breaking change (long -> string) registered; and a
subject set to NONE while unbound stayed there once a contract bound it.
"""

import itertools
import os
import secrets
import subprocess
import unittest

from chanregd import (Chanregd as Daemon, avro_record as record, binary,  # noqa: E402
                      clean_env, write_token_file)

IDENTITIES = {"root": "admin", "orders-team": "owner:orders", "ci-orders": "ci:orders"}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16)) for name in IDENTITIES}
REASON = "Legacy scanners resend whole parcels; consumers read the latest version only."


def schema(id_type):
    return record("Parcel", [("id", id_type)])


def contract(channel, subject, compatibility="BACKWARD", waiver=None):
    doc = {
        "apiVersion": "chanreg/v1",
        "channel": channel,
        "description": "Test channel %s of the policy floor." % channel,
        "owner": {"team": "orders", "maintainer": "orders-oncall@example.com"},
        "peak_qps": 10,
        "retention_hours": 24,
        "schema": {"subject": subject, "compatibility": compatibility,
                   "versions": [{"version": 1}]},
        "consumers": [{"name": "billing", "principal": "User:billing-svc",
                       "group": "billing.parcels", "scenario": "Bills every parcel.",
                       "sla_p99_ms": 1000, "peak_rate_msgs": 10, "degradation": "lag"}],
        "producers": [{"principal": "User:orders-svc"}],
    }
    if waiver:
        doc["schema"]["waiver"] = {"reason": waiver}
    return doc




class FloorTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = Daemon()
        cls.d.args += ["--token-file", write_token_file(cls.d.dir, IDENTITIES, TOKENS)]
        cls.d.start()
        cls.counter = itertools.count(1)

    @classmethod
    def tearDownClass(cls):
        problems = cls.d.check_exit()
        cls.d.cleanup()
        if problems:
            raise AssertionError("\n".join(problems))

    def call(self, who, method, path, body=None):
        return self.d.request(method, path, body=body, token=TOKENS[who])

    def admin(self, method, path, body=None):
        r = self.call("root", method, path, body)
        self.assertLess(r.status, 300, (method, path, r))
        return r

    def fresh_channel(self, compatibility="BACKWARD", waiver=None):
        n = next(self.counter)
        channel, subject = "orders.floor-%d" % n, "orders.floor-%d-value" % n
        self.admin("POST", "/subjects/%s/versions" % subject, {"schema": schema("long")})
        self.admin("PUT", "/v1/channels/" + channel,
                   contract(channel, subject, compatibility, waiver))
        return channel, subject

    def assertBelowFloor(self, r, subject, channel):
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40302, r)
        self.assertIn("compatibility NONE is below the registry's floor BACKWARD for subject "
                      "%s bound to channel %s" % (subject, channel), r.json["message"])

    def test_owner_cannot_set_bound_subject_below_floor(self):
        channel, subject = self.fresh_channel()
        for who in ("orders-team", "ci-orders"):
            r = self.call(who, "PUT", "/config/" + subject, {"compatibility": "NONE"})
            self.assertBelowFloor(r, subject, channel)
            self.assertIn("only an admin may set it", r.json["message"])
        r = self.call("orders-team", "GET", "/config/%s?defaultToGlobal=true" % subject)
        self.assertEqual(r.json["compatibilityLevel"], "BACKWARD", r)
        # Levels at or above the floor are the owner's to choose.
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "FULL"})
        self.assertEqual(r.status, 200, r)
        # So the breaking change (long -> string) is still refused.
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("string")})
        self.assertEqual(r.status, 409, r)

    def test_admin_may_and_is_audited(self):
        channel, subject = self.fresh_channel()
        r = self.call("root", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"compatibility": "NONE"})
        entries = self.admin("GET", "/v1/audit?object=config/" + subject).json["entries"]
        self.assertTrue(any(e["action"] == "config.set" and e["actor"] == "root"
                            for e in entries), entries)
        self.assertIn("policy floor overridden by admin subject=" + subject, self.d.read_log())
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("string")})
        self.assertEqual(r.status, 200, r)

    def test_unbound_subject_keeps_confluent_semantics(self):
        subject = "orders.unbound-%d-value" % next(self.counter)
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("long")})
        self.assertEqual(r.status, 200, r)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 200, r)
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("string")})
        self.assertEqual(r.status, 200, r)

    def test_delete_config_cannot_fall_below_floor(self):
        channel, subject = self.fresh_channel()
        self.admin("PUT", "/config/" + subject, {"compatibility": "FULL"})
        self.admin("PUT", "/config", {"compatibility": "NONE"})
        self.addCleanup(self.admin, "PUT", "/config", {"compatibility": "BACKWARD"})
        r = self.call("orders-team", "DELETE", "/config/" + subject)
        self.assertBelowFloor(r, subject, channel)
        r = self.call("orders-team", "GET", "/config/" + subject)
        self.assertEqual(r.json["compatibilityLevel"], "FULL", r)
        # Falling back to a level that satisfies the floor is fine.
        self.admin("PUT", "/config", {"compatibility": "BACKWARD_TRANSITIVE"})
        r = self.call("orders-team", "DELETE", "/config/" + subject)
        self.assertEqual(r.status, 200, r)

    def test_approved_waiver_allows_contract_level(self):
        channel, subject = self.fresh_channel("NONE", REASON)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertBelowFloor(r, subject, channel)
        self.assertIn("approve the contract's waiver", r.json["message"])
        waiver = self.admin("GET", "/v1/channels/" + channel).json["waiver"]
        self.assertEqual(waiver, {"reason": REASON, "approved_by": None, "approved_at": None})

        r = self.call("orders-team", "POST", "/v1/channels/%s/waiver/approve" % channel)
        self.assertEqual((r.status, r.json["error_code"]), (403, 40301), r)
        r = self.admin("POST", "/v1/channels/%s/waiver/approve" % channel)
        self.assertEqual((r.json["channel"], r.json["reason"], r.json["approved_by"],
                          r.json["compatibility"]), (channel, REASON, "root", "NONE"), r)
        entries = self.admin("GET", "/v1/audit?object=channel/" + channel).json["entries"]
        self.assertTrue(any(e["action"] == "channel.waiver.approve" for e in entries), entries)

        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 200, r)
        # The waiver covers the contract's level only.
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "FORWARD"})
        self.assertEqual((r.status, r.json["error_code"]), (403, 40302), r)
        self.assertIn("covers its own compatibility only", r.json["message"])

        # A new compatibility in the contract clears the approval.
        self.admin("PUT", "/v1/channels/" + channel, contract(channel, subject, "FORWARD", REASON))
        waiver = self.admin("GET", "/v1/channels/" + channel).json["waiver"]
        self.assertIsNone(waiver["approved_by"], waiver)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "FORWARD"})
        self.assertEqual((r.status, r.json["error_code"]), (403, 40302), r)

    def test_contract_below_floor_needs_a_waiver(self):
        """The contract path holds the floor too: a contract at NONE without a
        waiver is refused for every identity, admin included; with a waiver it
        is stored (its subject still needs the approval to go below)."""
        n = next(self.counter)
        channel, subject = "orders.floor-c%d" % n, "orders.floor-c%d-value" % n
        self.admin("POST", "/subjects/%s/versions" % subject, {"schema": schema("long")})
        for who in ("orders-team", "root"):
            r = self.call(who, "PUT", "/v1/channels/" + channel,
                          contract(channel, subject, "NONE"))
            self.assertEqual(r.status, 422, (who, r))
            rules = [e.get("rule") for e in r.json.get("errors", [])]
            self.assertIn("compatibility-floor", rules, r)
        self.assertEqual(self.call("root", "GET", "/v1/channels/" + channel).status, 404)
        r = self.call("orders-team", "PUT", "/v1/channels/" + channel,
                      contract(channel, subject, "NONE", REASON))
        self.assertEqual(r.status, 201, r)

    def assertBindRefused(self, r, subject):
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40302, r)
        self.assertIn("subject %s is at compatibility NONE, below the registry's floor BACKWARD"
                      % subject, r.json["message"])
        self.assertIn("set the subject to the contract's level first", r.json["message"])

    def unbound_subject_at_none(self):
        """A new subject with version 1, set to NONE by the owner while no
        channel binds it (allowed: Confluent's semantics)."""
        n = next(self.counter)
        channel, subject = "orders.floor-u%d" % n, "orders.floor-u%d-value" % n
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("long")})
        self.assertEqual(r.status, 200, r)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 200, r)
        return channel, subject

    def test_contract_at_none_cannot_bind_a_subject_set_to_none_first(self):
        """Route 1: the level set to NONE before the contract put (as chanctl
        register did) left a contract at NONE with an unapproved waiver
        binding a subject at NONE.  The put is refused, dry run included, and
        nothing is stored."""
        channel, subject = self.unbound_subject_at_none()
        doc = contract(channel, subject, "NONE", REASON)
        for who in ("orders-team", "ci-orders"):
            for query in ("?dry_run=true", ""):
                r = self.call(who, "PUT", "/v1/channels/" + channel + query, doc)
                self.assertBindRefused(r, subject)
        self.assertEqual(self.call("root", "GET", "/v1/channels/" + channel).status, 404)
        # Once the subject is at the floor, the contract is stored; its level
        # then waits for the admin's approval of the waiver.
        self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "BACKWARD"})
        r = self.call("orders-team", "PUT", "/v1/channels/" + channel, doc)
        self.assertEqual(r.status, 201, r)
        self.assertFalse(r.json["compatibility_allowed"], r)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual((r.status, r.json["error_code"]), (403, 40302), r)
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("string")})
        self.assertEqual(r.status, 409, r)

    def test_contract_cannot_bind_a_subject_left_below_floor(self):
        """Route 2: a subject set to NONE while unbound, then bound by a
        BACKWARD contract, stayed at NONE.  The put is refused for non-admins;
        an admin may bind it (the override is logged)."""
        channel, subject = self.unbound_subject_at_none()
        doc = contract(channel, subject, "BACKWARD")
        for who in ("orders-team", "ci-orders"):
            for query in ("?dry_run=true", ""):
                r = self.call(who, "PUT", "/v1/channels/" + channel + query, doc)
                self.assertBindRefused(r, subject)
        self.assertEqual(self.call("root", "GET", "/v1/channels/" + channel).status, 404)
        r = self.call("orders-team", "POST", "/subjects/%s/versions" % subject,
                      {"schema": schema("string")})
        self.assertEqual(r.status, 200, r)  # unbound: Confluent's semantics
        r = self.call("root", "PUT", "/v1/channels/%s?dry_run=true" % channel, doc)
        self.assertEqual(r.status, 201, r)
        self.assertTrue(r.json["dry_run"], r)

    def test_approved_waiver_level_may_stay_while_the_contract_changes(self):
        """A subject at its contract's approved waiver level takes a new
        revision of that contract, and a contract leaving the waiver (the
        level is set after the put)."""
        channel, subject = self.fresh_channel("NONE", REASON)
        self.admin("POST", "/v1/channels/%s/waiver/approve" % channel)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "NONE"})
        self.assertEqual(r.status, 200, r)
        doc = contract(channel, subject, "NONE", REASON)
        doc["peak_qps"] = 20
        r = self.call("orders-team", "PUT", "/v1/channels/" + channel, doc)
        self.assertEqual(r.status, 200, r)
        self.assertTrue(r.json["compatibility_allowed"], r)
        r = self.call("orders-team", "PUT", "/v1/channels/" + channel,
                      contract(channel, subject, "BACKWARD"))
        self.assertEqual(r.status, 200, r)
        r = self.call("orders-team", "PUT", "/config/" + subject, {"compatibility": "BACKWARD"})
        self.assertEqual(r.status, 200, r)

    def test_put_config_dry_run(self):
        channel, subject = self.fresh_channel()
        r = self.call("orders-team", "PUT", "/config/%s?dry_run=true" % subject,
                      {"compatibility": "NONE"})
        self.assertBelowFloor(r, subject, channel)
        r = self.call("orders-team", "PUT", "/config/%s?dry_run=true" % subject,
                      {"compatibility": "FULL"})
        self.assertEqual((r.status, r.json), (200, {"compatibility": "FULL"}), r)
        r = self.call("orders-team", "GET", "/config/%s?defaultToGlobal=true" % subject)
        self.assertEqual(r.json["compatibilityLevel"], "BACKWARD", r)
        r = self.call("orders-team", "PUT", "/config/%s?dry_run=maybe" % subject,
                      {"compatibility": "FULL"})
        self.assertEqual((r.status, r.json["error_code"]), (400, 40002), r)
        entries = self.admin("GET", "/v1/audit?object=config/" + subject).json["entries"]
        self.assertEqual([e for e in entries if e["action"] == "config.set"], [], entries)

    def test_no_waiver_to_approve(self):
        channel, _ = self.fresh_channel()
        r = self.call("root", "POST", "/v1/channels/%s/waiver/approve" % channel)
        self.assertEqual((r.status, r.json["error_code"]), (409, 40915), r)
        r = self.call("root", "POST", "/v1/channels/orders.nothing-here/waiver/approve")
        self.assertEqual((r.status, r.json["error_code"]), (404, 40410), r)

    def test_policy_route(self):
        r = self.call("ci-orders", "GET", "/v1/policy")
        self.assertEqual((r.status, r.json), (200, {"min_compatibility": "BACKWARD"}), r)

        def check_config(*args, env=None):
            return subprocess.run([binary("CHANREGD"), "--check-config", "--db", "sqlite::memory:",
                                   "--allow-unauthenticated-writes"] + list(args), env=clean_env(env), capture_output=True,
                                  text=True, timeout=30)

        p = check_config("--min-compatibility", "FULL")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--default-compatibility BACKWARD is below the policy floor "
                      "--min-compatibility FULL", p.stderr)
        p = check_config("--min-compatibility", "sometimes")
        self.assertEqual(p.returncode, 2, p)
        self.assertIn("--min-compatibility: unknown level", p.stderr)
        p = check_config("--default-compatibility", "FULL_TRANSITIVE",
                         env={"CHANREG_MIN_COMPATIBILITY": "forward"})
        self.assertEqual(p.returncode, 0, p)

        d = Daemon("--min-compatibility", "none", "--default-compatibility", "NONE")
        self.addCleanup(d.cleanup)
        d.start()
        r = d.get("/v1/policy")
        self.assertEqual((r.status, r.json), (200, {"min_compatibility": "NONE"}), r)
        self.assertEqual(d.stop(), 0)


if __name__ == "__main__":
    unittest.main()
