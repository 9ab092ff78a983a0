/*
 * test_acl.c - the admission planner: desired bindings from channel records,
 * the diff against a broker's ACLs within the managed scope, refusal to
 * delete on an unknown actual state, retirement, deterministic rendering,
 * and the Strimzi / shell exports checked by parsing them back.
 *
 * Channel records are built here on the heap and freed by the test itself,
 * so the test does not depend on the store library.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <yaml.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/policy.h"

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

static chan_channel_record *channel(const char *name, const char *deprecation)
{
    chan_channel_record *ch = chan_xcalloc(1, sizeof(*ch));

    ch->name = chan_xstrdup(name);
    ch->deprecation_date = chan_xstrdup(deprecation);
    ch->owner_team = chan_xstrdup("team");
    return ch;
}

static void add_consumer(chan_channel_record *ch, const char *principal, const char *group,
                         double peak_rate)
{
    chan_consumer_record *c;

    ch->consumers = chan_xreallocarray(ch->consumers, ch->n_consumers + 1, sizeof(*c));
    c = &ch->consumers[ch->n_consumers++];
    memset(c, 0, sizeof(*c));
    c->channel = chan_xstrdup(ch->name);
    c->name = chan_xstrdup(group);
    c->principal = chan_xstrdup(principal);
    c->group = chan_xstrdup(group);
    c->scenario = chan_xstrdup("scenario");
    c->sla_p99_ms = 500;
    c->peak_rate_msgs = peak_rate;
    c->degradation = chan_xstrdup("drop");
}

static void add_producer(chan_channel_record *ch, const char *principal)
{
    chan_producer_record *p;

    ch->producers = chan_xreallocarray(ch->producers, ch->n_producers + 1, sizeof(*p));
    p = &ch->producers[ch->n_producers++];
    p->channel = chan_xstrdup(ch->name);
    p->principal = chan_xstrdup(principal);
}

static void channel_free(chan_channel_record *ch)
{
    if (ch == NULL)
        return;
    for (size_t i = 0; i < ch->n_consumers; i++) {
        chan_consumer_record *c = &ch->consumers[i];

        free(c->channel);
        free(c->name);
        free(c->principal);
        free(c->group);
        free(c->scenario);
        free(c->degradation);
    }
    for (size_t i = 0; i < ch->n_producers; i++) {
        free(ch->producers[i].channel);
        free(ch->producers[i].principal);
    }
    free(ch->consumers);
    free(ch->producers);
    free(ch->name);
    free(ch->deprecation_date);
    free(ch->retirement_date);
    free(ch->owner_team);
    free(ch);
}

/* Two live channels and one retiring on 2026-06-30. */
typedef struct fixture {
    chan_channel_record *ch[3];
    size_t n;
} fixture;

static int setup(void **state)
{
    fixture *f = chan_xcalloc(1, sizeof(*f));

    f->ch[0] = channel("orders.order-created", NULL);
    add_consumer(f->ch[0], "User:billing", "billing-orders", 100.0);
    add_consumer(f->ch[0], "User:analytics", "analytics-orders", 20.5);
    add_producer(f->ch[0], "User:orders-svc");
    f->ch[1] = channel("payments.settled", "2099-01-01");
    add_consumer(f->ch[1], "User:billing", "billing-payments", 50.0);
    add_producer(f->ch[1], "User:payments-svc");
    f->ch[2] = channel("legacy.events", "2026-06-30");
    add_consumer(f->ch[2], "User:old-reader", "old-readers", 10.0);
    add_producer(f->ch[2], "User:legacy-svc");
    f->n = 3;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;

    for (size_t i = 0; i < f->n; i++)
        channel_free(f->ch[i]);
    free(f);
    return 0;
}

static const chan_channel_record *const *chans(const fixture *f)
{
    return (const chan_channel_record *const *)f->ch;
}

static chan_acl_binding allow(chan_acl_resource_type type, const char *name, const char *principal,
                              chan_acl_operation op)
{
    chan_acl_binding b = {type, name, CHAN_ACL_PATTERN_LITERAL, principal,
                          "*",  op,   CHAN_ACL_PERMISSION_ALLOW};
    return b;
}

static void set_add_ok(chan_acl_set *set, chan_acl_binding b)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_acl_set_add(set, NULL, &b, &err), 0);
}

static bool has(const chan_acl_set *set, chan_acl_resource_type type, const char *name,
                const char *principal, chan_acl_operation op)
{
    chan_acl_binding b = allow(type, name, principal, op);

    return chan_acl_set_contains(set, &b);
}

static void desired_as_of(const fixture *f, const char *as_of, chan_acl_set **out,
                          chan_acl_scope **out_scope)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_desired_options opts = CHAN_ACL_DESIRED_OPTIONS_INIT;

    opts.as_of = as_of;
    assert_int_equal(chan_acl_desired(out, out_scope, chans(f), f->n, &opts, &err), 0);
}

/* ------------------------------------------------------------------ */
/* Desired set                                                         */
/* ------------------------------------------------------------------ */

static void test_desired_grants_registered_only(void **state)
{
    fixture *f = *state;
    chan_acl_set *set = NULL;
    chan_acl_scope *scope = NULL;

    desired_as_of(f, "2026-01-01", &set, &scope);
    /* 4 consumer registrations x 3 + 3 producers x 2, all three channels live. */
    assert_int_equal(chan_acl_set_count(set), 18);
    assert_true(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:billing",
                    CHAN_ACL_OP_READ));
    assert_true(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:billing",
                    CHAN_ACL_OP_DESCRIBE));
    assert_true(
        has(set, CHAN_ACL_RESOURCE_GROUP, "billing-orders", "User:billing", CHAN_ACL_OP_READ));
    assert_true(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:orders-svc",
                    CHAN_ACL_OP_WRITE));
    assert_true(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:orders-svc",
                    CHAN_ACL_OP_DESCRIBE));
    /* Consumers never write, producers never read. */
    assert_false(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:billing",
                     CHAN_ACL_OP_WRITE));
    assert_false(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:orders-svc",
                     CHAN_ACL_OP_READ));
    /* A consumer gets its own group only. */
    assert_false(
        has(set, CHAN_ACL_RESOURCE_GROUP, "analytics-orders", "User:billing", CHAN_ACL_OP_READ));

    assert_int_equal(chan_acl_scope_topic_count(scope), 3);
    assert_string_equal(chan_acl_scope_topic(scope, 0), "legacy.events");
    assert_string_equal(chan_acl_scope_topic(scope, 2), "payments.settled");
    assert_int_equal(chan_acl_scope_group_count(scope), 4);
    assert_null(chan_acl_scope_group(scope, 4));
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);
}

static void test_desired_drops_retired_channels(void **state)
{
    fixture *f = *state;
    chan_acl_set *set = NULL;
    chan_acl_scope *scope = NULL;
    chan_acl_binding legacy_read =
        allow(CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:old-reader", CHAN_ACL_OP_READ);

    /* The day before the deprecation date the channel is live ... */
    desired_as_of(f, "2026-06-29", &set, &scope);
    assert_true(chan_acl_set_contains(set, &legacy_read));
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);

    /* ... on the date itself it is retired, but stays in scope. */
    desired_as_of(f, "2026-06-30", &set, &scope);
    assert_false(chan_acl_set_contains(set, &legacy_read));
    assert_false(
        has(set, CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:legacy-svc", CHAN_ACL_OP_WRITE));
    assert_false(
        has(set, CHAN_ACL_RESOURCE_GROUP, "old-readers", "User:old-reader", CHAN_ACL_OP_READ));
    assert_int_equal(chan_acl_set_count(set), 13);
    assert_true(chan_acl_scope_covers(scope, &legacy_read));
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);
}

static void test_retirement_date_keeps_access_after_deprecation(void **state)
{
    fixture *f = *state;
    chan_acl_set *set = NULL;
    chan_acl_scope *scope = NULL;
    chan_acl_binding legacy_read =
        allow(CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:old-reader", CHAN_ACL_OP_READ);

    /* Deprecated on 2026-06-30, retired on 2026-09-30: existing access stays until then. */
    f->ch[2]->retirement_date = chan_xstrdup("2026-09-30");
    assert_string_equal(chan_policy_retirement(f->ch[2]), "2026-09-30");
    desired_as_of(f, "2026-07-15", &set, &scope);
    assert_true(chan_acl_set_contains(set, &legacy_read));
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);

    desired_as_of(f, "2026-09-30", &set, &scope);
    assert_false(chan_acl_set_contains(set, &legacy_read));
    assert_true(chan_acl_scope_covers(scope, &legacy_read));
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);
    free(f->ch[2]->retirement_date);
    f->ch[2]->retirement_date = NULL;
}

