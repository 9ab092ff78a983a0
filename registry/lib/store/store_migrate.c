/*
 * store_migrate.c - ordered schema migrations of a store.
 *
 * Migrations are the files migrations/<backend>/NNNN_name.sql, compiled into
 * the library (store_migrations.c, generated) or read from a directory given
 * in chan_store_options.migrations_dir.  Each one runs in its own
 * transaction together with the row that records it in schema_migrations
 * (version, name, applied_at, checksum), so a failed migration leaves no
 * trace.  The checksum of every applied migration is compared with the file
 * at each open: editing a migration that a database already ran is refused.
 *
 * Concurrent processes opening the same database serialise on the backend's
 * migration lock (a PostgreSQL session advisory lock); each migration is
 * also re-checked inside its transaction, so none is applied twice.
 */
#include <assert.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "chan/common.h"
#include "store_backend.h"

/* A migration to apply or check: owns sql when read from disk. */
typedef struct migration {
    int version;
    char *name;
    char *sql;
    char checksum[32];
} migration;

static void migrations_free(migration *list, size_t n)
{
    if (list == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(list[i].name);
        free(list[i].sql);
    }
    free(list);
}

static void set_checksum(migration *m)
{
    snprintf(m->checksum, sizeof(m->checksum), "fnv1a64:%016llx",
             (unsigned long long)chan_store__fnv1a64(m->sql, strlen(m->sql)));
}

static int by_version(const void *a, const void *b)
{
    const migration *x = a, *y = b;
    return (x->version > y->version) - (x->version < y->version);
}

/*
** Parse "NNNN_name.sql".  Returns true and sets *version and *name_len (the
** length of the name part) when the file name has that form.
*/
static bool parse_file_name(const char *file, int *version, size_t *name_len)
{
    size_t len = strlen(file);
    int v = 0;

    if (len < 10 || !chan_str_endswith(file, ".sql") || file[4] != '_')
        return false;
    for (int i = 0; i < 4; i++) {
        if (file[i] < '0' || file[i] > '9')
            return false;
        v = v * 10 + (file[i] - '0');
    }
    for (size_t i = 5; i < len - 4; i++)
        if (!((file[i] >= 'a' && file[i] <= 'z') || (file[i] >= '0' && file[i] <= '9') ||
              file[i] == '_'))
            return false;
    *version = v;
    *name_len = len - 4 - 5;
    return v > 0;
}

/* The migrations of `backend` from dir/<backend>/, sorted by version. */
static int load_dir(migration **out, size_t *out_n, const char *dir, const char *backend,
                    chan_error *err)
{
    char *path = chan_xasprintf("%s/%s", dir, backend);
    migration *list = NULL;
    size_t n = 0;
    DIR *d = NULL;
    struct dirent *de;
    int error = 0;

    if ((d = opendir(path)) == NULL) {
        error = chan_error_set(err, CHAN_EIO, "cannot read migrations directory %s", path);
        goto cleanup;
    }
    while ((de = readdir(d)) != NULL) {
        int version;
        size_t name_len;
        char *file;

        if (de->d_name[0] == '.' || !chan_str_endswith(de->d_name, ".sql"))
            continue;
        if (!parse_file_name(de->d_name, &version, &name_len)) {
            error =
                chan_error_set(err, CHAN_EINVALID,
                               "migration file %s/%s is not named NNNN_name.sql", path, de->d_name);
            goto cleanup;
        }
        list = chan_xreallocarray(list, n + 1, sizeof(*list));
        memset(&list[n], 0, sizeof(list[n]));
        list[n].version = version;
        list[n].name = chan_xstrndup(de->d_name + 5, name_len);
        n++;
        file = chan_xasprintf("%s/%s", path, de->d_name);
        error = chan_file_read(&list[n - 1].sql, NULL, file, 16 * 1024 * 1024, err);
        free(file);
        if (error < 0)
            goto cleanup;
        set_checksum(&list[n - 1]);
    }
    qsort(list, n, sizeof(*list), by_version);
    for (size_t i = 1; i < n; i++)
        if (list[i].version == list[i - 1].version) {
            error = chan_error_set(err, CHAN_EINVALID, "two migrations numbered %04d in %s",
                                   list[i].version, path);
            goto cleanup;
        }
    *out = list;
    *out_n = n;
    list = NULL;
cleanup:
    if (d != NULL)
        closedir(d);
    migrations_free(list, n);
    free(path);
    return error;
}

/* The built-in migrations of `backend`, sorted by version. */
static void load_builtin(migration **out, size_t *out_n, const char *backend)
{
    migration *list = chan_xcalloc(chan_store__builtin_migration_count + 1, sizeof(*list));
    size_t n = 0;

    for (size_t i = 0; i < chan_store__builtin_migration_count; i++) {
        const chan_store__migration *m = &chan_store__builtin_migrations[i];
        if (strcmp(m->backend, backend) != 0)
            continue;
        list[n].version = m->version;
        list[n].name = chan_xstrdup(m->name);
        list[n].sql = chan_xstrndup(m->sql, m->len);
        set_checksum(&list[n]);
        n++;
    }
    qsort(list, n, sizeof(*list), by_version);
    *out = list;
    *out_n = n;
}

