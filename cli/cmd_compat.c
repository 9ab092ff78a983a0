/* cmd_compat.c - placeholder until the compat command lands. */
#include "cli.h"
#include "cmds.h"

int cmd_compat(int argc, char **argv)
{
    cli_error("the compat command is not available in this build");
    return CLI_EXIT_RUNTIME;
}
