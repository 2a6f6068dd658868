/* tunnel_frame.c - account one frame layer by layer (tunnel.h).
 *
 *   [IP | GRE | IP | UDP | VXLAN | Eth | IP | TCP]
 *    '- IP tunnel -'   '- UDP flow, carrier -'   '- inner flow
 *
 * Zeek's order is kept: a UDP packet is accounted to its flow first, then
 * its payload is opened when the flow's responder port names a tunnel
 * (or, on other ports, when the payload looks like Teredo or AYIYA), so the
 * carrier is logged as well as what it carries. An IP tunnel (IP-in-IP,
 * GRE) is opened before any flow is made: Zeek logs only what is inside.
 * At most conf.max_depth encapsulations per frame (Zeek's Tunnel::max_depth:
 * the carrier that would open one more gets history 'X'); two nl_packet
 * buffers on the stack alternate, nothing is allocated per packet.
 */
#include <string.h>
#include "tunnel_int.h"

#define TF_UDP 17

/* Zeek's 'X' (HIST_ANALYZER_LIMIT_REACHED, once per connection, never
 * re-cased): at `pos`, where the packet that reached the limit began its
 * letters (tunnel changes are checked before the packet is analysed), or
 * at the end (a tunnel too deep to open, found after). */
static void tf_hist_insert_x(nl_flow *f, uint32_t pos)
{
    if ((size_t)f->hist_len + 1 >= sizeof f->history)
        return;
    if (pos > f->hist_len)
        pos = f->hist_len;
    memmove(f->history + pos + 1, f->history + pos, (size_t)f->hist_len - pos + 1);
    f->history[pos] = 'X';
    f->hist_len++;
}

static void tf_add_parent(nl_tunnel_link *l, uint32_t id)
{
    for (int i = 0; i < l->nparents; i++)
        if (l->parents[i] == id)
            return;
    if (l->nparents < NL_TUN_PARENTS)
        l->parents[l->nparents++] = id;
}

/* What the innermost header said about this flow's packets: the first
 * VNI/TEID, AWS GWLB's ids, Teredo's origin indication. */
static void tf_note(nl_tunnel_link *l, const nl_encap *e)
{
    if (e->has_vni && !l->has_vni) {
        l->vni = e->vni;
        l->has_vni = 1;
    }
    if ((e->notes & NL_ENC_GWLB_ENI) && !(l->notes & NL_ENC_GWLB_ENI))
        l->gwlb_eni = e->gwlb_eni;
    if ((e->notes & NL_ENC_GWLB_ATTACH) && !(l->notes & NL_ENC_GWLB_ATTACH))
        l->gwlb_attach = e->gwlb_attach;
    if ((e->notes & NL_ENC_GWLB_COOKIE) && !(l->notes & NL_ENC_GWLB_COOKIE))
        l->gwlb_cookie = e->gwlb_cookie;
    if ((e->notes & NL_ENC_TEREDO_ORIGIN) && !(l->notes & NL_ENC_TEREDO_ORIGIN)) {
        l->teredo_port = e->teredo_port;
        memcpy(l->teredo_ip, e->teredo_ip, 4);
    }
    l->notes |= e->notes;
}

/* Zeek's Connection::CheckEncapsulation for the packet `p` that just went
 * to f through tunnel `stack` (0: none): tunnel_parents, and after
 * NL_TUN_CHANGES changes of tunnel the letter 'X'. */
static void tf_track(nl_tunnel_table *tt, nl_flow *f, const nl_packet *p, uint32_t stack,
                     const nl_encap *e)
{
    nl_tunnel_link *l;
    int fresh;
    if (!f || (!stack && !f->tunnel))
        return;                         /* the common case: never tunnelled */
    fresh = !f->tunnel && f->first_frame == p->frame;
    if (!(l = tunnel_table_link_of(tt, f))) {
        tt->st.untracked++;
        return;
    }
    if (fresh) {
        l->cur = stack;
        if (stack)
            tf_add_parent(l, stack);
    } else if (l->cur != stack) {
        if (l->changes >= NL_TUN_CHANGES) {
            if (!l->x_added) {
                tf_hist_insert_x(f, l->hist_len);
                l->x_added = 1;
            }
        } else {
            l->changes++;
            if (stack)
                tf_add_parent(l, stack);
        }
        l->cur = stack;
    }
    if (stack) {
        nl_tunnel *t = &tt->tun[stack - 1];
        tf_note(l, e);
        t->packets++;
        t->last_ns = p->ts_ns;
    }
    l->hist_len = f->hist_len;
}

