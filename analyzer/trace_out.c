/* trace_out.c - capture summaries and recognised probes, JSON and text. */
#include <stdio.h>
#include <string.h>
#include "natlens/flow_out.h"
#include "natlens/record_out.h"
#include "natlens/trace_out.h"
#include "natlens/tunnel_out.h"

void trace_out_json_capture(nl_json *j, const char *key, nl_trace *t)
{
    nl_flow_table_stats st;
    flow_table_stats(t->flows, &st);
    json_obj_begin(j, key);
    json_str(j, "file", t->path);
    if (t->is_record) {
        /* a record file: entries, not packets (its records array holds
         * what each says) */
        json_null(j, "link_type");
        json_str(j, "format", t->format);
        json_str(j, "format_title", t->format_title);
        json_bool(j, "record_file", 1);
        json_uint(j, "entries", t->packets);
        json_null(j, "packets");
        json_null(j, "ip_packets");
        json_null(j, "bytes");
    } else {
        json_str(j, "link_type", t->linktype_name);
        json_str(j, "format", t->is_pcapng ? "pcapng" : "pcap");
        json_bool(j, "record_file", 0);
        json_uint(j, "packets", t->packets);
        json_uint(j, "ip_packets", t->ip_packets);
        json_uint(j, "bytes", t->wire_bytes);
    }
    if (t->packets) {
        json_ts(j, "first_ts", t->first_ns);
        json_ts(j, "last_ts", t->last_ns);
    } else {
        json_null(j, "first_ts");
        json_null(j, "last_ts");
    }
    json_uint(j, "malformed", t->malformed);
    json_uint(j, "truncated", t->truncated);
    json_uint(j, "flows", st.flows_total);
    json_uint(j, "evicted", st.evicted);
    if (t->warning) {
        json_str(j, "warning", t->warning);
        json_uint(j, "damage_offset", t->damage_offset);
    }
    if (t->notes) {
        /* warnings that are not damage, one a line */
        json_arr_begin(j, "notes");
        for (const char *l = t->notes; l && *l;) {
            const char *e = strchr(l, '\n');
            char line[1024];
            snprintf(line, sizeof line, "%.*s", e ? (int)(e - l) : (int)strlen(l), l);
            json_str(j, NULL, line);
            l = e ? e + 1 : NULL;
        }
        json_arr_end(j);
    }
    json_bool(j, "host_context", t->hostmeta != NULL);
    if (t->has_capture_stats) {
        /* the capture's own counters (pcapng interface statistics) */
        json_uint(j, "capture_dropped", t->capture_drops);
        if (t->capture_received)
            json_uint(j, "capture_received", t->capture_received);
    }
    tunnel_out_json_stats(j, "tunnels", t->tunnels);
    record_out_json_capture(j, "conntrack", t);   /* natlens-capture --conntrack */
    json_obj_end(j);
}

void trace_out_json_probes(nl_json *j, const char *key, nl_trace *const *traces, size_t n)
{
    char buf[64];
    json_arr_begin(j, key);
    for (size_t c = 0; c < n; c++) {
        for (size_t i = 0; i < traces[c]->nprobes; i++) {
            const nl_probe_info *p = &traces[c]->probes[i];
            json_obj_begin(j, NULL);
            json_addr(j, "inner_ip", &p->inner_ip);
            json_str(j, "via", p->via);
            json_addr(j, "seen_as_ip", &p->seen_as_ip);
            json_uint(j, "seen_as_port", p->seen_as_port);
            json_ts(j, "ts", p->seen_ts_ns);
            json_uint(j, "capture", c);
            json_str(j, "proto", flow_proto_name(p->proto, buf, sizeof buf));
            json_addr(j, "dest_ip", &p->seen_dst_ip);
            json_uint(j, "dest_port", p->seen_dst_port);
            json_uint(j, "seq", p->seq);
            json_str(j, "session", p->session);
            json_ts(j, "sent_ts", p->ts_ns);
            json_obj_end(j);
        }
    }
    json_arr_end(j);
}

void trace_out_text_probes(FILE *out, nl_trace *const *traces, size_t n)
{
    size_t total = 0;
    for (size_t c = 0; c < n; c++)
        total += traces[c]->nprobes;
    if (!total)
        return;
    fprintf(out, "\nPROBES \xe2\x80\x94 marked probes from natlens-capture, as they arrived\n");
    for (size_t c = 0; c < n; c++) {
        for (size_t i = 0; i < traces[c]->nprobes; i++) {
            const nl_probe_info *p = &traces[c]->probes[i];
            char in[64], seen[64], dst[64], tm[32], via[64];
            /* via and session come from packet bytes: show printable only */
            json_escape_text((const uint8_t *)p->via, strlen(p->via), via, sizeof via);
            fprintf(out, "  probe from %s via %s arrived at %s as %s:%u \xe2\x86\x92 %s:%u (%s, #%u)\n",
                    nl_addr_str(&p->inner_ip, in, sizeof in), via[0] ? via : "?",
                    traces[c]->name, nl_addr_str(&p->seen_as_ip, seen, sizeof seen),
                    p->seen_as_port, nl_addr_str(&p->seen_dst_ip, dst, sizeof dst),
                    p->seen_dst_port, flow_out_time(p->seen_ts_ns, tm, sizeof tm, 0), p->seq);
        }
    }
}
