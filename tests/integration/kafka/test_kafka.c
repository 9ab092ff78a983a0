/*
 * test_kafka.c - the Kafka admin client against a Kafka-protocol peer on
 * loopback (tests/support/kafka/kafka_acl_peer.py): binding conversion,
 * reconciliation and its idempotence, refusal to delete after a failed read,
 * an unreachable or dying broker and a slow one.
 *
 * Usage: test_kafka GROUP PYTHON PEER_SCRIPT, GROUP one of admin, reconcile,
 * unavailable (one ctest test each).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chan/acl.h"
#include "chan/common.h"
#include "chan/kafka.h"
#include "peer.h"

static const char *python_path;
static const char *peer_script;

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */
/* ------------------------------------------------------------------ */

typedef struct ctx {
    test_kafka_peer *peer;
    chan_kafka *kafka;
    chan_channel_record ch[2];
    chan_consumer_record consumers[3];
    chan_producer_record producers[2];
    const chan_channel_record *list[2];
} ctx;

static void fill_channels(ctx *c)
{
    memset(c->ch, 0, sizeof(c->ch));
    c->consumers[0] =
        (chan_consumer_record){.principal = "User:billing", .group = "billing-orders"};
    c->consumers[1] =
        (chan_consumer_record){.principal = "User:analytics", .group = "analytics-orders"};
    c->consumers[2] =
        (chan_consumer_record){.principal = "User:old-reader", .group = "old-readers"};
    c->producers[0] = (chan_producer_record){.principal = "User:orders-svc"};
    c->producers[1] = (chan_producer_record){.principal = "User:legacy-svc"};
    c->ch[0].name = "orders.order-created";
    c->ch[0].consumers = &c->consumers[0];
    c->ch[0].n_consumers = 2;
    c->ch[0].producers = &c->producers[0];
    c->ch[0].n_producers = 1;
    c->ch[1].name = "legacy.events";
    c->ch[1].deprecation_date = "2026-06-30";
    c->ch[1].consumers = &c->consumers[2];
    c->ch[1].n_consumers = 1;
    c->ch[1].producers = &c->producers[1];
    c->ch[1].n_producers = 1;
    c->list[0] = &c->ch[0];
    c->list[1] = &c->ch[1];
}

static chan_kafka *open_client(const char *bootstrap, int timeout_ms, chan_kafka_describe_mode mode)
{
    chan_kafka_options o = CHAN_KAFKA_OPTIONS_INIT;
    static const char *const config[] = {"reconnect.backoff.max.ms", "500"};
    chan_error err = CHAN_ERROR_INIT;
    chan_kafka *k = NULL;

    o.bootstrap_servers = bootstrap;
    o.timeout_ms = timeout_ms;
    o.describe_mode = mode;
    o.config = config;
    o.n_config = 1;
    if (chan_kafka_open(&k, &o, &err) < 0)
        fail_msg("chan_kafka_open: %s", err.message);
    return k;
}

static int setup_peer(void **state)
{
    ctx *c = chan_xcalloc(1, sizeof(*c));

    fill_channels(c);
    if (test_kafka_peer_start(&c->peer, python_path, peer_script) < 0) {
        free(c);
        return -1;
    }
    c->kafka = open_client(test_kafka_peer_bootstrap(c->peer), 3000, CHAN_KAFKA_DESCRIBE_AUTO);
    *state = c;
    return 0;
}

static int teardown_peer(void **state)
{
    ctx *c = *state;

    chan_kafka_free(c->kafka);
    test_kafka_peer_stop(c->peer);
    free(c);
    return 0;
}

static chan_acl_binding binding(chan_acl_resource_type type, const char *name,
                                const char *principal, chan_acl_operation op)
{
    chan_acl_binding b = {type, name, CHAN_ACL_PATTERN_LITERAL, principal,
                          "*",  op,   CHAN_ACL_PERMISSION_ALLOW};
    return b;
}

