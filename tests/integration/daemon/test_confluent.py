"""test_confluent.py - Confluent semantics of the schema API where chanreg once differed.

- The field-removal rule is contract governance: it applies to subjects a
  channel's contract binds (never under NONE), to every subject with
  --require-deprecation-all-subjects, and never otherwise.
- The smaller differences: the compatibility resource on a missing subject,
  PUT/DELETE /config in READONLY mode, GET /schemas, "LATEST", media types
  (415, 406), the verbose messages of Confluent 8, the empty union.
- IMPORT mode: ids and versions given by the importer, and its refusals.
"""

import json
import unittest
import uuid

from chanregd import SR_JSON, ChanregdTestCase, avro_record as record


def subject(tag):
    return "%s-%s-value" % (tag, uuid.uuid4().hex[:8])


def contract(channel, subj, compatibility="BACKWARD"):
    return {
        "apiVersion": "chanreg/v1",
        "channel": channel,
        "description": "Test channel %s of the removal rule." % channel,
        "owner": {"team": "orders", "maintainer": "orders-oncall@example.com"},
        "peak_qps": 10,
        "retention_hours": 24,
        "schema": {"subject": subj, "compatibility": compatibility, "versions": [{"version": 1}]},
        "consumers": [{"name": "billing", "principal": "User:billing-svc",
                       "group": "billing.%s" % channel, "scenario": "Bills every parcel.",
                       "sla_p99_ms": 1000, "peak_rate_msgs": 10, "degradation": "lag"}],
        "producers": [{"principal": "User:orders-svc"}],
    }


WITH_B = [("a", "int"), ("b", "string", {"default": ""})]
WITHOUT_B = [("a", "int")]


