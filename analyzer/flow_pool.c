/* flow_pool.c - slab pools and the record arena of the flow table
 * (flow_int.h). Memory grows with the most items ever in use at once, never
 * with packets; slabs go back to malloc only when the table is freed. */
#include <stdlib.h>
#include "flow_int.h"

/* slab and block headers keep items 16-byte aligned */
#define FT_HDR 16u

void ft_pool_init(ft_pool *p, size_t isz, uint64_t *bytes)
{
    p->isz = (isz + 7) & ~(size_t)7;
    if (p->isz < sizeof(void *))
        p->isz = sizeof(void *);
    p->per_slab = (FT_POOL_SLAB - FT_HDR) / p->isz;
    if (p->per_slab == 0)
        p->per_slab = 1;
    p->slabs = NULL;
    p->cur = NULL;
    p->left = 0;
    p->free = NULL;
    p->bytes = bytes;
}

void *ft_pool_get(ft_pool *p)
{
    void *it;
    if (p->free) {
        it = p->free;
        p->free = *(void **)it;
        return it;
    }
    if (p->left == 0) {
        size_t sz = FT_HDR + p->per_slab * p->isz;
        char *s = malloc(sz);
        if (!s)
            return NULL;
        *(void **)s = p->slabs;
        p->slabs = s;
        p->cur = s + FT_HDR;
        p->left = p->per_slab;
        if (p->bytes)
            *p->bytes += sz;
    }
    it = p->cur;
    p->cur += p->isz;
    p->left--;
    return it;
}

void ft_pool_put(ft_pool *p, void *item)
{
    *(void **)item = p->free;
    p->free = item;
}

void ft_pool_destroy(ft_pool *p)
{
    while (p->slabs) {
        void *n = *(void **)p->slabs;
        free(p->slabs);
        p->slabs = n;
    }
    p->cur = NULL;
    p->left = 0;
    p->free = NULL;
}

void ft_arena_init(ft_arena *a, uint64_t *bytes)
{
    a->blocks = NULL;
    a->cur = NULL;
    a->left = 0;
    a->bytes = bytes;
}

nl_pkt_rec *ft_arena_recs(ft_arena *a, size_t n)
{
    size_t need = n * sizeof(nl_pkt_rec);
    nl_pkt_rec *r;
    if (a->left < need) {
        /* the tail of the old block (< one flow's records) is left unused */
        char *b = malloc(FT_POOL_SLAB);
        if (!b)
            return NULL;
        *(void **)b = a->blocks;
        a->blocks = b;
        a->cur = b + FT_HDR;
        a->left = FT_POOL_SLAB - FT_HDR;
        if (a->bytes)
            *a->bytes += FT_POOL_SLAB;
    }
    r = (nl_pkt_rec *)(void *)a->cur;
    a->cur += need;
    a->left -= need;
    return r;
}

void ft_arena_destroy(ft_arena *a)
{
    while (a->blocks) {
        void *n = *(void **)a->blocks;
        free(a->blocks);
        a->blocks = n;
    }
    a->cur = NULL;
    a->left = 0;
}
