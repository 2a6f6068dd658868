/* tunnel_table.c - the tunnels of one capture and the flows' links to
 * them (tunnel.h); tunnel_frame.c opens the frames.
 *
 * Tunnels are interned: the same encapsulating connection inside the same
 * parent is one entry, so "the packet came through the same tunnels as the
 * last one" is one integer comparison (Zeek compares EncapsulationStacks).
 * A UDP tunnel is keyed by its carrying flow, an IP tunnel by its two
 * addresses in either order (Zeek's IPTunnelAnalyzer map). Entries and
 * links live in arrays that double when full: allocation grows with
 * tunnels and tunnelled flows, never per packet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tunnel_int.h"

/* ---- configuration ---- */

void tunnel_conf_default(nl_tunnel_conf *c)
{
    memset(c, 0, sizeof *c);
    c->ports[NL_TUN_VXLAN][0] = 4789;   /* IANA */
    c->ports[NL_TUN_VXLAN][1] = 8472;   /* Linux's default before IANA */
    c->ports[NL_TUN_GENEVE][0] = 6081;
    c->ports[NL_TUN_GTPU][0] = 2152;
    c->ports[NL_TUN_GTPU][1] = 2123;    /* GTP-C: Zeek's GTPv1 analyzer reads both */
    c->ports[NL_TUN_TEREDO][0] = 3544;
    c->ports[NL_TUN_AYIYA][0] = 5072;
    c->ports[NL_TUN_GRE][0] = 4754;     /* GRE-in-UDP, RFC 8086 */
    c->max_depth = NL_TUN_MAX_DEPTH;
}

int tunnel_conf_add_port(nl_tunnel_conf *c, const char *spec, char *err, size_t errlen)
{
    char name[16];
    const char *eq = strchr(spec, '=');
    char *end;
    unsigned long port;
    int kind, i;
    size_t n = eq ? (size_t)(eq - spec) : 0;

    if (!eq || n == 0 || n >= sizeof name) {
        snprintf(err, errlen, "--tunnel-port wants KIND=PORT, e.g. vxlan=4790");
        return -1;
    }
    memcpy(name, spec, n);
    name[n] = '\0';
    kind = decode_tun_kind(name);
    if (kind == NL_TUN_NONE || kind == NL_TUN_IP) {
        snprintf(err, errlen, "--tunnel-port: unknown kind (vxlan, geneve, gtpu, teredo, ayiya, gre)");
        return -1;
    }
    port = strtoul(eq + 1, &end, 10);
    if (!eq[1] || *end || port == 0 || port > 65535) {
        snprintf(err, errlen, "--tunnel-port: the port must be 1-65535");
        return -1;
    }
    for (i = 0; i < NL_TUN_PORTS && c->ports[kind][i]; i++)
        if (c->ports[kind][i] == port)
            return 0;
    if (i == NL_TUN_PORTS) {
        snprintf(err, errlen, "--tunnel-port: at most %d ports for %s", NL_TUN_PORTS, name);
        return -1;
    }
    /* a port belongs to one kind: the latest assignment wins */
    for (int k = 1; k < NL_TUN_KINDS; k++)
        for (int j = 0; j < NL_TUN_PORTS && c->ports[k][j]; j++)
            if (c->ports[k][j] == port && k != kind) {
                memmove(&c->ports[k][j], &c->ports[k][j + 1],
                        (size_t)(NL_TUN_PORTS - 1 - j) * sizeof c->ports[k][0]);
                c->ports[k][NL_TUN_PORTS - 1] = 0;
                j--;
            }
    for (i = 0; i < NL_TUN_PORTS && c->ports[kind][i]; i++)
        ;
    c->ports[kind][i] = (uint16_t)port;
    return 0;
}

int tunnel_conf_kind(const nl_tunnel_conf *c, uint16_t port)
{
    for (int k = 1; k < NL_TUN_KINDS; k++)
        for (int i = 0; i < NL_TUN_PORTS && c->ports[k][i]; i++)
            if (c->ports[k][i] == port)
                return k;
    return NL_TUN_NONE;
}

/* ---- table life ---- */

nl_tunnel_table *tunnel_table_new(const nl_tunnel_conf *conf, uint32_t max_entries)
{
    nl_tunnel_table *tt = calloc(1, sizeof *tt);
    if (!tt)
        return NULL;
    if (conf)
        tt->conf = *conf;
    else
        tunnel_conf_default(&tt->conf);
    if (tt->conf.max_depth > NL_TUN_MAX_DEPTH * 4)
        tt->conf.max_depth = NL_TUN_MAX_DEPTH * 4;
    tt->max_entries = max_entries;
    return tt;
}

void tunnel_table_free(nl_tunnel_table *tt)
{
    if (!tt)
        return;
    tunnel_frag_free(tt);
    free(tt->tun);
    free(tt->bkt);
    free(tt->links);
    free(tt);
}

const nl_tunnel *tunnel_table_get(const nl_tunnel_table *tt, uint32_t id)
{
    return tt && id >= 1 && id <= tt->ntun ? &tt->tun[id - 1] : NULL;
}

const nl_tunnel_link *tunnel_table_link(const nl_tunnel_table *tt, const nl_flow *f)
{
    return tt && f && f->tunnel >= 1 && f->tunnel <= tt->nlinks ? &tt->links[f->tunnel - 1] : NULL;
}

void tunnel_table_stats(const nl_tunnel_table *tt, nl_tunnel_stats *st)
{
    *st = tt->st;
    st->tunnels = tt->ntun;
    st->links = tt->nlinks;
    st->frag_incomplete = tt->frag_dropped + tunnel_frag_pending(tt);
}

