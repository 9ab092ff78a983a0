/*
 * test_policy.c - unit tests of chan/policy.h: the compatibility floor table,
 * the lifecycle dates, the group and approval rules, consumer access and
 * chan_policy_check_channel on the contract path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/common.h"
#include "chan/policy.h"

static int64_t day(const char *date)
{
    int64_t d = 0;

    assert_true(chan_date_parse(date, &d));
    return d;
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static chan_channel_record *channel(const char *compatibility, const char *deprecation,
                                    const char *retirement)
{
    chan_channel_record *ch = chan_xcalloc(1, sizeof(*ch));

    ch->name = chan_xstrdup("orders.order-created");
    ch->owner_team = chan_xstrdup("orders");
    ch->compatibility = compatibility ? chan_xstrdup(compatibility) : NULL;
    ch->deprecation_date = deprecation ? chan_xstrdup(deprecation) : NULL;
    ch->retirement_date = retirement ? chan_xstrdup(retirement) : NULL;
    return ch;
}

static chan_consumer_record *add_consumer(chan_channel_record *ch, const char *name,
                                          const char *group, chan_consumer_state state)
{
    chan_consumer_record *c;

    ch->consumers = chan_xreallocarray(ch->consumers, ch->n_consumers + 1, sizeof(*c));
    c = &ch->consumers[ch->n_consumers++];
    chan_consumer_record_init(c);
    c->channel = chan_xstrdup(ch->name);
    c->name = chan_xstrdup(name);
    c->principal = chan_xasprintf("User:%s", name);
    c->group = chan_xstrdup(group);
    c->state = state;
    return c;
}

/* The diagnostic with rule at index i of diags; fails when it is something else. */
static const chan_diag *diag_at(const chan_diag_list *diags, size_t i, const char *rule)
{
    const chan_diag *d = chan_diag_list_get(diags, i);

    assert_non_null(d);
    assert_string_equal(d->rule, rule);
    return d;
}

/* ------------------------------------------------------------------ */
/* Floor                                                               */
/* ------------------------------------------------------------------ */

static void test_policy__satisfies_table(void **state)
{
    enum { N = 7 };
    static const chan_compat_mode modes[N] = {
        CHAN_COMPAT_NONE,
        CHAN_COMPAT_BACKWARD,
        CHAN_COMPAT_BACKWARD_TRANSITIVE,
        CHAN_COMPAT_FORWARD,
        CHAN_COMPAT_FORWARD_TRANSITIVE,
        CHAN_COMPAT_FULL,
        CHAN_COMPAT_FULL_TRANSITIVE,
    };
    /* expect[level][floor], in the order of modes[]: N, B, BT, F, FT, FU, FUT. */
    static const bool expect[N][N] = {
        /* NONE */ {1, 0, 0, 0, 0, 0, 0},
        /* BACKWARD */ {1, 1, 0, 0, 0, 0, 0},
        /* BACKWARD_TRANSITIVE */ {1, 1, 1, 0, 0, 0, 0},
        /* FORWARD */ {1, 0, 0, 1, 0, 0, 0},
        /* FORWARD_TRANSITIVE */ {1, 0, 0, 1, 1, 0, 0},
        /* FULL */ {1, 1, 0, 1, 0, 1, 0},
        /* FULL_TRANSITIVE */ {1, 1, 1, 1, 1, 1, 1},
    };

    (void)state;
    for (size_t l = 0; l < N; l++) {
        for (size_t f = 0; f < N; f++) {
            bool got = chan_policy_compat_satisfies(modes[l], modes[f]);

            if (got != expect[l][f])
                fail_msg("%s satisfies %s: expected %d, got %d", chan_compat_mode_name(modes[l]),
                         chan_compat_mode_name(modes[f]), expect[l][f], got);
        }
    }
}

