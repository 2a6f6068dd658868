/* correlate_conn.c - which flows of one capture are one connection.
 *
 * Zeek's rules make one connection several flows in two cases, and
 * correlate pairs connections, not Zeek's pieces:
 *   - pieces: a 5-tuple reused after a RST starts a new flow even when the
 *     new SYN carries the same ISN (a SYN retry of the same connection, as
 *     in an asymmetric path where the client resets the stray SYN-ACK and
 *     retries): the pieces of one 5-tuple that share an ISN, or that carry
 *     no SYN at all and follow within the TCP inactivity timeout, are one
 *     connection. The first piece stands for it.
 *   - a stray answer: when a DNAT's return path bypasses the NAT, the
 *     client sees its SYN to A:p in one flow and the SYN-ACK, from the
 *     server's real address B:p, in another (it acknowledges exactly that
 *     SYN: ack == ISN + 1). The server saw one connection; the client's
 *     two flows are its two halves, so the answer is a piece of the SYN's
 *     connection, not a flow of its own that "never arrived".
 *   - legs (twins): a capture taken on both sides of a NAT (a firewall's
 *     `-i any`) holds each translated connection twice; the two legs share
 *     the SYN's ISN (or TSval and payload when the NAT rewrote the ISN) and
 *     start within 50 ms of each other.
 * Both are found through sorted keys: n log n in flows.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/record.h"
#include "correlate_int.h"

#define PIECE_GAP_NS   (300ull * 1000000000ull) /* Zeek's tcp_inactivity_timeout */
#define TWIN_MAX_RUN   8        /* a key shared by more flows is no twin key */
#define TWIN_MIN_SCORE 60.0
#define TWIN_TOL_S     0.05

static int same_tuple(const nl_flow *a, const nl_flow *b)
{
    if (a->proto != b->proto)
        return 0;
    if (!nl_addr_cmp(&a->orig_ip, &b->orig_ip) && !nl_addr_cmp(&a->resp_ip, &b->resp_ip) &&
        a->orig_port == b->orig_port && a->resp_port == b->resp_port)
        return 1;
    return !nl_addr_cmp(&a->orig_ip, &b->resp_ip) && !nl_addr_cmp(&a->resp_ip, &b->orig_ip) &&
           a->orig_port == b->resp_port && a->resp_port == b->orig_port;
}

static int has_any_syn(const nl_flow *f)
{
    return f->sig[0].has_syn || f->sig[1].has_syn;
}

static int shares_isn(const nl_flow *a, const nl_flow *b)
{
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (a->sig[i].has_syn && b->sig[j].has_syn &&
                a->sig[i].syn_isn == b->sig[j].syn_isn)
                return 1;
    return 0;
}

/* Does `next` continue the connection whose first piece is `head` and
 * latest piece `last`? */
static int piece_continues(const nl_flow *head, const nl_flow *last,
                           const nl_flow *next)
{
    if (next->proto != IPPROTO_TCP)
        return 0;
    if (has_any_syn(next))
        return shares_isn(head, next) || shares_isn(last, next);
    return next->first_ns >= last->last_ns
           ? next->first_ns - last->last_ns <= PIECE_GAP_NS : 1;
}

static int pieces_build(const nl_corr_input *in, int32_t *head)
{
    size_t n = in->nflows, m = 0;
    corr_key *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        head[i] = (int32_t)i;
        if (in->flows[i]->proto != IPPROTO_TCP)
            continue;
        v[m].key = corr_key_tuple(in->flows[i]);
        v[m].t = in->flows[i]->first_ns;
        v[m].idx = (uint32_t)i;
        m++;
    }
    corr_keys_sort(v, m);         /* (tuple, start) */
    size_t g = 0;                 /* first entry of the current connection */
    for (size_t i = 1; i < m; i++) {
        const nl_flow *h = in->flows[v[g].idx], *last = in->flows[v[i - 1].idx];
        const nl_flow *f = in->flows[v[i].idx];
        if (v[i].key == v[g].key && same_tuple(h, f) && piece_continues(h, last, f))
            head[v[i].idx] = (int32_t)v[g].idx;
        else
            g = i;
    }
    free(v);
    return 0;
}

#define STRAY_BEFORE_NS (1ull * 1000000000ull)
#define STRAY_AFTER_NS  (120ull * 1000000000ull)

typedef struct stray_req {       /* a SYN: who sent it, what answers it */
    const nl_flow *f;
    uint32_t pos;
    uint32_t want_ack;           /* ISN + 1 */
} stray_req;

static int stray_cmp(const void *a, const void *b)
{
    const stray_req *x = a, *y = b;
    int r;
    if (x->want_ack != y->want_ack)
        return x->want_ack < y->want_ack ? -1 : 1;
    if (x->f->orig_port != y->f->orig_port)
        return x->f->orig_port < y->f->orig_port ? -1 : 1;
    if ((r = nl_addr_cmp(&x->f->orig_ip, &y->f->orig_ip)))
        return r;
    return x->f->first_ns < y->f->first_ns ? -1 : x->f->first_ns > y->f->first_ns;
}

