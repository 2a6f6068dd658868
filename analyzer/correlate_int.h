/* correlate_int.h - internals shared by correlate*.c, clock.c, egress*.c.
 * Not installed; nothing outside those files includes it. */
#ifndef NATLENS_CORRELATE_INT_H
#define NATLENS_CORRELATE_INT_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/correlate.h"

/* Saturating arithmetic on times: capture timestamps are untrusted, and a
 * hostile file spans the whole 64-bit range. */
static inline int64_t corr_sadd(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}
static inline int64_t corr_ssub(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_sub_overflow(a, b, &r) ? (b < 0 ? INT64_MAX : INT64_MIN) : r;
}

/* ---- keys (correlate_keys.c) ------------------------------------------ */

/* Key kinds. The kind sits in the top byte of a 64-bit key. Keys do not
 * name a direction: an ISN key matches the other side's ISN whichever
 * direction it was in, so a flipped flow still finds its twin. */
enum {
    CK_ISN = 1, CK_TSVAL, CK_DATA, CK_ICMP, CK_TUPLE, CK_DST, CK_KINDS
};
#define CK_MAX_PER_FLOW 10

/* One entry of a key index: the key, the flow's first packet time (order
 * inside one key, for time windows) and the flow's position. */
typedef struct corr_key {
    uint64_t key;
    uint64_t t;
    uint32_t idx;
} corr_key;

typedef struct corr_index {
    corr_key *k;
    size_t    n;
} corr_index;

/* Which keys go into an index (bits 1 << CK_*). */
#define CK_SET_STRONG ((1u << CK_ISN) | (1u << CK_TSVAL) | (1u << CK_DATA))
#define CK_SET_WHERE  ((1u << CK_DST) | (1u << CK_TUPLE) | (1u << CK_ICMP))

/* Keys of one flow into keys[] (CK_MAX_PER_FLOW), every kind, or only the
 * kinds in set (bits 1 << CK_*). */
size_t corr_keys_of(const nl_flow *f, uint64_t *keys);
size_t corr_keys_of_set(const nl_flow *f, uint64_t *keys, unsigned set);
/* Sort entries by (key, t, idx): linear (radix) when they come in
 * (t, idx) order, as a capture's flows do. */
void corr_keys_sort(corr_key *k, size_t n);
static inline int corr_key_kind(uint64_t key) { return (int)(key >> 56); }
/* Index the keys of kinds `set` of the flows whose position has use[pos]
 * != 0 (use NULL: every flow), sorted by (key, t, idx). -1 on out of
 * memory. */
int corr_index_build(corr_index *ix, nl_flow *const *flows, size_t n,
                     unsigned set, const uint8_t *use);
void corr_index_free(corr_index *ix);
/* [*lo, *lo + return) is the run of `key`. */
size_t corr_index_find(const corr_index *ix, uint64_t key, size_t *lo);
/* Inside the run [lo, lo+n): first position with t >= t0. */
size_t corr_index_time_lower(const corr_index *ix, size_t lo, size_t n,
                             uint64_t t0);
uint64_t corr_key_make(int kind, uint64_t value);
uint64_t corr_key_data(uint32_t hash, uint16_t len);
/* Where the flow goes (protocol, responder address and port) and its whole
 * 5-tuple with the endpoints ordered. */
uint64_t corr_key_dst(const nl_flow *f);
uint64_t corr_key_tuple(const nl_flow *f);

/* ---- scoring (correlate_score.c) -------------------------------------- */

typedef struct corr_ctx {
    const corr_index *nix, *fix;  /* near and far strong-key indexes (rarity) */
    int      have_offset;
    int64_t  off_ns;              /* far clock - near clock */
    double   tol_s;               /* |dt| within this: the clock agrees */
    double   max_skew_s;
} corr_ctx;

typedef struct corr_score {
    double   score;
    uint32_t evidence;
    uint8_t  flip;
    double   dt_s;                /* far start - near start - offset */
} corr_score;

/* How many flows carry each strong key of one near flow, computed once per
 * near flow (corr_rarity_build) so scoring never searches the indexes:
 * at 100k flows a side those searches' cache misses cost seconds. */
#define CR_MAX 6
typedef struct corr_rarity {
    uint64_t key[CR_MAX];
    uint32_t count[CR_MAX];       /* max(near, far), min for an ISN */
    uint8_t  n;
} corr_rarity;

/* rr[i] for every near flow i in one merge pass over the two strong-key
 * indexes (flows not in the near index get n = 0). */
void corr_rarity_build(const corr_index *nix, const corr_index *fix,
                       size_t nflows, corr_rarity *rr);

/* Best orientation's score of near flow n against far flow f. Key rarity
 * (a payload many flows share is worth less) comes from rr (n's table),
 * or from cx's indexes when rr is NULL. Returns 0 when they cannot be the
 * same connection (protocol differs). */
int corr_score_pair(const corr_ctx *cx, const nl_flow *n, const corr_rarity *rr,
                    const nl_flow *f, corr_score *out);
/* Translation bits and port flags of a match from its flows. */
void corr_classify(nl_match *m);
/* The same for any two flows: translation bits from n to f (f's
 * orientation flipped when flip), port flags optional. */
