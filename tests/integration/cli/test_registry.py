"""test_registry.py - chanctl register/get/list/validate --registry against a real chanregd.

Each test starts the built chanregd (tests/support/chanregd.py) with a fresh
SQLite database and a token, copies the example contracts and schemas of the
source tree into a temporary workspace (so that tests can edit them), and
runs the built chanctl, asserting exit codes, stdout and stderr.

Run through ctest, or: PYTHONPATH=tests/support CHANCTL=... CHANREGD=... python3 test_registry.py
"""

import json
import os
import re
import shutil
import tempfile
import unittest

from chanregd import SOURCE_DIR, Chanregd, ChanregdTestCase, chanctl, free_port

TOKEN = "integration-token"

ORDERS = "orders.order-created"
ORDERS_SUBJECT = "orders.order-created-value"


class RegistryTest(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanctl-it-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(self.work)
        shutil.copytree(os.path.join(SOURCE_DIR, "contracts"), os.path.join(self.work, "contracts"))
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas"), os.path.join(self.work, "schemas"))
        self.contracts = sorted(
            f[: -len(".yaml")]
            for f in os.listdir(os.path.join(self.work, "contracts"))
            if f.endswith(".yaml")
        )
        self.daemon = self.start_daemon(token=TOKEN, pg=False, workdir=self.tmp)

    def chanctl(self, *args, token=TOKEN, registry=None):
        env = {"CHANREG_URL": registry or self.daemon.url}
        if token:
            env["CHANREG_TOKEN"] = token
        return chanctl(*args, env=env, cwd=self.work)

    def request(self, method, path, body=None):
        """(status, parsed body) of one request with the token."""
        reply = self.daemon.request(method, path, body=body)
        return reply.status, reply.json

    def register(self, *args, **kw):
        return self.chanctl("register", *args, **kw)

    def contract_path(self, channel):
        return os.path.join(self.work, "contracts", channel + ".yaml")

    def edit_contract(self, channel, old, new):
        path = self.contract_path(channel)
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))

    def subject_versions(self, subject):
        status, body = self.request("GET", "/subjects/%s/versions" % subject)
        return body if status == 200 else []

    # ------------------------------------------------------------------------

    def test_register_is_idempotent(self):
        r = self.register()
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), len(self.contracts), r.stdout)
        for name, line in zip(self.contracts, lines):
            self.assertTrue(line.startswith(name + ": created ("), line)
        self.assertIn(
            "%s: created (registered %s v1, v2, v3; compatibility set to BACKWARD_TRANSITIVE; "
            "contract revision 1)" % (ORDERS, ORDERS_SUBJECT),
            lines,
        )
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])
        status, config = self.request("GET", "/config/" + ORDERS_SUBJECT)
        self.assertEqual(status, 200)
        self.assertEqual(config["compatibilityLevel"], "BACKWARD_TRANSITIVE")

        # a file named twice (here also through its directory) is pushed once
        r = self.register("contracts", "./contracts/%s.yaml" % ORDERS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["%s: unchanged" % n for n in self.contracts])
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])
        status, ch = self.request("GET", "/v1/channels/" + ORDERS)
        self.assertEqual(ch["revision"], 1)

        r = self.register("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), ["%s: unchanged" % n for n in self.contracts])

    def test_update_reports_what_changed(self):
        self.assertEqual(self.register().returncode, 0)
        self.edit_contract(ORDERS, "peak_qps: 1200", "peak_qps: 2400")
        r = self.register(self.contract_path(ORDERS), "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertFalse(doc["dry_run"])
        self.assertEqual(len(doc["channels"]), 1)
        result = doc["channels"][0]
        self.assertEqual(result["channel"], ORDERS)
        self.assertEqual(result["status"], "updated")
        self.assertEqual(result["registered"], [])
        self.assertTrue(result["contract_changed"])
        self.assertEqual(result["revision"], 2)
        status, ch = self.request("GET", "/v1/channels/" + ORDERS)
        self.assertEqual(ch["peak_qps"], 2400)

    def test_dry_run_changes_nothing(self):
        # The same lines as the real run (the registry answers the dry run), and a
        # note on stderr.
        r = self.register("--dry-run")
        self.assertEqual(r.returncode, 0, r.stderr)
        for name, line in zip(self.contracts, r.stdout.splitlines()):
            self.assertTrue(line.startswith(name + ": created ("), line)
        self.assertIn("dry run: nothing was changed on %s" % self.daemon.url, r.stderr)
        self.assertEqual(self.request("GET", "/subjects")[1], [])
        self.assertEqual(self.request("GET", "/v1/channels")[1]["channels"], [])

    def test_get_and_list_show_the_data(self):
        self.assertEqual(self.register().returncode, 0)

        r = self.chanctl("get", "channel", ORDERS, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        ch = json.loads(r.stdout)
        self.assertEqual(ch["owner_team"], "orders")
        self.assertEqual(ch["subject"], ORDERS_SUBJECT)
        self.assertEqual(
            sorted(c["name"] for c in ch["consumers"]), ["analytics", "billing", "fulfilment"]
        )
        r = self.chanctl("get", "channel", ORDERS)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^maintainer: +orders-oncall@example\.com$")
        self.assertRegex(r.stdout, r"(?m)^consumers: +3$")
        self.assertRegex(r.stdout, r"(?m)^producers: +User:orders-svc$")
        self.assertRegex(
            r.stdout, r"(?m)^description: +An order was placed and accepted by the order service\.$"
        )
        r = self.chanctl("get", "channel", "shipping.parcel-scanned")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^deprecation_date: +2027-03-31$")
        self.assertRegex(r.stdout, r"(?m)^retirement_date: +2027-06-30$")

        r = self.chanctl("list", "channels")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = r.stdout.splitlines()
        self.assertEqual(rows[0].split()[0], "NAME")
        self.assertEqual([row.split()[0] for row in rows[1:]], self.contracts)

        r = self.chanctl("list", "channels", "--owner-team", "orders", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([c["name"] for c in json.loads(r.stdout)["channels"]], [ORDERS])

        r = self.chanctl("list", "consumers", ORDERS)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = r.stdout.splitlines()
        self.assertEqual(len(rows), 4)
        billing = [row.split()[:3] for row in rows if row.startswith("billing ")]
        self.assertEqual(billing, [["billing", "User:billing-svc", "billing.order-created"]])

        r = self.chanctl("list", "subjects")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(ORDERS_SUBJECT, r.stdout.split())

        r = self.chanctl("get", "subject", ORDERS_SUBJECT, "--version", "2", "-f", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        v2 = json.loads(r.stdout)
        self.assertEqual(v2["version"], 2)
        r = self.chanctl("get", "schema", str(v2["id"]), "-f", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(json.loads(r.stdout)["schema"]), json.loads(v2["schema"]))
        r = self.chanctl("get", "schema", str(v2["id"]))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^registered_as: +%s v2$" % re.escape(ORDERS_SUBJECT))
        self.assertRegex(r.stdout, r'(?m)^    "name": "OrderCreated",$')
        r = self.chanctl("get", "schema", "999999")
        self.assertEqual(r.returncode, 1, r.stderr)
        r = self.chanctl("get", "subject", ORDERS_SUBJECT)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"(?m)^version: +3$")
        self.assertRegex(r.stdout, r"(?m)^compatibility: +BACKWARD_TRANSITIVE$")

        r = self.chanctl("get", "channel", "no.such-channel")
        self.assertEqual(r.returncode, 1)
        self.assertIn("not found", r.stderr)

    def test_invalid_contract_pushes_nothing(self):
        self.edit_contract(ORDERS, "    sla_p99_ms: 2000\n", "")
        r = self.register()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(
            r.stderr, r"contracts/orders\.order-created\.yaml:\d+:\d+: error: .*sla_p99_ms"
        )
        self.assertIn("nothing was pushed", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.request("GET", "/subjects")[1], [])

    def test_incompatible_change_is_refused_offline(self):
        self.assertEqual(self.register().returncode, 0)
        # v4 drops the mandatory currency field: BACKWARD_TRANSITIVE forbids it.
        with open(os.path.join(self.work, "schemas", ORDERS_SUBJECT, "v3.avsc")) as f:
            schema = json.load(f)
        schema["fields"] = [f for f in schema["fields"] if f["name"] != "total_minor"]
        schema["fields"].append({"name": "total_cents", "type": "long"})
        with open(os.path.join(self.work, "schemas", ORDERS_SUBJECT, "v4.avsc"), "w") as f:
            json.dump(schema, f)
        self.edit_contract(ORDERS, "versions: [3, 2, 1]", "versions: [4, 3, 2, 1]")
        r = self.register()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"orders\.order-created\.yaml:\d+:\d+: error: ")
        self.assertIn("total_cents", r.stderr)
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])

    def prune_v1_and_add_v4(self):
        """Make the orders contract list v4, v3, v2 where v4 makes sales_channel
        (added in v2) mandatory: fine against v2 and v3, but the registry also
        holds v1 and checks it under BACKWARD_TRANSITIVE."""
        schema_dir = os.path.join(self.work, "schemas", ORDERS_SUBJECT)
        with open(os.path.join(schema_dir, "v3.avsc")) as f:
            schema = json.load(f)
        for field in schema["fields"]:
            if field["name"] == "sales_channel":
                del field["default"]
        with open(os.path.join(schema_dir, "v4.avsc"), "w") as f:
            json.dump(schema, f)
        os.remove(os.path.join(schema_dir, "v1.avsc"))
        self.edit_contract(ORDERS, "versions: [3, 2, 1]", "versions: [4, 3, 2]")

    def test_incompatible_change_is_refused_by_the_registry(self):
        self.assertEqual(self.register().returncode, 0)
        self.prune_v1_and_add_v4()
        r = self.register(self.contract_path(ORDERS))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("refused version 4 of subject %s as incompatible" % ORDERS_SUBJECT, r.stderr)
        self.assertIn(
            "READER_FIELD_MISSING_DEFAULT_VALUE: /fields/5 (sales_channel): reader field has no "
            "default and writer lacks it (against version 1)",
            r.stderr,
        )
        self.assertEqual(r.stdout, "%s: failed\n" % ORDERS)
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])

        r = self.register(self.contract_path(ORDERS), "--format", "json")
        self.assertEqual(r.returncode, 1, r.stderr)
        result = json.loads(r.stdout)["channels"][0]
        self.assertEqual(result["status"], "failed")
        self.assertIn("incompatible", result["error"])
        self.assertIn("sales_channel", result["detail"])

        r = self.register(self.contract_path(ORDERS), "--dry-run")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(
            r.stderr,
            r"orders\.order-created\.yaml:\d+:\d+: error: version 4 of subject %s: "
            r"READER_FIELD_MISSING_DEFAULT_VALUE: .*sales_channel.* \[registry-incompatible\]"
            % re.escape(ORDERS_SUBJECT),
        )
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])

    def validate(self, channel, *args, registry=None):
        """`chanctl validate --registry URL` of one contract file, as CI would run it."""
        return self.chanctl("validate", "--registry", registry or self.daemon.url,
                            self.contract_path(channel), *args)

    def test_validate_against_registry(self):
        # nothing registered yet: every version is new and acceptable
        r = self.validate(ORDERS)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(r.stderr, "")
        self.assertEqual(self.register().returncode, 0)
        r = self.validate(ORDERS, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(json.loads(r.stdout)["diagnostics"], [])

        # v4 is fine offline, but the registry also holds v1 (BACKWARD_TRANSITIVE)
        self.prune_v1_and_add_v4()
        r = self.chanctl("validate", self.contract_path(ORDERS))
        self.assertEqual(r.returncode, 0, "valid offline: " + r.stdout + r.stderr)
        r = self.validate(ORDERS)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(
            r.stdout,
            r"orders\.order-created\.yaml:\d+:\d+: error: version 4 of subject \"?%s\"? is "
            r"incompatible with the registry: READER_FIELD_MISSING_DEFAULT_VALUE: .*sales_channel"
            % re.escape(ORDERS_SUBJECT),
        )
        r = self.validate(ORDERS, "--format", "json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        diags = json.loads(r.stdout)["diagnostics"]
        self.assertEqual([d["rule"] for d in diags], ["registry-incompatible"], diags)
        self.assertIn("sales_channel", diags[0]["message"])
        # validate only reads: the registry still has v1..v3
        self.assertEqual(self.subject_versions(ORDERS_SUBJECT), [1, 2, 3])

    def test_validate_against_registry_reports_diverged_numbering(self):
        subject = "shipping.parcel-scanned-value"
        status, _ = self.request(
            "POST", "/subjects/%s/versions" % subject, {"schema": '"string"'}
        )
        self.assertEqual(status, 200)
        r = self.validate("shipping.parcel-scanned", "--format", "json")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        diags = json.loads(r.stdout)["diagnostics"]
        self.assertIn("registry-version-mismatch", [d["rule"] for d in diags], diags)
        self.assertIn(
            'version 1 of subject "%s" is not registered and would become version 2 in the '
            "registry" % subject,
            [d["message"] for d in diags],
        )

    def test_validate_against_unreachable_registry(self):
        url = "http://127.0.0.1:%d" % free_port()
        r = self.validate(ORDERS, registry=url)
        self.assertEqual(r.returncode, 3, r.stdout + r.stderr)
        self.assertIn("cannot reach registry at " + url, r.stderr)

    def test_diverged_numbering_is_reported(self):
        subject = "shipping.parcel-scanned-value"
        status, _ = self.request(
            "POST", "/subjects/%s/versions" % subject, {"schema": '"string"'}
        )
        self.assertEqual(status, 200)
        r = self.register()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, r"numbering of subject %s diverged" % re.escape(subject))
        self.assertIn("shipping.parcel-scanned: failed", r.stdout.splitlines())
        # the other contracts were still pushed
        self.assertIn("%s: created" % ORDERS, r.stdout)
        self.assertEqual(self.subject_versions(subject), [1])

    def test_wrong_token_is_refused(self):
        r = self.register(token="not-the-token")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("--token", r.stderr)
        r = self.register(token=None)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(self.request("GET", "/v1/channels")[1]["channels"], [])
        # reads need no token unless --auth-reads
        r = self.chanctl("list", "channels", token=None)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_unreachable_registry(self):
        url = "http://127.0.0.1:%d" % free_port()
        r = self.register(registry=url)
        self.assertEqual(r.returncode, 3)
        self.assertIn("cannot reach registry at " + url, r.stderr)
        self.assertEqual(r.stdout.count("failed"), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
