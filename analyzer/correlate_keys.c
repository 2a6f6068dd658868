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

/* splitmix64's finaliser: a word at a time (a byte-wise hash over two
 * addresses was most of the cost of building the indexes) */
static uint64_t mix64(uint64_t h, uint64_t v)
{
    h ^= v + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2);
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    return h ^ (h >> 31);
}

#define HASH_INIT UINT64_C(0xcbf29ce484222325)

static uint64_t endpoint_hash(uint64_t h, const nl_addr *a, uint16_t port)
{
    uint64_t w[2];
    memcpy(w, a->b, sizeof w);
    h = mix64(h, w[0]);
    h = mix64(h, w[1]);
    return mix64(h, port);
}

/* The 5-tuple with its endpoints ordered, so both orientations agree. */
uint64_t corr_key_tuple(const nl_flow *f)
{
    int c = nl_addr_cmp(&f->orig_ip, &f->resp_ip);
    int swap = c > 0 || (c == 0 && f->orig_port > f->resp_port);
    uint64_t h = mix64(HASH_INIT, f->proto);
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
    uint64_t h = mix64(HASH_INIT, f->proto);
    return corr_key_make(CK_DST, endpoint_hash(h, &f->resp_ip, f->resp_port));
}

size_t corr_keys_of(const nl_flow *f, uint64_t *keys)
{
    return corr_keys_of_set(f, keys, ~0u);
}

size_t corr_keys_of_set(const nl_flow *f, uint64_t *keys, unsigned set)
{
    size_t n = 0;
    if (!(set & CK_SET_WHERE))
        goto strong;
    if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6)
        keys[n++] = corr_key_make(CK_ICMP, f->orig_port);
    if (set & (1u << CK_TUPLE))
        keys[n++] = corr_key_tuple(f);
    if (set & (1u << CK_DST))
        keys[n++] = corr_key_dst(f);
strong:
    if (!(set & CK_SET_STRONG))
        goto dedup;
    for (int d = 0; d < 2; d++) {
        const nl_flow_sig *s = &f->sig[d];
        if (s->has_syn)
            keys[n++] = corr_key_make(CK_ISN, s->syn_isn);
        if (s->has_tsval && s->first_tsval != 0)
            keys[n++] = corr_key_make(CK_TSVAL, s->first_tsval);
        if (s->ndata > 0 && s->data_len[0] > 0)
            keys[n++] = corr_key_data(s->data_hash[0], s->data_len[0]);
    }
dedup:
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

/* Stable LSD radix sort on the 64-bit key, a byte a pass, skipping bytes
 * every key shares (the kind byte, often more). Entries come in flow order,
 * which is time order for a capture, so a stable sort on the key leaves
 * them sorted by (key, t, idx) as key_cmp wants - in linear time: at 1M
 * flows a side the comparison sort of these arrays was a fifth of the
 * correlator's work. Returns -1 when the scratch array cannot be had. */
static int key_radix_sort(corr_key *k, size_t n)
{
    corr_key *tmp = malloc(n * sizeof *tmp);
    if (!tmp)
        return -1;
    corr_key *src = k, *dst = tmp;
    for (int byte = 0; byte < 8; byte++) {
        size_t count[256] = { 0 };
        int shift = byte * 8;
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 0xff]++;
        if (count[(src[0].key >> shift) & 0xff] == n)
            continue;                      /* every key has this byte */
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 0xff]++] = src[i];
        corr_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != k)
        memcpy(k, src, n * sizeof *k);
    free(tmp);
    return 0;
}

/* Entries in (t, idx) order, so a stable sort on the key is enough. */
static int keys_time_ordered(const corr_key *k, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (k[i].t < k[i - 1].t || (k[i].t == k[i - 1].t && k[i].idx < k[i - 1].idx))
            return 0;
    return 1;
}

int corr_index_build(corr_index *ix, nl_flow *const *flows, size_t n,
                     unsigned set, const uint8_t *use)
{
    uint64_t keys[CK_MAX_PER_FLOW];
    ix->k = NULL;
    ix->n = 0;
    /* at most 6 strong keys and 3 "where" keys a flow; trimmed below */
    size_t per = ((set & CK_SET_STRONG) ? 6 : 0) + ((set & CK_SET_WHERE) ? 3 : 0);
    if (n == 0 || per == 0)
        return 0;
    ix->k = malloc(n * per * sizeof *ix->k);
    if (!ix->k)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (use && !use[i])
            continue;
        size_t nk = corr_keys_of_set(flows[i], keys, set);
        for (size_t j = 0; j < nk; j++) {
            if (!((set >> corr_key_kind(keys[j])) & 1))
                continue;
            corr_key *k = &ix->k[ix->n++];
            k->key = keys[j];
            k->t = flows[i]->first_ns;
            k->idx = (uint32_t)i;
        }
    }
    if (ix->n == 0) {
        corr_index_free(ix);
        return 0;
    }
    corr_key *fit = realloc(ix->k, ix->n * sizeof *ix->k);
    if (fit)
        ix->k = fit;
    corr_keys_sort(ix->k, ix->n);
    return 0;
}

void corr_keys_sort(corr_key *k, size_t n)
{
    if (n > 1 && (!keys_time_ordered(k, n) || key_radix_sort(k, n) < 0))
        qsort(k, n, sizeof *k, key_cmp);
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
