"""test_store_outage.py - chanregd when its PostgreSQL server goes away.

Starts a PostgreSQL server of its own with tests/support/pg_test_server.sh,
runs chanregd on it, then stops the database while
the daemon keeps running: readiness must fail, writes must fail with a JSON
backend error (50001) and no crash, lookups by id must still be served from
the cache, and the daemon must still shut down cleanly.
"""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from chanregd import PG_TEST_SERVER, ChanregdTestCase, avro_record as record, wait_for


class StoreOutageTest(ChanregdTestCase):

    def setUp(self):
        self.pg = PG_TEST_SERVER
        self.state = tempfile.mkdtemp(prefix="chanregd-pg-outage-")
        subprocess.run([self.pg, "start", self.state, "outage"], check=True,
                       stdout=subprocess.DEVNULL)
        self.addCleanup(shutil.rmtree, self.state, True)
        self.addCleanup(subprocess.run, [self.pg, "stop", self.state],
                        stdout=subprocess.DEVNULL)
        with open(os.path.join(self.state, "url-outage")) as f:
            url = f.read().strip()
        self.d = self.start_daemon("--db-pool-size", "2", db=url)

    def test_outage(self):
        schema = record("Outage", [("a", "int")])
        sid = self.d.post("/subjects/outage-value/versions", {"schema": schema}).json["id"]
        self.assertEqual(self.d.get("/readyz").status, 200)

        subprocess.run([self.pg, "stop", self.state], check=True, stdout=subprocess.DEVNULL)

        # /readyz reports the background probe's outcome: the next ping fails.
        r = wait_for(lambda: (lambda r: r if r.status == 503 else None)(self.d.get("/readyz")),
                     what="/readyz to fail")
        self.assertEqual(r.json["reason"], "store unreachable")
        r = self.d.post("/subjects/outage-value/versions",
                        {"schema": record("Outage2", [("a", "int")])})
        self.assertEqual(r.status, 500, r)
        self.assertEqual(r.json["error_code"], 50001, r)
        self.assertIn("backend", r.json["message"])
        r = self.d.get("/subjects")
        self.assertEqual((r.status, r.json["error_code"]), (500, 50001))
        # Ids are immutable: the cache still answers.
        r = self.d.get("/schemas/ids/%d" % sid)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(json.loads(r.json["schema"]), json.loads(schema))
        self.assertEqual(self.d.get("/healthz").status, 200, "alive, only not ready")

        self.assertEqual(self.d.stop(), 0)
        self.assertIn("error", self.d.read_log())


if __name__ == "__main__":
    unittest.main(verbosity=2)