static void add(chan_acl_set *set, chan_acl_binding b)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_acl_set_add(set, NULL, &b, &err), 0);
}

/* Bindings outside the registry's scope plus two it must revoke. */
static chan_acl_set *foreign_bindings(void)
{
    chan_acl_set *set = chan_acl_set_new();
    chan_acl_binding b;

    add(set, binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:intruder",
                     CHAN_ACL_OP_READ));
    add(set, binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:analytics",
                     CHAN_ACL_OP_ALL));
    add(set,
        binding(CHAN_ACL_RESOURCE_TOPIC, "unmanaged.topic", "User:intruder", CHAN_ACL_OP_READ));
    add(set, binding(CHAN_ACL_RESOURCE_CLUSTER, "kafka-cluster", "User:admin", CHAN_ACL_OP_ALTER));
    b = binding(CHAN_ACL_RESOURCE_TOPIC, "orders.", "User:ops", CHAN_ACL_OP_DESCRIBE);
    b.pattern_type = CHAN_ACL_PATTERN_PREFIXED;
    add(set, b);
    b = binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:banned", CHAN_ACL_OP_READ);
    b.permission = CHAN_ACL_PERMISSION_DENY;
    b.host = "10.1.2.3";
    add(set, b);
    return set;
}

static void seed(ctx *c, const chan_acl_set *set)
{
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_kafka_create_acls(&r, c->kafka, set, &err), 0);
    assert_int_equal(chan_kafka_report_created(r), chan_acl_set_count(set));
    chan_kafka_report_free(r);
}

/* Everything the cluster holds, read through the client. */
static chan_acl_set *read_all(ctx *c)
{
    chan_acl_set *all = NULL;
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_kafka_describe_acls(&all, c->kafka, NULL, &err), 0);
    return all;
}

static void desired_as_of(ctx *c, const char *as_of, chan_acl_set **out, chan_acl_scope **out_scope)
{
    chan_acl_desired_options o = CHAN_ACL_DESIRED_OPTIONS_INIT;
    chan_error err = CHAN_ERROR_INIT;

    o.as_of = as_of;
    assert_int_equal(chan_acl_desired(out, out_scope, c->list, 2, &o, &err), 0);
}

static void peer_do(ctx *c, const char *command)
{
    json_t *reply = NULL;

    assert_int_equal(test_kafka_peer_command(&reply, c->peer, command), 0);
    json_decref(reply);
}

/* stats[group][api] of the peer, group "held" (waiting now) or "answered". */
static long peer_count(ctx *c, const char *group, const char *api)
{
    json_t *stats = NULL;
    long n;

    assert_int_equal(test_kafka_peer_command(&stats, c->peer, "stats"), 0);
    n = (long)json_integer_value(json_object_get(json_object_get(stats, group), api));
    json_decref(stats);
    return n;
}

/* ------------------------------------------------------------------ */
/* admin: conversions and the three ACL APIs                           */
/* ------------------------------------------------------------------ */

