/* correlate_text.c - `natlens correlate` as text (UX.md): the answer first,
 * the proof under it, the fix last.
 *
 *   header          the captures, what their clocks agree on, their spans
 *                   and overlap - or that they share nothing;
 *   EGRESS          per capture point the deduplicated answer (the line to
 *                   paste into an allow-list request: a pool, a switch or one
 *                   address), then the per host and destination detail;
 *   SOURCE CHANGES  the switches, hosts summed;
 *   FLOWS           connections through the captures, problems first;
 *   FINDINGS        diagnose_text().
 * Output is bounded by what a person reads, not by flows: the detail tables
 * show --top N rows (default 20 / 40) unless --all, and say how many more
 * there are. Only confident pairs (exact, strong, recorded) make allow
 * lines; likely pairs are shown as such.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>

#include "natlens/correlate.h"
#include "natlens/frame_ref.h"
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"
#include "natlens/record.h"
#include "natlens/tunnel_out.h"
#include "cli.h"

#define C_BOLD  "\033[1m"
#define C_RED   "\033[31m"
#define C_YEL   "\033[33m"
#define C_DIM   "\033[2m"
#define C_OFF   "\033[0m"

typedef const cli_correlate_view view;

static const char *col(view *v, const char *code)
{
    return v->color ? code : "";
}

static const char *arrow(view *v) { return v->utf8 ? "\xe2\x86\x92" : "->"; }
static const char *dash(view *v) { return v->utf8 ? "\xe2\x80\x94" : "-"; }
static const char *dot(view *v) { return v->utf8 ? " \xc2\xb7 " : " - "; }

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

static const char *cap_name(const nl_correlation *c, int i)
{
    const char *n = c->caps[i].name;
    return n ? n : "?";
}

static char *fmt_dur(double s, char *buf, size_t len, int utf8)
{
    double a = fabs(s);
    if (a >= 1)
        snprintf(buf, len, "%.3f s", a);
    else if (a >= 1e-3)
        snprintf(buf, len, "%.1f ms", a * 1e3);
    else
        snprintf(buf, len, "%.0f %s", a * 1e6, utf8 ? "\xc2\xb5s" : "us");
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

static char *fmt_dest(const nl_addr *ip, uint16_t port, uint8_t proto, char *buf, size_t len)
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

/* A flow as "a:p → b:q"; ICMP as "a → b id 937" (its "ports" are the
 * echo identifier, not ports). */
static char *fmt_tuple(view *v, const nl_flow *f, char *buf, size_t len)
{
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
        char a[64], b[64];
        snprintf(buf, len, "%s %s %s id %u", nl_addr_str(&f->orig_ip, a, sizeof a), arrow(v),
                 nl_addr_str(&f->resp_ip, b, sizeof b), f->orig_port);
        return buf;
    }
    return flow_out_tuple(f, buf, len, v->utf8);
}

/* "1,234,567" */
static char *fmt_count(uint64_t n, char *buf, size_t len)
{
    char t[32];
    snprintf(t, sizeof t, "%llu", (unsigned long long)n);
    size_t l = strlen(t), o = 0;
    for (size_t i = 0; i < l && o + 1 < len; i++) {
        if (i && (l - i) % 3 == 0 && o + 2 < len)
            buf[o++] = ',';
        buf[o++] = t[i];
    }
    buf[o] = 0;
    return buf;
}

