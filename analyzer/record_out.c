/* record_out.c - record facts for people and for JSON (record_out.h). */
#include <inttypes.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "natlens/frame_ref.h"

static const char *const pin_names[] = {
    "addrs", "ports", "nat", "pkts", "bytes", "payload", "flags", "times", "state", "resp"
};

void record_out_json(nl_json *j, const char *key, const nl_trace *t)
{
    size_t n;
    nl_flow **fl = flow_table_all(t->flows, &n);
    json_arr_begin(j, key);
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        if (!ri)
            continue;
        json_obj_begin(j, NULL);
        json_uint(j, "flow", fl[i]->id);
        json_str(j, "side", record_side_name(ri->side));
        if (ri->other_leg)
            json_uint(j, "other_leg", ri->other_leg);
        else
            json_null(j, "other_leg");
        json_arr_begin(j, "pins");
        for (unsigned b = 0; b < sizeof pin_names / sizeof pin_names[0]; b++)
            if (ri->pins & (1u << b))
                json_str(j, NULL, pin_names[b]);
        json_arr_end(j);
        json_double(j, "granularity_s", ri->granularity_ms / 1000.0, 3);
        /* a record file names its line, a capture the frame of the event */
        if (t->is_record) {
            json_uint(j, "line", ri->line);
            json_null(j, "frame");
        } else {
            json_null(j, "line");
            json_uint(j, "frame", frame_ref_local(ri->line));   /* in its file */
        }
        json_uint(j, "records", ri->nrecords);
        json_str(j, "action", record_action_name(ri->action));
        json_arr_begin(j, "rejected");
        if (ri->reject_dirs & 1)
            json_str(j, NULL, "orig");
        if (ri->reject_dirs & 2)
            json_str(j, NULL, "resp");
        json_arr_end(j);
        json_str(j, "nat_status", record_nat_status_name(ri));
        json_arr_begin(j, "conntrack");
        if (ri->ct_flags & NL_REC_CT_UNREPLIED)
            json_str(j, NULL, "UNREPLIED");
        if (ri->ct_flags & NL_REC_CT_ASSURED)
            json_str(j, NULL, "ASSURED");
        if (ri->ct_flags & NL_REC_CT_NEW)
            json_str(j, NULL, "NEW");
        if (ri->ct_flags & NL_REC_CT_DESTROYED)
            json_str(j, NULL, "DESTROY");
        if (ri->ct_flags & NL_REC_CT_LISTED)
            json_str(j, NULL, "LISTED");
        json_arr_end(j);
        if (ri->ct_id)
            json_uint(j, "conntrack_id", ri->ct_id);
        else
            json_null(j, "conntrack_id");
        if (ri->ct_flags & NL_REC_CT_MARK)
            json_uint(j, "conntrack_mark", ri->ct_mark);
        else
            json_null(j, "conntrack_mark");
        if (ri->ct_flags & NL_REC_CT_ZONE)
            json_uint(j, "conntrack_zone", ri->ct_zone);
        else
            json_null(j, "conntrack_zone");
        if (ri->pins & NL_REC_PIN_FLAGS) {
            json_arr_begin(j, "tcp_flags");
            json_uint(j, NULL, ri->tcp_flags[0]);
            json_uint(j, NULL, ri->tcp_flags[1]);
            json_arr_end(j);
        } else {
            json_null(j, "tcp_flags");
        }
        json_str(j, "gateway", ri->gateway);
        json_str(j, "router", ri->router);
        json_str(j, "region", ri->region);
        json_str(j, "vm", ri->vm);
        json_str(j, "interface", ri->interface);
        json_str(j, "reporter", ri->reporter);
        json_str(j, "community_id", ri->community_id);
        json_str(j, "state", ri->state);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* s with every byte outside printable ASCII as \xNN, at most 48 bytes. */
static const char *rec_esc(const char *s, char *buf, size_t len)
{
    size_t k = 0;
    for (size_t i = 0; s && s[i] && i < 48 && k + 5 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f)
            buf[k++] = (char)c;
        else
            k += (size_t)snprintf(buf + k, len - k, "\\x%02x", c);
    }
    buf[k] = '\0';
    return buf;
}

char *record_out_summary(const nl_trace *t, char *buf, size_t len)
{
    size_t n, maps = 0, recs = record_count(t);
    nl_flow **fl = flow_table_all(t->flows, &n);
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        maps += ri && ri->side == NL_REC_SIDE_INNER && ri->other_leg;
    }
    snprintf(buf, len, "%s, %" PRIu64 " entries, %zu record flows (%zu NAT mappings)",
             t->format_title ? t->format_title : "records", t->is_record ? t->packets : (uint64_t)recs,
             recs, maps);
    return buf;
}

