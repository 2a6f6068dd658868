/* test_tunnel.c - tunnels on hand-built frames: every encapsulation opens
 * with its facts (VNI, TEID, key, GWLB options, Teredo indicators), frames
 * are accounted as outer and inner flows with Zeek's bookkeeping (parents,
 * 'X' after five tunnel changes and at the depth bound), hostile headers
 * are counted as malformed and stop a flow's decapsulation, fragmented
 * tunnel datagrams are put back together, and every cut length of every
 * frame is read within bounds (exact-size copies: ASan under `make asan`).
 */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "natlens/flow_table.h"
#include "natlens/tunnel.h"
#include "natlens/tunnel_out.h"
#include "unit.h"

typedef struct { uint8_t b[4096]; size_t n; } buf;

static void put(buf *x, const void *p, size_t n) { memcpy(x->b + x->n, p, n); x->n += n; }
static void put8(buf *x, unsigned v) { x->b[x->n++] = (uint8_t)v; }
static void put16(buf *x, unsigned v) { put8(x, v >> 8); put8(x, v & 0xff); }
static void put32(buf *x, uint32_t v) { put16(x, v >> 16); put16(x, v & 0xffff); }
static void prepend(buf *x, const buf *hdr)
{
    memmove(x->b + hdr->n, x->b, x->n);
    memcpy(x->b, hdr->b, hdr->n);
    x->n += hdr->n;
}

static const uint8_t HA[4] = {10, 0, 0, 1}, HB[4] = {10, 0, 0, 2};
static const uint8_t U1[4] = {192, 0, 2, 1}, U2[4] = {192, 0, 2, 2}, U3[4] = {198, 51, 100, 1};

static void tcp(buf *x, uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq)
{
    x->n = 0;
    put16(x, sport); put16(x, dport); put32(x, seq); put32(x, 0);
    put8(x, 5 << 4); put8(x, flags); put16(x, 8192); put16(x, 0); put16(x, 0);
}

static void ip4(buf *x, const uint8_t *s, const uint8_t *d, uint8_t proto, uint16_t frag)
{
    buf h = {.n = 0};
    put8(&h, 0x45); put8(&h, 0); put16(&h, (unsigned)(20 + x->n)); put16(&h, 77);
    put16(&h, frag); put8(&h, 64); put8(&h, proto); put16(&h, 0); put(&h, s, 4); put(&h, d, 4);
    prepend(x, &h);
}

static void ip6(buf *x, const uint8_t s[16], const uint8_t d[16], uint8_t nh)
{
    buf h = {.n = 0};
    put32(&h, 6u << 28); put16(&h, (unsigned)x->n); put8(&h, nh); put8(&h, 64);
    put(&h, s, 16); put(&h, d, 16);
    prepend(x, &h);
}

static void udp(buf *x, uint16_t sport, uint16_t dport)
{
    buf h = {.n = 0};
    put16(&h, sport); put16(&h, dport); put16(&h, (unsigned)(8 + x->n)); put16(&h, 0);
    prepend(x, &h);
}

static void eth(buf *x, uint16_t etype)
{
    buf h = {.n = 0};
    put(&h, "\x02\0\0\0\0\x02\x02\0\0\0\0\x01", 12); put16(&h, etype);
    prepend(x, &h);
}

static void vxlan(buf *x, uint32_t vni, uint8_t flags)
{
    buf h = {.n = 0};
    put8(&h, flags); put8(&h, 0); put16(&h, 0); put32(&h, vni << 8);
    prepend(x, &h);
}

/* inner TCP 10.0.0.1:40000 -> 10.0.0.2:80 in Ethernet in VXLAN in UDP */
static void frame_vxlan(buf *x, const uint8_t *us, const uint8_t *ud, uint16_t sport,
                        uint32_t vni, uint8_t flags, uint8_t tflags)
{
    tcp(x, 40000, 80, tflags, 1000);
    ip4(x, HA, HB, IPPROTO_TCP, 0);
    eth(x, 0x0800);
    vxlan(x, vni, flags);
    udp(x, sport, 4789);
    ip4(x, us, ud, IPPROTO_UDP, 0);
    eth(x, 0x0800);
}

