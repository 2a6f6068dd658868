/* tui_record.c - what a record flow's record says, for the viewer.
 *
 * A capture point may be a record file (conntrack, cloud NAT and flow
 * logs, Zeek conn.log) or a capture carrying conntrack events; its flows
 * hold no packets (record.h). The viewer shows them as records: the
 * STATE column says what the record says (NAT OK, DROPPED, REJECT,
 * UNREPLIED) instead of a packet state it does not know, counts appear
 * only where the record pins them, and the Pair panel shows the record's
 * fields, what it pins and its time window in place of a packet ladder.
 * Nothing here is stored; names from the file are raw (the drawing layer
 * escapes every byte it puts on the terminal).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/decode.h"
#include "natlens/flow_out.h"
#include "natlens/record.h"
#include "tui.h"


const nl_record_info *tui_record_info(const tui_model *m, int cap, const nl_flow *f)
{
    if (!f || cap < 0 || (size_t)cap >= m->ncaps)
        return NULL;
    return record_info_of(m->traces[cap], f);
}

const nl_flow *tui_record_of_row(const tui_model *m, const tui_row *r, int *cap)
{
    if (r->chain) {
        for (int c = r->near_cap; c <= r->far_cap; c++)
            if (tui_record_info(m, c, r->chain->flows[c])) {
                *cap = c;
                return r->chain->flows[c];
            }
        return NULL;
    }
    *cap = r->near_cap;
    return tui_record_info(m, r->near_cap, r->near) ? r->near : NULL;
}

const char *tui_record_word(const nl_record_info *ri, char *buf, size_t len)
{
    const char *st = record_nat_status_name(ri);
    if (ri->nat_status >= NL_REC_NAT_DROPPED && st)
        snprintf(buf, len, "%.20s", st);
    else if (ri->action == NL_REC_ACTION_REJECT)
        snprintf(buf, len, "REJECT");
    else if (ri->ct_flags & NL_REC_CT_UNREPLIED)
        snprintf(buf, len, "UNREPLIED");
    else if (ri->nat_status == NL_REC_NAT_OK)
        snprintf(buf, len, "NAT OK");
    else if (ri->action == NL_REC_ACTION_ACCEPT)
        snprintf(buf, len, "ACCEPT");
    else if (ri->ct_flags & NL_REC_CT_ASSURED)
        snprintf(buf, len, "ASSURED");
    else
        snprintf(buf, len, "rec");
    return buf;
}

const nl_flow *tui_record_other_leg(const tui_model *m, int cap, const nl_flow *f)
{
    const nl_record_info *ri = tui_record_info(m, cap, f);
    if (!ri || !ri->other_leg)
        return NULL;
    if (m->corr)
        return correlate_twin_of(m->corr, cap, f);
    return record_other_leg(m->traces[cap], f);
}

/* What nl_record_info.reporter holds in each format (record.h). */
static const char *tui_record_reporter_label(const nl_trace *t)
{
    static const struct { const char *format, *label; } l[] = {
        {"aws_flow", "direction"}, {"azure_flow", "rule"}, {"zeek_conn", "uid"}, {"gcp_flow", "reporter"},
    };
    for (size_t i = 0; t->is_record && t->format && i < sizeof l / sizeof l[0]; i++)
        if (!strcmp(t->format, l[i].format))
            return l[i].label;
    return "reporter";
}

/* "nat-log.json line 7" or "router.pcapng frame 12" */
static char *tui_record_where(const tui_model *m, int cap, const nl_record_info *ri, char *buf,
                              size_t len)
{
    const nl_trace *t = m->traces[cap];
    snprintf(buf, len, "%s %s %" PRIu64, t->name, t->is_record ? "line" : "frame", ri->line);
    return buf;
}

