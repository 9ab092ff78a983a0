"""test_import.py - `chanctl import --from URL`: moving a registry in, ids kept.

The source is a second chanregd seeded through its own IMPORT mode and its
normal API so that it has what a long-lived registry has: gaps in the ids
(ids given on import, a permanently deleted subject), gaps in the version
numbers, soft-deleted versions and a soft-deleted subject, per-subject
compatibility levels, a subject mode and a global level.  The target is a
fresh chanregd.  Runs on SQLite, and on PostgreSQL (where ids come from a
sequence) when CHANREG_TEST_PG_STATE names the test server.
"""

import json
import unittest

from chanregd import ChanregdTestCase, avro_record as record, chanctl


def schema(name, n):
    """A record with n int fields with defaults (each one compatible with the others)."""
    return record(name, [("f%d" % i, "int", {"default": 0}) for i in range(n)], "imp")


class ImportTest(ChanregdTestCase):

    def ok(self, reply):
        self.assertLess(reply.status, 300, reply)
        return reply

    def seed(self, src):
        """The source registry; returns the highest id it uses."""
        self.ok(src.put("/mode", {"mode": "IMPORT"}))
        # Ids and versions chosen by the importer: gaps in both.
        self.ok(src.post("/subjects/a-value/versions",
                         {"schema": schema("A", 1), "id": 7, "version": 1}))
        self.ok(src.post("/subjects/a-value/versions",
                         {"schema": schema("A", 2), "id": 12, "version": 3}))
        self.ok(src.post("/subjects/b-value/versions",
                         {"schema": schema("A", 1), "id": 7, "version": 2}))
        self.ok(src.put("/mode", {"mode": "READWRITE"}))
        # Normal registrations continue past the highest id.
        ids = [self.ok(src.post("/subjects/orders-value/versions",
                                {"schema": schema("Order", n)})).json["id"] for n in (1, 2, 3)]
        self.assertGreater(min(ids), 12)
        gone = self.ok(src.post("/subjects/gone-value/versions",
                                {"schema": schema("Gone", 1)})).json["id"]
        self.ok(src.delete("/subjects/gone-value"))
        self.ok(src.delete("/subjects/gone-value?permanent=true"))  # a gap in the ids
        self.ok(src.post("/subjects/old-value/versions", {"schema": schema("Old", 1)}))
        self.ok(src.delete("/subjects/old-value"))  # a soft-deleted subject
        self.ok(src.delete("/subjects/orders-value/versions/2"))  # a soft-deleted version
        self.ok(src.put("/config/orders-value", {"compatibility": "FULL"}))
        self.ok(src.put("/config/a-value", {"compatibility": "NONE"}))
        self.ok(src.put("/config", {"compatibility": "BACKWARD_TRANSITIVE"}))
        self.ok(src.put("/mode/b-value", {"mode": "READONLY"}))
        return max(ids + [gone])

    def run_import(self, src, dst, *extra):
        return chanctl("import", "--from", src.url, "--registry", dst.url, *extra)

    def dump(self, d):
        """Everything the Confluent API shows of a registry."""
        out = {"subjects": {}, "config": d.get("/config").json, "mode": d.get("/mode").json}
        for s in d.get("/subjects?deleted=true").json:
            live = d.get("/subjects/%s/versions" % s)
            live = live.json if live.status == 200 else []
            versions = {}
            for v in d.get("/subjects/%s/versions?deleted=true" % s).json:
                r = d.get("/subjects/%s/versions/%d?deleted=true" % (s, v)).json
                versions[v] = (r["id"], json.loads(r["schema"]), v not in live)
            cfg = d.get("/config/%s" % s)
            mode = d.get("/mode/%s" % s)
            out["subjects"][s] = (versions, cfg.json if cfg.status == 200 else None,
                                  mode.json if mode.status == 200 else None)
        return out

    def test_import_keeps_ids_deletions_and_settings_and_resumes(self):
        src = self.start_daemon(name="source")
        dst = self.start_daemon(name="target")
        max_id = self.seed(src)

        dry = self.run_import(src, dst, "--dry-run")
        self.assertEqual(dry.returncode, 0, dry)
        self.assertIn("would import a-value version 3 as id 12", dry.stdout)
        self.assertEqual(dst.get("/subjects?deleted=true").json, [], "a dry run writes nothing")
        self.assertEqual(dst.get("/mode").json, {"mode": "READWRITE"})

        r = self.run_import(src, dst)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("verified", r.stdout)
        self.assertEqual(self.dump(src), self.dump(dst))
        self.assertEqual(dst.get("/schemas/ids/7").json, src.get("/schemas/ids/7").json)
        self.assertEqual(dst.get("/subjects/a-value/versions").json, [1, 3])
        self.assertEqual(dst.get("/subjects/orders-value/versions").json, [1, 3])
        self.assertEqual(dst.get("/subjects/old-value/versions?deleted=true").json, [1])
        self.assertEqual(dst.get("/mode/b-value").json, {"mode": "READONLY"})

        # New ids in the target never collide with imported ones.
        new = self.ok(dst.post("/subjects/fresh-value/versions", {"schema": schema("Fresh", 1)}))
        self.assertGreater(new.json["id"], max_id)

        # Re-running finds everything there identically (but the new subject).
        again = self.run_import(src, dst)
        self.assertEqual(again.returncode, 1, again)
        self.assertIn("fresh-value version 1", again.stdout)
        self.ok(dst.delete("/subjects/fresh-value"))
        self.ok(dst.delete("/subjects/fresh-value?permanent=true"))
        again = self.run_import(src, dst)
        self.assertEqual(again.returncode, 0, again)
        self.assertIn("imported 0 versions", again.stdout)

    def test_interrupted_import_resumes(self):
        src = self.start_daemon(name="source")
        dst = self.start_daemon(name="target")
        self.seed(src)
        # As if a first run stopped after one version.
        self.ok(dst.put("/mode", {"mode": "IMPORT"}))
        self.ok(dst.post("/subjects/a-value/versions",
                         {"schema": schema("A", 1), "id": 7, "version": 1}))
        self.ok(dst.put("/mode", {"mode": "READWRITE"}))
        r = self.run_import(src, dst)
        self.assertEqual(r.returncode, 0, r)
        self.assertIn("force: resuming", r.stdout)
        self.assertEqual(self.dump(src), self.dump(dst))

    def test_conflicts_stop_before_any_write(self):
        src = self.start_daemon(name="source")
        dst = self.start_daemon(name="target")
        self.seed(src)
        # The target already uses id 12 for another schema.
        self.ok(dst.put("/mode", {"mode": "IMPORT"}))
        self.ok(dst.post("/subjects/other-value/versions",
                         {"schema": schema("Other", 1), "id": 12, "version": 1}))
        before = self.dump(dst)
        r = self.run_import(src, dst)
        self.assertEqual(r.returncode, 1, r)
        self.assertIn("conflict: id 12 of a-value version 3 holds another schema", r.stdout)
        self.assertIn("nothing written", r.stderr)
        self.assertEqual(self.dump(dst), before)

    def test_usage(self):
        r = chanctl("import", "--registry", "http://127.0.0.1")
        self.assertEqual(r.returncode, 2, r)
        self.assertIn("--from URL is required", r.stderr)
        r = chanctl("import", "--from", "http://127.0.0.1", "--registry", "http://127.0.0.1")
        self.assertEqual(r.returncode, 2, r)


if __name__ == "__main__":
    unittest.main(verbosity=2)
