/*
 * bench_compat.c - throughput of the Avro compatibility engine.
 *
 * Generates a corpus of schema pairs in memory, parses them once, then
 * times chan_avro_can_read on:
 *   - small pairs: records of 4-12 fields mixing primitives, promotions,
 *     optional unions, enums, arrays and maps, most of them incompatible
 *     (removed enum symbols, added fields without default);
 *   - a 1,000-field record against a changed copy of itself;
 *   - records nested 200 levels deep.
 * Each figure is printed as checks per second and microseconds per check,
 * next to the parse time of the same schemas in the same process as a
 * reference ratio.
 *
 * Then the figure the goal is stated on: "parse both + check" pairs per
 * second (parse the writer's text, parse the reader's text, check, free) on
 * the three corpora, next to the same work done by the Java Avro library
 * (AvroPeer.java, compiled into the build directory at run time when javac
 * and the jars are there) and the Python one (avro_peer.py, when an
 * interpreter with the avro package is there).  The corpora are written to
 * a temporary directory, one schema per line, so every peer parses the very
 * same texts; each side times itself after a warm-up (Java's JIT gets at
 * least 5 s, and more while rounds still get faster) and counts the best of
 * three rounds.  All sides run on one CPU, the one bench_avro starts on.
 *
 * Then the cost of the Avro C gate on the same corpora, per schema: the text
 * gate (chan_avro__cgate: Avro C reads the text with jansson, as schema.c
 * runs it on a new text) next to the tree gate (chan_avro__cgate_tree: Avro
 * C's constructors on the parsed schema), with the parse of a stored text
 * (no gate) as the reference of both, and the names-only walk
 * (chan_avro__cgate_names: the tree gate's verdict without Avro C).
 *
 * Usage: bench_avro [SECONDS_PER_FIGURE]   (default 1.0)
 *
 * Environment: AVRO_JAVA_CLASSPATH (default: Debian's libavro-java jars),
 * AVRO_PYTHON (default: the first of /usr/bin/python3, python3 that imports
 * avro), CHAN_BENCH_NO_PEERS=1 to skip the peers, CHAN_BENCH_CORPUS_DIR=DIR
 * to write the corpora into DIR (kept) instead of a temporary directory.
 */
#define _GNU_SOURCE /* sched_getcpu, CPU_SET */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "cgate.h"
#include "cgate_tree.h"

#define N_SMALL 1000

#ifndef CHAN_BENCH_AVRO_SRC_DIR
#define CHAN_BENCH_AVRO_SRC_DIR "bench/avro"
#endif
#ifndef CHAN_BENCH_AVRO_BIN_DIR
#define CHAN_BENCH_AVRO_BIN_DIR "."
#endif

/* Debian's libavro-java 1.8.2 and what it needs at run time. */
#define DEBIAN_AVRO_CLASSPATH                                                                      \
    "/usr/share/java/avro.jar:/usr/share/java/jackson-core-asl.jar:"                               \
    "/usr/share/java/jackson-mapper-asl.jar:/usr/share/java/slf4j-api.jar:"                        \
    "/usr/share/java/slf4j-nop.jar"

/* One corpus of the peer comparison: writer/reader texts, pairwise. */
typedef struct corpus {
    const char *name;
    const char *file; /* file name in the temporary directory */
    char *const *writers;
    char *const *readers;
    size_t n;
    double ours, java, python; /* pairs per second, 0: not measured */
    double ours_stored;        /* ours, texts parsed as stored ones (no Avro C gate) */
    long incompatible;         /* ours, per pass */
    long java_incompatible, python_incompatible;
} corpus;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Tiny deterministic generator, so every run measures the same corpus. */
static unsigned long rng_state = 88172645463325252UL;

