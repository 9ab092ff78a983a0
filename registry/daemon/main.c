/*
 * main.c - chanregd, the channel contract registry daemon.
 */
#include <stdio.h>
#include <string.h>

#include "chan/version.h"

static void usage(FILE *out)
{
    fprintf(out, "chanregd - channel contract registry daemon\n\n"
                 "Usage:\n"
                 "  chanregd [OPTION]...\n\n"
                 "Options:\n"
                 "  -V, --version  print the version and exit\n"
                 "  -h, --help     show this help and exit\n");
}

int main(int argc, char **argv)
{
    if (argc > 1 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
        printf("chanregd %s\n", CHAN_VERSION_STRING);
        return 0;
    }
    if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    usage(stderr);
    return 2;
}
