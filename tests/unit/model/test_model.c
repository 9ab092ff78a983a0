/*
 * test_model.c - the domain model: contract -> record (owning copies),
 * record -> JSON -> record round trips, and JSON that is not a channel
 * record (missing members, wrong types, bad times) reported through
 * chan_error with the member's path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "chan/model.h"

static const char contract_text[] = "apiVersion: chanreg/v1\n"
                                    "channel: orders.order-created\n"
                                    "description: An order was placed.\n"
                                    "owner:\n"
                                    "  team: orders\n"
                                    "  maintainer: orders@example.com\n"
                                    "peak_qps: 100\n"
                                    "retention_hours: 168\n"
                                    "deprecation_date: 2099-03-31\n"
                                    "retirement_date: 2099-06-30\n"
                                    "schema:\n"
                                    "  subject: orders.order-created-value\n"
                                    "  compatibility: BACKWARD\n"
                                    "  versions: [2, 1]\n"
                                    "consumers:\n"
                                    "  - name: billing\n"
                                    "    principal: User:billing-svc\n"
                                    "    group: billing.orders\n"
                                    "    scenario: Invoices each order.\n"
                                    "    sla_p99_ms: 500\n"
                                    "    peak_rate_msgs: 200\n"
                                    "    degradation: lag\n"
                                    "  - name: analytics\n"
                                    "    principal: User:analytics\n"
                                    "    group: analytics.orders\n"
                                    "    scenario: Dashboards.\n"
                                    "    sla_p99_ms: 60000\n"
                                    "    peak_rate_msgs: 100\n"
                                    "    degradation: drop\n"
                                    "producers:\n"
                                    "  - principal: User:orders-svc\n";

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static chan_contract *parse_contract(void)
{
    chan_diag_list *diags = chan_diag_list_new();
    chan_error err = CHAN_ERROR_INIT;
    chan_contract *contract = NULL;

    assert_int_equal(chan_contract_parse(&contract, contract_text, strlen(contract_text),
                                         "test.yaml", NULL, diags, &err),
                     0);
    assert_non_null(contract);
    chan_diag_list_free(diags);
    return contract;
}

static void assert_same_string(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_same_consumer(const chan_consumer_record *a, const chan_consumer_record *b)
{
    assert_same_string(a->channel, b->channel);
    assert_same_string(a->name, b->name);
    assert_same_string(a->principal, b->principal);
    assert_same_string(a->group, b->group);
    assert_same_string(a->scenario, b->scenario);
    assert_int_equal(a->sla_p99_ms, b->sla_p99_ms);
    assert_true(a->peak_rate_msgs == b->peak_rate_msgs);
    assert_same_string(a->degradation, b->degradation);
    assert_int_equal(a->registered_at, b->registered_at);
    assert_int_equal(a->renewed_at, b->renewed_at);
}

/* Every field equal; the documents compared as JSON. */
static void assert_same_channel(const chan_channel_record *a, const chan_channel_record *b)
{
    size_t i;

    assert_same_string(a->name, b->name);
    assert_same_string(a->owner_team, b->owner_team);
    assert_same_string(a->maintainer, b->maintainer);
    assert_int_equal(a->peak_qps, b->peak_qps);
    assert_int_equal(a->retention_hours, b->retention_hours);
    assert_same_string(a->deprecation_date, b->deprecation_date);
    assert_same_string(a->retirement_date, b->retirement_date);
    assert_same_string(a->subject, b->subject);
    assert_same_string(a->compatibility, b->compatibility);
    assert_same_string(a->document, b->document);
    assert_int_equal(a->revision, b->revision);
    assert_int_equal(a->created_at, b->created_at);
    assert_int_equal(a->updated_at, b->updated_at);
    assert_int_equal(a->n_consumers, b->n_consumers);
    for (i = 0; i < a->n_consumers; i++)
        assert_same_consumer(&a->consumers[i], &b->consumers[i]);
    assert_int_equal(a->n_producers, b->n_producers);
    for (i = 0; i < a->n_producers; i++) {
        assert_same_string(a->producers[i].channel, b->producers[i].channel);
        assert_same_string(a->producers[i].principal, b->producers[i].principal);
    }
}