static unsigned rnd(unsigned n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

/*
 * One small record.  `variant` 0 is the writer; 1 the evolved reader, which
 * widens, adds defaulted fields and sometimes breaks something.
 */
static char *small_schema(unsigned seed, int variant)
{
    static const char *const types[] = {"\"int\"", "\"long\"", "\"string\"", "\"double\"",
                                        "[\"null\",\"string\"]"};
    chan_buf b = CHAN_BUF_INIT;
    unsigned saved = (unsigned)rng_state, n, i;

    rng_state = 0x9E3779B97F4A7C15UL ^ seed;
    n = 4 + rnd(9);
    chan_buf_printf(&b,
                    "{\"type\":\"record\",\"name\":\"Msg%u\",\"namespace\":\"bench\","
                    "\"fields\":[",
                    seed);
    for (i = 0; i < n; i++) {
        unsigned t = rnd(CHAN_ARRAY_SIZE(types) + 3);

        chan_buf_printf(&b, "%s{\"name\":\"f%u\",\"type\":", i ? "," : "", i);
        if (t < CHAN_ARRAY_SIZE(types)) {
            /* int widens to long in the reader */
            chan_buf_puts(&b, variant && t == 0 ? "\"long\"" : types[t]);
        } else if (t == CHAN_ARRAY_SIZE(types)) {
            chan_buf_printf(&b, "{\"type\":\"enum\",\"name\":\"E%u\",\"symbols\":[\"A\",\"B\"%s]}",
                            i, variant ? "" : ",\"C\"");
        } else if (t == CHAN_ARRAY_SIZE(types) + 1) {
            chan_buf_puts(&b, "{\"type\":\"array\",\"items\":\"float\"}");
        } else {
            chan_buf_puts(&b, "{\"type\":\"map\",\"values\":\"long\"}");
        }
        chan_buf_putc(&b, '}');
    }
    if (variant)
        chan_buf_printf(&b, ",{\"name\":\"added\",\"type\":\"int\"%s}",
                        seed % 2 ? ",\"default\":0" : "");
    chan_buf_puts(&b, "]}");
    rng_state = saved;
    return chan_buf_take(&b);
}

static char *wide_schema(int variant)
{
    chan_buf b = CHAN_BUF_INIT;
    int i;

    chan_buf_puts(&b, "{\"type\":\"record\",\"name\":\"Wide\",\"fields\":[");
    for (i = 0; i < 1000; i++)
        chan_buf_printf(&b, "%s{\"name\":\"field_%04d\",\"type\":\"%s\"}", i ? "," : "",
                        variant ? 999 - i : i, (i % 3 == 0 && variant) ? "long" : "int");
    chan_buf_puts(&b, "]}");
    return chan_buf_take(&b);
}

static char *deep_schema(int depth, int variant)
{
    chan_buf b = CHAN_BUF_INIT;
    int i;

    for (i = 0; i < depth; i++)
        chan_buf_printf(&b,
                        "{\"type\":\"record\",\"name\":\"L%d\",\"fields\":[{\"name\":\"v\","
                        "\"type\":\"%s\"},{\"name\":\"child\",\"type\":",
                        i, variant ? "long" : "int");
    chan_buf_puts(&b, "\"string\"");
    for (i = 0; i < depth; i++)
        chan_buf_puts(&b, "}]}");
    return chan_buf_take(&b);
}

static chan_avro_schema *parse_flags_or_die(const char *json, unsigned flags)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_avro_schema_parse_opts(&s, json, strlen(json), NULL, flags, &err) < 0) {
        fprintf(stderr, "bench_avro: generated schema rejected: %s\n", err.message);
        exit(1);
    }
    return s;
}

static chan_avro_schema *parse_or_die(const char *json)
{
    return parse_flags_or_die(json, 0);
}

/* Seconds per parse of `json`, averaged over at least `budget` seconds. */
static double time_parse(char *const *json, size_t n, double budget)
{
    double t0 = now(), t;
    size_t done = 0;

    do {
        chan_avro_schema_free(parse_or_die(json[done % n]));
        done++;
    } while ((t = now() - t0) < budget);
    return t / (double)done;
}

