/*
 * test_parse.c - unit tests of chan_contract_parse: the model of a valid
 * contract, one test per class of error (asserting file:line:col and rule),
 * hostile input (binary, oversized, deeply nested, alias bombs) and the JSON
 * rendering round trip.  No file system access: everything is in memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/common.h"
#include "chan/contract.h"

#define FILE_NAME "t.yaml"

/* Lines are numbered in the comments: the tests below refer to them. */
static const char base_contract[] = "apiVersion: chanreg/v1\n"                /* 1 */
                                    "channel: orders.order-created\n"         /* 2 */
                                    "owner:\n"                                /* 3 */
                                    "  team: orders\n"                        /* 4 */
                                    "  maintainer: orders@example.com\n"      /* 5 */
                                    "peak_qps: 100\n"                         /* 6 */
                                    "retention_hours: 168\n"                  /* 7 */
                                    "schema:\n"                               /* 8 */
                                    "  subject: orders.order-created-value\n" /* 9 */
                                    "  compatibility: BACKWARD\n"             /* 10 */
                                    "  versions: [2, 1]\n"                    /* 11 */
                                    "consumers:\n"                            /* 12 */
                                    "  - name: billing\n"                     /* 13 */
                                    "    principal: User:billing-svc\n"       /* 14 */
                                    "    group: billing.orders\n"             /* 15 */
                                    "    scenario: Invoices each order.\n"    /* 16 */
                                    "    sla_p99_ms: 500\n"                   /* 17 */
                                    "    peak_rate_msgs: 200\n"               /* 18 */
                                    "    degradation: lag\n"                  /* 19 */
                                    "  - name: analytics\n"                   /* 20 */
                                    "    principal: User:analytics\n"         /* 21 */
                                    "    group: analytics.orders\n"           /* 22 */
                                    "    scenario: Dashboards.\n"             /* 23 */
                                    "    sla_p99_ms: 60000\n"                 /* 24 */
                                    "    peak_rate_msgs: 100\n"               /* 25 */
                                    "    degradation: drop\n"                 /* 26 */
                                    "producers:\n"                            /* 27 */
                                    "  - principal: User:orders-svc\n";       /* 28 */

/* text with the first occurrence of `from` replaced by `to`.  Caller frees. */
static char *replace(const char *text, const char *from, const char *to)
{
    const char *at = strstr(text, from);
    chan_buf b = CHAN_BUF_INIT;

    assert_non_null(at);
    chan_buf_put(&b, text, (size_t)(at - text));
    chan_buf_puts(&b, to);
    chan_buf_puts(&b, at + strlen(from));
    return chan_buf_take(&b);
}

/* base_contract with the first occurrence of `from` replaced by `to`.  Caller frees. */
static char *mutate(const char *from, const char *to)
{
    return replace(base_contract, from, to);
}

typedef struct result {
    int rc;
    chan_contract *contract;
    chan_diag_list *diags;
} result;

static result parse_len(const char *text, size_t len, const chan_contract_parse_options *opts)
{
    result r;
    chan_error err = CHAN_ERROR_INIT;

    r.diags = chan_diag_list_new();
    r.contract = NULL;
    r.rc = chan_contract_parse(&r.contract, text, len, FILE_NAME, opts, r.diags, &err);
    if (r.rc < 0) {
        assert_null(r.contract);
        assert_int_equal(err.code, r.rc);
    } else {
        assert_non_null(r.contract);
    }
    return r;
}

static result parse(const char *text)
{
    chan_contract_parse_options opts = CHAN_CONTRACT_PARSE_OPTIONS_INIT;

    /* A fixed "today" (2026-01-01) keeps date warnings deterministic. */
    assert_true(chan_date_parse("2026-01-01", &opts.today));
    return parse_len(text, strlen(text), &opts);
}

static void result_dispose(result *r)
{
    chan_contract_free(r->contract);
    chan_diag_list_free(r->diags);
}

