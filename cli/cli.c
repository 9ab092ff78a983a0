/*
 * cli.c - error printing and small helpers shared by the chanctl commands.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "cli.h"

const char *cli_progname = "chanctl";

static void vprint(const char *prefix, const char *fmt, va_list ap) CHAN_PRINTF(2, 0);

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_progname);
    va_start(ap, fmt);
    vprint("error: ", fmt, ap);
    va_end(ap);
}

void cli_warning(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_progname);
    va_start(ap, fmt);
    vprint("warning: ", fmt, ap);
    va_end(ap);
}

void cli_detail(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("detail: ", fmt, ap);
    va_end(ap);
}

void cli_hint(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprint("hint: ", fmt, ap);
    va_end(ap);
}

void cli_error_print(const chan_error *err)
{
    if (err->file[0] != '\0' && err->line > 0)
        cli_error("%s:%d:%d: %s", err->file, err->line, err->column, err->message);
    else if (err->file[0] != '\0')
        cli_error("%s: %s", err->file, err->message);
    else
        cli_error("%s", err->message[0] ? err->message : chan_strerror(err->code));
    if (err->detail[0] != '\0')
        cli_detail("%s", err->detail);
    if (err->hint[0] != '\0')
        cli_hint("%s", err->hint);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_progname);
    va_start(ap, fmt);
    vprint("error: ", fmt, ap);
    va_end(ap);
    if (cmd)
        fprintf(stderr, "Try \"%s %s --help\" for more information.\n", cli_progname, cmd);
    else
        fprintf(stderr, "Try \"%s --help\" for more information.\n", cli_progname);
    return CLI_EXIT_USAGE;
}

void cli_xml_puts(const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;

        switch (c) {
        case '&':
            fputs("&amp;", stdout);
            break;
        case '<':
            fputs("&lt;", stdout);
            break;
        case '>':
            fputs("&gt;", stdout);
            break;
        case '"':
            fputs("&quot;", stdout);
            break;
        case '\'':
            fputs("&apos;", stdout);
            break;
        default:
            if (c >= 0x20 || c == '\t' || c == '\n')
                putchar(c);
        }
    }
}

int cli_finish_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_error("cannot write to standard output: %s", strerror(errno));
        return CLI_EXIT_RUNTIME;
    }
    return CLI_EXIT_OK;
}
