/* test_ladder.c - the twin rule's time bound (correlate_pkt_twins) and
 * the library's ladder (ladder.h) on hand-built flows: a RST the far side
 * lost must not pair with the next retry's copy a second later; a window
 * too full to search says "unknown"; one connection split into pieces
 * (Zeek's rule after a RST) and answered from another address (an
 * asymmetric return) pairs every retry with its copy in whichever piece,
 * the stray answer with the server's; an absence is claimed only where the
 * other side's records cover it. Also: capture names stay valid (no
 * shared rotating buffer). Exit 0 on success. */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/ladder.h"
#include "unit.h"

#define US INT64_C(1000)
#define MS INT64_C(1000000)
#define SEC INT64_C(1000000000)
#define T0 (UINT64_C(1763800000) * 1000000000u)

static nl_pkt_rec rec(uint64_t t, int dir, uint8_t flags, uint32_t seq, uint32_t ack)
{
    nl_pkt_rec r;
    memset(&r, 0, sizeof r);
    r.ts_ns = t;
    r.dir = (uint8_t)dir;
    r.tcp_flags = flags;
    r.seq = seq;
    r.ack = ack;
    return r;
}

static nl_clock_offset clock_of(double off_s)
{
    nl_clock_offset o;
    memset(&o, 0, sizeof o);
    o.known = 1;
    o.offset_s = off_s;
    o.spread_s = 20e-6;
    o.two_way = 1;
    o.latency_s = 30e-6;
    return o;
}

/* Two SYN retries, each answered and reset (no TSvals: nothing but time
 * tells the RSTs apart); the far capture lost the first RST. The far clock
 * runs 600 s ahead. */
static void test_twins_time_bound(void)
{
    const uint32_t isn = 1000, sisn = 5000;
    const int64_t off = 600 * SEC;
    nl_flow nf, ff;
    nl_match m;
    nl_pkt_rec n[6], f[5];
    int32_t tw[6];
    nl_clock_offset clk = clock_of(600.0);

    memset(&nf, 0, sizeof nf);
    memset(&ff, 0, sizeof ff);
    nf.proto = ff.proto = IPPROTO_TCP;
    memset(&m, 0, sizeof m);
    m.near = &nf;
    m.far = &ff;
    for (int k = 0; k < 2; k++) {
        uint64_t t = T0 + (uint64_t)k * SEC;
        n[3 * k + 0] = rec(t, NL_ORIG, NL_TH_SYN, isn, 0);
        n[3 * k + 1] = rec(t + 100 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, sisn + (uint32_t)k, isn + 1);
        n[3 * k + 2] = rec(t + 120 * US, NL_ORIG, NL_TH_RST, isn + 1, 0);
    }
    /* far: SYN, SYN-ACK, (RST lost), SYN, SYN-ACK, RST */
    f[0] = rec(T0 + off + 30 * US, NL_ORIG, NL_TH_SYN, isn, 0);
    f[1] = rec(T0 + off + 70 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, sisn, isn + 1);
    f[2] = rec(T0 + off + SEC + 30 * US, NL_ORIG, NL_TH_SYN, isn, 0);
    f[3] = rec(T0 + off + SEC + 70 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, sisn + 1, isn + 1);
    f[4] = rec(T0 + off + SEC + 150 * US, NL_ORIG, NL_TH_RST, isn + 1, 0);

    CHECK_EQ(correlate_pkt_twins(&m, &clk, n, 6, f, 5, tw), 5);
    CHECK_EQ(tw[0], 0);
    CHECK_EQ(tw[1], 1);
    CHECK_EQ(tw[2], NL_TWIN_NONE);   /* the lost RST: not the one 1 s later */
    CHECK_EQ(tw[3], 2);
    CHECK_EQ(tw[4], 3);
    CHECK_EQ(tw[5], 4);              /* the second RST keeps its own copy */

    /* the bound is the clock's: 50 ms plus twenty spreads and the latency */
    CHECK(correlate_twin_window_ns(&clk) > (uint64_t)(50 * MS));
    CHECK(correlate_twin_window_ns(&clk) < (uint64_t)(52 * MS));
    clk.known = 0;
    CHECK(correlate_twin_window_ns(&clk) == UINT64_MAX);
    CHECK(correlate_twin_window_ns(NULL) == UINT64_MAX);

    /* far records out of time order (a hostile file) pair the same */
    {
        nl_pkt_rec g[5] = { f[4], f[2], f[0], f[3], f[1] };
        nl_clock_offset c2 = clock_of(600.0);
        CHECK_EQ(correlate_pkt_twins(&m, &c2, n, 6, g, 5, tw), 5);
        CHECK_EQ(tw[2], NL_TWIN_NONE);
        CHECK_EQ(tw[5], 0);
        CHECK_EQ(tw[0], 2);
    }
    /* without a clock there is no bound: the first RST takes the second's
     * copy (what the rule did before it had one) */
    {
        nl_pkt_rec g[5];
        for (int i = 0; i < 5; i++) {
            g[i] = f[i];
            g[i].ts_ns -= (uint64_t)off;
        }
        correlate_pkt_twins(&m, NULL, n, 6, g, 5, tw);
        CHECK_EQ(tw[2], 4);
        CHECK_EQ(tw[5], NL_TWIN_NONE);
    }
}

