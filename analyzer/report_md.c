/* report_md.c - the report as Markdown that renders in ticket systems
 * (GitHub / GitLab flavoured pipe tables). Cells go through
 * report_md_esc() (| ` * _ [ ] < > & escaped), ladders are fenced text
 * (report_fence_esc: no backtick can close the fence). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "natlens/hostmeta.h"
#include "natlens/frame_ref.h"
#include "report_int.h"

#define LT_COLW 44          /* text ladder column width (characters) */
#define LT_TIMEW 15

static void m(rep_ctx *c, const char *s)
{
    report_md_esc(c->out, s);
}

static void mt(rep_ctx *c, const char *s)
{
    char *t = report_text(c, s);
    report_md_esc(c->out, t);
    report_text_free(s, t);
}

static void more_note(rep_ctx *c, size_t shown, size_t total, const char *what)
{
    FILE *f = c->out;
    if (shown < total)
        fprintf(f, "%zu of %zu %s shown (all with --all).\n\n", shown, total, what);
}

static void md_summary(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char a[48], b[48], v[512];
    int hm = 0;
    char fmt[512], cnt[96];
    fprintf(f, "## 1. Captures\n\n| # | file | format | %s | first %s (UTC) | last %s (UTC) | span "
            "| size | sha256 |\n|---:|---|---|---:|---|---|---:|---:|---|\n",
            c->has_records ? "packets or entries" : "packets", c->has_records ? "packet or entry" : "packet",
            c->has_records ? "packet or entry" : "packet");
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_report_capture *rc = &c->in->caps[i];
        const nl_trace *t = rc->trace;
        fprintf(f, "| %zu | ", i + 1);
        mt(c, report_cap_name(c, i));
        fputs(" | ", f);
        m(c, report_cap_format(c, i, fmt, sizeof fmt));
        fputs(" | ", f);
        m(c, report_cap_count(c, i, cnt, sizeof cnt));
        fputs(" | ", f);
        if (t->packets)
            fprintf(f, "%s | %s | %.3f s", report_datetime(t->first_ns, a, sizeof a),
                    report_datetime(t->last_ns, b, sizeof b), (double)(t->last_ns - t->first_ns) / 1e9);
        else
            fputs("\xe2\x80\x94 | \xe2\x80\x94 | ", f);
        fprintf(f, " | %" PRId64 " | %s%s%s |\n", t->file_size, rc->sha256[0] ? "`" : "",
                rc->sha256[0] ? rc->sha256 : "\xe2\x80\x94", rc->sha256[0] ? "`" : "");
        hm |= rc->hostmeta != NULL;
    }
    fputc('\n', f);
    for (size_t i = 0; i < c->in->ncaps; i++) {
        const nl_trace *t = c->in->caps[i].trace;
        for (const char *l = t->notes; l && *l;) {
            const char *e = strchr(l, '\n');
            char line[1024];
            snprintf(line, sizeof line, "%.*s", e ? (int)(e - l) : (int)strlen(l), l);
            fputs("**Warning:** ", f);
            mt(c, line);
            fputs("\n\n", f);
            l = e ? e + 1 : NULL;
        }
        if (t->bad_records) {
            /* the reader's own messages name file:line */
            fprintf(f, "**Skipped:** %" PRIu64 " bad line%s of ", t->bad_records, t->bad_records == 1 ? "" : "s");
            mt(c, report_cap_name(c, i));
            fputs(" (each skipped, the rest read)", f);
            for (size_t k = 0; k < NL_TRACE_BAD_KEEP && k < t->bad_records && t->bad_first[k]; k++) {
                fputs(k ? "; " : ": ", f);
                mt(c, t->bad_first[k]);
            }
            fputs("\n\n", f);
        }
        if (!t->warning)
            continue;
        fputs("**Damaged:** ", f);
        mt(c, report_cap_name(c, i));
        fputs(": ", f);
        mt(c, t->warning);
        fputs("\n\n", f);
    }
    if (hm) {
        static const char *const keys[] = {"hostname", "role", "session", "kernel", "capture_iface", "filter"};
        fputs("Host context recorded in the captures:\n\n", f);
        for (size_t i = 0; i < c->in->ncaps; i++) {
            int any = 0;
            if (!c->in->caps[i].hostmeta)
                continue;
            fputs("- ", f);
            mt(c, report_cap_name(c, i));
            fputs(":", f);
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                if (hostmeta_get_str(c->in->caps[i].hostmeta, keys[k], v, sizeof v) < 0 || !v[0])
                    continue;
                fprintf(f, "%s %s **", any ? " \xc2\xb7" : "", keys[k]);
                mt(c, report_host_value(c, keys[k], v));
                fputs("**", f);
                any = 1;
            }
            if (!any)
                fputs(" recorded, without host names", f);
            fputc('\n', f);
        }
        fputc('\n', f);
    }
    if (co && co->ncaps > 1) {
        fputs("Clock offsets:\n\n", f);
        for (size_t i = 0; i + 1 < co->ncaps; i++) {
            char sentence[768];
            fputs("- ", f);
            mt(c, report_pair_sentence(c, &co->offsets[i], sentence, sizeof sentence));
            fputc('\n', f);
        }
        fputc('\n', f);
    }
}