int tunnel_table_parent_key(const nl_tunnel_table *tt, uint32_t id, nl_flow *key)
{
    const nl_tunnel *t = tunnel_table_get(tt, id);
    memset(key, 0, sizeof *key);
    if (!t)
        return -1;
    key->proto = t->outer_flow ? 17 : t->proto;
    key->orig_ip = t->src;
    key->resp_ip = t->dst;
    key->orig_port = t->sport;
    key->resp_port = t->dport;
    key->first_ns = key->last_ns = t->key_ns;
    key->first_frame = t->key_frame;
    key->id = t->outer_flow;
    return 0;
}

/* ---- interning ---- */

static uint32_t tun_mix(uint32_t h, uint32_t v)
{
    h ^= v * 0xcc9e2d51u;
    h = (h << 15) | (h >> 17);
    return h * 0x1b873593u + 0xe6546b64u;
}

/* Key of a tunnel: parent and carrying flow (UDP), or parent and the
 * address pair in either order (IP). */
static uint32_t tun_hash(uint32_t parent, uint32_t flow, const nl_addr *a, const nl_addr *b)
{
    uint32_t h = tun_mix(0x9e3779b9u, parent), w[4], x[4];
    if (flow)
        return tun_mix(h, flow);
    memcpy(w, a->b, 16);
    memcpy(x, b->b, 16);
    for (int i = 0; i < 4; i++)
        h = tun_mix(h, w[i] ^ x[i]);     /* symmetric in a and b */
    return h;
}

static int tun_same(const nl_tunnel *t, uint32_t parent, uint32_t flow,
                    const nl_addr *a, const nl_addr *b)
{
    if (t->parent != parent || t->outer_flow != flow)
        return 0;
    if (flow)
        return 1;
    return (!nl_addr_cmp(&t->src, a) && !nl_addr_cmp(&t->dst, b)) ||
           (!nl_addr_cmp(&t->src, b) && !nl_addr_cmp(&t->dst, a));
}

static int tun_grow(nl_tunnel_table *tt)
{
    uint32_t nc = tt->cap ? tt->cap * 2 : 64, *nb;
    nl_tunnel *nt = realloc(tt->tun, (size_t)nc * sizeof *nt);
    if (!nt)
        return -1;
    tt->tun = nt;
    nb = calloc(nc, sizeof *nb);      /* buckets: as many as entries */
    if (!nb)
        return -1;
    free(tt->bkt);
    tt->bkt = nb;
    tt->cap = nc;
    for (uint32_t i = 0; i < tt->ntun; i++) {
        nl_tunnel *t = &tt->tun[i];
        uint32_t h = tun_hash(t->parent, t->outer_flow, &t->src, &t->dst) & (nc - 1);
        t->hnext = tt->bkt[h];
        tt->bkt[h] = t->id;
    }
    return 0;
}

uint32_t tunnel_table_intern(nl_tunnel_table *tt, uint32_t parent, int kind,
                             const nl_flow *carrier, const nl_packet *outer)
{
    const nl_addr *a = carrier ? &carrier->orig_ip : &outer->src;
    const nl_addr *b = carrier ? &carrier->resp_ip : &outer->dst;
    uint32_t flow = carrier ? carrier->id : 0, h, id;
    nl_tunnel *t;

    if (tt->cap) {
        h = tun_hash(parent, flow, a, b) & (tt->cap - 1);
        for (id = tt->bkt[h]; id; id = tt->tun[id - 1].hnext)
            if (tun_same(&tt->tun[id - 1], parent, flow, a, b))
                return id;
    }
    if (tt->max_entries && tt->ntun >= tt->max_entries)
        return 0;
    if (tt->ntun == tt->cap && tun_grow(tt) < 0)
        return 0;
    t = &tt->tun[tt->ntun];
    memset(t, 0, sizeof *t);
    t->id = ++tt->ntun;
    t->parent = parent;
    t->outer_flow = flow;
    t->kind = (uint8_t)kind;
    t->depth = (uint8_t)(parent ? tt->tun[parent - 1].depth + 1 : 1);
    /* GRE-in-UDP is a GRE tunnel between the two hosts, as Zeek names it */
    t->proto = !carrier && kind == NL_TUN_GRE ? 47 : outer->proto;
    t->src = *a;
    t->dst = *b;
    t->first_ns = outer->ts_ns;
    t->key_ns = outer->ts_ns;
    t->key_frame = outer->frame;
    if (carrier) {
        t->sport = carrier->orig_port;
        t->dport = carrier->resp_port;
        /* a UDP flow's roles are fixed by its first packet (Zeek flips
         * UDP only then): the carrier's key is final here */
        t->key_ns = carrier->first_ns;
        t->key_frame = carrier->first_frame;
    }
    h = tun_hash(parent, flow, a, b) & (tt->cap - 1);
    t->hnext = tt->bkt[h];
    tt->bkt[h] = t->id;
    return t->id;
}

nl_tunnel_link *tunnel_table_link_of(nl_tunnel_table *tt, nl_flow *f)
{
    nl_tunnel_link *l;
    if (f->tunnel)
        return f->tunnel <= tt->nlinks ? &tt->links[f->tunnel - 1] : NULL;
    if (tt->max_entries && tt->nlinks >= tt->max_entries)
        return NULL;
    if (tt->nlinks == tt->cap_links) {
        uint32_t nc = tt->cap_links ? tt->cap_links * 2 : 64;
        nl_tunnel_link *nl = realloc(tt->links, (size_t)nc * sizeof *nl);
        if (!nl)
            return NULL;
        tt->links = nl;
        tt->cap_links = nc;
    }
    l = &tt->links[tt->nlinks];
    memset(l, 0, sizeof *l);
    l->hist_len = f->hist_len;
    f->tunnel = ++tt->nlinks;
    return l;
}
