/* conn_zeek_tcp.c - Zeek's TCP endpoint machine for one flow.
 *
 * Mirrors TCPSessionAdapter::Process and TCP_Endpoint (Zeek): sequence
 * bookkeeping relative to each side's start, history letters with Zeek's
 * repeat rules, the INACTIVE/SYN_SENT/.../RESET transitions, Size() for
 * orig_bytes/resp_bytes, and the reassembler's view of content gaps for
 * missed_bytes and 'G'. Endpoint states live in f->ep[] (flow.h), the rest
 * of each endpoint in z->ep[] (conn_zeek.h); indices follow the flow's
 * current roles, so after a role flip every pointer into them is
 * re-derived. A side is named by (f, z, dir): cz_st() is its state. */
#include <string.h>
#include "natlens/flow.h"
#include "conn_zeek.h"

#define CZ_TOO_LARGE_SEQ_DELTA 1048576

typedef struct cz_pkt {
    uint8_t  syn, fin, rst, ack;
    uint32_t seq, ackno;
    uint32_t len;            /* TCP payload length (wire) */
    uint64_t ts;
} cz_pkt;

typedef struct cz_side {
    uint8_t     *st;         /* the public state, f->ep[dir].state */
    cz_endpoint *e;
} cz_side;

static cz_side cz_side_of(nl_flow *f, cz_conn *z, int dir)
{
    cz_side s = { &f->ep[dir].state, &z->ep[dir] };
    return s;
}

static void cz_set_state(cz_side s, int st)
{
    if (*s.st != st) {
        s.e->prev_state = *s.st;
        *s.st = (uint8_t)st;
    }
}

/* ---- sequence space (TCP_Endpoint) ---- */

static void cz_update_last(cz_endpoint *e, uint32_t seq)
{
    if (seq < e->last_seq)
        e->seq_wraps++;
    e->last_seq = seq;
}

static void cz_update_ack(cz_endpoint *e, uint32_t seq)
{
    if (seq < e->ack_seq)
        e->ack_wraps++;
    e->ack_seq = seq;
}

static void cz_init_seqs(cz_endpoint *e, uint32_t start, uint32_t last)
{
    e->start_seq = start;
    e->ack_seq = start;
    e->last_seq = last;
}

static void cz_init_endpoint(cz_side s, const cz_pkt *k, uint32_t last)
{
    cz_endpoint *e = s.e;
    switch (*s.st) {
    case NL_TCP_INACTIVE:
        if (k->syn) {
            e->start_seq = e->ack_seq = k->seq;
        } else {
            /* partial connection: number as if a SYN had been seen */
            e->start_seq = e->ack_seq = k->seq - 1;
            last = k->seq;
        }
        e->last_seq = last;
        break;
    case NL_TCP_SYN_SENT:
    case NL_TCP_SYN_ACK_SENT:
        if (k->syn && k->seq != e->start_seq)
            cz_init_seqs(e, k->seq, last);
        break;
    case NL_TCP_ESTABLISHED:
    case NL_TCP_PARTIAL:
        if (k->syn)
            cz_init_seqs(e, k->seq, last);
        break;
    case NL_TCP_RESET:
        if (k->syn && e->prev_state == NL_TCP_INACTIVE)
            cz_init_seqs(e, k->seq, last);
        break;
    default:
        break;
    }
}

static uint64_t cz_relative(const cz_endpoint *e, uint32_t cur, uint32_t last,
                            uint32_t wraps, int *underflow)
{
    int32_t delta = (int32_t)(cur - last);
    if (delta < 0) {
        if (wraps && cur > last)
            wraps--;
    } else if (delta > 0) {
        if (cur < last)
            wraps++;
    }
    if (wraps == 0) {
        delta = (int32_t)(cur - e->start_seq);
        if (delta < 0)
            *underflow = 1;
        return (uint64_t)(int64_t)delta;
    }
    return ((((uint64_t)wraps) << 32) | cur) - (uint64_t)e->start_seq;
}