static void md_findings(rep_ctx *c)
{
    FILE *f = c->out;
    char tm[48], tup[256];
    fputs("## 2. Findings\n\n", f);
    if (!c->nfnd)
        fputs("None: every connection that started a handshake completed it, and nothing was lost "
              "between the captures.\n\n", f);
    size_t nshow = report_limit(c, c->nfnd);
    for (size_t i = 0; i < nshow; i++) {
        const nl_finding *fd = diagnose_get(c->in->findings, i);
        char sev[16];
        size_t k;
        snprintf(sev, sizeof sev, "%s", diagnose_severity_name(fd->severity));
        for (k = 0; sev[k]; k++)
            sev[k] = (char)(sev[k] >= 'a' && sev[k] <= 'z' ? sev[k] - 32 : sev[k]);
        fprintf(f, "### %zu. %s ", i + 1, sev);
        m(c, diagnose_kind_name(fd->kind));
        if (fd->connections > 1)
            fprintf(f, " (%" PRIu32 " connections)", fd->connections);
        fputs("\n\n", f);
        mt(c, fd->summary);
        fputs("\n\n", f);
        if (fd->nflows) {
            fputs("Flows: ", f);
            for (k = 0; k < fd->nflows && k < 12; k++) {
                fputs(k ? "; " : "", f);
                mt(c, report_cap_name(c, (size_t)fd->flows[k].capture));
                fputs(" ", f);
                m(c, report_tuple(c, fd->flows[k].flow, tup, sizeof tup));
            }
            if (fd->nflows > 12)
                fprintf(f, "; %zu more", fd->nflows - 12);
            fputs("\n\n", f);
        }
        if (fd->nevidence) {
            fputs("| capture | frame | time (UTC, that capture's clock) | what it shows |\n|---|---:|---|---|\n", f);
            for (k = 0; k < fd->nevidence; k++) {
                const nl_evidence *e = &fd->evidence[k];
                const char *what;
                char where[320];
                report_ev_where(c, e, where, sizeof where, &what);
                fputs("| ", f);
                mt(c, where);
                fputs(" | ", f);
                if (e->frame)
                    fprintf(f, "#%" PRIu64, frame_ref_local(e->frame));
                fprintf(f, " | %s | ", e->ts_ns ? report_datetime(e->ts_ns, tm, sizeof tm) : "");
                mt(c, what);
                fputs(" |\n", f);
            }
            fputc('\n', f);
        }
        if (fd->fix) {
            char *t = report_text(c, fd->fix);
            fputs("Fix:\n\n```sh\n", f);
            for (char *p = t; p && *p;) {
                char *nl = strchr(p, '\n');
                if (nl)
                    *nl = '\0';
                report_fence_esc(f, p);
                fputc('\n', f);
                if (!nl)
                    break;
                p = nl + 1;
            }
            fputs("```\n\n", f);
            report_text_free(fd->fix, t);
        }
    }
    more_note(c, nshow, c->nfnd, "findings");
}