/* Seconds per check, averaged over at least `budget` seconds. */
static double time_checks(chan_avro_schema *const *readers, chan_avro_schema *const *writers,
                          size_t n, double budget, bool with_report, size_t *out_incompatible)
{
    double t0 = now(), t;
    size_t done = 0, incompatible = 0;

    do {
        size_t i;

        for (i = 0; i < n; i++) {
            chan_compat_report *rep = with_report ? chan_compat_report_new() : NULL;

            if (!chan_avro_can_read(readers[i], writers[i], rep))
                incompatible++;
            chan_compat_report_free(rep);
        }
        done += n;
    } while ((t = now() - t0) < budget);
    if (out_incompatible)
        *out_incompatible = incompatible * n / done;
    return t / (double)done;
}

static void print_row(const char *what, double per_check, double per_parse)
{
    printf("%-34s %12.0f checks/s %10.2f us/check   parse %9.2f us/schema   check/parse %.3f\n",
           what, 1.0 / per_check, per_check * 1e6, per_parse * 1e6, per_check / per_parse);
}

/*
 * Seconds per item of pass (which handles `items` items per call): a
 * warm-up round, then the best of three rounds of at least budget seconds
 * each, as the peers count.
 */
static double best_of_three(void (*pass)(void *arg), void *arg, size_t items, double budget)
{
    double best = 0;
    int round;

    for (round = -1; round < 3; round++) {
        double t0 = now(), t;
        size_t done = 0;

        do {
            pass(arg);
            done += items;
        } while ((t = now() - t0) < budget && round >= 0);
        if (round >= 0 && (best == 0 || t / (double)done < best))
            best = t / (double)done;
    }
    return best;
}

typedef struct parse_check_pass {
    corpus *c;
    unsigned flags;
} parse_check_pass;

static void parse_check_once(void *arg)
{
    parse_check_pass *a = arg;
    size_t i;
    long incompatible = 0;

    for (i = 0; i < a->c->n; i++) {
        chan_avro_schema *w = parse_flags_or_die(a->c->writers[i], a->flags);
        chan_avro_schema *r = parse_flags_or_die(a->c->readers[i], a->flags);
        chan_compat_report *rep = chan_compat_report_new();

        if (!chan_avro_can_read(r, w, rep))
            incompatible++;
        chan_compat_report_free(rep);
        chan_avro_schema_free(r);
        chan_avro_schema_free(w);
    }
    a->c->incompatible = incompatible;
}

/*
 * Pairs per second of "parse both + check" on a corpus: what a registry
 * does with two texts it has not parsed before.
 */
static double time_parse_check(corpus *c, double budget, unsigned flags)
{
    parse_check_pass a = {c, flags};

    return 1.0 / best_of_three(parse_check_once, &a, c->n, budget);
}

typedef struct gate_pass {
    char *const *json;
    chan_avro_schema *const *parsed;
    size_t n;
    int which; /* -1: stored parse; 0: text gate; 1: tree gate; 2: names only */
} gate_pass;

static void gate_once(void *arg)
{
    const gate_pass *a = arg;
    size_t i;

    for (i = 0; i < a->n; i++) {
        char msg[256];
        int rc;

        if (a->which < 0) {
            chan_avro_schema_free(parse_flags_or_die(a->json[i], CHAN_AVRO_PARSE_STORED));
            continue;
        }
        rc = a->which == 1   ? chan_avro__cgate_tree(a->parsed[i], msg, sizeof(msg))
             : a->which == 2 ? chan_avro__cgate_names(a->parsed[i], msg, sizeof(msg))
                             : chan_avro__cgate(a->json[i], strlen(a->json[i]), msg, sizeof(msg));
        if (rc != 0) {
            fprintf(stderr, "bench_avro: gate %d refuses a generated schema: %s\n", a->which,
                    rc < 0 ? msg : "undecided");
            exit(1);
        }
    }
}

/*
 * Seconds per schema of one gate over the n schemas of a corpus (texts and
 * their parsed schemas): the text gate (which 0), the tree gate (1) or the
 * names-only walk (2).
 */
static double time_gate(char *const *json, chan_avro_schema *const *parsed, size_t n, double budget,
                        int which)
{
    gate_pass a = {json, parsed, n, which};

    return best_of_three(gate_once, &a, n, budget);
}

/* Seconds per stored parse (no gate) over a corpus. */
static double time_stored_parse(char *const *json, size_t n, double budget)
{
    gate_pass a = {json, NULL, n, -1};

    return best_of_three(gate_once, &a, n, budget);
}

