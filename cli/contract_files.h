/*
 * contract_files.h - what the chanctl commands that read contract files
 * share: turning command-line paths into a list of contract files, and
 * printing diagnostics as `file:line:col: severity: message [rule]` with the
 * source line, a caret under the column, and the hint.
 */
#ifndef CHANCTL_CONTRACT_FILES_H
#define CHANCTL_CONTRACT_FILES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "chan/error.h"

/** Directory read when no path is given. */
#define CLI_DEFAULT_CONTRACT_DIR "contracts"

/** A list of file paths; the strings belong to the list. */
typedef struct cli_path_list {
    char **items;
    size_t count;
} cli_path_list;

#define CLI_PATH_LIST_INIT                                                                         \
    {                                                                                              \
        NULL, 0                                                                                    \
    }

/** Free every path and reset the list to empty. */
void cli_path_list_dispose(cli_path_list *list);

/**
 * Expand command-line paths into contract files: a file is taken as it is, a
 * directory is searched recursively for *.yaml and *.yml (hidden entries
 * skipped, sorted by name).  No path at all means CLI_DEFAULT_CONTRACT_DIR.
 * A file named twice (same device and inode) is kept once, at its first
 * mention.
 *
 * @param[out] out receives the files (appended)
 * @return 0, CHAN_ENOTFOUND (a path does not exist) or CHAN_EIO / CHAN_EINVALID
 *         (a directory cannot be read or nests too deep); err says which path
 */
int cli_collect_contract_files(cli_path_list *out, char *const *paths, int n_paths,
                               chan_error *err);

/** Help text of the `--root DIR` option of the commands that read contracts. */
#define CLI_ROOT_OPTION_HELP                                                                       \
    "contracts root: contract and schema files must lie inside DIR (default: the git work "        \
    "tree above the contract, else the directory holding the nearest schemas/, else the "          \
    "contract's own directory)"

/**
 * Check a `--root DIR` option (NULL: not given): DIR must be a directory.
 * Prints a usage error for cmd otherwise.
 * @return true when the option is usable
 */
bool cli_root_option_ok(const char *cmd, const char *root);

/**
 * Read a contract file under the rule of chan_contract_file_read: inside
 * root, or inside the file's default root (chan_contract_root_default) when
 * root is NULL; a regular file of at most CHAN_CONTRACT_MAX_SIZE bytes.
 *
 * @param[out] out the text (caller free()s it)
 * @return as chan_contract_file_read
 */
int cli_read_contract_file(char **out, size_t *out_len, const char *root, const char *path,
                           chan_error *err);

/** Reads each source file once for the excerpts under diagnostics. */
typedef struct cli_source_cache {
    char *file;
    char *text;
    size_t len;
} cli_source_cache;

#define CLI_SOURCE_CACHE_INIT                                                                      \
    {                                                                                              \
        NULL, NULL, 0                                                                              \
    }

void cli_source_cache_dispose(cli_source_cache *cache);

/**
 * Print one diagnostic in the text format to out: the location line, then
 * (when cache is not NULL and the line is printable) the source line with a
 * caret under the column, then `hint: ...`.
 */
void cli_print_diag(FILE *out, const chan_diag *d, cli_source_cache *cache);

/** cli_print_diag for every diagnostic of the list, in its order. */
void cli_print_diags(FILE *out, const chan_diag_list *diags, bool excerpts);

#endif
