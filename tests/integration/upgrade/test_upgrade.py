#!/usr/bin/python3
"""integration.upgrade - the current chanregd opens stores written by earlier
releases (tests/fixtures/stores/<release>/) and loses or changes nothing.

For each release and backend the store is loaded as that release left it,
the current daemon starts on it (and so applies the newer migrations), and
every read that the release answered (snapshot-<backend>.json, made by
make_store_fixture.snapshot) is asked again: each value the release showed
must be there, equal.  New members are allowed (later releases add fields);
values computed from the current time (age_days, stale) are not compared.
After that the store takes a write, and a restart changes nothing.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import unittest
import urllib.parse

from chanregd import SOURCE_DIR, ChanregdTestCase, avro_record, fresh_pg_url

FIXTURES = os.path.join(SOURCE_DIR, "tests", "fixtures", "stores")
sys.path.insert(0, FIXTURES)
from make_store_fixture import snapshot  # noqa: E402

TOKEN = "upgrade-test-token"
VOLATILE = {"age_days", "stale"}


def releases():
    return sorted(d for d in os.listdir(FIXTURES)
                  if os.path.isdir(os.path.join(FIXTURES, d)))


UNFILLED_SQL = ("SELECT count(*) FROM schemas WHERE identity IS NULL OR identity_hash IS NULL "
                "OR identity = ''")


def sqlite_unfilled(path):
    """Schemas of the SQLite store at path without an identity (read-only, WAL-safe)."""
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return db.execute(UNFILLED_SQL).fetchone()[0]
    finally:
        db.close()


def lost_or_changed(old, new, where="$"):
    """The differences that matter between what a release showed and what the
    current build shows: a list of 'path: ...' strings (empty when none)."""
    if isinstance(old, dict):
        if not isinstance(new, dict):
            return ["%s: was an object, now %r" % (where, new)]
        out = []
        for key, value in old.items():
            if key in VOLATILE:
                continue
            if key not in new:
                out.append("%s.%s: missing (was %r)" % (where, key, value))
            else:
                out += lost_or_changed(value, new[key], "%s.%s" % (where, key))
        return out
    if isinstance(old, list):
        if not isinstance(new, list) or len(new) != len(old):
            return ["%s: was %r, now %r" % (where, old, new)]
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += lost_or_changed(a, b, "%s[%d]" % (where, i))
        return out
    return [] if old == new else ["%s: was %r, now %r" % (where, old, new)]


class UpgradeTest(ChanregdTestCase):

    def check_identities(self, d, before, unfilled):
        """Migration 0007: every schema the release stored has its identity
        (the daemon fills them when it opens the store), so the same schema
        spelled otherwise finds its id and version instead of adding one."""
        self.assertEqual(unfilled(), 0, "schemas without identity after the upgrade")
        versions = {}
        for path, v in before.items():
            if (path.startswith("/subjects/") and "/versions/" in path and isinstance(v, dict)
                    and not v.get("deleted")):
                versions.setdefault(v["subject"], []).append(v)
        live = {s: d.get("/subjects/%s/versions" % s).json for s in versions}
        checked = 0
        for s, vs in sorted(versions.items()):
            latest = max((v for v in vs if v["version"] in live[s]), key=lambda v: v["version"],
                         default=None)
            if latest is None:
                continue
            spelled = json.dumps(json.loads(latest["schema"]), indent=1, sort_keys=True)
            r = d.post("/subjects/%s" % s, {"schema": spelled})
            self.assertEqual((r.status, r.json.get("id"), r.json.get("version")),
                             (200, latest["id"], latest["version"]), s)
            r = d.post("/subjects/%s/versions" % s, {"schema": spelled})
            self.assertEqual((r.status, r.json), (200, {"id": latest["id"]}), s)
            self.assertEqual(d.get("/subjects/%s/versions" % s).json, live[s], s)
            checked += 1
        self.assertGreater(checked, 2, "subjects of the release checked")

    def check_release(self, release, backend, db, unfilled):
        with open(os.path.join(FIXTURES, release, "snapshot-%s.json" % backend)) as f:
            before = json.load(f)
        d = self.start_daemon("--token", TOKEN, db=db)
        d.token = TOKEN
        after = snapshot(d.url)
        self.assertEqual(sorted(set(before) - set(after)), [], "reads that vanished")
        problems = []
        for path, old in sorted(before.items()):
            problems += lost_or_changed(old, after[path], path)
        self.assertEqual(problems, [], "%s store of %s" % (backend, release))

        # Migration 0004: the consumer the release registered over REST is an
        # API consumer, the others come from their contracts; all approved.
        origins = {(ch["name"], c["name"]): (c["origin"], c["state"])
                   for ch in after["/v1/channels"]["channels"] for c in ch["consumers"]}
        self.assertEqual(origins.pop(("orders.order-created", "fraud-check")), ("api", "approved"))
        self.assertTrue(origins)
        self.assertEqual(set(origins.values()), {("contract", "approved")}, origins)

        self.check_identities(d, before, unfilled)

        # The upgraded store takes writes: a new version of a stored subject.
        schema = avro_record("Legacy", [("id", "long"),
                                        ("note", ["null", "string"], {"default": None}),
                                        ("tag", "string", {"default": ""}),
                                        ("added", "int", {"default": 0})],
                             namespace="com.example.legacy")
        reply = d.post("/subjects/legacy-value/versions", {"schema": schema})
        self.assertEqual(reply.status, 200, reply)
        self.assertGreater(reply.json["id"], max(int(p.rsplit("/", 1)[1]) for p in before
                                                  if p.startswith("/schemas/ids/")))

        # A restart on the upgraded store migrates nothing more and shows the same.
        again = snapshot(d.url)
        problems = d.check_exit()
        self.assertEqual(problems, [])
        d2 = self.start_daemon("--token", TOKEN, db=db)
        d2.token = TOKEN
        self.assertEqual(lost_or_changed(again, snapshot(d2.url)), [])

    def test_sqlite_stores_of_earlier_releases(self):
        for release in releases():
            with self.subTest(release=release):
                work = self.tmpdir()
                path = os.path.join(work, "chanreg.sqlite")
                shutil.copyfile(os.path.join(FIXTURES, release, "chanreg.sqlite"), path)
                self.check_release(release, "sqlite", "sqlite:" + path,
                                   lambda: sqlite_unfilled(path))

    def test_postgres_stores_of_earlier_releases(self):
        for release in releases():
            with self.subTest(release=release):
                url = fresh_pg_url("upgrade_" + release.replace(".", "_"))
                u = urllib.parse.urlsplit(url)
                with open(os.path.join(os.environ["CHANREG_TEST_PG_STATE"], "bindir")) as f:
                    psql = os.path.join(f.read().strip(), "psql")
                subprocess.run([psql, "-q", "-v", "ON_ERROR_STOP=1", "-h", u.hostname,
                                "-p", str(u.port), "-U", u.username, "-d", u.path[1:],
                                "-f", os.path.join(FIXTURES, release, "postgres.sql")],
                               check=True, capture_output=True, timeout=120)
                psql_args = [psql, "-q", "-t", "-A", "-h", u.hostname, "-p", str(u.port),
                             "-U", u.username, "-d", u.path[1:], "-c", UNFILLED_SQL]
                self.check_release(release, "postgres", url, lambda: int(subprocess.run(
                    psql_args, check=True, capture_output=True, timeout=60,
                    text=True).stdout.strip()))

    def tmpdir(self):
        work = tempfile.mkdtemp(prefix="chanreg-upgrade-")
        self.addCleanup(shutil.rmtree, work, True)
        return work


if __name__ == "__main__":
    unittest.main(verbosity=2)
