/*
 * test_authz.c - identities, roles and the authorization matrix of
 * chan_authz_check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/authz.h"

/* The identities of the matrix, in the column order of its expectations. */
static const struct {
    const char *name, *roles;
} who_table[] = {
    {"anonymous", ""},
    {"prometheus", "reader"},
    {"root", "admin"},
    {"orders-team", "owner:orders"},
    {"billing-team", "owner:billing"},
    {"ci-orders", "ci:orders"},
    {"ci-billing", "ci:billing"},
};
#define N_WHO (sizeof(who_table) / sizeof(who_table[0]))

static void identity(chan_identity *id, const char *name, const char *roles)
{
    chan_error err = CHAN_ERROR_INIT;

    assert_int_equal(chan_identity_init(id, name, roles, &err), 0);
}

static void test_authz_identity__roles_sorted_and_deduplicated(void **state)
{
    chan_identity id;
    char *text;

    identity(&id, "ci-bot", "ci:orders, ci:billing,ci:orders,reader");
    assert_string_equal(id.name, "ci-bot");
    assert_int_equal(id.n_roles, 3);
    text = chan_identity_roles_text(&id);
    assert_string_equal(text, "ci:billing,ci:orders,reader");
    free(text);
    assert_true(chan_identity_has(&id, CHAN_ROLE_CI, "orders"));
    assert_true(chan_identity_has(&id, CHAN_ROLE_CI, NULL));
    assert_false(chan_identity_has(&id, CHAN_ROLE_CI, "payments"));
    assert_false(chan_identity_has(&id, CHAN_ROLE_OWNER, NULL));
    assert_true(chan_identity_has(&id, CHAN_ROLE_READER, "ignored"));
    assert_false(chan_identity_has(&id, CHAN_ROLE_ADMIN, NULL));
    assert_int_equal(id.expires_at, 0);
    chan_identity_dispose(&id);

    identity(&id, "nobody", NULL);
    assert_int_equal(id.n_roles, 0);
    text = chan_identity_roles_text(&id);
    assert_string_equal(text, "");
    free(text);
    chan_identity_dispose(&id);
    chan_identity_dispose(NULL);
}