static void test_bindings_round_trip(void **state)
{
    ctx *c = *state;
    chan_acl_set *foreign = foreign_bindings(), *all, *scoped = NULL, *gone;
    chan_acl_scope *scope = NULL;
    chan_acl_set *desired = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_binding near;

    assert_int_equal(chan_kafka_ping(c->kafka, &err), 0);
    seed(c, foreign);
    assert_int_equal(test_kafka_peer_stat(c->peer, "acls"), 6);
    /* Every field survives the trip: prefix, deny, host, cluster, ALL. */
    all = read_all(c);
    assert_int_equal(chan_acl_set_count(all), 6);
    for (size_t i = 0; i < chan_acl_set_count(foreign); i++)
        assert_true(chan_acl_set_contains(all, chan_acl_set_get(foreign, i)));
    chan_acl_set_free(all);

    /* Scoped (per-resource) reads return what applies to the scope's resources. */
    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_describe_acls(&scoped, c->kafka, scope, &err), 0);
    assert_int_equal(chan_acl_set_count(scoped), 4);
    for (size_t i = 0; i < chan_acl_set_count(foreign); i++) {
        const chan_acl_binding *b = chan_acl_set_get(foreign, i);

        /* MATCH filters: the literal name and the prefixes that cover it. */
        bool on_scope =
            (b->pattern_type == CHAN_ACL_PATTERN_LITERAL &&
             strcmp(b->resource_name, "orders.order-created") == 0) ||
            (b->pattern_type == CHAN_ACL_PATTERN_PREFIXED &&
             strncmp("orders.order-created", b->resource_name, strlen(b->resource_name)) == 0);

        assert_int_equal(chan_acl_set_contains(scoped, b), on_scope);
    }
    assert_int_equal(test_kafka_peer_stat(c->peer, "DescribeAcls"), 1 + 2 + 3);

    /* Exact delete: a binding differing only in host stays. */
    gone = chan_acl_set_new();
    near =
        binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:banned", CHAN_ACL_OP_READ);
    near.permission = CHAN_ACL_PERMISSION_DENY; /* host "*" instead of 10.1.2.3 */
    add(gone, near);
    add(gone, binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:intruder",
                      CHAN_ACL_OP_READ));
    assert_int_equal(chan_kafka_delete_acls(&r, c->kafka, gone, &err), 0);
    assert_int_equal(chan_kafka_report_count(r), 2);
    assert_int_equal(chan_kafka_report_deleted(r), 1);
    for (size_t i = 0; i < 2; i++) {
        const chan_kafka_result *res = chan_kafka_report_get(r, i);

        assert_int_equal(res->status, 0);
        assert_int_equal(res->deleted, strcmp(res->binding.principal, "User:intruder") == 0);
    }
    assert_int_equal(test_kafka_peer_stat(c->peer, "acls"), 5);
    chan_kafka_report_free(r);
    chan_acl_set_free(gone);
    chan_acl_set_free(scoped);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_acl_set_free(foreign);
}

static void test_broker_rejects_invalid_binding(void **state)
{
    ctx *c = *state;
    chan_acl_set *set = chan_acl_set_new();
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;

    /* Valid for the client, refused by the broker: CLUSTER must be named kafka-cluster. */
    add(set, binding(CHAN_ACL_RESOURCE_CLUSTER, "my-cluster", "User:admin", CHAN_ACL_OP_ALTER));
    add(set, binding(CHAN_ACL_RESOURCE_TOPIC, "t", "User:admin", CHAN_ACL_OP_READ));
    assert_int_equal(chan_kafka_create_acls(&r, c->kafka, set, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "kafka-cluster"));
    assert_int_equal(chan_kafka_report_created(r), 1);
    assert_int_equal(chan_kafka_report_failed(r), 1);
    chan_kafka_report_free(r);
    chan_acl_set_free(set);
}

/* Broker error codes map to chan codes, with the broker's message kept. */
static void test_broker_errors_are_mapped(void **state)
{
    static const struct {
        const char *command;
        int code;
        bool on_delete;
    } cases[] = {
        {"fail create 31 Cluster authorization failed.", CHAN_EDENIED, false},
        {"fail create 7 Request timed out.", CHAN_EUNAVAILABLE, false},
        {"fail create 42 Bad principal.", CHAN_EINVALID, false},
        {"fail create 38 Replication factor trouble", CHAN_EINTERNAL, false},
        {"fail delete 58 SASL authentication failed.", CHAN_EDENIED, true},
        {"fail delete 13 Network exception.", CHAN_EUNAVAILABLE, true},
    };
    ctx *c = *state;
    chan_acl_set *set = chan_acl_set_new();

    add(set, binding(CHAN_ACL_RESOURCE_TOPIC, "t", "User:a", CHAN_ACL_OP_READ));
    for (size_t i = 0; i < CHAN_ARRAY_SIZE(cases); i++) {
        chan_kafka_report *r = NULL;
        chan_error err = CHAN_ERROR_INIT;
        const char *msg = strchr(strchr(cases[i].command + 5, ' ') + 1, ' ') + 1;
        int rc;

        peer_do(c, cases[i].command);
        rc = cases[i].on_delete ? chan_kafka_delete_acls(&r, c->kafka, set, &err)
                                : chan_kafka_create_acls(&r, c->kafka, set, &err);
        assert_int_equal(rc, cases[i].code);
        assert_int_equal(err.code, cases[i].code);
        assert_non_null(strstr(err.message, msg));
        assert_int_equal(chan_kafka_report_failed(r), 1);
        assert_string_equal(chan_kafka_report_get(r, 0)->message, msg);
        chan_kafka_report_free(r);
        peer_do(c, "clear");
    }
    assert_int_equal(test_kafka_peer_stat(c->peer, "acls"), 0);
    chan_acl_set_free(set);
}

