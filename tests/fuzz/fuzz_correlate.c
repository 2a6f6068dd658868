/* fuzz_correlate.c - libFuzzer target for correlation of two captures.
 *
 * Input: a 4-byte little-endian length L, then L bytes of the near capture
 * (clamped to what is there), then the far capture. Both are loaded with
 * trace_load(keep_packets = 1) from memfds, correlated, diagnosed, and every
 * match, unmatched flow, chain, egress row and IP change is read back,
 * and every chain hop's ladder (ladder.h) is built: its twins must pair
 * both ways, inside both sides.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* u_char in pcap.h under -std=c11; memfd_create */
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "natlens/correlate.h"
#include "natlens/diagnose.h"
#include "natlens/json.h"
#include "natlens/ladder.h"
#include "natlens/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t fuzz_sink;

static nl_trace *fuzz_load(const uint8_t *d, size_t n, int *fd)
{
    char path[64], err[512];
    nl_trace_opts o;
    nl_trace *t;

    *fd = memfd_create("fuzz_corr", 0);
    if (*fd < 0)
        return NULL;
    if (n && write(*fd, d, n) != (ssize_t)n)
        return NULL;
    snprintf(path, sizeof path, "/proc/self/fd/%d", *fd);
    memset(&o, 0, sizeof o);
    o.keep_packets = 1;
    err[0] = '\0';
    t = trace_load(path, &o, err);
    if (!t && err[0] == '\0')
        abort();   /* a failed load must say why */
    return t;
}

static void fuzz_walk(nl_correlation *c)
{
    uint64_t sum = 0;
    size_t i, k;
    nl_addr ip;
    uint16_t port;

    for (i = 0; i < c->nmatches; i++) {
        const nl_match *m = &c->matches[i];
        correlate_far_endpoint(m, NL_ORIG, &ip, &port);
        correlate_far_endpoint(m, NL_RESP, &ip, &port);
        sum += port + m->lost[0] + m->lost[1] + m->paired_pkts;
        sum += (uint64_t)correlate_translation_name(m->translation)[0];
        for (k = 0; k < NL_EV_COUNT; k++)
            if ((m->evidence & (1u << k)) && correlate_evidence_name(1u << k))
                sum++;
        if (correlate_match_for(c, m->near_cap, m->near, 1) == NULL)
            abort();   /* a match must be found from its own near flow */
    }
    for (i = 0; i < c->nunmatched; i++)
        sum += (uint64_t)correlate_reason_name(c->unmatched[i].reason)[0] + c->unmatched[i].flow->pkts[0];
    for (i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        for (k = 0; k < c->ncaps; k++)
            if (ch->flows[k])
                sum += ch->flows[k]->id;
        for (k = 0; k < ch->nhops; k++) {
            nl_ladder L;
            sum += ch->hops[k].lost_packets;
            if (ladder_of_chain(c, ch, k, &L) < 0)
                continue;
            for (int s = 0; s < 2; s++)
                for (size_t r = 0; r < L.side[s].nrecs; r++) {
                    const nl_ladder_rec *x = &L.side[s].recs[r];
                    if (x->twin >= 0 && ((size_t)x->twin >= L.side[!s].nrecs ||
                                         L.side[!s].recs[x->twin].twin != (int32_t)r))
                        abort();   /* twins pair both ways */
                    sum += x->t_ns + x->other + x->dir;
                }
            ladder_free(&L);
        }
    }
    for (i = 0; i < c->negress; i++)
        sum += c->egress[i].flows;
    for (i = 0; i < c->nip_changes; i++)
        sum += c->ip_changes[i].at_ns;
    sum += correlate_to_clock(c, 1, 0, 1700000000000000000ull);
    fuzz_sink = sum;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nl_trace *t[2] = {NULL, NULL};
    int fd[2] = {-1, -1};
    size_t la;
    char err[256];

    if (size < 4)
        return 0;
    la = (size_t)data[0] | (size_t)data[1] << 8 | (size_t)data[2] << 16 | (size_t)data[3] << 24;
    data += 4;
    size -= 4;
    if (la > size)
        la = size;
    t[0] = fuzz_load(data, la, &fd[0]);
    t[1] = fuzz_load(data + la, size - la, &fd[1]);
    if (t[0] && t[1]) {
        nl_correlation *c = correlate_traces(t, 2, NULL, err);
        if (c) {
            nl_findings *fs = diagnose_new();
            char *mem = NULL;
            size_t memlen = 0;
            FILE *out = open_memstream(&mem, &memlen);
            fuzz_walk(c);
            if (fs && out && diagnose_correlation(fs, c) >= 0) {
                nl_json j;
                json_init(&j, out, 0);
                json_obj_begin(&j, NULL);
                diagnose_json(&j, "findings", fs);
                json_obj_end(&j);
                json_finish(&j);
                diagnose_text(out, fs, 1);
            }
            if (out)
                fclose(out);
            free(mem);
            diagnose_free(fs);
            correlate_free(c);
        }
    }
    for (int i = 0; i < 2; i++) {
        if (t[i])
            trace_free(t[i]);
        if (fd[i] >= 0)
            close(fd[i]);
    }
    return 0;
}