static void test_policy__level_allowed(void **state)
{
    chan_channel_record *bound = channel("NONE", NULL, NULL);

    (void)state;
    /* Unbound subjects and admins are never held to the floor. */
    assert_true(chan_policy_level_allowed(CHAN_COMPAT_NONE, NULL, CHAN_COMPAT_BACKWARD, false));
    assert_true(chan_policy_level_allowed(CHAN_COMPAT_NONE, bound, CHAN_COMPAT_BACKWARD, true));
    assert_true(chan_policy_level_allowed(CHAN_COMPAT_FULL, bound, CHAN_COMPAT_BACKWARD, false));
    assert_false(chan_policy_level_allowed(CHAN_COMPAT_NONE, bound, CHAN_COMPAT_BACKWARD, false));
    /* A reason alone is not enough; an approved waiver allows the contract's own level only. */
    bound->waiver_reason = chan_xstrdup("legacy producer, replaced in Q1");
    assert_false(chan_policy_level_allowed(CHAN_COMPAT_NONE, bound, CHAN_COMPAT_BACKWARD, false));
    bound->waiver_approved_by = chan_xstrdup("admin");
    assert_true(chan_policy_level_allowed(CHAN_COMPAT_NONE, bound, CHAN_COMPAT_BACKWARD, false));
    assert_false(
        chan_policy_level_allowed(CHAN_COMPAT_FORWARD, bound, CHAN_COMPAT_BACKWARD, false));
    chan_channel_record_free(bound);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

static void test_policy__retired_dates(void **state)
{
    chan_channel_record *ch = channel("BACKWARD", "2026-06-30", NULL);

    (void)state;
    /* No dates, or dates that do not parse: never retired. */
    assert_false(chan_policy_retired(NULL, NULL, day("2100-01-01")));
    assert_false(chan_policy_retired("someday", NULL, day("2100-01-01")));
    /* Deprecation date alone: retired from that day on. */
    assert_false(chan_policy_retired("2026-06-30", NULL, day("2026-06-29")));
    assert_true(chan_policy_retired("2026-06-30", NULL, day("2026-06-30")));
    /* A retirement date wins: deprecation alone keeps access until then. */
    assert_false(chan_policy_retired("2026-06-30", "2026-09-30", day("2026-07-15")));
    assert_true(chan_policy_retired("2026-06-30", "2026-09-30", day("2026-09-30")));
    assert_false(chan_policy_retired("2026-06-30", "not a date", day("2030-01-01")));

    assert_string_equal(chan_policy_retirement(ch), "2026-06-30");
    assert_true(chan_policy_channel_retired(ch, day("2026-07-01")));
    ch->retirement_date = chan_xstrdup("2026-09-30");
    assert_string_equal(chan_policy_retirement(ch), "2026-09-30");
    assert_false(chan_policy_channel_retired(ch, day("2026-07-01")));
    chan_channel_record_free(ch);
}

static void test_policy__new_consumers_dates(void **state)
{
    (void)state;
    assert_true(chan_policy_accepts_new_consumers(NULL, NULL, day("2100-01-01")));
    assert_true(chan_policy_accepts_new_consumers("garbage", NULL, day("2100-01-01")));
    /* Refused from the deprecation date on, even before a later retirement. */
    assert_true(chan_policy_accepts_new_consumers("2026-06-30", "2026-09-30", day("2026-06-29")));
    assert_false(chan_policy_accepts_new_consumers("2026-06-30", "2026-09-30", day("2026-06-30")));
    assert_false(chan_policy_accepts_new_consumers("2026-06-30", NULL, day("2027-01-01")));
    /* Without a deprecation date, the retirement date. */
    assert_true(chan_policy_accepts_new_consumers(NULL, "2026-09-30", day("2026-09-29")));
    assert_false(chan_policy_accepts_new_consumers(NULL, "2026-09-30", day("2026-09-30")));
}

/* ------------------------------------------------------------------ */
/* Group, approval, access                                             */
/* ------------------------------------------------------------------ */

static void test_policy__group_taken(void **state)
{
    const char *groups[] = {"billing", "analytics", NULL, "billing", "fraud", NULL};

    (void)state;
    assert_int_equal(chan_policy_group_taken(groups, 6, 0), 3);
    assert_int_equal(chan_policy_group_taken(groups, 6, 3), 0);
    assert_int_equal(chan_policy_group_taken(groups, 6, 1), SIZE_MAX);
    assert_int_equal(chan_policy_group_taken(groups, 6, 4), SIZE_MAX);
    /* NULL entries (rejected consumers) neither take nor are taken. */
    assert_int_equal(chan_policy_group_taken(groups, 6, 2), SIZE_MAX);
    assert_int_equal(chan_policy_group_taken(groups, 6, 5), SIZE_MAX);
    /* Only the first n entries count. */
    assert_int_equal(chan_policy_group_taken(groups, 3, 0), SIZE_MAX);
}

static void test_policy__registration_state(void **state)
{
    chan_channel_record *ch = channel("BACKWARD", NULL, NULL);
    chan_consumer_record *old = add_consumer(ch, "fraud", "fraud-orders", CHAN_CONSUMER_APPROVED);
    chan_consumer_record next;

    (void)state;
    chan_consumer_record_init(&next);
    next.name = chan_xstrdup("fraud");
    next.principal = chan_xstrdup("User:fraud");
    next.group = chan_xstrdup("fraud-orders");

    /* The owner (or admin) approves at once; anyone else starts pending. */
    assert_int_equal(chan_policy_registration_state(true, NULL, &next), CHAN_CONSUMER_APPROVED);
    assert_int_equal(chan_policy_registration_state(false, NULL, &next), CHAN_CONSUMER_PENDING);
    /* A renewal that keeps principal and group stays approved... */
    assert_int_equal(chan_policy_registration_state(false, old, &next), CHAN_CONSUMER_APPROVED);
    /* ...a change of either needs approval again... */
    free(next.group);
    next.group = chan_xstrdup("other-group");
    assert_int_equal(chan_policy_registration_state(false, old, &next), CHAN_CONSUMER_PENDING);
    free(next.group);
    next.group = chan_xstrdup("fraud-orders");
    free(next.principal);
    next.principal = chan_xstrdup("User:someone-else");
    assert_int_equal(chan_policy_registration_state(false, old, &next), CHAN_CONSUMER_PENDING);
    /* ...and a pending or rejected one stays pending. */
    free(next.principal);
    next.principal = chan_xstrdup("User:fraud");
    old->state = CHAN_CONSUMER_REJECTED;
    assert_int_equal(chan_policy_registration_state(false, old, &next), CHAN_CONSUMER_PENDING);
    assert_int_equal(chan_policy_registration_state(true, old, &next), CHAN_CONSUMER_APPROVED);

    chan_consumer_record_dispose(&next);
    chan_channel_record_free(ch);
}

static void test_policy__grants_new_access(void **state)
{
    chan_channel_record *ch = channel("BACKWARD", NULL, NULL);
    chan_consumer_record *old, *next;

    (void)state;
    add_consumer(ch, "fraud", "fraud-orders", CHAN_CONSUMER_APPROVED);
    add_consumer(ch, "fraud", "fraud-orders", CHAN_CONSUMER_APPROVED);
    old = &ch->consumers[0];
    next = &ch->consumers[1];

    /* A new consumer always does, whatever its state. */
    assert_true(chan_policy_grants_new_access(NULL, next));
    next->state = CHAN_CONSUMER_PENDING;
    assert_true(chan_policy_grants_new_access(NULL, next));
    /* The same principal, approved before and after: no one new reads. */
    next->state = CHAN_CONSUMER_APPROVED;
    assert_false(chan_policy_grants_new_access(old, next));
    /* A change of group, scenario or SLA gives no new access... */
    free(next->group);
    next->group = chan_xstrdup("fraud-orders-v2");
    next->sla_p99_ms = 5;
    assert_false(chan_policy_grants_new_access(old, next));
    /* ...a change of principal does, even while the new one waits for approval. */
    free(next->principal);
    next->principal = chan_xstrdup("User:someone-else");
    assert_true(chan_policy_grants_new_access(old, next));
    next->state = CHAN_CONSUMER_PENDING;
    assert_true(chan_policy_grants_new_access(old, next));
    free(next->principal);
    next->principal = chan_xstrdup("User:fraud");
    /* Approving one that was pending or rejected does; keeping it so does not. */
    old->state = CHAN_CONSUMER_PENDING;
    assert_false(chan_policy_grants_new_access(old, next));
    next->state = CHAN_CONSUMER_APPROVED;
    assert_true(chan_policy_grants_new_access(old, next));
    old->state = CHAN_CONSUMER_REJECTED;
    assert_true(chan_policy_grants_new_access(old, next));
    next->state = CHAN_CONSUMER_REJECTED;
    assert_false(chan_policy_grants_new_access(old, next));
    /* Withdrawing an approval does not. */
    old->state = CHAN_CONSUMER_APPROVED;
    next->state = CHAN_CONSUMER_PENDING;
    assert_false(chan_policy_grants_new_access(old, next));
    chan_channel_record_free(ch);
}

static void test_policy__consumer_access(void **state)
{
    chan_channel_record *ch = channel("BACKWARD", "2026-06-30", NULL);
    const chan_consumer_record *a, *p, *r;

    (void)state;
    add_consumer(ch, "billing", "billing", CHAN_CONSUMER_APPROVED);
    add_consumer(ch, "fraud", "fraud", CHAN_CONSUMER_PENDING);
    add_consumer(ch, "spam", "spam", CHAN_CONSUMER_REJECTED);
    /* Taken after the last add: the array moves as it grows. */
    a = &ch->consumers[0];
    p = &ch->consumers[1];
    r = &ch->consumers[2];
    assert_int_equal(chan_policy_consumer_access(ch, a, day("2026-06-01")), CHAN_ACCESS_GRANTED);
    assert_int_equal(chan_policy_consumer_access(ch, p, day("2026-06-01")), CHAN_ACCESS_PENDING);
    assert_int_equal(chan_policy_consumer_access(ch, r, day("2026-06-01")), CHAN_ACCESS_REJECTED);
    assert_true(chan_policy_consumer_grants(ch, a, day("2026-06-01")));
    assert_false(chan_policy_consumer_grants(ch, p, day("2026-06-01")));
    assert_false(chan_policy_consumer_grants(ch, r, day("2026-06-01")));
    /* Retirement ends every access. */
    assert_int_equal(chan_policy_consumer_access(ch, a, day("2026-06-30")), CHAN_ACCESS_RETIRED);
    assert_false(chan_policy_consumer_grants(ch, a, day("2026-06-30")));
    assert_string_equal(chan_policy_access_name(CHAN_ACCESS_PENDING), "pending");
    chan_channel_record_free(ch);
}

/* ------------------------------------------------------------------ */
/* Contract path                                                       */
/* ------------------------------------------------------------------ */

static void test_policy__check_channel_deprecated_new_consumer(void **state)
{
    chan_channel_record *old = channel("BACKWARD", "2026-06-30", NULL);
    chan_channel_record *next = channel("BACKWARD", "2026-06-30", NULL);
    chan_policy_options opts = CHAN_POLICY_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    const chan_diag *d;

    (void)state;
    add_consumer(old, "billing", "billing", CHAN_CONSUMER_APPROVED);
    add_consumer(next, "billing", "billing", CHAN_CONSUMER_APPROVED);
    add_consumer(next, "fraud", "fraud", CHAN_CONSUMER_APPROVED);

    /* Before the deprecation date the new consumer is fine. */
    opts.today = day("2026-06-29");
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);

    /* From that day on it is refused; the existing one is not. */
    opts.today = day("2026-06-30");
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), CHAN_ECONFLICT);
    assert_int_equal(chan_diag_list_count(diags), 1);
    d = diag_at(diags, 0, CHAN_POLICY_RULE_DEPRECATED);
    assert_int_equal(d->severity, CHAN_DIAG_ERROR);
    assert_string_equal(d->path, "consumers[1]");
    assert_non_null(strstr(d->message, "fraud"));
    chan_diag_list_free(diags);

    /* A new channel: every consumer is new. */
    diags = chan_diag_list_new();
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), CHAN_ECONFLICT);
    assert_int_equal(chan_diag_list_count(diags), 2);
    chan_diag_list_free(diags);

    /* Offline (no registry to compare with) the check is skipped. */
    diags = chan_diag_list_new();
    opts.new_consumers_known = false;
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), 0);
    chan_diag_list_free(diags);

    /* Two active consumers in one group; a rejected one does not count. */
    diags = chan_diag_list_new();
    add_consumer(next, "fraud2", "fraud", CHAN_CONSUMER_APPROVED);
    add_consumer(next, "spam", "billing", CHAN_CONSUMER_REJECTED);
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count(diags), 1);
    d = diag_at(diags, 0, CHAN_POLICY_RULE_DUP_CONSUMER);
    assert_string_equal(d->path, "consumers[2].group");
    chan_diag_list_free(diags);

    chan_channel_record_free(old);
    chan_channel_record_free(next);
}

