"""health_harness.py - chanregd and chanctl for the contract health tests.

Reuses the daemon harness of the channels API tests
(tests/integration/channels/channels_harness.py): HealthDaemon only adds
extra command-line options (the lifecycle limits) and a way to edit the
SQLite database while the daemon is stopped, to age registrations.
Prometheus text is parsed strictly by parse_metrics: every line must be a
comment or `name{labels} value`.
"""

import datetime
import json
import math
import os
import re
import sqlite3
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "channels"))

from channels_harness import (  # noqa: E402
    SOURCE_DIR, TOKEN, Daemon, consumer_body, orders_contract, schema_text)

__all__ = ["HealthDaemon", "SOURCE_DIR", "TOKEN", "chanctl", "consumer_body", "days_from_today",
           "orders_contract", "parse_metrics", "register_orders_schemas", "schema_text",
           "HealthTestCase"]

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s)(?:,%s)*\})? (\S+)$" % (NAME, LABEL, LABEL))
COMMENT = re.compile(r"^# (?:HELP %s .*|TYPE %s (?:counter|gauge|histogram|summary|untyped))$"
                     % (NAME, NAME))
LABEL_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """{(name, frozenset(labels.items())): value}; raises AssertionError on a bad line."""
    samples = {}
    for n, line in enumerate(text.split("\n"), 1):
        if line == "" and n == len(text.split("\n")):
            continue
        if line.startswith("#"):
            if not COMMENT.match(line):
                raise AssertionError("line %d is not a HELP/TYPE comment: %r" % (n, line))
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError("line %d is not `name{labels} value`: %r" % (n, line))
        value = float(m.group(3))  # accepts NaN, +Inf
        labels = frozenset(LABEL_PAIR.findall(m.group(2) or ""))
        key = (m.group(1), labels)
        if key in samples:
            raise AssertionError("line %d repeats a series: %r" % (n, line))
        samples[key] = value
    return samples


def days_from_today(days):
    return (datetime.datetime.now(datetime.timezone.utc).date()
            + datetime.timedelta(days=days)).isoformat()


def chanctl(*args, env=None):
    """Run chanctl; returns (exit code, stdout, stderr)."""
    binary = os.environ.get("CHANCTL")
    if not binary or not os.access(binary, os.X_OK):
        raise unittest.SkipTest("CHANCTL does not name the chanctl binary")
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("CHANREG_")}
    full_env.update(env or {})
    proc = subprocess.run([binary] + list(args), capture_output=True, text=True, env=full_env,
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


class HealthDaemon(Daemon):
    """A Daemon started with extra options; the store must be SQLite."""

    def __init__(self, extra_args=()):
        super().__init__()
        self.extra_args = list(extra_args)
        if not self.db.startswith("sqlite:"):
            raise unittest.SkipTest("the health tests edit a SQLite store")

    def start(self, timeout=20.0):
        binary = self.binary
        extra = self.extra_args

        # Daemon.start builds the command from self.binary; append the options
        # through a small wrapper script so that its logic stays in one place.
        wrapper = os.path.join(self.dir, "chanregd-wrapper.sh")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec %s \"$@\" %s\n" % (
                _quote(binary), " ".join(_quote(a) for a in extra)))
        os.chmod(wrapper, 0o755)
        self.binary = wrapper
        try:
            return super().start(timeout)
        finally:
            self.binary = binary

    def sql(self, statement, params=()):
        """Run one statement on the database file (the daemon must be stopped)."""
        assert self.proc is None, "stop the daemon before editing its database"
        con = sqlite3.connect(self.db[len("sqlite:"):])
        try:
            cur = con.execute(statement, params)
            con.commit()
            return cur.rowcount
        finally:
            con.close()

    def metrics(self):
        reply = self.request("GET", "/metrics", token=None)
        if reply.status != 200:
            raise AssertionError("GET /metrics: %r" % reply)
        ctype = reply.headers.get("Content-Type")
        if ctype != "text/plain; version=0.0.4; charset=utf-8":
            raise AssertionError("GET /metrics content type %r" % ctype)
        return parse_metrics(reply.body.decode("utf-8"))


def _quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


def register_orders_schemas(d, versions=(1, 2, 3)):
    for version in versions:
        reply = d.request("POST", "/subjects/orders.order-created-value/versions",
                          body={"schema": schema_text("orders.order-created-value", version)})
        if reply.status != 200:
            raise AssertionError("cannot register schema v%d: %r" % (version, reply))


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class HealthTestCase(unittest.TestCase):
    """Helpers; each test class starts its own daemons."""

    def start_daemon(self, extra_args=()):
        d = HealthDaemon(extra_args)
        d.start()
        self.addCleanup(self.check_stopped, d)
        return d

    def check_stopped(self, d):
        rc = d.stop()
        log = d.read_log()
        d.cleanup()
        if rc not in (0, None):
            raise AssertionError("chanregd exited with %r:\n%s" % (rc, log[-4000:]))
        if "runtime error" in log or "AddressSanitizer" in log or "LeakSanitizer" in log:
            raise AssertionError("sanitizer report in the daemon log:\n" + log[-6000:])

    def metric(self, samples, name, **labels):
        v = value(samples, name, **labels)
        self.assertIsNotNone(v, "no series %s%r in the scrape" % (name, labels))
        return v

    def assertClose(self, got, want, tol=1e-6):
        self.assertTrue(math.isclose(got, want, abs_tol=tol), "%r != %r" % (got, want))

    def wait_until(self, pred, timeout=5.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred():
                return True
            time.sleep(0.05)
        return pred()


def dumps(o):
    return json.dumps(o, indent=1, sort_keys=True)


def url_of(d):
    return "http://127.0.0.1:%d" % d.port


__all__ += ["value", "dumps", "url_of"]
