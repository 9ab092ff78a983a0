"""test_register_origin.py - `chanctl register` and consumers registered through the API.

One source of truth for consumers: `chanctl register` manages only the
consumers its contract names.  A consumer registered through the API
survives it and is listed as drift, with the YAML to add to the contract;
pasting that YAML makes the consumer the contract's.  `--dry-run` asks the
registry (PUT /v1/channels/{name}?dry_run=true) and prints exactly what the
real run then prints.

RegisterOriginTest runs against real chanregd processes on SQLite.  The
dry-run comparison starts from one store: the daemon is stopped, its SQLite
file copied, and the dry run goes to one copy while the real run goes to the
other; stdout and the exit code must be equal (the JSON output too, but for
"dry_run" and "registry").

ScriptedReplyTest runs chanctl against a scripted server (fake_registry.py):
what chanctl sends in a dry run, how it prints a reply's drift, and how it
takes a reply of a registry older than drift and dry runs.

Run through ctest, or: PYTHONPATH=tests/support CHANCTL=... CHANREGD=... python3 test_register_origin.py
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chanregd import SOURCE_DIR, Chanregd, ChanregdTestCase, chanctl  # noqa: E402
from fake_registry import FakeRegistry, Reply  # noqa: E402

ADMIN = "origin-admin-token"
OTHER = "origin-other-team-ci-token"
CI_ORDERS = "origin-orders-ci-token"
WAIVER_REASON = "Legacy order importers resend whole orders; readers take the latest only."
ORDERS = "orders.order-created"
SUBJECT = "orders.order-created-value"
CONTRACT = "contracts/%s.yaml" % ORDERS

# A scenario that YAML would misread if written carelessly (the API refuses
# control characters, so no newline here; the scripted tests add some).
NASTY_SCENARIO = "  Scores orders: flags \"risky\" ones # and 'odd' ones, then waits:"


def fraud_body(scenario=NASTY_SCENARIO):
    return {
        "principal": "User:fraud-svc",
        "group": "fraud.order-created",
        "scenario": scenario,
        "sla_p99_ms": 1500,
        "peak_rate_msgs": 2000,
        "degradation": "fallback",
    }


def drift_blocks(stdout):
    """{consumer name: YAML block} of the drift lines of register's stdout."""
    blocks = {}
    lines = stdout.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if not line.startswith("  drift: consumer \""):
            continue
        name = line[len("  drift: consumer \""):].split("\"", 1)[0]
        block = []
        while i < len(lines) and (
            (not block and lines[i].startswith("  - ")) or (block and lines[i].startswith("    "))
        ):
            block.append(lines[i])
            i += 1
        blocks[name] = "".join(block)
    return blocks


def add_consumer_yaml(path, block):
    """Insert a consumers: list entry (indent 2) at the top of the contract's consumers."""
    with open(path) as f:
        text = f.read()
    assert "\nconsumers:\n" in text, text
    with open(path, "w") as f:
        f.write(text.replace("\nconsumers:\n", "\nconsumers:\n" + block, 1))


