#!/usr/bin/python3
"""kafka_acl_peer.py - a single-node Kafka-protocol peer for the admission tests.

It speaks the real Kafka wire format of exactly the five APIs that an admin
client needs to manage ACLs, at the versions it advertises:

    ApiVersions   (18)  v0-v3   (v3 is the flexible encoding librdkafka sends first)
    Metadata      (3)   v0-v4   (this node is the only broker and the controller)
    CreateAcls    (30)  v0-v1
    DescribeAcls  (29)  v0-v1
    DeleteAcls    (31)  v0-v1
    DescribeConfigs (32) v0-v1  (topics: dynamic configs and the broker defaults)
    CreateTopics  (19)  v0-v2   (one node: replication factor 1; configs kept as
                                 the topic's dynamic configs)
    AlterConfigs  (33)  v0-v1   (topics: REPLACES every dynamic config of the
                                 topic with the request's set, as Kafka does, so
                                 a client that sends only the changed config
                                 loses the others)

ACLs live in memory with Kafka's semantics: creating an existing binding is a
no-op, filters match as AclBindingFilter does (ANY, MATCH with the "*"
wildcard and prefixes, LITERAL, PREFIXED), invalid bindings and filters get
INVALID_REQUEST (42).  Topics live in memory too (name -> partition count):
Metadata for all topics (a null list, or an empty one in v0) lists every
stored topic with its partitions led by this node; asked by name, an unknown
topic gets UNKNOWN_TOPIC_OR_PARTITION (3).  It does no authentication or
authorization and answers other APIs by closing the connection, like a
broker that does not know the request.

A second loopback port takes one-line commands so that a test can inject
faults and read what the peer saw; each command gets one JSON line back:

    fail <describe|create|delete> <error_code> [message]   answer with an error
    fail metadata <error_code>              answer every topic of a Metadata
                                            request with that error (e.g. 29,
                                            TOPIC_AUTHORIZATION_FAILED)
    fail <describeconfigs|alterconfigs|createtopics> <error_code> [message]
                                            answer every resource with an error
    topic <name> [partitions]               create a topic (default 1 partition)
    config <topic> <key> <value>            set one dynamic config of a topic
    configs <topic>                         the dynamic configs of a topic
    untopic <name>                          delete a topic
    topics                                  the stored topics
    delay <describe|create|delete|metadata|apiversions> <ms>  answer late
    hold <describe|create|delete|metadata|apiversions>  answer only after
                                            release (at most HOLD_LIMIT s)
    release                                 answer the held requests
    clear                                   drop failures, delays and holds
    stats                                   request counts (received, held
                                            now, answered) and ACL changes
    acls                                    the stored ACLs
    reset                                   clear ACLs, counters, faults

Usage: kafka_acl_peer.py --ready-file FILE [--host 127.0.0.1] [--port N]
The peer binds two free ports (the Kafka one is N when given, so that a test
can stop the peer and start it again at the same address) and writes
"BROKER_PORT CONTROL_PORT\n" to FILE once it accepts connections.  It exits on SIGTERM or when its standard
input reaches end of file (so that it never outlives the test that runs it).
"""

import argparse
import json
import os
import signal
import socket
import socketserver
import struct
import sys
import threading
import time

HOLD_LIMIT = 120.0  # seconds a held request waits at most for `release`

API_METADATA = 3
API_APIVERSIONS = 18
API_DESCRIBE_ACLS = 29
API_CREATE_ACLS = 30
API_DELETE_ACLS = 31
API_CREATE_TOPICS = 19
API_DESCRIBE_CONFIGS = 32
API_ALTER_CONFIGS = 33

