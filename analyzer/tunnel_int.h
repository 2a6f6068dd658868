/* tunnel_int.h - private to tunnel_table.c and tunnel_frame.c. */
#ifndef NATLENS_TUNNEL_INT_H
#define NATLENS_TUNNEL_INT_H

#include "natlens/tunnel.h"

typedef struct tunnel_frag tunnel_frag;

struct nl_tunnel_table {
    nl_tunnel_conf conf;
    uint32_t max_entries;      /* cap on tunnels and on links, 0 = none */
    nl_tunnel *tun;            /* tunnels by id - 1 */
    uint32_t ntun, cap;        /* cap: entries allocated = buckets (power of 2) */
    uint32_t *bkt;             /* hash buckets: first tunnel id, 0 = empty */
    nl_tunnel_link *links;     /* by f->tunnel - 1 */
    uint32_t nlinks, cap_links;
    tunnel_frag *frag;         /* reassembly slots (tunnel_frag.c), NULL until needed */
    uint64_t frag_dropped;     /* datagrams given up (evicted, timed out, hostile) */
    nl_tunnel_stats st;
};

/* The tunnel for (parent, carrying UDP flow) or, with carrier NULL, for
 * (parent, outer->src/dst in either order); made on first sight with kind
 * and outer's facts. 0 when the table is full or out of memory. */
uint32_t tunnel_table_intern(nl_tunnel_table *tt, uint32_t parent, int kind,
                             const nl_flow *carrier, const nl_packet *outer);
/* f's link, made when it has none (f->tunnel set). NULL when full. */
nl_tunnel_link *tunnel_table_link_of(nl_tunnel_table *tt, nl_flow *f);

/* IPv4 fragments of tunnel traffic (tunnel_frag.c). Returns -1 when p is
 * not for the reassembler (account it as it is), 0 when it was kept (or
 * dropped, counted), 1 when it completed a datagram: *out is the whole
 * datagram decoded from *out_bytes (valid until the next call). */
int tunnel_frag_add(nl_tunnel_table *tt, const nl_packet *p, const uint8_t *b,
                    nl_packet *out, const uint8_t **out_bytes, int verify_csum);
/* Datagrams still waiting for fragments. */
uint32_t tunnel_frag_pending(const nl_tunnel_table *tt);
void tunnel_frag_free(nl_tunnel_table *tt);

#endif
