/*
 * config.c - the option table of chanregd and its three sources: defaults,
 * CHANREG_* environment variables and command line flags (in that order of
 * precedence, the last one wins).  --help is generated from the same table.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "chan/kafka.h"
#include "chan/policy.h"

#include "config.h"

typedef enum option_type {
    OPT_STRING, /**< char *, NULL when empty */
    OPT_INT,    /**< int64_t within [min, max] */
    OPT_SIZE,   /**< int64_t bytes, with an optional K/M/G (KiB, MiB, GiB) suffix */
    OPT_BOOL,   /**< bool; a flag without value means true */
    OPT_LIST,   /**< chand_str_list: the flag repeats; the variable holds blank-separated values */
} option_type;

/* One option: its flag (--name), variable, type, field, default and bounds. */
typedef struct option_def {
    const char *name;
    const char *env;
    option_type type;
    size_t offset;
    const char *def;
    int64_t min;
    int64_t max;
    const char *metavar;
    const char *help;
} option_def;

#define FIELD(f) offsetof(chand_config, f)

/* Largest PEM file accepted for --tls-cert and --tls-key. */
#define TLS_PEM_MAX (1u << 20)

static const option_def options[] = {
    {"listen", "CHANREG_LISTEN", OPT_STRING, FIELD(listen), "127.0.0.1:8081", 0, 0, "HOST:PORT",
     "address to listen on; port 0 picks a free port"},
    {"db", "CHANREG_DB", OPT_STRING, FIELD(db), "sqlite:chanreg.db", 0, 0, "URL",
     "store: sqlite:PATH or postgres://USER@HOST/DB"},
    {"port-file", "CHANREG_PORT_FILE", OPT_STRING, FIELD(port_file), NULL, 0, 0, "FILE",
     "write the port actually bound to FILE"},
    {"token", "CHANREG_TOKEN", OPT_STRING, FIELD(token), NULL, 0, 0, "TOKEN",
     "API token of the identity \"admin\" (role admin); turns auth on"},
    {"token-file", "CHANREG_TOKEN_FILE", OPT_STRING, FIELD(token_file), NULL, 0, 0, "FILE",
     "token file: NAME sha256=HEX roles=R1,R2 [expires=DATE] lines; turns auth on"},
    {"auth-reads", "CHANREG_AUTH_READS", OPT_BOOL, FIELD(auth_reads), "false", 0, 0, NULL,
     "require a token for reads as well"},
    {"tls-cert", "CHANREG_TLS_CERT", OPT_STRING, FIELD(tls_cert), NULL, 0, 0, "FILE",
     "serve HTTPS with this PEM certificate (chain); needs --tls-key"},
    {"tls-key", "CHANREG_TLS_KEY", OPT_STRING, FIELD(tls_key), NULL, 0, 0, "FILE",
     "PEM private key of --tls-cert (unencrypted)"},
    {"tls-priorities", "CHANREG_TLS_PRIORITIES", OPT_STRING, FIELD(tls_priorities),
     "NORMAL:-VERS-TLS1.0:-VERS-TLS1.1", 0, 0, "STRING", "GnuTLS priority string of HTTPS"},
    {"max-body", "CHANREG_MAX_BODY", OPT_SIZE, FIELD(max_body), "1MiB", 1024, 256 << 20, "SIZE",
     "largest request body accepted (413 above)"},
    {"threads", "CHANREG_THREADS", OPT_INT, FIELD(threads), "4", 1, 256, "N",
     "HTTP worker threads"},
    {"connection-limit", "CHANREG_CONNECTION_LIMIT", OPT_INT, FIELD(connection_limit), "1024", 1,
     65536, "N", "most concurrent client connections"},
    {"connection-timeout", "CHANREG_CONNECTION_TIMEOUT", OPT_INT, FIELD(connection_timeout), "60",
     1, 86400, "SECONDS", "close idle connections after SECONDS"},
    {"per-ip-connection-limit", "CHANREG_PER_IP_CONNECTION_LIMIT", OPT_INT,
     FIELD(per_ip_connection_limit), "256", 0, 65536, "N",
     "most concurrent connections from one client address; 0: no limit"},
    {"request-head-timeout", "CHANREG_REQUEST_HEAD_TIMEOUT", OPT_INT, FIELD(request_head_timeout),
     "10", 1, 3600, "SECONDS",
     "close a connection that has not sent a complete request head SECONDS after it opened or "
     "its request began"},
    {"request-body-timeout", "CHANREG_REQUEST_BODY_TIMEOUT", OPT_INT, FIELD(request_body_timeout),
     "30", 1, 3600, "SECONDS", "close a connection whose request body takes longer than SECONDS"},
    {"overload-timeout", "CHANREG_OVERLOAD_TIMEOUT", OPT_INT, FIELD(overload_timeout), "1", 1, 3600,
     "SECONDS",
     "with 3/4 of the connection limit in use, the head, body and keep-alive timeouts become "
     "SECONDS"},
    {"health-listen", "CHANREG_HEALTH_LISTEN", OPT_STRING, FIELD(health_listen), NULL, 0, 0,
     "HOST:PORT", "also serve /healthz and /readyz on this address, with connections of their own"},
    {"shutdown-timeout", "CHANREG_SHUTDOWN_TIMEOUT", OPT_INT, FIELD(shutdown_timeout), "30", 0,
     3600, "SECONDS", "on SIGTERM, wait up to SECONDS for requests in flight"},
    {"log-level", "CHANREG_LOG_LEVEL", OPT_STRING, FIELD(log_level), "info", 0, 0, "LEVEL",
     "debug, info, warn, error or off"},
    {"access-log", "CHANREG_ACCESS_LOG", OPT_BOOL, FIELD(access_log), "true", 0, 0, NULL,
     "log one line per request"},
    {"default-compatibility", "CHANREG_DEFAULT_COMPATIBILITY", OPT_STRING,
     FIELD(default_compatibility), "BACKWARD", 0, 0, "LEVEL",
     "compatibility level when none is configured"},
    {"min-compatibility", "CHANREG_MIN_COMPATIBILITY", OPT_STRING, FIELD(min_compat_text),
     "BACKWARD", 0, 0, "LEVEL",
     "policy floor: subjects bound to a channel stay at a level at least this strict"},
    {"require-deprecation-all-subjects", "CHANREG_REQUIRE_DEPRECATION_ALL_SUBJECTS", OPT_BOOL,
     FIELD(require_deprecation_all_subjects), "false", 0, 0, NULL,
     "apply the field-removal rule to every subject, not only those a contract binds"},
    {"migrations-dir", "CHANREG_MIGRATIONS_DIR", OPT_STRING, FIELD(migrations_dir), NULL, 0, 0,
     "DIR", "read SQL migrations from DIR instead of the built-in ones"},
    {"db-pool-size", "CHANREG_DB_POOL_SIZE", OPT_INT, FIELD(db_pool_size), "8", 1, 256, "N",
     "PostgreSQL connections"},
    {"db-connect-timeout-ms", "CHANREG_DB_CONNECT_TIMEOUT_MS", OPT_INT,
     FIELD(db_connect_timeout_ms), "5000", 100, 600000, "MS",
     "PostgreSQL: give up opening a connection after MS"},
    {"db-statement-timeout-ms", "CHANREG_DB_STATEMENT_TIMEOUT_MS", OPT_INT,
     FIELD(db_statement_timeout_ms), "10000", 100, 3600000, "MS",
     "PostgreSQL: statement_timeout; a reply not there MS+2000 after a statement was sent "
     "cancels it and closes the connection"},
    {"db-acquire-timeout-ms", "CHANREG_DB_ACQUIRE_TIMEOUT_MS", OPT_INT,
     FIELD(db_acquire_timeout_ms), "5000", 10, 600000, "MS",
     "wait at most MS for a free database connection of the pool"},
    {"db-busy-timeout-ms", "CHANREG_DB_BUSY_TIMEOUT_MS", OPT_INT, FIELD(db_busy_timeout_ms), "5000",
     10, 600000, "MS", "SQLite: wait at most MS for the database write lock"},
    {"allow-unauthenticated-writes", "CHANREG_ALLOW_UNAUTHENTICATED_WRITES", OPT_BOOL,
     FIELD(allow_unauthenticated_writes), "false", 0, 0, NULL,
     "run without --token and --token-file: every request acts as an admin"},
    {"schema-cache", "CHANREG_SCHEMA_CACHE", OPT_INT, FIELD(schema_cache_size), "10000", 0,
     10000000, "N", "schemas kept in memory for lookups by id; 0 disables"},
    {"parsed-schema-cache-mb", "CHANREG_PARSED_SCHEMA_CACHE_MB", OPT_INT,
     FIELD(parsed_schema_cache_mb), "64", 0, 65536, "MB",
     "memory of the parsed schemas kept for compatibility checks and request texts; "
     "0 disables"},
    {"reply-cache-mb", "CHANREG_REPLY_CACHE_MB", OPT_INT, FIELD(reply_cache_mb), "64", 0, 65536,
     "N", "keep read replies (lists, lookups) in at most N MiB of memory; 0 disables"},
    {"registration-max-age-days", "CHANREG_REGISTRATION_MAX_AGE_DAYS", OPT_INT,
     FIELD(registration_max_age_days), "90", 1, 36500, "DAYS",
     "consumer registrations not renewed for DAYS are flagged stale"},
    {"deprecation-warning-days", "CHANREG_DEPRECATION_WARNING_DAYS", OPT_INT,
     FIELD(deprecation_warning_days), "30", 0, 3650, "DAYS",
     "warn consumer registrations DAYS before a channel's deprecation date"},
    {"webhook", "CHANREG_WEBHOOKS", OPT_LIST, FIELD(webhook_specs), NULL, 0, 0, "[FORMAT=]URL",
     "send events to URL (repeatable); FORMAT cloudevents (default) or slack"},
    {"webhook-secret-file", "CHANREG_WEBHOOK_SECRET_FILE", OPT_STRING, FIELD(webhook_secret_file),
     NULL, 0, 0, "FILE", "sign deliveries: HMAC-SHA256 keyed with the first line of FILE"},
    {"webhook-timeout-ms", "CHANREG_WEBHOOK_TIMEOUT_MS", OPT_INT, FIELD(webhook_timeout_ms),
     "10000", 100, 300000, "MS", "timeout of each webhook delivery"},
    {"webhook-retry-min-ms", "CHANREG_WEBHOOK_RETRY_MIN_MS", OPT_INT, FIELD(webhook_retry_min_ms),
     "1000", 10, 3600000, "MS", "retry delay after a failed delivery, doubled per failure"},
    {"webhook-retry-max-ms", "CHANREG_WEBHOOK_RETRY_MAX_MS", OPT_INT, FIELD(webhook_retry_max_ms),
     "300000", 10, 86400000, "MS", "cap of the webhook retry delay"},
    {"webhook-give-up-hours", "CHANREG_WEBHOOK_GIVE_UP_HOURS", OPT_INT,
     FIELD(webhook_give_up_hours), "72", 1, 8760, "HOURS",
     "give an event up when its delivery still fails HOURS after it happened"},
    {"webhook-poll-ms", "CHANREG_WEBHOOK_POLL_MS", OPT_INT, FIELD(webhook_poll_ms), "1000", 10,
     60000, "MS", "look for new events every MS"},
    {"lifecycle-scan-interval", "CHANREG_LIFECYCLE_SCAN_INTERVAL", OPT_INT,
     FIELD(lifecycle_scan_interval), "300", 1, 86400, "SECONDS",
     "with webhooks: look for stale registrations, deprecations and retirements every SECONDS"},
    {"kafka-bootstrap", "CHANREG_KAFKA_BOOTSTRAP", OPT_STRING, FIELD(kafka_bootstrap), NULL, 0, 0,
     "HOST:PORT[,...]", "Kafka brokers for ACL admission; empty: no Kafka work at all"},
    {"kafka-config-file", "CHANREG_KAFKA_CONFIG_FILE", OPT_STRING, FIELD(kafka_config_file), NULL,
     0, 0, "FILE", "librdkafka properties (KEY=VALUE lines), e.g. security.protocol, sasl.*"},
    {"acl-mode", "CHANREG_ACL_MODE", OPT_STRING, FIELD(acl_mode), "plan", 0, 0, "MODE",
     "off, plan (compute and expose, never change) or apply"},
    {"reconcile-interval", "CHANREG_RECONCILE_INTERVAL", OPT_INT, FIELD(reconcile_interval), "60",
     1, 86400, "SECONDS", "time between two reconciler passes"},
    {"reconcile-backoff-min-ms", "CHANREG_RECONCILE_BACKOFF_MIN_MS", OPT_INT,
     FIELD(reconcile_backoff_min_ms), "2000", 10, 3600000, "MS",
     "retry delay after a failed pass, doubled per failure"},
    {"reconcile-backoff-max-ms", "CHANREG_RECONCILE_BACKOFF_MAX_MS", OPT_INT,
     FIELD(reconcile_backoff_max_ms), "300000", 10, 86400000, "MS", "cap of the retry delay"},
    {"kafka-timeout-ms", "CHANREG_KAFKA_TIMEOUT_MS", OPT_INT, FIELD(kafka_timeout_ms), "10000", 100,
     300000, "MS", "timeout of each Kafka admin request"},
    {"producer-check", "CHANREG_PRODUCER_CHECK", OPT_BOOL, FIELD(producer_check), "false", 0, 0,
     NULL, "sample the channels' topics and count messages outside their contract"},
    {"producer-check-sample", "CHANREG_PRODUCER_CHECK_SAMPLE", OPT_INT,
     FIELD(producer_check_sample), "100", 1, 1000000, "N", "producer check: check 1 message in N"},
    {"producer-check-interval", "CHANREG_PRODUCER_CHECK_INTERVAL", OPT_INT,
     FIELD(producer_check_interval), "30", 1, 86400, "SECONDS",
     "producer check: re-read the channels' contracts every SECONDS"},
    {"producer-check-max-rate", "CHANREG_PRODUCER_CHECK_MAX_RATE", OPT_INT,
     FIELD(producer_check_max_rate), "1000", 1, 1000000, "N",
     "producer check: read at most N messages per second"},
    {"topic-include", "CHANREG_TOPIC_INCLUDE", OPT_STRING, FIELD(topic_include), NULL, 0, 0,
     "GLOB[,...]", "topic discovery: topics the registry answers for (default: all)"},
    {"topic-exclude", "CHANREG_TOPIC_EXCLUDE", OPT_STRING, FIELD(topic_exclude), "_*", 0, 0,
     "GLOB[,...]", "topic discovery: topics left out (default: _*, the internal topics)"},
    {"topic-mode", "CHANREG_TOPIC_MODE", OPT_STRING, FIELD(topic_mode), "off", 0, 0, "MODE",
     "topic configs (retention.ms): off, plan (log drift each pass) or apply (fix it)"},
};

