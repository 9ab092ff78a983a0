"""test_wire_clients.py - real Avro messages in the Confluent wire format
(magic byte 0, the 4-byte schema id, Avro binary) through chanregd with two
independent client libraries, each serializing what the other deserializes:

- Python: confluent-kafka-python's MessageSerializer and
  CachedSchemaRegistryClient (python3-confluent-kafka) on Apache Avro
  (python3-avro); for schemas with references, Apache Avro directly, with
  the referenced schemas read from the registry as a client resolves them;
- Node.js: @kafkajs/confluent-schema-registry on avsc, installed by npm into
  the build directory (fixture integration.daemon.npm), run by wire_node.js.

Covered: schema evolution (a field added with a default; old data read with
the new schema), a field removed under BACKWARD on a plain subject (allowed
by Confluent), and schema references across subjects.
"""

import io
import json
import os
import struct
import subprocess
import unittest
import urllib.request
import uuid

import avro.io
import avro.schema
from confluent_kafka.avro import CachedSchemaRegistryClient, loads
from confluent_kafka.avro.serializer.message_serializer import MessageSerializer

from chanregd import ChanregdTestCase, avro_record

NODE = os.environ.get("NODE", "node")
NODE_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wire_node.js")


def node(url, op, arg):
    """Run one wire_node.js operation; its JSON result (failures raise)."""
    p = subprocess.run([NODE, NODE_SCRIPT, url, op, json.dumps(arg)], capture_output=True,
                       text=True, timeout=120)
    out = json.loads(p.stdout.strip().splitlines()[-1]) if p.stdout.strip() else {}
    if p.returncode != 0:
        raise AssertionError("node %s failed (%d): %s %s" % (op, p.returncode, out, p.stderr))
    return out


def http_json(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())


def resolved_names(url, references, names):
    """Define in `names` the types of every referenced schema, dependencies
    first, as a client resolves references (GET /subjects/{s}/versions/{v})."""
    for ref in references:
        v = http_json("%s/subjects/%s/versions/%d" % (url, ref["subject"], ref["version"]))
        resolved_names(url, v.get("references", []), names)
        if names.get_name(ref["name"], None) is None:
            avro.schema.make_avsc_object(json.loads(v["schema"]), names)


def schema_of_id(url, schema_id):
    """The writer's schema of an id with its references resolved (Apache Avro)."""
    doc = http_json("%s/schemas/ids/%d" % (url, schema_id))
    names = avro.schema.Names()
    resolved_names(url, doc.get("references", []), names)
    return avro.schema.make_avsc_object(json.loads(doc["schema"]), names)


def py_encode(schema_id, schema, record):
    out = io.BytesIO()
    out.write(struct.pack(">bI", 0, schema_id))
    avro.io.DatumWriter(schema).write(record, avro.io.BinaryEncoder(out))
    return out.getvalue()


def py_decode(url, data, reader=None):
    magic, schema_id = struct.unpack(">bI", data[:5])
    assert magic == 0, magic
    writer = schema_of_id(url, schema_id)
    return avro.io.DatumReader(writer, reader or writer).read(
        avro.io.BinaryDecoder(io.BytesIO(data[5:])))


