/* conn_zeek.h - Zeek's connection semantics, private to the analyzer:
 * TCP endpoint states, history letters, conn_state, role flips, reuse.
 *
 * flow_table.c calls these for every packet of a flow; they only touch the
 * nl_flow they are given (no allocation, no global state). `dir` is the
 * packet's direction relative to the flow's current originator. */
#ifndef NATLENS_CONN_ZEEK_H
#define NATLENS_CONN_ZEEK_H

#include "natlens/decode.h"
#include "natlens/flow.h"

/* For a packet that creates a new flow: 1 if Zeek would make the packet's
 * receiver the originator (e.g. a lone SYN-ACK, or a packet from a likely
 * server port to a client port), which sets f->flipped and history '^'. */
int conn_zeek_new_flow_flipped(const nl_packet *pkt);

/* Whether `pkt` (direction dir) on existing flow f starts a new connection
 * with the same 5-tuple (Zeek's IsReuse: a fresh SYN after the previous
 * connection closed or was reset). The table then ends f and makes a new one. */
int conn_zeek_is_reuse(const nl_flow *f, const nl_packet *pkt, int dir);

/* Update history, endpoint states, Zeek's byte counts (f->bytes) and
 * missed bytes for one packet. May swap the flow's roles (Zeek FlipRoles)
 * via flow_swap_roles(); returns the packet's direction after that.
 * Returns -1 if the packet must not be counted at all (bad checksum when
 * checksums are verified: history gets 'C'/'c' only). */
int conn_zeek_packet(nl_flow *f, const nl_packet *pkt, int dir);

/* Append a history letter following Zeek's rules (once per letter per
 * side; upper case for the originator). */
void conn_zeek_history(nl_flow *f, char letter, int dir);

#endif
