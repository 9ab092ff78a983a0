"""test_governance.py - consumer governance over real HTTP: origin, approval, drift, dry run.

chanregd runs with a token file of v2 lines (SHA-256 digests computed here)
naming one identity per role: orders-team (owner:orders, owns the test
channels), billing-team (owner:billing, registers its consumers on them) and
root (admin); and with Kafka admission in plan mode against the
Kafka-protocol peer (tests/support/kafka/kafka_acl_peer.py), so that the
ACL plan can be read.

Holes closed (each test failed before consumers had an origin and a state):
  - a consumer registered over REST was removed by the next contract put;
  - a contract could add consumers to a deprecated channel (200), and
    admission then granted them read;
  - another team's registration was granted at once (201, read access, ACLs).

And (each test failed while the deprecation rule looked at consumer names only):
  - on a deprecated channel, a REST put moving an existing consumer to a new
    principal, a contract doing the same, and the approval of a registration
    pending from before the deprecation all gave a new principal read access;
  - adopting a pending or rejected registration through the contract approved
    it without a consumer.approve audit entry.
"""

import os
import secrets
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "admission"))

from admission_harness import Peer  # noqa: E402
from chanregd import Chanregd, ChanregdTestCase, chanctl, write_token_file  # noqa: E402
from channels_harness import (  # noqa: E402
    consumer_body,
    orders_contract,
    register_orders_schemas,
    unique,
)

IDENTITIES = {"orders-team": "owner:orders", "billing-team": "owner:billing", "root": "admin"}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16)) for name in IDENTITIES}




def invoicing_body():
    """billing's consumer of an orders channel."""
    return consumer_body(principal="User:invoicing-svc", group="invoicing.orders",
                         scenario="Bills each order.")