static void test_open_rejects_bad_config(void **state)
{
    chan_kafka_options o = CHAN_KAFKA_OPTIONS_INIT;
    static const char *const bad[] = {"no.such.property", "1"};
    static const char *const bad_value[] = {"security.protocol", "carrier-pigeon"};
    chan_error err = CHAN_ERROR_INIT;
    chan_kafka *k = (chan_kafka *)1;

    assert_int_equal(chan_kafka_open(&k, &o, &err), CHAN_EINVALID);
    assert_null(k);
    o.bootstrap_servers = "127.0.0.1:1";
    o.config = bad;
    o.n_config = 1;
    assert_int_equal(chan_kafka_open(&k, &o, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "no.such.property"));
    o.config = bad_value;
    assert_int_equal(chan_kafka_open(&k, &o, &err), CHAN_EINVALID);
    assert_non_null(strstr(err.message, "security.protocol"));
    o.config = NULL;
    o.timeout_ms = -5;
    assert_int_equal(chan_kafka_open(&k, &o, &err), CHAN_EINVALID);
}

/* ------------------------------------------------------------------ */
/* reconcile                                                           */
/* ------------------------------------------------------------------ */

static void test_reconcile_converges_without_churn(void **state)
{
    ctx *c = *state;
    chan_acl_set *foreign = foreign_bindings(), *desired = NULL, *all;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    char *json = NULL;

    seed(c, foreign);
    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
    assert_int_equal(chan_kafka_report_created(r), chan_acl_set_count(desired));
    assert_int_equal(chan_kafka_report_deleted(r), 2);
    assert_int_equal(chan_kafka_report_failed(r), 0);
    /* The PREFIXED orders. grant is seen, reported and left alone. */
    assert_int_equal(chan_acl_set_count(chan_acl_plan_bypasses(chan_kafka_report_plan(r))), 1);
    /* Creates come before deletes. */
    assert_int_equal(chan_kafka_report_get(r, 0)->action, CHAN_KAFKA_ACTION_CREATE);
    assert_int_equal(chan_kafka_report_get(r, chan_kafka_report_count(r) - 1)->action,
                     CHAN_KAFKA_ACTION_DELETE);
    chan_kafka_report_render_json(&json, r);
    assert_non_null(strstr(json, "\"deleted\":2"));
    assert_non_null(strstr(json, "\"plan\":{"));
    free(json);
    chan_kafka_report_free(r);

    /* The cluster now holds the desired set plus the four out-of-scope bindings. */
    all = read_all(c);
    assert_int_equal(chan_acl_set_count(all), chan_acl_set_count(desired) + 4);
    for (size_t i = 0; i < chan_acl_set_count(desired); i++)
        assert_true(chan_acl_set_contains(all, chan_acl_set_get(desired, i)));
    /* Foreign bindings the scope covers are gone; all others are untouched. */
    for (size_t i = 0; i < chan_acl_set_count(foreign); i++) {
        const chan_acl_binding *b = chan_acl_set_get(foreign, i);

        assert_int_equal(chan_acl_set_contains(all, b), !chan_acl_scope_covers(scope, b));
    }
    {
        chan_acl_binding intruder = binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created",
                                            "User:intruder", CHAN_ACL_OP_READ);
        chan_acl_binding elsewhere =
            binding(CHAN_ACL_RESOURCE_TOPIC, "unmanaged.topic", "User:intruder", CHAN_ACL_OP_READ);

        assert_false(chan_acl_set_contains(all, &intruder));
        assert_true(chan_acl_set_contains(all, &elsewhere));
    }
    chan_acl_set_free(all);

    /* A second pass sends no create and no delete request. */
    {
        long creates = test_kafka_peer_stat(c->peer, "CreateAcls");
        long deletes = test_kafka_peer_stat(c->peer, "DeleteAcls");
        long created = test_kafka_peer_stat(c->peer, "created");

        assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
        assert_true(chan_acl_plan_is_empty(chan_kafka_report_plan(r)));
        assert_int_equal(chan_kafka_report_count(r), 0);
        assert_int_equal(test_kafka_peer_stat(c->peer, "CreateAcls"), creates);
        assert_int_equal(test_kafka_peer_stat(c->peer, "DeleteAcls"), deletes);
        assert_int_equal(test_kafka_peer_stat(c->peer, "created"), created);
        chan_kafka_report_free(r);
    }
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_acl_set_free(foreign);
}