/*
 * The Avro C gate per schema on the writers of each corpus: text gate, tree
 * gate, and the stored parse they add to.  The schemas have no U+0000 and no
 * empty union, so the text gate is chan_avro__cgate on the text itself.
 */
static void compare_gates(const corpus *cs, size_t n, double budget)
{
    size_t i, k;

    printf("\nAvro C gate per schema, writers of each corpus (text/tree = text gate / tree gate;"
           " names: the tree gate's walk without Avro C)\n");
    printf("%-20s %10s %12s %12s %9s %10s %13s %13s\n", "corpus", "parse us", "text gate",
           "tree gate", "text/tree", "names", "parse+text", "parse+tree");
    for (i = 0; i < n; i++) {
        chan_avro_schema **parsed = chan_xcalloc(cs[i].n, sizeof(*parsed));
        double parse, text, tree, names;

        for (k = 0; k < cs[i].n; k++)
            parsed[k] = parse_flags_or_die(cs[i].writers[k], CHAN_AVRO_PARSE_STORED);
        parse = time_stored_parse(cs[i].writers, cs[i].n, budget);
        text = time_gate(cs[i].writers, parsed, cs[i].n, budget, 0);
        tree = time_gate(cs[i].writers, parsed, cs[i].n, budget, 1);
        names = time_gate(cs[i].writers, parsed, cs[i].n, budget, 2);
        printf("%-20s %10.2f %9.2f us %9.2f us %9.2f %7.2f us %10.2f us %10.2f us\n", cs[i].name,
               parse * 1e6, text * 1e6, tree * 1e6, text / tree, names * 1e6, (parse + text) * 1e6,
               (parse + tree) * 1e6);
        for (k = 0; k < cs[i].n; k++)
            chan_avro_schema_free(parsed[k]);
        free(parsed);
    }
}

/* Write a corpus as one schema per line (writer, reader, writer, ...). */
static int write_corpus(const char *dir, const corpus *c)
{
    char path[512];
    FILE *f;
    size_t i;
    int ok;

    snprintf(path, sizeof(path), "%s/%s", dir, c->file);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    for (i = 0; i < c->n; i++)
        fprintf(f, "%s\n%s\n", c->writers[i], c->readers[i]);
    ok = ferror(f) == 0;
    return fclose(f) == 0 && ok ? 0 : -1;
}

/* A path fit to be quoted in a shell command ('...'). */
static bool shell_safe(const char *s)
{
    return strchr(s, '\'') == NULL;
}

/*
 * Run a peer command and read its "<file> <pairs/s> <incompatible>" lines
 * into the corpora (java: which field).  Returns 0 when every corpus got a
 * figure.  Other lines ("mode ...") go to *mode when given.
 */
static int read_peer(const char *cmd, corpus *cs, size_t n, bool java, char *mode, size_t mode_size)
{
    char line[1024];
    FILE *p = popen(cmd, "r");
    size_t got = 0, i;

    if (!p)
        return -1;
    while (fgets(line, sizeof(line), p)) {
        char file[512];
        double rate;
        long incompatible;

        if (mode && strncmp(line, "mode ", 5) == 0) {
            size_t len = strcspn(line + 5, "\n");

            if (len >= mode_size)
                len = mode_size - 1;
            memcpy(mode, line + 5, len);
            mode[len] = '\0';
            continue;
        }
        if (sscanf(line, "%511s %lf %ld", file, &rate, &incompatible) != 3)
            continue;
        for (i = 0; i < n; i++) {
            const char *slash = strrchr(file, '/');

            if (strcmp(slash ? slash + 1 : file, cs[i].file) != 0)
                continue;
            if (java) {
                cs[i].java = rate;
                cs[i].java_incompatible = incompatible;
            } else {
                cs[i].python = rate;
                cs[i].python_incompatible = incompatible;
            }
            got++;
        }
    }
    return pclose(p) == 0 && got == n ? 0 : -1; /* figures that came are kept */
}

