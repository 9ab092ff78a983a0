/*
 * api.h - the route tables of chanregd's API modules.
 *
 * Each API module (api_<name>.c) defines one route table and its length; the
 * server tries the tables in the order main.c lists them.  To add a module,
 * define its table in a new file and list it here and in main.c.
 *
 * The tables are read-only and live for the whole process.
 */
#ifndef CHANREGD_API_H
#define CHANREGD_API_H

#include <stddef.h>

#include "chan/model.h"
#include "chan/policy.h"
#include "server.h"

/** Health and service endpoints: /healthz, /readyz, / (api_misc.c). */
extern const chand_route chand_api_misc_routes[];
extern const size_t chand_api_misc_routes_count;

/** The Confluent Schema Registry-compatible API (api_schema.c). */
extern const chand_route chand_api_schema_routes[];
extern const size_t chand_api_schema_routes_count;

/** The channels, consumers and audit API under /v1 (api_channels.c). */
extern const chand_route chand_api_channels_routes[];
extern const size_t chand_api_channels_routes_count;

/** Contract health: GET /metrics and GET /v1/lifecycle (api_metrics.c). */
extern const chand_route chand_api_metrics_routes[];
extern const size_t chand_api_metrics_routes_count;

/** Kafka admission: /v1/acl/plan, /v1/acl/apply, /v1/acl/status, /v1/admission (api_acl.c). */
extern const chand_route chand_api_acl_routes[];
extern const size_t chand_api_acl_routes_count;
/** Identities: GET /v1/whoami and the API tokens of the store, /v1/tokens (api_tokens.c). */
extern const chand_route chand_api_tokens_routes[];
extern const size_t chand_api_tokens_routes_count;

/** The policy floor: GET /v1/policy, POST /v1/channels/{name}/waiver/approve (api_policy.c). */
extern const chand_route chand_api_policy_routes[];
extern const size_t chand_api_policy_routes_count;

typedef struct chand_readiness chand_readiness;
/** The store probe behind /readyz (readiness.h; NULL: always ready); set before serving. */
void chand_api_misc_set_readiness(chand_readiness *r);

/** The web UI under /ui/, GET /v1/channels/{name}/schema-diff, GET /v1/consumer-rules (api_ui.c).
 */
extern const chand_route chand_api_ui_routes[];
extern const size_t chand_api_ui_routes_count;

/** Number of route tables chand_api_route_tables fills. */
#define CHAND_API_N_TABLES 8

/**
 * The route tables chanregd serves, in the order the server searches them
 * (api_tables.c): the one list, used by main() and the HTTP fuzz harness.
 */
void chand_api_route_tables(chand_route_table out[CHAND_API_N_TABLES]);

typedef struct chand_reconciler chand_reconciler;
/** The reconciler of the /v1/acl endpoints (NULL: Kafka not configured); set before serving. */
void chand_api_acl_set_reconciler(chand_reconciler *r);

/** What a refusal of the policy floor is about: it picks the wording of the 40302 message. */
typedef enum chand_floor_change {
    CHAND_FLOOR_SET_LEVEL, /**< PUT or DELETE /config/{subject} sets the subject's level */
    CHAND_FLOOR_BIND,      /**< PUT /v1/channels/{name} binds a subject left at its level */
} chand_floor_change;

/**
 * The policy floor (--min-compatibility, api_schema.c): may subject, bound to
 * the channel bound (NULL: unbound), be at level?  Yes for an unbound subject,
 * a level that satisfies the floor, an admin (logged at WARN when it
 * overrides the floor), or bound's approved waiver at exactly its own level
 * (chan_policy_level_allowed).
 *
 * @return 0, or CHAN_EDENIED with err set to HTTP 403 / 40302
 */
int chand_floor_check(chand_request *req, const char *subject, chan_compat_mode level,
                      const chan_channel_record *bound, chand_floor_change change, chan_error *err);

/**
 * Give every stored schema that has no identity yet (stores written before
 * migration 0007) its identity, chan_avro_schema_identity of its text, so
 * that registration and lookup find it.  Called once at start-up, before
 * the server listens.
 *
 * @return 0 or a store error
 */
int chand_schema_fill_identity(chan_store *store, chan_error *err);

/**
 * The effective compatibility level of subject (NULL: the global one): its
 * own level, else the global level, else --default-compatibility.
 *
 * @return 0 or a CHAN_E* code with err set (as a Confluent error)
 */
int chand_effective_level(chan_compat_mode *out, chand_request *req, const char *subject,
                          chan_error *err);

#endif
