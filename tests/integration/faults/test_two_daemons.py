"""test_two_daemons.py - two daemons on one PostgreSQL database under
concurrent schema registrations.

Eight threads register new schemas through two daemons in turn, on the same
four subjects.  Every acknowledged write must have an id of its own (one id
per distinct schema, whichever daemon took it) and a version of its own in
its subject, and both daemons must show the same subjects with versions
1..n without gaps or duplicates.
"""

import unittest

from chanregd import ChanregdTestCase, avro_record, fresh_pg_url, wait_for
from faults_harness import Writers, check_acknowledged


class TwoDaemonsTest(ChanregdTestCase):

    def test_no_duplicate_ids_or_versions(self):
        url = fresh_pg_url("two_daemons")
        a = self.start_daemon(db=url, name="a")
        b = self.start_daemon(db=url, name="b")
        writers = Writers([a, b], n_threads=8, subjects=4, prefix="two").start()
        try:
            wait_for(lambda: writers.count() >= 80, timeout=180,
                     what="80 acknowledged writes")
        finally:
            writers.join()
        self.assertEqual(writers.refused, [])
        for d in (a, b):
            check_acknowledged(self, d, writers.acked)
        subjects = sorted({w[0] for w in writers.acked})
        for subject in subjects:
            self.assertEqual(a.get("/subjects/%s/versions" % subject).json,
                             b.get("/subjects/%s/versions" % subject).json)
        # The same schema through both daemons at once gets one id.
        schema = avro_record("Shared", [("s", "string")])
        ids = {d.post("/subjects/two-shared-value/versions", {"schema": schema}).json["id"]
               for d in (a, b)}
        self.assertEqual(len(ids), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