/* getopt_long values of the options outside the table. */
enum {
    FLAG_HELP = 'h',
    FLAG_VERSION = 'V',
    FLAG_CHECK = 1000,
    FLAG_LIST_ROUTES = 1001,
    FLAG_TABLE = 2000
};

static int parse_size(int64_t *out, const char *s)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {{"KiB", 1024},
                 {"K", 1024},
                 {"k", 1024},
                 {"MiB", 1024 * 1024},
                 {"M", 1024 * 1024},
                 {"GiB", 1024 * 1024 * 1024},
                 {"G", 1024 * 1024 * 1024}};
    char *num = chan_xstrdup(s);
    int64_t mult = 1, v;
    size_t i;
    int error = 0;

    for (i = 0; i < CHAN_ARRAY_SIZE(units); i++) {
        if (chan_str_endswith(num, units[i].suffix)) {
            num[strlen(num) - strlen(units[i].suffix)] = '\0';
            mult = units[i].mult;
            break;
        }
    }
    error = chan_parse_int64(&v, num, 0, INT64_MAX / mult);
    if (error == 0)
        *out = v * mult;
    free(num);
    return error;
}

static int parse_bool(bool *out, const char *s)
{
    if (strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0 || strcasecmp(s, "yes") == 0 ||
        strcasecmp(s, "on") == 0) {
        *out = true;
        return 0;
    }
    if (strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0 || strcasecmp(s, "no") == 0 ||
        strcasecmp(s, "off") == 0) {
        *out = false;
        return 0;
    }
    return CHAN_EINVALID;
}

