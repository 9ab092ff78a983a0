"""test_contract_files.py - contract files stay inside the contracts root.

`chanctl validate` and `chanctl register` read a contract's schema files
through one rule (chan_contract_file_read): a `file:` with `..`, an absolute
path, a symbolic link in schemas/ or a linked directory that leaves the root
is refused at the `file:` value; a FIFO or a device is refused without
blocking; a file over the size cap is refused; and a file that is no schema
is never quoted.  `register` pushes nothing when one is refused.

The work tree has no .git, so its default root is the directory holding
schemas/ (docs/cli.md, "Contracts root").

Run through ctest, or: PYTHONPATH=tests/support CHANCTL=... CHANREGD=... python3 test_contract_files.py
"""

import os
import shutil
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
from chanregd import ChanregdTestCase, avro_record, chanctl  # noqa: E402

TOKEN = "contract-files-admin-token"
SECRET = "s3cr3t-do-not-print"
SUBJECT = "fx.t-value"
SCHEMA = avro_record("T", [("a", "int")])
SECRET_SCHEMA = avro_record("Leak", [("a", "int", {"doc": SECRET})])

CONTRACT = """apiVersion: chanreg/v1
channel: fx.t
owner: {team: fx, maintainer: fx@example.com}
peak_qps: 1
retention_hours: 1
schema:
  subject: fx.t-value
  compatibility: BACKWARD
  versions:
    - version: 1
      file: %s
consumers: []
producers: [{principal: "User:w"}]
"""
DEFAULT_LAYOUT = CONTRACT.replace("    - version: 1\n      file: %s\n", "    - 1\n")
# Where the `file:` value of CONTRACT starts.
FILE_AT = "contracts/t.yaml:11:13: error: "


