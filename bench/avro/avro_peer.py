#!/usr/bin/env python3
"""avro_peer.py - the Python Avro reference of bench_avro.

Parses both schemas of each pair (avro.schema.parse) and, when the installed
avro package has avro.compatibility, checks that the reader can read the
writer; the same work and the same corpora as chanreg's figure, timed inside
this process after a warm-up pass.

Usage: avro_peer.py SECONDS CORPUS_FILE...
A corpus file holds one schema per line, writer and reader alternating.
Prints "mode check" or "mode parse-only" first, then per corpus:
"<file> <pairs per second> <incompatible pairs>", the best of three rounds.
"""
import sys
import time

import avro.schema

try:
    from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
except ImportError:  # an avro package without the checker: parse only
    ReaderWriterCompatibilityChecker = None


def one_pass(lines):
    incompatible = 0
    for i in range(0, len(lines) - 1, 2):
        writer = avro.schema.parse(lines[i])
        reader = avro.schema.parse(lines[i + 1])
        if ReaderWriterCompatibilityChecker is not None:
            result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
            if result.compatibility is not SchemaCompatibilityType.compatible:
                incompatible += 1
    return incompatible


def timed(lines, budget):
    t0 = time.perf_counter()
    pairs = 0
    while True:
        incompatible = one_pass(lines)
        pairs += len(lines) // 2
        t = time.perf_counter() - t0
        if t >= budget:
            return pairs / t, incompatible


def main():
    budget = float(sys.argv[1])
    # avro's parser recurses several frames per nested record: 200 nested
    # records pass Python's default limit of 1,000 frames.
    sys.setrecursionlimit(20000)
    print("mode " + ("check" if ReaderWriterCompatibilityChecker is not None else "parse-only"))
    for path in sys.argv[2:]:
        with open(path, encoding="utf-8") as f:
            lines = [line.rstrip("\n") for line in f if line.strip()]
        try:
            one_pass(lines)  # warm-up
            # the best of three rounds, as bench_avro and AvroPeer count
            rate, incompatible = max(timed(lines, budget) for _ in range(3))
        except Exception as e:  # noqa: BLE001 - reported, the other corpora still run
            print("%s failed: %s" % (path, str(e)[:200]), flush=True)
            continue
        print("%s %.1f %d" % (path, rate, incompatible), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
