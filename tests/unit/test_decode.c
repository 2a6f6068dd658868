/* test_decode.c - decoders on hand-built frames: fields, link types, and
 * every cut length of every frame (run under `make asan` the exact-size
 * copies make any read past caplen a sanitizer error). */
#include <netinet/in.h>
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/decode.h"
#include "natlens/flow.h"
#include "unit.h"

static size_t put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; return 2; }
static size_t put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); return 4; }

/* IPv4 + TCP SYN with MSS, SACKOK, TS, WS options and `plen` payload bytes. */
static size_t build_ipv4_tcp(uint8_t *b, uint8_t flags, size_t plen)
{
    size_t ip = 0, tcp = 20, opt = 20;
    uint8_t opts[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7};
    memset(b, 0, 60 + plen);
    b[ip] = 0x45;
    put16(b + 2, (unsigned)(20 + 20 + opt + plen));
    put16(b + 4, 0x1234);
    b[8] = 64;
    b[9] = IPPROTO_TCP;
    memcpy(b + 12, (uint8_t[]){10, 72, 2, 222}, 4);
    memcpy(b + 16, (uint8_t[]){198, 51, 100, 80}, 4);
    put16(b + tcp, 51234);
    put16(b + tcp + 2, 25);
    put32(b + tcp + 4, 3104);
    put32(b + tcp + 8, 0);
    b[tcp + 12] = (uint8_t)((20 + opt) / 4) << 4;
    b[tcp + 13] = flags;
    put16(b + tcp + 14, 64240);
    memcpy(b + tcp + 20, opts, opt);
    for (size_t i = 0; i < plen; i++)
        b[60 + i] = (uint8_t)('A' + i % 26);
    return 60 + plen;
}

static int decode_copy(nl_packet *p, const uint8_t *b, uint32_t n, uint32_t wire, int lt)
{
    uint8_t *c = malloc(n ? n : 1);
    int rc;
    memcpy(c, b, n);
    memset(p, 0, sizeof *p);
    rc = decode_packet(p, c, n, wire, lt, 1);
    free(c);
    return rc;
}

static void test_ipv4_tcp(void)
{
    uint8_t b[200];
    nl_packet p;
    char s[64];
    size_t n = build_ipv4_tcp(b, NL_TH_SYN, 5);
    CHECK_EQ(decode_copy(&p, b, (uint32_t)n, (uint32_t)n, DLT_RAW), 0);
    CHECK_EQ(p.ip_ver, 4);
    CHECK_EQ(p.proto, IPPROTO_TCP);
    CHECK(strcmp(nl_addr_str(&p.src, s, sizeof s), "10.72.2.222") == 0);
    CHECK_EQ(p.sport, 51234);
    CHECK_EQ(p.dport, 25);
    CHECK_EQ(p.seq, 3104);
    CHECK_EQ(p.mss, 1460);
    CHECK_EQ(p.wscale, 7);
    CHECK_EQ(p.tsval, 1);
    CHECK(p.flags & NL_PKT_TCP_SACKOK);
    CHECK_EQ(p.payload_len, 5);
    CHECK_EQ(p.payload_caplen, 5);
    CHECK_EQ(p.payload_off, 60);
    CHECK_EQ(p.ip_id, 0x1234);
    /* checksum field is zero: verification must call it bad */
    CHECK(p.flags & NL_PKT_BAD_CSUM);
    CHECK(strcmp(decode_tcp_flags_str(NL_TH_SYN | NL_TH_ACK, s, sizeof s), "SYN,ACK") == 0);
}