static const char *plural(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* ---- header ------------------------------------------------------------- */

static void header_pair(view *v, const nl_clock_offset *o)
{
    const nl_correlation *c = v->c;
    char d1[32], d2[32];
    const char *to = cap_name(c, o->to), *from = cap_name(c, o->from);
    if (o->same_capture) {
        fprintf(v->out, "%s%s and %s are the same capture: nothing paired%s", col(v, C_RED),
                from, to, col(v, C_OFF));
        return;
    }
    if (o->basis == NL_CLOCK_NONE) {
        fprintf(v->out, "%s%s and %s share no traffic%s%s: are these the two ends of one path?",
                col(v, C_RED), from, to, o->overlap_ns < 0 ? " and do not overlap in time" : "",
                col(v, C_OFF));
        return;
    }
    if (o->basis == NL_CLOCK_RECORDS || !o->known) {
        fprintf(v->out, "%s paired with %s on exact tuples inside the records' time windows "
                "(clocks assumed in step)", to, from);
        return;
    }
    if (fabs(o->offset_s) < 1e-6)
        fprintf(v->out, "%s runs in step with %s", to, from);
    else
        fprintf(v->out, "%s runs %s %s %s", to, fmt_dur(o->offset_s, d1, sizeof d1, v->utf8),
                o->offset_s > 0 ? "ahead of" : "behind", from);
    fprintf(v->out, " (%s%s over %u paired flow%s%s%s)", v->utf8 ? "\xc2\xb1" : "+/-",
            fmt_dur(o->spread_s, d2, sizeof d2, v->utf8), o->anchors, plural(o->anchors, "", "s"),
            o->basis == NL_CLOCK_CONSENSUS ? ", agreed by payloads alone" : "",
            o->two_way ? "" : ", one direction only: latency included");
}

static void header_spans(view *v)
{
    const nl_correlation *c = v->c;
    char a[32], b[32], d[32];
    fputs("  spans  ", v->out);
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        const nl_trace *t = in->trace;
        double span = in->last_ns > in->first_ns ? (double)(in->last_ns - in->first_ns) / 1e9 : 0;
        fprintf(v->out, "%s%s %s%s%s (%s", i ? (c->ncaps > 2 ? "\n         " : dot(v)) : "",
                cap_name(c, (int)i),
                fmt_time_ms(in->first_ns, a, sizeof a), v->utf8 ? "\xe2\x80\x93" : "-",
                fmt_time_ms(in->last_ns, b, sizeof b), fmt_dur(span, d, sizeof d, v->utf8));
        if (t && t->is_record)
            fprintf(v->out, ", %s, %llu %s", t->format_title ? t->format_title : t->format,
                    (unsigned long long)t->packets, plural(t->packets, "entry", "entries"));
        if (t && (t->warning || t->bad_records))
            fprintf(v->out, ", %sread in part%s", col(v, C_YEL), col(v, C_OFF));
        fputc(')', v->out);
    }
    for (size_t i = 0; i + 1 < c->ncaps; i++) {
        const nl_clock_offset *o = &c->offsets[i];
        if (o->basis == NL_CLOCK_NONE || o->same_capture)
            continue;
        if (o->overlap_ns >= 0)
            fprintf(v->out, "%soverlap %s", c->ncaps > 2 ? "\n         " : dot(v),
                    fmt_dur((double)o->overlap_ns / 1e9, d, sizeof d, v->utf8));
        else
            fprintf(v->out, "%sno overlap", c->ncaps > 2 ? "\n         " : dot(v));
        if (c->ncaps > 2)
            fprintf(v->out, " (%s/%s)", cap_name(c, o->from), cap_name(c, o->to));
    }
    fputc('\n', v->out);
}

static void text_header(view *v)
{
    const nl_correlation *c = v->c;
    fprintf(v->out, "%snatlens:%s %zu captures", col(v, C_BOLD), col(v, C_OFF), c->ncaps);
    for (size_t i = 0; i + 1 < c->ncaps; i++) {
        fputs(c->ncaps > 2 ? "\n  " : dot(v), v->out);
        header_pair(v, &c->offsets[i]);
    }
    fputc('\n', v->out);
    header_spans(v);
    fputc('\n', v->out);
}

/* ---- EGRESS ------------------------------------------------------------- */

/* The answer of capture point `at`: its addresses in one line, and what
 * kind of answer it is (a pool, a switch, one address). */
/* The answer of capture point `at` in one line (correlate_answer), the
 * addresses bold; every address with --all. */
