/* correlate_keys.c - the keys that survive NAT, and sorted indexes of them.
 *
 * Candidate pairs come from equal keys, never from comparing every near
 * flow with every far flow: that would be 10^10 comparisons at 100k flows a
 * side. One flat array of (key, time, flow) sorted by key then time serves
 * as a hash index with no per-entry allocation; a key's run is found by
 * binary search, and a big run (many flows to one server port) is cut to a
 * time window by a second binary search on t. An index holds only the key
 * kinds its caller asks for: the strong keys (ISN, TSval, payload) that
 * pair flows, and the "where" keys (destination, tuple, ICMP id) that a
 * time-window search walks; at 1M flows a side every entry counts.
 */
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "correlate_int.h"

#define KEY_VALUE_MASK ((UINT64_C(1) << 56) - 1)

uint64_t corr_key_make(int kind, uint64_t value)
{
    return ((uint64_t)kind << 56) | (value & KEY_VALUE_MASK);
}

uint64_t corr_key_data(uint32_t hash, uint16_t len)
{
    return corr_key_make(CK_DATA, ((uint64_t)hash << 16) | len);
}

static uint64_t fnv64(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

#define FNV64_INIT UINT64_C(0xcbf29ce484222325)

static uint64_t endpoint_hash(uint64_t h, const nl_addr *a, uint16_t port)
{
    h = fnv64(h, a->b, sizeof a->b);
    return fnv64(h, &port, sizeof port);
}

/* The 5-tuple with its endpoints ordered, so both orientations agree. */
uint64_t corr_key_tuple(const nl_flow *f)
{
    int c = nl_addr_cmp(&f->orig_ip, &f->resp_ip);
    int swap = c > 0 || (c == 0 && f->orig_port > f->resp_port);
    uint64_t h = fnv64(FNV64_INIT, &f->proto, 1);
    if (swap) {
        h = endpoint_hash(h, &f->resp_ip, f->resp_port);
        h = endpoint_hash(h, &f->orig_ip, f->orig_port);
    } else {
        h = endpoint_hash(h, &f->orig_ip, f->orig_port);
        h = endpoint_hash(h, &f->resp_ip, f->resp_port);
    }
    return corr_key_make(CK_TUPLE, h);
}

uint64_t corr_key_dst(const nl_flow *f)
{
    uint64_t h = fnv64(FNV64_INIT, &f->proto, 1);
    return corr_key_make(CK_DST, endpoint_hash(h, &f->resp_ip, f->resp_port));
}

size_t corr_keys_of(const nl_flow *f, uint64_t *keys)
{
    size_t n = 0;
    for (int d = 0; d < 2; d++) {
        const nl_flow_sig *s = &f->sig[d];
        if (s->has_syn)
            keys[n++] = corr_key_make(CK_ISN, s->syn_isn);
        if (s->has_tsval && s->first_tsval != 0)
            keys[n++] = corr_key_make(CK_TSVAL, s->first_tsval);
        if (s->ndata > 0 && s->data_len[0] > 0)
            keys[n++] = corr_key_data(s->data_hash[0], s->data_len[0]);
    }
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
        keys[n++] = corr_key_make(CK_ICMP, f->orig_port);
    keys[n++] = corr_key_tuple(f);
    keys[n++] = corr_key_dst(f);
    /* A key repeated inside one flow (same ISN both ways in a test, the
     * same payload both ways in an echo) would count the flow twice. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = 0; j < i; j++)
            if (keys[j] == keys[i]) {
                keys[i--] = keys[--n];
                break;
            }
    return n;
}

static int key_cmp(const void *a, const void *b)
{
    const corr_key *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int corr_index_build(corr_index *ix, nl_flow *const *flows, size_t n,
                     unsigned set, const uint8_t *use)
{
    uint64_t keys[CK_MAX_PER_FLOW];
    size_t cap = 0;
    ix->k = NULL;
    ix->n = 0;
    /* count first: one exact allocation instead of CK_MAX_PER_FLOW per flow */
    for (size_t i = 0; i < n; i++) {
        if (use && !use[i])
            continue;
        size_t nk = corr_keys_of(flows[i], keys);
        for (size_t j = 0; j < nk; j++)
            cap += (set >> corr_key_kind(keys[j])) & 1;
    }
    if (cap == 0)
        return 0;
    ix->k = malloc(cap * sizeof *ix->k);
    if (!ix->k)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (use && !use[i])
            continue;
        size_t nk = corr_keys_of(flows[i], keys);
        for (size_t j = 0; j < nk; j++) {
            if (!((set >> corr_key_kind(keys[j])) & 1))
                continue;
            corr_key *k = &ix->k[ix->n++];
            k->key = keys[j];
            k->t = flows[i]->first_ns;
            k->idx = (uint32_t)i;
        }
    }
    qsort(ix->k, ix->n, sizeof *ix->k, key_cmp);
    return 0;
}

void corr_index_free(corr_index *ix)
{
    free(ix->k);
    ix->k = NULL;
    ix->n = 0;
}

size_t corr_index_find(const corr_index *ix, uint64_t key, size_t *lo)
{
    size_t a = 0, b = ix->n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (ix->k[m].key < key)
            a = m + 1;
        else
            b = m;
    }
    *lo = a;
    size_t e = a;
    b = ix->n;
    while (e < b) {      /* upper bound */
        size_t m = e + (b - e) / 2;
        if (ix->k[m].key <= key)
            e = m + 1;
        else
            b = m;
    }
    return e - a;
}

size_t corr_index_time_lower(const corr_index *ix, size_t lo, size_t n,
                             uint64_t t0)
{
    size_t a = lo, b = lo + n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (ix->k[m].t < t0)
            a = m + 1;
        else
            b = m;
    }
    return a;
}
