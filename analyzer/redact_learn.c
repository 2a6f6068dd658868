/* redact_learn.c - what --redact learns before the output is written: the
 * inner addresses and MACs of the flows, the client side's own addresses,
 * the answer to keep (translated egress addresses), file names, host
 * context (natlens-capture's metadata, parsed with json-c) and the names
 * records carry.
 *
 * Cost: one pass over the flows (and their kept packets) of each input;
 * host context documents are bounded by hostmeta.h (16 MiB, depth 64). */
#include <json-c/json.h>
#include <string.h>
#include "natlens/frame_ref.h"
#include "natlens/hostmeta.h"
#include "natlens/record.h"
#include "redact_int.h"

#define RD_JSON_DEPTH 64

static int push_addr(nl_redact *rd, const nl_addr *a, int explicit)
{
    if (!explicit && !redact_addr_is_inner(a))
        return 0;
    return rd_tab_push(rd, &rd->addrs, a->b, explicit);
}

static int push_mac(nl_redact *rd, const uint8_t m[6])
{
    static const uint8_t zero[6];
    if ((m[0] & 1) || !memcmp(m, zero, 6))
        return 0;
    return rd_tab_push(rd, &rd->macs, m, 0);
}

/* "02:4e:4c:00:00:16" (or with '-') into m; 0, or -1 when it is not one. */
static int parse_mac(const char *s, uint8_t m[6])
{
    for (int i = 0; i < 6; i++) {
        unsigned v = 0;
        for (int k = 0; k < 2; k++) {
            char c = s[i * 3 + k];
            if (c >= '0' && c <= '9')
                v = v * 16 + (unsigned)(c - '0');
            else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
                v = v * 16 + (unsigned)((c | 0x20) - 'a' + 10);
            else
                return -1;
        }
        if (s[i * 3 + 2] != (i == 5 ? '\0' : s[2]) || (i < 5 && s[2] != ':' && s[2] != '-'))
            return -1;
        m[i] = (uint8_t)v;
    }
    return 0;
}

static int flow_learn(nl_redact *rd, const nl_flow *f, int client_side)
{
    if (push_addr(rd, &f->orig_ip, client_side) < 0 || push_addr(rd, &f->resp_ip, 0) < 0)
        return -1;
    if (flow_icmp_errors(f) && push_addr(rd, flow_icmp_err_from(f), 0) < 0)
        return -1;
    for (int d = 0; d < 2; d++)
        if (f->sig[d].has_mac && push_mac(rd, f->mac[d]) < 0)
            return -1;
    for (uint16_t i = 0; i < f->nrecs; i++)
        if (push_mac(rd, f->recs[i].src_mac) < 0 || push_mac(rd, f->recs[i].dst_mac) < 0)
            return -1;
    return 0;
}

static int record_learn(nl_redact *rd, const nl_record_info *ri)
{
    if (!ri)
        return 0;
    if (rd_lit_add(rd, ri->vm, RD_K_VM) < 0 || rd_lit_add(rd, ri->gateway, RD_K_GATEWAY) < 0 ||
        rd_lit_add(rd, ri->router, RD_K_ROUTER) < 0 || rd_lit_add(rd, ri->interface, RD_K_IF) < 0)
        return -1;
    return 0;
}

/* A capture point of several files (FILE+FILE, frame_ref.h): presenters
 * name the file a frame is in, and the interface a file's name suggests
 * (server-eth1.pcap: eth1); both read as the point's placeholder and an
 * interface placeholder. */
static int redact_learn_point(nl_redact *rd, const nl_trace *t, size_t index)
{
    char file[256], sfx[32];
    for (unsigned k = 0; t->nfiles > 1 && k < t->nfiles; k++) {
        if (frame_ref_file_name(t->name, (int)k, file, sizeof file) != 0)
            continue;
        if (rd_file_alias(rd, index, file) < 0)
            return -1;
        if (frame_ref_name_iface(file, sfx, sizeof sfx) == 0 && rd_lit_add(rd, sfx, RD_K_IF) < 0)
            return -1;
    }
    return 0;
}

int redact_learn_trace(nl_redact *rd, nl_trace *t, size_t index, int client_side)
{
    size_t n;
    nl_flow **fl;
    if (!t)
        return 0;
    if (redact_learn_file(rd, index, t->path, t->is_record) < 0)
        return -1;
    if (rd_file_alias(rd, index, t->name) < 0 || redact_learn_point(rd, t, index) < 0)
        return -1;
    fl = trace_flows(t, &n);
    for (size_t i = 0; i < n; i++)
        if (flow_learn(rd, fl[i], client_side) < 0 || record_learn(rd, record_info_of(t, fl[i])) < 0)
            return -1;
    for (size_t i = 0; i < t->nprobes; i++) {
        const nl_probe_info *p = &t->probes[i];
        if (push_addr(rd, &p->inner_ip, 1) < 0 || rd_lit_add(rd, p->via, RD_K_IF) < 0 ||
            rd_lit_add(rd, p->session, RD_K_SESSION) < 0)
            return -1;
    }
    return redact_learn_hostmeta(rd, t->hostmeta);
}