static void egress_answer(view *v, int at, int last)
{
    const nl_correlation *c = v->c;
    nl_answer a;
    char ip[64], buf[1024];
    if (correlate_answer(c, at, &a) != 0)
        return;
    fprintf(v->out, "  %s%s", last ? "allow " : "", col(v, C_BOLD));
    if (v->all)
        for (size_t i = 0; i < a.naddrs; i++)
            fprintf(v->out, "%s%s", i ? " " : "", nl_addr_str(&a.addrs[i]->ip, ip, sizeof ip));
    else
        fputs(correlate_answer_addrs(&a, buf, sizeof buf), v->out);
    fprintf(v->out, "%s   (%s; seen at %s%s)\n", col(v, C_OFF),
            correlate_answer_note(&a, buf, sizeof buf), cap_name(c, at),
            last ? "" : ", where the traffic was last seen: the destinations behind it "
                        "were not captured");
    correlate_answer_free(&a);
}

static int egress_row_cmp(const void *a, const void *b)
{
    const nl_egress *x = *(const nl_egress *const *)a, *y = *(const nl_egress *const *)b;
    if (x->seen_at != y->seen_at)
        return x->seen_at > y->seen_at ? -1 : 1;
    if (x->flows != y->flows)
        return x->flows > y->flows ? -1 : 1;
    return x < y ? -1 : x > y;
}

static void egress_rows(view *v)
{
    const nl_correlation *c = v->c;
    size_t n = c->negress, show = v->all ? n : (n < v->top_egress ? n : v->top_egress);
    const nl_egress **rows = malloc((n ? n : 1) * sizeof *rows);
    if (!rows)
        return;
    for (size_t i = 0; i < n; i++)
        rows[i] = &c->egress[i];
    qsort(rows, n, sizeof *rows, egress_row_cmp);
    int points = 0;
    for (size_t i = 0; i < n; i++)
        if (i == 0 || rows[i]->seen_at != rows[i - 1]->seen_at)
            points++;
    char a[64], b[64], d[96], t1[32], t2[32], num[32];
    size_t w_in = 5, w_de = 11, w_eg = 7;
    for (size_t i = 0; i < show; i++) {
        size_t l;
        if ((l = strlen(nl_addr_str(&rows[i]->inner_ip, a, sizeof a))) > w_in) w_in = l;
        if ((l = strlen(fmt_dest(&rows[i]->dest_ip, rows[i]->dest_port, rows[i]->proto, d,
                                 sizeof d))) > w_de) w_de = l;
        if ((l = strlen(nl_addr_str(&rows[i]->egress_ip, a, sizeof a))) > w_eg) w_eg = l;
    }
    if (n > show)
        fprintf(v->out, "  %s per inner host and destination: %zu of %s rows (--all for every "
                "row)\n", v->utf8 ? "\xe2\x80\xa6" : "...", show, fmt_count(n, num, sizeof num));
    fputs("  ", v->out);
    put_pad(v->out, "inner", w_in);
    fputs("  ", v->out);
    put_pad(v->out, "destination", w_de);
    fputs("  ", v->out);
    put_pad(v->out, "seen as", w_eg);
    fprintf(v->out, "  %s  flows  first %s last (%s clock)\n", points > 1 ? "seen at     " : "",
            arrow(v), cap_name(c, 0));
    for (size_t i = 0; i < show; i++) {
        const nl_egress *e = rows[i];
        fputs("  ", v->out);
        put_pad(v->out, nl_addr_str(&e->inner_ip, a, sizeof a), w_in);
        fputs("  ", v->out);
        put_pad(v->out, fmt_dest(&e->dest_ip, e->dest_port, e->proto, d, sizeof d), w_de);
        fputs("  ", v->out);
        put_pad(v->out, nl_addr_str(&e->egress_ip, b, sizeof b), w_eg);
        if (points > 1) {
            fputs("  ", v->out);
            put_pad(v->out, cap_name(c, e->seen_at), 12);
        }
        fprintf(v->out, "  %5u  %s %s %s%s\n", e->flows, fmt_time_ms(e->first_ns, t1, sizeof t1),
                arrow(v), fmt_time_ms(e->last_ns, t2, sizeof t2),
                e->confident < e->flows ? (e->confident ? "  (some likely only)"
                                                        : "  (likely only: no allow line)")
                                        : "");
    }
    free(rows);
}