class GovernanceTest(ChanregdTestCase):

    @classmethod
    def setUpClass(cls):
        cls.d = None
        cls.tmp = tempfile.mkdtemp(prefix="chanreg-governance-")
        cls.peer = Peer(cls.tmp).start()
        try:
            token_file = write_token_file(cls.tmp, IDENTITIES, TOKENS)
            cls.d = Chanregd("--token-file", token_file, "--kafka-bootstrap",
                             cls.peer.bootstrap, "--acl-mode", "plan", "--kafka-timeout-ms",
                             "2000", "--reconcile-interval", "3600", name="governance").start()
            cls.d.token = TOKENS["root"]  # after start: the token file is the only auth option
            register_orders_schemas(cls.d)
        except Exception:
            cls.peer.stop()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            cls.peer.stop()
            shutil.rmtree(cls.tmp, ignore_errors=True)

    # -- helpers -------------------------------------------------------------

    def as_(self, who, method, path, body=None):
        return self.d.request(method, path, body=body, token=TOKENS[who])

    def new_channel(self, **changes):
        """A new channel owned by orders (contract consumers billing and analytics)."""
        contract = orders_contract(unique("orders.gov"))
        contract.update(changes)
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 201, reply)
        return contract

    def consumers_path(self, contract, name=""):
        path = "/v1/channels/%s/consumers" % contract["channel"]
        return path + "/" + name if name else path

    def channel(self, contract):
        reply = self.d.get("/v1/channels/" + contract["channel"])
        self.assertEqual(reply.status, 200, reply)
        return reply.json

    def consumer(self, contract, name):
        return {c["name"]: c for c in self.channel(contract)["consumers"]}.get(name)

    def admission_reads(self, principal):
        reply = self.d.get("/v1/admission/" + principal)
        self.assertEqual(reply.status, 200, reply)
        return [r["channel"] for r in reply.json["read"]]

    def plan_principals(self):
        """The principals of the bindings the ACL plan would create."""
        reply = self.d.get("/v1/acl/plan")
        self.assertEqual(reply.status, 200, reply)
        return {(b["principal"], b["resource_name"], b["operation"])
                for b in reply.json["create"] + reply.json["unchanged"]}

    def exported_users(self):
        """The text of `chanctl export strimzi` (a KafkaUser per principal with access)."""
        r = chanctl("export", "strimzi", "--registry", self.d.url)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def audit(self, obj):
        reply = self.d.get("/v1/audit?limit=1000&object=" + obj)
        self.assertEqual(reply.status, 200, reply)
        return reply.json["entries"]

    # -- tests ---------------------------------------------------------------

    def test_api_consumer_survives_contract_put(self):
        contract = self.new_channel()
        reply = self.as_("orders-team", "PUT", self.consumers_path(contract, "fraud"),
                         consumer_body())
        self.assertEqual(reply.status, 201, reply)
        self.assertEqual((reply.json["origin"], reply.json["state"]), ("api", "approved"))

        # The contract (which does not list fraud) is sent again, changed.
        contract["peak_qps"] = 1500
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 200, reply)
        self.assertTrue(reply.json["changed"])
        self.assertEqual([c["name"] for c in reply.json["drift"]], ["fraud"])
        self.assertEqual(reply.json["drift"][0]["origin"], "api")
        self.assertEqual(reply.json["adopted"], [])
        fraud = self.consumer(contract, "fraud")
        self.assertIsNotNone(fraud, "the contract put removed a consumer registered over REST")
        self.assertEqual(fraud["principal"], "User:fraud-svc")
        self.assertEqual(self.consumer(contract, "billing")["origin"], "contract")
        removed = [e for e in self.audit("channel/" + contract["channel"])
                   if e["action"] == "channel.update"]
        self.assertEqual(removed[-1]["detail"]["consumers"]["removed"], [])

        # Listing it in the contract adopts it.
        contract["consumers"].append(dict(consumer_body(), name="fraud"))
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual((reply.json["adopted"], reply.json["drift"]), (["fraud"], []))
        self.assertEqual(self.consumer(contract, "fraud")["origin"], "contract")

    def test_contract_cannot_add_consumer_to_deprecated_channel(self):
        contract = self.new_channel()
        contract["deprecation_date"] = "2020-01-01"
        contract["retirement_date"] = "2999-12-31"  # deprecated, not retired: access stays
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 200, reply)
        revision = reply.json["revision"]

        late = dict(consumer_body(principal="User:late-svc", group="late.orders"), name="late")
        contract["consumers"].append(late)
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertError(reply, 409, 40912, "accepts no new consumers")
        self.assertEqual([(e["rule"], e["path"]) for e in reply.json["errors"]],
                         [("deprecated", "consumers[2]")])
        self.assertIn("late", reply.json["errors"][0]["message"])
        self.assertEqual(self.channel(contract)["revision"], revision)
        self.assertIsNone(self.consumer(contract, "late"))
        self.assertNotIn(contract["channel"], self.admission_reads("User:late-svc"))
        # The consumers it had keep their access.
        self.assertIn(contract["channel"], self.admission_reads("User:billing-svc"))

    def deprecate(self, contract):
        """Deprecate the channel of contract through its contract (not retired: access stays)."""
        contract["deprecation_date"] = "2020-01-01"
        contract["retirement_date"] = "2999-12-31"
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 200, reply)

    def test_rest_cannot_move_consumer_of_deprecated_channel_to_new_principal(self):
        contract = self.new_channel()
        path = self.consumers_path(contract, "fraud")
        self.assertEqual(self.as_("orders-team", "PUT", path, consumer_body()).status, 201)
        self.deprecate(contract)
        revision = self.channel(contract)["revision"]

        reply = self.as_("orders-team", "PUT", path, consumer_body(principal="User:sneaky-svc"))
        self.assertError(reply, 409, 40912, "accepts no new consumers")
        self.assertEqual(self.channel(contract)["revision"], revision)
        self.assertEqual(self.consumer(contract, "fraud")["principal"], "User:fraud-svc")
        self.assertNotIn(contract["channel"], self.admission_reads("User:sneaky-svc"))
        # The same principal may still update its registration.
        reply = self.as_("orders-team", "PUT", path, consumer_body(sla_p99_ms=1500))
        self.assertEqual(reply.status, 200, reply)
        self.assertIn(contract["channel"], self.admission_reads("User:fraud-svc"))

    def test_contract_cannot_move_consumer_of_deprecated_channel_to_new_principal(self):
        contract = self.new_channel()
        self.deprecate(contract)
        revision = self.channel(contract)["revision"]

        contract["consumers"][0]["principal"] = "User:sneaky-svc"
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertError(reply, 409, 40912)
        self.assertEqual([(e["rule"], e["path"]) for e in reply.json["errors"]],
                         [("deprecated", "consumers[0]")])
        self.assertEqual(self.channel(contract)["revision"], revision)
        self.assertEqual(self.consumer(contract, "billing")["principal"], "User:billing-svc")
        self.assertNotIn(contract["channel"], self.admission_reads("User:sneaky-svc"))

    def test_no_approval_after_deprecation(self):
        contract = self.new_channel()
        path = self.consumers_path(contract, "invoicing")
        self.assertEqual(self.as_("billing-team", "PUT", path, invoicing_body()).status, 202)
        self.deprecate(contract)
        revision = self.channel(contract)["revision"]

        for who in ("orders-team", "root"):
            with self.subTest(who=who):
                reply = self.as_(who, "POST", path + "/approve")
                self.assertError(reply, 409, 40912, "accepts no new consumers")
        self.assertEqual(self.channel(contract)["revision"], revision)
        self.assertEqual(self.consumer(contract, "invoicing")["state"], "pending")
        self.assertNotIn(contract["channel"], self.admission_reads("User:invoicing-svc"))
        actions = [e["action"] for e in
                   self.audit("channel/%s/consumer/invoicing" % contract["channel"])]
        self.assertEqual(actions, ["consumer.request"])
        # Rejecting it is still possible.
        reply = self.as_("orders-team", "POST", path + "/reject", {"reason": "Deprecated."})
        self.assertEqual((reply.status, reply.json["state"]), (200, "rejected"), reply)

    def test_contract_adoption_is_an_audited_approval(self):
        contract = self.new_channel()
        for name in ("audit", "spam"):
            reply = self.as_("billing-team", "PUT", self.consumers_path(contract, name),
                             consumer_body(group=name + ".g", principal="User:%s-svc" % name))
            self.assertEqual(reply.status, 202, reply)
        reply = self.as_("orders-team", "POST", self.consumers_path(contract, "spam") + "/reject",
                         {"reason": "Not needed."})
        self.assertEqual(reply.status, 200, reply)

        for name in ("audit", "spam"):
            contract["consumers"].append(
                dict(consumer_body(group=name + ".g", principal="User:%s-svc" % name), name=name))
        dry = self.as_("orders-team", "PUT",
                       "/v1/channels/%s?dry_run=true" % contract["channel"], contract)
        self.assertEqual(dry.status, 200, dry)
        self.assertEqual(
            [e["action"] for e in
             self.audit("channel/%s/consumer/audit" % contract["channel"])], ["consumer.request"])
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(sorted(reply.json["adopted"]), ["audit", "spam"])

        for name, previous, actions in (
                ("audit", "pending", ["consumer.request", "consumer.approve"]),
                ("spam", "rejected",
                 ["consumer.request", "consumer.reject", "consumer.approve"])):
            with self.subTest(name=name):
                entries = self.audit("channel/%s/consumer/%s" % (contract["channel"], name))
                self.assertEqual([e["action"] for e in entries], actions)
                last = entries[-1]
                self.assertEqual(last["actor"], "orders-team")
                self.assertEqual((last["detail"]["via"], last["detail"]["previous_state"]),
                                 ("contract", previous))
                c = self.consumer(contract, name)
                self.assertEqual((c["origin"], c["state"], c["decided_by"]),
                                 ("contract", "approved", "orders-team"))
                self.assertIn(contract["channel"], self.admission_reads("User:%s-svc" % name))

        # Sent again unchanged: nothing new is audited.
        reply = self.as_("orders-team", "PUT", "/v1/channels/" + contract["channel"], contract)
        self.assertEqual((reply.status, reply.json["changed"]), (200, False), reply)
        self.assertEqual(len(self.audit("channel/%s/consumer/audit" % contract["channel"])), 2)

    def test_cross_team_consumer_pending_until_approved(self):
        contract = self.new_channel()
        path = self.consumers_path(contract, "invoicing")
        reply = self.as_("billing-team", "PUT", path, invoicing_body())
        self.assertEqual(reply.status, 202, reply)
        self.assertEqual((reply.json["origin"], reply.json["state"], reply.json["requester_team"],
                          reply.json["requested_by"]),
                         ("api", "pending", "billing", "billing-team"))

        # Pending: no access, no ACLs.
        self.assertNotIn(contract["channel"], self.admission_reads("User:invoicing-svc"))
        self.assertNotIn(("User:invoicing-svc", contract["channel"], "READ"),
                         self.plan_principals())
        self.assertNotIn("invoicing-svc", self.exported_users())
        reply = self.d.get("/v1/consumers?state=pending&team=orders")
        self.assertEqual(reply.status, 200, reply)
        pending = [(c["channel"], c["name"]) for c in reply.json["consumers"]]
        self.assertIn((contract["channel"], "invoicing"), pending)
        self.assertNotIn((contract["channel"], "billing"), pending)
        reply = self.d.get("/v1/consumers?state=pending&team=billing")
        self.assertIn((contract["channel"], "invoicing"),
                      [(c["channel"], c["name"]) for c in reply.json["consumers"]])
        self.assertError(self.d.get("/v1/consumers?state=maybe"), 422, 42202)

        # Only the channel's owner (or admin) decides; renewal waits for the decision.
        reply = self.as_("billing-team", "POST", path + "/approve")
        self.assertEqual(reply.status, 403, reply)
        self.assertError(self.as_("billing-team", "POST", path + "/renew"), 409, 40914)
        reply = self.as_("orders-team", "POST", path + "/approve")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual((reply.json["state"], reply.json["decided_by"]),
                         ("approved", "orders-team"))
        self.assertError(self.as_("orders-team", "POST", path + "/approve"), 409, 40914)

        self.assertIn(contract["channel"], self.admission_reads("User:invoicing-svc"))
        self.assertIn(("User:invoicing-svc", contract["channel"], "READ"), self.plan_principals())
        self.assertIn("invoicing-svc", self.exported_users())
        self.assertEqual(self.as_("billing-team", "POST", path + "/renew").status, 200)
        actions = [e["action"] for e in
                   self.audit("channel/%s/consumer/invoicing" % contract["channel"])]
        self.assertEqual(actions, ["consumer.request", "consumer.approve", "consumer.renew"])

        # The owner's own registration needs no approval.
        reply = self.as_("orders-team", "PUT", self.consumers_path(contract, "own"),
                         consumer_body(group="own.g"))
        self.assertEqual((reply.status, reply.json["state"]), (201, "approved"), reply)

    def test_reject_needs_reason_and_is_audited(self):
        contract = self.new_channel()
        path = self.consumers_path(contract, "invoicing")
        self.assertEqual(self.as_("billing-team", "PUT", path, invoicing_body()).status, 202)

        for body in (None, {}, {"reason": ""}, {"reason": 7}, {"reason": "x" * 1025}):
            with self.subTest(body=body):
                reply = self.as_("orders-team", "POST", path + "/reject", body)
                self.assertError(reply, 422, 42213)
        self.assertEqual(self.consumer(contract, "invoicing")["state"], "pending")

        reason = "Billing reads the invoices channel instead."
        reply = self.as_("orders-team", "POST", path + "/reject", {"reason": reason})
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual((reply.json["state"], reply.json["decision_reason"],
                          reply.json["decided_by"]), ("rejected", reason, "orders-team"))
        self.assertError(self.as_("orders-team", "POST", path + "/reject", {"reason": reason}),
                         409, 40914, "not pending")
        self.assertError(self.as_("orders-team", "POST", path + "/approve"), 409, 40914)
        self.assertError(self.as_("billing-team", "POST", path + "/renew"), 409, 40914)
        self.assertNotIn(contract["channel"], self.admission_reads("User:invoicing-svc"))

        last = self.audit("channel/%s/consumer/invoicing" % contract["channel"])[-1]
        self.assertEqual((last["action"], last["actor"]), ("consumer.reject", "orders-team"))
        self.assertEqual(last["detail"]["reason"], reason)

        # A rejected registration may be withdrawn by its team.
        self.assertEqual(self.as_("billing-team", "DELETE", path).status, 200)
        self.assertEqual(self.audit("channel/%s/consumer/invoicing" % contract["channel"])[-1]
                         ["action"], "consumer.remove")

    def test_contract_consumer_not_changeable_over_rest(self):
        contract = self.new_channel()
        revision = self.channel(contract)["revision"]
        path = self.consumers_path(contract, "billing")
        for who in ("root", "orders-team", "billing-team"):
            with self.subTest(who=who):
                reply = self.as_(who, "PUT", path,
                                 consumer_body(group="billing.order-created", sla_p99_ms=5))
                self.assertError(reply, 409, 40913, "managed by the contract")
                self.assertIn("change the contract file", reply.json["message"])
        self.assertError(self.as_("orders-team", "DELETE", path), 409, 40913)
        self.assertEqual(self.channel(contract)["revision"], revision)
        self.assertEqual(self.consumer(contract, "billing")["sla_p99_ms"], 2000)

    def test_put_channel_dry_run_equals_real_reply(self):
        def put(contract, dry):
            path = "/v1/channels/%s%s" % (contract["channel"], "?dry_run=true" if dry else "")
            return self.as_("orders-team", "PUT", path, contract)

        def same(contract):
            """Dry run then real run; the replies differ in dry_run only."""
            before = self.d.get("/v1/channels/" + contract["channel"])
            audit_before = self.d.get("/v1/audit?limit=1000").json["next"]
            dry = put(contract, True)
            self.assertEqual(self.d.get("/v1/channels/" + contract["channel"]).body, before.body)
            self.assertEqual(self.d.get("/v1/audit?limit=1000").json["next"], audit_before)
            real = put(contract, False)
            self.assertEqual(dry.status, real.status, (dry, real))
            self.assertIs(dry.json.pop("dry_run", None), True, dry)
            self.assertIs(real.json.pop("dry_run", False), False, real)
            self.assertEqual(dry.json, real.json)
            return real

        # A new channel.
        contract = orders_contract(unique("orders.gov-dry"))
        real = same(contract)
        self.assertEqual((real.status, real.json["revision"]), (201, 1))

        # API consumers: one kept as drift, one adopted; a contract consumer removed.
        for name in ("fraud", "audit"):
            reply = self.as_("billing-team", "PUT", self.consumers_path(contract, name),
                             consumer_body(group=name + ".g", principal="User:%s-svc" % name))
            self.assertEqual(reply.status, 202, reply)
        contract["consumers"] = [contract["consumers"][0],
                                 dict(consumer_body(group="audit.g", principal="User:audit-svc"),
                                      name="audit")]
        real = same(contract)
        self.assertEqual((real.status, real.json["changed"]), (200, True))
        self.assertEqual(real.json["adopted"], ["audit"])
        self.assertEqual([(c["name"], c["state"]) for c in real.json["drift"]],
                         [("fraud", "pending")])
        self.assertEqual(self.consumer(contract, "audit")["state"], "approved")
        self.assertIsNone(self.consumer(contract, "analytics"))

        # Nothing to change.
        real = same(contract)
        self.assertFalse(real.json["changed"])

        # Refused: a new consumer on a deprecated channel, dry or not.
        contract["deprecation_date"] = "2020-01-01"
        contract["retirement_date"] = "2999-12-31"
        self.assertEqual(same(contract).status, 200)
        contract["consumers"].append(dict(consumer_body(group="late.g"), name="late"))
        dry, real = put(contract, True), put(contract, False)
        self.assertEqual((dry.status, real.status), (409, 409))
        self.assertEqual(dry.json, real.json)


if __name__ == "__main__":
    unittest.main(verbosity=2)
