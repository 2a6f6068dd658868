/* gen_side.c - one capture being written: frames queued in a min-heap on
 * (time, creation order) and written through libpcap's pcap_dump once no
 * later-created frame can be stamped earlier. The heap holds only frames
 * of flows still in flight, so memory is bound by concurrency, not size.
 */
#include <stdlib.h>
#include <string.h>
#include "gen.h"

void *gen_xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "gen_capture: out of memory\n");
        exit(1);
    }
    return p;
}

int gen_side_open(gen_side *s, const char *path)
{
    memset(s, 0, sizeof *s);
    s->pd = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 65535, PCAP_TSTAMP_PRECISION_NANO);
    if (!s->pd)
        return -1;
    s->dump = pcap_dump_open(s->pd, path);
    if (!s->dump) {
        fprintf(stderr, "gen_capture: %s: %s\n", path, pcap_geterr(s->pd));
        return -1;
    }
    return 0;
}

static int gen_slot_less(const gen_slot *a, const gen_slot *b)
{
    return a->ts < b->ts || (a->ts == b->ts && a->order < b->order);
}

static gen_slot *gen_side_slot(gen_side *s)
{
    if (s->nfree)
        return s->free[--s->nfree];
    return gen_xrealloc(NULL, sizeof(gen_slot));
}

void gen_side_push(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    gen_slot *x = gen_side_slot(s);
    size_t i;
    x->ts = ts;
    x->order = s->order++;
    x->len = len;
    memcpy(x->data, frame, len);
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 1024;
        s->heap = gen_xrealloc(s->heap, s->cap * sizeof *s->heap);
    }
    i = s->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!gen_slot_less(x, s->heap[p]))
            break;
        s->heap[i] = s->heap[p];
        i = p;
    }
    s->heap[i] = x;
}

static gen_slot *gen_side_pop(gen_side *s)
{
    gen_slot *top = s->heap[0], *last = s->heap[--s->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= s->n)
            break;
        if (c + 1 < s->n && gen_slot_less(s->heap[c + 1], s->heap[c]))
            c++;
        if (!gen_slot_less(s->heap[c], last))
            break;
        s->heap[i] = s->heap[c];
        i = c;
    }
    if (s->n)
        s->heap[i] = last;
    return top;
}

void gen_side_write(gen_side *s, uint64_t ts, const uint8_t *frame, uint32_t len)
{
    struct pcap_pkthdr h;
    if (ts < s->last_ts)   /* never happens by construction; keep files sane */
        ts = s->last_ts;
    s->last_ts = ts;
    h.ts.tv_sec = (time_t)(ts / 1000000000ull);
    h.ts.tv_usec = (suseconds_t)(ts % 1000000000ull); /* ns: opened with NANO */
    h.caplen = h.len = len;
    pcap_dump((u_char *)s->dump, &h, frame);
    s->written++;
}

/* Write every pending frame stamped at or before `upto`. */
void gen_side_flush(gen_side *s, uint64_t upto)
{
    while (s->n && s->heap[0]->ts <= upto) {
        gen_slot *x = gen_side_pop(s);
        gen_side_write(s, x->ts, x->data, x->len);
        if (s->nfree == s->freecap) {
            s->freecap = s->freecap ? s->freecap * 2 : 1024;
            s->free = gen_xrealloc(s->free, s->freecap * sizeof *s->free);
        }
        s->free[s->nfree++] = x;
    }
}

int gen_side_close(gen_side *s)
{
    int rc = 0;
    gen_side_flush(s, UINT64_MAX);
    if (pcap_dump_flush(s->dump) != 0)
        rc = -1;
    pcap_dump_close(s->dump);
    pcap_close(s->pd);
    while (s->nfree)
        free(s->free[--s->nfree]);
    free(s->free);
    free(s->heap);
    return rc;
}
