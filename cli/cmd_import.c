/*
 * cmd_import.c - `chanctl import`: move a registry that speaks the
 * Confluent Schema Registry API into chanreg, keeping every schema id, so
 * that the messages already in the topics still decode.
 *
 *   chanctl import --from URL [--from-token T] [--from-cacert F] [--dry-run] [--registry URL]
 *
 * It reads both registries whole (subjects, every version with its id and
 * soft-deleted state, compatibility levels, modes), plans, and stops before
 * writing anything when the target holds something that differs from the
 * source (a version with another id or schema, a version live on one side
 * and soft-deleted on the other is fixed only in the source's direction).
 * Then it puts the target in IMPORT mode (with force=true only when all the
 * target holds is an identical part of the source: a resumed import),
 * registers the missing versions under their ids and version numbers,
 * soft-deletes what the source soft-deleted, copies the compatibility levels
 * and the subject modes, and sets the global mode last.  Finally it reads
 * both sides again and compares them; every difference is listed and makes
 * the exit status 1.  Re-running skips what is already there identically.
 * --dry-run prints the plan and writes nothing.
 *
 * Schemas are compared on their normalized Avro form, as the target stores it.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "chan/avro.h"
#include "chan/common.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"
#include "registry_client.h"

typedef struct import_opts {
    const char *from;
    const char *from_token;
    const char *from_cacert;
    bool dry_run;
} import_opts;

static const cli_opt_spec opt_specs[] = {
    {"from", 0, "URL", "the registry to copy from (Confluent Schema Registry API)",
     offsetof(import_opts, from)},
    {"from-token", 0, "TOKEN", "bearer token for --from (default: none)",
     offsetof(import_opts, from_token)},
    {"from-cacert", 0, "FILE", "CA certificates that sign an https:// --from",
     offsetof(import_opts, from_cacert)},
    {"dry-run", 'n', NULL, "print the plan, write nothing", offsetof(import_opts, dry_run)},
};

static const cli_cmd_spec spec = {
    .name = "import",
    .usage = "--from URL [--from-token TOKEN] [--dry-run] [OPTION]...",
    .description =
        "Copy every subject, version, schema id, soft-deleted state, compatibility level\n"
        "and mode of the registry at --from into the target registry, through the\n"
        "target's IMPORT mode, then read both and compare them.  Resumable: what is\n"
        "already there identically is skipped.",
    CLI_CMD_OPTS(opt_specs),
    .registry = "the target registry (default: $" CLI_REGISTRY_URL_ENV ")",
    .exit_status = "0 imported and verified, 1 conflicts or differences (listed), 2 usage\n"
                   "error, 3 a registry unreachable or failed.",
};

/* ------------------------------------------------------------------ */
/* Snapshots                                                           */
/* ------------------------------------------------------------------ */

/* One subject version as a registry reports it. */
typedef struct entry {
    char *subject;
    int version;
    long long id;
    char *schema;     /* as the registry returns it */
    char *normalized; /* normalized Avro form, NULL when it does not parse */
    bool deleted;
    bool unsupported; /* not AVRO, or with references */
} entry;

/* Subject-level settings; NULL members when the subject has none. */
typedef struct subject_cfg {
    char *subject;
    char *level;
    char *mode;
} subject_cfg;

/* A whole registry. */
typedef struct snapshot {
    entry *entries; /* by subject, then version */
    size_t n, cap;
    subject_cfg *cfgs;
    size_t n_cfgs;
    char *level; /* global compatibility */
    char *mode;  /* global mode */
} snapshot;

static void snapshot_dispose(snapshot *s)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        free(s->entries[i].subject);
        free(s->entries[i].schema);
        free(s->entries[i].normalized);
    }
    for (i = 0; i < s->n_cfgs; i++) {
        free(s->cfgs[i].subject);
        free(s->cfgs[i].level);
        free(s->cfgs[i].mode);
    }
    free(s->entries);
    free(s->cfgs);
    free(s->level);
    free(s->mode);
    memset(s, 0, sizeof(*s));
}

static char *normalized(const char *schema)
{
    chan_avro_schema *parsed = NULL;
    char *out = NULL;

    if (chan_avro_schema_parse(&parsed, schema, strlen(schema), NULL) == 0)
        out = chan_xstrdup(chan_avro_schema_normalized(parsed));
    chan_avro_schema_free(parsed);
    return out;
}

