/*
 * policy.h - the registry's governance rules, one function per decision:
 * the lifecycle of a channel (deprecation, retirement), one group per
 * consumer, the approval of consumer registrations, who may get access, and
 * the compatibility floor.
 *
 * Every path that decides one of these questions (the contract path, the
 * REST handlers, ACL planning, exports, admission, metrics) calls the
 * function here instead of repeating the rule.  The module is pure: no I/O,
 * no store, no clock except where "today" is explicitly 0.
 *
 * Days are days since 1970-01-01 (UTC), as chan_date_parse returns them.
 * Dates are "YYYY-MM-DD" strings; a date that does not parse never triggers
 * a rule.  Every pointer returned is borrowed from the argument.
 */
#ifndef CHAN_POLICY_H
#define CHAN_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chan/avro.h"
#include "chan/error.h"
#include "chan/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Rule ids of the diagnostics of chan_policy_check_channel (chan_diag.rule). */
#define CHAN_POLICY_RULE_DEPRECATED   "deprecated"          /**< new consumer, deprecated */
#define CHAN_POLICY_RULE_DUP_CONSUMER "duplicate-consumer"  /**< group used twice */
#define CHAN_POLICY_RULE_COMPAT_FLOOR "compatibility-floor" /**< level below the floor */

/* ------------------------------------------------------------------ */
/* Lifecycle rule                                                      */
/* ------------------------------------------------------------------ */

/**
 * Is a channel with these dates retired on day as_of?  From its
 * retirement_date when it has one, else from its deprecation_date.
 * Deprecation alone (with a later retirement date) keeps existing access.
 */
bool chan_policy_retired(const char *deprecation_date, const char *retirement_date, int64_t as_of);

/**
 * Does a channel with these dates accept new consumers on day today?  No from
 * its deprecation_date on, else (no deprecation date) from its
 * retirement_date on.
 */
bool chan_policy_accepts_new_consumers(const char *deprecation_date, const char *retirement_date,
                                       int64_t today);

/**
 * The date the channel retires on (its retirement_date, else its
 * deprecation_date), borrowed from ch, or NULL when it has neither.
 */
const char *chan_policy_retirement(const chan_channel_record *ch);

/** chan_policy_retired on the dates of ch. */
bool chan_policy_channel_retired(const chan_channel_record *ch, int64_t as_of);

/** Where a channel is in its lifecycle on a given day. */
typedef enum chan_lifecycle_stage {
    CHAN_LIFECYCLE_ACTIVE = 0,  /**< no date reached, none within the warning window */
    CHAN_LIFECYCLE_DEPRECATING, /**< deprecation_date 1 to warning_days days ahead */
    CHAN_LIFECYCLE_DEPRECATED,  /**< deprecation_date reached, not retired */
    CHAN_LIFECYCLE_RETIRED,     /**< chan_policy_channel_retired */
} chan_lifecycle_stage;

/** "active", "deprecating", "deprecated" or "retired". */
const char *chan_policy_lifecycle_stage_name(chan_lifecycle_stage stage);

/**
 * The lifecycle stage of ch on day today, with warning_days the window
 * before the deprecation date in which it is "deprecating" (the daemon's
 * --deprecation-warning-days).
 * @param[out] out_days days left until the deprecation date (deprecating),
 *             days since the deprecation date (deprecated) or since the
 *             retirement (retired), 0 when active; may be NULL
 */
chan_lifecycle_stage chan_policy_lifecycle_stage(const chan_channel_record *ch, int64_t today,
                                                 int64_t warning_days, int64_t *out_days);

/* ------------------------------------------------------------------ */
/* Group rule                                                          */
/* ------------------------------------------------------------------ */

/**
 * One group per consumer: the lowest index j != i with groups[j] equal to
 * groups[i], or SIZE_MAX when no other entry uses that group.  NULL entries
 * (no group, or a rejected consumer) are skipped; a NULL groups[i] is never
 * taken.  The contract parser passes its consumers' groups; callers holding
 * records pass the groups of the active (not rejected) consumers.
 */
size_t chan_policy_group_taken(const char *const *groups, size_t n, size_t i);

/* ------------------------------------------------------------------ */
/* Approval rule                                                       */
/* ------------------------------------------------------------------ */

/**
 * The state a consumer registration next (replacing old, NULL when new)
 * starts in: APPROVED when the registering identity acts as the channel's
 * owner (as_owner), or when old is approved and next keeps its principal
 * and group; PENDING otherwise.
 */
chan_consumer_state chan_policy_registration_state(bool as_owner, const chan_consumer_record *old,
                                                   const chan_consumer_record *next);

