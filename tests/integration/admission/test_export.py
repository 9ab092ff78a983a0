#!/usr/bin/python3
"""integration.admission.export - exports take access away when a registration goes.

  ExportSinceTest   chanregd without Kafka and the example contracts:
                    - a kafka-configs export ends with its state line; the consumer
                      replenishment is removed from the inventory contract, which is
                      registered again with chanctl; `export kafka-configs --since` the
                      first script prints the removal commands of exactly that principal
                      (its ACLs and its consumer quota), and running the script with
                      stand-in Kafka tools passes exactly those arguments;
                    - `--since applied` without any recorded ACL apply exits 3 with a hint,
                      a file without a state line exits 2;
                    - the Strimzi export labels every KafkaUser for kubectl apply --prune and
                      drops the user whose registration is gone.
  AppliedSinceTest  chanregd in --acl-mode apply against the Kafka peer: after an apply,
                    `--since applied` (GET /v1/acl/applied) gives the same removals once the
                    consumer is gone.  Skipped when the daemon does not serve that route.
"""

import os
import shlex
import stat
import subprocess
import unittest

import yaml

from admission_harness import SOURCE_DIR, AdmissionTestCase, chanctl, register_examples

STATE_PREFIX = "# chanreg-state v1 "
CONTRACT = os.path.join(SOURCE_DIR, "contracts", "inventory.stock-updated.yaml")
GONE = "User:replenishment-svc"
BOOTSTRAP = ("--bootstrap-server", "kafka-0:9093")

# The access of the consumer replenishment of inventory.stock-updated, as removal lines.
GONE_REMOVALS = [
    ("kafka-acls.sh", "User:replenishment-svc", ("Read", "Describe"), "--topic",
     "inventory.stock-updated"),
    ("kafka-acls.sh", "User:replenishment-svc", ("Read",), "--group",
     "replenishment.stock-updated"),
    ("kafka-configs.sh", "replenishment-svc", "consumer_byte_rate,producer_byte_rate"),
]


def without_consumer(directory, name):
    """A copy of the inventory contract without consumer `name`; returns its path."""
    with open(CONTRACT) as f:
        contract = yaml.safe_load(f)
    before = len(contract["consumers"])
    contract["consumers"] = [c for c in contract["consumers"] if c["name"] != name]
    assert len(contract["consumers"]) == before - 1, name
    path = os.path.join(directory, "inventory.stock-updated.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(contract, f, sort_keys=False)
    return path


def register(daemon, path):
    rc, out, err = chanctl("register", path, "--schema-root", os.path.join(SOURCE_DIR, "schemas"),
                           "--registry", daemon.url)
    assert rc == 0, "chanctl register failed (%d):\n%s\n%s" % (rc, out, err)


def removals(script):
    """The commands after the "# Removals:" line, as comparable tuples (None: no section)."""
    lines = script.splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith("# Removals:")]
    if not marks:
        return None
    out = []
    for line in lines[marks[0] + 1:]:
        if not line or line.startswith("#"):
            continue
        words = shlex.split(line)
        if words[0] == "kafka-acls.sh":
            assert "--remove" in words and "--force" in words, line
            assert "--add" not in words, line
            ops = tuple(words[i + 1] for i, w in enumerate(words) if w == "--operation")
            kind = "--topic" if "--topic" in words else "--group"
            out.append((words[0], words[words.index("--allow-principal") + 1], ops, kind,
                        words[words.index(kind) + 1]))
        else:
            assert words[0] == "kafka-configs.sh", line
            assert words[words.index("--entity-type") + 1] == "users", line
            out.append((words[0], words[words.index("--entity-name") + 1],
                        words[words.index("--delete-config") + 1]))
    return out


