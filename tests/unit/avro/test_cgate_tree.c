/*
 * test_cgate_tree.c - the tree gate (chan_avro__cgate_tree) gives the verdict
 * of the text gate: every schema our parser accepts is handed to both, and
 * their answers must match.
 *
 * The text gate is the real one: chan_avro_schema_parse_opts without
 * CHAN_AVRO_PARSE_STORED, which runs Avro C on the text (with schema.c's
 * workarounds for U+0000 and empty unions, and the inline text of a schema
 * with references).  Parsed with CHAN_AVRO_PARSE_STORED first, a schema
 * that then fails without it was refused by that gate, and by nothing else.
 *
 * Schemas: every *.avsc under schemas/ and tests/fixtures/ and the saved
 * fuzz regressions of tests/fuzz/regressions/avro/ (the seeds of the fuzz
 * corpus), then hand-written edge cases.
 *
 * Usage: test_cgate_tree SOURCE_DIR
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "cgate_tree.h"

#define CORPUS_MAX_SIZE (1u << 22)
#define SEPARATOR "\n----\n"

static const char *source_dir;

enum { ACCEPT = 0, REFUSE = -1, UNDECIDED = CHAN_AVRO_CGATE_UNDECIDED, NOT_OURS = 2 };

typedef struct verdicts {
    int tree; /* ACCEPT, REFUSE, UNDECIDED; NOT_OURS when our parser refuses */
    int text; /* ACCEPT or REFUSE (meaningless when tree is NOT_OURS) */
    char tree_msg[256];
    char text_msg[512];
} verdicts;

/* Both gates on one text (refs may be NULL). */
static void judge(verdicts *v, const char *json, size_t len, const chan_avro_parse_refs *refs)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_avro_schema *s = NULL, *again = NULL;

    memset(v, 0, sizeof(*v));
    if (chan_avro_schema_parse_opts(&s, json, len, refs, CHAN_AVRO_PARSE_STORED, &err) != 0) {
        v->tree = NOT_OURS;
        snprintf(v->text_msg, sizeof(v->text_msg), "%s", err.message);
        return;
    }
    v->tree = chan_avro__cgate_tree(s, v->tree_msg, sizeof(v->tree_msg));
    chan_avro_schema_free(s);
    if (chan_avro_schema_parse_opts(&again, json, len, refs, 0, &err) == 0) {
        v->text = ACCEPT;
        chan_avro_schema_free(again);
    } else {
        v->text = REFUSE;
        snprintf(v->text_msg, sizeof(v->text_msg), "%s", err.message);
        /* accepted when stored: only the Avro C gate refuses it now */
        if (!strstr(err.message, "rejected by Avro C"))
            fail_msg("not a refusal of the Avro C gate: %s", err.message);
    }
}

/* The gates agree on a text our parser accepts (or the tree leaves it to the text gate). */
static int agree(const char *what, const char *json, size_t len, const chan_avro_parse_refs *refs)
{
    verdicts v;

    judge(&v, json, len, refs);
    if (v.tree == NOT_OURS || v.tree == UNDECIDED)
        return v.tree;
    if (v.tree != v.text)
        fail_msg("%s: tree gate %s (%s), text gate %s (%s)", what,
                 v.tree == ACCEPT ? "accepts" : "refuses", v.tree_msg,
                 v.text == ACCEPT ? "accepts" : "refuses", v.text_msg);
    return v.tree;
}

/* ------------------------------------------------------------------ */
/* The corpora of the repository                                       */
/* ------------------------------------------------------------------ */

typedef struct tally {
    size_t accepted, refused, undecided, not_ours;
} tally;

static void count(tally *t, int verdict)
{
    if (verdict == ACCEPT)
        t->accepted++;
    else if (verdict == REFUSE)
        t->refused++;
    else if (verdict == UNDECIDED)
        t->undecided++;
    else
        t->not_ours++;
}

