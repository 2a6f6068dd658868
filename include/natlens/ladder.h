/* ladder.h - the rungs of one connection between two adjacent captures:
 * every packet record of the connection at each side, and which near
 * record is which far record. The one implementation the viewer's ladder
 * (natlens tui) and the report's ladders (natlens report) draw from.
 *
 * A connection is every piece and part of it (correlate_conn_pieces: Zeek
 * splits a 5-tuple reused after a RST, and an answer from another address
 * - an asymmetric return - is a part of the SYN's connection), on both
 * sides. Which near packet is which far packet is correlate's own rule
 * (correlate_pkt_twins, time-bounded by the clock), applied to all pieces
 * of a side at once, so a ladder cannot disagree with the clock offset or
 * the paired-packet counts, and a packet a later piece holds is never "not
 * seen". The absence of a packet at the other side is claimed only where
 * that side's records cover its time: inside that capture's span, where
 * its pieces kept every packet (records are a prefix of each piece), no
 * piece left out, the clock known and the rule's window not overfull;
 * elsewhere it is unknown.
 *
 * Cost: one ladder is n log n in the records of the connection's pieces
 * (at most NL_LADDER_PIECES a side); nothing is global, nothing is static:
 * ladders may be built on any thread while nobody frees the correlation.
 */
#ifndef NATLENS_LADDER_H
#define NATLENS_LADDER_H

#include <stddef.h>
#include <stdint.h>
#include "natlens/correlate.h"

#define NL_LADDER_PIECES 16         /* pieces of a connection taken per side */

/* nl_ladder_rec.other: what the other side says about a record */
enum {
    NL_LADDER_PAIRED = 0,           /* twin is the same packet there */
    NL_LADDER_NOT_SEEN,             /* the other side's records cover its time
                                    and none of them is it */
    NL_LADDER_UNKNOWN,              /* the other side kept no records there (or
                                    not every piece, or its capture did not
                                    run then, or the clock is unknown):
                                    nothing is claimed */
    NL_LADDER_ALONE                 /* the connection is not paired at this hop
                                    (no match): correlate's verdict on the
                                    whole connection applies; the other
                                    capture ran at that time */
};

/* One packet record of one side. */
typedef struct nl_ladder_rec {
    const nl_pkt_rec *rec;       /* borrowed from its piece's records */
    uint64_t t_ns;               /* in the ladder's near capture's clock */
    int32_t  twin;               /* index in the other side's recs, -1 */
    uint8_t  piece;              /* index in the side's piece[] */
    uint8_t  dir;                /* NL_ORIG: sent by the near head's
                                    originator (both sides use the near
                                    head's orientation) */
    uint8_t  other;              /* NL_LADDER_*: the other side's word on it */
} nl_ladder_rec;

/* One side: the connection at one capture. */
typedef struct nl_ladder_side {
    int            cap;          /* capture index, -1: no such side */
    const nl_flow *head;         /* the connection's first piece here, NULL:
                                    the connection was not seen here */
    const nl_flow *piece[NL_LADDER_PIECES]; /* in time order, head first */
    uint8_t        piece_flip[NL_LADDER_PIECES]; /* roles swapped against the
                                    head (a piece opened by the other end) */
    uint8_t        piece_part[NL_LADDER_PIECES]; /* a part with another
                                    endpoint than the head's (an answer
                                    from another address) */
    uint64_t       piece_until[NL_LADDER_PIECES]; /* the piece's last kept
                                    record (own clock), 0: none kept */
    const nl_pkt_rec *piece_recs[NL_LADDER_PIECES]; /* the records used: the
                                    piece's own or recs_of()'s (borrowed) */
    size_t         piece_nrecs[NL_LADDER_PIECES];
    size_t         npieces;
    int            more_pieces;  /* the connection has more pieces here */
    nl_ladder_rec *recs;         /* owned: every record of the pieces, in
                                    time order (ties: piece, then record) */
    size_t         nrecs;
    uint64_t       kept, pkts;   /* records and packets of the pieces */
    int            all_kept;     /* a record of every packet, every piece */
} nl_ladder_side;

typedef struct nl_ladder {
    const nl_match *match;       /* the hop's pair, NULL: not paired */
    uint8_t         flip;        /* far head's roles against the near head's */
    uint64_t        window_ns;   /* the twin rule's time bound (UINT64_MAX:
                                    none, the clock is unknown) */
    nl_ladder_side  side[2];     /* [0] near, [1] far */
} nl_ladder;

/* What a ladder is of: a hop between two captures. */
typedef struct nl_ladder_hop {
    int             near_cap;    /* capture of side 0 */
    int             far_cap;     /* capture of side 1, -1: one capture only */
    const nl_match *match;       /* the pair, or NULL */
    const nl_flow  *near, *far;  /* with a match, NULL takes its flows;
                                    without: the lone flow on its side (the
                                    other NULL) */
} nl_ladder_hop;

/* Build the ladder of a hop. c may be NULL (one capture: no pieces, no
 * clock); with a match, near_cap/far_cap are the match's. Borrows c and
 * the flows (they must outlive L); L's arrays are owned (ladder_free).
 * 0, or -1 out of memory (L is then empty, safe to free). */
int  ladder_build(const nl_correlation *c, const nl_ladder_hop *h, nl_ladder *L);

/* Records of a piece in place of its own: the records of piece g at
 * capture cap and their count in *n (in g's direction, a prefix of its
 * packets in time order, like a flow's own: the viewer's packets read
 * again from the file), or NULL to use g's own. */
typedef const nl_pkt_rec *(*nl_ladder_recs_fn)(void *ctx, int cap, const nl_flow *g, size_t *n);
/* ladder_build() with the records recs_of gives (NULL: the pieces' own);
 * it is called during the call only, and the records it returns must
 * outlive L. */
int  ladder_build_recs(const nl_correlation *c, const nl_ladder_hop *h, nl_ladder_recs_fn recs_of,
                       void *recs_ctx, nl_ladder *L);
/* The ladder of hop `hop` of a chain: from its match when present, else
 * the chain's flow at the hop's near capture alone. */
int  ladder_of_chain(const nl_correlation *c, const nl_chain *ch, size_t hop, nl_ladder *L);
void ladder_free(nl_ladder *L);

/* First sequence number per direction (the near head's orientation) of
 * the records of piece p of side s, for relative numbers: the piece's own
 * SYN (a retry's SYN-ACK has a new ISN), else the head's, else the first
 * record's seq. */
void ladder_seq_base(const nl_ladder *L, int side, size_t p, uint32_t base[2]);
#endif
