"""`chanctl check`: the contract health gate, against a real chanregd and
offline, with its exit codes and its text, json and junit reports."""

import json
import os
import shutil
import socket
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

from health_harness import (SOURCE_DIR, TOKEN, HealthTestCase, chanctl, url_of)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
from fake_registry import FakeRegistry, Reply  # noqa: E402

ORDERS = "orders.order-created"
INVENTORY = "inventory.stock-updated"


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class CheckTest(HealthTestCase):

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanreg-check-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas"), os.path.join(self.tmp, "schemas"))
        self.contracts = os.path.join(self.tmp, "contracts")
        os.mkdir(self.contracts)
        for name in (ORDERS, INVENTORY):
            shutil.copy(os.path.join(SOURCE_DIR, "contracts", name + ".yaml"), self.contracts)
        self.d = self.start_daemon()
        self.url = url_of(self.d)

    def register(self, *paths):
        rc, out, err = chanctl("register", "--registry", self.url, "--token", TOKEN,
                               *(paths or [self.contracts]))
        self.assertEqual(rc, 0, out + err)

    def check(self, *args, registry=True):
        full = ["check"] + (["--registry", self.url] if registry else []) + list(args)
        if not any(a.startswith(self.tmp) for a in args):
            full.append(self.contracts)
        return chanctl(*full)

    def check_json(self, *args, want_rc=0, **kw):
        rc, out, err = self.check("--format", "json", *args, **kw)
        self.assertEqual(rc, want_rc, out + err)
        doc = json.loads(out)
        return doc, {m["name"]: m for m in doc["metrics"]}

    def test_all_registered_passes(self):
        self.register()
        rc, out, err = self.check()
        self.assertEqual(rc, 0, out + err)
        self.assertIn("against " + self.url, out)
        self.assertRegex(out, r"schema registration rate\s+100\.0%\s+100\.0%\s+pass \(2/2 channels\)")
        self.assertRegex(out, r"consumer registration completeness\s+100\.0%\s+100\.0%\s+pass "
                              r"\(5/5 consumers\)")
        # No Kafka behind this registry: ACL coverage cannot be measured.
        self.assertRegex(out, r"ACL coverage\s+not measured\s+95\.0%\s+pass")
        doc, m = self.check_json()
        self.assertEqual(doc["mode"], "online")
        self.assertTrue(doc["passed"])
        self.assertEqual((m["schema_registration_rate"]["value"],
                          m["schema_registration_rate"]["good"],
                          m["schema_registration_rate"]["total"]), (1.0, 2, 2))
        self.assertEqual(m["consumer_registration_completeness"]["total"], 5)
        self.assertFalse(m["acl_coverage"]["measured"])
        self.assertIsNone(m["acl_coverage"]["value"])
        # ... which fails the gate only when asked to.
        rc, out, err = self.check("--require-acl-coverage")
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"ACL coverage\s+not measured\s+95\.0%\s+FAIL")

    def test_missing_schemas_and_consumers_fail(self):
        self.register(os.path.join(self.contracts, ORDERS + ".yaml"))
        doc, m = self.check_json(want_rc=1)
        self.assertFalse(doc["passed"])
        schema = m["schema_registration_rate"]
        self.assertEqual((schema["good"], schema["total"], schema["value"], schema["passed"]),
                         (1, 2, 0.5, False))
        self.assertEqual(len(schema["failing"]), 1)
        self.assertIn(INVENTORY, schema["failing"][0])
        self.assertIn("v2 not registered", schema["failing"][0])
        completeness = m["consumer_registration_completeness"]
        self.assertEqual((completeness["good"], completeness["total"]), (3, 5))
        self.assertEqual(sorted(completeness["failing"]),
                         ["%s/replenishment: channel not registered" % INVENTORY,
                          "%s/storefront: channel not registered" % INVENTORY])
        # Lower thresholds let it pass.
        rc, out, err = self.check("--min-schema-rate", "0.5", "--min-consumer-completeness",
                                  "0.6")
        self.assertEqual(rc, 0, out + err)
        rc, out, err = self.check("--min-schema-rate", "0.5", "--min-consumer-completeness",
                                  "0.61")
        self.assertEqual(rc, 1, out + err)
        self.assertIn("- %s/storefront: channel not registered" % INVENTORY, out)

    def test_changed_consumer_fails(self):
        self.register()
        # The registry holds another version of the contract than the file.
        doc = self.d.request("GET", "/v1/channels/" + ORDERS).json["contract"]
        doc["consumers"] = [c for c in doc["consumers"] if c["name"] != "analytics"]
        for c in doc["consumers"]:
            if c["name"] == "billing":
                c.update(sla_p99_ms=2500, degradation="drop")
        reply = self.d.request("PUT", "/v1/channels/" + ORDERS, body=doc)
        self.assertEqual(reply.status, 200, reply)
        doc, m = self.check_json(want_rc=1)
        completeness = m["consumer_registration_completeness"]
        self.assertEqual((completeness["good"], completeness["total"]), (3, 5))
        self.assertEqual(sorted(completeness["failing"]),
                         ["%s/analytics: not registered" % ORDERS,
                          "%s/billing: differs in sla_p99_ms, degradation" % ORDERS])
        self.assertTrue(m["schema_registration_rate"]["passed"])

        rc, out, err = self.check("--format", "junit")
        self.assertEqual(rc, 1, out + err)
        root = ET.fromstring(out)
        cases = {c.get("name"): c for c in root.iter("testcase")}
        self.assertEqual(sorted(cases), ["acl_coverage", "consumer_registration_completeness",
                                         "policy_floor", "schema_registration_rate"])
        failure = cases["consumer_registration_completeness"].find("failure")
        self.assertIsNotNone(failure)
        self.assertIn("60.0%", failure.get("message"))
        self.assertIn("%s/analytics: not registered" % ORDERS, failure.text)
        self.assertIsNone(cases["schema_registration_rate"].find("failure"))
        self.assertIsNotNone(cases["acl_coverage"].find("skipped"))
        self.assertEqual(root.get("failures"), "1")

    def test_schema_registered_under_another_number(self):
        # The registry holds v1 of the orders subject as its version 2.
        other = json.dumps({"type": "record", "name": "Other", "namespace": "com.example",
                            "fields": []})
        reply = self.d.request("POST", "/subjects/orders.order-created-value/versions",
                               body={"schema": other})
        self.assertEqual(reply.status, 200, reply)
        reply = self.d.request("PUT", "/config/orders.order-created-value",
                               body={"compatibility": "NONE"})
        with open(os.path.join(SOURCE_DIR, "schemas", "orders.order-created-value",
                               "v1.avsc")) as f:
            reply = self.d.request("POST", "/subjects/orders.order-created-value/versions",
                                   body={"schema": f.read()})
        self.assertEqual(reply.status, 200, reply)
        doc, m = self.check_json(want_rc=1)
        failing = m["schema_registration_rate"]["failing"]
        self.assertTrue(any("v1 registered as version 2" in f for f in failing), failing)

    def test_check_reports_subject_below_floor(self):
        # The hole: a bound subject set to NONE let a breaking change in, and
        # the check still reported 100 %.
        self.register()
        subject = ORDERS + "-value"
        reply = self.d.request("PUT", "/config/" + subject, body={"compatibility": "NONE"})
        self.assertEqual(reply.status, 200, reply)
        doc, m = self.check_json(want_rc=1)
        floor = m["policy_floor"]
        self.assertEqual((floor["good"], floor["total"], floor["passed"]), (1, 2, False), floor)
        self.assertEqual(floor["failing"],
                         ["%s (%s): compatibility NONE is below the floor BACKWARD; the contract "
                          "has no waiver" % (ORDERS, subject)])
        self.assertEqual(floor["note"], "floor BACKWARD, from the registry")
        self.assertTrue(m["schema_registration_rate"]["passed"])
        rc, out, err = self.check()
        self.assertEqual(rc, 1, out + err)
        self.assertRegex(out, r"(?m)^policy floor +50\.0% +100\.0% +FAIL \(1/2 subjects\)$")
        # A floor given on the command line wins; NONE lets everything pass.
        doc, m = self.check_json("--min-compatibility", "NONE")
        self.assertEqual(m["policy_floor"]["note"], "floor NONE, from --min-compatibility")
        # Back at the floor, the check passes again.
        reply = self.d.request("DELETE", "/config/" + subject)
        self.assertEqual(reply.status, 200, reply)
        doc, m = self.check_json()
        self.assertTrue(m["policy_floor"]["passed"], m["policy_floor"])

    def test_unreachable_registry(self):
        rc, out, err = chanctl("check", "--registry", "http://127.0.0.1:%d" % closed_port(),
                               "--timeout", "5", self.contracts)
        self.assertEqual(rc, 3, out + err)
        self.assertIn("cannot reach registry", err)
        self.assertEqual(out, "")

    def test_registry_from_environment(self):
        self.register()
        rc, out, err = chanctl("check", "--format", "json", self.contracts,
                               env={"CHANREG_URL": self.url})
        self.assertEqual(rc, 0, out + err)
        self.assertEqual(json.loads(out)["mode"], "online")

    def test_offline(self):
        doc, m = self.check_json(registry=False)
        self.assertEqual(doc["mode"], "offline")
        self.assertIsNone(doc["registry"])
        self.assertEqual((m["schema_registration_rate"]["good"],
                          m["schema_registration_rate"]["total"]), (2, 2))
        self.assertEqual(m["consumer_registration_completeness"]["total"], 5)
        self.assertFalse(m["acl_coverage"]["measured"])
        rc, out, err = self.check(registry=False)
        self.assertEqual(rc, 0, out + err)
        self.assertIn("OFFLINE", out)

        # A broken version chain and a broken consumer, each in its own contract.
        with open(os.path.join(self.contracts, INVENTORY + ".yaml")) as f:
            text = f.read()
        with open(os.path.join(self.contracts, INVENTORY + ".yaml"), "w") as f:
            f.write(text.replace("    - version: 2\n", "    - version: 3\n    - version: 2\n"))
        with open(os.path.join(self.contracts, ORDERS + ".yaml")) as f:
            text = f.read()
        with open(os.path.join(self.contracts, ORDERS + ".yaml"), "w") as f:
            f.write(text.replace("sla_p99_ms: 5000", "sla_p99_ms: -5"))
        doc, m = self.check_json(registry=False, want_rc=1)
        schema = m["schema_registration_rate"]
        self.assertEqual((schema["good"], schema["total"]), (1, 2))
        self.assertIn(INVENTORY + ".yaml", schema["failing"][0])
        completeness = m["consumer_registration_completeness"]
        self.assertEqual((completeness["good"], completeness["total"]), (2, 3))
        self.assertEqual(len(completeness["failing"]), 1)
        self.assertIn("consumers[1]", completeness["failing"][0])

    def test_usage_errors(self):
        for args in (["--min-schema-rate", "1.5"], ["--min-acl-coverage", "-0.1"],
                     ["--min-consumer-completeness", "x"], ["--format", "github"],
                     ["--min-compatibility", "SOMETIMES"],
                     ["--bogus"], [os.path.join(self.tmp, "missing")]):
            rc, out, err = chanctl("check", *args)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(out, "")
        rc, out, err = chanctl("check", "--help")
        self.assertEqual(rc, 0)
        self.assertIn("--min-acl-coverage", out)