static void test_cuts(void)
{
    uint8_t b[200], e[300];
    nl_packet p;
    size_t n = build_ipv4_tcp(b, NL_TH_SYN | NL_TH_ACK, 30);
    /* every cut of the raw frame: decoded fields never claim bytes beyond it */
    for (uint32_t cut = 0; cut <= n; cut++) {
        decode_copy(&p, b, cut, (uint32_t)n, DLT_RAW);
        CHECK(p.payload_off + p.payload_caplen <= cut || p.payload_caplen == 0);
        if (cut < 40)
            CHECK(!(p.flags & NL_PKT_HAS_L4) || cut >= 40);
        if (cut < n && cut >= 20)
            CHECK(p.payload_caplen < 30);
    }
    /* the same behind Ethernet + 802.1Q + 802.1ad */
    memset(e, 0, 22);
    memcpy(e, "\x00\x11\x22\x33\x44\x55\x00\x66\x77\x88\x99\xaa", 12);
    put16(e + 12, 0x88a8); put16(e + 14, 200);
    put16(e + 16, 0x8100); put16(e + 18, 2001);
    put16(e + 20, 0x0800);
    memcpy(e + 22, b, n);
    CHECK_EQ(decode_copy(&p, e, (uint32_t)(n + 22), (uint32_t)(n + 22), DLT_EN10MB), 0);
    CHECK_EQ(p.vlan, 200);
    CHECK_EQ(p.dport, 25);
    CHECK_EQ(p.src_mac[5], 0xaa);
    for (uint32_t cut = 0; cut <= n + 22; cut++)
        decode_copy(&p, e, cut, (uint32_t)(n + 22), DLT_EN10MB);
}

static void test_sll2_direction(void)
{
    uint8_t f[300];
    nl_packet p;
    size_t n = build_ipv4_tcp(f + 20, NL_TH_SYN | NL_TH_ACK, 0);
    memset(f, 0, 20);
    put16(f, 0x0800);
    put32(f + 4, 3);          /* ifindex */
    put16(f + 8, 1);          /* ARPHRD_ETHER */
    f[10] = NL_DIR_OUTGOING;
    f[11] = 6;
    memcpy(f + 12, "\x02\x00\x00\x00\x00\x01", 6);
    CHECK_EQ(decode_copy(&p, f, (uint32_t)(n + 20), (uint32_t)(n + 20), 276), 0);
    CHECK_EQ(p.ifindex, 3);
    CHECK_EQ(p.pkttype, NL_DIR_OUTGOING);
    CHECK(p.flags & NL_PKT_HAS_IFINDEX);
    CHECK_EQ(p.src_mac[5], 1);
    CHECK_EQ(p.tcp_flags, NL_TH_SYN | NL_TH_ACK);
}

static void test_ipv6_ext_and_icmp_error(void)
{
    uint8_t b[200];
    nl_packet p;
    memset(b, 0, sizeof b);
    /* IPv6, hop-by-hop ext header, then UDP */
    b[0] = 0x60;
    put16(b + 4, 8 + 8 + 4);
    b[6] = 0;     /* hop-by-hop */
    b[7] = 64;
    b[8] = 0x20; b[9] = 0x01; b[10] = 0x0d; b[11] = 0xb8; b[23] = 1;
    b[24] = 0x20; b[25] = 0x01; b[26] = 0x0d; b[27] = 0xb8; b[39] = 2;
    b[40] = IPPROTO_UDP; b[41] = 0;  /* ext: next=UDP, len 0 -> 8 bytes */
    put16(b + 48, 5353); put16(b + 50, 53); put16(b + 52, 12);
    CHECK_EQ(decode_copy(&p, b, 60, 60, DLT_RAW), 0);
    CHECK_EQ(p.ip_ver, 6);
    CHECK_EQ(p.proto, IPPROTO_UDP);
    CHECK_EQ(p.dport, 53);
    CHECK_EQ(p.payload_len, 4);

    /* ICMP port unreachable quoting a UDP packet */
    memset(b, 0, sizeof b);
    b[0] = 0x45; put16(b + 2, 20 + 8 + 28); b[8] = 64; b[9] = IPPROTO_ICMP;
    memcpy(b + 12, (uint8_t[]){198, 51, 100, 80}, 4);
    memcpy(b + 16, (uint8_t[]){203, 0, 113, 2}, 4);
    b[20] = 3; b[21] = 3;
    b[28] = 0x45; put16(b + 30, 28); b[37] = IPPROTO_UDP;
    memcpy(b + 40, (uint8_t[]){203, 0, 113, 2}, 4);
    memcpy(b + 44, (uint8_t[]){198, 51, 100, 80}, 4);
    put16(b + 48, 40000); put16(b + 50, 53);
    CHECK_EQ(decode_copy(&p, b, 56, 56, DLT_RAW), 0);
    CHECK(p.flags & NL_PKT_ICMP_ERROR);
    CHECK_EQ(p.q_proto, IPPROTO_UDP);
    CHECK_EQ(p.q_sport, 40000);
    CHECK_EQ(p.q_dport, 53);
    for (uint32_t cut = 0; cut <= 56; cut++)
        decode_copy(&p, b, cut, 56, DLT_RAW);
}

