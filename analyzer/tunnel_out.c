/* tunnel_out.c - a flow's tunnel facts as JSON members (tunnel.h), for
 * flow_out_json_tun(): what carried it, the VNI, Zeek's tunnel_parents;
 * and for a UDP flow that carries a tunnel, which kind. */
#include <stdio.h>
#include "natlens/tunnel.h"
#include "natlens/tunnel_out.h"

/* One tunnel: {"kind","proto","orig_ip","orig_port","resp_ip","resp_port",
 * "flow"} (ports and flow only for UDP tunnels). */
static void tunnel_out_one(nl_json *j, const char *key, const nl_tunnel *t)
{
    char buf[32];
    json_obj_begin(j, key);
    json_str(j, "kind", decode_tun_name(t->kind));
    snprintf(buf, sizeof buf, "%s", t->proto == 17 ? "udp" : t->proto == 47 ? "gre" :
             t->proto == 4 ? "ipip" : t->proto == 41 ? "ipv6" : "?");
    json_str(j, "proto", buf);
    json_addr(j, "orig_ip", &t->src);
    if (t->outer_flow)
        json_uint(j, "orig_port", t->sport);
    json_addr(j, "resp_ip", &t->dst);
    if (t->outer_flow) {
        json_uint(j, "resp_port", t->dport);
        json_uint(j, "flow", t->outer_flow);
    }
    json_obj_end(j);
}

static void tunnel_out_hex64(nl_json *j, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%016llx", (unsigned long long)v);
    json_str(j, key, buf);
}

void tunnel_out_json(nl_json *j, const nl_tunnel_table *tt, const nl_flow *f)
{
    const nl_tunnel_link *l = tunnel_table_link(tt, f);
    const nl_tunnel *t;
    if (!l)
        return;
    if (l->carrier) {
        json_str(j, "carries", decode_tun_name(l->carrier));
        json_uint(j, "carried_pkts", l->carried);
    }
    if (!l->nparents || !(t = tunnel_table_get(tt, l->parents[0])))
        return;
    json_obj_begin(j, "tunnel");
    json_str(j, "kind", decode_tun_name(t->kind));
    if (l->has_vni)
        json_uint(j, t->kind == NL_TUN_GTPU ? "teid" : t->kind == NL_TUN_GRE ? "key" : "vni",
                  l->vni);
    json_uint(j, "depth", t->depth);
    /* the path, outermost first: bounded by the table's nesting depth */
    {
        const nl_tunnel *chain[4 * NL_TUN_MAX_DEPTH];
        int n = 0;
        for (const nl_tunnel *c = t; c && n < (int)(sizeof chain / sizeof chain[0]);
             c = tunnel_table_get(tt, c->parent))
            chain[n++] = c;
        json_arr_begin(j, "path");
        while (n-- > 0)
            tunnel_out_one(j, NULL, chain[n]);
        json_arr_end(j);
    }
    json_arr_begin(j, "parents");
    for (int i = 0; i < l->nparents; i++)
        if ((t = tunnel_table_get(tt, l->parents[i])))
            tunnel_out_one(j, NULL, t);
    json_arr_end(j);
    if (l->changes)
        json_uint(j, "changes", l->changes);
    if (l->notes & (NL_ENC_GWLB_ENI | NL_ENC_GWLB_ATTACH | NL_ENC_GWLB_COOKIE)) {
        json_obj_begin(j, "aws_gwlb");
        if (l->notes & NL_ENC_GWLB_ENI)
            tunnel_out_hex64(j, "endpoint_id", l->gwlb_eni);
        if (l->notes & NL_ENC_GWLB_ATTACH)
            tunnel_out_hex64(j, "attachment_id", l->gwlb_attach);
        if (l->notes & NL_ENC_GWLB_COOKIE)
            json_uint(j, "flow_cookie", l->gwlb_cookie);
        json_obj_end(j);
    }
    if (l->notes & NL_ENC_TEREDO_ORIGIN) {
        nl_addr a;
        nl_addr_from_v4(&a, l->teredo_ip);
        json_obj_begin(j, "teredo_origin");
        json_addr(j, "ip", &a);
        json_uint(j, "port", l->teredo_port);
        json_obj_end(j);
    }
    if (l->notes & NL_ENC_TEREDO_AUTH)
        json_bool(j, "teredo_auth", 1);
    json_obj_end(j);
}

