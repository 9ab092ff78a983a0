"""test_client.py - chanctl's registry client against a scripted server.

Covers what the real daemon cannot be made to do on demand: error replies in
every shape (Confluent JSON, HTML, empty), stalls past the timeout, control
characters in replies, plus the exact requests chanctl sends (paths, query
escaping, bearer token) and the exit codes: 0 ok, 1 not found, 2 usage,
3 unreachable or failed.

Run: CHANCTL=path/to/chanctl python3 test_client.py
"""

import json
import os
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_registry import FakeRegistry, Reply  # noqa: E402
from chanregd import free_port  # noqa: E402

CHANCTL = os.environ.get("CHANCTL", "chanctl")

CHANNEL = {
    "name": "orders.order-created",
    "revision": 3,
    "created_at": "2026-01-02T03:04:05Z",
    "updated_at": "2026-02-03T04:05:06Z",
    "owner_team": "orders",
    "maintainer": "jane@example.com",
    "peak_qps": 1200,
    "retention_hours": 168,
    "deprecation_date": None,
    "subject": "orders.order-created-value",
    "compatibility": "BACKWARD",
    "contract": {"apiVersion": "chanreg/v1", "channel": "orders.order-created"},
    "consumers": [
        {
            "name": "billing",
            "principal": "User:billing",
            "group": "billing-orders",
            "scenario": "invoices each order",
            "sla_p99_ms": 500,
            "peak_rate_msgs": 1500,
            "degradation": "lag",
            "registered_at": "2026-01-02T03:04:05Z",
            "renewed_at": "2026-01-02T03:04:05Z",
            "age_days": 4,
        }
    ],
    "producers": [{"principal": "User:orders-api"}],
}