/* One corpus file: a schema, or two separated by SEPARATOR (a fuzz input). */
static void judge_file(tally *t, const char *path)
{
    chan_error err = CHAN_ERROR_INIT;
    char *text = NULL, *sep;
    size_t len = 0;

    assert_int_equal(chan_file_read(&text, &len, path, CORPUS_MAX_SIZE, &err), 0);
    if ((sep = strstr(text, SEPARATOR)) != NULL) {
        count(t, agree(path, text, (size_t)(sep - text), NULL));
        sep += strlen(SEPARATOR);
        count(t, agree(path, sep, len - (size_t)(sep - text), NULL));
    } else {
        count(t, agree(path, text, len, NULL));
    }
    free(text);
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every file under dir (ending in suffix, unless NULL), depth-first. */
static void judge_tree(tally *t, const char *dir, const char *suffix, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    assert_true(depth < 16);
    if (!d)
        fail_msg("cannot open %s", dir);
    while ((e = readdir(d)) != NULL) {
        char *path;
        struct stat st;

        if (e->d_name[0] == '.')
            continue;
        path = chan_xasprintf("%s/%s", dir, e->d_name);
        assert_int_equal(stat(path, &st), 0);
        if (S_ISDIR(st.st_mode))
            judge_tree(t, path, suffix, depth + 1);
        else if (S_ISREG(st.st_mode) && (!suffix || has_suffix(e->d_name, suffix)))
            judge_file(t, path);
        free(path);
    }
    closedir(d);
}

static void test_corpora(void **state)
{
    static const struct {
        const char *dir, *suffix;
    } roots[] = {
        {"schemas", ".avsc"},
        {"tests/fixtures", ".avsc"},
        {"tests/fuzz/regressions/avro", NULL},
    };
    tally t = {0};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        char *dir = chan_xasprintf("%s/%s", source_dir, roots[i].dir);

        judge_tree(&t, dir, roots[i].suffix, 0);
        free(dir);
    }
    print_message("corpora: %zu accepted, %zu refused by both gates, %zu left to the text gate, "
                  "%zu refused by our parser\n",
                  t.accepted, t.refused, t.undecided, t.not_ours);
    /* the corpora are there and mostly valid: the comparison is not empty */
    assert_true(t.accepted >= 60);
    assert_int_equal(t.undecided, 0);
}

/* ------------------------------------------------------------------ */
/* Edge cases                                                          */
/* ------------------------------------------------------------------ */

typedef struct edge {
    const char *name;
    const char *json;
    int tree; /* expected verdict of the tree gate, or NOT_OURS */
    int text; /* expected verdict of the text gate (for NOT_OURS: unused) */
} edge;

#define REC(fields) "{\"type\":\"record\",\"name\":\"R\",\"fields\":[" fields "]}"
#define REC_NS(ns, fields)                                                                         \
    "{\"type\":\"record\",\"name\":\"R\",\"namespace\":\"" ns "\",\"fields\":[" fields "]}"
#define FIELD(name, type) "{\"name\":\"" name "\",\"type\":" type "}"