static void md_timeline(rep_ctx *c);

static void md_egress(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char a[96], b[96], d[96], t0[48], t1[48], p[16];
    rep_nat *nat = NULL;
    size_t nnat;

    fputs("## 3. NAT and egress\n\n", f);
    if (!co) {
        fputs("One capture: which address the far side sees needs a second capture taken there.\n\n", f);
        return;
    }
    if (!co->negress) {
        fputs("No connection was seen both at the first capture and further along the path: no egress "
              "address can be shown.\n\n", f);
    } else {
        char ans[1024], note[1024];
        int at;
        if (report_answer(c, ans, sizeof ans, note, sizeof note, &at)) {
            fputs("**Allow these addresses:** `", f);
            m(c, ans);
            fputs("` (", f);
            m(c, note);
            fputs("; seen at ", f);
            mt(c, report_cap_name(c, (size_t)at));
            fputs(")", f);
        } else {
            fputs("**No address to allow:** the flows followed past the first capture rest on likely "
                  "pairs only.", f);
        }
        fprintf(f, "\n\n| inner host | destination (as addressed) | seen as | seen at | flows | first \xe2\x86\x92 last "
                "(capture 1 clock, UTC) |%s\n|---|---|---|---|---:|---|%s\n", c->has_records ? " known by |" : "",
                c->has_records ? "---|" : "");
        size_t *ix, nshow = report_egress_top(c, &ix);
        for (size_t q = 0; q < nshow; q++) {
            const nl_egress *e = &co->egress[ix[q]];
            char known[160];
            fputs("| ", f);
            m(c, report_addr(c, &e->inner_ip, a, sizeof a));
            fputs(" | ", f);
            m(c, report_ep(c, &e->dest_ip, e->dest_port, e->proto, b, sizeof b));
            fprintf(f, "/%s | **", flow_proto_name(e->proto, p, sizeof p));
            m(c, report_addr(c, &e->egress_ip, d, sizeof d));
            fputs("** | ", f);
            mt(c, report_cap_name(c, (size_t)e->seen_at));
            fprintf(f, " | %" PRIu32 " | %s \xe2\x86\x92 %s |", e->flows,
                    flow_out_time(e->first_ns, t0, sizeof t0, 0), flow_out_time(e->last_ns, t1, sizeof t1, 0));
            if (c->has_records) {
                fputc(' ', f);
                m(c, report_egress_known(c, e, known, sizeof known));
                fputs(" |", f);
            }
            fputc('\n', f);
        }
        fputc('\n', f);
        free(ix);
        more_note(c, nshow, co->negress, "egress rows");
    }
    fputs("### Source-IP timeline\n\n", f);
    md_timeline(c);
    if (!co->negress_switches) {
        fputs(co->negress_pools ? "No switch: a pool's addresses take turns, which is not a change.\n\n"
                                : "No destination saw the source address of an inner host change.\n\n", f);
    } else {
        fputs("| from | to | at (capture 1 clock, UTC) | inner hosts | first inner host | seen at |\n"
              "|---|---|---|---:|---|---|\n", f);
        size_t nshow = report_limit(c, co->negress_switches);
        for (size_t i = 0; i < nshow; i++) {
            const nl_egress_switch *sw = &co->egress_switches[i];
            fputs("| ", f);
            m(c, report_addr(c, &sw->from_ip, a, sizeof a));
            fputs(" | **", f);
            m(c, report_addr(c, &sw->to_ip, d, sizeof d));
            fprintf(f, "** | %s | %" PRIu32 " | ", report_datetime(sw->first_ns, t0, sizeof t0), sw->hosts);
            m(c, report_addr(c, &sw->first_inner, b, sizeof b));
            fputs(" | ", f);
            mt(c, report_cap_name(c, (size_t)sw->seen_at));
            fputs(" |\n", f);
        }
        fputc('\n', f);
        more_note(c, nshow, co->negress_switches, "source switches");
    }
    nnat = report_nat_rows(c, &nat);
    report_nat_sort(nat, nnat);
    if (nnat) {
        fputs("### Translations\n\n| between | nat | client side | became | flows | ports remapped |\n"
              "|---|---|---|---|---:|---:|\n", f);
        for (size_t i = 0; i < report_limit(c, nnat); i++) {
            const rep_nat *r = &nat[i];
            fputs("| ", f);
            mt(c, report_cap_name(c, (size_t)r->near_cap));
            fputs(" \xe2\x86\x92 ", f);
            mt(c, report_cap_name(c, (size_t)r->far_cap));
            fprintf(f, " | %s | ", correlate_translation_name(r->translation));
            m(c, report_addr(c, &r->src, a, sizeof a));
            fputs(" \xe2\x86\x92 ", f);
            m(c, report_ep(c, &r->dst, r->dport, r->proto, b, sizeof b));
            fputs(" | ", f);
            m(c, report_addr(c, &r->far_src, a, sizeof a));
            fputs(" \xe2\x86\x92 ", f);
            m(c, report_ep(c, &r->far_dst, r->far_dport, r->proto, b, sizeof b));
            fprintf(f, " | %" PRIu32 " | %" PRIu32 " |\n", r->flows, r->port_remapped);
        }
        fputc('\n', f);
        more_note(c, report_limit(c, nnat), nnat, "translation groups");
    }
    free(nat);
}

