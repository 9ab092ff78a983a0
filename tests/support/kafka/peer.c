/*
 * peer.c - the launcher and control client of kafka_acl_peer.py: spawns it
 * with a pipe on stdin, waits for its ready file, and sends control commands
 * over loopback TCP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "chan/common.h"
#include "peer.h"

extern char **environ;

struct test_kafka_peer {
    pid_t pid;
    int stdin_fd;
    int control_port;
    char dir[96];
    char ready[128];
    char bootstrap[64];
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

/* Read "BROKER CONTROL" from the ready file; false until it exists. */
static bool read_ready(test_kafka_peer *p)
{
    char *text = NULL;
    int64_t broker, control;
    char *space;
    bool ok = false;

    if (chan_file_read(&text, NULL, p->ready, 256, NULL) < 0)
        return false;
    space = strchr(text, ' ');
    if (space != NULL) {
        *space = '\0';
        space[1 + strcspn(space + 1, "\n")] = '\0';
        ok = chan_parse_int64(&broker, text, 1, 65535) == 0 &&
             chan_parse_int64(&control, space + 1, 1, 65535) == 0;
    }
    if (ok) {
        snprintf(p->bootstrap, sizeof(p->bootstrap), "127.0.0.1:%d", (int)broker);
        p->control_port = (int)control;
    }
    free(text);
    return ok;
}

int test_kafka_peer_start(test_kafka_peer **out, const char *python, const char *script)
{
    test_kafka_peer *p = chan_xcalloc(1, sizeof(*p));
    posix_spawn_file_actions_t fa;
    int fds[2] = {-1, -1};
    char *argv[6];
    const char *tmpdir;
    int status;

    *out = NULL;
    p->pid = -1;
    p->stdin_fd = -1;
    tmpdir = getenv("TMPDIR");
    if (tmpdir == NULL || *tmpdir == '\0' || strlen(tmpdir) > 64)
        tmpdir = "/tmp";
    snprintf(p->dir, sizeof(p->dir), "%s/chanreg-kafka-peer-XXXXXX", tmpdir);
    if (mkdtemp(p->dir) == NULL) {
        chan_log(CHAN_LOG_ERROR, "test", "mkdtemp failed: %s", strerror(errno));
        free(p);
        return -1;
    }
    snprintf(p->ready, sizeof(p->ready), "%s/ready", p->dir);
    if (pipe(fds) < 0) {
        chan_log(CHAN_LOG_ERROR, "test", "pipe failed: %s", strerror(errno));
        test_kafka_peer_stop(p);
        return -1;
    }
    fcntl(fds[1], F_SETFD, FD_CLOEXEC);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[0], 0);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    argv[0] = (char *)python;
    argv[1] = (char *)script;
    argv[2] = "--ready-file";
    argv[3] = p->ready;
    argv[4] = NULL;
    status = posix_spawn(&p->pid, python, &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[0]);
    p->stdin_fd = fds[1];
    if (status != 0) {
        chan_log(CHAN_LOG_ERROR, "test", "cannot run %s: %s", python, strerror(status));
        p->pid = -1;
        test_kafka_peer_stop(p);
        return -1;
    }
    for (int i = 0; i < 200; i++) {
        if (read_ready(p)) {
            *out = p;
            return 0;
        }
        if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
            chan_log(CHAN_LOG_ERROR, "test", "kafka peer exited early status=%d", status);
            p->pid = -1;
            break;
        }
        sleep_ms(50);
    }
    chan_log(CHAN_LOG_ERROR, "test", "kafka peer did not become ready");
    test_kafka_peer_stop(p);
    return -1;
}

void test_kafka_peer_stop(test_kafka_peer *p)
{
    if (p == NULL)
        return;
    if (p->stdin_fd >= 0)
        close(p->stdin_fd);
    if (p->pid > 0) {
        int status;

        kill(p->pid, SIGTERM);
        for (int i = 0; i < 100 && waitpid(p->pid, &status, WNOHANG) == 0; i++)
            sleep_ms(20);
        if (waitpid(p->pid, &status, WNOHANG) == 0) {
            kill(p->pid, SIGKILL);
            waitpid(p->pid, &status, 0);
        }
    }
    unlink(p->ready);
    rmdir(p->dir);
    free(p);
}

const char *test_kafka_peer_bootstrap(const test_kafka_peer *p)
{
    return p->bootstrap;
}

int test_kafka_peer_command(json_t **out, test_kafka_peer *p, const char *command)
{
    struct sockaddr_in addr;
    struct timeval tv = {10, 0};
    chan_buf line = CHAN_BUF_INIT;
    int fd, rc = -1;
    char c;

    *out = NULL;
    fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)p->control_port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
        goto cleanup;
    chan_buf_printf(&line, "%s\n", command);
    if (write(fd, line.ptr, line.len) != (ssize_t)line.len)
        goto cleanup;
    chan_buf_clear(&line);
    while (read(fd, &c, 1) == 1 && c != '\n')
        chan_buf_putc(&line, c);
    *out = json_loads(chan_buf_cstr(&line), 0, NULL);
    if (*out != NULL && json_object_get(*out, "error") == NULL)
        rc = 0;
    else
        chan_log(CHAN_LOG_ERROR, "test", "peer command '%s' failed: %s", command,
                 chan_buf_cstr(&line));

cleanup:
    close(fd);
    chan_buf_dispose(&line);
    return rc;
}

long test_kafka_peer_stat(test_kafka_peer *p, const char *key)
{
    json_t *stats = NULL, *v;
    long n = -1;

    if (test_kafka_peer_command(&stats, p, "stats") < 0) {
        json_decref(stats);
        return -1;
    }
    v = json_object_get(stats, key);
    if (v == NULL) {
        /* API names count requests; an API never called counts 0. */
        v = json_object_get(json_object_get(stats, "requests"), key);
        n = v ? (long)json_integer_value(v) : 0;
    } else {
        n = (long)json_integer_value(v);
    }
    json_decref(stats);
    return n;
}
