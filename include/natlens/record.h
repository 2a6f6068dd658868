/* record.h - what a record (not a packet) says about a flow.
 *
 * A record file (conntrack, Cloud NAT log, flow log, Zeek conn.log; see
 * reader.h) becomes flows like a capture does. A record that carries a NAT
 * mapping (conntrack original/reply tuples that differ, Cloud NAT
 * src/dest + nat_ip/nat_port, a flow log whose pkt-srcaddr differs from
 * srcaddr) becomes TWO flows, the legs:
 *   inner leg  as the inner host sent it   (10.0.0.2:4242 -> 198.51.100.25:25)
 *   outer leg  as the destination saw it   (203.0.113.7:61002 -> 198.51.100.25:25,
 *              with the DNAT target from the reply tuple where one shows)
 * linked both ways by other_leg. A record without a mapping is one flow.
 *
 * Facts a record holds that nl_flow cannot (which side it describes, what
 * it pins, how coarse its times are, accept/reject, NAT status, conntrack
 * flags, source line, names of gateway / VM / interface / reporter) live in
 * one nl_record_info per record flow, owned by the trace (t->records) and
 * looked up with record_info_of(). Packet flows have none (NULL).
 *
 * A capture may carry records too: natlens-capture --conntrack writes the
 * namespace's conntrack events into the pcapng file (one Custom Block each,
 * ctev.h), and trace_load() reads them in the same pass as the packets
 * (record_capture_*() below). Their record flows are put after the packet
 * flows of the same trace (t->is_record stays 0), so record_info_of()
 * tells the two kinds apart (ids are compared with the set's first_id)
 * and record flows never take part in packet matching. Their `line` is the
 * frame number (as Wireshark numbers) of the entry's first event block.
 *
 * Fields a record cannot know stay zero/empty and `pins` says what it did
 * pin: a flow log gives no TCP state, a Cloud NAT log no counts, conntrack
 * without accounting no counts; presenters print what is pinned only.
 */
#ifndef NATLENS_RECORD_H
#define NATLENS_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/flow.h"

struct nl_trace;
struct nl_record_set;   /* owned by the trace (record.c) */

/* nl_record_info.side: where on the path the record saw the flow. */
typedef enum nl_record_side {
    NL_REC_SIDE_UNKNOWN = 0,   /* a sensor somewhere (Zeek conn.log) */
    NL_REC_SIDE_INNER,         /* as the inner host sent it (before SNAT) */
    NL_REC_SIDE_OUTER          /* as the destination saw it (after SNAT/DNAT) */
} nl_record_side;

/* nl_record_info.pins: what the record pins down (bit set). */
enum {
    NL_REC_PIN_ADDRS   = 1u << 0,  /* both addresses */
    NL_REC_PIN_PORTS   = 1u << 1,  /* both ports (ICMP echo: the id) */
    NL_REC_PIN_NAT     = 1u << 2,  /* the NAT mapping itself (both legs known) */
    NL_REC_PIN_PKTS    = 1u << 3,  /* packet counts (pkts[]) */
    NL_REC_PIN_BYTES   = 1u << 4,  /* IP byte counts (ip_bytes[]) */
    NL_REC_PIN_PAYLOAD = 1u << 5,  /* payload byte counts (bytes[]) */
    NL_REC_PIN_FLAGS   = 1u << 6,  /* TCP flags seen (tcp_flags[]) */
    NL_REC_PIN_TIMES   = 1u << 7,  /* first_ns / last_ns (at `granularity_ms`) */
    NL_REC_PIN_STATE   = 1u << 8,  /* conn_state / history (Zeek) */
    NL_REC_PIN_RESP    = 1u << 9   /* the responder direction's counts too */
};

/* nl_record_info.action (flow logs). */
typedef enum nl_record_action {
    NL_REC_ACTION_NONE = 0, NL_REC_ACTION_ACCEPT, NL_REC_ACTION_REJECT
} nl_record_action;

/* nl_record_info.nat_status (Cloud NAT allocation_status). */
typedef enum nl_record_nat_status {
    NL_REC_NAT_NONE = 0,          /* the record says nothing about it */
    NL_REC_NAT_OK,
    NL_REC_NAT_DROPPED,           /* no NAT port was available: packet dropped */
    NL_REC_NAT_OUT_OF_RESOURCES,
    NL_REC_NAT_OTHER              /* another non-OK value: nat_status_text */
} nl_record_nat_status;

/* nl_record_info.ct_flags (conntrack). */
enum {
    NL_REC_CT_UNREPLIED = 1u << 0, /* last record of the entry: [UNREPLIED] */
    NL_REC_CT_ASSURED   = 1u << 1, /* [ASSURED] seen */
    NL_REC_CT_NEW       = 1u << 2, /* a NEW event was seen (start time exact) */
    NL_REC_CT_DESTROYED = 1u << 3, /* a DESTROY event was seen (end time exact) */
    NL_REC_CT_LISTED    = 1u << 4, /* seen in a table listing (conntrack -L) */
    NL_REC_CT_MARK      = 1u << 5, /* ct_mark holds the entry's mark */
    NL_REC_CT_ZONE      = 1u << 6  /* ct_zone holds the entry's zone */
};