static void test_apply_same_plan_twice_changes_nothing(void **state)
{
    ctx *c = *state;
    chan_acl_set *desired = NULL, *actual = NULL;
    chan_acl_scope *scope = NULL;
    chan_acl_plan *plan = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_set *foreign = foreign_bindings();
    long created, deleted;

    seed(c, foreign);
    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_describe_acls(&actual, c->kafka, scope, &err), 0);
    assert_int_equal(
        chan_acl_plan_compute(&plan, desired, actual, scope, CHAN_ACL_ACTUAL_KNOWN, &err), 0);
    assert_int_equal(chan_kafka_apply(&r, c->kafka, plan, &err), 0);
    chan_kafka_report_free(r);
    created = test_kafka_peer_stat(c->peer, "created");
    deleted = test_kafka_peer_stat(c->peer, "deleted");
    assert_int_equal(deleted, 2);

    /* The stale plan again: creates are no-ops, deletes find nothing. */
    assert_int_equal(chan_kafka_apply(&r, c->kafka, plan, &err), 0);
    assert_int_equal(chan_kafka_report_failed(r), 0);
    assert_int_equal(chan_kafka_report_deleted(r), 0);
    assert_int_equal(test_kafka_peer_stat(c->peer, "created"), created);
    assert_int_equal(test_kafka_peer_stat(c->peer, "deleted"), deleted);
    chan_kafka_report_free(r);
    chan_acl_plan_free(plan);
    chan_acl_set_free(actual);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_acl_set_free(foreign);
}