class RegisterOriginTest(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanctl-origin-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(os.path.join(self.work, "contracts"))
        shutil.copy(os.path.join(SOURCE_DIR, CONTRACT), os.path.join(self.work, CONTRACT))
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas"), os.path.join(self.work, "schemas"))
        self.daemons = {}

    # -- daemons ----------------------------------------------------------------

    def daemon(self, name):
        """A daemon on the SQLite file tmp/NAME.db (not started).  Its token file
        holds ADMIN (admin), and OTHER and CI_ORDERS as v2 hashed lines with roles
        ci:other and ci:orders."""
        d = Chanregd(name=name, workdir=self.tmp, pg=False,
                     db="sqlite:" + os.path.join(self.tmp, name + ".db"),
                     tokens={"origin-admin": ADMIN})
        with open(d.token_file, "a") as f:
            f.write("ci-other sha256=%s roles=ci:other\n"
                    % hashlib.sha256(OTHER.encode()).hexdigest())
            f.write("ci-orders sha256=%s roles=ci:orders\n"
                    % hashlib.sha256(CI_ORDERS.encode()).hexdigest())
        self.addCleanup(self.check_daemon, d)
        self.daemons[name] = d
        return d

    def copy_store(self, src, dst):
        """Copy the SQLite store of stopped daemon src to the file of daemon dst."""
        self.assertFalse(src.running)
        base = src.db[len("sqlite:"):]
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(base + suffix):
                shutil.copy(base + suffix, dst.db[len("sqlite:"):] + suffix)

    def chanctl(self, d, *args, token=ADMIN):
        env = {"CHANREG_URL": d.url, "CHANREG_TOKEN": token}
        return chanctl(*args, env=env, cwd=self.work)

    def register(self, d, *args, token=ADMIN):
        return self.chanctl(d, "register", CONTRACT, *args, token=token)

    def request(self, d, method, path, body=None):
        reply = d.request(method, path, body=body, token=ADMIN)
        return reply.status, reply.json

    def consumers(self, d):
        status, body = self.request(d, "GET", "/v1/channels/%s/consumers" % ORDERS)
        self.assertEqual(status, 200, body)
        return {c["name"]: c for c in body["consumers"]}

    def edit_contract(self, old, new):
        path = os.path.join(self.work, CONTRACT)
        with open(path) as f:
            text = f.read()
        self.assertIn(old, text)
        with open(path, "w") as f:
            f.write(text.replace(old, new, 1))

    # -- API consumers survive register -----------------------------------------

    def test_api_consumer_survives_register(self):
        d = self.daemon("a").start()
        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        status, body = self.request(d, "PUT", "/v1/channels/%s/consumers/fraud" % ORDERS,
                                    fraud_body("Scores each order for fraud."))
        self.assertIn(status, (200, 201), body)

        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        consumers = self.consumers(d)
        self.assertIn("fraud", consumers, "register removed the API consumer")
        self.assertEqual(consumers["fraud"].get("origin"), "api")
        self.assertEqual(consumers["billing"].get("origin"), "contract")
        status, audit = self.request(d, "GET", "/v1/audit?limit=1000")
        self.assertEqual(status, 200, audit)
        for e in audit["entries"]:
            removed = ((e.get("detail") or {}).get("consumers") or {}).get("removed") or []
            self.assertNotIn("fraud", removed, e)
            self.assertNotEqual((e["action"], e["object"]),
                                ("consumer.remove", "channel/%s/consumer/fraud" % ORDERS))
        self.assertEqual(r.stdout.splitlines()[0], "%s: unchanged" % ORDERS)
        self.assertIn("  drift: consumer \"fraud\" (api, approved) is not in %s; add it to "
                      "manage it there:\n  - name: fraud\n" % CONTRACT, r.stdout)

    def test_drift_yaml_parses_back(self):
        d = self.daemon("a").start()
        self.assertEqual(self.register(d).returncode, 0)
        status, body = self.request(d, "PUT", "/v1/channels/%s/consumers/fraud" % ORDERS,
                                    fraud_body())
        self.assertIn(status, (200, 201), body)
        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        block = drift_blocks(r.stdout).get("fraud")
        self.assertTrue(block, r.stdout)

        add_consumer_yaml(os.path.join(self.work, CONTRACT), block)
        r = self.chanctl(d, "validate", CONTRACT)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("drift:", r.stdout)
        self.assertIn("  adopted: consumer \"fraud\" is now managed by %s\n" % CONTRACT, r.stdout)
        fraud = self.consumers(d)["fraud"]
        self.assertEqual(fraud.get("origin"), "contract")
        for key, value in fraud_body().items():
            self.assertEqual(fraud[key], value, key)

        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s: unchanged\n" % ORDERS)

    # -- the dry run prints what the real run does --------------------------------

    def twin_runs(self, setup, token=ADMIN, json_too=True):
        """Bring daemon a to a state with setup(a), copy its store to b (and c),
        then run register --dry-run on a and the real register on b; with
        json_too also --format json, dry on a and real on c.  Returns
        (dry, real) of the text runs."""
        a = self.daemon("a").start()
        setup(a)
        a.stop()
        b = self.daemon("b")
        self.copy_store(a, b)
        c = None
        if json_too:
            c = self.daemon("c")
            self.copy_store(a, c)
            c.start()
        a.start()
        b.start()
        before = self.request(a, "GET", "/v1/channels/%s" % ORDERS)

        dry = self.register(a, "--dry-run", token=token)
        real = self.register(b, token=token)
        self.assertEqual(dry.stdout, real.stdout,
                         "dry run stderr:\n%s\nreal run stderr:\n%s" % (dry.stderr, real.stderr))
        self.assertEqual(dry.returncode, real.returncode, dry.stderr + real.stderr)
        self.assertIn("dry run: nothing was changed on %s" % a.url, dry.stderr)
        self.assertNotIn("dry run:", real.stderr)
        self.assertEqual(self.request(a, "GET", "/v1/channels/%s" % ORDERS), before,
                         "the dry run changed the channel")
        if json_too:
            dry_json = self.register(a, "--dry-run", "--format", "json", token=token)
            real_json = self.register(c, "--format", "json", token=token)
            self.assertEqual(dry_json.returncode, real_json.returncode)
            dry_doc, real_doc = json.loads(dry_json.stdout), json.loads(real_json.stdout)
            self.assertTrue(dry_doc.pop("dry_run"))
            self.assertFalse(real_doc.pop("dry_run"))
            dry_doc.pop("registry")
            real_doc.pop("registry")
            self.assertEqual(dry_doc, real_doc)
        return dry, real

    def test_dry_run_output_equals_real_run(self):
        with self.subTest("new channel"):
            dry, real = self.twin_runs(lambda d: None)
            self.assertEqual(real.returncode, 0, real.stderr)
            self.assertEqual(real.stdout,
                             "%s: created (registered %s v1, v2, v3; compatibility set to "
                             "BACKWARD_TRANSITIVE; contract revision 1)\n" % (ORDERS, SUBJECT))
        self.reset()

        with self.subTest("unchanged"):
            dry, real = self.twin_runs(self.registered)
            self.assertEqual(real.returncode, 0, real.stderr)
            self.assertEqual(real.stdout, "%s: unchanged\n" % ORDERS)
        self.reset()

        with self.subTest("new version and compatibility change"):
            def setup(d):
                self.registered(d)
                self.add_v4_and_weaken_compatibility()
            dry, real = self.twin_runs(setup)
            self.assertEqual(real.returncode, 0, real.stderr)
            self.assertEqual(real.stdout,
                             "%s: updated (registered %s v4; compatibility BACKWARD_TRANSITIVE -> "
                             "BACKWARD; contract revision 2)\n" % (ORDERS, SUBJECT))
        self.reset()

        with self.subTest("API consumer drift"):
            def setup(d):
                self.registered(d)
                status, body = self.request(d, "PUT", "/v1/channels/%s/consumers/fraud" % ORDERS,
                                            fraud_body())
                self.assertIn(status, (200, 201), body)
            dry, real = self.twin_runs(setup)
            self.assertEqual(real.returncode, 0, real.stderr)
            self.assertIn("fraud", drift_blocks(real.stdout))
        self.reset()

        with self.subTest("new consumer on a deprecated channel"):
            def setup(d):
                self.registered(d)
                # deprecated since a day gone by, retired only much later
                self.edit_contract("retention_hours: 168\n",
                                   "retention_hours: 168\ndeprecation_date: 2026-01-01\n"
                                   "retirement_date: 2099-12-31\n")
                self.registered(d)
                add_consumer_yaml(os.path.join(self.work, CONTRACT),
                                  "  - name: fraud\n"
                                  "    principal: User:fraud-svc\n"
                                  "    group: fraud.order-created\n"
                                  "    scenario: Scores each order for fraud.\n"
                                  "    sla_p99_ms: 1500\n"
                                  "    peak_rate_msgs: 2000\n"
                                  "    degradation: lag\n")
            dry, real = self.twin_runs(setup, json_too=False)
            self.assertEqual(real.returncode, 1, real.stderr)
            self.assertEqual(real.stdout, "%s: failed\n" % ORDERS)
            for r in (dry, real):
                self.assertIn("error_code 40912", r.stderr)
        self.reset()

        with self.subTest("token of another team"):
            def setup(d):
                self.registered(d)
                self.edit_contract("peak_qps: 1200", "peak_qps: 2400")
            dry, real = self.twin_runs(setup, token=OTHER, json_too=False)
            self.assertEqual(real.returncode, 3, real.stderr)
            self.assertEqual(real.stdout, "%s: failed\n" % ORDERS)
            for r in (dry, real):
                self.assertIn("403", r.stderr)
        self.reset()

        with self.subTest("new channel, token of another team"):
            dry, real = self.twin_runs(lambda d: None, token=OTHER, json_too=False)
            self.assertEqual(real.returncode, 3, real.stderr)
            self.assertEqual(real.stdout, "%s: failed\n" % ORDERS)
            # The refused preflight wrote nothing: no schema, no level, no channel.
            for d in (self.daemons["a"], self.daemons["b"]):
                self.assertEqual(self.request(d, "GET", "/subjects"), (200, []))
                self.assertEqual(self.request(d, "GET", "/config/" + SUBJECT)[0], 404)
                self.assertEqual(self.request(d, "GET", "/v1/channels/" + ORDERS)[0], 404)
        self.reset()

        with self.subTest("new channel at NONE with a waiver, ci token"):
            def setup(d):
                self.set_none_with_waiver()
            dry, real = self.twin_runs(setup, token=CI_ORDERS, json_too=False)
            self.assertEqual(real.returncode, 3, real.stderr)
            self.assertEqual(real.stdout, "%s: failed\n" % ORDERS)
            for r in (dry, real):
                self.assertIn("40302", r.stderr)
            # The contract and its waiver are stored; the subject stays at the floor.
            b = self.daemons["b"]
            status, level = self.request(b, "GET", "/config/%s?defaultToGlobal=true" % SUBJECT)
            self.assertEqual((status, level["compatibilityLevel"]), (200, "BACKWARD"), level)
            status, channel = self.request(b, "GET", "/v1/channels/" + ORDERS)
            self.assertEqual(channel["waiver"]["reason"], WAIVER_REASON, channel)
        self.reset()

        with self.subTest("existing contract changed to NONE with a waiver, ci token"):
            def setup(d):
                self.registered(d)
                self.set_none_with_waiver()
            dry, real = self.twin_runs(setup, token=CI_ORDERS, json_too=False)
            self.assertEqual(real.returncode, 3, real.stderr)
            self.assertEqual(real.stdout, "%s: failed\n" % ORDERS)
            for r in (dry, real):
                self.assertIn("40302", r.stderr)
            # The real run stored the contract with its waiver: the admin can
            # approve it, and the next run sets the level.
            b = self.daemons["b"]
            status, body = self.request(b, "POST", "/v1/channels/%s/waiver/approve" % ORDERS)
            self.assertEqual(status, 200, body)
            r = self.register(b, token=CI_ORDERS)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout, "%s: updated (compatibility BACKWARD_TRANSITIVE -> NONE)\n"
                             % ORDERS)

    def set_none_with_waiver(self):
        self.edit_contract("  compatibility: BACKWARD_TRANSITIVE\n",
                           "  compatibility: NONE\n  waiver:\n    reason: %s\n" % WAIVER_REASON)

    def registered(self, d):
        r = self.register(d)
        self.assertEqual(r.returncode, 0, r.stderr)

    def reset(self):
        """Stop and forget every daemon of the last scenario; fresh workspace and stores."""
        for d in self.daemons.values():
            problems = d.check_exit()
            self.assertEqual(problems, [])
            for suffix in ("", "-wal", "-shm"):
                path = d.db[len("sqlite:"):] + suffix
                if os.path.exists(path):
                    os.unlink(path)
        self.daemons = {}
        shutil.copy(os.path.join(SOURCE_DIR, CONTRACT), os.path.join(self.work, CONTRACT))
        v4 = os.path.join(self.work, "schemas", SUBJECT, "v4.avsc")
        if os.path.exists(v4):
            os.unlink(v4)

    def add_v4_and_weaken_compatibility(self):
        """v4 = v3 plus an optional field; the contract lists it and moves to BACKWARD."""
        schema_dir = os.path.join(self.work, "schemas", SUBJECT)
        with open(os.path.join(schema_dir, "v3.avsc")) as f:
            schema = json.load(f)
        schema["fields"].append({"name": "coupon_code", "type": ["null", "string"],
                                 "default": None})
        with open(os.path.join(schema_dir, "v4.avsc"), "w") as f:
            json.dump(schema, f)
        self.edit_contract("versions: [3, 2, 1]", "versions: [4, 3, 2, 1]")
        self.edit_contract("compatibility: BACKWARD_TRANSITIVE", "compatibility: BACKWARD")