static void test_acl_desired__pending_consumer_gets_nothing(void **state)
{
    fixture *f = *state;
    chan_acl_set *set = NULL;
    chan_acl_scope *scope = NULL;
    chan_acl_binding group_read =
        allow(CHAN_ACL_RESOURCE_GROUP, "analytics-orders", "User:analytics", CHAN_ACL_OP_READ);
    int64_t rate = -1;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_export_options opts = CHAN_ACL_EXPORT_OPTIONS_INIT;

    /* Pending and rejected registrations grant nothing, but their groups stay managed. */
    f->ch[0]->consumers[1].state = CHAN_CONSUMER_PENDING;
    f->ch[1]->consumers[0].state = CHAN_CONSUMER_REJECTED;
    desired_as_of(f, "2026-01-01", &set, &scope);
    assert_false(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:analytics",
                     CHAN_ACL_OP_READ));
    assert_false(has(set, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:analytics",
                     CHAN_ACL_OP_DESCRIBE));
    assert_false(chan_acl_set_contains(set, &group_read));
    assert_false(
        has(set, CHAN_ACL_RESOURCE_GROUP, "billing-payments", "User:billing", CHAN_ACL_OP_READ));
    assert_true(chan_acl_scope_covers(scope, &group_read));
    /* The approved ones keep theirs: 18 - 2 x 3. */
    assert_true(
        has(set, CHAN_ACL_RESOURCE_GROUP, "billing-orders", "User:billing", CHAN_ACL_OP_READ));
    assert_int_equal(chan_acl_set_count(set), 12);
    chan_acl_set_free(set);
    chan_acl_scope_free(scope);

    /* Nor do they count towards the principal's quota. */
    opts.as_of = "2026-01-01";
    opts.avg_message_bytes = 100.0;
    assert_int_equal(
        chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &opts, &err), 0);
    assert_int_equal(rate, 0);
}

static void expect_invalid(const fixture *f, const char *path_expected, const char *msg_part)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_set *set = (chan_acl_set *)1;
    chan_acl_scope *scope = (chan_acl_scope *)1;

    assert_int_equal(chan_acl_desired(&set, &scope, chans(f), f->n, NULL, &err), CHAN_EINVALID);
    assert_null(set);
    assert_null(scope);
    assert_int_equal(err.code, CHAN_EINVALID);
    assert_string_equal(err.path, path_expected);
    assert_non_null(strstr(err.message, msg_part));
}

static void test_desired_rejects_bad_input(void **state)
{
    fixture *f = *state;
    char *saved;

    saved = f->ch[1]->name;
    f->ch[1]->name = chan_xstrdup("payments settled");
    expect_invalid(f, "channels[1].name", "not a legal topic name");
    free(f->ch[1]->name);
    f->ch[1]->name = chan_xstrdup("orders.order-created");
    expect_invalid(f, "channels[1].name", "listed twice");
    free(f->ch[1]->name);
    f->ch[1]->name = saved;

    saved = f->ch[0]->consumers[1].principal;
    f->ch[0]->consumers[1].principal = chan_xstrdup("analytics");
    expect_invalid(f, "channels[0].consumers[1].principal", "Type:name");
    free(f->ch[0]->consumers[1].principal);
    f->ch[0]->consumers[1].principal = chan_xstrdup("User:");
    expect_invalid(f, "channels[0].consumers[1].principal", "Type:name");
    free(f->ch[0]->consumers[1].principal);
    f->ch[0]->consumers[1].principal = saved;

    saved = f->ch[2]->consumers[0].group;
    f->ch[2]->consumers[0].group = chan_xstrdup("");
    expect_invalid(f, "channels[2].consumers[0].group", "group");
    free(f->ch[2]->consumers[0].group);
    f->ch[2]->consumers[0].group = chan_xstrdup("line\nbreak");
    expect_invalid(f, "channels[2].consumers[0].group", "group");
    free(f->ch[2]->consumers[0].group);
    f->ch[2]->consumers[0].group = saved;

    saved = f->ch[2]->deprecation_date;
    f->ch[2]->deprecation_date = chan_xstrdup("2026-02-30");
    expect_invalid(f, "channels[2].deprecation_date", "deprecation date");
    free(f->ch[2]->deprecation_date);
    f->ch[2]->deprecation_date = saved;

    saved = f->ch[0]->producers[0].principal;
    f->ch[0]->producers[0].principal = NULL;
    expect_invalid(f, "channels[0].producers[0].principal", "(null)");
    f->ch[0]->producers[0].principal = saved;

    {
        chan_error err = CHAN_ERROR_INIT;
        chan_acl_set *set = NULL;
        chan_acl_desired_options opts = CHAN_ACL_DESIRED_OPTIONS_INIT;
        const chan_channel_record *with_null[2] = {f->ch[0], NULL};

        assert_int_equal(chan_acl_desired(&set, NULL, with_null, 2, NULL, &err), CHAN_EINVALID);
        assert_string_equal(err.path, "channels[1]");
        opts.as_of = "yesterday";
        assert_int_equal(chan_acl_desired(&set, NULL, chans(f), f->n, &opts, &err), CHAN_EINVALID);
        assert_null(set);
        /* No channels: nothing desired, nothing managed. */
        assert_int_equal(chan_acl_desired(&set, NULL, NULL, 0, NULL, &err), 0);
        assert_int_equal(chan_acl_set_count(set), 0);
        chan_acl_set_free(set);
    }
}

static void test_set_rejects_incomplete_bindings(void **state)
{
    chan_acl_set *set = chan_acl_set_new();
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_binding b = allow(CHAN_ACL_RESOURCE_TOPIC, "t", "User:a", CHAN_ACL_OP_READ);
    bool added = false;

    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), 0);
    assert_true(added);
    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), 0);
    assert_false(added);
    b.principal = "nocolon";
    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), CHAN_EINVALID);
    b.principal = "User:a";
    b.operation = CHAN_ACL_OP_UNKNOWN;
    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), CHAN_EINVALID);
    b.operation = (chan_acl_operation)99;
    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), CHAN_EINVALID);
    b.operation = CHAN_ACL_OP_READ;
    b.resource_name = NULL;
    assert_int_equal(chan_acl_set_add(set, &added, &b, &err), CHAN_EINVALID);
    assert_int_equal(chan_acl_set_count(set), 1);
    assert_string_equal(chan_acl_operation_name((chan_acl_operation)99), "UNKNOWN");
    chan_acl_set_free(set);
}

/* ------------------------------------------------------------------ */
/* Plans                                                               */
/* ------------------------------------------------------------------ */