/* GET path; *out NULL (and 0 returned) when the registry answers error_code `absent`. */
static int get_or_absent(json_t **out, cli_registry *reg, const char *path, int absent,
                         chan_error *err)
{
    int error = cli_registry_request(out, NULL, reg, "GET", path, NULL, err);

    if (error == CHAN_ENOTFOUND && absent != 0 && err != NULL && err->reason == absent) {
        chan_error_clear(err);
        *out = NULL;
        return 0;
    }
    return error;
}

/* The string member key of a reply object, copied, or NULL. */
static char *member(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));

    return s ? chan_xstrdup(s) : NULL;
}

/* Version numbers of subject (deleted ones with deleted) into *out (caller decrefs). */
static int versions_of(json_t **out, cli_registry *reg, const char *esc, bool deleted,
                       chan_error *err)
{
    char *path = chan_xasprintf("/subjects/%s/versions%s", esc, deleted ? "?deleted=true" : "");
    int error = get_or_absent(out, reg, path, 40401, err);

    free(path);
    if (error == 0 && *out == NULL)
        *out = json_array();
    if (error == 0 && !json_is_array(*out))
        error = chan_error_set(err, CHAN_EINTERNAL, "%s: versions of a subject are not an array",
                               cli_registry_url(reg));
    return error;
}

static bool in_array(const json_t *arr, json_int_t v)
{
    size_t i;
    json_t *x;

    json_array_foreach(arr, i, x)
    {
        if (json_integer_value(x) == v)
            return true;
    }
    return false;
}

/* Read one subject of reg into snap. */
static int read_subject(snapshot *snap, cli_registry *reg, const char *subject, chan_error *err)
{
    char *esc = cli_registry_escape(subject), *path = NULL;
    json_t *all = NULL, *live = NULL, *doc = NULL, *v;
    subject_cfg cfg = {NULL, NULL, NULL};
    size_t i;
    int error;

    if ((error = versions_of(&all, reg, esc, true, err)) < 0 ||
        (error = versions_of(&live, reg, esc, false, err)) < 0)
        goto cleanup;
    json_array_foreach(all, i, v)
    {
        entry *e;
        const json_t *refs;
        const char *type;

        free(path);
        path = chan_xasprintf("/subjects/%s/versions/%lld?deleted=true", esc,
                              (long long)json_integer_value(v));
        json_decref(doc);
        doc = NULL;
        if ((error = cli_registry_request(&doc, NULL, reg, "GET", path, NULL, err)) < 0)
            goto cleanup;
        if (!json_is_string(json_object_get(doc, "schema")) ||
            !json_is_integer(json_object_get(doc, "id"))) {
            error = chan_error_set(err, CHAN_EINTERNAL, "%s: GET %s: no schema or id",
                                   cli_registry_url(reg), path);
            goto cleanup;
        }
        if (snap->n == snap->cap) {
            snap->cap = snap->cap ? 2 * snap->cap : 16;
            snap->entries = chan_xreallocarray(snap->entries, snap->cap, sizeof(*snap->entries));
        }
        e = &snap->entries[snap->n++];
        memset(e, 0, sizeof(*e));
        e->subject = chan_xstrdup(subject);
        e->version = (int)json_integer_value(v);
        e->id = (long long)json_integer_value(json_object_get(doc, "id"));
        e->schema = member(doc, "schema");
        e->normalized = normalized(e->schema);
        e->deleted = !in_array(live, json_integer_value(v));
        type = json_string_value(json_object_get(doc, "schemaType"));
        refs = json_object_get(doc, "references");
        e->unsupported = (type && strcmp(type, "AVRO") != 0) || json_array_size(refs) > 0 ||
                         e->normalized == NULL;
    }
    free(path);
    path = chan_xasprintf("/config/%s", esc);
    json_decref(doc);
    if ((error = get_or_absent(&doc, reg, path, 40408, err)) < 0)
        goto cleanup;
    cfg.level = member(doc, "compatibilityLevel");
    free(path);
    path = chan_xasprintf("/mode/%s", esc);
    json_decref(doc);
    if ((error = get_or_absent(&doc, reg, path, 40409, err)) < 0)
        goto cleanup;
    cfg.mode = member(doc, "mode");
    if (cfg.level || cfg.mode) {
        snap->cfgs = chan_xreallocarray(snap->cfgs, snap->n_cfgs + 1, sizeof(*snap->cfgs));
        cfg.subject = chan_xstrdup(subject);
        snap->cfgs[snap->n_cfgs++] = cfg;
        memset(&cfg, 0, sizeof(cfg));
    }

cleanup:
    free(cfg.level);
    free(cfg.mode);
    json_decref(all);
    json_decref(live);
    json_decref(doc);
    free(path);
    free(esc);
    return error;
}

