/*
 * model.h - the registry's domain model: channels with their consumers and
 * producers, as the store keeps them, the ACL module reads them, the daemon
 * serves them and chanctl receives them.
 *
 * The records are plain data (no I/O, no database, no broker), so that every
 * part of the project can depend on this header without linking the store.
 * A record is converted with one function each way:
 *
 *  - contract -> record: chan_contract_to_record (chan/contract.h);
 *  - record -> JSON:     chan_channel_record_to_json, the channels API's form
 *                        (GET /v1/channels, see docs/api.md);
 *  - JSON -> record:     chan_channel_record_from_json, the inverse.
 *
 * Ownership: every string and array of a record is owned by the record.
 * Records are either embedded (_init / _dispose) or on the heap (_free,
 * NULL-safe); arrays of heap records are freed with _list_free.  JSON values
 * returned by the _to_json functions are new references the caller
 * json_decref()s; JSON passed in is borrowed.
 */
#ifndef CHAN_MODEL_H
#define CHAN_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "chan/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Where a consumer was registered: in the channel's contract file or over the REST API. */
typedef enum chan_consumer_origin {
    CHAN_CONSUMER_ORIGIN_CONTRACT = 0,
    CHAN_CONSUMER_ORIGIN_API,
} chan_consumer_origin;

/** The approval state of a consumer registration. */
typedef enum chan_consumer_state {
    CHAN_CONSUMER_APPROVED = 0,
    CHAN_CONSUMER_PENDING,
    CHAN_CONSUMER_REJECTED,
} chan_consumer_state;

/** "contract" or "api" ("unknown" for a value out of range). */
const char *chan_consumer_origin_name(chan_consumer_origin origin);
/** Parse "contract" or "api" (exact).  @return 0 or CHAN_EINVALID */
int chan_consumer_origin_parse(chan_consumer_origin *out, const char *name);
/** "approved", "pending" or "rejected" ("unknown" for a value out of range). */
const char *chan_consumer_state_name(chan_consumer_state state);
/** Parse "approved", "pending" or "rejected" (exact).  @return 0 or CHAN_EINVALID */
int chan_consumer_state_parse(chan_consumer_state *out, const char *name);

/** A registered consumer of a channel. */
typedef struct chan_consumer_record {
    char *channel;
    char *name;
    char *principal; /**< e.g. "User:billing-svc" */
    char *group;     /**< Kafka consumer group */
    char *scenario;  /**< business scenario */
    int64_t sla_p99_ms;
    double peak_rate_msgs; /**< messages per second */
    char *degradation;     /**< degradation strategy */
    int64_t registered_at; /**< unix seconds, set by the store on first registration */
    int64_t renewed_at;    /**< unix seconds, last registration or renewal */

    /* Governance: where the registration comes from and the owner's decision on it. */
    chan_consumer_origin origin; /**< contract (default) or api */
    chan_consumer_state state;   /**< approved (default), pending or rejected */
    char *requester_team;        /**< team an api registration acts for, or NULL */
    char *requested_by;          /**< identity that registered it, or NULL */
    char *decided_by;            /**< identity that approved or rejected it, or NULL */
    int64_t decided_at;          /**< unix seconds of that decision, 0 if none */
    char *decision_reason;       /**< reason given with the decision, or NULL */
} chan_consumer_record;

/** A registered producer of a channel. */
/** The time a consumer's registration counts from: renewed_at, else registered_at. */
int64_t chan_consumer_registration_since(const chan_consumer_record *c);

/**
 * Is a consumer's registration stale at now: not renewed (nor registered)
 * for more than max_age seconds?  The one staleness rule of the registry
 * (the consumers' "stale", /v1/lifecycle, the catalog, notifications).
 */
bool chan_consumer_stale(const chan_consumer_record *c, int64_t now, int64_t max_age);

typedef struct chan_producer_record {
    char *channel;
    char *principal;
} chan_producer_record;

/** A channel: the stored form of a contract. */
typedef struct chan_channel_record {
    char *name; /**< the topic */
    char *owner_team;
    char *maintainer;
    int64_t peak_qps;
    int64_t retention_hours;
    char *deprecation_date; /**< "YYYY-MM-DD" or NULL */
    char *subject;          /**< schema subject */
    char *compatibility;    /**< mode name */
    char *document;         /**< the whole contract as JSON text */
    int64_t revision;       /**< 1 on creation, +1 on every change */
    int64_t created_at;
    int64_t updated_at;
    chan_consumer_record *consumers; /**< owned array */
    size_t n_consumers;
    chan_producer_record *producers; /**< owned array */
    size_t n_producers;
    /**
     * "YYYY-MM-DD" from which the channel is retired, or NULL.  Not a column:
     * the store fills it from the document's retirement_date when reading and
     * ignores it when writing (the document is the source).
     */
    char *retirement_date;
    /**
     * The contract's schema.waiver.reason (a compatibility below the floor),
     * or NULL.  Like retirement_date, the document is its source.
     */
    char *waiver_reason;
    char *waiver_approved_by;   /**< admin who approved the waiver; NULL: not approved */
    int64_t waiver_approved_at; /**< unix seconds of the approval, 0 if none */
} chan_channel_record;

/** Set every field of an embedded record to zero / NULL. */
void chan_consumer_record_init(chan_consumer_record *rec);
/** Free what an embedded record owns and leave it initialised.  NULL-safe. */
void chan_consumer_record_dispose(chan_consumer_record *rec);
/** Dispose of and free a heap record.  NULL-safe. */
void chan_consumer_record_free(chan_consumer_record *rec);
/** Free n heap records and the array.  NULL-safe; NULL entries are skipped. */
void chan_consumer_record_list_free(chan_consumer_record **list, size_t n);

