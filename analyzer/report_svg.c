/* report_svg.c - the two drawings of the HTML report, as inline SVG (no
 * script, no xmlns URL: HTML5 parsers place <svg> in the SVG namespace
 * themselves). The egress timeline: one row per inner host and destination,
 * a bar per egress address over the time it was seen, a red line where the
 * address changed. The ladder: per capture two lifelines (client side,
 * server side) and one arrow per packet, the same packet on the same row in
 * every capture. Sizes are in user units; the viewBox scales to the page. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "report_int.h"

static const char *const svg_palette[] = {
    "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f",
};
#define SVG_NCOLORS (sizeof svg_palette / sizeof svg_palette[0])
#define TL_ROWS_MAX 40

/* ---------------------------------------------------------------- timeline */

#define TL_ROW_ENTRIES 32

typedef struct tl_row {
    size_t first;               /* first egress entry (labels the row) */
    size_t idx[TL_ROW_ENTRIES]; /* its entries */
    size_t count;
} tl_row;

static int has_ports(uint8_t proto)
{
    return proto == 6 || proto == 17 || proto == 132;
}

/* One row per inner host, destination address, port and protocol; ICMP
 * "ports" are echo identifiers, not services: one row per protocol. */
static int egress_same_row(const nl_egress *a, const nl_egress *b)
{
    return !nl_addr_cmp(&a->inner_ip, &b->inner_ip) && !nl_addr_cmp(&a->dest_ip, &b->dest_ip) &&
           a->proto == b->proto && (!has_ports(a->proto) || a->dest_port == b->dest_port);
}

/* Does the change concern this row, and did the row itself see both
 * addresses? A change per destination address (no port) is drawn only on
 * rows without a change of their own to the same address. */
static int tl_change_in_row(const nl_correlation *co, const tl_row *r, const nl_ip_change *ch)
{
    const nl_egress *e0 = &co->egress[r->first];
    int from = 0, to = 0;
    if (nl_addr_cmp(&ch->inner_ip, &e0->inner_ip) || nl_addr_cmp(&ch->dest_ip, &e0->dest_ip))
        return 0;
    if (ch->has_port && (ch->proto != e0->proto || (has_ports(e0->proto) && ch->dest_port != e0->dest_port)))
        return 0;
    for (size_t k = 0; k < r->count; k++) {
        const nl_egress *e = &co->egress[r->idx[k]];
        from |= !nl_addr_cmp(&e->egress_ip, &ch->from_ip);
        to |= !nl_addr_cmp(&e->egress_ip, &ch->to_ip);
    }
    if (!from || !to)
        return 0;
    if (!ch->has_port) {
        size_t lo, hi;
        report_changes_range(co, &ch->inner_ip, &ch->dest_ip, &lo, &hi);
        for (size_t i = lo; i < hi; i++) {
            const nl_ip_change *o = &co->ip_changes[i];
            if (o != ch && o->has_port && tl_change_in_row(co, r, o) && !nl_addr_cmp(&o->to_ip, &ch->to_ip))
                return 0;
        }
    }
    return 1;
}

