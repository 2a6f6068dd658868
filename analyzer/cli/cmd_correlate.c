/* cmd_correlate.c - `natlens correlate`: pair flows across captures taken
 * client side first, print egress addresses, source changes, the paired
 * flows and findings (text), or the contract's JSON document.
 *
 *   natlens correlate [--json] [--fail-on-findings] [--max-flows N]
 *                     FILE_NEAR FILE_FAR [FILE...]
 *   natlens correlate [options] DIR
 *
 * DIR: every *.pcap, *.pcapng and *.cap file in it, ordered by role: the
 * role natlens-capture recorded in the file's host metadata (--role), else
 * the file name: client* first, then fw* / firewall*, then any other name,
 * server* last (alphabetical inside a role).
 *
 * Exit: 0 ok; 1 findings with --fail-on-findings; 2 bad usage or a capture
 * that cannot be read (the message names the file).
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/hostmeta.h"
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/trace.h"
#include "natlens/trace_out.h"
#include "cli.h"

typedef struct view {
    FILE *out;
    int   color;
    int   utf8;
    const nl_correlation *c;
    const nl_findings *fs;       /* NULL: none could be made */
} view;

/* ------------------------------------------------------------------ */
/* arguments and inputs                                                */

static void usage(FILE *f)
{
    fprintf(f,
        "usage: natlens correlate [--json] [--fail-on-findings] [--max-flows N] [--format NAME]\n"
        "                         FILE_NEAR FILE_FAR [FILE...]\n"
        "       natlens correlate [options] DIR\n"
        "Captures are given client side first. DIR takes every .pcap/.pcapng/.cap\n"
        "file in it, ordered by the role recorded by natlens-capture, else by name:\n"
        "client*, fw*/firewall*, others, server*. A FILE may be a record file (conntrack,\n"
        "Cloud NAT / flow logs, Zeek conn.log), detected from its content; --format NAME\n"
        "forces the record reader for every file that is not a capture.\n");
}

static int has_capture_ext(const char *n)
{
    static const char *const ext[] = { ".pcap", ".pcapng", ".cap" };
    /* compressed captures too: natlens reads them by content */
    static const char *const zext[] = { "", ".gz", ".zst", ".xz", ".lz4" };
    size_t ln = strlen(n);
    for (size_t z = 0; z < sizeof zext / sizeof zext[0]; z++)
        for (size_t i = 0; i < sizeof ext / sizeof ext[0]; i++) {
            size_t le = strlen(ext[i]), lz = strlen(zext[z]);
            if (ln > le + lz && strcasecmp(n + ln - lz, zext[z]) == 0 &&
                strncasecmp(n + ln - lz - le, ext[i], le) == 0)
                return 1;
        }
    return 0;
}

static int role_rank(const char *n)
{
    if (strncasecmp(n, "client", 6) == 0)
        return 0;
    if (strncasecmp(n, "fw", 2) == 0 || strncasecmp(n, "firewall", 8) == 0)
        return 1;
    if (strncasecmp(n, "server", 6) == 0)
        return 3;
    return 2;
}

/* The role natlens-capture recorded in the file (--role), else the name. */
static int file_rank(const char *path)
{
    char err[512], role[64];
    const char *base = strrchr(path, '/');
    int rank = role_rank(base ? base + 1 : path);
    char *meta = hostmeta_read(path, err);
    if (meta && hostmeta_get_str(meta, "role", role, sizeof role) == 0 && role[0])
        rank = role_rank(role);
    free(meta);
    return rank;
}

typedef struct dir_entry {
    char *path;
    int   rank;
} dir_entry;

static int dir_entry_cmp(const void *a, const void *b)
{
    const dir_entry *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return strcmp(x->path, y->path);
}

/* Capture files of a directory in role order. Returns the count, -1 on
 * error (message printed). *out is malloc'd, entries too. */