/* Decode x as Ethernet and account it; exact-size copy so ASan sees any
 * read past the frame. */
static nl_flow *account(nl_tunnel_table *tt, nl_flow_table *ft, const buf *x, uint32_t caplen,
                        uint64_t frame, int *bad)
{
    uint8_t *c = malloc(caplen ? caplen : 1);
    nl_packet p;
    nl_flow *f;
    memcpy(c, x->b, caplen);
    memset(&p, 0, sizeof p);
    p.ts_ns = frame * 1000000ull;
    p.frame = frame;
    decode_packet(&p, c, caplen, (uint32_t)x->n, DLT_EN10MB, 0);
    f = tunnel_frame_add(tt, ft, &p, c, 0, bad);
    free(c);
    return f;
}

static const nl_flow *find(nl_flow_table *ft, uint8_t proto, uint16_t dport)
{
    size_t n;
    nl_flow **all = flow_table_all(ft, &n);
    for (size_t i = 0; i < n; i++)
        if (all[i]->proto == proto && all[i]->resp_port == dport)
            return all[i];
    return NULL;
}

static void test_vxlan_outer_and_inner(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    buf x;
    int bad = 0;
    const nl_flow *outer, *inner;
    const nl_tunnel_link *l;
    const nl_tunnel *t;
    nl_tunnel_stats st;

    frame_vxlan(&x, U1, U2, 39999, 42, 0x08, NL_TH_SYN);
    account(tt, ft, &x, (uint32_t)x.n, 1, &bad);
    CHECK_EQ(bad, 0);
    outer = find(ft, IPPROTO_UDP, 4789);
    inner = find(ft, IPPROTO_TCP, 80);
    CHECK(outer && inner);
    if (outer && inner) {
        CHECK(tunnel_table_link(tt, outer)->carrier == NL_TUN_VXLAN);
        l = tunnel_table_link(tt, inner);
        CHECK(l != NULL);
        CHECK_EQ(l->nparents, 1);
        CHECK_EQ(l->vni, 42);
        t = tunnel_table_get(tt, l->parents[0]);
        CHECK(t && t->outer_flow == outer->id && t->kind == NL_TUN_VXLAN && t->depth == 1);
        CHECK(t && t->dport == 4789 && nl_addr_cmp(&t->src, &outer->orig_ip) == 0);
        CHECK_EQ(strcmp(inner->history, "S"), 0);
        {
            char path[128];
            CHECK_EQ(strcmp(tunnel_out_path(tt, inner, path, sizeof path, 0),
                            "vxlan 192.0.2.1 -> 192.0.2.2:4789 VNI 42"), 0);
            CHECK_EQ(tunnel_out_path(tt, outer, path, sizeof path, 0)[0], '\0');
            CHECK_EQ(tunnel_out_carrier(tt, outer), NL_TUN_VXLAN);
            CHECK_EQ(tunnel_out_carrier(tt, inner), NL_TUN_NONE);
        }
    }
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.frames, 1);
    CHECK_EQ(st.opened[NL_TUN_VXLAN], 1);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

/* Zeek: after five tunnel changes the connection's history gets 'X'
 * before the letters of the packet that made the sixth. */
static void test_tunnel_changes(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    buf x;
    int bad = 0;
    const nl_flow *inner;
    for (int i = 0; i < 8; i++) {
        frame_vxlan(&x, i % 2 ? U3 : U1, U2, (uint16_t)(39990 + i % 2), 42, 0x08,
                    i == 0 ? NL_TH_SYN : NL_TH_ACK);
        account(tt, ft, &x, (uint32_t)x.n, (uint64_t)i + 1, &bad);
    }
    inner = find(ft, IPPROTO_TCP, 80);
    CHECK(inner != NULL);
    if (inner) {
        const nl_tunnel_link *l = tunnel_table_link(tt, inner);
        CHECK_EQ(l->changes, NL_TUN_CHANGES);
        CHECK_EQ(l->nparents, 2);
        CHECK(strchr(inner->history, 'X') != NULL);
        CHECK_EQ(strcmp(inner->history, "SAX"), 0);
    }
    tunnel_table_free(tt);
    flow_table_free(ft);
}