class ExportSinceTest(AdmissionTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.d = cls.daemon()
        register_examples(cls.d)

    def export(self, *args):
        rc, out, err = chanctl("export", "kafka-configs", *BOOTSTRAP, *args,
                               "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        return out

    def run_script(self, script):
        """Run the script with stand-in kafka-acls.sh / kafka-configs.sh that log their
        arguments; returns the logged calls as word lists."""
        bin_dir = os.path.join(self.tmp, "bin")
        log = os.path.join(self.tmp, "calls.log")
        os.makedirs(bin_dir, exist_ok=True)
        for tool in ("kafka-acls.sh", "kafka-configs.sh"):
            path = os.path.join(bin_dir, tool)
            with open(path, "w") as f:
                f.write('#!/bin/sh\nprintf "%%s\\0" %s "$@" >> "%s"\nprintf "\\n" >> "%s"\n'
                        % (tool, log, log))
            os.chmod(path, stat.S_IRWXU)
        if os.path.exists(log):
            os.unlink(log)
        env = dict(os.environ, PATH=bin_dir + os.pathsep + os.environ.get("PATH", ""))
        subprocess.run(["/bin/sh", "-c", script], env=env, check=True, timeout=60)
        with open(log) as f:
            return [line.rstrip("\0").split("\0") for line in f.read().splitlines() if line]

    def test_export_since_previous_prints_removals(self):
        first = self.export()
        self.assertIsNone(removals(first))
        self.assertTrue(first.splitlines()[-1].startswith(STATE_PREFIX), first[-400:])
        self.assertIn(GONE, first.splitlines()[-1])
        previous = os.path.join(self.tmp, "previous.sh")
        with open(previous, "w") as f:
            f.write(first)

        register(self.d, without_consumer(self.tmp, "replenishment"))
        second = self.export("--since", previous)
        # Exactly the lost principal: its two ACL rules and its quota.
        self.assertEqual(removals(second), GONE_REMOVALS)
        adds = second[:second.index("# Removals:")]
        self.assertNotIn(GONE, adds)
        self.assertIn("User:storefront-api", adds)
        self.assertNotIn(GONE, second.splitlines()[-1])

        # The script is valid sh and passes exactly those arguments.
        calls = self.run_script(second)
        removes = [c for c in calls if "--remove" in c or "--delete-config" in c]
        self.assertEqual(len(removes), 3, removes)
        self.assertEqual(removes[0][removes[0].index("--allow-principal") + 1], GONE)
        self.assertEqual(removes[2][:8], ["kafka-configs.sh", "--bootstrap-server",
                                          "kafka-0:9093", "--alter", "--delete-config",
                                          "consumer_byte_rate,producer_byte_rate", "--entity-type",
                                          "users"])
        self.assertEqual(removes[2][8:], ["--entity-name", "replenishment-svc"])
        self.assertTrue(all(c[0] in ("kafka-acls.sh", "kafka-configs.sh") for c in calls))

        # Since the second export, nothing more is lost; the output is deterministic.
        again = os.path.join(self.tmp, "second.sh")
        with open(again, "w") as f:
            f.write(second)
        third = self.export("--since", again)
        self.assertEqual(removals(third), [])
        self.assertEqual(third.splitlines()[-1], second.splitlines()[-1])

        # Strimzi: the remaining users carry the prune labels; the lost one is gone.
        rc, out, err = chanctl("export", "strimzi", "--instance", "orders-registry",
                               "--namespace", "kafka", "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        self.assertIn("kubectl apply --prune -l app.kubernetes.io/managed-by=chanreg,"
                      "chanreg.io/instance=orders-registry "
                      "--prune-allowlist=kafka.strimzi.io/v1/KafkaUser -n kafka -f users.yaml",
                      out)
        docs = [d for d in yaml.safe_load_all(out) if d]
        self.assertNotIn("replenishment-svc", [d["metadata"]["name"] for d in docs])
        self.assertIn("storefront-api", [d["metadata"]["name"] for d in docs])
        for d in docs:
            self.assertEqual(d["apiVersion"], "kafka.strimzi.io/v1")
            self.assertEqual(d["metadata"]["labels"],
                             {"strimzi.io/cluster": "my-cluster",
                              "app.kubernetes.io/managed-by": "chanreg",
                              "chanreg.io/instance": "orders-registry"})
        rc, out, err = chanctl("export", "strimzi", "--strimzi-api", "v1beta2",
                               "--registry", self.d.url)
        self.assertEqual(rc, 0, err)
        self.assertEqual({d["apiVersion"] for d in yaml.safe_load_all(out) if d},
                         {"kafka.strimzi.io/v1beta2"})

    def test_since_errors(self):
        rc, out, err = chanctl("export", "kafka-configs", *BOOTSTRAP, "--since", "applied",
                               "--registry", self.d.url)
        self.assertEqual(rc, 3, err)
        self.assertEqual(out, "")
        self.assertIn("--since FILE", err)

        stale = os.path.join(self.tmp, "no-state.sh")
        with open(stale, "w") as f:
            f.write("#!/bin/sh\nset -eu\n")
        rc, out, err = chanctl("export", "kafka-configs", *BOOTSTRAP, "--since", stale,
                               "--registry", self.d.url)
        self.assertEqual(rc, 2, err)
        self.assertEqual(out, "")
        self.assertIn("chanreg-state", err)
        for args in (["export", "strimzi", "--since", stale],
                     ["export", "strimzi", "--strimzi-api", "v2"],
                     ["export", "kafka-configs", *BOOTSTRAP, "--instance", "x"],
                     ["export", "kafka-configs", *BOOTSTRAP, "--since", os.path.join(
                         self.tmp, "missing.sh")]):
            rc, out, err = chanctl(*args, "--registry", self.d.url)
            self.assertEqual(rc, 2, (args, out, err))
            self.assertEqual(out, "")


class AppliedSinceTest(AdmissionTestCase):

    def test_export_since_applied_prints_removals(self):
        kafka = self.peer()
        d = self.daemon("--kafka-bootstrap", kafka.bootstrap, "--acl-mode", "apply",
                        "--reconcile-interval", "3600", "--kafka-timeout-ms", "2000")
        d.wait_passes(1)
        register_examples(d)
        reply = d.request("POST", "/v1/acl/apply")
        self.assertEqual(reply.status, 200, reply)
        reply = d.request("GET", "/v1/acl/applied")
        self.assertEqual(reply.status, 200, reply)
        self.assertIn(GONE, {b["principal"] for b in reply.json["bindings"]})

        # The next pass would revoke the consumer itself; none runs (interval 3600 s).
        register(d, without_consumer(self.tmp, "replenishment"))
        rc, out, err = chanctl("export", "kafka-configs", *BOOTSTRAP, "--since", "applied",
                               "--registry", d.url)
        self.assertEqual(rc, 0, err)
        self.assertEqual(removals(out), GONE_REMOVALS)


if __name__ == "__main__":
    unittest.main(verbosity=2)