static void test_retirement_revokes_on_cluster(void **state)
{
    ctx *c = *state;
    chan_acl_set *desired = NULL, *all;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_binding legacy =
        binding(CHAN_ACL_RESOURCE_TOPIC, "legacy.events", "User:old-reader", CHAN_ACL_OP_READ);

    desired_as_of(c, "2026-06-29", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
    chan_kafka_report_free(r);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    all = read_all(c);
    assert_true(chan_acl_set_contains(all, &legacy));
    chan_acl_set_free(all);

    desired_as_of(c, "2026-06-30", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
    assert_int_equal(chan_kafka_report_deleted(r), 5); /* 3 consumer + 2 producer bindings */
    assert_int_equal(chan_kafka_report_created(r), 0);
    chan_kafka_report_free(r);
    all = read_all(c);
    assert_false(chan_acl_set_contains(all, &legacy));
    assert_int_equal(chan_acl_set_count(all), chan_acl_set_count(desired));
    chan_acl_set_free(all);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

static void test_failed_read_never_deletes(void **state)
{
    ctx *c = *state;
    chan_acl_set *foreign = foreign_bindings(), *desired = NULL, *all;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_acl_binding intruder =
        binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:intruder", CHAN_ACL_OP_READ);
    chan_kafka *fast;

    seed(c, foreign);
    desired_as_of(c, "2026-01-01", &desired, &scope);

    /*
     * librdkafka 2.0.2 drops the top-level error code of a DescribeAcls
     * response: a refused read arrives as an empty listing.  An empty
     * listing can only lead to (idempotent) creates, never to deletes.
     */
    peer_do(c, "fail describe 31 Cluster authorization failed.");
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
    assert_int_equal(chan_kafka_report_deleted(r), 0);
    assert_int_equal(test_kafka_peer_stat(c->peer, "DeleteAcls"), 0);
    chan_kafka_report_free(r);
    peer_do(c, "clear");

    /*
     * A read that times out is a failed read: the plan refuses deletes.  The
     * broker holds its DescribeAcls answers until "clear".  A second client
     * (own connection, short timeout) keeps the held answers away from
     * c->kafka.
     */
    fast = open_client(test_kafka_peer_bootstrap(c->peer), 800, CHAN_KAFKA_DESCRIBE_BROAD);
    peer_do(c, "hold describe");
    assert_int_equal(chan_kafka_reconcile(&r, fast, desired, scope, false, &err),
                     CHAN_EUNAVAILABLE);
    assert_non_null(r);
    assert_true(chan_acl_plan_deletes_refused(chan_kafka_report_plan(r)));
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(chan_kafka_report_plan(r))), 0);
    assert_int_equal(chan_kafka_report_deleted(r), 0);
    assert_int_equal(test_kafka_peer_stat(c->peer, "DeleteAcls"), 0);
    chan_kafka_report_free(r);

    /* Describe failing directly leaves no partial result. */
    {
        chan_acl_set *partial = (chan_acl_set *)1;

        assert_int_equal(chan_kafka_describe_acls(&partial, fast, scope, &err), CHAN_EUNAVAILABLE);
        assert_null(partial);
    }
    chan_kafka_free(fast);

    peer_do(c, "clear");
    all = read_all(c);
    assert_true(chan_acl_set_contains(all, &intruder));
    chan_acl_set_free(all);
    /* Once the read works again the intruder goes. */
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err), 0);
    assert_int_equal(chan_kafka_report_deleted(r), 2);
    assert_int_equal(chan_kafka_report_failed(r), 0);
    chan_kafka_report_free(r);
    all = read_all(c);
    assert_false(chan_acl_set_contains(all, &intruder));
    chan_acl_set_free(all);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_acl_set_free(foreign);
}

static void test_failed_create_skips_deletes(void **state)
{
    ctx *c = *state;
    chan_acl_set *foreign = foreign_bindings(), *desired = NULL;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    const chan_kafka_result *res;

    seed(c, foreign);
    desired_as_of(c, "2026-01-01", &desired, &scope);
    peer_do(c, "fail create 38 Replication factor trouble");
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, false, &err),
                     CHAN_EINTERNAL);
    assert_non_null(strstr(err.message, "Replication factor trouble"));
    assert_int_equal(chan_kafka_report_failed(r), chan_acl_set_count(desired));
    assert_int_equal(chan_kafka_report_skipped(r), 2);
    res = chan_kafka_report_get(r, chan_kafka_report_count(r) - 1);
    assert_int_equal(res->action, CHAN_KAFKA_ACTION_DELETE);
    assert_true(res->skipped);
    assert_string_equal(res->message, "not attempted: a create of the same plan failed");
    res = chan_kafka_report_get(r, 0);
    assert_string_equal(res->message, "Replication factor trouble");
    assert_int_equal(test_kafka_peer_stat(c->peer, "DeleteAcls"), 0);
    assert_int_equal(test_kafka_peer_stat(c->peer, "acls"), 6);
    chan_kafka_report_free(r);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_acl_set_free(foreign);
}

