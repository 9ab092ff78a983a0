"""test_identity.py - what makes two schemas the same schema, Confluent's
normalize, and Avro schema references, over the Confluent API and with
confluent-kafka-python's SchemaRegistryClient.

Expected texts are what the Confluent Schema Registry returns for the same
requests (its canonicalString: Avro Java's Schema.toString()).
"""

import json
import unittest
import uuid

from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from chanregd import ChanregdTestCase


def subject(prefix):
    return "%s-%s-value" % (prefix, uuid.uuid4().hex[:8])


ORDER = ('{"type":"record","name":"Order","namespace":"com.acme","fields":['
         '{"name":"id","type":"string"},{"name":"cents","type":"long","default":0}]}')
# The same schema: keys in another order, whitespace, {"type":"string"},
# the namespace in the name, attributes that restate the default.
ORDER_SPELLINGS = [
    '{ "fields" : [ {"type":"string","name":"id"}, {"default":0,"type":"long","name":"cents"} ],'
    ' "namespace":"com.acme", "name":"Order", "type":"record" }',
    '{"type":"record","name":"com.acme.Order","fields":[{"name":"id","type":{"type":"string"}},'
    '{"name":"cents","type":"long","default":0,"order":"ascending"}],"aliases":[]}',
    '{"type":"record","name":"Order","namespace":"com.acme","fields":['
    '{"name":"id","type":"string","aliases":[]},{"name":"cents","type":{"type":"long"},'
    '"default":0}]}',
]

ADDRESS = ('{"type":"record","name":"Address","namespace":"com.acme","fields":['
           '{"name":"street","type":"string"},{"name":"city","type":"string"}]}')
CUSTOMER = ('{"type":"record","name":"Customer","namespace":"com.acme","fields":['
            '{"name":"name","type":"string"},{"name":"home","type":"Address"}]}')
INVOICE = ('{"type":"record","name":"Invoice","namespace":"com.acme","fields":['
           '{"name":"buyer","type":"com.acme.Customer"},{"name":"ship_to","type":"Address"}]}')


