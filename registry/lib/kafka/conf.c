/*
 * conf.c - librdkafka configuration for the module: properties files
 * (chan_kafka_properties_*), and the one path by which the admin client and
 * the sampler's consumer are configured and created, with the log and error
 * callbacks that send librdkafka's messages to chan_log.
 */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "chan/common.h"
#include "chan/kafka.h"

#include "kafka_int.h"

/** Largest properties file read. */
#define PROPERTIES_MAX (1u << 20)

/* What differs between the kinds of client. */
typedef struct client_kind_info {
    rd_kafka_type_t type;
    const char *log_module; /* chan_log module of librdkafka's lines */
    const char *prefix;     /* of error messages */
    const char *noun;       /* what rd_kafka_new creates, for its error */
} client_kind_info;

static const client_kind_info client_kinds[] = {
    [CHAN_KAFKA__CLIENT_ADMIN] = {RD_KAFKA_PRODUCER, "kafka", "kafka", "client"},
    [CHAN_KAFKA__CLIENT_SAMPLER] = {RD_KAFKA_CONSUMER, "sampler", "kafka sampler", "consumer"},
};

static const client_kind_info *kind_info(chan_kafka__client_kind kind)
{
    assert((size_t)kind < CHAN_ARRAY_SIZE(client_kinds));
    return &client_kinds[kind];
}

/* ------------------------------------------------------------------ */
/* Properties files                                                    */
/* ------------------------------------------------------------------ */

void chan_kafka_properties_dispose(chan_kafka_properties *p)
{
    size_t i;

    if (p == NULL)
        return;
    for (i = 0; i < 2 * p->n; i++)
        free(p->pairs[i]);
    free(p->pairs);
    free(p->lines);
    free(p->path);
    p->pairs = NULL;
    p->lines = NULL;
    p->path = NULL;
    p->n = 0;
}

static char *trim(char *s)
{
    size_t n;

    while (*s == ' ' || *s == '\t' || *s == '\r')
        s++;
    n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

int chan_kafka_properties_load(chan_kafka_properties *out, const char *path, chan_error *err)
{
    chan_kafka_properties p = CHAN_KAFKA_PROPERTIES_INIT;
    char *text = NULL, *line, *next;
    size_t len = 0;
    int error = 0, lineno = 0;

    memset(out, 0, sizeof(*out));
    if ((error = chan_file_read(&text, &len, path, PROPERTIES_MAX, err)) < 0)
        goto cleanup;
    if (strlen(text) != len) {
        error = chan_error_set(err, CHAN_EINVALID, "%s: the file contains a NUL byte", path);
        goto cleanup;
    }
    for (line = text; line && *line; line = next) {
        char *eq, *key, *value;

        lineno++;
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        line = trim(line);
        if (*line == '\0' || *line == '#' || *line == '!')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL) {
            error = chan_error_set(err, CHAN_EINVALID, "%s:%d: expected KEY=VALUE", path, lineno);
            goto cleanup;
        }
        *eq = '\0';
        key = trim(line);
        value = trim(eq + 1);
        if (*key == '\0') {
            error = chan_error_set(err, CHAN_EINVALID, "%s:%d: empty property name", path, lineno);
            goto cleanup;
        }
        if (!printable(key) || !printable(value)) {
            error = chan_error_set(err, CHAN_EINVALID, "%s:%d: control character in the line", path,
                                   lineno);
            goto cleanup;
        }
        if (strcmp(key, "bootstrap.servers") == 0 || strcmp(key, "metadata.broker.list") == 0) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "%s:%d: %s is not allowed here; use --kafka-bootstrap", path,
                                   lineno, key);
            goto cleanup;
        }
        for (size_t i = 0; i < p.n; i++) {
            if (strcmp(p.pairs[2 * i], key) == 0) {
                error =
                    chan_error_set(err, CHAN_EINVALID, "%s:%d: property %s already set on line %d",
                                   path, lineno, key, p.lines[i]);
                goto cleanup;
            }
        }
        p.pairs = chan_xreallocarray(p.pairs, 2 * (p.n + 1), sizeof(*p.pairs));
        p.lines = chan_xreallocarray(p.lines, p.n + 1, sizeof(*p.lines));
        p.pairs[2 * p.n] = chan_xstrdup(key);
        p.pairs[2 * p.n + 1] = chan_xstrdup(value);
        p.lines[p.n] = lineno;
        p.n++;
    }
    p.path = chan_xstrdup(path);
    *out = p;
    memset(&p, 0, sizeof(p));

cleanup:
    chan_kafka_properties_dispose(&p);
    free(text);
    return error;
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */
/* ------------------------------------------------------------------ */

/* The chan_log module of a handle's messages: the consumer is the sampler's. */
static const char *handle_log_module(const rd_kafka_t *rk)
{
    return kind_info(rk != NULL && rd_kafka_type(rk) == RD_KAFKA_CONSUMER
                         ? CHAN_KAFKA__CLIENT_SAMPLER
                         : CHAN_KAFKA__CLIENT_ADMIN)
        ->log_module;
}