static const edge edges[] = {
    /* primitives and plain shapes */
    {"primitive", "\"int\"", ACCEPT, ACCEPT},
    {"primitive object", "{\"type\":\"string\",\"x-a\":1}", ACCEPT, ACCEPT},
    {"empty record", REC(""), ACCEPT, ACCEPT},
    {"array of map", "{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":\"long\"}}", ACCEPT,
     ACCEPT},
    {"union", "[\"null\",\"int\",{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\"]}]", ACCEPT,
     ACCEPT},
    {"fixed size 0", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":0}", ACCEPT, ACCEPT},
    {"fixed size 2^31-1", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2147483647}", ACCEPT,
     ACCEPT},
    /* names our parser refuses before any gate */
    {"name starting with a digit", "{\"type\":\"fixed\",\"name\":\"1F\",\"size\":1}", NOT_OURS, 0},
    {"name with a dash", "{\"type\":\"enum\",\"name\":\"a-b\",\"symbols\":[\"A\"]}", NOT_OURS, 0},
    {"non-ASCII name", REC(FIELD("\xc3\xa9t\xc3\xa9", "\"int\"")), NOT_OURS, 0},
    {"field name with a dot", REC(FIELD("a.b", "\"int\"")), NOT_OURS, 0},
    {"empty name", "{\"type\":\"fixed\",\"name\":\"\",\"size\":1}", NOT_OURS, 0},
    {"U+0000 in a name", "{\"type\":\"fixed\",\"name\":\"F\\u0000\",\"size\":1}", NOT_OURS, 0},
    {"U+0000 in a field name", REC(FIELD("a\\u0000", "\"int\"")), NOT_OURS, 0},
    {"U+0000 in a symbol", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\\u0000\"]}",
     NOT_OURS, 0},
    /* namespaces */
    {"namespace with an empty part", REC_NS("a..b", ""), NOT_OURS, 0},
    {"namespace ending in a dot", REC_NS("a.", ""), NOT_OURS, 0},
    {"dotted name with an empty part", "{\"type\":\"fixed\",\"name\":\"a..F\",\"size\":1}",
     NOT_OURS, 0},
    {"name starting with a dot", "{\"type\":\"fixed\",\"name\":\".F\",\"size\":1}", NOT_OURS, 0},
    {"dotted name", "{\"type\":\"fixed\",\"name\":\"a.b.F\",\"size\":1}", ACCEPT, ACCEPT},
    {"empty namespace", REC_NS("", FIELD("f", "\"int\"")), ACCEPT, ACCEPT},
    {"nested type inherits the namespace",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}") "," FIELD(
                     "g", "\"F\"") "," FIELD("h", "\"a.F\"")),
     ACCEPT, ACCEPT},
    {"nested type in no namespace (\"\")",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":\"\",\"size\":1}")),
     UNDECIDED, ACCEPT},
    {"nested type in no namespace (null)",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":null,\"size\":1}")),
     UNDECIDED, ACCEPT},
    /* Avro C takes "namespace": null as absent: both F are a.F to it */
    {"namespace null clashes in Avro C",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":null,\"size\":1}") "," FIELD(
                     "g", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}")),
     UNDECIDED, REFUSE},
    {"type in another namespace by full name",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"b.F\",\"size\":1}") "," FIELD(
                     "g", "{\"type\":\"record\",\"name\":\"S\",\"namespace\":\"c\",\"fields\":["
                          "{\"name\":\"x\",\"type\":\"b.F\"}]}")),
     ACCEPT, ACCEPT},
    /* duplicates */
    {"duplicate type name",
     REC(FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}") "," FIELD(
         "g", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}")),
     NOT_OURS, 0},
    {"duplicate field name", REC(FIELD("f", "\"int\"") "," FIELD("f", "\"long\"")), NOT_OURS, 0},
    {"duplicate symbol", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[\"A\",\"A\"]}", NOT_OURS,
     0},
    {"duplicate union branch", "[\"int\",\"int\"]", NOT_OURS, 0},
    {"duplicate JSON key", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1,\"size\":2}", NOT_OURS,
     0},
    {"empty enum", "{\"type\":\"enum\",\"name\":\"E\",\"symbols\":[]}", NOT_OURS, 0},
    {"error type", "{\"type\":\"error\",\"name\":\"E\",\"fields\":[]}", NOT_OURS, 0},
    {"nested type object", "{\"type\":{\"type\":\"int\"}}", NOT_OURS, 0},
    {"fixed size as a real", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1.0}", NOT_OURS, 0},
    {"negative fixed size", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":-1}", NOT_OURS, 0},
    {"use before definition", REC(FIELD("g", "\"F\"") "," FIELD(
                                  "f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}")),
     NOT_OURS, 0},
    /* logical types: Avro C 1.11 does not read them; ours drops invalid ones */
    {"decimal", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}",
     ACCEPT, ACCEPT},
    {"decimal scale above precision",
     "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":9}", ACCEPT, ACCEPT},
    {"decimal precision 0", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":0}",
     ACCEPT, ACCEPT},
    {"decimal negative scale",
     "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":3,\"scale\":-1}", ACCEPT,
     ACCEPT},
    {"decimal too wide for its fixed",
     "{\"type\":\"fixed\",\"name\":\"D\",\"size\":2,\"logicalType\":\"decimal\",\"precision\":10}",
     ACCEPT, ACCEPT},
    {"duration of the wrong size",
     "{\"type\":\"fixed\",\"name\":\"D\",\"size\":11,\"logicalType\":\"duration\"}", ACCEPT, ACCEPT},
    {"timestamp on an int", "{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", ACCEPT,
     ACCEPT},
    /* empty unions: Avro C refuses them, both gates give them a "null" branch */
    {"empty union", "[]", ACCEPT, ACCEPT},
    {"field of an empty union", REC(FIELD("f", "[]")), ACCEPT, ACCEPT},
    {"array of an empty union", "{\"type\":\"array\",\"items\":[]}", ACCEPT, ACCEPT},
    /* U+0000: refused by Avro C's JSON loader, written U+0001 by the text gate */
    {"U+0000 in a doc", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1,\"doc\":\"\\u0000\"}", ACCEPT, ACCEPT},
    {"U+0000 in docs and defaults",
     "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"a\\u0000b\",\"fields\":["
     "{\"name\":\"b\",\"type\":\"bytes\",\"default\":\"\\u0000\",\"doc\":\"\\u0000\"},"
     "{\"name\":\"s\",\"type\":\"string\",\"default\":\"x\\u0000y\"},"
     "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},"
     "\"default\":\"\\u0000\"}]}",
     ACCEPT, ACCEPT},
    {"escaped backslash before u0000", REC(FIELD("f", "\"int\"") ",{\"name\":\"g\",\"type\":"
                                                                "\"string\",\"doc\":\"\\\\u0000\"}"),
     ACCEPT, ACCEPT},
    /* recursion and uses */
    {"linked list",
     "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
     "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}",
     ACCEPT, ACCEPT},
    {"tree", "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
             "{\"name\":\"kids\",\"type\":{\"type\":\"array\",\"items\":\"T\"}},"
             "{\"name\":\"idx\",\"type\":{\"type\":\"map\",\"values\":\"x.T\"}}]}",
     ACCEPT, ACCEPT},
    {"mutual recursion",
     REC(FIELD("a", "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"r\",\"type\":"
                    "[\"null\",\"R\"]}]}") "," FIELD("b", "\"A\"")),
     ACCEPT, ACCEPT},
    /* named types called like Avro C's keywords */
    {"type named record, defined", "{\"type\":\"record\",\"name\":\"record\",\"fields\":[]}",
     ACCEPT, ACCEPT},
    {"type named record, used",
     REC(FIELD("f", "{\"type\":\"record\",\"name\":\"record\",\"fields\":[]}") "," FIELD(
         "g", "\"record\"")),
     REFUSE, REFUSE},
    {"type named fixed, used in an object",
     REC(FIELD("f", "{\"type\":\"fixed\",\"name\":\"fixed\",\"size\":1}") "," FIELD(
         "g", "[\"null\",\"fixed\"]")),
     REFUSE, REFUSE},
    {"type named map, used", REC(FIELD("f", "{\"type\":\"enum\",\"name\":\"map\",\"symbols\":[\"A\"]}") "," FIELD("g", "{\"type\":\"array\",\"items\":\"map\"}")),
     REFUSE, REFUSE},
    {"type named enum, used by full name",
     REC_NS("a", FIELD("f", "{\"type\":\"enum\",\"name\":\"enum\",\"symbols\":[\"A\"]}") "," FIELD(
                     "g", "\"a.enum\"")),
     UNDECIDED, ACCEPT},
    {"type named enum, used by simple name",
     REC_NS("a", FIELD("f", "{\"type\":\"enum\",\"name\":\"enum\",\"symbols\":[\"A\"]}") "," FIELD(
                     "g", "\"enum\"")),
     UNDECIDED, REFUSE},
    {"type named array, used from another namespace",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"b.array\",\"size\":1}") "," FIELD(
                     "g", "\"b.array\"")),
     ACCEPT, ACCEPT},
    {"type named error, used", REC(FIELD("f", "{\"type\":\"record\",\"name\":\"error\",\"fields\":[]}") "," FIELD("g", "\"error\"")),
     ACCEPT, ACCEPT},
    {"type named union, used", REC(FIELD("f", "{\"type\":\"record\",\"name\":\"union\",\"fields\":[]}") "," FIELD("g", "\"union\"")),
     ACCEPT, ACCEPT},
};