/* Display width of UTF-8 text: one column per code point. */
static size_t lt_width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xc0) != 0x80;
    return w;
}

/* Write s escaped for a fence, cut or padded to exactly w columns. */
static void lt_cell(FILE *f, const char *s, size_t w, int pad)
{
    char buf[256];
    size_t n = 0, cols = 0;
    for (const char *p = s; *p && n + 4 < sizeof buf; p++) {
        unsigned char ch = (unsigned char)*p;
        if ((ch & 0xc0) != 0x80) {
            if (cols == w)
                break;
            cols++;
        }
        buf[n++] = (char)ch;
    }
    /* never end inside a UTF-8 sequence */
    while (n > 0 && ((unsigned char)buf[n - 1] & 0xc0) == 0xc0)
        n--, cols--;
    buf[n] = '\0';
    report_fence_esc(f, buf);
    if (pad)
        for (size_t k = lt_width(buf); k < w; k++)
            fputc(' ', f);
}

void report_ladder_text(rep_ctx *c, const rep_ladder *l, FILE *f)
{
    char cell[320], tm[32], ep[2][96], ref[96];
    lt_cell(f, c->in->corr ? "capture 1 clock" : "time", LT_TIMEW, 1);
    for (int k = 0; k < l->ncols; k++) {
        fputs(" \xe2\x94\x82 ", f);
        lt_cell(f, report_cap_name(c, (size_t)l->cap[k]), LT_COLW, k + 1 < l->ncols);
    }
    fputc('\n', f);
    for (int side = 0; side < 2; side++) {
        lt_cell(f, "", LT_TIMEW, 1);
        ref[0] = '\0';
        for (int k = 0; k < l->ncols; k++) {
            const nl_flow *fl = l->flow[k];
            cell[0] = '\0';
            if (!fl) {
                if (!side)
                    snprintf(cell, sizeof cell, "\xe2\x9c\x97 not seen here");
            } else {
                int sw = l->flip[k] ^ side;
                report_ep(c, sw ? &fl->resp_ip : &fl->orig_ip, sw ? fl->resp_port : fl->orig_port,
                          fl->proto, ep[0], sizeof ep[0]);
                /* an endpoint rewritten on the way is marked '*' */
                snprintf(cell, sizeof cell, "%s %s%s", side ? "server side" : "client side",
                         ref[0] && strcmp(ref, ep[0]) ? "*" : "", ep[0]);
                if (!ref[0])
                    snprintf(ref, sizeof ref, "%s", ep[0]);
            }
            fputs(cell[0] || k + 1 < l->ncols ? " \xe2\x94\x82 " : " \xe2\x94\x82", f);
            lt_cell(f, cell, LT_COLW, k + 1 < l->ncols);
        }
        fputc('\n', f);
    }
    for (size_t r = 0; r < l->nrows; r++) {
        const rep_lrow *row = &l->rows[r];
        double ms = (double)(row->t_ns - l->t0_ns) / 1e6;
        if (ms >= 10000)
            snprintf(tm, sizeof tm, "+%.3f s", ms / 1000);
        else
            snprintf(tm, sizeof tm, "+%.3f ms", ms);
        lt_cell(f, tm, LT_TIMEW, 1);
        for (int k = 0; k < l->ncols; k++) {
            rep_lcell lc;
            report_ladder_cell(c, l, row, k, &lc);
            cell[0] = '\0';
            if (!lc.rec) {
                if (lc.miss == REP_MISS_NOT_SEEN)
                    snprintf(cell, sizeof cell, "\xe2\x9c\x97 not seen here");
                else if (lc.miss == REP_MISS_UNKNOWN)
                    snprintf(cell, sizeof cell, "? not known here");
            } else if (lc.who[0]) {
                /* a part of the connection with another endpoint: name it */
                if (lc.from)
                    snprintf(cell, sizeof cell, "\xe2\x86\x90 %s FROM %s", lc.label, lc.who);
                else
                    snprintf(cell, sizeof cell, "%s \xe2\x86\x92 to %s", lc.label, lc.who);
            } else if (row->dir == NL_ORIG) {
                snprintf(cell, sizeof cell, "%s \xe2\x86\x92", lc.label);
            } else {
                snprintf(cell, sizeof cell, "\xe2\x86\x90 %s", lc.label);
            }
            fputs(cell[0] || k + 1 < l->ncols ? " \xe2\x94\x82 " : " \xe2\x94\x82", f);
            lt_cell(f, cell, LT_COLW, k + 1 < l->ncols);
        }
        fputc('\n', f);
    }
}