uint64_t conn_zeek_tcp_size(const nl_flow *f, const cz_conn *z, int dir)
{
    const cz_endpoint *e = &z->ep[dir];
    uint64_t last64, ack64, size;
    int no_data_acked = e->ack_seq == e->start_seq || e->ack_seq == e->start_seq + 1;

    /* a half-open connection discovered and aborted */
    if (e->prev_state == NL_TCP_SYN_SENT && f->ep[dir].state == NL_TCP_RESET &&
        f->ep[dir ^ 1].state == NL_TCP_INACTIVE && !no_data_acked)
        return 0;
    last64 = (((uint64_t)e->seq_wraps) << 32) | e->last_seq;
    ack64 = (((uint64_t)e->ack_wraps) << 32) | e->ack_seq;
    size = (last64 > ack64 ? last64 : ack64) - (uint64_t)e->start_seq;
    if (size != 0)
        size--;              /* the SYN octet */
    if (e->fin_cnt > 0 && size != 0)
        size--;              /* the FIN octet */
    return size;
}

/* ---- reassembler view: contiguous data and gaps ---- */

static void cz_merge_pending(cz_endpoint *e)
{
    if (e->has_pend && e->pend_lo <= e->reassem_top) {
        if (e->pend_hi > e->reassem_top)
            e->reassem_top = e->pend_hi;
        e->has_pend = 0;
    }
}

static void cz_data_sent(cz_endpoint *e, uint64_t seq, uint32_t len)
{
    uint64_t end = seq + len;
    if (e->reassem_top == 0)
        e->reassem_top = 1;  /* relative seq 1: first byte after the SYN */
    if (end <= e->reassem_top)
        return;
    if (seq <= e->reassem_top) {
        e->reassem_top = end;
        cz_merge_pending(e);
        return;
    }
    /* out of order: keep one block, the one nearest the contiguous top */
    if (!e->has_pend || seq < e->pend_lo) {
        if (e->has_pend && end >= e->pend_lo && e->pend_hi > end)
            end = e->pend_hi;
        e->pend_lo = seq;
        e->pend_hi = end;
        e->has_pend = 1;
    } else if (seq <= e->pend_hi && end > e->pend_hi) {
        e->pend_hi = end;
    }
}

/* TCP_Reassembler::AckReceived/Undelivered for the data of side `dir`,
 * acknowledged up to rel_ack by the other side. */
static void cz_ack_received(nl_flow *f, cz_conn *z, int dir, uint64_t rel_ack)
{
    cz_endpoint *e = &z->ep[dir];
    uint8_t acker = f->ep[dir ^ 1].state;
    uint64_t up_to = rel_ack, missing;

    if (e->reassem_top == 0)
        e->reassem_top = 1;
    /* never count the FIN octet as missing data */
    if (e->fin_cnt > 0 && e->fin_seq_rel > 0 && up_to >= e->fin_seq_rel - 1)
        up_to = e->fin_seq_rel - 1;
    if (up_to <= e->reassem_top)
        return;
    /* partial connections fake their initial sequence numbers: an ack of
     * 1 or 2 is no evidence of missing data */
    if (up_to <= 2 && z->is_partial)
        return;
    missing = up_to - e->reassem_top;
    if (e->has_pend && e->pend_lo < up_to) {
        uint64_t hi = e->pend_hi < up_to ? e->pend_hi : up_to;
        missing -= hi - e->pend_lo;
    }
    /* implausible acks (garbage in RSTs, wraps) are not data */
    if (missing > (uint64_t)1 << 31)
        return;
    f->missed_bytes += missing;
    /* gaps revealed at the very end (the acking side already sent FIN or
     * RST) are unreliable: counted, not flagged */
    if (missing > 0 && acker != NL_TCP_CLOSED && acker != NL_TCP_RESET)
        conn_zeek_scaled(f, 'G', dir, &e->gap_cnt, &e->gap_thresh);
    e->reassem_top = up_to;
    cz_merge_pending(e);
}

/* ---- history for one segment (update_history) ---- */