/* rec -> JSON (with the document) -> record, checked equal to rec. */
static void assert_round_trip(const chan_channel_record *rec)
{
    chan_record_json_options opts = CHAN_RECORD_JSON_OPTIONS_INIT;
    chan_channel_record *back = NULL;
    chan_error err = CHAN_ERROR_INIT;
    json_t *json, *again;

    opts.with_document = true;
    opts.now = 1800000000;
    opts.max_age = 90 * 86400;
    json = chan_channel_record_to_json(rec, &opts);
    assert_non_null(json);
    assert_int_equal(chan_channel_record_from_json(&back, json, &err), 0);
    assert_non_null(back);
    assert_int_equal(err.code, 0);
    assert_same_channel(rec, back);

    /* and the JSON of the copy is the same JSON */
    again = chan_channel_record_to_json(back, &opts);
    assert_true(json_equal(json, again));
    json_decref(again);
    json_decref(json);
    chan_channel_record_free(back);
}

/* chan_channel_record_from_json on text must fail with path and a message containing what. */
static void assert_rejected(const char *text, const char *path, const char *what)
{
    static chan_channel_record dummy;
    chan_channel_record *rec = &dummy; /* must be reset to NULL */
    chan_error err = CHAN_ERROR_INIT;
    json_t *json = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);

    assert_non_null(json);
    assert_int_equal(chan_channel_record_from_json(&rec, json, &err), CHAN_EINVALID);
    assert_null(rec);
    assert_int_equal(err.code, CHAN_EINVALID);
    assert_string_equal(err.path, path);
    if (strstr(err.message, what) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", err.message, what);
    json_decref(json);
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */
/* ------------------------------------------------------------------ */

static void test_record_lifecycle(void **state)
{
    chan_channel_record ch;
    chan_consumer_record c;

    (void)state;
    chan_channel_record_free(NULL);
    chan_channel_record_list_free(NULL, 3);
    chan_consumer_record_free(NULL);
    chan_consumer_record_list_free(NULL, 3);
    chan_channel_record_dispose(NULL);
    chan_consumer_record_dispose(NULL);
    chan_producer_record_dispose(NULL);

    chan_consumer_record_init(&c);
    c.name = chan_xstrdup("billing");
    chan_consumer_record_dispose(&c);
    assert_null(c.name);
    chan_consumer_record_dispose(&c); /* twice is harmless */

    chan_channel_record_init(&ch);
    ch.name = chan_xstrdup("orders");
    ch.consumers = chan_xcalloc(2, sizeof(*ch.consumers));
    ch.n_consumers = 1;
    ch.consumers[0].name = chan_xstrdup("billing");
    chan_channel_record_dispose(&ch);
    assert_null(ch.name);
    assert_null(ch.consumers);
    assert_int_equal(ch.n_consumers, 0);
}

static void test_contract_to_record(void **state)
{
    chan_contract *contract = parse_contract();
    char *document = chan_contract_render_json(contract);
    chan_channel_record *rec = chan_contract_to_record(contract);

    (void)state;
    /* Owning copies: the record outlives its contract. */
    chan_contract_free(contract);
    assert_string_equal(rec->name, "orders.order-created");
    assert_string_equal(rec->owner_team, "orders");
    assert_string_equal(rec->maintainer, "orders@example.com");
    assert_int_equal(rec->peak_qps, 100);
    assert_int_equal(rec->retention_hours, 168);
    assert_string_equal(rec->deprecation_date, "2099-03-31");
    assert_string_equal(rec->retirement_date, "2099-06-30");
    assert_string_equal(rec->subject, "orders.order-created-value");
    assert_string_equal(rec->compatibility, "BACKWARD");
    assert_string_equal(rec->document, document);
    assert_int_equal(rec->revision, 0);
    assert_int_equal(rec->n_consumers, 2);
    assert_string_equal(rec->consumers[0].channel, "orders.order-created");
    assert_string_equal(rec->consumers[0].name, "billing");
    assert_string_equal(rec->consumers[0].principal, "User:billing-svc");
    assert_string_equal(rec->consumers[0].group, "billing.orders");
    assert_string_equal(rec->consumers[0].scenario, "Invoices each order.");
    assert_int_equal(rec->consumers[0].sla_p99_ms, 500);
    assert_true(rec->consumers[0].peak_rate_msgs == 200.0);
    assert_string_equal(rec->consumers[0].degradation, "lag");
    assert_string_equal(rec->consumers[1].degradation, "drop");
    assert_int_equal(rec->n_producers, 1);
    assert_string_equal(rec->producers[0].channel, "orders.order-created");
    assert_string_equal(rec->producers[0].principal, "User:orders-svc");
    chan_channel_record_free(rec);
    free(document);
}

static void test_round_trip_from_contract(void **state)
{
    chan_contract *contract = parse_contract();
    chan_channel_record *rec = chan_contract_to_record(contract);

    (void)state;
    assert_round_trip(rec);

    /* with the fields the store sets */
    rec->revision = 7;
    rec->created_at = 1764000000;
    rec->updated_at = 1764086461;
    rec->consumers[0].registered_at = 1764000000;
    rec->consumers[0].renewed_at = 1764086399;
    rec->consumers[1].registered_at = 1764000001;
    assert_round_trip(rec);
    chan_channel_record_free(rec);
    chan_contract_free(contract);
}

static void test_round_trip_sparse(void **state)
{
    chan_channel_record *rec = chan_xcalloc(1, sizeof(*rec));

    (void)state;
    /* only a name: every optional member is null, no document, no children */
    rec->name = chan_xstrdup("bare");
    assert_round_trip(rec);

    /* a fractional rate stays a number; a document that is not JSON stays text */
    rec->document = chan_xstrdup("not json");
    rec->consumers = chan_xcalloc(2, sizeof(*rec->consumers));
    rec->n_consumers = 1;
    rec->consumers[0].channel = chan_xstrdup("bare");
    rec->consumers[0].name = chan_xstrdup("c");
    rec->consumers[0].principal = chan_xstrdup("User:c");
    rec->consumers[0].peak_rate_msgs = 2.5;
    assert_round_trip(rec);
    chan_channel_record_free(rec);
}

static void test_to_json_api_form(void **state)
{
    chan_record_json_options opts = CHAN_RECORD_JSON_OPTIONS_INIT;
    chan_contract *contract = parse_contract();
    chan_channel_record *rec = chan_contract_to_record(contract);
    json_t *json, *c;
    char *text;

    (void)state;
    rec->created_at = 1764000000;
    rec->consumers[0].registered_at = 1764000000;
    rec->consumers[0].renewed_at = 1764000000;
    opts.now = 1764000000 + 3 * 86400 + 5;
    opts.max_age = 2 * 86400;

    /* without the document, keys in the API's order */
    json = chan_channel_record_to_json(rec, NULL);
    assert_null(json_object_get(json, "contract"));
    text = json_dumps(json, JSON_COMPACT);
    assert_non_null(strstr(
        text, "{\"name\":\"orders.order-created\",\"revision\":0,"
              "\"created_at\":\"2025-11-24T16:00:00Z\",\"updated_at\":\"1970-01-01T00:00:00Z\","));
    free(text);
    json_decref(json);

    json = chan_channel_record_to_json(rec, &opts);
    assert_string_equal(json_string_value(json_object_get(json, "created_at")),
                        "2025-11-24T16:00:00Z");
    c = json_array_get(json_object_get(json, "consumers"), 0);
    assert_int_equal(json_integer_value(json_object_get(c, "age_days")), 3);
    assert_true(json_is_true(json_object_get(c, "stale")));
    assert_int_equal(json_integer_value(json_object_get(c, "peak_rate_msgs")), 200);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(json, "producers"), 0), "principal")),
                        "User:orders-svc");
    json_decref(json);
    chan_channel_record_free(rec);
    chan_contract_free(contract);
}