/* The broker state used by the diff tests. */
static chan_acl_set *broker_state(void)
{
    chan_acl_set *a = chan_acl_set_new();
    chan_acl_binding b;

    /* Already granted, as desired. */
    set_add_ok(a, allow(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:billing",
                        CHAN_ACL_OP_READ));
    set_add_ok(a,
               allow(CHAN_ACL_RESOURCE_GROUP, "billing-orders", "User:billing", CHAN_ACL_OP_READ));
    /* An unregistered principal reading a managed topic. */
    set_add_ok(a, allow(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:intruder",
                        CHAN_ACL_OP_READ));
    /* A registered consumer with an operation it does not need. */
    set_add_ok(a, allow(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:analytics",
                        CHAN_ACL_OP_ALL));
    /* Outside the scope: other topic, unmanaged group, prefix, deny, cluster. */
    set_add_ok(
        a, allow(CHAN_ACL_RESOURCE_TOPIC, "unmanaged.topic", "User:intruder", CHAN_ACL_OP_READ));
    set_add_ok(a, allow(CHAN_ACL_RESOURCE_GROUP, "someone-elses-group", "User:intruder",
                        CHAN_ACL_OP_READ));
    b = allow(CHAN_ACL_RESOURCE_TOPIC, "orders.", "User:ops", CHAN_ACL_OP_DESCRIBE);
    b.pattern_type = CHAN_ACL_PATTERN_PREFIXED;
    set_add_ok(a, b);
    b = allow(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:banned", CHAN_ACL_OP_READ);
    b.permission = CHAN_ACL_PERMISSION_DENY;
    set_add_ok(a, b);
    set_add_ok(a,
               allow(CHAN_ACL_RESOURCE_CLUSTER, "kafka-cluster", "User:admin", CHAN_ACL_OP_ALTER));
    return a;
}

static void test_plan_diff(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = broker_state();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_acl_set *del;
    chan_acl_binding b;

    /* Grants outside the scope that still reach managed resources, and one that does not. */
    set_add_ok(actual, allow(CHAN_ACL_RESOURCE_TOPIC, "*", "User:everyone", CHAN_ACL_OP_READ));
    b = allow(CHAN_ACL_RESOURCE_GROUP, "billing-", "User:billing2", CHAN_ACL_OP_READ);
    b.pattern_type = CHAN_ACL_PATTERN_PREFIXED;
    set_add_ok(actual, b);
    b = allow(CHAN_ACL_RESOURCE_TOPIC, "zzz.", "User:other", CHAN_ACL_OP_READ);
    b.pattern_type = CHAN_ACL_PATTERN_PREFIXED;
    set_add_ok(actual, b);

    desired_as_of(f, "2026-01-01", &desired, &scope);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    /* orders. (prefix of a managed topic), "*" and billing- (prefix of a managed group). */
    assert_int_equal(chan_acl_set_count(chan_acl_plan_bypasses(plan)), 3);
    assert_true(has(chan_acl_plan_bypasses(plan), CHAN_ACL_RESOURCE_TOPIC, "*", "User:everyone",
                    CHAN_ACL_OP_READ));
    assert_false(has(chan_acl_plan_bypasses(plan), CHAN_ACL_RESOURCE_TOPIC, "unmanaged.topic",
                     "User:intruder", CHAN_ACL_OP_READ));
    assert_int_equal(chan_acl_set_count(chan_acl_plan_unchanged(plan)), 2);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_create(plan)), 16);
    del = chan_acl_plan_to_delete(plan);
    assert_int_equal(chan_acl_set_count(del), 2);
    assert_true(has(del, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:intruder",
                    CHAN_ACL_OP_READ));
    assert_true(has(del, CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:analytics",
                    CHAN_ACL_OP_ALL));
    assert_false(chan_acl_plan_deletes_refused(plan));
    assert_false(chan_acl_plan_is_empty(plan));

    /* Every binding of the plan is inside the scope. */
    for (size_t i = 0; i < chan_acl_set_count(chan_acl_plan_to_create(plan)); i++)
        assert_true(
            chan_acl_scope_covers(scope, chan_acl_set_get(chan_acl_plan_to_create(plan), i)));
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

static void test_plan_converges(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = broker_state(), *after;
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL, *again = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_acl_set *create, *del;

    desired_as_of(f, "2026-01-01", &desired, &scope);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    /* Apply the plan to a copy of the broker state, then plan again. */
    after = chan_acl_set_new();
    create = chan_acl_plan_to_create(plan);
    del = chan_acl_plan_to_delete(plan);
    for (size_t i = 0; i < chan_acl_set_count(actual); i++) {
        const chan_acl_binding *b = chan_acl_set_get(actual, i);

        if (!chan_acl_set_contains(del, b))
            set_add_ok(after, *b);
    }
    for (size_t i = 0; i < chan_acl_set_count(create); i++)
        set_add_ok(after, *chan_acl_set_get(create, i));
    /* Out-of-scope bindings survived: 9 - 2 deleted + 16 created. */
    assert_int_equal(chan_acl_set_count(after), 23);

    assert_int_equal(
        chan_acl_plan_compute(&again, desired, after, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    assert_true(chan_acl_plan_is_empty(again));
    assert_int_equal(chan_acl_set_count(chan_acl_plan_unchanged(again)), 18);
    chan_acl_plan_free(plan);
    chan_acl_plan_free(again);
    chan_acl_set_free(after);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

static void test_plan_refuses_deletes_when_actual_unknown(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = broker_state();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = (chan_acl_plan *)1;
    chan_error err = CHAN_ERROR_INIT;
    char *text = NULL;

    desired_as_of(f, "2026-01-01", &desired, &scope);
    /* A known state needs the actual set. */
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, NULL, scope, CHAN_ACL_ACTUAL_KNOWN, &err),
        CHAN_EINVALID);
    assert_null(plan);

    /* Partial read: the intruder is seen, but nothing is deleted. */
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_UNKNOWN, &err), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(plan)), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_create(plan)), 16);
    assert_true(chan_acl_plan_deletes_refused(plan));
    chan_acl_plan_render_text(&text, plan, 0);
    assert_non_null(strstr(text, "deletes refused"));
    assert_null(strstr(text, "\n- "));
    free(text);
    chan_acl_plan_free(plan);

    /* Nothing read at all: everything desired is (re)created, nothing deleted. */
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, NULL, scope, CHAN_ACL_ACTUAL_UNKNOWN, &err), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_create(plan)), 18);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(plan)), 0);
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

static void test_plan_revokes_retired_channel(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = chan_acl_set_new();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_acl_set *del;

    set_add_ok(actual, allow(CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:old-reader",
                             CHAN_ACL_OP_READ));
    set_add_ok(actual,
               allow(CHAN_ACL_RESOURCE_GROUP, "old-readers", "User:old-reader", CHAN_ACL_OP_READ));
    set_add_ok(actual, allow(CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:legacy-svc",
                             CHAN_ACL_OP_WRITE));
    desired_as_of(f, "2027-01-01", &desired, &scope);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    del = chan_acl_plan_to_delete(plan);
    assert_int_equal(chan_acl_set_count(del), 3);
    assert_true(
        has(del, CHAN_ACL_RESOURCE_GROUP, "old-readers", "User:old-reader", CHAN_ACL_OP_READ));
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

/* A deleted channel's tombstone keeps its topic and groups in scope: the plan revokes them. */
static void test_plan_revokes_tombstoned_channel(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = chan_acl_set_new();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_desired_options opts = CHAN_ACL_DESIRED_OPTIONS_INIT;
    char *groups[] = {"gone-readers", "gone-audit"};
    chan_channel_tombstone gone = {"gone.events", "gone", "gone.events", groups, 2, 0, "admin"};
    const chan_channel_tombstone *tombstones[] = {&gone};
    char *json = NULL;
    const chan_acl_set *del;

    set_add_ok(actual,
               allow(CHAN_ACL_RESOURCE_TOPIC, "gone.events", "User:reader", CHAN_ACL_OP_READ));
    set_add_ok(actual,
               allow(CHAN_ACL_RESOURCE_TOPIC, "gone.events", "User:gone-svc", CHAN_ACL_OP_WRITE));
    set_add_ok(actual,
               allow(CHAN_ACL_RESOURCE_GROUP, "gone-readers", "User:reader", CHAN_ACL_OP_READ));
    set_add_ok(actual,
               allow(CHAN_ACL_RESOURCE_TOPIC, "unmanaged.topic", "User:reader", CHAN_ACL_OP_READ));

    /* Without the tombstone the deleted channel is out of scope: nothing to delete. */
    desired_as_of(f, "2026-01-01", &desired, &scope);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(plan)), 0);
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);

    opts.as_of = "2026-01-01";
    opts.tombstones = tombstones;
    opts.n_tombstones = 1;
    assert_int_equal(chan_acl_desired(&desired, &scope, chans(f), f->n, &opts, &err), 0);
    assert_int_equal(chan_acl_scope_topic_count(scope), 4);
    assert_int_equal(chan_acl_scope_group_count(scope), 6);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    del = chan_acl_plan_to_delete(plan);
    assert_int_equal(chan_acl_set_count(del), 3);
    assert_true(has(del, CHAN_ACL_RESOURCE_TOPIC, "gone.events", "User:reader", CHAN_ACL_OP_READ));
    assert_true(
        has(del, CHAN_ACL_RESOURCE_TOPIC, "gone.events", "User:gone-svc", CHAN_ACL_OP_WRITE));
    assert_true(has(del, CHAN_ACL_RESOURCE_GROUP, "gone-readers", "User:reader", CHAN_ACL_OP_READ));
    /* The rendered set names each binding in full. */
    chan_acl_set_render_json(&json, del);
    assert_non_null(strstr(json, "{\"resource_type\":\"GROUP\",\"resource_name\":"
                                 "\"gone-readers\",\"pattern_type\":\"LITERAL\","));
    free(json);
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);

    /* A tombstone of a live channel's name adds nothing new; a bad topic is refused. */
    gone.topic = "orders.order-created";
    assert_int_equal(chan_acl_desired(&desired, &scope, chans(f), f->n, &opts, &err), 0);
    assert_int_equal(chan_acl_scope_topic_count(scope), 3);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    gone.topic = "bad topic";
    assert_int_equal(chan_acl_desired(&desired, &scope, chans(f), f->n, &opts, &err),
                     CHAN_EINVALID);
    assert_string_equal(err.path, "tombstones[0]");
    assert_null(desired);
    chan_acl_set_free(actual);
}

