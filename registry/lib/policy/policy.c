/*
 * policy.c - the governance rules of chan/policy.h: lifecycle, one group per
 * consumer, approval, access and the compatibility floor.  Pure functions on
 * dates, records and modes; no I/O.
 */
#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/common.h"
#include "chan/policy.h"

/* ------------------------------------------------------------------ */
/* Lifecycle rule                                                      */
/* ------------------------------------------------------------------ */

/* True when date parses and is on or before day. */
static bool date_reached(const char *date, int64_t day)
{
    int64_t d;

    return date != NULL && chan_date_parse(date, &d) && d <= day;
}

bool chan_policy_retired(const char *deprecation_date, const char *retirement_date, int64_t as_of)
{
    return date_reached(retirement_date ? retirement_date : deprecation_date, as_of);
}

bool chan_policy_accepts_new_consumers(const char *deprecation_date, const char *retirement_date,
                                       int64_t today)
{
    return !date_reached(deprecation_date ? deprecation_date : retirement_date, today);
}

const char *chan_policy_retirement(const chan_channel_record *ch)
{
    assert(ch != NULL);
    return ch->retirement_date ? ch->retirement_date : ch->deprecation_date;
}

bool chan_policy_channel_retired(const chan_channel_record *ch, int64_t as_of)
{
    assert(ch != NULL);
    return chan_policy_retired(ch->deprecation_date, ch->retirement_date, as_of);
}

const char *chan_policy_lifecycle_stage_name(chan_lifecycle_stage stage)
{
    switch (stage) {
    case CHAN_LIFECYCLE_DEPRECATING:
        return "deprecating";
    case CHAN_LIFECYCLE_DEPRECATED:
        return "deprecated";
    case CHAN_LIFECYCLE_RETIRED:
        return "retired";
    default:
        return "active";
    }
}

chan_lifecycle_stage chan_policy_lifecycle_stage(const chan_channel_record *ch, int64_t today,
                                                 int64_t warning_days, int64_t *out_days)
{
    const char *retire;
    int64_t dep_day = 0, ret_day = 0, days = 0;
    bool has_dep, has_ret;
    chan_lifecycle_stage stage = CHAN_LIFECYCLE_ACTIVE;

    assert(ch != NULL);
    retire = chan_policy_retirement(ch);
    has_dep = ch->deprecation_date && chan_date_parse(ch->deprecation_date, &dep_day);
    has_ret = retire && chan_date_parse(retire, &ret_day);
    if (has_ret && ret_day <= today) {
        stage = CHAN_LIFECYCLE_RETIRED;
        days = today - ret_day;
    } else if (has_dep && dep_day <= today) {
        stage = CHAN_LIFECYCLE_DEPRECATED;
        days = today - dep_day;
    } else if (has_dep && dep_day - today <= warning_days) {
        stage = CHAN_LIFECYCLE_DEPRECATING;
        days = dep_day - today;
    }
    if (out_days != NULL)
        *out_days = days;
    return stage;
}

/* ------------------------------------------------------------------ */
/* Group rule                                                          */
/* ------------------------------------------------------------------ */

size_t chan_policy_group_taken(const char *const *groups, size_t n, size_t i)
{
    assert(i < n && groups != NULL);
    if (groups[i] == NULL)
        return SIZE_MAX;
    for (size_t j = 0; j < n; j++)
        if (j != i && groups[j] != NULL && strcmp(groups[j], groups[i]) == 0)
            return j;
    return SIZE_MAX;
}

/* ------------------------------------------------------------------ */
/* Approval and access                                                 */
/* ------------------------------------------------------------------ */

/* NULL-safe string equality: two NULLs are equal. */
static bool same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

chan_consumer_state chan_policy_registration_state(bool as_owner, const chan_consumer_record *old,
                                                   const chan_consumer_record *next)
{
    assert(next != NULL);
    if (as_owner)
        return CHAN_CONSUMER_APPROVED;
    if (old != NULL && old->state == CHAN_CONSUMER_APPROVED &&
        same_text(old->principal, next->principal) && same_text(old->group, next->group))
        return CHAN_CONSUMER_APPROVED;
    return CHAN_CONSUMER_PENDING;
}

bool chan_policy_grants_new_access(const chan_consumer_record *old,
                                   const chan_consumer_record *next)
{
    assert(next != NULL);
    if (old == NULL || !same_text(old->principal, next->principal))
        return true;
    return old->state != CHAN_CONSUMER_APPROVED && next->state == CHAN_CONSUMER_APPROVED;
}

const char *chan_policy_access_name(chan_consumer_access access)
{
    switch (access) {
    case CHAN_ACCESS_GRANTED:
        return "granted";
    case CHAN_ACCESS_PENDING:
        return "pending";
    case CHAN_ACCESS_REJECTED:
        return "rejected";
    case CHAN_ACCESS_RETIRED:
        return "retired";
    }
    return "unknown";
}

