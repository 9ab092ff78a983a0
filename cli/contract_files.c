/*
 * contract_files.c - finding contract files and printing diagnostics for the
 * chanctl commands that read contracts (validate, register).
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "chan/common.h"
#include "chan/contract.h"
#include "cli.h"
#include "contract_files.h"

/* Guard against symlink loops and absurd trees while walking directories. */
#define MAX_DIR_DEPTH 32
/* Longest source line shown under a diagnostic. */
#define MAX_EXCERPT 160

static void path_list_add(cli_path_list *list, char *owned)
{
    list->items = chan_xreallocarray(list->items, list->count + 1, sizeof(char *));
    list->items[list->count++] = owned;
}

void cli_path_list_dispose(cli_path_list *list)
{
    size_t i;

    for (i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_contract_name(const char *name)
{
    return name[0] != '.' && (chan_str_endswith(name, ".yaml") || chan_str_endswith(name, ".yml"));
}

/* Append the contract files under dir, sorted, sub-directories included. */
static int scan_dir(cli_path_list *out, const char *dir, int depth, chan_error *err)
{
    cli_path_list names = CLI_PATH_LIST_INIT;
    DIR *d = NULL;
    struct dirent *e;
    size_t i;
    int error = 0;

    if (depth > MAX_DIR_DEPTH)
        return chan_error_set(err, CHAN_EINVALID, "%s: directories nested too deep", dir);
    if ((d = opendir(dir)) == NULL)
        return chan_error_set(err, CHAN_EIO, "cannot open directory %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] != '.')
            path_list_add(&names, chan_xstrdup(e->d_name));
    }
    if (names.count > 1)
        qsort(names.items, names.count, sizeof(char *), compare_names);
    for (i = 0; i < names.count; i++) {
        char *path = chan_str_endswith(dir, "/") ? chan_xasprintf("%s%s", dir, names.items[i])
                                                 : chan_xasprintf("%s/%s", dir, names.items[i]);
        struct stat st;

        if (stat(path, &st) != 0) {
            free(path);
            continue; /* dangling link: not a contract */
        }
        if (S_ISDIR(st.st_mode)) {
            error = scan_dir(out, path, depth + 1, err);
            free(path);
            if (error < 0)
                goto cleanup;
        } else if (S_ISREG(st.st_mode) && is_contract_name(names.items[i])) {
            path_list_add(out, path);
        } else {
            free(path);
        }
    }

cleanup:
    cli_path_list_dispose(&names);
    closedir(d);
    return error;
}

/* Drop files named twice (same device and inode), keeping the first mention. */
static void drop_duplicates(cli_path_list *list)
{
    struct stat *seen = chan_xcalloc(list->count ? list->count : 1, sizeof(*seen));
    size_t i, j, kept = 0;

    for (i = 0; i < list->count; i++) {
        bool dup = false;

        if (stat(list->items[i], &seen[kept]) == 0) {
            for (j = 0; j < kept && !dup; j++)
                dup = seen[j].st_dev == seen[kept].st_dev && seen[j].st_ino == seen[kept].st_ino;
        }
        if (dup) {
            free(list->items[i]);
            continue;
        }
        list->items[kept++] = list->items[i];
    }
    list->count = kept;
    free(seen);
}

int cli_collect_contract_files(cli_path_list *out, char *const *paths, int n_paths, chan_error *err)
{
    static char *const fallback[] = {CLI_DEFAULT_CONTRACT_DIR};
    int i, error;

    if (n_paths == 0) {
        paths = fallback;
        n_paths = 1;
    }
    for (i = 0; i < n_paths; i++) {
        struct stat st;

        if (stat(paths[i], &st) != 0) {
            error = chan_error_set(err, CHAN_ENOTFOUND, "cannot access %s: %s", paths[i],
                                   strerror(errno));
            if (paths == fallback)
                chan_error_hint(err, "name the contract files or directories to read");
            return error;
        }
        if (!S_ISDIR(st.st_mode)) {
            path_list_add(out, chan_xstrdup(paths[i]));
            continue;
        }
        if ((error = scan_dir(out, paths[i], 0, err)) < 0)
            return error;
    }
    drop_duplicates(out);
    return 0;
}

bool cli_root_option_ok(const char *cmd, const char *root)
{
    struct stat st;

    if (root == NULL)
        return true;
    if (stat(root, &st) == 0 && S_ISDIR(st.st_mode))
        return true;
    (void)cli_usage_error(cmd, "--root: %s is not a directory", root);
    return false;
}

int cli_read_contract_file(char **out, size_t *out_len, const char *root, const char *path,
                           chan_error *err)
{
    char *fallback = NULL;
    int error = 0;

    *out = NULL;
    if (root == NULL && (error = chan_contract_root_default(&fallback, path, err)) < 0)
        return error;
    error = chan_contract_file_read(out, out_len, root ? root : fallback, path,
                                    CHAN_CONTRACT_MAX_SIZE, err);
    free(fallback);
    return error;
}

/* ------------------------------------------------------------------ */
/* Diagnostics                                                         */
/* ------------------------------------------------------------------ */

void cli_source_cache_dispose(cli_source_cache *cache)
{
    free(cache->file);
    free(cache->text);
    cache->file = NULL;
    cache->text = NULL;
    cache->len = 0;
}

/* True when s[0..n) is printable UTF-8 text (tabs allowed). */
static bool printable(const char *s, size_t n)
{
    size_t i = 0, k;

    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        size_t extra;

        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        extra = (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2 : (c & 0xF8) == 0xF0 ? 3 : 0;
        if (extra == 0 || c < 0xC2 || i + extra >= n)
            return false;
        for (k = 1; k <= extra; k++)
            if (((unsigned char)s[i + k] & 0xC0) != 0x80)
                return false;
        i += extra + 1;
    }
    return true;
}

/* Print " 14 | source" and the caret line, when the line is printable. */
static void print_excerpt(FILE *out, cli_source_cache *cache, const chan_diag *d)
{
    const char *p, *end, *line_start;
    size_t line_len, i;
    int line = 1, col;

    if (d->file == NULL || d->line <= 0)
        return;
    if (cache->file == NULL || strcmp(cache->file, d->file) != 0) {
        cli_source_cache_dispose(cache);
        cache->file = chan_xstrdup(d->file);
        /* Only files read before have located diagnostics; still, never block on one. */
        if (chan_contract_file_read(&cache->text, &cache->len, NULL, d->file,
                                    CHAN_CONTRACT_MAX_SIZE, NULL) < 0)
            cache->text = NULL;
    }
    if (cache->text == NULL)
        return;
    p = cache->text;
    end = cache->text + cache->len;
    while (line < d->line && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl == NULL)
            return;
        p = nl + 1;
        line++;
    }
    if (line != d->line)
        return;
    line_start = p;
    while (p < end && *p != '\n' && *p != '\r')
        p++;
    line_len = (size_t)(p - line_start);
    if (line_len > MAX_EXCERPT || !printable(line_start, line_len))
        return;
    fprintf(out, " %5d | %.*s\n", d->line, (int)line_len, line_start);
    fputs("       | ", out);
    /* Columns count characters; keep tabs so the caret lines up. */
    for (i = 0, col = 1; i < line_len && col < d->column; i++) {
        unsigned char c = (unsigned char)line_start[i];

        if ((c & 0xC0) == 0x80)
            continue;
        fputc(c == '\t' ? '\t' : ' ', out);
        col++;
    }
    fputs("^\n", out);
}

void cli_print_diag(FILE *out, const chan_diag *d, cli_source_cache *cache)
{
    const char *file = d->file ? d->file : "<input>";
    const char *severity = chan_diag_severity_name(d->severity);

    if (d->line > 0)
        fprintf(out, "%s:%d:%d: %s: %s", file, d->line, d->column, severity, d->message);
    else
        fprintf(out, "%s: %s: %s", file, severity, d->message);
    if (d->rule)
        fprintf(out, " [%s]", d->rule);
    fputc('\n', out);
    if (cache)
        print_excerpt(out, cache, d);
    if (d->hint)
        fprintf(out, "hint: %s\n", d->hint);
}

void cli_print_diags(FILE *out, const chan_diag_list *diags, bool excerpts)
{
    cli_source_cache cache = CLI_SOURCE_CACHE_INIT;
    size_t i, n = chan_diag_list_count(diags);

    for (i = 0; i < n; i++)
        cli_print_diag(out, chan_diag_list_get(diags, i), excerpts ? &cache : NULL);
    cli_source_cache_dispose(&cache);
}