class IdentityTest(ChanregdTestCase):
    daemon_args = ()

    def register(self, s, schema, refs=None, query=""):
        body = {"schema": schema}
        if refs is not None:
            body["references"] = refs
        r = self.d.post("/subjects/%s/versions%s" % (s, query), body)
        self.assertEqual(r.status, 200, r)
        return r.json["id"]

    def test_same_schema_other_spelling(self):
        s = subject("identity")
        sid = self.register(s, ORDER)
        for text in ORDER_SPELLINGS:
            self.assertEqual(self.register(s, text), sid, text)
            r = self.d.post("/subjects/%s" % s, {"schema": text})
            self.assertEqual(r.status, 200, r)
            self.assertEqual((r.json["id"], r.json["version"]), (sid, 1))
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1])
        # Another subject gets the same id.
        self.assertEqual(self.register(subject("identity-other"), ORDER_SPELLINGS[1]), sid)
        # The text kept is Confluent's text of the first registration.
        self.assertEqual(self.d.get("/schemas/ids/%d" % sid).json["schema"], ORDER)

    def test_confluent_text(self):
        s = subject("text")
        text = ('{"namespace":"com.acme","type":"record","name":"Pay","doc":"a payment",'
                '"fields":[{"type":{"type":"string","avro.java.string":"String"},"name":"id",'
                '"doc":"the id"},{"name":"tags","type":{"type":"array","items":"string"},'
                '"default":[]},{"name":"kind","type":{"type":"enum","name":"Kind",'
                '"symbols":["A","B"]}},{"name":"other","type":["null","com.acme.Kind"],'
                '"default":null}],"x-owner":"payments"}')
        sid = self.register(s, text)
        want = ('{"type":"record","name":"Pay","namespace":"com.acme","doc":"a payment",'
                '"fields":[{"name":"id","type":{"type":"string","avro.java.string":"String"},'
                '"doc":"the id"},{"name":"tags","type":{"type":"array","items":"string"},'
                '"default":[]},{"name":"kind","type":{"type":"enum","name":"Kind",'
                '"symbols":["A","B"]}},{"name":"other","type":["null","Kind"],"default":null}],'
                '"x-owner":"payments"}')
        self.assertEqual(self.d.get("/schemas/ids/%d" % sid).json["schema"], want)
        self.assertEqual(self.d.get("/subjects/%s/versions/1/schema" % s).body.decode(), want)

    def test_different_schemas_stay_different(self):
        s = subject("different")
        self.d.put("/config/%s" % s, {"compatibility": "NONE"})
        sid = self.register(s, ORDER)
        other = [ORDER.replace('"default":0', '"default":1'),
                 ORDER.replace('"namespace":"com.acme",', '"namespace":"com.acme","doc":"d",'),
                 ORDER.replace('"type":"long","default":0', '"type":"long","default":0,"x":1')]
        ids = [self.register(s, text) for text in other]
        self.assertNotIn(sid, ids)
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(self.d.get("/subjects/%s/versions" % s).json, [1, 2, 3, 4])

    def test_normalize(self):
        s = subject("normalize")
        text = ('{"type":"record","name":"N","fields":[{"name":"a","type":"int","z":1,"b":2}],'
                '"aliases":["Y","X"],"doc":""}')
        plain = ('{"type":"record","name":"N","doc":"","fields":[{"name":"a","type":"int",'
                 '"z":1,"b":2}],"aliases":["Y","X"]}')
        normalized = ('{"type":"record","name":"N","fields":[{"name":"a","type":"int","b":2,'
                      '"z":1}],"aliases":["X","Y"]}')
        self.d.put("/config/%s" % s, {"compatibility": "NONE"})
        sid = self.register(s, text)
        self.assertEqual(self.d.get("/schemas/ids/%d" % sid).json["schema"], plain)
        nid = self.register(s, text, query="?normalize=true")
        self.assertNotEqual(nid, sid)  # an empty doc is dropped: another schema
        self.assertEqual(self.d.get("/schemas/ids/%d" % nid).json["schema"], normalized)
        r = self.d.post("/subjects/%s?normalize=true" % s, {"schema": text})
        self.assertEqual((r.status, r.json["id"]), (200, nid))

        # The config field: set, read back, applied without the query parameter.
        s2 = subject("normalize-config")
        r = self.d.put("/config/%s" % s2, {"normalize": True})
        self.assertEqual((r.status, r.json), (200, {"normalize": True}))
        self.assertEqual(self.d.get("/config/%s" % s2).json.get("normalize"), True)
        self.assertEqual(self.register(s2, text), nid)
        r = self.d.put("/config/%s" % s2, {"compatibility": "FULL", "normalize": "yes"})
        self.assertError(r, 422, 42203)
        r = self.d.delete("/config/%s" % s2)
        self.assertEqual(r.status, 200)
        self.assertEqual(self.d.get("/config/%s?defaultToGlobal=true" % s2).json.get("normalize"),
                         None)

    def test_references(self):
        sa, sc, si = subject("address"), subject("customer"), subject("invoice")
        aid = self.register(sa, ADDRESS)
        cid = self.register(sc, CUSTOMER, [{"name": "com.acme.Address", "subject": sa,
                                            "version": 1}])
        refs = [{"name": "com.acme.Customer", "subject": sc, "version": -1},
                {"name": "com.acme.Address", "subject": sa, "version": 1}]
        iid = self.register(si, INVOICE, refs)
        self.assertEqual(len({aid, cid, iid}), 3)
        resolved = [{"name": "com.acme.Customer", "subject": sc, "version": 1},
                    {"name": "com.acme.Address", "subject": sa, "version": 1}]
        got = self.d.get("/subjects/%s/versions/1" % si).json
        self.assertEqual(got["references"], resolved)
        self.assertEqual(got["schema"], INVOICE.replace('"com.acme.Customer"', '"Customer"'))
        byid = self.d.get("/schemas/ids/%d" % iid).json
        self.assertEqual(byid["references"], resolved)
        self.assertNotIn("references", self.d.get("/schemas/ids/%d" % aid).json)

        # Same schema and references again, spelled otherwise: same id; lookup finds it.
        spelled = json.dumps(json.loads(INVOICE), indent=2, sort_keys=True)
        self.assertEqual(self.register(si, spelled, refs), iid)
        r = self.d.post("/subjects/%s" % si, {"schema": spelled, "references": resolved})
        self.assertEqual((r.status, r.json["id"], r.json["references"]), (200, iid, resolved))
        # Other references are another schema.
        r = self.d.post("/subjects/%s" % si, {"schema": spelled, "references": resolved[:1]})
        self.assertError(r, 404, 40403)

        # The schema sent fully resolved, without references (as clients that
        # generate schemas from classes do): the version with references.
        inlined = json.loads(CUSTOMER)
        inlined["fields"][1]["type"] = json.loads(ADDRESS)
        r = self.d.post("/subjects/%s" % sc, {"schema": json.dumps(inlined)})
        self.assertEqual((r.status, r.json.get("id"), r.json.get("version")), (200, cid, 1), r)
        self.assertEqual(self.register(sc, json.dumps(inlined)), cid)
        self.assertEqual(self.d.get("/subjects/%s/versions" % sc).json, [1])
        # ... but not where the subject has no such version.
        r = self.d.post("/subjects/%s" % sa, {"schema": json.dumps(inlined)})
        self.assertError(r, 404, 40403)

        # Who references what.
        self.assertEqual(self.d.get("/subjects/%s/versions/1/referencedby" % sa).json,
                         sorted([cid, iid]))
        self.assertEqual(self.d.get("/subjects/%s/versions/latest/referencedby" % sc).json, [iid])
        self.assertEqual(self.d.get("/subjects/%s/versions/1/referencedby" % si).json, [])

        # A referenced version cannot be deleted: 42206.
        r = self.d.delete("/subjects/%s/versions/1" % sa)
        self.assertError(r, 422, 42206, "subject=%s,version=1" % sa)
        self.assertError(self.d.delete("/subjects/%s" % sc), 422, 42206)
        # Once the referrer is gone (soft), the soft delete goes through.
        self.assertEqual(self.d.delete("/subjects/%s/versions/1" % si).status, 200)
        self.assertEqual(self.d.get("/subjects/%s/versions/1/referencedby" % sc).json, [])
        self.assertEqual(self.d.delete("/subjects/%s/versions/1" % sc).status, 200)
        # ... but not the permanent one of what a soft-deleted version still references.
        r = self.d.delete("/subjects/%s/versions/1?permanent=true" % sc)
        self.assertError(r, 422, 42206)

    def test_reference_errors(self):
        sa, s = subject("ref-target"), subject("ref-bad")
        self.register(sa, ADDRESS)
        cases = [
            ([{"name": "com.acme.Address", "subject": "nope-" + sa, "version": 1}],
             "no schema reference found"),
            ([{"name": "com.acme.Address", "subject": sa, "version": 7}],
             "no schema reference found"),
            ([{"name": "com.acme.Address", "subject": sa}], "version"),
            ([{"subject": sa, "version": 1}], "name"),
            ("com.acme.Address", "array"),
            (None, "unknown type"),  # the type is unknown without the reference
        ]
        for refs, fragment in cases:
            body = {"schema": CUSTOMER}
            if refs is not None:
                body["references"] = refs
            self.assertError(self.d.post("/subjects/%s/versions" % s, body), 422, 42201, fragment)
        self.assertError(self.d.get("/subjects/%s/versions" % s), 404, 40401)
        self.assertError(self.d.get("/subjects/%s/versions/3/referencedby" % sa), 404, 40402)

    def test_compatibility_with_references(self):
        sa, sc = subject("compat-address"), subject("compat-customer")
        self.register(sa, ADDRESS)
        refs = [{"name": "com.acme.Address", "subject": sa, "version": 1}]
        self.register(sc, CUSTOMER, refs)
        added = json.loads(CUSTOMER)
        added["fields"].append({"name": "vip", "type": "boolean", "default": False})
        r = self.d.post("/compatibility/subjects/%s/versions/latest" % sc,
                        {"schema": json.dumps(added), "references": refs})
        self.assertEqual((r.status, r.json["is_compatible"]), (200, True))
        bad = json.loads(CUSTOMER)
        bad["fields"].append({"name": "vip", "type": "boolean"})
        r = self.d.post("/compatibility/subjects/%s/versions?verbose=true" % sc,
                        {"schema": json.dumps(bad), "references": refs})
        self.assertEqual((r.status, r.json["is_compatible"]), (200, False))
        self.assertIn("vip", json.dumps(r.json["messages"]))
        r = self.d.post("/subjects/%s/versions" % sc,
                        {"schema": json.dumps(bad), "references": refs})
        self.assertError(r, 409, 40901)
        self.assertEqual(self.register(sc, json.dumps(added), refs) > 0, True)
        self.assertEqual(self.d.get("/subjects/%s/versions" % sc).json, [1, 2])