/* VXLAN in VXLAN, six deep: four are opened (Zeek's Tunnel::max_depth),
 * the carrier that would open the fifth gets 'X'. */
static void test_depth_bound(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    nl_tunnel_stats st;
    buf x;
    int bad = 0, x_count = 0;
    size_t n;
    nl_flow **all;
    tcp(&x, 40000, 80, NL_TH_SYN, 1);
    ip4(&x, HA, HB, IPPROTO_TCP, 0);
    for (int i = 0; i < 6; i++) {
        eth(&x, 0x0800);
        vxlan(&x, (uint32_t)i, 0x08);
        udp(&x, (uint16_t)(1000 + i), 4789);
        ip4(&x, U1, U2, IPPROTO_UDP, 0);
    }
    eth(&x, 0x0800);
    account(tt, ft, &x, (uint32_t)x.n, 1, &bad);
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.opened[NL_TUN_VXLAN], 4);
    CHECK_EQ(st.too_deep, 1);
    CHECK_EQ(bad, 1);                  /* counted as malformed */
    all = flow_table_all(ft, &n);
    CHECK_EQ(n, 5);                    /* five UDP carriers, the TCP never reached */
    for (size_t i = 0; i < n; i++)
        x_count += strchr(all[i]->history, 'X') != NULL;
    CHECK_EQ(x_count, 1);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

/* GRE around GRE eight times: four opened, the rest is a GRE flow. */
static void test_gre_loop(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    nl_tunnel_stats st;
    buf x;
    int bad = 0;
    size_t n;
    tcp(&x, 40000, 80, NL_TH_SYN, 1);
    ip4(&x, HA, HB, IPPROTO_TCP, 0);
    for (int i = 0; i < 8; i++) {
        buf g = {.n = 0};
        put16(&g, 0); put16(&g, 0x0800);
        prepend(&x, &g);
        ip4(&x, U1, U2, 47, 0);
    }
    eth(&x, 0x0800);
    account(tt, ft, &x, (uint32_t)x.n, 1, &bad);
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.opened[NL_TUN_GRE], 4);
    CHECK_EQ(st.too_deep, 1);
    CHECK_EQ(st.malformed, 1);
    flow_table_all(ft, &n);
    CHECK_EQ(n, 1);
    CHECK(find(ft, 47, 0) != NULL);
    /* the same address pair nested in itself: one tunnel per level */
    CHECK_EQ(st.tunnels, 4);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

/* A VXLAN header without its I flag is a violation: counted, and the flow
 * is not opened any more, as Zeek stops its analyzer. */
static void test_violation_sticks(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    nl_tunnel_stats st;
    buf x;
    int bad = 0;
    frame_vxlan(&x, U1, U2, 39999, 42, 0x00, NL_TH_SYN);
    account(tt, ft, &x, (uint32_t)x.n, 1, &bad);
    CHECK_EQ(bad, 1);
    frame_vxlan(&x, U1, U2, 39999, 42, 0x08, NL_TH_SYN);
    bad = 0;
    account(tt, ft, &x, (uint32_t)x.n, 2, &bad);
    CHECK_EQ(bad, 0);
    CHECK(find(ft, IPPROTO_TCP, 80) == NULL);
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.malformed, 1);
    CHECK_EQ(st.opened[NL_TUN_VXLAN], 0);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

static int open_udp(const buf *x, int kind, nl_encap *e, nl_packet *in)
{
    nl_packet p;
    memset(&p, 0, sizeof p);
    if (decode_packet(&p, x->b, (uint32_t)x->n, (uint32_t)x->n, DLT_EN10MB, 0) < 0)
        return -9;
    if (kind == 0)
        kind = decode_encap_detect(&p, x->b);
    int rc = decode_encap_udp(e, kind, &p, x->b);
    if (rc == NL_ENCAP_OK && decode_inner(in, &p, e, x->b, 0) < 0)
        return -8;
    return rc;
}

