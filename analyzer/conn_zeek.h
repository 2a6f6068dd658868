/* conn_zeek.h - Zeek's connection semantics, private to the analyzer:
 * TCP endpoint states, history letters, conn_state, role flips, reuse.
 *
 * flow_table.c calls these for every packet of a flow; they only touch the
 * nl_flow and the cz_conn they are given (no allocation, no global state).
 * `dir` is the packet's direction relative to the flow's current originator.
 *
 * The model is Zeek's default configuration (no -b): likely_server_ports is
 * the union of the ports the base protocol scripts register, checksums are
 * only judged when the packet carries NL_PKT_BAD_CSUM (i.e. when the caller
 * verified them, Zeek without -C). */
#ifndef NATLENS_CONN_ZEEK_H
#define NATLENS_CONN_ZEEK_H

#include "natlens/decode.h"
#include "natlens/flow.h"
#include "natlens/server_ports.h"

/* Zeek's TCP_Endpoint bookkeeping for one side of a live flow (the state
 * itself is public: nl_flow.ep[dir].state). Sequence numbers are Zeek's:
 * start/last/ack with wrap counters; *_rel values are relative to
 * start_seq. Indexed like the flow's directions, swapped on a role flip. */
typedef struct cz_endpoint {
    uint32_t start_seq, last_seq, ack_seq;
    uint32_t seq_wraps, ack_wraps;
    uint32_t rxmit_cnt, zw_cnt, gap_cnt, badck_cnt;
    uint8_t  rxmit_thresh, zw_thresh, gap_thresh, badck_thresh; /* levels, conn_zeek_scaled */
    uint8_t  prev_state;
    uint8_t  did_close;      /* ConnectionClosed() ran for this side */
    uint8_t  first_seen;     /* this side's first packet was processed */
    uint8_t  fin_cnt;        /* FINs seen, saturating */
    uint8_t  has_pend;       /* an out-of-order block is buffered */
    uint64_t fin_seq_rel;    /* relative seq just past the FIN */
    uint64_t hist_last_syn, hist_last_fin, hist_last_rst;
    uint64_t reassem_top;    /* relative seq up to which data is contiguous */
    uint64_t pend_lo, pend_hi; /* one buffered out-of-order block */
} cz_endpoint;

/* Zeek's per-connection state of a live flow: both endpoints and the
 * connection-wide facts. Owned by the flow table's live block, zeroed when
 * the flow is created, gone when it ends (nothing here is needed after:
 * history, states and byte counts are in the nl_flow). UDP and other
 * protocols use badck_* only. */
typedef struct cz_conn {
    cz_endpoint ep[2];
    uint64_t close_ns;       /* close completed (Zeek deletes 5 s later), 0 = no */
    uint64_t attempt_ns;     /* first SYN of an attempt (5 s attempt timer) */
    uint8_t  hist_seen[2];   /* CZ_HIST_* bits already recorded, per side */
    uint8_t  is_partial;     /* Zeek's is_partial (connection-wide) */
} cz_conn;

/* For a packet that creates a new flow: 1 if Zeek would make the packet's
 * receiver the originator (e.g. a lone SYN-ACK, or a packet from a likely
 * server port to a client port). The table then swaps the new flow's
 * roles and writes history '^' (conn_zeek_history).
 * sp: the likely server ports (NULL: Zeek's default set). */
int conn_zeek_new_flow_flipped(const nl_packet *pkt, const nl_server_ports *sp);

/* Whether `pkt` (direction dir) on existing flow f (Zeek state z) starts a
 * new connection with the same 5-tuple. TCP: Zeek's IsReuse (a SYN with a
 * new ISN, or any SYN once the connection closed or was reset), or a
 * packet arriving after Zeek's timers would have removed the connection
 * (5 s after a completed close, 5 s after an unanswered SYN). UDP: the DNS
 * analyzer's 10 s idle removal on ports 53/137/5353/5355. Meant to be
 * called for every protocol (returns 0 where Zeek has no such rule); the
 * table then ends f and makes a new one. Inactivity timeouts stay with the
 * table. */