/* The text writer gives exactly the bytes of the jansson form, escapes included. */
static void test_write_json_matches_to_json(void **state)
{
    chan_record_json_options opts = CHAN_RECORD_JSON_OPTIONS_INIT;
    chan_contract *contract = parse_contract();
    chan_channel_record *rec = chan_contract_to_record(contract);
    chan_buf buf = CHAN_BUF_INIT;
    json_t *json, *extra;
    char *text;

    (void)state;
    free(rec->maintainer);
    rec->maintainer =
        chan_xstrdup("quote\" back\\slash \n\t\x01 caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 /");
    free(rec->owner_team);
    rec->owner_team = chan_xstrdup("not \xc3 utf-8"); /* null in both forms */
    rec->consumers[0].peak_rate_msgs = 1.0 / 3.0;
    rec->consumers[0].registered_at = 1764000000;
    rec->consumers[0].renewed_at = 1764000000;
    rec->consumers[0].decided_at = 1764000100;
    rec->waiver_reason = chan_xstrdup("legacy \"reason\"");
    rec->waiver_approved_by = chan_xstrdup("admin");
    opts.now = 1764000000 + 3 * 86400 + 5;
    opts.max_age = 2 * 86400;

    for (int with_document = 0; with_document <= 1; with_document++) {
        opts.with_document = with_document;
        json = chan_channel_record_to_json(rec, &opts);
        text = json_dumps(json, JSON_COMPACT);
        chan_buf_clear(&buf);
        chan_channel_record_write_json(&buf, rec, &opts, NULL);
        assert_string_equal(chan_buf_cstr(&buf), text);
        free(text);

        /* Extra members go in after "compatibility". */
        chan_buf_clear(&buf);
        chan_channel_record_write_json(&buf, rec, &opts, "\"consumer_count\":2");
        extra = json_loads(chan_buf_cstr(&buf), 0, NULL);
        assert_non_null(extra);
        assert_int_equal(json_integer_value(json_object_get(extra, "consumer_count")), 2);
        json_object_del(extra, "consumer_count");
        assert_true(json_equal(extra, json));
        json_decref(extra);
        json_decref(json);
    }

    /* Times (written by arithmetic for 1970-9999, else by gmtime_r), integers and rates. */
    {
        static const int64_t times[] = {
            0,
            1,
            59,
            86399,
            86400,
            951782399,
            951782400,
            951868800,
            1709164800,
            4107542399,
            4107542400,
            253402300799,
            -1,
            -86401,
            253402300800,
            1764000000,
            INT64_C(4102444800),
        };
        static const double rates[] = {0, 7, -3, 1e15, 9007199254740993.0, 2.5};

        opts.with_document = 0;
        for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
            rec->created_at = times[i];
            rec->updated_at = times[i] + 3600 * 25 + 61;
            rec->consumers[0].registered_at = times[i];
            rec->consumers[0].renewed_at = times[i];
            rec->consumers[0].decided_at = times[i];
            rec->consumers[0].peak_rate_msgs = rates[i % (sizeof(rates) / sizeof(rates[0]))];
            rec->revision = -times[i];
            if (times[i] >= 0) { /* the calendar form of the C library */
                time_t tt = (time_t)times[i];
                struct tm tm;
                char want[64];
                json_t *got = chan_json_time(times[i]);

                assert_non_null(gmtime_r(&tt, &tm));
                assert_true(strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
                assert_string_equal(json_string_value(got), want);
                json_decref(got);
            }
            json = chan_channel_record_to_json(rec, &opts);
            text = json_dumps(json, JSON_COMPACT);
            chan_buf_clear(&buf);
            chan_channel_record_write_json(&buf, rec, &opts, NULL);
            assert_string_equal(chan_buf_cstr(&buf), text);
            free(text);
            json_decref(json);
        }
    }
    chan_buf_dispose(&buf);
    chan_channel_record_free(rec);
    chan_contract_free(contract);
}

