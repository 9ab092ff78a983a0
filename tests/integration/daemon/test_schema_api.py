"""test_schema_api.py - the Confluent Schema Registry-compatible API of chanregd.

Every route of docs/api.md ("Schema Registry API") against a real daemon:
replies, Confluent error codes and JSON error bodies.  Runs on SQLite, and on
PostgreSQL when CHANREG_TEST_PG_STATE names the test server (tests/support/chanregd.py).
"""

import json
import threading
import unittest
import uuid

from chanregd import SR_JSON, ChanregdTestCase, avro_record as record, pg_state



def subject(tag):
    """A subject name no other test (or earlier run on the same database) uses."""
    return "%s-%s-value" % (tag, uuid.uuid4().hex[:8])


class SchemaApiTest(ChanregdTestCase):
    daemon_args = ()
    daemon_kwargs = {"accept": SR_JSON}

    def setUp(self):
        # A namespace of its own gives every test schemas (and ids) of its own.
        ns = "t%s" % uuid.uuid4().hex[:12]
        self.v1 = record("Order", [("id", "long"), ("amount", "double")], ns)
        self.v2 = record("Order", [("id", "long"), ("amount", "double"),
                                   ("currency", "string", {"default": "EUR"})], ns)
        self.v2_nodef = record("Order", [("id", "long"), ("amount", "double"),
                                         ("currency", "string")], ns)


    def register(self, subj, schema, status=200, **kw):
        r = self.d.post("/subjects/%s/versions" % subj, {"schema": schema}, **kw)
        self.assertEqual(r.status, status, r)
        return r

    # -- registration and reads ------------------------------------------

    def test_register_fetch_and_list(self):
        s = subject("orders")
        r = self.register(s, self.v1)
        self.assertEqual(r.headers["Content-Type"], SR_JSON)
        sid = r.json["id"]
        self.assertIsInstance(sid, int)
        self.assertEqual(self.register(s, self.v1).json["id"], sid, "re-registration is idempotent")

        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1])
        for v in ("1", "latest", "-1"):
            r = self.d.get("/subjects/%s/versions/%s" % (s, v))
            self.assertEqual(r.status, 200, r)
            self.assertEqual(r.json["subject"], s)
            self.assertEqual(r.json["version"], 1)
            self.assertEqual(r.json["id"], sid)
            self.assertEqual(json.loads(r.json["schema"]), json.loads(self.v1))
            self.assertNotIn("schemaType", r.json, "AVRO is implied, as in Confluent")

        raw = self.d.get("/subjects/%s/versions/1/schema" % s)
        self.assertEqual(raw.status, 200)
        self.assertEqual(raw.json, json.loads(self.v1))

        r = self.d.get("/schemas/ids/%d" % sid)
        self.assertEqual(r.status, 200)
        self.assertEqual(json.loads(r.json["schema"]), json.loads(self.v1))
        self.assertEqual(self.d.get("/schemas/ids/%d/schema" % sid).json, json.loads(self.v1))
        self.assertEqual(self.d.get("/schemas/ids/%d/versions" % sid).json,
                         [{"subject": s, "version": 1}])
        self.assertEqual(self.d.get("/schemas/ids/%d/subjects" % sid).json, [s])
        self.assertEqual(self.d.get("/subjects/%s/versions/1/referencedby" % s).json, [])

        other = subject("orders-copy")
        self.assertEqual(self.register(other, self.v1).json["id"], sid, "ids are global")
        self.assertEqual(sorted(self.d.get("/schemas/ids/%d/subjects" % sid).json),
                         sorted([s, other]))
        subjects = self.d.get("/subjects").json
        self.assertIn(s, subjects)
        self.assertIn(other, subjects)
        self.assertEqual(self.d.get("/subjects?subjectPrefix=" + s[:12]).json, [s])

    def test_compatible_evolution_gets_new_version_and_id(self):
        s = subject("evolve")
        id1 = self.register(s, self.v1).json["id"]
        id2 = self.register(s, self.v2).json["id"]
        self.assertNotEqual(id1, id2)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1, 2])
        self.assertEqual(self.d.get("/subjects/%s/versions/latest" % s).json["id"], id2)

    def test_incompatible_schema_is_409_with_reasons(self):
        s = subject("incompat")
        self.register(s, self.v1)
        r = self.register(s, self.v2_nodef, status=409)
        self.assertError(r, 409, 40901, "incompatible")
        self.assertIn("READER_FIELD_MISSING_DEFAULT_VALUE", r.json["message"])
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1], "nothing stored")

    def test_field_removal_is_backward_compatible_on_unbound_subjects(self):
        # Confluent semantics: removing a field is the textbook BACKWARD change;
        # the deprecation rule is for subjects a contract binds (test_confluent).
        s = subject("removal")
        self.register(s, record("R", [("a", "int"), ("b", "string", {"default": ""})]))
        self.register(s, record("R", [("a", "int")]))
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1, 2])

    def test_concurrent_registrations_get_distinct_versions(self):
        s = subject("race")
        ns = "r" + uuid.uuid4().hex[:10]
        schemas = [record("E", [("id", "long")] +
                          [("f%d" % k, "int", {"default": 0, "deprecated": True})
                           for k in range(i + 1)], ns)
                   for i in range(8)]
        replies = [None] * len(schemas)

        def register(i):
            replies[i] = self.d.post("/subjects/%s/versions" % s, {"schema": schemas[i]})

        threads = [threading.Thread(target=register, args=(i,)) for i in range(len(schemas))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        ok = [r for r in replies if r.status == 200]
        # Fields with defaults, deprecated: any order of registration is compatible.
        self.assertEqual(len(ok), len(schemas), replies)
        self.assertEqual(len({r.json["id"] for r in ok}), len(schemas))
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json,
                         list(range(1, len(schemas) + 1)))

    def test_check_and_insert_are_atomic(self):
        """Two schemas each compatible with v1 but not with each other: one wins."""
        for attempt in range(3):
            s = subject("atomic")
            ns = "a" + uuid.uuid4().hex[:10]
            self.register(s, record("A", [("id", "long")], ns))
            rivals = [record("A", [("id", "long"), ("x", "int", {"default": 0})], ns),
                      record("A", [("id", "long"), ("x", "boolean", {"default": False})], ns)]
            replies = [None, None]
            barrier = threading.Barrier(2)

            def register(i):
                barrier.wait()
                replies[i] = self.d.post("/subjects/%s/versions" % s, {"schema": rivals[i]})

            threads = [threading.Thread(target=register, args=(i,)) for i in range(2)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(sorted(r.status for r in replies), [200, 409], replies)
            self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1, 2])

    def test_invalid_schemas_are_42201(self):
        s = subject("invalid")
        cases = [
            ({"schema": "{not json"}, None),
            ({"schema": json.dumps({"type": "record", "name": "X",
                                    "fields": [{"name": "a", "type": "strng"}]})}, "strng"),
            ({"schema": ""}, None),
            ({}, None),
            ({"schema": self.v1, "schemaType": "PROTOBUF"}, "PROTOBUF"),
            ({"schema": self.v1, "references": [{"name": "x", "subject": "y", "version": 1}]},
             "no schema reference found for subject \"y\" and version 1"),
            ({"schema": self.v1, "references": [{"name": "x", "subject": "y"}]}, "version"),
        ]
        for body, fragment in cases:
            r = self.d.post("/subjects/%s/versions" % s, body)
            self.assertError(r, 422, 42201, fragment)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).status, 404)

    def test_malformed_request_bodies(self):
        s = subject("body")
        r = self.d.request("POST", "/subjects/%s/versions" % s, raw=b"{\"schema\": ",
                           headers={"Content-Type": SR_JSON})
        self.assertError(r, 400, 40001, "Invalid JSON")
        r = self.d.request("POST", "/subjects/%s/versions" % s, raw=b"[1, 2]",
                           headers={"Content-Type": SR_JSON})
        self.assertError(r, 422, 42200)
        r = self.d.request("POST", "/subjects/%s/versions" % s, raw=b"")
        self.assertError(r, 400, 40001)

    def test_lookup(self):
        s = subject("lookup")
        sid = self.register(s, self.v1).json["id"]
        r = self.d.post("/subjects/%s" % s, {"schema": self.v1})
        self.assertEqual(r.status, 200, r)
        self.assertEqual((r.json["subject"], r.json["version"], r.json["id"]), (s, 1, sid))
        self.assertError(self.d.post("/subjects/%s" % s, {"schema": self.v2}), 404, 40403)
        self.assertError(self.d.post("/subjects/%s" % subject("nobody"), {"schema": self.v1}),
                         404, 40401)
        self.assertError(self.d.post("/subjects/%s" % s, {"schema": "{"}), 422, 42201)

    def test_not_found_and_invalid_version(self):
        s = subject("missing")
        self.assertError(self.d.get("/subjects/%s/versions" % s), 404, 40401,
                         "Subject '%s' not found." % s)
        self.assertError(self.d.get("/subjects/%s/versions/1" % s), 404, 40401)
        self.register(s, self.v1)
        self.assertError(self.d.get("/subjects/%s/versions/7" % s), 404, 40402)
        for bad in ("abc", "0", "-2", "99999999999"):
            self.assertError(self.d.get("/subjects/%s/versions/%s" % (s, bad)), 422, 42202)
        self.assertError(self.d.get("/schemas/ids/987654321"), 404, 40403)
        self.assertError(self.d.get("/schemas/ids/abc"), 404, 40403)
        self.assertError(self.d.get("/schemas/ids/987654321/versions"), 404, 40403)

    def test_store_backend_is_the_one_asked_for(self):
        expected = "postgres" if pg_state() else "sqlite"
        self.assertEqual(self.d.get("/readyz").json["store"], expected)

    def test_schema_types_and_root(self):
        self.assertEqual(self.d.get("/schemas/types").json, ["AVRO"])
        self.assertEqual(self.d.get("/").json, {})

    # -- compatibility checks --------------------------------------------

    def test_compatibility_check(self):
        s = subject("compat")
        path = "/compatibility/subjects/%s/versions" % s
        self.assertEqual(self.d.post(path, {"schema": self.v1}).json, {"is_compatible": True},
                         "no version yet: anything is compatible")
        # Confluent's compatibility resource: "latest" of a missing subject is
        # compatible, a numbered version of it is 40402 (not 40401).
        self.assertEqual(self.d.post(path + "/latest", {"schema": self.v1}).json,
                         {"is_compatible": True})
        self.assertEqual(self.d.post(path + "/LATEST", {"schema": self.v1}).json,
                         {"is_compatible": True})
        self.assertError(self.d.post(path + "/1", {"schema": self.v1}), 404, 40402,
                         "Version 1 not found.")
        self.assertError(self.d.get("/subjects/%s/versions/1" % s), 404, 40401)
        self.register(s, self.v1)
        self.assertEqual(self.d.post(path + "/latest", {"schema": self.v2}).json,
                         {"is_compatible": True})
        self.assertEqual(self.d.post(path + "/1", {"schema": self.v2}).json,
                         {"is_compatible": True})
        r = self.d.post(path + "/latest", {"schema": self.v2_nodef})
        self.assertEqual(r.status, 200, r)
        self.assertEqual(r.json, {"is_compatible": False})
        r = self.d.post(path + "/latest?verbose=true", {"schema": self.v2_nodef})
        self.assertFalse(r.json["is_compatible"])
        self.assertTrue(any("READER_FIELD_MISSING_DEFAULT_VALUE" in m
                            for m in r.json["messages"]), r.json)
        self.assertEqual(self.d.post(path + "?verbose=true", {"schema": self.v2}).json,
                         {"is_compatible": True, "messages": []})
        self.assertError(self.d.post(path + "/5", {"schema": self.v2}), 404, 40402)
        self.assertError(self.d.post(path + "/x", {"schema": self.v2}), 422, 42202)
        self.assertError(self.d.post(path + "/latest", {"schema": "{"}), 422, 42201)
        self.assertError(self.d.post(path + "/latest?verbose=maybe", {"schema": self.v2}),
                         400, 40002)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1], "checks store nothing")

    # -- configuration -----------------------------------------------------

    def test_config(self):
        s = subject("config")
        self.assertEqual(self.d.get("/config").json, {"compatibilityLevel": "BACKWARD"})
        self.assertError(self.d.get("/config/%s" % s), 404, 40408)
        self.assertEqual(self.d.get("/config/%s?defaultToGlobal=true" % s).json,
                         {"compatibilityLevel": "BACKWARD"})
        r = self.d.put("/config/%s" % s, {"compatibility": "forward"})
        self.assertEqual((r.status, r.json), (200, {"compatibility": "FORWARD"}))
        self.assertEqual(self.d.get("/config/%s" % s).json, {"compatibilityLevel": "FORWARD"})
        # FORWARD: a new field without default is fine (old readers ignore it).
        self.register(s, self.v1)
        self.register(s, self.v2_nodef)
        self.assertError(self.d.put("/config/%s" % s, {"compatibility": "SIDEWAYS"}), 422, 42203)
        self.assertError(self.d.put("/config/%s" % s, {"compatibility": 3}), 422, 42203)
        self.assertEqual(self.d.delete("/config/%s" % s).json, {"compatibilityLevel": "FORWARD"})
        self.assertError(self.d.get("/config/%s" % s), 404, 40408)
        self.assertError(self.d.delete("/config/%s" % s), 404, 40408)

    def test_none_level_allows_type_change(self):
        s = subject("none")
        self.register(s, record("T", [("a", "int")]))
        self.register(s, record("T", [("a", "string")]), status=409)
        self.d.put("/config/%s" % s, {"compatibility": "NONE"})
        self.register(s, record("T", [("a", "string")]))

    def test_global_config(self):
        try:
            r = self.d.put("/config", {"compatibility": "FULL_TRANSITIVE"})
            self.assertEqual(r.json, {"compatibility": "FULL_TRANSITIVE"})
            self.assertEqual(self.d.get("/config").json,
                             {"compatibilityLevel": "FULL_TRANSITIVE"})
            s = subject("global")
            self.assertEqual(self.d.get("/config/%s?defaultToGlobal=true" % s).json,
                             {"compatibilityLevel": "FULL_TRANSITIVE"})
            self.register(s, self.v1)
            # Not FORWARD compatible under FULL: old readers lack a default... self.v2 has one.
            self.register(s, self.v2)
            self.register(s, self.v2_nodef, status=409)
            self.assertError(self.d.put("/config", {"compatibility": ""}), 422, 42203)
        finally:
            r = self.d.delete("/config")
            self.assertEqual(r.status, 200, r)
        self.assertEqual(self.d.get("/config").json, {"compatibilityLevel": "BACKWARD"})

    # -- modes ----------------------------------------------------------------

    def test_mode(self):
        s = subject("mode")
        self.assertEqual(self.d.get("/mode").json, {"mode": "READWRITE"})
        self.assertError(self.d.get("/mode/%s" % s), 404, 40409)
        self.assertEqual(self.d.get("/mode/%s?defaultToGlobal=true" % s).json,
                         {"mode": "READWRITE"})
        self.register(s, self.v1)
        self.assertEqual(self.d.put("/mode/%s" % s, {"mode": "READONLY"}).json,
                         {"mode": "READONLY"})
        self.assertEqual(self.d.get("/mode/%s" % s).json, {"mode": "READONLY"})
        self.assertError(self.d.post("/subjects/%s/versions" % s, {"schema": self.v2}), 422, 42205)
        self.assertError(self.d.put("/mode/%s" % s, {"mode": "FAST"}), 422, 42204)
        # A subject with versions enters IMPORT only with force=true (Confluent).
        self.assertError(self.d.put("/mode/%s" % s, {"mode": "IMPORT"}), 422, 42205,
                         "Cannot import since found existing subjects")
        self.assertEqual(self.d.delete("/mode/%s" % s).json, {"mode": "READONLY"})
        self.register(s, self.v2)
        self.assertError(self.d.delete("/mode/%s" % s), 404, 40409)

    def test_global_read_only_mode(self):
        s = subject("globalmode")
        try:
            self.assertEqual(self.d.put("/mode", {"mode": "READONLY"}).json, {"mode": "READONLY"})
            self.assertError(self.d.post("/subjects/%s/versions" % s, {"schema": self.v1}),
                             422, 42205)
        finally:
            self.assertEqual(self.d.put("/mode", {"mode": "READWRITE"}).status, 200)
        self.register(s, self.v1)

    # -- deletes ----------------------------------------------------------------

    def test_version_soft_and_hard_delete(self):
        s = subject("delversion")
        sid = self.register(s, self.v1).json["id"]
        self.register(s, self.v2)
        self.assertError(self.d.delete("/subjects/%s/versions/1?permanent=true" % s), 404, 40407)
        self.assertEqual(self.d.delete("/subjects/%s/versions/1" % s).json, 1)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [2])
        self.assertEqual(self.d.get("/subjects/%s/versions?deleted=true" % s).json, [1, 2])
        self.assertError(self.d.get("/subjects/%s/versions/1" % s), 404, 40402)
        self.assertEqual(self.d.get("/subjects/%s/versions/1?deleted=true" % s).json["id"], sid)
        self.assertError(self.d.delete("/subjects/%s/versions/1" % s), 404, 40406)
        self.assertEqual(self.d.delete("/subjects/%s/versions/1?permanent=true" % s).json, 1)
        self.assertEqual(self.d.get("/subjects/%s/versions?deleted=true" % s).json, [2])
        self.assertError(self.d.delete("/subjects/%s/versions/1" % s), 404, 40402)
        self.assertError(self.d.delete("/subjects/%s/versions/x" % s), 422, 42202)
        # The id stays resolvable (old messages must stay readable) but is used nowhere.
        self.assertEqual(self.d.get("/schemas/ids/%d" % sid).status, 200)
        self.assertEqual(self.d.get("/schemas/ids/%d/versions?deleted=true" % sid).json, [])
        self.assertEqual(self.d.delete("/subjects/%s/versions/latest" % s).json, 2)

    def test_subject_soft_and_hard_delete(self):
        s = subject("delsubject")
        self.register(s, self.v1)
        self.register(s, self.v2)
        self.assertError(self.d.delete("/subjects/%s?permanent=true" % s), 404, 40405)
        self.assertEqual(self.d.delete("/subjects/%s" % s).json, [1, 2])
        self.assertNotIn(s, self.d.get("/subjects").json)
        self.assertIn(s, self.d.get("/subjects?deleted=true").json)
        self.assertError(self.d.get("/subjects/%s/versions" % s), 404, 40401)
        self.assertError(self.d.delete("/subjects/%s" % s), 404, 40404)
        self.assertEqual(self.d.delete("/subjects/%s?permanent=true" % s).json, [1, 2])
        self.assertNotIn(s, self.d.get("/subjects?deleted=true").json)
        self.assertError(self.d.delete("/subjects/%s" % s), 404, 40401)
        # The subject can start over.
        self.register(s, self.v1)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1])

    # -- HTTP surface ------------------------------------------------------------

    def test_unknown_routes_and_methods(self):
        r = self.d.get("/no/such/route")
        self.assertError(r, 404, 404, "HTTP 404 Not Found")
        self.assertError(self.d.get("/subjects/x/versions/1/nothing"), 404, 404)
        r = self.d.put("/subjects", {"x": 1})
        self.assertError(r, 405, 405, "Method Not Allowed")
        r = self.d.get("/subjects/abc")
        self.assertError(r, 405, 405)
        self.assertEqual(r.headers["Allow"], "POST, DELETE")
        self.assertError(self.d.request("PATCH", "/config"), 405, 405)

    def test_subject_names_are_percent_decoded(self):
        s = "team/" + subject("slash") + " ü"
        quoted = "team%2F" + s[5:].replace(" ", "%20").replace("ü", "%C3%BC")
        r = self.d.post("/subjects/%s/versions" % quoted, {"schema": self.v1})
        self.assertEqual(r.status, 200, r)
        self.assertIn(s, self.d.get("/subjects").json)
        self.assertEqual(self.d.get("/subjects/%s/versions/1" % quoted).json["subject"], s)
        self.assertError(self.d.get("/subjects/a%00b/versions"), 400, 40000)
        self.assertError(self.d.get("/subjects/a%01b/versions"), 422, 42208)
        self.assertError(self.d.get("/subjects/%ff/versions"), 422, 42208)

    def test_content_negotiation_and_request_id(self):
        r = self.d.get("/subjects", headers={"Accept": "application/json"})
        self.assertEqual(r.headers["Content-Type"], "application/json")
        r = self.d.get("/subjects", headers={"Accept": "*/*"})
        self.assertEqual(r.headers["Content-Type"], SR_JSON)
        r = self.d.get("/subjects", headers={"X-Request-Id": "trace-42"})
        self.assertEqual(r.headers["X-Request-Id"], "trace-42")
        r = self.d.get("/subjects", headers={"X-Request-Id": "bad id\twith tab"})
        self.assertNotEqual(r.headers["X-Request-Id"], "bad id\twith tab")
        self.assertRegex(r.headers["X-Request-Id"], r"^[0-9a-f]{16}$")


if __name__ == "__main__":
    unittest.main(verbosity=2)