static void str_list_clear(chand_str_list *l)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

static void str_list_add(chand_str_list *l, const char *s, size_t len)
{
    l->items = chan_xreallocarray(l->items, l->n + 1, sizeof(*l->items));
    l->items[l->n++] = chan_xstrndup(s, len);
}

/*
** A list option: a flag appends (the first flag drops what the environment
** set), the environment variable (or default) replaces, blank-separated.
*/
static void set_list(chand_str_list *l, const char *value, bool flag)
{
    const char *s = value;

    if (flag) {
        if (!l->from_flags)
            str_list_clear(l);
        l->from_flags = true;
        str_list_add(l, value, strlen(value));
        return;
    }
    str_list_clear(l);
    while (s && *s) {
        size_t len;

        s += strspn(s, " \t\n");
        len = strcspn(s, " \t\n");
        if (len > 0)
            str_list_add(l, s, len);
        s += len;
    }
}

/* True when s holds nothing but white space. */
static bool is_blank(const char *s)
{
    for (; *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

/*
** Options that turn authentication on: given empty or blank (`--token
** "$UNSET"`), they are an error rather than silently no token at all.
*/
static bool must_not_be_blank(const option_def *opt)
{
    return opt->offset == FIELD(token) || opt->offset == FIELD(token_file);
}

/*
** Store value (from `source`, used in messages) into the field of opt.
** A NULL value resets a string option to NULL.
*/
static int set_option(chand_config *config, const option_def *opt, const char *value,
                      const char *source, chan_error *err)
{
    char *base = (char *)config;
    int64_t v = 0;

    switch (opt->type) {
    case OPT_STRING: {
        char **field = (char **)(void *)(base + opt->offset);

        if (value != NULL && must_not_be_blank(opt) && is_blank(value)) {
            int error = chan_error_set(err, CHAN_EINVALID,
                                       "%s is empty: no token would be "
                                       "checked",
                                       source);
            chan_error_hint(err, "give a token (is the variable it comes from set?), or run "
                                 "without authentication with --allow-unauthenticated-writes");
            return error;
        }
        free(*field);
        *field = value && *value ? chan_xstrdup(value) : NULL;
        return 0;
    }
    case OPT_BOOL:
        if (value == NULL || parse_bool((bool *)(void *)(base + opt->offset), value) != 0)
            return chan_error_set(err, CHAN_EINVALID, "%s: expected true or false, got \"%s\"",
                                  source, value ? value : "");
        return 0;
    case OPT_INT:
        if (value == NULL || chan_parse_int64(&v, value, opt->min, opt->max) != 0)
            return chan_error_set(err, CHAN_EINVALID,
                                  "%s: expected an integer from %lld to %lld, got \"%s\"", source,
                                  (long long)opt->min, (long long)opt->max, value ? value : "");
        *(int64_t *)(void *)(base + opt->offset) = v;
        return 0;
    case OPT_LIST:
        set_list((chand_str_list *)(void *)(base + opt->offset), value,
                 strncmp(source, "--", 2) == 0);
        return 0;
    case OPT_SIZE:
        if (value == NULL || parse_size(&v, value) != 0 || v < opt->min || v > opt->max)
            return chan_error_set(err, CHAN_EINVALID,
                                  "%s: expected a size from %lld to %lld bytes (suffix K, M or "
                                  "G allowed), got \"%s\"",
                                  source, (long long)opt->min, (long long)opt->max,
                                  value ? value : "");
        *(int64_t *)(void *)(base + opt->offset) = v;
        return 0;
    }
    return chan_error_set(err, CHAN_EINTERNAL, "%s: unknown option type", source);
}

/* Add the --token entry: identity "admin" with role admin. */
static void add_flag_token(chand_config *config, const char *token)
{
    chan_token_entry *e;

    config->tokens =
        chan_xreallocarray(config->tokens, config->n_tokens + 1, sizeof(*config->tokens));
    e = &config->tokens[config->n_tokens++];
    memset(e, 0, sizeof(*e));
    if (chan_identity_init(&e->identity, "admin", "admin", NULL) < 0)
        abort(); /* constant, valid input */
    e->identity.source = "flag";
    chan_token_digest(e->digest, token, strlen(token));
}

/*
** Read the token file (v2 lines; legacy NAME:TOKEN lines are admins, warned
** about by chand_config_log) and append its entries.  Every bad line is
** reported: err->message the first as FILE:LINE, err->detail all of them.
*/
static int load_token_file(chand_config *config, chan_error *err)
{
    chan_token_entry *entries = NULL;
    char *text = NULL;
    size_t n = 0;
    int error;

    if ((error = chan_file_read(&text, NULL, config->token_file, 1 << 20, err)) < 0) {
        chan_error_prefix(err, "--token-file");
        goto cleanup;
    }
    if ((error = chan_token_file_parse(&entries, &n, text, config->token_file, err)) < 0)
        goto cleanup;
    if (n == 0) {
        error = chan_error_set(err, CHAN_EINVALID, "%s: no token in the file", config->token_file);
        goto cleanup;
    }
    config->tokens =
        chan_xreallocarray(config->tokens, config->n_tokens + n, sizeof(*config->tokens));
    memcpy(config->tokens + config->n_tokens, entries, n * sizeof(*entries));
    config->n_tokens += n;
    free(entries); /* the identities moved into config->tokens */
    entries = NULL;
    n = 0;

cleanup:
    chan_token_entries_free(entries, n);
    free(text);
    return error;
}

/*
** Read one PEM file of --tls-cert or --tls-key into *out.  The contents must
** hold a "-----BEGIN <label>" line (label "CERTIFICATE" or "PRIVATE KEY",
** matched at the end so that "EC PRIVATE KEY" also passes); GnuTLS checks
** the rest when the server starts.
*/
static int read_pem(char **out, const char *flag, const char *path, const char *label,
                    chan_error *err)
{
    char *text = NULL, *begin;
    int error;

    if ((error = chan_file_read(&text, NULL, path, TLS_PEM_MAX, err)) < 0) {
        chan_error_prefix(err, "--%s", flag);
        return error;
    }
    for (begin = strstr(text, "-----BEGIN "); begin; begin = strstr(begin + 1, "-----BEGIN ")) {
        const char *end = strstr(begin + 11, "-----");
        size_t n = strlen(label);

        if (end && (size_t)(end - begin - 11) >= n && strncmp(end - n, label, n) == 0)
            break;
    }
    if (begin == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "--%s: %s is not a PEM file with a %s", flag,
                               path, label);
        explicit_bzero(text, strlen(text));
        free(text);
        return error;
    }
    *out = text;
    return 0;
}

/*
** Check what the HTTPS server will be given, as GnuTLS will read it: the key
** must go with the certificate and the priority string must parse, so that
** --check-config catches what would stop the start.
*/
static int check_tls(const chand_config *config, chan_error *err)
{
    gnutls_certificate_credentials_t cred = NULL;
    gnutls_priority_t priority = NULL;
    gnutls_datum_t cert = {(unsigned char *)config->tls_cert_pem,
                           (unsigned int)strlen(config->tls_cert_pem)};
    gnutls_datum_t key = {(unsigned char *)config->tls_key_pem,
                          (unsigned int)strlen(config->tls_key_pem)};
    const char *at = NULL;
    int rc;

    if (gnutls_certificate_allocate_credentials(&cred) < 0)
        return chan_error_set(err, CHAN_EINTERNAL, "cannot set up TLS credentials");
    rc = gnutls_certificate_set_x509_key_mem(cred, &cert, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(cred);
    if (rc < 0)
        return chan_error_set(err, CHAN_EINVALID, "--tls-key %s does not go with --tls-cert %s: %s",
                              config->tls_key, config->tls_cert, gnutls_strerror(rc));
    rc = gnutls_priority_init(&priority, config->tls_priorities, &at);
    if (rc < 0)
        return chan_error_set(err, CHAN_EINVALID, "--tls-priorities: %s at \"%s\"",
                              gnutls_strerror(rc), at ? at : config->tls_priorities);
    gnutls_priority_deinit(priority);
    return 0;
}

/* --tls-cert and --tls-key: both or neither, read into memory and checked. */
static int load_tls(chand_config *config, chan_error *err)
{
    int error;

    if (config->tls_cert == NULL && config->tls_key == NULL)
        return 0;
    if (config->tls_cert == NULL || config->tls_key == NULL) {
        error = chan_error_set(err, CHAN_EINVALID, "%s is set but %s is not: HTTPS needs both",
                               config->tls_cert ? "--tls-cert" : "--tls-key",
                               config->tls_cert ? "--tls-key" : "--tls-cert");
        chan_error_hint(err, "set both (or CHANREG_TLS_CERT and CHANREG_TLS_KEY), or neither "
                             "for plain HTTP");
        return error;
    }
    if (config->tls_priorities == NULL)
        return chan_error_set(err, CHAN_EINVALID, "--tls-priorities: empty priority string");
    if ((error = read_pem(&config->tls_cert_pem, "tls-cert", config->tls_cert, "CERTIFICATE",
                          err)) < 0 ||
        (error = read_pem(&config->tls_key_pem, "tls-key", config->tls_key, "PRIVATE KEY", err)) <
            0)
        return error;
    return check_tls(config, err);
}

/* Split "host:port", "[v6]:port" (the value of --flag) into host and port. */
static int parse_address(char **out_host, unsigned int *out_port, const char *flag, const char *s,
                         chan_error *err)
{
    const char *colon;
    int64_t port;

    if (s == NULL)
        return chan_error_set(err, CHAN_EINVALID, "--%s: missing address", flag);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close[1] != ':')
            return chan_error_set(err, CHAN_EINVALID, "--%s: expected [ADDR]:PORT, got \"%s\"",
                                  flag, s);
        *out_host = chan_xstrndup(s + 1, (size_t)(close - s - 1));
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return chan_error_set(err, CHAN_EINVALID, "--%s: expected HOST:PORT, got \"%s\"", flag,
                                  s);
        *out_host = chan_xstrndup(s, (size_t)(colon - s));
    }
    if (chan_parse_int64(&port, colon + 1, 0, 65535) != 0)
        return chan_error_set(err, CHAN_EINVALID, "--%s: bad port \"%s\"", flag, colon + 1);
    *out_port = (unsigned int)port;
    return 0;
}