static int list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (!d) {
        cli_eprintf("natlens correlate: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    dir_entry *v = NULL;
    int n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !has_capture_ext(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            dir_entry *nv = realloc(v, (size_t)cap * sizeof *nv);
            if (!nv)
                break;
            v = nv;
        }
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        v[n].path = malloc(len);
        if (!v[n].path)
            break;
        snprintf(v[n].path, len, "%s/%s", dir, e->d_name);
        v[n].rank = file_rank(v[n].path);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(v, (size_t)n, sizeof *v, dir_entry_cmp);
    char **paths = malloc(((size_t)n + 1) * sizeof *paths);
    if (!paths) {
        for (int i = 0; i < n; i++)
            free(v[i].path);
        free(v);
        return -1;
    }
    for (int i = 0; i < n; i++)
        paths[i] = v[i].path;
    free(v);
    *out = paths;
    return n;
}

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int env_utf8(void)
{
    const char *vars[] = { "LC_ALL", "LC_CTYPE", "LANG" };
    for (size_t i = 0; i < 3; i++) {
        const char *v = getenv(vars[i]);
        if (v && *v)
            return strcasestr(v, "utf-8") || strcasestr(v, "utf8");
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* small text helpers                                                  */

static size_t text_cols(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            n++;
    return n;
}

static void put_pad(FILE *f, const char *s, size_t width)
{
    fputs(s, f);
    for (size_t n = text_cols(s); n < width; n++)
        fputc(' ', f);
}

static const char *col(const view *v, const char *code)
{
    return v->color ? code : "";
}

#define C_BOLD  "\033[1m"
#define C_RED   "\033[31m"
#define C_YEL   "\033[33m"
#define C_DIM   "\033[2m"
#define C_OFF   "\033[0m"

static const char *arrow(const view *v) { return v->utf8 ? "→" : "->"; }
static const char *dash(const view *v) { return v->utf8 ? "—" : "-"; }

static char *fmt_dur(double s, char *buf, size_t len, int utf8)
{
    double a = fabs(s);
    if (a >= 1)
        snprintf(buf, len, "%.3f s", a);
    else if (a >= 1e-3)
        snprintf(buf, len, "%.1f ms", a * 1e3);
    else
        snprintf(buf, len, "%.0f %s", a * 1e6, utf8 ? "µs" : "us");
    return buf;
}

/* "10:02:11.160" (UTC) */
static char *fmt_time_ms(uint64_t ns, char *buf, size_t len)
{
    char t[64];
    flow_out_time(ns, t, sizeof t, 0);
    snprintf(buf, len, "%.12s", t);
    return buf;
}

static char *fmt_dest(const nl_addr *ip, uint16_t port, uint8_t proto,
                      char *buf, size_t len)
{
    char a[64], pb[16];
    nl_addr_str(ip, a, sizeof a);
    const char *p = flow_proto_name(proto, pb, sizeof pb);
    int v6 = !nl_addr_is_v4(ip);
    if (proto == IPPROTO_TCP || proto == IPPROTO_UDP)
        snprintf(buf, len, v6 ? "[%s]:%u/%s" : "%s:%u/%s", a, port, p);
    else
        snprintf(buf, len, "%s/%s", a, p);
    return buf;
}

static const char *cap_name(const nl_correlation *c, int i)
{
    const char *n = c->caps[i].name;
    return n ? n : "?";
}

/* ------------------------------------------------------------------ */
/* FINDINGS: the single place where findings are produced. The diagnose
 * module (diagnose.h) reads the finished nl_correlation; text and JSON
 * writers below only print what it returned. Failing to diagnose (out of
 * memory) leaves an empty list rather than no report. */

static nl_findings *findings_make(const nl_correlation *c)
{
    nl_findings *fs = diagnose_new();
    if (fs && diagnose_correlation(fs, c) < 0)
        cli_eprintf("natlens correlate: warning: findings incomplete (out of memory)\n");
    return fs;
}

/* What --fail-on-findings counts: warnings and errors, not notes. */
static size_t findings_count(const nl_findings *fs)
{
    return fs ? diagnose_count_at_least(fs, NL_SEV_WARNING) : 0;
}

static void findings_json(nl_json *j, const nl_findings *fs)
{
    if (fs) {
        diagnose_json(j, "findings", fs);
        return;
    }
    json_arr_begin(j, "findings");
    json_arr_end(j);
}

static void findings_text(const view *v)
{
    if (v->fs) {
        diagnose_text(v->out, v->fs, v->color);
        return;
    }
    fprintf(v->out, "%sFINDINGS%s\n  none\n", col(v, C_BOLD), col(v, C_OFF));
}

/* ------------------------------------------------------------------ */
/* text                                                                */

static void text_header(const view *v)
{
    const nl_correlation *c = v->c;
    char d1[32], d2[32];
    const char *dot = v->utf8 ? " · " : " - ";
    fprintf(v->out, "%snatlens:%s %zu captures", col(v, C_BOLD), col(v, C_OFF),
            c->ncaps);
    for (size_t i = 0; i + 1 < c->ncaps; i++) {
        const nl_clock_offset *o = &c->offsets[i];
        fputs(c->ncaps > 2 ? "\n  " : dot, v->out);
        if (!o->known) {
            fprintf(v->out, "%s vs %s: clock offset unknown (no paired packets)",
                    cap_name(c, o->to), cap_name(c, o->from));
            continue;
        }
        const char *rel = o->offset_s > 0 ? "ahead of" : "behind";
        if (fabs(o->offset_s) < 1e-6)
            fprintf(v->out, "%s runs in step with %s", cap_name(c, o->to),
                    cap_name(c, o->from));
        else
            fprintf(v->out, "%s runs %s %s %s", cap_name(c, o->to),
                    fmt_dur(o->offset_s, d1, sizeof d1, v->utf8), rel,
                    cap_name(c, o->from));
        fprintf(v->out, " (%s%s over %u paired packets%s)", v->utf8 ? "±" : "+/-",
                fmt_dur(o->spread_s, d2, sizeof d2, v->utf8), o->samples,
                o->two_way ? "" : ", one direction only: latency included");
    }
    fputs("\n\n", v->out);
}

static void text_egress(const view *v)
{
    const nl_correlation *c = v->c;
    fprintf(v->out, "%sEGRESS%s %s what the destination sees (paste into an "
            "allow-list request)\n", col(v, C_BOLD), col(v, C_OFF), dash(v));
    if (c->negress == 0) {
        fprintf(v->out, "  none: no flow was followed from %s to a later capture\n\n",
                cap_name(c, 0));
        return;
    }
    size_t w_eg = 0, w_in = 0, w_de = 0;
    char a[64], b[64], d[96];
    for (size_t i = 0; i < c->negress; i++) {
        const nl_egress *e = &c->egress[i];
        size_t l;
        if ((l = strlen(nl_addr_str(&e->egress_ip, a, sizeof a))) > w_eg) w_eg = l;
        if ((l = strlen(nl_addr_str(&e->inner_ip, a, sizeof a))) > w_in) w_in = l;
        if ((l = strlen(fmt_dest(&e->dest_ip, e->dest_port, e->proto, d,
                                 sizeof d))) > w_de) w_de = l;
    }
    for (size_t i = 0; i < c->negress; i++) {
        const nl_egress *e = &c->egress[i];
        char t1[32], t2[32], fl[32];
        fprintf(v->out, "  allow %s", col(v, C_BOLD));
        put_pad(v->out, nl_addr_str(&e->egress_ip, a, sizeof a), w_eg);
        fprintf(v->out, "%s  %s seen for ", col(v, C_OFF), dash(v));
        put_pad(v->out, nl_addr_str(&e->inner_ip, b, sizeof b), w_in);
        fprintf(v->out, " %s ", arrow(v));
        put_pad(v->out, fmt_dest(&e->dest_ip, e->dest_port, e->proto, d,
                                 sizeof d), w_de);
        snprintf(fl, sizeof fl, "%u flow%s,", e->flows, e->flows == 1 ? "" : "s");
        fprintf(v->out, "  %9s %s%s%s\n", fl,
                fmt_time_ms(e->first_ns, t1, sizeof t1), v->utf8 ? "–" : "-",
                fmt_time_ms(e->last_ns, t2, sizeof t2));
    }
    fprintf(v->out, "  %s(times: %s clock, UTC; seen at %s)%s\n\n", col(v, C_DIM),
            cap_name(c, 0), cap_name(c, (int)c->ncaps - 1), col(v, C_OFF));
}

static void text_changes(const view *v)
{
    const nl_correlation *c = v->c;
    fprintf(v->out, "%sSOURCE CHANGES%s\n", col(v, C_BOLD), col(v, C_OFF));
    size_t shown = 0;
    for (size_t i = 0; i < c->nip_changes; i++) {
        const nl_ip_change *ch = &c->ip_changes[i];
        if (ch->has_port)
            continue;     /* the address-wide view; per port in JSON */
        char in[64], de[64], fr[64], to[64], t[32];
        char head[160];
        snprintf(head, sizeof head, "%s %s %s", nl_addr_str(&ch->inner_ip, in, sizeof in),
                 arrow(v), nl_addr_str(&ch->dest_ip, de, sizeof de));
        fputs("  ", v->out);
        put_pad(v->out, head, 32);
        fprintf(v->out, " %s%s %s %s%s at %s\n", col(v, C_YEL),
                nl_addr_str(&ch->from_ip, fr, sizeof fr), v->utf8 ? "⇒" : "=>",
                nl_addr_str(&ch->to_ip, to, sizeof to), col(v, C_OFF),
                fmt_time_ms(ch->at_ns, t, sizeof t));
        fprintf(v->out, "  %-32s (first flow on the new address", "");
        if (ch->old_still_open)
            fprintf(v->out, "; %u earlier flow%s kept %s", ch->old_still_open,
                    ch->old_still_open == 1 ? "" : "s", fr);
        fputs(")\n", v->out);
        shown++;
    }
    if (!shown)
        fprintf(v->out, "  none seen\n");
    fputc('\n', v->out);
}

/* One line of the FLOWS table: a chain, or one flow with no twin. */
typedef struct row {
    const nl_chain *ch;          /* or NULL */
    const nl_unmatched *u;       /* lone flow (ch NULL) */
    uint64_t t;                  /* start in capture 0's clock */
} row;

static int row_cmp(const void *a, const void *b)
{
    const row *x = a, *y = b;
    return x->t < y->t ? -1 : x->t > y->t;
}

/* "snat+p" (source port remapped), "+seq" (sequence numbers rewritten). */
static const char *nat_label(const nl_hop *h, char *buf, size_t len)
{
    const nl_match *m = h->match;
    snprintf(buf, len, "%s%s%s", correlate_translation_name(h->translation),
             m->sport_changed && (h->translation & NL_XLATE_SNAT) ? "+p" : "",
             m->has_seq_offset ? "+seq" : "");
    return buf;
}

static void evidence_text(uint32_t ev, char *buf, size_t len)
{
    buf[0] = 0;
    for (int i = 0; i < NL_EV_COUNT; i++) {
        if (!(ev & (1u << i)))
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, "%s%s", l ? " " : "",
                 correlate_evidence_name(1u << i));
    }
}

typedef struct row_cells {
    char nat[64], st[96], pk[96], by[160];
    const char *color;
} row_cells;

static const nl_flow *row_flow(const row *r, size_t cap)
{
    if (r->ch)
        return r->ch->flows[cap];
    return r->u->capture == (int)cap ? r->u->flow : NULL;
}

static void row_fill(const view *v, const row *rw, row_cells *out)
{
    const nl_correlation *c = v->c;
    const nl_chain *ch = rw->ch;
    const nl_unmatched *u = rw->u;
    out->nat[0] = out->st[0] = out->pk[0] = out->by[0] = 0;
    out->color = "";
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_flow *f = row_flow(rw, i);
        size_t l = strlen(out->st);
        snprintf(out->st + l, sizeof out->st - l, "%s%s", i ? "/" : "",
                 f ? flow_conn_state(f) : "-");
        l = strlen(out->pk);
        snprintf(out->pk + l, sizeof out->pk - l, "%s%llu", i ? "/" : "",
                 f ? (unsigned long long)(f->pkts[0] + f->pkts[1]) : 0ULL);
    }
    if (ch) {
        uint32_t ev = 0;
        for (size_t h = 0; h < ch->nhops; h++) {
            char one[32];
            size_t l = strlen(out->nat);
            if (ch->hops[h].present) {
                nat_label(&ch->hops[h], one, sizeof one);
                ev |= ch->hops[h].match->evidence;
            } else {
                snprintf(one, sizeof one, "lost");
                out->color = C_RED;
            }
            snprintf(out->nat + l, sizeof out->nat - l, "%s%s", h ? "," : "", one);
        }
        evidence_text(ev, out->by, sizeof out->by);
        if (*out->color) {
            size_t l = strlen(out->by);
            snprintf(out->by + l, sizeof out->by - l, "; vanished after %s",
                     cap_name(c, ch->last_cap));
        }
        return;
    }
    snprintf(out->nat, sizeof out->nat, "%s", dash(v));
    int near_side = u->other > u->capture;
    snprintf(out->by, sizeof out->by, "%s",
             u->reason == NL_UNM_OUTSIDE_WINDOW ? "outside the other capture's time span"
             : near_side ? "never arrived" : "from elsewhere");
    out->color = u->reason == NL_UNM_OUTSIDE_WINDOW ? C_DIM
                 : near_side ? C_RED : C_YEL;
}

static void text_flows(const view *v)
{
    const nl_correlation *c = v->c;
    size_t nc = c->ncaps, nrows = 0;
    /* lone flows: unmatched on every side they could match */
    row *rows = calloc(c->nchains + c->nunmatched + 1, sizeof *rows);
    if (!rows)
        return;
    size_t full = 0, partial = 0;
    size_t *only = calloc(nc, sizeof *only);
    for (size_t i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        rows[nrows].ch = ch;
        rows[nrows].t = correlate_to_clock(c, ch->first_cap, 0,
                                           ch->flows[ch->first_cap]->first_ns);
        nrows++;
        if (ch->first_cap == 0 && ch->last_cap == (int)nc - 1)
            full++;
        else
            partial++;
    }
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        if (correlate_match_for(c, u->capture, u->flow, 1) ||
            correlate_match_for(c, u->capture, u->flow, 0))
            continue;           /* part of a chain */
        if (i > 0 && c->unmatched[i - 1].flow == u->flow)
            continue;           /* middle capture: listed once */
        rows[nrows].u = u;
        rows[nrows].t = correlate_to_clock(c, u->capture, 0, u->flow->first_ns);
        nrows++;
        if (only)
            only[u->capture]++;
    }
    qsort(rows, nrows, sizeof *rows, row_cmp);

    const char *dot = v->utf8 ? " · " : ", ";
    fprintf(v->out, "%sFLOWS%s %s ", col(v, C_BOLD), col(v, C_OFF), dash(v));
    if (nc == 2)
        fprintf(v->out, "%zu paired", full);
    else
        fprintf(v->out, "%zu through all %zu captures%s%zu partial", full, nc,
                dot, partial);
    for (size_t i = 0; i < nc && only; i++)
        fprintf(v->out, "%s%zu only at %s", dot, only[i], cap_name(c, (int)i));
    fputc('\n', v->out);

    /* cells first, then widths: states and packet counts of four
     * captures do not fit a fixed column */
    row_cells *cells = calloc(nrows ? nrows : 1, sizeof *cells);
    size_t *w = calloc(nc + 3, sizeof *w);
    char buf[160];
    if (!w || !cells) {
        free(w);
        free(cells);
        free(rows);
        free(only);
        return;
    }
    for (size_t i = 0; i < nc; i++)
        w[i] = text_cols(cap_name(c, (int)i));
    w[nc] = 3;
    w[nc + 1] = 5;
    w[nc + 2] = 4;
    for (size_t r = 0; r < nrows; r++) {
        row_fill(v, &rows[r], &cells[r]);
        for (size_t i = 0; i < nc; i++) {
            const nl_flow *f = row_flow(&rows[r], i);
            size_t l = f ? text_cols(flow_out_tuple(f, buf, sizeof buf, v->utf8)) : 1;
            if (l > w[i])
                w[i] = l;
        }
        const char *cs[3] = { cells[r].nat, cells[r].st, cells[r].pk };
        for (int k = 0; k < 3; k++)
            if (text_cols(cs[k]) > w[nc + k])
                w[nc + k] = text_cols(cs[k]);
    }
    fputs("  ", v->out);
    for (size_t i = 0; i < nc; i++) {
        put_pad(v->out, cap_name(c, (int)i), w[i]);
        fputs("  ", v->out);
    }
    const char *heads[3] = { "nat", "state", "pkts" };
    for (int k = 0; k < 3; k++) {
        put_pad(v->out, heads[k], w[nc + k]);
        fputs("  ", v->out);
    }
    fputs("by\n", v->out);

    for (size_t r = 0; r < nrows; r++) {
        const row_cells *rc = &cells[r];
        fputs("  ", v->out);
        for (size_t i = 0; i < nc; i++) {
            const nl_flow *f = row_flow(&rows[r], i);
            put_pad(v->out, f ? flow_out_tuple(f, buf, sizeof buf, v->utf8)
                              : dash(v), w[i]);
            fputs("  ", v->out);
        }
        const char *cs[3] = { rc->nat, rc->st, rc->pk };
        for (int k = 0; k < 3; k++) {
            put_pad(v->out, cs[k], w[nc + k]);
            fputs("  ", v->out);
        }
        fprintf(v->out, "%s%s%s\n", col(v, rc->color), rc->by,
                *rc->color ? col(v, C_OFF) : "");
    }
    fputc('\n', v->out);
    free(cells);
    free(w);
    free(rows);
    free(only);
}