static void test_edges(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        const edge *e = &edges[i];
        verdicts v;

        judge(&v, e->json, strlen(e->json), NULL);
        if (v.tree != e->tree)
            fail_msg("%s: tree gate gives %d, expected %d (%s%s)", e->name, v.tree, e->tree,
                     v.tree_msg, v.text_msg);
        if (e->tree != NOT_OURS && v.text != e->text)
            fail_msg("%s: text gate gives %d, expected %d (%s)", e->name, v.text, e->text,
                     v.text_msg);
        if (v.tree == ACCEPT || v.tree == REFUSE)
            assert_int_equal(v.tree, v.text);
    }
}

/* A record of n int fields. */
static char *wide(size_t n)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    chan_buf_puts(&b, "{\"type\":\"record\",\"name\":\"Wide\",\"namespace\":\"w\",\"fields\":[");
    for (i = 0; i < n; i++)
        chan_buf_printf(&b, "%s{\"name\":\"f%zu\",\"type\":%s}", i ? "," : "", i,
                        i % 3 == 0   ? "\"int\""
                        : i % 3 == 1 ? "[\"null\",\"string\"]"
                                     : "{\"type\":\"map\",\"values\":\"long\"}");
    chan_buf_puts(&b, "]}");
    return chan_buf_take(&b);
}