def run(*args, env_extra=None, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    env.update(env_extra or {})
    return subprocess.run(
        [CHANCTL, *args], capture_output=True, text=True, env=env, timeout=timeout
    )


class ClientTest(unittest.TestCase):
    def setUp(self):
        self.fake = FakeRegistry().__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)

    def chanctl(self, *args, **kw):
        return run(*args, "--registry", self.fake.url, **kw)

    # -- transport failures -------------------------------------------------

    def test_unreachable_registry_exits_3_with_hint(self):
        url = "http://127.0.0.1:%d" % free_port()
        for args in (["get", "channel", "x"], ["list", "subjects"], ["list", "channels"]):
            r = run(*args, "--registry", url)
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn("error: cannot reach registry at " + url, r.stderr)
            self.assertIn("hint:", r.stderr)
            self.assertEqual(r.stdout, "")

    def test_timeout_exits_3(self):
        self.fake.route("GET", "/subjects", Reply(200, [], delay=3))
        r = self.chanctl("list", "subjects", "--timeout", "1")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("did not answer within 1000 ms", r.stderr)

    def test_registry_from_environment(self):
        self.fake.route("GET", "/subjects", Reply(200, ["a-value"]))
        r = run("list", "subjects", env_extra={"CHANREG_URL": self.fake.url + "/"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["SUBJECT", "a-value"])
        self.assertEqual(self.fake.requests[-1]["path"], "/subjects")

    # -- usage ----------------------------------------------------------------

    def test_missing_registry_is_usage_error(self):
        r = run("list", "subjects")
        self.assertEqual(r.returncode, 2)
        self.assertIn("no registry given", r.stderr)
        self.assertIn("CHANREG_URL", r.stderr)

    def test_bad_url_is_usage_error(self):
        r = run("get", "channel", "x", "--registry", "ftp://example.com")
        self.assertEqual(r.returncode, 2)
        self.assertIn("invalid registry URL", r.stderr)

    def test_usage_errors(self):
        cases = [
            ["get"],
            ["get", "channel"],
            ["get", "widget", "x"],
            ["get", "schema", "abc"],
            ["get", "subject", "s", "--version", "0"],
            ["get", "channel", "x", "--version", "2"],
            ["get", "channel", "x", "--format", "table"],
            ["list"],
            ["list", "widgets"],
            ["list", "consumers"],
            ["list", "channels", "--deprecated", "--active"],
            ["list", "subjects", "--owner-team", "t"],
            ["list", "channels", "--format", "text"],
            ["list", "subjects", "--timeout", "0"],
            ["list", "subjects", "--bogus"],
        ]
        for args in cases:
            r = self.chanctl(*args)
            self.assertEqual(r.returncode, 2, "%s: %s" % (args, r.stderr))
            self.assertEqual(r.stdout, "", args)
        self.assertEqual(self.fake.requests, [])

    def test_help(self):
        for cmd in ("get", "list", "register"):
            r = run(cmd, "--help")
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn("Usage:", r.stdout)
            self.assertIn("--registry", r.stdout)

    # -- error replies ----------------------------------------------------------

    def test_not_found_exits_1_with_server_message(self):
        self.fake.route(
            "GET",
            "/v1/channels/nope",
            Reply(404, {"error_code": 40410, "message": "Channel 'nope' not found."}),
        )
        r = self.chanctl("get", "channel", "nope")
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("error: Channel 'nope' not found.", r.stderr)
        self.assertIn("error_code 40410", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_auth_failure_exits_3_and_sends_token(self):
        self.fake.route(
            "GET", "/subjects", Reply(401, {"error_code": 401, "message": "Unauthorized"})
        )
        r = self.chanctl("list", "subjects", "--token", "s3cret")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("Unauthorized", r.stderr)
        self.assertIn("--token", r.stderr)
        self.assertEqual(self.fake.requests[-1]["headers"].get("Authorization"), "Bearer s3cret")
        r = self.chanctl("list", "subjects", env_extra={"CHANREG_TOKEN": "from-env"})
        self.assertEqual(self.fake.requests[-1]["headers"].get("Authorization"), "Bearer from-env")
        r = self.chanctl("list", "subjects")
        self.assertNotIn("Authorization", self.fake.requests[-1]["headers"])

    def test_html_error_reply_is_quoted(self):
        self.fake.route(
            "GET",
            "/subjects",
            Reply(502, "<html><body>Bad Gateway</body></html>", content_type="text/html"),
        )
        r = self.chanctl("list", "subjects")
        self.assertEqual(r.returncode, 3)
        self.assertIn("HTTP 502", r.stderr)
        self.assertIn("Bad Gateway", r.stderr)

    def test_non_json_success_reply(self):
        self.fake.route("GET", "/subjects", Reply(200, "this is not json", content_type="text/plain"))
        r = self.chanctl("list", "subjects")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not JSON", r.stderr)

    def test_oversized_reply_is_refused(self):
        body = b'["' + b"x" * (64 * 1024 * 1024) + b'"]'
        self.fake.route("GET", "/subjects", Reply(200, body))
        r = self.chanctl("list", "subjects")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("reply larger than 67108864 bytes", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_wrong_json_shape(self):
        self.fake.route("GET", "/v1/channels", Reply(200, {"items": []}))
        r = self.chanctl("list", "channels")
        self.assertEqual(r.returncode, 3)
        self.assertIn('"channels"', r.stderr)
        self.fake.route("GET", "/schemas/ids/7", Reply(200, ""))
        r = self.chanctl("get", "schema", "7")
        self.assertEqual(r.returncode, 3)
        self.assertIn("empty reply", r.stderr)

    # -- results ------------------------------------------------------------------

    def test_get_channel_text_and_json(self):
        self.fake.route("GET", "/v1/channels/orders.order-created", Reply(200, CHANNEL))
        r = self.chanctl("get", "channel", "orders.order-created")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        fields = dict(line.split(None, 1) for line in lines if not line.startswith(" "))
        self.assertEqual(fields["name:"], "orders.order-created")
        self.assertEqual(fields["revision:"], "3")
        self.assertEqual(fields["deprecation_date:"], "-")
        self.assertEqual(fields["producers:"], "User:orders-api")
        self.assertEqual(fields["consumers:"], "1")
        self.assertIn("  - billing", lines)
        self.assertRegex(r.stdout, r"\n    group: +billing-orders\n")
        r = self.chanctl("get", "channel", "orders.order-created", "--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), CHANNEL)

    def test_get_subject_and_schema(self):
        schema = '{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}'
        self.fake.route(
            "GET",
            "/subjects/orders-value/versions/latest",
            Reply(200, {"subject": "orders-value", "id": 7, "version": 2, "schema": schema}),
        )
        self.fake.route("GET", "/subjects/orders-value/versions", Reply(200, [1, 2]))
        self.fake.route("GET", "/config/orders-value", Reply(200, {"compatibilityLevel": "FULL"}))
        r = self.chanctl("get", "subject", "orders-value")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"version: +2\n")
        self.assertRegex(r.stdout, r"id: +7\n")
        self.assertRegex(r.stdout, r"compatibility: +FULL\n")
        self.assertRegex(r.stdout, r"versions: +1, 2\n")
        self.assertIn('    "name": "Order"', r.stdout)

        self.fake.route("GET", "/schemas/ids/7", Reply(200, {"schema": schema}))
        r = self.chanctl("get", "schema", "7", "-f", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"schema": schema})

    def test_subject_names_are_escaped(self):
        self.fake.route(
            "GET",
            "/subjects/a%2Fb%20c/versions/3",
            Reply(200, {"subject": "a/b c", "id": 1, "version": 3, "schema": '"string"'}),
        )
        r = self.chanctl("get", "subject", "a/b c", "--version", "3", "-f", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["version"], 3)

    def test_list_channels_table_and_filters(self):
        other = dict(CHANNEL, name="payments.captured", owner_team="payments", consumers=[])
        del other["contract"]
        first = dict(CHANNEL)
        del first["contract"]
        self.fake.route(
            "GET",
            "/v1/channels?owner_team=team%20a%26b&deprecated=false",
            Reply(200, {"channels": [first, other]}),
        )
        r = self.chanctl("list", "channels", "--owner-team", "team a&b", "--active")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertEqual(lines[0].split()[0:3], ["NAME", "OWNER_TEAM", "MAINTAINER"])
        self.assertEqual(lines[1].split()[0], "orders.order-created")
        self.assertEqual(lines[2].split()[0], "payments.captured")
        # aligned: every column starts at the same offset in every line
        col = lines[0].index("OWNER_TEAM")
        self.assertEqual(lines[1][col : col + 6], "orders")
        self.assertEqual(lines[2][col : col + 8], "payments")
        consumers_col = lines[0].index("CONSUMERS")
        self.assertEqual(lines[1][consumers_col], "1")
        self.assertEqual(lines[2][consumers_col], "0")
        self.assertFalse(any(line.endswith(" ") for line in lines))

    def test_list_consumers_and_json(self):
        self.fake.route(
            "GET",
            "/v1/channels/orders.order-created/consumers",
            Reply(200, {"consumers": CHANNEL["consumers"]}),
        )
        r = self.chanctl("list", "consumers", "orders.order-created")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[:3], ["NAME", "PRINCIPAL", "GROUP"])
        self.assertEqual(lines[1].split()[:4], ["billing", "User:billing", "billing-orders", "500"])
        self.assertTrue(lines[1].endswith("invoices each order"))
        r = self.chanctl("list", "consumers", "orders.order-created", "--format", "json")
        self.assertEqual(json.loads(r.stdout), {"consumers": CHANNEL["consumers"]})

    def test_control_characters_are_neutralised(self):
        self.fake.route("GET", "/subjects", Reply(200, ["evil\u001b[31mred\nnext"]))
        r = self.chanctl("list", "subjects")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("\x1b", r.stdout)
        self.assertEqual(r.stdout.splitlines(), ["SUBJECT", "evil?[31mred?next"])
        self.fake.route(
            "GET",
            "/v1/channels/x",
            Reply(404, {"error_code": 40410, "message": "Channel \u001b[2J'x' not found."}),
        )
        r = self.chanctl("get", "channel", "x")
        self.assertEqual(r.returncode, 1)
        self.assertNotIn("\x1b", r.stderr)
        self.assertIn("Channel ?[2J'x' not found.", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
