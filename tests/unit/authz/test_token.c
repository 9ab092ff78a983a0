/*
 * test_token.c - API tokens: format, SHA-256 digests, constant-time
 * comparison and the token file (v2 and legacy lines).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chan/authz.h"

static void test_token__format(void **state)
{
    char id1[CHAN_TOKEN_ID_LEN + 1], id2[CHAN_TOKEN_ID_LEN + 1], id3[CHAN_TOKEN_ID_LEN + 1];
    chan_error err = CHAN_ERROR_INIT;
    char *t1 = NULL, *t2 = NULL;
    regex_t re;

    assert_int_equal(regcomp(&re, "^chr_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$", REG_EXTENDED | REG_NOSUB),
                     0);
    assert_int_equal(chan_token_new(&t1, id1, &err), 0);
    assert_int_equal(chan_token_new(&t2, id2, &err), 0);
    assert_int_equal(regexec(&re, t1, 0, NULL, 0), 0);
    assert_int_equal(regexec(&re, t2, 0, NULL, 0), 0);
    assert_int_equal(strlen(t1), CHAN_TOKEN_LEN);
    assert_string_not_equal(t1, t2);
    assert_string_not_equal(id1, id2);
    assert_memory_equal(t1 + 4, id1, CHAN_TOKEN_ID_LEN);

    assert_true(chan_token_id(id3, t1, strlen(t1)));
    assert_string_equal(id3, id1);
    assert_false(chan_token_id(id3, "ci-secret-1", 11));
    assert_string_equal(id3, "");
    t1[10] = 'G'; /* not hex */
    assert_false(chan_token_id(id3, t1, strlen(t1)));
    assert_false(chan_token_id(id3, t2, strlen(t2) - 1));
    regfree(&re);
    free(t1);
    free(t2);
}

