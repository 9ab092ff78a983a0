"""test_webhook.py - notifications: chanregd --webhook against receivers on loopback.

Each test runs HTTP receivers in this process (a CloudEvents one and a
Slack one) that record every delivery and answer 200, or 503 while "down",
and a real chanregd (SQLite, or PostgreSQL when CHANREG_TEST_PG_STATE names
the test server) with a token file of three identities: orders-team (owner
of the channels), billing-team (registers consumers on them) and root.

- EventsTest: a contract created and changed, schemas registered, a consumer
  pending then approved, another rejected with its reason, a removal and a
  deletion each arrive once, in audit order, as CloudEvents (envelope, data,
  HMAC signature over "<timestamp>.<body>") and as Slack text.
- DurableTest: with the receiver down, the daemon retries with backoff; it
  is killed (-9) with every event undelivered, the receiver comes back, the
  daemon restarts: each event arrives, exactly once per event id.
- LifecycleTest: a stale registration, a deprecation date within the warning
  window and a retired channel produce one event each, once (a restart
  scans again and writes nothing new).

Run: PYTHONPATH=tests/support CHANREGD=... python3 test_webhook.py
"""

import hashlib
import hmac
import http.server
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "channels"))

from chanregd import (Chanregd, ChanregdTestCase, binary, clean_env, wait_for,  # noqa: E402
                      write_token_file)
from channels_harness import consumer_body, orders_contract, register_orders_schemas, unique  # noqa: E402,E501

IDENTITIES = {"orders-team": "owner:orders", "billing-team": "owner:billing", "root": "admin"}
TOKENS = {name: "tok-%s-%s" % (name, secrets.token_hex(16)) for name in IDENTITIES}
SECRET = "whsec-" + secrets.token_hex(16)


