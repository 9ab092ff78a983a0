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

typedef struct chand_reconciler chand_reconciler;
/** The reconciler of the /v1/acl endpoints (NULL: Kafka not configured); set before serving. */
void chand_api_acl_set_reconciler(chand_reconciler *r);

#endif
