/*
 * api_misc.c - service endpoints of chanregd: liveness (/healthz), readiness
 * (/readyz) and the Confluent root resource (/).
 *
 * /healthz answers as long as the process serves HTTP.  /readyz also pings
 * the store and fails once shutdown has begun, so that a load balancer stops
 * sending traffic before the listener closes.  Both are never authenticated.
 */
#include "chan/store.h"
#include "chan/version.h"

#include "api.h"

static int healthz(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, json_pack("{s:s}", "status", "ok"));
}

static int readyz(chand_request *req, chan_error *err)
{
    chan_error perr = CHAN_ERROR_INIT;
    chan_store *store = chand_request_store(req);

    if (chand_request_shutting_down(req))
        return chand_reply_json(
            req, 503, json_pack("{s:s,s:s}", "status", "unavailable", "reason", "shutting down"));
    if (chan_store_ping(store, &perr) < 0)
        return chand_reply_json(req, 503,
                                json_pack("{s:s,s:s,s:s}", "status", "unavailable", "reason",
                                          "store unreachable", "detail", perr.message));
    return chand_reply_json(req, 200,
                            json_pack("{s:s,s:s,s:s}", "status", "ready", "store",
                                      chan_store_backend_name(store), "version",
                                      CHAN_VERSION_STRING));
}

static int root(chand_request *req, chan_error *err)
{
    return chand_reply_json(req, 200, json_object());
}

const chand_route chand_api_misc_routes[] = {
    {"GET", "/healthz", healthz, CHAN_AUTHZ_PUBLIC, NULL},
    {"GET", "/readyz", readyz, CHAN_AUTHZ_PUBLIC, NULL},
    {"GET", "/", root, CHAN_AUTHZ_READ, NULL},
};

const size_t chand_api_misc_routes_count = CHAN_ARRAY_SIZE(chand_api_misc_routes);
