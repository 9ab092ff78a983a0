/*
 * main.c - chanctl, the command-line client of the channel contract registry.
 *
 * Offline commands (validate, compat) use libchan directly; commands that
 * touch a registry talk to chanregd over HTTP only.
 */
#include <stdio.h>
#include <string.h>

#include "chan/common.h"
#include "chan/version.h"
#include "cli.h"
#include "cmds.h"
#include "options.h"

const cli_cmd cli_cmds[] = {
    {"validate", "check contract files (offline, or against a registry)", cmd_validate},
    {"compat", "check Avro schema compatibility under a mode", cmd_compat},
    {"register", "push contracts and their schemas to a registry", cmd_register},
    {"get", "show one channel, subject or schema of a registry", cmd_get},
    {"list", "list channels, consumers or subjects of a registry", cmd_list},
    {"check", "measure contract health against a registry (the CI gate)", cmd_check},
    {"acl", "Kafka ACL plan, apply and admission check through a registry", cmd_acl},
    {"export", "export Kafka users and ACLs (Strimzi, kafka-configs)", cmd_export},
    {"token", "API tokens of a registry (admin) and token file lines", cmd_token},
    {"consumer", "register, renew, remove, list, approve and reject consumers", cmd_consumer},
    {"docs", "render contracts as a static site and Markdown (offline)", cmd_docs},
};
const size_t cli_cmds_count = sizeof(cli_cmds) / sizeof(cli_cmds[0]);

/* chanctl's own options, before the command. */
static const cli_opt_spec main_opts[] = {
    {"version", 'V', NULL, "print the version and exit", 0},
    {"help", 'h', NULL, "show this help and exit", 0},
};

static void usage(FILE *out)
{
    size_t i;

    fprintf(out,
            "%s - channel contract registry client\n\n"
            "Usage:\n"
            "  %s COMMAND [OPTION]... [ARG]...\n\n"
            "Commands:\n",
            cli_progname, cli_progname);
    for (i = 0; i < cli_cmds_count; i++)
        fprintf(out, "  %-10s %s\n", cli_cmds[i].name, cli_cmds[i].summary);
    fprintf(out, "\nOptions:\n");
    cli_opts_print(out, main_opts, CHAN_ARRAY_SIZE(main_opts), 14);
    fprintf(out,
            "\nRun \"%s COMMAND --help\" for the options of a command.\n"
            "Exit status: 0 ok, 1 check failed, 2 usage error, 3 runtime error.\n",
            cli_progname);
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2)
        return cli_usage_error(NULL, "missing command");
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return cli_finish_stdout();
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
        printf("%s %s\n", cli_progname, CHAN_VERSION_STRING);
        return cli_finish_stdout();
    }
    for (i = 0; i < cli_cmds_count; i++) {
        if (strcmp(argv[1], cli_cmds[i].name) == 0) {
            int rc = cli_cmds[i].run(argc - 1, argv + 1);
            int out_rc = cli_finish_stdout();

            return rc != CLI_EXIT_OK ? rc : out_rc;
        }
    }
    if (argv[1][0] == '-')
        return cli_usage_error(NULL, "unknown option %s", argv[1]);
    return cli_usage_error(NULL, "unknown command \"%s\"", argv[1]);
}
