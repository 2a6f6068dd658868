/* tunnel_frag.c - IPv4 reassembly (RFC 791, RFC 815's hole idea) of
 * fragmented tunnel datagrams, so an encapsulated packet that did not fit
 * the underlay's MTU is opened whole, as Zeek and tshark do.
 *
 * Only tunnel traffic is held: a first fragment of UDP to or from a tunnel
 * port, or of IP-in-IP/GRE, opens a slot, and later fragments of the same
 * (source, destination, protocol, id) fill it. The datagram is accounted
 * when its last byte arrives, with the completing frame's time, number and
 * length (Zeek delivers it then; tshark counts that frame). A datagram that
 * never completes is dropped and counted, as Zeek drops it; other
 * fragments are accounted as before (first fragment as a packet, the rest
 * without ports). Out-of-order arrival of the first fragment is not waited
 * for. IPv6 fragments are not reassembled.
 *
 * Bounds: TF_SLOTS datagrams in flight (the oldest is dropped when a new one
 * needs a slot), each buffer allocated once and reused, TF_RANGES received
 * byte ranges per datagram, TF_TIMEOUT of capture time (Linux's
 * ipfrag_time).
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "decode_int.h"
#include "tunnel_int.h"

#define TF_DLT_IPV4 228                   /* LINKTYPE_IPV4: the buffer starts with IPv4 */

#define TF_SLOTS   64
#define TF_RANGES  16
#define TF_MAXLEN  65535u                 /* an IPv4 datagram, header included */
#define TF_TIMEOUT (30ull * 1000000000ull)

struct tunnel_frag {
    uint8_t  used;
    uint8_t  proto;
    uint16_t id;
    nl_addr  src, dst;
    uint64_t first_ns;
    uint32_t hlen;                        /* header copied from the first fragment */
    uint32_t total;                       /* payload length, from the last fragment; 0 unknown */
    uint8_t  nr;
    uint32_t r[TF_RANGES][2];             /* received payload [lo, hi), sorted, merged */
    uint8_t  hdr[60];                     /* the first fragment's IPv4 header */
    uint8_t *buf;                         /* TF_MAXLEN bytes, owned: payload at +60 */
};

static int frag_match(const tunnel_frag *s, const nl_packet *p)
{
    return s->used && s->id == p->ip_id && s->proto == p->proto &&
           !nl_addr_cmp(&s->src, &p->src) && !nl_addr_cmp(&s->dst, &p->dst);
}

/* Is this first fragment tunnel traffic worth holding? */
static int frag_is_tunnel(const nl_tunnel_table *tt, const nl_packet *p)
{
    if (p->proto == 4 || p->proto == 41 || p->proto == 47)
        return 1;
    return p->proto == 17 && (p->flags & NL_PKT_HAS_L4) &&
           (tunnel_conf_kind(&tt->conf, p->dport) || tunnel_conf_kind(&tt->conf, p->sport));
}

static void frag_drop(nl_tunnel_table *tt, tunnel_frag *s)
{
    s->used = 0;
    tt->frag_dropped++;
}

/* A free slot for a new datagram: unused, else timed out, else the oldest
 * (dropped). NULL only when a buffer cannot be allocated. */
static tunnel_frag *frag_slot(nl_tunnel_table *tt, uint64_t now)
{
    tunnel_frag *best = NULL;
    if (!tt->frag && !(tt->frag = calloc(TF_SLOTS, sizeof *tt->frag)))
        return NULL;
    for (int i = 0; i < TF_SLOTS; i++) {
        tunnel_frag *s = &tt->frag[i];
        if (s->used && now > s->first_ns + TF_TIMEOUT)
            frag_drop(tt, s);
        if (!s->used) {
            best = s;
            break;
        }
        if (!best || s->first_ns < best->first_ns)
            best = s;
    }
    if (best->used)
        frag_drop(tt, best);
    if (!best->buf && !(best->buf = malloc(TF_MAXLEN)))
        return NULL;
    return best;
}

/* Record [lo, hi) as received; 0 when the range list is full. */
static int frag_range(tunnel_frag *s, uint32_t lo, uint32_t hi)
{
    uint32_t i = 0, j;
    while (i < s->nr && s->r[i][1] < lo)
        i++;
    j = i;
    while (j < s->nr && s->r[j][0] <= hi) {   /* merge what touches [lo, hi) */
        if (s->r[j][0] < lo) lo = s->r[j][0];
        if (s->r[j][1] > hi) hi = s->r[j][1];
        j++;
    }
    if (j == i && s->nr == TF_RANGES)
        return 0;
    memmove(&s->r[i + 1], &s->r[j], (s->nr - j) * sizeof s->r[0]);
    s->nr = (uint8_t)(s->nr - (j - i) + 1);
    s->r[i][0] = lo;
    s->r[i][1] = hi;
    return 1;
}