static void test_dry_run_sends_nothing(void **state)
{
    ctx *c = *state;
    chan_acl_set *desired = NULL;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;

    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, c->kafka, desired, scope, true, &err), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_create(chan_kafka_report_plan(r))),
                     chan_acl_set_count(desired));
    assert_int_equal(chan_kafka_report_count(r), 0);
    assert_int_equal(test_kafka_peer_stat(c->peer, "CreateAcls"), 0);
    chan_kafka_report_free(r);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

/* ------------------------------------------------------------------ */
/* unavailable: no broker, a broker that dies, a slow broker           */
/* ------------------------------------------------------------------ */

/* A loopback port with nothing listening. */
static int closed_port(void)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &len), 0);
    port = ntohs(addr.sin_port);
    close(fd);
    return port;
}

static void test_broker_down(void **state)
{
    ctx c;
    char bootstrap[64];
    chan_acl_set *desired = NULL, *actual = (chan_acl_set *)1;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;

    fill_channels(&c);
    snprintf(bootstrap, sizeof(bootstrap), "127.0.0.1:%d", closed_port());
    c.kafka = open_client(bootstrap, 1000, CHAN_KAFKA_DESCRIBE_AUTO);
    assert_int_equal(chan_kafka_ping(c.kafka, &err), CHAN_EUNAVAILABLE);
    assert_int_equal(chan_kafka_describe_acls(&actual, c.kafka, NULL, &err), CHAN_EUNAVAILABLE);
    assert_null(actual);

    desired_as_of(&c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, c.kafka, desired, scope, false, &err),
                     CHAN_EUNAVAILABLE);
    assert_non_null(r);
    assert_true(chan_acl_plan_deletes_refused(chan_kafka_report_plan(r)));
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(chan_kafka_report_plan(r))), 0);
    /* Nothing is attempted against an unreachable cluster. */
    assert_int_equal(chan_kafka_report_skipped(r), chan_acl_set_count(desired));
    assert_int_equal(chan_kafka_report_created(r), 0);
    chan_kafka_report_free(r);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
    chan_kafka_free(c.kafka);
}

static void test_broker_dies(void **state)
{
    ctx *c = *state;
    chan_acl_set *desired = NULL, *actual = (chan_acl_set *)1;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_kafka *k = open_client(test_kafka_peer_bootstrap(c->peer), 1000, CHAN_KAFKA_DESCRIBE_AUTO);

    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_reconcile(&r, k, desired, scope, false, &err), 0);
    chan_kafka_report_free(r);
    test_kafka_peer_stop(c->peer);
    c->peer = NULL;

    assert_int_equal(chan_kafka_describe_acls(&actual, k, scope, &err), CHAN_EUNAVAILABLE);
    assert_null(actual);
    assert_int_equal(chan_kafka_reconcile(&r, k, desired, scope, false, &err), CHAN_EUNAVAILABLE);
    assert_int_equal(chan_kafka_report_deleted(r), 0);
    assert_int_equal(chan_acl_set_count(chan_acl_plan_to_delete(chan_kafka_report_plan(r))), 0);
    chan_kafka_report_free(r);
    chan_kafka_free(k);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