class Receiver:
    """An HTTP receiver on a free loopback port recording every POST."""

    def __init__(self):
        self.lock = threading.Lock()
        self.deliveries = []  # dicts: status answered, headers, body, parsed json
        self.down = False
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    status = 503 if receiver.down else 200
                    receiver.deliveries.append({
                        "status": status, "headers": {k.lower(): v for k, v in
                                                      self.headers.items()},
                        "body": body, "json": json.loads(body.decode("utf-8"))})
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = "http://127.0.0.1:%d/hook?token=secret-part" % self.server.server_address[1]

    def ok(self):
        """The deliveries answered 200, in arrival order."""
        with self.lock:
            return [d for d in self.deliveries if d["status"] == 200]

    def attempts(self):
        with self.lock:
            return len(self.deliveries)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class WebhookCase(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanreg-webhook-")
        # Cleanups run last first: the daemons (added later) are stopped and
        # checked before the receivers close and the directory goes.
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.token_file = write_token_file(self.tmp, IDENTITIES, TOKENS)
        self.secret_file = os.path.join(self.tmp, "webhook.secret")
        with open(self.secret_file, "w") as f:
            f.write(SECRET + "\n")
        self.ce = Receiver()
        self.addCleanup(self.ce.close)
        self.slack = Receiver()
        self.addCleanup(self.slack.close)
        self.d = None

    def daemon(self, *extra, db=None):
        d = Chanregd("--token-file", self.token_file,
                     "--webhook", self.ce.url, "--webhook", "slack=" + self.slack.url,
                     "--webhook-secret-file", self.secret_file,
                     "--webhook-poll-ms", "50", "--webhook-retry-min-ms", "50",
                     "--webhook-retry-max-ms", "400", "--log-level", "debug", *extra,
                     db=db, workdir=self.tmp, name="webhook")
        d.token = TOKENS["root"]
        return d

    def start(self, *extra, db=None):
        self.d = self.start_daemon_obj(self.daemon(*extra, db=db))
        return self.d

    def start_daemon_obj(self, d):
        d.start()
        self.addCleanup(self.check_daemon, d)
        return d

    def audit_events(self, after=0):
        """The audit entries that are events: about channels, and schema registrations."""
        reply = self.d.get("/v1/audit?after=%d&limit=1000" % after)
        self.assertEqual(reply.status, 200, reply)
        return [e for e in reply.json["entries"]
                if e["object"].startswith("channel/") or e["action"] == "schema.register"]

    def new_channel(self, **fields):
        contract = orders_contract(unique("orders.hook"))
        contract["consumers"] = contract["consumers"][:1]
        contract.update(fields)
        reply = self.d.request("PUT", "/v1/channels/" + contract["channel"], body=contract,
                               token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 201, reply)
        return contract

    def wait_delivered(self, receiver, ids, what):
        want = sorted(ids)
        return wait_for(lambda: sorted(int(d["headers"]["x-chanreg-event-id"])
                                       for d in receiver.ok()) == want or None,
                        timeout=90, what=what)


class EventsTest(WebhookCase):
    def test_every_event_once_in_order_in_both_formats(self):
        self.start()
        register_orders_schemas(self.d)
        contract = self.new_channel()
        channel = contract["channel"]
        contract["peak_qps"] = 2400
        reply = self.d.request("PUT", "/v1/channels/" + channel, body=contract,
                               token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 200, reply)
        path = "/v1/channels/%s/consumers/" % channel
        reply = self.d.request("PUT", path + "fraud", body=consumer_body(),
                               token=TOKENS["billing-team"])
        self.assertEqual(reply.status, 202, reply)
        reply = self.d.request("POST", path + "fraud/approve", token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 200, reply)
        reply = self.d.request("PUT", path + "invoicing",
                               body=consumer_body(principal="User:invoicing-svc",
                                                  group="invoicing.orders"),
                               token=TOKENS["billing-team"])
        self.assertEqual(reply.status, 202, reply)
        reason = "Billing reads payments.payment-settled instead."
        reply = self.d.request("POST", path + "invoicing/reject", body={"reason": reason},
                               token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 200, reply)
        reply = self.d.request("DELETE", path + "fraud", token=TOKENS["billing-team"])
        self.assertEqual(reply.status, 200, reply)
        reply = self.d.request("DELETE", "/v1/channels/" + channel, token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 200, reply)

        audit = self.audit_events()
        self.assertEqual([e["action"] for e in audit], [
            "schema.register", "schema.register", "schema.register", "channel.create",
            "channel.update", "consumer.request", "consumer.approve", "consumer.request",
            "consumer.reject", "consumer.remove", "channel.delete"])
        ids = [e["id"] for e in audit]
        self.wait_delivered(self.ce, ids, "every event at the CloudEvents receiver")
        self.wait_delivered(self.slack, ids, "every event at the Slack receiver")

        ce = self.ce.ok()
        self.assertEqual([int(d["json"]["id"]) for d in ce], ids, "in audit order, once each")
        self.assertEqual([d["json"]["type"] for d in ce], [
            "schema.registered", "schema.registered", "schema.registered", "contract.created",
            "contract.changed", "consumer.pending", "consumer.approved", "consumer.pending",
            "consumer.rejected", "consumer.removed", "contract.deleted"])
        for d, e in zip(ce, audit):
            doc = d["json"]
            self.assertEqual(doc["specversion"], "1.0")
            self.assertEqual(doc["source"], "chanreg")
            self.assertEqual(doc["subject"], e["object"])
            self.assertEqual(doc["time"], e["ts"])
            self.assertEqual(doc["datacontenttype"], "application/json")
            self.assertEqual(doc["data"]["actor"], e["actor"])
            self.assertEqual(doc["data"]["detail"], e["detail"])
            self.assertTrue(d["headers"]["content-type"].startswith(
                "application/cloudevents+json"))
            self.assertEqual(d["headers"]["x-chanreg-event"], doc["type"])
            self.assertEqual(d["headers"]["x-chanreg-delivery-attempt"], "1")
            # The signature covers "<timestamp>.<body>" with the shared secret.
            ts = d["headers"]["x-chanreg-timestamp"]
            mac = hmac.new(SECRET.encode(), ts.encode() + b"." + d["body"],
                           hashlib.sha256).hexdigest()
            self.assertEqual(d["headers"]["x-chanreg-signature-256"], "sha256=" + mac)
        by_type = {d["json"]["type"]: d["json"]["data"] for d in ce}
        self.assertEqual(by_type["contract.changed"]["channel"], channel)
        self.assertIn("changed: peak_qps", by_type["contract.changed"]["summary"])
        self.assertEqual(by_type["consumer.rejected"]["consumer"], "invoicing")
        self.assertIn(reason, by_type["consumer.rejected"]["summary"])
        self.assertEqual(by_type["schema.registered"]["subject"], "orders.order-created-value")
        self.assertEqual(by_type["schema.registered"]["version"], 3)
        # The schema diff summary: v3 removed the field v2 deprecated.
        diff = by_type["schema.registered"]["schema_diff"]
        self.assertIn("field-removed", [c["kind"] for c in diff])
        self.assertTrue(any(c["kind"] == "field-removed" and c["path"].endswith("legacy_shop_ref")
                            for c in diff), diff)
        self.assertRegex(by_type["schema.registered"]["summary"],
                         r"; \d+ changes? from version 2: .*field-removed")
        first = [d["json"]["data"] for d in ce if d["json"]["type"] == "schema.registered"][0]
        self.assertIsNone(first["schema_diff"])

        slack = self.slack.ok()
        self.assertEqual([int(d["json"]["chanreg"]["id"]) for d in slack], ids)
        texts = [d["json"]["text"] for d in slack]
        self.assertIn("Consumer fraud of channel %s requested by billing-team: waiting for the "
                      "owners' approval" % channel, texts)
        self.assertIn("Consumer invoicing of channel %s rejected by orders-team: %s"
                      % (channel, reason), texts)
        self.assertIn("Channel %s deleted by orders-team" % channel, texts)
        for d in slack:
            self.assertEqual(d["headers"]["content-type"], "application/json")

        # The log names receivers without their query (it may hold a secret).
        self.assertNotIn("secret-part", self.d.read_log())
        self.assertGreaterEqual(self.d.metric("chanreg_webhook_deliveries_total",
                                              'result="delivered"'), 2 * len(ids))


class DurableTest(WebhookCase):
    def test_undelivered_events_survive_a_kill(self):
        self.ce.down = True
        self.slack.down = True
        # Killed on purpose: not checked for its exit status (the restarted
        # daemon, sharing its log, is).
        d = self.d = self.daemon().start()
        register_orders_schemas(d)
        contract = self.new_channel()
        reply = d.request("PUT", "/v1/channels/%s/consumers/fraud" % contract["channel"],
                          body=consumer_body(), token=TOKENS["billing-team"])
        self.assertEqual(reply.status, 202, reply)
        ids = [e["id"] for e in self.audit_events()]
        self.assertEqual(len(ids), 5)
        # Retried with backoff: the first event again and again, nothing else.
        wait_for(lambda: self.ce.attempts() >= 3, what="three attempts")
        attempted = {int(x["headers"]["x-chanreg-event-id"]) for x in self.ce.deliveries}
        self.assertEqual(attempted, {ids[0]})
        attempts = [int(x["headers"]["x-chanreg-delivery-attempt"])
                    for x in self.ce.deliveries[:3]]
        self.assertEqual(attempts, [1, 2, 3])
        self.assertGreaterEqual(d.metric("chanreg_webhook_deliveries_total", 'result="retry"'), 3)

        d.proc.kill()
        d.wait()
        d.proc = None
        self.ce.down = False
        self.slack.down = False
        d2 = self.start_daemon_obj(self.daemon(db=d.db))
        self.d = d2
        self.wait_delivered(self.ce, ids, "the events after the restart")
        self.wait_delivered(self.slack, ids, "the Slack events after the restart")
        # A new event after the restart is delivered too, once.
        reply = d2.request("DELETE", "/v1/channels/" + contract["channel"],
                           token=TOKENS["orders-team"])
        self.assertEqual(reply.status, 200, reply)
        ids = [e["id"] for e in self.audit_events()]
        self.assertEqual(len(ids), 6)
        self.wait_delivered(self.ce, ids, "the delete")
        ok_ids = [int(x["headers"]["x-chanreg-event-id"]) for x in self.ce.ok()]
        self.assertEqual(ok_ids, ids, "each event exactly once, in order")


class LifecycleTest(WebhookCase):
    def backdate(self, d, channel, consumer, days):
        """Move a consumer's registration days back (SQLite: the test's own store)."""
        path = d.db[len("sqlite:"):]
        t = int(time.time()) - days * 86400
        with sqlite3.connect(path, timeout=30) as db:
            n = db.execute("UPDATE consumers SET registered_at = ?, renewed_at = ? "
                           "WHERE channel = ? AND name = ?", (t, t, channel, consumer)).rowcount
        self.assertEqual(n, 1)

    def lifecycle_entries(self):
        return [e for e in self.audit_events() if e["actor"] == "chanregd"]

    def test_stale_deprecating_and_retired_once(self):
        d = self.start("--lifecycle-scan-interval", "1", "--registration-max-age-days", "30",
                       "--deprecation-warning-days", "30", db="sqlite:" +
                       os.path.join(self.tmp, "lifecycle.db"))
        register_orders_schemas(d)
        today = time.strftime("%Y-%m-%d", time.gmtime())
        yesterday = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 86400))
        soon = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 10 * 86400))
        stale = self.new_channel()
        deprecating = self.new_channel(deprecation_date=soon)
        retired = self.new_channel(deprecation_date=yesterday, retirement_date=today,
                                   consumers=[])
        self.backdate(d, stale["channel"], "billing", 45)

        want = {("consumer.stale", "channel/%s/consumer/billing" % stale["channel"]),
                ("channel.deprecating", "channel/" + deprecating["channel"]),
                ("channel.retired", "channel/" + retired["channel"])}
        wait_for(lambda: {(e["action"], e["object"]) for e in self.lifecycle_entries()} >= want
                 or None, timeout=90, what="the lifecycle events")
        entries = {e["action"]: e for e in self.lifecycle_entries()}
        self.assertEqual(entries["consumer.stale"]["detail"]["age_days"], 45)
        self.assertEqual(entries["channel.deprecating"]["detail"]["days_left"], 10)
        self.assertEqual(entries["channel.retired"]["detail"]["retirement_date"], today)

        types = {"consumer.stale", "channel.deprecation_approaching", "channel.retired"}
        wait_for(lambda: types <= {x["json"]["type"] for x in self.ce.ok()} or None,
                 what="the lifecycle events at the receiver")
        wait_for(lambda: any("is stale: not renewed for 45 days" in x["json"]["text"]
                             for x in self.slack.ok()) or None, what="the stale text")

        # Scans go on (and another daemon start scans at once): nothing new.
        n_scans = d.read_log().count("lifecycle scan done")
        wait_for(lambda: d.read_log().count("lifecycle scan done") >= n_scans + 2,
                 what="two more scans")
        self.assertEqual(len(self.lifecycle_entries()), 3)