static void test_geneve_gwlb(void)
{
    buf x;
    nl_encap e;
    nl_packet in;
    buf h = {.n = 0};
    tcp(&x, 40000, 443, NL_TH_SYN, 1);
    ip4(&x, HA, HB, IPPROTO_TCP, 0);
    eth(&x, 0x0800);
    put8(&h, 8); put8(&h, 0); put16(&h, 0x6558); put32(&h, 0x123456u << 8);
    put16(&h, 0x0108); put8(&h, 1); put8(&h, 2); put32(&h, 0x11223344); put32(&h, 0x55667788);
    put16(&h, 0x0108); put8(&h, 2); put8(&h, 2); put32(&h, 0x0a0b0c0d); put32(&h, 0x0e0f1011);
    put16(&h, 0x0108); put8(&h, 3); put8(&h, 1); put32(&h, 0xcafe);
    prepend(&x, &h);
    udp(&x, 50000, 6081);
    ip4(&x, U1, U2, IPPROTO_UDP, 0);
    eth(&x, 0x0800);
    CHECK_EQ(open_udp(&x, NL_TUN_GENEVE, &e, &in), NL_ENCAP_OK);
    CHECK_EQ(e.vni, 0x123456);
    CHECK_EQ(e.notes & (NL_ENC_GWLB_ENI | NL_ENC_GWLB_ATTACH | NL_ENC_GWLB_COOKIE),
             NL_ENC_GWLB_ENI | NL_ENC_GWLB_ATTACH | NL_ENC_GWLB_COOKIE);
    CHECK(e.gwlb_eni == 0x1122334455667788ull && e.gwlb_attach == 0x0a0b0c0d0e0f1011ull);
    CHECK_EQ(e.gwlb_cookie, 0xcafe);
    CHECK(in.proto == IPPROTO_TCP && in.dport == 443);
    /* options longer than the packet: a violation, nothing read past it */
    x.b[14 + 20 + 8] = 0x3f;
    CHECK_EQ(open_udp(&x, NL_TUN_GENEVE, &e, &in), NL_ENCAP_BAD);
    /* version 1 is not Geneve as natlens knows it: ignored, not malformed */
    x.b[14 + 20 + 8] = 0x47;
    CHECK_EQ(open_udp(&x, NL_TUN_GENEVE, &e, &in), NL_ENCAP_NONE);
}