static void test_slow_broker_times_out(void **state)
{
    ctx *c = *state;
    chan_kafka *fast;
    chan_acl_set *desired = NULL, *actual = (chan_acl_set *)1, *one;
    chan_acl_scope *scope = NULL;
    chan_kafka_report *r = NULL;
    chan_error err = CHAN_ERROR_INIT;
    long answered;

    fast = open_client(test_kafka_peer_bootstrap(c->peer), 800, CHAN_KAFKA_DESCRIBE_BROAD);
    desired_as_of(c, "2026-01-01", &desired, &scope);
    assert_int_equal(chan_kafka_ping(fast, &err), 0);

    /* The broker holds its answer until released: the read gives up on its
     * own (the client's timeout) and fails, so nothing is deleted. */
    peer_do(c, "hold describe");
    answered = peer_count(c, "answered", "DescribeAcls");
    assert_int_equal(chan_kafka_describe_acls(&actual, fast, scope, &err), CHAN_EUNAVAILABLE);
    assert_null(actual);
    assert_true(peer_count(c, "held", "DescribeAcls") >= 1);               /* sent... */
    assert_int_equal(peer_count(c, "answered", "DescribeAcls"), answered); /* ...unanswered */
    peer_do(c, "clear");

    /* A CreateAcls left unanswered is reported per binding as unavailable. */
    peer_do(c, "hold create");
    answered = peer_count(c, "answered", "CreateAcls");
    one = chan_acl_set_new();
    add(one,
        binding(CHAN_ACL_RESOURCE_TOPIC, "orders.order-created", "User:billing", CHAN_ACL_OP_READ));
    assert_int_equal(chan_kafka_create_acls(&r, fast, one, &err), CHAN_EUNAVAILABLE);
    assert_true(peer_count(c, "held", "CreateAcls") >= 1);
    assert_int_equal(peer_count(c, "answered", "CreateAcls"), answered);
    assert_int_equal(chan_kafka_report_failed(r), 1);
    assert_int_equal(chan_kafka_report_get(r, 0)->status, CHAN_EUNAVAILABLE);
    chan_kafka_report_free(r);
    chan_acl_set_free(one);
    peer_do(c, "clear");
    chan_kafka_free(fast);
    chan_acl_set_free(desired);
    chan_acl_scope_free(scope);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest admin[] = {
        cmocka_unit_test_setup_teardown(test_bindings_round_trip, setup_peer, teardown_peer),
        cmocka_unit_test_setup_teardown(test_broker_rejects_invalid_binding, setup_peer,
                                        teardown_peer),
        cmocka_unit_test_setup_teardown(test_broker_errors_are_mapped, setup_peer, teardown_peer),
        cmocka_unit_test(test_open_rejects_bad_config),
    };
    const struct CMUnitTest reconcile[] = {
        cmocka_unit_test_setup_teardown(test_reconcile_converges_without_churn, setup_peer,
                                        teardown_peer),
        cmocka_unit_test_setup_teardown(test_apply_same_plan_twice_changes_nothing, setup_peer,
                                        teardown_peer),
        cmocka_unit_test_setup_teardown(test_retirement_revokes_on_cluster, setup_peer,
                                        teardown_peer),
        cmocka_unit_test_setup_teardown(test_failed_read_never_deletes, setup_peer, teardown_peer),
        cmocka_unit_test_setup_teardown(test_failed_create_skips_deletes, setup_peer,
                                        teardown_peer),
        cmocka_unit_test_setup_teardown(test_dry_run_sends_nothing, setup_peer, teardown_peer),
    };
    const struct CMUnitTest unavailable[] = {
        cmocka_unit_test(test_broker_down),
        cmocka_unit_test_setup_teardown(test_broker_dies, setup_peer, teardown_peer),
        cmocka_unit_test_setup_teardown(test_slow_broker_times_out, setup_peer, teardown_peer),
    };

    if (argc != 4) {
        fprintf(stderr, "usage: %s admin|reconcile|unavailable PYTHON PEER_SCRIPT\n", argv[0]);
        return 2;
    }
    python_path = argv[2];
    peer_script = argv[3];
    chan_log_set_level(CHAN_LOG_ERROR);
    if (strcmp(argv[1], "admin") == 0)
        return cmocka_run_group_tests_name("kafka.admin", admin, NULL, NULL);
    if (strcmp(argv[1], "reconcile") == 0)
        return cmocka_run_group_tests_name("kafka.reconcile", reconcile, NULL, NULL);
    if (strcmp(argv[1], "unavailable") == 0)
        return cmocka_run_group_tests_name("kafka.unavailable", unavailable, NULL, NULL);
    fprintf(stderr, "unknown group %s\n", argv[1]);
    return 2;
}
