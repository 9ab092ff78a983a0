"""test_docs.py - `chanctl docs`: the knowledge-base snapshot, offline.

Renders copies of the example contracts into a temporary directory and
checks the site (catalog, one page and one Markdown file per channel), that
the output is byte-identical across runs and across the order of the paths
given, that text from a contract is escaped (a description holding <script>
is text), that pages of removed channels go away, and that an invalid
contract writes nothing.

Run: PYTHONPATH=tests/support CHANCTL=... python3 test_docs.py
"""

import hashlib
import os
import re
import shutil
import sys
import tempfile
import unittest

from chanregd import chanctl  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", ".."))


def tree_digest(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, root)] = hashlib.sha256(f.read()).hexdigest()
    return out


class DocsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="chanctl-docs-")
        self.repo = os.path.join(self.tmp, "repo")
        os.mkdir(self.repo)
        shutil.copytree(os.path.join(SOURCE, "contracts"), os.path.join(self.repo, "contracts"))
        shutil.copytree(os.path.join(SOURCE, "schemas"), os.path.join(self.repo, "schemas"))
        self.names = sorted(f[:-5] for f in os.listdir(os.path.join(self.repo, "contracts"))
                            if f.endswith(".yaml"))
        self.assertGreaterEqual(len(self.names), 4)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def docs(self, *args):
        return chanctl("docs", *args, cwd=self.repo)

    def read(self, *parts):
        with open(os.path.join(*parts), encoding="utf-8") as f:
            return f.read()

    def test_site_has_catalog_pages_and_markdown(self):
        out = os.path.join(self.tmp, "site")
        r = self.docs("contracts/", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("%d channels written to %s" % (len(self.names), out), r.stdout)
        self.assertEqual(
            sorted(tree_digest(out)),
            sorted(["index.html", "style.css"] +
                   ["channels/%s.html" % n for n in self.names] +
                   ["markdown/%s.md" % n for n in self.names]))
        index = self.read(out, "index.html")
        for n in self.names:
            self.assertIn('<a href="channels/%s.html">%s</a>' % (n, n), index)
        # Catalog rows in name order, with the contract's figures.
        positions = [index.index('href="channels/%s.html"' % n) for n in self.names]
        self.assertEqual(positions, sorted(positions))
        row = re.search(r'<tr><td><a href="channels/orders.order-created.html">.*?</tr>', index)
        self.assertIsNotNone(row)
        for cell in ("<td>orders</td>", "<td>orders-oncall@example.com</td>",
                     '<td class="num">1200</td>', '<td class="num">168</td>',
                     "<td>orders.order-created-value</td>", '<td class="num">3</td>',
                     "<td>BACKWARD_TRANSITIVE</td>"):
            self.assertIn(cell, row.group(0))

        page = self.read(out, "channels", "orders.order-created.html")
        for text in ("Creates the invoice of each order and reserves the payment.",
                     "<code>billing.order-created</code>", '<td class="num">2000</td>',
                     "<code>User:orders-svc</code>", 'id="v3"', 'id="v1"',
                     "<code>legacy_shop_ref</code> <span class=\"warn\">deprecated</span>"):
            self.assertIn(text, page)
        self.assertIn("default-src 'none'", page)
        # Each version lists its changes from the one before (the UI's diff).
        self.assertIn("<p>Changes from version 2:</p>", page)
        self.assertIn("<li><code>field-removed</code> <code>com.example.orders.OrderCreated."
                      "legacy_shop_ref</code>", page)
        md = self.read(out, "markdown", "orders.order-created.md")
        self.assertTrue(md.startswith("# orders.order-created\n"))
        self.assertIn("- field-removed com.example.orders.OrderCreated.legacy\\_shop\\_ref", md)
        self.assertIn("| billing | User:billing-svc | billing.order-created |", md)
        self.assertIn("### Version 2", md)

    def test_output_is_deterministic(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        r = self.docs("contracts/", "-o", a)
        self.assertEqual(r.returncode, 0, r.stderr)
        files = ["contracts/%s.yaml" % n for n in reversed(self.names)]
        r = self.docs(*files, "-o", b)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(tree_digest(a), tree_digest(b))
        # Again into the same directory: nothing changes.
        before = tree_digest(a)
        r = self.docs("contracts/", "-o", a)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(before, tree_digest(a))

    def test_contract_text_is_escaped(self):
        path = os.path.join(self.repo, "contracts", "orders.order-created.yaml")
        text = self.read(path)
        hostile = "<script>alert(1)</script> & \"quotes\" | pipes"
        text = text.replace(
            "description: An order was placed and accepted by the order service.",
            "description: '%s'" % hostile)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = os.path.join(self.tmp, "site")
        r = self.docs("contracts/", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        page = self.read(out, "channels", "orders.order-created.html")
        self.assertNotIn("<script>", page)
        self.assertIn("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; | pipes",
                      page)
        md = self.read(out, "markdown", "orders.order-created.md")
        self.assertNotIn("<script>", md)
        self.assertIn("\\<script\\>", md)

    def test_removed_channel_pages_go_away(self):
        out = os.path.join(self.tmp, "site")
        self.assertEqual(self.docs("contracts/", "-o", out).returncode, 0)
        gone = self.names[0]
        os.unlink(os.path.join(self.repo, "contracts", gone + ".yaml"))
        # A file of someone else's in the output stays.
        with open(os.path.join(out, "channels", "notes.txt"), "w") as f:
            f.write("kept")
        r = self.docs("contracts/", "-o", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(os.path.exists(os.path.join(out, "channels", gone + ".html")))
        self.assertFalse(os.path.exists(os.path.join(out, "markdown", gone + ".md")))
        self.assertTrue(os.path.exists(os.path.join(out, "channels", "notes.txt")))
        self.assertNotIn(gone, self.read(out, "index.html"))

    def test_invalid_contract_writes_nothing(self):
        path = os.path.join(self.repo, "contracts", "orders.order-created.yaml")
        text = self.read(path).replace("peak_qps: 1200", "peak_qps: -5")
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        out = os.path.join(self.tmp, "site")
        r = self.docs("contracts/", "-o", out)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertRegex(r.stderr, r"contracts/orders\.order-created\.yaml:\d+:\d+: error:")
        self.assertIn("nothing written", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_usage_errors(self):
        r = self.docs("contracts/")
        self.assertEqual(r.returncode, 2)
        self.assertIn("-o DIR is required", r.stderr)
        blocker = os.path.join(self.tmp, "file")
        with open(blocker, "w") as f:
            f.write("x")
        r = self.docs("contracts/", "-o", blocker)
        self.assertEqual(r.returncode, 3)
        self.assertIn("a file is in the way", r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
