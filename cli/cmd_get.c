/* cmd_get.c - placeholder until the get command lands. */
#include "cli.h"
#include "cmds.h"

int cmd_get(int argc, char **argv)
{
    cli_error("the get command is not available in this build");
    return CLI_EXIT_RUNTIME;
}