static void test_plan_rejects_desired_outside_scope(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = chan_acl_set_new(), *first_desired = NULL;
    chan_acl_scope *scope = NULL, *other = NULL;
    chan_acl_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_channel_record *first[1] = {f->ch[0]};

    /* The desired set of all channels against the scope of the first one only. */
    desired_as_of(f, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_acl_desired(&first_desired, &other, first, 1, NULL, &err), 0);
    chan_acl_set_free(first_desired);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, other, CHAN_ACL_ACTUAL_KNOWN, &err),
        CHAN_EINVALID);
    assert_null(plan);
    assert_non_null(strstr(err.message, "outside the managed scope"));
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
    chan_acl_scope_free(other);
}

/* Render text and JSON for the fixture's channels listed in `order`. */
static void render_in_order(const fixture *f, const size_t *order, char **out_text, char **out_json)
{
    const chan_channel_record *list[3];
    chan_acl_set *desired = NULL, *actual = broker_state();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_desired_options opts = CHAN_ACL_DESIRED_OPTIONS_INIT;

    for (size_t i = 0; i < 3; i++)
        list[i] = f->ch[order[i]];
    opts.as_of = "2026-01-01";
    assert_int_equal(chan_acl_desired(&desired, &scope, list, 3, &opts, &err), 0);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    chan_acl_plan_render_text(out_text, plan, CHAN_ACL_RENDER_UNCHANGED);
    chan_acl_plan_render_json(out_json, plan);
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

static void test_plan_rendering_is_deterministic(void **state)
{
    fixture *f = *state;
    static const size_t order_a[3] = {0, 1, 2}, order_b[3] = {2, 0, 1};
    char *text_a, *json_a, *text_b, *json_b;
    const char *p, *q;

    render_in_order(f, order_a, &text_a, &json_a);
    /* Swap the consumers of the first channel as well. */
    {
        chan_consumer_record tmp = f->ch[0]->consumers[0];

        f->ch[0]->consumers[0] = f->ch[0]->consumers[1];
        f->ch[0]->consumers[1] = tmp;
    }
    render_in_order(f, order_b, &text_b, &json_b);
    assert_string_equal(text_a, text_b);
    assert_string_equal(json_a, json_b);

    assert_non_null(strstr(text_a, "+ ALLOW User:billing DESCRIBE TOPIC orders.order-created\n"));
    assert_non_null(strstr(text_a, "- ALLOW User:intruder READ TOPIC orders.order-created\n"));
    assert_non_null(strstr(text_a, "  ALLOW User:billing READ TOPIC orders.order-created\n"));
    assert_non_null(
        strstr(text_a, "plan: 16 to create, 2 to delete, 2 unchanged, 1 bypassing the registry\n"));
    assert_non_null(strstr(text_a, "! ALLOW User:ops DESCRIBE TOPIC orders. pattern=PREFIXED\n"));
    /* Sorted: topics before groups, then by name, principal, operation. */
    p = strstr(text_a, "+ ALLOW User:analytics READ TOPIC orders.order-created");
    q = strstr(text_a, "+ ALLOW User:analytics READ GROUP analytics-orders");
    assert_non_null(p);
    assert_non_null(q);
    assert_true(p < q);
    p = strstr(text_a, "+ ALLOW User:old-reader READ TOPIC legacy.events");
    q = strstr(text_a, "+ ALLOW User:analytics DESCRIBE TOPIC orders.order-created");
    assert_true(p != NULL && q != NULL && p < q);
    /* Out-of-scope bindings never appear. */
    assert_null(strstr(text_a, "unmanaged.topic"));
    assert_null(strstr(text_a, "User:banned"));
    assert_null(strstr(text_a, "someone-elses-group"));

    {
        json_error_t jerr;
        json_t *root = json_loads(json_a, 0, &jerr);
        json_t *del, *first;

        assert_non_null(root);
        del = json_object_get(root, "delete");
        assert_int_equal(json_array_size(del), 2);
        first = json_array_get(del, 0);
        assert_string_equal(json_string_value(json_object_get(first, "principal")),
                            "User:analytics");
        assert_string_equal(json_string_value(json_object_get(first, "operation")), "ALL");
        assert_string_equal(json_string_value(json_object_get(first, "resource_type")), "TOPIC");
        assert_string_equal(json_string_value(json_object_get(first, "pattern_type")), "LITERAL");
        assert_string_equal(json_string_value(json_object_get(first, "host")), "*");
        assert_int_equal(json_array_size(json_object_get(root, "create")), 16);
        assert_int_equal(json_array_size(json_object_get(root, "bypasses")), 1);
        assert_true(json_is_false(json_object_get(root, "deletes_refused")));
        assert_int_equal(
            json_integer_value(json_object_get(json_object_get(root, "summary"), "unchanged")), 2);
        json_decref(root);
    }
    free(text_a);
    free(json_a);
    free(text_b);
    free(json_b);
}

static void test_binding_render_marks_unusual_fields(void **state)
{
    chan_acl_binding b = allow(CHAN_ACL_RESOURCE_TOPIC, "orders.", "User:ops", CHAN_ACL_OP_READ);
    char *text;

    b.pattern_type = CHAN_ACL_PATTERN_PREFIXED;
    b.host = "10.0.0.1";
    b.permission = CHAN_ACL_PERMISSION_DENY;
    chan_acl_binding_render(&text, &b);
    assert_string_equal(text, "DENY User:ops READ TOPIC orders. pattern=PREFIXED host=10.0.0.1");
    free(text);
}

/* ------------------------------------------------------------------ */
/* Exports                                                             */
/* ------------------------------------------------------------------ */

/* Load YAML (one document) into JSON: maps to objects, lists to arrays, scalars to strings. */
static json_t *yaml_node_json(yaml_document_t *doc, yaml_node_t *node)
{
    json_t *j = NULL;

    switch (node->type) {
    case YAML_SCALAR_NODE:
        j = json_stringn((const char *)node->data.scalar.value, node->data.scalar.length);
        break;
    case YAML_SEQUENCE_NODE:
        j = json_array();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++)
            json_array_append_new(j, yaml_node_json(doc, yaml_document_get_node(doc, *it)));
        break;
    case YAML_MAPPING_NODE:
        j = json_object();
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top;
             p++) {
            yaml_node_t *k = yaml_document_get_node(doc, p->key);

            assert_int_equal(k->type, YAML_SCALAR_NODE);
            json_object_set_new(j, (const char *)k->data.scalar.value,
                                yaml_node_json(doc, yaml_document_get_node(doc, p->value)));
        }
        break;
    default:
        fail_msg("unexpected YAML node");
    }
    return j;
}

/* Every document of a multi-document YAML string, as a JSON array. */
static json_t *yaml_documents(const char *text)
{
    yaml_parser_t parser;
    json_t *docs = json_array();

    assert_true(yaml_parser_initialize(&parser));
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, strlen(text));
    for (;;) {
        yaml_document_t doc;
        yaml_node_t *root;

        assert_true(yaml_parser_load(&parser, &doc));
        root = yaml_document_get_root_node(&doc);
        if (root == NULL) {
            yaml_document_delete(&doc);
            break;
        }
        json_array_append_new(docs, yaml_node_json(&doc, root));
        yaml_document_delete(&doc);
    }
    yaml_parser_delete(&parser);
    return docs;
}

static const char *jpath(json_t *j, const char *path)
{
    char key[64];

    while (j && *path) {
        size_t len = strcspn(path, ".");

        assert_true(len < sizeof(key));
        memcpy(key, path, len);
        key[len] = '\0';
        j = json_is_array(j) ? json_array_get(j, (size_t)strtoul(key, NULL, 10))
                             : json_object_get(j, key);
        path += len + (path[len] == '.');
    }
    return json_string_value(j);
}

static json_t *user_doc(json_t *docs, const char *name)
{
    for (size_t i = 0; i < json_array_size(docs); i++) {
        const char *n = jpath(json_array_get(docs, i), "metadata.name");

        if (n && strcmp(n, name) == 0)
            return json_array_get(docs, i);
    }
    return NULL;
}

static chan_acl_export_options export_opts(void)
{
    chan_acl_export_options o = CHAN_ACL_EXPORT_OPTIONS_INIT;

    o.as_of = "2026-07-01"; /* legacy.events is retired */
    o.cluster = "my-cluster";
    o.namespace_ = "kafka";
    o.bootstrap_servers = "kafka-0:9093,kafka-1:9093";
    o.command_config = "/etc/kafka/admin.properties";
    o.avg_message_bytes = 512.0;
    return o;
}