static void text_egress(view *v)
{
    const nl_correlation *c = v->c;
    fprintf(v->out, "%sEGRESS%s %s what the destination sees (paste into an allow-list "
            "request)\n", col(v, C_BOLD), col(v, C_OFF), dash(v));
    int last = (int)c->ncaps - 1;
    while (last > 0 && c->caps[last].trace && c->caps[last].nflows == 0)
        last--;
    size_t before = 0;
    for (int at = (int)c->ncaps - 1; at >= 1; at--) {
        egress_answer(v, at, at == last);
        for (size_t i = 0; i < c->negress_addrs; i++)
            before += c->egress_addrs[i].seen_at == at;
    }
    if (before == 0) {
        int none = 0;
        for (size_t i = 0; i + 1 < c->ncaps; i++)
            none |= c->offsets[i].basis == NL_CLOCK_NONE || c->offsets[i].same_capture;
        if (c->negress)
            fprintf(v->out, "  none claimed: the flows followed past %s rest on likely pairs "
                    "only (see FLOWS)\n", cap_name(c, 0));
        else if (none)
            fprintf(v->out, "  none: the captures share no traffic (see FINDINGS)\n\n");
        else
            fprintf(v->out, "  none: no flow was followed from %s to a later capture\n",
                    cap_name(c, 0));
        if (!c->negress)
            return;
    }
    egress_rows(v);
    fprintf(v->out, "  %s(times: %s clock, UTC)%s\n\n", col(v, C_DIM), cap_name(c, 0),
            col(v, C_OFF));
}

/* ---- SOURCE CHANGES --------------------------------------------------- */

static void text_changes(view *v)
{
    const nl_correlation *c = v->c;
    char fr[64], to[64], t1[32], t2[32], in[64];
    fprintf(v->out, "%sSOURCE CHANGES%s\n", col(v, C_BOLD), col(v, C_OFF));
    size_t n = c->negress_switches, show = v->all || n <= v->top_egress ? n : v->top_egress;
    for (size_t i = 0; i < show; i++) {
        const nl_egress_switch *s = &c->egress_switches[i];
        fprintf(v->out, "  %s%s %s %s%s at %s", col(v, C_YEL), nl_addr_str(&s->from_ip, fr, sizeof fr),
                v->utf8 ? "\xe2\x87\x92" : "=>", nl_addr_str(&s->to_ip, to, sizeof to),
                col(v, C_OFF), fmt_time_ms(s->first_ns, t1, sizeof t1));
        if (s->hosts == 1)
            fprintf(v->out, " for %s", nl_addr_str(&s->first_inner, in, sizeof in));
        else
            fprintf(v->out, "%s%s for %u inner hosts", s->last_ns > s->first_ns ? "\xe2\x80\x93" : "",
                    s->last_ns > s->first_ns ? fmt_time_ms(s->last_ns, t2, sizeof t2) : "", s->hosts);
        fprintf(v->out, ", seen at %s\n", cap_name(c, s->seen_at));
    }
    if (n > show)
        fprintf(v->out, "  %s %zu more (--all)\n", v->utf8 ? "\xe2\x80\xa6" : "...", n - show);
    if (!n)
        fprintf(v->out, "  none seen\n");
    if (c->negress_pools)
        fprintf(v->out, "  %s(a pool's addresses take turns: that is not a change)%s\n",
                col(v, C_DIM), col(v, C_OFF));
    fputc('\n', v->out);
}

/* ---- FLOWS --------------------------------------------------------------- */

