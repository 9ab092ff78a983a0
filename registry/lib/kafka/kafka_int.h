/*
 * kafka_int.h - what the files of the kafka module share: the one path by
 * which its librdkafka clients are configured and created (conf.c), used by
 * the admin client (kafka.c) and the sampler's consumer (sampler.c).
 *
 * Not a public header: it includes rdkafka.h, which only this module may.
 */
#ifndef CHAN_KAFKA_INT_H
#define CHAN_KAFKA_INT_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "chan/error.h"
#include "chan/kafka.h"

/** Per-call timeout when the options leave it at 0. */
#define CHAN_KAFKA__DEFAULT_TIMEOUT_MS 10000

/**
 * The clients of the module.  The kind decides the librdkafka handle type,
 * the chan_log module of librdkafka's log lines and the prefix of errors.
 */
typedef enum chan_kafka__client_kind {
    CHAN_KAFKA__CLIENT_ADMIN = 0, /**< "kafka": a producer handle that never produces */
    CHAN_KAFKA__CLIENT_SAMPLER,   /**< "kafka sampler": a consumer, logs as "sampler" */
} chan_kafka__client_kind;

/** One librdkafka property. */
typedef struct chan_kafka__property {
    const char *key;
    const char *value;
} chan_kafka__property;

/** What a client is configured with.  All pointers are borrowed. */
typedef struct chan_kafka__client_conf {
    chan_kafka__client_kind kind;
    const char *bootstrap_servers;     /**< "host:port,..."; required */
    const char *client_id;             /**< required */
    int timeout_ms;                    /**< 0: CHAN_KAFKA__DEFAULT_TIMEOUT_MS; socket.timeout.ms */
    const chan_kafka__property *fixed; /**< n_fixed properties the kind needs, set next */
    size_t n_fixed;
    const char *const *config; /**< n_config pairs of the caller's options, set last */
    size_t n_config;
} chan_kafka__client_conf;

/**
 * Check the parts of c that come from the caller's options: bootstrap
 * servers present, timeout not negative, configuration pairs present when
 * counted.
 *
 * @return 0 or CHAN_EINVALID ("<prefix>: ...")
 */
int chan_kafka__client_check(const chan_kafka__client_conf *c, chan_error *err);

/**
 * Configure and create a client: bootstrap.servers, client.id and
 * socket.timeout.ms (the timeout clamped to librdkafka's [10, 300000]), then
 * the fixed pairs, then the caller's pairs (which may override any of
 * them), with the module's log and error callbacks, which send librdkafka's
 * messages to chan_log.  c must have passed chan_kafka__client_check.
 *
 * @param[out] out the handle (rd_kafka_destroy it), NULL on failure
 * @return 0 or CHAN_EINVALID (an unknown or invalid property: err names it;
 *         or librdkafka refused the configuration)
 */
int chan_kafka__client_new(rd_kafka_t **out, const chan_kafka__client_conf *c, chan_error *err);

#endif