uint8_t corr_translation(const nl_flow *n, const nl_flow *f, int flip,
                         uint8_t *sport_changed, uint8_t *dport_changed);
double corr_confidence(double score, uint32_t evidence);
/* NL_CONF_* of a pair from its evidence. */
uint8_t corr_level(uint32_t evidence);

/* ---- connections inside one capture (correlate_conn.c) ----------------- */

/* Per capture: which flows are one connection.
 *   head[pos]: the first piece of the connection flow pos belongs to (Zeek
 *              splits a 5-tuple reused after a RST into pieces; a SYN
 *              retried with the same ISN is still the same connection);
 *              head[pos] == pos for a connection's first (or only) piece.
 *   twin[pos]: for heads, 2 * position of the other leg's head + flip when
 *              this capture saw both legs of a NAT (a firewall's `-i
 *              any`), else -1.
 *   conn[pos]: one id per connection, legs included (the smaller head of
 *              the two legs): keys are unique when one conn carries them. */
typedef struct corr_conns {
    int32_t *head, *twin, *conn;
    size_t   n;
} corr_conns;

int corr_conns_build(const nl_corr_input *in, const nl_correlate_opts *o,
                     corr_conns *cc);
void corr_conns_free(corr_conns *cc);
/* ---- packet pairing (correlate_pkts.c) -------------------------------- */

/* Fill m->seq_offset, has_seq_offset, lost, paired_pkts (clock: the
 * offset of the two captures, for the twin rule's time bound; NULL none). */
void corr_pkts_pair(nl_match *m, const nl_clock_offset *clock);

/* ---- clock (clock.c) -------------------------------------------------- */

typedef struct clock_samples {
    int64_t *v[2];               /* [0] near->far direction, [1] far->near */
    size_t   n[2], cap[2];
    int      oom;
} clock_samples;

void clock_samples_init(clock_samples *s);
void clock_samples_free(clock_samples *s);
/* Add one pair's samples from the flows' first packet times per
 * direction: d[NL_ORIG] = far - near for the near originator's direction,
 * has[] says which exist. */
void clock_samples_add_pair(clock_samples *s, const int64_t d[2], const int has[2]);
/* Add one pair's packet-by-packet samples, per near direction (a[] for
 * NL_ORIG, b[] for NL_RESP). The direction with the larger median
 * travelled near -> far (latency adds to it). */
void clock_samples_add_series(clock_samples *s, const int64_t *a, size_t na,
                              const int64_t *b, size_t nb);
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
                  const corr_conns *ncc, const corr_conns *fcc,
                  const nl_correlate_opts *o, corr_vec *out,
                  nl_clock_offset *off);
int corr_vec_push(corr_vec *v, const nl_match *m);

/* ---- records as a capture point (correlate_records.c) ------------------ */

/* The same as corr_pair_run when near or far holds records (record.h):
 * exact tuples inside the records' time windows. */
int corr_pair_records(const nl_corr_input *near, const nl_corr_input *far, int ni,
                      const corr_conns *ncc, const corr_conns *fcc,
                      const nl_correlate_opts *o, corr_vec *out, nl_clock_offset *off);
/* 1 when the input's capture point holds records. */
int corr_input_has_records(const nl_corr_input *in);

/* ---- chains and unmatched (correlate_chain.c) ------------------------- */

int corr_chains_build(nl_correlation *c);
int corr_unmatched_build(nl_correlation *c);

/* ---- egress (egress.c, egress_changes.c) ------------------------------ */

/* One followed connection as egress sees it (egress.c builds them from
 * the chains; egress_groups.c and egress_changes.c read them). */
typedef struct egress_obs {
    nl_addr  inner, dest, egress;
    uint16_t dport;
    uint8_t  proto;
    uint8_t  confident;
    int      seen_at;
    uint32_t group;          /* the inner host's stretch (egress_groups.c) */
    uint64_t start, last;    /* capture 0 clock */
    const nl_flow *f;        /* at capture 0 */
} egress_obs;

/* Egress rows, the answer, pools, switches and source changes, from the
 * chains. -1 on out of memory. */
int egress_build(nl_correlation *c);
/* Stretches of each inner host (sets o->group; obs sorted by seen_at,
 * inner, start on return), pools and switches into c. */
int egress_groups_build(nl_correlation *c, egress_obs *o, size_t n);
/* Source changes across stretches into c->ip_changes. */
int egress_changes_build(nl_correlation *c, egress_obs *o, size_t n);

/* 1 when flow f's other leg in capture cap (correlate_twin_of) runs the
 * other way round. */
int corr_twin_flip(const nl_correlation *c, int cap, const nl_flow *f);

/* The capture-0 endpoint of a chain as (inner, dest) and the farthest
 * capture's source address: 0 if the chain cannot say. */
int egress_chain_view(const nl_correlation *c, const nl_chain *ch,
                      nl_addr *inner, nl_addr *dest, uint16_t *dport,
                      uint8_t *proto, nl_addr *egress_ip, int *seen_at);

#endif