/* The corpus files of cs as shell arguments. */
static void corpus_args(chan_buf *b, const char *dir, const corpus *cs, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        chan_buf_printf(b, " '%s/%s'", dir, cs[i].file);
}

static void run_java(const char *dir, corpus *cs, size_t n, double budget, chan_buf *notes)
{
    const char *cp = getenv("AVRO_JAVA_CLASSPATH");
    const char *bin = CHAN_BENCH_AVRO_BIN_DIR, *src = CHAN_BENCH_AVRO_SRC_DIR;
    chan_buf cmd = CHAN_BUF_INIT;

    if (!cp || !*cp)
        cp = DEBIAN_AVRO_CLASSPATH;
    if (!shell_safe(cp) || !shell_safe(bin) || !shell_safe(src)) {
        chan_buf_puts(notes, "java: skipped (a path contains a quote)\n");
        goto cleanup;
    }
    chan_buf_printf(&cmd,
                    "command -v javac >/dev/null 2>&1 && mkdir -p '%s/avro-peer' && "
                    "javac -nowarn -d '%s/avro-peer' -cp '%s' '%s/AvroPeer.java' >/dev/null 2>&1",
                    bin, bin, cp, src);
    /* popen's shell reports javac's status through pclose */
    {
        FILE *p = popen(chan_buf_cstr(&cmd), "r");

        if (!p || pclose(p) != 0) {
            chan_buf_printf(notes,
                            "java: skipped (no javac, or AvroPeer.java does not compile with "
                            "classpath %s; install default-jdk-headless and libavro-java, or set "
                            "AVRO_JAVA_CLASSPATH)\n",
                            cp);
            goto cleanup;
        }
    }
    chan_buf_clear(&cmd);
    /* the JIT's warm-up: at least 5 s per corpus, whatever the budget */
    chan_buf_printf(&cmd, "java -cp '%s/avro-peer:%s' AvroPeer %.3f %.3f", bin, cp, budget,
                    budget > 5.0 ? budget : 5.0);
    corpus_args(&cmd, dir, cs, n);
    chan_buf_puts(&cmd, " 2>/dev/null");
    if (read_peer(chan_buf_cstr(&cmd), cs, n, true, NULL, 0) != 0)
        chan_buf_puts(notes, "java: the peer failed; its figures are missing\n");
    else
        chan_buf_printf(notes, "java: Apache Avro (classpath %s)\n", cp);
cleanup:
    chan_buf_dispose(&cmd);
}

static void run_python(const char *dir, corpus *cs, size_t n, double budget, chan_buf *notes)
{
    const char *cands[] = {getenv("AVRO_PYTHON"), "/usr/bin/python3", "python3"};
    const char *src = CHAN_BENCH_AVRO_SRC_DIR, *py = NULL;
    chan_buf cmd = CHAN_BUF_INIT;
    char mode[64] = "";
    size_t i;

    for (i = 0; i < CHAN_ARRAY_SIZE(cands) && !py; i++) {
        FILE *p;

        if (!cands[i] || !*cands[i] || !shell_safe(cands[i]))
            continue;
        chan_buf_clear(&cmd);
        chan_buf_printf(&cmd, "cd / && '%s' -c 'import avro.schema' >/dev/null 2>&1", cands[i]);
        if ((p = popen(chan_buf_cstr(&cmd), "r")) != NULL && pclose(p) == 0)
            py = cands[i];
    }
    if (!py || !shell_safe(src)) {
        chan_buf_puts(notes, "python: skipped (no interpreter with the avro package; "
                             "install python3-avro or set AVRO_PYTHON)\n");
        goto cleanup;
    }
    chan_buf_clear(&cmd);
    chan_buf_printf(&cmd, "'%s' '%s/avro_peer.py' %.3f", py, src, budget);
    corpus_args(&cmd, dir, cs, n);
    if (read_peer(chan_buf_cstr(&cmd), cs, n, false, mode, sizeof(mode)) != 0)
        chan_buf_puts(notes, "python: the peer failed; its figures are missing\n");
    else
        chan_buf_printf(notes, "python: %s avro (%s)\n", py,
                        strcmp(mode, "check") == 0 ? "parse both + check"
                                                   : "PARSE ONLY: no compatibility checker");
    for (i = 0; i < n && strcmp(mode, "check") != 0; i++)
        cs[i].python_incompatible = -1;
cleanup:
    chan_buf_dispose(&cmd);
}