/* One line of the FLOWS table: a chain, or one flow with no twin. */
typedef struct row {
    const nl_chain *ch;          /* or NULL */
    const nl_unmatched *u;       /* lone flow (ch NULL) */
    uint64_t t;                  /* start in capture 0's clock */
    int problem;                 /* shown before healthy rows when capped */
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

static void evidence_text(uint8_t level, uint32_t ev, char *buf, size_t len)
{
    snprintf(buf, len, "%s:", correlate_level_name(level));
    for (int i = 0; i < NL_EV_COUNT; i++) {
        if (!(ev & (1u << i)))
            continue;
        size_t l = strlen(buf);
        snprintf(buf + l, len - l, " %s", correlate_evidence_name(1u << i));
    }
}

typedef struct row_cells {
    char proto[8], nat[64], st[96], pk[96], by[200];
    const char *color;
} row_cells;

static const nl_flow *row_flow(const row *r, size_t cap)
{
    if (r->ch)
        return r->ch->flows[cap];
    return r->u->capture == (int)cap ? r->u->flow : NULL;
}

/* Why a flow was seen at one capture only, into buf. */
static void lone_reason(view *v, const nl_unmatched *u, const char **color, char *buf, size_t len)
{
    const nl_correlation *c = v->c;
    int near_side = u->other > u->capture;
    *color = near_side ? C_RED : C_YEL;
    switch (u->reason) {
    case NL_UNM_OUTSIDE_WINDOW:
        *color = C_DIM;
        snprintf(buf, len, "outside the other capture's time span");
        return;
    case NL_UNM_NOT_LOGGED:
        *color = C_DIM;
        snprintf(buf, len, "not in %s (it holds no %s entries)", cap_name(c, u->other),
                 u->flow->proto == IPPROTO_TCP ? "TCP" : u->flow->proto == IPPROTO_UDP ? "UDP"
                 : u->flow->proto == IPPROTO_ICMP || u->flow->proto == IPPROTO_ICMPV6 ? "ICMP"
                 : "such");
        return;
    case NL_UNM_NO_CLOCK:
        *color = C_DIM;
        snprintf(buf, len, "not paired (the captures share no clock)");
        return;
    case NL_UNM_ANSWERED_ELSEWHERE:
        *color = C_YEL;
        snprintf(buf, len, "not at %s (answered elsewhere)", cap_name(c, u->other));
        return;
    default:
        if (c->offsets[u->capture < u->other ? u->capture : u->other].basis == NL_CLOCK_NONE) {
            *color = C_DIM;
            snprintf(buf, len, "not paired (the captures share no clock)");
            return;
        }
        snprintf(buf, len, "%s", near_side ? "never arrived" : "from elsewhere");
    }
}

/* What a record flow's record says, for the "paired by" column:
 * "nat-gw-1 line 3", "eni-0a1b line 6 REJECT", "conntrack line 12". */
static void record_note(view *v, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_trace *t = v->c->caps[cap].trace;
    const nl_record_info *ri = t ? record_info_of(t, f) : NULL;
    size_t l = strlen(buf);
    if (!ri || l + 1 >= len)
        return;
    const char *who = ri->gateway ? ri->gateway : ri->interface ? ri->interface : ri->vm;
    char w[48] = "";
    if (who)   /* file text: printable ASCII only */
        for (size_t i = 0, o = 0; who[i] && o + 1 < sizeof w; i++)
            w[o++] = who[i] >= 0x20 && who[i] < 0x7f ? who[i] : '?';
    const char *act = record_action_name(ri->action), *st = record_nat_status_name(ri);
    /* records inside a capture are numbered by frame (record.h) */
    snprintf(buf + l, len - l, "%s%s%s%s %s %llu%s%s%s%s", dot(v), t->format,
             w[0] ? " " : "", w, t->is_record ? "line" : "frame",
             (unsigned long long)frame_ref_local(ri->line),   /* a point's frame: in its file */
             act ? " " : "", act ? act : "",
             st ? " " : "", st ? st : "");
}

/* The underlay path of a flow that came in a tunnel: "· via vxlan
 * 192.0.2.1 → 192.0.2.2:4789 VNI 42 at underlay.pcap" (a path, not a NAT). */
static void tunnel_note(view *v, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_trace *t = v->c->caps[cap].trace;
    char path[160];
    size_t l = strlen(buf);
    if (!t || !t->tunnels || l + 1 >= len ||
        !tunnel_out_path(t->tunnels, f, path, sizeof path, v->utf8)[0])
        return;
    snprintf(buf + l, len - l, "%svia %s at %s", dot(v), path, cap_name(v->c, cap));
}

static void row_fill(view *v, const row *rw, row_cells *out)
{
    const nl_correlation *c = v->c;
    const nl_chain *ch = rw->ch;
    const nl_unmatched *u = rw->u;
    out->nat[0] = out->st[0] = out->pk[0] = out->by[0] = 0;
    out->color = "";
    const nl_flow *any = NULL;
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_flow *f = row_flow(rw, i);
        const nl_trace *t = c->caps[i].trace;
        const nl_record_info *ri = f && t ? record_info_of(t, f) : NULL;
        if (f && !any)
            any = f;
        size_t l = strlen(out->st);
        /* a record knows a state or counts only when it pins them */
        snprintf(out->st + l, sizeof out->st - l, "%s%s", i ? "/" : "",
                 !f ? "-" : ri && !(ri->pins & NL_REC_PIN_STATE) ? "rec" : flow_conn_state(f));
        l = strlen(out->pk);
        if (f && (!ri || (ri->pins & NL_REC_PIN_PKTS)))
            snprintf(out->pk + l, sizeof out->pk - l, "%s%llu", i ? "/" : "",
                     (unsigned long long)(f->pkts[0] + f->pkts[1]));
        else
            snprintf(out->pk + l, sizeof out->pk - l, "%s%s", i ? "/" : "", f ? "?" : "0");
    }
    char pb[16];
    snprintf(out->proto, sizeof out->proto, "%s", flow_proto_name(any ? any->proto : 0, pb, sizeof pb));
    if (ch) {
        uint32_t ev = 0;
        uint8_t level = NL_CONF_RECORDED;
        for (size_t h = 0; h < ch->nhops; h++) {
            char one[32];
            size_t l = strlen(out->nat);
            if (ch->hops[h].present) {
                nat_label(&ch->hops[h], one, sizeof one);
                ev |= ch->hops[h].match->evidence;
                if (ch->hops[h].match->level < level)
                    level = ch->hops[h].match->level;
            } else {
                snprintf(one, sizeof one, "%s", ch->hops[h].answered ? "elsewhere" : "lost");
                out->color = ch->hops[h].answered ? C_YEL : C_RED;
            }
            snprintf(out->nat + l, sizeof out->nat - l, "%s%s", h ? "," : "", one);
        }
        evidence_text(level, ev, out->by, sizeof out->by);
        for (size_t i = 0; i < c->ncaps; i++)
            if (ch->flows[i]) {
                record_note(v, (int)i, ch->flows[i], out->by, sizeof out->by);
                tunnel_note(v, (int)i, ch->flows[i], out->by, sizeof out->by);
            }
        if (*out->color) {
            size_t l = strlen(out->by);
            const nl_hop *gone = &ch->hops[ch->nhops - 1];
            const nl_flow *leg = ch->alt[ch->last_cap];
            if (gone->answered && leg) {
                char ep[80], a[64];
                snprintf(ep, sizeof ep, nl_addr_is_v4(&leg->resp_ip) ? "%s:%u" : "[%s]:%u",
                         nl_addr_str(&leg->resp_ip, a, sizeof a), leg->resp_port);
                snprintf(out->by + l, sizeof out->by - l, "; answered, sent on to %s at %s, not "
                         "to %s", ep, cap_name(c, ch->last_cap), cap_name(c, gone->to));
            } else if (gone->answered) {
                snprintf(out->by + l, sizeof out->by - l, "; answered past %s, not at %s",
                         cap_name(c, ch->last_cap), cap_name(c, gone->to));
            } else {
                snprintf(out->by + l, sizeof out->by - l, "; vanished after %s",
                         cap_name(c, ch->last_cap));
            }
        }
        return;
    }
    snprintf(out->nat, sizeof out->nat, "%s", dash(v));
    lone_reason(v, u, &out->color, out->by, sizeof out->by);
}