def binding(principal, operation="READ", resource="orders.order-created"):
    return {"resource_type": "TOPIC", "resource_name": resource, "pattern_type": "LITERAL",
            "principal": principal, "host": "*", "operation": operation, "permission": "ALLOW"}


class AclCoverageTest(unittest.TestCase):
    """ACL coverage from the plan of a scripted registry (no Kafka needed)."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanreg-check-acl-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas"), os.path.join(self.tmp, "schemas"))
        os.mkdir(os.path.join(self.tmp, "contracts"))
        self.contract = os.path.join(self.tmp, "contracts", "payments.payment-settled.yaml")
        shutil.copy(os.path.join(SOURCE_DIR, "contracts", "payments.payment-settled.yaml"),
                    self.contract)
        self.fake = FakeRegistry().__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)

    def plan(self, state="known", create=(), unchanged=()):
        self.fake.route("GET", "/v1/acl/plan", Reply(200, {
            "create": list(create), "delete": [], "unchanged": list(unchanged), "bypasses": [],
            "deletes_refused": False, "summary": {}, "actual_state": state}))

    def check(self, *args):
        rc, out, err = chanctl("check", "--registry", self.fake.url, "--format", "json",
                               "--min-schema-rate", "0", "--min-consumer-completeness", "0",
                               *args, self.contract)
        doc = json.loads(out) if out else None
        acl = {m["name"]: m for m in doc["metrics"]}["acl_coverage"] if doc else None
        return rc, acl, err

    def test_coverage_counts_principals(self):
        # a: one of two bindings missing; b, c: everything in place.
        self.plan(create=[binding("User:a", "DESCRIBE")],
                  unchanged=[binding("User:a"), binding("User:b"), binding("User:c"),
                             binding("User:c", "DESCRIBE")])
        rc, acl, err = self.check()
        self.assertEqual(rc, 1, err)
        self.assertTrue(acl["measured"])
        self.assertEqual((acl["good"], acl["total"]), (2, 3))
        self.assertEqual(acl["failing"], ["User:a: ACLs missing"])
        self.assertFalse(acl["passed"])
        rc, acl, err = self.check("--min-acl-coverage", "0.66")
        self.assertEqual(rc, 0, err)
        self.assertTrue(acl["passed"])
        self.assertIn(("GET", "/v1/acl/plan"),
                      [(r["method"], r["path"]) for r in self.fake.requests])

    def test_unknown_actual_state_covers_nobody(self):
        self.plan(state="unknown", unchanged=[binding("User:a"), binding("User:b")])
        rc, acl, err = self.check()
        self.assertEqual(rc, 1, err)
        self.assertEqual((acl["good"], acl["total"]), (0, 2))

    def test_not_configured(self):
        for status in (404, 503):
            self.fake.route("GET", "/v1/acl/plan",
                            Reply(status, {"error_code": status * 100 + 1, "message": "no Kafka"}))
            rc, acl, err = self.check()
            self.assertEqual(rc, 0, err)
            self.assertFalse(acl["measured"])
            self.assertIn("HTTP %d" % status, acl["note"])
            rc, acl, err = self.check("--require-acl-coverage")
            self.assertEqual(rc, 1, err)

    def test_server_error_is_a_runtime_failure(self):
        self.fake.route("GET", "/v1/acl/plan",
                        Reply(500, {"error_code": 50000, "message": "boom"}))
        rc, acl, err = self.check()
        self.assertEqual(rc, 3, err)
        self.assertIsNone(acl)
        self.fake.route("GET", "/v1/acl/plan", Reply(200, "[1, 2]"))
        rc, acl, err = self.check()
        self.assertEqual(rc, 3, err)


if __name__ == "__main__":
    unittest.main(verbosity=2)