class ConfluentClientReferencesTest(ChanregdTestCase):
    """The same with confluent-kafka-python's SchemaRegistryClient."""

    daemon_args = ()

    def test_client(self):
        c = SchemaRegistryClient({"url": self.d.url})
        sa, sc = subject("client-address"), subject("client-customer")
        aid = c.register_schema(sa, Schema(ADDRESS, "AVRO"))
        ref = SchemaReference("com.acme.Address", sa, 1)
        cid = c.register_schema(sc, Schema(CUSTOMER, "AVRO", [ref]))
        self.assertNotEqual(aid, cid)
        got = c.get_schema(cid)
        self.assertEqual([(r.name, r.subject, r.version) for r in got.references],
                         [("com.acme.Address", sa, 1)])
        latest = c.get_latest_version(sc)
        self.assertEqual((latest.schema_id, latest.version), (cid, 1))
        self.assertEqual(latest.schema.references,
                         [{"name": "com.acme.Address", "subject": sa, "version": 1}])
        # Lookup of the same schema with its keys reordered.
        reordered = json.dumps(json.loads(CUSTOMER), sort_keys=True)
        found = c.lookup_schema(sc, Schema(reordered, "AVRO", [ref]))
        self.assertEqual((found.schema_id, found.version), (cid, 1))
        self.assertEqual(c.register_schema(sc, Schema(reordered, "AVRO", [ref])), cid)
        with self.assertRaises(SchemaRegistryError) as e:
            c.delete_version(sa, 1)
        self.assertEqual(e.exception.error_code, 42206)


if __name__ == "__main__":
    unittest.main(verbosity=2)