static void test_strimzi_export(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *yaml = NULL;
    json_t *docs, *billing, *acls, *svc;

    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    docs = yaml_documents(yaml);
    /* billing, analytics, orders-svc, payments-svc; the retired channel's users are gone. */
    assert_int_equal(json_array_size(docs), 4);
    assert_null(user_doc(docs, "old-reader"));
    assert_null(user_doc(docs, "legacy-svc"));
    billing = user_doc(docs, "billing");
    assert_non_null(billing);
    assert_string_equal(jpath(billing, "apiVersion"), "kafka.strimzi.io/v1");
    assert_string_equal(jpath(billing, "kind"), "KafkaUser");
    assert_string_equal(jpath(billing, "metadata.namespace"), "kafka");
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_object_get(billing, "metadata"), "labels"), "strimzi.io/cluster")),
        "my-cluster");
    assert_string_equal(jpath(billing, "spec.authentication.type"), "scram-sha-512");
    assert_string_equal(jpath(billing, "spec.authorization.type"), "simple");
    /* (100 + 50) msgs/s x 512 bytes */
    assert_string_equal(jpath(billing, "spec.quotas.consumerByteRate"), "76800");
    acls =
        json_object_get(json_object_get(json_object_get(billing, "spec"), "authorization"), "acls");
    /* two topics and two groups */
    assert_int_equal(json_array_size(acls), 4);
    assert_string_equal(jpath(acls, "0.resource.type"), "topic");
    assert_string_equal(jpath(acls, "0.resource.name"), "orders.order-created");
    assert_string_equal(jpath(acls, "0.resource.patternType"), "literal");
    assert_string_equal(jpath(acls, "0.operations.0"), "Read");
    assert_string_equal(jpath(acls, "0.operations.1"), "Describe");
    assert_null(jpath(acls, "0.operations.2"));
    assert_string_equal(jpath(acls, "0.host"), "*");
    assert_string_equal(jpath(acls, "2.resource.type"), "group");
    assert_string_equal(jpath(acls, "2.resource.name"), "billing-orders");
    assert_string_equal(jpath(acls, "2.operations.0"), "Read");
    /* A producer has no consumer quota. */
    svc = user_doc(docs, "orders-svc");
    assert_non_null(svc);
    assert_null(jpath(svc, "spec.quotas.consumerByteRate"));
    assert_string_equal(jpath(svc, "spec.authorization.acls.0.operations.0"), "Write");
    json_decref(docs);
    free(yaml);
}

static void test_strimzi_export_rejects_unnameable_principals(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *yaml = (char *)1;
    char *saved = f->ch[0]->consumers[0].principal;

    f->ch[0]->consumers[0].principal = chan_xstrdup("User:Billing_Svc");
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(yaml);
    assert_non_null(strstr(err.message, "User:Billing_Svc"));
    free(f->ch[0]->consumers[0].principal);
    f->ch[0]->consumers[0].principal = chan_xstrdup("Group:billing");
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    free(f->ch[0]->consumers[0].principal);
    f->ch[0]->consumers[0].principal = saved;

    o.cluster = NULL;
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    o.cluster = "bad cluster";
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    o = export_opts();
    o.avg_message_bytes = 0;
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(yaml);
}

/* chan_acl_quota: both directions, the contract's message size over the export's. */
static void test_acl_quota__both_ways(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts(); /* 512-byte messages */
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_quota_rates q;

    f->ch[0]->peak_qps = 1000;
    f->ch[1]->peak_qps = 10;
    f->ch[2]->peak_qps = 7;
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:orders-svc", &o, &err), 0);
    assert_int_equal(q.producer_byte_rate, 512000); /* 1000 x 512 */
    assert_int_equal(q.consumer_byte_rate, 0);
    assert_true(q.producer_msgs == 1000.0);
    /* A contract's avg_message_bytes wins over the export's size, per channel. */
    f->ch[0]->avg_message_bytes = 2000;
    o.quota_headroom = 1.5;
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:orders-svc", &o, &err), 0);
    assert_int_equal(q.producer_byte_rate, 3000000); /* 1000 x 2000 x 1.5 */
    /* billing reads orders (100 msgs/s x 2000) and payments (50 x 512). */
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:billing", &o, &err), 0);
    assert_int_equal(q.consumer_byte_rate, 338400); /* (200000 + 25600) x 1.5 */
    assert_int_equal(q.producer_byte_rate, 0);
    assert_true(q.consumer_msgs == 150.0);
    assert_int_equal(chan_acl_consumer_byte_rate(&q.consumer_byte_rate, chans(f), f->n,
                                                 "User:billing", &o, &err),
                     0);
    assert_int_equal(q.consumer_byte_rate, 338400);
    /* The producer of a retired channel has no quota; before retirement it has. */
    o = export_opts();
    o.as_of = "2027-01-01";
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:legacy-svc", &o, &err), 0);
    assert_int_equal(q.producer_byte_rate, 0);
    o.as_of = "2026-01-01";
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:legacy-svc", &o, &err), 0);
    assert_int_equal(q.producer_byte_rate, 3584); /* 7 x 512 */
    /* Above Strimzi's largest quota: refused, zeroed. */
    f->ch[0]->peak_qps = 2000000;
    assert_int_equal(chan_acl_quota(&q, chans(f), f->n, "User:orders-svc", &o, &err),
                     CHAN_EINVALID);
    assert_int_equal(q.producer_byte_rate, 0);
    assert_non_null(strstr(err.message, "producer quota"));
    f->ch[0]->peak_qps = 0;
    f->ch[0]->avg_message_bytes = 0;
    chan_error_clear(&err);
}

/* The topic plan: drift, the full set to send, missing topics, refusals. */
static void test_topic_plan(void **state)
{
    fixture *f = *state;
    static const char *const topics[] = {"orders.order-created", "legacy.events"};
    chan_topic_config_entry orders[] = {
        {"retention.ms", "86400000", true, false, false},
        {"min.insync.replicas", "2", true, false, false},
        {"cleanup.policy", "delete", false, false, false}, /* a default: not sent back */
    };
    chan_topic_config_entry legacy[] = {{"retention.ms", "3600000", true, false, false},
                                        {"sasl.secret", NULL, true, false, true}};
    chan_topic_config actual[] = {{"orders.order-created", orders, 3},
                                  {"legacy.events", legacy, 2}};
    chan_topic_plan *plan = NULL;
    chan_error err = CHAN_ERROR_INIT;
    json_t *j;

    f->ch[0]->retention_hours = 168;
    f->ch[1]->retention_hours = 24;
    f->ch[2]->retention_hours = 1;
    assert_int_equal(chan_acl_topic_retention_ms(f->ch[0]), INT64_C(604800000));
    assert_int_equal(
        chan_topic_plan_compute(&plan, chans(f), f->n, topics, 2, actual, 2, "2026-01-01", &err),
        0);
    assert_int_equal(plan->checked, 2);
    assert_int_equal(plan->n_missing, 1);
    assert_string_equal(plan->missing[0], "payments.settled");
    assert_int_equal(plan->n_changes, 1); /* legacy.events already at 1 h */
    assert_string_equal(plan->changes[0].topic, "orders.order-created");
    assert_string_equal(plan->changes[0].actual, "86400000");
    assert_string_equal(plan->changes[0].desired, "604800000");
    assert_true(plan->changes[0].dynamic);
    assert_int_equal(plan->n_alters, 1);
    assert_null(plan->alters[0].refused);
    assert_int_equal(plan->alters[0].n_pairs, 2); /* both dynamic configs, retention replaced */
    assert_string_equal(plan->alters[0].pairs[0], "min.insync.replicas");
    assert_string_equal(plan->alters[0].pairs[1], "2");
    assert_string_equal(plan->alters[0].pairs[2], "retention.ms");
    assert_string_equal(plan->alters[0].pairs[3], "604800000");
    j = chan_topic_plan_to_json(plan);
    assert_string_equal(
        json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(j, "alters"), 0), "configs"),
            "min.insync.replicas")),
        "2");
    json_decref(j);
    chan_topic_plan_free(plan);

    /* A declared cleanup_policy is compared and sent too. */
    f->ch[0]->cleanup_policy = chan_xstrdup("compact");
    assert_int_equal(
        chan_topic_plan_compute(&plan, chans(f), f->n, topics, 2, actual, 2, "2026-01-01", &err),
        0);
    assert_int_equal(plan->n_changes, 2);
    assert_string_equal(plan->changes[1].key, "cleanup.policy");
    assert_string_equal(plan->changes[1].actual, "delete");
    assert_false(plan->changes[1].dynamic);
    assert_int_equal(plan->alters[0].n_pairs, 3);
    assert_string_equal(plan->alters[0].pairs[4], "cleanup.policy");
    assert_string_equal(plan->alters[0].pairs[5], "compact");
    chan_topic_plan_free(plan);
    free(f->ch[0]->cleanup_policy);
    f->ch[0]->cleanup_policy = NULL;

    /* A sensitive dynamic config cannot be sent back: the topic is refused. */
    f->ch[2]->retention_hours = 2;
    assert_int_equal(
        chan_topic_plan_compute(&plan, chans(f), f->n, topics, 2, actual, 2, "2026-01-01", &err),
        0);
    assert_int_equal(plan->n_alters, 2);
    assert_string_equal(plan->alters[0].topic, "legacy.events");
    assert_non_null(strstr(plan->alters[0].refused, "sasl.secret"));
    chan_topic_plan_free(plan);
    /* Retired channels are left alone. */
    assert_int_equal(
        chan_topic_plan_compute(&plan, chans(f), f->n, topics, 2, actual, 2, "2027-01-01", &err),
        0);
    assert_int_equal(plan->n_alters, 1);
    assert_int_equal(plan->checked, 1);
    chan_topic_plan_free(plan);
    /* An existing managed topic without configs read: no plan. */
    assert_int_equal(
        chan_topic_plan_compute(&plan, chans(f), f->n, topics, 2, actual, 1, "2026-01-01", &err),
        CHAN_EINVALID);
    assert_null(plan);
    f->ch[0]->retention_hours = 0;
    f->ch[1]->retention_hours = 0;
    f->ch[2]->retention_hours = 0;
}