/* The ack of the responder's first SYN-ACK of a flow that holds no SYN
 * from its originator; 0 when it has none (or it is unknown). */
static int stray_ack(const nl_flow *f, uint32_t *ack)
{
    if (f->proto != IPPROTO_TCP || f->sig[NL_ORIG].has_syn || !f->sig[NL_RESP].has_syn)
        return 0;
    for (uint16_t i = 0; f->recs && i < f->nrecs; i++) {
        const nl_pkt_rec *r = &f->recs[i];
        if (r->dir == NL_RESP && (r->tcp_flags & (NL_TH_SYN | NL_TH_ACK)) ==
                                     (NL_TH_SYN | NL_TH_ACK)) {
            *ack = r->ack;
            return 1;
        }
    }
    return 0;
}

static int strays_build(const nl_corr_input *in, int32_t *head)
{
    size_t n = in->nflows, m = 0;
    stray_req *v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return -1;
    for (size_t i = 0; i < n; i++) {
        const nl_flow *f = in->flows[i];
        if (head[i] != (int32_t)i || f->proto != IPPROTO_TCP || !f->sig[NL_ORIG].has_syn)
            continue;
        v[m].f = f;
        v[m].pos = (uint32_t)i;
        v[m].want_ack = f->sig[NL_ORIG].syn_isn + 1;
        m++;
    }
    if (m > 1)
        qsort(v, m, sizeof *v, stray_cmp);
    for (size_t i = 0; i < n && m; i++) {
        const nl_flow *b = in->flows[i];
        uint32_t ack;
        if (head[i] != (int32_t)i || !stray_ack(b, &ack))
            continue;
        /* the first request with this ack from b's client endpoint */
        size_t lo = 0, hi = m;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (v[mid].want_ack < ack || (v[mid].want_ack == ack &&
                (v[mid].f->orig_port < b->orig_port ||
                 (v[mid].f->orig_port == b->orig_port &&
                  nl_addr_cmp(&v[mid].f->orig_ip, &b->orig_ip) < 0))))
                lo = mid + 1;
            else
                hi = mid;
        }
        for (size_t k = lo; k < m && v[k].want_ack == ack &&
                            v[k].f->orig_port == b->orig_port &&
                            !nl_addr_cmp(&v[k].f->orig_ip, &b->orig_ip); k++) {
            const nl_flow *a = v[k].f;
            int other = nl_addr_cmp(&a->resp_ip, &b->resp_ip) || a->resp_port != b->resp_port;
            if (other && b->first_ns + STRAY_BEFORE_NS >= a->first_ns &&
                b->first_ns <= a->first_ns + STRAY_AFTER_NS) {
                head[i] = (int32_t)v[k].pos;
                break;
            }
        }
    }
    free(v);
    return 0;
}

typedef struct twin_cand {
    uint32_t a, b;
    double   score;
    uint8_t  flip;
} twin_cand;

static int twin_cand_cmp(const void *x, const void *y)
{
    const twin_cand *a = x, *b = y;
    if (a->score != b->score)
        return a->score > b->score ? -1 : 1;
    if (a->a != b->a)
        return a->a < b->a ? -1 : 1;
    return a->b < b->b ? -1 : a->b > b->b;
}