/* A record of another host: a NAT log or flow log covers a whole network,
 * a capture one host. Counted, not listed. */
static int foreign_record(const nl_correlation *c, const nl_unmatched *u)
{
    const nl_trace *t = c->caps[u->capture].trace;
    return t && record_info_of(t, u->flow);
}

static size_t rows_collect(view *v, row *rows, size_t *only, size_t *full, size_t *partial,
                           size_t *foreign)
{
    const nl_correlation *c = v->c;
    size_t nc = c->ncaps, nrows = 0;
    for (size_t i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        rows[nrows].ch = ch;
        rows[nrows].t = correlate_to_clock(c, ch->first_cap, 0, ch->flows[ch->first_cap]->first_ns);
        for (size_t h = 0; h < ch->nhops; h++)
            rows[nrows].problem |= !ch->hops[h].present;
        nrows++;
        if (ch->first_cap == 0 && ch->last_cap == (int)nc - 1)
            (*full)++;
        else
            (*partial)++;
    }
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        if (!correlate_unmatched_is_lone(c, i))
            continue;
        if (foreign_record(c, u)) {
            /* one entry holds both legs of a NAT mapping: count it once */
            const nl_record_info *ri = record_info_of(c->caps[u->capture].trace, u->flow);
            if (!ri->other_leg || ri->side != NL_REC_SIDE_OUTER)
                (*foreign)++;
            continue;
        }
        rows[nrows].u = u;
        rows[nrows].t = correlate_to_clock(c, u->capture, 0, u->flow->first_ns);
        rows[nrows].problem = u->reason == NL_UNM_NEVER_ARRIVED;
        nrows++;
        only[u->capture]++;
    }
    qsort(rows, nrows, sizeof *rows, row_cmp);
    return nrows;
}