/* The contract path refuses a new principal or a new approval as it refuses a new consumer. */
static void test_policy__check_channel_deprecated_new_access(void **state)
{
    chan_channel_record *old = channel("BACKWARD", "2026-06-30", "2026-12-31");
    chan_channel_record *next = channel("BACKWARD", "2026-06-30", "2026-12-31");
    chan_policy_options opts = CHAN_POLICY_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    const chan_diag *d;

    (void)state;
    opts.today = day("2026-07-01");
    add_consumer(old, "billing", "billing", CHAN_CONSUMER_APPROVED);
    add_consumer(old, "fraud", "fraud", CHAN_CONSUMER_PENDING);
    add_consumer(old, "spam", "spam", CHAN_CONSUMER_PENDING);
    add_consumer(next, "billing", "billing-v2", CHAN_CONSUMER_APPROVED);
    add_consumer(next, "fraud", "fraud", CHAN_CONSUMER_PENDING);
    add_consumer(next, "spam", "spam", CHAN_CONSUMER_REJECTED);

    /* Same principals, no approval: nothing new (a new group is fine). */
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);

    /* billing moves to another principal, fraud gets approved. */
    free(next->consumers[0].principal);
    next->consumers[0].principal = chan_xstrdup("User:sneaky");
    next->consumers[1].state = CHAN_CONSUMER_APPROVED;
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), CHAN_ECONFLICT);
    assert_int_equal(chan_diag_list_count(diags), 2);
    d = diag_at(diags, 0, CHAN_POLICY_RULE_DEPRECATED);
    assert_string_equal(d->path, "consumers[0]");
    d = diag_at(diags, 1, CHAN_POLICY_RULE_DEPRECATED);
    assert_string_equal(d->path, "consumers[1]");
    chan_diag_list_free(diags);

    chan_channel_record_free(old);
    chan_channel_record_free(next);
}

