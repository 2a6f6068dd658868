/* diagnose_group.c - kept cases into findings.
 *
 * After the merge (diagnose_merge.c) every kept case is one broken
 * connection. Cases of one kind and one group key (same service, same
 * cause) become one finding, "3 handshakes to ... broke": the summary is
 * the first case's subject and predicate (plural with a count), evidence
 * is copied per connection in capture then time order, the best grounded
 * fix wins. Findings are then sorted most severe first, then by time.
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/diagnose.h"

/* With several captures, one connection's asymmetry is one finding per
 * service as the client addressed it, whichever capture showed it. */
static void group_asym_by_service(nl_findings *fs, const size_t *kept, size_t nkept)
{
    for (size_t i = 0; i < nkept; i++) {
        dg_case *k = &fs->cases[kept[i]];
        const nl_finding_flow *near = NULL;
        char ep[80];
        if (k->kind != NL_FK_ASYMMETRIC_RETURN)
            continue;
        for (size_t j = 0; j < k->nflows; j++)
            if (!near || k->flows[j].capture < near->capture)
                near = &k->flows[j];
        if (!near || near->flow->proto != DG_PROTO_TCP)
            continue;
        diagnose_ep(&near->flow->resp_ip, near->flow->resp_port, ep, sizeof ep);
        snprintf(k->group, sizeof k->group, "asym|%d|%s", near->capture, ep);
        snprintf(k->subjectn, sizeof k->subjectn, "handshakes to %s", ep);
    }
}

/* Evidence order: by capture, then time; a fact without a time (frame 0,
 * ts 0) stays right after the evidence it was added behind. */
typedef struct ev_key {
    int      cap;
    uint64_t ts;
    size_t   seq;
    const nl_evidence *e;
} ev_key;

static int ev_key_cmp(const void *a, const void *b)
{
    const ev_key *x = a, *y = b;
    if (x->cap != y->cap)
        return x->cap - y->cap;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int finding_cmp(const void *a, const void *b)
{
    const nl_finding *x = a, *y = b;
    if (x->severity != y->severity)
        return (int)y->severity - (int)x->severity;
    if (x->kind != y->kind)
        return diagnose_kind_priority(x->kind) - diagnose_kind_priority(y->kind);
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return 0;
}

static char *dup_str(nl_findings *fs, const char *s)
{
    char *d = strdup(s);
    if (!d)
        fs->oom = 1;
    return d;
}

/* Build one finding from the kept cases idx[0..n) (same kind and group). */

/* Predicates are written for one connection ("was refused"): with a count
 * before them their leading verb goes plural ("3 connections ... were
 * refused"). */
static const char *plural_verb(const char *pred, char *buf, size_t len)
{
    static const char *const verbs[][2] = {
        {"was ", "were "}, {"is ", "are "}, {"has ", "have "}, {"does ", "do "},
    };
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        size_t l = strlen(verbs[i][0]);
        if (!strncmp(pred, verbs[i][0], l)) {
            snprintf(buf, len, "%s%s", verbs[i][1], pred + l);
            return buf;
        }
    }
    return pred;
}