/* The diagnostic with `rule` (the first one); fails the test when absent. */
static const chan_diag *find_rule(const result *r, const char *rule)
{
    size_t i;

    for (i = 0; i < chan_diag_list_count(r->diags); i++) {
        const chan_diag *d = chan_diag_list_get(r->diags, i);

        if (d->rule && strcmp(d->rule, rule) == 0)
            return d;
    }
    for (i = 0; i < chan_diag_list_count(r->diags); i++) {
        const chan_diag *d = chan_diag_list_get(r->diags, i);

        print_message("  have %s:%d:%d [%s] %s\n", d->file, d->line, d->column, d->rule,
                      d->message);
    }
    fail_msg("no diagnostic with rule %s", rule);
    return NULL;
}

/* Exactly one error, with this rule and location. */
static void assert_single_error(const char *text, const char *rule, int line, int column)
{
    result r = parse(text);
    const chan_diag *d;

    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, rule);
    assert_string_equal(d->file, FILE_NAME);
    assert_int_equal(d->severity, CHAN_DIAG_ERROR);
    assert_int_equal(d->line, line);
    assert_int_equal(d->column, column);
    assert_int_equal(chan_diag_list_count_severity(r.diags, CHAN_DIAG_ERROR), 1);
    result_dispose(&r);
}

static void assert_mutation_error(const char *from, const char *to, const char *rule, int line,
                                  int column)
{
    char *text = mutate(from, to);

    assert_single_error(text, rule, line, column);
    free(text);
}

/* ------------------------------------------------------------------ */

static void test_valid_model(void **state)
{
    result r = parse(base_contract);
    const chan_contract *c = r.contract;
    const chan_contract_consumer *k;
    const chan_contract_version *v;

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_int_equal(chan_diag_list_count(r.diags), 0);
    assert_string_equal(chan_contract_file(c), FILE_NAME);
    assert_string_equal(chan_contract_name(c), "orders.order-created");
    assert_null(chan_contract_description(c));
    assert_string_equal(chan_contract_owner_team(c), "orders");
    assert_string_equal(chan_contract_maintainer(c), "orders@example.com");
    assert_int_equal(chan_contract_peak_qps(c), 100);
    assert_int_equal(chan_contract_retention_hours(c), 168);
    assert_null(chan_contract_deprecation_date(c));
    assert_string_equal(chan_contract_subject(c), "orders.order-created-value");
    assert_int_equal(chan_contract_compatibility(c), CHAN_COMPAT_BACKWARD);
    assert_int_equal(chan_contract_version_count(c), 2);
    v = chan_contract_version_at(c, 0);
    assert_int_equal(v->number, 2);
    assert_null(v->file);
    assert_null(v->path);
    assert_null(v->schema);
    assert_int_equal(v->line, 11);
    assert_int_equal(v->column, 14);
    assert_int_equal(chan_contract_version_at(c, 1)->number, 1);
    assert_null(chan_contract_version_at(c, 2));
    assert_int_equal(chan_contract_consumer_count(c), 2);
    k = chan_contract_consumer_at(c, 1);
    assert_string_equal(k->name, "analytics");
    assert_string_equal(k->principal, "User:analytics");
    assert_string_equal(k->group, "analytics.orders");
    assert_string_equal(k->scenario, "Dashboards.");
    assert_int_equal(k->sla_p99_ms, 60000);
    assert_int_equal(k->peak_rate_msgs, 100);
    assert_int_equal(k->degradation, CHAN_DEGRADATION_DROP);
    assert_int_equal(k->line, 20);
    assert_int_equal(k->column, 5);
    assert_null(chan_contract_consumer_at(c, 2));
    assert_int_equal(chan_contract_producer_count(c), 1);
    assert_string_equal(chan_contract_producer_at(c, 0)->principal, "User:orders-svc");
    result_dispose(&r);
}

static void test_version_mapping_form(void **state)
{
    char *text = mutate("  versions: [2, 1]\n", "  versions:\n"
                                                "    - version: 2\n"
                                                "      file: ../avro/v2.avsc\n"
                                                "    - {version: 1}\n");
    result r = parse(text);

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_string_equal(chan_contract_version_at(r.contract, 0)->file, "../avro/v2.avsc");
    assert_null(chan_contract_version_at(r.contract, 1)->file);
    assert_int_equal(chan_contract_version_at(r.contract, 1)->line, 14);
    result_dispose(&r);
    free(text);
}