int chand_acl_mode_parse(chand_acl_mode *out, const char *s)
{
    if (s == NULL)
        return CHAN_EINVALID;
    if (strcmp(s, "off") == 0)
        *out = CHAND_ACL_MODE_OFF;
    else if (strcmp(s, "plan") == 0)
        *out = CHAND_ACL_MODE_PLAN;
    else if (strcmp(s, "apply") == 0)
        *out = CHAND_ACL_MODE_APPLY;
    else
        return CHAN_EINVALID;
    return 0;
}

const char *chand_acl_mode_name(chand_acl_mode mode)
{
    switch (mode) {
    case CHAND_ACL_MODE_OFF:
        return "off";
    case CHAND_ACL_MODE_PLAN:
        return "plan";
    case CHAND_ACL_MODE_APPLY:
        return "apply";
    }
    return "unknown";
}

/*
** Validate the Kafka options without connecting anywhere: --acl-mode (into
** acl_mode_value), the backoff bounds, --kafka-bootstrap, and the properties
** file, read into kafka_properties and every property checked by librdkafka
** ("FILE:LINE: ..." for a bad one).
*/
static int validate_kafka(chand_config *config, chan_error *err)
{
    const char *s;
    int error;

    if (chand_acl_mode_parse(&config->acl_mode_value, config->acl_mode) < 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "--acl-mode: expected off, plan or apply, got \"%s\"",
                              config->acl_mode ? config->acl_mode : "");
    if (chand_acl_mode_parse(&config->topic_mode_value, config->topic_mode) < 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "--topic-mode: expected off, plan or apply, got \"%s\"",
                              config->topic_mode ? config->topic_mode : "");
    if (config->reconcile_backoff_min_ms > config->reconcile_backoff_max_ms)
        return chan_error_set(err, CHAN_EINVALID,
                              "--reconcile-backoff-min-ms (%lld) is above "
                              "--reconcile-backoff-max-ms (%lld)",
                              (long long)config->reconcile_backoff_min_ms,
                              (long long)config->reconcile_backoff_max_ms);
    for (s = config->kafka_bootstrap; s && *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return chan_error_set(err, CHAN_EINVALID, "--kafka-bootstrap: control character");
    }
    if (config->kafka_config_file == NULL)
        return 0;
    error = chan_kafka_properties_load(&config->kafka_properties, config->kafka_config_file, err);
    if (error < 0) {
        if (error != CHAN_EINVALID) /* the file could not be read */
            chan_error_prefix(err, "--kafka-config-file");
        return error;
    }
    return chan_kafka_properties_check(&config->kafka_properties, err);
}