static void test_token__digest_vector(void **state)
{
    static const char abc_hex[] =
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    uint8_t digest[CHAN_TOKEN_DIGEST_LEN], parsed[CHAN_TOKEN_DIGEST_LEN];
    char hex[2 * CHAN_TOKEN_DIGEST_LEN + 1];

    chan_token_digest_hex(hex, "abc", 3);
    assert_string_equal(hex, abc_hex);
    chan_token_digest(digest, "abc", 3);
    assert_int_equal(digest[0], 0xba);
    assert_int_equal(digest[31], 0xad);
    assert_int_equal(chan_token_digest_parse(parsed, abc_hex), 0);
    assert_memory_equal(parsed, digest, sizeof(digest));
    assert_int_equal(
        chan_token_digest_parse(parsed,
                                "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"),
        0);
    assert_memory_equal(parsed, digest, sizeof(digest));
    assert_int_equal(chan_token_digest_parse(parsed, "ba7816"), CHAN_EINVALID);
    assert_int_equal(
        chan_token_digest_parse(parsed,
                                "zz7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        CHAN_EINVALID);
    assert_int_equal(chan_token_digest_parse(parsed, NULL), CHAN_EINVALID);
    /* SHA-256 of the empty string. */
    chan_token_digest_hex(hex, "", 0);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void test_token__ct_memeq(void **state)
{
    uint8_t a[CHAN_TOKEN_DIGEST_LEN], b[CHAN_TOKEN_DIGEST_LEN];

    chan_token_digest(a, "one", 3);
    memcpy(b, a, sizeof(a));
    assert_true(chan_ct_memeq(a, b, sizeof(a)));
    b[31] ^= 1;
    assert_false(chan_ct_memeq(a, b, sizeof(a)));
    b[31] ^= 1;
    b[0] ^= 0x80;
    assert_false(chan_ct_memeq(a, b, sizeof(a)));
    assert_true(chan_ct_memeq(a, b, 0));
    assert_true(chan_ct_memeq("abc", "abd", 2));
}

static void test_token__file_v2(void **state)
{
    static const char text[] =
        "# chanreg tokens\n"
        "\n"
        "ci-orders sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
        "roles=ci:orders,ci:billing\n"
        "   # indented comment\n"
        "root\tsha256=E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855  "
        "expires=2027-01-01 roles=admin \r\n";
    chan_error err = CHAN_ERROR_INIT;
    chan_token_entry *e = NULL;
    uint8_t abc[CHAN_TOKEN_DIGEST_LEN];
    size_t n = 0;
    char *roles;

    assert_int_equal(chan_token_file_parse(&e, &n, text, "tokens", &err), 0);
    assert_int_equal(n, 2);
    assert_string_equal(e[0].identity.name, "ci-orders");
    roles = chan_identity_roles_text(&e[0].identity);
    assert_string_equal(roles, "ci:billing,ci:orders");
    free(roles);
    assert_string_equal(e[0].identity.source, "file");
    assert_int_equal(e[0].identity.expires_at, 0);
    assert_int_equal(e[0].line, 3);
    assert_false(e[0].legacy);
    chan_token_digest(abc, "abc", 3);
    assert_memory_equal(e[0].digest, abc, sizeof(abc));

    assert_string_equal(e[1].identity.name, "root");
    assert_true(chan_identity_has(&e[1].identity, CHAN_ROLE_ADMIN, NULL));
    assert_int_equal(e[1].identity.expires_at, 1798761600); /* 2027-01-01T00:00:00Z */
    assert_int_equal(e[1].line, 5);
    chan_token_entries_free(e, n);

    /* An empty file is no error here: the daemon decides. */
    assert_int_equal(chan_token_file_parse(&e, &n, "# nothing\n", "tokens", &err), 0);
    assert_int_equal(n, 0);
    chan_token_entries_free(e, n);
}

static void test_token__file_legacy_is_admin(void **state)
{
    static const char text[] =
        "ci:ci-secret-1\n"
        "admin:with:colons and blanks\n"
        "reader sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f"
        "20015ad roles=reader\n";
    chan_error err = CHAN_ERROR_INIT;
    chan_token_entry *e = NULL;
    uint8_t d[CHAN_TOKEN_DIGEST_LEN];
    size_t n = 0;

    assert_int_equal(chan_token_file_parse(&e, &n, text, "tokens", &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(e[0].identity.name, "ci");
    assert_true(e[0].legacy);
    assert_true(chan_identity_has(&e[0].identity, CHAN_ROLE_ADMIN, NULL));
    assert_int_equal(e[0].identity.n_roles, 1);
    chan_token_digest(d, "ci-secret-1", 11);
    assert_memory_equal(e[0].digest, d, sizeof(d));

    /* As before token file v2: the token is everything after the first ':'. */
    assert_string_equal(e[1].identity.name, "admin");
    assert_true(e[1].legacy);
    chan_token_digest(d, "with:colons and blanks", strlen("with:colons and blanks"));
    assert_memory_equal(e[1].digest, d, sizeof(d));

    assert_false(e[2].legacy);
    assert_false(chan_identity_has(&e[2].identity, CHAN_ROLE_ADMIN, NULL));
    chan_token_entries_free(e, n);
}

static void test_token__file_bad_line(void **state)
{
    static const char text[] =
        "# tokens\n"
        "ok:secret\n"
        "ci sha256=abc roles=ci:orders\n"
        "ci2 sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n"
        "x sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad roles=boss "
        "color=red expires=2027-02-30\n"
        ":nameless\n"
        "dup sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad roles=reader\n"
        "again sha256=ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad "
        "roles=reader\n"
        "team:ci sha256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 "
        "roles=ci:orders\n";
    chan_error err = CHAN_ERROR_INIT;
    chan_token_entry *e = (chan_token_entry *)1;
    size_t n = 99;

    assert_int_equal(chan_token_file_parse(&e, &n, text, "F", &err), CHAN_EINVALID);
    assert_null(e);
    assert_int_equal(n, 0);
    assert_int_equal(err.code, CHAN_EINVALID);
    assert_string_equal(err.message, "F:3: sha256 must be 64 hex digits (and 7 more problems)");
    assert_non_null(strstr(err.detail, "F:3: sha256 must be 64 hex digits\n"));
    assert_non_null(strstr(err.detail, "F:4: missing roles="));
    assert_non_null(strstr(err.detail, "F:5: unknown field \"color=red\""));
    assert_non_null(strstr(err.detail, "F:5: invalid role \"boss\""));
    assert_non_null(strstr(err.detail, "F:5: expires must be a date"));
    assert_non_null(strstr(err.detail, "F:6: expected NAME:TOKEN"));
    assert_non_null(strstr(err.detail, "F:8: same token as line 7"));
    assert_non_null(strstr(err.detail, "F:9: an identity name cannot contain ':'"));
    assert_null(strstr(err.detail, "secret"));
}

static void test_token__file_line_roundtrip(void **state)
{
    char id[CHAN_TOKEN_ID_LEN + 1];
    chan_error err = CHAN_ERROR_INIT;
    chan_token_entry *e = NULL;
    uint8_t d[CHAN_TOKEN_DIGEST_LEN];
    char *token = NULL, *line, *roles;
    size_t n = 0;

    assert_int_equal(chan_token_new(&token, id, &err), 0);
    line = chan_token_file_line("ci-orders", "ci:orders,ci:billing,ci:orders", token, "2027-03-01");
    assert_non_null(line);
    assert_null(strstr(line, token));
    assert_non_null(strstr(line, " roles=ci:billing,ci:orders expires=2027-03-01\n"));
    assert_int_equal(chan_token_file_parse(&e, &n, line, "line", &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(e[0].identity.name, "ci-orders");
    roles = chan_identity_roles_text(&e[0].identity);
    assert_string_equal(roles, "ci:billing,ci:orders");
    free(roles);
    chan_token_digest(d, token, strlen(token));
    assert_true(chan_ct_memeq(e[0].digest, d, sizeof(d)));
    assert_int_equal(e[0].identity.expires_at, 1803859200); /* 2027-03-01T00:00:00Z */
    chan_token_entries_free(e, n);
    free(line);

    line = chan_token_file_line("root", "admin", token, NULL);
    assert_non_null(line);
    assert_non_null(strstr(line, "root sha256="));
    assert_null(strstr(line, "expires"));
    free(line);

    assert_null(chan_token_file_line("bad name", "admin", token, NULL));
    assert_null(chan_token_file_line("x", "boss", token, NULL));
    assert_null(chan_token_file_line("x", "", token, NULL));
    assert_null(chan_token_file_line("x", "admin", token, "2027-13-01"));
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token__format),
        cmocka_unit_test(test_token__digest_vector),
        cmocka_unit_test(test_token__ct_memeq),
        cmocka_unit_test(test_token__file_v2),
        cmocka_unit_test(test_token__file_legacy_is_admin),
        cmocka_unit_test(test_token__file_bad_line),
        cmocka_unit_test(test_token__file_line_roundtrip),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
