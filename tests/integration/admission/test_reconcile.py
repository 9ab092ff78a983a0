#!/usr/bin/python3
"""integration.admission.reconcile - chanregd's reconciler loop against the Kafka peer.

The daemon runs in --acl-mode apply with a pass every second; the example
contracts are registered with chanctl.  Each test has its own peer and daemon:

  - the loop creates the bindings of registered consumers and producers,
    removes a binding that grants an unregistered principal access to a
    managed topic, leaves unmanaged topics, PREFIXED and DENY bindings alone,
    and then sends no CreateAcls or DeleteAcls any more (counted at the peer);
  - a read that times out (slow broker) refuses deletes and creates alike:
    no ACL churn, the failures are counted, the backoff grows and shows in the
    status and the log; once the broker answers again the loop converges;
  - a broker that goes down and comes back (same port, empty ACL store): the
    passes fail with backoff, then the loop converges again;
  - SIGTERM during a slow pass stops the daemon promptly.
"""

import os
import re
import time
import unittest

from admission_harness import (OP_DESCRIBE, OP_READ, PAT_LITERAL, PAT_PREFIXED, PERM_ALLOW,
                               RES_TOPIC, AdmissionTestCase, register_examples, wait_for)

PERM_DENY = 2


def desired_from_registry(daemon):
    """The bindings the registry must grant, computed independently from GET /v1/channels."""
    reply = daemon.request("GET", "/v1/channels")
    assert reply.status == 200, reply
    today = time.strftime("%Y-%m-%d", time.gmtime())
    out = set()
    for ch in reply.json["channels"]:
        if ch["deprecation_date"] and ch["deprecation_date"] <= today:
            continue
        for c in ch["consumers"]:
            out.add(("TOPIC", ch["name"], "LITERAL", c["principal"], "*", "READ", "ALLOW"))
            out.add(("TOPIC", ch["name"], "LITERAL", c["principal"], "*", "DESCRIBE", "ALLOW"))
            out.add(("GROUP", c["group"], "LITERAL", c["principal"], "*", "READ", "ALLOW"))
        for p in ch["producers"]:
            out.add(("TOPIC", ch["name"], "LITERAL", p["principal"], "*", "WRITE", "ALLOW"))
            out.add(("TOPIC", ch["name"], "LITERAL", p["principal"], "*", "DESCRIBE", "ALLOW"))
    return out


INTRUDER = (RES_TOPIC, "orders.order-created", PAT_LITERAL, "User:intruder", "*", OP_READ,
            PERM_ALLOW)
INTRUDER_T = ("TOPIC", "orders.order-created", "LITERAL", "User:intruder", "*", "READ", "ALLOW")
FOREIGN = [
    # another topic: not managed
    (RES_TOPIC, "unmanaged.topic", PAT_LITERAL, "User:other", "*", OP_READ, PERM_ALLOW),
    # a PREFIXED binding covering managed topics: a bypass, reported, never changed
    (RES_TOPIC, "orders.", PAT_PREFIXED, "User:ops", "*", OP_DESCRIBE, PERM_ALLOW),
    # an operator's DENY on a managed topic stays
    (RES_TOPIC, "orders.order-created", PAT_LITERAL, "User:blocked", "*", OP_READ, PERM_DENY),
]
FOREIGN_T = {
    ("TOPIC", "unmanaged.topic", "LITERAL", "User:other", "*", "READ", "ALLOW"),
    ("TOPIC", "orders.", "PREFIXED", "User:ops", "*", "DESCRIBE", "ALLOW"),
    ("TOPIC", "orders.order-created", "LITERAL", "User:blocked", "*", "READ", "DENY"),
}


