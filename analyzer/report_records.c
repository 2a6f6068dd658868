/* report_records.c - a capture point that is a record file (or a capture
 * carrying conntrack events) as the report shows it: a column of records,
 * not packets. What a record says is said in its own words (file:line,
 * gateway / VM / interface, action, NAT status, conntrack flags, what it
 * pins); what it does not pin (a TCP state, packet counts) is never printed
 * as if it were measured: no "OTH", no "0 packets".
 *
 * Everything here is text for the three writers; names from a record file
 * are raw file text, so they pass through rec_name() (printable ASCII,
 * the rest as \xNN, at most REP_REC_NAME bytes) before the format's own
 * escaping. Nothing is computed that correlate or diagnose already holds.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "report_int.h"

#define REP_REC_NAME 64         /* bytes of a name taken from a record file */

#define ADD(buf, len, k, ...) do { if ((k) < (len)) \
    (k) += (size_t)snprintf((buf) + (k), (len) - (k), __VA_ARGS__); } while (0)

int report_cap_has_records(const rep_ctx *c, size_t i)
{
    const nl_trace *t = i < c->in->ncaps ? c->in->caps[i].trace : NULL;
    return t && (t->is_record || record_count(t));
}

const nl_record_info *report_rec(const rep_ctx *c, int cap, const nl_flow *f)
{
    if (!f || cap < 0 || (size_t)cap >= c->in->ncaps)
        return NULL;
    return record_info_of(c->in->caps[cap].trace, f);
}

/* A name from a record file: printable ASCII kept, the rest as \xNN. */
static const char *rec_name(const char *s, char *buf, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; s && s[i] && i < REP_REC_NAME && k + 5 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f)
            buf[k++] = (char)ch;
        else
            k += (size_t)snprintf(buf + k, len - k, "\\x%02x", ch);
    }
    buf[k] = '\0';
    return buf;
}

char *report_cap_format(const rep_ctx *c, size_t i, char *buf, size_t len)
{
    const nl_trace *t = c->in->caps[i].trace;
    char cs[200];
    if (t->is_record) {
        snprintf(buf, len, "%s (%s)", t->format_title ? t->format_title : "records",
                 t->format ? t->format : "?");
        return buf;
    }
    snprintf(buf, len, "%s, %s", t->is_pcapng ? "pcapng" : "pcap", t->linktype_name);
    if (record_out_capture_summary(t, cs, sizeof cs)[0]) {
        size_t k = strlen(buf);
        ADD(buf, len, k, "; %s", cs);
    }
    return buf;
}

char *report_cap_count(const rep_ctx *c, size_t i, char *buf, size_t len)
{
    const nl_trace *t = c->in->caps[i].trace;
    size_t k = 0;
    if (!t->is_record) {
        snprintf(buf, len, "%" PRIu64, t->packets);
        return buf;
    }
    ADD(buf, len, k, "%" PRIu64 " entr%s", t->packets, t->packets == 1 ? "y" : "ies");
    if (t->bad_records)
        ADD(buf, len, k, ", %" PRIu64 " bad line%s skipped", t->bad_records,
            t->bad_records == 1 ? "" : "s");
    return buf;
}

char *report_rec_pins(const nl_record_info *ri, char *buf, size_t len)
{
    static const struct { uint16_t bit; const char *name; } pins[] = {
        {NL_REC_PIN_ADDRS, "addresses"}, {NL_REC_PIN_PORTS, "ports"},
        {NL_REC_PIN_NAT, "the NAT mapping"}, {NL_REC_PIN_PKTS, "packet counts"},
        {NL_REC_PIN_BYTES, "byte counts"}, {NL_REC_PIN_PAYLOAD, "payload bytes"},
        {NL_REC_PIN_FLAGS, "TCP flags"}, {NL_REC_PIN_STATE, "the connection state"},
        {NL_REC_PIN_RESP, "the reply's counts"},
    };
    size_t k = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if (ri->pins & pins[i].bit)
            ADD(buf, len, k, "%s%s", k ? ", " : "", pins[i].name);
    if (ri->pins & NL_REC_PIN_TIMES)
        ADD(buf, len, k, "%stimes %s", k ? ", " : "", report_rec_granularity(ri));
    return buf;
}