int redact_learn_correlation(nl_redact *rd, const nl_correlation *c)
{
    if (!c)
        return 0;
    for (size_t i = 0; i < c->ncaps; i++) {
        const nl_corr_input *in = &c->caps[i];
        int client_side = c->ncaps > 1 && i == 0;
        if (in->trace) {
            if (redact_learn_trace(rd, in->trace, i, client_side) < 0)
                return -1;
            continue;
        }
        for (size_t k = 0; k < in->nflows; k++)
            if (flow_learn(rd, in->flows[k], client_side) < 0)
                return -1;
    }
    for (size_t i = 0; i < c->negress; i++) {
        const nl_egress *e = &c->egress[i];
        if (push_addr(rd, &e->inner_ip, 1) < 0)
            return -1;
        if (nl_addr_cmp(&e->egress_ip, &e->inner_ip) && rd_keep(rd, &e->egress_ip) < 0)
            return -1;
    }
    return 0;
}

/* ---- host context -------------------------------------------------------- */

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static json_object *jarr(json_object *o, const char *key)
{
    json_object *v;
    if (!o || !json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_array))
        return NULL;
    return v;
}

static int learn_addr_str(nl_redact *rd, const char *s)
{
    nl_addr a;
    uint8_t m[6];
    if (!s)
        return 0;
    if (strlen(s) == 17 && parse_mac(s, m) == 0)
        return push_mac(rd, m);
    if (nl_addr_parse(&a, s) == 0)
        return push_addr(rd, &a, 0);
    return 0;
}

/* One array of objects: key_if names an interface, key_mac a MAC, key_addr
 * an address, key_sub an array of objects with "local" and "label". */
static int learn_list(nl_redact *rd, json_object *arr, const char *key_if, const char *key_mac,
                      const char *key_addr, const char *key_sub)
{
    size_t n = arr ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(arr, i), *sub = key_sub ? jarr(o, key_sub) : NULL;
        size_t ns = sub ? json_object_array_length(sub) : 0;
        if (rd_lit_add(rd, jstr(o, key_if), RD_K_IF) < 0 ||
            (key_mac && learn_addr_str(rd, jstr(o, key_mac)) < 0) ||
            (key_addr && learn_addr_str(rd, jstr(o, key_addr)) < 0) ||
            learn_addr_str(rd, jstr(o, "prefsrc")) < 0)
            return -1;
        for (size_t k = 0; k < ns; k++) {
            json_object *a = json_object_array_get_idx(sub, k);
            if (json_object_is_type(a, json_type_string)) {
                if (learn_addr_str(rd, json_object_get_string(a)) < 0)
                    return -1;
            } else if (learn_addr_str(rd, jstr(a, "local")) < 0 ||
                       rd_lit_add(rd, jstr(a, "label"), RD_K_IF) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

int redact_learn_hostmeta(nl_redact *rd, const char *json)
{
    json_tokener *tok;
    json_object *o;
    int rc = 0;
    if (!json)
        return 0;
    tok = json_tokener_new_ex(RD_JSON_DEPTH);
    if (!tok)
        return -1;
    o = json_tokener_parse_ex(tok, json, (int)strnlen(json, NL_HOSTMETA_MAX));
    if (json_tokener_get_error(tok) != json_tokener_success || !json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        json_tokener_free(tok);
        return 0;
    }
    if (rd_lit_add(rd, jstr(o, "hostname"), RD_K_HOST) < 0 ||
        rd_lit_add(rd, jstr(o, "kernel"), RD_K_KERNEL) < 0 ||
        rd_lit_add(rd, jstr(o, "session"), RD_K_SESSION) < 0 ||
        rd_lit_add(rd, jstr(o, "capture_iface"), RD_K_IF) < 0 ||
        learn_list(rd, jarr(o, "ifaces"), "name", "mac", NULL, "addrs") < 0 ||
        learn_list(rd, jarr(o, "addr"), "ifname", "address", NULL, "addr_info") < 0 ||
        learn_list(rd, jarr(o, "route"), "dev", NULL, "gateway", NULL) < 0 ||
        learn_list(rd, jarr(o, "route6"), "dev", NULL, "gateway", NULL) < 0)
        rc = -1;
    json_object_put(o);
    json_tokener_free(tok);
    return rc;
}
