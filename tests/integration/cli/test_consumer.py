"""test_consumer.py - `chanctl consumer` against a real chanregd on SQLite.

One daemon for the class, with a token file of v2 lines naming one identity
per role: orders-team (owner:orders, owns the test channels), billing-team
(owner:billing, registers its consumers on them) and root (admin).  Each
test creates its own channel (the orders example contract) over REST and
runs the built chanctl, asserting exit codes, stdout and stderr, and checks
every change through the REST API.

ApprovalTest follows another team's registration through the approval
routes (202 pending, approve, reject with a reason, GET /v1/consumers).

Run: PYTHONPATH=tests/support CHANCTL=... CHANREGD=... python3 test_consumer.py
"""

import json
import os
import re
import secrets
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "channels"))

from chanregd import Chanregd, ChanregdTestCase, chanctl, write_token_file  # noqa: E402
from channels_harness import orders_contract, register_orders_schemas, unique  # noqa: E402

IDENTITIES = {"orders-team": "owner:orders", "billing-team": "owner:billing", "root": "admin"}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16)) for name in IDENTITIES}

FRAUD = ["--principal", "User:fraud-svc", "--group", "fraud.order-created",
         "--scenario", "Scores each order for fraud before shipping.",
         "--sla-p99-ms", "1000", "--peak-rate-msgs", "1300", "--degradation", "block"]
INVOICING = ["--principal", "User:invoicing-svc", "--group", "invoicing.orders",
             "--scenario", "Bills each order.", "--sla-p99-ms", "5000",
             "--peak-rate-msgs", "200", "--degradation", "lag"]




def options(args, **changes):
    """args with the value of --KEY replaced (None: the option left out)."""
    out = list(args)
    for key, value in changes.items():
        i = out.index("--" + key.replace("_", "-"))
        if value is None:
            del out[i:i + 2]
        else:
            out[i + 1] = value
    return out


class ConsumerCliCase(ChanregdTestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="chanctl-consumer-")
        token_file = write_token_file(cls.tmp, IDENTITIES, TOKENS)
        cls.d = Chanregd("--token-file", token_file, workdir=cls.tmp, pg=False,
                         name="consumer").start()
        cls.d.token = TOKENS["root"]
        register_orders_schemas(cls.d)

    @classmethod
    def tearDownClass(cls):
        try:
            super().tearDownClass()
        finally:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def chanctl(self, *args, who="orders-team", registry=None):
        env = {"CHANREG_URL": registry or self.d.url}
        if who:
            env["CHANREG_TOKEN"] = TOKENS[who]
        return chanctl("consumer", *args, env=env)

    def new_channel(self, consumers=None):
        """A new channel owned by orders; its contract lists `consumers` (default: none)."""
        contract = orders_contract(unique("orders.cli"))
        contract["consumers"] = consumers or []
        reply = self.d.request("PUT", "/v1/channels/" + contract["channel"], body=contract,
                               token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 201, reply)
        return contract["channel"]

    def consumers(self, channel):
        """The consumers of channel over REST, by name."""
        reply = self.d.get("/v1/channels/%s/consumers" % channel)
        self.assertEqual(reply.status, 200, reply)
        return {c["name"]: c for c in reply.json["consumers"]}

    def table(self, stdout):
        """The rows of a list table, each a list of cells (header first)."""
        return [line.split() for line in stdout.splitlines()]


