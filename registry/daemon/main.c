/*
 * main.c - chanregd, the channel contract registry daemon.
 *
 * Reads the configuration (config.c), opens the store, starts the HTTP
 * server (server.c) with the route tables of api.h, then waits for SIGTERM or
 * SIGINT.  The signal handler only sets a flag; the main loop notices it,
 * stops accepting connections, lets requests in flight finish for at most
 * --shutdown-timeout seconds (a second signal cuts the wait short), then
 * gives up on the store (chan_store_abort: statements still waiting for the
 * database are cancelled, their requests answered with an error, their
 * transactions rolled back), closes the store and exits 0.  A reply is sent
 * only after its transaction committed, so nothing acknowledged is lost.
 *
 * Exit codes: 0 success, 1 runtime failure (store, listener), 2 usage.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "chan/common.h"
#include "chan/store.h"
#include "chan/version.h"

#include "api.h"
#include "config.h"
#include "daemon_metrics.h"
#include "producer_check.h"
#include "readiness.h"
#include "reconciler.h"
#include "webhook.h"
#include "schema_cache.h"
#include "server.h"

#define MODULE "main"

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Lock-free atomics, not volatile sig_atomic_t: the signal may be handled on
 * any thread (an HTTP worker), while main's loop reads these. */
static atomic_int stop_signal = 0;
static atomic_int stop_count = 0;

/* Only records the signal: everything else happens in main's loop. */
static void on_signal(int sig)
{
    stop_signal = sig;
    if (stop_count < 2)
        stop_count++;
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stop_signal)
        ;
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Write the bound port to path, atomically (a reader never sees a partial file). */
static int write_port_file(const char *path, unsigned int port, chan_error *err)
{
    char text[16];
    int n = snprintf(text, sizeof(text), "%u\n", port);

    return chan_file_write_atomic(path, text, (size_t)n, err);
}

/* Print an option error with a hint, and return the usage exit code. */
static int usage_error(const chan_error *err)
{
    fprintf(stderr, "chanregd: %s\n", err->message);
    if (err->detail[0])
        fprintf(stderr, "%s\n", err->detail);
    if (err->hint[0])
        fprintf(stderr, "hint: %s\n", err->hint);
    fprintf(stderr, "Try \"chanregd --help\" for more information.\n");
    return EXIT_USAGE;
}

