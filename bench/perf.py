#!/usr/bin/env python3
"""perf.py - the figures of bench/run.sh, each next to a reference measured
in the same run (see bench/run.sh for usage and docs/performance.md).

For each store backend it starts the built chanregd, loads it (schemas,
subjects, channels), and measures with wrk over loopback; every HTTP figure
is compared with bench_ceiling serving the very bytes chanregd answered, in
the same threading mode.  Registration figures come from the same daemon:
version N against version 10 of one subject, and the p99 against the p50 of
64 concurrent writers.  Prints one table.
"""

import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOKEN = "bench-token"

MODES = {
    # wrk seconds, schemas for id lookups, subjects, channels, chain versions, big chain
    "quick": dict(dur=3, ids=500, subjects=2000, channels=1000, chain=200, big=0),
    "full": dict(dur=10, ids=2000, subjects=10000, channels=1000, chain=1000, big=300),
}

# The figures run.sh can select (its fourth argument, comma-separated).
FIGURES = ("http", "writers", "chain", "big", "avro")
# Runs of each HTTP figure and of its ceiling, in turn (the best of each counts).
ROUNDS = 2


class Daemon:
    def __init__(self, binary, db, work, name, extra=()):
        self.work = work
        port_file = os.path.join(work, name + ".port")
        self.log = open(os.path.join(work, name + ".log"), "w")
        self.proc = subprocess.Popen(
            [binary, "--listen", "127.0.0.1:0", "--port-file", port_file, "--db", db,
             "--token", TOKEN, "--log-level", "warn", *extra],
            stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("perf.py: %s exited (log in %s)" % (binary, self.log.name))
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.port = int(open(port_file).read())
                try:
                    if self.request("GET", "/healthz")[0] == 200:
                        break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            raise SystemExit("perf.py: %s did not start" % binary)
        self.url = "http://127.0.0.1:%d" % self.port
        self.conn = None
        self.conn_used = 0.0

    def request(self, method, path, body=None, raw=False):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Authorization": "Bearer " + TOKEN, "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, data, headers)
        resp = conn.getresponse()
        payload = resp.read()
        conn.close()
        return resp.status, payload if raw else (json.loads(payload) if payload else None)

    def keepalive(self, method, path, body):
        # a connection left idle (while wrk ran) may have been closed by
        # chanregd's idle timeout: open a new one rather than resend
        if self.conn is not None and time.monotonic() - self.conn_used > 5:
            self.conn.close()
            self.conn = None
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        self.conn_used = time.monotonic()
        self.conn.request(method, path, json.dumps(body),
                          {"Authorization": "Bearer " + TOKEN,
                           "Content-Type": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status not in (200, 201):
            raise SystemExit("perf.py: %s %s: HTTP %d %s" % (method, path, resp.status, data[:300]))
        return json.loads(data)

    def rss_kb(self, field="VmRSS"):
        """Resident memory in kB; field "VmHWM" gives the peak so far."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        if self.conn:
            self.conn.close()
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def record(name, fields):
    return {"type": "record", "name": name, "namespace": "bench", "fields": fields}


def schema_text(obj):
    return json.dumps(obj, separators=(",", ":"))


def wrk(url, dur, script=None, args=(), connections=64, path=""):
    cmd = ["wrk", "-t", "2", "-c", str(connections), "-d", "%ds" % dur, "--latency"]
    if script:
        cmd += ["-s", script]
    cmd.append(url + path)
    if args:
        cmd += ["--", *[str(a) for a in args]]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=dur * 10 + 60).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def lat(p):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)\s*$" % p, out, re.M)
        if not m:
            return None
        return float(m.group(1)) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[m.group(2)]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rate": rate, "p50": lat(50), "p99": lat(99),
            "errors": int(non2xx.group(1)) if non2xx else 0,
            "sock": sum(int(x) for x in sock.groups()) if sock else 0}


def ceiling_rate(build, work, body, dur, method="GET", connections=64, script=None,
                 script_args=()):
    """wrk against bench_ceiling answering `body` (bytes); a GET script of the
    figure (e.g. random ids) runs against it too, so that both sides pay the
    same client cost."""
    body_file = os.path.join(work, "ceiling.body")
    port_file = os.path.join(work, "ceiling.port")
    with open(body_file, "wb") as f:
        f.write(body)
    if os.path.exists(port_file):
        os.unlink(port_file)
    proc = subprocess.Popen([os.path.join(build, "bench", "ceiling", "bench_ceiling"), body_file,
                             port_file, "4"])
    try:
        deadline = time.monotonic() + 20
        while not (os.path.exists(port_file) and open(port_file).read().strip()):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("perf.py: bench_ceiling did not start")
            time.sleep(0.02)
        url = "http://127.0.0.1:%s" % open(port_file).read().strip()
        if method == "POST":
            script = os.path.join(work, "post.lua")
            with open(script, "w") as f:
                f.write('wrk.method = "POST"\nwrk.body = "{}"\n'
                        'wrk.headers["Content-Type"] = "application/json"\n')
        return wrk(url, dur, script, script_args, connections=connections)
    finally:
        proc.terminate()
        proc.wait()


def post_script(work, name, body):
    path = os.path.join(work, name + ".lua")
    with open(path, "w") as f:
        f.write('wrk.method = "POST"\nwrk.body = %s\n'
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Authorization"] = "Bearer %s"\n' % (json.dumps(json.dumps(body)),
                                                                   TOKEN))
    return path


def load(d, cfg, say):
    """Schemas for id lookups, subjects for the list, channels."""
    say("loading %d schemas, %d subjects, %d channels" % (cfg["ids"], cfg["subjects"],
                                                           cfg["channels"]))
    ids = []
    for i in range(cfg["ids"]):
        s = record("Preload", [{"name": "id", "type": "long"},
                               {"name": "p%d" % i, "type": "string", "default": "",
                                "deprecated": True}])
        ids.append(d.keepalive("POST", "/subjects/preload-%d/versions" % (i % 100),
                               {"schema": schema_text(s)})["id"])
    for i in range(cfg["subjects"]):
        d.keepalive("POST", "/subjects/list-%05d-value/versions" % i, {"schema": '"string"'})
    d.keepalive("POST", "/subjects/bench.channel-value/versions",
                {"schema": schema_text(record("Channel", [{"name": "id", "type": "long"}]))})
    for i in range(cfg["channels"]):
        name = "bench.ch-%04d" % i
        contract = {
            "apiVersion": "chanreg/v1", "channel": name,
            "description": "Benchmark channel.",
            "owner": {"team": "team-%d" % (i % 20), "maintainer": "m%d@example.com" % (i % 50)},
            "peak_qps": 100, "retention_hours": 24,
            "schema": {"subject": "bench.channel-value", "compatibility": "BACKWARD",
                       "versions": [{"version": 1}]},
            "consumers": [{"name": "c%d" % k, "principal": "User:c%d" % k,
                           "group": "%s.c%d" % (name, k), "scenario": "Reads it.",
                           "sla_p99_ms": 1000, "peak_rate_msgs": 10, "degradation": "lag"}
                          for k in range(2)],
            "producers": [{"principal": "User:p"}],
        }
        d.keepalive("PUT", "/v1/channels/" + name, contract)
    return min(ids), max(ids)


def register_timed(d, subject, schema):
    """Register schema (an object) under subject; the seconds it took."""
    body = {"schema": schema_text(schema)}
    t0 = time.perf_counter()
    d.keepalive("POST", "/subjects/%s/versions" % subject, body)
    return time.perf_counter() - t0


def chain_costs(d, subject, n, make, say):
    """Register versions 1..n of subject (BACKWARD_TRANSITIVE); seconds per version."""
    d.keepalive("PUT", "/config/" + subject, {"compatibility": "BACKWARD_TRANSITIVE"})
    times = []
    for v in range(1, n + 1):
        times.append(register_timed(d, subject, make(v)))
        if v % 100 == 0:
            say("  %s: version %d" % (subject, v))
    return times


def chain_ratio(d, n, say, rounds=21):
    """Register versions 1..n of "chain-value" and 1..10 of "chain-ref"
    (BACKWARD_TRANSITIVE), then the next `rounds` versions of both, one of
    each in turn: the median cost at n versions and at 10 versions, measured
    in the same stretch of time (the machine's speed drifts over a run)."""
    chain_costs(d, "chain-value", n, small_version, say)
    chain_costs(d, "chain-ref", 10, small_version, say)
    at_n, at_10 = [], []
    for k in range(1, rounds + 1):
        for subject, v, times in (("chain-value", n + k, at_n), ("chain-ref", 10 + k, at_10)):
            times.append(register_timed(d, subject, small_version(v)))
    return median_ms(at_n), median_ms(at_10)


def small_version(v):
    """About 450 bytes whatever v: fixed fields plus one unique optional field,
    marked deprecated so that the next version may drop it."""
    fields = [{"name": "k%d" % k, "type": ["null", "string"], "default": None}
              for k in range(9)]
    fields.append({"name": "u%d" % v, "type": "string", "default": "", "deprecated": True})
    return record("Chain", fields)


def big_version(v):
    """About 34 KB: 300 documented optional fields plus one unique one."""
    fields = [{"name": "g%04d" % k, "type": ["null", "string"], "default": None,
               "doc": "field %d of the big schema, documented" % k} for k in range(300)]
    fields.append({"name": "v%d" % v, "type": "string", "default": "", "deprecated": True})
    return record("Big", fields)


def median_ms(xs):
    return statistics.median(xs) * 1000.0


def bench_backend(backend, db, build, work, cfg, rows, say, figures):
    chanregd = os.path.join(build, "registry", "daemon", "chanregd")
    d = Daemon(chanregd, db, work, "chanregd-" + backend)
    try:
        rss_start = d.rss_kb()
        if "http" in figures:
            http_figures(d, chanregd, db, backend, build, work, cfg, rows, say)
        if "writers" in figures:
            writer_figures(d, backend, build, work, cfg, rows, say)
        if "chain" in figures:
            say("%s: registering %d versions of one subject (BACKWARD_TRANSITIVE)" % (
                backend, cfg["chain"]))
            vn, v10 = chain_ratio(d, cfg["chain"], say)
            rows.append((backend, "register after %d versions / after 10 (<= 3)" % cfg["chain"],
                         "%.2f ms" % vn, "%.2f ms" % v10, vn / v10, 0))
        if "big" in figures and cfg["big"]:
            say("%s: %d versions of a %d-byte schema" % (backend, cfg["big"],
                                                          len(schema_text(big_version(1)))))
            times = chain_costs(d, "big-value", cfg["big"], big_version, say)
            last, v10 = median_ms(times[-5:]), median_ms(times[7:12])
            rows.append((backend, "register big version %d (< 50 ms)" % cfg["big"],
                         "%.2f ms" % last, "version 10: %.2f ms" % v10, last / v10, 0))
        rss, peak = d.rss_kb(), d.rss_kb("VmHWM")
        rows.append((backend, "chanregd RSS after the run (< 150 MB)", "%.0f MB" % (rss / 1024.0),
                     "at start %.0f MB" % (rss_start / 1024.0), rss / max(rss_start, 1), 0))
        rows.append((backend, "chanregd peak RSS during the run (< 150 MB)",
                     "%.0f MB" % (peak / 1024.0), "at start %.0f MB" % (rss_start / 1024.0),
                     peak / max(rss_start, 1), 0))
    finally:
        d.stop()


def http_figures(d, chanregd, db, backend, build, work, cfg, rows, say):
    first, last = load(d, cfg, say)
    dur = cfg["dur"]

    refs = {}

    def http_figure(name, path, method="GET", body=None, script_args=None, script=None,
                    connections=64, target=d, ref_of=None):
        """One figure against its ceiling; ref_of names an earlier figure of the
        same bytes whose ceiling is reused."""
        status, reply = target.request(method, path, body, raw=True)
        if status != 200:
            raise SystemExit("perf.py: %s %s: HTTP %d" % (method, path, status))
        if script is None and method == "POST":
            script = post_script(work, "fig", body)
        # chanregd and its ceiling in turn, ROUNDS times, the best rate of
        # each: the machine's speed drifts over seconds, and one pair of runs
        # would put that drift into the ratio.
        got, ref, errors = None, refs.get(ref_of), 0
        for _ in range(ROUNDS):
            g = wrk(target.url, dur, script, script_args or (), connections=connections,
                    path="" if script_args else path)
            errors += g["errors"] + g["sock"]
            got = g if got is None or g["rate"] > got["rate"] else got
            if ref_of is None:
                r = ceiling_rate(build, work, reply, dur, method, connections,
                                 script if method == "GET" else None, script_args or ())
                ref = r if ref is None or r["rate"] > ref["rate"] else ref
        refs[name] = ref
        rows.append((backend, name, "%.0f/s" % got["rate"], "ceiling %.0f/s (%d B)" % (
            ref["rate"], len(reply)), got["rate"] / ref["rate"], errors))
        say("  %-40s %8.0f/s  ceiling %8.0f/s" % (name, got["rate"], ref["rate"]))

    say("%s: HTTP figures, wrk %ds each, best of %d runs against as many of the ceiling" % (
        backend, dur, ROUNDS))
    http_figure("GET /schemas/ids/{id}", "/schemas/ids/%d" % first,
                script=os.path.join(HERE, "http", "lookup_ids.lua"), script_args=(first, last))
    http_figure("GET latest version", "/subjects/preload-1/versions/latest")
    latest = d.request("GET", "/subjects/preload-1/versions/latest")[1]
    http_figure("POST /subjects/{s} lookup", "/subjects/preload-1", "POST",
                {"schema": latest["schema"]})
    http_figure("GET /v1/channels/{name}", "/v1/channels/bench.ch-0500")
    # Replies of a megabyte: fewer connections, so that none waits past wrk's 2 s timeout.
    channels = "GET /v1/channels, %d channels" % cfg["channels"]
    subjects = "GET /subjects, %d subjects" % (cfg["subjects"] + 100 + 1)
    http_figure(channels, "/v1/channels?limit=1000", connections=8)
    http_figure(subjects, "/subjects", connections=8)
    # The same lists without the reply cache (a second daemon on the same
    # store, --reply-cache-mb 0): what every request costs when the store
    # changes between them.  The ceiling serves the same bytes as above.
    u = Daemon(chanregd, db, work, "chanregd-uncached-" + backend,
               extra=("--reply-cache-mb", "0"))
    try:
        http_figure("  uncached (--reply-cache-mb 0): /v1/channels", "/v1/channels?limit=1000",
                    connections=8, target=u, ref_of=channels)
        http_figure("  uncached (--reply-cache-mb 0): /subjects", "/subjects", connections=8,
                    target=u, ref_of=subjects)
    finally:
        u.stop()


def writer_figures(d, backend, build, work, cfg, rows, say):
    dur = cfg["dur"]
    say("%s: registrations, 64 concurrent writers" % backend)
    reg = wrk(d.url, dur, os.path.join(HERE, "http", "register.lua"), (500, TOKEN, backend))
    ref = ceiling_rate(build, work, b'{"id":1}', dur, "POST")
    rows.append((backend, "POST register, 64 writers", "%.0f/s" % reg["rate"],
                 "ceiling %.0f/s" % ref["rate"], reg["rate"] / ref["rate"],
                 reg["errors"] + reg["sock"]))
    if reg["p50"] and reg["p99"]:
        rows.append((backend, "  register p99 / p50 (target <= 10)",
                     "p99 %.1f ms" % reg["p99"], "p50 %.1f ms" % reg["p50"],
                     reg["p99"] / reg["p50"], reg["errors"] + reg["sock"]))


def avro_figures(build, cfg, rows, say):
    prog = os.path.join(build, "bench", "avro", "bench_avro")
    if not os.path.exists(prog):
        return
    out = subprocess.run([prog, "0.3" if cfg["dur"] < 5 else "1.0"], capture_output=True,
                         text=True, timeout=600).stdout
    for line in out.splitlines():
        say("  avro: " + line)
    # bench_avro runs the Java and Python peers itself; its table of "parse
    # both + check" becomes rows here (corpus: new, stored, java, new/java,
    # python, new/py, stored/java, incompatible).
    def rate(v):
        return float(v[:-2]) if v.endswith("/s") else 0.0

    found = False
    lines = out.splitlines()
    table = [i for i, line in enumerate(lines) if line.startswith("parse both + check")]
    lines = lines[table[0]:] if table else []
    for corpus in ("small (1,000 pairs)", "1,000 fields", "200 nested records"):
        for line in lines:
            if not line.startswith(corpus):
                continue
            cols = line[len(corpus):].split()
            if len(cols) < 7 or not (cols[0].endswith("/s") or cols[0] == "-"):
                continue
            found = True
            new, java, python = rate(cols[0]), rate(cols[2]), rate(cols[4])
            rows.append(("-", "Avro parse both + check, %s (>= 1.0)" % corpus, cols[0],
                         "java %s" % cols[2] if java else "java: not installed",
                         new / java if java else 0.0, 0))
            rows.append(("-", "  same, stored texts (no Avro C gate)", cols[1],
                         "java %s" % cols[2] if java else "java: not installed",
                         rate(cols[1]) / java if java else 0.0, 0))
            rows.append(("-", "  same, against Python avro", cols[0],
                         "python %s" % cols[4] if python else "python: not installed",
                         new / python if python else 0.0, 0))
    if not found:
        rows.append(("-", "Avro parse both + check (bench_avro)", "-",
                     "no figure: see bench_avro's output", 0.0, 0))
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = os.path.abspath(sys.argv[1])
    mode = sys.argv[2] if len(sys.argv) > 2 else "quick"
    backends = sys.argv[3] if len(sys.argv) > 3 else "all"
    figures = sys.argv[4] if len(sys.argv) > 4 else "all"
    figures = set(FIGURES if figures == "all" else figures.split(","))
    if not figures <= set(FIGURES):
        raise SystemExit("perf.py: unknown figures %s (of %s)" % (
            ",".join(sorted(figures - set(FIGURES))), ",".join(FIGURES)))
    cfg = MODES[mode]
    for tool in ("wrk",):
        if shutil.which(tool) is None:
            raise SystemExit("perf.py: %s not found" % tool)
    work = tempfile.mkdtemp(prefix="chanreg-perf-")
    rows = []
    say = lambda m: print("==> " + m, file=sys.stderr, flush=True)  # noqa: E731
    load_start = open("/proc/loadavg").read().split()[0]
    started = time.monotonic()
    pg_dir = os.path.join(work, "pg")
    pg_script = os.path.join(ROOT, "tests", "support", "pg_test_server.sh")
    try:
        if backends in ("all", "sqlite"):
            bench_backend("sqlite", "sqlite:" + os.path.join(work, "bench.db"), build, work,
                          cfg, rows, say, figures)
        if backends in ("all", "postgres"):
            subprocess.run([pg_script, "start", pg_dir, "chanreg_bench"], check=True,
                           stdout=sys.stderr)
            try:
                bench_backend("postgres", open(os.path.join(pg_dir, "url")).read().strip(),
                              build, work, cfg, rows, say, figures)
            finally:
                subprocess.run([pg_script, "stop", pg_dir], stdout=sys.stderr)
        avro_out = avro_figures(build, cfg, rows, say) if "avro" in figures else None
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print()
    print("chanreg benchmark, %s mode, %s, %d cores, load %s at start, %.0f s" % (
        mode, time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.cpu_count(), load_start,
        time.monotonic() - started))
    print("| backend | figure | chanregd | reference (same run) | ratio | errors |")
    print("|---|---|---|---|---|---|")
    for b, name, got, ref, ratio, errors in rows:
        print("| %s | %s | %s | %s | %s | %d |" % (b, name, got, ref,
                                                  "%.3f" % ratio if ratio else "-", errors))
    if avro_out:
        print()
        print("bench_avro (checks on schemas parsed once, against the parse of the same"
              " schemas; then parse both + check against the Java and Python Avro libraries):")
        for line in avro_out.splitlines():
            print("    " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