/* Records nested depth deep, the innermost using the outermost. */
static char *deep(size_t depth, const char *innermost_field)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    for (i = 0; i < depth; i++)
        chan_buf_printf(&b,
                        "{\"type\":\"record\",\"name\":\"N%zu\",\"namespace\":\"d%zu\","
                        "\"fields\":[{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"n\",\"type\":",
                        i, i % 7);
    chan_buf_puts(&b, innermost_field);
    for (i = 0; i < depth; i++)
        chan_buf_puts(&b, "}]}");
    return chan_buf_take(&b);
}

static void test_large(void **state)
{
    char *w = wide(1000), *d = deep(200, "\"d0.N0\""), *bad = deep(200, "\"N0\"");

    (void)state;
    assert_int_equal(agree("1,000 fields", w, strlen(w), NULL), ACCEPT);
    assert_int_equal(agree("200 deep", d, strlen(d), NULL), ACCEPT);
    /* "N0" in namespace d6 is d6.N0: unknown, our parser refuses it */
    assert_int_equal(agree("200 deep, unknown name", bad, strlen(bad), NULL), NOT_OURS);
    free(w);
    free(d);
    free(bad);
}

/* Schemas with references: the text gate reads the inline text. */
static void test_references(void **state)
{
    static const char *texts[] = {
        "{\"type\":\"record\",\"name\":\"Money\",\"namespace\":\"m\",\"fields\":["
        "{\"name\":\"units\",\"type\":\"long\"},{\"name\":\"cur\",\"type\":{\"type\":\"enum\","
        "\"name\":\"Currency\",\"symbols\":[\"EUR\",\"USD\"]}}]}",
        "{\"type\":\"fixed\",\"name\":\"record\",\"size\":4}",
        "{\"type\":\"enum\",\"name\":\"x.map\",\"symbols\":[\"A\"]}",
    };
    static const chan_avro_reference refs[] = {
        {.name = "m.Money", .subject = "money", .version = 1},
        {.name = "record", .subject = "rec", .version = 1},
        {.name = "x.map", .subject = "map", .version = 1},
    };
    static const struct {
        const char *json;
        int verdict;
    } cases[] = {
        {REC_NS("a", FIELD("price", "\"m.Money\"") "," FIELD("c", "\"m.Currency\"")), ACCEPT},
        {REC(FIELD("price", "[\"null\",\"m.Money\"]") "," FIELD("u", "\"x.map\"")), ACCEPT},
        {REC_NS("m", FIELD("a", "\"Money\"") "," FIELD("b", "\"Money\"")), ACCEPT},
        {REC(FIELD("b", "{\"type\":\"bytes\",\"default\":\"\\u0000\"}") "," FIELD(
             "c", "\"m.Money\"")),
         ACCEPT},
        /* the first use is where the inline text defines the type */
        {REC(FIELD("r", "\"record\"")), ACCEPT},
        /* no namespace: a second use is written "record", which Avro C reads as the keyword */
        {REC(FIELD("r", "\"record\"") "," FIELD("s", "\"record\"")), REFUSE},
        {REC_NS("x", FIELD("m", "\"map\"") "," FIELD("n", "\"x.map\"")), ACCEPT},
    };
    chan_avro_parse_refs pr = {.refs = refs, .n_refs = 3, .texts = texts, .n_texts = 3};
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[32];

        snprintf(what, sizeof(what), "references case %zu", i);
        if (agree(what, cases[i].json, strlen(cases[i].json), &pr) != cases[i].verdict)
            fail_msg("%s: expected %d", what, cases[i].verdict);
    }
}

/*
** Where the gates differ on purpose: the text gate of a schema with
** references and an empty union hands Avro C the schema's own text without
** the referenced types (avro_c_gate rewrites schema->root, not the inline
** text), so Avro C refuses a type it does not know; the tree gate judges
** the schema with its references in place, as for every other schema.
*/
static void test_references_with_empty_union(void **state)
{
    static const char *texts[] = {"{\"type\":\"fixed\",\"name\":\"m.F\",\"size\":4}"};
    static const chan_avro_reference refs[] = {{.name = "m.F", .subject = "f", .version = 1}};
    static const char json[] = REC(FIELD("f", "\"m.F\"") "," FIELD("e", "[]"));
    chan_avro_parse_refs pr = {.refs = refs, .n_refs = 1, .texts = texts, .n_texts = 1};
    verdicts v;

    (void)state;
    judge(&v, json, strlen(json), &pr);
    assert_int_equal(v.tree, ACCEPT);
    assert_int_equal(v.text, REFUSE);
    assert_non_null(strstr(v.text_msg, "m.F"));
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpora),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_references_with_empty_union),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
        return 2;
    }
    source_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
