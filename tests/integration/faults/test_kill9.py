"""test_kill9.py - kill -9 of chanregd under concurrent writers.

Eight threads register new schemas as fast as the daemon answers; once some
writes are acknowledged the daemon is killed with SIGKILL.  A new daemon on
the same store must show every acknowledged write: the schema under its id,
in its subject, versions 1..n without gaps or duplicates.  Runs on SQLite,
and on PostgreSQL when the test PostgreSQL is given (CHANREG_TEST_PG_STATE).
"""

import signal
import unittest

from chanregd import Chanregd, ChanregdTestCase, wait_for
from faults_harness import Writers, check_acknowledged


class Kill9Test(ChanregdTestCase):

    def test_acknowledged_writes_survive_kill_9(self):
        d = Chanregd()
        self.addCleanup(d.cleanup)
        d.start()
        writers = Writers([d], n_threads=8, subjects=4, prefix="k9").start()
        try:
            wait_for(lambda: writers.count() >= 40, timeout=120,
                     what="40 acknowledged writes")
            d.stop(sig=signal.SIGKILL)
        finally:
            writers.join()
        self.assertEqual(d.returncode, -signal.SIGKILL)
        self.assertGreaterEqual(len(writers.acked), 40)

        d2 = self.start_daemon(db=d.db, workdir=d.dir, name="after-kill")
        check_acknowledged(self, d2, writers.acked)
        # The store takes writes again.
        r = d2.post("/subjects/k9-0-value/versions",
                    {"schema": '{"type":"record","name":"After","fields":[]}'})
        self.assertEqual(r.status, 200, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
