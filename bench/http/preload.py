"""preload.py - register N distinct schemas in a running chanregd.

Usage: preload.py URL N SUBJECTS [TOKEN]

Registers N schemas spread over SUBJECTS subjects through the Confluent API
(POST /subjects/{s}/versions) over one keep-alive connection and prints the
smallest and the largest schema id it got back ("FIRST LAST"), the id range
that lookup_ids.lua then reads.  Each schema adds one optional field marked
deprecated (as register.lua does), so consecutive versions of a subject are
compatible and obey the field-removal rule.  Exits non-zero on the first
refusal.
"""

import http.client
import json
import sys
import urllib.parse


def main():
    url, n, subjects = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    token = sys.argv[4] if len(sys.argv) > 4 else ""
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    ids = []
    for i in range(n):
        schema = {
            "type": "record",
            "name": "Preload",
            "namespace": "bench",
            "fields": [
                {"name": "id", "type": "long"},
                {"name": "p%d" % i, "type": "string", "default": "", "deprecated": True},
            ],
        }
        body = json.dumps({"schema": json.dumps(schema, separators=(",", ":"))})
        conn.request("POST", "/subjects/preload-%d/versions" % (i % subjects), body, headers)
        resp = conn.getresponse()
        data = resp.read()
        if resp.status != 200:
            sys.stderr.write("preload: HTTP %d: %s\n" % (resp.status, data.decode(errors="replace")))
            return 1
        ids.append(json.loads(data)["id"])
    print(min(ids), max(ids))
    return 0


if __name__ == "__main__":
    sys.exit(main())
