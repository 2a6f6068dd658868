/* clock.c - how far one capture's clock runs ahead of another's.
 *
 * Every packet seen at both points gives d = t_far - t_near (pairs of
 * flows whose packet records were not kept give their first packet of each
 * direction: the same packet at both points unless it was lost between
 * them, which the median shrugs off). For packets
 * travelling near -> far, d = offset + latency; far -> near, d = offset -
 * latency. The median of each direction, averaged, cancels the latency
 * (offset = (d_fwd + d_rev) / 2). Medians, not means, because a packet
 * paired with the wrong copy of a retransmission is off by a second or
 * more; the spread is 1.4826 * MAD (a standard deviation for normal noise).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "correlate_int.h"

void clock_samples_init(clock_samples *s)
{
    memset(s, 0, sizeof *s);
}

void clock_samples_free(clock_samples *s)
{
    free(s->v[0]);
    free(s->v[1]);
    memset(s, 0, sizeof *s);
}

static void push(clock_samples *s, int dir, int64_t d)
{
    if (s->n[dir] == s->cap[dir]) {
        size_t nc = s->cap[dir] ? s->cap[dir] * 2 : 256;
        int64_t *nv = realloc(s->v[dir], nc * sizeof *nv);
        if (!nv) {
            s->oom = 1;
            return;
        }
        s->v[dir] = nv;
        s->cap[dir] = nc;
    }
    s->v[dir][s->n[dir]++] = d;
}

/* The k-th smallest of v[0..n) (Hoare's quickselect, middle pivot):
 * linear on average, and the median of every pair's few samples is taken
 * once per pair - a sort there was the correlator's biggest cost. */
static int64_t select_kth(int64_t *v, size_t n, size_t k)
{
    size_t lo = 0, hi = n - 1;
    while (lo < hi) {
        int64_t pivot = v[lo + (hi - lo) / 2];
        size_t i = lo, j = hi;
        while (i <= j) {
            while (v[i] < pivot)
                i++;
            while (v[j] > pivot)
                j--;
            if (i <= j) {
                int64_t t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                if (j == 0)
                    break;
                j--;
            }
        }
        if (k <= j)
            hi = j;
        else if (k >= i)
            lo = i;
        else
            return v[k];
    }
    return v[k];
}

int64_t clock_median(int64_t *v, size_t n)
{
    int64_t hi = select_kth(v, n, n / 2);
    if (n % 2)
        return hi;
    /* the lower middle is the largest of the lower half */
    int64_t lo = v[0];
    for (size_t i = 1; i < n / 2; i++)
        if (v[i] > lo)
            lo = v[i];
    /* average without overflow */
    return lo + (hi - lo) / 2;
}

void clock_samples_add_pair(clock_samples *s, const int64_t d[2], const int has[2])
{
    /* The direction that took longer travelled near -> far: latency adds
     * to its difference and subtracts from the other's. */
    int fwd = NL_ORIG;
    if (has[NL_ORIG] && has[NL_RESP])
        fwd = d[NL_RESP] > d[NL_ORIG] ? NL_RESP : NL_ORIG;
    else if (has[NL_RESP])
        fwd = NL_RESP;
    for (int dir = 0; dir < 2; dir++)
        if (has[dir])
            push(s, dir == fwd ? 0 : 1, d[dir]);
}

void clock_samples_add_series(clock_samples *s, const int64_t *a, size_t na,
                              const int64_t *b, size_t nb)
{
    int fwd = NL_ORIG;
    if (na && nb) {
        int64_t x[NL_FLOW_KEEP_PKTS], y[NL_FLOW_KEEP_PKTS];
        size_t ka = na < NL_FLOW_KEEP_PKTS ? na : NL_FLOW_KEEP_PKTS;
        size_t kb = nb < NL_FLOW_KEEP_PKTS ? nb : NL_FLOW_KEEP_PKTS;
        memcpy(x, a, ka * sizeof x[0]);
        memcpy(y, b, kb * sizeof y[0]);
        if (clock_median(y, kb) > clock_median(x, ka))
            fwd = NL_RESP;
    } else if (nb) {
        fwd = NL_RESP;
    }
    for (size_t i = 0; i < na; i++)
        push(s, fwd == NL_ORIG ? 0 : 1, a[i]);
    for (size_t i = 0; i < nb; i++)
        push(s, fwd == NL_RESP ? 0 : 1, b[i]);
}

static double mad_of(int64_t *v, size_t n, int64_t center, int64_t *tmp)
{
    for (size_t i = 0; i < n; i++) {
        int64_t x = v[i] - center;
        tmp[i] = x < 0 ? -x : x;
    }
    return (double)clock_median(tmp, n);
}

void clock_estimate(const clock_samples *s, nl_clock_offset *out)
{
    size_t nf = s->n[0], nr = s->n[1], n = nf + nr;
    out->known = 0;
    out->offset_s = out->spread_s = out->latency_s = 0;
    out->samples = (uint32_t)n;
    out->two_way = 0;
    if (n == 0)
        return;
    int64_t *buf = malloc(2 * n * sizeof *buf);
    if (!buf)
        return;
    int64_t *w = buf, *tmp = buf + n;
    int64_t mf = 0, mr = 0;
    if (nf) {
        memcpy(w, s->v[0], nf * sizeof *w);
        mf = clock_median(w, nf);
    }
    if (nr) {
        memcpy(w, s->v[1], nr * sizeof *w);
        mr = clock_median(w, nr);
    }
    int64_t off, lat = 0;
    if (nf && nr) {
        off = mf + (mr - mf) / 2;
        lat = (mf - mr) / 2;
        out->two_way = 1;
    } else {
        off = nf ? mf : mr;
    }
    /* Residuals around each direction's own centre, pooled. */
    for (size_t i = 0; i < nf; i++)
        w[i] = s->v[0][i] - lat;
    for (size_t i = 0; i < nr; i++)
        w[nf + i] = s->v[1][i] + lat;
    double mad = mad_of(w, n, off, tmp);
    free(buf);
    out->known = 1;
    out->offset_s = (double)off / 1e9;
    out->latency_s = (double)lat / 1e9;
    out->spread_s = 1.4826 * mad / 1e9;
}
