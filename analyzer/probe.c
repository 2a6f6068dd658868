/* probe.c - encode and recognise natlens marked probes (format: probe.h).
 *
 * probe_recognize() runs on every packet the analyzer reads, so it rejects
 * in a few compares: L4 present, TCP/UDP, captured payload at least
 * NL_PROBE_PAYLOAD_LEN, then the 8-byte magic, then the check word. All
 * reads stay inside the captured payload span. */
#include <string.h>
#include <netinet/in.h>
#include "natlens/probe.h"

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t probe_fnv1a(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Copy a NUL-padded fixed field into a C string, keeping only printable
 * ASCII so a hostile payload cannot put control bytes into reports. */
static void probe_field_str(char *dst, const uint8_t *src)
{
    size_t i;
    for (i = 0; i < NL_PROBE_NAME_LEN && src[i]; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[i] = '\0';
}

/* Fixed 16-byte NUL-padded field (buf already zeroed). */
static void probe_put_field(uint8_t *dst, const char *s)
{
    for (size_t i = 0; i < NL_PROBE_NAME_LEN && s[i]; i++)
        dst[i] = (uint8_t)s[i];
}

uint32_t probe_isn(uint32_t seq)
{
    return ((uint32_t)NL_PROBE_ISN_MAGIC << 16) | (seq & 0xffffu);
}

uint16_t probe_ip_id(uint32_t seq)
{
    return (uint16_t)((NL_PROBE_IPID_MAGIC << 8) | (seq & 0xffu));
}

int probe_encode(uint8_t *buf, size_t len, const nl_probe_info *in)
{
    if (!buf || !in || len < NL_PROBE_PAYLOAD_LEN)
        return -1;
    memset(buf, 0, NL_PROBE_PAYLOAD_LEN);
    memcpy(buf, NL_PROBE_MAGIC, NL_PROBE_MAGIC_LEN);
    buf[8] = NL_PROBE_VERSION;
    buf[9] = in->proto;
    put_be16(buf + 10, in->dst_port);
    memcpy(buf + 12, in->inner_ip.b, 16);
    probe_put_field(buf + 28, in->via);
    probe_put_field(buf + 44, in->session);
    put_be32(buf + 60, in->seq);
    put_be32(buf + 64, (uint32_t)(in->ts_ns >> 32));
    put_be32(buf + 68, (uint32_t)in->ts_ns);
    put_be32(buf + 72, probe_fnv1a(buf, 72));
    return NL_PROBE_PAYLOAD_LEN;
}

int probe_decode_payload(const uint8_t *p, size_t len, nl_probe_info *out)
{
    if (!p || len < NL_PROBE_PAYLOAD_LEN)
        return -1;
    if (memcmp(p, NL_PROBE_MAGIC, NL_PROBE_MAGIC_LEN) != 0)
        return -1;
    if (p[8] != NL_PROBE_VERSION)
        return -1;
    if (get_be32(p + 72) != probe_fnv1a(p, 72))
        return -1;
    memset(out, 0, sizeof *out);
    out->proto = p[9];
    out->dst_port = (uint16_t)((p[10] << 8) | p[11]);
    memcpy(out->inner_ip.b, p + 12, 16);
    probe_field_str(out->via, p + 28);
    probe_field_str(out->session, p + 44);
    out->seq = get_be32(p + 60);
    out->ts_ns = ((uint64_t)get_be32(p + 64) << 32) | get_be32(p + 68);
    return 0;
}

int probe_recognize(const nl_packet *pkt, const uint8_t *frame,
                    nl_probe_info *out)
{
    const uint8_t *pl;

    if (!pkt || !frame || !out)
        return 0;
    if (!(pkt->flags & NL_PKT_HAS_L4))
        return 0;
    if (pkt->proto != IPPROTO_TCP && pkt->proto != IPPROTO_UDP)
        return 0;
    if (pkt->payload_caplen < NL_PROBE_PAYLOAD_LEN)
        return 0;
    /* The span must lie inside the captured frame. */
    if (pkt->payload_off > pkt->caplen ||
        pkt->payload_caplen > pkt->caplen - pkt->payload_off)
        return 0;
    pl = frame + pkt->payload_off;
    if (pl[0] != 'N' || memcmp(pl, NL_PROBE_MAGIC, NL_PROBE_MAGIC_LEN) != 0)
        return 0;
    if (probe_decode_payload(pl, pkt->payload_caplen, out) != 0)
        return 0;
    out->seen_as_ip = pkt->src;
    out->seen_as_port = pkt->sport;
    out->seen_dst_ip = pkt->dst;
    out->seen_dst_port = pkt->dport;
    out->seen_ts_ns = pkt->ts_ns;
    return 1;
}
