/* tunnel.h - tunnels and overlays in one capture: which UDP flows carry
 * encapsulated traffic (VXLAN, Geneve, GTP-U, Teredo, AYIYA, GRE-in-UDP),
 * which IP tunnels (IP-in-IP, GRE) a frame crossed, and the flows found
 * inside them, with Zeek's bookkeeping (tunnel_parents, tunnel changes).
 *
 * A frame is accounted layer by layer: the outermost packet goes to the
 * flow table like any other; when it opens as a tunnel the packet inside is
 * decoded from the same bytes and accounted too, up to max_depth
 * encapsulations. UDP tunnels are flows themselves (Zeek logs them, with
 * the inner flows naming them as tunnel_parents); IP tunnels are not.
 * Nothing is allocated per packet: tunnels and per-flow links grow with
 * the number of tunnels and of flows inside them.
 */
#ifndef NATLENS_TUNNEL_H
#define NATLENS_TUNNEL_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/decode.h"
#include "natlens/flow_table.h"

#define NL_TUN_MAX_DEPTH 4   /* Zeek's Tunnel::max_depth */
#define NL_TUN_PORTS     8   /* UDP ports per kind */
#define NL_TUN_PARENTS   6   /* Zeek: the first tunnel and 5 changes */
#define NL_TUN_CHANGES   5   /* Zeek's Tunnel::max_changes_per_connection */

/* Which UDP ports open which encapsulation, and how deep to go. */
typedef struct nl_tunnel_conf {
    uint16_t ports[NL_TUN_KINDS][NL_TUN_PORTS]; /* 0 ends a kind's list */
    uint8_t  max_depth;      /* encapsulations opened per frame (0: none) */
} nl_tunnel_conf;

/* Zeek's ports (VXLAN 4789 and Linux's 8472, Geneve 6081, GTP-U 2152 and
 * GTP-C 2123, Teredo 3544, AYIYA 5072, GRE-in-UDP 4754), depth 4. */
void tunnel_conf_default(nl_tunnel_conf *c);
/* Add "KIND=PORT" (e.g. "vxlan=4790"), KIND one of vxlan geneve gtpu
 * teredo ayiya gre. Returns 0, or -1 with a message in err (>= 128). */
int tunnel_conf_add_port(nl_tunnel_conf *c, const char *spec, char *err, size_t errlen);
/* The kind a UDP port opens, NL_TUN_NONE if none. */
int tunnel_conf_kind(const nl_tunnel_conf *c, uint16_t port);

/* One encapsulating connection (Zeek's EncapsulatingConn): a UDP flow of
 * the same capture, or an IP tunnel between two addresses. Tunnels nest:
 * `parent` is the tunnel this one was found inside. Owned by the table. */
typedef struct nl_tunnel {
    uint32_t id;             /* 1-based */
    uint32_t parent;         /* 0: outermost */
    uint32_t outer_flow;     /* UDP tunnels: id of the carrying flow; 0 for IP */
    uint8_t  kind;           /* NL_TUN_* */
    uint8_t  depth;          /* 1 = outermost */
    uint8_t  proto;          /* outer protocol: 17 UDP, 4/41 IP-in-IP, 47 GRE */
    nl_addr  src, dst;       /* UDP: the carrying flow's originator and responder
                              * when first seen; IP: the first packet's */
    uint16_t sport, dport;   /* 0 for IP tunnels */
    uint64_t packets;        /* packets that crossed it */
    uint64_t first_ns, last_ns;
    uint64_t key_ns, key_frame; /* the carrying flow's first packet (UDP), the
                              * tunnel's first packet (IP): with the tuple
                              * above, what names its connection */
    uint32_t hnext;          /* private: hash chain */
} nl_tunnel;

/* A flow's tunnel facts: as a flow found inside tunnels, and as a UDP flow
 * that carries one. Owned by the table; f->tunnel indexes it. */
typedef struct nl_tunnel_link {
    uint32_t cur;            /* tunnel its last packet came in, 0: none */
    uint32_t parents[NL_TUN_PARENTS]; /* innermost tunnels it came in, in
                              * order first seen (Zeek's tunnel_parents) */
    uint8_t  nparents;
    uint8_t  changes;        /* tunnel changes counted (Zeek's tunnel_changed) */
    uint8_t  carrier;        /* NL_TUN_* this flow carries, 0 none */
    uint8_t  violated;       /* bit (1 << kind): stopped opening it (Zeek's
                              * analyzer violation) */
    uint8_t  x_added;        /* Zeek's 'X' history letter was added */
    uint8_t  has_vni;
    uint8_t  hist_len;       /* private: history length after its last packet */
    uint32_t vni;            /* VNI / TEID / GRE key of its first encapsulated packet */
    uint32_t notes;          /* NL_ENC_* seen on its packets */
    uint64_t gwlb_eni, gwlb_attach;
    uint32_t gwlb_cookie;
    uint16_t teredo_port;
    uint8_t  teredo_ip[4];
    uint64_t carried;        /* packets opened from this flow (carriers) */
} nl_tunnel_link;

typedef struct nl_tunnel_stats {
    uint64_t frames;         /* frames with at least one encapsulation opened */
    uint64_t opened[NL_TUN_KINDS]; /* encapsulations opened, per kind */
    uint64_t malformed;      /* headers that broke their rules (counted once per frame) */
    uint64_t too_deep;       /* encapsulations left closed at max_depth */
    uint64_t untracked;      /* tunnels or links not kept (table full) */
    uint64_t frag_reassembled; /* fragmented tunnel datagrams put back together */
    uint64_t frag_incomplete;  /* ... that never completed (dropped, as Zeek does) */
    uint32_t tunnels, links;
} nl_tunnel_stats;

typedef struct nl_tunnel_table nl_tunnel_table;

/* conf NULL: tunnel_conf_default. max_entries caps tunnels and links each
 * (0: no cap); past it frames are still opened and accounted, only the
 * bookkeeping is skipped (counted as untracked). NULL on out of memory. */
nl_tunnel_table *tunnel_table_new(const nl_tunnel_conf *conf, uint32_t max_entries);
void tunnel_table_free(nl_tunnel_table *tt);

/* Account one decoded frame: `pkt` is its outermost packet, decoded from
 * `bytes` (the frame, valid during the call). Every packet in it goes to
 * `ft`. Returns the innermost flow (NULL when none); *malformed is set to 1
 * when an encapsulation inside was broken (never cleared). */
nl_flow *tunnel_frame_add(nl_tunnel_table *tt, nl_flow_table *ft, const nl_packet *pkt,
                          const uint8_t *bytes, int verify_csum, int *malformed);

/* Tunnel `id` (1-based), NULL when out of range. */
const nl_tunnel *tunnel_table_get(const nl_tunnel_table *tt, uint32_t id);
/* Fill `key` (zeroed first) with what names tunnel `id` as a connection:
 * protocol, addresses, ports, first packet's time and frame - the carrying
 * flow's for a UDP tunnel, the tunnel's own for IP-in-IP and GRE - so a
 * writer derives its uid (Zeek's tunnel_parents) the way it derives a
 * flow's. Returns 0, or -1 when id is unknown. */
int tunnel_table_parent_key(const nl_tunnel_table *tt, uint32_t id, nl_flow *key);
/* The flow's link, NULL when it never met a tunnel. */
const nl_tunnel_link *tunnel_table_link(const nl_tunnel_table *tt, const nl_flow *f);
void tunnel_table_stats(const nl_tunnel_table *tt, nl_tunnel_stats *st);

#endif