chan_consumer_access chan_policy_consumer_access(const chan_channel_record *ch,
                                                 const chan_consumer_record *c, int64_t as_of)
{
    assert(ch != NULL && c != NULL);
    if (chan_policy_channel_retired(ch, as_of))
        return CHAN_ACCESS_RETIRED;
    switch (c->state) {
    case CHAN_CONSUMER_APPROVED:
        return CHAN_ACCESS_GRANTED;
    case CHAN_CONSUMER_PENDING:
        return CHAN_ACCESS_PENDING;
    case CHAN_CONSUMER_REJECTED:
        break;
    }
    return CHAN_ACCESS_REJECTED; /* also any state out of range: never grant by accident */
}

bool chan_policy_consumer_grants(const chan_channel_record *ch, const chan_consumer_record *c,
                                 int64_t as_of)
{
    return chan_policy_consumer_access(ch, c, as_of) == CHAN_ACCESS_GRANTED;
}

/* ------------------------------------------------------------------ */
/* Compatibility floor                                                 */
/* ------------------------------------------------------------------ */

#define DIR_BACKWARD 1u
#define DIR_FORWARD  2u

/* The directions a mode checks (DIR_* bits); 0 for NONE and unknown modes. */
static unsigned int mode_dirs(chan_compat_mode mode)
{
    switch (mode) {
    case CHAN_COMPAT_BACKWARD:
    case CHAN_COMPAT_BACKWARD_TRANSITIVE:
        return DIR_BACKWARD;
    case CHAN_COMPAT_FORWARD:
    case CHAN_COMPAT_FORWARD_TRANSITIVE:
        return DIR_FORWARD;
    case CHAN_COMPAT_FULL:
    case CHAN_COMPAT_FULL_TRANSITIVE:
        return DIR_BACKWARD | DIR_FORWARD;
    case CHAN_COMPAT_NONE:
        break;
    }
    return 0;
}

static bool mode_transitive(chan_compat_mode mode)
{
    return mode == CHAN_COMPAT_BACKWARD_TRANSITIVE || mode == CHAN_COMPAT_FORWARD_TRANSITIVE ||
           mode == CHAN_COMPAT_FULL_TRANSITIVE;
}

bool chan_policy_compat_satisfies(chan_compat_mode level, chan_compat_mode floor)
{
    unsigned int need = mode_dirs(floor);

    if ((mode_dirs(level) & need) != need)
        return false;
    return !mode_transitive(floor) || mode_transitive(level);
}

/* The channel's compatibility as a mode; false when it has none or it does not parse. */
static bool record_mode(chan_compat_mode *out, const chan_channel_record *ch)
{
    return ch->compatibility != NULL && chan_compat_mode_parse(out, ch->compatibility) == 0;
}

bool chan_policy_level_allowed(chan_compat_mode level, const chan_channel_record *bound,
                               chan_compat_mode floor, bool is_admin)
{
    chan_compat_mode own;

    if (bound == NULL || is_admin || chan_policy_compat_satisfies(level, floor))
        return true;
    return bound->waiver_approved_by != NULL && record_mode(&own, bound) && own == level;
}

/* ------------------------------------------------------------------ */
/* Contract path                                                       */
/* ------------------------------------------------------------------ */

/* The consumer of ch named name, or NULL. */
static const chan_consumer_record *consumer_named(const chan_channel_record *ch, const char *name)
{
    if (ch == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < ch->n_consumers; i++)
        if (same_text(ch->consumers[i].name, name))
            return &ch->consumers[i];
    return NULL;
}

/*
** "deprecated" errors for next's consumers that grant new access
** (chan_policy_grants_new_access against old's consumer of the same name),
** when the channel accepts no new consumers on day today.  Returns the
** number added.
*/
static size_t check_new_consumers(const chan_channel_record *old, const chan_channel_record *next,
                                  int64_t today, chan_diag_list *diags)
{
    size_t errors = 0;

    if (chan_policy_accepts_new_consumers(next->deprecation_date, next->retirement_date, today))
        return 0;
    for (size_t i = 0; i < next->n_consumers; i++) {
        const chan_consumer_record *c = &next->consumers[i];
        char path[64];
        chan_diag *d;

        if (!chan_policy_grants_new_access(consumer_named(old, c->name), c))
            continue;
        snprintf(path, sizeof(path), "consumers[%zu]", i);
        d = chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_POLICY_RULE_DEPRECATED, path,
                          "channel %s is deprecated since %s; it accepts no new consumer (%s)",
                          next->name ? next->name : "",
                          next->deprecation_date ? next->deprecation_date : next->retirement_date,
                          c->name ? c->name : "");
        chan_diag_set_hint(d, "register the consumer on the channel that replaces this one");
        errors++;
    }
    return errors;
}