/**
 * Does the consumer next (replacing old, NULL when new) give read access to
 * someone who did not have it?  True when there is no old consumer, when
 * next changes the principal, or when old was not approved and next is.
 * A channel that no longer accepts new consumers
 * (chan_policy_accepts_new_consumers) refuses every such change: on the
 * contract path, the consumer API, the owner's approval and the store's own
 * re-check.
 */
bool chan_policy_grants_new_access(const chan_consumer_record *old,
                                   const chan_consumer_record *next);

/** What a consumer may do with its channel. */
typedef enum chan_consumer_access {
    CHAN_ACCESS_GRANTED = 0, /**< approved consumer of a live channel */
    CHAN_ACCESS_PENDING,     /**< awaiting the owner's approval */
    CHAN_ACCESS_REJECTED,    /**< refused by the owner */
    CHAN_ACCESS_RETIRED,     /**< the channel is retired on that day */
} chan_consumer_access;

/** Lower-case name of an access decision ("granted", "pending", ...). */
const char *chan_policy_access_name(chan_consumer_access access);

/**
 * The access consumer c of channel ch has on day as_of: RETIRED when the
 * channel is retired, else by c's state.
 */
chan_consumer_access chan_policy_consumer_access(const chan_channel_record *ch,
                                                 const chan_consumer_record *c, int64_t as_of);

/** True iff chan_policy_consumer_access is CHAN_ACCESS_GRANTED: the consumer gets ACLs. */
bool chan_policy_consumer_grants(const chan_channel_record *ch, const chan_consumer_record *c,
                                 int64_t as_of);

/* ------------------------------------------------------------------ */
/* Compatibility floor                                                 */
/* ------------------------------------------------------------------ */

/**
 * Does compatibility level satisfy floor?  Iff the directions of floor
 * (backward, forward) are among those of level, and level is transitive
 * when floor is.  NONE has no direction: every level satisfies floor NONE,
 * and level NONE satisfies only NONE.
 */
bool chan_policy_compat_satisfies(chan_compat_mode level, chan_compat_mode floor);

/**
 * May a subject be left at level?  True iff the subject is not bound to a
 * channel (bound == NULL), the caller is an admin, level satisfies floor, or
 * the bound channel's waiver is approved and level is the channel's own
 * compatibility.  Used on the resulting level of PUT/DELETE /config/{s}.
 */
bool chan_policy_level_allowed(chan_compat_mode level, const chan_channel_record *bound,
                               chan_compat_mode floor, bool is_admin);

/**
 * Does the approval of old's waiver carry over to next?  An approval covers
 * one reason at one level: true iff old's waiver is approved and next has
 * the same waiver reason and the same compatibility.  old may be NULL.
 */
bool chan_policy_waiver_carries_over(const chan_channel_record *old,
                                     const chan_channel_record *next);

/* ------------------------------------------------------------------ */
/* Contract path                                                       */
/* ------------------------------------------------------------------ */

/** Options of chan_policy_check_channel. */
typedef struct chan_policy_options {
    unsigned int version;     /**< CHAN_POLICY_OPTIONS_VERSION */
    int64_t today;            /**< days since 1970-01-01; 0 = the real date (UTC) */
    chan_compat_mode floor;   /**< the compatibility floor */
    bool new_consumers_known; /**< false (offline): skip the "new consumer" check */
} chan_policy_options;

#define CHAN_POLICY_OPTIONS_VERSION 1
#define CHAN_POLICY_OPTIONS_INIT                                                                   \
    {                                                                                              \
        CHAN_POLICY_OPTIONS_VERSION, 0, CHAN_COMPAT_BACKWARD, true                                 \
    }

/**
 * Every rule over a channel change old (NULL: a new channel) -> next, as
 * diagnostics without a file position:
 *
 *  - "deprecated" (error, path consumers[i]): next's consumer i grants new
 *    access (chan_policy_grants_new_access against old's consumer of the
 *    same name; every consumer when old is NULL) and the channel accepts no
 *    new consumers today;
 *  - "duplicate-consumer" (error, path consumers[i].group): consumer i uses
 *    the group of an earlier active consumer (rejected ones are skipped);
 *  - "compatibility-floor" (path schema.compatibility): next's compatibility
 *    does not satisfy opts->floor; an error without a waiver reason, a
 *    warning while the waiver is not approved (approval is next's, or old's
 *    when old has the same reason and compatibility).
 *
 * @param opts  NULL for CHAN_POLICY_OPTIONS_INIT
 * @param diags receives the diagnostics (required)
 * @return 0 when no error was added, CHAN_ECONFLICT when the only errors are
 *         "deprecated", CHAN_EINVALID otherwise (or on a bad options version)
 */
int chan_policy_check_channel(const chan_channel_record *old, const chan_channel_record *next,
                              const chan_policy_options *opts, chan_diag_list *diags);

#ifdef __cplusplus
}
#endif
#endif
