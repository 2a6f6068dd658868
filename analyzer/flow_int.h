/* flow_int.h - private to the flow table: its structure (flow_table.c),
 * a live flow's first values and packet records (flow_record.c), item
 * pools (flow_pool.c) and the decision which settled flows keep their
 * records (flow_keep.c).
 */
#ifndef NATLENS_FLOW_INT_H
#define NATLENS_FLOW_INT_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/flow.h"
#include "natlens/flow_table.h"
#include "conn_zeek.h"

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

/* ---- the table (flow_table.c) ---- */

/* Record chunks grow through these sizes (a flow moves to the next one
 * when its chunk is full), capped at keep_limit: a one-packet flow holds
 * one record, not keep_limit. */
#define FT_NCLASS   6       /* 1, 2, 4, 8, 16, NL_FLOW_KEEP_PKTS */
#define FT_NO_CLASS 0xff

/* Zeek's removal timers fall due at most 11 s ahead; a wheel of 64 one-
 * second slots holds them (a due time beyond it waits in the last slot
 * and is placed again). Expiry runs every second of capture time. */
#define FT_WHEEL 64u

typedef struct ft_live {
    struct ft_live *hnext;    /* hash chain */
    struct ft_live *lprev, *lnext; /* LRU of live flows */
    struct ft_live *tprev, *tnext; /* timer wheel slot (in_timer) */
    nl_flow  *f;
    uint64_t  due;            /* in the timer list: when Zeek may remove it */
    uint32_t  hash;
    uint8_t   rclass;         /* class of f->recs, FT_NO_CLASS if none */
    uint8_t   in_timer;       /* 1 + its wheel slot, 0 if none */
    uint8_t   kfacts;         /* FK_* of its records (flow_keep_note) */
    cz_conn   z;              /* Zeek's state of the connection */
} ft_live;

/* live flows, least recently used first: one list per timeout class so the
 * head of each list is always the next one to expire */
enum { LRU_TCP = 0, LRU_OTHER = 1, LRU_N = 2 };

struct nl_flow_table {
    nl_flow_table_opts opts;
    ft_live **bkt;
    uint32_t  nbkt;           /* power of two */
    uint32_t  seed;
    ft_pool   flows;          /* nl_flow summaries */
    ft_pool   lives;          /* ft_live blocks */
    ft_pool   exts;           /* nl_flow_ext */
    ft_pool   recs[FT_NCLASS];/* record chunks by class */
    uint8_t   rcap[FT_NCLASS];/* records per chunk of each class */
    uint8_t   nclass;         /* classes in use (the last holds keep_limit) */
    ft_arena  kept;           /* records of ended flows, exact size */
    ft_live  *lru_head[LRU_N], *lru_tail[LRU_N];
    /* flows with an armed Zeek removal timer, by the second it falls due */
    ft_live  *wheel[FT_WHEEL];
    uint64_t  wheel_sec;      /* first second not yet fully processed */
    nl_flow **all;            /* every flow kept for output, by id */
    size_t    nall, cap_all;
    uint32_t  next_id;
    uint64_t  last_expire_ns;
    int       finished;       /* flow_table_finish() ran */
    nl_flow_table_stats st;
};


/* ---- flow_record.c ---- */

/* Set up the record chunk pools for keep_limit (t->opts). */
void flow_record_classes(nl_flow_table *t);
/* A counted packet of live flow f in direction dir: the per-direction first
 * values (signature, TTL, MAC, ifindex) and, with keep_packets, a record.
 * b: the frame, may be NULL. */
void flow_record_packet(nl_flow_table *t, nl_flow *f, ft_live *l, const nl_packet *p,
                        const uint8_t *b, int dir);
/* A settled flow's records (it ended, or the input did, `last`): kept or
 * recycled as keep_policy says. */
void flow_record_settle(nl_flow_table *t, nl_flow *f, ft_live *l, int last);
/* The records of a flow that comes from a record (flow_table_put): the
 * first n of recs (read, never kept), kept as keep_policy says for a flow
 * that ended, copied to their exact size. */
void flow_record_put(nl_flow_table *t, nl_flow *f, const nl_pkt_rec *recs, unsigned n);
/* Give f's record chunk back (not touched when `last`: nothing takes one
 * again), f keeps none. l may be NULL (a flow that never was live). */
void flow_record_release(nl_flow_table *t, nl_flow *f, ft_live *l, int last);

#endif