/* Keep at most `cap` rows, problems first, in time order. Returns how many. */
static size_t rows_cap(row *rows, size_t n, size_t cap)
{
    if (n <= cap)
        return n;
    size_t nprob = 0;
    for (size_t i = 0; i < n; i++)
        nprob += rows[i].problem;
    size_t keep_ok = cap > nprob ? cap - nprob : 0, out = 0, ok = 0;
    for (size_t i = 0; i < n && out < cap; i++) {
        if (rows[i].problem || ok++ < keep_ok)
            rows[out++] = rows[i];
    }
    return out;
}

static void flows_heading(view *v, size_t full, size_t partial, const size_t *only, size_t foreign)
{
    size_t link = 0;
    for (size_t i = 0; i < v->c->ncaps; i++)
        for (size_t p = 0; p < v->c->caps[i].nflows; p++)
            link += correlate_is_link_control(v->c->caps[i].flows[p]);
    const nl_correlation *c = v->c;
    size_t nc = c->ncaps;
    fprintf(v->out, "%sFLOWS%s %s ", col(v, C_BOLD), col(v, C_OFF), dash(v));
    if (nc == 2)
        fprintf(v->out, "%zu paired", full);
    else
        fprintf(v->out, "%zu through all %zu captures%s%zu partial", full, nc, dot(v), partial);
    for (size_t i = 0; i < nc; i++)
        if (only[i] || nc == 2)
            fprintf(v->out, "%s%zu only at %s", dot(v), only[i], cap_name(c, (int)i));
    if (foreign)
        fprintf(v->out, "%s%zu record %s of other flows", dot(v), foreign,
                plural(foreign, "entry", "entries"));
    if (link)
        fprintf(v->out, "%s%zu link-control %s (IGMP, MLD, neighbour discovery: never routed, "
                "not paired)", dot(v), link, plural(link, "flow", "flows"));
    fputc('\n', v->out);
}