/* True when s holds a control character or a blank. */
static bool has_blank_or_control(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || *s == 0x7f)
            return true;
    return false;
}

/*
** --webhook [FORMAT=]URL values into config->webhooks, and the key of
** --webhook-secret-file (its first line, 16 to 1024 bytes) into
** config->webhook_secret.
*/
static int validate_webhooks(chand_config *config, chan_error *err)
{
    const chand_str_list *l = &config->webhook_specs;
    char *text = NULL;
    size_t i, len;
    int error = 0;

    config->webhooks = chan_xcalloc(l->n + 1, sizeof(*config->webhooks));
    for (i = 0; i < l->n; i++) {
        const char *spec = l->items[i], *url = spec;
        chand_webhook_format format = CHAND_WEBHOOK_CLOUDEVENTS;

        if (strncmp(spec, "slack=", 6) == 0) {
            format = CHAND_WEBHOOK_SLACK;
            url = spec + 6;
        } else if (strncmp(spec, "cloudevents=", 12) == 0) {
            url = spec + 12;
        }
        if ((strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0) ||
            strlen(url) > 2048 || has_blank_or_control(url)) {
            error = chan_error_set(err, CHAN_EINVALID,
                                   "--webhook: expected [cloudevents=|slack=]http(s)://..., got "
                                   "\"%.64s\"",
                                   spec);
            goto cleanup;
        }
        config->webhooks[config->n_webhooks].url = chan_xstrdup(url);
        config->webhooks[config->n_webhooks++].format = format;
    }
    if (config->webhook_retry_min_ms > config->webhook_retry_max_ms) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "--webhook-retry-min-ms (%lld) is above --webhook-retry-max-ms "
                               "(%lld)",
                               (long long)config->webhook_retry_min_ms,
                               (long long)config->webhook_retry_max_ms);
        goto cleanup;
    }
    if (config->webhook_secret_file == NULL)
        goto cleanup;
    if (config->n_webhooks == 0) {
        error = chan_error_set(err, CHAN_EINVALID, "--webhook-secret-file needs a --webhook");
        goto cleanup;
    }
    if ((error = chan_file_read(&text, NULL, config->webhook_secret_file, 65536, err)) < 0) {
        chan_error_prefix(err, "--webhook-secret-file");
        goto cleanup;
    }
    len = strcspn(text, "\r\n");
    if (len < 16 || len > 1024) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "--webhook-secret-file: the first line of %s must hold 16 to "
                               "1024 bytes",
                               config->webhook_secret_file);
        goto cleanup;
    }
    config->webhook_secret = chan_xstrndup(text, len);

