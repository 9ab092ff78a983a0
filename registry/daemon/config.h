/*
 * config.h - chanregd's configuration: one option table drives the command
 * line flags, the CHANREG_* environment variables, the defaults, the range
 * checks and --help.
 *
 * Precedence: built-in default, then the environment variable, then the
 * flag.  After chand_config_load the configuration is validated and never
 * changes; handlers read it through chand_request_config.
 *
 * Ownership: a chand_config comes from chand_config_load and is freed with
 * chand_config_free; every string in it belongs to it.
 */
#ifndef CHANREGD_CONFIG_H
#define CHANREGD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "chan/authz.h"
#include "chan/avro.h"
#include "chan/common.h"
#include "chan/error.h"
#include "chan/kafka.h"

/** What the Kafka reconciler may do (--acl-mode). */
typedef enum chand_acl_mode {
    CHAND_ACL_MODE_OFF = 0, /**< no loop */
    CHAND_ACL_MODE_PLAN,    /**< loop of dry runs: compute and expose, never change */
    CHAND_ACL_MODE_APPLY,   /**< loop that creates and deletes ACLs */
} chand_acl_mode;

/** Parse "off", "plan" or "apply".  @return 0 or CHAN_EINVALID */
int chand_acl_mode_parse(chand_acl_mode *out, const char *s);

/** "off", "plan" or "apply". */
const char *chand_acl_mode_name(chand_acl_mode mode);

/** A repeatable option's values, in the order given. */
typedef struct chand_str_list {
    char **items;
    size_t n;
    bool from_flags; /**< set by a flag: later flags append, the environment is replaced */
} chand_str_list;

/** Body format of a webhook (--webhook [FORMAT=]URL). */
typedef enum chand_webhook_format {
    CHAND_WEBHOOK_CLOUDEVENTS = 0, /**< CloudEvents 1.0, structured JSON */
    CHAND_WEBHOOK_SLACK,           /**< Slack incoming-webhook JSON ({"text": ...}) */
} chand_webhook_format;

/** One webhook of --webhook. */
typedef struct chand_webhook {
    char *url;
    chand_webhook_format format;
} chand_webhook;

/** The daemon's settings.  Read-only after chand_config_load. */
typedef struct chand_config {
    char *listen;                /**< "HOST:PORT" */
    char *db;                    /**< store URL: "sqlite:PATH" or "postgres://..." */
    char *port_file;             /**< write the bound port here, or NULL */
    char *token;                 /**< single API token (identity "admin", role admin), or NULL */
    char *token_file;            /**< token file (v2 lines, or legacy NAME:TOKEN), or NULL */
    bool auth_reads;             /**< require a token for reads too */
    char *tls_cert;              /**< PEM certificate file: HTTPS when set, or NULL */
    char *tls_key;               /**< PEM private key file, set exactly when tls_cert is */
    char *tls_priorities;        /**< GnuTLS priority string */
    int64_t max_body;            /**< request body limit in bytes */
    int64_t threads;             /**< HTTP worker threads */
    int64_t connection_limit;    /**< concurrent connections */
    int64_t connection_timeout;  /**< idle connection timeout, seconds */
    int64_t shutdown_timeout;    /**< drain deadline, seconds */
    char *log_level;             /**< debug, info, warn, error, off */
    bool access_log;             /**< one line per request */
    char *default_compatibility; /**< level when none is configured in the store */
    char *min_compat_text;       /**< --min-compatibility as given (the policy floor) */
    bool require_deprecation_all_subjects; /**< removal rule on unbound subjects too */
    char *migrations_dir;                  /**< NULL: migrations built into the binary */
    int64_t db_pool_size;                  /**< PostgreSQL connections */
    int64_t schema_cache_size;             /**< id -> schema cache entries, 0 disables */
    int64_t parsed_schema_cache_mb;        /**< parsed-schema cache bound (estimate), 0 disables */
    int64_t reply_cache_mb;                /**< bound of the reply cache in MiB, 0 disables */

    /* Store deadlines and open mode. */
    int64_t db_connect_timeout_ms;     /**< PostgreSQL: connecting */
    int64_t db_statement_timeout_ms;   /**< PostgreSQL: statement_timeout; replies wait + 2 s */
    int64_t db_acquire_timeout_ms;     /**< wait for a free pooled connection */
    int64_t db_busy_timeout_ms;        /**< SQLite: wait for the write lock */
    bool allow_unauthenticated_writes; /**< run without any token (every request is admin) */

    /* Slow and many clients (server.c). */
    int64_t per_ip_connection_limit; /**< concurrent connections per client address, 0: none */
    int64_t request_head_timeout;    /**< deadline of a request head, seconds */
    int64_t request_body_timeout;    /**< deadline of a request body, seconds */
    int64_t overload_timeout;        /**< the deadlines near the connection limit, seconds */
    char *health_listen;             /**< "HOST:PORT" of the probe listener, or NULL */

    /* Lifecycle, Kafka admission and producer checks. */
    int64_t registration_max_age_days; /**< consumer registrations older are stale */
    int64_t deprecation_warning_days;  /**< warn this many days before deprecation */
    chand_str_list webhook_specs;      /**< --webhook values as given */
    char *webhook_secret_file;         /**< HMAC key file of the deliveries, or NULL */
    int64_t webhook_timeout_ms;        /**< per delivery */
    int64_t webhook_retry_min_ms;      /**< first retry delay, doubled per failure */
    int64_t webhook_retry_max_ms;      /**< cap of the retry delay */
    int64_t webhook_give_up_hours;     /**< an event failing this long is given up */
    int64_t webhook_poll_ms;           /**< how often new events are looked for */
    int64_t lifecycle_scan_interval;   /**< seconds between lifecycle event scans */
    char *kafka_bootstrap;             /**< "HOST:PORT,...", NULL: no Kafka work at all */
    char *kafka_config_file;           /**< librdkafka properties file, or NULL */
    char *acl_mode;                    /**< "off", "plan" or "apply" (reconciler.h) */
    int64_t reconcile_interval;        /**< seconds between reconciler passes */
    int64_t reconcile_backoff_min_ms;  /**< first retry delay after a failed pass */
    int64_t reconcile_backoff_max_ms;  /**< cap of the retry delay */
    int64_t kafka_timeout_ms;          /**< per Kafka admin request */
    bool producer_check;               /**< sample managed topics (producer_check.h) */
    int64_t producer_check_sample;     /**< check 1 message in N */
    int64_t producer_check_interval;   /**< seconds between contract refreshes */
    int64_t producer_check_max_rate;   /**< messages read per second at most */
    char *topic_include;               /**< topic discovery: comma-separated globs, NULL: all */
    char *topic_exclude;               /**< topic discovery: comma-separated globs */
    char *topic_mode;                  /**< topic configs: "off", "plan" or "apply" */

    /* Derived by chand_config_load. */
    char *listen_host;        /**< host part of listen */
    unsigned int listen_port; /**< port part of listen (0: any free port) */
    chan_log_level log_level_value;
    char *health_listen_host;        /**< host part of health_listen, or NULL */
    unsigned int health_listen_port; /**< port part of health_listen */
    chand_acl_mode acl_mode_value;
    chand_acl_mode topic_mode_value; /**< --topic-mode, with the values of --acl-mode */
    /**
     * The policy floor: no subject bound to a channel may be left at a level
     * that does not satisfy it (chan_policy_level_allowed), except by an
     * admin or under the channel's approved waiver.
     */
    chan_compat_mode min_compatibility;
    chan_kafka_properties kafka_properties; /**< read from kafka_config_file, checked */
    char **topic_include_list;              /**< topic_include split at commas */
    size_t n_topic_include;
    char **topic_exclude_list; /**< topic_exclude split at commas */
    size_t n_topic_exclude;
    chan_token_entry *tokens; /**< from token and token_file; auth on iff any */
    size_t n_tokens;
    chand_webhook *webhooks; /**< parsed webhook_specs */
    size_t n_webhooks;
    char *webhook_secret; /**< first line of webhook_secret_file, cleared before free */
    char *tls_cert_pem;   /**< contents of tls_cert (NUL-terminated), NULL without TLS */
    char *tls_key_pem;    /**< contents of tls_key, cleared before it is freed */
} chand_config;

