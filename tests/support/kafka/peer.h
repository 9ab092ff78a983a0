/*
 * peer.h - start and steer kafka_acl_peer.py, the Kafka-protocol peer of the
 * admission integration tests.
 *
 * The peer runs as a child process with a pipe on its standard input: it
 * exits when the pipe closes, so it never outlives a crashed test.  Its
 * control port takes one-line commands (see kafka_acl_peer.py) and answers
 * each with one JSON line.
 *
 * Ownership: test_kafka_peer_start returns a peer freed by
 * test_kafka_peer_stop; replies returned through `out` are owned by the
 * caller (json_decref).
 */
#ifndef CHAN_TEST_KAFKA_PEER_H
#define CHAN_TEST_KAFKA_PEER_H

#include <jansson.h>

typedef struct test_kafka_peer test_kafka_peer;

/**
 * Start the peer and wait (at most 10 s) until it listens.
 * @param[out] out    the running peer; NULL on failure
 * @param python      the Python 3 interpreter
 * @param script      path of kafka_acl_peer.py
 * @return 0 or -1 (the reason is logged with chan_log)
 */
int test_kafka_peer_start(test_kafka_peer **out, const char *python, const char *script);

/** Stop the peer (close its stdin, SIGTERM, reap) and free it.  NULL-safe. */
void test_kafka_peer_stop(test_kafka_peer *peer);

/** "127.0.0.1:PORT" of the peer's Kafka listener (borrowed). */
const char *test_kafka_peer_bootstrap(const test_kafka_peer *peer);

/**
 * Send one control command and parse the JSON reply.
 * @param[out] out the reply object (caller json_decrefs); NULL on failure
 * @return 0 or -1 (connection or parse failure, or {"error": ...} reply)
 */
int test_kafka_peer_command(json_t **out, test_kafka_peer *peer, const char *command);

/** Convenience: the integer at stats[key] (or stats.requests[key] for API names), -1 on error. */
long test_kafka_peer_stat(test_kafka_peer *peer, const char *key);

#endif