static void test_hostile(void)
{
    uint8_t b[200];
    nl_packet p;
    size_t n = build_ipv4_tcp(b, NL_TH_SYN, 0);
    b[0] = 0x4f;                 /* IHL 60 with 60 bytes captured: options swallow TCP */
    decode_copy(&p, b, (uint32_t)n, (uint32_t)n, DLT_RAW);
    CHECK(!(p.flags & NL_PKT_HAS_L4) || p.l4_off == 60);
    n = build_ipv4_tcp(b, NL_TH_SYN, 0);
    b[20 + 12] = 0xf0;           /* TCP data offset 60 > segment */
    decode_copy(&p, b, (uint32_t)n, (uint32_t)n, DLT_RAW);
    CHECK(p.flags & (NL_PKT_MALFORMED | NL_PKT_TRUNCATED));
    n = build_ipv4_tcp(b, NL_TH_SYN, 0);
    b[40 + 1] = 0;               /* option length 0 would loop forever */
    decode_copy(&p, b, (uint32_t)n, (uint32_t)n, DLT_RAW);
    CHECK(p.flags & NL_PKT_MALFORMED);
    n = build_ipv4_tcp(b, NL_TH_SYN, 0);
    b[40 + 1] = 200;             /* option running past the header */
    decode_copy(&p, b, (uint32_t)n, (uint32_t)n, DLT_RAW);
    CHECK(p.flags & NL_PKT_MALFORMED);
    /* random garbage on every link type: must simply return */
    srand(7);
    for (int i = 0; i < 20000; i++) {
        uint8_t g[128];
        uint32_t len = (uint32_t)(rand() % 128);
        static const int lts[] = {DLT_EN10MB, DLT_RAW, DLT_NULL, DLT_LOOP, DLT_LINUX_SLL, 276, 228, 229};
        for (uint32_t k = 0; k < len; k++)
            g[k] = (uint8_t)rand();
        if (len > 0 && i % 2)
            g[0] = (uint8_t)(0x40 | (g[0] & 0x0f));
        decode_copy(&p, g, len, len + (uint32_t)(rand() % 3000), lts[i % 8]);
    }
}

static void test_community_id(void)
{
    nl_flow f;
    char buf[64];
    memset(&f, 0, sizeof f);
    f.proto = IPPROTO_TCP;
    /* Suricata-verify community-id-ipv6 (community-id-seed: 7) */
    nl_addr_parse(&f.orig_ip, "2600:1f13:f8:d400:3a6:303c:e011:18eb");
    nl_addr_parse(&f.resp_ip, "2001:4860:4860::8888");
    f.orig_port = 33892;
    f.resp_port = 443;
    CHECK(strcmp(flow_community_id_seed(&f, 7, buf, sizeof buf), "1:PGf+a0eBbs1OhuPtJmsF0Sm51v4=") == 0);
    nl_addr_parse(&f.resp_ip, "2607:f8b0:400a:800::200e");
    f.orig_port = 60202;
    CHECK(strcmp(flow_community_id_seed(&f, 7, buf, sizeof buf), "1:ptJhMvufAbB5nLDNW77cB800wFM=") == 0);
    /* direction does not matter */
    flow_swap_roles(&f);
    CHECK(strcmp(flow_community_id_seed(&f, 7, buf, sizeof buf), "1:ptJhMvufAbB5nLDNW77cB800wFM=") == 0);
}

int main(void)
{
    test_ipv4_tcp();
    test_cuts();
    test_sll2_direction();
    test_ipv6_ext_and_icmp_error();
    test_hostile();
    test_community_id();
    return UNIT_END();
}