class ReconcileTest(AdmissionTestCase):

    def start(self, *extra, timeout_ms=1000):
        props = os.path.join(self.tmp, "kafka.properties")
        with open(props, "w") as f:
            f.write("# reconnect quickly after a broker restart\n"
                    "reconnect.backoff.ms = 50\nreconnect.backoff.max.ms=300\n")
        peer = self.peer()
        daemon = self.daemon("--kafka-bootstrap", peer.bootstrap, "--kafka-config-file", props,
                             "--acl-mode", "apply", "--reconcile-interval", "1",
                             "--reconcile-backoff-min-ms", "200",
                             "--reconcile-backoff-max-ms", "1600",
                             "--kafka-timeout-ms", str(timeout_ms), *extra)
        return peer, daemon

    def test_converges_removes_unregistered_and_then_sends_nothing(self):
        peer = self.peer()
        peer.create_acls([INTRUDER] + FOREIGN)
        daemon = self.daemon("--kafka-bootstrap", peer.bootstrap, "--acl-mode", "apply",
                             "--reconcile-interval", "1", "--kafka-timeout-ms", "2000")
        register_examples(daemon)
        desired = desired_from_registry(daemon)
        self.assertEqual(len(desired), 34)

        status = daemon.wait_ok_pass(create=0, delete=0, channels=4)
        self.assertTrue(status["leader"])
        self.assertEqual(status["mode"], "apply")
        self.assertEqual(status["last_pass"]["unchanged"], len(desired))
        self.assertEqual(status["last_pass"]["actual_state"], "known")
        self.assertEqual(peer.acls(), desired | FOREIGN_T)
        self.assertNotIn(INTRUDER_T, peer.acls())
        stats = peer.stats()
        # the peer counts the four seeded bindings too
        self.assertEqual(stats["created"], len(desired) + 1 + len(FOREIGN))
        self.assertEqual(stats["deleted"], 1)

        # The bypass is reported by the plan, never changed.
        plan = daemon.request("GET", "/v1/acl/plan").json
        self.assertEqual(plan["summary"], {"create": 0, "delete": 0, "unchanged": len(desired)})
        self.assertEqual([(b["resource_name"], b["pattern_type"], b["principal"])
                          for b in plan["bypasses"]], [("orders.", "PREFIXED", "User:ops")])

        # Idempotent passes: nothing more is sent but reads.
        creates, deletes = peer.requests("CreateAcls"), peer.requests("DeleteAcls")
        passes = status["passes"]
        status = daemon.wait_passes(passes + 3)
        self.assertTrue(status["last_pass"]["ok"], status)
        self.assertEqual(peer.requests("CreateAcls"), creates)
        self.assertEqual(peer.requests("DeleteAcls"), deletes)
        self.assertEqual(peer.acls(), desired | FOREIGN_T)

        log = daemon.read_log()
        self.assertRegex(log, r"acl pass ok mode=apply trigger=loop leader=true channels=4 "
                              r"desired=34 create=0 delete=0 unchanged=34 bypasses=1 created=0 "
                              r"deleted=0 failed=0 skipped=0")
        self.assertRegex(log, r"acl pass ok .* deleted=1 ")

        # A consumer removed from its contract loses its topic access on the next pass.
        contract = daemon.request("GET", "/v1/channels/orders.order-created").json["contract"]
        contract["consumers"] = [c for c in contract["consumers"] if c["name"] != "analytics"]
        reply = daemon.request("PUT", "/v1/channels/orders.order-created", body=contract)
        self.assertEqual(reply.status, 200, reply)
        daemon.wait_ok_pass(create=0, delete=0, desired=len(desired) - 3)
        left = {b for b in peer.acls() if b[3] == "User:analytics-etl"}
        # the group binding stays: the group is no longer known to the registry
        self.assertEqual(left, {("GROUP", "analytics.orders.raw", "LITERAL", "User:analytics-etl",
                                 "*", "READ", "ALLOW")})

    def test_failed_read_never_deletes_and_backs_off(self):
        peer, daemon = self.start()
        register_examples(daemon)
        daemon.wait_ok_pass(create=0, delete=0, channels=4)
        peer.create_acls([INTRUDER])
        creates, deletes = peer.requests("CreateAcls"), peer.requests("DeleteAcls")

        # The broker holds its DescribeAcls answers: every read times out and fails.
        peer.command("hold describe")
        status = wait_for(lambda: (lambda s: s if s["consecutive_failures"] >= 3 else None)(
            daemon.status()), timeout=60, what="three failed passes")
        last = status["last_pass"]
        self.assertFalse(last["ok"])
        self.assertEqual(last["actual_state"], "unknown")
        self.assertTrue(last["deletes_refused"])
        self.assertEqual(last["delete"], 0)
        self.assertIn("imed out", last["error"])
        self.assertGreater(status["failures"], 0)
        # min 200 ms doubled per failure: the third is drawn from [400, 800] ms
        self.assertGreaterEqual(status["backoff_ms"], 400)
        self.assertLessEqual(status["backoff_ms"], 1600)
        # no churn: nothing created, nothing deleted, the intruder is still there
        self.assertEqual(peer.requests("DeleteAcls"), deletes)
        self.assertEqual(peer.requests("CreateAcls"), creates)
        self.assertIn(INTRUDER_T, peer.acls())
        log = daemon.read_log()
        self.assertRegex(log, r"acl pass failed mode=apply trigger=loop leader=true "
                              r"actual_state=unknown .*consecutive_failures=3 backoff_ms=\d+")
        delays = [int(m) for m in re.findall(r"consecutive_failures=\d+ backoff_ms=(\d+)", log)]
        self.assertTrue(all(0 < d <= 1600 for d in delays), delays)

        # The broker recovers: the next passes read, and the intruder goes.
        peer.command("clear")
        status = daemon.wait_ok_pass(create=0, delete=0, timeout=60)
        self.assertEqual(status["consecutive_failures"], 0)
        self.assertEqual(status["backoff_ms"], 0)
        self.assertNotIn(INTRUDER_T, peer.acls())
        self.assertEqual(peer.acls(), desired_from_registry(daemon))
        self.assertEqual(peer.requests("DeleteAcls"), deletes + 1)

    def test_broker_down_and_back(self):
        peer, daemon = self.start()
        register_examples(daemon)
        daemon.wait_ok_pass(create=0, delete=0, channels=4)
        desired = desired_from_registry(daemon)

        peer.stop()
        status = wait_for(lambda: (lambda s: s if s["consecutive_failures"] >= 2 else None)(
            daemon.status()), timeout=60, what="two failed passes")
        self.assertFalse(status["last_pass"]["ok"])
        self.assertEqual(status["last_pass"]["deleted"], 0)
        self.assertEqual(status["last_pass"]["created"], 0)
        self.assertGreater(status["backoff_ms"], 0)
        plan = daemon.request("GET", "/v1/acl/plan")
        self.assertEqual(plan.status, 200, plan)
        self.assertEqual(plan.json["actual_state"], "unknown")
        self.assertIsInstance(plan.json["error"], str)
        self.assertEqual(plan.json["delete"], [])

        # Back on the same address, with an empty ACL store: everything is created again.
        peer.start()
        status = daemon.wait_ok_pass(create=0, delete=0, timeout=60)
        self.assertEqual(status["consecutive_failures"], 0)
        self.assertEqual(peer.acls(), desired)
        self.assertEqual(peer.requests("DeleteAcls"), 0)

    def test_sigterm_during_a_slow_pass(self):
        peer, daemon = self.start(timeout_ms=2000)
        register_examples(daemon)
        daemon.wait_ok_pass(create=0, delete=0, channels=4)
        peer.command("hold describe")
        passes = daemon.status()["passes"]
        # a pass starts and hangs in the read: the peer holds its DescribeAcls
        wait_for(lambda: peer.stats()["held"].get("DescribeAcls", 0) > 0,
                 what="a pass waiting for DescribeAcls")
        answered = peer.stats()["answered"].get("DescribeAcls", 0)
        self.assertEqual(daemon.status()["passes"], passes)
        # stopped with SIGTERM while the broker still holds the answer; killed (and
        # failed) if it does not exit within the --shutdown-timeout of 10 s and some
        self.assertEqual(daemon.stop(timeout=15), 0)
        self.assertFalse(daemon.killed)
        self.assertEqual(peer.stats()["answered"].get("DescribeAcls", 0), answered,
                         "the daemon stopped before the broker answered")
        peer.command("release")
        log = daemon.read_log()
        self.assertIn("info main stopped", log)
        self.assertNotIn("did not stop", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)