/* More far records inside one packet's window than the rule looks at:
 * its twin may be among those left out, so it is unknown, not "none". */
static void test_twins_window_full(void)
{
    nl_flow nf, ff;
    nl_match m;
    nl_pkt_rec n[1], *f = calloc(700, sizeof *f);
    int32_t tw[1];
    nl_clock_offset clk = clock_of(0);
    memset(&nf, 0, sizeof nf);
    memset(&ff, 0, sizeof ff);
    nf.proto = ff.proto = IPPROTO_TCP;
    memset(&m, 0, sizeof m);
    m.near = &nf;
    m.far = &ff;
    n[0] = rec(T0 + 10 * MS, NL_ORIG, NL_TH_ACK, 99999, 7);
    for (int i = 0; i < 700; i++)
        f[i] = rec(T0 + (uint64_t)i * 20 * US, NL_ORIG, NL_TH_ACK, (uint32_t)i, 7);
    CHECK_EQ(correlate_pkt_twins(&m, &clk, n, 1, f, 700, tw), 0);
    CHECK_EQ(tw[0], NL_TWIN_UNKNOWN);
    /* a few: looked at every one, none is it */
    CHECK_EQ(correlate_pkt_twins(&m, &clk, n, 1, f, 20, tw), 0);
    CHECK_EQ(tw[0], NL_TWIN_NONE);
    free(f);
}

/* ---- a connection in pieces and parts, through correlate -------------- */

typedef struct hflow {
    nl_flow    f;
    nl_pkt_rec r[16];
} hflow;

static void hf_init(hflow *h, const char *a, uint16_t ap, const char *b, uint16_t bp)
{
    memset(h, 0, sizeof *h);
    h->f.proto = IPPROTO_TCP;
    nl_addr_parse(&h->f.orig_ip, a);
    nl_addr_parse(&h->f.resp_ip, b);
    h->f.orig_port = ap;
    h->f.resp_port = bp;
    h->f.recs = h->r;
    h->f.ifindex[0] = h->f.ifindex[1] = -1;
}

static void hf_add(hflow *h, uint64_t t, int dir, uint8_t flags, uint32_t seq, uint32_t ack,
                   uint32_t tsval)
{
    nl_flow *f = &h->f;
    nl_pkt_rec *r = &h->r[f->nrecs++];
    nl_flow_sig *s = &f->sig[dir];
    *r = rec(t, dir, flags, seq, ack);
    r->tsval = tsval;
    r->ip_len = 40;
    if (f->pkts[dir]++ == 0)
        s->first_ns = t;
    if ((flags & NL_TH_SYN) && !s->has_syn) {
        s->has_syn = 1;
        s->syn_isn = seq;
        s->syn_mss = 1460;
    }
    if (flags & NL_TH_SYN)
        s->syn_count++;
    if (tsval && !s->has_tsval) {
        s->has_tsval = 1;
        s->first_tsval = tsval;
    }
    if (!f->first_ns || t < f->first_ns)
        f->first_ns = t;
    if (t > f->last_ns)
        f->last_ns = t;
    f->ended = 1;
}

static nl_corr_input hf_input(nl_flow **v, size_t n, const char *name)
{
    nl_corr_input in;
    memset(&in, 0, sizeof in);
    in.name = name;
    in.flows = v;
    in.nflows = n;
    for (size_t i = 0; i < n; i++) {
        v[i]->id = (uint32_t)i + 1;
        if (!in.first_ns || v[i]->first_ns < in.first_ns)
            in.first_ns = v[i]->first_ns;
        if (v[i]->last_ns > in.last_ns)
            in.last_ns = v[i]->last_ns;
    }
    return in;
}