char *tui_record_text(const tui_model *m, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_record_info *ri = tui_record_info(m, cap, f);
    const nl_trace *t = m->traces[cap];
    const char *st, *act;
    char w[160];
    size_t o = 0;
#define ADD(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
    buf[0] = '\0';
    if (!ri)
        return buf;
    st = record_nat_status_name(ri);
    act = record_action_name(ri->action);
    ADD("record %s %s", t->is_record && t->format ? t->format : "conntrack",
        tui_record_where(m, cap, ri, w, sizeof w));
    if (ri->gateway)
        ADD(" gateway %.64s", ri->gateway);
    if (ri->vm)
        ADD(" vm %.64s", ri->vm);
    if (ri->interface)
        ADD(" interface %.64s", ri->interface);
    if (act)
        ADD(" action %s", act);
    if (st)
        ADD(" nat %.32s", st);
    if (ri->ct_flags & NL_REC_CT_UNREPLIED)
        ADD(" UNREPLIED");
    if (ri->ct_flags & NL_REC_CT_ASSURED)
        ADD(" ASSURED");
    if (ri->state)
        ADD(" %.32s", ri->state);
#undef ADD
    return buf;
}

/* ---- the Pair panel's record block ----------------------------------------- */

static void tui_rline_add(tui_rline *out, size_t max, size_t *n, const char *label, int role,
                          const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static void tui_rline_add(tui_rline *out, size_t max, size_t *n, const char *label, int role,
                          const char *fmt, ...)
{
    va_list ap;
    if (*n >= max)
        return;
    snprintf(out[*n].label, sizeof out[*n].label, "%s", label);
    out[*n].role = (uint8_t)role;
    va_start(ap, fmt);
    vsnprintf(out[*n].text, sizeof out[*n].text, fmt, ap);
    va_end(ap);
    (*n)++;
}

/* "10.0.0.2:4242 → 198.51.100.25:25" of a flow, with the arrow of the locale */
static char *tui_record_tuple(const tui_model *m, const nl_flow *f, char *buf, size_t len)
{
    tui_tuple t;
    tui_text_flow(f, 0, &t);
    return tui_text_fit(&t, 0, m->utf8, buf, len);
}

static void tui_record_counts(const nl_flow *f, const nl_record_info *ri, tui_rline *out, size_t max,
                              size_t *n)
{
    int both = (ri->pins & NL_REC_PIN_RESP) != 0;
    if (ri->pins & NL_REC_PIN_PKTS) {
        if (both)
            tui_rline_add(out, max, n, "packets", TUI_A_NORMAL, "%" PRIu64 " sent, %" PRIu64 " in reply",
                          f->pkts[0], f->pkts[1]);
        else
            tui_rline_add(out, max, n, "packets", TUI_A_NORMAL, "%" PRIu64 " sent (the reply's not in "
                          "this record)", f->pkts[0]);
    }
    if (ri->pins & NL_REC_PIN_BYTES) {
        if (both)
            tui_rline_add(out, max, n, "IP bytes", TUI_A_NORMAL, "%" PRIu64 " sent, %" PRIu64 " in reply",
                          f->ip_bytes[0], f->ip_bytes[1]);
        else
            tui_rline_add(out, max, n, "IP bytes", TUI_A_NORMAL, "%" PRIu64 " sent", f->ip_bytes[0]);
    }
    if ((ri->pins & NL_REC_PIN_FLAGS) && f->proto == IPPROTO_TCP) {
        char a[48], b[48];
        decode_tcp_flags_str(ri->tcp_flags[0], a, sizeof a);
        decode_tcp_flags_str(ri->tcp_flags[1], b, sizeof b);
        if (both)
            tui_rline_add(out, max, n, "TCP flags", TUI_A_NORMAL, "%s sent, %s in reply", a[0] ? a : "none",
                          b[0] ? b : "none");
        else
            tui_rline_add(out, max, n, "TCP flags", TUI_A_NORMAL, "%s sent", a[0] ? a : "none");
    }
    if (ri->pins & NL_REC_PIN_STATE)
        tui_rline_add(out, max, n, "state", TUI_A_NORMAL, "%s %s", flow_conn_state(f),
                      f->history[0] ? f->history : "");
}

static void tui_record_pins(const nl_record_info *ri, char *buf, size_t len)
{
    static const struct { uint16_t bit; const char *name; } pins[] = {
        {NL_REC_PIN_ADDRS, "addresses"}, {NL_REC_PIN_PORTS, "ports"},
        {NL_REC_PIN_NAT, "the NAT mapping"}, {NL_REC_PIN_PKTS, "packets"},
        {NL_REC_PIN_BYTES, "bytes"}, {NL_REC_PIN_PAYLOAD, "payload bytes"},
        {NL_REC_PIN_FLAGS, "TCP flags"}, {NL_REC_PIN_TIMES, "times"},
        {NL_REC_PIN_STATE, "the state"}, {NL_REC_PIN_RESP, "the reply's counts"},
    };
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof pins / sizeof pins[0]; i++)
        if ((ri->pins & pins[i].bit) && o < len)
            o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? ", " : "", pins[i].name);
    if (!(ri->pins & (NL_REC_PIN_STATE)) && o < len)
        snprintf(buf + o, len - o, "%sno TCP state%s", o ? "; " : "",
                 ri->pins & NL_REC_PIN_PKTS ? "" : ", no packet counts");
}