class ConfluentSemanticsTest(ChanregdTestCase):
    daemon_args = ("--min-compatibility", "NONE")
    daemon_kwargs = {"accept": SR_JSON}

    def ok(self, reply):
        self.assertLess(reply.status, 300, reply)
        return reply

    def bound_subject(self, compatibility="BACKWARD"):
        s = subject("bound")
        channel = "orders.removal-%s" % uuid.uuid4().hex[:8]
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITH_B)}))
        self.ok(self.d.put("/v1/channels/" + channel, contract(channel, s, compatibility)))
        return s

    # -- the removal rule ---------------------------------------------------

    def test_removal_is_compatible_on_an_unbound_subject(self):
        s = subject("free")
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITH_B)}))
        r = self.d.post("/compatibility/subjects/%s/versions/latest" % s,
                        {"schema": record("R", WITHOUT_B)})
        self.assertEqual(r.json, {"is_compatible": True})
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))

    def test_removal_needs_deprecation_on_a_bound_subject(self):
        s = self.bound_subject()
        r = self.d.post("/compatibility/subjects/%s/versions/latest?verbose=true" % s,
                        {"schema": record("R", WITHOUT_B)})
        self.assertFalse(r.json["is_compatible"], r)
        self.assertTrue(any("FIELD_REMOVED_NOT_DEPRECATED" in m for m in r.json["messages"]), r)
        r = self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)})
        self.assertError(r, 409, 40901, "FIELD_REMOVED_NOT_DEPRECATED")
        deprecated = [("a", "int"), ("b", "string", {"default": "", "deprecated": True})]
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", deprecated)}))
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))

    def test_none_checks_nothing_even_on_a_bound_subject(self):
        s = self.bound_subject("NONE")
        self.ok(self.d.put("/config/%s" % s, {"compatibility": "NONE"}))
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))

    def test_option_applies_the_rule_to_every_subject(self):
        d = self.start_daemon("--require-deprecation-all-subjects", accept=SR_JSON)
        s = subject("all")
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": record("R", WITH_B)}))
        self.assertError(d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}),
                         409, 40901, "FIELD_REMOVED_NOT_DEPRECATED")
        self.ok(d.put("/config/%s" % s, {"compatibility": "NONE"}))
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))

    # -- smaller differences ---------------------------------------------------

    def test_verbose_messages_are_shaped_like_confluent_8(self):
        s = subject("verbose")
        v1 = record("R", WITHOUT_B)
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": v1}))
        r = self.d.post("/compatibility/subjects/%s/versions/latest?verbose=true" % s,
                        {"schema": record("R", [("a", "int"), ("c", "long")])})
        msgs = r.json["messages"]
        self.assertTrue(msgs[0].startswith("{errorType:'READER_FIELD_MISSING_DEFAULT_VALUE', "
                                           "description:'"), msgs)
        self.assertIn("{oldSchemaVersion: 1}", msgs)
        old = [m for m in msgs if m.startswith("{oldSchema: '")]
        self.assertEqual(len(old), 1, msgs)
        self.assertEqual(json.loads(old[0][len("{oldSchema: '"):-2]), json.loads(v1))
        self.assertEqual(msgs[-1], "{validateFields: 'false', compatibility: 'BACKWARD'}")

    def test_latest_in_any_case(self):
        s = subject("case")
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))
        for v in ("LATEST", "Latest", "latest"):
            self.assertEqual(self.d.get("/subjects/%s/versions/%s" % (s, v)).json["version"], 1)
        self.assertError(self.d.get("/subjects/%s/versions/newest" % s), 422, 42202)

    def test_config_is_refused_in_read_only_mode(self):
        s = subject("ro")
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("R", WITHOUT_B)}))
        self.ok(self.d.put("/mode/%s" % s, {"mode": "READONLY"}))
        self.assertError(self.d.put("/config/%s" % s, {"compatibility": "FULL"}), 422, 42205)
        self.ok(self.d.delete("/mode/%s" % s))
        self.ok(self.d.put("/config/%s" % s, {"compatibility": "FULL"}))
        d = self.start_daemon(accept=SR_JSON)
        self.ok(d.put("/config/x-value", {"compatibility": "FULL"}))
        self.ok(d.put("/mode", {"mode": "READONLY"}))
        self.assertError(d.put("/config/x-value", {"compatibility": "NONE"}), 422, 42205)
        self.assertError(d.delete("/config/x-value"), 422, 42205)
        self.assertError(d.put("/config", {"compatibility": "NONE"}), 422, 42205)
        self.assertEqual(d.get("/config/x-value").json, {"compatibilityLevel": "FULL"})
        self.ok(d.put("/mode", {"mode": "READWRITE"}))
        self.ok(d.put("/config/x-value", {"compatibility": "NONE"}))

    def test_get_schemas(self):
        d = self.start_daemon(accept=SR_JSON)
        for s, n in (("p-a-value", 3), ("p-b-value", 1), ("q-value", 1)):
            for i in range(n):
                self.ok(d.post("/subjects/%s/versions" % s,
                               {"schema": record("R" + s[0], [("f%d" % k, "int", {"default": 0})
                                                              for k in range(i + 1)])}))
        self.ok(d.delete("/subjects/p-a-value/versions/3"))

        def pairs(query):
            r = d.get("/schemas" + query)
            self.assertEqual(r.status, 200, r)
            for x in r.json:
                self.assertEqual(set(x), {"subject", "version", "id", "schema"}, x)
            return [(x["subject"], x["version"]) for x in r.json]

        self.assertEqual(pairs(""), [("p-a-value", 1), ("p-a-value", 2), ("p-b-value", 1),
                                     ("q-value", 1)])
        self.assertEqual(pairs("?subjectPrefix=p-"),
                         [("p-a-value", 1), ("p-a-value", 2), ("p-b-value", 1)])
        self.assertEqual(pairs("?subjectPrefix=p-&deleted=true"),
                         [("p-a-value", 1), ("p-a-value", 2), ("p-a-value", 3), ("p-b-value", 1)])
        self.assertEqual(pairs("?latestOnly=true"),
                         [("p-a-value", 2), ("p-b-value", 1), ("q-value", 1)])
        self.assertEqual(pairs("?offset=1&limit=2"), [("p-a-value", 2), ("p-b-value", 1)])
        self.assertError(d.get("/schemas?limit=x"), 422, 42200)

    def test_media_types(self):
        s = subject("media")
        body = json.dumps({"schema": record("R", WITHOUT_B)}).encode()
        path = "/subjects/%s/versions" % s
        r = self.d.request("POST", path, raw=body, headers={"Content-Type": "text/html"})
        self.assertError(r, 415, 415)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).status, 404, "nothing stored")
        for ct in ("application/octet-stream", "application/json; charset=utf-8",
                   "application/vnd.schemaregistry+json", SR_JSON):
            r = self.d.request("POST", path, raw=body, headers={"Content-Type": ct})
            self.assertEqual(r.status, 200, (ct, r))
        r = self.d.request("GET", "/subjects", headers={"Accept": "text/html"})
        self.assertError(r, 406, 406)
        r = self.d.request("GET", "/subjects",
                           headers={"Accept": "application/vnd.schemaregistry.v2+json"})
        self.assertEqual(r.status, 406, r)
        for accept, want in (("*/*", SR_JSON), ("application/json", "application/json"),
                             ("application/vnd.schemaregistry+json",
                              "application/vnd.schemaregistry+json"),
                             ("text/html, application/*;q=0.5", SR_JSON),
                             ("application/json;q=1, application/vnd.schemaregistry+json;q=0.1",
                              "application/json")):
            r = self.d.request("GET", "/subjects", headers={"Accept": accept})
            self.assertEqual(r.status, 200, (accept, r))
            self.assertEqual(r.headers["Content-Type"], want, accept)

    def test_empty_union_is_valid_avro(self):
        s = subject("empty")
        schema = record("R", [("a", "int"), ("never", [])])
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": schema}))
        r = self.d.get("/subjects/%s/versions/latest" % s)
        self.assertEqual(json.loads(r.json["schema"])["fields"][1]["type"], [])

    # -- IMPORT mode ------------------------------------------------------------

    def test_import_mode(self):
        d = self.start_daemon(accept=SR_JSON)
        s = "imp-value"
        one = record("R", [("a", "int", {"default": 0})])
        two = record("R", [("a", "int", {"default": 0}), ("b", "int", {"default": 0})])
        r = d.post("/subjects/%s/versions" % s, {"schema": one, "id": 100, "version": 1})
        self.assertError(r, 422, 42205, "is not in import mode")
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": one}))
        self.assertError(d.post("/subjects/%s/versions" % s, {"schema": two, "version": 5}),
                         422, 42201, "Version is not one more than previous version")
        self.assertError(d.put("/mode", {"mode": "IMPORT"}), 422, 42205,
                         "Cannot import since found existing subjects")
        self.assertEqual(d.get("/mode").json, {"mode": "READWRITE"})
        self.assertEqual(d.put("/mode?force=true", {"mode": "import"}).json, {"mode": "IMPORT"})

        self.assertError(d.post("/subjects/other-value/versions", {"schema": one}), 422, 42205,
                         "is not in read-write mode")
        r = self.ok(d.post("/subjects/%s/versions" % s, {"schema": two, "id": 100, "version": 7}))
        self.assertEqual(r.json["id"], 100)
        again = self.ok(d.post("/subjects/%s/versions" % s,
                               {"schema": two, "id": 100, "version": 7}))
        self.assertEqual(again.json["id"], 100, "an identical import is idempotent")
        self.assertError(d.post("/subjects/%s/versions" % s,
                                {"schema": one, "id": 100, "version": 8}),
                         422, 42205, "Overwrite new schema with id 100")
        self.assertError(d.post("/subjects/%s/versions" % s,
                                {"schema": one, "id": 101, "version": 7}),
                         422, 42205, "version 7 of subject 'imp-value' exists with schema id 100")
        self.assertEqual(d.get("/subjects/%s/versions" % s).json, [1, 7])
        self.assertEqual(d.get("/subjects/%s/versions/7" % s).json["id"], 100)

        self.ok(d.put("/mode", {"mode": "READWRITE"}))
        r = self.ok(d.post("/subjects/new-value/versions",
                           {"schema": record("N", [("x", "int")])}))
        self.assertGreater(r.json["id"], 100, "new ids go past the imported ones")
        self.assertError(d.put("/mode/new-value", {"mode": "IMPORT"}), 422, 42205)


if __name__ == "__main__":
    unittest.main(verbosity=2)