static void test_missing_field(void **state)
{
    (void)state;
    /* Reported at the mapping that lacks the key. */
    assert_mutation_error("  maintainer: orders@example.com\n", "", "missing-field", 4, 3);
    assert_mutation_error("    scenario: Dashboards.\n", "", "missing-field", 20, 5);
    assert_mutation_error("peak_qps: 100\n", "", "missing-field", 1, 1);
}

static void test_unknown_field(void **state)
{
    char *text = mutate("    group: billing.orders\n", "    group: billing.orders\n    grup: x\n");
    result r = parse(text);
    const chan_diag *d;

    (void)state;
    d = find_rule(&r, "unknown-field");
    assert_int_equal(d->line, 16);
    assert_int_equal(d->column, 5);
    assert_string_equal(d->path, "consumers[0].grup");
    assert_non_null(d->hint);
    assert_non_null(strstr(d->hint, "\"group\""));
    result_dispose(&r);
    free(text);
}

static void test_wrong_type(void **state)
{
    (void)state;
    assert_mutation_error("peak_qps: 100", "peak_qps: \"100\"", "wrong-type", 6, 11);
    assert_mutation_error("owner:\n  team: orders\n  maintainer: orders@example.com\n",
                          "owner: orders\n", "wrong-type", 3, 8);
    assert_mutation_error("    sla_p99_ms: 500", "    sla_p99_ms: 1.5", "wrong-type", 17, 17);
    assert_mutation_error("  - principal: User:orders-svc", "  - User:orders-svc", "wrong-type", 28,
                          5);
    assert_mutation_error("channel: orders.order-created", "channel: [a]", "wrong-type", 2, 10);
}

static void test_non_positive_numbers(void **state)
{
    (void)state;
    assert_mutation_error("peak_qps: 100", "peak_qps: 0", "invalid-value", 6, 11);
    assert_mutation_error("retention_hours: 168", "retention_hours: -1", "invalid-value", 7, 18);
    assert_mutation_error("    peak_rate_msgs: 200", "    peak_rate_msgs: -200", "invalid-value",
                          18, 21);
    assert_mutation_error("peak_qps: 100", "peak_qps: 99999999999999999999999", "invalid-value", 6,
                          11);
}

static void test_bad_dates(void **state)
{
    (void)state;
    assert_mutation_error("peak_qps: 100\n", "peak_qps: 100\ndeprecation_date: 2027-02-30\n",
                          "invalid-date", 7, 19);
    assert_mutation_error("peak_qps: 100\n", "peak_qps: 100\ndeprecation_date: 31.03.2027\n",
                          "invalid-date", 7, 19);
    assert_mutation_error("peak_qps: 100\n",
                          "peak_qps: 100\ndeprecation_date: 2027-06-30\n"
                          "retirement_date: 2027-03-31\n",
                          "date-order", 8, 18);
    assert_mutation_error("peak_qps: 100\n", "peak_qps: 100\nretirement_date: 2027-03-31\n",
                          "date-order", 7, 18);
}

static void test_deprecation_warning(void **state)
{
    char *text = mutate("peak_qps: 100\n", "peak_qps: 100\ndeprecation_date: 2025-12-31\n");
    result r = parse(text);
    const chan_diag *d;

    (void)state;
    /* A warning only: the contract is still valid. */
    assert_int_equal(r.rc, 0);
    assert_string_equal(chan_contract_deprecation_date(r.contract), "2025-12-31");
    d = find_rule(&r, "deprecated");
    assert_int_equal(d->severity, CHAN_DIAG_WARNING);
    assert_int_equal(d->line, 7);
    assert_int_equal(d->column, 19);
    result_dispose(&r);
    free(text);

    /* Not yet passed: nothing. */
    text = mutate("peak_qps: 100\n", "peak_qps: 100\ndeprecation_date: 2026-01-02\n");
    r = parse(text);
    assert_int_equal(r.rc, 0);
    assert_int_equal(chan_diag_list_count(r.diags), 0);
    result_dispose(&r);
    free(text);
}