static void text_report(const view *v)
{
    text_header(v);
    text_egress(v);
    text_changes(v);
    text_flows(v);
    findings_text(v);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */

static void json_report(FILE *out, const nl_correlation *c,
                        const nl_findings *fs, nl_trace **tr)
{
    nl_json j;
    json_init(&j, out, 1);
    json_obj_begin(&j, NULL);
    correlate_json(&j, c);
    findings_json(&j, fs);
    trace_out_json_probes(&j, "probes", tr, c->ncaps);
    json_obj_end(&j);
    json_finish(&j);
}

/* ------------------------------------------------------------------ */

int cmd_correlate(int argc, char **argv)
{
    int as_json = 0, fail_on = 0, rc = 2;
    unsigned long max_flows = 0;
    const char *rec_format = NULL;
    const char **files = NULL;
    int nfiles = 0;
    char **dir_files = NULL;
    int ndir = 0;

    files = calloc((size_t)argc + 1, sizeof *files);
    if (!files)
        return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            as_json = 1;
        } else if (strcmp(a, "--fail-on-findings") == 0) {
            fail_on = 1;
        } else if (strcmp(a, "--max-flows") == 0 ||
                   strncmp(a, "--max-flows=", 12) == 0) {
            const char *val = a[11] == '=' ? a + 12 : (i + 1 < argc ? argv[++i] : NULL);
            max_flows = cli_parse_count("--max-flows", val);
            if (max_flows > UINT32_MAX)
                max_flows = UINT32_MAX;
        } else if (strcmp(a, "--format") == 0 || strncmp(a, "--format=", 9) == 0) {
            rec_format = a[8] == '=' ? a + 9 : (i + 1 < argc ? argv[++i] : NULL);
            if (!rec_format) {
                fprintf(stderr, "natlens correlate: --format needs a record format name\n");
                goto out;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            rc = 0;
            goto out;
        } else if (strcmp(a, "--") == 0) {
            while (++i < argc)
                files[nfiles++] = argv[i];
        } else if (a[0] == '-' && a[1]) {
            cli_eprintf("natlens correlate: unknown option %s\n", a);
            usage(stderr);
            goto out;
        } else {
            files[nfiles++] = a;
        }
    }
    if (nfiles == 1 && is_dir(files[0])) {
        ndir = list_dir(files[0], &dir_files);
        if (ndir < 0)
            goto out;
        if (ndir < 2) {
            cli_eprintf("natlens correlate: %s: needs at least two capture "
                    "files (*.pcap, *.pcapng, *.cap), found %d\n", files[0], ndir);
            goto out;
        }
        const char **nf = realloc(files, ((size_t)ndir + 1) * sizeof *nf);
        if (!nf)
            goto out;
        files = nf;
        for (nfiles = 0; nfiles < ndir; nfiles++)
            files[nfiles] = dir_files[nfiles];
    }
    if (nfiles < 2) {
        usage(stderr);
        goto out;
    }
    if (cli_stdin_once("correlate", files, nfiles) < 0)
        goto out;

    nl_trace **tr = calloc((size_t)nfiles, sizeof *tr);
    if (!tr)
        goto out;
    nl_trace_opts topt;
    memset(&topt, 0, sizeof topt);
    topt.keep_packets = 1;
    topt.max_flows = (uint32_t)max_flows;
    topt.format = rec_format;   /* record files only; captures stay captures */
    int loaded = 0;
    for (int i = 0; i < nfiles; i++) {
        if (is_dir(files[i])) {
            cli_eprintf("natlens correlate: %s: is a directory (give one "
                    "directory alone, or files)\n", files[i]);
            break;
        }
        tr[i] = cli_load_trace(files[i], &topt);   /* names the file on error */
        if (!tr[i])
            break;
        loaded++;
    }
    if (loaded == nfiles) {
        char err[256] = "";
        nl_correlation *c = correlate_traces(tr, (size_t)nfiles, NULL, err);
        if (!c) {
            cli_eprintf("natlens correlate: %s\n", err);
        } else {
            nl_findings *fs = findings_make(c);
            if (as_json) {
                json_report(stdout, c, fs, tr);
            } else {
                view v = { stdout, cli_use_color(stdout), env_utf8(), c, fs };
                text_report(&v);
                trace_out_text_probes(stdout, tr, c->ncaps);
            }
            fflush(stdout);
            rc = fail_on && findings_count(fs) > 0 ? CLI_FINDINGS : CLI_OK;
            diagnose_free(fs);           /* borrows flows: before the traces */
            correlate_free(c);
        }
    }
    for (int i = 0; i < nfiles; i++)
        if (tr[i])
            trace_free(tr[i]);
    free(tr);
out:
    for (int i = 0; i < ndir; i++)
        free(dir_files[i]);
    free(dir_files);
    free(files);
    return rc;
}