/** What the command line asks for besides running. */
typedef enum chand_config_action {
    CHAND_CONFIG_RUN = 0,
    CHAND_CONFIG_HELP,
    CHAND_CONFIG_VERSION,
    CHAND_CONFIG_CHECK,       /**< --check-config: validate and exit */
    CHAND_CONFIG_LIST_ROUTES, /**< --list-routes: print the routes and exit */
} chand_config_action;

/**
 * Build the configuration from the defaults, the environment and argv, and
 * validate it (ranges, listen address, log level, compatibility levels (the
 * default level must satisfy the floor --min-compatibility), token
 * file, Kafka options and properties file (every property checked by
 * librdkafka, without connecting anywhere), TLS certificate and key: both
 * or neither, read into tls_*_pem.
 *
 * @param[out] out        the configuration (free with chand_config_free); NULL
 *                        on failure and for --help / --version
 * @param[out] out_action what to do
 * @param argc, argv      the command line
 * A token or token file given but empty or blank (an unset variable) is an
 * error, and so is running without any token unless
 * --allow-unauthenticated-writes says so.
 *
 * @return 0 or CHAN_EINVALID (bad flag or value, only one of --tls-cert and
 *         --tls-key, a TLS file without PEM certificate or key; err names the
 *         flag or the variable, or FILE:LINE of the properties file),
 *         CHAN_ENOTFOUND / CHAN_EIO / CHAN_ETOOBIG (token, properties or TLS files)
 */
int chand_config_load(chand_config **out, chand_config_action *out_action, int argc, char **argv,
                      chan_error *err);

/** Free a configuration.  NULL-safe. */
void chand_config_free(chand_config *config);

/** Print the --help text, generated from the option table. */
void chand_config_usage(FILE *out);

/**
 * Log the effective configuration, one line, secrets left out; then a WARN
 * for open mode (no token configured) and for each legacy NAME:TOKEN line
 * of the token file.
 */
void chand_config_log(const chand_config *config);

/**
 * The configured token whose digest is that of token: the token is hashed
 * once and its digest compared in constant time with every entry (no early
 * exit).  Expiry is not checked here.
 * @return the entry (borrowed), or NULL when none matches
 */
const chan_token_entry *chand_config_token_find(const chand_config *config, const char *token,
                                                size_t len);

#endif