static void test_from_json_errors(void **state)
{
    chan_channel_record *rec = NULL;
    chan_error err = CHAN_ERROR_INIT;

    (void)state;
    assert_int_equal(chan_channel_record_from_json(&rec, NULL, &err), CHAN_EINVALID);
    assert_null(rec);
    assert_non_null(strstr(err.message, "must be a JSON object"));
    assert_int_equal(chan_channel_record_from_json(&rec, NULL, NULL), CHAN_EINVALID);

    assert_rejected("[]", "", "must be a JSON object, not an array");
    assert_rejected("{}", "name", "\"name\" is missing");
    assert_rejected("{\"name\": null}", "name", "\"name\" is missing");
    assert_rejected("{\"name\": 5}", "name", "\"name\" must be a string, not an integer");
    assert_rejected("{\"name\": \"a\\u0000b\"}", "name", "contains a NUL character");
    assert_rejected("{\"name\": \"x\", \"owner_team\": []}", "owner_team",
                    "must be a string, not an array");
    assert_rejected("{\"name\": \"x\", \"revision\": \"3\"}", "revision",
                    "must be an integer, not a string");
    assert_rejected("{\"name\": \"x\", \"peak_qps\": 1.5}", "peak_qps",
                    "must be an integer, not a number");
    assert_rejected("{\"name\": \"x\", \"created_at\": 17}", "created_at",
                    "must be a string, not an integer");
    assert_rejected("{\"name\": \"x\", \"created_at\": \"yesterday\"}", "created_at",
                    "RFC 3339 UTC time");
    assert_rejected("{\"name\": \"x\", \"updated_at\": \"2026-02-30T00:00:00Z\"}", "updated_at",
                    "got \"2026-02-30T00:00:00Z\"");
    assert_rejected("{\"name\": \"x\", \"updated_at\": \"2026-01-01T24:00:00Z\"}", "updated_at",
                    "RFC 3339");
    assert_rejected("{\"name\": \"x\", \"consumers\": {}}", "consumers",
                    "must be an array, not an object");
    assert_rejected("{\"name\": \"x\", \"producers\": \"User:a\"}", "producers",
                    "must be an array, not a string");
    assert_rejected("{\"name\": \"x\", \"consumers\": [7]}", "consumers[0]",
                    "must be an object, not an integer");
    assert_rejected(
        "{\"name\": \"x\", \"consumers\": [{\"name\": \"a\", \"principal\": \"User:a\"},"
        " {\"name\": \"b\"}]}",
        "consumers[1].principal", "\"consumers[1].principal\" is missing");
    assert_rejected("{\"name\": \"x\", \"consumers\": [{\"name\": \"a\", \"principal\": \"User:a\","
                    " \"peak_rate_msgs\": \"fast\"}]}",
                    "consumers[0].peak_rate_msgs", "must be a number, not a string");
    assert_rejected("{\"name\": \"x\", \"consumers\": [{\"name\": \"a\", \"principal\": \"User:a\","
                    " \"renewed_at\": true}]}",
                    "consumers[0].renewed_at", "must be a string, not a boolean");
    assert_rejected("{\"name\": \"x\", \"producers\": [{}]}", "producers[0].principal",
                    "is missing");
    assert_rejected("{\"name\": \"x\", \"producers\": [null]}", "producers[0]",
                    "must be an object, not null");
}

