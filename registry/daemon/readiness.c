/*
 * readiness.c - the background store probe behind /readyz (readiness.h).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/common.h"
#include "readiness.h"

struct chand_readiness {
    chan_store *store;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    /* The outcome, under mu. */
    bool ok;                              /* the last ping answered */
    int64_t probe_started_ms;             /* the ping under way began then; 0: none */
    char message[CHAN_ERROR_MESSAGE_MAX]; /* why the last ping failed */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Ping, record, wait for the next round (or the stop). */
static void *probe_loop(void *arg)
{
    chand_readiness *r = arg;

    pthread_mutex_lock(&r->mu);
    while (!r->stopping) {
        chan_error err = CHAN_ERROR_INIT;
        struct timespec until;
        int error;

        r->probe_started_ms = now_ms();
        pthread_mutex_unlock(&r->mu);
        error = chan_store_ping(r->store, &err);
        pthread_mutex_lock(&r->mu);
        r->probe_started_ms = 0;
        if (error < 0 && r->ok)
            chan_log(CHAN_LOG_WARN, "readiness", "store not ready: %s", err.message);
        else if (error == 0 && !r->ok)
            chan_log(CHAN_LOG_INFO, "readiness", "store ready again");
        r->ok = error == 0;
        snprintf(r->message, sizeof(r->message), "%s", error < 0 ? err.message : "");
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)CHAND_READINESS_INTERVAL_MS * 1000000L;
        while (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!r->stopping && pthread_cond_timedwait(&r->cv, &r->mu, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&r->mu);
    return NULL;
}

int chand_readiness_start(chand_readiness **out, chan_store *store, chan_error *err)
{
    chand_readiness *r = chan_xcalloc(1, sizeof(*r));
    pthread_condattr_t attr;

    assert(out != NULL && store != NULL);
    *out = NULL;
    r->store = store;
    r->ok = true;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&r->cv, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&r->thread, NULL, probe_loop, r) != 0) {
        pthread_cond_destroy(&r->cv);
        pthread_mutex_destroy(&r->mu);
        free(r);
        return chan_error_set(err, CHAN_EINTERNAL, "cannot start the readiness probe thread");
    }
    *out = r;
    return 0;
}

void chand_readiness_stop(chand_readiness *r)
{
    if (r == NULL)
        return;
    pthread_mutex_lock(&r->mu);
    r->stopping = true;
    pthread_cond_signal(&r->cv);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    pthread_cond_destroy(&r->cv);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

bool chand_readiness_get(chand_readiness *r, const char **reason, char *detail, size_t size)
{
    bool ok;

    *reason = NULL;
    if (size > 0)
        detail[0] = '\0';
    if (r == NULL)
        return true;
    pthread_mutex_lock(&r->mu);
    if (r->probe_started_ms != 0 && now_ms() - r->probe_started_ms > CHAND_READINESS_LIMIT_MS) {
        ok = false;
        *reason = "store not answering";
        snprintf(detail, size, "the store has not answered a ping for %lld ms",
                 (long long)(now_ms() - r->probe_started_ms));
    } else {
        ok = r->ok;
        if (!ok) {
            *reason = "store unreachable";
            snprintf(detail, size, "%s", r->message);
        }
    }
    pthread_mutex_unlock(&r->mu);
    return ok;
}