#define TL_W 60              /* columns of the text timeline */
#define TL_ROWS 40
#define TL_LABEL 44

/* The drawn timeline as text: one line per inner host and destination, a
 * letter per egress address over the time it was seen (A = the first
 * address, ...), '|' where the address changed. */
static void md_timeline(rep_ctx *c)
{
    const nl_correlation *co = c->in->corr;
    FILE *f = c->out;
    nl_addr *ea;
    size_t ne = report_egress_addrs(c, &ea), nrows = 0, first[TL_ROWS];
    char line[TL_W + 1], lbl[200], a[96], b[96], t0s[32], t1s[32], p[16];
    uint64_t t0, t1;

    if (!ne) {
        free(ea);
        return;
    }
    report_timeline_span(co, &t0, &t1);
    fputs("```text\n", f);
    lt_cell(f, "", TL_LABEL, 1);
    flow_out_time(t0, t0s, sizeof t0s, 0);
    flow_out_time(t1, t1s, sizeof t1s, 0);
    fprintf(f, " %-*s%s\n", TL_W - (int)strlen(t1s), t0s, t1s);
    for (size_t i = 0; i < co->negress && nrows < TL_ROWS; i++) {
        const nl_egress *e0 = &co->egress[i];
        int ports = e0->proto == 6 || e0->proto == 17 || e0->proto == 132, dup = 0;
        for (size_t r = 0; r < nrows && !dup; r++) {
            const nl_egress *x = &co->egress[first[r]];
            dup = !nl_addr_cmp(&x->inner_ip, &e0->inner_ip) && !nl_addr_cmp(&x->dest_ip, &e0->dest_ip) &&
                  x->proto == e0->proto && (!ports || x->dest_port == e0->dest_port);
        }
        if (dup)
            continue;
        first[nrows++] = i;
        memset(line, '.', TL_W);
        line[TL_W] = '\0';
        for (size_t k = i; k < co->negress; k++) {
            const nl_egress *e = &co->egress[k];
            size_t xa, xb, letter = 0;
            if (nl_addr_cmp(&e->inner_ip, &e0->inner_ip) || nl_addr_cmp(&e->dest_ip, &e0->dest_ip) ||
                e->proto != e0->proto || (ports && e->dest_port != e0->dest_port))
                continue;
            while (letter < ne && nl_addr_cmp(&ea[letter], &e->egress_ip))
                letter++;
            xa = (size_t)((double)(TL_W - 1) * (double)(e->first_ns - t0) / (double)(t1 - t0));
            xb = (size_t)((double)(TL_W - 1) * (double)(e->last_ns - t0) / (double)(t1 - t0));
            for (size_t x = xa; x <= xb && x < TL_W; x++)
                line[x] = letter < 26 ? (char)('A' + letter) : '#';
        }
        size_t clo, chi;
        report_changes_range(co, &e0->inner_ip, &e0->dest_ip, &clo, &chi);
        for (size_t k = clo; k < chi; k++) {
            const nl_ip_change *ch = &co->ip_changes[k];
            size_t x;
            if (nl_addr_cmp(&ch->inner_ip, &e0->inner_ip) || nl_addr_cmp(&ch->dest_ip, &e0->dest_ip) ||
                !ch->has_port || ch->proto != e0->proto || (ports && ch->dest_port != e0->dest_port))
                continue;
            x = (size_t)((double)(TL_W - 1) * (double)(ch->at_ns - t0) / (double)(t1 - t0));
            if (x > 0 && x < TL_W)
                line[x - 1] = '|';
        }
        report_addr(c, &e0->inner_ip, a, sizeof a);
        if (ports)
            report_ep(c, &e0->dest_ip, e0->dest_port, e0->proto, b, sizeof b);
        else
            report_addr(c, &e0->dest_ip, b, sizeof b);
        snprintf(lbl, sizeof lbl, "%s \xe2\x86\x92 %s/%s", a, b, flow_proto_name(e0->proto, p, sizeof p));
        lt_cell(f, lbl, TL_LABEL, 1);
        fprintf(f, " %s\n", line);
    }
    fputs("\n", f);
    for (size_t i = 0; i < ne && i < 26; i++)
        fprintf(f, "%c = %s\n", (char)('A' + i), report_addr(c, &ea[i], a, sizeof a));
    if (ne > 26)
        fprintf(f, "# = one of %zu more addresses\n", ne - 26);
    fputs("```\n\n", f);
    free(ea);
}

