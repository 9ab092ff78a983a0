"""test_transitive.py - registrations checked against every earlier version.

The transitive modes read only the ids of the earlier live versions and take
their parsed schemas from chanregd's parsed-schema cache (texts are read
only for the schemas it lacks); the check answers yes or no first and
collects the issues of the versions that failed.  These tests hold the
Confluent semantics through that: which versions count (live ones, not
soft-deleted), the version a refusal names and quotes, 409 against 422, the
same answers with a cold cache (a restarted daemon) and with a cache too
small for the subject; and the request-text cache: a repeated text is not
parsed again, a bad text is refused every time.
"""

import json
import unittest
import uuid

from chanregd import SR_JSON, ChanregdTestCase, avro_record as record

# v1 -> v2 -> v3: each reads the one before it, v3 cannot read v1 ("a" was an int).
V1 = record("T", [("a", "int")])
V2 = record("T", [("b", "string", {"default": ""})])
V3 = record("T", [("b", "string", {"default": ""}), ("a", "string", {"default": ""})])


def subject(tag):
    return "%s-%s-value" % (tag, uuid.uuid4().hex[:8])


def chain(v):
    """Version v of a long compatible chain: fixed fields plus one of its own."""
    fields = [("k%d" % k, ["null", "string"], {"default": None}) for k in range(4)]
    fields.append(("u%d" % v, "string", {"default": ""}))
    return record("Chain", fields)