int conn_zeek_is_reuse(const nl_flow *f, const cz_conn *z, const nl_packet *pkt, int dir);

/* Whether Zeek's timers would have removed the connection by time `ts`
 * (the same test conn_zeek_is_reuse() makes for a packet at ts: TCP close
 * and attempt timers, the "nothing happened" expiry, DNS idle removal). */
int conn_zeek_removed(const nl_flow *f, const cz_conn *z, uint64_t ts);

/* The earliest time at which conn_zeek_removed() can become true for the
 * flow as it is now - its armed close, attempt or DNS timer - or 0 when
 * none is armed (the 11 s expiry of a connection where nothing happened is
 * left to conn_zeek_is_reuse). Packets may arm, move or cancel a timer, so
 * a caller re-asks after each one and re-tests with conn_zeek_removed()
 * when the time comes. */
uint64_t conn_zeek_removal_due(const nl_flow *f, const cz_conn *z);

/* Update history, endpoint states, byte counts (UDP, ICMP: f->bytes) and
 * missed bytes for one packet. May swap the flow's roles (Zeek FlipRoles,
 * f and z together); returns the packet's direction after that. TCP's
 * f->bytes (Zeek's Size()) follow from z alone: conn_zeek_settle() writes
 * them, once, before anyone reads the flow.
 * Returns -1 if the packet must not be counted at all (bad checksum when
 * checksums are verified: history gets 'C'/'c' only). */
int conn_zeek_packet(nl_flow *f, cz_conn *z, const nl_packet *pkt, int dir);

/* Write what the summary takes from Zeek's state: TCP's f->bytes (orig_
 * and resp_bytes, TCP_Endpoint::Size() of each side). Call it before f is
 * read (it ended, the input ended, or it is listed live); calling it again
 * is harmless. */
void conn_zeek_settle(nl_flow *f, const cz_conn *z);

/* Append a history letter following Zeek's rules (once per letter per
 * side; upper case for the originator). '^' is always appended as is. */
void conn_zeek_history(nl_flow *f, cz_conn *z, char letter, int dir);

/* ---- shared between conn_zeek*.c only ---- */

/* Zeek's per-side "seen" bits (Connection::CheckHistory masks). */
enum {
    CZ_HIST_SYN = 0x01, CZ_HIST_FIN = 0x02, CZ_HIST_RST = 0x04,
    CZ_HIST_FIN_RST = 0x08, CZ_HIST_DATA = 0x10, CZ_HIST_ACK = 0x20,
    CZ_HIST_MULTI = 0x40
};

/* Connection::CheckHistory: 1 if the letter was already recorded for this
 * side, else records it (case by side) and returns 0. */
int conn_zeek_check(nl_flow *f, cz_conn *z, uint32_t mask, char letter, int dir);
/* Connection::AddHistory: append (case by side) unconditionally. */
void conn_zeek_add(nl_flow *f, char letter, int dir);
/* Connection::ScaledHistoryEntry: record at the 1st, 10th, 100th... event
 * (*level: the threshold reached so far, 0 before the first event). */
void conn_zeek_scaled(nl_flow *f, char letter, int dir, uint32_t *cnt, uint8_t *level);
/* Zeek Connection::FlipRoles on a live flow: swap roles (f and z), keep
 * the letters already written and their seen bits (Zeek does not re-case
 * them), append '^'. */
void conn_zeek_flip(nl_flow *f, cz_conn *z);
/* Whether a port is in Zeek's default likely_server_ports. */
int conn_zeek_likely_server_port(uint8_t proto, uint16_t port);

/* The TCP analyzer (conn_zeek_tcp.c): same contract as conn_zeek_packet. */
int conn_zeek_tcp_packet(nl_flow *f, cz_conn *z, const nl_packet *pkt, int dir);
/* Zeek TCP_Endpoint::Size() of side dir. */
uint64_t conn_zeek_tcp_size(const nl_flow *f, const cz_conn *z, int dir);

#endif
