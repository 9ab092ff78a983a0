"""test_options.py - the one option path of chanctl, command by command.

Every command's --help is generated from its option table and names the
registry connection options when the command reaches a registry; a bad
option or a missing value is one error line plus a `Try "chanctl CMD
--help"` hint, with exit status 2; --registry and --token fall back on
CHANREG_URL and CHANREG_TOKEN, and the command line wins over the
environment.

Run: CHANCTL=path/to/chanctl python3 test_options.py
"""

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree

CHANCTL = os.environ.get("CHANCTL", "chanctl")

# Every command, and whether it takes the registry connection options.
COMMANDS = {
    "validate": True,
    "compat": False,
    "register": True,
    "get": True,
    "list": True,
    "check": True,
    "acl": True,
    "export": True,
    "token": True,
    "consumer": True,
    "docs": False,
}


def run(*args, env_extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    env.update(env_extra or {})
    return subprocess.run([CHANCTL, *args], capture_output=True, text=True, env=env,
                          timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Registry:
    """A loopback HTTP server answering GET /subjects, recording each request."""

    def __init__(self):
        self.requests = []
        registry = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, fmt, *args):
                pass

            def do_GET(self):
                registry.requests.append({"path": self.path,
                                          "authorization": self.headers.get("Authorization")})
                body = json.dumps(["orders-value"] if self.path == "/subjects" else {}).encode()
                self.send_response(200 if self.path == "/subjects" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class HelpTest(unittest.TestCase):
    def test_top_level_help_lists_every_command(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = []
        section = r.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        for line in section.splitlines():
            listed.append(line.split()[0])
        self.assertEqual(sorted(listed), sorted(COMMANDS))

    def test_every_command_help(self):
        for cmd, remote in COMMANDS.items():
            with self.subTest(cmd=cmd):
                r = run(cmd, "--help")
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertTrue(r.stdout.startswith("Usage: chanctl %s " % cmd), r.stdout)
                self.assertIn("-h, --help", r.stdout)
                self.assertIn("Exit status:", r.stdout)
                for option in ("--registry=URL", "--token=TOKEN", "--timeout=SECONDS",
                               "$CHANREG_TOKEN"):
                    if remote:
                        self.assertIn(option, r.stdout)
                    else:
                        self.assertNotIn(option, r.stdout)
                self.assertEqual(r.stdout, run(cmd, "-h").stdout)
                for line in r.stdout.splitlines():
                    if line.startswith("  -") or line.startswith("      --"):
                        self.assertLessEqual(len(line), 79, line)

    def test_registry_help_names_the_environment(self):
        for cmd in ("register", "get", "list", "check", "acl", "export"):
            with self.subTest(cmd=cmd):
                self.assertIn("$CHANREG_URL", run(cmd, "--help").stdout)


class UsageErrorTest(unittest.TestCase):
    def assert_usage_error(self, cmd, args, message):
        r = run(*([cmd] if cmd else []), *args)
        self.assertEqual(r.returncode, 2, (cmd, args, r.stderr))
        self.assertEqual(r.stdout, "", (cmd, args))
        hint = 'Try "chanctl %s --help" for more information.' % cmd if cmd else \
            'Try "chanctl --help" for more information.'
        self.assertEqual(r.stderr.splitlines(), ["chanctl: error: " + message, hint],
                         (cmd, args))

    def test_unknown_long_option(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.assert_usage_error(cmd, ["--no-such-option"],
                                        "unknown option --no-such-option")
                self.assert_usage_error(cmd, ["--no-such-option=1"],
                                        "unknown option --no-such-option")

    def test_unknown_short_option(self):
        for cmd in COMMANDS:
            with self.subTest(cmd=cmd):
                self.assert_usage_error(cmd, ["-Z"], "unknown option -Z")

    def test_missing_value(self):
        for cmd, remote in COMMANDS.items():
            with self.subTest(cmd=cmd):
                if remote:
                    self.assert_usage_error(cmd, ["--registry"], "option --registry needs a value")
                    self.assert_usage_error(cmd, ["--token"], "option --token needs a value")
                    self.assert_usage_error(cmd, ["-r"], "option -r needs a value")
                else:
                    self.assert_usage_error(cmd, ["--registry", "http://x"],
                                            "unknown option --registry")

    def test_flag_with_value(self):
        self.assert_usage_error("register", ["--dry-run=yes"], "option --dry-run takes no value")
        self.assert_usage_error("validate", ["--strict=1"], "option --strict takes no value")
        self.assert_usage_error("validate", ["--format=json", "--strict=1"],
                                "option --strict takes no value")

    def test_unknown_short_option_in_a_cluster(self):
        self.assert_usage_error("validate", ["--strict", "-qZ"], "unknown option -Z")
        self.assert_usage_error("validate", ["--format=json", "-Zq"], "unknown option -Z")

    def test_unknown_format(self):
        self.assert_usage_error("list", ["channels", "--format", "text"], 'unknown format "text"')
        self.assert_usage_error("get", ["channel", "x", "-f", "table"], 'unknown format "table"')
        self.assert_usage_error("export", ["strimzi", "--format", "json"],
                                "unknown option --format")

    def test_top_level(self):
        self.assert_usage_error(None, [], "missing command")
        self.assert_usage_error(None, ["--bogus"], "unknown option --bogus")
        self.assert_usage_error(None, ["bogus"], 'unknown command "bogus"')

    def test_options_anywhere(self):
        # Options may follow the operands, as getopt_long permutes them.
        r = run("compat", os.devnull, os.devnull, "--mode")
        self.assertEqual(r.returncode, 2)
        self.assertIn("option --mode needs a value", r.stderr)


class ConnectionTest(unittest.TestCase):
    def setUp(self):
        self.registry = Registry()
        self.addCleanup(self.registry.close)

    def test_registry_from_environment(self):
        r = run("list", "subjects", env_extra={"CHANREG_URL": self.registry.url})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.split(), ["SUBJECT", "orders-value"])
        self.assertEqual([q["path"] for q in self.registry.requests], ["/subjects"])
        self.assertIsNone(self.registry.requests[0]["authorization"])

    def test_token_from_environment(self):
        r = run("list", "subjects", "--registry", self.registry.url,
                env_extra={"CHANREG_TOKEN": "from-env"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.registry.requests[-1]["authorization"], "Bearer from-env")

    def test_command_line_wins(self):
        dead = "http://127.0.0.1:%d" % free_port()
        r = run("list", "subjects", "-r", self.registry.url, "--token", "from-flag",
                env_extra={"CHANREG_URL": dead, "CHANREG_TOKEN": "from-env"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.registry.requests[-1]["authorization"], "Bearer from-flag")

    def test_environment_for_every_registry_command(self):
        # Each command that needs a registry goes to CHANREG_URL: an
        # unreachable one is a runtime error that names it.
        dead = "http://127.0.0.1:%d" % free_port()
        for args in (["get", "channel", "x"], ["list", "channels"], ["acl", "status"],
                     ["export", "strimzi"], ["consumer", "list"]):
            with self.subTest(args=args):
                r = run(*args, env_extra={"CHANREG_URL": dead})
                self.assertEqual(r.returncode, 3, r.stderr)
                self.assertIn("cannot reach registry at " + dead, r.stderr)

    def test_no_registry_is_a_usage_error(self):
        for args in (["get", "channel", "x"], ["list", "subjects"], ["acl", "plan"],
                     ["export", "strimzi"], ["register"]):
            with self.subTest(args=args):
                r = run(*args)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("no registry given", r.stderr)
                self.assertIn("CHANREG_URL", r.stderr)

    def test_bad_timeout_is_a_usage_error(self):
        r = run("list", "subjects", "--registry", self.registry.url, "--timeout", "0")
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("invalid --timeout", r.stderr)
        self.assertEqual(self.registry.requests, [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
