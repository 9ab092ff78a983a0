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

    def details(self, reply):
        """The messages of a 409 refusal, as a list."""
        self.assertError(reply, 409, 40901)
        message = reply.json["message"]
        return json.loads(message[message.index("details: ") + len("details: "):])

    def assert_same_judgement(self, d, s, schema):
        """POST /compatibility against all versions judges as registering would:
        the same verdict and, verbose, the refusal's messages (registered
        when compatible, which the caller undoes)."""
        verbose = d.post("/compatibility/subjects/%s/versions?verbose=true" % s,
                         {"schema": schema})
        self.assertEqual(verbose.status, 200, verbose)
        plain = d.post("/compatibility/subjects/%s/versions" % s, {"schema": schema})
        self.assertEqual(plain.json, {"is_compatible": verbose.json["is_compatible"]})
        r = d.post("/subjects/%s/versions" % s, {"schema": schema})
        if verbose.json["is_compatible"]:
            self.ok(r)
            self.assertEqual(verbose.json["messages"], [])
        else:
            self.assertEqual(verbose.json["messages"], self.details(r))
        return verbose.json, r

    def spread_subject(self, d, mode):
        """Four versions registered under NONE, then mode: the new schema
        SPREAD ({x, a}) reads the data of versions 2 and 4 (they have x), not
        that of 1 and 3 (backward), and the other way round (forward)."""
        s = self.transitive_subject(d, "NONE")
        for fields in ([("a", "int")],
                       [("a", "int"), ("x", "string")],
                       [("a", "int"), ("y", "int", {"default": 0})],
                       [("a", "int"), ("x", "string"), ("z", "int", {"default": 1})]):
            self.ok(d.post("/subjects/%s/versions" % s, {"schema": record("S", fields)}))
        self.ok(d.put("/config/%s" % s, {"compatibility": mode}))
        return s

    def test_compatibility_against_all_versions_judges_as_registering(self):
        spread = record("S", [("x", "string"), ("a", "int")])
        # Versions 2 and 4 cannot read its data: their "x" has no default.
        no_x = record("S", [("a", "int"), ("w", "long", {"default": 0})])
        for mode, schema, failing in (("BACKWARD_TRANSITIVE", spread, [3, 1]),
                                      ("FORWARD_TRANSITIVE", no_x, [4, 2]),
                                      ("FULL_TRANSITIVE", spread, [3, 1]),
                                      ("FULL_TRANSITIVE", no_x, [4, 2])):
            with self.subTest(mode=mode, failing=failing):
                s = self.spread_subject(self.d, mode)
                judged, _ = self.assert_same_judgement(self.d, s, schema)
                self.assertFalse(judged["is_compatible"])
                msgs = judged["messages"]
                self.assertIn("READER_FIELD_MISSING_DEFAULT_VALUE", " ".join(msgs))
                # Only the versions that fail, the newest first.
                olds = [m for m in msgs if m.startswith("{oldSchemaVersion:")]
                self.assertEqual(olds, ["{oldSchemaVersion: %d}" % v for v in failing])
                self.assertEqual(msgs[-1], "{validateFields: 'false', compatibility: '%s'}"
                                 % mode)

    def test_compatibility_against_all_versions_leaves_deleted_ones_out(self):
        spread = record("S", [("x", "string"), ("a", "int")])
        s = self.spread_subject(self.d, "BACKWARD_TRANSITIVE")
        self.ok(self.d.delete("/subjects/%s/versions/3" % s))
        judged, _ = self.assert_same_judgement(self.d, s, spread)
        olds = [m for m in judged["messages"] if m.startswith("{oldSchemaVersion:")]
        self.assertEqual(olds, ["{oldSchemaVersion: 1}"])
        self.ok(self.d.delete("/subjects/%s/versions/1" % s))
        judged, r = self.assert_same_judgement(self.d, s, spread)
        self.assertTrue(judged["is_compatible"])
        self.assertEqual(self.d.get("/subjects/%s/versions/5" % s).json["id"], r.json["id"])
        # Nothing live left: nothing to be incompatible with.
        for v in (2, 4, 5):
            self.ok(self.d.delete("/subjects/%s/versions/%d" % (s, v)))
        r = self.d.post("/compatibility/subjects/%s/versions?verbose=true" % s,
                        {"schema": record("S", [("q", "int")])})
        self.assertEqual(r.json, {"is_compatible": True, "messages": []})

    def test_compatibility_against_all_versions_without_transitive_mode(self):
        # BACKWARD: the latest alone counts, for the test as for registering.
        s = self.spread_subject(self.d, "BACKWARD")
        judged, _ = self.assert_same_judgement(self.d, s,
                                               record("S", [("x", "string"), ("a", "int")]))
        self.assertTrue(judged["is_compatible"])
        judged, _ = self.assert_same_judgement(self.d, s, record("S", [("a", "int"),
                                                                       ("w", "string")]))
        self.assertFalse(judged["is_compatible"])
        olds = [m for m in judged["messages"] if m.startswith("{oldSchemaVersion:")]
        self.assertEqual(olds, ["{oldSchemaVersion: 5}"])

    def test_compatibility_against_all_versions_cold_and_without_cache(self):
        d = self.start_daemon("--min-compatibility", "NONE", accept=SR_JSON)
        s = self.spread_subject(d, "BACKWARD_TRANSITIVE")
        spread = record("S", [("x", "string"), ("a", "int")])
        warm, _ = self.assert_same_judgement(d, s, spread)
        # Warm: the four earlier schemas come from the parsed-schema cache.
        misses = d.metric("chanreg_schema_cache_misses_total", 'cache="stored"')
        hits = d.metric("chanreg_schema_cache_hits_total", 'cache="stored"')
        r = d.post("/compatibility/subjects/%s/versions?verbose=true" % s, {"schema": spread})
        self.assertEqual(r.json, warm)
        self.assertEqual(d.metric("chanreg_schema_cache_misses_total", 'cache="stored"'), misses)
        self.assertGreaterEqual(d.metric("chanreg_schema_cache_hits_total", 'cache="stored"'),
                                hits + 4)
        self.assertEqual(d.stop(), 0)
        for args in ((), ("--parsed-schema-cache-mb", "0")):
            d2 = self.start_daemon("--min-compatibility", "NONE", *args, db=d.db,
                                   workdir=d.dir, name="compat%d" % len(args), accept=SR_JSON)
            # The test first, before any registration parsed a stored schema.
            judged, _ = self.assert_same_judgement(d2, s, record("S", [("x", "string"),
                                                                       ("a", "int")]))
            self.assertEqual(judged, warm)
            self.assertEqual(d2.stop(), 0)

    def test_registered_texts_are_not_parsed_again_for_later_checks(self):
        # A registration keeps its parsed text under the new id as well: the
        # checks of later versions parse no stored text.
        d = self.start_daemon("--min-compatibility", "NONE", accept=SR_JSON)
        s = self.transitive_subject(d)
        misses = d.metric("chanreg_schema_cache_misses_total", 'cache="stored"')
        hits = d.metric("chanreg_schema_cache_hits_total", 'cache="stored"')
        for v in range(1, 7):
            self.ok(d.post("/subjects/%s/versions" % s, {"schema": chain(v)}))
        self.assertEqual(d.metric("chanreg_schema_cache_misses_total", 'cache="stored"'), misses)
        # versions 2..6 each checked against every earlier one
        self.assertGreaterEqual(d.metric("chanreg_schema_cache_hits_total", 'cache="stored"'),
                                hits + 15)
        # the entries share the parsed schemas: six texts, each counted once
        entries = d.metric("chanreg_schema_cache_entries")
        self.assertGreaterEqual(entries, 12)
        self.assertEqual(d.stop(), 0)

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