void tunnel_out_json_stats(nl_json *j, const char *key, const nl_tunnel_table *tt)
{
    nl_tunnel_stats st;
    if (!tt)
        return;
    tunnel_table_stats(tt, &st);
    if (!st.frames && !st.malformed && !st.frag_incomplete && !st.too_deep)
        return;
    json_obj_begin(j, key);
    json_uint(j, "frames", st.frames);
    json_obj_begin(j, "opened");
    for (int k = 1; k < NL_TUN_KINDS; k++)
        if (st.opened[k])
            json_uint(j, decode_tun_name(k), st.opened[k]);
    json_obj_end(j);
    json_uint(j, "malformed", st.malformed);
    json_uint(j, "too_deep", st.too_deep);
    json_uint(j, "fragments_reassembled", st.frag_reassembled);
    json_uint(j, "fragments_incomplete", st.frag_incomplete);
    if (st.untracked)
        json_uint(j, "untracked", st.untracked);
    json_obj_end(j);
}

void tunnel_out_text_stats(FILE *out, const nl_tunnel_table *tt)
{
    nl_tunnel_stats st;
    int first = 1;
    if (!tt)
        return;
    tunnel_table_stats(tt, &st);
    if (st.frames) {
        fprintf(out, "  tunnels: %llu frames opened (", (unsigned long long)st.frames);
        for (int k = 1; k < NL_TUN_KINDS; k++)
            if (st.opened[k]) {
                fprintf(out, "%s%s %llu", first ? "" : ", ", decode_tun_name(k),
                        (unsigned long long)st.opened[k]);
                first = 0;
            }
        fprintf(out, ")\n");
    }
    if (st.malformed)
        fprintf(out, "  tunnels: %llu frames with a broken encapsulation (counted as malformed, "
                "not opened)\n", (unsigned long long)st.malformed);
    if (st.too_deep)
        fprintf(out, "  tunnels: %llu encapsulations nested deeper than --tunnel-depth, left closed\n",
                (unsigned long long)st.too_deep);
    if (st.frag_incomplete)
        fprintf(out, "  tunnels: %llu fragmented tunnel datagrams never completed, not opened "
                "(fragments lost, or dropped by a capture filter on ports)\n",
                (unsigned long long)st.frag_incomplete);
}

int tunnel_out_carrier(const nl_tunnel_table *tt, const nl_flow *f)
{
    const nl_tunnel_link *l = tunnel_table_link(tt, f);
    return l ? l->carrier : NL_TUN_NONE;
}

char *tunnel_out_path(const nl_tunnel_table *tt, const nl_flow *f, char *buf, size_t len,
                      int utf8)
{
    const nl_tunnel_link *l = tunnel_table_link(tt, f);
    const nl_tunnel *t;
    char a[64], b[64];
    int n;
    if (!len)
        return buf;
    buf[0] = '\0';
    if (!l || !l->nparents || !(t = tunnel_table_get(tt, l->parents[0])))
        return buf;
    nl_addr_str(&t->src, a, sizeof a);
    nl_addr_str(&t->dst, b, sizeof b);
    n = snprintf(buf, len, "%s %s %s %s", decode_tun_name(t->kind), a, utf8 ? "\xe2\x86\x92" : "->", b);
    if (n > 0 && (size_t)n < len && t->dport)
        n += snprintf(buf + n, len - (size_t)n, ":%u", t->dport);
    if (n > 0 && (size_t)n < len && l->has_vni)
        n += snprintf(buf + n, len - (size_t)n, " %s %u",
                      t->kind == NL_TUN_GTPU ? "TEID" : t->kind == NL_TUN_GRE ? "key" : "VNI", l->vni);
    if (n > 0 && (size_t)n < len && t->parent)
        snprintf(buf + n, len - (size_t)n, " (%u deep)", t->depth);
    return buf;
}