SUPPORTED = {
    API_METADATA: (0, 4),
    API_APIVERSIONS: (0, 3),
    API_DESCRIBE_ACLS: (0, 1),
    API_CREATE_ACLS: (0, 1),
    API_DELETE_ACLS: (0, 1),
    API_DESCRIBE_CONFIGS: (0, 1),
    API_ALTER_CONFIGS: (0, 1),
    API_CREATE_TOPICS: (0, 2),
}
API_NAMES = {
    API_METADATA: "Metadata",
    API_APIVERSIONS: "ApiVersions",
    API_DESCRIBE_ACLS: "DescribeAcls",
    API_CREATE_ACLS: "CreateAcls",
    API_DELETE_ACLS: "DeleteAcls",
    API_DESCRIBE_CONFIGS: "DescribeConfigs",
    API_ALTER_CONFIGS: "AlterConfigs",
    API_CREATE_TOPICS: "CreateTopics",
}
FAULT_KEYS = {
    "describe": API_DESCRIBE_ACLS,
    "create": API_CREATE_ACLS,
    "delete": API_DELETE_ACLS,
    "metadata": API_METADATA,
    "apiversions": API_APIVERSIONS,
    "describeconfigs": API_DESCRIBE_CONFIGS,
    "alterconfigs": API_ALTER_CONFIGS,
    "createtopics": API_CREATE_TOPICS,
}

RES_TYPE_TOPIC = 2
SOURCE_DYNAMIC_TOPIC = 1
SOURCE_DEFAULT = 5
ERR_INVALID_CONFIG = 40
ERR_TOPIC_EXISTS = 36
ERR_INVALID_PARTITIONS = 37
ERR_INVALID_REPLICATION = 38
# The topic configs the peer knows, with the broker's defaults.
TOPIC_DEFAULTS = {
    "cleanup.policy": "delete",
    "compression.type": "producer",
    "max.message.bytes": "1048588",
    "min.insync.replicas": "1",
    "retention.bytes": "-1",
    "retention.ms": "604800000",
    "segment.ms": "604800000",
}

# Kafka enum values
RES_UNKNOWN, RES_ANY, RES_TOPIC, RES_GROUP, RES_CLUSTER, RES_TXN, RES_TOKEN = range(7)
PAT_UNKNOWN, PAT_ANY, PAT_MATCH, PAT_LITERAL, PAT_PREFIXED = range(5)
OP_UNKNOWN, OP_ANY = 0, 1
OP_MAX = 12
PERM_UNKNOWN, PERM_ANY, PERM_DENY, PERM_ALLOW = range(4)

ERR_NONE = 0
ERR_UNSUPPORTED_VERSION = 35
ERR_INVALID_REQUEST = 42
ERR_UNKNOWN_TOPIC = 3


class ProtocolError(Exception):
    pass


class Reader:
    def __init__(self, data):
        self.data = data
        self.pos = 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ProtocolError("truncated request")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def int8(self):
        return struct.unpack(">b", self.take(1))[0]

    def int16(self):
        return struct.unpack(">h", self.take(2))[0]

    def int32(self):
        return struct.unpack(">i", self.take(4))[0]

    def uvarint(self):
        shift = 0
        value = 0
        while True:
            b = self.take(1)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
            shift += 7
            if shift > 28:
                raise ProtocolError("varint too long")

    def nullable_string(self):
        n = self.int16()
        if n < 0:
            return None
        return self.take(n).decode("utf-8")

    def string(self):
        s = self.nullable_string()
        if s is None:
            raise ProtocolError("null where a string is required")
        return s

    def compact_nullable_string(self):
        n = self.uvarint()
        if n == 0:
            return None
        return self.take(n - 1).decode("utf-8")

    def tagged_fields(self):
        for _ in range(self.uvarint()):
            self.uvarint()
            self.take(self.uvarint())

    def array_len(self):
        n = self.int32()
        if n > 100000:
            raise ProtocolError("array too long")
        return n


class Writer:
    def __init__(self):
        self.parts = []

    def int8(self, v):
        self.parts.append(struct.pack(">b", v))

    def int16(self, v):
        self.parts.append(struct.pack(">h", v))

    def int32(self, v):
        self.parts.append(struct.pack(">i", v))

    def boolean(self, v):
        self.parts.append(b"\x01" if v else b"\x00")

    def uvarint(self, v):
        out = bytearray()
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                out.append(b | 0x80)
            else:
                out.append(b)
                break
        self.parts.append(bytes(out))

    def nullable_string(self, s):
        if s is None:
            self.int16(-1)
            return
        raw = s.encode("utf-8")
        self.int16(len(raw))
        self.parts.append(raw)

    string = nullable_string

    def bytes(self):
        return b"".join(self.parts)


