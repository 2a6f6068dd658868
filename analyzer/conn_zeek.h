/* conn_zeek.h - Zeek's connection semantics, private to the analyzer:
 * TCP endpoint states, history letters, conn_state, role flips, reuse.
 *
 * flow_table.c calls these for every packet of a flow; they only touch the
 * nl_flow they are given (no allocation, no global state). `dir` is the
 * packet's direction relative to the flow's current originator.
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

/* For a packet that creates a new flow: 1 if Zeek would make the packet's
 * receiver the originator (e.g. a lone SYN-ACK, or a packet from a likely
 * server port to a client port), which sets f->flipped and history '^'.
 * sp: the likely server ports (NULL: Zeek's default set). */
int conn_zeek_new_flow_flipped(const nl_packet *pkt, const nl_server_ports *sp);

/* Whether `pkt` (direction dir) on existing flow f starts a new connection
 * with the same 5-tuple. TCP: Zeek's IsReuse (a SYN with a new ISN, or any
 * SYN once the connection closed or was reset), or a packet arriving after
 * Zeek's timers would have removed the connection (5 s after a completed
 * close, 5 s after an unanswered SYN). UDP: the DNS analyzer's 10 s idle
 * removal on ports 53/137/5353/5355. Meant to be called for every protocol
 * (returns 0 where Zeek has no such rule); the table then ends f and makes
 * a new one. Inactivity timeouts stay with the table. */
int conn_zeek_is_reuse(const nl_flow *f, const nl_packet *pkt, int dir);

/* Update history, endpoint states, Zeek's byte counts (f->bytes) and
 * missed bytes for one packet. May swap the flow's roles (Zeek FlipRoles)
 * via flow_swap_roles(); returns the packet's direction after that.
 * Returns -1 if the packet must not be counted at all (bad checksum when
 * checksums are verified: history gets 'C'/'c' only). */
int conn_zeek_packet(nl_flow *f, const nl_packet *pkt, int dir);

/* Append a history letter following Zeek's rules (once per letter per
 * side; upper case for the originator). '^' is always appended as is. */
void conn_zeek_history(nl_flow *f, char letter, int dir);

/* ---- shared between conn_zeek*.c only ---- */

/* Zeek's per-side "seen" bits (Connection::CheckHistory masks). */
enum {
    CZ_HIST_SYN = 0x01, CZ_HIST_FIN = 0x02, CZ_HIST_RST = 0x04,
    CZ_HIST_FIN_RST = 0x08, CZ_HIST_DATA = 0x10, CZ_HIST_ACK = 0x20,
    CZ_HIST_MULTI = 0x40
};

/* Connection::CheckHistory: 1 if the letter was already recorded for this
 * side, else records it (case by side) and returns 0. */
int conn_zeek_check(nl_flow *f, uint32_t mask, char letter, int dir);
/* Connection::AddHistory: append (case by side) unconditionally. */
void conn_zeek_add(nl_flow *f, char letter, int dir);
/* Connection::ScaledHistoryEntry: record at the 1st, 10th, 100th... event. */
void conn_zeek_scaled(nl_flow *f, char letter, int dir, uint32_t *cnt, uint32_t *thresh);
/* Zeek Connection::FlipRoles on a live flow: swap roles, keep the letters
 * already written (Zeek does not re-case them), append '^'. */
void conn_zeek_flip(nl_flow *f);
/* Whether a port is in Zeek's default likely_server_ports. */
int conn_zeek_likely_server_port(uint8_t proto, uint16_t port);

/* The TCP analyzer (conn_zeek_tcp.c): same contract as conn_zeek_packet. */
int conn_zeek_tcp_packet(nl_flow *f, const nl_packet *pkt, int dir);
/* Zeek TCP_Endpoint::Size() of side dir. */
uint64_t conn_zeek_tcp_size(const nl_flow *f, int dir);

#endif