static void test_from_json_ignores_computed(void **state)
{
    chan_channel_record *rec = NULL;
    chan_error err = CHAN_ERROR_INIT;
    json_t *json = json_loads("{\"name\": \"x\", \"unknown\": 1, \"consumers\": [{\"name\": \"a\","
                              " \"principal\": \"User:a\", \"age_days\": 4, \"stale\": true,"
                              " \"registered_at\": \"1970-01-02T00:00:01Z\"}],"
                              " \"contract\": {\"b\": 1, \"a\": [true]}}",
                              0, NULL);

    (void)state;
    assert_non_null(json);
    assert_int_equal(chan_channel_record_from_json(&rec, json, &err), 0);
    assert_string_equal(rec->document, "{\"a\":[true],\"b\":1}");
    assert_int_equal(rec->n_consumers, 1);
    assert_string_equal(rec->consumers[0].channel, "x");
    assert_int_equal(rec->consumers[0].registered_at, 86401);
    assert_int_equal(rec->n_producers, 0);
    chan_channel_record_free(rec);
    json_decref(json);
}

static void test_model__governance_fields(void **state)
{
    chan_record_json_options opts = CHAN_RECORD_JSON_OPTIONS_INIT;
    chan_channel_record *rec = chan_xcalloc(1, sizeof(*rec)), *back = NULL;
    chan_consumer_record *c;
    chan_error err = CHAN_ERROR_INIT;
    json_t *json, *item;
    chan_consumer_origin origin;
    chan_consumer_state st;

    (void)state;
    assert_string_equal(chan_consumer_origin_name(CHAN_CONSUMER_ORIGIN_API), "api");
    assert_string_equal(chan_consumer_state_name(CHAN_CONSUMER_PENDING), "pending");
    assert_int_equal(chan_consumer_origin_parse(&origin, "contract"), 0);
    assert_int_equal(origin, CHAN_CONSUMER_ORIGIN_CONTRACT);
    assert_int_equal(chan_consumer_state_parse(&st, "rejected"), 0);
    assert_int_equal(st, CHAN_CONSUMER_REJECTED);
    assert_int_equal(chan_consumer_state_parse(&st, "Approved"), CHAN_EINVALID);
    assert_int_equal(chan_consumer_origin_parse(&origin, NULL), CHAN_EINVALID);

    /* Defaults render as contract/approved; no waiver, no member. */
    rec->name = chan_xstrdup("x");
    rec->n_consumers = 1;
    rec->consumers = chan_xcalloc(1, sizeof(*rec->consumers));
    c = &rec->consumers[0];
    c->channel = chan_xstrdup("x");
    c->name = chan_xstrdup("fraud");
    c->principal = chan_xstrdup("User:fraud");
    json = chan_channel_record_to_json(rec, &opts);
    item = json_array_get(json_object_get(json, "consumers"), 0);
    assert_string_equal(json_string_value(json_object_get(item, "origin")), "contract");
    assert_string_equal(json_string_value(json_object_get(item, "state")), "approved");
    assert_true(json_is_null(json_object_get(item, "decided_at")));
    assert_null(json_object_get(json, "waiver"));
    json_decref(json);

    /* Every field survives the round trip. */
    c->origin = CHAN_CONSUMER_ORIGIN_API;
    c->state = CHAN_CONSUMER_REJECTED;
    c->requester_team = chan_xstrdup("fraud");
    c->requested_by = chan_xstrdup("ci-fraud");
    c->decided_by = chan_xstrdup("orders-owner");
    c->decided_at = 1800000000;
    c->decision_reason = chan_xstrdup("use the anonymised channel instead");
    rec->waiver_reason = chan_xstrdup("legacy producer, replaced in Q1");
    rec->waiver_approved_by = chan_xstrdup("admin");
    rec->waiver_approved_at = 1800000100;
    json = chan_channel_record_to_json(rec, &opts);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(json, "waiver"), "approved_at")),
        "2027-01-15T08:01:40Z");
    assert_int_equal(chan_channel_record_from_json(&back, json, &err), 0);
    assert_int_equal(back->consumers[0].origin, CHAN_CONSUMER_ORIGIN_API);
    assert_int_equal(back->consumers[0].state, CHAN_CONSUMER_REJECTED);
    assert_string_equal(back->consumers[0].requester_team, "fraud");
    assert_string_equal(back->consumers[0].requested_by, "ci-fraud");
    assert_string_equal(back->consumers[0].decided_by, "orders-owner");
    assert_int_equal(back->consumers[0].decided_at, 1800000000);
    assert_string_equal(back->consumers[0].decision_reason, "use the anonymised channel instead");
    assert_string_equal(back->waiver_reason, "legacy producer, replaced in Q1");
    assert_string_equal(back->waiver_approved_by, "admin");
    assert_int_equal(back->waiver_approved_at, 1800000100);
    chan_channel_record_free(back);
    json_decref(json);
    chan_channel_record_free(rec);

    /* Missing members parse as contract/approved; unknown values are errors. */
    assert_rejected("{\"name\":\"x\",\"consumers\":[{\"name\":\"a\",\"principal\":\"User:a\","
                    "\"state\":\"maybe\"}]}",
                    "consumers[0].state", "\"approved\", \"pending\" or \"rejected\"");
    assert_rejected("{\"name\":\"x\",\"consumers\":[{\"name\":\"a\",\"principal\":\"User:a\","
                    "\"origin\":1}]}",
                    "consumers[0].origin", "must be a string");
    assert_rejected("{\"name\":\"x\",\"waiver\":\"yes\"}", "waiver", "must be an object");
    assert_rejected("{\"name\":\"x\",\"waiver\":{}}", "waiver.reason", "is missing");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_lifecycle),
        cmocka_unit_test(test_contract_to_record),
        cmocka_unit_test(test_round_trip_from_contract),
        cmocka_unit_test(test_round_trip_sparse),
        cmocka_unit_test(test_to_json_api_form),
        cmocka_unit_test(test_write_json_matches_to_json),
        cmocka_unit_test(test_from_json_errors),
        cmocka_unit_test(test_from_json_ignores_computed),
        cmocka_unit_test(test_model__governance_fields),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