const char *report_rec_granularity(const nl_record_info *ri)
{
    static const struct { uint32_t ms; const char *text; } g[] = {
        {0, "(exact)"}, {1000, "(to 1 s)"}, {5000, "(to 5 s)"}, {60000, "(a 1-minute interval)"},
        {600000, "(a 10-minute interval)"},
    };
    for (size_t i = 0; i < sizeof g / sizeof g[0]; i++)
        if (ri->granularity_ms <= g[i].ms)
            return g[i].text;
    return "(an interval of more than 10 minutes)";
}

/* What the record says besides names: action, NAT status, conntrack. */
static void rec_verdict(const nl_record_info *ri, char *buf, size_t len, size_t *k)
{
    const char *st = record_nat_status_name(ri);
    if (ri->action == NL_REC_ACTION_REJECT)
        ADD(buf, len, *k, " \xc2\xb7 REJECT%s", ri->reject_dirs == 2 ? " (the reply, on the way back)"
                                                : ri->reject_dirs == 3 ? " (both ways)" : "");
    else if (ri->action == NL_REC_ACTION_ACCEPT)
        ADD(buf, len, *k, " \xc2\xb7 ACCEPT");
    if (st && ri->nat_status == NL_REC_NAT_OK)
        ADD(buf, len, *k, " \xc2\xb7 NAT OK");
    else if (st) {
        char e[REP_REC_NAME * 4 + 8];
        ADD(buf, len, *k, " \xc2\xb7 %s: no NAT port", rec_name(st, e, sizeof e));
    }
    if (ri->ct_flags & NL_REC_CT_UNREPLIED)
        ADD(buf, len, *k, " \xc2\xb7 [UNREPLIED]");
    if (ri->ct_flags & NL_REC_CT_ASSURED)
        ADD(buf, len, *k, " \xc2\xb7 [ASSURED]");
    if (ri->ct_id)
        ADD(buf, len, *k, " \xc2\xb7 id %" PRIu64, ri->ct_id);
    if ((ri->ct_flags & NL_REC_CT_ZONE) && ri->ct_zone)
        ADD(buf, len, *k, " \xc2\xb7 zone %u", ri->ct_zone);
    if ((ri->ct_flags & NL_REC_CT_MARK) && ri->ct_mark)
        ADD(buf, len, *k, " \xc2\xb7 mark 0x%" PRIx32, ri->ct_mark);
}

/* Counts and flags, only where the record pins them. */
static void rec_counts(const nl_flow *f, const nl_record_info *ri, char *buf, size_t len, size_t *k)
{
    int both = (ri->pins & NL_REC_PIN_RESP) != 0;
    if (ri->pins & NL_REC_PIN_PKTS) {
        if (both)
            ADD(buf, len, *k, " \xc2\xb7 %" PRIu64 "/%" PRIu64 " packets", f->pkts[0], f->pkts[1]);
        else
            ADD(buf, len, *k, " \xc2\xb7 %" PRIu64 " packets sent", f->pkts[0]);
    }
    if (ri->pins & NL_REC_PIN_BYTES) {
        if (both)
            ADD(buf, len, *k, " \xc2\xb7 %" PRIu64 "/%" PRIu64 " IP bytes", f->ip_bytes[0], f->ip_bytes[1]);
        else
            ADD(buf, len, *k, " \xc2\xb7 %" PRIu64 " IP bytes sent", f->ip_bytes[0]);
    }
    if ((ri->pins & NL_REC_PIN_FLAGS) && f->proto == 6) {
        char a[48], b[48];
        decode_tcp_flags_str(ri->tcp_flags[0], a, sizeof a);
        decode_tcp_flags_str(ri->tcp_flags[1], b, sizeof b);
        if (both)
            ADD(buf, len, *k, " \xc2\xb7 TCP flags %s / %s", a[0] ? a : "none", b[0] ? b : "none");
        else
            ADD(buf, len, *k, " \xc2\xb7 TCP flags sent %s", a[0] ? a : "none");
    }
    if (ri->pins & NL_REC_PIN_STATE)
        ADD(buf, len, *k, " \xc2\xb7 state %s", flow_conn_state(f));
}

