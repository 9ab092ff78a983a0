"""test_confluent_client.py - chanregd with a real Confluent client.

Drives the daemon with SchemaRegistryClient from confluent-kafka-python (the
Debian package python3-confluent-kafka, which needs python3-requests), the
client that producers and consumers use in production, with basic auth as
Confluent clients send it (basic.auth.user.info, the token as password).
AvroSerializer also needs fastavro, which Debian 12 does not package; that
test is skipped when it is missing.
"""

import json
import unittest
import uuid

# python3-confluent-kafka is a test dependency (scripts/deps.sh): no skip without it.
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from chanregd import ChanregdTestCase, avro_record as record

TOKEN = "client-token"


class ConfluentClientTest(ChanregdTestCase):
    daemon_args = ()
    daemon_kwargs = {"env": {"CHANREG_TOKEN": TOKEN}}

    def setUp(self):
        self.client = SchemaRegistryClient({"url": self.d.url,
                                            "basic.auth.user.info": "ci:" + TOKEN})
        ns = "c%s" % uuid.uuid4().hex[:10]
        self.subject = "payments.%s-value" % ns
        self.v1 = Schema(record("Payment", [("id", "string"), ("cents", "long")], ns), "AVRO")
        self.v2 = Schema(record("Payment", [("id", "string"), ("cents", "long"),
                                            ("note", ["null", "string"], {"default": None})],
                                ns), "AVRO")
        self.bad = Schema(record("Payment", [("id", "string"), ("cents", "long"),
                                             ("due", "string")], ns), "AVRO")

    def test_register_fetch_list_and_check(self):
        c = self.client
        id1 = c.register_schema(self.subject, self.v1)
        self.assertIsInstance(id1, int)
        with SchemaRegistryClient({"url": self.d.url}) as anonymous:
            fetched = anonymous.get_schema(id1)
        self.assertEqual(json.loads(fetched.schema_str), json.loads(self.v1.schema_str))
        self.assertEqual(fetched.schema_type, "AVRO")

        self.assertTrue(c.test_compatibility(self.subject, self.v2))
        self.assertFalse(c.test_compatibility(self.subject, self.bad))
        id2 = c.register_schema(self.subject, self.v2)
        self.assertNotEqual(id1, id2)
        self.assertEqual(c.get_versions(self.subject), [1, 2])
        self.assertIn(self.subject, c.get_subjects())

        latest = c.get_latest_version(self.subject)
        self.assertEqual((latest.schema_id, latest.version, latest.subject), (id2, 2, self.subject))
        first = c.get_version(self.subject, 1)
        self.assertEqual(first.schema_id, id1)
        found = c.lookup_schema(self.subject, self.v1)
        self.assertEqual((found.schema_id, found.version), (id1, 1))

        with self.assertRaises(SchemaRegistryError) as cm:
            c.register_schema(self.subject, self.bad)
        self.assertEqual(cm.exception.http_status_code, 409)
        self.assertEqual(cm.exception.error_code, 40901)
        self.assertIn("READER_FIELD_MISSING_DEFAULT_VALUE", cm.exception.error_message)

    def tearDown(self):
        self.client.__exit__()

    def test_errors_carry_confluent_codes(self):
        c = SchemaRegistryClient({"url": self.d.url})
        self.addCleanup(c.__exit__)
        with self.assertRaises(SchemaRegistryError) as cm:
            c.get_latest_version("missing-" + self.subject)
        self.assertEqual((cm.exception.http_status_code, cm.exception.error_code), (404, 40401))
        with self.assertRaises(SchemaRegistryError) as cm:
            c.get_schema(987654321)
        self.assertEqual(cm.exception.error_code, 40403)
        with self.assertRaises(SchemaRegistryError) as cm:
            c.register_schema(self.subject, self.v1)  # no credentials
        self.assertEqual(cm.exception.http_status_code, 401)
        with self.assertRaises(SchemaRegistryError) as cm:
            c.register_schema(self.subject, Schema('{"type": "nope"}', "AVRO"))
        self.assertIn(cm.exception.error_code, (401, 42201))

    def test_compatibility_levels_and_deletes(self):
        c = self.client
        c.register_schema(self.subject, self.v1)
        self.assertEqual(c.get_compatibility(), "BACKWARD")
        c.set_compatibility(self.subject, "NONE")
        self.assertEqual(c.get_compatibility(self.subject), "NONE")
        with self.assertRaises(SchemaRegistryError) as cm:
            c.set_compatibility(self.subject, "bogus")
        self.assertEqual(cm.exception.error_code, 42203)
        c.register_schema(self.subject, self.v2)
        self.assertEqual(c.delete_version(self.subject, 2), 2)
        self.assertEqual(c.get_versions(self.subject), [1])
        # The client soft-deletes first, then deletes permanently.
        self.assertEqual(c.delete_subject(self.subject, permanent=True), [1])
        self.assertNotIn(self.subject, c.get_subjects())
        with self.assertRaises(SchemaRegistryError) as cm:
            c.get_versions(self.subject)
        self.assertEqual(cm.exception.error_code, 40401)

    def test_avro_serializer_round_trip(self):
        try:
            from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
            from confluent_kafka.serialization import MessageField, SerializationContext
        except ImportError as e:
            self.skipTest("AvroSerializer needs fastavro: %s" % e)
        ser = AvroSerializer(self.client, self.v1.schema_str)
        ctx = SerializationContext(self.subject.rsplit("-", 1)[0], MessageField.VALUE)
        data = ser({"id": "p-1", "cents": 1250}, ctx)
        self.assertEqual(data[0], 0, "Confluent wire format: magic byte")
        sid = int.from_bytes(data[1:5], "big")
        self.assertEqual(self.client.get_latest_version(self.subject).schema_id, sid)
        de = AvroDeserializer(SchemaRegistryClient({"url": self.d.url}))
        self.assertEqual(de(data, ctx), {"id": "p-1", "cents": 1250})


if __name__ == "__main__":
    unittest.main(verbosity=2)
