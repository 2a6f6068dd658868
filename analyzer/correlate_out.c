/* correlate_out.c - an nl_correlation as the contract's JSON sections, so
 * `correlate --json` and `report -o x.json` write the same document.
 * Flows are written with flow_out_json(); times are epoch seconds,
 * addresses strings. Nothing here keeps state. */
#include <netinet/in.h>
#include "natlens/correlate.h"
#include "natlens/flow_out.h"
#include "natlens/json.h"
#include "natlens/record.h"
#include "natlens/record_out.h"
#include "natlens/trace.h"
#include "natlens/trace_out.h"

static void correlate_json_captures(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "captures");
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        if (in->trace) {
            trace_out_json_capture(j, NULL, in->trace);
            continue;
        }
        json_obj_begin(j, NULL);
        json_str(j, "file", in->name);
        json_ts(j, "first_ts", in->first_ns);
        json_ts(j, "last_ts", in->last_ns);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* "record_points": per capture point holding records (a record file, or
 * conntrack events in a capture), what each record says, as `flows
 * --json` writes it ("flow" is the flow objects' "id"). */
static void correlate_json_record_points(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "record_points");
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_trace *t = c->caps[i].trace;
        if (!t || !record_count(t))
            continue;
        json_obj_begin(j, NULL);
        json_uint(j, "capture", i);
        json_str(j, "format", t->is_record ? t->format : "conntrack");
        json_bool(j, "record_file", t->is_record);
        record_out_json(j, "records", t);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_offsets(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "clock_offsets");
    for (size_t i = 0; i + 1 < c->ncaps; i++) {
        const nl_clock_offset *o = &c->offsets[i];
        json_obj_begin(j, NULL);
        json_int(j, "from", o->from);
        json_int(j, "to", o->to);
        if (o->known) {
            json_double(j, "offset_s", o->offset_s, 9);
            json_double(j, "spread_s", o->spread_s, 9);
        } else {
            json_null(j, "offset_s");
            json_null(j, "spread_s");
        }
        json_uint(j, "samples", o->samples);
        json_bool(j, "two_way", o->two_way);
        if (o->two_way)
            json_double(j, "latency_s", o->latency_s, 9);
        json_str(j, "basis", o->basis == NL_CLOCK_STRONG ? "strong_keys" :
                             o->basis == NL_CLOCK_CONSENSUS ? "consensus" :
                             o->basis == NL_CLOCK_RECORDS ? "records" : "none");
        json_uint(j, "anchors", o->anchors);
        json_bool(j, "same_capture", o->same_capture);
        json_double(j, "overlap_s", (double)o->overlap_ns / 1e9, 6);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_evidence(nl_json *j, uint32_t ev)
{
    json_arr_begin(j, "evidence");
    for (int i = 0; i < NL_EV_COUNT; i++)
        if (ev & (1u << i))
            json_str(j, NULL, correlate_evidence_name(1u << i));
    json_arr_end(j);
}

static void correlate_json_matches(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "matches");
    for (size_t i = 0; i < c->nmatches; i++) {
        const nl_match *m = &c->matches[i];
        json_obj_begin(j, NULL);
        json_int(j, "near_capture", m->near_cap);
        json_int(j, "far_capture", m->far_cap);
        const nl_trace *nt = c->caps[m->near_cap].trace, *ft = c->caps[m->far_cap].trace;
        /* a record counts no packets: nothing lost or paired to say */
        int rec = (nt && record_info_of(nt, m->near)) || (ft && record_info_of(ft, m->far));
        flow_out_json_in(j, "near", m->near, nt);
        flow_out_json_in(j, "far", m->far, ft);
        json_str(j, "translation", correlate_translation_name(m->translation));
        json_bool(j, "port_remapped", m->sport_changed);
        correlate_json_evidence(j, m->evidence);
        json_double(j, "confidence", m->confidence, 3);
        json_str(j, "level", correlate_level_name(m->level));
        if (m->has_seq_offset) {
            /* signed: how far the far side's sequence numbers run ahead */
            json_obj_begin(j, "seq_offset");
            json_int(j, "orig", (int32_t)m->seq_offset[NL_ORIG]);
            json_int(j, "resp", (int32_t)m->seq_offset[NL_RESP]);
            json_obj_end(j);
        }
        json_bool(j, "flipped", m->flip);
        if (rec) {
            json_null(j, "lost_packets");
            json_null(j, "paired_packets");
        } else {
            json_uint(j, "lost_packets", m->lost[0] + m->lost[1]);
            /* null, not 0, when a side kept no packet records (only flows
             * the findings need and a sample do): nothing was compared */
            if (m->near->recs && m->far->recs)
                json_uint(j, "paired_packets", m->paired_pkts);
            else
                json_null(j, "paired_packets");
        }
        json_double(j, "dt_s", m->dt_s, 6);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_unmatched(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "unmatched");
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        json_obj_begin(j, NULL);
        json_int(j, "capture", u->capture);
        json_int(j, "other", u->other);
        flow_out_json_in(j, "flow", u->flow, c->caps[u->capture].trace);
        json_str(j, "reason", correlate_reason_name(u->reason));
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_egress(nl_json *j, const nl_correlation *c)
{
    char p[16];
    json_arr_begin(j, "egress");
    for (size_t i = 0; i < c->negress; i++) {
        const nl_egress *e = &c->egress[i];
        json_obj_begin(j, NULL);
        json_addr(j, "inner_ip", &e->inner_ip);
        json_addr(j, "dest_ip", &e->dest_ip);
        if (e->proto == IPPROTO_ICMP || e->proto == IPPROTO_ICMPV6)
            json_null(j, "dest_port");
        else
            json_uint(j, "dest_port", e->dest_port);
        json_str(j, "proto", flow_proto_name(e->proto, p, sizeof p));
        json_addr(j, "egress_ip", &e->egress_ip);
        json_int(j, "seen_at", e->seen_at);
        json_ts(j, "first_ts", e->first_ns);
        json_ts(j, "last_ts", e->last_ns);
        json_uint(j, "flows", e->flows);
        json_uint(j, "confident_flows", e->confident);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* The answer per capture point, its pools and switches. */
static void correlate_json_answer(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "egress_answer");
    for (size_t i = 0; i < c->negress_addrs; i++) {
        const nl_egress_addr *e = &c->egress_addrs[i];
        json_obj_begin(j, NULL);
        json_int(j, "seen_at", e->seen_at);
        json_addr(j, "egress_ip", &e->ip);
        json_uint(j, "flows", e->flows);
        json_uint(j, "hosts", e->hosts);
        json_uint(j, "pool_hosts", e->pool_hosts);
        json_ts(j, "first_ts", e->first_ns);
        json_ts(j, "last_ts", e->last_ns);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "egress_pools");
    for (size_t i = 0; i < c->negress_pools; i++) {
        const nl_egress_pool *p = &c->egress_pools[i];
        json_obj_begin(j, NULL);
        json_int(j, "seen_at", p->seen_at);
        json_uint(j, "addresses", p->naddrs);
        json_uint(j, "hosts", p->hosts);
        json_uint(j, "flows", p->flows);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_arr_begin(j, "egress_switches");
    for (size_t i = 0; i < c->negress_switches; i++) {
        const nl_egress_switch *s = &c->egress_switches[i];
        json_obj_begin(j, NULL);
        json_int(j, "seen_at", s->seen_at);
        json_addr(j, "from_ip", &s->from_ip);
        json_addr(j, "to_ip", &s->to_ip);
        json_uint(j, "hosts", s->hosts);
        json_ts(j, "first_ts", s->first_ns);
        json_ts(j, "last_ts", s->last_ns);
        json_addr(j, "first_inner_ip", &s->first_inner);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_changes(nl_json *j, const nl_correlation *c)
{
    char p[16];
    json_arr_begin(j, "ip_changes");
    for (size_t i = 0; i < c->nip_changes; i++) {
        const nl_ip_change *ch = &c->ip_changes[i];
        json_obj_begin(j, NULL);
        json_addr(j, "inner_ip", &ch->inner_ip);
        json_addr(j, "dest_ip", &ch->dest_ip);
        if (ch->has_port) {
            if (ch->proto == IPPROTO_ICMP || ch->proto == IPPROTO_ICMPV6)
                json_null(j, "dest_port");
            else
                json_uint(j, "dest_port", ch->dest_port);
            json_str(j, "proto", flow_proto_name(ch->proto, p, sizeof p));
        } else {
            json_null(j, "dest_port");
            json_null(j, "proto");
        }
        json_addr(j, "from_ip", &ch->from_ip);
        json_addr(j, "to_ip", &ch->to_ip);
        json_ts(j, "at_ts", ch->at_ns);
        json_ts(j, "prev_ts", ch->prev_ns);
        json_uint(j, "old_still_open", ch->old_still_open);
        json_int(j, "seen_at", ch->seen_at);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void correlate_json_chains(nl_json *j, const nl_correlation *c)
{
    json_arr_begin(j, "chains");
    for (size_t i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        json_obj_begin(j, NULL);
        json_arr_begin(j, "flows");
        for (size_t k = 0; k < c->ncaps; k++) {
            if (ch->flows[k])
                flow_out_json_in(j, NULL, ch->flows[k], c->caps[k].trace);
            else
                json_null(j, NULL);
        }
        json_arr_end(j);
        int any_alt = 0;
        for (size_t k = 0; k < c->ncaps; k++)
            any_alt |= ch->alt[k] != NULL;
        if (any_alt) {        /* captures that saw both legs of a NAT */
            json_arr_begin(j, "alt_flows");
            for (size_t k = 0; k < c->ncaps; k++) {
                if (ch->alt[k])
                    flow_out_json_in(j, NULL, ch->alt[k], c->caps[k].trace);
                else
                    json_null(j, NULL);
            }
            json_arr_end(j);
        }
        json_arr_begin(j, "hops");
        for (size_t h = 0; h < ch->nhops; h++) {
            const nl_hop *hp = &ch->hops[h];
            json_obj_begin(j, NULL);
            json_int(j, "from", hp->from);
            json_int(j, "to", hp->to);
            if (hp->present)
                json_str(j, "translation", correlate_translation_name(hp->translation));
            else
                json_null(j, "translation");
            json_uint(j, "lost_packets", hp->lost_packets);
            if (!hp->present)
                json_bool(j, "answered", hp->answered);
            if (hp->via_alt)
                json_bool(j, "via_alt", 1);
            json_obj_end(j);
        }
        json_arr_end(j);
        json_obj_end(j);
    }
    json_arr_end(j);
}

void correlate_json(nl_json *j, const nl_correlation *c)
{
    correlate_json_captures(j, c);
    correlate_json_record_points(j, c);
    correlate_json_offsets(j, c);
    correlate_json_matches(j, c);
    correlate_json_unmatched(j, c);
    correlate_json_egress(j, c);
    correlate_json_answer(j, c);
    correlate_json_changes(j, c);
    correlate_json_chains(j, c);
}
