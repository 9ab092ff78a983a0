"""test_ui.py - the web UI in a real browser (integration.ui).

Starts chanregd with a token file (admin, owner:orders, owner:billing),
loads the example contracts with chanctl, and runs ui_flow.js (which adds
a channel whose description is a <script> element after the catalog's
screenshot): headless Debian chromium driven
by puppeteer-core (npm, installed into the build tree by the fixture
integration.ui.npm), accessibility by axe-core.  See ui_flow.js for the flow.
Screenshots and axe reports go to ARTEFACTS (a folder of the build tree);
with README_SHOT set, the catalog screenshot of the README is written there.

Nothing is skipped: without chromium, node or the npm packages the test fails.
"""

import os
import shutil
import subprocess
import unittest

from chanregd import Chanregd, SOURCE_DIR, binary, clean_env, write_token_file

TOKENS = {"admin": "ui-admin-token", "orders-owner": "ui-orders-token",
          "billing-owner": "ui-billing-token"}
ROLES = {"admin": "admin", "orders-owner": "owner:orders", "billing-owner": "owner:billing"}
SCRIPT_CHANNEL = "orders.script-test"


def require(path, what):
    if not path or not os.path.exists(path):
        raise AssertionError("%s is missing (%r): install it with scripts/deps.sh" % (what, path))
    return path


class UiTest(unittest.TestCase):
    def setUp(self):
        self.node = require(shutil.which("node"), "node")
        self.chromium = require(os.environ.get("CHROMIUM") or shutil.which("chromium"), "chromium")
        self.modules = require(os.environ.get("UI_NODE_MODULES"), "the npm packages of the UI test")
        require(os.path.join(self.modules, "puppeteer-core"), "npm package puppeteer-core")
        require(os.path.join(self.modules, "axe-core"), "npm package axe-core")
        self.artefacts = os.environ["UI_ARTEFACTS"]
        os.makedirs(self.artefacts, exist_ok=True)
        self.d = Chanregd()
        self.addCleanup(self.d.cleanup)
        self.d.args += ["--token-file", write_token_file(self.d.dir, ROLES, TOKENS)]
        self.d.start()
        self.d.token = TOKENS["admin"]  # what requests send; set after start: not --token

    def chanctl(self, *args):
        return subprocess.run([binary("CHANCTL"), *args, "--registry", self.d.url,
                               "--token", TOKENS["admin"]],
                              capture_output=True, text=True, timeout=60, env=clean_env())

    def test_ui_flow(self):
        r = self.chanctl("register", os.path.join(SOURCE_DIR, "contracts"))
        self.assertEqual(r.returncode, 0, r.stderr)
        env = clean_env({"CHANREG_URL": self.d.url, "ADMIN_TOKEN": TOKENS["admin"],
                         "ORDERS_TOKEN": TOKENS["orders-owner"],
                         "BILLING_TOKEN": TOKENS["billing-owner"],
                         "SCRIPT_CHANNEL": SCRIPT_CHANNEL, "CHROMIUM": self.chromium,
                         "ARTEFACTS": self.artefacts, "NODE_PATH": self.modules})
        if os.environ.get("README_SHOT"):
            env["README_SHOT"] = os.environ["README_SHOT"]
        run = subprocess.run([self.node, os.path.join(os.path.dirname(__file__), "ui_flow.js")],
                             capture_output=True, text=True, timeout=150, env=env)
        self.assertEqual(run.returncode, 0, "ui_flow.js failed:\n%s\n%s" % (run.stdout, run.stderr))
        self.assertIn("ui_flow: ok", run.stdout)
        print(run.stdout, end="")
        for page in ("catalog", "channel", "escaping", "portal-errors", "portal-pending",
                     "portal-approved", "portal-rejected", "audit"):
            self.assertTrue(os.path.getsize(os.path.join(self.artefacts, page + ".png")) > 0, page)

        self.d.stop()
        problems = self.d.check_exit()
        self.assertFalse(problems, problems)


if __name__ == "__main__":
    unittest.main(verbosity=2)