cleanup:
    if (text != NULL) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    return error;
}

/*
** Split a comma-separated list of topic globs: blanks around each ignored,
** empty entries refused, control characters refused.
*/
static int split_globs(char ***out, size_t *out_n, const char *text, const char *option,
                       chan_error *err)
{
    char **list = NULL;
    size_t n = 0;
    const char *p = text;

    *out = NULL;
    *out_n = 0;
    if (text == NULL || *text == '\0')
        return 0;
    list = chan_xcalloc(strlen(text) + 1, sizeof(*list));
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        size_t i;

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
            len--;
        for (i = 0; i < len; i++) {
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                break;
        }
        if (len == 0 || i < len) {
            size_t k;

            for (k = 0; k < n; k++)
                free(list[k]);
            free(list);
            return chan_error_set(err, CHAN_EINVALID, "--%s: %s pattern in \"%s\"", option,
                                  len == 0 ? "an empty" : "a control character in a", text);
        }
        list[n++] = chan_xstrndup(p, len);
        if (end == NULL)
            break;
        p = end + 1;
    }
    *out = list;
    *out_n = n;
    return 0;
}

static int validate(chand_config *config, chan_error *err)
{
    chan_compat_mode mode;
    int error;

    if ((error = parse_address(&config->listen_host, &config->listen_port, "listen", config->listen,
                               err)) < 0)
        return error;
    if (config->health_listen &&
        (error = parse_address(&config->health_listen_host, &config->health_listen_port,
                               "health-listen", config->health_listen, err)) < 0)
        return error;
    if (config->db == NULL)
        return chan_error_set(err, CHAN_EINVALID, "--db: missing store URL");
    if (config->log_level == NULL ||
        chan_log_level_parse(&config->log_level_value, config->log_level) != 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "--log-level: expected debug, info, warn, error or off, got \"%s\"",
                              config->log_level ? config->log_level : "");
    if (config->default_compatibility == NULL ||
        chan_compat_mode_parse(&mode, config->default_compatibility) != 0)
        return chan_error_set(err, CHAN_EINVALID, "--default-compatibility: unknown level \"%s\"",
                              config->default_compatibility ? config->default_compatibility : "");
    /* Store the canonical spelling, so that replies show "BACKWARD". */
    free(config->default_compatibility);
    config->default_compatibility = chan_xstrdup(chan_compat_mode_name(mode));
    if (config->min_compat_text == NULL ||
        chan_compat_mode_parse(&config->min_compatibility, config->min_compat_text) != 0)
        return chan_error_set(err, CHAN_EINVALID, "--min-compatibility: unknown level \"%s\"",
                              config->min_compat_text ? config->min_compat_text : "");
    free(config->min_compat_text);
    config->min_compat_text = chan_xstrdup(chan_compat_mode_name(config->min_compatibility));
    if (!chan_policy_compat_satisfies(mode, config->min_compatibility)) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "--default-compatibility %s is below the policy floor "
                               "--min-compatibility %s",
                               config->default_compatibility, config->min_compat_text);
        chan_error_hint(err, "raise --default-compatibility, or lower --min-compatibility");
        return error;
    }
    if (config->token)
        add_flag_token(config, config->token);
    if (config->token_file && (error = load_token_file(config, err)) < 0)
        return error;
    if ((error = load_tls(config, err)) < 0)
        return error;
    if (config->auth_reads && config->n_tokens == 0)
        return chan_error_set(err, CHAN_EINVALID,
                              "--auth-reads needs a token: set --token or --token-file");
    if (config->n_tokens == 0 && !config->allow_unauthenticated_writes) {
        error = chan_error_set(err, CHAN_EINVALID,
                               "no token configured: set --token or --token-file (or "
                               "CHANREG_TOKEN, CHANREG_TOKEN_FILE)");
        chan_error_hint(err, "to let every request write without a token, say so with "
                             "--allow-unauthenticated-writes");
        return error;
    }
    if (config->n_tokens > 0 && config->allow_unauthenticated_writes)
        return chan_error_set(err, CHAN_EINVALID,
                              "--allow-unauthenticated-writes contradicts --token and "
                              "--token-file: give one or the other");
    if (config->producer_check && config->kafka_bootstrap == NULL)
        return chan_error_set(err, CHAN_EINVALID, "--producer-check needs --kafka-bootstrap");
    if ((error = split_globs(&config->topic_include_list, &config->n_topic_include,
                             config->topic_include, "topic-include", err)) < 0 ||
        (error = split_globs(&config->topic_exclude_list, &config->n_topic_exclude,
                             config->topic_exclude, "topic-exclude", err)) < 0)
        return error;
    if ((error = validate_kafka(config, err)) < 0)
        return error;
    if ((error = validate_webhooks(config, err)) < 0)
        return error;
    return 0;
}