static void fmt_rate(char *buf, size_t size, double rate)
{
    if (rate > 0)
        snprintf(buf, size, "%.0f/s", rate);
    else
        snprintf(buf, size, "-");
}

static void fmt_ratio(char *buf, size_t size, double ours, double peer)
{
    if (peer > 0)
        snprintf(buf, size, "%.2fx", ours / peer);
    else
        snprintf(buf, size, "-");
}

/* The goal's figure: parse both + check, ours against the peers. */
static void compare_with_peers(corpus *cs, size_t n, double budget)
{
    char dir[] = "/tmp/chanreg-avro-XXXXXX", path[512];
    chan_buf notes = CHAN_BUF_INIT;
    const char *no_peers = getenv("CHAN_BENCH_NO_PEERS");
    const char *keep = getenv("CHAN_BENCH_CORPUS_DIR");
    const char *where = dir;
    bool have_dir = false;
    size_t i;

    for (i = 0; i < n; i++) {
        cs[i].ours = time_parse_check(&cs[i], budget, 0);
        cs[i].ours_stored = time_parse_check(&cs[i], budget, CHAN_AVRO_PARSE_STORED);
    }
    if (no_peers && strcmp(no_peers, "1") == 0) {
        chan_buf_puts(&notes, "peers: skipped (CHAN_BENCH_NO_PEERS=1)\n");
    } else if (keep && *keep && shell_safe(keep)) {
        where = keep;
    } else if (mkdtemp(dir) == NULL) {
        chan_buf_puts(&notes, "peers: skipped (cannot create a temporary directory)\n");
        where = NULL;
    } else {
        have_dir = true;
    }
    if (where && !(no_peers && strcmp(no_peers, "1") == 0)) {
        for (i = 0; i < n; i++)
            if (write_corpus(where, &cs[i]) != 0)
                break;
        if (i < n) {
            chan_buf_puts(&notes, "peers: skipped (cannot write the corpora)\n");
        } else {
            run_java(where, cs, n, budget, &notes);
            run_python(where, cs, n, budget, &notes);
        }
    }
    printf("\nparse both + check, pairs per second (ratio = chanreg / peer; goal >= 1.0 vs "
           "Java).\n\"new\": texts never seen (with the Avro C gate); \"stored\": texts "
           "accepted before (CHAN_AVRO_PARSE_STORED, no gate)\n");
    printf("%-20s %10s %10s %8s %8s %10s %8s %8s  %s\n", "corpus", "new", "stored", "java",
           "new/java", "python", "new/py", "stored/j", "incompatible (chanreg/java/python)");
    for (i = 0; i < n; i++) {
        char o[32], st[32], j[32], jr[16], p[32], pr[16], sr[16];

        fmt_rate(o, sizeof(o), cs[i].ours);
        fmt_rate(st, sizeof(st), cs[i].ours_stored);
        fmt_rate(j, sizeof(j), cs[i].java);
        fmt_ratio(jr, sizeof(jr), cs[i].ours, cs[i].java);
        fmt_ratio(sr, sizeof(sr), cs[i].ours_stored, cs[i].java);
        fmt_rate(p, sizeof(p), cs[i].python);
        fmt_ratio(pr, sizeof(pr), cs[i].ours, cs[i].python);
        printf("%-20s %10s %10s %8s %8s %10s %8s %8s  %ld/%ld/%ld\n", cs[i].name, o, st, j, jr, p,
               pr, sr, cs[i].incompatible, cs[i].java > 0 ? cs[i].java_incompatible : -1,
               cs[i].python > 0 ? cs[i].python_incompatible : -1);
    }
    fputs(chan_buf_cstr(&notes), stdout);
    if (have_dir) {
        for (i = 0; i < n; i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, cs[i].file);
            unlink(path);
        }
        rmdir(dir);
    }
    chan_buf_dispose(&notes);
}

