/*
 * fuzz_http.c - libFuzzer harness of chanregd's HTTP handlers.
 *
 * LLVMFuzzerInitialize starts the daemon's own server (chand_server_start
 * with every route table, metrics, authentication with the token "fuzz") on
 * a free loopback port, over a SQLite store in a fresh temporary directory
 * (under /dev/shm when it exists, so that fsync costs nothing).  Each input
 * is sent as the raw bytes of one connection, the client then shuts down its
 * writing side and reads the reply until the server closes.  A reply that
 * does not end within READ_TIMEOUT_MS is a hang and aborts (libFuzzer keeps
 * the input), and so does a 500 reply: bad input gets a 4xx.  Crashes,
 * leaks and sanitizer reports of the handlers are reported by libFuzzer as
 * usual.
 *
 * Every INPUTS_PER_STORE inputs the server restarts on an empty store.
 *
 * Seeds (tests/fuzz/make_corpus.py) are whole requests that carry
 * "Authorization: Bearer fuzz", so writes reach the store.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "chan/common.h"
#include "chan/store.h"
#include "config.h"
#include "daemon_metrics.h"
#include "server.h"

/* Longest wait for the end of one reply: beyond it the server hangs. */
#define READ_TIMEOUT_MS 10000
/*
 * Inputs served by one store: then the server stops and starts again on an
 * empty one, so that hours of fuzzing do not slow down as the store fills
 * up (listings grow with it).
 */
#define INPUTS_PER_STORE 2000

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static chand_config *config;
static chan_store *store;
static chand_server *server;
static chand_route_table tables[CHAND_API_N_TABLES];
static char dir[256];
static struct sockaddr_in addr;

static void die(const char *what, const chan_error *err)
{
    fprintf(stderr, "fuzz_http: %s: %s\n", what, err ? err->message : strerror(errno));
    abort();
}

/* Remove the SQLite files of the store. */
static void remove_store_files(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    size_t i;

    for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        char *path = chan_xasprintf("%s/fuzz.db%s", dir, suffixes[i]);

        (void)unlink(path);
        free(path);
    }
}

/* Open a fresh store and start the server on it (a new free port). */
static void serve_start(void)
{
    chan_store_options sopts = CHAN_STORE_OPTIONS_INIT;
    chand_server_options opts;
    chan_error err = CHAN_ERROR_INIT;

    remove_store_files();
    sopts.pool_size = 2;
    if (chan_store_open(&store, config->db, &sopts, &err) < 0)
        die("store", &err);
    memset(&opts, 0, sizeof(opts));
    opts.config = config;
    opts.store = store;
    opts.tables = tables;
    opts.n_tables = sizeof(tables) / sizeof(tables[0]);
    opts.observer = chand_metrics_observe_request;
    if (chand_server_start(&server, &opts, &err) < 0)
        die("server", &err);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)chand_server_port(server));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

static void serve_stop(void)
{
    chand_server_free(server);
    server = NULL;
    chan_store_free(store);
    store = NULL;
}

static void stop(void)
{
    char *cmd;

    serve_stop();
    chand_metrics_shutdown();
    chand_config_free(config);
    cmd = chan_xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fuzz_http: cannot remove %s\n", dir);
    free(cmd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct stat st;
    const char *base =
        stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) && access("/dev/shm", W_OK) == 0
            ? "/dev/shm"
            : (getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    chand_config_action action;
    chan_error err = CHAN_ERROR_INIT;
    char *db;

    (void)argc;
    (void)argv;
    snprintf(dir, sizeof(dir), "%s/chanreg-fuzz-http-XXXXXX", base);
    if (mkdtemp(dir) == NULL)
        die("mkdtemp", NULL);
    db = chan_xasprintf("sqlite:%s/fuzz.db", dir);
    {
        char *args[] = {"chanregd", "--listen",    "127.0.0.1:0", "--db",
                        db,         "--token",     "fuzz",        "--threads",
                        "2",        "--log-level", "error",       "--access-log=false"};
        int n = (int)(sizeof(args) / sizeof(args[0]));

        if (chand_config_load(&config, &action, n, args, &err) < 0)
            die("configuration", &err);
    }
    free(db);
    chan_log_set_level(config->log_level_value);
    if (chand_metrics_init(&err) < 0)
        die("metrics", &err);
    chand_api_route_tables(tables);
    serve_start();
    atexit(stop);
    return 0;
}

/* connect(), resumed when a signal (libFuzzer's timer) interrupts it. */
static int connect_loopback(int fd)
{
    struct pollfd p = {fd, POLLOUT, 0};
    socklen_t len = sizeof(int);
    int so_error = 0;

    if (connect(fd, (const struct sockaddr *)&addr, sizeof(addr)) == 0)
        return 0;
    if (errno != EINTR)
        return -1;
    /* The connection goes on in the background: wait for its outcome. */
    while (poll(&p, 1, READ_TIMEOUT_MS) < 0)
        if (errno != EINTR)
            return -1;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &len) != 0 || so_error != 0) {
        errno = so_error ? so_error : errno;
        return -1;
    }
    return 0;
}

/* Send all of data; -1 when the server closed early (a fine answer). */
static int send_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = send(fd, data, size, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        size -= (size_t)n;
    }
    return 0;
}

/*
 * A reply of the server's own failure (500) is a finding whatever the input:
 * bad input gets a 4xx.  reply holds the start of what the server sent.
 */
static void check_status(const char *reply, size_t len, size_t request_size)
{
    static const char prefix[] = "HTTP/1.1 500";

    if (len >= sizeof(prefix) - 1 && memcmp(reply, prefix, sizeof(prefix) - 1) == 0) {
        fprintf(stderr, "fuzz_http: 500 reply to a %zu-byte request:\n%.*s\n", request_size,
                (int)len, reply);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned long inputs;
    char first[4096], rest[65536];
    size_t got = 0;
    int fd;

    if (++inputs % INPUTS_PER_STORE == 0) {
        serve_stop();
        serve_start();
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket", NULL);
    if (connect_loopback(fd) != 0)
        die("connect", NULL);
    if (send_all(fd, data, size) == 0)
        (void)shutdown(fd, SHUT_WR);
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, READ_TIMEOUT_MS);
        ssize_t n;

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0) {
            fprintf(stderr, "fuzz_http: no end of reply within %d ms: the server hangs\n",
                    READ_TIMEOUT_MS);
            abort();
        }
        /* Keep the start of the reply, drop the rest. */
        if (got < sizeof(first))
            n = recv(fd, first + got, sizeof(first) - got, 0);
        else
            n = recv(fd, rest, sizeof(rest), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* closed (or reset): the exchange is over */
        if (got < sizeof(first))
            got += (size_t)n;
    }
    check_status(first, got, size);
    close(fd);
    return 0;
}
