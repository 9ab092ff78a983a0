"""Lifecycle of channels and consumer registrations: stale flags, GET
/v1/lifecycle, warnings before a channel's deprecation date, and the
--registration-max-age-days / --deprecation-warning-days options."""

import os
import re
import subprocess
import unittest

from health_harness import (HealthTestCase, consumer_body, days_from_today, orders_contract,
                            register_orders_schemas)

CHANNEL = "orders.order-created"
WARNING = re.compile(r'^299 - "(.+)"$')


def contract(name, deprecation=None, retirement=None):
    c = orders_contract(name=name)
    if deprecation:
        c["deprecation_date"] = deprecation
    if retirement:
        c["retirement_date"] = retirement
    return c


class LifecycleTest(HealthTestCase):

    def setUp(self):
        self.d = self.start_daemon()
        register_orders_schemas(self.d)

    def put(self, c, d=None):
        if c.get("deprecation_date"):
            # A deprecated channel takes no new consumers: create it first, then deprecate it.
            live = {k: v for k, v in c.items() if k not in ("deprecation_date", "retirement_date")}
            reply = (d or self.d).request("PUT", "/v1/channels/" + c["channel"], body=live)
            self.assertIn(reply.status, (200, 201), reply)
        reply = (d or self.d).request("PUT", "/v1/channels/" + c["channel"], body=c)
        self.assertIn(reply.status, (200, 201), reply)

    def lifecycle(self, d=None):
        reply = (d or self.d).request("GET", "/v1/lifecycle")
        self.assertEqual(reply.status, 200, reply)
        self.assertEqual(reply.headers["Content-Type"], "application/json")
        return reply.json

    def test_stale_flag_and_listing(self):
        self.put(contract(CHANNEL))
        reply = self.d.request("GET", "/v1/channels/%s/consumers" % CHANNEL)
        self.assertEqual([c["stale"] for c in reply.json["consumers"]], [False, False])
        self.assertEqual(self.lifecycle()["stale_registrations"], [])

        self.assertEqual(self.d.stop(), 0)
        self.assertEqual(self.d.sql("UPDATE consumers SET renewed_at = renewed_at - 91 * 86400 "
                                    "WHERE name = 'billing'"), 1)
        self.assertEqual(self.d.sql("UPDATE consumers SET renewed_at = renewed_at - 89 * 86400 "
                                    "WHERE name = 'analytics'"), 1)
        self.d.start()
        consumers = {c["name"]: c for c in
                     self.d.request("GET", "/v1/channels/%s/consumers" % CHANNEL).json["consumers"]}
        self.assertTrue(consumers["billing"]["stale"])
        self.assertEqual(consumers["billing"]["age_days"], 91)
        self.assertFalse(consumers["analytics"]["stale"])
        channel = self.d.request("GET", "/v1/channels/" + CHANNEL).json
        self.assertEqual({c["name"]: c["stale"] for c in channel["consumers"]},
                         {"billing": True, "analytics": False})
        listed = self.d.request("GET", "/v1/channels").json["channels"][0]["consumers"]
        self.assertEqual({c["name"]: c["stale"] for c in listed},
                         {"billing": True, "analytics": False})

        life = self.lifecycle()
        self.assertEqual(life["as_of"], days_from_today(0))
        self.assertEqual(len(life["stale_registrations"]), 1, life)
        stale = life["stale_registrations"][0]
        self.assertEqual((stale["channel"], stale["consumer"], stale["age_days"]),
                         (CHANNEL, "billing", 91))
        self.assertEqual(stale["renewed_at"], consumers["billing"]["renewed_at"])

        # Renewing clears the flag.
        reply = self.d.request("POST", "/v1/channels/%s/consumers/billing/renew" % CHANNEL)
        self.assertEqual(reply.status, 200, reply)
        self.assertFalse(reply.json["stale"])
        self.assertEqual(self.lifecycle()["stale_registrations"], [])

    def test_max_age_option(self):
        d = self.start_daemon(["--registration-max-age-days", "5"])
        register_orders_schemas(d)
        self.put(contract(CHANNEL), d)
        self.assertEqual(d.stop(), 0)
        d.sql("UPDATE consumers SET renewed_at = renewed_at - 6 * 86400 WHERE name = 'billing'")
        d.start()
        life = self.lifecycle(d)
        self.assertEqual(life["registration_max_age_days"], 5)
        self.assertEqual([s["consumer"] for s in life["stale_registrations"]], ["billing"])
        # The same database under the default limit: nothing is stale.
        self.assertEqual(d.stop(), 0)
        d.args = []
        d.start()
        self.assertEqual(self.lifecycle(d)["stale_registrations"], [])

    def test_bad_option_values(self):
        for args in (["--registration-max-age-days", "0"],
                     ["--deprecation-warning-days", "-1"],
                     ["--registration-max-age-days", "ninety"]):
            proc = subprocess.run([os.environ["CHANREGD"], "--db", "sqlite::memory:"] + args
                                  + ["--check-config"], capture_output=True, text=True,
                                  timeout=30, env={"PATH": "/usr/bin:/bin"})
            self.assertEqual(proc.returncode, 2, proc)
            self.assertIn(args[0], proc.stderr)
        proc = subprocess.run([os.environ["CHANREGD"], "--db", "sqlite::memory:",
                               "--check-config"], capture_output=True, text=True, timeout=30,
                              env={"PATH": "/usr/bin:/bin",
                                   "CHANREG_REGISTRATION_MAX_AGE_DAYS": "0"})
        self.assertEqual(proc.returncode, 2, proc)
        self.assertIn("CHANREG_REGISTRATION_MAX_AGE_DAYS", proc.stderr)
        proc = subprocess.run([os.environ["CHANREGD"], "--help"], capture_output=True, text=True,
                              timeout=30)
        self.assertIn("CHANREG_REGISTRATION_MAX_AGE_DAYS", proc.stdout)
        self.assertIn("CHANREG_DEPRECATION_WARNING_DAYS", proc.stdout)

    def test_deprecation_warning_window(self):
        soon = "orders.soon"
        later = "orders.later"
        self.put(contract(soon, deprecation=days_from_today(10)))
        self.put(contract(later, deprecation=days_from_today(31)))

        reply = self.d.request("PUT", "/v1/channels/%s/consumers/fraud" % soon,
                               body=consumer_body())
        self.assertEqual(reply.status, 201, reply)
        self.assertEqual(len(reply.json["warnings"]), 1, reply)
        self.assertIn(days_from_today(10), reply.json["warnings"][0])
        self.assertIn("in 10 days", reply.json["warnings"][0])
        m = WARNING.match(reply.headers.get("Warning", ""))
        self.assertIsNotNone(m, reply.headers)
        self.assertEqual(m.group(1), reply.json["warnings"][0])
        # An update within the window is warned too; a renewal is not.
        reply = self.d.request("PUT", "/v1/channels/%s/consumers/fraud" % soon,
                               body=consumer_body(sla_p99_ms=2000))
        self.assertEqual(reply.status, 200, reply)
        self.assertIn("warnings", reply.json)
        reply = self.d.request("POST", "/v1/channels/%s/consumers/fraud/renew" % soon)
        self.assertNotIn("warnings", reply.json)
        self.assertIsNone(reply.headers.get("Warning"))

        reply = self.d.request("PUT", "/v1/channels/%s/consumers/fraud" % later,
                               body=consumer_body())
        self.assertEqual(reply.status, 201, reply)
        self.assertNotIn("warnings", reply.json)
        self.assertIsNone(reply.headers.get("Warning"))

        life = self.lifecycle()
        self.assertEqual(life["deprecating"],
                         [{"channel": soon, "deprecation_date": days_from_today(10),
                           "days_left": 10}])

    def test_warning_days_option(self):
        d = self.start_daemon(["--deprecation-warning-days", "40"])
        register_orders_schemas(d)
        self.put(contract("orders.later", deprecation=days_from_today(31)), d)
        reply = d.request("PUT", "/v1/channels/orders.later/consumers/fraud",
                          body=consumer_body())
        self.assertEqual(reply.status, 201, reply)
        self.assertIn("in 31 days", reply.json["warnings"][0])
        self.assertEqual([c["channel"] for c in self.lifecycle(d)["deprecating"]],
                         ["orders.later"])

    def test_deprecated_and_retired(self):
        self.put(contract("orders.old", deprecation=days_from_today(-3)))
        self.put(contract("orders.gone", deprecation=days_from_today(-20),
                          retirement=days_from_today(-1)))
        self.put(contract("orders.ending", deprecation=days_from_today(-20),
                          retirement=days_from_today(5)))
        self.put(contract(CHANNEL))
        life = self.lifecycle()
        self.assertEqual(life["deprecating"], [])
        # Deprecated with a later retirement date: still deprecated, access kept.
        self.assertEqual(life["deprecated"],
                         [{"channel": "orders.ending", "deprecation_date": days_from_today(-20),
                           "retirement_date": days_from_today(5), "days_since": 20}])
        # Without a retirement date a channel retires on its deprecation date.
        self.assertEqual(sorted(life["retired"], key=lambda c: c["channel"]),
                         [{"channel": "orders.gone", "deprecation_date": days_from_today(-20),
                           "retirement_date": days_from_today(-1), "days_since": 1},
                          {"channel": "orders.old", "deprecation_date": days_from_today(-3),
                           "retirement_date": days_from_today(-3), "days_since": 3}])
        # The block on new consumers after the deprecation date still holds.
        reply = self.d.request("PUT", "/v1/channels/orders.old/consumers/fraud",
                               body=consumer_body())
        self.assertEqual(reply.status, 409, reply)
        self.assertEqual(reply.json["error_code"], 40912)

    def test_lifecycle_needs_token_with_auth_reads(self):
        d = self.start_daemon(["--auth-reads"])
        self.assertEqual(d.request("GET", "/v1/lifecycle", token=None).status, 401)
        self.assertEqual(d.request("GET", "/v1/lifecycle").status, 200)
        self.assertEqual(d.request("POST", "/v1/lifecycle").status, 405)


if __name__ == "__main__":
    unittest.main(verbosity=2)
