/* flow_table.h - pooled hash table of flows for one capture.
 *
 * Direction-independent key (the two endpoints ordered before hashing, as
 * Suricata does), a power-of-two bucket array, a seeded hash, flows carved
 * from pooled slabs: no malloc per packet. Live flows sit on an LRU list;
 * idle ones time out (Zeek's inactivity timeouts), and with max_flows set the
 * least recently used live flow is evicted when the cap is reached. Ended
 * flows stay readable (for output) until flow_table_free().
 *
 * Memory: slabs grow with the number of flows ever seen; with max_flows
 * set and keep_done = 0 ended flows are recycled, so memory is bounded by
 * max_flows. Output-oriented callers keep them (keep_done = 1).
 */
#ifndef NATLENS_FLOW_TABLE_H
#define NATLENS_FLOW_TABLE_H

#include <stdint.h>
#include <stddef.h>
#include "natlens/decode.h"
#include "natlens/flow.h"
#include "natlens/server_ports.h"

typedef struct nl_flow_table nl_flow_table;

typedef struct nl_flow_table_opts {
    uint32_t max_flows;      /* 0 = unlimited */
    int      keep_packets;   /* keep the first packet records of each flow */
    uint8_t  keep_limit;     /* how many (1..NL_FLOW_KEEP_PKTS); 0 = all of them */
    int      keep_done;      /* keep ended flows for output (default 1) */
    uint64_t tcp_idle_ns;    /* 0 = Zeek's 5 min */
    uint64_t udp_idle_ns;    /* 0 = Zeek's 1 min */
    uint64_t icmp_idle_ns;   /* 0 = Zeek's 1 min */
    /* Streaming (keep_done = 0): called once for each flow as it ends
     * (timed out, evicted, or replaced by a reused 5-tuple), just before
     * its memory is recycled; the pointer is valid only during the call.
     * Flows still live at the end are reported by flow_table_all(). */
    void (*on_end)(void *ctx, const nl_flow *f);
    void *on_end_ctx;
    /* Zeek's likely_server_ports for naming the originator of a flow whose
     * first packet is no SYN; NULL: Zeek's default. Borrowed: must outlive
     * the table. */
    const nl_server_ports *server_ports;
} nl_flow_table_opts;

/* Create a table. opts may be NULL for defaults. NULL on out-of-memory. */
nl_flow_table *flow_table_new(const nl_flow_table_opts *opts);
void flow_table_free(nl_flow_table *t);

/* Account one decoded packet: find or create its flow, update counters and
 * TCP state. `bytes` is the frame (for payload hashing); may be NULL.
 * Returns the flow, or NULL if the packet has no usable L3/L4 (counted in
 * the table's stats). ICMP errors are linked to the flow they quote. */
nl_flow *flow_table_add(nl_flow_table *t, const nl_packet *pkt,
                        const uint8_t *bytes);

/* Add a flow that comes from a record, not from packets (reader.h): a
 * copy of `src` gets the next id and goes straight to the ended flows (it
 * is not hashed, never matched by packets, never expires). Links, id and
 * packet records of src are ignored. Returns the table's copy, or NULL on
 * out of memory or when the table streams ended flows (keep_done = 0:
 * then on_end receives the copy and NULL is returned as well). */
nl_flow *flow_table_put(nl_flow_table *t, const nl_flow *src);

/* Expire flows idle at `now_ns` (called by flow_table_add as time goes). */
void flow_table_expire(nl_flow_table *t, uint64_t now_ns);

/* Iterate every flow (live and ended) in order of first packet.
 * The returned array is owned by the table, valid until the next
 * flow_table_add or flow_table_free. *n receives the count. */
nl_flow **flow_table_all(nl_flow_table *t, size_t *n);

typedef struct nl_flow_table_stats {
    uint64_t flows_total;    /* flows ever created */
    uint64_t flows_live;
    uint64_t evicted;        /* pushed out by max_flows */
    uint64_t timed_out;
    uint64_t non_ip;         /* frames without IP */
    uint64_t no_l4;          /* IP packets without a usable L4 header */
    uint64_t bytes_allocated;/* slab + table memory */
    uint64_t no_memory;      /* packets dropped because a new flow could not be allocated */
} nl_flow_table_stats;

void flow_table_stats(const nl_flow_table *t, nl_flow_table_stats *st);

#endif