/* The kind a UDP packet of flow f opens: by the responder's port as Zeek
 * dispatches, else by the originator's when that port would have made it
 * the responder (a port given to the table alone, without the trace's
 * likely server ports), else by content (Teredo, AYIYA: *guessed = 1). */
static int tf_udp_kind(const nl_tunnel_table *tt, const nl_flow *f, const nl_packet *p,
                       const uint8_t *b, int *guessed)
{
    int k = tunnel_conf_kind(&tt->conf, f->resp_port);
    *guessed = 0;
    if (k)
        return k;
    k = tunnel_conf_kind(&tt->conf, f->orig_port);
    if (k && !f->flipped)
        return k;
    *guessed = 1;
    return decode_encap_detect(p, b);
}

/* Decode the packet inside e into q: 1 when it is IP. A broken inner
 * header counts the frame as malformed. */
static int tf_inner(nl_packet *q, const nl_packet *p, const nl_encap *e, const uint8_t *b,
                    int verify_csum, int *bad)
{
    int rc = decode_inner(q, p, e, b, verify_csum);
    if (q->flags & (NL_PKT_MALFORMED | NL_PKT_TRUNCATED))
        *bad = 1;
    return rc == 0 && q->ip_ver != 0;
}

/* Open the UDP payload of p (flow f) as a tunnel: 1 with *e filled,
 * 0 when nothing opens. */
static int tf_open_udp(nl_tunnel_table *tt, nl_flow *f, const nl_packet *p,
                       const uint8_t *b, uint32_t stack, int depth, nl_encap *e, int *bad)
{
    nl_tunnel_link *l;
    int kind, rc, guessed;
    if (!f || p->proto != TF_UDP || !(p->flags & NL_PKT_HAS_L4) ||
        (p->flags & NL_PKT_BAD_CSUM) || p->payload_caplen == 0)
        return 0;                       /* Zeek stops at a bad checksum */
    if (!(kind = tf_udp_kind(tt, f, p, b, &guessed)))
        return 0;
    /* a full table only loses the flow's memory (violations, 'X' once) */
    if (!(l = tunnel_table_link_of(tt, f)))
        tt->st.untracked++;
    if (l && (l->violated & (1u << kind)))
        return 0;
    if (depth >= tt->conf.max_depth) {
        tt->st.too_deep++;
        if (tt->conf.max_depth)
            *bad = 1;                   /* nested past the bound: a loop or hostile */
        if (l && !l->x_added && tt->conf.max_depth) {
            tf_hist_insert_x(f, f->hist_len);   /* after this packet's letters */
            l->x_added = 1;
            l->hist_len = f->hist_len;
        }
        return 0;
    }
    /* GTP is never carried in GTP: a GTP port inside is plain UDP */
    if (kind == NL_TUN_GTPU && stack && tt->tun[stack - 1].kind == NL_TUN_GTPU)
        return 0;
    rc = decode_encap_udp(e, kind, p, b);
    if (rc == NL_ENCAP_BAD) {
        /* on a tunnel's port a broken header is damage; a payload that only
         * looked like Teredo or AYIYA was something else */
        if (!guessed)
            *bad = 1;
        if (l && kind != NL_TUN_GTPU)   /* Zeek's GTP analyzer keeps trying */
            l->violated |= (uint8_t)(1u << kind);
        return 0;
    }
    if (rc != NL_ENCAP_OK)
        return 0;
    if (l) {
        l->carrier = (uint8_t)kind;
        l->carried++;
    }
    return 1;
}