static void test_capacity_warning(void **state)
{
    char *text = mutate("    peak_rate_msgs: 100\n", "    peak_rate_msgs: 40\n");
    result r = parse(text);
    const chan_diag *d;

    (void)state;
    assert_int_equal(r.rc, 0);
    d = find_rule(&r, "capacity");
    assert_int_equal(d->severity, CHAN_DIAG_WARNING);
    assert_int_equal(d->line, 25);
    assert_int_equal(d->column, 21);
    result_dispose(&r);
    free(text);
}

static void test_principal_format(void **state)
{
    (void)state;
    assert_mutation_error("User:billing-svc", "billing-svc", "invalid-principal", 14, 16);
    assert_mutation_error("User:billing-svc", "\"User:\"", "invalid-principal", 14, 16);
    assert_mutation_error("User:billing-svc", "\"User:billing svc\"", "invalid-principal", 14, 16);
    assert_mutation_error("User:orders-svc", "Group:orders", "invalid-principal", 28, 16);
}

static void test_names(void **state)
{
    (void)state;
    assert_mutation_error("channel: orders.order-created", "channel: orders/created",
                          "invalid-name", 2, 10);
    assert_mutation_error("  team: orders", "  team: Orders Team", "invalid-name", 4, 9);
    assert_mutation_error("    group: billing.orders", "    group: \"billing orders\"",
                          "invalid-name", 15, 12);
    assert_mutation_error("  subject: orders.order-created-value", "  subject: ../../etc",
                          "invalid-name", 9, 12);
    assert_mutation_error("orders@example.com", "orders", "invalid-value", 5, 15);
}

static void test_enums(void **state)
{
    (void)state;
    assert_mutation_error("BACKWARD", "backward", "invalid-value", 10, 18);
    assert_mutation_error("degradation: lag", "degradation: retry", "invalid-value", 19, 18);
    assert_mutation_error("apiVersion: chanreg/v1", "apiVersion: chanreg/v2", "api-version", 1, 13);
}

static void test_duplicate_consumers(void **state)
{
    (void)state;
    assert_mutation_error("  - name: analytics", "  - name: billing", "duplicate-consumer", 20, 5);
    assert_mutation_error("    group: analytics.orders", "    group: billing.orders",
                          "duplicate-consumer", 20, 5);
    assert_mutation_error("  - principal: User:orders-svc\n",
                          "  - principal: User:orders-svc\n  - principal: User:orders-svc\n",
                          "duplicate-producer", 29, 5);
}

static void test_versions(void **state)
{
    (void)state;
    assert_mutation_error("[2, 1]", "[3, 1]", "version-sequence", 11, 17);
    assert_mutation_error("[2, 1]", "[1, 2]", "version-sequence", 11, 17);
    assert_mutation_error("[2, 1]", "[2, 2]", "version-sequence", 11, 17);
    assert_mutation_error("[2, 1]", "[2, 0]", "invalid-value", 11, 17);
    assert_mutation_error("[2, 1]", "[]", "invalid-value", 11, 13);
    assert_mutation_error("[2, 1]", "[v2]", "wrong-type", 11, 14);
    assert_mutation_error("[2, 1]", "[{version: 2, path: x}]", "unknown-field", 11, 27);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    assert_mutation_error("peak_qps: 100\n", "peak_qps: 100\npeak_qps: 200\n", "duplicate-key", 7,
                          1);
}

static void test_duplicate_key_with_anchor(void **state)
{
    /* The dropped duplicate's anchor stays usable: no dangling reference. */
    assert_mutation_error("peak_qps: 100\n",
                          "peak_qps: 100\npeak_qps: &q Some text\ndescription: *q\n",
                          "duplicate-key", 7, 1);
}

static void test_yaml_syntax(void **state)
{
    (void)state;
    /* libyaml's position of the problem. */
    assert_mutation_error("  team: orders\n", "  team: [orders\n", "yaml-syntax", 5, 13);
    assert_mutation_error("peak_qps: 100\n", "peak_qps: 100\n\tretention: 1\n", "yaml-syntax", 7,
                          1);
    assert_single_error("a: 'unterminated\n", "yaml-syntax", 2, 1);
}