class ContractFilesTest(ChanregdTestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanctl-files-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.work = os.path.join(self.tmp, "work")
        self.outside = os.path.join(self.tmp, "outside")
        for d in ("work/contracts", "work/schemas/" + SUBJECT, "outside/dir"):
            os.makedirs(os.path.join(self.tmp, d))
        self.write("work/schemas/%s/v1.avsc" % SUBJECT, SCHEMA)
        self.write("outside/secret.avsc", SECRET_SCHEMA)
        self.write("outside/dir/v1.avsc", SECRET_SCHEMA)
        self.write("outside/passwd", "root:x:0:0:%s:/root:/bin/sh\n" % SECRET)

    def write(self, rel, text):
        with open(os.path.join(self.tmp, rel), "w") as f:
            f.write(text)

    def contract(self, file=None):
        self.write("work/contracts/t.yaml", CONTRACT % file if file else DEFAULT_LAYOUT)

    def validate(self, *args):
        r = chanctl("validate", *args, "contracts/t.yaml", cwd=self.work, timeout=60)
        return r, r.stdout + r.stderr

    def assertRefused(self, fragment, at=FILE_AT, rule="schema-file", *args):
        r, out = self.validate(*args)
        self.assertEqual(r.returncode, 1, out)
        self.assertIn(at, out)
        self.assertIn(fragment, out)
        self.assertIn("[%s]" % rule, out)
        self.assertNotIn(SECRET, out)
        self.assertNotIn("root:x", out)
        return out

    def test_inside_is_valid(self):
        self.contract("../schemas/%s/v1.avsc" % SUBJECT)
        r, out = self.validate()
        self.assertEqual(r.returncode, 0, out)
        self.contract()
        r, out = self.validate()
        self.assertEqual(r.returncode, 0, out)

    def test_dotdot(self):
        self.contract("../../outside/secret.avsc")
        self.assertRefused("outside the contracts root")

    def test_absolute(self):
        self.contract(os.path.join(self.outside, "secret.avsc"))
        self.assertRefused("outside the contracts root")
        self.contract("/etc/passwd")
        self.assertRefused("/etc/passwd is outside the contracts root")

    def test_symlink_out(self):
        link = os.path.join(self.work, "schemas", SUBJECT, "v1.avsc")
        os.unlink(link)
        os.symlink(os.path.join(self.outside, "secret.avsc"), link)
        self.contract()
        self.assertRefused("outside the contracts root", at="contracts/t.yaml:10:7: error: ")

    def test_symlinked_dir(self):
        os.symlink(os.path.join(self.outside, "dir"), os.path.join(self.work, "schemas", "linked"))
        self.contract("../schemas/linked/v1.avsc")
        self.assertRefused("outside the contracts root")

    def test_fifo(self):
        # No writer ever opens it: a blocking open would hang until the timeout.
        os.mkfifo(os.path.join(self.work, "schemas", "fifo.avsc"))
        self.contract("../schemas/fifo.avsc")
        self.assertRefused("is a FIFO, not a regular file")

    def test_device(self):
        os.symlink("/dev/zero", os.path.join(self.work, "schemas", "zero.avsc"))
        self.contract("../schemas/zero.avsc")
        self.assertRefused("resolves to /dev/zero, outside the contracts root")
        # With the whole file system as root, still no device.
        self.contract("/dev/zero")
        self.assertRefused("/dev/zero is a device, not a regular file", FILE_AT, "schema-file",
                           "--root", "/")

    def test_big_file(self):
        self.write("work/schemas/%s/v1.avsc" % SUBJECT, " " * (5 * 1024 * 1024) + SCHEMA)
        self.contract()
        self.assertRefused("larger than the limit of 4194304 bytes",
                           at="contracts/t.yaml:10:7: error: ")

    def test_non_avro_not_quoted(self):
        self.write("work/schemas/%s/v1.avsc" % SUBJECT, "root:x:0:0:%s:/root\n" % SECRET)
        self.contract()
        self.assertRefused("not JSON (syntax error at line 1, column", rule="avro-invalid",
                           at="contracts/t.yaml:10:7: error: ")
        self.write("work/schemas/%s/v1.avsc" % SUBJECT, '{"password": "%s"}' % SECRET)
        self.assertRefused("JSON, but not an Avro schema", rule="avro-invalid",
                           at="contracts/t.yaml:10:7: error: ")

    def test_root_option(self):
        self.contract()
        # contracts/ as the root leaves schemas/ outside it.
        self.assertRefused("outside the contracts root", "contracts/t.yaml:10:7: error: ",
                           "schema-file", "--root", "contracts")
        r, out = self.validate("--root", "no-such-dir")
        self.assertEqual(r.returncode, 2, out)
        self.assertIn("--root: no-such-dir is not a directory", out)
        # A contract outside an explicit root is refused itself.
        r, out = self.validate("--root", self.outside)
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("contracts/t.yaml is outside the contracts root", out)

    def test_contract_files_themselves(self):
        # A contract named on the command line that is a FIFO: refused, no hang.
        os.mkfifo(os.path.join(self.work, "contracts", "fifo.yaml"))
        r = chanctl("validate", "contracts/fifo.yaml", cwd=self.work, timeout=60)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("contracts/fifo.yaml is a FIFO, not a regular file", out)
        os.unlink(os.path.join(self.work, "contracts", "fifo.yaml"))
        # A link out of the tree found by the directory walk: refused, never quoted.
        self.contract()
        os.symlink(os.path.join(self.outside, "passwd"),
                   os.path.join(self.work, "contracts", "evil.yaml"))
        r = chanctl("validate", "contracts", cwd=self.work, timeout=60)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn("contracts/evil.yaml: error: contracts/evil.yaml resolves to", out)
        self.assertIn("outside the contracts root", out)
        self.assertNotIn(SECRET, out)
        self.assertNotIn("root:x", out)

    def test_register_pushes_nothing_refused(self):
        d = self.start_daemon(token=TOKEN, pg=False, workdir=self.tmp)
        env = {"CHANREG_URL": d.url, "CHANREG_TOKEN": TOKEN}
        self.contract("../../outside/secret.avsc")
        r = chanctl("register", "contracts/t.yaml", env=env, cwd=self.work, timeout=60)
        out = r.stdout + r.stderr
        self.assertEqual(r.returncode, 1, out)
        self.assertIn(FILE_AT, out)
        self.assertIn("outside the contracts root", out)
        self.assertNotIn(SECRET, out)
        reply = d.request("GET", "/subjects")
        self.assertEqual(reply.status, 200, reply)
        self.assertNotIn(SUBJECT, reply.json)
        # The same contract with its file inside registers.
        self.contract("../schemas/%s/v1.avsc" % SUBJECT)
        r = chanctl("register", "contracts/t.yaml", env=env, cwd=self.work, timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(SUBJECT, d.request("GET", "/subjects").json)


if __name__ == "__main__":
    unittest.main()
