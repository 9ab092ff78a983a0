/* cmd_register.c - placeholder until the register command lands. */
#include "cli.h"
#include "cmds.h"

int cmd_register(int argc, char **argv)
{
    cli_error("the register command is not available in this build");
    return CLI_EXIT_RUNTIME;
}