class ConfigTest(unittest.TestCase):
    def check_config(self, *args, env=None):
        return subprocess.run([binary("CHANREGD"), "--check-config", "--db", "sqlite::memory:",
                               "--allow-unauthenticated-writes"] + list(args),
                              capture_output=True, text=True, timeout=60,
                              env=clean_env(env))

    def test_webhook_options_are_checked(self):
        tmp = tempfile.mkdtemp(prefix="chanreg-webhook-config-")
        self.addCleanup(shutil.rmtree, tmp, True)
        short = os.path.join(tmp, "short")
        with open(short, "w") as f:
            f.write("too-short\n")
        good = os.path.join(tmp, "good")
        with open(good, "w") as f:
            f.write(SECRET + "\n")
        r = self.check_config("--webhook", "https://hooks.example.com/a",
                              "--webhook", "slack=https://hooks.example.com/b",
                              "--webhook-secret-file", good)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.check_config(env={"CHANREG_WEBHOOKS": "https://a.example.com/x  "
                                   "slack=http://b.example.com/y"})
        self.assertEqual(r.returncode, 0, r.stderr)
        for args, message in [
                (["--webhook", "ftp://hooks.example.com/a"],
                 "--webhook: expected [cloudevents=|slack=]http(s)://..., got \"ftp://"),
                (["--webhook", "teams=https://hooks.example.com/a"], "--webhook: expected"),
                (["--webhook", "https://a.example.com/x", "--webhook-secret-file", short],
                 "must hold 16 to 1024 bytes"),
                (["--webhook-secret-file", good], "--webhook-secret-file needs a --webhook"),
                (["--webhook", "https://a.example.com/x", "--webhook-retry-min-ms", "5000",
                  "--webhook-retry-max-ms", "1000"], "--webhook-retry-min-ms (5000) is above")]:
            r = self.check_config(*args)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(message, r.stderr, args)
            self.assertNotIn("too-short", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
