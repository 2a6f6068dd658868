/* flow_int.h - private to the flow table (flow_table.c): item pools and
 * the decision which ended flows keep their packet records.
 */
#ifndef NATLENS_FLOW_INT_H
#define NATLENS_FLOW_INT_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/flow.h"

/* ---- flow_pool.c: fixed-size items carved from slabs -----------------
 *
 * Items come from slabs of about FT_POOL_SLAB bytes (never fewer than one
 * item); a freed item goes on a free list and is handed out again before
 * any new slab is made, so the hot path allocates only when the number of
 * items in use reaches a new high. Slabs are returned to malloc only by
 * ft_pool_destroy(). `bytes` (may be NULL) is increased by every slab's
 * size, for the table's statistics. */
#define FT_POOL_SLAB (256u * 1024u)

typedef struct ft_pool {
    size_t    isz;           /* item size, a multiple of 8, >= sizeof(void *) */
    size_t    per_slab;
    void     *slabs;         /* singly linked through each slab's first word */
    char     *cur;           /* next unused item of the newest slab */
    size_t    left;          /* unused items there */
    void     *free;          /* freed items, linked through their first word */
    uint64_t *bytes;
} ft_pool;

/* Set up an empty pool for items of `isz` bytes (rounded up to 8). */
void ft_pool_init(ft_pool *p, size_t isz, uint64_t *bytes);
/* An item (contents undefined), or NULL when out of memory. */
void *ft_pool_get(ft_pool *p);
/* Give an item back; it must come from this pool. */
void ft_pool_put(ft_pool *p, void *item);
/* Free every slab; items handed out become invalid. */
void ft_pool_destroy(ft_pool *p);

/* An append-only arena for packet records of ended flows: exact sizes,
 * nothing is freed before ft_arena_destroy(). */
typedef struct ft_arena {
    void     *blocks;        /* linked through each block's first word */
    char     *cur;
    size_t    left;          /* bytes */
    uint64_t *bytes;
} ft_arena;

void ft_arena_init(ft_arena *a, uint64_t *bytes);
/* n records' room (n >= 1, n <= NL_FLOW_KEEP_PKTS), or NULL out of memory. */
nl_pkt_rec *ft_arena_recs(ft_arena *a, size_t n);
void ft_arena_destroy(ft_arena *a);

/* ---- flow_keep.c ---- */

/* What a live flow's packet records show, gathered as each is written
 * (flow_keep_note) so that the decision never reads them back. */
enum {
    FK_RST     = 0x01,   /* a record with RST */
    FK_SYN     = 0x02,   /* the originator's SYN (no ACK) */
    FK_DONE    = 0x04,   /* ... and after it the originator's ACK: completed */
    FK_ANY_SYN = 0x08,   /* any record with SYN */
    FK_PATHS   = 0x10    /* a record on another interface or MAC pair than the first */
};

/* facts updated with record r (first: the flow's first record, may be r). */
unsigned flow_keep_note(unsigned facts, const nl_pkt_rec *first, const nl_pkt_rec *r);

/* Whether the findings of a capture (diagnose_single.c, diagnose_stray.c)
 * could read more from this settled flow's packet records (`facts`, from
 * flow_keep_note) than from its summary: 0 only for a clean flow - TCP
 * with a handshake completed through this point or a TCP flow seen only
 * mid-way, no reset, no SYN or SYN-ACK sent twice, one interface and one
 * MAC pair throughout, no ICMP error quoting it; UDP and other flows no
 * ICMP error quoted; ICMP echo. */
int flow_keep_needed(const nl_flow *f, unsigned facts);

#endif
