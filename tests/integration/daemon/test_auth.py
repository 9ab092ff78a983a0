"""test_auth.py - authentication, request body limits and configuration sources.

Writes need a token once one is configured (Bearer, or HTTP Basic with the
token as password, as Confluent clients send it); reads stay open unless
--auth-reads; bodies above --max-body are refused with 413; flags win over
CHANREG_* environment variables.
"""

import http.client
import json
import os
import base64
import tempfile
import unittest

from chanregd import ChanregdTestCase, avro_record as record

SCHEMA = record("Auth", [("a", "int")])


def token_file():
    fd, path = tempfile.mkstemp(prefix="chanreg-tokens-")
    with os.fdopen(fd, "w") as f:
        f.write("# clients\nci:ci-secret-1\n\n  deployer:s3cr3t:with:colons  \n")
    return path


TOKENS = token_file()


def basic_auth(user, password):
    token = base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
    return {"Authorization": "Basic " + token}


class WriteAuthTest(ChanregdTestCase):
    daemon_args = ("--token-file", TOKENS, "--max-body", "4KiB")

    def test_writes_need_a_token(self):
        r = self.d.post("/subjects/auth-a/versions", {"schema": SCHEMA})
        self.assertError(r, 401, 401, "needs a token")
        self.assertIn("Bearer", r.headers["WWW-Authenticate"])
        r = self.d.post("/subjects/auth-a/versions", {"schema": SCHEMA}, token="wrong")
        self.assertError(r, 401, 401, "not valid")
        r = self.d.put("/config", {"compatibility": "NONE"})
        self.assertError(r, 401, 401)
        self.assertError(self.d.delete("/subjects/auth-a"), 401, 401)
        self.assertEqual(self.d.get("/config").json, {"compatibilityLevel": "BACKWARD"})

    def test_bearer_and_basic_tokens_are_accepted(self):
        r = self.d.post("/subjects/auth-b/versions", {"schema": SCHEMA}, token="ci-secret-1")
        self.assertEqual(r.status, 200, r)
        r = self.d.post("/subjects/auth-c/versions", {"schema": SCHEMA},
                        headers=basic_auth("anyone", "s3cr3t:with:colons"))
        self.assertEqual(r.status, 200, r)
        r = self.d.post("/subjects/auth-c/versions", {"schema": SCHEMA},
                        headers=basic_auth("ci", "wrong"))
        self.assertError(r, 401, 401)
        r = self.d.post("/subjects/auth-c/versions", {"schema": SCHEMA},
                        headers={"Authorization": "Basic !!!not-base64"})
        self.assertError(r, 401, 401)
        log = self.d.read_log()
        self.assertIn("actor=ci ", log)
        self.assertIn("actor=deployer ", log)

    def test_reads_stay_open(self):
        self.assertEqual(self.d.get("/subjects").status, 200)
        self.assertEqual(self.d.get("/schemas/types").status, 200)
        self.assertEqual(self.d.post("/compatibility/subjects/x/versions",
                                     {"schema": SCHEMA}).status, 200)

    def test_body_limit(self):
        big = {"schema": record("Big", [("f%d" % i, "int") for i in range(400)])}
        self.assertGreater(len(json.dumps(big)), 4096)
        r = self.d.post("/subjects/auth-big/versions", big, token="ci-secret-1")
        self.assertError(r, 413, 41300, "4096")

    def test_chunked_body_over_the_limit(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.d.port, timeout=10)
        chunks = (b"x" * 1000 for _ in range(10))
        conn.request("POST", "/subjects/auth-chunked/versions", body=chunks,
                     headers={"Authorization": "Bearer ci-secret-1",
                              "Content-Type": "application/json"},
                     encode_chunked=True)
        resp = conn.getresponse()
        body = json.loads(resp.read())
        conn.close()
        self.assertEqual(resp.status, 413)
        self.assertEqual(body["error_code"], 41300)
        self.assertEqual(self.d.get("/subjects/auth-chunked/versions").status, 404)

    def test_body_just_under_the_limit_is_read(self):
        body = json.dumps({"schema": SCHEMA, "pad": "p" * 3000}).encode()
        self.assertLess(len(body), 4096)
        r = self.d.request("POST", "/subjects/auth-pad/versions", raw=body,
                           headers={"Content-Type": "application/json"}, token="ci-secret-1")
        self.assertEqual(r.status, 200, r)


class ReadAuthTest(ChanregdTestCase):
    daemon_args = ("--auth-reads",)
    daemon_kwargs = {"env": {"CHANREG_TOKEN": "reader-token"}}

    def test_reads_need_a_token(self):
        self.assertError(self.d.get("/subjects"), 401, 401)
        self.assertError(self.d.get("/schemas/ids/1"), 401, 401)
        r = self.d.get("/subjects", token="reader-token")
        self.assertEqual(r.status, 200, r)

    def test_probes_stay_open(self):
        self.assertEqual(self.d.get("/healthz").status, 200)
        self.assertEqual(self.d.get("/readyz").status, 200)

    def test_unknown_routes_still_404(self):
        self.assertError(self.d.get("/nothing/here"), 404, 404)


class FlagsOverEnvironmentTest(ChanregdTestCase):

    def test_flag_wins_over_environment(self):
        d = self.start_daemon("--token", "from-flag", env={"CHANREG_TOKEN": "from-env"})
        r = d.post("/subjects/prec/versions", {"schema": SCHEMA}, token="from-env")
        self.assertEqual(r.status, 401, r)
        r = d.post("/subjects/prec/versions", {"schema": SCHEMA}, token="from-flag")
        self.assertEqual(r.status, 200, r)
        self.assertIn("actor=admin ", d.read_log())


def tearDownModule():
    os.unlink(TOKENS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