static int finding_build(nl_findings *fs, nl_finding *out, const size_t *idx, size_t n)
{
    const dg_case *k0 = &fs->cases[idx[0]];
    char sum[2048];
    size_t ne = 0, nf = 0;
    int best_fix = -1;

    memset(out, 0, sizeof *out);
    out->kind = k0->kind;
    out->severity = k0->sev;
    out->connections = (uint32_t)n;
    out->first_ns = UINT64_MAX;
    const char *why = "";
    char pred[sizeof k0->predicate + 8];
    for (size_t i = 0; i < n && !why[0]; i++)
        if (fs->cases[idx[i]].why[0] && !fs->cases[idx[i]].why_own && !k0->why_own)
            why = fs->cases[idx[i]].why;
    if (n == 1)
        snprintf(sum, sizeof sum, "%s %s%s%s.", k0->subject1, k0->predicate, why[0] ? "; " : "",
                 why);
    else
        snprintf(sum, sizeof sum, "%zu %s %s%s%s.", n, k0->subjectn,
                 plural_verb(k0->predicate, pred, sizeof pred), why[0] ? "; " : "", why);
    out->summary = dup_str(fs, sum);
    for (size_t i = 0; i < n; i++) {
        ne += fs->cases[idx[i]].nev;
        nf += fs->cases[idx[i]].nflows;
    }
    out->evidence = ne ? calloc(ne, sizeof *out->evidence) : NULL;
    out->flows = nf ? calloc(nf, sizeof *out->flows) : NULL;
    if ((ne && !out->evidence) || (nf && !out->flows) || !out->summary)
        return fs->oom = 1, -1;
    for (size_t i = 0; i < n; i++) {
        dg_case *k = &fs->cases[idx[i]];
        /* per connection in capture then time order */
        ev_key keys[DG_MAX_EV];
        for (size_t e = 0; e < k->nev; e++) {
            keys[e].cap = k->ev[e].capture;
            keys[e].ts = k->ev[e].ts_ns;
            keys[e].seq = e;
            keys[e].e = &k->ev[e];
            if (!keys[e].ts) { /* inherit the time of the line it follows */
                keys[e].ts = UINT64_MAX; /* none: after the capture's timed lines */
                for (size_t p = e; p-- > 0;)
                    if (k->ev[p].capture == k->ev[e].capture && k->ev[p].ts_ns) {
                        keys[e].ts = k->ev[p].ts_ns;
                        break;
                    }
            }
        }
        qsort(keys, k->nev, sizeof keys[0], ev_key_cmp);
        /* copied, not moved: a later diagnose_*() call finalises again */
        for (size_t e = 0; e < k->nev; e++) {
            out->evidence[out->nevidence] = *keys[e].e;
            out->evidence[out->nevidence].what = dup_str(fs, keys[e].e->what);
            out->evidence[out->nevidence].conn = (uint32_t)i;
            out->nevidence++;
        }
        for (size_t f = 0; f < k->nflows; f++)
            out->flows[out->nflows++] = k->flows[f];
        if (k->sev > out->severity)
            out->severity = k->sev;
        if (k->first_ns < out->first_ns)
            out->first_ns = k->first_ns;
        if (k->fix && (!out->fix || k->fix_rank > best_fix)) {
            free(out->fix);
            out->fix = dup_str(fs, k->fix);
            best_fix = k->fix_rank;
        }
    }
    if (out->first_ns == UINT64_MAX)
        out->first_ns = 0;
    return 0;
}

/* A kept case with its index: the comparison reads the case through the
 * element, no global (two containers may be grouped on two threads). */
typedef struct kept_ref {
    const dg_case *k;
    size_t         i;
} kept_ref;

static int kept_cmp(const void *a, const void *b)
{
    const kept_ref *p = a, *q = b;
    const dg_case *x = p->k, *y = q->k;
    if (x->kind != y->kind)
        return diagnose_kind_priority(x->kind) - diagnose_kind_priority(y->kind);
    int c = strcmp(x->group, y->group);
    if (c)
        return c;
    if (x->rank != y->rank)
        return y->rank - x->rank;
    if (x->first_ns != y->first_ns)
        return x->first_ns < y->first_ns ? -1 : 1;
    return p->i < q->i ? -1 : 1;
}

int diagnose_group_run(nl_findings *fs, const nl_correlation *c, size_t *kept, size_t nkept)
{
    if (c)
        group_asym_by_service(fs, kept, nkept);
    kept_ref *r = malloc((nkept ? nkept : 1) * sizeof *r);
    if (!r)
        return fs->oom = 1, -1;
    for (size_t i = 0; i < nkept; i++) {
        r[i].k = &fs->cases[kept[i]];
        r[i].i = kept[i];
    }
    qsort(r, nkept, sizeof *r, kept_cmp);
    for (size_t i = 0; i < nkept; i++)
        kept[i] = r[i].i;
    free(r);
    fs->v = calloc(nkept, sizeof *fs->v);
    if (!fs->v)
        return fs->oom = 1, -1;
    for (size_t i = 0; i < nkept;) {
        size_t j = i + 1;
        while (j < nkept && fs->cases[kept[j]].kind == fs->cases[kept[i]].kind &&
               !strcmp(fs->cases[kept[j]].group, fs->cases[kept[i]].group))
            j++;
        if (finding_build(fs, &fs->v[fs->n], kept + i, j - i) < 0) {
            fs->n++; /* partly built: diagnose_free() releases it */
            return fs->oom = 1, -1;
        }
        fs->n++;
        i = j;
    }
    /* most severe first */
    qsort(fs->v, fs->n, sizeof *fs->v, finding_cmp);
    return 0;
}
