"""test_pg_faults.py - chanregd when its PostgreSQL server crashes or hangs.

Each test runs a PostgreSQL server of its own (faults_harness.PgServer):
 - crash (immediate stop, then restart): /healthz answers, /readyz says 503
   "store unreachable", writes get a JSON error, and after the restart
   every acknowledged write is there and writes work again;
 - hang (every server process SIGSTOPped: connections are accepted, nothing
   is answered): /healthz answers, /readyz says 503 "store not answering",
   a write gets a JSON 50002 (operation timed out) instead of waiting
   forever, and after SIGCONT nothing acknowledged is missing;
 - shutdown with a write waiting for the hung server: chanregd exits at
   --shutdown-timeout (the statement deadline is far away), and a second
   SIGTERM ends the wait at once; the unacknowledged write left nothing.
Every wait is bounded; no test measures time.
"""

import signal
import socket
import threading
import unittest

from chanregd import ChanregdTestCase, avro_record as record, wait_for
from faults_harness import PgServer

# Deadlines short enough for a test to see them pass.
SHORT = ("--db-connect-timeout-ms", "1000", "--db-statement-timeout-ms", "1000",
         "--db-acquire-timeout-ms", "1000", "--db-pool-size", "2")
# Deadlines no test waits for: only the shutdown deadline can end a wait.
FAR = ("--db-connect-timeout-ms", "600000", "--db-statement-timeout-ms", "600000",
       "--db-acquire-timeout-ms", "600000")


def readiness(d):
    """(status, reason) of GET /readyz, answered before the client timeout."""
    r = d.get("/readyz", timeout=10)
    return r.status, (r.json or {}).get("reason")