static void test_document_shape(void **state)
{
    (void)state;
    assert_single_error("", "document", 1, 1);
    assert_single_error("# only a comment\n", "document", 1, 1);
    assert_single_error("- a\n- b\n", "document", 1, 1);
    assert_single_error("just text\n", "document", 1, 1);
    assert_mutation_error("producers:", "---\nproducers:", "document", 27, 1);
}

static void test_binary_input(void **state)
{
    static const char bin[] = "apiVersion: chanreg/v1\n\x01\x02\x00\xff\xfe garbage";
    static const char bad_utf8[] = "apiVersion: \xc3\x28\n";
    unsigned char noise[4096];
    size_t i;
    uint32_t x = 12345;
    result r;
    const chan_diag *d;

    (void)state;
    r = parse_len(bin, sizeof(bin) - 1, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "yaml-syntax");
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 1);
    result_dispose(&r);

    r = parse_len(bad_utf8, sizeof(bad_utf8) - 1, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "yaml-syntax");
    /* Located at the offending trailing octet. */
    assert_int_equal(d->line, 1);
    assert_int_equal(d->column, 14);
    result_dispose(&r);

    /* Pseudo-random bytes: an error, never a crash. */
    for (i = 0; i < sizeof(noise); i++) {
        x = x * 1103515245u + 12345u;
        noise[i] = (unsigned char)(x >> 16);
    }
    r = parse_len((const char *)noise, sizeof(noise), NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    assert_true(chan_diag_list_count_severity(r.diags, CHAN_DIAG_ERROR) >= 1);
    result_dispose(&r);
}

static void test_huge_input(void **state)
{
    size_t len = 10u * 1024 * 1024;
    char *big = chan_xmalloc(len);
    result r;
    const chan_diag *d;

    (void)state;
    memset(big, 'a', len);
    r = parse_len(big, len, NULL);
    assert_int_equal(r.rc, CHAN_ETOOBIG);
    d = find_rule(&r, "too-large");
    assert_int_equal(d->line, 1);
    result_dispose(&r);
    free(big);
}

static void test_deep_nesting(void **state)
{
    size_t depth = 10000, i;
    chan_buf b = CHAN_BUF_INIT;
    result r;
    const chan_diag *d;

    (void)state;
    chan_buf_puts(&b, "apiVersion: ");
    for (i = 0; i < depth; i++)
        chan_buf_putc(&b, '[');
    for (i = 0; i < depth; i++)
        chan_buf_putc(&b, ']');
    chan_buf_putc(&b, '\n');
    r = parse_len(b.ptr, b.len, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "too-deep");
    /* The 64th '[' (column 13 + 63) is the first one too many: depth 1 is the root map. */
    assert_int_equal(d->line, 1);
    assert_int_equal(d->column, 13 + CHAN_CONTRACT_MAX_DEPTH - 1);
    assert_int_equal(chan_diag_list_count(r.diags), 1);
    result_dispose(&r);
    chan_buf_dispose(&b);

    /* Block style too. */
    for (i = 0; i < 200; i++) {
        size_t k;

        for (k = 0; k < i; k++)
            chan_buf_puts(&b, " ");
        chan_buf_puts(&b, "- \n");
    }
    r = parse_len(b.ptr, b.len, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    (void)find_rule(&r, "too-deep");
    result_dispose(&r);
    chan_buf_dispose(&b);
}

static void test_alias_bomb(void **state)
{
    /* Classic billion laughs: 9 levels of 9 aliases each. */
    static const char bomb[] =
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
        "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
        "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
        "f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
        "g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
        "h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\n"
        "i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n";
    chan_buf many = CHAN_BUF_INIT;
    result r;
    const chan_diag *d;
    int i;

    (void)state;
    /* The expanded node count stops it at the level that passes the cap (f). */
    r = parse_len(bomb, sizeof(bomb) - 1, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "too-complex");
    assert_int_equal(d->line, 6);
    assert_int_equal(chan_diag_list_count(r.diags), 1);
    result_dispose(&r);

    /* Many cheap aliases: the alias count stops them. */
    chan_buf_puts(&many, "a: &a x\nb: [");
    for (i = 0; i <= CHAN_CONTRACT_MAX_ALIASES; i++)
        chan_buf_puts(&many, i ? ", *a" : "*a");
    chan_buf_puts(&many, "]\n");
    r = parse_len(many.ptr, many.len, NULL);
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "alias-limit");
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 5 + 4 * CHAN_CONTRACT_MAX_ALIASES);
    result_dispose(&r);
    chan_buf_dispose(&many);
}