static int apply_one(const chan_store__backend *be, chan_store__conn *conn, const migration *m,
                     chan_error *err)
{
    chan_store__rows rows = CHAN_STORE__ROWS_INIT;
    chan_store__value params[4];
    int error;

    if ((error = be->begin(conn, true, err)) < 0)
        return error;
    params[0] = SV_INT(m->version);
    if ((error = be->query(conn, &rows, "SELECT 1 FROM schema_migrations WHERE version = $1",
                           params, 1, err)) < 0)
        goto cleanup;
    if (rows.n_rows == 1) /* another process applied it meanwhile */
        goto cleanup;
    if ((error = be->exec_script(conn, m->sql, err)) < 0)
        goto cleanup;
    params[1] = SV_TEXT(m->name);
    params[2] = SV_INT((int64_t)time(NULL));
    params[3] = SV_TEXT(m->checksum);
    if ((error = be->query(conn, NULL,
                           "INSERT INTO schema_migrations (version, name, applied_at, checksum) "
                           "VALUES ($1, $2, $3, $4)",
                           params, 4, err)) < 0)
        goto cleanup;
    error = be->commit(conn, err);
cleanup:
    chan_store__rows_dispose(&rows);
    be->rollback(conn); /* no-op after a commit */
    return error;
}

static const migration *find_migration(const migration *list, size_t n, int version)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].version == version)
            return &list[i];
    return NULL;
}

/* Create the schema_migrations table if needed, in its own transaction. */
static int create_migrations_table(const chan_store__backend *be, chan_store__conn *conn,
                                   chan_error *err)
{
    int error;

    if ((error = be->begin(conn, true, err)) < 0)
        return error;
    error = be->exec_script(conn,
                            "CREATE TABLE IF NOT EXISTS schema_migrations ("
                            "version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
                            "applied_at BIGINT NOT NULL, checksum TEXT NOT NULL)",
                            err);
    if (error == 0)
        error = be->commit(conn, err);
    be->rollback(conn);
    return error;
}

/*
** Check every applied migration (rows of version, name, checksum) against
** the n known ones: each must be known and unchanged.  Returns 0 or
** CHAN_EINTERNAL with a hint.
*/
static int check_applied(const chan_store__rows *applied, const migration *list, size_t n,
                         chan_error *err)
{
    int error;

    assert(applied != NULL);
    for (size_t i = 0; i < applied->n_rows; i++) {
        int version = (int)chan_store__cell_int(applied, i, 0);
        const char *sum = chan_store__cell(applied, i, 2);
        const migration *m = find_migration(list, n, version);
        if (m == NULL) {
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "database has migration %04d_%s applied, which this build "
                                   "does not know",
                                   version, chan_store__cell(applied, i, 1));
            chan_error_hint(err, "the database was migrated by a newer chanreg");
            return error;
        }
        if (sum == NULL || strcmp(sum, m->checksum) != 0) {
            error = chan_error_set(err, CHAN_EINTERNAL,
                                   "migration %04d_%s changed after it was applied", m->version,
                                   m->name);
            chan_error_detail(err, "recorded checksum %s, file checksum %s",
                              sum != NULL ? sum : "(none)", m->checksum);
            chan_error_hint(err, "never edit an applied migration; add a new one instead");
            return error;
        }
    }
    return 0;
}

int chan_store__migrate(const chan_store__backend *be, chan_store__conn *conn,
                        const char *migrations_dir, bool read_only, chan_error *err)
{
    chan_store__rows applied = CHAN_STORE__ROWS_INIT;
    migration *list = NULL;
    size_t n = 0;
    bool locked = false;
    int error = 0;

    if (migrations_dir != NULL) {
        if ((error = load_dir(&list, &n, migrations_dir, be->name, err)) < 0)
            goto cleanup;
    } else {
        load_builtin(&list, &n, be->name);
    }

    if ((error = be->migration_lock(conn, true, err)) < 0)
        goto cleanup;
    locked = true;
    if (!read_only && (error = create_migrations_table(be, conn, err)) < 0)
        goto cleanup;
    if ((error = be->query(conn, &applied,
                           "SELECT version, name, checksum FROM schema_migrations ORDER BY version",
                           NULL, 0, err)) < 0) {
        if (read_only)
            chan_error_prefix(err, "database is not initialised (read-only open)");
        goto cleanup;
    }

    if ((error = check_applied(&applied, list, n, err)) < 0)
        goto cleanup;

    for (size_t i = 0; i < n; i++) {
        bool done = false;
        for (size_t j = 0; j < applied.n_rows && !done; j++)
            done = chan_store__cell_int(&applied, j, 0) == list[i].version;
        if (done)
            continue;
        if (read_only) {
            error = chan_error_set(err, CHAN_ECONFLICT,
                                   "migration %04d_%s is pending and the store is read-only",
                                   list[i].version, list[i].name);
            goto cleanup;
        }
        chan_log(CHAN_LOG_INFO, "store", "applying migration backend=%s version=%04d name=%s",
                 be->name, list[i].version, list[i].name);
        if ((error = apply_one(be, conn, &list[i], err)) < 0) {
            chan_error_prefix(err, "migration %04d_%s", list[i].version, list[i].name);
            if (error != CHAN_EUNAVAILABLE && err != NULL)
                err->code = error = CHAN_EINTERNAL;
            else if (error != CHAN_EUNAVAILABLE)
                error = CHAN_EINTERNAL;
            goto cleanup;
        }
    }
cleanup:
    if (locked) {
        chan_error unlock_err = CHAN_ERROR_INIT;
        int e = be->migration_lock(conn, false, &unlock_err);
        if (error == 0 && e < 0) {
            error = e;
            if (err != NULL)
                *err = unlock_err;
        }
    }
    chan_store__rows_dispose(&applied);
    migrations_free(list, n);
    return error;
}