/* asym-return's shape. The client (near) sends three SYNs to the DNAT
 * address 203.0.113.5:80; each SYN-ACK comes back from the server's own
 * address 192.168.0.250:80 (a flow of its own at the client: the stray
 * answer) and is reset. The server (far) sees one 5-tuple, split into a
 * piece per RST; the first RST never reached it. A busy neighbour (port
 * 41100) starts and ends the captures, so both spans cover the retries. */
#define CLI "198.51.100.10"
static void test_ladder_pieces_and_parts(void)
{
    const uint32_t isn = 1863602837u;
    uint64_t t[3];
    hflow a, s[3], f1, f2, nb_n, nb_f;
    nl_flow *near[5], *far[3];
    nl_corr_input in[2];
    char err[256];

    for (int k = 0; k < 3; k++)
        t[k] = T0 + SEC + (uint64_t)k * SEC;
    /* neighbour: one connection from T0 to T0 + 5 s at both points */
    hf_init(&nb_n, CLI, 41100, "203.0.113.5", 80);
    hf_init(&nb_f, CLI, 41100, "192.168.0.250", 80);
    hf_add(&nb_n, T0, NL_ORIG, NL_TH_SYN, 7000, 0, 11);
    hf_add(&nb_n, T0 + 200 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, 9000, 7001, 21);
    hf_add(&nb_n, T0 + 5 * SEC, NL_ORIG, NL_TH_ACK | NL_TH_FIN, 7001, 9001, 12);
    hf_add(&nb_f, T0 + 50 * US, NL_ORIG, NL_TH_SYN, 7000, 0, 11);
    hf_add(&nb_f, T0 + 150 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, 9000, 7001, 21);
    hf_add(&nb_f, T0 + 5 * SEC + 50 * US, NL_ORIG, NL_TH_ACK | NL_TH_FIN, 7001, 9001, 12);

    hf_init(&a, CLI, 41001, "203.0.113.5", 80);
    for (int k = 0; k < 3; k++) {
        hf_add(&a, t[k], NL_ORIG, NL_TH_SYN, isn, 0, 100 + (uint32_t)k);
        hf_init(&s[k], CLI, 41001, "192.168.0.250", 80);
        hf_add(&s[k], t[k] + 150 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, 5000 + (uint32_t)k, isn + 1,
               300 + (uint32_t)k);
        hf_add(&s[k], t[k] + 170 * US, NL_ORIG, NL_TH_RST, isn + 1, 0, 0);
    }
    /* the server: piece 1 holds retries 1 and 2 (first RST lost), piece 2
     * retry 3 */
    hf_init(&f1, CLI, 41001, "192.168.0.250", 80);
    hf_init(&f2, CLI, 41001, "192.168.0.250", 80);
    for (int k = 0; k < 3; k++) {
        hflow *p = k < 2 ? &f1 : &f2;
        hf_add(p, t[k] + 50 * US, NL_ORIG, NL_TH_SYN, isn, 0, 100 + (uint32_t)k);
        hf_add(p, t[k] + 100 * US, NL_RESP, NL_TH_SYN | NL_TH_ACK, 5000 + (uint32_t)k, isn + 1,
               300 + (uint32_t)k);
        if (k > 0)
            hf_add(p, t[k] + 200 * US, NL_ORIG, NL_TH_RST, isn + 1, 0, 0);
    }
    near[0] = &nb_n.f;
    near[1] = &a.f;
    near[2] = &s[0].f;
    near[3] = &s[1].f;
    near[4] = &s[2].f;
    far[0] = &nb_f.f;
    far[1] = &f1.f;
    far[2] = &f2.f;
    in[0] = hf_input(near, 5, "client");
    in[1] = hf_input(far, 3, "server");
    nl_correlation *c = correlate_inputs(in, 2, NULL, err);
    CHECK(c != NULL);
    if (!c)
        return;
    CHECK(c->offsets[0].known);
    const nl_match *m = correlate_match_for(c, 0, &a.f, 1);
    CHECK(m != NULL && m->far == &f1.f);
    if (!m) {
        correlate_free(c);
        return;
    }
    /* the pieces and the parts are one connection */
    CHECK(correlate_conn_head(c, 0, &s[2].f) == &a.f);
    CHECK(correlate_conn_head(c, 1, &f2.f) == &f1.f);

    nl_ladder L;
    nl_ladder_hop h = { 0, 1, m, NULL, NULL };
    CHECK_EQ(ladder_build(c, &h, &L), 0);
    CHECK_EQ(L.side[0].npieces, 4);
    CHECK_EQ(L.side[1].npieces, 2);
    CHECK_EQ(L.side[0].nrecs, 9);
    CHECK_EQ(L.side[1].nrecs, 8);
    CHECK(!L.side[0].piece_part[0] && L.side[0].piece_part[1] && L.side[0].piece_part[3]);
    size_t paired = 0, not_seen = 0, unknown = 0;
    for (size_t i = 0; i < L.side[0].nrecs; i++) {
        const nl_ladder_rec *r = &L.side[0].recs[i];
        if (i)
            CHECK(r->t_ns >= L.side[0].recs[i - 1].t_ns);
        if (r->twin >= 0) {
            const nl_ladder_rec *o = &L.side[1].recs[r->twin];
            paired++;
            CHECK_EQ(o->twin, (long long)i);
            CHECK_EQ(o->rec->tcp_flags, r->rec->tcp_flags);
            CHECK_EQ(o->dir, r->dir);
            /* its own copy, not another retry's: within a millisecond */
            CHECK(o->t_ns + MS > r->t_ns && r->t_ns + MS > o->t_ns);
        } else if (r->other == NL_LADDER_NOT_SEEN) {
            not_seen++;
            /* only the first RST, which the server never got */
            CHECK(r->rec->tcp_flags == NL_TH_RST && r->rec->ts_ns == t[0] + 170 * US);
            CHECK_EQ(r->dir, NL_ORIG);
        } else {
            unknown++;
        }
    }
    CHECK_EQ(paired, 8);
    CHECK_EQ(not_seen, 1);
    CHECK_EQ(unknown, 0);
    for (size_t j = 0; j < L.side[1].nrecs; j++)
        CHECK(L.side[1].recs[j].twin >= 0);
    ladder_free(&L);

    /* the server kept only its first piece's first two records: what
     * follows in that piece is unknown, never "not seen" */
    f1.f.nrecs = 2;
    CHECK_EQ(ladder_build(c, &h, &L), 0);
    not_seen = unknown = 0;
    for (size_t i = 0; i < L.side[0].nrecs; i++) {
        const nl_ladder_rec *r = &L.side[0].recs[i];
        if (r->twin >= 0)
            continue;
        if (r->other == NL_LADDER_NOT_SEEN)
            not_seen++;
        else if (r->other == NL_LADDER_UNKNOWN)
            unknown++;
    }
    CHECK_EQ(not_seen, 0);
    CHECK_EQ(unknown, 4);   /* RST 1, SYN 2, SYN-ACK 2, RST 2 */
    ladder_free(&L);
    f1.f.nrecs = 5;

    /* a chain's hop gives the same ladder */
    for (size_t i = 0; i < c->nchains; i++)
        if (c->chains[i].flows[0] == &a.f) {
            CHECK_EQ(ladder_of_chain(c, &c->chains[i], 0, &L), 0);
            CHECK(L.match == m);
            CHECK_EQ(L.side[0].nrecs, 9);
            ladder_free(&L);
        }
    correlate_free(c);
}

/* Capture names are the container's: a name asked for earlier stays what
 * it was after many more (no rotating buffer shared by every caller). */
static void test_capture_names_stable(void)
{
    nl_findings *fs = diagnose_new();
    const char *n0, *n1;
    CHECK(fs != NULL);
    if (!fs)
        return;
    CHECK_EQ(diagnose_set_hostmeta(fs, 7, NULL), 0);
    n0 = diagnose_capture_name(fs, 0);
    n1 = diagnose_capture_name(fs, 1);
    for (int i = 2; i < 8; i++)
        CHECK(diagnose_capture_name(fs, i) != NULL);
    CHECK(!strcmp(n0, "capture 0"));
    CHECK(!strcmp(n1, "capture 1"));
    CHECK(!strcmp(diagnose_capture_name(fs, 7), "capture 7"));
    CHECK(diagnose_capture_name(fs, 1) == n1);
    diagnose_free(fs);
}

int main(void)
{
    test_twins_time_bound();
    test_twins_window_full();
    test_ladder_pieces_and_parts();
    test_capture_names_stable();
    return UNIT_END();
}
