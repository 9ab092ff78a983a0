/*
 * store_readcache.c - the store's cache of the latest version of subjects
 * and of compatibility levels and modes, for PostgreSQL, where each read is
 * a round trip (see store_int.h).
 *
 * It is kept correct across several daemons on one database by PostgreSQL
 * itself: every write transaction of the store sends NOTIFY chanreg_cache
 * before it commits (chan_store__op_commit), and a listener thread of each
 * store, on a connection of its own that LISTENs, empties the cache on each
 * notification.  The cache is used only while that listener listens: before
 * it has connected, and from the moment its connection fails until it is
 * listening again, every read goes to the database.  The store's own writes
 * empty the cache at once (read your writes on one daemon); another
 * daemon's writes within the notification's delivery.
 *
 * An entry read from the database is kept only if no invalidation happened
 * while it was read (the epoch did not move), so a notification that
 * arrives between a read and its insertion cannot leave a stale entry.
 * Invalidation is coarse (everything), as writes are rare next to reads.
 */
#include <assert.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "chan/common.h"
#include "store_int.h"

#define N_BUCKETS   1024
#define MAX_ENTRIES 65536
#define CHANNEL     "chanreg_cache"

typedef struct rc_entry {
    char *key;                    /* "L<subject>", "C<subject>", "M<subject>" ('' is global) */
    chan_schema_version *version; /* L: the latest live version */
    char *value;                  /* C, M: the value, NULL: none set */
    struct rc_entry *next;
} rc_entry;

struct chan_store__read_cache {
    pthread_mutex_t lock;
    rc_entry *buckets[N_BUCKETS];
    size_t n;
    uint64_t epoch;
    bool live; /* the listener listens: entries may be used */
    bool stop;
    pthread_t thread;
    bool started;
    char *conninfo;
};

static size_t bucket_of(const char *key)
{
    return (size_t)(chan_store__fnv1a64(key, strlen(key)) % N_BUCKETS);
}

static void entry_free(rc_entry *e)
{
    free(e->key);
    chan_schema_version_free(e->version);
    free(e->value);
    free(e);
}

/* Empty the cache and move the epoch (lock held). */
static void clear_locked(chan_store__read_cache *c)
{
    for (size_t i = 0; i < N_BUCKETS; i++) {
        while (c->buckets[i] != NULL) {
            rc_entry *e = c->buckets[i];

            c->buckets[i] = e->next;
            entry_free(e);
        }
    }
    c->n = 0;
    c->epoch++;
}

void chan_store__read_cache_invalidate(chan_store__read_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    clear_locked(c);
    pthread_mutex_unlock(&c->lock);
}

static chan_schema_version *version_copy(const chan_schema_version *v)
{
    chan_schema_version *o = chan_xcalloc(1, sizeof(*o));

    *o = *v;
    o->subject = chan_xstrdup(v->subject);
    o->schema_type = chan_xstrdup(v->schema_type);
    o->schema = chan_xstrdup(v->schema);
    return o;
}

bool chan_store__read_cache_begin(chan_store__read_cache *c, uint64_t *out_epoch)
{
    bool live;

    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->lock);
    live = c->live;
    *out_epoch = c->epoch;
    pthread_mutex_unlock(&c->lock);
    return live;
}