static void cz_update_history(nl_flow *f, cz_conn *z, int dir, const cz_pkt *k,
                              uint64_t rel_seq)
{
    cz_endpoint *e = &z->ep[dir];
    int bits = k->syn + k->fin + k->rst;

    if (bits > 1) {
        if (k->fin && k->rst)
            conn_zeek_check(f, z, CZ_HIST_FIN_RST, 'I', dir);
        else
            conn_zeek_check(f, z, CZ_HIST_MULTI, 'Q', dir);
        return;
    }
    if (bits == 1) {
        /* SYN/FIN/RST letters repeat when the sequence number moved */
        if (k->syn) {
            char code = k->ack ? 'H' : 'S';
            if (conn_zeek_check(f, z, CZ_HIST_SYN, code, dir) && rel_seq != e->hist_last_syn)
                conn_zeek_add(f, code, dir);
            e->hist_last_syn = rel_seq;
        }
        if (k->fin) {
            if (conn_zeek_check(f, z, CZ_HIST_FIN, 'F', dir) &&
                rel_seq + k->len != e->hist_last_fin)
                conn_zeek_add(f, 'F', dir);
            e->hist_last_fin = rel_seq + k->len;
        }
        if (k->rst) {
            if (conn_zeek_check(f, z, CZ_HIST_RST, 'R', dir) && rel_seq != e->hist_last_rst)
                conn_zeek_add(f, 'R', dir);
            e->hist_last_rst = rel_seq;
        }
        return;
    }
    if (k->len)
        conn_zeek_check(f, z, CZ_HIST_DATA, 'D', dir);
    else if (k->ack)
        conn_zeek_check(f, z, CZ_HIST_ACK, 'A', dir);
}

/* ---- state machine (UpdateStateMachine and friends) ---- */

static void cz_set_attempt(cz_conn *z, uint64_t ts)
{
    if (!z->attempt_ns)
        z->attempt_ns = ts;
}

/* Returns the packet's direction (changes on a SYN/SYN-ACK reversal). */
static int cz_inactive(nl_flow *f, cz_conn *z, int dir, const cz_pkt *k, int *do_close)
{
    cz_side e = cz_side_of(f, z, dir), peer = cz_side_of(f, z, dir ^ 1);

    if (k->syn) {
        if (dir == NL_ORIG) {
            cz_set_state(e, k->ack ? NL_TCP_SYN_ACK_SENT : NL_TCP_SYN_SENT);
            cz_set_attempt(z, k->ts);
        } else {
            if (!k->ack && *peer.st == NL_TCP_SYN_ACK_SENT && k->seq == e.e->start_seq) {
                /* SYN after its SYN-ACK (two capture points, interrupt
                 * coalescence): flip and establish */
                conn_zeek_flip(f, z);
                dir ^= 1;
                e = cz_side_of(f, z, dir);
                peer = cz_side_of(f, z, dir ^ 1);
                cz_set_state(peer, NL_TCP_ESTABLISHED);
                e.e->first_seen = 1;   /* SetFirstPacketSeen(orig) */
            }
            if (*peer.st == NL_TCP_SYN_SENT)
                cz_set_state(peer, NL_TCP_ESTABLISHED);
            cz_set_state(e, NL_TCP_ESTABLISHED);
        }
    }
    if (k->fin) {
        cz_set_state(e, NL_TCP_CLOSED);
        *do_close = 1;
    }
    if (k->rst) {
        cz_set_state(e, NL_TCP_RESET);
        *do_close = 1;
    }
    if (*e.st == NL_TCP_INACTIVE) {
        if (dir == NL_RESP && k->len == 0 && f->ep[NL_ORIG].state == NL_TCP_SYN_SENT) {
            /* an ack of the SYN before the SYN-ACK: not yet partial */
        } else if (k->ack && *peer.st == NL_TCP_ESTABLISHED) {
            /* SYN-ACK seen, SYN missed, now the ACK: established */
            cz_set_state(e, NL_TCP_ESTABLISHED);
            z->is_partial = 0;
            e.e->first_seen = 1;
        } else {
            cz_set_state(e, NL_TCP_PARTIAL);
        }
    }
    return dir;
}

