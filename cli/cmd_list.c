/* cmd_list.c - placeholder until the list command lands. */
#include "cli.h"
#include "cmds.h"

int cmd_list(int argc, char **argv)
{
    cli_error("the list command is not available in this build");
    return CLI_EXIT_RUNTIME;
}
