/*
 * api_misc.c - service endpoints of chanregd: liveness (/healthz), readiness
 * (/readyz) and the Confluent root resource (/).
 *
 * /healthz answers as long as the process serves HTTP, without touching the
 * store.  /readyz fails once shutdown has begun, so that a load balancer
 * stops sending traffic before the listener closes, and while the store is
 * not ready; it answers from the background probe of readiness.c, so it
 * never waits for a hung database, and says whether writes are open to
 * every client (--allow-unauthenticated-writes).  Both are never
 * authenticated.
 */
#include <stdbool.h>

#include "chan/store.h"
#include "chan/version.h"

#include "api.h"
#include "config.h"
#include "readiness.h"

/* Set once by main.c before the server starts; read-only afterwards. */
static chand_readiness *readiness;

void chand_api_misc_set_readiness(chand_readiness *r)
{
    readiness = r;
}

static bool writes_open(const chand_request *req)
{
    return chand_request_config(req)->allow_unauthenticated_writes;
}

static int healthz(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int readyz(chand_request *req, chan_error *err)
{
    char detail[CHAN_ERROR_MESSAGE_MAX];
    const char *reason;
    chan_store *store = chand_request_store(req);

    if (chand_request_shutting_down(req))
        return chand_reply_json(req, 503,
                                json_pack("{s:s,s:s,s:b}", "status", "unavailable", "reason",
                                          "shutting down", "unauthenticated_writes",
                                          writes_open(req)));
    if (!chand_readiness_get(readiness, &reason, detail, sizeof(detail)))
        return chand_reply_json(req, 503,
                                json_pack("{s:s,s:s,s:s,s:b}", "status", "unavailable", "reason",
                                          reason, "detail", detail, "unauthenticated_writes",
                                          writes_open(req)));
    return chand_reply_json(
        req, 200,
        json_pack("{s:s,s:s,s:s,s:b}", "status", "ready", "store", chan_store_backend_name(store),
                  "version", CHAN_VERSION_STRING, "unauthenticated_writes", writes_open(req)));
}

static int root(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, json_object());
}

const chand_route chand_api_misc_routes[] = {
    {"GET", "/healthz", healthz, CHAN_AUTHZ_PUBLIC, NULL, CHAND_CACHE_NONE},
    {"GET", "/readyz", readyz, CHAN_AUTHZ_PUBLIC, NULL, CHAND_CACHE_NONE},
    {"GET", "/", root, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_misc_routes_count = CHAN_ARRAY_SIZE(chand_api_misc_routes);
