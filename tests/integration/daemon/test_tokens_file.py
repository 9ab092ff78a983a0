"""test_tokens_file.py - the token file: v2 lines with SHA-256 digests, legacy
NAME:TOKEN lines (admin, with a warning), expiry, and secrets kept out of the
daemon log and the audit log.
"""

import base64
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

from chanregd import Chanregd as Daemon, avro_record as record, binary  # noqa: E402


def chanregd_path():
    return binary("CHANREGD")


def basic_auth(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


SCHEMA = record("Tok", [("a", "int")])
V2_TOKEN = "v2-secret-3f9c1e7a5b"
LEGACY_TOKEN = "legacy-secret-8d2b4f6a"
EXPIRED_TOKEN = "expired-secret-0a1b2c3d"


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


class TokenFileTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="chanreg-tokens-")
        path = os.path.join(cls.dir, "tokens")
        with open(path, "w") as f:
            f.write("# v2 lines\n")
            f.write("ci-orders sha256=%s roles=ci:orders expires=2999-12-31\n" % sha256(V2_TOKEN))
            f.write("old-ci sha256=%s roles=admin expires=2001-01-01\n" % sha256(EXPIRED_TOKEN))
            f.write("\n# before v2\ndeployer:%s\n" % LEGACY_TOKEN)
        cls.d = Daemon("--token-file", path, workdir=cls.dir).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.d.owns_dir = True
        cls.d.cleanup()
        if rc != 0:
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "Sanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-4000:])

    def test_v2_identity(self):
        r = self.d.get("/v1/whoami", token=V2_TOKEN)
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json["identity"], "ci-orders")
        self.assertEqual(r.json["roles"], ["ci:orders"])
        self.assertEqual(r.json["source"], "file")
        self.assertEqual(r.json["expires_at"], 32503593600)  # 2999-12-31T00:00:00Z
        r = self.d.post("/subjects/tok-free-value/versions", {"schema": SCHEMA}, token=V2_TOKEN)
        self.assertEqual(r.status, 200, r)
        r = self.d.put("/config", {"compatibility": "NONE"}, token=V2_TOKEN)
        self.assertEqual(r.status, 403, r)
        self.assertEqual(r.json["error_code"], 40301, r)

    def test_basic_auth_carries_the_token(self):
        r = self.d.get("/v1/whoami", headers=basic_auth("anyone", V2_TOKEN))
        self.assertEqual(r.json["identity"], "ci-orders", r)

    def test_legacy_line_is_admin_with_a_warning(self):
        r = self.d.get("/v1/whoami", token=LEGACY_TOKEN)
        self.assertEqual(r.json["identity"], "deployer", r)
        self.assertEqual(r.json["roles"], ["admin"], r)
        r = self.d.put("/config", {"compatibility": "FULL"}, token=LEGACY_TOKEN)
        self.assertEqual(r.status, 200, r)
        self.assertRegex(self.d.read_log(),
                         r"warn config token file .*tokens:6: legacy NAME:TOKEN line, treated as admin")

    def test_expired_token_401(self):
        r = self.d.put("/config", {"compatibility": "FULL"}, token=EXPIRED_TOKEN)
        self.assertEqual(r.status, 401, r)
        self.assertEqual(r.json["error_code"], 401, r)
        self.assertIn("expired on 2001-01-01", r.json["message"])
        # Reads stay open without --auth-reads: the request is anonymous.
        r = self.d.get("/v1/whoami", token=EXPIRED_TOKEN)
        self.assertEqual(r.json["identity"], "anonymous", r)

    def test_token_never_in_clear(self):
        for token in (V2_TOKEN, LEGACY_TOKEN):
            r = self.d.post("/subjects/tok-audit-value/versions", {"schema": SCHEMA},
                            token=token)
            self.assertEqual(r.status, 200, r)
        self.d.post("/subjects/tok-audit-value/versions", {"schema": SCHEMA},
                    token=V2_TOKEN + "x")
        audit = self.d.get("/v1/audit?limit=1000")
        self.assertEqual(audit.status, 200, audit)
        log = self.d.read_log()
        for secret in (V2_TOKEN, LEGACY_TOKEN, EXPIRED_TOKEN):
            self.assertNotIn(secret, log)
            self.assertNotIn(secret.encode(), audit.body)
            self.assertNotIn(secret.encode(), self.d.get("/v1/whoami", token=secret).body)


class TokenFileErrorsTest(unittest.TestCase):

    def test_bad_lines_are_all_reported(self):
        with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
            f.write("good sha256=%s roles=reader\n" % sha256("x"))
            f.write("bad1 sha256=nothex roles=reader\n")
            f.write("bad2 sha256=%s roles=boss\n" % sha256("y"))
            path = f.name
        try:
            r = subprocess.run([chanregd_path(), "--check-config", "--token-file", path],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 2, r)
            self.assertIn("%s:2:" % path, r.stderr)
            self.assertIn("%s:3:" % path, r.stderr)
        finally:
            os.unlink(path)

    def test_kubernetes_example_token_file_is_valid(self):
        """The token file of deploy/kubernetes/chanreg.yaml is what the daemon reads."""
        import yaml
        from chanregd import SOURCE_DIR
        with open(os.path.join(SOURCE_DIR, "deploy", "kubernetes", "chanreg.yaml")) as f:
            secret = [doc for doc in yaml.safe_load_all(f)
                      if doc and doc.get("kind") == "Secret"][0]
        with tempfile.NamedTemporaryFile("w", suffix=".tokens", delete=False) as f:
            f.write(secret["stringData"]["tokens"])
            path = f.name
        try:
            r = subprocess.run([chanregd_path(), "--check-config", "--token-file", path],
                               capture_output=True, text=True, timeout=30)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertNotIn("legacy", r.stderr)
        finally:
            os.unlink(path)


if __name__ == "__main__":
    unittest.main(verbosity=2)