class ConsumerTest(ConsumerCliCase):
    def test_register_list_renew_remove(self):
        channel = self.new_channel()
        r = self.chanctl("register", channel, "fraud", *FRAUD)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer fraud on %s: registered (approved)\n" % channel)
        fraud = self.consumers(channel)["fraud"]
        self.assertEqual((fraud["principal"], fraud["group"], fraud["sla_p99_ms"],
                          fraud["peak_rate_msgs"], fraud["degradation"]),
                         ("User:fraud-svc", "fraud.order-created", 1000, 1300, "block"))
        self.assertEqual(fraud["scenario"], "Scores each order for fraud before shipping.")

        # the same registration with a changed field: 200, updated
        r = self.chanctl("register", channel, "fraud", *options(FRAUD, sla_p99_ms="250"))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer fraud on %s: updated (approved)\n" % channel)
        self.assertEqual(self.consumers(channel)["fraud"]["sla_p99_ms"], 250)

        r = self.chanctl("list", channel)
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = self.table(r.stdout)
        self.assertEqual(rows[0], ["CHANNEL", "NAME", "PRINCIPAL", "GROUP", "STATE", "ORIGIN",
                                   "AGE_DAYS", "STALE"])
        self.assertEqual(len(rows), 2, r.stdout)
        self.assertEqual(rows[1][:4], [channel, "fraud", "User:fraud-svc", "fraud.order-created"])
        self.assertEqual(rows[1][6:], ["0", "-"])

        r = self.chanctl("renew", channel, "fraud")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer fraud on %s: renewed\n" % channel)
        audit = self.d.get("/v1/audit?limit=100&object=channel/%s/consumer/fraud" % channel)
        self.assertEqual(audit.status, 200, audit)
        self.assertIn("consumer.renew", [e["action"] for e in audit.json["entries"]])

        r = self.chanctl("remove", channel, "fraud")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer fraud on %s: removed\n" % channel)
        self.assertEqual(self.consumers(channel), {})

        r = self.chanctl("list", channel)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.table(r.stdout)), 1, r.stdout)

    def test_missing_fields_are_usage_errors_before_any_request(self):
        # no registry listens there: exit 2, not 3, shows that nothing was sent
        r = self.chanctl("register", "orders.x", "fraud", *options(FRAUD, scenario=None),
                         registry="http://127.0.0.1:9")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("chanctl: error: Consumer is invalid: 1 error.", r.stderr)
        self.assertIn("orders.x/fraud: scenario: error: scenario is missing [missing-field]\n"
                      "hint: give --scenario TEXT", r.stderr)

        # every problem is reported, with the registry's messages
        r = self.chanctl("register", "orders.x", "fraud",
                         *options(FRAUD, principal=None, degradation="", sla_p99_ms="fast"),
                         registry="http://127.0.0.1:9")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Consumer is invalid: 3 errors.", r.stderr)
        self.assertIn("principal: error: principal is missing", r.stderr)
        self.assertIn("degradation: error: degradation is empty", r.stderr)
        self.assertIn("sla_p99_ms: error: sla_p99_ms must be an integer, not a string "
                      "[wrong-type]\nhint: give --sla-p99-ms N, a whole number", r.stderr)
        # The registry's message for that value, word for word (one validation, the library's).
        channel = self.new_channel()
        reply = self.d.request("PUT", "/v1/channels/%s/consumers/fraud" % channel,
                               body={"principal": "User:fraud-svc", "group": "fraud.g",
                                     "scenario": "s", "sla_p99_ms": "fast",
                                     "peak_rate_msgs": 1, "degradation": "lag"},
                               token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 422, reply)
        self.assertEqual([(e["path"], e["rule"], e["message"]) for e in reply.json["errors"]],
                         [("sla_p99_ms", "wrong-type",
                           "sla_p99_ms must be an integer, not a string")])
        # A number beyond any range and an empty one: the library's messages too.
        r = self.chanctl("register", "orders.x", "fraud",
                         *options(FRAUD, sla_p99_ms="99999999999999999999", peak_rate_msgs=""),
                         registry="http://127.0.0.1:9")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("Consumer is invalid: 2 errors.", r.stderr)
        self.assertIn("sla_p99_ms: error: sla_p99_ms must be between 1 and 86400000, got "
                      "99999999999999999999 [invalid-value]", r.stderr)
        self.assertIn("peak_rate_msgs: error: peak_rate_msgs must be an integer, not a string",
                      r.stderr)

        for args, message in [
            (("register", "orders.x"), '"consumer register" needs NAME after CHANNEL'),
            (("renew", "orders.x", "fraud", "--degradation", "lag"),
             '--degradation applies to "consumer register"'),
            (("reject", "orders.x", "fraud"), "reason is missing: give --reason TEXT"),
            (("list", "--reason", "x"), '--reason applies to "consumer reject"'),
            (("rename", "orders.x", "fraud"), 'unknown action "rename"'),
            (("remove", "a", "b", "c"), 'too many arguments for "consumer remove"'),
        ]:
            with self.subTest(args=args):
                r = self.chanctl(*args, registry="http://127.0.0.1:9")
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(message, r.stderr)

    def test_invalid_values_are_refused_by_the_registry(self):
        channel = self.new_channel()
        r = self.chanctl("register", channel, "fraud", *options(FRAUD, degradation="panic"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("chanctl: error: Consumer is invalid: 1 error.", r.stderr)
        self.assertIn('%s/fraud: degradation: error: unknown degradation "panic" [invalid-value]\n'
                      "hint: one of drop, lag, fallback, block" % channel, r.stderr)

        r = self.chanctl("register", channel, "Fraud",
                         *options(FRAUD, principal="fraud-svc", sla_p99_ms="0"))
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Consumer is invalid: 3 errors.", r.stderr)
        self.assertIn('name: error: invalid consumer name "Fraud"', r.stderr)
        self.assertIn('principal: error: invalid principal "fraud-svc" [invalid-principal]',
                      r.stderr)
        self.assertIn("sla_p99_ms: error: sla_p99_ms must be between 1 and 86400000, got 0",
                      r.stderr)
        self.assertEqual(self.consumers(channel), {})

    def test_format_json(self):
        channel = self.new_channel()
        r = self.chanctl("register", channel, "fraud", *FRAUD, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc, self.consumers(channel)["fraud"])

        r = self.chanctl("list", channel, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout),
                         {"consumers": list(self.consumers(channel).values())})

        r = self.chanctl("renew", channel, "fraud", "-f", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["name"], "fraud")

        r = self.chanctl("remove", channel, "fraud", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout),
                         {"channel": channel, "consumer": "fraud", "deleted": True})

    def test_refusals(self):
        channel = self.new_channel()
        r = self.chanctl("renew", channel, "ghost")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Consumer 'ghost' of channel '%s' not found." % channel, r.stderr)

        r = self.chanctl("register", "orders.no-such", "fraud", *FRAUD)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("Channel 'orders.no-such' not found.", r.stderr)

        r = self.chanctl("list", "orders.no-such")
        self.assertEqual(r.returncode, 1, r.stderr)

        # no token, and a registry that is not there: exit 3
        r = self.chanctl("register", channel, "fraud", *FRAUD, who=None)
        self.assertEqual(r.returncode, 3, r.stderr)
        r = self.chanctl("list", channel, registry="http://127.0.0.1:9")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("cannot reach registry", r.stderr)
        self.assertEqual(self.consumers(channel), {})