/* What the ladders' marks claim, said once. */
#define LAD_LEGEND "Each row is one packet at every capture that holds it (every piece of a connection " \
    "that Zeek splits, and answers from another address, included). \xe2\x9c\x97 not seen here: " \
    "that capture's records cover the moment and none of them is the packet; ? not known here: " \
    "it kept no records then or was not capturing."

static void md_ladders(rep_ctx *c)
{
    FILE *f = c->out;
    char tup[256];
    fputs("## 4. Failed handshakes\n\n", f);
    if (!c->nlad_total)
        fputs("None: every handshake that started completed.\n\n", f);
    else if (c->nlad < c->nlad_total)
        fprintf(f, "%zu of %zu failed handshakes drawn (all with --all).\n\n", c->nlad, c->nlad_total);
    if (c->nlad && c->in->corr)
        fputs(LAD_LEGEND "\n\n", f);
    for (size_t i = 0; i < c->nlad; i++) {
        const rep_ladder *l = &c->lad[i];
        const nl_flow *fl = NULL;
        for (int k = 0; k < l->ncols && !fl; k++)
            fl = l->flow[k];
        fprintf(f, "**%zu.** ", i + 1);
        m(c, report_tuple(c, fl, tup, sizeof tup));
        fputs(" \xe2\x80\x94 ", f);
        m(c, flow_conn_state(fl));
        fprintf(f, ", %u SYN%s", fl->sig[NL_ORIG].syn_count, fl->sig[NL_ORIG].syn_count == 1 ? "" : "s");
        if (l->part_at >= 0) {
            fputs(", answered from another address at ", f);
            mt(c, report_cap_name(c, (size_t)l->cap[l->part_at]));
        }
        fputs("\n\n```text\n", f);
        report_ladder_text(c, l, f);
        fputs("```\n\n", f);
    }
}

