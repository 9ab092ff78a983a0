"""GET /metrics of chanregd: Prometheus text, and the values of the contract
health metrics after registrations, compatibility checks, renewals, aged
registrations and restarts (see docs/metrics.md)."""

import json
import unittest

from health_harness import (HealthTestCase, orders_contract, parse_metrics,
                            register_orders_schemas, schema_text, value)

CHANNEL = "orders.order-created"
SUBJECT = "orders.order-created-value"


def incompatible_schema():
    """v3 of the orders schema with a new field without default: not BACKWARD compatible."""
    schema = json.loads(schema_text(SUBJECT, 3))
    schema["fields"].append({"name": "coupon_code_required", "type": "string"})
    return json.dumps(schema)


class PrometheusTextTest(unittest.TestCase):
    """The strict parser of the tests rejects what Prometheus would reject."""

    def test_parser_accepts_valid_text(self):
        samples = parse_metrics('# HELP a_total x\n# TYPE a_total counter\n'
                                'a_total{x="1",y="a\\"b"} 3\nb 0.5\n')
        self.assertEqual(samples[("a_total", frozenset({("x", "1"), ("y", 'a\\"b')}))], 3)
        self.assertEqual(samples[("b", frozenset())], 0.5)

    def test_parser_rejects_bad_lines(self):
        for bad in ["a{x=1} 3\n", "a 3 4 5\n", "a{x=\"1\"}\n", "#HELP a\n", "1a 3\n",
                    "a{x=\"1\",} 3\n", "a 3\na 4\n"]:
            with self.assertRaises(AssertionError, msg=bad):
                parse_metrics(bad)