class TransitiveTest(ChanregdTestCase):
    daemon_args = ("--min-compatibility", "NONE")
    daemon_kwargs = {"accept": SR_JSON}

    def ok(self, reply):
        self.assertLess(reply.status, 300, reply)
        return reply

    def transitive_subject(self, d, mode="BACKWARD_TRANSITIVE"):
        s = subject("tr")
        self.ok(d.put("/config/%s" % s, {"compatibility": mode}))
        return s

    def assert_refused_by_v1(self, d, s):
        r = d.post("/subjects/%s/versions" % s, {"schema": V3})
        self.assertError(r, 409, 40901, "{oldSchemaVersion: 1}")
        message = r.json["message"]
        self.assertNotIn("{oldSchemaVersion: 2}", message)
        self.assertIn("TYPE_MISMATCH", message)
        self.assertIn("{validateFields: 'false', compatibility: 'BACKWARD_TRANSITIVE'}", message)
        details = json.loads(message[message.index("details: ") + len("details: "):])
        old = [m for m in details if m.startswith("{oldSchema: '")]
        self.assertEqual(len(old), 1, details)
        self.assertEqual(json.loads(old[0][len("{oldSchema: '"):-2]), json.loads(V1))
        r = d.post("/compatibility/subjects/%s/versions?verbose=true" % s, {"schema": V3})
        self.assertEqual(r.status, 200, r)
        self.assertFalse(r.json["is_compatible"], r)
        self.assertIn("{oldSchemaVersion: 1}", r.json["messages"])
        self.assertNotIn("{oldSchemaVersion: 2}", r.json["messages"])
        r = d.post("/compatibility/subjects/%s/versions" % s, {"schema": V3})
        self.assertEqual(r.json, {"is_compatible": False})

    def test_a_refusal_names_and_quotes_the_version_it_breaks(self):
        s = self.transitive_subject(self.d)
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": V1}))
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": V2}))
        self.assert_refused_by_v1(self.d, s)
        # The latest alone does not refuse it.
        r = self.d.post("/compatibility/subjects/%s/versions/latest" % s, {"schema": V3})
        self.assertEqual(r.json, {"is_compatible": True})
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1, 2])

    def test_a_soft_deleted_version_does_not_count(self):
        s = self.transitive_subject(self.d)
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": V1}))
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": V2}))
        self.assert_refused_by_v1(self.d, s)
        self.ok(self.d.delete("/subjects/%s/versions/1" % s))
        r = self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": V3}))
        self.assertEqual(self.d.get("/subjects/%s/versions/3" % s).json["id"], r.json["id"])

    def test_forward_transitive_refusal(self):
        s = self.transitive_subject(self.d, "FORWARD_TRANSITIVE")
        # Old readers: v1 needs "a", v2 has a default for it.
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": record("F", [("a", "int")])}))
        v2 = record("F", [("a", "int", {"default": 0})])
        self.ok(self.d.post("/subjects/%s/versions" % s, {"schema": v2}))
        r = self.d.post("/subjects/%s/versions" % s, {"schema": v2})
        self.assertEqual(r.json["id"], self.d.get("/subjects/%s/versions/2" % s).json["id"])
        r = self.d.post("/subjects/%s/versions" % s, {"schema": record("F", [("c", "int")])})
        self.assertError(r, 409, 40901, "{oldSchemaVersion: 1}")
        self.assertNotIn("{oldSchemaVersion: 2}", r.json["message"])
        self.assertIn("READER_FIELD_MISSING_DEFAULT_VALUE", r.json["message"])

    def test_cold_cache_and_no_cache_give_the_same_answers(self):
        d = self.start_daemon("--min-compatibility", "NONE", accept=SR_JSON)
        s = self.transitive_subject(d)
        long_s = self.transitive_subject(d)
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": V1}))
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": V2}))
        for v in range(1, 31):
            self.ok(d.post("/subjects/%s/versions" % long_s, {"schema": chain(v)}))
        self.assertEqual(d.stop(), 0)
        # Restarted: no schema is parsed yet; then without the parsed-schema cache.
        for args in ((), ("--parsed-schema-cache-mb", "0")):
            d2 = self.start_daemon("--min-compatibility", "NONE", *args, db=d.db,
                                   workdir=d.dir, name="again%d" % len(args), accept=SR_JSON)
            self.assert_refused_by_v1(d2, s)
            n = len(d2.get("/subjects/%s/versions" % long_s).json)
            self.ok(d2.post("/subjects/%s/versions" % long_s, {"schema": chain(100 + n)}))
            # Incompatible with every version: its field "x" has no default.
            bad = record("Chain", [("k%d" % k, ["null", "string"], {"default": None})
                                   for k in range(4)] + [("x", "string")])
            r = d2.post("/subjects/%s/versions" % long_s, {"schema": bad})
            self.assertError(r, 409, 40901, "{oldSchemaVersion: %d}" % (n + 1))
            self.assertIn("{oldSchemaVersion: 1}", r.json["message"])
            self.assertEqual(d2.stop(), 0)

    def test_request_texts_are_parsed_once(self):
        # Without the reply cache, which would answer the repeated lookups itself.
        d = self.start_daemon("--min-compatibility", "NONE", "--reply-cache-mb", "0",
                              accept=SR_JSON)
        s = subject("text")
        text = record("Q", [("a", "int"), ("q", "string", {"default": "x"})])
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": text}))
        misses = d.metric("chanreg_schema_cache_misses_total", 'cache="request"')
        hits = d.metric("chanreg_schema_cache_hits_total", 'cache="request"')
        self.assertGreaterEqual(misses, 1)
        for _ in range(3):
            self.assertEqual(self.ok(d.post("/subjects/%s" % s, {"schema": text})).json["version"],
                             1)
        self.ok(d.post("/subjects/%s/versions" % s, {"schema": text}))
        self.assertEqual(d.metric("chanreg_schema_cache_misses_total", 'cache="request"'), misses)
        self.assertEqual(d.metric("chanreg_schema_cache_hits_total", 'cache="request"'), hits + 4)
        self.assertGreaterEqual(d.metric("chanreg_schema_cache_entries"), 1)
        # A text that does not parse is refused each time, never kept.
        for _ in range(2):
            self.assertError(d.post("/subjects/%s" % s, {"schema": '{"type": "record"}'}),
                             422, 42201)
        self.assertEqual(d.metric("chanreg_schema_cache_misses_total", 'cache="request"'),
                         misses + 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