static void test_gtp_teredo_ayiya(void)
{
    static const uint8_t t6a[16] = {0x20, 0x01, 0, 0, 0x41, 0x37, 0x9e, 0x50, 0x80, 0, 0xf1, 0x2a, 0xb9, 0xc8, 0x28, 0x15};
    static const uint8_t t6b[16] = {0x20, 0x01, 0x48, 0x60, 0, 0, 0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0x68};
    buf x, h;
    nl_encap e;
    nl_packet in;

    /* GTP-U G-PDU with sequence and one extension header (PDU session) */
    tcp(&x, 40000, 80, NL_TH_SYN, 1);
    ip4(&x, HA, HB, IPPROTO_TCP, 0);
    h.n = 0;
    put8(&h, 0x36); put8(&h, 255); put16(&h, (unsigned)(x.n + 8)); put32(&h, 0xdeadbeef);
    put16(&h, 1); put8(&h, 0); put8(&h, 0x85); put8(&h, 1); put8(&h, 0x09); put8(&h, 0); put8(&h, 0);
    prepend(&x, &h);
    udp(&x, 2152, 2152);
    ip4(&x, U1, U2, IPPROTO_UDP, 0);
    eth(&x, 0x0800);
    CHECK_EQ(open_udp(&x, NL_TUN_GTPU, &e, &in), NL_ENCAP_OK);
    CHECK(e.vni == 0xdeadbeef && in.proto == IPPROTO_TCP && in.sport == 40000);
    x.b[14 + 20 + 8 + 1] = 1;            /* echo request: signalling, not opened */
    CHECK_EQ(open_udp(&x, NL_TUN_GTPU, &e, &in), NL_ENCAP_NONE);
    x.b[14 + 20 + 8 + 1] = 255;
    x.b[14 + 20 + 8 + 12] = 0;           /* extension length 0: a violation */
    CHECK_EQ(open_udp(&x, NL_TUN_GTPU, &e, &in), NL_ENCAP_BAD);

    /* Teredo with authentication and origin indication, through a relay
     * port: found by content */
    tcp(&x, 1286, 80, NL_TH_SYN, 1);
    ip6(&x, t6a, t6b, IPPROTO_TCP);
    h.n = 0;
    put16(&h, 1); put8(&h, 0); put8(&h, 0); put32(&h, 0); put32(&h, 0); put8(&h, 0);
    put16(&h, 0); put16(&h, 3544 ^ 0xffff); put8(&h, 192 ^ 0xff); put8(&h, 0 ^ 0xff);
    put8(&h, 2 ^ 0xff); put8(&h, 7 ^ 0xff);
    prepend(&x, &h);
    udp(&x, 3797, 32900);
    ip4(&x, U1, U2, IPPROTO_UDP, 0);
    eth(&x, 0x0800);
    CHECK_EQ(open_udp(&x, 0, &e, &in), NL_ENCAP_OK);
    CHECK_EQ(e.kind, NL_TUN_TEREDO);
    CHECK_EQ(e.notes & (NL_ENC_TEREDO_AUTH | NL_ENC_TEREDO_ORIGIN), NL_ENC_TEREDO_AUTH | NL_ENC_TEREDO_ORIGIN);
    CHECK(e.teredo_port == 3544 && e.teredo_ip[0] == 192 && e.teredo_ip[3] == 7);
    CHECK(in.ip_ver == 6 && in.proto == IPPROTO_TCP && in.sport == 1286);

    /* AYIYA: identity 2^4 bytes, signature 5*4 bytes, IPv6 inside */
    tcp(&x, 1286, 80, NL_TH_SYN, 1);
    ip6(&x, t6a, t6b, IPPROTO_TCP);
    h.n = 0;
    put8(&h, 0x41); put8(&h, 0x52); put8(&h, 0x11); put8(&h, 41); put32(&h, 0);
    for (int i = 0; i < 16 + 20; i++)
        put8(&h, 0);
    prepend(&x, &h);
    udp(&x, 53859, 5072);
    ip4(&x, U1, U2, IPPROTO_UDP, 0);
    eth(&x, 0x0800);
    CHECK_EQ(open_udp(&x, NL_TUN_AYIYA, &e, &in), NL_ENCAP_OK);
    CHECK(in.ip_ver == 6 && in.dport == 80);
}

static void test_ip_tunnels(void)
{
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    buf x, g;
    nl_packet p, in;
    nl_encap e;
    /* 6in4 */
    tcp(&x, 40000, 80, NL_TH_SYN, 1);
    ip6(&x, a6, b6, IPPROTO_TCP);
    ip4(&x, U1, U2, 41, 0);
    eth(&x, 0x0800);
    memset(&p, 0, sizeof p);
    decode_packet(&p, x.b, (uint32_t)x.n, (uint32_t)x.n, DLT_EN10MB, 0);
    CHECK_EQ(decode_encap_ip(&e, &p, x.b), NL_ENCAP_OK);
    CHECK_EQ(e.kind, NL_TUN_IP);
    CHECK(decode_inner(&in, &p, &e, x.b, 0) == 0 && in.ip_ver == 6 && in.dport == 80);
    /* GRE with a key, Ethernet bridged inside */
    tcp(&x, 40000, 22, NL_TH_SYN, 1);
    ip4(&x, HA, HB, IPPROTO_TCP, 0);
    eth(&x, 0x0800);
    g.n = 0;
    put16(&g, 0x2000); put16(&g, 0x6558); put32(&g, 1234);
    prepend(&x, &g);
    ip4(&x, U1, U2, 47, 0);
    eth(&x, 0x0800);
    decode_packet(&p, x.b, (uint32_t)x.n, (uint32_t)x.n, DLT_EN10MB, 0);
    CHECK_EQ(decode_encap_ip(&e, &p, x.b), NL_ENCAP_OK);
    CHECK(e.kind == NL_TUN_GRE && e.has_vni && e.vni == 1234);
    CHECK(decode_inner(&in, &p, &e, x.b, 0) == 0 && in.dport == 22 && (in.flags & NL_PKT_HAS_MAC));
    x.b[14 + 20] = 0x40;                 /* routing present (RFC 1701): refused */
    CHECK_EQ(decode_encap_ip(&e, &p, x.b), NL_ENCAP_BAD);
}