class MetricsTest(HealthTestCase):

    def setUp(self):
        self.d = self.start_daemon()
        register_orders_schemas(self.d)
        reply = self.d.request("PUT", "/v1/channels/" + CHANNEL, body=orders_contract())
        self.assertEqual(reply.status, 201, reply)

    def settled(self, name, want, **labels):
        """Scrape until the series has the value: requests are counted once
        completed, which may be just after the client got its reply."""
        box = {}

        def done():
            box["samples"] = self.d.metrics()
            return value(box["samples"], name, **labels) == want
        self.assertTrue(self.wait_until(done), "%s%r never became %r" % (name, labels, want))
        return box["samples"]

    def test_format_and_registry_basics(self):
        self.settled("chanreg_http_requests_total", 1, route="/v1/channels/{name}",
                     method="PUT", status="201")
        self.settled("chanreg_http_requests_total", 3, route="/subjects/{subject}/versions",
                     method="POST", status="200")
        reply = self.d.request("GET", "/metrics", token=None)
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8")
        text = reply.body.decode("utf-8")
        samples = parse_metrics(text)
        for name in ("channel_schema_compatibility_rate", "channel_schema_registrations_total",
                     "channel_schema_compatibility_checks_total",
                     "consumer_registration_age_days", "producer_schema_version_mismatch_count",
                     "chanreg_channels", "chanreg_consumers", "chanreg_schema_versions",
                     "chanreg_http_requests_total", "chanreg_http_request_duration_seconds",
                     "chanreg_reconcile_runs_total", "chanreg_reconcile_errors_total",
                     "chanreg_build_info"):
            self.assertIn("# TYPE %s " % name, text)
        self.assertEqual(self.metric(samples, "chanreg_channels"), 1)
        self.assertEqual(self.metric(samples, "chanreg_consumers"), 2)
        self.assertEqual(self.metric(samples, "chanreg_schema_versions"), 3)
        self.assertEqual(self.metric(samples, "chanreg_reconcile_runs_total"), 0)
        self.assertEqual(self.metric(samples, "chanreg_reconcile_errors_total"), 0)
        self.assertEqual(self.metric(samples, "producer_schema_version_mismatch_count",
                                     channel=CHANNEL), 0)
        build = [k for k in samples if k[0] == "chanreg_build_info"]
        self.assertEqual(len(build), 1)
        self.assertEqual(dict(build[0][1])["version"].count("."), 2)
        # Requests are counted by route pattern, method and status, once finished.
        self.assertEqual(self.metric(samples, "chanreg_http_requests_total",
                                     route="/v1/channels/{name}", method="PUT", status="201"), 1)
        self.assertEqual(self.metric(samples, "chanreg_http_requests_total",
                                     route="/subjects/{subject}/versions", method="POST",
                                     status="200"), 3)
        self.assertEqual(self.metric(samples, "chanreg_http_request_duration_seconds_count",
                                     route="/subjects/{subject}/versions"), 3)
        self.assertEqual(self.metric(samples, "chanreg_http_request_duration_seconds_bucket",
                                     route="/subjects/{subject}/versions", le="+Inf"), 3)
        self.d.request("GET", "/nowhere")
        self.d.request("BREW", "/nowhere")
        self.settled("chanreg_http_requests_total", 1, route="(unmatched)", method="GET",
                     status="404")
        samples = self.settled("chanreg_http_requests_total", 1, route="(unmatched)",
                               method="other", status="404")
        self.assertGreaterEqual(self.metric(samples, "chanreg_http_requests_total",
                                            route="/metrics", method="GET", status="200"), 2)
        self.assertEqual(self.metric(samples, "chanreg_http_requests_total",
                                     route="(unmatched)", method="GET", status="404"), 1)
        # Unknown methods share one label value, so clients cannot create series at will.
        self.assertEqual(sorted(dict(k[1])["method"] for k in samples
                                if k[0] == "chanreg_http_requests_total"
                                and dict(k[1])["route"] == "(unmatched)"), ["GET", "other"])

    def test_compatibility_rate_is_the_share_of_registered_versions(self):
        samples = self.d.metrics()
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="compatible"), 3)
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="incompatible"), 0)
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 1.0)

        # A refused registration is counted, but registers nothing: the rate stays.
        reply = self.d.request("POST", "/subjects/%s/versions" % SUBJECT,
                               body={"schema": incompatible_schema()})
        self.assertEqual(reply.status, 409, reply)
        samples = self.d.metrics()
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="incompatible"), 1)
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 1.0)

        # CI checks have their own counter and never move the rate.
        reply = self.d.request("POST", "/compatibility/subjects/%s/versions/latest" % SUBJECT,
                               body={"schema": incompatible_schema()})
        self.assertEqual(reply.status, 200, reply)
        self.assertFalse(reply.json["is_compatible"])
        reply = self.d.request("POST", "/compatibility/subjects/%s/versions" % SUBJECT,
                               body={"schema": schema_text(SUBJECT, 3)})
        self.assertTrue(reply.json["is_compatible"], reply)
        samples = self.d.metrics()
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_checks_total",
                                     channel=CHANNEL, result="compatible"), 1)
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_checks_total",
                                     channel=CHANNEL, result="incompatible"), 1)
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 1.0)
        # Re-registering an existing schema runs no check and counts nothing.
        reply = self.d.request("POST", "/subjects/%s/versions" % SUBJECT,
                               body={"schema": schema_text(SUBJECT, 2)})
        self.assertEqual(reply.status, 200, reply)
        # An invalid schema never reaches the compatibility check either.
        reply = self.d.request("POST", "/subjects/%s/versions" % SUBJECT,
                               body={"schema": "{\"type\": \"strng\"}"})
        self.assertEqual(reply.status, 422, reply)
        samples = self.d.metrics()
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="compatible"), 3)
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="incompatible"), 1)
        self.assertEqual(self.metric(samples, "channel_schema_compatibility_checks_total",
                                     channel=CHANNEL, result="compatible"), 1)

    def test_rate_comes_from_the_store_and_survives_a_restart(self):
        # v4 breaks BACKWARD but gets in while the subject's level is NONE.
        reply = self.d.request("PUT", "/config/" + SUBJECT, body={"compatibility": "NONE"})
        self.assertEqual(reply.status, 200, reply)
        reply = self.d.request("POST", "/subjects/%s/versions" % SUBJECT,
                               body={"schema": incompatible_schema()})
        self.assertEqual(reply.status, 200, reply)
        # Judged under the level and the policy floor (BACKWARD): (3,4) does not count.
        self.assertClose(self.metric(self.d.metrics(), "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 2 / 3)
        reply = self.d.request("PUT", "/config/" + SUBJECT, body={"compatibility": "BACKWARD"})
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(self.d.stop(), 0)
        self.d.start()
        samples = self.d.metrics()
        # Nothing since start-up, and the same rate: pairs (1,2), (2,3) pass, (3,4) does not.
        self.assertEqual(self.metric(samples, "channel_schema_registrations_total",
                                     channel=CHANNEL, result="compatible"), 0)
        self.assertClose(self.metric(samples, "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 2 / 3)
        self.assertEqual(self.metric(samples, "chanreg_schema_versions"), 4)
        # A level of NONE does not make the version compatible: the floor still judges it.
        reply = self.d.request("PUT", "/config/" + SUBJECT, body={"compatibility": "NONE"})
        self.assertEqual(reply.status, 200, reply)
        self.assertClose(self.metric(self.d.metrics(), "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 2 / 3)
        reply = self.d.request("DELETE", "/config/" + SUBJECT)
        self.assertEqual(reply.status, 200, reply)
        self.assertClose(self.metric(self.d.metrics(), "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 2 / 3)
        # Soft-deleting v4 changes the chain, and the gauge follows at once.
        reply = self.d.request("DELETE", "/subjects/%s/versions/4" % SUBJECT)
        self.assertEqual(reply.status, 200, reply)
        samples = self.d.metrics()
        self.assertClose(self.metric(samples, "channel_schema_compatibility_rate",
                                     channel=CHANNEL), 1.0)
        self.assertEqual(self.metric(samples, "chanreg_schema_versions"), 3)

    def test_registration_age(self):
        samples = self.d.metrics()
        for consumer in ("billing", "analytics"):
            age = self.metric(samples, "consumer_registration_age_days", channel=CHANNEL,
                              consumer=consumer)
            self.assertGreaterEqual(age, 0)
            self.assertLess(age, 0.01)
        # Age billing's registration by 100 days in the stopped daemon's database.
        self.assertEqual(self.d.stop(), 0)
        changed = self.d.sql("UPDATE consumers SET renewed_at = renewed_at - 100 * 86400, "
                             "registered_at = registered_at - 100 * 86400 "
                             "WHERE channel = ? AND name = ?", (CHANNEL, "billing"))
        self.assertEqual(changed, 1)
        self.d.start()
        samples = self.d.metrics()
        self.assertClose(self.metric(samples, "consumer_registration_age_days", channel=CHANNEL,
                                     consumer="billing"), 100.0, tol=0.01)
        self.assertLess(self.metric(samples, "consumer_registration_age_days", channel=CHANNEL,
                                    consumer="analytics"), 0.01)
        # A renewal brings it back to zero, at the next scrape.
        reply = self.d.request("POST", "/v1/channels/%s/consumers/billing/renew" % CHANNEL)
        self.assertEqual(reply.status, 200, reply)
        samples = self.d.metrics()
        self.assertLess(self.metric(samples, "consumer_registration_age_days", channel=CHANNEL,
                                    consumer="billing"), 0.01)
        # A consumer removed from the contract and a deleted channel leave no series behind.
        doc = self.d.request("GET", "/v1/channels/" + CHANNEL).json["contract"]
        doc["consumers"] = [c for c in doc["consumers"] if c["name"] != "billing"]
        reply = self.d.request("PUT", "/v1/channels/" + CHANNEL, body=doc)
        self.assertEqual(reply.status, 200, reply)
        samples = self.d.metrics()
        self.assertNotIn(("consumer_registration_age_days",
                          frozenset({("channel", CHANNEL), ("consumer", "billing")})), samples)
        self.assertEqual(self.metric(samples, "chanreg_consumers"), 1)
        reply = self.d.request("DELETE", "/v1/channels/" + CHANNEL)
        self.assertEqual(reply.status, 200, reply)
        samples = self.d.metrics()
        self.assertEqual(self.metric(samples, "chanreg_channels"), 0)
        self.assertFalse([k for k in samples if k[0] == "channel_schema_compatibility_rate"])

    def test_auth_reads(self):
        """With --auth-reads, /metrics needs the token like every read."""
        d = self.start_daemon(["--auth-reads"])
        self.assertEqual(d.request("GET", "/metrics", token=None).status, 401)
        self.assertEqual(d.request("GET", "/metrics").status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