int chand_config_load(chand_config **out, chand_config_action *out_action, int argc, char **argv,
                      chan_error *err)
{
    struct option longopts[CHAN_ARRAY_SIZE(options) + 5];
    chand_config *config = chan_xcalloc(1, sizeof(*config));
    chand_config_action action = CHAND_CONFIG_RUN;
    size_t i, n = 0;
    int error = 0, c;

    *out = NULL;
    *out_action = CHAND_CONFIG_RUN;
    for (i = 0; i < CHAN_ARRAY_SIZE(options); i++) {
        const char *env = getenv(options[i].env);
        char *source;

        if ((error = set_option(config, &options[i], options[i].def, options[i].name, err)) < 0)
            goto cleanup;
        if (env == NULL)
            continue;
        source = chan_xasprintf("environment variable %s", options[i].env);
        error = set_option(config, &options[i], env, source, err);
        free(source);
        if (error < 0)
            goto cleanup;
    }

    for (i = 0; i < CHAN_ARRAY_SIZE(options); i++) {
        longopts[n].name = options[i].name;
        longopts[n].has_arg = options[i].type == OPT_BOOL ? optional_argument : required_argument;
        longopts[n].flag = NULL;
        longopts[n].val = FLAG_TABLE + (int)i;
        n++;
    }
    longopts[n++] = (struct option){"help", no_argument, NULL, FLAG_HELP};
    longopts[n++] = (struct option){"version", no_argument, NULL, FLAG_VERSION};
    longopts[n++] = (struct option){"check-config", no_argument, NULL, FLAG_CHECK};
    longopts[n++] = (struct option){"list-routes", no_argument, NULL, FLAG_LIST_ROUTES};
    longopts[n] = (struct option){NULL, 0, NULL, 0};

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
        if (c == FLAG_HELP) {
            action = CHAND_CONFIG_HELP;
        } else if (c == FLAG_VERSION) {
            action = CHAND_CONFIG_VERSION;
        } else if (c == FLAG_CHECK) {
            action = CHAND_CONFIG_CHECK;
        } else if (c == FLAG_LIST_ROUTES) {
            action = CHAND_CONFIG_LIST_ROUTES;
        } else if (c >= FLAG_TABLE && c < FLAG_TABLE + (int)CHAN_ARRAY_SIZE(options)) {
            const option_def *opt = &options[c - FLAG_TABLE];
            char *source = chan_xasprintf("--%s", opt->name);

            error = set_option(config, opt, optarg ? optarg : "true", source, err);
            free(source);
            if (error < 0)
                goto cleanup;
        } else if (c == ':') {
            error = chan_error_set(err, CHAN_EINVALID, "option %s needs a value", argv[optind - 1]);
            goto cleanup;
        } else {
            error = chan_error_set(err, CHAN_EINVALID, "unknown option %s", argv[optind - 1]);
            goto cleanup;
        }
    }
    if (optind < argc) {
        error = chan_error_set(err, CHAN_EINVALID, "unexpected argument \"%s\"", argv[optind]);
        goto cleanup;
    }
    *out_action = action;
    if (action == CHAND_CONFIG_HELP || action == CHAND_CONFIG_VERSION ||
        action == CHAND_CONFIG_LIST_ROUTES)
        goto cleanup;
    if ((error = validate(config, err)) < 0)
        goto cleanup;
    *out = config;
    config = NULL;

cleanup:
    chand_config_free(config);
    return error;
}

