#!/usr/bin/python3
"""integration.admission.leader[.postgres] - only one of several daemons reconciles.

Two chanregd in --acl-mode apply share one store: a SQLite file (flock on
<db>.leader), or with CHANREG_TEST_PG_STATE (tests/support/pg_test_server.sh)
a fresh PostgreSQL database (session advisory lock).  Exactly one of them
reconciles; the other skips its passes and refuses POST /v1/acl/apply.  When
the leader stops, the other takes over.  On PostgreSQL, a leader whose lock
connection is killed notices it on its next pass and competes again.
"""

import os
import subprocess
import unittest

from admission_harness import AdmissionTestCase, register_examples, wait_for
from chanregd import fresh_pg_url, pg_state

PG_STATE = pg_state()


def psql(url, sql):
    proc = subprocess.run(["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c",
                           sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if proc.returncode != 0:
        raise AssertionError("psql failed: %s" % proc.stderr.decode())
    return proc.stdout.decode().strip()


class LeaderTest(AdmissionTestCase):

    def store_url(self):
        if PG_STATE:
            return fresh_pg_url("admission_leader")
        return "sqlite:" + os.path.join(self.tmp, "shared.db")

    def start_pair(self):
        kafka = self.peer()
        db = self.store_url()
        args = ("--kafka-bootstrap", kafka.bootstrap, "--acl-mode", "apply",
                "--reconcile-interval", "1", "--kafka-timeout-ms", "2000")
        a = self.daemon(*args, db=db, name="leader-a")
        b = self.daemon(*args, db=db, name="leader-b")
        return kafka, db, a, b

    def one_leader(self, a, b):
        def check():
            sa, sb = a.status(), b.status()
            if sa["leader"] != sb["leader"] and (sa["passes"] or sb["passes"]):
                return (a, sa, b, sb) if sa["leader"] else (b, sb, a, sa)
            return None
        return wait_for(check, timeout=30, what="exactly one leader")

    def test_one_daemon_reconciles_and_the_other_takes_over(self):
        kafka, db, a, b = self.start_pair()
        register_examples(a)
        leader, _, follower, _ = self.one_leader(a, b)
        status = leader.wait_ok_pass(create=0, delete=0, channels=4)
        self.assertEqual(status["leader_election"], "postgres" if PG_STATE else "flock")
        fstatus = follower.status()
        self.assertFalse(fstatus["leader"])
        self.assertEqual(fstatus["passes"], 0)
        self.assertIsNone(fstatus["last_pass"])
        self.assertGreater(fstatus["skipped_passes"], 0)
        # The follower refuses a pass on demand.
        reply = follower.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 409, reply)
        self.assertEqual(reply.json["error_code"], 40921)
        # The leader runs one.
        reply = leader.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 200, reply)
        self.assertTrue(reply.json["ok"])
        self.assertEqual(reply.json["created"] + reply.json["deleted"], 0)
        self.assertEqual(reply.json["pass"]["trigger"], "api")
        creates = kafka.requests("CreateAcls")
        self.assertEqual(len(kafka.acls()), 34)

        # The leader goes away: the follower takes over and finds nothing to do.
        self.assertEqual(leader.stop(), 0)
        self.assertIn("leadership released", leader.read_log())
        status = wait_for(lambda: (lambda s: s if s["leader"] and s["passes"] > 0 else None)(
            follower.status()), timeout=30, what="the follower taking over")
        status = follower.wait_ok_pass(create=0, delete=0, channels=4)
        self.assertEqual(status["last_pass"]["unchanged"], 34)
        self.assertEqual(kafka.requests("CreateAcls"), creates)
        self.assertIn("leadership acquired", follower.read_log())

        if PG_STATE:
            # Kill the lock's session: leadership is lost, then acquired again.
            passes = status["passes"]
            killed = psql(db, "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                              "WHERE application_name = 'chanregd-leader'")
            self.assertEqual(killed, "1")
            wait_for(lambda: "leadership lost" in follower.read_log(), timeout=30,
                     what="the lost lock noticed")
            status = wait_for(lambda: (lambda s: s if s["leader"] and s["passes"] > passes + 1
                                       else None)(follower.status()), timeout=30,
                              what="leadership acquired again")
            self.assertTrue(status["last_pass"]["ok"], status)
            self.assertEqual(psql(db, "SELECT count(*) FROM pg_stat_activity "
                                      "WHERE application_name = 'chanregd-leader'"), "1")
            self.assertEqual(follower.read_log().count("leadership acquired"), 2)

    def test_sqlite_lock_file_names_the_holder(self):
        if PG_STATE:
            self.skipTest("SQLite only")
        _, db, a, b = self.start_pair()
        leader, _, _, _ = self.one_leader(a, b)
        with open(db[len("sqlite:"):] + ".leader") as f:
            self.assertEqual(int(f.read().strip()), leader.proc.pid)


if __name__ == "__main__":
    unittest.main(verbosity=2)
