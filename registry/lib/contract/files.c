/*
 * files.c - which files a contract may make chanctl read: the contracts
 * root, and the one function that reads a contract or schema file.
 *
 * A contract names files (`file:` of a version, or symbolic links under
 * schemas/), and whoever edits the contract chooses them.  Every command
 * that reads contract files (validate, register, check, compat) reads them
 * with chan_contract_file_read, which:
 *
 *   - resolves the path (symbolic links included) and refuses it when it
 *     leaves the root;
 *   - opens it again component by component from the root with O_NOFOLLOW,
 *     so that a link swapped in after the check is refused too;
 *   - opens the file with O_NONBLOCK, and refuses anything but a regular
 *     file (a FIFO, a device, a directory) after fstat(), before reading;
 *   - reads at most max_size bytes;
 *   - never puts any of the file's content into an error message.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "chan/common.h"
#include "chan/contract.h"

/* Ancestors looked at when searching for the root. */
#define MAX_ANCESTORS 64

static bool exists(const char *dir, const char *name, bool want_dir)
{
    char *p = chan_xasprintf("%s/%s", dir, name);
    struct stat st;
    bool ok = stat(p, &st) == 0 && (!want_dir || S_ISDIR(st.st_mode));

    free(p);
    return ok;
}

/* Directory part of a path ("." when there is none).  Caller frees. */
static char *dir_part(const char *path)
{
    const char *slash = strrchr(path, '/');

    while (slash != NULL && slash > path && slash[1] == '\0') {
        /* "a/b/" names the directory a/b. */
        const char *p = slash - 1;

        while (p > path && *p != '/')
            p--;
        slash = *p == '/' ? p : NULL;
    }
    if (slash == NULL)
        return chan_xstrdup(".");
    if (slash == path)
        return chan_xstrdup("/");
    return chan_xstrndup(path, (size_t)(slash - path));
}

/*
 * The parent of a directory, spelled out so that relative paths stay
 * relative and symbolic links on the way are not followed backwards:
 * "a/b" -> "a" -> "." -> ".." -> "../..".  NULL at the file system root.
 */
static char *parent_of(const char *dir)
{
    char real[PATH_MAX];
    const char *last;

    if (realpath(dir, real) != NULL && strcmp(real, "/") == 0)
        return NULL;
    if (strcmp(dir, ".") == 0)
        return chan_xstrdup("..");
    last = strrchr(dir, '/');
    if (strcmp(last ? last + 1 : dir, "..") == 0)
        return chan_xasprintf("%s/..", dir);
    return dir_part(dir);
}

/* The nearest ancestor of dir (dir first) holding name; NULL when none. */
static char *nearest_with(const char *dir, const char *name, bool want_dir)
{
    char *cur = chan_xstrdup(dir);
    int guard;

    for (guard = 0; cur != NULL && guard < MAX_ANCESTORS; guard++) {
        char *next;

        if (exists(cur, name, want_dir))
            return cur;
        next = parent_of(cur);
        free(cur);
        cur = next;
    }
    free(cur);
    return NULL;
}

int chan_contract_root_default(char **out, const char *contract_path, chan_error *err)
{
    char *dir = NULL, *found = NULL, real[PATH_MAX];
    int error = 0;

    assert(out != NULL && contract_path != NULL);
    *out = NULL;
    dir = dir_part(contract_path);
    found = nearest_with(dir, ".git", false);
    if (found == NULL)
        found = nearest_with(dir, "schemas", true);
    if (realpath(found ? found : dir, real) == NULL) {
        error = chan_error_set(err, errno == ENOENT ? CHAN_ENOTFOUND : CHAN_EIO,
                               "cannot resolve the directory of %s: %s", contract_path,
                               strerror(errno));
        goto cleanup;
    }
    *out = chan_xstrdup(real);

cleanup:
    free(dir);
    free(found);
    return error;
}

/*
 * The part of real (a resolved path) below root (a resolved directory):
 * "" when real is root, NULL when real is not inside root.  Borrowed from real.
 */
static const char *below(const char *root, const char *real)
{
    size_t n = strlen(root);

    if (strcmp(root, "/") == 0)
        return real + 1;
    if (strncmp(root, real, n) != 0)
        return NULL;
    if (real[n] == '\0')
        return real + n;
    return real[n] == '/' ? real + n + 1 : NULL;
}

/*
 * path made absolute and cleaned of ".", ".." and repeated slashes without
 * looking at the file system; NULL when the working directory is unknown.
 * Caller frees.
 */