/* The removal rule: contract governance, never under NONE, elsewhere on request. */
static void test_policy__removal_rule_applies(void **state)
{
    static const chan_compat_mode levels[] = {
        CHAN_COMPAT_BACKWARD, CHAN_COMPAT_BACKWARD_TRANSITIVE,
        CHAN_COMPAT_FORWARD,  CHAN_COMPAT_FORWARD_TRANSITIVE,
        CHAN_COMPAT_FULL,     CHAN_COMPAT_FULL_TRANSITIVE,
    };
    size_t i;
    int r;

    (void)state;
    for (r = 0; r < 2; r++) {
        assert_false(chan_policy_removal_rule_applies(CHAN_REMOVAL_CONTRACT, CHAN_COMPAT_NONE, r));
        assert_false(chan_policy_removal_rule_applies(CHAN_REMOVAL_BOUND, CHAN_COMPAT_NONE, r));
        assert_false(chan_policy_removal_rule_applies(CHAN_REMOVAL_UNBOUND, CHAN_COMPAT_NONE, r));
    }
    for (i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        assert_true(chan_policy_removal_rule_applies(CHAN_REMOVAL_CONTRACT, levels[i], false));
        assert_true(chan_policy_removal_rule_applies(CHAN_REMOVAL_BOUND, levels[i], false));
        assert_false(chan_policy_removal_rule_applies(CHAN_REMOVAL_UNBOUND, levels[i], false));
        assert_true(chan_policy_removal_rule_applies(CHAN_REMOVAL_UNBOUND, levels[i], true));
    }
}