static void test_authz_identity__invalid(void **state)
{
    static const struct {
        const char *name, *roles, *message;
    } cases[] = {
        {"x", "root", "invalid role \"root\""},
        {"x", "owner", "role \"owner\" needs a team"},
        {"x", "ci:", "invalid team \"\""},
        {"x", "owner:Orders", "invalid team \"Orders\""},
        {"x", "ci:-orders", "invalid team \"-orders\""},
        {"x", "admin,,reader", "empty role"},
        {"x", "admin,", "empty role"},
        {"", "admin", "invalid identity name"},
        {"a b", "admin", "invalid identity name"},
        {"a:b", "admin", "invalid identity name"},
        {NULL, "admin", "invalid identity name"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        chan_error err = CHAN_ERROR_INIT;
        chan_identity id;

        assert_int_equal(chan_identity_init(&id, cases[i].name, cases[i].roles, &err),
                         CHAN_EINVALID);
        assert_non_null(strstr(err.message, cases[i].message));
        assert_null(id.name);
        assert_null(id.roles);
    }
    assert_true(chan_team_valid("a.b_c-9"));
    assert_true(
        chan_team_valid("0123456789012345678901234567890123456789012345678901234567890123"));
    assert_false(
        chan_team_valid("01234567890123456789012345678901234567890123456789012345678901234"));
    assert_false(chan_team_valid(NULL));
}

static void test_authz_action__names(void **state)
{
    assert_string_equal(chan_authz_action_name(CHAN_AUTHZ_PUBLIC), "public");
    assert_string_equal(chan_authz_action_name(CHAN_AUTHZ_SUBJECT_WRITE), "subject.write");
    assert_string_equal(chan_authz_action_name(CHAN_AUTHZ_CONSUMER_DECIDE), "consumer.decide");
    assert_string_equal(chan_authz_action_name((chan_authz_action)CHAN_AUTHZ_ACTION_COUNT), "?");
}

/*
 * Every action x {target bound to orders, unbound} x the identities of
 * who_table: 'Y' allowed, 'n' refused (CHAN_EDENIED).  For CHANNEL_PUT the
 * body's team is orders in both columns (unbound: a new channel).
 */
static const struct {
    chan_authz_action action;
    const char *bound, *unbound;
} matrix[] = {
    /*                                anon, reader, admin, owner:o, owner:b, ci:o, ci:b */
    {CHAN_AUTHZ_PUBLIC, "YYYYYYY", "YYYYYYY"},
    {CHAN_AUTHZ_READ, "YYYYYYY", "YYYYYYY"},
    {CHAN_AUTHZ_SELF, "YYYYYYY", "YYYYYYY"},
    {CHAN_AUTHZ_SUBJECT_WRITE, "nnYYnYn", "nnYYYYY"},
    {CHAN_AUTHZ_SUBJECT_CONFIG, "nnYYnYn", "nnYYYYY"},
    {CHAN_AUTHZ_REGISTRY_ADMIN, "nnYnnnn", "nnYnnnn"},
    {CHAN_AUTHZ_CHANNEL_PUT, "nnYYnYn", "nnYYnYn"},
    {CHAN_AUTHZ_CHANNEL_DELETE, "nnYYnnn", "nnYYYYY"},
    {CHAN_AUTHZ_CONSUMER_REGISTER, "nnYYYnY", "nnYYYYY"},
    {CHAN_AUTHZ_CONSUMER_CHANGE, "nnYYnYn", "nnYYYYY"},
    {CHAN_AUTHZ_CONSUMER_DECIDE, "nnYYnnn", "nnYYYnn"},
};

static void test_authz_check__matrix(void **state)
{
    size_t a, w, col;

    assert_int_equal(sizeof(matrix) / sizeof(matrix[0]), CHAN_AUTHZ_ACTION_COUNT);
    for (a = 0; a < sizeof(matrix) / sizeof(matrix[0]); a++) {
        assert_int_equal(matrix[a].action, (chan_authz_action)a);
        for (col = 0; col < 2; col++) {
            const char *expect = col == 0 ? matrix[a].bound : matrix[a].unbound;
            chan_authz_target t = {.subject = "orders-value",
                                   .channel = "orders",
                                   .consumer = "fraud",
                                   .team = col == 0 ? "orders" : NULL,
                                   .new_team = "orders"};

            assert_int_equal(strlen(expect), N_WHO);
            for (w = 0; w < N_WHO; w++) {
                chan_error err = CHAN_ERROR_INIT;
                chan_authz_decision d;
                chan_identity id;
                int rc;

                identity(&id, who_table[w].name, who_table[w].roles);
                rc = chan_authz_check(&d, &id, matrix[a].action, &t, &err);
                if (rc != (expect[w] == 'Y' ? 0 : CHAN_EDENIED))
                    fail_msg("%s, target %s, %s (%s): got %d (%s), expected %s",
                             chan_authz_action_name(matrix[a].action),
                             col == 0 ? "bound" : "unbound", who_table[w].name, who_table[w].roles,
                             rc, err.message, expect[w] == 'Y' ? "allowed" : "denied");
                if (rc == 0) {
                    assert_string_equal(d.missing, "");
                } else {
                    assert_non_null(strstr(d.missing, "admin"));
                    assert_non_null(strstr(err.message, who_table[w].name));
                    assert_int_equal(err.code, CHAN_EDENIED);
                }
                chan_identity_dispose(&id);
            }
        }
    }
}

/* The identity of the last check(): d->team may point into its roles. */
static chan_identity check_id;

/* Check action on t as an identity with roles; return the result code. */
static int check(chan_authz_decision *d, const char *roles, chan_authz_action action,
                 const chan_authz_target *t, chan_error *err)
{
    chan_identity_dispose(&check_id);
    identity(&check_id, "tester", roles);
    return chan_authz_check(d, &check_id, action, t, err);
}

static int teardown_check(void **state)
{
    chan_identity_dispose(&check_id);
    return 0;
}

static void test_authz_check__channel_team_change_needs_both(void **state)
{
    chan_authz_target t = {.channel = "orders", .team = "orders", .new_team = "billing"};
    chan_error err = CHAN_ERROR_INIT;
    chan_authz_decision d;

    assert_int_equal(check(&d, "owner:orders", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:billing, owner:billing");
    assert_string_equal(err.message, "identity 'tester' (roles owner:orders) may not move "
                                     "channel 'orders' from team orders to team billing: needs "
                                     "admin, ci:billing or owner:billing");
    assert_int_equal(check(&d, "owner:billing", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:orders, owner:orders");
    assert_int_equal(check(&d, "reader", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:billing, ci:orders, owner:billing, owner:orders");
    assert_non_null(strstr(err.message, "needs admin, or one of ci:orders, owner:orders and one "
                                        "of ci:billing, owner:billing"));

    assert_int_equal(check(&d, "owner:orders,ci:billing", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    assert_false(d.as_owner);
    assert_int_equal(check(&d, "owner:orders,owner:billing", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), 0);
    assert_true(d.as_owner);
    assert_int_equal(check(&d, "admin", CHAN_AUTHZ_CHANNEL_PUT, &t, &err), 0);
    assert_true(d.as_owner);
    assert_string_equal(d.team, "billing");
}

static void test_authz_check__consumer_cross_team_acts_for_own_team(void **state)
{
    chan_authz_target t = {.channel = "orders", .consumer = "fraud", .team = "orders"};
    chan_error err = CHAN_ERROR_INIT;
    chan_authz_decision d;

    /* Another team registers for itself: allowed, not as owner (pending). */
    assert_int_equal(check(&d, "ci:billing", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    assert_false(d.as_owner);
    /* The owning team's ci role is for the contract, not for REST registrations. */
    assert_int_equal(check(&d, "ci:orders,ci:billing", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    /* The owner registers at once. */
    assert_int_equal(check(&d, "owner:orders", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "orders");
    assert_true(d.as_owner);

    /* An existing registration keeps its team. */
    t.requester_team = "billing";
    assert_int_equal(check(&d, "ci:billing", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    assert_false(d.as_owner);
    assert_int_equal(check(&d, "owner:orders", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    assert_true(d.as_owner);
    assert_int_equal(check(&d, "ci:payments", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
                     CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:billing, owner:billing, owner:orders");
    assert_int_equal(check(&d, "ci:billing", CHAN_AUTHZ_CONSUMER_CHANGE, &t, &err), 0);
    assert_string_equal(d.team, "billing");
    assert_int_equal(check(&d, "ci:orders", CHAN_AUTHZ_CONSUMER_CHANGE, &t, &err), 0);
    assert_int_equal(check(&d, "ci:payments", CHAN_AUTHZ_CONSUMER_CHANGE, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:billing, ci:orders, owner:billing, owner:orders");
    assert_int_equal(check(&d, "ci:billing", CHAN_AUTHZ_CONSUMER_DECIDE, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, owner:orders");

    /* The body's "team" chooses among the identity's teams. */
    t.requester_team = NULL;
    t.acting_team = "payments";
    assert_int_equal(check(&d, "ci:billing,ci:payments", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
                     0);
    assert_string_equal(d.team, "payments");
    t.acting_team = "shipping";
    assert_int_equal(check(&d, "ci:billing,ci:payments", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
                     CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:shipping, owner:shipping");
    t.acting_team = "orders";
    assert_int_equal(check(&d, "ci:orders", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, owner:orders");
    assert_int_equal(check(&d, "admin", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err), 0);
    assert_string_equal(d.team, "orders");
}

static void test_authz_check__ambiguous_team(void **state)
{
    chan_authz_target t = {.channel = "orders", .consumer = "fraud", .team = "orders"};
    chan_error err = CHAN_ERROR_INIT;
    chan_authz_decision d;

    assert_int_equal(check(&d, "ci:billing,ci:payments", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
                     CHAN_EINVALID);
    assert_int_equal(err.reason, CHAN_AUTHZ_R_TEAM_AMBIGUOUS);
    assert_non_null(strstr(err.message, "several teams"));
    /* Two roles of one team are one team. */
    assert_int_equal(check(&d, "ci:billing,owner:billing", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
                     0);
    assert_string_equal(d.team, "billing");
    /* The owner of the channel is not asked which team. */
    assert_int_equal(
        check(&d, "owner:orders,ci:billing,ci:payments", CHAN_AUTHZ_CONSUMER_REGISTER, &t, &err),
        0);
    assert_string_equal(d.team, "orders");
    assert_true(d.as_owner);
}

static void test_authz_check__missing_lists_roles(void **state)
{
    chan_authz_target t = {.subject = "payments-value", .team = "payments"};
    chan_error err = CHAN_ERROR_INIT;
    chan_authz_decision d;
    chan_identity id;

    identity(&id, "ci-orders", "ci:orders");
    assert_int_equal(chan_authz_check(&d, &id, CHAN_AUTHZ_SUBJECT_WRITE, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:payments, owner:payments");
    assert_string_equal(err.message, "identity 'ci-orders' (roles ci:orders) may not write subject "
                                     "'payments-value': needs admin, ci:payments or "
                                     "owner:payments");
    chan_identity_dispose(&id);

    identity(&id, "anonymous", "");
    assert_int_equal(chan_authz_check(&d, &id, CHAN_AUTHZ_REGISTRY_ADMIN, NULL, &err),
                     CHAN_EDENIED);
    assert_string_equal(d.missing, "admin");
    assert_string_equal(err.message, "identity 'anonymous' (roles none) may not administer the "
                                     "registry: needs admin");
    t.team = NULL;
    assert_int_equal(chan_authz_check(&d, &id, CHAN_AUTHZ_SUBJECT_CONFIG, &t, &err), CHAN_EDENIED);
    assert_string_equal(d.missing, "admin, ci:*, owner:*");
    assert_non_null(strstr(err.message, "set the compatibility of subject 'payments-value': "
                                        "needs admin, ci:* or owner:* (* = any team)"));
    chan_identity_dispose(&id);
    /* ci:orders registering on its own team's channel: only the owner may,
       or a team other than orders (as a registration of its own). */
    {
        chan_authz_target c = {.channel = "orders.x", .consumer = "c", .team = "orders"};

        identity(&id, "ci-orders", "ci:orders");
        assert_int_equal(chan_authz_check(&d, &id, CHAN_AUTHZ_CONSUMER_REGISTER, &c, &err),
                         CHAN_EDENIED);
        assert_string_equal(d.missing, "admin, ci:*, owner:*, owner:orders");
        assert_non_null(strstr(err.message, "(* = any team but orders)"));
        chan_identity_dispose(&id);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_authz_identity__roles_sorted_and_deduplicated),
        cmocka_unit_test(test_authz_identity__invalid),
        cmocka_unit_test(test_authz_action__names),
        cmocka_unit_test(test_authz_check__matrix),
        cmocka_unit_test_teardown(test_authz_check__channel_team_change_needs_both, teardown_check),
        cmocka_unit_test_teardown(test_authz_check__consumer_cross_team_acts_for_own_team,
                                  teardown_check),
        cmocka_unit_test_teardown(test_authz_check__ambiguous_team, teardown_check),
        cmocka_unit_test(test_authz_check__missing_lists_roles),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