/** Free what an embedded producer record owns and leave it zeroed.  NULL-safe. */
void chan_producer_record_dispose(chan_producer_record *rec);

/** Set every field of an embedded record to zero / NULL. */
void chan_channel_record_init(chan_channel_record *rec);
/** Free what an embedded record owns (consumers and producers included). NULL-safe. */
void chan_channel_record_dispose(chan_channel_record *rec);
/** Dispose of and free a heap record.  NULL-safe. */
void chan_channel_record_free(chan_channel_record *rec);
/** Free n heap records and the array.  NULL-safe; NULL entries are skipped. */
void chan_channel_record_list_free(chan_channel_record **list, size_t n);

/**
 * What is left of a deleted channel: its topic and the consumer groups of
 * its consumers when it was deleted, so that the ACL plan still covers them
 * and revokes what was granted for the channel (see chan/acl.h).
 */
typedef struct chan_channel_tombstone {
    char *name;       /**< the channel's name */
    char *owner_team; /**< owner.team of the deleted channel */
    char *topic;      /**< the topic the channel's bindings were on */
    char **groups;    /**< owned array of owned strings, sorted */
    size_t n_groups;
    int64_t deleted_at; /**< unix seconds */
    char *deleted_by;   /**< the actor of the delete */
} chan_channel_tombstone;

/** Free n heap tombstones and the array.  NULL-safe; NULL entries are skipped. */
void chan_channel_tombstone_list_free(chan_channel_tombstone **list, size_t n);

/** What the _to_json functions add besides the record's own fields. */
typedef struct chan_record_json_options {
    unsigned int version; /**< CHAN_RECORD_JSON_OPTIONS_VERSION */
    /** Add "contract": the stored document parsed as JSON (a string if it does not parse). */
    bool with_document;
    /** Unix seconds "now", for each consumer's age_days and stale. */
    int64_t now;
    /** A consumer not renewed for more than this many seconds is stale. */
    int64_t max_age;
} chan_record_json_options;

#define CHAN_RECORD_JSON_OPTIONS_VERSION 1
#define CHAN_RECORD_JSON_OPTIONS_INIT                                                              \
    {                                                                                              \
        CHAN_RECORD_JSON_OPTIONS_VERSION, false, 0, 0                                              \
    }

/**
 * A consumer as the channels API shows it: name, principal, group, scenario,
 * sla_p99_ms, peak_rate_msgs, degradation, registered_at, renewed_at (RFC
 * 3339 UTC strings), age_days and stale (from opts->now and opts->max_age),
 * origin, state, requester_team, requested_by, decided_by, decided_at (RFC
 * 3339 or null) and decision_reason.
 * Strings that are NULL or not UTF-8 become null.
 *
 * @param opts may be NULL for the defaults (CHAN_RECORD_JSON_OPTIONS_INIT)
 * @return a new reference; never NULL
 */
json_t *chan_consumer_record_to_json(const chan_consumer_record *rec,
                                     const chan_record_json_options *opts);

/* JSON helpers of the JSON forms, shared with the daemon's replies. */

/** Unix seconds as an RFC 3339 UTC string ("2026-11-23T09:17:47Z"); a new reference. */
json_t *chan_json_time(int64_t t);

/** As chan_json_time, but 0 or less (never, not set) as null; a new reference. */
json_t *chan_json_time_or_null(int64_t t);

/** s as a JSON string, or null for NULL (and for text that is not UTF-8); a new reference. */
json_t *chan_json_str_or_null(const char *s);

/** The JSON type of v for messages: "object", "array", "string", "integer", "number",
 *  "boolean" or "null" (static text). */
const char *chan_json_type_name(const json_t *v);

/**
 * A channel as the channels API shows it: name, revision, created_at,
 * updated_at, owner_team, maintainer, peak_qps, retention_hours,
 * deprecation_date, retirement_date, subject, compatibility, waiver
 * ({"reason", "approved_by", "approved_at"}; only when the channel has a
 * waiver reason, so replies without one keep their members), the optional
 * contract (opts->with_document), consumers (chan_consumer_record_to_json)
 * and producers ({"principal": ...}).
 *
 * @param opts may be NULL for the defaults (CHAN_RECORD_JSON_OPTIONS_INIT)
 * @return a new reference; never NULL
 */
json_t *chan_channel_record_to_json(const chan_channel_record *rec,
                                    const chan_record_json_options *opts);

/**
 * The inverse of chan_channel_record_to_json: a channel record from its API
 * object.  "name" is required, as are "name" and "principal" of each
 * consumer and "principal" of each producer; every other member may be
 * absent or null.  A member of the wrong type, a time that is not an RFC 3339
 * UTC string ("2026-11-23T09:17:47Z") or a count out of range is an error.
 * A consumer without "origin" or "state" is a contract consumer, approved;
 * a channel without "waiver" (or with null) has none.
 * The computed members age_days and stale are ignored; "contract" becomes the
 * document as compact JSON text with sorted keys.  The consumers' and
 * producers' channel is set to the channel's name.
 *
 * @param[out] out the record (free with chan_channel_record_free); NULL on failure
 * @param json     the channel object; borrowed
 * @return 0 or CHAN_EINVALID, with err->path naming the member
 *         (e.g. "consumers[1].principal") and the message saying what is wrong
 */
int chan_channel_record_from_json(chan_channel_record **out, const json_t *json, chan_error *err);

#ifdef __cplusplus
}
#endif
#endif