static void test_policy__check_channel_floor_waiver(void **state)
{
    chan_channel_record *old = channel("NONE", NULL, NULL);
    chan_channel_record *next = channel("NONE", NULL, NULL);
    chan_policy_options opts = CHAN_POLICY_OPTIONS_INIT;
    chan_diag_list *diags = chan_diag_list_new();
    const chan_diag *d;

    (void)state;
    opts.today = day("2026-01-01");
    /* Below the floor without a waiver: an error. */
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), CHAN_EINVALID);
    d = diag_at(diags, 0, CHAN_POLICY_RULE_COMPAT_FLOOR);
    assert_int_equal(d->severity, CHAN_DIAG_ERROR);
    assert_string_equal(d->path, "schema.compatibility");
    chan_diag_list_free(diags);

    /* With a waiver not yet approved: a warning only. */
    diags = chan_diag_list_new();
    next->waiver_reason = chan_xstrdup("legacy producer, replaced in Q1");
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 1);
    d = diag_at(diags, 0, CHAN_POLICY_RULE_COMPAT_FLOOR);
    assert_int_equal(d->severity, CHAN_DIAG_WARNING);
    assert_non_null(strstr(d->message, "waiver needs admin approval"));
    chan_diag_list_free(diags);

    /* Approved on the stored channel, same reason and level: nothing to say. */
    diags = chan_diag_list_new();
    old->waiver_reason = chan_xstrdup("legacy producer, replaced in Q1");
    old->waiver_approved_by = chan_xstrdup("admin");
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);
    /* A changed reason needs a new approval. */
    free(next->waiver_reason);
    next->waiver_reason = chan_xstrdup("another reason, long enough to count");
    assert_int_equal(chan_policy_check_channel(old, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count_severity(diags, CHAN_DIAG_WARNING), 1);
    chan_diag_list_free(diags);

    /* At or above the floor the waiver does not matter; a lower floor accepts NONE. */
    diags = chan_diag_list_new();
    free(next->compatibility);
    next->compatibility = chan_xstrdup("FULL");
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), 0);
    free(next->compatibility);
    next->compatibility = chan_xstrdup("NONE");
    opts.floor = CHAN_COMPAT_NONE;
    assert_int_equal(chan_policy_check_channel(NULL, next, &opts, diags), 0);
    assert_int_equal(chan_diag_list_count(diags), 0);
    chan_diag_list_free(diags);

    chan_channel_record_free(old);
    chan_channel_record_free(next);
}

