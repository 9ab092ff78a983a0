/*
 * test_cgate_tree.c - the tree gate (chan_avro__cgate_tree) gives the verdict
 * of the text gate: every schema our parser accepts is handed to both, and
 * their answers must match.
 *
 * The text gate is the one schema.c has run on new texts (avro_c_gate):
 * Avro C (chan_avro__cgate) reads the schema's text, or for a schema with
 * references the text chan_avro__write(CHAN_AVRO_W_INLINE) makes, with
 * U+0000 written U+0001 and every empty union given the branch "null" (the
 * workarounds are copied here, so that the comparison does not depend on
 * which gate schema.c runs).  Its one departure from schema.c: with
 * references and an empty union, schema.c's avro_c_gate hands Avro C the
 * schema's own text without the referenced types (it rewrites
 * schema->root), and so refuses such schemas when they use a referenced
 * type; here the inline text gets the same workaround as any other.
 *
 * chan_avro__cgate_names (the same walk without Avro C) must answer as
 * chan_avro__cgate_tree on every schema.
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
#include <jansson.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "avro_int.h"
#include "cgate.h"
#include "cgate_tree.h"

/* Avro C 1.11 leaks part of the schema it was building when it refuses a
 * text; LeakSanitizer ignores what the text gate allocates (only). */
#if defined(__SANITIZE_ADDRESS__)
#define HAVE_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HAVE_LSAN 1
#endif
#endif
#ifdef HAVE_LSAN
#include <sanitizer/lsan_interface.h>
#define TEXT_GATE_BEGIN() __lsan_disable()
#define TEXT_GATE_END()   __lsan_enable()
#else
#define TEXT_GATE_BEGIN() ((void)0)
#define TEXT_GATE_END()   ((void)0)
#endif

#define CORPUS_MAX_SIZE (1u << 22)
#define SEPARATOR       "\n----\n"

static const char *source_dir;

enum {
    ACCEPT = 0,
    REFUSE = -1,
    UNDECIDED = CHAN_AVRO_CGATE_UNDECIDED,
    NOT_OURS = 2,
};

typedef struct verdicts {
    int tree; /* ACCEPT, REFUSE, UNDECIDED; NOT_OURS when our parser refuses */
    int text; /* ACCEPT or REFUSE (meaningless when tree is NOT_OURS) */
    char tree_msg[256];
    char text_msg[512];
} verdicts;

/* A union without branches anywhere in the schema or its referenced texts. */
static bool has_empty_union(const chan_avro_schema *s)
{
    size_t i;

    for (i = 0; i < s->n_nodes; i++)
        if (s->nodes[i]->kind == AVRO_UNION && s->nodes[i]->n_branches == 0)
            return true;
    return false;
}

/* True when the text contains the escape \u0000 (possibly a false positive). */
static bool has_escaped_nul(const char *s, size_t len)
{
    size_t i;

    for (i = 0; i + 6 <= len; i++)
        if (s[i] == '\\' && memcmp(s + i + 1, "u0000", 5) == 0)
            return true;
    return false;
}

/* U+0000 in every string of j as U+0001 (same length). */
static void replace_nul(json_t *j)
{
    json_t *v;
    void *it;
    size_t i;

    if (json_is_string(j) && strlen(json_string_value(j)) != json_string_length(j)) {
        size_t n = json_string_length(j);
        char *copy = chan_xmalloc(n + 1);

        memcpy(copy, json_string_value(j), n + 1);
        for (i = 0; i < n; i++)
            if (copy[i] == '\0')
                copy[i] = '\1';
        json_string_setn(j, copy, n);
        free(copy);
    } else if (json_is_array(j)) {
        for (i = 0; i < json_array_size(j) && (v = json_array_get(j, i)) != NULL; i++)
            replace_nul(v);
    } else if (json_is_object(j)) {
        for (it = json_object_iter(j); it; it = json_object_iter_next(j, it))
            replace_nul(json_object_iter_value(it));
    }
}