/* "duplicate-consumer" errors for active consumers sharing a group.  Returns the number added. */
static size_t check_groups(const chan_channel_record *next, chan_diag_list *diags)
{
    const char **groups;
    size_t errors = 0;

    if (next->n_consumers == 0)
        return 0;
    groups = chan_xcalloc(next->n_consumers, sizeof(*groups));
    for (size_t i = 0; i < next->n_consumers; i++)
        groups[i] =
            next->consumers[i].state == CHAN_CONSUMER_REJECTED ? NULL : next->consumers[i].group;
    for (size_t i = 0; i < next->n_consumers; i++) {
        size_t j = chan_policy_group_taken(groups, next->n_consumers, i);
        char path[80];

        if (j >= i) /* none, or reported at the later one */
            continue;
        snprintf(path, sizeof(path), "consumers[%zu].group", i);
        chan_diag_set_hint(
            chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_POLICY_RULE_DUP_CONSUMER, path,
                          "consumer \"%s\" uses group \"%s\" of consumer \"%s\"",
                          next->consumers[i].name ? next->consumers[i].name : "", groups[i],
                          next->consumers[j].name ? next->consumers[j].name : ""),
            "consumers in one group split the partitions between them; give "
            "each its own group");
        errors++;
    }
    free(groups);
    return errors;
}

bool chan_policy_waiver_carries_over(const chan_channel_record *old,
                                     const chan_channel_record *next)
{
    assert(next != NULL);
    return old != NULL && old->waiver_approved_by != NULL && old->waiver_reason != NULL &&
           same_text(old->waiver_reason, next->waiver_reason) && old->compatibility != NULL &&
           same_text(old->compatibility, next->compatibility);
}

/* Is next's waiver approved: by next itself, or by old's carried over? */
static bool waiver_approved(const chan_channel_record *old, const chan_channel_record *next)
{
    return next->waiver_approved_by != NULL || chan_policy_waiver_carries_over(old, next);
}

/* The "compatibility-floor" diagnostic.  Returns the number of errors added (0 or 1). */
static size_t check_floor(const chan_channel_record *old, const chan_channel_record *next,
                          chan_compat_mode floor, chan_diag_list *diags)
{
    chan_compat_mode level;
    chan_diag *d;

    if (!record_mode(&level, next) || chan_policy_compat_satisfies(level, floor))
        return 0;
    if (next->waiver_reason == NULL) {
        d = chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, CHAN_POLICY_RULE_COMPAT_FLOOR,
                          "schema.compatibility",
                          "compatibility %s of channel %s is below the policy floor %s",
                          chan_compat_mode_name(level), next->name ? next->name : "",
                          chan_compat_mode_name(floor));
        chan_diag_set_hint(d,
                           "use %s or stronger, or add schema.waiver.reason and have an admin "
                           "approve it",
                           chan_compat_mode_name(floor));
        return 1;
    }
    if (!waiver_approved(old, next)) {
        d = chan_diag_add(diags, CHAN_DIAG_WARNING, NULL, 0, 0, CHAN_POLICY_RULE_COMPAT_FLOOR,
                          "schema.compatibility",
                          "compatibility %s of channel %s is below the policy floor %s: "
                          "waiver needs admin approval",
                          chan_compat_mode_name(level), next->name ? next->name : "",
                          chan_compat_mode_name(floor));
        chan_diag_set_hint(d, "an admin approves it with POST /v1/channels/%s/waiver/approve",
                           next->name ? next->name : "NAME");
    }
    return 0;
}

int chan_policy_check_channel(const chan_channel_record *old, const chan_channel_record *next,
                              const chan_policy_options *opts, chan_diag_list *diags)
{
    static const chan_policy_options defaults = CHAN_POLICY_OPTIONS_INIT;
    size_t deprecated = 0, others = 0;
    int64_t today;

    assert(next != NULL && diags != NULL);
    if (opts == NULL)
        opts = &defaults;
    if (opts->version != CHAN_POLICY_OPTIONS_VERSION) {
        chan_diag_add(diags, CHAN_DIAG_ERROR, NULL, 0, 0, NULL, NULL,
                      "unsupported policy-options version %u", opts->version);
        return CHAN_EINVALID;
    }
    today = opts->today != 0 ? opts->today : chan_date_today();
    if (opts->new_consumers_known)
        deprecated = check_new_consumers(old, next, today, diags);
    others += check_groups(next, diags);
    others += check_floor(old, next, opts->floor, diags);
    if (others > 0)
        return CHAN_EINVALID;
    return deprecated > 0 ? CHAN_ECONFLICT : 0;
}
