/* diagnose_out.c - findings as the contract's JSON array and as UX.md's
 * FINDINGS section: the answer (summary) first, the proof (evidence) under
 * it, the fix last. */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "natlens/frame_ref.h"
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"

#define TEXT_PER_CAPTURE 4
#define TEXT_MIN_WIDTH 60

/* The wrap width of the text: the terminal's width when out is one (its
 * COLUMNS, else the window size), no wrapping at all when it is not (a
 * file or a pipe: another program reads it, or a wider window later). */
static int text_width(FILE *out)
{
    struct winsize ws;
    if (!isatty(fileno(out)))
        return 0;
    const char *cols = getenv("COLUMNS");
    int w = cols ? atoi(cols) : 0;
    if (w <= 0 && ioctl(fileno(out), TIOCGWINSZ, &ws) == 0)
        w = ws.ws_col;
    if (w <= 0)
        w = 100;
    return w < TEXT_MIN_WIDTH ? TEXT_MIN_WIDTH : w;
}

void diagnose_json(nl_json *j, const char *key, const nl_findings *fs)
{
    json_arr_begin(j, key);
    for (size_t i = 0; i < diagnose_count(fs); i++) {
        const nl_finding *f = diagnose_get(fs, i);
        json_obj_begin(j, NULL);
        json_str(j, "kind", diagnose_kind_name(f->kind));
        json_str(j, "severity", diagnose_severity_name(f->severity));
        json_str(j, "summary", f->summary);
        json_uint(j, "connections", f->connections);
        json_arr_begin(j, "flows");
        for (size_t k = 0; k < f->nflows; k++)
            flow_out_json(j, NULL, f->flows[k].flow);
        json_arr_end(j);
        json_arr_begin(j, "flow_captures");
        for (size_t k = 0; k < f->nflows; k++)
            json_int(j, NULL, f->flows[k].capture);
        json_arr_end(j);
        json_arr_begin(j, "evidence");
        for (size_t k = 0; k < f->nevidence; k++) {
            const nl_evidence *e = &f->evidence[k];
            json_obj_begin(j, NULL);
            json_str(j, "capture", diagnose_capture_name(fs, e->capture));
            json_int(j, "capture_index", e->capture);
            if (frame_ref_file(e->frame) >= 0) {   /* a capture point of several files */
                char file[256];
                json_str(j, "file", frame_ref_where(diagnose_capture_name(fs, e->capture),
                                                    e->frame, file, sizeof file));
            }
            if (e->frame)
                json_uint(j, "frame", frame_ref_local(e->frame));
            else
                json_null(j, "frame");
            if (e->ts_ns)
                json_ts(j, "ts", e->ts_ns);
            else
                json_null(j, "ts");
            json_str(j, "what", e->what);
            json_obj_end(j);
        }
        json_arr_end(j);
        json_str(j, "fix", f->fix);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* Print s wrapped at width (0: not wrapped), continuation lines indented
 * by `indent`; the first line starts at column `col`. */
static void text_wrap(FILE *out, const char *s, int col, int indent, int width)
{
    int c = col;
    if (!width) {
        fprintf(out, "%s\n", s);
        return;
    }
    while (*s) {
        const char *sp = strchr(s, ' ');
        size_t w = sp ? (size_t)(sp - s) : strlen(s);
        if (c > indent && c + (int)w > width) {
            fprintf(out, "\n%*s", indent, "");
            c = indent;
        }
        fwrite(s, 1, w, out);
        c += (int)w;
        s += w;
        if (*s == ' ') {
            s++;
            if (*s && c + 1 <= width) {
                fputc(' ', out);
                c++;
            }
        }
    }
    fputc('\n', out);
}

static const char *sev_label(nl_severity s)
{
    switch (s) {
    case NL_SEV_ERROR: return "ERROR";
    case NL_SEV_WARNING: return "WARN ";
    default: return "INFO ";
    }
}

static const char *sev_color(nl_severity s)
{
    switch (s) {
    case NL_SEV_ERROR: return "\033[1;31m";
    case NL_SEV_WARNING: return "\033[33m";
    default: return "\033[36m";
    }
}

void diagnose_text(FILE *out, const nl_findings *fs, int color)
{
    size_t namew = 8;
    int width = text_width(out);
    fputs("FINDINGS\n", out);
    if (!diagnose_count(fs)) {
        fputs("  none\n", out);
        return;
    }
    if (diagnose_dropped(fs))
        fprintf(out, "  (%llu more broken connections were not analysed: too many)\n",
                (unsigned long long)diagnose_dropped(fs));
    for (size_t i = 0; i < diagnose_count(fs); i++) {
        const nl_finding *f = diagnose_get(fs, i);
        for (size_t k = 0; k < f->nevidence; k++) {
            char file[256];
            size_t l = strlen(frame_ref_where(diagnose_capture_name(fs, f->evidence[k].capture),
                                              f->evidence[k].frame, file, sizeof file));
            if (l > namew)
                namew = l;
        }
    }
    if (namew > 40)
        namew = 40;
    for (size_t i = 0; i < diagnose_count(fs); i++) {
        const nl_finding *f = diagnose_get(fs, i);
        const char *kn = diagnose_kind_name(f->kind);
        int col;
        if (i)
            fputc('\n', out);
        fprintf(out, "  %s%s%s  %s  ", color ? sev_color(f->severity) : "",
                sev_label(f->severity), color ? "\033[0m" : "", kn);
        col = 2 + 5 + 2 + (int)strlen(kn) + 2;
        text_wrap(out, f->summary, col, 9, width);
        size_t shown = 0, hidden = 0;
        int lastcap = -1, percap = 0;
        for (size_t k = 0; k < f->nevidence; k++) {
            const nl_evidence *e = &f->evidence[k];
            char fr[32], tm[32], file[256];
            if (e->capture != lastcap) {
                lastcap = e->capture;
                percap = 0;
            }
            /* the first connection tells the story; the rest are in --json */
            if (e->conn != 0 || percap >= TEXT_PER_CAPTURE) {
                hidden++;
                continue;
            }
            percap++;
            if (e->frame)
                snprintf(fr, sizeof fr, "#%llu", (unsigned long long)frame_ref_local(e->frame));
            else
                snprintf(fr, sizeof fr, "-");
            if (e->ts_ns)
                flow_out_time(e->ts_ns, tm, sizeof tm, 0);
            else
                snprintf(tm, sizeof tm, "%15s", "");
            /* a capture point of several files: the file the frame is in */
            fprintf(out, "    %-9s %-*.*s %-6s %s  ", shown ? "" : "evidence", (int)namew,
                    (int)namew, frame_ref_where(diagnose_capture_name(fs, e->capture), e->frame,
                                                file, sizeof file), fr, tm);
            text_wrap(out, e->what, 4 + 10 + (int)namew + 1 + 7 + 15 + 2,
                      4 + 10 + (int)namew + 1 + 7 + 15 + 2, width);
            shown++;
        }
        if (hidden) {
            char more[160];
            snprintf(more, sizeof more, "... %zu more line%s%s (--json lists all)", hidden,
                     hidden > 1 ? "s" : "",
                     f->connections > 1 ? ", also for the other connections" : "");
            fprintf(out, "    %-9s ", "");
            text_wrap(out, more, 14, 18, width);
        }
        if (f->fix) {
            const char *s = f->fix;
            int first = 1;
            while (*s) {
                const char *nl = strchr(s, '\n');
                size_t w = nl ? (size_t)(nl - s) : strlen(s);
                char line[1024];
                fprintf(out, "    %-9s ", first ? "fix" : "");
                if (w >= 2 && s[0] == ' ' && s[1] == ' ') {
                    /* a command: never wrapped, so it pastes whole */
                    fprintf(out, "%.*s\n", (int)w, s);
                } else {
                    snprintf(line, sizeof line, "%.*s", (int)w, s);
                    text_wrap(out, line, 14, 14, width);
                }
                first = 0;
                s += w;
                if (*s == '\n')
                    s++;
            }
        }
    }
}