/* The entry of key (lock held), or NULL. */
static rc_entry *find_locked(chan_store__read_cache *c, const char *key)
{
    for (rc_entry *e = c->buckets[bucket_of(key)]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

bool chan_store__read_cache_get_latest(chan_store__read_cache *c, const char *subject,
                                       chan_schema_version **out)
{
    char *key;
    rc_entry *e;
    bool hit = false;

    if (c == NULL)
        return false;
    key = chan_xasprintf("L%s", subject);
    pthread_mutex_lock(&c->lock);
    if (c->live && (e = find_locked(c, key)) != NULL) {
        *out = version_copy(e->version);
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    free(key);
    return hit;
}

bool chan_store__read_cache_get_value(chan_store__read_cache *c, char kind, const char *scope,
                                      bool *out_set, char **out)
{
    char *key;
    rc_entry *e;
    bool hit = false;

    if (c == NULL)
        return false;
    key = chan_xasprintf("%c%s", kind, scope);
    pthread_mutex_lock(&c->lock);
    if (c->live && (e = find_locked(c, key)) != NULL) {
        *out_set = e->value != NULL;
        *out = e->value ? chan_xstrdup(e->value) : NULL;
        hit = true;
    }
    pthread_mutex_unlock(&c->lock);
    free(key);
    return hit;
}

/* Insert e unless the epoch moved since the read began; takes e. */
static void put(chan_store__read_cache *c, uint64_t epoch, rc_entry *e)
{
    size_t b = bucket_of(e->key);

    pthread_mutex_lock(&c->lock);
    if (!c->live || c->epoch != epoch || find_locked(c, e->key) != NULL) {
        pthread_mutex_unlock(&c->lock);
        entry_free(e);
        return;
    }
    if (c->n >= MAX_ENTRIES) {
        clear_locked(c); /* bounded: start over (this read is then not kept either) */
        pthread_mutex_unlock(&c->lock);
        entry_free(e);
        return;
    }
    e->next = c->buckets[b];
    c->buckets[b] = e;
    c->n++;
    pthread_mutex_unlock(&c->lock);
}

void chan_store__read_cache_put_latest(chan_store__read_cache *c, uint64_t epoch,
                                       const chan_schema_version *v)
{
    rc_entry *e;

    if (c == NULL)
        return;
    e = chan_xcalloc(1, sizeof(*e));
    e->key = chan_xasprintf("L%s", v->subject);
    e->version = version_copy(v);
    put(c, epoch, e);
}

void chan_store__read_cache_put_value(chan_store__read_cache *c, uint64_t epoch, char kind,
                                      const char *scope, const char *value)
{
    rc_entry *e;

    if (c == NULL)
        return;
    e = chan_xcalloc(1, sizeof(*e));
    e->key = chan_xasprintf("%c%s", kind, scope);
    e->value = value ? chan_xstrdup(value) : NULL;
    put(c, epoch, e);
}

static void set_live(chan_store__read_cache *c, bool live)
{
    pthread_mutex_lock(&c->lock);
    c->live = live;
    clear_locked(c);
    pthread_mutex_unlock(&c->lock);
}

static bool stopping(chan_store__read_cache *c)
{
    bool stop;

    pthread_mutex_lock(&c->lock);
    stop = c->stop;
    pthread_mutex_unlock(&c->lock);
    return stop;
}

/* Sleep about ms milliseconds, waking early when the store closes. */
static void pause_ms(chan_store__read_cache *c, int ms)
{
    for (int waited = 0; waited < ms && !stopping(c); waited += 100) {
        struct timespec ts = {0, 100 * 1000 * 1000};

        nanosleep(&ts, NULL);
    }
}

/* The listener: LISTEN on a connection of its own, empty the cache on each NOTIFY. */
static void *listener_main(void *arg)
{
    static const char *const keys[] = {"connect_timeout", "fallback_application_name", "dbname",
                                       NULL};
    chan_store__read_cache *c = arg;

    while (!stopping(c)) {
        const char *values[] = {"10", "chanregd-cache", c->conninfo, NULL};
        PGconn *pg = PQconnectdbParams(keys, values, 1);
        PGresult *res;

        if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
            PQfinish(pg);
            pause_ms(c, 1000);
            continue;
        }
        res = PQexec(pg, "LISTEN " CHANNEL);
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            PQclear(res);
            PQfinish(pg);
            pause_ms(c, 1000);
            continue;
        }
        PQclear(res);
        set_live(c, true);
        while (!stopping(c)) {
            struct pollfd pfd = {PQsocket(pg), POLLIN, 0};
            PGnotify *n;
            int rc = poll(&pfd, 1, 100);

            if (rc < 0 || (rc > 0 && PQconsumeInput(pg) == 0) || PQstatus(pg) != CONNECTION_OK)
                break;
            while ((n = PQnotifies(pg)) != NULL) {
                chan_store__read_cache_invalidate(c);
                PQfreemem(n);
            }
        }
        /* Notifications may be lost from here on: no cache until listening again. */
        set_live(c, false);
        PQfinish(pg);
        if (!stopping(c))
            pause_ms(c, 1000);
    }
    return NULL;
}

chan_store__read_cache *chan_store__read_cache_start(const char *conninfo)
{
    chan_store__read_cache *c = chan_xcalloc(1, sizeof(*c));

    pthread_mutex_init(&c->lock, NULL);
    c->conninfo = chan_xstrdup(conninfo);
    if (pthread_create(&c->thread, NULL, listener_main, c) == 0)
        c->started = true;
    return c;
}

void chan_store__read_cache_stop(chan_store__read_cache *c)
{
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->lock);
    c->stop = true;
    pthread_mutex_unlock(&c->lock);
    if (c->started)
        pthread_join(c->thread, NULL);
    clear_locked(c);
    pthread_mutex_destroy(&c->lock);
    free(c->conninfo);
    free(c);
}

bool chan_store__read_cache_live(chan_store__read_cache *c)
{
    bool live;

    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->lock);
    live = c->live;
    pthread_mutex_unlock(&c->lock);
    return live;
}
