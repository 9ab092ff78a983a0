/*
 * ceiling.c - the "ceiling" of the HTTP benchmarks: a minimal libmicrohttpd
 * server in the threading mode of chanregd (poll, an internal thread pool
 * of the same size) that answers every request with the same bytes, read
 * from a file at start, as application/json.  What chanregd does beyond
 * this (routing, authentication, the store, rendering) is what a figure's
 * ratio to the ceiling measures.
 *
 * Usage: bench_ceiling BODY_FILE PORT_FILE [THREADS]
 * Listens on 127.0.0.1, a free port written to PORT_FILE; stops on SIGTERM
 * or SIGINT.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

static volatile sig_atomic_t stop;
static char *body;
static size_t body_len;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
                               const char *method, const char *version, const char *upload,
                               size_t *upload_size, void **state)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    (void)cls, (void)url, (void)method, (void)version, (void)upload;
    if (*state == NULL) { /* first call: headers only */
        *state = conn;
        return MHD_YES;
    }
    if (*upload_size > 0) { /* consume a request body */
        *upload_size = 0;
        return MHD_YES;
    }
    resp = MHD_create_response_from_buffer(body_len, body, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    return ret;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr;
    socklen_t len = sizeof(addr);
    struct MHD_Daemon *d;
    unsigned int threads = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 10) : 4;
    FILE *f;
    long size;
    int fd, one = 1;

    if (argc < 3) {
        fprintf(stderr, "usage: bench_ceiling BODY_FILE PORT_FILE [THREADS]\n");
        return 2;
    }
    f = fopen(argv[1], "rb");
    if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) != 0) {
        perror(argv[1]);
        if (f != NULL)
            fclose(f);
        return 1;
    }
    body_len = (size_t)size;
    body = malloc(body_len + 1);
    if (body == NULL || fread(body, 1, body_len, f) != body_len) {
        perror(argv[1]);
        fclose(f);
        return 1;
    }
    fclose(f);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&addr, &len) != 0) {
        perror("listen");
        return 1;
    }
    d = MHD_start_daemon(MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ITC, 0, NULL, NULL, handler, NULL,
                         MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_THREAD_POOL_SIZE, threads,
                         MHD_OPTION_CONNECTION_LIMIT, 1024u, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "bench_ceiling: cannot start libmicrohttpd\n");
        return 1;
    }
    f = fopen(argv[2], "w");
    if (f == NULL) {
        perror(argv[2]);
        return 1;
    }
    fprintf(f, "%u\n", (unsigned int)ntohs(addr.sin_port));
    fclose(f);
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    free(body);
    return 0;
}
