/*
 * metrics.h - a small thread-safe metrics registry rendered in the Prometheus
 * text exposition format (version 0.0.4).
 *
 * A chan_metrics holds metric families (counter, gauge, histogram), each with
 * a fixed list of label names; a series is one combination of label values.
 * Families are created once at start-up and are then updated from any thread.
 * Gauges that are recomputed on every scrape (from the store) are cleared with
 * chan_metric_family_reset and set again.
 *
 * Ownership: chan_metrics_new / chan_metrics_free own everything; families
 * returned by chan_metrics_family are borrowed and live as long as the
 * registry.  Label name and value arrays passed in are copied.
 */
#ifndef CHAN_METRICS_H
#define CHAN_METRICS_H

#include <stddef.h>

#include "chan/common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct chan_metrics chan_metrics;
typedef struct chan_metric_family chan_metric_family;

typedef enum chan_metric_type {
    CHAN_METRIC_COUNTER = 0,
    CHAN_METRIC_GAUGE,
    CHAN_METRIC_HISTOGRAM,
} chan_metric_type;

/** Most labels a family may have. */
#define CHAN_METRIC_MAX_LABELS 8

/** New empty registry; never NULL.  Free with chan_metrics_free. */
chan_metrics *chan_metrics_new(void);

/** Free the registry and every family in it.  NULL-safe. */
void chan_metrics_free(chan_metrics *metrics);

/**
 * Define a family (or return the one already defined with that name).
 *
 * @param[out] out    the family, borrowed from metrics
 * @param name        metric name, [a-zA-Z_:][a-zA-Z0-9_:]*
 * @param help        one line of help text
 * @param type        counter, gauge or histogram
 * @param label_names n_labels label names, [a-zA-Z_][a-zA-Z0-9_]*, not "le"
 * @param buckets     histogram upper bounds in increasing order (NULL otherwise);
 *                    the +Inf bucket is implicit
 * @return 0, or CHAN_EINVALID for a bad name, too many labels, unsorted
 *         buckets, or a redefinition with another type or other labels
 */
int chan_metrics_family(chan_metric_family **out, chan_metrics *metrics, const char *name,
                        const char *help, chan_metric_type type, const char *const *label_names,
                        size_t n_labels, const double *buckets, size_t n_buckets, chan_error *err);

/** Add v (>= 0) to a counter series, creating it at 0 first.  Ignores negative v. */
void chan_metric_add(chan_metric_family *family, const char *const *label_values, double v);

/** Set a gauge series to v. */
void chan_metric_set(chan_metric_family *family, const char *const *label_values, double v);

/** Record one observation in a histogram series. */
void chan_metric_observe(chan_metric_family *family, const char *const *label_values, double v);

/**
 * Current value of a counter or gauge series (the count for a histogram).
 * @return 0 and *out, or CHAN_ENOTFOUND when the series does not exist
 */
int chan_metric_value(double *out, chan_metric_family *family, const char *const *label_values);

/** Remove every series of a family (gauges recomputed per scrape). */
void chan_metric_family_reset(chan_metric_family *family);

/**
 * Append the whole registry in Prometheus text format to out: families in
 * definition order, series sorted by label values, label values escaped.
 */
void chan_metrics_render(chan_metrics *metrics, chan_buf *out);

/** Content-Type of the rendered text. */
#define CHAN_METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#ifdef __cplusplus
}
#endif
#endif