/* Every empty union of the type t gets the branch "null". */
static void fill_empty_unions(json_t *t)
{
    json_t *v, *f;
    const char *type;
    size_t i;

    if (json_is_array(t)) {
        if (json_array_size(t) == 0)
            json_array_append_new(t, json_string("null"));
        for (i = 0; i < json_array_size(t) && (v = json_array_get(t, i)) != NULL; i++)
            fill_empty_unions(v);
        return;
    }
    if (!json_is_object(t))
        return;
    v = json_object_get(t, "type");
    type = json_string_value(v);
    if (type == NULL) {
        fill_empty_unions(v);
    } else if (strcmp(type, "record") == 0 || strcmp(type, "error") == 0) {
        v = json_object_get(t, "fields");
        for (i = 0; i < json_array_size(v) && (f = json_array_get(v, i)) != NULL; i++)
            fill_empty_unions(json_object_get(f, "type"));
    } else if (strcmp(type, "array") == 0) {
        fill_empty_unions(json_object_get(t, "items"));
    } else if (strcmp(type, "map") == 0) {
        fill_empty_unions(json_object_get(t, "values"));
    }
}

/* The text gate on schema s parsed from json: ACCEPT or REFUSE, Avro C's message in msg. */
static int text_gate(const chan_avro_schema *s, const char *json, size_t len, char *msg,
                     size_t msg_size)
{
    char *inline_text = NULL, *dumped = NULL;
    json_t *copy = NULL;
    int rc;

    if (s->n_ref_texts > 0) { /* Avro C knows nothing of references: they go in place */
        inline_text = chan_avro__write(s, CHAN_AVRO_W_INLINE);
        json = inline_text;
        len = strlen(inline_text);
    }
    if (has_escaped_nul(json, len) || has_empty_union(s)) {
        json_error_t jerr;

        copy = json_loadb(json, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
        if (copy) {
            replace_nul(copy);
            fill_empty_unions(copy);
            dumped = json_dumps(copy, JSON_COMPACT | JSON_ENCODE_ANY);
            assert_non_null(dumped);
            json = dumped;
            len = strlen(dumped);
        }
    }
    TEXT_GATE_BEGIN();
    rc = chan_avro__cgate(json, len, msg, msg_size);
    TEXT_GATE_END();
    free(dumped);
    json_decref(copy);
    free(inline_text);
    return rc == 0 ? ACCEPT : REFUSE;
}

/* Both gates on one text (refs may be NULL). */
static void judge(verdicts *v, const char *json, size_t len, const chan_avro_parse_refs *refs)
{
    chan_error err = CHAN_ERROR_INIT;
    chan_avro_schema *s = NULL;
    char names_msg[256];

    memset(v, 0, sizeof(*v));
    if (chan_avro_schema_parse_opts(&s, json, len, refs, CHAN_AVRO_PARSE_STORED, &err) != 0) {
        v->tree = NOT_OURS;
        snprintf(v->text_msg, sizeof(v->text_msg), "%s", err.message);
        return;
    }
    v->tree = chan_avro__cgate_tree(s, v->tree_msg, sizeof(v->tree_msg));
    /* the walk without Avro C gives the same answer, with the same message */
    assert_int_equal(chan_avro__cgate_names(s, names_msg, sizeof(names_msg)), v->tree);
    assert_string_equal(names_msg, v->tree_msg);
    v->text = text_gate(s, json, len, v->text_msg, sizeof(v->text_msg));
    chan_avro_schema_free(s);
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
    /* the schemas people write are decided on the tree; the fuzz regressions
     * are edge cases, some of them of the kinds left to the text gate */
    static const struct {
        const char *dir, *suffix;
        bool decided;
    } roots[] = {
        {"schemas", ".avsc", true},
        {"tests/fixtures", ".avsc", true},
        {"tests/fuzz/regressions/avro", NULL, false},
    };
    tally t = {0};
    size_t i, undecided = 0;

    (void)state;
    for (i = 0; i < sizeof(roots) / sizeof(roots[0]); i++) {
        char *dir = chan_xasprintf("%s/%s", source_dir, roots[i].dir);

        judge_tree(&t, dir, roots[i].suffix, 0);
        free(dir);
        if (roots[i].decided)
            undecided = t.undecided;
    }
    print_message("corpora: %zu accepted, %zu refused by both gates, %zu left to the text gate, "
                  "%zu refused by our parser\n",
                  t.accepted, t.refused, t.undecided, t.not_ours);
    /* the corpora are there and mostly valid: the comparison is not empty */
    assert_true(t.accepted >= 60);
    assert_int_equal(undecided, 0);
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
    {"array of map", "{\"type\":\"array\",\"items\":{\"type\":\"map\",\"values\":\"long\"}}",
     ACCEPT, ACCEPT},
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
    /* "namespace": null is no namespace given, as in Avro C, Java and Python */
    {"nested type with namespace null inherits",
     REC_NS("a", FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":null,\"size\":1}")),
     ACCEPT, ACCEPT},
    /* both F are a.F: our parser refuses the second one as Avro C does */
    {"namespace null: the same name twice",
     REC_NS(
         "a",
         FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"namespace\":null,\"size\":1}") "," FIELD(
             "g", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":2}")),
     NOT_OURS, 0},
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
    {"use before definition",
     REC(FIELD("g", "\"F\"") "," FIELD("f", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1}")),
     NOT_OURS, 0},
    /* logical types: Avro C 1.11 does not read them; ours drops invalid ones */
    {"decimal", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":9,\"scale\":2}",
     ACCEPT, ACCEPT},
    {"decimal scale above precision",
     "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":2,\"scale\":9}", ACCEPT,
     ACCEPT},
    {"decimal precision 0", "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":0}",
     ACCEPT, ACCEPT},
    {"decimal negative scale",
     "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":3,\"scale\":-1}", ACCEPT,
     ACCEPT},
    {"decimal too wide for its fixed",
     "{\"type\":\"fixed\",\"name\":\"D\",\"size\":2,\"logicalType\":\"decimal\",\"precision\":10}",
     ACCEPT, ACCEPT},
    {"duration of the wrong size",
     "{\"type\":\"fixed\",\"name\":\"D\",\"size\":11,\"logicalType\":\"duration\"}", ACCEPT,
     ACCEPT},
    {"timestamp on an int", "{\"type\":\"int\",\"logicalType\":\"timestamp-millis\"}", ACCEPT,
     ACCEPT},
    /* empty unions: Avro C refuses them, both gates give them a "null" branch */
    {"empty union", "[]", ACCEPT, ACCEPT},
    {"field of an empty union", REC(FIELD("f", "[]")), ACCEPT, ACCEPT},
    {"array of an empty union", "{\"type\":\"array\",\"items\":[]}", ACCEPT, ACCEPT},
    /* U+0000: refused by Avro C's JSON loader, written U+0001 by the text gate */
    {"U+0000 in a doc", "{\"type\":\"fixed\",\"name\":\"F\",\"size\":1,\"doc\":\"\\u0000\"}",
     ACCEPT, ACCEPT},
    {"U+0000 in docs and defaults",
     "{\"type\":\"record\",\"name\":\"R\",\"doc\":\"a\\u0000b\",\"fields\":["
     "{\"name\":\"b\",\"type\":\"bytes\",\"default\":\"\\u0000\",\"doc\":\"\\u0000\"},"
     "{\"name\":\"s\",\"type\":\"string\",\"default\":\"x\\u0000y\"},"
     "{\"name\":\"f\",\"type\":{\"type\":\"fixed\",\"name\":\"F\",\"size\":1},"
     "\"default\":\"\\u0000\"}]}",
     ACCEPT, ACCEPT},
    {"escaped backslash before u0000",
     REC(FIELD("f", "\"int\"") ",{\"name\":\"g\",\"type\":"
                               "\"string\",\"doc\":\"\\\\u0000\"}"),
     ACCEPT, ACCEPT},
    /* recursion and uses */
    {"linked list",
     "{\"type\":\"record\",\"name\":\"Node\",\"fields\":[{\"name\":\"v\",\"type\":\"int\"},"
     "{\"name\":\"next\",\"type\":[\"null\",\"Node\"]}]}",
     ACCEPT, ACCEPT},
    {"tree",
     "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
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
    {"type named map, used",
     REC(FIELD("f", "{\"type\":\"enum\",\"name\":\"map\",\"symbols\":[\"A\"]}") "," FIELD(
         "g", "{\"type\":\"array\",\"items\":\"map\"}")),
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
    {"type named error, used",
     REC(FIELD("f", "{\"type\":\"record\",\"name\":\"error\",\"fields\":[]}") "," FIELD(
         "g", "\"error\"")),
     ACCEPT, ACCEPT},
    {"type named union, used",
     REC(FIELD("f", "{\"type\":\"record\",\"name\":\"union\",\"fields\":[]}") "," FIELD(
         "g", "\"union\"")),
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

/* Records nested depth deep (names P0..), the innermost field of type innermost. */
static char *deep(size_t depth, const char *prefix, const char *innermost)
{
    chan_buf b = CHAN_BUF_INIT;
    size_t i;

    for (i = 0; i < depth; i++)
        chan_buf_printf(&b,
                        "{\"type\":\"record\",\"name\":\"%s%zu\",\"namespace\":\"d%zu\","
                        "\"fields\":[{\"name\":\"x\",\"type\":\"int\"},{\"name\":\"n\",\"type\":",
                        prefix, i, i % 7);
    chan_buf_puts(&b, innermost);
    for (i = 0; i < depth; i++)
        chan_buf_puts(&b, "}]}");
    return chan_buf_take(&b);
}

static void test_large(void **state)
{
    char *w = wide(1000), *d = deep(200, "N", "\"d0.N0\""), *bad = deep(200, "N", "\"N0\"");

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
        {REC(FIELD("b", "{\"type\":\"bytes\",\"default\":\"\\u0000\"}") "," FIELD("c",
                                                                                  "\"m.Money\"")),
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

/* References and empty unions: the inline text gets its "null" branches too. */
static void test_references_with_empty_union(void **state)
{
    static const char *texts[] = {"{\"type\":\"record\",\"name\":\"m.R\",\"fields\":["
                                  "{\"name\":\"e\",\"type\":[]}]}"};
    static const chan_avro_reference refs[] = {{.name = "m.R", .subject = "r", .version = 1}};
    static const char json[] = REC(FIELD("f", "\"m.R\"") "," FIELD("e", "[]") "," FIELD(
        "g", "{\"type\":\"array\",\"items\":[]}"));
    chan_avro_parse_refs pr = {.refs = refs, .n_refs = 1, .texts = texts, .n_texts = 1};

    (void)state;
    assert_int_equal(agree("references and empty unions", json, strlen(json), &pr), ACCEPT);
}

/*
** Where the gates differ: with references, the text gate reads one text with
** every referenced type written in place, which can nest deeper than
** jansson's limit (2,048 levels) although no text does: three texts of
** records 240 deep, each used at the bottom of the next.
*/
static void test_references_nested_deeper_than_jansson(void **state)
{
    char *t1 = deep(240, "A", "\"int\""), *t2 = deep(240, "B", "\"d0.A0\""),
         *json = deep(240, "C", "\"d0.B0\"");
    const char *texts[] = {t1, t2};
    static const chan_avro_reference refs[] = {{.name = "d0.B0", .subject = "b", .version = 1}};
    chan_avro_parse_refs pr = {.refs = refs, .n_refs = 1, .texts = texts, .n_texts = 2};
    verdicts v;

    (void)state;
    judge(&v, json, strlen(json), &pr);
    assert_int_equal(v.tree, ACCEPT);
    assert_int_equal(v.text, REFUSE);
    assert_non_null(strstr(v.text_msg, "depth"));
    /* two texts stay within the limit: the gates agree */
    pr.n_texts = 1;
    free(json);
    json = deep(240, "C", "\"d0.A0\"");
    {
        static const chan_avro_reference one[] = {{.name = "d0.A0", .subject = "a", .version = 1}};

        pr.refs = one;
        assert_int_equal(agree("two texts 240 deep", json, strlen(json), &pr), ACCEPT);
    }
    free(t1);
    free(t2);
    free(json);
}

/* ------------------------------------------------------------------ */
/* Generated schemas                                                   */
/* ------------------------------------------------------------------ */

/*
** Random schemas built from the parts where the gates could differ: names
** that are Avro C's keywords, namespaces absent, "", null, plain or dotted,
** uses by simple and by full name (some of them wrong), empty unions, U+0000
** in docs, recursion.  Fixed seed: the same schemas on every run.
*/
typedef struct gen {
    uint64_t state;
    chan_buf b;
    char *names[64]; /* full names defined so far (as our parser names them) */
    size_t n_names;
} gen;

static unsigned pick(gen *g, unsigned n)
{
    g->state = g->state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)((g->state >> 33) % n);
}

static void gen_type(gen *g, const char *ns, int depth);

/* A named type's head: "type", "name" and maybe "namespace"; its namespace into *out. */
static void gen_named_head(gen *g, const char *kind, const char *ns, char **out)
{
    static const char *const simple[] = {"record", "enum", "array", "map",  "fixed", "error",
                                         "union",  "A",    "B",     "Node", "_x1"};
    static const char *const spaces[] = {"a", "b.c", "record", "x.enum"};
    const char *name = simple[pick(g, CHAN_ARRAY_SIZE(simple))];
    char *full = NULL;

    chan_buf_printf(&g->b, "{\"type\":\"%s\",", kind);
    if (pick(g, 6) == 0)
        chan_buf_puts(&g->b, "\"doc\":\"n\\u0000l\",");
    switch (pick(g, 6)) {
    case 0: /* absent: the enclosing namespace */
        chan_buf_printf(&g->b, "\"name\":\"%s\"", name);
        full = *ns ? chan_xasprintf("%s.%s", ns, name) : chan_xstrdup(name);
        break;
    case 1:
        chan_buf_printf(&g->b, "\"name\":\"%s\",\"namespace\":\"\"", name);
        full = chan_xstrdup(name);
        break;
    case 2:
        chan_buf_printf(&g->b, "\"name\":\"%s\",\"namespace\":null", name);
        full = chan_xstrdup(name);
        break;
    case 3: {
        const char *sp = spaces[pick(g, CHAN_ARRAY_SIZE(spaces))];

        chan_buf_printf(&g->b, "\"name\":\"%s\",\"namespace\":\"%s\"", name, sp);
        full = chan_xasprintf("%s.%s", sp, name);
        break;
    }
    default: {
        const char *sp = spaces[pick(g, CHAN_ARRAY_SIZE(spaces))];

        chan_buf_printf(&g->b, "\"name\":\"%s.%s\"", sp, name);
        full = chan_xasprintf("%s.%s", sp, name);
        break;
    }
    }
    if (g->n_names < CHAN_ARRAY_SIZE(g->names))
        g->names[g->n_names++] = chan_xstrdup(full);
    *out = full;
}

/* A use of a name defined earlier: full name, simple name, or a wrong one. */
static void gen_use(gen *g, const char *ns)
{
    const char *full = g->names[pick(g, (unsigned)g->n_names)], *dot = strrchr(full, '.');

    switch (pick(g, 4)) {
    case 0:
    case 1:
        chan_buf_printf(&g->b, "\"%s\"", dot ? dot + 1 : full);
        break;
    case 2:
        chan_buf_printf(&g->b, "\"%s\"", full);
        break;
    default:
        chan_buf_printf(&g->b, "{\"type\":\"%s\"}", (dot && pick(g, 2)) ? dot + 1 : full);
        break;
    }
    (void)ns;
}

static void gen_type(gen *g, const char *ns, int depth)
{
    static const char *const prims[] = {"null", "int", "string", "bytes"};
    unsigned what = depth > 4 ? pick(g, 2) : pick(g, 9);
    size_t i, n;
    char *full = NULL, *sub;

    if (what == 1 && g->n_names == 0)
        what = 0;
    switch (what) {
    case 0:
        chan_buf_printf(&g->b, "\"%s\"", prims[pick(g, CHAN_ARRAY_SIZE(prims))]);
        break;
    case 1:
        gen_use(g, ns);
        break;
    case 2:
    case 3:
        gen_named_head(g, "record", ns, &full);
        sub = chan_xstrndup(full, strrchr(full, '.') ? (size_t)(strrchr(full, '.') - full) : 0);
        chan_buf_puts(&g->b, ",\"fields\":[");
        for (i = 0, n = pick(g, 4); i < n; i++) {
            chan_buf_printf(&g->b, "%s{\"name\":\"f%zu\",\"type\":", i ? "," : "", i);
            gen_type(g, sub, depth + 1);
            chan_buf_putc(&g->b, '}');
        }
        chan_buf_puts(&g->b, "]}");
        free(sub);
        break;
    case 4:
        gen_named_head(g, "enum", ns, &full);
        chan_buf_puts(&g->b, ",\"symbols\":[\"S\",\"T\"]}");
        break;
    case 5:
        gen_named_head(g, "fixed", ns, &full);
        chan_buf_printf(&g->b, ",\"size\":%u}", pick(g, 20));
        break;
    case 6:
        chan_buf_puts(&g->b, pick(g, 2) ? "{\"type\":\"array\",\"items\":"
                                        : "{\"type\":\"map\",\"values\":");
        gen_type(g, ns, depth + 1);
        chan_buf_putc(&g->b, '}');
        break;
    default:
        chan_buf_putc(&g->b, '[');
        for (i = 0, n = pick(g, 4); i < n; i++) {
            if (i)
                chan_buf_putc(&g->b, ',');
            gen_type(g, ns, depth + 1);
        }
        chan_buf_putc(&g->b, ']');
        break;
    }
    free(full);
}

static void test_generated(void **state)
{
    tally t = {0};
    gen g = {.state = 42};
    size_t i, k;

    (void)state;
    for (i = 0; i < 20000; i++) {
        char what[48];

        chan_buf_init(&g.b);
        gen_type(&g, "", 0);
        snprintf(what, sizeof(what), "generated schema %zu", i);
        if (i < 3)
            print_message("%s: %s\n", what, chan_buf_cstr(&g.b));
        count(&t, agree(what, chan_buf_cstr(&g.b), g.b.len, NULL));
        chan_buf_dispose(&g.b);
        for (k = 0; k < g.n_names; k++)
            free(g.names[k]);
        g.n_names = 0;
    }
    print_message("generated: %zu accepted, %zu refused by both gates, %zu left to the text "
                  "gate, %zu refused by our parser\n",
                  t.accepted, t.refused, t.undecided, t.not_ours);
    /* each verdict is reached often enough to compare */
    assert_true(t.accepted >= 1000 && t.refused >= 100 && t.undecided >= 100);
}

/* The same with references: a generated text referenced by a generated schema. */
static void test_generated_references(void **state)
{
    static const chan_avro_reference ref = {.name = "r", .subject = "s", .version = 1};
    tally t = {0};
    gen g = {.state = 7};
    size_t i, k;

    (void)state;
    for (i = 0; i < 10000; i++) {
        char what[48], *text;
        const char *texts[1];
        chan_avro_parse_refs pr = {.refs = &ref, .n_refs = 1, .texts = texts, .n_texts = 1};

        chan_buf_init(&g.b);
        gen_type(&g, "", 0);
        text = chan_buf_take(&g.b);
        texts[0] = text;
        chan_buf_init(&g.b); /* the names of the referenced text stay usable */
        gen_type(&g, "", 0);
        snprintf(what, sizeof(what), "generated schema %zu with a reference", i);
        count(&t, agree(what, chan_buf_cstr(&g.b), g.b.len, &pr));
        chan_buf_dispose(&g.b);
        free(text);
        for (k = 0; k < g.n_names; k++)
            free(g.names[k]);
        g.n_names = 0;
    }
    print_message("generated with references: %zu accepted, %zu refused by both gates, %zu "
                  "refused by our parser\n",
                  t.accepted, t.refused, t.not_ours);
    /* with references the tree decides every case */
    assert_int_equal(t.undecided, 0);
    assert_true(t.accepted >= 1000 && t.refused >= 20);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_corpora),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_large),
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_references_with_empty_union),
        cmocka_unit_test(test_references_nested_deeper_than_jansson),
        cmocka_unit_test(test_generated),
        cmocka_unit_test(test_generated_references),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s SOURCE_DIR\n", argv[0]);
        return 2;
    }
    source_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
