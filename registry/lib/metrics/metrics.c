/*
 * metrics.c - the metrics registry and its Prometheus text rendering.
 *
 * One mutex guards the whole registry: updates are a lookup in a short
 * per-family series array and an addition, so contention stays low at the
 * request rates of a registry, and rendering sees a consistent snapshot.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chan/metrics.h"

typedef struct metric_series {
    char **values;      /* n_labels label values, then NULL */
    double value;       /* counter/gauge value, histogram sum */
    double count;       /* histogram observation count */
    double *bucket_cnt; /* histogram cumulative counts per bucket (n_buckets) */
} metric_series;

struct chan_metric_family {
    chan_metrics *owner;
    char *name;
    char *help;
    chan_metric_type type;
    char *labels[CHAN_METRIC_MAX_LABELS];
    size_t n_labels;
    double *buckets;
    size_t n_buckets;
    metric_series *series;
    size_t n_series;
    size_t cap_series;
};

struct chan_metrics {
    pthread_mutex_t lock;
    chan_metric_family **families;
    size_t n_families;
};

chan_metrics *chan_metrics_new(void)
{
    chan_metrics *m = chan_xcalloc(1, sizeof(*m));

    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void series_dispose(metric_series *s, size_t n_labels)
{
    size_t i;

    for (i = 0; i < n_labels; i++)
        free(s->values[i]);
    free(s->values);
    free(s->bucket_cnt);
}

static void family_free(chan_metric_family *f)
{
    size_t i;

    for (i = 0; i < f->n_series; i++)
        series_dispose(&f->series[i], f->n_labels);
    for (i = 0; i < f->n_labels; i++)
        free(f->labels[i]);
    free(f->series);
    free(f->buckets);
    free(f->name);
    free(f->help);
    free(f);
}

void chan_metrics_free(chan_metrics *metrics)
{
    size_t i;

    if (metrics == NULL)
        return;
    for (i = 0; i < metrics->n_families; i++)
        family_free(metrics->families[i]);
    free(metrics->families);
    pthread_mutex_destroy(&metrics->lock);
    free(metrics);
}

/* True when s matches [a-zA-Z_<extra>][a-zA-Z0-9_<extra>]*. */
static bool valid_name(const char *s, bool allow_colon)
{
    size_t i;

    if (s == NULL || *s == '\0')
        return false;
    for (i = 0; s[i]; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
                  (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');

        if (!ok)
            return false;
    }
    return true;
}

static bool same_shape(const chan_metric_family *f, chan_metric_type type,
                       const char *const *label_names, size_t n_labels)
{
    size_t i;

    if (f->type != type || f->n_labels != n_labels)
        return false;
    for (i = 0; i < n_labels; i++)
        if (strcmp(f->labels[i], label_names[i]) != 0)
            return false;
    return true;
}

int chan_metrics_family(chan_metric_family **out, chan_metrics *metrics, const char *name,
                        const char *help, chan_metric_type type, const char *const *label_names,
                        size_t n_labels, const double *buckets, size_t n_buckets, chan_error *err)
{
    chan_metric_family *f = NULL;
    int error = 0;
    size_t i;

    *out = NULL;
    if (!valid_name(name, true))
        return chan_error_set(err, CHAN_EINVALID, "invalid metric name \"%s\"", name ? name : "");
    if (n_labels > CHAN_METRIC_MAX_LABELS)
        return chan_error_set(err, CHAN_EINVALID, "metric %s: more than %d labels", name,
                              CHAN_METRIC_MAX_LABELS);
    for (i = 0; i < n_labels; i++) {
        if (!valid_name(label_names[i], false) || strncmp(label_names[i], "__", 2) == 0 ||
            (type == CHAN_METRIC_HISTOGRAM && strcmp(label_names[i], "le") == 0))
            return chan_error_set(err, CHAN_EINVALID, "metric %s: invalid label name \"%s\"", name,
                                  label_names[i] ? label_names[i] : "");
    }
    if (type == CHAN_METRIC_HISTOGRAM) {
        if (buckets == NULL || n_buckets == 0)
            return chan_error_set(err, CHAN_EINVALID, "histogram %s needs buckets", name);
        for (i = 0; i < n_buckets; i++) {
            if (!isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
                return chan_error_set(err, CHAN_EINVALID,
                                      "histogram %s: buckets must be finite and increasing", name);
        }
    }

    pthread_mutex_lock(&metrics->lock);
    for (i = 0; i < metrics->n_families; i++) {
        if (strcmp(metrics->families[i]->name, name) == 0) {
            if (!same_shape(metrics->families[i], type, label_names, n_labels)) {
                error = chan_error_set(err, CHAN_EINVALID,
                                       "metric %s redefined with another type or labels", name);
                goto cleanup;
            }
            *out = metrics->families[i];
            goto cleanup;
        }
    }
    f = chan_xcalloc(1, sizeof(*f));
    f->owner = metrics;
    f->name = chan_xstrdup(name);
    f->help = chan_xstrdup(help ? help : "");
    f->type = type;
    f->n_labels = n_labels;
    for (i = 0; i < n_labels; i++)
        f->labels[i] = chan_xstrdup(label_names[i]);
    if (type == CHAN_METRIC_HISTOGRAM) {
        f->buckets = chan_xreallocarray(NULL, n_buckets, sizeof(double));
        memcpy(f->buckets, buckets, n_buckets * sizeof(double));
        f->n_buckets = n_buckets;
    }
    metrics->families =
        chan_xreallocarray(metrics->families, metrics->n_families + 1, sizeof(*metrics->families));
    metrics->families[metrics->n_families++] = f;
    *out = f;

cleanup:
    pthread_mutex_unlock(&metrics->lock);
    return error;
}

/*
 * Find the series with these label values, creating it when create is true.
 * The caller holds the registry lock.  Returns NULL only when !create and the
 * series does not exist.
 */
static metric_series *series_find(chan_metric_family *f, const char *const *values, bool create)
{
    metric_series *s;
    size_t i, j;

    for (i = 0; i < f->n_series; i++) {
        for (j = 0; j < f->n_labels; j++)
            if (strcmp(f->series[i].values[j], values[j] ? values[j] : "") != 0)
                break;
        if (j == f->n_labels)
            return &f->series[i];
    }
    if (!create)
        return NULL;
    if (f->n_series == f->cap_series) {
        f->cap_series = f->cap_series ? f->cap_series * 2 : 8;
        f->series = chan_xreallocarray(f->series, f->cap_series, sizeof(*f->series));
    }
    s = &f->series[f->n_series++];
    memset(s, 0, sizeof(*s));
    s->values = chan_xcalloc(f->n_labels + 1, sizeof(char *));
    for (j = 0; j < f->n_labels; j++)
        s->values[j] = chan_xstrdup(values[j] ? values[j] : "");
    if (f->type == CHAN_METRIC_HISTOGRAM)
        s->bucket_cnt = chan_xcalloc(f->n_buckets, sizeof(double));
    return s;
}

void chan_metric_add(chan_metric_family *family, const char *const *label_values, double v)
{
    metric_series *s;

    if (family == NULL || !(v >= 0) || family->type != CHAN_METRIC_COUNTER)
        return;
    pthread_mutex_lock(&family->owner->lock);
    s = series_find(family, label_values, true);
    s->value += v;
    pthread_mutex_unlock(&family->owner->lock);
}

void chan_metric_set(chan_metric_family *family, const char *const *label_values, double v)
{
    metric_series *s;

    if (family == NULL || family->type != CHAN_METRIC_GAUGE)
        return;
    pthread_mutex_lock(&family->owner->lock);
    s = series_find(family, label_values, true);
    s->value = v;
    pthread_mutex_unlock(&family->owner->lock);
}

void chan_metric_observe(chan_metric_family *family, const char *const *label_values, double v)
{
    metric_series *s;
    size_t i;

    if (family == NULL || family->type != CHAN_METRIC_HISTOGRAM || isnan(v))
        return;
    pthread_mutex_lock(&family->owner->lock);
    s = series_find(family, label_values, true);
    s->value += v;
    s->count += 1;
    for (i = 0; i < family->n_buckets; i++)
        if (v <= family->buckets[i])
            s->bucket_cnt[i] += 1;
    pthread_mutex_unlock(&family->owner->lock);
}

int chan_metric_value(double *out, chan_metric_family *family, const char *const *label_values)
{
    metric_series *s;
    int error = 0;

    pthread_mutex_lock(&family->owner->lock);
    s = series_find(family, label_values, false);
    if (s == NULL)
        error = CHAN_ENOTFOUND;
    else
        *out = family->type == CHAN_METRIC_HISTOGRAM ? s->count : s->value;
    pthread_mutex_unlock(&family->owner->lock);
    return error;
}

void chan_metric_family_reset(chan_metric_family *family)
{
    size_t i;

    if (family == NULL)
        return;
    pthread_mutex_lock(&family->owner->lock);
    for (i = 0; i < family->n_series; i++)
        series_dispose(&family->series[i], family->n_labels);
    family->n_series = 0;
    pthread_mutex_unlock(&family->owner->lock);
}

/* ------------------------------------------------------------------ */

/* HELP text escapes backslash and newline; label values also '"'. */
static void put_escaped(chan_buf *out, const char *s, bool quote)
{
    for (; *s; s++) {
        if (*s == '\\')
            chan_buf_puts(out, "\\\\");
        else if (*s == '\n')
            chan_buf_puts(out, "\\n");
        else if (quote && *s == '"')
            chan_buf_puts(out, "\\\"");
        else
            chan_buf_putc(out, *s);
    }
}

/* Shortest of %.15g..%.17g that reads back as the same double. */
static void put_number(chan_buf *out, double v)
{
    char tmp[64];
    int prec;

    if (isnan(v)) {
        chan_buf_puts(out, "NaN");
        return;
    }
    if (isinf(v)) {
        chan_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }
    for (prec = 15; prec < 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
    chan_buf_puts(out, tmp);
}

/* Write `{a="x",b="y"` plus an optional le label, then `}` — nothing when empty. */
static void put_labels(chan_buf *out, const chan_metric_family *f, const metric_series *s,
                       const char *le)
{
    size_t i;

    if (f->n_labels == 0 && le == NULL)
        return;
    chan_buf_putc(out, '{');
    for (i = 0; i < f->n_labels; i++) {
        if (i > 0)
            chan_buf_putc(out, ',');
        chan_buf_printf(out, "%s=\"", f->labels[i]);
        put_escaped(out, s->values[i], true);
        chan_buf_putc(out, '"');
    }
    if (le != NULL)
        chan_buf_printf(out, "%sle=\"%s\"", f->n_labels ? "," : "", le);
    chan_buf_putc(out, '}');
}

/* Compare label values in order; both arrays are NULL-terminated, equally long. */
static int series_cmp(const void *pa, const void *pb)
{
    const metric_series *a = pa, *b = pb;
    size_t i;
    int c;

    for (i = 0; a->values[i] != NULL; i++) {
        c = strcmp(a->values[i], b->values[i]);
        if (c != 0)
            return c;
    }
    return 0;
}

static void render_family(chan_buf *out, chan_metric_family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    size_t i, b;

    chan_buf_printf(out, "# HELP %s ", f->name);
    put_escaped(out, f->help, false);
    chan_buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
    if (f->n_series > 1)
        qsort(f->series, f->n_series, sizeof(*f->series), series_cmp);
    for (i = 0; i < f->n_series; i++) {
        const metric_series *s = &f->series[i];

        if (f->type != CHAN_METRIC_HISTOGRAM) {
            chan_buf_puts(out, f->name);
            put_labels(out, f, s, NULL);
            chan_buf_putc(out, ' ');
            put_number(out, s->value);
            chan_buf_putc(out, '\n');
            continue;
        }
        for (b = 0; b < f->n_buckets; b++) {
            chan_buf le = CHAN_BUF_INIT;

            put_number(&le, f->buckets[b]);
            chan_buf_printf(out, "%s_bucket", f->name);
            put_labels(out, f, s, chan_buf_cstr(&le));
            chan_buf_putc(out, ' ');
            put_number(out, s->bucket_cnt[b]);
            chan_buf_putc(out, '\n');
            chan_buf_dispose(&le);
        }
        chan_buf_printf(out, "%s_bucket", f->name);
        put_labels(out, f, s, "+Inf");
        chan_buf_putc(out, ' ');
        put_number(out, s->count);
        chan_buf_printf(out, "\n%s_sum", f->name);
        put_labels(out, f, s, NULL);
        chan_buf_putc(out, ' ');
        put_number(out, s->value);
        chan_buf_printf(out, "\n%s_count", f->name);
        put_labels(out, f, s, NULL);
        chan_buf_putc(out, ' ');
        put_number(out, s->count);
        chan_buf_putc(out, '\n');
    }
}

void chan_metrics_render(chan_metrics *metrics, chan_buf *out)
{
    size_t i;

    pthread_mutex_lock(&metrics->lock);
    for (i = 0; i < metrics->n_families; i++)
        render_family(out, metrics->families[i]);
    pthread_mutex_unlock(&metrics->lock);
}