/* The whole datagram as one packet: the first fragment's header (length
 * set, fragment fields cleared) before the payload, decoded with the
 * completing fragment's frame facts. */
static int frag_emit(nl_tunnel_table *tt, tunnel_frag *s, const nl_packet *p,
                     nl_packet *out, const uint8_t **out_bytes, int verify_csum)
{
    uint8_t *ip = s->buf + 60 - s->hlen;
    uint32_t len = s->hlen + s->total;
    memcpy(ip, s->hdr, s->hlen);
    ip[2] = (uint8_t)(len >> 8);
    ip[3] = (uint8_t)len;
    ip[6] &= 0x40;                        /* keep DF; MF and the offset go */
    ip[7] = 0;
    out->ts_ns = p->ts_ns;
    out->frame = p->frame;
    out->file_off = p->file_off;
    decode_packet(out, ip, len, len, TF_DLT_IPV4, verify_csum);
    out->wirelen = p->wirelen;            /* the completing frame, as tshark counts it */
    out->linktype = p->linktype;
    out->ifindex = p->ifindex;
    out->pkttype = p->pkttype;
    out->vlan = p->vlan;
    out->flags |= p->flags & (NL_PKT_HAS_IFINDEX | NL_PKT_HAS_MAC);
    memcpy(out->src_mac, p->src_mac, 6);
    memcpy(out->dst_mac, p->dst_mac, 6);
    s->used = 0;
    tt->st.frag_reassembled++;
    *out_bytes = ip;
    return 1;
}

int tunnel_frag_add(nl_tunnel_table *tt, const nl_packet *p, const uint8_t *b,
                    nl_packet *out, const uint8_t **out_bytes, int verify_csum)
{
    uint32_t hlen, plen, lo, hi;
    tunnel_frag *s = NULL;
    if (p->ip_ver != 4 || !(p->flags & NL_PKT_FRAGMENT) || (p->flags & NL_PKT_MALFORMED))
        return -1;
    hlen = (uint32_t)(b[p->ip_off] & 0x0f) * 4;
    if (hlen < 20 || p->ip_len < hlen || !dec_have(p->caplen, p->ip_off, p->ip_len))
        return -1;                        /* cut by the snap length: cannot reassemble */
    plen = p->ip_len - hlen;
    lo = p->frag_off;
    hi = lo + plen;
    for (int i = 0; tt->frag && i < TF_SLOTS && !s; i++)
        if (frag_match(&tt->frag[i], p))
            s = &tt->frag[i];
    if (!s) {
        if (lo != 0 || !frag_is_tunnel(tt, p) || !(s = frag_slot(tt, p->ts_ns)))
            return -1;
        memset(s, 0, offsetof(tunnel_frag, hdr));
        s->used = 1;
        s->proto = p->proto;
        s->id = p->ip_id;
        s->src = p->src;
        s->dst = p->dst;
        s->first_ns = p->ts_ns;
    }
    if (hi > TF_MAXLEN - 60 || !frag_range(s, lo, hi)) {
        frag_drop(tt, s);                 /* hostile: too long or too scattered */
        return 0;
    }
    if (lo == 0) {
        s->hlen = hlen;
        memcpy(s->hdr, b + p->ip_off, hlen);
    }
    memcpy(s->buf + 60 + lo, b + p->ip_off + hlen, plen);
    if (!(dec_be16(b + p->ip_off + 6) & 0x2000))
        s->total = hi;                    /* no more fragments: the end is known */
    if (!s->hlen || !s->total || s->nr != 1 || s->r[0][0] != 0 || s->r[0][1] != s->total)
        return 0;
    return frag_emit(tt, s, p, out, out_bytes, verify_csum);
}

uint32_t tunnel_frag_pending(const nl_tunnel_table *tt)
{
    uint32_t n = 0;
    for (int i = 0; tt->frag && i < TF_SLOTS; i++)
        n += tt->frag[i].used;
    return n;
}

void tunnel_frag_free(nl_tunnel_table *tt)
{
    for (int i = 0; tt->frag && i < TF_SLOTS; i++)
        free(tt->frag[i].buf);
    free(tt->frag);
    tt->frag = NULL;
}
