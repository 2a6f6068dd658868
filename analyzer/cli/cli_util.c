/* cli_util.c - loading captures for the command line, progress, colour,
 * messages on stderr, and the options every capture-reading command
 * shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include "natlens/text_safe.h"
#include "cli.h"

void cli_eprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_safe_vfprintf(stderr, fmt, ap);
    va_end(ap);
}

int cli_partial;

nl_trace *cli_load_trace(const char *path, const nl_trace_opts *opts)
{
    nl_trace *t = NULL;
    /* the progress line and the notes are cli_load_traces' (cli_load.c) */
    if (cli_load_traces(&path, 1, opts, &t) < 0)
        return NULL;
    return t;
}

void cli_trace_notes(nl_trace *t)
{
    /* one line each: the damage, then the notes (host context values
     * replaced, the capture's own drops) */
    for (int k = 0; k < 2; k++) {
        const char *src = k ? t->notes : t->warning;
        char *w = src ? strdup(src) : NULL, *line, *next;
        for (line = w; line; line = next) {
            if ((next = strchr(line, '\n')))
                *next++ = '\0';
            cli_eprintf("natlens: warning: %s\n", line);
        }
        free(w);
    }
    {
        nl_flow_table_stats st;
        flow_table_stats(t->flows, &st);
        /* every command that loads through here takes --max-flows */
        if (st.no_memory)
            cli_eprintf("natlens: warning: %s: out of memory: %llu packets of new flows were "
                            "not accounted; %s\n",
                    t->name, (unsigned long long)st.no_memory,
                    st.max_flows ? "a smaller --max-flows bounds the live flows further (each "
                                  "flow that ended still keeps a summary of about 300 bytes)"
                                : "use --max-flows N to bound memory");
    }
    if (t->bad_records) {
        /* file text in the reasons: escaped, nothing raw reaches a terminal */
        for (uint64_t i = 0; i < t->bad_records && i < NL_TRACE_BAD_KEEP; i++) {
            fputs("natlens: warning: ", stderr);
            for (const unsigned char *s = (const unsigned char *)t->bad_first[i]; s && *s; s++)
                if (*s >= 0x20 && *s < 0x7f)
                    fputc(*s, stderr);
                else
                    fprintf(stderr, "\\x%02x", *s);
            fputs(" (line skipped)\n", stderr);
        }
        if (t->bad_records > NL_TRACE_BAD_KEEP)
            cli_eprintf("natlens: warning: %s: %llu more lines skipped\n", t->name,
                    (unsigned long long)(t->bad_records - NL_TRACE_BAD_KEEP));
    }
    {
        nl_flow_table_stats st;
        flow_table_stats(t->flows, &st);
        if (t->warning || t->bad_records || st.no_memory || t->malformed)
            cli_partial = 1;
    }
    if (t->malformed || t->truncated)
        cli_eprintf("natlens: note: %s: %llu malformed and %llu truncated frames "
                    "(counted, decoded as far as they go)\n",
                    t->name, (unsigned long long)t->malformed, (unsigned long long)t->truncated);
}

int cli_use_color(FILE *f)
{
    const char *nc = getenv("NO_COLOR");
    if (nc && *nc)
        return 0;
    return isatty(fileno(f));
}

char *cli_join_args(int argc, char **argv, int i)
{
    size_t len = 0;
    char *s;
    if (i >= argc)
        return NULL;
    for (int k = i; k < argc; k++)
        len += strlen(argv[k]) + 1;
    s = malloc(len + 1);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int k = i; k < argc; k++) {
        if (k > i)
            strcat(s, " ");
        strcat(s, argv[k]);
    }
    return s;
}

unsigned long cli_parse_count(const char *opt, const char *val)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = val ? strtoul(val, &end, 10) : 0;
    if (!val || errno || *end || v == 0 || val[0] == '-') {
        cli_eprintf("natlens: %s needs a positive number, got '%s'\n", opt, val ? val : "");
        exit(CLI_USAGE);
    }
    return v;
}

int cli_stdin_once(const char *cmd, const char *const *files, int n)
{
    int seen = 0;
    for (int i = 0; i < n; i++)
        if (!strcmp(files[i], "-") && seen++) {
            fprintf(stderr, "natlens %s: standard input ('-') can be read only once: give it "
                    "for one capture and files for the others\n", cmd);
            return -1;
        }
    return 0;
}

char *cli_take_filter(int *argc, char **argv)
{
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            char *expr = cli_join_args(*argc, argv, i + 1);
            *argc = i;
            return expr;
        }
    }
    return NULL;
}

char *cli_filter_and(const char *a, const char *b, int *oom)
{
    char *s;
    size_t n;
    *oom = 0;
    if (!a || !b) {
        if (!a && !b)
            return NULL;
        s = strdup(a ? a : b);
    } else {
        n = strlen(a) + strlen(b) + 12;
        s = malloc(n);
        if (s)
            snprintf(s, n, "(%s) and (%s)", a, b);
    }
    if (!s)
        *oom = 1;
    return s;
}

