/*
 * api_policy.c - the registry's policy floor of compatibility (see
 * docs/api.md, "Policy"):
 *
 *   GET  /v1/policy                         -> {"min_compatibility": LEVEL}, the
 *                                              floor (--min-compatibility)
 *   POST /v1/channels/{name}/waiver/approve -> the channel's waiver
 *                                              {"channel", "reason", "approved_by",
 *                                              "approved_at", "compatibility"}
 *
 * A contract whose compatibility is below the floor carries a waiver
 * (schema.waiver.reason); an admin approves it here.  Once approved, the
 * subject may be left at the contract's own level by its owners (api_schema.c
 * PUT/DELETE /config/{subject}, chan_policy_level_allowed).  The store clears
 * the approval when the contract's compatibility or reason changes.
 *
 * API error codes of this module:
 *   40410 channel not found   40915 the channel has no waiver to approve
 */
#include <stdint.h>
#include <time.h>

#include <jansson.h>

#include "api.h"
#include "authz_targets.h"
#include "config.h"
#include "chan/avro.h"
#include "chan/common.h"
#include "chan/model.h"
#include "chan/store.h"

/* API error codes (see the file comment). */
#define E_CHANNEL_NOT_FOUND 40410
#define E_NO_WAIVER         40915

/* GET /v1/policy */
static int get_policy(chand_request *req, chan_error *err)
{
    return chand_reply_json(
        req, 200,
        json_pack("{s:s}", "min_compatibility",
                  chan_compat_mode_name(chand_request_config(req)->min_compatibility)));
}

/* POST /v1/channels/{name}/waiver/approve */
static int approve_waiver(chand_request *req, chan_error *err)
{
    const char *name = chand_request_param(req, "name");
    chan_channel_record *rec = NULL;
    chan_store *store = chand_request_store(req);
    int error;

    error = chan_store_channel_waiver_approve(store, name, chand_request_actor(req), err);
    if (error == CHAN_ENOTFOUND)
        return chand_http_error(err, CHAN_ENOTFOUND, E_CHANNEL_NOT_FOUND,
                                "Channel '%.250s' not found.", name);
    if (error < 0 && chan_store_error_reason(err) == CHAN_STORE_R_NO_WAIVER)
        return chand_http_error(err, CHAN_ECONFLICT, E_NO_WAIVER,
                                "Channel '%.250s' has no waiver to approve: its contract carries "
                                "no schema.waiver.reason.",
                                name);
    if (error < 0 || (error = chan_store_channel_get(store, &rec, name, err)) < 0)
        return error;
    error =
        chand_reply_json(req, 200,
                         json_pack("{s:s, s:s?, s:s?, s:o, s:s?}", "channel", rec->name, "reason",
                                   rec->waiver_reason, "approved_by", rec->waiver_approved_by,
                                   "approved_at", chan_json_time_or_null(rec->waiver_approved_at),
                                   "compatibility", rec->compatibility));
    chan_channel_record_free(rec);
    return error;
}

const chand_route chand_api_policy_routes[] = {
    {"GET", "/v1/policy", get_policy, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"POST", "/v1/channels/{name}/waiver/approve", approve_waiver, CHAN_AUTHZ_REGISTRY_ADMIN, NULL,
     CHAND_CACHE_NONE},
};

const size_t chand_api_policy_routes_count = CHAN_ARRAY_SIZE(chand_api_policy_routes);