static void test_alias_misuse(void **state)
{
    (void)state;
    assert_single_error("a: *nowhere\n", "alias-limit", 1, 4);
    assert_single_error("a: &x [1, *x]\n", "alias-limit", 1, 11);
}

static void test_alias_allowed(void **state)
{
    /* A modest anchor is fine and expands to a copy. */
    char *t1 = mutate("    degradation: lag\n", "    degradation: &deg lag\n");
    char *t2 = replace(t1, "degradation: drop", "degradation: *deg");
    result r = parse(t2);

    (void)state;
    assert_int_equal(r.rc, 0);
    assert_int_equal(chan_contract_consumer_at(r.contract, 1)->degradation, CHAN_DEGRADATION_LAG);
    result_dispose(&r);
    free(t1);
    free(t2);
}

static void test_every_error_reported(void **state)
{
    char *t1 = mutate("peak_qps: 100", "peak_qps: -3");
    char *t2 = replace(t1, "User:billing-svc", "billing");
    result r = parse(t2);

    (void)state;
    assert_int_equal(r.rc, CHAN_EINVALID);
    assert_int_equal(chan_diag_list_count_severity(r.diags, CHAN_DIAG_ERROR), 2);
    assert_int_equal(find_rule(&r, "invalid-value")->line, 6);
    assert_int_equal(find_rule(&r, "invalid-principal")->line, 14);
    result_dispose(&r);
    free(t1);
    free(t2);
}

static void test_nul_in_string(void **state)
{
    (void)state;
    assert_mutation_error("Invoices each order.", "\"Invoices\\0each\"", "invalid-value", 16, 15);
}

static void test_bad_unicode_string(void **state)
{
    (void)state;
    /* A lone surrogate escape could not be rendered as JSON: rejected. */
    assert_mutation_error("Invoices each order.", "\"Invoices \\ud800\"", "yaml-syntax", 16, 27);
}

static void test_long_lists_capped(void **state)
{
    chan_buf b = CHAN_BUF_INIT;
    char *text;
    int i;

    (void)state;
    chan_buf_puts(&b, "[");
    for (i = 30000; i > 0; i--)
        chan_buf_printf(&b, "%s%d", i == 30000 ? "" : ",", i);
    chan_buf_puts(&b, "]");
    text = mutate("[2, 1]", chan_buf_cstr(&b));
    assert_single_error(text, "invalid-value", 11, 13);
    free(text);
    chan_buf_dispose(&b);
}

static void test_contract_parse__waiver_parsed(void **state)
{
    char *text = mutate("  versions: [2, 1]\n",
                        "  waiver:\n"
                        "    reason: \"legacy producer, replaced by orders.v2 in Q1\"\n"
                        "  versions: [2, 1]\n");
    result r, r2;
    chan_channel_record *rec;
    char *json;

    (void)state;
    r = parse(text);
    assert_int_equal(r.rc, 0);
    assert_string_equal(chan_contract_waiver_reason(r.contract),
                        "legacy producer, replaced by orders.v2 in Q1");
    /* It survives the JSON form and reaches the channel record. */
    json = chan_contract_render_json(r.contract);
    r2 = parse(json);
    assert_int_equal(r2.rc, 0);
    assert_string_equal(chan_contract_waiver_reason(r2.contract),
                        "legacy producer, replaced by orders.v2 in Q1");
    rec = chan_contract_to_record(r2.contract);
    assert_string_equal(rec->waiver_reason, "legacy producer, replaced by orders.v2 in Q1");
    assert_null(rec->waiver_approved_by);
    chan_channel_record_free(rec);

    /* No waiver: NULL everywhere. */
    result_dispose(&r);
    r = parse(base_contract);
    assert_null(chan_contract_waiver_reason(r.contract));
    rec = chan_contract_to_record(r.contract);
    assert_null(rec->waiver_reason);
    chan_channel_record_free(rec);

    free(json);
    free(text);
    result_dispose(&r);
    result_dispose(&r2);
}