/* Read every subject, version and setting of reg. */
static int read_snapshot(snapshot *snap, cli_registry *reg, chan_error *err)
{
    json_t *subjects = NULL, *doc = NULL, *s;
    size_t i;
    int error;

    memset(snap, 0, sizeof(*snap));
    if ((error = cli_registry_request(&subjects, NULL, reg, "GET", "/subjects?deleted=true", NULL,
                                      err)) < 0)
        goto cleanup;
    if (!json_is_array(subjects)) {
        error = chan_error_set(err, CHAN_EINTERNAL, "%s: GET /subjects is not an array",
                               cli_registry_url(reg));
        goto cleanup;
    }
    json_array_foreach(subjects, i, s)
    {
        if (!json_is_string(s)) {
            error = chan_error_set(err, CHAN_EINTERNAL, "%s: a subject is not a string",
                                   cli_registry_url(reg));
            goto cleanup;
        }
        if ((error = read_subject(snap, reg, json_string_value(s), err)) < 0)
            goto cleanup;
    }
    if ((error = cli_registry_request(&doc, NULL, reg, "GET", "/config", NULL, err)) < 0)
        goto cleanup;
    snap->level = member(doc, "compatibilityLevel");
    json_decref(doc);
    doc = NULL;
    if ((error = cli_registry_request(&doc, NULL, reg, "GET", "/mode", NULL, err)) < 0)
        goto cleanup;
    snap->mode = member(doc, "mode");

cleanup:
    json_decref(subjects);
    json_decref(doc);
    return error;
}

static const entry *find_entry(const snapshot *s, const char *subject, int version)
{
    size_t i;

    for (i = 0; i < s->n; i++)
        if (s->entries[i].version == version && strcmp(s->entries[i].subject, subject) == 0)
            return &s->entries[i];
    return NULL;
}

static const subject_cfg *find_cfg(const snapshot *s, const char *subject)
{
    size_t i;

    for (i = 0; i < s->n_cfgs; i++)
        if (strcmp(s->cfgs[i].subject, subject) == 0)
            return &s->cfgs[i];
    return NULL;
}

