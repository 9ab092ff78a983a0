/*
 * test_tokens.c - chand_token_authenticate (registry/daemon/tokens.c)
 * against a SQLite store in memory: a valid token gives its identity;
 * unknown ids, wrong secrets and tokens of other formats are "not found"
 * (the server then tries the token file); revoked and expired tokens are
 * refused with their date; no message carries the token.
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

#include "chan/authz.h"
#include "chan/common.h"
#include "chan/store.h"
#include "tokens.h"

/* A new token of identity with roles stored in store; the caller frees it. */
static char *issue(chan_store *store, const char *identity, const char *roles, int64_t expires_at)
{
    char id[CHAN_TOKEN_ID_LEN + 1], hash[2 * CHAN_TOKEN_DIGEST_LEN + 1];
    chan_token_record rec = {0};
    chan_error err = CHAN_ERROR_INIT;
    char *token = NULL;

    assert_int_equal(chan_token_new(&token, id, &err), 0);
    chan_token_digest_hex(hash, token, strlen(token));
    rec.id = id;
    rec.identity = (char *)identity;
    rec.roles = (char *)roles;
    rec.hash_hex = hash;
    rec.expires_at = expires_at;
    if (chan_store_token_insert(store, &rec, "admin", &err) != 0)
        fail_msg("insert: %s", err.message);
    return token;
}

/* Authenticate and expect code; on failure the message must not hold the token. */
static int auth(chan_store *store, const char *token, chan_identity *who, chan_error *err)
{
    int rc = chand_token_authenticate(store, token, who, err);

    if (rc < 0) {
        assert_null(who->name);
        assert_int_equal(who->n_roles, 0);
        if (token != NULL && token[0] != '\0')
            assert_null(strstr(err->message, token));
    }
    return rc;
}

static int setup(void **state)
{
    chan_store *store = NULL;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_store_open(&store, "sqlite::memory:", NULL, &err) != 0) {
        fprintf(stderr, "cannot open the store: %s\n", err.message);
        return -1;
    }
    *state = store;
    return 0;
}

static int teardown(void **state)
{
    chan_store_free(*state);
    return 0;
}

static void test_tokens__valid_gives_identity(void **state)
{
    chan_store *store = *state;
    int64_t expires = (int64_t)time(NULL) + 86400;
    char *token = issue(store, "ci-orders", "ci:orders,ci:billing", expires);
    char *forever = issue(store, "prometheus", "reader", 0);
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;
    char *roles;

    assert_int_equal(auth(store, token, &who, &err), 0);
    assert_string_equal(who.name, "ci-orders");
    roles = chan_identity_roles_text(&who);
    assert_string_equal(roles, "ci:billing,ci:orders");
    free(roles);
    assert_true(chan_identity_has(&who, CHAN_ROLE_CI, "orders"));
    assert_false(chan_identity_has(&who, CHAN_ROLE_ADMIN, NULL));
    assert_int_equal(who.expires_at, expires);
    assert_string_equal(who.source, "store");
    chan_identity_dispose(&who);

    assert_int_equal(auth(store, forever, &who, &err), 0);
    assert_string_equal(who.name, "prometheus");
    assert_int_equal(who.expires_at, 0);
    chan_identity_dispose(&who);
    free(token);
    free(forever);
}

static void test_tokens__unknown_and_wrong_are_not_found(void **state)
{
    chan_store *store = *state;
    char *token = issue(store, "ci-billing", "ci:billing", 0);
    char *other = NULL, id[CHAN_TOKEN_ID_LEN + 1];
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;

    /* Right id, wrong secret. */
    {
        char *wrong = chan_xstrdup(token);
        size_t last = strlen(wrong) - 1;

        wrong[last] = wrong[last] == 'A' ? 'B' : 'A';
        assert_int_equal(auth(store, wrong, &who, &err), CHAN_ENOTFOUND);
        assert_string_equal(err.message, "the token is not valid");
        free(wrong);
    }
    /* A token of the right format that the store does not know (e.g. from the token file). */
    assert_int_equal(chan_token_new(&other, id, &err), 0);
    assert_int_equal(auth(store, other, &who, &err), CHAN_ENOTFOUND);
    /* Legacy and empty tokens. */
    assert_int_equal(auth(store, "ci-secret-1", &who, &err), CHAN_ENOTFOUND);
    assert_int_equal(auth(store, "", &who, &err), CHAN_ENOTFOUND);
    assert_int_equal(auth(store, NULL, &who, &err), CHAN_ENOTFOUND);
    /* Truncated: not of the format any more. */
    token[20] = '\0';
    assert_int_equal(auth(store, token, &who, &err), CHAN_ENOTFOUND);
    free(token);
    free(other);
}

static void test_tokens__revoked_refused_with_date(void **state)
{
    chan_store *store = *state;
    char *token = issue(store, "ci-payments", "ci:payments", 0);
    char id[CHAN_TOKEN_ID_LEN + 1], today[16], *want;
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;

    assert_true(chan_token_id(id, token, strlen(token)));
    assert_int_equal(auth(store, token, &who, &err), 0);
    chan_identity_dispose(&who);
    assert_int_equal(chan_store_token_revoke(store, id, "admin", &err), 0);
    assert_int_equal(auth(store, token, &who, &err), CHAN_EDENIED);
    want = chan_xasprintf("token revoked on %s",
                          chan_date_format(today, sizeof(today), chan_date_today()));
    assert_string_equal(err.message, want);
    free(want);
    free(token);
}

static void test_tokens__expired_refused_with_date(void **state)
{
    chan_store *store = *state;
    int64_t day = 0;
    char *token, *wrong;
    chan_identity who;
    chan_error err = CHAN_ERROR_INIT;

    assert_true(chan_date_parse("2026-01-02", &day));
    token = issue(store, "ci-old", "ci:old", day * 86400 + 3600);
    assert_int_equal(auth(store, token, &who, &err), CHAN_EDENIED);
    assert_string_equal(err.message, "token expired on 2026-01-02");
    /* The state of a record is only told to someone holding its secret. */
    wrong = chan_xstrdup(token);
    wrong[strlen(wrong) - 1] = wrong[strlen(wrong) - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(auth(store, wrong, &who, &err), CHAN_ENOTFOUND);
    free(wrong);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tokens__valid_gives_identity),
        cmocka_unit_test(test_tokens__unknown_and_wrong_are_not_found),
        cmocka_unit_test(test_tokens__revoked_refused_with_date),
        cmocka_unit_test(test_tokens__expired_refused_with_date),
    };

    return cmocka_run_group_tests_name("daemon.tokens", tests, setup, teardown);
}
