/*
 * api_metrics.c - contract health endpoints of chanregd: GET /metrics (the
 * Prometheus text rendering of daemon_metrics.c) and GET /v1/lifecycle (stale
 * consumer registrations and channels approaching or past their deprecation
 * and retirement dates).  See docs/metrics.md and docs/api-channels.md.
 *
 * Lifecycle rules, with today in UTC and the limits of config.h:
 *  - a consumer registration is stale when it was neither made nor renewed
 *    for more than --registration-max-age-days days;
 *  - a channel is deprecating while its deprecation date is 1 to
 *    --deprecation-warning-days days ahead, deprecated from that date on,
 *    and retired from its retirement date on (the retirement date is read
 *    from the stored contract document; a retired channel is listed only
 *    under "retired").
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/metrics.h"
#include "chan/policy.h"
#include "chan/store.h"

#include "api.h"
#include "config.h"
#include "daemon_metrics.h"
#include "reply_cache.h"

#define MODULE "metrics"

#define SECONDS_PER_DAY 86400

/* GET /metrics */
static int get_metrics(chand_request *req, chan_error *err)
{
    chan_buf text = CHAN_BUF_INIT;
    int error;

    chand_reply_cache_stats replies;

    chand_metrics_requests_in_flight(chand_request_in_flight(req));
    chand_reply_cache_get_stats(chand_request_reply_cache(req), &replies);
    chand_metrics_reply_cache(replies.hits, replies.misses, replies.bytes, replies.entries);
    error = chand_metrics_render(&text, chand_request_store(req), chand_request_config(req), err);
    if (error < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "scrape failed error=\"%s\" request_id=%s", err->message,
                 chand_request_id(req));
        goto cleanup;
    }
    error = chand_reply_raw(req, 200, CHAN_METRICS_CONTENT_TYPE, chan_buf_cstr(&text), text.len);

cleanup:
    chan_buf_dispose(&text);
    return error;
}

/* Days since 1970-01-01 as "YYYY-MM-DD". */
static json_t *json_day(int64_t days)
{
    time_t t = (time_t)(days * SECONDS_PER_DAY);
    struct tm tm;
    char buf[32];

    if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%d", &tm) == 0)
        return json_null();
    return json_string(buf);
}

/* GET /v1/lifecycle */
static int get_lifecycle(chand_request *req, chan_error *err)
{
    const chand_config *config = chand_request_config(req);
    chan_channel_filter filter = CHAN_CHANNEL_FILTER_INIT;
    chan_channel_record **list = NULL;
    json_t *stale = json_array(), *deprecating = json_array(), *deprecated = json_array();
    json_t *retired = json_array();
    int64_t now = (int64_t)time(NULL), today = chan_date_today();
    int64_t max_age = config->registration_max_age_days * SECONDS_PER_DAY;
    size_t n = 0, i, k;
    int error;

    if ((error = chan_store_channel_list(chand_request_store(req), &list, &n, &filter, err)) < 0)
        goto cleanup;
    for (i = 0; i < n; i++) {
        const chan_channel_record *rec = list[i];
        int64_t days;
        /* The same rules as the Kafka admission and the notifications. */
        chan_lifecycle_stage stage =
            chan_policy_lifecycle_stage(rec, today, config->deprecation_warning_days, &days);

        for (k = 0; k < rec->n_consumers; k++) {
            const chan_consumer_record *c = &rec->consumers[k];
            int64_t since = chan_consumer_registration_time(c);

            if (!chan_consumer_stale(c, now, max_age))
                continue;
            json_array_append_new(stale, json_pack("{s:o,s:o,s:I,s:o}", "channel",
                                                   chan_json_str_or_null(rec->name), "consumer",
                                                   chan_json_str_or_null(c->name), "age_days",
                                                   (json_int_t)((now - since) / SECONDS_PER_DAY),
                                                   "renewed_at", chan_json_time(since)));
        }
        switch (stage) {
        case CHAN_LIFECYCLE_RETIRED:
            json_array_append_new(
                retired, json_pack("{s:o,s:o,s:s,s:I}", "channel", chan_json_str_or_null(rec->name),
                                   "deprecation_date", chan_json_str_or_null(rec->deprecation_date),
                                   "retirement_date", chan_policy_retirement(rec), "days_since",
                                   (json_int_t)days));
            break;
        case CHAN_LIFECYCLE_DEPRECATED:
            json_array_append_new(
                deprecated,
                json_pack("{s:o,s:o,s:o,s:I}", "channel", chan_json_str_or_null(rec->name),
                          "deprecation_date", chan_json_str_or_null(rec->deprecation_date),
                          "retirement_date", chan_json_str_or_null(rec->retirement_date),
                          "days_since", (json_int_t)days));
            break;
        case CHAN_LIFECYCLE_DEPRECATING:
            json_array_append_new(deprecating,
                                  json_pack("{s:o,s:o,s:I}", "channel",
                                            chan_json_str_or_null(rec->name), "deprecation_date",
                                            chan_json_str_or_null(rec->deprecation_date),
                                            "days_left", (json_int_t)days));
            break;
        default:
            break;
        }
    }
    error = chand_reply_json(req, 200,
                             json_pack("{s:o,s:I,s:O,s:O,s:O,s:O}", "as_of", json_day(today),
                                       "registration_max_age_days",
                                       (json_int_t)config->registration_max_age_days,
                                       "stale_registrations", stale, "deprecating", deprecating,
                                       "deprecated", deprecated, "retired", retired));

cleanup:
    json_decref(stale);
    json_decref(deprecating);
    json_decref(deprecated);
    json_decref(retired);
    chan_channel_record_list_free(list, n);
    return error;
}

const chand_route chand_api_metrics_routes[] = {
    {"GET", "/metrics", get_metrics, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
    {"GET", "/v1/lifecycle", get_lifecycle, CHAN_AUTHZ_READ, NULL, CHAND_CACHE_NONE},
};

const size_t chand_api_metrics_routes_count = CHAN_ARRAY_SIZE(chand_api_metrics_routes);
