#!/usr/bin/env python3
"""make_corpus.py - seed corpora of the fuzz harnesses (tests/fuzz/).

Usage: make_corpus.py SOURCE_DIR OUT_DIR

Writes OUT_DIR/contract/, OUT_DIR/avro/ and OUT_DIR/http/ afresh, one file
per seed named by the SHA-1 of its content:

  contract  every contract (*.yaml, *.yml, *.json) under contracts/ and
            tests/fixtures/contracts/
  avro      every *.avsc under schemas/ and tests/fixtures/, alone, and as
            pairs "OLD\\n----\\nNEW": the old/new schemas of each
            tests/fixtures/compat/<case>/ and consecutive versions of each
            subject
  http      one raw HTTP/1.1 request per route of registry/daemon/api_*.c
            (path parameters filled in, a fitting body for writes, the
            harness's token "fuzz"), plus a few malformed requests
"""

import hashlib
import json
import os
import re
import shutil
import sys

SEPARATOR = b"\n----\n"
TOKEN = "fuzz"


def files_under(root, suffixes):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if name.endswith(suffixes):
                out.append(os.path.join(dirpath, name))
    return out


def read(path):
    with open(path, "rb") as f:
        return f.read()


class Corpus:
    def __init__(self, out, name):
        self.dir = os.path.join(out, name)
        os.makedirs(self.dir)
        self.count = 0

    def add(self, data):
        name = hashlib.sha1(data).hexdigest()
        path = os.path.join(self.dir, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.count += 1


def request(method, path, body=None, content_type="application/json", token=TOKEN):
    head = ["%s %s HTTP/1.1" % (method, path), "Host: 127.0.0.1"]
    if token:
        head.append("Authorization: Bearer %s" % token)
    if body is not None:
        head.append("Content-Type: %s" % content_type)
        head.append("Content-Length: %d" % len(body))
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


def routes(src):
    pattern = re.compile(r'\{"(GET|POST|PUT|DELETE)",\s*"([^"]+)"')
    out = []
    for path in files_under(os.path.join(src, "registry", "daemon"), ("c",)):
        if os.path.basename(path).startswith("api_"):
            out += pattern.findall(read(path).decode())
    return out


def main():
    src, out = sys.argv[1], sys.argv[2]
    if os.path.isdir(out):
        shutil.rmtree(out)
    contract, avro, http = Corpus(out, "contract"), Corpus(out, "avro"), Corpus(out, "http")

    contracts = files_under(os.path.join(src, "contracts"), (".yaml", ".yml", ".json"))
    contracts += files_under(os.path.join(src, "tests", "fixtures", "contracts"),
                             (".yaml", ".yml", ".json"))
    for path in contracts:
        contract.add(read(path))

    schemas = files_under(os.path.join(src, "schemas"), (".avsc",))
    schemas += files_under(os.path.join(src, "tests", "fixtures"), (".avsc",))
    for path in schemas:
        avro.add(read(path))
    by_dir = {}
    for path in schemas:
        by_dir.setdefault(os.path.dirname(path), []).append(path)
    for paths in by_dir.values():
        names = {os.path.basename(p): p for p in paths}
        if "old.avsc" in names and "new.avsc" in names:
            avro.add(read(names["old.avsc"]) + SEPARATOR + read(names["new.avsc"]))
        versions = sorted(p for p in paths if re.search(r"/v\d+\.avsc$", p))
        for a, b in zip(versions, versions[1:]):
            avro.add(read(a) + SEPARATOR + read(b))

    # HTTP: every route with its parameters filled in.
    example_schema = read(os.path.join(src, "schemas", "orders.order-created-value", "v1.avsc"))
    example_contract = read(os.path.join(src, "contracts", "orders.order-created.yaml"))
    values = {"subject": "orders.order-created-value", "version": "1", "id": "1",
              "name": "orders.order-created", "consumer": "fraud", "principal": "User:fraud-svc"}
    schema_body = json.dumps({"schema": example_schema.decode()}).encode()
    consumer_body = json.dumps({
        "principal": "User:fraud-svc", "group": "fraud.order-created",
        "scenario": "Scores orders.", "sla_p99_ms": 1500, "peak_rate_msgs": 2000,
        "degradation": "fallback"}).encode()
    for method, pattern in routes(src):
        path = re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), pattern)
        body = None
        if method in ("POST", "PUT"):
            if pattern.startswith(("/subjects", "/compatibility")):
                body = schema_body
            elif pattern == "/v1/channels/{name}":
                body = example_contract
            elif pattern.endswith("/consumers/{consumer}"):
                body = consumer_body
            elif pattern.startswith("/config"):
                body = b'{"compatibility": "FULL"}'
            elif pattern.startswith("/mode"):
                body = b'{"mode": "READWRITE"}'
            elif pattern == "/v1/tokens":
                body = b'{"name": "ci", "role": "team", "team": "orders"}'
            else:
                body = b"{}"
        http.add(request(method, path, body,
                         "application/yaml" if body is example_contract else "application/json"))
        http.add(request(method, path + "?dry_run=true&verbose=true", body))
    for path in contracts[:8]:
        name = os.path.basename(path).split(".yaml")[0]
        http.add(request("PUT", "/v1/channels/" + name, read(path), "application/yaml"))
    for path in schemas[:16]:
        http.add(request("POST", "/subjects/fuzz-value/versions",
                         json.dumps({"schema": read(path).decode()}).encode()))
    http.add(request("GET", "/subjects", token=None))
    http.add(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n")
    http.add(b"GET /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
             b"5\r\nhello\r\n0\r\n\r\n")
    http.add(request("GET", "/healthz") + request("GET", "/subjects"))
    print("corpus: %d contract, %d avro, %d http seeds in %s"
          % (contract.count, avro.count, http.count, out))


if __name__ == "__main__":
    main()