/* Colour of an egress address: its rank among the distinct ones (sorted). */
static size_t tl_color(const nl_addr *ea, size_t ne, const nl_addr *a)
{
    size_t lo = 0, hi = ne;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = nl_addr_cmp(&ea[mid], a);
        if (!cmp)
            return mid % SVG_NCOLORS;
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

static double tl_x(uint64_t t, uint64_t t0, uint64_t t1, double x0, double w)
{
    if (t <= t0)
        return x0;
    if (t >= t1)
        return x0 + w;
    return x0 + w * (double)(t - t0) / (double)(t1 - t0);
}

void report_svg_timeline(rep_ctx *c)
{
    const nl_correlation *co = c->in->corr;
    FILE *f = c->out;
    tl_row rows[TL_ROWS_MAX];
    size_t nrows = 0, more = 0;
    uint64_t t0, t1;
    const double x0 = 300, w = 640, top = 34, rh = 30;
    double height;
    char a[96], b[96], tm[32];

    nl_addr *ea = NULL;
    size_t ne;

    if (!co || !co->negress)
        return;
    ne = report_egress_addrs(c, &ea);
    for (size_t i = 0; i < co->negress; i++) {
        const nl_egress *e = &co->egress[i];
        size_t r;
        for (r = 0; r < nrows; r++)
            if (egress_same_row(&co->egress[rows[r].first], e))
                break;
        if (r == nrows) {
            if (nrows == TL_ROWS_MAX) {
                more++;
                continue;
            }
            rows[r].first = i;
            rows[r].count = 0;
            nrows++;
        }
        if (rows[r].count < TL_ROW_ENTRIES)
            rows[r].idx[rows[r].count++] = i;
    }
    report_timeline_span(co, &t0, &t1);
    height = top + rh * (double)nrows + 46;
    fprintf(f, "<svg class=\"timeline\" viewBox=\"0 0 960 %.0f\" width=\"960\" height=\"%.0f\" "
               "role=\"img\" aria-label=\"egress address timeline\">\n", height, height);
    fprintf(f, "<text x=\"4\" y=\"14\" class=\"lbl\">inner host \xe2\x86\x92 destination</text>"
               "<text x=\"%.0f\" y=\"14\" class=\"lbl\">egress address seen by the destination "
               "(time in %s clock, UTC)</text>\n", x0, "capture 1's");
    for (size_t r = 0; r < nrows; r++) {
        const nl_egress *e0 = &co->egress[rows[r].first];
        double y = top + rh * (double)r;
        char p[16];
        report_addr(c, &e0->inner_ip, a, sizeof a);
        if (has_ports(e0->proto))
            report_ep(c, &e0->dest_ip, e0->dest_port, e0->proto, b, sizeof b);
        else
            report_addr(c, &e0->dest_ip, b, sizeof b);
        fprintf(f, "<rect x=\"0\" y=\"%.0f\" width=\"960\" height=\"%.0f\" class=\"%s\"/>",
                y, rh, r % 2 ? "band1" : "band0");
        fputs("<text x=\"4\" y=\"", f);
        fprintf(f, "%.0f\" class=\"row\">", y + 22);
        report_html_esc(f, a);
        fputs(" \xe2\x86\x92 ", f);
        report_html_esc(f, b);
        fprintf(f, "/%s</text>\n", flow_proto_name(e0->proto, p, sizeof p));
        for (size_t k = 0; k < rows[r].count; k++) {
            const nl_egress *e = &co->egress[rows[r].idx[k]];
            double xa = tl_x(e->first_ns, t0, t1, x0, w), xb = tl_x(e->last_ns, t0, t1, x0, w);
            if (xb - xa < 4)
                xb = xa + 4;
            report_addr(c, &e->egress_ip, a, sizeof a);
            fprintf(f, "<rect x=\"%.1f\" y=\"%.0f\" width=\"%.1f\" height=\"14\" rx=\"2\" fill=\"%s\">"
                       "<title>", xa, y + 12, xb - xa, svg_palette[tl_color(ea, ne, &e->egress_ip)]);
            report_html_esc(f, a);
            fprintf(f, ": %" PRIu32 " flow%s</title></rect>", e->flows, e->flows == 1 ? "" : "s");
            if (xb - xa > 8.0 * (double)strlen(a)) {
                fprintf(f, "<text x=\"%.1f\" y=\"%.0f\" class=\"bar\">", xa + 4, y + 23);
                report_html_esc(f, a);
                fputs("</text>", f);
            }
            fputc('\n', f);
        }
        /* the changes that happened in this row, one label each */
        size_t clo, chi;
        report_changes_range(co, &co->egress[rows[r].first].inner_ip,
                             &co->egress[rows[r].first].dest_ip, &clo, &chi);
        for (size_t i = clo; i < chi; i++) {
            const nl_ip_change *ch = &co->ip_changes[i];
            double x;
            if (!tl_change_in_row(co, &rows[r], ch))
                continue;
            x = tl_x(ch->at_ns, t0, t1, x0, w);
            report_addr(c, &ch->to_ip, a, sizeof a);
            fprintf(f, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" class=\"chg\"><title>"
                       "changed to ", x, y + 2, x, y + rh - 2);
            report_html_esc(f, a);
            fprintf(f, "</title></line><text x=\"%.1f\" y=\"%.0f\" class=\"chgl\">\xe2\x87\x92 ", x + 3, y + 10);
            report_html_esc(f, a);
            fputs("</text>\n", f);
        }
    }
    /* time axis */
    {
        double y = top + rh * (double)nrows + 8;
        fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"axis\"/>\n",
                x0, y, x0 + w, y);
        for (int k = 0; k <= 4; k++) {
            uint64_t t = t0 + (t1 - t0) / 4 * (uint64_t)k;
            double x = x0 + w * k / 4.0;
            fprintf(f, "<line x1=\"%.0f\" y1=\"%.0f\" x2=\"%.0f\" y2=\"%.0f\" class=\"axis\"/>"
                       "<text x=\"%.0f\" y=\"%.0f\" class=\"tick\" text-anchor=\"%s\">%s</text>\n",
                    x, y, x, y + 5, x, y + 18, k == 0 ? "start" : k == 4 ? "end" : "middle",
                    flow_out_time(t, tm, sizeof tm, 0));
        }
        if (more)
            fprintf(f, "<text x=\"4\" y=\"%.0f\" class=\"tick\">%zu more rows in the table</text>\n",
                    y + 18, more);
    }
    fputs("</svg>\n", f);
    free(ea);
}