/*
 * Run on the CPU we started on, and so do the peers (popen's children inherit
 * the mask): the CPUs of a virtual machine can differ in speed by half or
 * more at times, and a ratio of two figures taken on different CPUs would
 * measure that.  Java's compiler and collector threads then share that CPU
 * with the thread they serve; the C side has no such threads.
 */
static void pin_to_one_cpu(void)
{
    cpu_set_t set;
    int cpu = sched_getcpu();

    CPU_ZERO(&set);
    if (cpu >= 0)
        CPU_SET(cpu, &set);
    if (cpu < 0 || sched_setaffinity(0, sizeof(set), &set) != 0)
        printf("every side runs where the system puts it (could not pin to one CPU)\n");
    else
        printf("every side runs on CPU %d (chanreg, Java and Python)\n", cpu);
}

int main(int argc, char **argv)
{
    double budget = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    char *w_json[N_SMALL], *r_json[N_SMALL], *big[2], *deep[2];
    chan_avro_schema *w[N_SMALL], *r[N_SMALL], *bw, *br, *dw, *dr;
    size_t i, incompatible = 0;
    double per_check, per_parse;

    if (budget <= 0)
        budget = 1.0;
    pin_to_one_cpu();
    for (i = 0; i < N_SMALL; i++) {
        w_json[i] = small_schema((unsigned)i, 0);
        r_json[i] = small_schema((unsigned)i, 1);
        w[i] = parse_or_die(w_json[i]);
        r[i] = parse_or_die(r_json[i]);
    }
    printf("corpus: %d small pairs (%zu bytes for the first writer)\n", N_SMALL, strlen(w_json[0]));

    per_parse = time_parse(w_json, N_SMALL, budget);
    per_check = time_checks(r, w, N_SMALL, budget, true, &incompatible);
    printf("small pairs: %zu of %d incompatible\n", incompatible, N_SMALL);
    print_row("small, with report", per_check, per_parse);
    per_check = time_checks(r, w, N_SMALL, budget, false, NULL);
    print_row("small, yes/no only", per_check, per_parse);
    per_check = time_checks(w, w, N_SMALL, budget, false, NULL);
    print_row("small, identical", per_check, per_parse);

    big[0] = wide_schema(0);
    big[1] = wide_schema(1);
    bw = parse_or_die(big[0]);
    br = parse_or_die(big[1]);
    per_parse = time_parse(big, 1, budget);
    per_check = time_checks(&br, &bw, 1, budget, true, NULL);
    print_row("1,000 fields, shuffled+widened", per_check, per_parse);

    deep[0] = deep_schema(200, 0);
    deep[1] = deep_schema(200, 1);
    dw = parse_or_die(deep[0]);
    dr = parse_or_die(deep[1]);
    per_parse = time_parse(deep, 1, budget);
    per_check = time_checks(&dr, &dw, 1, budget, true, NULL);
    print_row("200 nested records", per_check, per_parse);

    {
        corpus cs[] = {
            {.name = "small (1,000 pairs)",
             .file = "small.txt",
             .writers = w_json,
             .readers = r_json,
             .n = N_SMALL},
            {.name = "1,000 fields",
             .file = "wide.txt",
             .writers = &big[0],
             .readers = &big[1],
             .n = 1},
            {.name = "200 nested records",
             .file = "nested.txt",
             .writers = &deep[0],
             .readers = &deep[1],
             .n = 1},
        };

        fflush(stdout);
        compare_with_peers(cs, CHAN_ARRAY_SIZE(cs), budget);
        compare_gates(cs, CHAN_ARRAY_SIZE(cs), budget);
    }

    for (i = 0; i < N_SMALL; i++) {
        chan_avro_schema_free(w[i]);
        chan_avro_schema_free(r[i]);
        free(w_json[i]);
        free(r_json[i]);
    }
    chan_avro_schema_free(bw);
    chan_avro_schema_free(br);
    chan_avro_schema_free(dw);
    chan_avro_schema_free(dr);
    for (i = 0; i < 2; i++) {
        free(big[i]);
        free(deep[i]);
    }
    return 0;
}
