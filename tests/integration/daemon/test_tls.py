"""test_tls.py - chanregd over HTTPS (--tls-cert/--tls-key) and chanctl --cacert.

Each run generates its own self-signed P-256 certificate for 127.0.0.1 with
openssl (OPENSSL names the binary, else the one on PATH) in a temporary
directory.  The daemon listens on a free loopback port; requests go over
real TLS: probes and an authenticated write with Python's ssl module,
registry commands with chanctl (CHANCTL names the binary).
"""

import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import unittest
import urllib.error
import urllib.request

from chanregd import Chanregd, avro_record, binary, clean_env  # noqa: E402

TOKEN = "tls-test-token"
SCHEMA = avro_record("Tls", [("a", "int")])


def openssl_path():
    return binary("OPENSSL")


def make_cert(directory, name):
    """A self-signed certificate for CN=localhost, IP 127.0.0.1; returns (cert, key)."""
    cert = os.path.join(directory, name + "-cert.pem")
    key = os.path.join(directory, name + "-key.pem")
    subprocess.run([openssl_path(), "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return cert, key


def chanctl_path():
    return binary("CHANCTL")


class HttpsTest(unittest.TestCase):
    """One daemon serving HTTPS with a token, for the whole class."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="chanreg-tls-")
        cls.cert, cls.key = make_cert(cls.tmp, "server")
        cls.other_ca, _ = make_cert(cls.tmp, "other")
        cls.d = Chanregd("--tls-cert", cls.cert, "--tls-key", cls.key, "--token", TOKEN).start()
        cls.base = "https://127.0.0.1:%d" % cls.d.port
        cls.ctx = ssl.create_default_context(cafile=cls.cert)

    @classmethod
    def tearDownClass(cls):
        rc = cls.d.stop()
        log = cls.d.read_log()
        cls.d.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        if rc != 0:
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "Sanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-4000:])

    def https(self, method, path, body=None, token=None):
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30, context=self.ctx) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null")

    def chanctl(self, *args, env=None):
        return subprocess.run([chanctl_path()] + list(args), env=env or clean_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=60)

    def test_https_healthz_and_token(self):
        status, doc = self.https("GET", "/healthz")
        self.assertEqual(status, 200, doc)
        status, doc = self.https("POST", "/subjects/tls-a/versions", {"schema": SCHEMA})
        self.assertEqual(status, 401, doc)
        status, doc = self.https("POST", "/subjects/tls-a/versions", {"schema": SCHEMA},
                                 token=TOKEN)
        self.assertEqual(status, 200, doc)
        self.assertIn("id", doc)
        status, doc = self.https("GET", "/subjects/tls-a/versions")
        self.assertEqual((status, doc), (200, [1]))
        log = self.d.read_log()
        self.assertIn("scheme=https", log)
        self.assertIn("tls=on", log)

    def test_plain_http_refused(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
        try:
            with self.assertRaises((http.client.HTTPException, ConnectionError)):
                conn.request("GET", "/healthz")
                conn.getresponse().read()
        finally:
            conn.close()
        # The server still serves HTTPS afterwards.
        self.assertEqual(self.https("GET", "/healthz")[0], 200)

    def test_unknown_ca_refused_by_python_client(self):
        ctx = ssl.create_default_context(cafile=self.other_ca)
        with self.assertRaises(urllib.error.URLError) as cm:
            urllib.request.urlopen(self.base + "/healthz", timeout=10, context=ctx)
        self.assertIsInstance(cm.exception.reason, ssl.SSLCertVerificationError)

    def test_chanctl_cacert_ok_and_unknown_ca_exit_3(self):
        status, _ = self.https("POST", "/subjects/tls-b/versions", {"schema": SCHEMA},
                               token=TOKEN)
        self.assertEqual(status, 200)

        r = self.chanctl("get", "subject", "tls-b", "--format", "json",
                         "--registry", self.base, "--cacert", self.cert)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["subject"], "tls-b")

        r = self.chanctl("list", "channels", "--registry", self.base,
                         env=clean_env({"CHANREG_CACERT": self.cert}))
        self.assertEqual(r.returncode, 0, r.stderr)

        for extra in ([], ["--cacert", self.other_ca]):
            r = self.chanctl("get", "subject", "tls-b", "--registry", self.base, *extra)
            self.assertEqual(r.returncode, 3, (extra, r.stdout, r.stderr))
            self.assertIn("cannot verify the registry's certificate", r.stderr)
            self.assertIn("--cacert", r.stderr)
            self.assertEqual(r.stdout, "")

        r = self.chanctl("get", "subject", "tls-b", "--registry", self.base,
                         "--cacert", os.path.join(self.tmp, "missing.pem"))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("missing.pem", r.stderr)


class HalfConfigTest(unittest.TestCase):
    """--tls-cert without --tls-key (and the reverse) keeps the daemon from starting."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="chanreg-tls-")
        cls.cert, cls.key = make_cert(cls.tmp, "server")
        cls.db = "sqlite:" + os.path.join(cls.tmp, "registry.db")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def run_daemon(self, *args, env=None):
        return subprocess.run([binary("CHANREGD"), "--listen", "127.0.0.1:0", "--db", self.db,
                               "--allow-unauthenticated-writes"] + list(args), env=clean_env(env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=30)

    def test_half_config_rejected(self):
        cases = [
            (["--tls-cert", self.cert], {}, "--tls-cert is set but --tls-key is not"),
            (["--tls-key", self.key], {}, "--tls-key is set but --tls-cert is not"),
            ([], {"CHANREG_TLS_CERT": self.cert}, "--tls-cert is set but --tls-key is not"),
            (["--tls-cert", self.cert, "--check-config"], {},
             "--tls-cert is set but --tls-key is not"),
        ]
        for args, env, message in cases:
            r = self.run_daemon(*args, env=env)
            self.assertEqual(r.returncode, 2, (args, env, r.stderr))
            self.assertIn(message, r.stderr)
            self.assertNotIn("listening", r.stderr)

    def test_bad_files_rejected(self):
        missing = os.path.join(self.tmp, "missing.pem")
        r = self.run_daemon("--tls-cert", self.cert, "--tls-key", missing)
        self.assertNotEqual(r.returncode, 0, r.stderr)
        self.assertIn("--tls-key", r.stderr)
        self.assertIn(missing, r.stderr)
        r = self.run_daemon("--tls-cert", self.key, "--tls-key", self.key)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-cert: %s is not a PEM file with a CERTIFICATE" % self.key, r.stderr)

    def test_check_config_catches_a_key_of_another_certificate(self):
        _, other_key = make_cert(self.tmp, "other")
        r = self.run_daemon("--tls-cert", self.cert, "--tls-key", other_key, "--check-config")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-key %s does not go with --tls-cert %s" % (other_key, self.cert),
                      r.stderr)
        self.assertNotIn("configuration ok", r.stdout)
        r = self.run_daemon("--tls-cert", self.cert, "--tls-key", self.key, "--tls-priorities",
                            "NORMAL:+NO-SUCH-THING", "--check-config")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("--tls-priorities", r.stderr)

    def test_both_pass_check_config(self):
        r = self.run_daemon("--tls-cert", self.cert, "--tls-key", self.key, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("configuration ok", r.stdout)

    def test_clear_text_tokens_warning(self):
        d = Chanregd("--listen", "0.0.0.0:0", "--token", TOKEN)
        try:
            d.start()
            self.assertIn("tokens travel in clear text", d.read_log())
        finally:
            d.cleanup()
        d = Chanregd("--token", TOKEN)
        try:
            d.start()
            self.assertNotIn("clear text", d.read_log())
        finally:
            d.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