static void rec_text_row(FILE *out, const nl_trace *t, const nl_flow *f, const nl_flow *o,
                         const nl_record_info *ri, int utf8)
{
    char tup[200], seen[96], a[64], e1[200], e2[200], e3[200];
    const char *st = record_nat_status_name(ri);
    flow_out_tuple(f, tup, sizeof tup, utf8);
    if (o) {
        nl_addr_str(&o->orig_ip, a, sizeof a);
        if (ri->pins & NL_REC_PIN_PORTS && o->orig_port)
            snprintf(seen, sizeof seen, "%s%s%s:%u", strchr(a, ':') ? "[" : "", a, strchr(a, ':') ? "]" : "",
                     o->orig_port);
        else
            snprintf(seen, sizeof seen, "%s (port not in the record)", a);
    } else {
        snprintf(seen, sizeof seen, "%s", st && ri->nat_status != NL_REC_NAT_OK ? "no NAT port" : "-");
    }
    fprintf(out, "  %-47s %-28s %s %-6" PRIu64 "%s%s%s%s%s", tup, seen,
            t->is_record ? "line" : "frame", frame_ref_local(ri->line),
            st ? " " : "", st ? st : "",
            ri->ct_flags & NL_REC_CT_UNREPLIED ? " [UNREPLIED]" : "",
            ri->ct_flags & NL_REC_CT_ASSURED ? " [ASSURED]" : "",
            ri->action == NL_REC_ACTION_REJECT ? " REJECT" : "");
    if (ri->ct_flags & NL_REC_CT_ZONE && ri->ct_zone)
        fprintf(out, " zone=%u", ri->ct_zone);
    if (ri->vm)
        fprintf(out, " vm=%s", rec_esc(ri->vm, e1, sizeof e1));
    if (ri->gateway)
        fprintf(out, " gateway=%s", rec_esc(ri->gateway, e2, sizeof e2));
    if (ri->interface)
        fprintf(out, " at=%s", rec_esc(ri->interface, e3, sizeof e3));
    fputc('\n', out);
}

void record_out_text(FILE *out, const nl_trace *t, int utf8)
{
    size_t n, shown = 0;
    nl_flow **fl = flow_table_all(t->flows, &n);
    nl_record_capture_stats cs;
    record_capture_stats(t, &cs);
    if (!record_count(t) && !cs.listener)
        return;
    fprintf(out, "\nNAT MAPPINGS (%s) %s inner flow, as the destination saw it\n",
            t->is_record ? "from records" : "from the conntrack events in the capture",
            utf8 ? "\xe2\x80\x94" : "-");
    if (cs.losses)
        fprintf(out, "  (the kernel dropped events %" PRIu64 " times while capturing: mappings may "
                "be missing)\n", cs.losses);
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        const nl_flow *o = NULL;
        if (!ri || ri->side == NL_REC_SIDE_OUTER)
            continue;
        if (!ri->other_leg && ri->nat_status < NL_REC_NAT_DROPPED)
            continue;
        if (ri->other_leg && i + 1 < n && fl[i + 1]->id == ri->other_leg)
            o = fl[i + 1];
        rec_text_row(out, t, fl[i], o, ri, utf8);
        shown++;
    }
    if (!shown && !t->is_record && !cs.events)
        fprintf(out, "  none: natlens-capture --conntrack recorded no conntrack event\n");
    else if (!shown)
        fprintf(out, "  none: the records hold no translation (one tuple per flow)\n");
}

char *record_out_capture_summary(const nl_trace *t, char *buf, size_t len)
{
    size_t n, maps = 0;
    nl_flow **fl = flow_table_all(t->flows, &n);
    nl_record_capture_stats cs;
    record_capture_stats(t, &cs);
    buf[0] = '\0';
    if (t->is_record || (!cs.listener && !cs.events))
        return buf;
    for (size_t i = 0; i < n; i++) {
        const nl_record_info *ri = record_info_of(t, fl[i]);
        maps += ri && ri->side == NL_REC_SIDE_INNER && ri->other_leg;
    }
    snprintf(buf, len, "conntrack events in the capture: %" PRIu64 " events, %zu record flows "
             "(%zu NAT mappings)%s", cs.events, record_count(t), maps,
             cs.losses ? ", events lost (kernel buffer overruns)" : "");
    return buf;
}

void record_out_json_capture(nl_json *j, const char *key, const nl_trace *t)
{
    nl_record_capture_stats cs;
    record_capture_stats(t, &cs);
    if (t->is_record || (!cs.listener && !cs.events && !cs.bad_blocks))
        return;
    json_obj_begin(j, key);
    json_bool(j, "listener", cs.listener);
    json_uint(j, "events", cs.events);
    json_uint(j, "losses", cs.losses);
    json_uint(j, "bad_blocks", cs.bad_blocks);
    json_uint(j, "record_flows", record_count(t));
    json_str(j, "kernel_timestamps", cs.tstamp == 0 ? "off" : cs.tstamp == 1 ? "on"
                                     : cs.tstamp == 2 ? "turned on" : NULL);
    json_obj_end(j);
}