static char *lexical_absolute(const char *path)
{
    char cwd[PATH_MAX];
    char *joined, *tok, *save = NULL;
    chan_buf out = CHAN_BUF_INIT;
    size_t *starts = NULL, depth = 0;

    if (path[0] == '/')
        joined = chan_xstrdup(path);
    else if (getcwd(cwd, sizeof(cwd)) != NULL)
        joined = chan_xasprintf("%s/%s", cwd, path);
    else
        return NULL;
    starts = chan_xcalloc(strlen(joined) + 1, sizeof(*starts));
    for (tok = strtok_r(joined, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (strcmp(tok, ".") == 0)
            continue;
        if (strcmp(tok, "..") == 0) {
            if (depth > 0) {
                out.len = starts[--depth];
                out.ptr[out.len] = '\0';
            }
            continue;
        }
        starts[depth++] = out.len;
        chan_buf_printf(&out, "/%s", tok);
    }
    if (out.len == 0)
        chan_buf_puts(&out, "/");
    free(starts);
    free(joined);
    return chan_buf_take(&out);
}

/* What a non-regular file is, for the refusal. */
static const char *kind_of(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/*
 * Open rel (a resolved path below the directory dfd, no component a link)
 * one component at a time with O_NOFOLLOW; the last one with O_NONBLOCK.
 * Takes dfd.  @return the descriptor, or -1 with errno set
 */
static int open_beneath(int dfd, const char *rel)
{
    char *copy = chan_xstrdup(rel), *p = copy, *slash;
    int fd = -1, saved;

    while ((slash = strchr(p, '/')) != NULL) {
        int next;

        *slash = '\0';
        next = openat(dfd, p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        saved = errno;
        close(dfd);
        if (next < 0) {
            errno = saved;
            free(copy);
            return -1;
        }
        dfd = next;
        p = slash + 1;
    }
    fd = openat(dfd, p, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
    saved = errno;
    close(dfd);
    free(copy);
    errno = saved;
    return fd;
}

/* Open path, confined to root when root is not NULL; sets err without content. */
static int open_confined(int *out_fd, const char *root, const char *path, chan_error *err)
{
    char real_root[PATH_MAX], real[PATH_MAX];
    const char *rel;
    struct stat st;
    int dfd;

    *out_fd = -1;
    if (root == NULL) {
        if ((*out_fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)) >= 0)
            return 0;
        return chan_error_set(err, errno == ENOENT ? CHAN_ENOTFOUND : CHAN_EIO,
                              "cannot open %s: %s", path, strerror(errno));
    }
    if (realpath(root, real_root) == NULL)
        return chan_error_set(err, CHAN_EIO, "cannot resolve the contracts root %s: %s", root,
                              strerror(errno));
    if (realpath(path, real) == NULL) {
        if (errno == ENOENT)
            return chan_error_set(err, CHAN_ENOTFOUND, "%s does not exist", path);
        return chan_error_set(err, CHAN_EIO, "cannot resolve %s: %s", path, strerror(errno));
    }
    rel = below(real_root, real);
    if (rel == NULL || *rel == '\0') {
        char *plain = lexical_absolute(path);
        bool linked = plain == NULL || strcmp(plain, real) != 0;

        free(plain);
        if (linked)
            chan_error_set(err, CHAN_EDENIED, "%s resolves to %s, outside the contracts root %s",
                           path, real, real_root);
        else
            chan_error_set(err, CHAN_EDENIED, "%s is outside the contracts root %s", path,
                           real_root);
        chan_error_hint(err, "keep contract and schema files inside the repository, or name "
                             "another root with --root");
        return CHAN_EDENIED;
    }
    /* Refuse what is not a regular file before opening it (a device open may act). */
    if (stat(real, &st) == 0 && !S_ISREG(st.st_mode))
        return chan_error_set(err, CHAN_EINVALID, "%s is %s, not a regular file", path,
                              kind_of(st.st_mode));
    if ((dfd = open(real_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return chan_error_set(err, CHAN_EIO, "cannot open the contracts root %s: %s", real_root,
                              strerror(errno));
    if ((*out_fd = open_beneath(dfd, rel)) >= 0)
        return 0;
    if (errno == ELOOP || errno == ENOTDIR)
        return chan_error_set(err, CHAN_EDENIED,
                              "%s changed into a symbolic link while it was read", path);
    return chan_error_set(err, errno == ENOENT ? CHAN_ENOTFOUND : CHAN_EIO, "cannot open %s: %s",
                          path, strerror(errno));
}

int chan_contract_file_read(char **out, size_t *out_len, const char *root, const char *path,
                            size_t max_size, chan_error *err)
{
    struct stat st;
    int fd = -1, error = 0;

    assert(out != NULL && path != NULL);
    *out = NULL;
    if (out_len)
        *out_len = 0;
    if ((error = open_confined(&fd, root, path, err)) < 0)
        goto cleanup;
    if (fstat(fd, &st) != 0) {
        error = chan_error_set(err, CHAN_EIO, "cannot stat %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (!S_ISREG(st.st_mode)) {
        error = chan_error_set(err, CHAN_EINVALID, "%s is %s, not a regular file", path,
                               kind_of(st.st_mode));
        goto cleanup;
    }
    if ((uintmax_t)st.st_size > (uintmax_t)max_size) {
        error = chan_error_set(err, CHAN_ETOOBIG, "%s is larger than the limit of %zu bytes", path,
                               max_size);
        goto cleanup;
    }
    /* The limit is checked again while reading: the file may grow meanwhile. */
    error = chan_fd_read_all(out, out_len, fd, max_size, path, err);

cleanup:
    if (fd >= 0)
        close(fd);
    return error;
}

int chan_contract_schema_parse(chan_avro_schema **out, const char *text, size_t len,
                               chan_error *err)
{
    json_error_t jerr;
    json_t *doc;
    bool schema_like;

    assert(out != NULL);
    *out = NULL;
    /* The flags of the Avro parser, so that every JSON error is caught here. */
    doc = json_loadb(text, len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (doc == NULL) {
        /* jansson's message quotes the text near the error: leave it out. */
        chan_error_set(err, CHAN_EINVALID, "not JSON (syntax error at line %d, column %d)",
                       jerr.line, jerr.column);
        chan_error_locate(err, NULL, jerr.line, jerr.column);
        chan_error_hint(err, "an .avsc file holds one Avro schema in JSON");
        return CHAN_EINVALID;
    }
    schema_like = json_is_string(doc) || json_is_array(doc) ||
                  (json_is_object(doc) && json_object_get(doc, "type") != NULL);
    json_decref(doc);
    if (!schema_like) {
        chan_error_set(err, CHAN_EINVALID, "JSON, but not an Avro schema");
        chan_error_hint(err, "a schema is a type name, a union array or an object with \"type\"");
        return CHAN_EINVALID;
    }
    return chan_avro_schema_parse(out, text, len, err);
}
