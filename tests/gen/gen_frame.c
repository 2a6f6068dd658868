/* gen_frame.c - addresses and frames: Ethernet + IPv4/IPv6 + TCP/UDP/ICMP
 * with every checksum valid, built from a gen_pkt description.
 */
#include <string.h>
#include "gen.h"

const uint8_t gen_mac_client[6] = {0x02, 0x00, 0x0a, 0x00, 0x00, 0x01};
const uint8_t gen_mac_gw_in[6]  = {0x02, 0x00, 0x0a, 0x00, 0x00, 0xfe};
const uint8_t gen_mac_gw_out[6] = {0x02, 0x00, 0xcb, 0x00, 0x71, 0x01};
const uint8_t gen_mac_server[6] = {0x02, 0x00, 0xc6, 0x33, 0x64, 0x19};

void gen_put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
void gen_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

static uint32_t gen_sum(const uint8_t *p, size_t n, uint32_t sum)
{
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        sum += ((uint32_t)p[i] << 8) | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t gen_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}


/* Build the Ethernet frame for `p` into f; returns its length. */
uint32_t gen_frame(uint8_t *f, const gen_pkt *p)
{
    uint32_t l3 = 14, l4, l4len, hl = 0, iphl;
    uint8_t *t;
    uint32_t sum;

    memcpy(f, p->dmac, 6);
    memcpy(f + 6, p->smac, 6);
    gen_put16(f + 12, p->src.v6 ? 0x86dd : 0x0800);
    iphl = p->src.v6 ? 40 : 20;
    l4 = l3 + iphl;
    t = f + l4;

    if (p->proto == 6) {
        uint8_t *o = t + 20;
        hl = 20;
        if (p->syn_opts) {   /* Linux order: MSS, SACKOK, TS, NOP, WS */
            o[0] = 2; o[1] = 4; gen_put16(o + 2, p->src.v6 ? 1440 : 1460);
            o[4] = 4; o[5] = 2;
            o[6] = 8; o[7] = 10; gen_put32(o + 8, p->tsval); gen_put32(o + 12, p->tsecr);
            o[16] = 1; o[17] = 3; o[18] = 3; o[19] = 7;
            hl += 20;
        } else if (p->ts_opt) {
            o[0] = 1; o[1] = 1; o[2] = 8; o[3] = 10;
            gen_put32(o + 4, p->tsval); gen_put32(o + 8, p->tsecr);
            hl += 12;
        }
        gen_put16(t, p->sport);
        gen_put16(t + 2, p->dport);
        gen_put32(t + 4, p->seq);
        gen_put32(t + 8, p->ack);
        t[12] = (uint8_t)((hl / 4) << 4);
        t[13] = p->flags;
        gen_put16(t + 14, p->win);
        t[16] = t[17] = 0;
        t[18] = t[19] = 0;
    } else if (p->proto == 17) {
        hl = 8;
        gen_put16(t, p->sport);
        gen_put16(t + 2, p->dport);
        gen_put16(t + 4, 8 + p->plen);
        t[6] = t[7] = 0;
    } else { /* ICMP / ICMPv6 echo */
        hl = 8;
        t[0] = p->icmp_type;
        t[1] = 0;
        t[2] = t[3] = 0;
        gen_put16(t + 4, p->sport);
        gen_put16(t + 6, p->icmp_seq);
    }
    if (p->plen)
        memcpy(t + hl, p->payload, p->plen);
    l4len = hl + p->plen;

    /* IP header */
    if (!p->src.v6) {
        uint8_t *ip = f + l3;
        ip[0] = 0x45; ip[1] = 0;
        gen_put16(ip + 2, 20 + l4len);
        gen_put16(ip + 4, p->ip_id);
        gen_put16(ip + 6, 0x4000);            /* DF */
        ip[8] = p->ttl; ip[9] = p->proto;
        ip[10] = ip[11] = 0;
        memcpy(ip + 12, p->src.b, 4);
        memcpy(ip + 16, p->dst.b, 4);
        gen_put16(ip + 10, gen_fold(gen_sum(ip, 20, 0)));
        if (p->proto == 1) {
            sum = gen_sum(t, l4len, 0);
        } else {
            sum = gen_sum(ip + 12, 8, 0) + p->proto + l4len;
            sum = gen_sum(t, l4len, sum);
        }
    } else {
        uint8_t *ip = f + l3;
        gen_put32(ip, 0x60000000u);
        gen_put16(ip + 4, l4len);
        ip[6] = p->proto;
        ip[7] = p->ttl;
        memcpy(ip + 8, p->src.b, 16);
        memcpy(ip + 24, p->dst.b, 16);
        sum = gen_sum(ip + 8, 32, 0) + p->proto + l4len;
        sum = gen_sum(t, l4len, sum);
    }
    {
        uint16_t c = gen_fold(sum);
        if (p->proto == 17 && c == 0)
            c = 0xffff;
        if (p->proto == 6)
            gen_put16(t + 16, c);
        else if (p->proto == 17)
            gen_put16(t + 6, c);
        else
            gen_put16(t + 2, c);
    }
    return l4 + l4len;
}

void gen_v4(gen_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
    memset(a, 0, sizeof *a);
    a->b[0] = x; a->b[1] = y; a->b[2] = z; a->b[3] = w;
}

void gen_v6(gen_addr *a, uint16_t net, uint32_t host)
{
    memset(a, 0, sizeof *a);
    a->v6 = 1;
    a->b[0] = 0x20; a->b[1] = 0x01; a->b[2] = 0x0d; a->b[3] = 0xb8; /* 2001:db8::/32 */
    gen_put16(a->b + 4, net);
    gen_put32(a->b + 12, host);
}

void gen_addr_str(const gen_addr *a, char *buf, size_t len)
{
    if (!a->v6) {
        snprintf(buf, len, "%u.%u.%u.%u", a->b[0], a->b[1], a->b[2], a->b[3]);
        return;
    }
    /* 2001:db8:NET::HOST-hi:HOST-lo, compressed the way inet_ntop does */
    snprintf(buf, len, "2001:db8:%x::%x:%x", (a->b[4] << 8) | a->b[5],
             (a->b[12] << 8) | a->b[13], (a->b[14] << 8) | a->b[15]);
    if (((a->b[4] << 8) | a->b[5]) == 0)
        snprintf(buf, len, "2001:db8::%x:%x", (a->b[12] << 8) | a->b[13], (a->b[14] << 8) | a->b[15]);
    if (((a->b[12] << 8) | a->b[13]) == 0) {
        if (((a->b[4] << 8) | a->b[5]) == 0)
            snprintf(buf, len, "2001:db8::%x", (a->b[14] << 8) | a->b[15]);
        else
            snprintf(buf, len, "2001:db8:%x::%x", (a->b[4] << 8) | a->b[5], (a->b[14] << 8) | a->b[15]);
    }
}

void gen_json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}
