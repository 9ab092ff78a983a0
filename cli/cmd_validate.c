/* cmd_validate.c - placeholder until the validate command lands. */
#include "cli.h"
#include "cmds.h"

int cmd_validate(int argc, char **argv)
{
    cli_error("the validate command is not available in this build");
    return CLI_EXIT_RUNTIME;
}