/* Contract versions: the parse, the order and which stamped versions a contract accepts. */
static void test_policy__contract_version(void **state)
{
    static const char *const bad[] = {"",       "3",      "3.2",    "3.2.1.0", "03.2.1",
                                      "3.02.1", "3.2.01", "v3.2.1", " 3.2.1",  "3.2.1 ",
                                      "3..1",   "-3.2.1", "+3.2.1", "3.2.a",   "1234567890.0.0"};
    chan_semver a, b, cur;
    size_t i;

    (void)state;
    assert_int_equal(chan_policy_contract_version_parse(&a, "3.2.1", 5), 0);
    assert_int_equal(a.major, 3);
    assert_int_equal(a.minor, 2);
    assert_int_equal(a.patch, 1);
    assert_int_equal(chan_policy_contract_version_parse(&b, "0.0.0", 5), 0);
    assert_int_equal(chan_policy_contract_version_parse(&b, "999999999.10.0", 14), 0);
    assert_int_equal(b.major, 999999999);
    /* Only len bytes count. */
    assert_int_equal(chan_policy_contract_version_parse(&b, "3.2.10", 5), 0);
    assert_int_equal(b.patch, 1);
    for (i = 0; i < CHAN_ARRAY_SIZE(bad); i++) {
        if (chan_policy_contract_version_parse(&b, bad[i], strlen(bad[i])) != CHAN_EINVALID)
            fail_msg("\"%s\" parsed as a contract version", bad[i]);
    }
    assert_int_equal(chan_policy_contract_version_parse(&b, "3.10.0", 6), 0);
    assert_true(chan_policy_contract_version_compare(&a, &b) < 0); /* numeric, not text */
    assert_true(chan_policy_contract_version_compare(&b, &a) > 0);
    assert_int_equal(chan_policy_contract_version_compare(&a, &a), 0);

    cur = a; /* 3.2.1 */
    assert_true(chan_policy_contract_version_accepts(&cur, &a));
    assert_int_equal(chan_policy_contract_version_parse(&b, "3.0.0", 5), 0);
    assert_true(chan_policy_contract_version_accepts(&cur, &b));
    assert_int_equal(chan_policy_contract_version_parse(&b, "3.2.2", 5), 0);
    assert_false(chan_policy_contract_version_accepts(&cur, &b));
    assert_int_equal(chan_policy_contract_version_parse(&b, "2.9.9", 5), 0);
    assert_false(chan_policy_contract_version_accepts(&cur, &b));
    assert_false(chan_policy_contract_version_accepts(NULL, &a));
}

