#!/usr/bin/python3
"""integration.admission.revoke - deleting or retiring a channel revokes its bindings, and
every ACL apply that changes something is audited.

  RevokeTest  chanregd in --acl-mode apply against the Kafka-protocol peer, with a loop
              interval long enough that every pass after the first is one the test asks
              for (POST /v1/acl/apply):
              - a deleted channel's bindings are in the plan's deletes, exactly those, and
                the apply removes them at the peer;
              - a retired channel's bindings likewise;
              - an apply is audited ("acl.apply", actor = requester, created/deleted lists)
                and GET /v1/acl/applied returns the bindings in place;
              - an idempotent pass is not audited.
"""

import os
import sys
import unittest

from admission_harness import AdmissionTestCase, put_contract, register_examples

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "channels"))
from channels_harness import orders_contract  # noqa: E402


def binding(rtype, name, principal, op):
    return {"resource_type": rtype, "resource_name": name, "pattern_type": "LITERAL",
            "principal": principal, "host": "*", "operation": op, "permission": "ALLOW"}


def as_tuple(b):
    return (b["resource_type"], b["resource_name"], b["pattern_type"], b["principal"],
            b["host"], b["operation"], b["permission"])


def key(b):
    return as_tuple(b)


def channel_bindings(name):
    """The five bindings of a channel made by channel_contract(name)."""
    reader, writer, group = "User:%s-reader" % name, "User:%s-writer" % name, name + ".group"
    return sorted([binding("TOPIC", name, reader, "READ"),
                   binding("TOPIC", name, reader, "DESCRIBE"),
                   binding("GROUP", group, reader, "READ"),
                   binding("TOPIC", name, writer, "WRITE"),
                   binding("TOPIC", name, writer, "DESCRIBE")], key=key)


def channel_contract(name, deprecation_date=None):
    contract = orders_contract(name)
    contract["consumers"] = [{"name": "reader", "principal": "User:%s-reader" % name,
                              "group": name + ".group", "scenario": "Reads it.",
                              "sla_p99_ms": 2000, "peak_rate_msgs": 10, "degradation": "lag"}]
    contract["producers"] = [{"principal": "User:%s-writer" % name}]
    if deprecation_date:
        contract["deprecation_date"] = deprecation_date
    return contract


class RevokeTest(AdmissionTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kafka = cls.peer()
        cls.d = cls.daemon("--kafka-bootstrap", cls.kafka.bootstrap, "--acl-mode", "apply",
                           "--reconcile-interval", "3600", "--kafka-timeout-ms", "2000")
        # The loop's first pass runs at start, on an empty registry: nothing to audit.
        cls.d.wait_passes(1)
        register_examples(cls.d)

    def apply(self):
        reply = self.d.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 200, reply)
        self.assertTrue(reply.json["ok"], reply)
        return reply.json

    def plan(self):
        reply = self.d.request("GET", "/v1/acl/plan")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.json["actual_state"], "known", reply)
        return reply.json

    def audit(self):
        reply = self.d.request("GET", "/v1/audit?object=acl&limit=1000")
        self.assertEqual(reply.status, 200, reply)
        return [e for e in reply.json["entries"] if e["action"] == "acl.apply"]

    def at_peer(self, name):
        return {b for b in self.kafka.acls() if b[1] in (name, name + ".group")}

    def granted(self, name):
        """Create the channel and apply: its five bindings are at the peer."""
        put_contract(self.d, channel_contract(name))
        self.apply()
        self.assertEqual(self.at_peer(name), {as_tuple(b) for b in channel_bindings(name)})

    def test_delete_channel_revokes_bindings(self):
        self.granted("revoke.deleted")
        self.assertEqual(self.plan()["summary"]["delete"], 0)

        reply = self.d.request("DELETE", "/v1/channels/revoke.deleted")
        self.assertEqual(reply.status, 200, reply)
        plan = self.plan()
        self.assertEqual(sorted(plan["delete"], key=key), channel_bindings("revoke.deleted"))
        self.assertEqual(plan["create"], [])

        report = self.apply()
        self.assertEqual(report["deleted"], 5, report)
        self.assertEqual(self.at_peer("revoke.deleted"), set())
        self.assertEqual(self.plan()["summary"]["delete"], 0)
        # The other channels keep their access.
        self.assertTrue(any(b[1] == "orders.order-created" for b in self.kafka.acls()))

        # Created again, the channel is granted again (its tombstone is gone).
        self.granted("revoke.deleted")

    def test_retired_channel_revokes_bindings(self):
        self.granted("revoke.retired")
        put_contract(self.d, channel_contract("revoke.retired", deprecation_date="2020-01-01"))
        plan = self.plan()
        self.assertEqual(sorted(plan["delete"], key=key), channel_bindings("revoke.retired"))
        report = self.apply()
        self.assertEqual(report["deleted"], 5, report)
        self.assertEqual(self.at_peer("revoke.retired"), set())

    def test_apply_is_audited(self):
        self.apply()  # whatever the other tests left to do
        before = len(self.audit())
        put_contract(self.d, channel_contract("revoke.audited"))
        self.apply()
        self.d.request("DELETE", "/v1/channels/revoke.audited")
        self.apply()

        entries = self.audit()[before:]
        self.assertEqual(len(entries), 2, entries)
        granted, revoked = entries
        for e in entries:
            self.assertEqual(e["actor"], "admin")
            self.assertEqual(e["object"], "acl")
            self.assertEqual(e["detail"]["trigger"], "api")
            self.assertEqual(e["detail"]["failed"], [])
        self.assertEqual(sorted(granted["detail"]["created"], key=key),
                         channel_bindings("revoke.audited"))
        self.assertEqual(granted["detail"]["deleted"], [])
        self.assertEqual(revoked["detail"]["created"], [])
        self.assertEqual(sorted(revoked["detail"]["deleted"], key=key),
                         channel_bindings("revoke.audited"))

        # The applied state is what the peer holds within the registry's scope.
        reply = self.d.request("GET", "/v1/acl/applied")
        self.assertEqual(reply.status, 200, reply)
        self.assertRegex(reply.json["applied_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        applied = {as_tuple(b) for b in reply.json["bindings"]}
        self.assertEqual(applied, {as_tuple(b) for b in self.plan()["unchanged"]})
        self.assertTrue(applied <= self.kafka.acls())
        self.assertFalse(any(b[1].startswith("revoke.audited") for b in applied))

    def test_idempotent_pass_not_audited(self):
        self.apply()  # whatever is left to do
        entries = self.audit()
        applied = self.d.request("GET", "/v1/acl/applied").json
        creates, deletes = self.kafka.requests("CreateAcls"), self.kafka.requests("DeleteAcls")
        report = self.apply()
        self.assertEqual((report["created"], report["deleted"], report["failed"]), (0, 0, 0))
        self.assertEqual(self.audit(), entries)
        self.assertEqual(self.d.request("GET", "/v1/acl/applied").json, applied)
        self.assertEqual(self.kafka.requests("CreateAcls"), creates)
        self.assertEqual(self.kafka.requests("DeleteAcls"), deletes)


class NeverAppliedTest(AdmissionTestCase):

    def test_applied_before_any_apply_is_40420(self):
        d = self.daemon()
        reply = d.request("GET", "/v1/acl/applied")
        self.assertEqual(reply.status, 404, reply)
        self.assertEqual(reply.json["error_code"], 40420)


if __name__ == "__main__":
    unittest.main(verbosity=2)