class ScriptedReplyTest(unittest.TestCase):
    """chanctl register against a scripted registry (fake_registry.py) that holds
    v1 of the orders subject under BACKWARD, for the orders contract cut down
    to v1 (the fake answers by path, so one lookup reply serves every version)."""

    def setUp(self):
        self.fake = FakeRegistry().__enter__()
        self.addCleanup(self.fake.__exit__, None, None, None)
        self.tmp = tempfile.mkdtemp(prefix="chanctl-origin-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.work = os.path.join(self.tmp, "work")
        os.makedirs(os.path.join(self.work, "contracts"))
        shutil.copy(os.path.join(SOURCE_DIR, CONTRACT), os.path.join(self.work, CONTRACT))
        shutil.copytree(os.path.join(SOURCE_DIR, "schemas"), os.path.join(self.work, "schemas"))
        path = os.path.join(self.work, CONTRACT)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(text.replace("versions: [3, 2, 1]", "versions: [1]")
                    .replace("compatibility: BACKWARD_TRANSITIVE", "compatibility: BACKWARD"))
        self.fake.route("GET", "/subjects/%s/versions" % SUBJECT, Reply(200, [1]))
        self.fake.route("GET", "/config/%s" % SUBJECT,
                        Reply(200, {"compatibilityLevel": "BACKWARD"}))
        self.fake.route("POST", "/subjects/%s" % SUBJECT,
                        Reply(200, {"subject": SUBJECT, "id": 7, "version": 1, "schema": "{}"}))

    def register(self, *args):
        return chanctl("register", CONTRACT, "--registry", self.fake.url, "--token", ADMIN, *args,
                       cwd=self.work)

    def channel_put(self, query, body, status=200):
        self.fake.route("PUT", "/v1/channels/%s%s" % (ORDERS, query), Reply(status, body))

    def drift_consumer(self, scenario):
        c = dict(fraud_body(scenario), name="fraud", origin="api", state="approved",
                 registered_at="2026-11-23T09:17:47Z", renewed_at="2026-11-23T09:17:47Z",
                 age_days=3, stale=False, requester_team=None, requested_by="origin-admin",
                 decided_by=None, decided_at=None, decision_reason=None)
        return c

    def test_drift_printed_with_yaml_that_parses_back(self):
        scenarios = [NASTY_SCENARIO, "first line\nsecond line", "yes", "123", "-lead", "tab\there", "caf\u00e9 \u2713",
                     "back\\slash and \"quotes\"", "# only a comment?", "trailing: "]
        for scenario in scenarios:
            with self.subTest(scenario=scenario):
                reply = {"name": ORDERS, "revision": 1, "changed": False, "dry_run": False,
                         "adopted": [], "drift": [self.drift_consumer(scenario)]}
                self.channel_put("", reply)
                self.channel_put("?dry_run=true", dict(reply, dry_run=True))
                r = self.register()
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertTrue(r.stdout.startswith(
                    "%s: unchanged\n  drift: consumer \"fraud\" (api, approved) is not in %s; "
                    "add it to manage it there:\n  - name: fraud\n" % (ORDERS, CONTRACT)),
                    r.stdout)
                dry = self.register("--dry-run")
                self.assertEqual(dry.stdout, r.stdout)
                self.assertEqual(dry.returncode, 0, dry.stderr)
                self.assertIn("dry run: nothing was changed on %s" % self.fake.url, dry.stderr)

                # Paste the YAML into a copy of the contract; what chanctl then
                # sends holds the consumer with the same values.
                block = drift_blocks(r.stdout)["fraud"]
                path = os.path.join(self.work, CONTRACT)
                with open(path) as f:
                    original = f.read()
                add_consumer_yaml(path, block)
                try:
                    self.fake.requests.clear()
                    r = self.register()
                    self.assertEqual(r.returncode, 0, r.stderr)
                    puts = [q for q in self.fake.requests if q["method"] == "PUT"]
                    self.assertEqual([q["path"] for q in puts],
                                     ["/v1/channels/%s?dry_run=true" % ORDERS,
                                      "/v1/channels/%s" % ORDERS])
                    self.assertEqual(puts[0]["body"], puts[1]["body"])
                    sent = json.loads(puts[0]["body"])
                    fraud = [c for c in sent["consumers"] if c["name"] == "fraud"]
                    self.assertEqual(len(fraud), 1, sent["consumers"])
                    for key, value in fraud_body(scenario).items():
                        self.assertEqual(fraud[0][key], value, key)
                finally:
                    with open(path, "w") as f:
                        f.write(original)

    def test_adopted_consumers_are_named(self):
        reply = {"name": ORDERS, "revision": 2, "changed": True, "dry_run": False,
                 "adopted": ["fraud"], "drift": []}
        self.channel_put("", reply)
        self.channel_put("?dry_run=true", dict(reply, dry_run=True))
        r = self.register()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s: updated (contract revision 2)\n"
                                   "  adopted: consumer \"fraud\" is now managed by %s\n"
                         % (ORDERS, CONTRACT))

    def test_dry_run_sends_dry_run_and_pending_versions(self):
        # A new subject: the real run would register v1 first; the dry run names
        # it in pending_versions and writes no schema and no mode.
        self.fake.route("GET", "/subjects/%s/versions" % SUBJECT,
                        Reply(404, {"error_code": 40401, "message": "Subject not found."}))
        self.fake.route("GET", "/config/%s" % SUBJECT,
                        Reply(404, {"error_code": 40408, "message": "Subject has no mode."}))
        self.channel_put("?dry_run=true&pending_versions=1",
                         {"name": ORDERS, "revision": 1, "changed": True, "dry_run": True,
                          "adopted": [], "drift": [], "compatibility_allowed": True}, status=201)
        self.fake.route("PUT", "/config/%s?dry_run=true" % SUBJECT,
                        Reply(200, {"compatibility": "BACKWARD"}))
        r = self.register("--dry-run")
        paths = [q["method"] + " " + q["path"] for q in self.fake.requests]
        self.assertEqual(r.returncode, 0, r.stderr + "\n".join(paths))
        self.assertEqual(r.stdout, "%s: created (registered %s v1; compatibility set to BACKWARD; "
                                   "contract revision 1)\n" % (ORDERS, SUBJECT))
        # The same requests as the real run, in its order, each a dry run.
        writes = [p for p in paths if not p.startswith("GET ")]
        self.assertEqual(writes, ["PUT /v1/channels/%s?dry_run=true&pending_versions=1" % ORDERS,
                                  "PUT /config/%s?dry_run=true" % SUBJECT], paths)

        # A contract put whose reply says the floor will refuse the level: the
        # dry run fails as the real PUT /config then does, without asking it.
        self.fake.requests.clear()
        self.channel_put("?dry_run=true&pending_versions=1",
                         {"name": ORDERS, "revision": 1, "changed": True, "dry_run": True,
                          "adopted": [], "drift": [], "compatibility_allowed": False}, status=201)
        r = self.register("--dry-run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, "%s: failed\n" % ORDERS)
        self.assertIn("40302", r.stderr)
        self.assertNotIn("PUT /config/%s?dry_run=true" % SUBJECT,
                         [q["method"] + " " + q["path"] for q in self.fake.requests])

    def test_old_registry_reply_without_drift_or_dry_run(self):
        old_reply = {"name": ORDERS, "revision": 1, "changed": False}
        self.channel_put("", old_reply)
        self.channel_put("?dry_run=true", old_reply)
        r = self.register()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "%s: unchanged\n" % ORDERS)

        r = self.register("--format", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        result = json.loads(r.stdout)["channels"][0]
        self.assertEqual(result["drift"], [])
        self.assertEqual(result["adopted"], [])

        # A registry that ignores dry_run=true: the dry run says what it did and stops.
        r = self.register("--dry-run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertEqual(r.stdout, "%s: failed\n" % ORDERS)
        self.assertIn("does not support dry runs: it ignored dry_run=true and kept the "
                      "contract unchanged", r.stderr)

        self.channel_put("?dry_run=true", dict(old_reply, revision=2, changed=True))
        r = self.register("--dry-run")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("ignored dry_run=true and stored the contract", r.stderr)
        self.assertNotIn("nothing was changed", r.stderr)

    def test_refusal_errors_become_diagnostics(self):
        errors = {"error_code": 40912,
                  "message": "Channel 'orders.order-created' is deprecated: no new consumers.",
                  "errors": [{"rule": "deprecated", "path": "consumers[0]", "line": 0,
                              "column": 0, "message": "consumer \"fraud\" is new on a "
                              "channel deprecated since 2026-01-01"}]}
        self.channel_put("", errors, status=409)
        self.channel_put("?dry_run=true", errors, status=409)
        for args in ((), ("--dry-run",)):
            r = self.register(*args)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(r.stdout, "%s: failed\n" % ORDERS)
            self.assertIn("consumer \"fraud\" is new on a channel deprecated", r.stderr)


if __name__ == "__main__":
    unittest.main()