static void test_consumer_byte_rate(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    int64_t rate = -1;

    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     0);
    assert_int_equal(rate, 10496); /* 20.5 x 512 */
    o.quota_headroom = 1.5;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     0);
    assert_int_equal(rate, 15744);
    o.avg_message_bytes = 100.3; /* 20.5 x 100.3 x 1.5 = 3084.225, rounded up */
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     0);
    assert_int_equal(rate, 3085);
    /* Retired and unknown principals consume nothing. */
    o = export_opts();
    assert_int_equal(
        chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:old-reader", &o, &err), 0);
    assert_int_equal(rate, 0);
    o.as_of = "2026-01-01";
    assert_int_equal(
        chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:old-reader", &o, &err), 0);
    assert_int_equal(rate, 5120);
    /* Out of Strimzi's range, negative, not a number, bad options. */
    f->ch[0]->consumers[1].peak_rate_msgs = 1e9;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     CHAN_EINVALID);
    assert_non_null(strstr(err.message, "2147483647"));
    f->ch[0]->consumers[1].peak_rate_msgs = -1.0;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     CHAN_EINVALID);
    f->ch[0]->consumers[1].peak_rate_msgs = NAN;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     CHAN_EINVALID);
    f->ch[0]->consumers[1].peak_rate_msgs = 20.5;
    o.quota_headroom = 0.5;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     CHAN_EINVALID);
    o.quota_headroom = 0;
    o.avg_message_bytes = INFINITY;
    assert_int_equal(chan_acl_consumer_byte_rate(&rate, chans(f), f->n, "User:analytics", &o, &err),
                     CHAN_EINVALID);
}

/* Split one shell command line into words, undoing single quotes. */
static size_t shell_words(char words[][128], size_t max, const char *line)
{
    size_t n = 0;

    while (*line && *line != '\n') {
        size_t len = 0;

        while (*line == ' ')
            line++;
        if (*line == '\0' || *line == '\n')
            break;
        assert_true(n < max);
        while (*line && *line != ' ' && *line != '\n') {
            if (*line == '\'') {
                for (line++; *line != '\''; line++) {
                    assert_true(*line != '\0');
                    assert_true(len + 1 < 128);
                    words[n][len++] = *line;
                }
                line++;
            } else if (*line == '\\') {
                words[n][len++] = line[1];
                line += 2;
            } else {
                assert_true(len + 1 < 128);
                words[n][len++] = *line++;
            }
        }
        words[n][len] = '\0';
        n++;
    }
    return n;
}

/* Index of word w in words, or -1. */
static int word_at(char words[][128], size_t n, const char *w, size_t from)
{
    for (size_t i = from; i < n; i++) {
        if (strcmp(words[i], w) == 0)
            return (int)i;
    }
    return -1;
}

static void test_shell_export(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *script = NULL, *saved = f->ch[0]->consumers[0].group;
    char words[40][128];
    size_t n_acl = 0, n_cfg = 0;
    bool saw_billing_topic = false, saw_quoted_group = false, saw_quota = false;

    f->ch[0]->consumers[0].group = chan_xstrdup("billing's orders");
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), 0);
    assert_true(strncmp(script, "#!/bin/sh\n", 10) == 0);
    for (const char *line = script; *line; line = strchr(line, '\n') + 1) {
        size_t n = *line == '#' ? 0 : shell_words(words, 40, line);
        int i;

        if (n == 0 || strcmp(words[0], "set") == 0)
            continue;
        assert_int_equal(word_at(words, n, "--bootstrap-server", 0), 1);
        assert_string_equal(words[2], "kafka-0:9093,kafka-1:9093");
        assert_string_equal(words[word_at(words, n, "--command-config", 0) + 1],
                            "/etc/kafka/admin.properties");
        if (strcmp(words[0], "kafka-acls.sh") == 0) {
            n_acl++;
            assert_true(word_at(words, n, "--add", 0) > 0);
            i = word_at(words, n, "--allow-principal", 0);
            assert_true(i > 0);
            assert_null(strstr(words[i + 1], "legacy"));
            assert_null(strstr(words[i + 1], "old-reader"));
            if (strcmp(words[i + 1], "User:billing") == 0 &&
                word_at(words, n, "orders.order-created", 0) > 0) {
                int op1 = word_at(words, n, "--operation", 0);

                saw_billing_topic = true;
                assert_string_equal(words[op1 + 1], "Read");
                assert_string_equal(words[word_at(words, n, "--operation", op1 + 1) + 1],
                                    "Describe");
                assert_string_equal(words[word_at(words, n, "--topic", 0) + 1],
                                    "orders.order-created");
            }
            if ((i = word_at(words, n, "--group", 0)) > 0 &&
                strcmp(words[i + 1], "billing's orders") == 0)
                saw_quoted_group = true;
        } else {
            assert_string_equal(words[0], "kafka-configs.sh");
            n_cfg++;
            assert_true(word_at(words, n, "--alter", 0) > 0);
            assert_string_equal(words[word_at(words, n, "--entity-type", 0) + 1], "users");
            i = word_at(words, n, "--entity-name", 0);
            if (strcmp(words[i + 1], "billing") == 0) {
                saw_quota = true;
                assert_string_equal(words[word_at(words, n, "--add-config", 0) + 1],
                                    "consumer_byte_rate=76800");
            }
        }
    }
    /* billing: 2 topics + 2 groups; analytics: 1 + 1; two producers: 1 each. */
    assert_int_equal(n_acl, 8);
    assert_int_equal(n_cfg, 2); /* billing and analytics consume */
    assert_true(saw_billing_topic);
    assert_true(saw_quoted_group);
    assert_true(saw_quota);
    free(script);
    free(f->ch[0]->consumers[0].group);
    f->ch[0]->consumers[0].group = saved;

    o.bootstrap_servers = NULL;
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(script);
}

static void test_plan_render_shell(void **state)
{
    fixture *f = *state;
    chan_acl_set *desired = NULL, *actual = broker_state();
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *script = NULL;
    char words[40][128];
    size_t adds = 0, removes = 0;
    bool saw_intruder = false, saw_all = false;

    desired_as_of(f, "2026-01-01", &desired, &scope);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    assert_int_equal(chan_acl_plan_render_shell(&script, plan, &o, &err), 0);
    for (const char *line = script; *line; line = strchr(line, '\n') + 1) {
        size_t n;
        int i;

        if (*line == '#' || strncmp(line, "set ", 4) == 0)
            continue;
        n = shell_words(words, 40, line);
        assert_string_equal(words[0], "kafka-acls.sh");
        if (word_at(words, n, "--add", 0) > 0) {
            assert_int_equal(removes, 0); /* every add comes before the first remove */
            adds++;
            continue;
        }
        assert_true(word_at(words, n, "--remove", 0) > 0);
        assert_true(word_at(words, n, "--force", 0) > 0);
        removes++;
        i = word_at(words, n, "--allow-principal", 0);
        assert_string_equal(words[word_at(words, n, "--topic", 0) + 1], "orders.order-created");
        if (strcmp(words[i + 1], "User:intruder") == 0) {
            saw_intruder = true;
            assert_string_equal(words[word_at(words, n, "--operation", 0) + 1], "Read");
        } else {
            assert_string_equal(words[i + 1], "User:analytics");
            assert_string_equal(words[word_at(words, n, "--operation", 0) + 1], "All");
            saw_all = true;
        }
    }
    assert_int_equal(adds, 16);
    assert_int_equal(removes, 2);
    assert_true(saw_intruder && saw_all);
    assert_non_null(strstr(script, "# bypasses the registry, review: ALLOW User:ops DESCRIBE "
                                   "TOPIC orders. pattern=PREFIXED\n"));
    free(script);
    chan_acl_plan_free(plan);

    /* A plan without deletes says why. */
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_UNKNOWN, &err), 0);
    assert_int_equal(chan_acl_plan_render_shell(&script, plan, &o, &err), 0);
    assert_null(strstr(script, "--remove"));
    assert_non_null(strstr(script, "# deletes refused"));
    free(script);
    o.bootstrap_servers = "";
    assert_int_equal(chan_acl_plan_render_shell(&script, plan, &o, &err), CHAN_EINVALID);
    assert_null(script);
    chan_acl_plan_free(plan);
    chan_acl_set_free(desired);
    chan_acl_set_free(actual);
    chan_acl_scope_free(scope);
}