static void cz_syn_sent(cz_side e, const cz_pkt *k, int *do_close)
{
    if (k->fin) {
        cz_set_state(e, NL_TCP_CLOSED);
        *do_close = 1;
    }
    if (k->rst) {
        cz_set_state(e, NL_TCP_RESET);
        *do_close = 1;
    }
}

static void cz_established(cz_side e, cz_side peer, const cz_pkt *k, int *do_close)
{
    if (k->syn && *e.st == NL_TCP_PARTIAL && *peer.st == NL_TCP_INACTIVE && !k->ack)
        cz_set_state(e, NL_TCP_SYN_SENT);
    if (k->fin && !k->rst) {
        cz_set_state(e, NL_TCP_CLOSED);
        /* FIN after the peer's FIN+RST: a normal close after all */
        if (*peer.st == NL_TCP_RESET && peer.e->prev_state == NL_TCP_CLOSED)
            cz_set_state(peer, NL_TCP_CLOSED);
        *do_close = 1;
    }
    if (k->rst) {
        cz_set_state(e, NL_TCP_RESET);
        *do_close = 1;
    }
}

static void cz_closed(cz_side e, cz_side peer, const cz_pkt *k, int *do_close)
{
    if (k->rst && *peer.st != NL_TCP_CLOSED) {
        cz_set_state(e, NL_TCP_RESET);
        if (!e.e->did_close)
            *do_close = 1;
    }
}

/* ConnectionClosed: a complete close arms Zeek's 5 s delete timer. */
static void cz_connection_closed(nl_flow *f, cz_conn *z, int dir, uint64_t ts)
{
    cz_endpoint *e = &z->ep[dir], *peer = &z->ep[dir ^ 1];
    if (e->did_close)
        return;
    e->did_close = 1;
    if (f->ep[dir].state == NL_TCP_RESET || peer->did_close ||
        f->ep[dir ^ 1].state == NL_TCP_INACTIVE) {
        if (!z->close_ns)
            z->close_ns = ts ? ts : 1;
        z->attempt_ns = 0; /* CancelTimers */
    }
}

/* PR zeek#2191: a connection that began with a SYN-ACK and now sees an ACK
 * or data (either way) is flipped, the history reads "^h..." */
static int cz_second_packet_flip(nl_flow *f, cz_conn *z, int dir, const cz_pkt *k)
{
    if (f->hist_len != 1 || f->history[0] != 'H' || k->syn || k->fin || k->rst ||
        !(k->ack || k->len))
        return dir;
    conn_zeek_flip(f, z);
    f->hist_len = 0;
    f->history[0] = '\0';
    z->hist_seen[NL_ORIG] = 0;
    z->hist_seen[NL_RESP] = CZ_HIST_SYN;
    conn_zeek_history(f, z, '^', NL_ORIG);
    conn_zeek_add(f, 'h', NL_RESP);
    return dir ^ 1;
}

static void cz_set_partial(cz_conn *z, int dir, const cz_pkt *k)
{
    const cz_endpoint *e = &z->ep[dir];
    uint8_t part = z->is_partial;
    if (dir == NL_ORIG) {
        if (!e->first_seen)
            part = !k->syn || k->ack;
    } else if (!e->first_seen && !part) {
        part = !k->syn;
    }
    z->is_partial = part;
}

