/* cli_util.c - loading captures for the command line, progress, colour. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli.h"

typedef struct cli_progress {
    const char *name;
    int shown;
} cli_progress;

/* A one-line bar on stderr, redrawn in place; erased at the end. */
static void cli_progress_cb(void *ctx, int64_t done, int64_t total, uint64_t packets)
{
    cli_progress *p = ctx;
    char bar[31];
    int fill;
    if (total <= 0 || done < 0)
        return;
    if (done >= total) {
        if (p->shown)
            fprintf(stderr, "\r\033[K");
        return;
    }
    fill = (int)(30.0 * (double)done / (double)total);
    if (fill > 30)
        fill = 30;
    memset(bar, '#', (size_t)fill);
    memset(bar + fill, '.', (size_t)(30 - fill));
    bar[30] = '\0';
    fprintf(stderr, "\r%.40s [%s] %3d%% %llu packets", p->name, bar,
            (int)(100.0 * (double)done / (double)total), (unsigned long long)packets);
    p->shown = 1;
}

nl_trace *cli_load_trace(const char *path, const nl_trace_opts *opts)
{
    char err[512];
    nl_trace_opts o;
    cli_progress prog = {path, 0};
    nl_trace *t;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof o);
    if (isatty(2) && !o.progress) {
        o.progress = cli_progress_cb;
        o.progress_ctx = &prog;
    }
    t = trace_load(path, &o, err);
    if (!t) {
        fprintf(stderr, "natlens: %s\n", err);
        return NULL;
    }
    if (t->warning)
        fprintf(stderr, "natlens: warning: %s\n", t->warning);
    {
        nl_flow_table_stats st;
        flow_table_stats(t->flows, &st);
        /* every command that loads through here takes --max-flows */
        if (st.no_memory)
            fprintf(stderr, "natlens: warning: %s: out of memory: %llu packets of new flows were "
                            "not accounted; %s\n",
                    t->name, (unsigned long long)st.no_memory,
                    o.max_flows ? "a smaller --max-flows bounds the live flows further (each "
                                  "flow that ended still keeps a summary of about 300 bytes)"
                                : "use --max-flows N to bound memory");
    }
    if (t->malformed || t->truncated)
        fprintf(stderr, "natlens: note: %s: %llu malformed and %llu truncated frames "
                        "(counted, decoded as far as they go)\n",
                t->name, (unsigned long long)t->malformed, (unsigned long long)t->truncated);
    return t;
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
        fprintf(stderr, "natlens: %s needs a positive number, got '%s'\n", opt, val ? val : "");
        exit(CLI_USAGE);
    }
    return v;
}