/*
** glibc's malloc, set before any thread starts; a setting given in the
** environment (MALLOC_ARENA_MAX, MALLOC_TRIM_THRESHOLD_,
** MALLOC_MMAP_THRESHOLD_) wins.
**
** - Two arenas: glibc gives threads that allocate at the same time arenas of
**   their own (up to 8 per core), each keeping what it freed; with the HTTP
**   worker threads, the store's and the reconciler's, the resident size ends
**   up above the live data under a long mixed load (bench/soak).
** - Up to 4 MB freed at the top of the heap kept, and blocks under 1 MB taken
**   from the heap rather than mapped: a registration against 1,000 versions
**   frees a few hundred KB that the next one allocates again, and giving them
**   back to the system to fault them in again cost a quarter of its time
**   (bench/run.sh, figure chain).
*/
static void tune_malloc(void)
{
    if (getenv("MALLOC_ARENA_MAX") == NULL)
        (void)mallopt(M_ARENA_MAX, 2);
    if (getenv("MALLOC_TRIM_THRESHOLD_") == NULL)
        (void)mallopt(M_TRIM_THRESHOLD, 4 << 20);
    if (getenv("MALLOC_MMAP_THRESHOLD_") == NULL)
        (void)mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

int main(int argc, char **argv)
{
    chand_config *config = NULL;
    chand_config_action action;
    chan_store *store = NULL;
    chand_server *server = NULL;
    chand_reconciler *reconciler = NULL;
    chand_producer_check *producer_check = NULL;
    chand_readiness *readiness = NULL;
    chand_webhooks *webhooks = NULL;
    chan_error err = CHAN_ERROR_INIT;
    chan_store_options sopts = CHAN_STORE_OPTIONS_INIT;
    chand_server_options opts;
    chand_route_table tables[CHAND_API_N_TABLES];
    double deadline, left;
    int status = EXIT_OK;

    tune_malloc();
    if (chand_config_load(&config, &action, argc, argv, &err) < 0) {
        if (err.code == CHAN_EINVALID)
            return usage_error(&err);
        fprintf(stderr, "chanregd: %s\n", err.message);
        return EXIT_RUNTIME;
    }
    if (action == CHAND_CONFIG_HELP) {
        chand_config_usage(stdout);
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    }
    if (action == CHAND_CONFIG_VERSION) {
        printf("chanregd %s\n", CHAN_VERSION_STRING);
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    }
    chand_api_route_tables(tables);
    if (action == CHAND_CONFIG_LIST_ROUTES) {
        if (chand_server_check_routes(tables, CHAN_ARRAY_SIZE(tables), &err) < 0) {
            fprintf(stderr, "chanregd: %s\n", err.message);
            return EXIT_RUNTIME;
        }
        chand_server_print_routes(stdout, tables, CHAN_ARRAY_SIZE(tables));
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    }
    if (action == CHAND_CONFIG_CHECK) {
        printf("chanregd: configuration ok%s\n",
               config->allow_unauthenticated_writes
                   ? " (no token: writes open to every client, --allow-unauthenticated-writes)"
                   : "");
        chand_config_free(config);
        return fclose(stdout) == 0 ? EXIT_OK : EXIT_RUNTIME;
    }

    chan_log_set_level(config->log_level_value);
    install_signals();
    chan_log(CHAN_LOG_INFO, MODULE, "starting version=%s pid=%ld", CHAN_VERSION_STRING,
             (long)getpid());
    chand_config_log(config);

    sopts.migrations_dir = config->migrations_dir;
    sopts.pool_size = (unsigned int)config->db_pool_size;
    sopts.schema_cache_entries = (size_t)config->schema_cache_size;
    chand_schema_cache_configure(
        (size_t)config->parsed_schema_cache_mb * 1024 * 1024,
        config->parsed_schema_cache_mb > 0 ? CHAND_SCHEMA_CACHE_ENTRIES_DEFAULT : 0);
    sopts.connect_timeout_ms = (unsigned int)config->db_connect_timeout_ms;
    sopts.statement_timeout_ms = (unsigned int)config->db_statement_timeout_ms;
    sopts.reply_timeout_ms = (unsigned int)config->db_statement_timeout_ms + 2000;
    sopts.acquire_timeout_ms = (unsigned int)config->db_acquire_timeout_ms;
    sopts.busy_timeout_ms = (unsigned int)config->db_busy_timeout_ms;
    if (chan_store_open(&store, config->db, &sopts, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot open the store: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    chan_log(CHAN_LOG_INFO, MODULE, "store open backend=%s", chan_store_backend_name(store));
    if (chand_schema_fill_identity(store, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot fill the schema identities: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }

    if (chand_reconciler_new(&reconciler, config, store, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot set up Kafka admission: %s", err.message);
        status = err.code == CHAN_EINVALID ? EXIT_USAGE : EXIT_RUNTIME;
        goto cleanup;
    }
    chand_api_acl_set_reconciler(reconciler);
    /* Before the server: the webhooks are registered before any request is served. */
    if (chand_webhooks_new(&webhooks, config, store, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot set up the notifications: %s", err.message);
        status = err.code == CHAN_EINVALID ? EXIT_USAGE : EXIT_RUNTIME;
        goto cleanup;
    }
    if (chand_readiness_start(&readiness, store, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "%s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    chand_api_misc_set_readiness(readiness);
    memset(&opts, 0, sizeof(opts));
    opts.config = config;
    opts.store = store;
    opts.tables = tables;
    opts.n_tables = CHAN_ARRAY_SIZE(tables);
    opts.observer = chand_metrics_observe_request;
    if (chand_metrics_init(&err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot set up the metrics: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    if (chand_server_start(&server, &opts, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot start the HTTP server: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    chan_log(CHAN_LOG_INFO, MODULE, "listening scheme=%s host=%s port=%u threads=%lld",
             config->tls_cert_pem ? "https" : "http", config->listen_host,
             chand_server_port(server), (long long)config->threads);
    if (config->port_file &&
        write_port_file(config->port_file, chand_server_port(server), &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot write the port file: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    if (chand_reconciler_start(reconciler, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "%s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }
    if (chand_producer_check_new(&producer_check, config, store, &err) < 0 ||
        chand_producer_check_start(producer_check, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot start the producer check: %s", err.message);
        status = err.code == CHAN_EINVALID ? EXIT_USAGE : EXIT_RUNTIME;
        goto cleanup;
    }
    if (chand_webhooks_start(webhooks, &err) < 0) {
        chan_log(CHAN_LOG_ERROR, MODULE, "cannot start the notifications: %s", err.message);
        status = EXIT_RUNTIME;
        goto cleanup;
    }

    while (!stop_signal)
        sleep_ms(200);

    chan_log(CHAN_LOG_INFO, MODULE, "shutting down signal=%d in_flight=%u timeout_s=%lld",
             (int)stop_signal, chand_server_active_requests(server),
             (long long)config->shutdown_timeout);
    chand_server_quiesce(server);
    deadline = now_s() + (double)config->shutdown_timeout;
    left = deadline - now_s();
    (void)chand_reconciler_stop(reconciler, left > 0 ? (int64_t)(left * 1000) : 0);
    left = deadline - now_s();
    (void)chand_producer_check_stop(producer_check, left > 0 ? (int64_t)(left * 1000) : 0);
    left = deadline - now_s();
    (void)chand_webhooks_stop(webhooks, left > 0 ? (int64_t)(left * 1000) : 0);
    while (chand_server_active_requests(server) > 0 && now_s() < deadline && stop_count < 2)
        sleep_ms(20);
    if (stop_count >= 2)
        chan_log(CHAN_LOG_WARN, MODULE, "second signal: not waiting for requests in flight");
    if (chand_server_active_requests(server) > 0) {
        chan_log(CHAN_LOG_WARN, MODULE, "shutdown deadline passed in_flight=%u",
                 chand_server_active_requests(server));
        /* Requests waiting for the database get their error reply now; a
         * request stuck on its client is dropped by the server's stop. */
        chan_store_abort(store);
        deadline = now_s() + 1.0;
        while (chand_server_active_requests(server) > 0 && now_s() < deadline)
            sleep_ms(10);
    }

cleanup:
    if (server && config->port_file)
        (void)unlink(config->port_file);
    chand_server_free(server);
    /* Nothing serves requests any more: no wait for the database below. */
    if (store != NULL)
        chan_store_abort(store);
    chand_readiness_stop(readiness);
    if (!chand_producer_check_stop(producer_check, 0)) {
        /* Still inside a Kafka or store call: it keeps using the store until the exit. */
        producer_check = NULL;
        store = NULL;
    }
    chand_producer_check_free(producer_check);
    if (!chand_webhooks_stop(webhooks, 0)) {
        /* Still inside a store call: it keeps using the store until the exit. */
        webhooks = NULL;
        store = NULL;
    }
    chand_webhooks_free(webhooks);
    if (!chand_reconciler_stop(reconciler, 0)) {
        /* Still inside a broker call: it keeps using the store until the exit. */
        reconciler = NULL;
        store = NULL;
    }
    chand_reconciler_free(reconciler);
    chan_store_free(store);
    chand_schema_cache_clear();
    chand_metrics_shutdown();
    chand_config_free(config);
    if (status == EXIT_OK)
        chan_log(CHAN_LOG_INFO, MODULE, "stopped");
    return status;
}
