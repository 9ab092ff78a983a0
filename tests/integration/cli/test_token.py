"""test_token.py - API tokens of the store: `chanctl token` and /v1/tokens
against a real chanregd on SQLite.

The daemon runs with an admin token (--token); the tests create, list and
revoke store tokens through chanctl and the REST routes, check the errors,
and look for the secret where it must never be: the SQLite files, the
daemon's log, the audit log and every listing.  `chanctl token hash` is
checked offline.

Run: CHANCTL=... CHANREGD=... python3 test_token.py
"""

import hashlib
import json
import os
import re
import subprocess
import unittest

from chanregd import ChanregdTestCase, binary

CHANCTL = binary("CHANCTL")
ADMIN = "admin-token-for-tests"
TOKEN_RE = re.compile(r"^chr_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$")
LINE_RE = re.compile(r"^(\S+) sha256=([0-9a-f]{64}) roles=(\S+)( expires=(\d{4}-\d\d-\d\d))?$")


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


class TokenTest(ChanregdTestCase):
    daemon_args = ("--token", ADMIN)
    daemon_kwargs = {"pg": False}  # the test reads the SQLite files

    def chanctl(self, *args, token=ADMIN, registry=True, stdin=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
        if registry:
            env["CHANREG_URL"] = self.d.url
        if token:
            env["CHANREG_TOKEN"] = token
        return subprocess.run([CHANCTL, *args], capture_output=True, text=True, env=env,
                              input=stdin, timeout=60)

    def create(self, identity, *roles, extra=()):
        args = ["token", "create", "--identity", identity]
        for r in roles:
            args += ["--role", r]
        r = self.chanctl(*args, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        token = r.stdout.strip()
        m = TOKEN_RE.match(token)
        self.assertIsNotNone(m, r.stdout)
        self.assertEqual(r.stdout, token + "\n", "the token alone on stdout")
        return token, m.group(1)

    def store_files(self):
        base = self.d.db[len("sqlite:"):]
        return [p for p in (base, base + "-wal", base + "-shm") if os.path.exists(p)]

    def assertNowhere(self, secret):
        """The secret is in no SQLite file, not in the log, not in the audit log."""
        for path in self.store_files():
            with open(path, "rb") as f:
                self.assertNotIn(secret.encode(), f.read(), path)
        self.assertNotIn(secret, self.d.read_log())
        audit = self.d.get("/v1/audit?limit=1000", token=ADMIN)
        self.assertEqual(audit.status, 200, audit)
        self.assertNotIn(secret, audit.body.decode())

    def test_create_list_revoke(self):
        token, tid = self.create("ci-orders", "ci:orders", "ci:billing",
                                 extra=("--description", "orders pipeline"))
        secret = token.split("_", 2)[2]
        digest = sha256_hex(token)

        r = self.chanctl("token", "list")
        self.assertEqual(r.returncode, 0, r.stderr)
        row = [line for line in r.stdout.splitlines() if line.startswith(tid)]
        self.assertEqual(len(row), 1, r.stdout)
        for word in ("ci-orders", "ci:billing,ci:orders", "active", "orders pipeline"):
            self.assertIn(word, row[0])
        for hidden in (secret, digest):
            self.assertNotIn(hidden, r.stdout)

        r = self.chanctl("token", "list", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        mine = [t for t in doc["tokens"] if t["id"] == tid]
        self.assertEqual(len(mine), 1)
        t = mine[0]
        self.assertEqual(t["identity"], "ci-orders")
        self.assertEqual(t["roles"], ["ci:billing", "ci:orders"])
        self.assertEqual(t["created_by"], "admin")
        self.assertEqual(t["source"], "store")
        self.assertIsNone(t["revoked_at"])
        self.assertNotIn("hash", t)
        self.assertNotIn("token", t)
        for hidden in (secret, digest):
            self.assertNotIn(hidden, r.stdout)

        # The digest is what the store holds.
        held = b""
        for path in self.store_files():
            with open(path, "rb") as f:
                held += f.read()
        self.assertIn(digest.encode(), held)
        self.assertNowhere(secret)

        r = self.chanctl("token", "revoke", tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "revoked token %s\n" % tid)
        r = self.chanctl("token", "revoke", tid)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("already revoked", r.stderr)
        r = self.chanctl("token", "list", "-f", "json")
        t = [t for t in json.loads(r.stdout)["tokens"] if t["id"] == tid][0]
        self.assertEqual(t["state"], "revoked")
        self.assertEqual(t["revoked_by"], "admin")
        self.assertIsNotNone(t["revoked_at"])

        r = self.chanctl("token", "revoke", "000000000000")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("not found", r.stderr)

        audit = self.d.get("/v1/audit?object=token/" + tid, token=ADMIN).json["entries"]
        self.assertEqual([e["action"] for e in audit], ["token.create", "token.revoke"])
        self.assertEqual(audit[0]["detail"]["identity"], "ci-orders")
        self.assertNowhere(secret)
        # The digest is stored, but shown nowhere else.
        self.assertNotIn(digest, self.d.read_log())
        self.assertNotIn(digest, self.d.get("/v1/audit?limit=1000").body.decode())

    def test_store_token_authenticates_until_revoked(self):
        token, tid = self.create("ci-payments", "ci:payments")
        who = self.d.get("/v1/whoami", token=token)
        self.assertEqual(who.status, 200, who)
        self.assertEqual(who.json["identity"], "ci-payments")
        self.assertEqual(who.json["roles"], ["ci:payments"])
        self.assertEqual(who.json["source"], "store")
        # Its roles decide: a ci token may not create tokens (admin only) ...
        r = self.chanctl("token", "list", token=token)
        self.assertEqual(r.returncode, 3, r.stderr)
        denied = self.d.get("/v1/tokens", token=token)
        self.assertError(denied, 403, 40301)
        # ... and writes are audited under its identity.
        reply = self.d.post("/subjects/payments-only-value/versions",
                            {"schema": '"string"'}, token=token)
        self.assertEqual(reply.status, 200, reply)
        audit = self.d.get("/v1/audit?object=subject/payments-only-value", token=ADMIN)
        self.assertIn("ci-payments", [e["actor"] for e in audit.json["entries"]], audit)
        # A wrong secret with a known id, and the revoked token, are refused.
        forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        self.assertError(self.d.post("/subjects/payments-only-value/versions",
                                     {"schema": '"string"'}, token=forged), 401, 401)
        r = self.chanctl("token", "revoke", tid)
        self.assertEqual(r.returncode, 0, r.stderr)
        refused = self.d.post("/subjects/payments-only-value/versions", {"schema": '"string"'},
                              token=token)
        self.assertError(refused, 401, 401, "revoked")

    def test_create_json_and_expiry(self):
        r = self.chanctl("token", "create", "--identity", "prometheus", "--role", "reader",
                         "--expires-in-days", "0", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertRegex(doc["token"], TOKEN_RE)
        self.assertIsNone(doc["expires_at"])
        self.assertEqual(doc["roles"], ["reader"])
        self.assertEqual(doc["identity"], "prometheus")
        self.assertTrue(doc["token"].startswith("chr_" + doc["id"] + "_"))

        # Default: 90 days.
        reply = self.d.post("/v1/tokens", {"identity": "ci-b", "roles": ["ci:billing"]},
                            token=ADMIN)
        self.assertEqual(reply.status, 201, reply)
        self.assertEqual(reply.headers.get("Cache-Control"), "no-store")
        created = reply.json["created_at"]
        self.assertRegex(reply.json["expires_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertGreater(reply.json["expires_at"], created)
        self.assertNowhere(reply.json["token"].split("_", 2)[2])

    def test_admin_token_required(self):
        r = self.chanctl("token", "create", "--identity", "x", "--role", "admin", token=None)
        self.assertEqual(r.returncode, 3, r.stderr)
        r = self.chanctl("token", "list", token="wrong")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(self.d.get("/v1/tokens").status, 401)
        self.assertEqual(self.d.delete("/v1/tokens/000000000000").status, 401)

    def test_rest_validation(self):
        reply = self.d.post("/v1/tokens", {"identity": "a b", "roles": ["boss", 3],
                                           "expires_in_days": 3651, "description": "x\u0001",
                                           "extra": True}, token=ADMIN)
        self.assertError(reply, 422, 42216, "6 errors")
        paths = sorted(e.get("path", "") for e in reply.json["errors"])
        self.assertEqual(paths, ["", "description", "expires_in_days", "identity", "roles[0]",
                                 "roles[1]"])
        self.assertError(self.d.post("/v1/tokens", {"identity": "x"}, token=ADMIN), 422, 42216)
        self.assertError(self.d.post("/v1/tokens", {"identity": "x", "roles": []}, token=ADMIN),
                         422, 42216)
        self.assertError(self.d.post("/v1/tokens", {"identity": "x", "roles": ["admin"],
                                                    "expires_in_days": "10"}, token=ADMIN),
                         422, 42216)
        self.assertError(self.d.delete("/v1/tokens/0123456789ab", token=ADMIN), 404, 40416)
        self.assertError(self.d.delete("/v1/tokens/not-an-id", token=ADMIN), 404, 40416)

        r = self.chanctl("token", "create", "--identity", "x", "--role", "admin",
                         "--expires-in-days", "4000")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.chanctl("token", "create", "--identity", "x", "--role", "ci:Bad")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("ci:Bad", r.stderr)
        r = self.chanctl("token", "create", "--role", "admin")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.chanctl("token", "revoke")
        self.assertEqual(r.returncode, 2, r.stderr)
        r = self.chanctl("token", "list", "--role", "admin")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_hash_offline(self):
        r = self.chanctl("token", "hash", "--identity", "ci-orders",
                         "--role", "ci:orders,ci:billing", "--expires", "2030-01-31",
                         registry=False, token=None)
        self.assertEqual(r.returncode, 0, r.stderr)
        token, line = r.stdout.splitlines()
        self.assertRegex(token, TOKEN_RE)
        m = LINE_RE.match(line)
        self.assertIsNotNone(m, line)
        self.assertEqual(m.group(1), "ci-orders")
        self.assertEqual(m.group(2), sha256_hex(token))
        self.assertEqual(m.group(3), "ci:billing,ci:orders")
        self.assertEqual(m.group(5), "2030-01-31")

        r = self.chanctl("token", "hash", "--identity", "legacy", "--role", "admin", "--stdin",
                         registry=False, token=None, stdin="old-shared-secret\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout,
                         "legacy sha256=%s roles=admin\n" % sha256_hex("old-shared-secret"))

        for bad in (["--expires", "2030-02-30"], ["--stdin", "--format", "json"]):
            r = self.chanctl("token", "hash", "--identity", "x", "--role", "admin", *bad,
                             registry=False, token=None, stdin="t\n")
            self.assertEqual(r.returncode, 2, (bad, r.stderr))
        r = self.chanctl("token", "hash", "--identity", "x", "--role", "admin", "--stdin",
                         registry=False, token=None, stdin="\n")
        self.assertEqual(r.returncode, 2, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
