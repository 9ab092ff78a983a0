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
 * Usage: bench_avro [SECONDS_PER_FIGURE]   (default 1.0)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/avro.h"
#include "chan/common.h"

#define N_SMALL 1000

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

static chan_avro_schema *parse_or_die(const char *json)
{
    chan_avro_schema *s = NULL;
    chan_error err = CHAN_ERROR_INIT;

    if (chan_avro_schema_parse(&s, json, strlen(json), &err) < 0) {
        fprintf(stderr, "bench_avro: generated schema rejected: %s\n", err.message);
        exit(1);
    }
    return s;
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

int main(int argc, char **argv)
{
    double budget = argc > 1 ? strtod(argv[1], NULL) : 1.0;
    char *w_json[N_SMALL], *r_json[N_SMALL], *big[2], *deep[2];
    chan_avro_schema *w[N_SMALL], *r[N_SMALL], *bw, *br, *dw, *dr;
    size_t i, incompatible = 0;
    double per_check, per_parse;

    if (budget <= 0)
        budget = 1.0;
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