static void test_contract_parse__waiver_reason_too_short(void **state)
{
    char *text = mutate("  versions: [2, 1]\n", "  waiver:\n"
                                                "    reason: because\n"
                                                "  versions: [2, 1]\n");
    result r;
    const chan_diag *d;

    (void)state;
    /* Line 12, column 13: the reason's value. */
    assert_single_error(text, "invalid-value", 12, 13);
    r = parse(text);
    d = find_rule(&r, "invalid-value");
    assert_string_equal(d->path, "schema.waiver.reason");
    assert_non_null(strstr(d->message, "20 to 1024 characters"));
    result_dispose(&r);
    free(text);

    /* The waiver is a mapping with a reason only. */
    assert_mutation_error("  versions: [2, 1]\n", "  waiver: yes\n  versions: [2, 1]\n",
                          "wrong-type", 11, 11);
    assert_mutation_error("  versions: [2, 1]\n", "  waiver: {}\n  versions: [2, 1]\n",
                          "missing-field", 11, 11);
}

static void test_json_round_trip(void **state)
{
    char *t1 =
        mutate("peak_qps: 100\n",
               "description: \"Quotes \\\" slash / backslash \\\\ tab \\t \\u00e9 \\u2603\"\n"
               "peak_qps: 100\ndeprecation_date: 2030-01-31\n"
               "retirement_date: 2030-06-30\n");
    char *text = replace(t1, "[2, 1]", "[{version: 2, file: \"a b/v2.avsc\"}, 1]");
    char *json1, *json2;
    result r, r2;
    json_t *j;

    (void)state;
    r = parse(text);
    assert_int_equal(r.rc, 0);
    json1 = chan_contract_render_json(r.contract);

    r2 = parse(json1);
    assert_int_equal(r2.rc, 0);
    json2 = chan_contract_render_json(r2.contract);
    assert_string_equal(json1, json2);

    /* Same model, field by field for the tricky ones. */
    assert_string_equal(chan_contract_description(r2.contract),
                        "Quotes \" slash / backslash \\ tab \t \xc3\xa9 \xe2\x98\x83");
    assert_string_equal(chan_contract_version_at(r2.contract, 0)->file, "a b/v2.avsc");
    assert_null(chan_contract_version_at(r2.contract, 1)->file);
    assert_string_equal(chan_contract_retirement_date(r2.contract), "2030-06-30");
    assert_int_equal(chan_contract_consumer_at(r2.contract, 0)->degradation, CHAN_DEGRADATION_LAG);

    /* The JSON is the contract format: versions in the mapping form. */
    j = chan_contract_to_json(r2.contract);
    assert_string_equal(json_string_value(json_object_get(j, "apiVersion")), "chanreg/v1");
    assert_int_equal(
        json_integer_value(json_object_get(
            json_array_get(json_object_get(json_object_get(j, "schema"), "versions"), 1),
            "version")),
        1);
    json_decref(j);

    free(json1);
    free(json2);
    free(text);
    free(t1);
    result_dispose(&r);
    result_dispose(&r2);
}