/* Zeek's UDP analyzer: on a VXLAN port a datagram that looks like VXLAN
 * and carries checksum 0 (allowed over IPv6 for tunnels, RFC 6935) is not
 * judged by its checksum. */
static int tf_vxlan_zero_csum(const nl_tunnel_table *tt, const nl_packet *p, const uint8_t *b)
{
    return p->proto == TF_UDP && (p->flags & NL_PKT_BAD_CSUM) && p->l4_off + 8u <= p->caplen &&
           b[p->l4_off + 6] == 0 && b[p->l4_off + 7] == 0 &&
           tunnel_conf_kind(&tt->conf, p->dport) == NL_TUN_VXLAN &&
           p->payload_caplen > 8 + 14 && (b[p->payload_off] & 0x08);
}

/* Open an IP tunnel (IP-in-IP, GRE) around p into q: 1 when an IP packet
 * was found inside. */
static int tf_open_ip(nl_tunnel_table *tt, const nl_packet *p, const uint8_t *b, int depth,
                      nl_encap *e, nl_packet *q, int verify_csum, int *bad)
{
    int rc = decode_encap_ip(e, p, b);
    if (rc == NL_ENCAP_BAD)
        *bad = 1;
    if (rc != NL_ENCAP_OK)
        return 0;
    if (depth >= tt->conf.max_depth) {
        tt->st.too_deep++;
        if (tt->conf.max_depth)
            *bad = 1;                   /* nested past the bound: a loop or hostile */
        return 0;
    }
    return tf_inner(q, p, e, b, verify_csum, bad);
}

nl_flow *tunnel_frame_add(nl_tunnel_table *tt, nl_flow_table *ft, const nl_packet *pkt,
                          const uint8_t *b, int verify_csum, int *malformed)
{
    nl_packet buf[2], whole, fixed;
    const nl_packet *p = pkt;
    nl_encap e, last;
    uint32_t stack = 0;
    int depth = 0, bad = 0, lost = 0;
    nl_flow *f = NULL;

    if (pkt->flags & NL_PKT_FRAGMENT) {
        /* a fragment of tunnel traffic waits for the rest of its datagram */
        int rc = tunnel_frag_add(tt, pkt, b, &whole, &b, verify_csum);
        if (rc == 0)
            return NULL;
        if (rc == 1)
            p = &whole;
    }
    memset(&last, 0, sizeof last);
    for (;;) {
        nl_packet *q = &buf[depth & 1];
        int kind_ip = p->proto == 4 || p->proto == 41 || p->proto == 47;
        if (!(kind_ip && tf_open_ip(tt, p, b, depth, &e, q, verify_csum, &bad))) {
            /* a flow: account it, then maybe open its UDP payload */
            if (tf_vxlan_zero_csum(tt, p, b)) {
                fixed = *p;
                fixed.flags &= ~(uint32_t)NL_PKT_BAD_CSUM;
                p = &fixed;
            }
            f = flow_table_add(ft, p, b);
            if (!lost)
                tf_track(tt, f, p, stack, &last);
            if (!tf_open_udp(tt, f, p, b, stack, depth, &e, &bad) ||
                !tf_inner(q, p, &e, b, verify_csum, &bad))
                break;
            if (q->proto == 59 && e.kind == NL_TUN_TEREDO) {
                tt->st.opened[e.kind]++;
                depth++;
                break;                  /* a Teredo bubble: keepalive, no flow */
            }
        }
        /* opened: GRE-in-UDP is an IP tunnel between the hosts (Zeek) */
        if (!lost)
            stack = tunnel_table_intern(tt, stack, e.kind,
                                        kind_ip || e.kind == NL_TUN_GRE ? NULL : f, p);
        if (!lost && !stack) {
            tt->st.untracked++;
            lost = 1;                   /* table full: no bookkeeping below */
        }
        tt->st.opened[e.kind]++;
        last = e;
        depth++;
        p = q;
    }
    if (depth)
        tt->st.frames++;
    if (bad) {
        tt->st.malformed++;
        *malformed = 1;
    }
    return f;
}