class ApprovalTest(ConsumerCliCase):
    """The approval flow: needs 202 pending, approve, reject and GET /v1/consumers."""

    def register_invoicing(self, channel, *extra):
        r = self.chanctl("register", channel, "invoicing", *INVOICING, *extra, who="billing-team")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer invoicing on %s: pending approval by the owner of %s\n"
                         % (channel, channel))
        self.assertEqual(self.consumers(channel)["invoicing"]["state"], "pending")

    def test_pending_then_approved(self):
        channel = self.new_channel()
        self.register_invoicing(channel)

        r = self.chanctl("list", "--pending", "--team", "orders")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = [row for row in self.table(r.stdout)[1:] if row[0] == channel]
        self.assertEqual(rows, [[channel, "invoicing", "User:invoicing-svc", "invoicing.orders",
                                 "pending", "api", "0", "-"]])
        r = self.chanctl("list", channel, "--pending", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual([c["name"] for c in json.loads(r.stdout)["consumers"]], ["invoicing"])

        # not the requester's decision
        r = self.chanctl("approve", channel, "invoicing", who="billing-team")
        self.assertEqual(r.returncode, 3, r.stderr)

        r = self.chanctl("approve", channel, "invoicing")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "consumer invoicing on %s: approved\n" % channel)
        self.assertEqual(self.consumers(channel)["invoicing"]["state"], "approved")

        r = self.chanctl("approve", channel, "invoicing")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn('hint: see its state with "chanctl consumer list %s"' % channel, r.stderr)

        r = self.chanctl("list", channel, "--pending")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(self.table(r.stdout)), 1, r.stdout)

        # the requesting team renews and withdraws its own registration
        r = self.chanctl("renew", channel, "invoicing", who="billing-team")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.chanctl("remove", channel, "invoicing", who="billing-team")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("invoicing", self.consumers(channel))

    def test_rejected_with_reason(self):
        channel = self.new_channel()
        self.register_invoicing(channel)
        reason = "Billing reads payments.payment-settled instead."

        r = self.chanctl("reject", channel, "invoicing", "--reason", reason, "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual((doc["state"], doc["decision_reason"]), ("rejected", reason))
        c = self.consumers(channel)["invoicing"]
        self.assertEqual((c["state"], c["decision_reason"]), ("rejected", reason))

        r = self.chanctl("renew", channel, "invoicing", who="billing-team")
        self.assertEqual(r.returncode, 1, r.stderr)

    def test_contract_consumer_is_changed_through_the_contract(self):
        contract = orders_contract()
        channel = self.new_channel(consumers=contract["consumers"])
        r = self.chanctl("remove", channel, "billing")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertRegex(r.stderr, re.compile(
            r'hint: the consumer is listed in the contract file of %s: change the contract and '
            r'run "chanctl register"' % re.escape(channel)))
        self.assertIn("billing", self.consumers(channel))

    def test_register_for_a_team(self):
        channel = self.new_channel()
        self.register_invoicing(channel, "--team", "billing")


if __name__ == "__main__":
    unittest.main()