static void test_policy__version_header_parse(void **state)
{
    int64_t schema_version = 0;
    chan_semver cv;

    (void)state;
    assert_int_equal(chan_policy_version_header_parse(&schema_version, &cv, "v3.2.1", 6),
                     CHAN_VERSION_HEADER_CONTRACT);
    assert_int_equal(schema_version, -1);
    assert_int_equal(cv.major, 3);
    assert_int_equal(chan_policy_version_header_parse(&schema_version, &cv, "03", 2),
                     CHAN_VERSION_HEADER_SCHEMA);
    assert_int_equal(schema_version, 3);
    assert_int_equal(cv.major, 0);
    assert_int_equal(
        chan_policy_version_header_parse(&schema_version, NULL, "99999999999999999999999", 23),
        CHAN_VERSION_HEADER_SCHEMA);
    assert_int_equal(schema_version, INT64_MAX);
    assert_int_equal(chan_policy_version_header_parse(&schema_version, &cv, "0", 1),
                     CHAN_VERSION_HEADER_INVALID);
    assert_int_equal(chan_policy_version_header_parse(&schema_version, &cv, "v3", 2),
                     CHAN_VERSION_HEADER_INVALID);
    assert_int_equal(chan_policy_version_header_parse(&schema_version, &cv, NULL, 0),
                     CHAN_VERSION_HEADER_INVALID);
    assert_int_equal(chan_policy_version_header_parse(NULL, NULL, "v1.0.0", 6),
                     CHAN_VERSION_HEADER_CONTRACT);
}

/* Topic coverage: scope by glob patterns, managed by a channel's name. */
static void test_policy__topics(void **state)
{
    static const char *const include[] = {"orders.*", "legacy.?"};
    static const char *const exclude[] = {"_*", "orders.tmp-*"};
    static const char *const topics[] = {"__consumer_offsets", "_schemas",    "orders.created",
                                         "orders.tmp-1",       "orders.paid", "legacy.a",
                                         "legacy.ab",          "other"};
    chan_topic_filter all = {NULL, 0, exclude, 1};
    chan_topic_filter some = {include, 2, exclude, 2};
    chan_channel_record ch;
    const chan_channel_record *channels[1] = {&ch};
    const char **unmanaged = NULL;
    size_t n = 0;

    (void)state;
    chan_channel_record_init(&ch);
    ch.name = "orders.created";
    assert_true(chan_policy_topic_in_scope(NULL, "_schemas"));
    assert_false(chan_policy_topic_in_scope(&all, "__consumer_offsets"));
    assert_false(chan_policy_topic_in_scope(&all, "_schemas"));
    assert_true(chan_policy_topic_in_scope(&all, "other"));
    assert_false(chan_policy_topic_in_scope(&some, "other"));
    assert_false(chan_policy_topic_in_scope(&some, "orders.tmp-1"));
    assert_true(chan_policy_topic_in_scope(&some, "legacy.a"));
    assert_false(chan_policy_topic_in_scope(&some, "legacy.ab"));
    assert_false(chan_policy_topic_in_scope(&some, NULL));
    assert_true(chan_policy_topic_managed("orders.created", channels, 1));
    assert_false(chan_policy_topic_managed("orders.create", channels, 1));

    chan_policy_unmanaged_topics(&unmanaged, &n, topics, CHAN_ARRAY_SIZE(topics), channels, 1,
                                 &all);
    assert_int_equal(n, 5);
    assert_string_equal(unmanaged[0], "orders.tmp-1");
    assert_string_equal(unmanaged[4], "other");
    free(unmanaged);
    chan_policy_unmanaged_topics(&unmanaged, &n, topics, CHAN_ARRAY_SIZE(topics), channels, 1,
                                 &some);
    assert_int_equal(n, 2);
    assert_string_equal(unmanaged[0], "orders.paid");
    assert_string_equal(unmanaged[1], "legacy.a");
    free(unmanaged);
    chan_policy_unmanaged_topics(&unmanaged, &n, topics, 2, channels, 1, &all);
    assert_int_equal(n, 0);
    assert_null(unmanaged);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_policy__satisfies_table),
        cmocka_unit_test(test_policy__level_allowed),
        cmocka_unit_test(test_policy__retired_dates),
        cmocka_unit_test(test_policy__new_consumers_dates),
        cmocka_unit_test(test_policy__group_taken),
        cmocka_unit_test(test_policy__registration_state),
        cmocka_unit_test(test_policy__grants_new_access),
        cmocka_unit_test(test_policy__consumer_access),
        cmocka_unit_test(test_policy__check_channel_deprecated_new_consumer),
        cmocka_unit_test(test_policy__check_channel_deprecated_new_access),
        cmocka_unit_test(test_policy__check_channel_floor_waiver),
        cmocka_unit_test(test_policy__removal_rule_applies),
        cmocka_unit_test(test_policy__contract_version),
        cmocka_unit_test(test_policy__version_header_parse),
        cmocka_unit_test(test_policy__topics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