/* A GTP datagram in two IPv4 fragments is opened once, whole, with the
 * completing fragment's frame; a datagram whose rest never comes is
 * dropped and counted. */
static void test_fragments(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
    nl_tunnel_stats st;
    buf d, f1, f2;
    int bad = 0;
    const nl_flow *outer;
    size_t hdr = 14 + 20, split = 64;    /* payload bytes in the first fragment */

    tcp(&d, 40000, 80, NL_TH_SYN, 1);
    for (int i = 0; i < 100; i++)        /* some payload to split */
        put8(&d, 'x');
    ip4(&d, HA, HB, IPPROTO_TCP, 0);
    {
        buf h = {.n = 0};
        put8(&h, 0x30); put8(&h, 255); put16(&h, (unsigned)d.n); put32(&h, 7);
        prepend(&d, &h);
    }
    udp(&d, 2152, 2152);
    ip4(&d, U1, U2, IPPROTO_UDP, 0);
    eth(&d, 0x0800);
    /* fragment 1: header + split bytes, MF; fragment 2: the rest at split */
    memcpy(&f1, &d, sizeof d);
    f1.n = hdr + split;
    f1.b[14 + 2] = (uint8_t)((20 + split) >> 8); f1.b[14 + 3] = (uint8_t)(20 + split);
    f1.b[14 + 6] = 0x20;
    f2.n = 0;
    put(&f2, d.b + hdr + split, d.n - hdr - split);
    ip4(&f2, U1, U2, IPPROTO_UDP, (uint16_t)(split / 8));
    f2.b[4] = 0; f2.b[5] = 77;
    eth(&f2, 0x0800);
    CHECK(account(tt, ft, &f1, (uint32_t)f1.n, 1, &bad) == NULL);
    account(tt, ft, &f2, (uint32_t)f2.n, 2, &bad);
    outer = find(ft, IPPROTO_UDP, 2152);
    CHECK(outer && outer->pkts[0] == 1 && outer->first_frame == 2);
    CHECK(find(ft, IPPROTO_TCP, 80) != NULL);
    /* a first fragment alone */
    f1.b[14 + 5] = 78;
    account(tt, ft, &f1, (uint32_t)f1.n, 3, &bad);
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.frag_reassembled, 1);
    CHECK_EQ(st.frag_incomplete, 1);
    CHECK_EQ(bad, 0);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

/* VXLAN over IPv6 with UDP checksum 0 is opened with checksums verified
 * (Zeek's UDP analyzer accepts it on a VXLAN port); elsewhere 0 is bad. */
static void test_vxlan6_zero_csum(void)
{
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};
    for (int port = 0; port < 2; port++) {
        nl_flow_table *ft = flow_table_new(NULL);
        nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
        buf x;
        nl_packet p;
        int bad = 0;
        tcp(&x, 40000, 80, NL_TH_SYN, 1);
        ip4(&x, HA, HB, IPPROTO_TCP, 0);
        eth(&x, 0x0800);
        vxlan(&x, 42, 0x08);
        udp(&x, 39999, port ? 4789 : 4790);
        ip6(&x, a6, b6, IPPROTO_UDP);
        eth(&x, 0x86dd);
        memset(&p, 0, sizeof p);
        p.frame = 1;
        decode_packet(&p, x.b, (uint32_t)x.n, (uint32_t)x.n, DLT_EN10MB, 1);
        CHECK(p.flags & NL_PKT_BAD_CSUM);
        tunnel_frame_add(tt, ft, &p, x.b, 1, &bad);
        CHECK_EQ(find(ft, IPPROTO_TCP, 80) != NULL, port);
        tunnel_table_free(tt);
        flow_table_free(ft);
    }
}