/* Labels of a KafkaUser document (their keys have dots, which jpath splits on). */
static const char *label(json_t *doc, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(doc, "metadata"), "labels"), key));
}

static void test_acl_export__strimzi_v1_default(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *yaml = NULL;
    json_t *docs;

    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    docs = yaml_documents(yaml);
    assert_int_equal(json_array_size(docs), 4);
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *doc = json_array_get(docs, i);
        json_t *acls =
            json_object_get(json_object_get(json_object_get(doc, "spec"), "authorization"), "acls");

        assert_string_equal(jpath(doc, "apiVersion"), "kafka.strimzi.io/v1");
        assert_string_equal(jpath(doc, "kind"), "KafkaUser");
        assert_string_equal(jpath(doc, "spec.authorization.type"), "simple");
        /* v1 requires resource and operations on every rule and has no singular operation. */
        assert_true(json_array_size(acls) > 0);
        for (size_t j = 0; j < json_array_size(acls); j++) {
            json_t *rule = json_array_get(acls, j);

            assert_non_null(json_object_get(rule, "resource"));
            assert_true(json_array_size(json_object_get(rule, "operations")) > 0);
            assert_null(json_object_get(rule, "operation"));
        }
    }
    assert_null(strstr(yaml, "v1beta2"));
    assert_non_null(strstr(yaml, "--prune-allowlist=kafka.strimzi.io/v1/KafkaUser "));
    json_decref(docs);
    free(yaml);

    /* A version 1 caller gets the same defaults. */
    o.version = 1;
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    assert_non_null(strstr(yaml, "apiVersion: kafka.strimzi.io/v1\n"));
    free(yaml);
}

static void test_acl_export__strimzi_v1beta2_flag(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *yaml = NULL;
    json_t *docs;

    o.strimzi_api = "v1beta2";
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    docs = yaml_documents(yaml);
    assert_int_equal(json_array_size(docs), 4);
    for (size_t i = 0; i < json_array_size(docs); i++)
        assert_string_equal(jpath(json_array_get(docs, i), "apiVersion"),
                            "kafka.strimzi.io/v1beta2");
    assert_non_null(strstr(yaml, "--prune-allowlist=kafka.strimzi.io/v1beta2/KafkaUser "));
    /* The spec is the same: operations lists only. */
    assert_string_equal(jpath(user_doc(docs, "billing"), "spec.authorization.acls.0.operations.1"),
                        "Describe");
    json_decref(docs);
    free(yaml);

    o.strimzi_api = "v2";
    yaml = (char *)1;
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(yaml);
    assert_non_null(strstr(err.message, "'v2'"));
}

static void test_acl_export__labels_for_prune(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    char *yaml = NULL;
    json_t *docs;

    /* The instance label defaults to the cluster name. */
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    docs = yaml_documents(yaml);
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *doc = json_array_get(docs, i);

        assert_string_equal(label(doc, "strimzi.io/cluster"), "my-cluster");
        assert_string_equal(label(doc, "app.kubernetes.io/managed-by"), "chanreg");
        assert_string_equal(label(doc, "chanreg.io/instance"), "my-cluster");
    }
    json_decref(docs);
    free(yaml);

    o.instance = "orders-registry";
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), 0);
    /* The comment before the first document selects exactly these labels. */
    assert_true(strncmp(yaml, "# ", 2) == 0);
    assert_non_null(strstr(yaml,
                           "#   kubectl apply --prune -l app.kubernetes.io/managed-by=chanreg,"
                           "chanreg.io/instance=orders-registry "
                           "--prune-allowlist=kafka.strimzi.io/v1/KafkaUser -n kafka "
                           "-f users.yaml\n"));
    assert_true(strstr(yaml, "kubectl apply") < strstr(yaml, "---\n"));
    assert_null(strstr(yaml, "kubectl delete"));
    docs = yaml_documents(yaml);
    assert_int_equal(json_array_size(docs), 4);
    for (size_t i = 0; i < json_array_size(docs); i++) {
        json_t *doc = json_array_get(docs, i);

        assert_string_equal(label(doc, "strimzi.io/cluster"), "my-cluster");
        assert_string_equal(label(doc, "app.kubernetes.io/managed-by"), "chanreg");
        assert_string_equal(label(doc, "chanreg.io/instance"), "orders-registry");
    }
    json_decref(docs);
    free(yaml);

    /* Nothing registered: apply cannot prune from an empty file, the comment says what to do. */
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), 0, &o, &err), 0);
    assert_non_null(strstr(yaml, "#   kubectl delete kafkausers.kafka.strimzi.io -l "
                                 "app.kubernetes.io/managed-by=chanreg,"
                                 "chanreg.io/instance=orders-registry -n kafka\n"));
    assert_null(strstr(yaml, "---"));
    free(yaml);

    o.instance = "not a label";
    yaml = (char *)1;
    assert_int_equal(chan_acl_export_strimzi(&yaml, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(yaml);
    assert_non_null(strstr(err.message, "instance"));
}

/* The script's state line parsed back. */
static void parse_state(chan_acl_set **out, char ***out_users, size_t *out_n, const char *script)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_acl_export_state_parse(out, out_users, out_n, script, &err), 0);
}

/*
** The removal section of a script: "principal|kind|detail" lines in order,
** kind "acl" (detail: operations and resource) or "quota" (detail: the
** deleted config).  Checks that every removal follows every add.
*/
static char *removals_of(const char *script)
{
    char words[40][128];
    chan_buf buf = CHAN_BUF_INIT;
    const char *section = strstr(script, "\n# Removals:");
    const char *line;

    if (section == NULL)
        return chan_buf_take(&buf);
    assert_null(strstr(section, " --add "));
    for (line = section + 1; *line; line = strchr(line, '\n') + 1) {
        size_t n;
        int i;

        if (*line == '#' || *line == '\n')
            continue;
        n = shell_words(words, 40, line);
        if (strcmp(words[0], "kafka-acls.sh") == 0) {
            assert_true(word_at(words, n, "--remove", 0) > 0);
            assert_true(word_at(words, n, "--force", 0) > 0);
            i = word_at(words, n, "--allow-principal", 0);
            chan_buf_printf(&buf, "%s|acl|", words[i + 1]);
            for (i = word_at(words, n, "--operation", 0); i > 0;
                 i = word_at(words, n, "--operation", (size_t)i + 1))
                chan_buf_printf(&buf, "%s ", words[i + 1]);
            i = word_at(words, n, "--topic", 0);
            if (i < 0)
                i = word_at(words, n, "--group", 0);
            chan_buf_printf(&buf, "%s %s\n", words[i], words[i + 1]);
        } else {
            assert_string_equal(words[0], "kafka-configs.sh");
            assert_true(word_at(words, n, "--alter", 0) > 0);
            assert_string_equal(words[word_at(words, n, "--entity-type", 0) + 1], "users");
            chan_buf_printf(&buf, "User:%s|quota|%s\n",
                            words[word_at(words, n, "--entity-name", 0) + 1],
                            words[word_at(words, n, "--delete-config", 0) + 1]);
        }
    }
    return chan_buf_take(&buf);
}