char *report_rec_where(const rep_ctx *c, int cap, const nl_record_info *ri, char *buf, size_t len)
{
    const nl_trace *t = c->in->caps[cap].trace;
    size_t k = 0;
    /* a record file names its line, a capture the frame of the event */
    if (t->is_record)
        ADD(buf, len, k, "%s:%" PRIu64, report_cap_name(c, (size_t)cap), ri->line);
    else
        ADD(buf, len, k, "%s frame %" PRIu64, report_cap_name(c, (size_t)cap), ri->line);
    if (ri->nrecords > 1)
        ADD(buf, len, k, " (%" PRIu32 " %s)", ri->nrecords, t->is_record ? "lines" : "events");
    return buf;
}

const nl_flow *report_rec_other_leg(const rep_ctx *c, int cap, const nl_flow *f)
{
    const nl_record_info *ri = report_rec(c, cap, f);
    if (!ri || !ri->other_leg)
        return NULL;
    if (c->in->corr)
        return correlate_twin_of(c->in->corr, cap, f);
    return record_other_leg(c->in->caps[cap].trace, f);
}

int report_rec_leg_shown(const rep_ctx *c, const nl_unmatched *u)
{
    const nl_correlation *co = c->in->corr;
    const nl_record_info *ri = report_rec(c, u->capture, u->flow);
    const nl_flow *tw;
    if (!ri || !ri->other_leg || !(tw = correlate_twin_of(co, u->capture, u->flow)))
        return 0;
    if (correlate_match_for(co, u->capture, tw, 0) || correlate_match_for(co, u->capture, tw, 1))
        return 1;
    return ri->side == NL_REC_SIDE_OUTER;
}

char *report_rec_says(const rep_ctx *c, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_record_info *ri = report_rec(c, cap, f);
    const nl_trace *t = c->in->caps[cap].trace;
    const char *fmt = t->is_record ? t->format : "conntrack";
    char e[REP_REC_NAME * 4 + 8], pins[256];
    const nl_flow *o;
    size_t k;
    buf[0] = '\0';
    if (!ri)
        return buf;
    report_rec_where(c, cap, ri, buf, len);
    k = strlen(buf);
    ADD(buf, len, k, " \xc2\xb7 %s", fmt ? fmt : "records");
    if (ri->gateway)
        ADD(buf, len, k, " \xc2\xb7 gateway %s", rec_name(ri->gateway, e, sizeof e));
    if (ri->vm)
        ADD(buf, len, k, " \xc2\xb7 VM %s", rec_name(ri->vm, e, sizeof e));
    if (ri->interface)
        ADD(buf, len, k, " \xc2\xb7 interface %s", rec_name(ri->interface, e, sizeof e));
    if (ri->side == NL_REC_SIDE_INNER && (o = report_rec_other_leg(c, cap, f))) {
        char ep[96];
        /* what the NAT's mapping says the destination saw */
        ADD(buf, len, k, " \xc2\xb7 NAT mapping: seen as %s",
            report_ep(c, &o->orig_ip, o->orig_port, o->proto, ep, sizeof ep));
    }
    rec_verdict(ri, buf, len, &k);
    if (ri->state && strcmp(ri->state, "OK"))
        ADD(buf, len, k, " \xc2\xb7 %s %s", fmt && !strcmp(fmt, "conntrack") ? "conntrack state" : "status",
            rec_name(ri->state, e, sizeof e));
    rec_counts(f, ri, buf, len, &k);
    ADD(buf, len, k, " \xc2\xb7 pins %s", report_rec_pins(ri, pins, sizeof pins)[0] ? pins : "nothing more");
    return buf;
}

/* The first record flow of a chain (or the row's lone flow), or NULL. */
const nl_flow *report_frow_record(const rep_ctx *c, const rep_frow *r, int *cap)
{
    if (r->chain) {
        const nl_chain *ch = r->chain;
        for (int i = ch->first_cap; i >= 0 && i <= ch->last_cap; i++)
            if (report_rec(c, i, ch->flows[i])) {
                *cap = i;
                return ch->flows[i];
            }
        return NULL;
    }
    *cap = r->unm ? r->unm->capture : 0;
    return report_rec(c, *cap, r->flow) ? r->flow : NULL;
}

