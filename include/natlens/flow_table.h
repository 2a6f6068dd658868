/* flow_table.h - pooled hash table of flows for one capture.
 *
 * Direction-independent key (the two endpoints ordered before hashing, as
 * Suricata does), a power-of-two bucket array, a seeded hash, everything
 * carved from pooled slabs: no malloc per packet. Live flows sit on an LRU
 * list; idle ones time out (Zeek's inactivity timeouts), and with max_flows
 * set the least recently used live flow is evicted when the cap is reached.
 * Ended flows stay readable (for output) until flow_table_free().
 *
 * Memory. A flow is its summary (nl_flow, 296 bytes) plus, while it is
 * live, a live block (Zeek's endpoint machine, hash and LRU links, about
 * 330 bytes) and its packet records in pooled chunks (88 bytes a record,
 * chunks of 1, 2, 4, 8, 16, 24). When a flow ends the live block goes back
 * to its pool and the records are kept (copied to their exact size) or
 * recycled as keep_policy says:
 *   NL_KEEP_ALL      every flow keeps its records;
 *   NL_KEEP_NEEDED   flows the findings need (handshakes that did not
 *                    complete, resets, retransmitted SYNs, ICMP errors, a
 *                    path that changes within the flow: flow_keep.c) keep
 *                    them, and the first NL_FLOW_SAMPLE_FLOWS other flows
 *                    that end as a sample; the rest keep only the summary;
 *   NL_KEEP_SUMMARY  no ended flow keeps records.
 * So memory is bounded by live flows x (summary + live block + keep_limit
 * records) + ended flows x summary + the records of the flows kept above
 * (for NEEDED at most NL_FLOW_SAMPLE_FLOWS x keep_limit x 88 bytes beyond
 * the flows the findings need). With max_flows set and keep_done = 0 ended
 * flows are recycled entirely, so memory is bounded by max_flows.
 */
#ifndef NATLENS_FLOW_TABLE_H
#define NATLENS_FLOW_TABLE_H

#include <stdint.h>
#include <stddef.h>
#include "natlens/decode.h"
#include "natlens/flow.h"
#include "natlens/server_ports.h"

typedef struct nl_flow_table nl_flow_table;

/* Which ended flows keep their packet records (see above). */
typedef enum nl_keep_policy {
    NL_KEEP_ALL = 0,
    NL_KEEP_NEEDED,
    NL_KEEP_SUMMARY
} nl_keep_policy;

/* Flows beyond those the findings need that keep their records under
 * NL_KEEP_NEEDED (the first ones to end): a sample of healthy flows for the
 * ladder views, at most this many x keep_limit x 88 bytes. */
#define NL_FLOW_SAMPLE_FLOWS 1000

typedef struct nl_flow_table_opts {
    uint32_t max_flows;      /* 0 = unlimited */
    int      keep_packets;   /* keep the first packet records of each flow */
    uint8_t  keep_limit;     /* how many (1..NL_FLOW_KEEP_PKTS); 0 = all of them */
    nl_keep_policy keep_policy; /* which ended flows keep them (default ALL) */
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
 * is not hashed, never matched by packets, never expires). The id of src
 * is ignored; its rare facts (src->ext, if any) are copied, and with
 * keep_packets its packet records (src->recs, src->nrecs; at most
 * keep_limit) are kept as keep_policy says for a flow that ended. src and
 * what it points to are only read during the call. Returns the table's
 * copy, or NULL on out of memory or when the table streams ended flows
 * (keep_done = 0: then on_end receives the copy, its records src's own,
 * and NULL is returned as well). */
nl_flow *flow_table_put(nl_flow_table *t, const nl_flow *src);

/* End of input: settle the packet records of every flow still live as
 * keep_policy says (as if it ended: NL_KEEP_SUMMARY keeps them, there are
 * at most max_flows such flows) and release all live state (live blocks,
 * the hash). The flows stay unended and readable. Afterwards the table
 * takes no packets (flow_table_add returns NULL). A streaming table
 * (keep_done = 0) keeps its live flows for flow_table_all(): no-op. */
void flow_table_finish(nl_flow_table *t);

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
    uint64_t removed;        /* ended when Zeek's close/attempt/DNS timer fell due */
    uint64_t non_ip;         /* frames without IP */
    uint64_t no_l4;          /* IP packets without a usable L4 header */
    uint64_t bytes_allocated;/* slab + table memory */
    uint64_t no_memory;      /* packets dropped because a new flow could not be allocated */
    uint64_t recs_kept;      /* ended flows that kept their packet records */
    uint64_t recs_sampled;   /* of those, kept as a sample (NL_KEEP_NEEDED) */
    uint64_t recs_dropped;   /* ended flows whose records were recycled */
    uint32_t max_flows;      /* the cap the table runs with (opts), 0 = none */
} nl_flow_table_stats;

void flow_table_stats(const nl_flow_table *t, nl_flow_table_stats *st);

#endif
