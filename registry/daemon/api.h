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
extern const chan_route chan_api_misc_routes[];
extern const size_t chan_api_misc_routes_count;

/** The Confluent Schema Registry-compatible API (api_schema.c). */
extern const chan_route chan_api_schema_routes[];
extern const size_t chan_api_schema_routes_count;

/** The channels, consumers and audit API under /v1 (api_channels.c). */
extern const chan_route chan_api_channels_routes[];
extern const size_t chan_api_channels_routes_count;

#endif