void report_ev_where(const rep_ctx *c, const nl_evidence *e, char *where, size_t wlen,
                     const char **what)
{
    const nl_trace *t = e->capture >= 0 && (size_t)e->capture < c->in->ncaps ?
                        c->in->caps[e->capture].trace : NULL;
    uint64_t line = 0;
    int n = 0;
    *what = e->what ? e->what : "";
    /* a record file's evidence names its line first ("line 7: ...",
     * diagnose_records.c): the report writes it as file:line */
    if (t && t->is_record && !e->frame &&
        sscanf(*what, "line %" SCNu64 ":%n", &line, &n) == 1 && n > 0 && line) {
        snprintf(where, wlen, "%s:%" PRIu64, report_cap_name(c, (size_t)e->capture), line);
        *what += n;
        while (**what == ' ')
            (*what)++;
        return;
    }
    snprintf(where, wlen, "%s", report_cap_name(c, (size_t)e->capture));
}

char *report_egress_known(const rep_ctx *c, const nl_egress *e, char *buf, size_t len)
{
    const nl_trace *t = e->seen_at >= 0 && (size_t)e->seen_at < c->in->ncaps ?
                        c->in->caps[e->seen_at].trace : NULL;
    /* a record pairs a flow either "recorded" (it holds the NAT mapping)
     * or "likely" (a tuple in a time window: correlate_records.c), so
     * at a record file the confident flows are the recorded ones */
    if (t && t->is_record) {
        if (e->confident == e->flows)
            snprintf(buf, len, "recorded by the NAT");
        else if (!e->confident)
            snprintf(buf, len, "likely (a tuple and a time window in %s)",
                     t->format_title ? t->format_title : "the records");
        else
            snprintf(buf, len, "%" PRIu32 " recorded by the NAT, %" PRIu32 " likely", e->confident,
                     e->flows - e->confident);
    } else if (e->confident == e->flows) {
        snprintf(buf, len, "paired on packets");
    } else if (!e->confident) {
        snprintf(buf, len, "likely");
    } else {
        snprintf(buf, len, "%" PRIu32 " paired on packets, %" PRIu32 " likely", e->confident,
                 e->flows - e->confident);
    }
    return buf;
}

void report_lone_cells(const rep_ctx *c, const nl_flow *f, rep_lone *o)
{
    const nl_record_info *ri = report_rec(c, 0, f);
    const char *dash = "\xe2\x80\x94";
    uint16_t p = ri ? ri->pins : 0xffff;
    int both = !ri || (p & NL_REC_PIN_RESP);
    memset(o, 0, sizeof *o);
    snprintf(o->state, sizeof o->state, "%s", p & NL_REC_PIN_STATE ? flow_conn_state(f) : dash);
    snprintf(o->history, sizeof o->history, "%s",
             (p & NL_REC_PIN_STATE) && f->history[0] ? f->history : ri ? dash : "-");
    if (!(p & NL_REC_PIN_PKTS))
        snprintf(o->pkts, sizeof o->pkts, "%s", dash);
    else if (both)
        snprintf(o->pkts, sizeof o->pkts, "%" PRIu64 "/%" PRIu64, f->pkts[0], f->pkts[1]);
    else
        snprintf(o->pkts, sizeof o->pkts, "%" PRIu64 "/?", f->pkts[0]);
    if (!(p & NL_REC_PIN_PAYLOAD))
        snprintf(o->bytes, sizeof o->bytes, "%s", dash);
    else if (both)
        snprintf(o->bytes, sizeof o->bytes, "%" PRIu64 "/%" PRIu64, f->bytes[0], f->bytes[1]);
    else
        snprintf(o->bytes, sizeof o->bytes, "%" PRIu64 "/?", f->bytes[0]);
    if (!(p & NL_REC_PIN_TIMES))
        snprintf(o->duration, sizeof o->duration, "%s", dash);
    else
        snprintf(o->duration, sizeof o->duration, "%.3f s%s%s", (double)(f->last_ns - f->first_ns) / 1e9,
                 ri ? " " : "", ri ? report_rec_granularity(ri) : "");
    if (ri)
        report_rec_says(c, 0, f, o->rec, sizeof o->rec);
}