/* ------------------------------------------------------------------ ladder */

#define LD_GUTTER 96.0
#define LD_COLW   250.0
#define LD_TOP    58.0
#define LD_ROWH   24.0

static void ld_text(FILE *f, double x, double y, const char *cls, const char *anchor, const char *s,
                    size_t maxch)
{
    char buf[160];
    size_t n = strlen(s);
    if (n > maxch && maxch > 3 && maxch < sizeof buf) {
        /* cut at a character boundary: never split a UTF-8 sequence */
        size_t k = maxch - 1;
        while (k > 0 && ((unsigned char)s[k] & 0xc0) == 0x80)
            k--;
        memcpy(buf, s, k);
        memcpy(buf + k, "\xe2\x80\xa6", 4);
        s = buf;
    }
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"%s\" text-anchor=\"%s\">", x, y, cls, anchor);
    report_html_esc(f, s);
    fputs("</text>", f);
}

/* The two endpoints of column k in column 0's roles: [0] client side. */
static void ld_endpoints(rep_ctx *c, const rep_ladder *l, int k, char ep[2][96])
{
    const nl_flow *f = l->flow[k];
    int sw = l->flip[k];
    report_ep(c, sw ? &f->resp_ip : &f->orig_ip, sw ? f->resp_port : f->orig_port, f->proto, ep[0], 96);
    report_ep(c, sw ? &f->orig_ip : &f->resp_ip, sw ? f->orig_port : f->resp_port, f->proto, ep[1], 96);
}

static void ld_arrow(FILE *f, double xa, double xb, double y, const char *cls)
{
    double d = xb > xa ? -7 : 7;
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"%s\"/>"
               "<polygon points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" class=\"%sh\"/>",
            xa, y, xb + d * 0.5, y, cls, xb, y, xb + d, y - 4, xb + d, y + 4, cls);
}

static void ld_delta(uint64_t t, uint64_t t0, char *buf, size_t len)
{
    double ms = (double)(t - t0) / 1e6;
    if (t < t0)
        ms = -(double)(t0 - t) / 1e6;
    if (ms >= 10000 || ms <= -10000)
        snprintf(buf, len, "%+.3f s", ms / 1000);
    else
        snprintf(buf, len, "%+.3f ms", ms);
}