/* The record's time window and how coarse it is. */
static void tui_record_window(const nl_flow *f, const nl_record_info *ri, int utf8, tui_rline *out,
                              size_t max, size_t *n)
{
    char a[40], b[40], g[48];
    flow_out_time(f->first_ns, a, sizeof a, 0);
    flow_out_time(f->last_ns, b, sizeof b, 0);
    if (!ri->granularity_ms)
        snprintf(g, sizeof g, "exact times");
    else if (ri->granularity_ms < 60000)
        snprintf(g, sizeof g, "times to %.3g s", ri->granularity_ms / 1000.0);
    else
        snprintf(g, sizeof g, "a %.3g-minute aggregation interval", ri->granularity_ms / 60000.0);
    tui_rline_add(out, max, n, "window", TUI_A_NORMAL, "%s %s %s (own clock; %s)", a,
                  utf8 ? "\xe2\x86\x92" : "->", b, g);
}

size_t tui_record_lines(const tui_model *m, int cap, const nl_flow *f, tui_rline *out, size_t max)
{
    const nl_record_info *ri = tui_record_info(m, cap, f);
    const nl_trace *t;
    const nl_flow *o;
    const char *st, *act;
    char a[200], b[200], pins[256];
    size_t n = 0;
    if (!ri)
        return 0;
    t = m->traces[cap];
    snprintf(b, sizeof b, " (%" PRIu32 " %s merged)", ri->nrecords, t->is_record ? "lines" : "events");
    tui_rline_add(out, max, &n, "record", TUI_A_HEAD, "%s%s, %s", tui_record_where(m, cap, ri, a, sizeof a),
                  ri->nrecords > 1 ? b : "",
                  t->is_record ? (t->format_title ? t->format_title : "records") : "conntrack events");
    o = tui_record_other_leg(m, cap, f);
    if (o && ri->side == NL_REC_SIDE_OUTER) {
        const nl_flow *x = f;      /* the inner leg first, as it was sent */
        f = o;
        o = x;
    }
    if (o) {
        tui_rline_add(out, max, &n, "inner leg", TUI_A_NORMAL, "%s  (as the inner host sent it)",
                      tui_record_tuple(m, f, b, sizeof b));
        tui_rline_add(out, max, &n, "outer leg", TUI_A_XLATE, "%s  (as the destination saw it)",
                      tui_record_tuple(m, o, b, sizeof b));
    } else {
        tui_rline_add(out, max, &n, "flow", TUI_A_NORMAL, "%s%s", tui_record_tuple(m, f, b, sizeof b),
                      ri->side == NL_REC_SIDE_INNER ? "  (as the inner host sent it)" :
                      ri->side == NL_REC_SIDE_OUTER ? "  (as the destination saw it)" : "");
        if (ri->nat_status >= NL_REC_NAT_DROPPED)
            tui_rline_add(out, max, &n, "outer leg", TUI_A_BAD, "none: the NAT allocated no port");
    }
    if (ri->gateway || ri->router || ri->region)
        tui_rline_add(out, max, &n, "gateway", TUI_A_NORMAL, "%.64s%s%.64s%s%.64s", ri->gateway ? ri->gateway : "-",
                      ri->router ? "  router " : "", ri->router ? ri->router : "",
                      ri->region ? "  region " : "", ri->region ? ri->region : "");
    if (ri->vm)
        tui_rline_add(out, max, &n, "VM", TUI_A_NORMAL, "%.64s", ri->vm);
    if (ri->interface)
        tui_rline_add(out, max, &n, "interface", TUI_A_NORMAL, "%.64s", ri->interface);
    if (ri->reporter)
        tui_rline_add(out, max, &n, tui_record_reporter_label(t), TUI_A_NORMAL, "%.64s", ri->reporter);
    act = record_action_name(ri->action);
    if (act)
        tui_rline_add(out, max, &n, "action", ri->action == NL_REC_ACTION_REJECT ? TUI_A_BAD : TUI_A_NORMAL,
                      "%s%s", ri->action == NL_REC_ACTION_REJECT ? "REJECT" : "ACCEPT",
                      ri->reject_dirs == 2 ? " (the reply, on the way back)" :
                      ri->reject_dirs == 3 ? " (both ways)" : "");
    st = record_nat_status_name(ri);
    if (st)
        tui_rline_add(out, max, &n, "NAT status", ri->nat_status >= NL_REC_NAT_DROPPED ? TUI_A_BAD : TUI_A_NORMAL,
                      "%.40s%s", st, ri->nat_status >= NL_REC_NAT_DROPPED ? ": no NAT port, the packets were dropped" : "");
    if (ri->ct_flags || ri->ct_id) {
        size_t k = 0;
#define CT(...) do { if (k < sizeof a) k += (size_t)snprintf(a + k, sizeof a - k, __VA_ARGS__); } while (0)
        a[0] = '\0';
        if (ri->ct_flags & NL_REC_CT_UNREPLIED)
            CT("[UNREPLIED] ");
        if (ri->ct_flags & NL_REC_CT_ASSURED)
            CT("[ASSURED] ");
        if (ri->ct_flags & NL_REC_CT_NEW)
            CT("NEW ");
        if (ri->ct_flags & NL_REC_CT_DESTROYED)
            CT("DESTROY ");
        if (ri->ct_flags & NL_REC_CT_LISTED)
            CT("listed ");
        if (ri->ct_id)
            CT("id %" PRIu64 " ", ri->ct_id);
        if (ri->ct_flags & NL_REC_CT_ZONE)
            CT("zone %u ", ri->ct_zone);
        if ((ri->ct_flags & NL_REC_CT_MARK) && ri->ct_mark)
            CT("mark 0x%" PRIx32 " ", ri->ct_mark);
#undef CT
        tui_rline_add(out, max, &n, "conntrack", ri->ct_flags & NL_REC_CT_UNREPLIED ? TUI_A_WARN : TUI_A_NORMAL,
                      "%s", a);
    }
    if (ri->state)
        tui_rline_add(out, max, &n, t->is_record && t->format && strcmp(t->format, "conntrack") ?
                      "status" : "ct state", TUI_A_NORMAL, "%.40s", ri->state);
    tui_record_counts(f, ri, out, max, &n);
    if (ri->community_id)
        tui_rline_add(out, max, &n, "community", TUI_A_NORMAL, "%.64s", ri->community_id);
    tui_record_window(f, ri, m->utf8, out, max, &n);
    tui_record_pins(ri, pins, sizeof pins);
    tui_rline_add(out, max, &n, "pins", TUI_A_DIM, "%s", pins);
    return n;
}
