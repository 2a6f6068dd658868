/* flow.c - small facts about one flow: role swap, Community ID, names. */
#include <netinet/in.h>
#include <nettle/base64.h>
#include <nettle/sha1.h>
#include <stdio.h>
#include <string.h>
#include "natlens/flow.h"

#define SWAP(a, b) do { __typeof__(a) tmp_ = (a); (a) = (b); (b) = tmp_; } while (0)

void flow_swap_roles(nl_flow *f)
{
    SWAP(f->orig_ip, f->resp_ip);
    SWAP(f->orig_port, f->resp_port);
    SWAP(f->pkts[0], f->pkts[1]);
    SWAP(f->ip_bytes[0], f->ip_bytes[1]);
    SWAP(f->bytes[0], f->bytes[1]);
    SWAP(f->frame_bytes[0], f->frame_bytes[1]);
    SWAP(f->ifindex[0], f->ifindex[1]);
    SWAP(f->sig[0], f->sig[1]);
    SWAP(f->ep[0], f->ep[1]);
    {
        uint8_t m[6];
        memcpy(m, f->mac[0], 6);
        memcpy(f->mac[0], f->mac[1], 6);
        memcpy(f->mac[1], m, 6);
    }
    for (int i = 0; i < f->hist_len; i++) {
        char c = f->history[i];
        if (c >= 'a' && c <= 'z')
            f->history[i] = (char)(c - 'a' + 'A');
        else if (c >= 'A' && c <= 'Z')
            f->history[i] = (char)(c - 'A' + 'a');
    }
    for (int i = 0; i < f->nrecs; i++)
        f->recs[i].dir ^= 1;
    f->flipped ^= 1;
}

const nl_addr *flow_icmp_err_from(const nl_flow *f)
{
    static const nl_addr none;
    return f->ext ? &f->ext->icmp_err_from : &none;
}

/* ICMP type -> counterpart type for Community ID (spec's table). */
static int icmp_counterpart(int v6, uint8_t t, int *one_way)
{
    static const int v4[][2] = {{8, 0}, {0, 8}, {13, 14}, {14, 13}, {15, 16}, {16, 15},
                                {17, 18}, {18, 17}, {10, 9}, {9, 10}};
    static const int v6t[][2] = {{128, 129}, {129, 128}, {133, 134}, {134, 133}, {135, 136},
                                 {136, 135}, {130, 131}, {131, 130}, {144, 145}, {145, 144},
                                 {139, 140}, {140, 139}};
    size_t i;
    *one_way = 0;
    if (!v6) {
        for (i = 0; i < sizeof v4 / sizeof v4[0]; i++)
            if (v4[i][0] == t)
                return v4[i][1];
    } else {
        for (i = 0; i < sizeof v6t / sizeof v6t[0]; i++)
            if (v6t[i][0] == t)
                return v6t[i][1];
    }
    *one_way = 1;
    return -1;
}

char *flow_community_id(const nl_flow *f, char *buf, size_t len)
{
    return flow_community_id_seed(f, 0, buf, len);
}

char *flow_community_id_seed(const nl_flow *f, uint16_t seed, char *buf, size_t len)
{
    uint8_t in[2 + 16 + 16 + 1 + 1 + 2 + 2];
    uint8_t digest[SHA1_DIGEST_SIZE];
    char b64[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE) + 1];
    struct sha1_ctx ctx;
    const nl_addr *a = &f->orig_ip, *b = &f->resp_ip;
    uint16_t pa = f->orig_port, pb = f->resp_port;
    int v4 = nl_addr_is_v4(a), alen = v4 ? 4 : 16, off = v4 ? 12 : 0, one_way = 0;
    size_t n = 0;

    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
        int v6 = f->proto == IPPROTO_ICMPV6;
        int echo = v6 ? (f->icmp_type == 128 || f->icmp_type == 129)
                      : (f->icmp_type == 8 || f->icmp_type == 0);
        uint8_t t = echo ? f->icmp_type : (uint8_t)f->orig_port;
        int c = icmp_counterpart(v6, t, &one_way);
        pa = t;
        pb = one_way ? (echo ? 0 : f->resp_port) : (uint16_t)c;
    }
    /* order the endpoints so both directions give the same ID */
    int cmp = memcmp(a->b + off, b->b + off, (size_t)alen);
    if (!one_way && (cmp > 0 || (cmp == 0 && pa > pb))) {
        const nl_addr *t = a;
        uint16_t tp = pa;
        a = b; b = t; pa = pb; pb = tp;
    }
    in[n++] = (uint8_t)(seed >> 8);
    in[n++] = (uint8_t)seed;
    memcpy(in + n, a->b + off, (size_t)alen); n += (size_t)alen;
    memcpy(in + n, b->b + off, (size_t)alen); n += (size_t)alen;
    in[n++] = f->proto;
    in[n++] = 0;
    in[n++] = (uint8_t)(pa >> 8); in[n++] = (uint8_t)pa;
    in[n++] = (uint8_t)(pb >> 8); in[n++] = (uint8_t)pb;
    if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP && f->proto != IPPROTO_ICMP &&
        f->proto != IPPROTO_ICMPV6 && f->proto != 132 /* SCTP */)
        n -= 4; /* no ports for other protocols */
    sha1_init(&ctx);
    sha1_update(&ctx, n, in);
    sha1_digest(&ctx, SHA1_DIGEST_SIZE, digest);
    base64_encode_raw(b64, SHA1_DIGEST_SIZE, digest);
    b64[BASE64_ENCODE_RAW_LENGTH(SHA1_DIGEST_SIZE)] = '\0';
    snprintf(buf, len, "1:%s", b64);
    return buf;
}

const char *flow_proto_name(uint8_t proto, char *buf, size_t len)
{
    switch (proto) {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmp";  /* Zeek says "icmp" for both */
    default:
        snprintf(buf, len, "%u", proto);
        return buf;
    }
}