/* librdkafka's log lines, at the matching chan_log level. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    chan_log_level lvl = level <= LOG_ERR       ? CHAN_LOG_ERROR
                         : level <= LOG_WARNING ? CHAN_LOG_WARN
                         : level <= LOG_INFO    ? CHAN_LOG_INFO
                                                : CHAN_LOG_DEBUG;

    chan_log(lvl, handle_log_module(rk), "%s facility=%s", buf, fac);
}

/* librdkafka's errors that no call returns (lost connections and the like). */
static void error_cb(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)opaque;
    chan_log(CHAN_LOG_WARN, handle_log_module(rk), "%s error=%s", reason,
             rd_kafka_err2name((rd_kafka_resp_err_t)code));
}

/* Set one property; errors name it ("<prefix>: property KEY: ..."). */
static int conf_set(rd_kafka_conf_t *conf, chan_kafka__client_kind kind, const char *key,
                    const char *value, chan_error *err)
{
    const char *prefix = kind_info(kind)->prefix;
    char errstr[512];

    if (key == NULL || value == NULL)
        return chan_error_set(err, CHAN_EINVALID, "%s: configuration key or value is missing",
                              prefix);
    if (rd_kafka_conf_set(conf, key, value, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK)
        return chan_error_set(err, CHAN_EINVALID, "%s: property %s: %s", prefix, key, errstr);
    return 0;
}

/* Set c's fixed properties, then the caller's pairs. */
static int conf_set_all(rd_kafka_conf_t *conf, const chan_kafka__client_conf *c, chan_error *err)
{
    int error;
    size_t i;

    for (i = 0; i < c->n_fixed; i++) {
        if ((error = conf_set(conf, c->kind, c->fixed[i].key, c->fixed[i].value, err)) < 0)
            return error;
    }
    for (i = 0; i < c->n_config; i++) {
        if ((error = conf_set(conf, c->kind, c->config[2 * i], c->config[2 * i + 1], err)) < 0)
            return error;
    }
    return 0;
}

int chan_kafka_properties_check(const chan_kafka_properties *props, chan_error *err)
{
    size_t i;

    for (i = 0; i < props->n; i++) {
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        int error = conf_set(conf, CHAN_KAFKA__CLIENT_ADMIN, props->pairs[2 * i],
                             props->pairs[2 * i + 1], err);

        rd_kafka_conf_destroy(conf);
        if (error < 0) {
            chan_error_prefix(err, "%s:%d", props->path ? props->path : "", props->lines[i]);
            return error;
        }
    }
    return 0;
}

int chan_kafka__client_check(const chan_kafka__client_conf *c, chan_error *err)
{
    const char *prefix = kind_info(c->kind)->prefix;

    if (c->bootstrap_servers == NULL || *c->bootstrap_servers == '\0')
        return chan_error_set(err, CHAN_EINVALID, "%s: bootstrap servers are required", prefix);
    if (c->timeout_ms < 0)
        return chan_error_set(err, CHAN_EINVALID, "%s: timeout must not be negative", prefix);
    if (c->n_config > 0 && c->config == NULL)
        return chan_error_set(err, CHAN_EINVALID, "%s: configuration pairs are missing", prefix);
    return 0;
}

int chan_kafka__client_new(rd_kafka_t **out, const chan_kafka__client_conf *c, chan_error *err)
{
    const client_kind_info *info = kind_info(c->kind);
    rd_kafka_conf_t *conf = NULL;
    int timeout_ms = c->timeout_ms ? c->timeout_ms : CHAN_KAFKA__DEFAULT_TIMEOUT_MS;
    char errstr[512];
    char num[32];
    int error = 0;

    assert(c->bootstrap_servers != NULL && c->client_id != NULL);
    *out = NULL;
    conf = rd_kafka_conf_new();
    rd_kafka_conf_set_log_cb(conf, log_cb);
    rd_kafka_conf_set_error_cb(conf, error_cb);
    /* librdkafka accepts socket.timeout.ms in [10, 300000]. */
    snprintf(num, sizeof(num), "%d",
             timeout_ms < 10       ? 10
             : timeout_ms < 300000 ? timeout_ms
                                   : 300000);
    if ((error = conf_set(conf, c->kind, "bootstrap.servers", c->bootstrap_servers, err)) < 0 ||
        (error = conf_set(conf, c->kind, "client.id", c->client_id, err)) < 0 ||
        (error = conf_set(conf, c->kind, "socket.timeout.ms", num, err)) < 0 ||
        (error = conf_set_all(conf, c, err)) < 0)
        goto cleanup;
    *out = rd_kafka_new(info->type, conf, errstr, sizeof(errstr));
    if (*out == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "%s: cannot create %s: %s", info->prefix,
                               info->noun, errstr);
        goto cleanup;
    }
    conf = NULL; /* owned by the handle now */

cleanup:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return error;
}