int conn_zeek_tcp_packet(nl_flow *f, cz_conn *z, const nl_packet *p, int dir)
{
    cz_pkt k;
    cz_side es, ps;
    cz_endpoint *e, *peer;
    int underflow = 0, ack_underflow = 0, do_close = 0;
    uint32_t seg_len, seq_past;
    uint64_t rel_seq, rel_ack = 0;
    int32_t delta_last, delta_ack;

    if (p->flags & NL_PKT_BAD_CSUM) {
        e = &z->ep[dir];
        conn_zeek_scaled(f, 'C', dir, &e->badck_cnt, &e->badck_thresh);
        return -1;
    }
    memset(&k, 0, sizeof k);
    k.syn = !!(p->tcp_flags & NL_TH_SYN);
    k.fin = !!(p->tcp_flags & NL_TH_FIN);
    k.rst = !!(p->tcp_flags & NL_TH_RST);
    k.ack = !!(p->tcp_flags & NL_TH_ACK);
    k.seq = p->seq;
    k.ackno = p->ack;
    k.len = p->payload_len;
    k.ts = p->ts_ns;

    dir = cz_second_packet_flip(f, z, dir, &k);
    cz_set_partial(z, dir, &k);
    es = cz_side_of(f, z, dir);
    ps = cz_side_of(f, z, dir ^ 1);
    e = es.e;
    peer = ps.e;

    seg_len = k.len + k.syn + k.fin;
    if (k.rst)
        seg_len -= k.len;    /* data in a RST is not part of the stream */
    seq_past = k.seq + seg_len;
    cz_init_endpoint(es, &k, seq_past);
    rel_seq = cz_relative(e, k.seq, e->last_seq, e->seq_wraps, &underflow);

    cz_update_history(f, z, dir, &k, rel_seq);

    /* zero windows are boring with or after a RST, or after the peer's FIN */
    if (p->win == 0 && !k.rst && *ps.st != NL_TCP_CLOSED && *es.st != NL_TCP_RESET) {
        conn_zeek_scaled(f, 'W', dir, &e->zw_cnt, &e->zw_thresh);
    }

    if (k.fin) {
        if (e->fin_cnt < 255)
            e->fin_cnt++;
        e->fin_seq_rel = rel_seq + seg_len;
    }

    if (k.ack) {
        if (*ps.st == NL_TCP_INACTIVE) {
            rel_ack = 1;
            cz_init_seqs(peer, k.ackno - 1, k.ackno - 1);  /* init_peer */
        } else {
            rel_ack = cz_relative(peer, k.ackno, peer->ack_seq, peer->ack_wraps, &ack_underflow);
            if (ack_underflow) {
                rel_ack = 0;
            } else if (!k.rst) {
                /* acks in RSTs are not trusted */
                delta_ack = (int32_t)(k.ackno - peer->ack_seq);
                if (!(k.ackno == 0 && delta_ack > CZ_TOO_LARGE_SEQ_DELTA) && delta_ack > 0)
                    cz_update_ack(peer, k.ackno);
            }
        }
    }

    /* update_last_seq */
    delta_last = (int32_t)(seq_past - e->last_seq);
    if ((k.syn || k.rst) &&
        (delta_last > CZ_TOO_LARGE_SEQ_DELTA || delta_last < -CZ_TOO_LARGE_SEQ_DELTA)) {
        /* outlandish SYN/RST sequence numbers are not trusted */
    } else if (k.fin && e->last_seq == e->start_seq + 1) {
        cz_update_last(e, seq_past);
    } else if (*es.st == NL_TCP_RESET) {
        /* nothing after a RST is trusted */
    } else if (delta_last > 0) {
        cz_update_last(e, seq_past);
    } else if (k.len > 0) {
        conn_zeek_scaled(f, 'T', dir, &e->rxmit_cnt, &e->rxmit_thresh);
    }

    switch (*es.st) {
    case NL_TCP_INACTIVE:
        dir = cz_inactive(f, z, dir, &k, &do_close);
        es = cz_side_of(f, z, dir);
        e = es.e;
        break;
    case NL_TCP_SYN_SENT:
    case NL_TCP_SYN_ACK_SENT:
        cz_syn_sent(es, &k, &do_close);
        break;
    case NL_TCP_ESTABLISHED:
    case NL_TCP_PARTIAL:
        cz_established(es, ps, &k, &do_close);
        break;
    case NL_TCP_CLOSED:
        cz_closed(es, ps, &k, &do_close);
        break;
    default:
        break;
    }

    if (k.ack)
        cz_ack_received(f, z, dir ^ 1, rel_ack);
    e->first_seen = 1;

    if (k.len > 0 && p->payload_caplen >= k.len && !k.rst && !underflow)
        cz_data_sent(e, k.syn ? rel_seq + 1 : rel_seq, k.len);

    if (do_close)
        cz_connection_closed(f, z, dir, k.ts);
    return dir;
}