/* A full table (max_entries) stops the bookkeeping, not the accounting. */
static void test_table_cap(void)
{
    nl_flow_table *ft = flow_table_new(NULL);
    nl_tunnel_table *tt = tunnel_table_new(NULL, 2);
    nl_tunnel_stats st;
    buf x;
    int bad = 0;
    size_t n;
    for (int i = 0; i < 4; i++) {
        frame_vxlan(&x, U1, U2, (uint16_t)(30000 + i), 42, 0x08, NL_TH_SYN);
        x.b[14 + 20 + 8 + 8 + 14 + 20 + 1] = (uint8_t)(i + 1);   /* another inner port */
        account(tt, ft, &x, (uint32_t)x.n, (uint64_t)i + 1, &bad);
    }
    flow_table_all(ft, &n);
    CHECK_EQ(n, 8);                    /* every carrier and every inner flow */
    tunnel_table_stats(tt, &st);
    CHECK_EQ(st.opened[NL_TUN_VXLAN], 4);
    CHECK(st.tunnels <= 2 && st.links <= 2 && st.untracked > 0);
    tunnel_table_free(tt);
    flow_table_free(ft);
}

static void test_conf(void)
{
    nl_tunnel_conf c;
    char err[160];
    tunnel_conf_default(&c);
    CHECK_EQ(tunnel_conf_kind(&c, 4789), NL_TUN_VXLAN);
    CHECK_EQ(tunnel_conf_kind(&c, 8472), NL_TUN_VXLAN);
    CHECK_EQ(tunnel_conf_kind(&c, 6081), NL_TUN_GENEVE);
    CHECK_EQ(tunnel_conf_kind(&c, 4790), NL_TUN_NONE);
    CHECK_EQ(tunnel_conf_add_port(&c, "vxlan=4790", err, sizeof err), 0);
    CHECK_EQ(tunnel_conf_kind(&c, 4790), NL_TUN_VXLAN);
    CHECK_EQ(tunnel_conf_add_port(&c, "geneve=4790", err, sizeof err), 0);
    CHECK_EQ(tunnel_conf_kind(&c, 4790), NL_TUN_GENEVE);   /* the latest wins */
    CHECK_EQ(tunnel_conf_add_port(&c, "ip=5", err, sizeof err), -1);
    CHECK_EQ(tunnel_conf_add_port(&c, "vxlan=0", err, sizeof err), -1);
    CHECK_EQ(tunnel_conf_add_port(&c, "vxlan=65536", err, sizeof err), -1);
    CHECK_EQ(tunnel_conf_add_port(&c, "vxlan=12x", err, sizeof err), -1);
    CHECK_EQ(tunnel_conf_add_port(&c, "4789", err, sizeof err), -1);
    CHECK_EQ(strcmp(decode_tun_name(NL_TUN_GTPU), "gtpu"), 0);
}

/* Every cut of every frame through the whole path: nothing read past the
 * cut (ASan), nothing accounted twice. */
static void test_every_cut(void)
{
    buf frames[3];
    frame_vxlan(&frames[0], U1, U2, 39999, 42, 0x08, NL_TH_SYN);
    tcp(&frames[1], 40000, 80, NL_TH_SYN, 1);
    ip4(&frames[1], HA, HB, IPPROTO_TCP, 0);
    ip4(&frames[1], U1, U2, 4, 0);
    eth(&frames[1], 0x0800);
    frame_vxlan(&frames[2], U1, U2, 39999, 42, 0x08, NL_TH_SYN);
    frames[2].b[14 + 20 + 4] = 0;        /* UDP length 0 (GSO capture) */
    frames[2].b[14 + 20 + 5] = 0;
    for (int k = 0; k < 3; k++) {
        for (uint32_t cut = 0; cut <= frames[k].n; cut++) {
            nl_flow_table *ft = flow_table_new(NULL);
            nl_tunnel_table *tt = tunnel_table_new(NULL, 0);
            int bad = 0;
            size_t n;
            account(tt, ft, &frames[k], cut, 1, &bad);
            flow_table_all(ft, &n);
            CHECK(n <= 2);
            tunnel_table_free(tt);
            flow_table_free(ft);
        }
    }
}

int main(void)
{
    test_vxlan_outer_and_inner();
    test_tunnel_changes();
    test_depth_bound();
    test_gre_loop();
    test_violation_sticks();
    test_geneve_gwlb();
    test_gtp_teredo_ayiya();
    test_ip_tunnels();
    test_fragments();
    test_table_cap();
    test_vxlan6_zero_csum();
    test_conf();
    test_every_cut();
    return UNIT_END();
}