static void md_flows(rep_ctx *c)
{
    FILE *f = c->out;
    const nl_correlation *co = c->in->corr;
    char tup[256], tm[32], p[16];
    fputs("## 5. Flows\n\n", f);
    if (c->nrows < c->nrows_total)
        fprintf(f, "The %zu busiest of %zu (all with --all).\n\n", c->nrows, c->nrows_total);
    if (co) {
        fprintf(f, "| client side (first capture seen) | far side (last capture seen) | seen at | nat | state | pkts "
                "| matched by | lost |%s\n|---|---|---|---|---|---:|---|---:|%s\n",
                c->has_records ? " what the record says |" : "", c->has_records ? "---|" : "");
        for (size_t i = 0; i < c->nrows; i++) {
            rep_fcells fc;
            report_frow_cells(c, &c->rows[i], &fc);
            fputs("| ", f);
            m(c, fc.near);
            fputs(" | ", f);
            m(c, fc.far[0] ? fc.far : "\xe2\x80\x94");
            fputs(" | ", f);
            m(c, fc.seen);
            fputs(" | ", f);
            m(c, fc.nat);
            fputs(" | ", f);
            m(c, fc.state);
            fputs(" | ", f);
            m(c, fc.pkts);
            fputs(" | ", f);
            m(c, fc.by);
            fputs(" | ", f);
            m(c, fc.lost);
            fputs(" |", f);
            if (c->has_records) {
                fputc(' ', f);
                mt(c, fc.rec);
                fputs(" |", f);
            }
            fputc('\n', f);
        }
    } else {
        fprintf(f, "| # | proto | originator \xe2\x86\x92 responder | state | history | pkts o/r | bytes o/r | first (UTC) "
                "| duration |%s\n|---:|---|---|---|---|---:|---:|---|---:|%s\n",
                c->has_records ? " what the record says |" : "", c->has_records ? "---|" : "");
        for (size_t i = 0; i < c->nrows; i++) {
            const nl_flow *fl = c->rows[i].flow;
            rep_lone lc;
            report_lone_cells(c, fl, &lc);
            fprintf(f, "| %u | %s | ", fl->id, flow_proto_name(fl->proto, p, sizeof p));
            m(c, report_tuple(c, fl, tup, sizeof tup));
            fputs(" | ", f);
            m(c, lc.state);
            fputs(" | ", f);
            m(c, lc.history);
            fprintf(f, " | %s | %s | %s | %s |", lc.pkts, lc.bytes, flow_out_time(fl->first_ns, tm, sizeof tm, 0),
                    lc.duration);
            if (c->has_records) {
                fputc(' ', f);
                mt(c, lc.rec);
                fputs(" |", f);
            }
            fputc('\n', f);
        }
    }
    fputc('\n', f);
}

int report_md_write(rep_ctx *c)
{
    FILE *f = c->out;
    char *t = report_text(c, c->title);
    fputs("# ", f);
    report_md_esc(f, t);
    report_text_free(c->title, t);
    fputs("\n\n**Verdict:** ", f);
    m(c, c->verdict);
    fputs("\n\n", f);
    md_summary(c);
    md_findings(c);
    md_egress(c);
    md_ladders(c);
    md_flows(c);
    fputs("## 6. How this report was made\n\n```sh\n", f);
    {
        const char *cl = c->o->command_line ? c->o->command_line : "natlens report";
        t = report_text(c, cl);
        report_fence_esc(f, t);
        report_text_free(cl, t);
    }
    fputs("\n```\n\nnatlens " NATLENS_VERSION ": each capture read once with libpcap; flows paired across "
          "captures by TCP initial sequence number, TCP timestamps, payload and packet sizes; clock offsets "
          "estimated from the paired packets (median). Times are UTC. The sha256 sums above identify the "
          "exact files analysed.", f);
    if (c->has_records) {
        fputc(' ', f);
        m(c, REPORT_RECORDS_MADE);
    }
    if (c->rd)
        fputs(REP_REDACT_NOTE, f);
    fputc('\n', f);
    return ferror(f) ? -1 : 0;
}
