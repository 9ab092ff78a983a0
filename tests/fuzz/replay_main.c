/*
 * replay_main.c - runs a fuzz harness without libFuzzer, with any compiler:
 * every file named on the command line (for a directory, every file in it,
 * sorted by name) is passed once to LLVMFuzzerTestOneInput, after
 * LLVMFuzzerInitialize when the harness has one.  The ctest suite replays
 * the seed corpora and tests/fuzz/regressions/ this way in every CI pass
 * (gcc, clang, ASan+UBSan, TSan), so a finding once fixed stays fixed.
 *
 * Exit status: 0 when at least one input was replayed (a harness reports a
 * broken property by aborting), 1 when there was none or a path is unreadable.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chan/common.h"

/* Largest input replayed: far above libFuzzer's default -max_len. */
#define REPLAY_MAX_INPUT (16u * 1024u * 1024u)

int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay one file; adds to *count.  @return 0 or -1 (unreadable) */
static int replay_file(const char *path, size_t *count)
{
    chan_error err = CHAN_ERROR_INIT;
    char *data = NULL;
    size_t len = 0;

    if (chan_file_read(&data, &len, path, REPLAY_MAX_INPUT, &err) < 0) {
        fprintf(stderr, "replay: %s\n", err.message);
        return -1;
    }
    (void)LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    free(data);
    (*count)++;
    return 0;
}

/* Replay every regular file of dir, sorted.  @return 0 or -1 */
static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char **names = NULL;
    size_t n = 0, i;
    int error = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: cannot open %s\n", dir);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        names = chan_xreallocarray(names, n + 1, sizeof(*names));
        names[n++] = chan_xasprintf("%s/%s", dir, e->d_name);
    }
    closedir(d);
    if (n > 1)
        qsort(names, n, sizeof(*names), compare_names);
    for (i = 0; i < n; i++) {
        struct stat st;

        if (error == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            error = replay_file(names[i], count);
        free(names[i]);
    }
    free(names);
    return error;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int i;

    if (LLVMFuzzerInitialize)
        (void)LLVMFuzzerInitialize(&argc, &argv);
    for (i = 1; i < argc; i++) {
        struct stat st;
        int error;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: cannot access %s\n", argv[i]);
            return 1;
        }
        error = S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count) : replay_file(argv[i], &count);
        if (error < 0)
            return 1;
    }
    printf("replay: %zu inputs replayed\n", count);
    return count > 0 ? 0 : 1;
}