/* Candidates from the runs of ISN and TSval keys among the heads. */
static int twin_cands(const nl_corr_input *in, const corr_index *ix,
                      twin_cand **out, size_t *nout)
{
    corr_ctx cx;
    size_t cap = 0, n = 0;
    twin_cand *v = NULL;
    memset(&cx, 0, sizeof cx);
    cx.nix = cx.fix = ix;
    cx.have_offset = 1;
    cx.tol_s = TWIN_TOL_S;
    cx.max_skew_s = 1;
    for (size_t r = 0; r < ix->n;) {
        size_t e = r;
        while (e < ix->n && ix->k[e].key == ix->k[r].key)
            e++;
        int kind = corr_key_kind(ix->k[r].key);
        if (e - r >= 2 && e - r <= TWIN_MAX_RUN && (kind == CK_ISN || kind == CK_TSVAL)) {
            for (size_t i = r; i < e; i++)
                for (size_t j = i + 1; j < e; j++) {
                    const nl_flow *a = in->flows[ix->k[i].idx], *b = in->flows[ix->k[j].idx];
                    corr_score s;
                    if (ix->k[i].idx == ix->k[j].idx || same_tuple(a, b) ||
                        !corr_score_pair(&cx, a, NULL, b, &s))
                        continue;
                    int strong = (s.evidence & NL_EV_ISN) ||
                                 ((s.evidence & NL_EV_TSVAL) && (s.evidence & NL_EV_DATA));
                    if (!strong || !(s.evidence & NL_EV_TIME) || s.score < TWIN_MIN_SCORE)
                        continue;
                    if (n == cap) {
                        size_t nc = cap ? cap * 2 : 64;
                        twin_cand *nv = realloc(v, nc * sizeof *nv);
                        if (!nv) {
                            free(v);
                            return -1;
                        }
                        v = nv;
                        cap = nc;
                    }
                    v[n].a = ix->k[i].idx;
                    v[n].b = ix->k[j].idx;
                    v[n].score = s.score;
                    v[n].flip = s.flip;
                    n++;
                }
        }
        r = e;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int twins_build(const nl_corr_input *in, const int32_t *head, int32_t *twin)
{
    size_t n = in->nflows;
    for (size_t i = 0; i < n; i++)
        twin[i] = -1;
    if (n < 2)
        return 0;
    uint8_t *use = malloc(n);
    if (!use)
        return -1;
    for (size_t i = 0; i < n; i++)
        use[i] = head[i] == (int32_t)i;
    corr_index ix;
    twin_cand *v = NULL;
    size_t nv = 0;
    int rc = -1;
    if (corr_index_build(&ix, in->flows, n, CK_SET_STRONG, use) < 0)
        goto done;
    if (twin_cands(in, &ix, &v, &nv) < 0)
        goto done;
    if (nv > 1)
        qsort(v, nv, sizeof *v, twin_cand_cmp);
    for (size_t i = 0; i < nv; i++) {
        /* the same pair comes from several keys: the first (best) wins */
        if (twin[v[i].a] >= 0 || twin[v[i].b] >= 0)
            continue;
        twin[v[i].a] = (int32_t)(v[i].b * 2 + v[i].flip);
        twin[v[i].b] = (int32_t)(v[i].a * 2 + v[i].flip);
    }
    rc = 0;
done:
    corr_index_free(&ix);
    free(v);
    free(use);
    return rc;
}

int correlate_is_link_control(const nl_flow *f)
{
    if (f->proto == 2)                    /* IGMP */
        return 1;
    if (f->proto != IPPROTO_ICMPV6)
        return 0;
    /* MLD (130-132, 143) and neighbour discovery (133-137): they manage the
     * link itself and never cross a router, let alone a NAT */
    uint8_t t = f->icmp_type;
    return (t >= 130 && t <= 137) || t == 143;
}

static void heads_self(corr_conns *cc)
{
    for (size_t i = 0; i < cc->n; i++)
        cc->head[i] = (int32_t)i;
}

int corr_input_has_records(const nl_corr_input *in)
{
    /* a record file; a capture that also carries records (natlens-capture
     * --conntrack) pairs on its packets */
    return in->trace && in->trace->is_record && record_count(in->trace) > 0;
}

/* A record of a NAT mapping holds its two legs (record.h): they are the
 * capture point's twins, known, not guessed. Both legs run inner host ->
 * destination, so they are never flipped. */
static void twins_of_records(const nl_corr_input *in, int32_t *twin)
{
    for (size_t i = 0; i < in->nflows; i++) {
        const nl_record_info *ri = record_info_of(in->trace, in->flows[i]);
        uint32_t o = ri ? ri->other_leg : 0;
        /* flows of a trace are in id order: id k is position k - 1 */
        if (o >= 1 && o <= in->nflows && in->flows[o - 1]->id == o && twin[i] < 0 &&
            twin[o - 1] < 0 && o - 1 != i) {
            twin[i] = (int32_t)((o - 1) * 2);
            twin[o - 1] = (int32_t)(i * 2);
        }
    }
}

int corr_conns_build(const nl_corr_input *in, const nl_correlate_opts *o,
                     corr_conns *cc)
{
    size_t n = in->nflows ? in->nflows : 1;
    (void)o;
    memset(cc, 0, sizeof *cc);
    cc->n = in->nflows;
    cc->head = malloc(n * sizeof *cc->head);
    cc->twin = malloc(n * sizeof *cc->twin);
    cc->conn = malloc(n * sizeof *cc->conn);
    /* records are connections already: one per entry, port reuse apart */
    int rec = corr_input_has_records(in);
    if (!cc->head || !cc->twin || !cc->conn ||
        (rec ? (heads_self(cc), 0) : pieces_build(in, cc->head)) < 0 ||
        (!rec && strays_build(in, cc->head) < 0) || twins_build(in, cc->head, cc->twin) < 0) {
        corr_conns_free(cc);
        return -1;
    }
    if (corr_input_has_records(in))
        twins_of_records(in, cc->twin);
    for (size_t i = 0; i < in->nflows; i++) {
        int32_t h = cc->head[i], t = cc->twin[h];
        cc->conn[i] = t >= 0 && t / 2 < h ? t / 2 : h;
    }
    return 0;
}

void corr_conns_free(corr_conns *cc)
{
    free(cc->head);
    free(cc->twin);
    free(cc->conn);
    memset(cc, 0, sizeof *cc);
}