def principal_ok(p):
    if not p or ":" not in p:
        return False
    kind, _, name = p.partition(":")
    return bool(kind) and bool(name)


class AclStore:
    """Bindings are tuples (restype, name, pattern, principal, host, op, perm)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.released = threading.Condition(self.lock)
        self.reset()

    def reset(self):
        self.acls = set()
        self.topics = {}
        self.topic_configs = {}  # topic -> {key: value}, the dynamic configs
        self.alters = 0
        self.created_topics = 0
        self.requests = {}
        self.held = {}
        self.answered = {}
        self.hold = set()
        self.versions = {}
        self.created = 0
        self.deleted = 0
        self.faults = {}
        self.delays = {}

    @staticmethod
    def validate_binding(b):
        restype, name, pattern, principal, host, op, perm = b
        if restype not in (RES_TOPIC, RES_GROUP, RES_CLUSTER, RES_TXN, RES_TOKEN):
            return "invalid resource type"
        if pattern not in (PAT_LITERAL, PAT_PREFIXED):
            return "invalid resource pattern type"
        if not name:
            return "empty resource name"
        if restype == RES_CLUSTER and name != "kafka-cluster":
            return "the only valid name for the CLUSTER resource is kafka-cluster"
        if not principal_ok(principal):
            return "could not parse principal from '%s' (no colon is found)" % principal
        if not host:
            return "empty host"
        if op in (OP_UNKNOWN, OP_ANY) or op > OP_MAX:
            return "invalid operation"
        if perm not in (PERM_DENY, PERM_ALLOW):
            return "invalid permission type"
        return None

    @staticmethod
    def validate_filter(f):
        restype, name, pattern, principal, host, op, perm = f
        if restype == RES_UNKNOWN or pattern == PAT_UNKNOWN or op == OP_UNKNOWN or perm == PERM_UNKNOWN:
            return "filter contains UNKNOWN elements"
        if restype > RES_TOKEN or pattern > PAT_PREFIXED or op > OP_MAX or perm > PERM_ALLOW:
            return "filter contains out-of-range elements"
        return None

    @staticmethod
    def matches(f, b):
        frestype, fname, fpattern, fprincipal, fhost, fop, fperm = f
        restype, name, pattern, principal, host, op, perm = b
        if frestype != RES_ANY and frestype != restype:
            return False
        if fpattern == PAT_MATCH:
            if fname is not None:
                if pattern == PAT_LITERAL:
                    if name != fname and name != "*":
                        return False
                elif pattern == PAT_PREFIXED:
                    if not fname.startswith(name):
                        return False
                else:
                    return False
        else:
            if fpattern != PAT_ANY and fpattern != pattern:
                return False
            if fname is not None and fname != name:
                return False
        if fprincipal is not None and fprincipal != principal:
            return False
        if fhost is not None and fhost != host:
            return False
        if fop != OP_ANY and fop != op:
            return False
        if fperm != PERM_ANY and fperm != perm:
            return False
        return True


STORE = AclStore()


def read_binding(r, version, is_filter):
    restype = r.int8()
    name = r.nullable_string() if is_filter else r.string()
    pattern = r.int8() if version >= 1 else PAT_LITERAL
    principal = r.nullable_string() if is_filter else r.string()
    host = r.nullable_string() if is_filter else r.string()
    op = r.int8()
    perm = r.int8()
    return (restype, name, pattern, principal, host, op, perm)


def fault_for(api):
    with STORE.lock:
        return STORE.faults.get(api), STORE.delays.get(api, 0)


def handle_apiversions(r, version, w):
    # The request body is not needed; v3 carries client software name/version.
    if version > 3:
        # Kafka answers an unknown version with a v0 response and error 35.
        w.int16(ERR_UNSUPPORTED_VERSION)
        w.int32(len(SUPPORTED))
        for key, (lo, hi) in sorted(SUPPORTED.items()):
            w.int16(key)
            w.int16(lo)
            w.int16(hi)
        return
    w.int16(ERR_NONE)
    if version >= 3:
        w.uvarint(len(SUPPORTED) + 1)
    else:
        w.int32(len(SUPPORTED))
    for key, (lo, hi) in sorted(SUPPORTED.items()):
        w.int16(key)
        w.int16(lo)
        w.int16(hi)
        if version >= 3:
            w.uvarint(0)
    if version >= 1:
        w.int32(0)  # throttle_time_ms
    if version >= 3:
        w.uvarint(0)


def handle_metadata(r, version, w, server):
    n = r.array_len()
    requested = None if n < 0 else [r.string() for _ in range(n)]
    if version >= 4:
        r.take(1)  # allow_auto_topic_creation
    if requested == [] and version == 0:
        requested = None  # v0: an empty list asks for every topic
    fault, _ = fault_for(API_METADATA)
    host, port = server.advertised
    if version >= 3:
        w.int32(0)
    w.int32(1)  # one broker
    w.int32(server.node_id)
    w.string(host)
    w.int32(port)
    if version >= 1:
        w.nullable_string(None)  # rack
    if version >= 2:
        w.nullable_string("chanreg-test-peer")
    if version >= 1:
        w.int32(server.node_id)  # controller
    with STORE.lock:
        stored = dict(STORE.topics)
    names = sorted(stored) if requested is None else requested
    w.int32(len(names))
    for t in names:
        if fault is not None:
            code = fault[0]
        elif t in stored:
            code = ERR_NONE
        else:
            code = ERR_UNKNOWN_TOPIC
        w.int16(code)
        w.string(t)
        if version >= 1:
            w.boolean(t.startswith("__"))
        partitions = stored.get(t, 0) if code == ERR_NONE else 0
        w.int32(partitions)
        for p in range(partitions):
            w.int16(ERR_NONE)
            w.int32(p)
            w.int32(server.node_id)  # leader
            w.int32(1)
            w.int32(server.node_id)  # replicas
            w.int32(1)
            w.int32(server.node_id)  # isr


def handle_describe_configs(r, version, w):
    n = r.array_len()
    resources = []
    for _ in range(max(n, 0)):
        restype = r.int8()
        name = r.string()
        k = r.array_len()
        keys = None if k < 0 else [r.string() for _ in range(k)]
        resources.append((restype, name, keys))
    if version >= 1:
        r.take(1)  # include_synonyms
    fault, _ = fault_for(API_DESCRIBE_CONFIGS)
    w.int32(0)  # throttle_time_ms
    w.int32(len(resources))
    for restype, name, keys in resources:
        with STORE.lock:
            known = name in STORE.topics
            dynamic = dict(STORE.topic_configs.get(name, {}))
        if fault is not None:
            code, msg = fault
        elif restype != RES_TYPE_TOPIC:
            code, msg = ERR_INVALID_REQUEST, "the peer describes topics only"
        elif not known:
            code, msg = ERR_UNKNOWN_TOPIC, "unknown topic"
        else:
            code, msg = ERR_NONE, None
        w.int16(code)
        w.nullable_string(msg)
        w.int8(restype)
        w.string(name)
        if code != ERR_NONE:
            w.int32(0)
            continue
        names = sorted(set(TOPIC_DEFAULTS) | set(dynamic)) if keys is None else keys
        names = [k for k in names if k in TOPIC_DEFAULTS or k in dynamic]
        w.int32(len(names))
        for key in names:
            is_dynamic = key in dynamic
            w.string(key)
            w.nullable_string(dynamic[key] if is_dynamic else TOPIC_DEFAULTS[key])
            w.boolean(False)  # read_only
            if version == 0:
                w.boolean(not is_dynamic)  # is_default
            else:
                w.int8(SOURCE_DYNAMIC_TOPIC if is_dynamic else SOURCE_DEFAULT)
            w.boolean(False)  # is_sensitive
            if version >= 1:
                w.int32(0)  # synonyms


def handle_create_topics(r, version, w):
    n = r.array_len()
    topics = []
    for _ in range(max(n, 0)):
        name = r.string()
        partitions = r.int32()
        replication = r.int16()
        for _ in range(max(r.array_len(), 0)):  # assignments
            r.int32()
            for _ in range(max(r.array_len(), 0)):
                r.int32()
        configs = [(r.string(), r.nullable_string()) for _ in range(max(r.array_len(), 0))]
        topics.append((name, partitions, replication, configs))
    r.int32()  # timeout_ms
    validate_only = version >= 1 and r.take(1) != b"\x00"
    fault, _ = fault_for(API_CREATE_TOPICS)
    if version >= 2:
        w.int32(0)  # throttle_time_ms
    w.int32(len(topics))
    for name, partitions, replication, configs in topics:
        with STORE.lock:
            if fault is not None:
                code, msg = fault
            elif name in STORE.topics:
                code, msg = ERR_TOPIC_EXISTS, "topic exists"
            elif partitions < 1:
                code, msg = ERR_INVALID_PARTITIONS, "partitions must be at least 1"
            elif replication not in (1, -1):
                code, msg = ERR_INVALID_REPLICATION, "one broker: replication factor 1"
            elif any(k not in TOPIC_DEFAULTS or v is None for k, v in configs):
                code, msg = ERR_INVALID_CONFIG, "unknown config or null value"
            else:
                code, msg = ERR_NONE, None
                if not validate_only:
                    STORE.topics[name] = partitions
                    STORE.topic_configs[name] = dict(configs)
                    STORE.created_topics += 1
        w.string(name)
        w.int16(code)
        if version >= 1:
            w.nullable_string(msg)


def handle_alter_configs(r, version, w):
    n = r.array_len()
    resources = []
    for _ in range(max(n, 0)):
        restype = r.int8()
        name = r.string()
        k = r.array_len()
        configs = [(r.string(), r.nullable_string()) for _ in range(max(k, 0))]
        resources.append((restype, name, configs))
    validate_only = r.take(1) != b"\x00"
    fault, _ = fault_for(API_ALTER_CONFIGS)
    w.int32(0)  # throttle_time_ms
    w.int32(len(resources))
    for restype, name, configs in resources:
        with STORE.lock:
            if fault is not None:
                code, msg = fault
            elif restype != RES_TYPE_TOPIC:
                code, msg = ERR_INVALID_REQUEST, "the peer alters topics only"
            elif name not in STORE.topics:
                code, msg = ERR_UNKNOWN_TOPIC, "unknown topic"
            elif any(k not in TOPIC_DEFAULTS or v is None for k, v in configs):
                code, msg = ERR_INVALID_CONFIG, "unknown config or null value"
            else:
                code, msg = ERR_NONE, None
                if not validate_only:
                    # Kafka's AlterConfigs replaces the topic's whole dynamic set.
                    STORE.topic_configs[name] = dict(configs)
                    STORE.alters += 1
        w.int16(code)
        w.nullable_string(msg)
        w.int8(restype)
        w.string(name)


def handle_create(r, version, w):
    n = r.array_len()
    creations = [read_binding(r, version, False) for _ in range(n)]
    fault, _ = fault_for(API_CREATE_ACLS)
    w.int32(0)
    w.int32(len(creations))
    with STORE.lock:
        for b in creations:
            if fault:
                w.int16(fault[0])
                w.nullable_string(fault[1])
                continue
            problem = STORE.validate_binding(b)
            if problem:
                w.int16(ERR_INVALID_REQUEST)
                w.nullable_string(problem)
                continue
            if b not in STORE.acls:
                STORE.acls.add(b)
                STORE.created += 1
            w.int16(ERR_NONE)
            w.nullable_string(None)


def write_binding_fields(w, version, b):
    restype, name, pattern, principal, host, op, perm = b
    w.int8(restype)
    w.string(name)
    if version >= 1:
        w.int8(pattern)
    w.string(principal)
    w.string(host)
    w.int8(op)
    w.int8(perm)


def handle_describe(r, version, w):
    f = read_binding(r, version, True)
    fault, _ = fault_for(API_DESCRIBE_ACLS)
    w.int32(0)
    if fault:
        w.int16(fault[0])
        w.nullable_string(fault[1])
        w.int32(0)
        return
    problem = STORE.validate_filter(f)
    if problem:
        w.int16(ERR_INVALID_REQUEST)
        w.nullable_string(problem)
        w.int32(0)
        return
    with STORE.lock:
        found = sorted(b for b in STORE.acls if STORE.matches(f, b))
    if version == 0:
        found = [b for b in found if b[2] == PAT_LITERAL]
    resources = {}
    for b in found:
        resources.setdefault((b[0], b[1], b[2]), []).append(b)
    w.int16(ERR_NONE)
    w.nullable_string(None)
    w.int32(len(resources))
    for (restype, name, pattern), entries in sorted(resources.items()):
        w.int8(restype)
        w.string(name)
        if version >= 1:
            w.int8(pattern)
        w.int32(len(entries))
        for b in entries:
            w.string(b[3])
            w.string(b[4])
            w.int8(b[5])
            w.int8(b[6])


def handle_delete(r, version, w):
    n = r.array_len()
    filters = [read_binding(r, version, True) for _ in range(n)]
    fault, _ = fault_for(API_DELETE_ACLS)
    w.int32(0)
    w.int32(len(filters))
    with STORE.lock:
        for f in filters:
            if fault:
                w.int16(fault[0])
                w.nullable_string(fault[1])
                w.int32(0)
                continue
            problem = STORE.validate_filter(f)
            if problem:
                w.int16(ERR_INVALID_REQUEST)
                w.nullable_string(problem)
                w.int32(0)
                continue
            matched = sorted(b for b in STORE.acls if STORE.matches(f, b))
            if version == 0:
                matched = [b for b in matched if b[2] == PAT_LITERAL]
            for b in matched:
                STORE.acls.discard(b)
                STORE.deleted += 1
            w.int16(ERR_NONE)
            w.nullable_string(None)
            w.int32(len(matched))
            for b in matched:
                w.int16(ERR_NONE)
                w.nullable_string(None)
                write_binding_fields(w, version, b)


class KafkaHandler(socketserver.BaseRequestHandler):
    def read_exact(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                return None
            buf.extend(chunk)
        return bytes(buf)

    def handle(self):
        while True:
            head = self.read_exact(4)
            if head is None:
                return
            size = struct.unpack(">i", head)[0]
            if size < 8 or size > 64 * 1024 * 1024:
                return
            body = self.read_exact(size)
            if body is None:
                return
            try:
                out = self.dispatch(body)
            except ProtocolError as e:
                sys.stderr.write("kafka_acl_peer: %s\n" % e)
                return
            if out is None:
                return
            try:
                self.request.sendall(struct.pack(">i", len(out)) + out)
            except OSError:
                return

    def dispatch(self, body):
        r = Reader(body)
        api = r.int16()
        version = r.int16()
        correlation = r.int32()
        r.nullable_string()  # client_id
        flexible = api == API_APIVERSIONS and version >= 3
        if flexible:
            r.tagged_fields()
        with STORE.lock:
            name = API_NAMES.get(api, str(api))
            STORE.requests[name] = STORE.requests.get(name, 0) + 1
            STORE.versions.setdefault(name, set()).add(version)
        if api not in SUPPORTED:
            return None
        lo, hi = SUPPORTED[api]
        if api != API_APIVERSIONS and not lo <= version <= hi:
            return None
        with STORE.lock:
            if api in STORE.hold:
                STORE.held[name] = STORE.held.get(name, 0) + 1
                STORE.released.wait_for(lambda: api not in STORE.hold, timeout=HOLD_LIMIT)
                STORE.held[name] -= 1
        _, delay = fault_for(api)
        if delay:
            time.sleep(delay / 1000.0)
        w = Writer()
        w.int32(correlation)
        if api == API_APIVERSIONS:
            handle_apiversions(r, version, w)
        elif api == API_METADATA:
            handle_metadata(r, version, w, self.server)
        elif api == API_CREATE_ACLS:
            handle_create(r, version, w)
        elif api == API_DESCRIBE_ACLS:
            handle_describe(r, version, w)
        elif api == API_DELETE_ACLS:
            handle_delete(r, version, w)
        elif api == API_DESCRIBE_CONFIGS:
            handle_describe_configs(r, version, w)
        elif api == API_ALTER_CONFIGS:
            handle_alter_configs(r, version, w)
        elif api == API_CREATE_TOPICS:
            handle_create_topics(r, version, w)
        with STORE.lock:
            STORE.answered[name] = STORE.answered.get(name, 0) + 1
        return w.bytes()


class ControlHandler(socketserver.StreamRequestHandler):
    def handle(self):
        for raw in self.rfile:
            words = raw.decode("utf-8").strip().split(" ", 3)
            try:
                reply = self.command(words)
            except (ValueError, IndexError, KeyError) as e:
                reply = {"error": str(e)}
            self.wfile.write((json.dumps(reply, sort_keys=True) + "\n").encode("utf-8"))
            self.wfile.flush()

    def command(self, words):
        cmd = words[0]
        with STORE.lock:
            if cmd == "fail":
                msg = words[3] if len(words) > 3 else None
                STORE.faults[FAULT_KEYS[words[1]]] = (int(words[2]), msg)
                return {"ok": True}
            if cmd == "delay":
                STORE.delays[FAULT_KEYS[words[1]]] = int(words[2])
                return {"ok": True}
            if cmd == "hold":
                STORE.hold.add(FAULT_KEYS[words[1]])
                return {"ok": True}
            if cmd in ("release", "clear", "reset"):
                STORE.hold.clear()
                STORE.released.notify_all()
            if cmd == "release":
                return {"ok": True}
            if cmd == "clear":
                STORE.faults.clear()
                STORE.delays.clear()
                return {"ok": True}
            if cmd == "reset":
                held = STORE.held
                STORE.reset()
                STORE.held = held  # requests still waiting count themselves out
                return {"ok": True}
            if cmd == "stats":
                return {
                    "requests": STORE.requests,
                    "held": {k: v for k, v in STORE.held.items() if v},
                    "answered": STORE.answered,
                    "versions": {k: sorted(v) for k, v in STORE.versions.items()},
                    "created": STORE.created,
                    "deleted": STORE.deleted,
                    "acls": len(STORE.acls),
                    "alters": STORE.alters,
                    "created_topics": STORE.created_topics,
                }
            if cmd == "acls":
                return {"acls": [list(b) for b in sorted(STORE.acls)]}
            if cmd == "topic":
                partitions = int(words[2]) if len(words) > 2 else 1
                if not words[1] or partitions < 1:
                    raise ValueError("topic needs a name and at least one partition")
                STORE.topics[words[1]] = partitions
                return {"ok": True}
            if cmd == "untopic":
                STORE.topics.pop(words[1], None)
                STORE.topic_configs.pop(words[1], None)
                return {"ok": True}
            if cmd == "config":
                if words[1] not in STORE.topics or words[2] not in TOPIC_DEFAULTS:
                    raise ValueError("unknown topic or config")
                STORE.topic_configs.setdefault(words[1], {})[words[2]] = words[3]
                return {"ok": True}
            if cmd == "configs":
                return {"configs": STORE.topic_configs.get(words[1], {}), "alters": STORE.alters}
            if cmd == "topics":
                return {"topics": STORE.topics}
        raise ValueError("unknown command %r" % cmd)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--ready-file", required=True)
    ap.add_argument("--node-id", type=int, default=1)
    ap.add_argument("--port", type=int, default=0, help="Kafka port (default: a free one)")
    args = ap.parse_args()

    broker = Server((args.host, args.port), KafkaHandler)
    broker.node_id = args.node_id
    broker.advertised = (args.host, broker.server_address[1])
    control = Server((args.host, 0), ControlHandler)
    for srv in (broker, control):
        threading.Thread(target=srv.serve_forever, daemon=True).start()

    tmp = args.ready_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (broker.server_address[1], control.server_address[1]))
    os.rename(tmp, args.ready_file)

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())

    def watch_stdin():
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except OSError:
            pass
        done.set()

    threading.Thread(target=watch_stdin, daemon=True).start()
    while not done.wait(0.2):
        pass
    broker.shutdown()
    control.shutdown()


if __name__ == "__main__":
    main()