void chand_config_free(chand_config *config)
{
    size_t i;

    if (config == NULL)
        return;
    for (i = 0; i < CHAN_ARRAY_SIZE(options); i++) {
        if (options[i].type == OPT_STRING)
            free(*(char **)(void *)((char *)config + options[i].offset));
        else if (options[i].type == OPT_LIST)
            str_list_clear((chand_str_list *)(void *)((char *)config + options[i].offset));
    }
    for (i = 0; i < config->n_webhooks; i++)
        free(config->webhooks[i].url);
    free(config->webhooks);
    if (config->webhook_secret)
        explicit_bzero(config->webhook_secret, strlen(config->webhook_secret));
    free(config->webhook_secret);
    chan_token_entries_free(config->tokens, config->n_tokens);
    free(config->listen_host);
    free(config->health_listen_host);
    chan_kafka_properties_dispose(&config->kafka_properties);
    for (i = 0; i < config->n_topic_include; i++)
        free(config->topic_include_list[i]);
    free(config->topic_include_list);
    for (i = 0; i < config->n_topic_exclude; i++)
        free(config->topic_exclude_list[i]);
    free(config->topic_exclude_list);
    free(config->tls_cert_pem);
    if (config->tls_key_pem)
        explicit_bzero(config->tls_key_pem, strlen(config->tls_key_pem));
    free(config->tls_key_pem);
    free(config);
}

void chand_config_usage(FILE *out)
{
    size_t i;

    fprintf(out, "chanregd - channel contract registry daemon\n\n"
                 "Usage:\n"
                 "  chanregd [OPTION]...\n\n"
                 "Options (each can also be set with the environment variable shown):\n");
    for (i = 0; i < CHAN_ARRAY_SIZE(options); i++) {
        const option_def *opt = &options[i];
        char flag[64];

        if (opt->type == OPT_LIST)
            snprintf(flag, sizeof(flag), "--%s=%s...", opt->name, opt->metavar);
        else if (opt->metavar)
            snprintf(flag, sizeof(flag), "--%s=%s", opt->name, opt->metavar);
        else
            snprintf(flag, sizeof(flag), "--%s[=BOOL]", opt->name);
        fprintf(out, "  %-34s %s\n  %-34s [%s%s%s]\n", flag, opt->help, "", opt->env,
                opt->def ? ", default " : "", opt->def ? opt->def : "");
    }
    fprintf(out, "  %-34s %s\n", "--check-config", "validate the configuration and exit");
    fprintf(out, "  %-34s %s\n", "--list-routes", "print METHOD PATTERN ACTION per route and exit");
    fprintf(out, "  %-34s %s\n", "-V, --version", "print the version and exit");
    fprintf(out, "  %-34s %s\n", "-h, --help", "show this help and exit");
    fprintf(out, "\nSignals: SIGTERM and SIGINT stop accepting requests, finish the ones in\n"
                 "flight (at most --shutdown-timeout seconds; a second signal stops waiting),\n"
                 "cancel the database statements still waiting, and exit.\n");
}

/* True when host names a loopback address: localhost, 127.0.0.0/8 or ::1. */
static bool is_loopback(const char *host)
{
    struct in_addr v4;
    struct in6_addr v6;

    if (strcasecmp(host, "localhost") == 0)
        return true;
    if (inet_pton(AF_INET, host, &v4) == 1)
        return (ntohl(v4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &v6) == 1 && IN6_IS_ADDR_LOOPBACK(&v6);
}

void chand_config_log(const chand_config *config)
{
    size_t i;

    chan_log(CHAN_LOG_INFO, "config",
             "configuration listen=%s db_backend=%s auth_writes=%s auth_reads=%s tls=%s "
             "max_body=%lld threads=%lld shutdown_timeout=%lld default_compatibility=%s "
             "min_compatibility=%s schema_cache=%lld reply_cache_mb=%lld "
             "db_connect_timeout_ms=%lld db_statement_timeout_ms=%lld db_acquire_timeout_ms=%lld "
             "db_busy_timeout_ms=%lld",
             config->listen, strncmp(config->db, "postgres", 8) == 0 ? "postgres" : "sqlite",
             config->n_tokens ? "on" : "off", config->auth_reads ? "on" : "off",
             config->tls_cert_pem ? "on" : "off", (long long)config->max_body,
             (long long)config->threads, (long long)config->shutdown_timeout,
             config->default_compatibility, config->min_compat_text,
             (long long)config->schema_cache_size, (long long)config->reply_cache_mb,
             (long long)config->db_connect_timeout_ms, (long long)config->db_statement_timeout_ms,
             (long long)config->db_acquire_timeout_ms, (long long)config->db_busy_timeout_ms);
    if (config->n_tokens > 0 && config->tls_cert_pem == NULL && !is_loopback(config->listen_host))
        chan_log(CHAN_LOG_WARN, "config",
                 "tokens travel in clear text: TLS is off and listen=%s is not a loopback "
                 "address; set --tls-cert and --tls-key, or terminate TLS in front of chanregd",
                 config->listen);
    if (config->n_tokens == 0)
        chan_log(CHAN_LOG_WARN, "config",
                 "auth is off (--allow-unauthenticated-writes): every request acts as "
                 "\"anonymous\" with role admin");
    for (i = 0; i < config->n_tokens; i++) {
        if (config->tokens[i].legacy)
            chan_log(CHAN_LOG_WARN, "config",
                     "token file %s:%d: legacy NAME:TOKEN line, treated as admin; hash it with "
                     "\"chanctl token hash\"",
                     config->token_file, config->tokens[i].line);
    }
}

const chan_token_entry *chand_config_token_find(const chand_config *config, const char *token,
                                                size_t len)
{
    const chan_token_entry *found = NULL;
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN];
    size_t i;

    chan_token_digest(digest, token, len);
    for (i = 0; i < config->n_tokens; i++) {
        /* Every entry is compared, whatever matched before. */
        bool same = chan_ct_memeq(digest, config->tokens[i].digest, sizeof(digest));

        if (same && found == NULL)
            found = &config->tokens[i];
    }
    return found;
}