static void test_acl_export__removals_since_previous(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_set *previous = NULL;
    char **users = NULL, *script = NULL, *removals;
    size_t n_users = 0, saved_n = f->ch[1]->n_consumers;

    /* Before legacy.events retired: old-reader consumes it, legacy-svc produces to it. */
    o.as_of = "2026-01-01";
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), 0);
    assert_null(strstr(script, "# Removals"));
    parse_state(&previous, &users, &n_users, script);
    free(script);
    assert_int_equal(n_users, 3);
    assert_string_equal(users[2], "old-reader");

    /* Now it is retired and billing's registration on payments.settled is gone. */
    o = export_opts();
    o.previous = previous;
    o.previous_quota_users = (const char *const *)users;
    o.n_previous_quota_users = n_users;
    f->ch[1]->n_consumers = 0;
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), 0);
    f->ch[1]->n_consumers = saved_n;
    removals = removals_of(script);
    /*
     * Exactly the lost access: billing keeps its quota (it still reads
     * orders.order-created); old-reader loses its quota as well.
     */
    assert_string_equal(removals, "User:billing|acl|Read Describe --topic payments.settled\n"
                                  "User:billing|acl|Read --group billing-payments\n"
                                  "User:legacy-svc|acl|Write Describe --topic legacy.events\n"
                                  "User:old-reader|acl|Read Describe --topic legacy.events\n"
                                  "User:old-reader|acl|Read --group old-readers\n"
                                  "User:old-reader|quota|consumer_byte_rate,producer_byte_rate\n");
    free(removals);
    /* The state line stays last. */
    assert_non_null(
        strstr(script, "consumer_byte_rate,producer_byte_rate --entity-type users --entity-name "
                       "'old-reader'\n\n# chanreg-state v1 {"));
    free(script);

    /* Nothing lost: the section says so. */
    o.as_of = "2026-01-01";
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), 0);
    assert_non_null(strstr(script, "\n# Removals: "));
    removals = removals_of(script);
    assert_string_equal(removals, "");
    free(removals);
    free(script);

    /* Previous quota users must be names. */
    o.n_previous_quota_users = 1;
    o.previous_quota_users = NULL;
    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), CHAN_EINVALID);
    assert_null(script);
    chan_acl_export_state_users_free(users, n_users);
    chan_acl_set_free(previous);
}

static void test_acl_export__state_trailer_roundtrip(void **state)
{
    fixture *f = *state;
    chan_acl_export_options o = export_opts();
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_set *desired = NULL, *parsed = NULL, *again = NULL;
    chan_acl_scope *scope = NULL;
    char **users = NULL, **users2 = NULL, *script = NULL, *script2 = NULL;
    const char *last;
    size_t n_users = 0, n_users2 = 0;
    const chan_acl_binding legacy_group =
        allow(CHAN_ACL_RESOURCE_GROUP, "old-readers", "User:old-reader", CHAN_ACL_OP_READ);

    assert_int_equal(chan_acl_export_shell(&script, chans(f), f->n, &o, &err), 0);
    /* The state is the last line. */
    last = strstr(script, "\n" CHAN_ACL_EXPORT_STATE_PREFIX "{\"bindings\":[{");
    assert_non_null(last);
    assert_ptr_equal(strchr(last + 1, '\n'), script + strlen(script) - 1);
    parse_state(&parsed, &users, &n_users, script);
    desired_as_of(f, o.as_of, &desired, &scope);
    assert_int_equal(chan_acl_set_count(parsed), chan_acl_set_count(desired));
    for (size_t i = 0; i < chan_acl_set_count(desired); i++)
        assert_true(chan_acl_set_contains(parsed, chan_acl_set_get(desired, i)));
    assert_int_equal(n_users, 2);
    assert_string_equal(users[0], "analytics");
    assert_string_equal(users[1], "billing");

    /* Same input, same script: the state is deterministic and survives a second round. */
    o.previous = parsed;
    o.previous_quota_users = (const char *const *)users;
    o.n_previous_quota_users = n_users;
    assert_int_equal(chan_acl_export_shell(&script2, chans(f), f->n, &o, &err), 0);
    assert_string_equal(strstr(script2, "\n" CHAN_ACL_EXPORT_STATE_PREFIX), last);
    parse_state(&again, &users2, &n_users2, script2);
    assert_int_equal(chan_acl_set_count(again), chan_acl_set_count(parsed));
    assert_int_equal(n_users2, n_users);
    chan_acl_set_free(again);
    chan_acl_export_state_users_free(users2, n_users2);
    free(script2);
    free(script);

    /*
     * The document of GET /v1/acl/applied: no quota_users, so the users
     * holding READ on a group are taken as the quota users.
     */
    chan_acl_set_free(parsed);
    chan_acl_export_state_users_free(users, n_users);
    assert_int_equal(
        chan_acl_export_state_parse(
            &parsed, &users, &n_users,
            "{\"applied_at\":\"2026-12-04T10:00:00Z\",\"bindings\":["
            "{\"resource_type\":\"GROUP\",\"resource_name\":\"old-readers\","
            "\"pattern_type\":\"LITERAL\",\"principal\":\"User:old-reader\",\"host\":\"*\","
            "\"operation\":\"READ\",\"permission\":\"ALLOW\"},"
            "{\"resource_type\":\"TOPIC\",\"resource_name\":\"legacy.events\","
            "\"pattern_type\":\"LITERAL\",\"principal\":\"User:legacy-svc\",\"host\":\"*\","
            "\"operation\":\"WRITE\",\"permission\":\"ALLOW\"}]}",
            &err),
        0);
    assert_int_equal(chan_acl_set_count(parsed), 2);
    assert_true(chan_acl_set_contains(parsed, &legacy_group));
    assert_int_equal(n_users, 1);
    assert_string_equal(users[0], "old-reader");
    chan_acl_set_free(parsed);
    chan_acl_export_state_users_free(users, n_users);

    /* Refusals: no state line, another version, a resource exports never write, bad JSON. */
    assert_int_equal(
        chan_acl_export_state_parse(&parsed, &users, &n_users, "#!/bin/sh\nset -eu\n", &err),
        CHAN_EINVALID);
    assert_null(parsed);
    assert_non_null(strstr(err.hint, "chanctl export kafka-configs"));
    assert_int_equal(chan_acl_export_state_parse(&parsed, &users, &n_users,
                                                 "# chanreg-state v2 {\"bindings\":[]}\n", &err),
                     CHAN_EINVALID);
    assert_non_null(strstr(err.message, "version"));
    assert_int_equal(chan_acl_export_state_parse(
                         &parsed, &users, &n_users,
                         "# chanreg-state v1 {\"bindings\":[{\"resource_type\":\"CLUSTER\","
                         "\"resource_name\":\"kafka-cluster\",\"pattern_type\":\"LITERAL\","
                         "\"principal\":\"User:x\",\"host\":\"*\",\"operation\":\"ALTER\","
                         "\"permission\":\"ALLOW\"}],\"quota_users\":[]}\n",
                         &err),
                     CHAN_EINVALID);
    assert_string_equal(err.path, "bindings[0]");
    assert_int_equal(chan_acl_export_state_parse(&parsed, &users, &n_users,
                                                 "# chanreg-state v1 {\"bindings\":[{\"resource_"
                                                 "type\":\"TOPIC\",\"operation\":\"READ\"}]}",
                                                 &err),
                     CHAN_EINVALID);
    assert_int_equal(chan_acl_export_state_parse(&parsed, &users, &n_users,
                                                 "# chanreg-state v1 {\"bindings\":[\n", &err),
                     CHAN_EINVALID);
    assert_null(parsed);
    assert_null(users);
    assert_int_equal(n_users, 0);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_desired_grants_registered_only, setup, teardown),
        cmocka_unit_test_setup_teardown(test_desired_drops_retired_channels, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retirement_date_keeps_access_after_deprecation, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acl_desired__pending_consumer_gets_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_desired_rejects_bad_input, setup, teardown),
        cmocka_unit_test(test_set_rejects_incomplete_bindings),
        cmocka_unit_test_setup_teardown(test_plan_diff, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_converges, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_refuses_deletes_when_actual_unknown, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_plan_revokes_retired_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_revokes_tombstoned_channel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_rejects_desired_outside_scope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_rendering_is_deterministic, setup, teardown),
        cmocka_unit_test(test_binding_render_marks_unusual_fields),
        cmocka_unit_test_setup_teardown(test_strimzi_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strimzi_export_rejects_unnameable_principals, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_acl_quota__both_ways, setup, teardown),
        cmocka_unit_test_setup_teardown(test_topic_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consumer_byte_rate, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shell_export, setup, teardown),
        cmocka_unit_test_setup_teardown(test_plan_render_shell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_export__strimzi_v1_default, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_export__strimzi_v1beta2_flag, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_export__labels_for_prune, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_export__removals_since_previous, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acl_export__state_trailer_roundtrip, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
