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

int cli_format_parse(cli_format *out, const char *cmd, const char *value, unsigned allowed)
{
    static const char *const names[] = {"text", "json", "junit", "github", "table"};
    size_t i;

    for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if ((allowed & (1u << i)) && strcmp(value, names[i]) == 0) {
            *out = (cli_format)i;
            return 0;
        }
    }
    cli_usage_error(cmd, "unknown format \"%s\"", value);
    return -1;
}

void cli_opt_build(struct option *longopts, char *shortopts, const cli_opt_spec *specs, size_t n)
{
    size_t i, s = 0;

    shortopts[s++] = ':';
    for (i = 0; i < n; i++) {
        longopts[i].name = specs[i].name;
        longopts[i].has_arg = specs[i].has_arg;
        longopts[i].flag = NULL;
        longopts[i].val = specs[i].val;
        if (specs[i].val < 256) {
            shortopts[s++] = (char)specs[i].val;
            if (specs[i].has_arg == required_argument)
                shortopts[s++] = ':';
        }
    }
    memset(&longopts[n], 0, sizeof(longopts[n]));
    shortopts[s] = '\0';
}

void cli_opt_usage(FILE *out, const cli_opt_spec *specs, size_t n, int width)
{
    size_t i;

    for (i = 0; i < n; i++) {
        const cli_opt_spec *o = &specs[i];
        char left[64];

        if (o->val < 256)
            snprintf(left, sizeof(left), "-%c, --%s%s%s", o->val, o->name, o->arg_name ? "=" : "",
                     o->arg_name ? o->arg_name : "");
        else
            snprintf(left, sizeof(left), "    --%s%s%s", o->name, o->arg_name ? "=" : "",
                     o->arg_name ? o->arg_name : "");
        fprintf(out, "  %-*s %s\n", width, left, o->help);
    }
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