typedef struct nl_record_info {
    uint32_t other_leg;        /* flow id of the other leg, 0 none */
    uint8_t  side;             /* nl_record_side */
    uint8_t  action;           /* nl_record_action */
    uint8_t  nat_status;       /* nl_record_nat_status */
    uint8_t  ct_flags;         /* NL_REC_CT_* */
    uint16_t pins;             /* NL_REC_PIN_* */
    uint8_t  tcp_flags[2];     /* OR of TCP flags per direction (NL_TH_*), with PIN_FLAGS */
    uint8_t  reject_dirs;      /* REJECT seen: bit 0 originator's direction, bit 1 the reply's */
    uint32_t granularity_ms;   /* how coarse first/last are: 0 exact (µs), 1000 = 1 s,
                                  60000 = a 1-minute aggregation interval */
    uint32_t nrecords;         /* record lines merged into this flow (>= 1) */
    uint64_t line;             /* line (or entry number) of the first record, 1-based */
    uint64_t ct_id;            /* conntrack id, 0 if none */
    uint32_t ct_mark;          /* with NL_REC_CT_MARK */
    uint16_t ct_zone;          /* with NL_REC_CT_ZONE */
    /* Names, interned in the trace (valid while it lives), NULL if the
     * record has none. Raw file text: escape before printing. */
    const char *gateway;       /* Cloud NAT gateway_name */
    const char *router;        /* Cloud NAT router_name */
    const char *region;        /* cloud region (Cloud NAT gateway_identifiers.region) */
    const char *vm;            /* VM name (Cloud NAT endpoint.vm_name, GCP instance) */
    const char *interface;     /* AWS interface-id, Azure MAC / NIC, GCP vpc/subnet */
    const char *reporter;      /* GCP reporter (SRC/DEST), AWS flow-direction, Zeek uid */
    const char *community_id;  /* as the record gives it (Zeek) */
    const char *state;         /* conntrack state, flow state (Azure B/C/E/D), log-status */
    const char *nat_status_text; /* allocation_status as written when not OK */
} nl_record_info;

/* The record facts of flow f of trace t, or NULL when f is a packet flow
 * (or t holds no records). The pointer lives as long as t. */
const nl_record_info *record_info_of(const struct nl_trace *t, const nl_flow *f);

/* The other leg of record flow f of trace t (a NAT entry's outer leg for
 * its inner one and back), or NULL. Both legs come from one entry: the
 * same start, side by side in flow_table_all()'s order of first packet,
 * so a binary search and a bounded look (64 flows) find it. */
const nl_flow *record_other_leg(struct nl_trace *t, const nl_flow *f);

/* How many record flows t holds (0 for a plain capture). */
size_t record_count(const struct nl_trace *t);

/* Names for output: "inner", "outer", "unknown"; "accept", "reject", NULL
 * (none); "OK", "DROPPED", "OUT_OF_RESOURCES", the text, NULL (none). */
const char *record_side_name(uint8_t side);
const char *record_action_name(uint8_t action);
const char *record_nat_status_name(const nl_record_info *ri);

/* Free what t->records owns (called by trace_free). NULL is fine. */
void record_set_free(struct nl_record_set *rs);

/* ---- records inside a capture (record_capture.c) ------------------------ */

/* What a capture's conntrack blocks said (zeros when it has none). */
typedef struct nl_record_capture_stats {
    int      listener;     /* natlens-capture --conntrack ran (START/END block) */
    uint8_t  tstamp;       /* nf_conntrack_timestamp at start: 0 off, 1 on,
                              2 turned on by natlens-capture, 255 unknown */
    uint64_t events;       /* event blocks read */
    uint64_t losses;       /* LOSS blocks: the kernel dropped events there */
    uint64_t bad_blocks;   /* blocks skipped (damaged, unknown version) */
} nl_record_capture_stats;

/* The stats of trace t (zeroed when it holds none). */
void record_capture_stats(const struct nl_trace *t, nl_record_capture_stats *st);

/* Collecting the conntrack event blocks of capture t while it is read:
 * record_capture_new() before the first packet; record_capture_block() is
 * the source's custom block callback (source.h: nl_source_custom_fn, ctx =
 * the collector); record_capture_finish() after the last packet puts the
 * record flows after the packet flows, adds what went wrong to
 * t->warning, and frees the collector. new() returns NULL when out of
 * memory (then nothing is collected; block() and finish() take NULL).
 * finish() returns 0, or -1 when the record flows could not be made. */
typedef struct nl_record_capture nl_record_capture;
nl_record_capture *record_capture_new(struct nl_trace *t);
void record_capture_block(void *ctx, uint32_t type, const uint8_t *data, size_t n, int swap,
                          uint64_t off, uint64_t frame);
int record_capture_finish(nl_record_capture *c);

#endif