static bool same_text(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static bool same_schema(const entry *a, const entry *b)
{
    return a->id == b->id && a->normalized && b->normalized &&
           strcmp(a->normalized, b->normalized) == 0;
}

/* ------------------------------------------------------------------ */
/* Comparison                                                          */
/* ------------------------------------------------------------------ */

/*
** Every difference between the source and the target, printed as
** "difference: ..." lines.  Returns their number.
*/
static size_t compare(const snapshot *src, const snapshot *dst)
{
    size_t i, n = 0;

    for (i = 0; i < src->n; i++) {
        const entry *s = &src->entries[i], *d = find_entry(dst, s->subject, s->version);

        if (d == NULL)
            printf("difference: %s version %d (id %lld) is missing in the target\n", s->subject,
                   s->version, s->id);
        else if (!same_schema(s, d))
            printf("difference: %s version %d has id %lld in the source and id %lld%s in the "
                   "target\n",
                   s->subject, s->version, s->id, d->id,
                   s->id == d->id ? " with another schema" : "");
        else if (s->deleted != d->deleted)
            printf("difference: %s version %d is %s in the source and %s in the target\n",
                   s->subject, s->version, s->deleted ? "soft-deleted" : "live",
                   d->deleted ? "soft-deleted" : "live");
        else
            continue;
        n++;
    }
    for (i = 0; i < dst->n; i++) {
        const entry *d = &dst->entries[i];

        if (find_entry(src, d->subject, d->version) == NULL) {
            printf("difference: %s version %d (id %lld) is only in the target\n", d->subject,
                   d->version, d->id);
            n++;
        }
    }
    for (i = 0; i < src->n_cfgs + dst->n_cfgs; i++) {
        const subject_cfg *c = i < src->n_cfgs ? &src->cfgs[i] : &dst->cfgs[i - src->n_cfgs];
        const subject_cfg *s = find_cfg(src, c->subject), *d = find_cfg(dst, c->subject);
        const char *sl = s ? s->level : NULL, *dl = d ? d->level : NULL;
        const char *sm = s ? s->mode : NULL, *dm = d ? d->mode : NULL;

        if (i >= src->n_cfgs && s != NULL)
            continue; /* compared from the source's side */
        if (!same_text(sl, dl)) {
            printf("difference: compatibility of %s is %s in the source and %s in the target\n",
                   c->subject, sl ? sl : "(global)", dl ? dl : "(global)");
            n++;
        }
        if (!same_text(sm, dm)) {
            printf("difference: mode of %s is %s in the source and %s in the target\n", c->subject,
                   sm ? sm : "(global)", dm ? dm : "(global)");
            n++;
        }
    }
    if (!same_text(src->level, dst->level)) {
        printf("difference: global compatibility is %s in the source and %s in the target\n",
               src->level ? src->level : "-", dst->level ? dst->level : "-");
        n++;
    }
    if (!same_text(src->mode, dst->mode)) {
        printf("difference: global mode is %s in the source and %s in the target\n",
               src->mode ? src->mode : "-", dst->mode ? dst->mode : "-");
        n++;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Plan and apply                                                      */
/* ------------------------------------------------------------------ */

/*
** Conflicts that stop the import before any write: versions of the target
** that differ from the source's, ids of the target that hold another schema,
** versions the source cannot give (not Avro, references).  Printed; returns
** their number.  *out_partial is true when everything the target holds is
** an identical part of the source (a resumed import).
*/
static size_t conflicts(bool *out_partial, const snapshot *src, const snapshot *dst)
{
    size_t i, k, n = 0;

    *out_partial = true;
    for (i = 0; i < dst->n; i++) {
        const entry *d = &dst->entries[i], *s = find_entry(src, d->subject, d->version);

        if (s == NULL || !same_schema(s, d) || (d->deleted && !s->deleted))
            *out_partial = false;
    }
    for (i = 0; i < src->n; i++) {
        const entry *s = &src->entries[i], *d = find_entry(dst, s->subject, s->version);

        if (s->unsupported) {
            printf("conflict: %s version %d (id %lld) is not an Avro schema without references "
                   "that this registry can store\n",
                   s->subject, s->version, s->id);
            n++;
            continue;
        }
        if (d != NULL && !same_schema(s, d)) {
            printf("conflict: %s version %d is id %lld in the source but id %lld%s in the "
                   "target\n",
                   s->subject, s->version, s->id, d->id,
                   s->id == d->id ? " with another schema" : "");
            n++;
            continue;
        }
        if (d != NULL && d->deleted && !s->deleted) {
            printf("conflict: %s version %d is soft-deleted in the target but live in the "
                   "source\n",
                   s->subject, s->version);
            n++;
            continue;
        }
        for (k = 0; d == NULL && k < dst->n; k++) {
            const entry *o = &dst->entries[k];

            if (o->id == s->id && o->normalized && s->normalized &&
                strcmp(o->normalized, s->normalized) != 0) {
                printf("conflict: id %lld of %s version %d holds another schema in the target "
                       "(%s version %d)\n",
                       s->id, s->subject, s->version, o->subject, o->version);
                n++;
                break;
            }
        }
    }
    return n;
}

/* One write to the target, printed; in a dry run only printed. */
static int write_call(cli_registry *dst, bool dry_run, const char *method, const char *path,
                      json_t *body, const char *what, chan_error *err)
{
    int error = 0;

    printf("%s%s\n", dry_run ? "would " : "", what);
    if (!dry_run)
        error = cli_registry_request(NULL, NULL, dst, method, path, body, err);
    json_decref(body);
    return error;
}

/* Put the target in IMPORT mode (force only for a resumed import). */
static int enter_import(cli_registry *dst, const snapshot *target, bool partial, bool dry_run,
                        chan_error *err)
{
    bool force = target->n > 0;

    if (target->mode && strcmp(target->mode, "IMPORT") == 0)
        return 0;
    if (force && !partial)
        return chan_error_set(err, CHAN_ECONFLICT,
                              "the target registry holds versions that are not in the source; "
                              "import into an empty registry (or one holding a part of this "
                              "import)");
    return write_call(dst, dry_run, "PUT", force ? "/mode?force=true" : "/mode",
                      json_pack("{s:s}", "mode", "IMPORT"),
                      force ? "set global mode IMPORT (force: resuming an import)"
                            : "set global mode IMPORT",
                      err);
}

static int apply(cli_registry *dst, const snapshot *src, const snapshot *target, bool partial,
                 bool dry_run, size_t *out_imported, chan_error *err)
{
    char *path = NULL, *what = NULL, *esc = NULL;
    bool need_import = false;
    size_t i;
    int error = 0;

    *out_imported = 0;
    for (i = 0; i < src->n; i++) {
        const entry *d = find_entry(target, src->entries[i].subject, src->entries[i].version);

        if (d == NULL || (src->entries[i].deleted && !d->deleted))
            need_import = true;
    }
    if (need_import && (error = enter_import(dst, target, partial, dry_run, err)) < 0)
        goto cleanup;
    /* Subject modes of the target would override IMPORT: cleared, set again at the end. */
    for (i = 0; need_import && i < target->n_cfgs; i++) {
        if (target->cfgs[i].mode == NULL || strcmp(target->cfgs[i].mode, "IMPORT") == 0)
            continue;
        free(esc);
        free(path);
        free(what);
        esc = cli_registry_escape(target->cfgs[i].subject);
        path = chan_xasprintf("/mode/%s", esc);
        what = chan_xasprintf("clear mode of %s for the import", target->cfgs[i].subject);
        if ((error = write_call(dst, dry_run, "DELETE", path, NULL, what, err)) < 0)
            goto cleanup;
    }
    for (i = 0; i < src->n; i++) {
        const entry *s = &src->entries[i], *d = find_entry(target, s->subject, s->version);

        free(esc);
        free(path);
        free(what);
        esc = cli_registry_escape(s->subject);
        path = NULL;
        what = NULL;
        if (d == NULL) {
            path = chan_xasprintf("/subjects/%s/versions", esc);
            what = chan_xasprintf("import %s version %d as id %lld", s->subject, s->version, s->id);
            if ((error = write_call(dst, dry_run, "POST", path,
                                    json_pack("{s:s, s:I, s:i}", "schema", s->schema, "id",
                                              (json_int_t)s->id, "version", s->version),
                                    what, err)) < 0)
                goto cleanup;
            (*out_imported)++;
        }
        if (s->deleted && (d == NULL || !d->deleted)) {
            free(path);
            free(what);
            path = chan_xasprintf("/subjects/%s/versions/%d", esc, s->version);
            what = chan_xasprintf("soft-delete %s version %d", s->subject, s->version);
            if ((error = write_call(dst, dry_run, "DELETE", path, NULL, what, err)) < 0)
                goto cleanup;
        }
    }
    /* Compatibility levels, then subject modes, then the global mode. */
    if (src->level && !same_text(src->level, target->level) &&
        (error = write_call(dst, dry_run, "PUT", "/config",
                            json_pack("{s:s}", "compatibility", src->level),
                            "set global compatibility", err)) < 0)
        goto cleanup;
    for (i = 0; i < src->n_cfgs + target->n_cfgs; i++) {
        const char *subject =
            i < src->n_cfgs ? src->cfgs[i].subject : target->cfgs[i - src->n_cfgs].subject;
        const subject_cfg *s = find_cfg(src, subject), *d = find_cfg(target, subject);
        const char *want = s ? s->level : NULL, *have = d ? d->level : NULL;

        if ((i >= src->n_cfgs && s != NULL) || same_text(want, have))
            continue;
        free(esc);
        free(path);
        free(what);
        esc = cli_registry_escape(subject);
        path = chan_xasprintf("/config/%s", esc);
        what = chan_xasprintf("%s compatibility of %s%s%s", want ? "set" : "clear", subject,
                              want ? " to " : "", want ? want : "");
        if ((error = write_call(dst, dry_run, want ? "PUT" : "DELETE", path,
                                want ? json_pack("{s:s}", "compatibility", want) : NULL, what,
                                err)) < 0)
            goto cleanup;
    }
    for (i = 0; i < src->n_cfgs; i++) {
        const subject_cfg *s = &src->cfgs[i], *d = find_cfg(target, s->subject);

        if (s->mode == NULL || (d && same_text(s->mode, d->mode) && !need_import))
            continue;
        free(esc);
        free(path);
        free(what);
        esc = cli_registry_escape(s->subject);
        path = chan_xasprintf("/mode/%s?force=true", esc);
        what = chan_xasprintf("set mode of %s to %s", s->subject, s->mode);
        if ((error = write_call(dst, dry_run, "PUT", path, json_pack("{s:s}", "mode", s->mode),
                                what, err)) < 0)
            goto cleanup;
    }
    if (src->mode && (need_import || !same_text(src->mode, target->mode))) {
        free(what);
        what = chan_xasprintf("set global mode %s", src->mode);
        if ((error = write_call(dst, dry_run, "PUT", "/mode?force=true",
                                json_pack("{s:s}", "mode", src->mode), what, err)) < 0)
            goto cleanup;
    }

cleanup:
    free(esc);
    free(path);
    free(what);
    return error;
}

int cmd_import(int argc, char **argv)
{
    import_opts o = {NULL, NULL, NULL, false};
    chan_error err = CHAN_ERROR_INIT;
    cli_registry *src = NULL, *dst = NULL;
    snapshot from, before, after;
    size_t n_conflicts, n_diffs, imported = 0;
    bool partial = false;
    cli_args args;
    int rc, error;

    memset(&from, 0, sizeof(from));
    memset(&before, 0, sizeof(before));
    memset(&after, 0, sizeof(after));
    if (cli_args_parse(&args, &o, &spec, argc, argv) == CLI_ARGS_EXIT)
        return args.exit;
    if (cli_args_count(&args) != 0)
        return cli_usage_error("import", "too many arguments");
    if (o.from == NULL || o.from[0] == '\0')
        return cli_usage_error("import", "--from URL is required");
    if ((rc = cli_args_open_registry(&dst, &args)) != CLI_EXIT_OK)
        return rc;
    if ((error = cli_registry_open(&src, o.from, o.from_token ? o.from_token : "",
                                   args.conn.timeout, o.from_cacert, &err)) < 0) {
        cli_error_print(&err);
        rc = CLI_EXIT_USAGE;
        goto cleanup;
    }
    if (strcmp(cli_registry_url(src), cli_registry_url(dst)) == 0) {
        rc = cli_usage_error("import", "--from and the target are the same registry");
        goto cleanup;
    }

    if ((error = read_snapshot(&from, src, &err)) < 0 ||
        (error = read_snapshot(&before, dst, &err)) < 0)
        goto failed;
    n_conflicts = conflicts(&partial, &from, &before);
    if (n_conflicts > 0) {
        cli_error("%zu conflict%s between %s and %s; nothing written", n_conflicts,
                  n_conflicts == 1 ? "" : "s", cli_registry_url(src), cli_registry_url(dst));
        rc = CLI_EXIT_FAILED;
        goto cleanup;
    }
    if ((error = apply(dst, &from, &before, partial, o.dry_run, &imported, &err)) < 0)
        goto failed;
    if (o.dry_run) {
        printf("dry run: %zu version%s to import, nothing written\n", imported,
               imported == 1 ? "" : "s");
        rc = CLI_EXIT_OK;
        goto cleanup;
    }

    /* Verify: both sides again, from scratch. */
    snapshot_dispose(&from);
    if ((error = read_snapshot(&from, src, &err)) < 0 ||
        (error = read_snapshot(&after, dst, &err)) < 0)
        goto failed;
    n_diffs = compare(&from, &after);
    if (n_diffs > 0) {
        cli_error("%zu difference%s between %s and %s after the import", n_diffs,
                  n_diffs == 1 ? "" : "s", cli_registry_url(src), cli_registry_url(dst));
        rc = CLI_EXIT_FAILED;
        goto cleanup;
    }
    printf("imported %zu version%s; verified: %zu versions, %zu subject settings and the global "
           "settings agree\n",
           imported, imported == 1 ? "" : "s", from.n, from.n_cfgs);
    rc = cli_finish_stdout();
    goto cleanup;

failed:
    cli_error_print(&err);
    rc = cli_registry_exit_code(error);
cleanup:
    snapshot_dispose(&from);
    snapshot_dispose(&before);
    snapshot_dispose(&after);
    cli_registry_free(src);
    cli_registry_free(dst);
    return rc;
}