/* version and avg_message_bytes: optional, parsed, checked and rendered. */
static void test_contract_version_and_message_size(void **state)
{
    char *text =
        mutate("peak_qps: 100\n", "version: 3.2.1\navg_message_bytes: 2048\npeak_qps: 100\n");
    result r, r2;
    char *json;

    (void)state;
    r = parse(base_contract);
    assert_int_equal(r.rc, 0);
    assert_null(chan_contract_version_text(r.contract));
    assert_int_equal(chan_contract_avg_message_bytes(r.contract), 0);
    result_dispose(&r);

    r = parse(text);
    assert_int_equal(r.rc, 0);
    assert_string_equal(chan_contract_version_text(r.contract), "3.2.1");
    assert_int_equal(chan_contract_avg_message_bytes(r.contract), 2048);
    json = chan_contract_render_json(r.contract);
    assert_non_null(strstr(json, "\"version\":\"3.2.1\""));
    assert_non_null(strstr(json, "\"avg_message_bytes\":2048"));
    r2 = parse(json);
    assert_int_equal(r2.rc, 0);
    assert_string_equal(chan_contract_version_text(r2.contract), "3.2.1");
    assert_int_equal(chan_contract_avg_message_bytes(r2.contract), 2048);
    free(json);
    result_dispose(&r);
    result_dispose(&r2);
    free(text);

    /* Line 6 holds the field in each mutation. */
    assert_mutation_error("peak_qps: 100\n", "version: 3.2\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_WRONG_TYPE, 6, 10); /* a YAML float */
    assert_mutation_error("peak_qps: 100\n", "version: v3.2.1\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_INVALID_VALUE, 6, 10);
    assert_mutation_error("peak_qps: 100\n", "version: \"03.2.1\"\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_INVALID_VALUE, 6, 10);
    assert_mutation_error("peak_qps: 100\n", "avg_message_bytes: 0\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_INVALID_VALUE, 6, 20);
    assert_mutation_error("peak_qps: 100\n", "avg_message_bytes: 104857601\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_INVALID_VALUE, 6, 20);
    assert_mutation_error("peak_qps: 100\n", "avg_message_bytes: \"2k\"\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_WRONG_TYPE, 6, 20);
    assert_mutation_error("peak_qps: 100\n", "cleanup_policy: compacted\npeak_qps: 100\n",
                          CHAN_CONTRACT_RULE_INVALID_VALUE, 6, 17);
    text = mutate("peak_qps: 100\n", "cleanup_policy: compact,delete\npeak_qps: 100\n");
    r = parse(text);
    assert_int_equal(r.rc, 0);
    assert_string_equal(chan_contract_cleanup_policy(r.contract), "compact,delete");
    json = chan_contract_render_json(r.contract);
    assert_non_null(strstr(json, "\"cleanup_policy\":\"compact,delete\""));
    free(json);
    result_dispose(&r);
    free(text);
}

static void test_json_input_errors_located(void **state)
{
    static const char json[] = "{\"apiVersion\": \"chanreg/v1\",\n"
                               " \"channel\": \"x\", \"peak_qps\": \"many\"}";
    result r = parse(json);
    const chan_diag *d;

    (void)state;
    assert_int_equal(r.rc, CHAN_EINVALID);
    d = find_rule(&r, "wrong-type");
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 30);
    result_dispose(&r);
}

static void test_degradation_names(void **state)
{
    chan_degradation d;

    (void)state;
    assert_int_equal(chan_degradation_parse(&d, "fallback"), 0);
    assert_int_equal(d, CHAN_DEGRADATION_FALLBACK);
    assert_string_equal(chan_degradation_name(CHAN_DEGRADATION_BLOCK), "block");
    assert_int_equal(chan_degradation_parse(&d, "Fallback"), CHAN_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_model),
        cmocka_unit_test(test_contract_version_and_message_size),
        cmocka_unit_test(test_version_mapping_form),
        cmocka_unit_test(test_missing_field),
        cmocka_unit_test(test_unknown_field),
        cmocka_unit_test(test_wrong_type),
        cmocka_unit_test(test_non_positive_numbers),
        cmocka_unit_test(test_bad_dates),
        cmocka_unit_test(test_deprecation_warning),
        cmocka_unit_test(test_capacity_warning),
        cmocka_unit_test(test_principal_format),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_enums),
        cmocka_unit_test(test_duplicate_consumers),
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_duplicate_key_with_anchor),
        cmocka_unit_test(test_yaml_syntax),
        cmocka_unit_test(test_document_shape),
        cmocka_unit_test(test_binary_input),
        cmocka_unit_test(test_huge_input),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_alias_misuse),
        cmocka_unit_test(test_alias_allowed),
        cmocka_unit_test(test_every_error_reported),
        cmocka_unit_test(test_nul_in_string),
        cmocka_unit_test(test_bad_unicode_string),
        cmocka_unit_test(test_long_lists_capped),
        cmocka_unit_test(test_contract_parse__waiver_parsed),
        cmocka_unit_test(test_contract_parse__waiver_reason_too_short),
        cmocka_unit_test(test_json_round_trip),
        cmocka_unit_test(test_json_input_errors_located),
        cmocka_unit_test(test_degradation_names),
    };

    return cmocka_run_group_tests_name("unit.contract", tests, NULL, NULL);
}