def listener_closed(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return False
    except OSError:
        return True


class PgFaultsTest(ChanregdTestCase):

    def setUp(self):
        self.pg = PgServer()
        self.addCleanup(self.pg.cleanup)

    def assertJsonError(self, r, status, codes):
        self.assertEqual(r.status, status, r)
        self.assertIsInstance(r.json, dict, r)
        self.assertIn(r.json.get("error_code"), codes, r)
        self.assertIsInstance(r.json.get("message"), str, r)

    def test_crash_and_restart(self):
        d = self.start_daemon(*SHORT, db=self.pg.url)
        d.put("/config/crash-value", {"compatibility": "NONE"})
        before = record("Crash1", [("a", "int")])
        sid = d.post("/subjects/crash-value/versions", {"schema": before}).json["id"]

        self.pg.crash()
        self.assertEqual(d.get("/healthz", timeout=10).status, 200)
        wait_for(lambda: readiness(d) == (503, "store unreachable"), timeout=30,
                 what="/readyz to say the store is unreachable")
        r = d.post("/subjects/crash-value/versions",
                   {"schema": record("Crash2", [("a", "int")])}, timeout=30)
        self.assertJsonError(r, 500, (50001, 50002))
        r = d.get("/v1/channels", timeout=30)
        self.assertJsonError(r, 500, (50001, 50002))

        self.pg.restart()
        wait_for(lambda: readiness(d) == (200, None), timeout=60, what="/readyz to recover")
        r = d.post("/subjects/crash-value", {"schema": before})
        self.assertEqual((r.status, r.json["id"], r.json["version"]), (200, sid, 1), r)
        r = d.post("/subjects/crash-value/versions", {"schema": record("Crash3", [("a", "int")])})
        self.assertEqual(r.status, 200, r)
        versions = d.get("/subjects/crash-value/versions").json
        self.assertEqual(versions, list(range(1, len(versions) + 1)))

    def test_hang_and_resume(self):
        d = self.start_daemon(*SHORT, db=self.pg.url)
        d.put("/config/hang-value", {"compatibility": "NONE"})
        before = record("Hang1", [("a", "int")])
        sid = d.post("/subjects/hang-value/versions", {"schema": before}).json["id"]

        self.pg.hang()
        r = d.get("/healthz", timeout=10)
        self.assertEqual((r.status, r.json["status"]), (200, "ok"))
        wait_for(lambda: readiness(d) == (503, "store not answering"), timeout=30,
                 what="/readyz to say the store does not answer")
        r = d.get("/readyz", timeout=10)
        self.assertIn("detail", r.json)
        # A write and a read end with the deadline's error, not a hang.
        r = d.post("/subjects/hang-value/versions",
                   {"schema": record("Hang2", [("a", "int")])}, timeout=60)
        self.assertJsonError(r, 500, (50002,))
        self.assertIn("timed out", r.json["message"])
        # The daemon's own deadline answered: a stopped server never reports
        # its statement_timeout ("canceling statement due to statement timeout").
        self.assertRegex(r.json["message"], "no reply|no answer|became free")
        self.assertNotIn("statement timeout", r.json["message"])
        r = d.get("/v1/channels", timeout=60)
        self.assertJsonError(r, 500, (50002,))
        self.assertEqual(d.get("/healthz", timeout=10).status, 200)

        self.pg.resume()
        wait_for(lambda: readiness(d) == (200, None), timeout=60, what="/readyz to recover")
        r = d.post("/subjects/hang-value", {"schema": before})
        self.assertEqual((r.status, r.json["id"], r.json["version"]), (200, sid, 1), r)
        # The timed-out write was not acknowledged: all of it or nothing is there.
        versions = d.get("/subjects/hang-value/versions").json
        self.assertIn(versions, ([1], [1, 2]))
        for v in versions:
            self.assertEqual(d.get("/subjects/hang-value/versions/%d" % v).status, 200)
        r = d.post("/subjects/hang-value/versions", {"schema": record("Hang3", [("a", "int")])})
        self.assertEqual(r.status, 200, r)

    def stuck_write(self, d, subject):
        """A write of subject that waits inside PostgreSQL (for a lock held by
        another session), then the server hangs.  Returns the thread and the
        dict that gets its reply ("reply") or connection error ("error")."""
        self.pg.hold_subject_lock(subject)
        out = {}

        def write():
            try:
                out["reply"] = d.post("/subjects/%s/versions" % subject,
                                      {"schema": record("Stuck", [("a", "int")])}, timeout=120)
            except OSError as e:
                out["error"] = e

        t = threading.Thread(target=write, daemon=True)
        t.start()
        self.addCleanup(t.join, 130)
        wait_for(lambda: self.pg.lock_waiters() == 1, timeout=60,
                 what="the write to wait for the lock")
        self.pg.hang()
        return t, out

    def check_not_acknowledged(self, t, out):
        t.join(130)
        self.assertFalse(t.is_alive())
        if "reply" in out:
            self.assertJsonError(out["reply"], 500, (50001, 50002))

    def check_store_after(self, d, sid, before):
        self.pg.resume()
        d2 = self.start_daemon(db=self.pg.url, name="after")
        r = d2.post("/subjects/kept-value", {"schema": before})
        self.assertEqual((r.status, r.json["id"]), (200, sid), r)
        r = d2.get("/subjects/stuck-value/versions")
        self.assertEqual(r.status, 404, "the unacknowledged write left nothing: %r" % (r,))

    def test_shutdown_deadline_with_hung_database(self):
        d = self.start_daemon("--shutdown-timeout", "5", *FAR, db=self.pg.url)
        before = record("Kept", [("a", "int")])
        sid = d.post("/subjects/kept-value/versions", {"schema": before}).json["id"]
        t, out = self.stuck_write(d, "stuck-value")

        d.send_signal(signal.SIGTERM)
        # The statement deadline is 600 s away: only the shutdown deadline ends this.
        self.assertEqual(d.wait(90), 0)
        self.assertFalse(d.killed)
        self.assertIn("shutdown deadline passed in_flight=1", d.read_log())
        self.check_not_acknowledged(t, out)
        self.check_store_after(d, sid, before)

    def test_second_sigterm_exits_at_once(self):
        d = self.start_daemon("--shutdown-timeout", "3600", *FAR, db=self.pg.url)
        before = record("Kept", [("a", "int")])
        sid = d.post("/subjects/kept-value/versions", {"schema": before}).json["id"]
        t, out = self.stuck_write(d, "stuck-value")

        d.send_signal(signal.SIGTERM)
        wait_for(lambda: listener_closed(d.port), timeout=30, what="the listener to close")
        self.assertTrue(d.running, "waiting for the request in flight")
        d.send_signal(signal.SIGTERM)
        self.assertEqual(d.wait(90), 0)
        self.assertFalse(d.killed)
        self.assertIn("second signal", d.read_log())
        self.check_not_acknowledged(t, out)
        self.check_store_after(d, sid, before)


if __name__ == "__main__":
    unittest.main(verbosity=2)