class WireClientsTest(ChanregdTestCase):
    daemon_args = ()

    def setUp(self):
        self.ns = "w%s" % uuid.uuid4().hex[:10]
        self.topic = "payments-%s" % self.ns
        self.subject = self.topic + "-value"
        self.v1 = avro_record("Payment", [("id", "string"), ("cents", "long"),
                                          ("note", ["null", "string"], {"default": None})],
                              self.ns)
        self.v2 = avro_record("Payment", [("id", "string"), ("cents", "long"),
                                          ("note", ["null", "string"], {"default": None}),
                                          ("currency", "string", {"default": "EUR"})], self.ns)
        r = self.d.put("/config/%s" % self.subject, {"compatibility": "BACKWARD"})
        self.assertEqual(r.status, 200, r)
        self.py = CachedSchemaRegistryClient({"url": self.d.url})
        self.ser = MessageSerializer(self.py)

    def test_evolution_between_clients(self):
        # Python writes v1 (registering it), Node reads it.
        rec1 = {"id": "p-1", "cents": 1250, "note": "first"}
        data1 = self.ser.encode_record_with_schema(self.topic, loads(self.v1), rec1)
        self.assertEqual(data1[0], 0)
        id1 = struct.unpack(">I", data1[1:5])[0]
        self.assertEqual(node(self.d.url, "decode", {"hex": data1.hex()})["value"], rec1)

        # Node registers v1 spelled its own way: the same id.  Then v2 (a field
        # added with a default: BACKWARD), and writes with it; Python reads it.
        spelled = json.dumps(json.loads(self.v1), sort_keys=True, indent=2)
        self.assertEqual(node(self.d.url, "register", {"subject": self.subject,
                                                       "schema": spelled})["id"], id1)
        id2 = node(self.d.url, "register", {"subject": self.subject, "schema": self.v2})["id"]
        self.assertNotEqual(id1, id2)
        rec2 = {"id": "p-2", "cents": 99, "note": None, "currency": "CHF"}
        data2 = bytes.fromhex(node(self.d.url, "encode", {"id": id2, "payload": rec2})["hex"])
        self.assertEqual(struct.unpack(">bI", data2[:5]), (0, id2))
        self.assertEqual(self.ser.decode_message(data2), rec2)

        # Old data read with the new schema, by both: the default fills in.
        want = dict(rec1, currency="EUR")
        self.assertEqual(node(self.d.url, "decode", {"hex": data1.hex(), "reader": self.v2})
                         ["value"], want)
        self.assertEqual(py_decode(self.d.url, data1, avro.schema.parse(self.v2)), want)
        self.assertEqual(self.d.get("/subjects/%s/versions" % self.subject).json, [1, 2])

    def test_removed_field_under_backward(self):
        # BACKWARD allows removing a field (the new reader ignores it):
        # Confluent registers it on a subject no contract binds.
        v3 = avro_record("Payment", [("id", "string"), ("cents", "long")], self.ns)
        rec1 = {"id": "p-9", "cents": 5, "note": "gone soon"}
        data1 = self.ser.encode_record_with_schema(self.topic, loads(self.v1), rec1)
        r = self.d.post("/subjects/%s/versions" % self.subject, {"schema": v3})
        self.assertEqual(r.status, 200, r)
        id3 = r.json["id"]
        # Data written before the removal, read with the new schema by both clients.
        self.assertEqual(node(self.d.url, "decode", {"hex": data1.hex(), "reader": v3})["value"],
                         {"id": "p-9", "cents": 5})
        self.assertEqual(py_decode(self.d.url, data1, avro.schema.parse(v3)),
                         {"id": "p-9", "cents": 5})
        # New data from Node, read by Python's serializer.
        data3 = bytes.fromhex(node(self.d.url, "encode",
                                   {"id": id3, "payload": {"id": "p-10", "cents": 6}})["hex"])
        self.assertEqual(self.ser.decode_message(data3), {"id": "p-10", "cents": 6})

    def test_references_between_clients(self):
        address = avro_record("Address", [("street", "string"), ("city", "string")], self.ns)
        customer = json.dumps({"type": "record", "name": "Customer", "namespace": self.ns,
                               "fields": [{"name": "name", "type": "string"},
                                          {"name": "home", "type": "%s.Address" % self.ns},
                                          {"name": "work", "type": ["null", "Address"],
                                           "default": None}]})
        sa, sc = "address-%s-value" % self.ns, "customer-%s-value" % self.ns
        aid = node(self.d.url, "register", {"subject": sa, "schema": address})["id"]
        refs = [{"name": "%s.Address" % self.ns, "subject": sa, "version": 1}]
        cid = node(self.d.url, "register", {"subject": sc, "schema": customer,
                                            "references": refs})["id"]
        self.assertNotEqual(aid, cid)
        self.assertEqual(self.d.get("/schemas/ids/%d" % cid).json["references"], refs)

        # Node writes a Customer; Python resolves the references and reads it.
        rec = {"name": "Ada", "home": {"street": "1 Main", "city": "Zurich"},
               "work": {"street": "2 Side", "city": "Bern"}}
        data = bytes.fromhex(node(self.d.url, "encode", {"id": cid, "payload": rec})["hex"])
        self.assertEqual(py_decode(self.d.url, data), rec)

        # Python writes with the registered id; Node reads, resolving the references itself.
        rec2 = {"name": "Bob", "home": {"street": "3 Lane", "city": "Basel"}, "work": None}
        data2 = py_encode(cid, schema_of_id(self.d.url, cid), rec2)
        self.assertEqual(node(self.d.url, "decode", {"hex": data2.hex()})["value"], rec2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