uint16_t cli_parse_seed(const char *val)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = val ? strtoul(val, &end, 10) : 0;
    if (!val || !*val || errno || *end || v > 65535 || val[0] == '-' || val[0] == '+') {
        fprintf(stderr, "natlens: --community-id-seed needs a number from 0 to 65535, got '%s'\n",
                val ? val : "");
        exit(CLI_USAGE);
    }
    return (uint16_t)v;
}

/* The value of a short option given as "-xVALUE" or "-x VALUE". */
static const char *cli_short_value(int argc, char **argv, int *i, const char *what)
{
    const char *a = argv[*i];
    if (a[2])
        return a + 2;
    if (*i + 1 >= argc) {
        fprintf(stderr, "natlens: %s needs %s\n", a, what);
        exit(CLI_USAGE);
    }
    return argv[++*i];
}

void cli_common_file(cli_common *c, const char *path)
{
    const char **nf = realloc(c->files, ((size_t)c->nfiles + 1) * sizeof *nf);
    if (!nf) {
        fprintf(stderr, "natlens: out of memory\n");
        exit(CLI_USAGE);
    }
    c->files = nf;
    c->files[c->nfiles++] = path;
}

int cli_common_arg(cli_common *c, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "-n") == 0)
        return 1;
    if (strncmp(a, "-r", 2) == 0) {
        cli_common_file(c, cli_short_value(argc, argv, i, "a capture file"));
        return 1;
    }
    if (strncmp(a, "-f", 2) == 0) {
        c->filter_f = cli_short_value(argc, argv, i, "a BPF expression");
        return 1;
    }
    if (strcmp(a, "--community-id-seed") == 0) {
        if (*i + 1 >= argc)
            cli_parse_seed(NULL);
        c->cid_seed = cli_parse_seed(argv[++*i]);
        return 1;
    }
    if (strncmp(a, "--community-id-seed=", 20) == 0) {
        c->cid_seed = cli_parse_seed(a + 20);
        return 1;
    }
    return 0;
}

void cli_tunnel_port(nl_tunnel_conf *c, const char *val)
{
    char err[160];
    if (!val || tunnel_conf_add_port(c, val, err, sizeof err) < 0) {
        fprintf(stderr, "natlens: %s\n", val ? err : "--tunnel-port needs KIND=PORT");
        exit(CLI_USAGE);
    }
}

void cli_tunnel_depth(nl_tunnel_conf *c, const char *val)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = val ? strtoul(val, &end, 10) : 0;
    if (!val || errno || *end || val[0] == '-' || !val[0] || v > 16) {
        fprintf(stderr, "natlens: --tunnel-depth needs a number 0-16, got '%s'\n", val ? val : "");
        exit(CLI_USAGE);
    }
    c->max_depth = (uint8_t)v;
}

int cli_tunnel_arg(nl_tunnel_conf *c, int argc, char **argv, int *i)
{
    static const char *const names[2] = {"--tunnel-port", "--tunnel-depth"};
    for (int k = 0; k < 2; k++) {
        size_t n = strlen(names[k]);
        const char *a = argv[*i], *val;
        if (strncmp(a, names[k], n) != 0 || (a[n] != '\0' && a[n] != '='))
            continue;
        val = a[n] == '=' ? a + n + 1 : (*i + 1 < argc ? argv[++*i] : NULL);
        if (k == 0)
            cli_tunnel_port(c, val);
        else
            cli_tunnel_depth(c, val);
        return 1;
    }
    return 0;
}

int cli_is_input(const char *arg)
{
    struct stat sb;
    char part[4096];
    const char *p = arg;
    if (stat(arg, &sb) == 0)
        return !S_ISDIR(sb.st_mode);
    if (!strchr(arg, '+'))
        return 0;
    /* A+B: each part must be a file (trace_load reads it as one point) */
    for (;;) {
        size_t n = strcspn(p, "+");
        if (n == 0 || n >= sizeof part)
            return 0;
        memcpy(part, p, n);
        part[n] = '\0';
        if (stat(part, &sb) != 0 || S_ISDIR(sb.st_mode))
            return 0;
        if (!p[n])
            return 1;
        p += n + 1;
    }
}

int cli_all_inputs(int n, char **words)
{
    for (int i = 0; i < n; i++)
        if (!cli_is_input(words[i]))
            return 0;
    return n > 0;
}

int cli_role_rank(const char *n)
{
    if (strncasecmp(n, "client", 6) == 0)
        return 0;
    if (strncasecmp(n, "fw", 2) == 0 || strncasecmp(n, "firewall", 8) == 0)
        return 1;
    if (strncasecmp(n, "server", 6) == 0)
        return 3;
    return 2;
}
