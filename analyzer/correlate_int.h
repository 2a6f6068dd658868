/* correlate_int.h - internals shared by correlate*.c, clock.c, egress*.c.
 * Not installed; nothing outside those files includes it. */
#ifndef NATLENS_CORRELATE_INT_H
#define NATLENS_CORRELATE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/correlate.h"

/* ---- keys (correlate_keys.c) ------------------------------------------ */

/* Key kinds. The kind sits in the top byte of a 64-bit key. Keys do not
 * name a direction: an ISN key matches the other side's ISN whichever
 * direction it was in, so a flipped flow still finds its twin. */
enum {
    CK_ISN = 1, CK_TSVAL, CK_DATA, CK_ICMP, CK_TUPLE, CK_DST, CK_KINDS
};
#define CK_MAX_PER_FLOW 10

typedef struct corr_key {
    uint64_t key;
    uint64_t t;          /* the flow's first_ns (sort order inside a key) */
    uint32_t idx;        /* flow position in its input */
} corr_key;

typedef struct corr_index {
    corr_key *k;
    size_t    n;
} corr_index;

/* Keys of one flow into keys[] (CK_MAX_PER_FLOW). Returns how many. */
size_t corr_keys_of(const nl_flow *f, uint64_t *keys);
static inline int corr_key_kind(uint64_t key) { return (int)(key >> 56); }
/* Index every key of every flow, sorted by (key, t). -1 on out of memory. */
int corr_index_build(corr_index *ix, nl_flow *const *flows, size_t n);
void corr_index_free(corr_index *ix);
/* [*lo, *lo + return) is the run of `key`. */
size_t corr_index_find(const corr_index *ix, uint64_t key, size_t *lo);
/* Inside the run [lo, lo+n): first position with t >= t0. */
size_t corr_index_time_lower(const corr_index *ix, size_t lo, size_t n,
                             uint64_t t0);
/* Key values used by the scorer to look up rarity. */
uint64_t corr_key_make(int kind, uint64_t value);
uint64_t corr_key_data(uint32_t hash, uint16_t len);

/* ---- scoring (correlate_score.c) -------------------------------------- */

typedef struct corr_ctx {
    const corr_index *nix, *fix;  /* near and far key indexes (rarity) */
    int      have_offset;
    int64_t  off_ns;              /* far clock - near clock */
    double   spread_s;
    double   max_skew_s;
} corr_ctx;

/* A near flow's keys with how many flows carry each (the busier side):
 * computed once per near flow so scoring never searches the indexes. */
typedef struct corr_rarity {
    uint64_t key[CK_MAX_PER_FLOW];
    uint32_t count[CK_MAX_PER_FLOW];   /* max(near, far) flows with the key */
    uint32_t count_min[CK_MAX_PER_FLOW]; /* min(near, far) */
    uint32_t far_lo[CK_MAX_PER_FLOW];  /* the key's run in the far index */
    uint32_t far_cnt[CK_MAX_PER_FLOW];
    size_t   n;
} corr_rarity;

/* Fill rr[0..n) for the near flows from both indexes in one merge pass
 * over the two sorted arrays (no binary search per key: at 100k flows a
 * side the searches' cache misses cost seconds). */
void corr_rarity_build(const corr_ctx *cx, nl_flow *const *flows, size_t n,
                       corr_rarity *rr);

typedef struct corr_score {
    double   score;
    uint32_t evidence;
    uint8_t  flip;
    double   dt_s;                /* far start - near start - offset */
} corr_score;

/* Best orientation's score of near flow n against far flow f; rr is n's
 * rarity table (NULL: looked up in the indexes).
 * Returns 0 when they cannot be the same connection (protocol differs). */
int corr_score_pair(const corr_ctx *cx, const nl_flow *n, const corr_rarity *rr,
                    const nl_flow *f, corr_score *out);
/* Translation bits and port flags of a match from its flows. */
void corr_classify(nl_match *m);
/* The same for any two flows: translation bits from n to f (f's
 * orientation flipped when flip), port flags optional. */
uint8_t corr_translation(const nl_flow *n, const nl_flow *f, int flip,
                         uint8_t *sport_changed, uint8_t *dport_changed);
double corr_confidence(double score, uint32_t evidence);

/* ---- packet pairing (correlate_pkts.c) -------------------------------- */

/* Per-match results of pairing kept packet records. d[dir] receive
 * far_ts - near_ts in ns for each paired record of near direction dir
 * (arrays of NL_FLOW_KEEP_PKTS). */
typedef struct corr_pkt_pairs {
    int64_t  d[2][NL_FLOW_KEEP_PKTS];
    size_t   n[2];
} corr_pkt_pairs;

/* Fill m->seq_offset, has_seq_offset, lost, paired_pkts; samples into pp. */
void corr_pkts_pair(nl_match *m, corr_pkt_pairs *pp);

/* ---- clock (clock.c) -------------------------------------------------- */

typedef struct clock_samples {
    int64_t *v[2];               /* [0] near->far direction, [1] far->near */
    size_t   n[2], cap[2];
    int      oom;
} clock_samples;

void clock_samples_init(clock_samples *s);
void clock_samples_free(clock_samples *s);
/* Add one match's per-direction samples. The direction with the larger
 * median travelled near -> far (latency adds to it). */
void clock_samples_add_match(clock_samples *s, const corr_pkt_pairs *pp);
/* Median/MAD estimate into out (from/to left as they are). */
void clock_estimate(const clock_samples *s, nl_clock_offset *out);
/* Median of v[0..n) (reorders v). n > 0. */
int64_t clock_median(int64_t *v, size_t n);

/* ---- one adjacent pair (correlate_pair.c) ----------------------------- */

typedef struct corr_vec {        /* growing array of matches */
    nl_match *m;
    size_t    n, cap;
} corr_vec;

/* Correlate near (capture ni) with far (ni + 1): append matches to out,
 * fill *off. -1 on out of memory. */
int corr_pair_run(const nl_corr_input *near, const nl_corr_input *far, int ni,
                  const nl_correlate_opts *o, corr_vec *out,
                  nl_clock_offset *off);

/* Twins inside one capture (both legs of a NAT): twin[i] = 2 * position
 * of flow i's other leg + 1 if their orientations are flipped, or -1.
 * Returns -1 on out of memory. */
int corr_twins_run(const nl_corr_input *in, const nl_correlate_opts *o,
                   int32_t *twin);

/* ---- chains and unmatched (correlate_chain.c) ------------------------- */

int corr_chains_build(nl_correlation *c);
int corr_unmatched_build(nl_correlation *c);

/* ---- egress (egress.c, egress_changes.c) ------------------------------ */

int egress_build(nl_correlation *c);
int egress_changes_build(nl_correlation *c);

/* The capture-0 endpoint of a chain as (inner, dest) and the farthest
 * capture's source address: 0 if the chain cannot say. */
int egress_chain_view(const nl_correlation *c, const nl_chain *ch,
                      nl_addr *inner, nl_addr *dest, uint16_t *dport,
                      uint8_t *proto, nl_addr *egress_ip, int *seen_at);

#endif
