"""health_harness.py - chanregd and chanctl for the contract health tests.

HealthDaemon is the shared harness's Chanregd (tests/support/chanregd.py)
with the token file of the channels API tests, always on SQLite: it adds a
way to edit the database while the daemon is stopped, to age registrations,
and a strict scrape of /metrics.  Prometheus text is parsed strictly by
parse_metrics: every line must be a comment or `name{labels} value`.
"""

import datetime
import json
import math
import os
import re
import sqlite3
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "channels"))

from chanregd import SOURCE_DIR, Chanregd, ChanregdTestCase, wait_for  # noqa: E402
from chanregd import chanctl as run_chanctl  # noqa: E402
from channels_harness import (  # noqa: E402
    TOKEN, TOKENS, consumer_body, orders_contract, register_orders_schemas, schema_text)

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
    r = run_chanctl(*args, env=env)
    return r.returncode, r.stdout, r.stderr


class HealthDaemon(Chanregd):
    """chanregd with extra options, on a SQLite store that sql() can edit."""

    def __init__(self, *args):
        super().__init__(*args, tokens=TOKENS, pg=False, name="health")

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


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())))


class HealthTestCase(ChanregdTestCase):
    """Helpers; each test class starts its own daemons."""

    def start_daemon(self, extra_args=()):
        d = HealthDaemon(*extra_args)
        self.addCleanup(self.check_daemon, d)
        return d.start()

    def metric(self, samples, name, **labels):
        v = value(samples, name, **labels)
        self.assertIsNotNone(v, "no series %s%r in the scrape" % (name, labels))
        return v

    def assertClose(self, got, want, tol=1e-6):
        self.assertTrue(math.isclose(got, want, abs_tol=tol), "%r != %r" % (got, want))

    def wait_until(self, pred, timeout=5.0):
        """True once pred() is (polled until timeout), else False."""
        try:
            return wait_for(pred, timeout=timeout)
        except AssertionError:
            return False


def dumps(o):
    return json.dumps(o, indent=1, sort_keys=True)


def url_of(d):
    return "http://127.0.0.1:%d" % d.port


__all__ += ["value", "dumps", "url_of"]
