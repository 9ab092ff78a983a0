"""faults_harness.py - what the fault tests share: a PostgreSQL server of
their own (tests/support/pg_test_server.sh) that they crash, restart, stop
(SIGSTOP) and resume, and concurrent writers that record every write the
daemon acknowledged.
"""

import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import urllib.parse

from chanregd import PG_TEST_SERVER, avro_record, wait_for


class PgServer:
    """A throwaway PostgreSQL server with one database, "faults"."""

    def __init__(self):
        self.state = tempfile.mkdtemp(prefix="chanreg-pg-faults-")
        self.stopped = []
        self.holders = []
        subprocess.run([PG_TEST_SERVER, "start", self.state, "faults"], check=True,
                       stdout=subprocess.DEVNULL, timeout=180)
        self.url = self._read("url-faults")
        self.bindir = self._read("bindir")
        self.datadir = os.path.join(self._read("datadir"), "data")

    def _read(self, name):
        with open(os.path.join(self.state, name)) as f:
            return f.read().strip()

    def cleanup(self):
        """Resume what was stopped, end the lock holders, stop and remove the server."""
        self.resume()
        for p in self.holders:
            p.kill()
            p.wait(30)
        subprocess.run([PG_TEST_SERVER, "stop", self.state], stdout=subprocess.DEVNULL,
                       timeout=120)
        shutil.rmtree(self.state, True)

    def crash(self):
        subprocess.run([PG_TEST_SERVER, "crash", self.state], check=True, timeout=60)

    def restart(self):
        subprocess.run([PG_TEST_SERVER, "restart", self.state], check=True, timeout=120)

    def pids(self):
        """The postmaster and its children (backends, background workers)."""
        with open(os.path.join(self.datadir, "postmaster.pid")) as f:
            master = int(f.readline())
        children = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/stat" % entry) as f:
                    stat = f.read()
            except OSError:
                continue
            # pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == master:
                children.append(int(entry))
        return [master] + children

    def hang(self):
        """SIGSTOP the whole server: it keeps its sockets and accepts TCP
        connections, but never answers anything."""
        for pid in self.pids():  # the postmaster first: it forks no new backend
            try:
                os.kill(pid, signal.SIGSTOP)
            except ProcessLookupError:  # a backend that just ended
                continue
            self.stopped.append(pid)

    def resume(self):
        for pid in self.stopped:
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self.stopped = []

    def psql(self, sql):
        u = urllib.parse.urlsplit(self.url)
        out = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-A", "-t", "-h",
                              u.hostname, "-p", str(u.port), "-U", u.username, "-d",
                              u.path.lstrip("/"), "-c", sql], check=True, capture_output=True,
                             text=True, timeout=60)
        return out.stdout.strip()

    def hold_subject_lock(self, subject):
        """Hold the advisory lock that writers of subject take (the store's
        "subject:<name>" key), in a session of its own, until cleanup."""
        key = lock_key("subject:" + subject)
        u = urllib.parse.urlsplit(self.url)
        p = subprocess.Popen([os.path.join(self.bindir, "psql"), "-X", "-q", "-h", u.hostname,
                              "-p", str(u.port), "-U", u.username, "-d", u.path.lstrip("/"),
                              "-c", "SELECT pg_advisory_lock(%d)" % key,
                              "-c", "SELECT pg_sleep(3600)"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.holders.append(p)
        wait_for(lambda: self.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                                   "AND granted") != "0", what="the advisory lock")
        return key

    def lock_waiters(self):
        """Sessions waiting for an advisory lock."""
        return int(self.psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                             "AND NOT granted"))


def lock_key(text):
    """The store's lock key of text: FNV-1a 64 as a signed bigint."""
    h = 0xcbf29ce484222325
    for b in text.encode():
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h - (1 << 64) if h >= (1 << 63) else h


class Writers:
    """Threads that register new schemas through daemons until stopped,
    recording every acknowledged write: (subject, version, id, schema)."""

    def __init__(self, daemons, n_threads, subjects, prefix):
        self.daemons = daemons
        self.acked = []
        self.refused = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(i, subjects, prefix),
                                         daemon=True) for i in range(n_threads)]

    def start(self):
        # Every write is a new record type: no compatibility check may refuse it.
        r = self.daemons[0].put("/config", {"compatibility": "NONE"})
        assert r.status == 200, r
        for t in self.threads:
            t.start()
        return self

    def _run(self, i, subjects, prefix):
        n = 0
        while not self.stop.is_set():
            d = self.daemons[(i + n) % len(self.daemons)]
            subject = "%s-%d-value" % (prefix, (i + n) % subjects)
            schema = avro_record("W%d_%d" % (i, n), [("a", "int")])
            n += 1
            try:
                r = d.post("/subjects/%s/versions" % subject, {"schema": schema}, timeout=30)
            except OSError as e:  # the daemon went away: not acknowledged
                with self.lock:
                    self.refused.append(repr(e))
                continue
            with self.lock:
                if r.status == 200:
                    self.acked.append((subject, None, r.json["id"], schema))
                else:
                    self.refused.append(r)

    def count(self):
        """Acknowledged writes so far; fails at once on a refusal that is not
        the daemon going away (a JSON error reply)."""
        with self.lock:
            replies = [r for r in self.refused if not isinstance(r, str)]
            assert not replies, "writes refused: %r" % replies[:3]
            return len(self.acked)

    def join(self):
        self.stop.set()
        for t in self.threads:
            t.join(60)
            assert not t.is_alive(), "a writer did not finish"


def check_acknowledged(test, d, acked):
    """Every acknowledged write is in d's store: the schema under its id, and
    registered in its subject (same id); ids and versions without duplicates."""
    by_subject = {}
    for subject, _, sid, schema in acked:
        r = d.get("/schemas/ids/%d" % sid)
        test.assertEqual(r.status, 200, (sid, r))
        test.assertEqual(json.loads(r.json["schema"]), json.loads(schema))
        r = d.post("/subjects/%s" % subject, {"schema": schema})
        test.assertEqual(r.status, 200, (subject, r))
        test.assertEqual(r.json["id"], sid)
        by_subject.setdefault(subject, []).append(r.json["version"])
    test.assertEqual(len({a[2] for a in acked}), len(acked), "one id per distinct schema")
    for subject, versions in by_subject.items():
        test.assertEqual(len(set(versions)), len(versions), subject)
        listed = d.get("/subjects/%s/versions" % subject).json
        test.assertEqual(listed, list(range(1, len(listed) + 1)), subject)
        test.assertTrue(set(versions) <= set(listed), subject)