void report_svg_ladder(rep_ctx *c, const rep_ladder *l)
{
    FILE *f = c->out;
    double width = LD_GUTTER + LD_COLW * l->ncols + 8;
    double height = LD_TOP + LD_ROWH * (double)l->nrows + 16;
    double bottom = height - 8;
    char ep[2][96], ref[2][96], tm[32];
    int ref_ok = 0;

    fprintf(f, "<svg class=\"ladder\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
               "role=\"img\" aria-label=\"packet ladder\">\n", width, height, width, height);
    ld_text(f, 4, 14, "lbl", "start", "time", 20);
    ld_text(f, 4, 28, "tick", "start", c->in->corr ? "(capture 1 clock)" : "", 30);
    for (int k = 0; k < l->ncols; k++) {
        double x0 = LD_GUTTER + LD_COLW * k, xl = x0 + 22, xr = x0 + LD_COLW - 22;
        ld_text(f, x0 + LD_COLW / 2, 14, "lbl", "middle", report_cap_name(c, (size_t)l->cap[k]), 34);
        if (!l->flow[k]) {
            ld_text(f, x0 + LD_COLW / 2, 30, "miss", "middle", "not seen here", 34);
            fprintf(f, "<rect x=\"%.0f\" y=\"40\" width=\"%.0f\" height=\"%.0f\" class=\"void\"/>\n",
                    xl, xr - xl, bottom - 40);
            continue;
        }
        ld_endpoints(c, l, k, ep);
        if (k > 0 && ref_ok) {
            /* an endpoint rewritten on the way is marked: the NAT's work */
            char mk[100];
            for (int side = 0; side < 2; side++) {
                if (strcmp(ep[side], ref[side]) == 0)
                    continue;
                snprintf(mk, sizeof mk, "*%.94s", ep[side]);
                memcpy(ep[side], mk, sizeof ep[side] - 1);
                ep[side][sizeof ep[side] - 1] = '\0';
            }
        }
        if (!ref_ok) {
            memcpy(ref, ep, sizeof ref);
            ref_ok = 1;
        }
        ld_text(f, xl, 30, ep[0][0] == '*' ? "ep xl" : "ep", "start", ep[0], 23);
        ld_text(f, xr, 44, ep[1][0] == '*' ? "ep xl" : "ep", "end", ep[1], 23);
        fprintf(f, "<line x1=\"%.0f\" y1=\"34\" x2=\"%.0f\" y2=\"%.0f\" class=\"life\"/>"
                   "<line x1=\"%.0f\" y1=\"48\" x2=\"%.0f\" y2=\"%.0f\" class=\"life\"/>\n",
                xl, xl, bottom, xr, xr, bottom);
    }
    for (size_t r = 0; r < l->nrows; r++) {
        const rep_lrow *row = &l->rows[r];
        double y = LD_TOP + LD_ROWH * (double)r + 14;
        ld_delta(row->t_ns, l->t0_ns, tm, sizeof tm);
        ld_text(f, 4, y, "tick", "start", tm, 20);
        for (int k = 0; k < l->ncols; k++) {
            double x0 = LD_GUTTER + LD_COLW * k, xl = x0 + 22, xr = x0 + LD_COLW - 22;
            rep_lcell lc;
            report_ladder_cell(c, l, row, k, &lc);
            if (!lc.rec) {
                /* the packet was heading here and its records say it is
                 * missing, or nothing is known (none kept, capture stopped) */
                if (lc.miss == REP_MISS_UNKNOWN) {
                    ld_text(f, x0 + LD_COLW / 2, y - 8, "tick", "middle", "? not known here", 34);
                    fputc('\n', f);
                } else if (lc.miss == REP_MISS_NOT_SEEN) {
                    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"lost\"/>",
                            xl, y - 4, xr, y - 4);
                    ld_text(f, x0 + LD_COLW / 2, y - 8, "miss", "middle", "\xe2\x9c\x97 not seen here", 34);
                    fputc('\n', f);
                }
                continue;
            }
            if (lc.who[0]) {
                /* a part with another endpoint: name it, the point of drawing it */
                char full[320];
                snprintf(full, sizeof full, "%s %s %s", lc.label, lc.from ? "from" : "to", lc.who);
                ld_arrow(f, row->dir == NL_ORIG ? xl : xr, row->dir == NL_ORIG ? xr : xl, y - 4, "stray");
                ld_text(f, x0 + LD_COLW / 2, y - 8, "plbl stray", "middle", full, 36);
            } else {
                ld_arrow(f, row->dir == NL_ORIG ? xl : xr, row->dir == NL_ORIG ? xr : xl, y - 4,
                         lc.rec->tcp_flags & NL_TH_RST ? "rst" : "pkt");
                ld_text(f, x0 + LD_COLW / 2, y - 8, "plbl", "middle", lc.label, 36);
            }
            fputc('\n', f);
        }
    }
    fputs("</svg>\n", f);
}