static void text_flows(view *v)
{
    const nl_correlation *c = v->c;
    size_t nc = c->ncaps, full = 0, partial = 0, foreign = 0;
    row *rows = calloc(c->nchains + c->nunmatched + 1, sizeof *rows);
    size_t *only = calloc(nc, sizeof *only);
    row_cells *cells = NULL;
    size_t *w = NULL;
    char buf[200];
    if (!rows || !only)
        goto done;
    size_t nrows = rows_collect(v, rows, only, &full, &partial, &foreign);
    flows_heading(v, full, partial, only, foreign);
    size_t total = nrows, nprob_total = 0, nlone_total = 0;
    for (size_t r = 0; r < nrows; r++) {
        nprob_total += rows[r].problem;
        nlone_total += rows[r].u != NULL;
    }
    if (!v->all)
        nrows = rows_cap(rows, nrows, v->top_flows);
    cells = calloc(nrows ? nrows : 1, sizeof *cells);
    w = calloc(nc + 4, sizeof *w);
    if (!cells || !w)
        goto done;
    /* cells first, then widths: states and packet counts of four captures
     * do not fit a fixed column */
    for (size_t i = 0; i < nc; i++)
        w[i] = text_cols(cap_name(c, (int)i));
    w[nc] = 5;
    w[nc + 1] = 3;
    w[nc + 2] = 5;
    w[nc + 3] = 4;
    for (size_t r = 0; r < nrows; r++) {
        row_fill(v, &rows[r], &cells[r]);
        for (size_t i = 0; i < nc; i++) {
            const nl_flow *f = row_flow(&rows[r], i);
            size_t l = f ? text_cols(fmt_tuple(v, f, buf, sizeof buf)) : 1;
            if (l > w[i])
                w[i] = l;
        }
        const char *cs[4] = { cells[r].proto, cells[r].nat, cells[r].st, cells[r].pk };
        for (int k = 0; k < 4; k++)
            if (text_cols(cs[k]) > w[nc + k])
                w[nc + k] = text_cols(cs[k]);
    }
    fputs("  ", v->out);
    for (size_t i = 0; i < nc; i++) {
        put_pad(v->out, cap_name(c, (int)i), w[i]);
        fputs("  ", v->out);
    }
    const char *heads[4] = { "proto", "nat", "state", "pkts" };
    for (int k = 0; k < 4; k++) {
        put_pad(v->out, heads[k], w[nc + k]);
        fputs("  ", v->out);
    }
    fputs("paired by\n", v->out);
    for (size_t r = 0; r < nrows; r++) {
        const row_cells *rc = &cells[r];
        fputs("  ", v->out);
        for (size_t i = 0; i < nc; i++) {
            const nl_flow *f = row_flow(&rows[r], i);
            put_pad(v->out, f ? fmt_tuple(v, f, buf, sizeof buf) : dash(v), w[i]);
            fputs("  ", v->out);
        }
        const char *cs[4] = { rc->proto, rc->nat, rc->st, rc->pk };
        for (int k = 0; k < 4; k++) {
            put_pad(v->out, cs[k], w[nc + k]);
            fputs("  ", v->out);
        }
        fprintf(v->out, "%s%s%s\n", col(v, rc->color), rc->by, *rc->color ? col(v, C_OFF) : "");
    }
    if (total > nrows) {
        size_t shown_prob = 0, shown_lone = 0;
        for (size_t r = 0; r < nrows; r++) {
            shown_prob += rows[r].problem;
            shown_lone += rows[r].u != NULL;
        }
        size_t more_prob = nprob_total > shown_prob ? nprob_total - shown_prob : 0;
        size_t more_lone = nlone_total > shown_lone ? nlone_total - shown_lone : 0;
        fprintf(v->out, "  %s %zu more rows", v->utf8 ? "\xe2\x80\xa6" : "...", total - nrows);
        if (more_prob)
            fprintf(v->out, ", %zu of them with a problem", more_prob);
        else if (more_lone)
            fprintf(v->out, ", none with a problem (%zu seen at one capture only)", more_lone);
        else
            fprintf(v->out, ", all paired without trouble");
        fprintf(v->out, " (--all lists every flow; --json has them all)\n");
    }
    fputc('\n', v->out);
done:
    free(cells);
    free(w);
    free(rows);
    free(only);
}

void cli_correlate_text(view *v)
{
    text_header(v);
    text_egress(v);
    text_changes(v);
    text_flows(v);
    if (v->fs)
        diagnose_text(v->out, v->fs, v->color);
    else
        fprintf(v->out, "%sFINDINGS%s\n  none\n", col(v, C_BOLD), col(v, C_OFF));
}
