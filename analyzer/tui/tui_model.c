/* tui_model.c - the viewer's rows, built once from the analysis result.
 *
 * One row per correlation chain (one connection followed through every
 * capture), or per flow when there is only one capture. Rows hold pointers
 * into the traces and the correlation plus a few sums for sorting; text is
 * formatted when a row is drawn, so a million flows cost a million small
 * structs, not a million strings. Nothing here is recomputed from packets:
 * translation, losses, clock offsets and findings come from correlate.h and
 * diagnose.h as the other commands print them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "natlens/flow_out.h"
#include "tui.h"

static int tui_state_is_bad(const char *s)
{
    static const char *const bad[] = {"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!strcmp(s, bad[i]))
            return 1;
    return 0;
}

static void tui_row_health(tui_model *m, tui_row *r)
{
    const char *st = flow_conn_state(r->near);
    const nl_finding *fd = NULL;
    r->health = TUI_H_OK;
    r->why = NULL;
    if (r->unm_reason == NL_UNM_NEVER_ARRIVED + 1 && m->ncaps > 1) {
        r->health = TUI_H_BAD;
        r->why = "never arrived at the far capture";
    } else if (r->unm_reason == NL_UNM_FROM_ELSEWHERE + 1) {
        r->health = TUI_H_WARN;
        r->why = "not seen at the near capture";
    } else if (r->unm_reason == NL_UNM_OUTSIDE_WINDOW + 1) {
        r->why = "outside the other capture's time span";
    }
    if (r->health < TUI_H_BAD && tui_state_is_bad(st)) {
        if (r->near->proto == IPPROTO_TCP) {
            r->health = TUI_H_BAD;
            r->why = !strcmp(st, "REJ") ? "rejected (RST to the SYN)"
                   : !strcmp(st, "S0") ? "no answer to the SYN" : "handshake incomplete";
        } else if (r->health < TUI_H_WARN) {
            r->health = TUI_H_WARN;
            r->why = "no answer";
        }
    }
    if (r->health < TUI_H_WARN && r->lost) {
        r->health = TUI_H_WARN;
        r->why = "packets lost between captures";
    }
    if (m->diag) {
        fd = diagnose_find_flow(m->diag, r->near_cap, r->near);
        if (!fd && r->far)
            fd = diagnose_find_flow(m->diag, r->far_cap, r->far);
    }
    if (fd) {
        int h = fd->severity >= NL_SEV_ERROR ? TUI_H_BAD :
                fd->severity >= NL_SEV_WARNING ? TUI_H_WARN : TUI_H_OK;
        if (h >= r->health) {
            r->health = (uint8_t)h;
            r->why = diagnose_kind_name(fd->kind);
        }
    }
    if (r->health == TUI_H_BAD)
        m->nbad++;
    else if (r->health == TUI_H_WARN)
        m->nwarn++;
}

static void tui_row_sums(tui_row *r)
{
    r->pkts = r->near->pkts[0] + r->near->pkts[1];
    r->bytes = r->near->bytes[0] + r->near->bytes[1];
}

/* per capture, flow id -> row */
static int tui_model_index(tui_model *m)
{
    m->row_of = calloc(m->ncaps, sizeof *m->row_of);
    m->row_of_n = calloc(m->ncaps, sizeof *m->row_of_n);
    if (!m->row_of || !m->row_of_n)
        return -1;
    for (size_t c = 0; c < m->ncaps; c++) {
        size_t n;
        trace_flows(m->traces[c], &n);
        m->row_of_n[c] = n + 1;
        m->row_of[c] = malloc((n + 1) * sizeof **m->row_of);
        if (!m->row_of[c])
            return -1;
        memset(m->row_of[c], 0xff, (n + 1) * sizeof **m->row_of);
    }
    for (size_t i = 0; i < m->nrows; i++) {
        const tui_row *r = &m->rows[i];
        for (int c = r->near_cap; c <= r->far_cap; c++) {
            const nl_flow *f = r->chain ? r->chain->flows[c] : r->near;
            if (f && f->id < m->row_of_n[c])
                m->row_of[c][f->id] = (int32_t)i;
        }
    }
    return 0;
}

static uint8_t tui_unm_reason(const nl_correlation *c, int cap, const nl_flow *f)
{
    /* unmatched is sorted by capture then start: a short scan per capture
     * would do, but rows are built once, so a binary search on capture and
     * a linear run is enough */
    size_t lo = 0, hi = c->nunmatched;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->unmatched[mid].capture < cap)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < c->nunmatched && c->unmatched[i].capture == cap; i++) {
        if (c->unmatched[i].flow == f)
            return (uint8_t)(c->unmatched[i].reason + 1);
        if (c->unmatched[i].flow->first_ns > f->first_ns)
            break;
    }
    return 0;
}

static int tui_rows_from_chains(tui_model *m)
{
    const nl_correlation *c = m->corr;
    uint8_t **seen = calloc(m->ncaps, sizeof *seen);
    size_t *nseen = calloc(m->ncaps, sizeof *nseen);
    int rc = -1;
    m->rows = calloc(c->nchains + c->nunmatched + 1, sizeof *m->rows);
    if (!m->rows || !seen || !nseen)
        goto out;
    for (size_t k = 0; k < m->ncaps; k++) {
        trace_flows(m->traces[k], &nseen[k]);
        nseen[k]++;
        if (!(seen[k] = calloc(nseen[k], 1)))
            goto out;
    }
    for (size_t i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        tui_row *r = &m->rows[m->nrows];
        if (ch->first_cap < 0 || (size_t)ch->last_cap >= m->ncaps || !ch->flows[ch->first_cap])
            continue;
        r->chain = ch;
        r->other_cap = -1;
        r->near_cap = ch->first_cap;
        r->far_cap = ch->last_cap;
        r->near = ch->flows[ch->first_cap];
        r->far = ch->last_cap > ch->first_cap ? ch->flows[ch->last_cap] : NULL;
        for (size_t h = 0; h < ch->nhops; h++) {
            const nl_hop *hp = &ch->hops[h];
            if (hp->present && hp->match) {
                r->flip ^= hp->match->flip;
                r->xlate |= hp->translation;
                if (hp->match->sport_changed || hp->match->dport_changed)
                    r->port_changed = 1;
                r->lost += hp->lost_packets;
            }
        }
        if (!r->far)
            r->unm_reason = tui_unm_reason(c, r->near_cap, r->near);
        else if (ch->last_cap + 1 < (int)m->ncaps)
            r->unm_reason = tui_unm_reason(c, r->far_cap, r->far);
        tui_row_sums(r);
        r->first_ns = correlate_to_clock(c, r->near_cap, 0, r->near->first_ns);
        if (r->far)
            m->npaired++;
        else if (r->near_cap == 0)
            m->nnear_only++;
        else
            m->nfar_only++;
        tui_row_health(m, r);
        for (int k = r->near_cap; k <= r->far_cap; k++)
            if (ch->flows[k] && ch->flows[k]->id < nseen[k])
                seen[k][ch->flows[k]->id] = 1;
        m->nrows++;
    }
    /* a flow seen at one capture only is a result too: if the chains left
     * it out, its unmatched entry makes the row */
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        tui_row *r = &m->rows[m->nrows];
        if (u->capture < 0 || (size_t)u->capture >= m->ncaps || !u->flow ||
            (u->flow->id < nseen[u->capture] && seen[u->capture][u->flow->id]))
            continue;
        if (u->flow->id < nseen[u->capture])
            seen[u->capture][u->flow->id] = 1;
        r->near = u->flow;
        r->near_cap = r->far_cap = u->capture;
        r->other_cap = u->other;
        r->unm_reason = (uint8_t)(u->reason + 1);
        tui_row_sums(r);
        r->first_ns = correlate_to_clock(c, r->near_cap, 0, r->near->first_ns);
        if (r->near_cap == 0)
            m->nnear_only++;
        else
            m->nfar_only++;
        tui_row_health(m, r);
        m->nrows++;
    }
    rc = 0;
out:
    for (size_t k = 0; seen && k < m->ncaps; k++)
        free(seen[k]);
    free(seen);
    free(nseen);
    return rc;
}

static int tui_rows_from_trace(tui_model *m)
{
    size_t n;
    nl_flow **fl = trace_flows(m->traces[0], &n);
    m->rows = calloc(n ? n : 1, sizeof *m->rows);
    if (!m->rows)
        return -1;
    for (size_t i = 0; i < n; i++) {
        tui_row *r = &m->rows[i];
        r->near = fl[i];
        r->other_cap = -1;
        tui_row_sums(r);
        r->first_ns = fl[i]->first_ns;
        tui_row_health(m, r);
    }
    m->nrows = n;
    return 0;
}

static int tui_egress_same(const nl_egress *a, const nl_egress *b)
{
    return !nl_addr_cmp(&a->inner_ip, &b->inner_ip) && !nl_addr_cmp(&a->dest_ip, &b->dest_ip) &&
           a->dest_port == b->dest_port && a->proto == b->proto;
}

static int tui_groups_build(tui_model *m)
{
    const nl_correlation *c = m->corr;
    if (!c || !c->negress)
        return 0;
    m->groups = calloc(c->negress, sizeof *m->groups);
    if (!m->groups)
        return -1;
    m->t0 = UINT64_MAX;
    for (size_t i = 0; i < c->negress; i++) {
        const nl_egress *e = &c->egress[i];
        if (i == 0 || !tui_egress_same(&c->egress[i - 1], e)) {
            m->groups[m->ngroups].first = i;
            m->ngroups++;
        }
        m->groups[m->ngroups - 1].n++;
        if (e->first_ns < m->t0)
            m->t0 = e->first_ns;
        if (e->last_ns > m->t1)
            m->t1 = e->last_ns;
    }
    /* distinct egress addresses: the timeline's legend letters */
    m->eips = malloc(c->negress * sizeof *m->eips);
    m->eip_of = malloc(c->negress);
    if (!m->eips || !m->eip_of)
        return -1;
    for (size_t i = 0; i < c->negress; i++) {
        size_t k;
        for (k = 0; k < m->neips; k++)
            if (!nl_addr_cmp(&m->eips[k], &c->egress[i].egress_ip))
                break;
        if (k == m->neips && m->neips < 255)
            m->eips[m->neips++] = c->egress[i].egress_ip;
        m->eip_of[i] = (uint8_t)(k < 255 ? k : 254);
    }
    for (size_t i = 0; i < c->nip_changes; i++) {
        if (c->ip_changes[i].at_ns < m->t0)
            m->t0 = c->ip_changes[i].at_ns;
        if (c->ip_changes[i].at_ns > m->t1)
            m->t1 = c->ip_changes[i].at_ns;
    }
    return 0;
}

tui_model *tui_model_build(nl_trace **traces, size_t ntraces, nl_correlation *corr,
                           nl_findings *diag, int utf8, char *err)
{
    tui_model *m = calloc(1, sizeof *m);
    if (!m) {
        correlate_free(corr);
        diagnose_free(diag);
        for (size_t i = 0; i < ntraces; i++)
            trace_free(traces[i]);
        free(traces);
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    m->ncaps = ntraces;
    m->traces = traces;
    m->corr = corr;
    m->diag = diag;
    m->utf8 = utf8;
    if ((corr ? tui_rows_from_chains(m) : tui_rows_from_trace(m)) < 0 ||
        tui_model_index(m) < 0 || tui_groups_build(m) < 0) {
        tui_model_free(m);
        snprintf(err, 256, "out of memory");
        return NULL;
    }
    return m;
}

void tui_model_free(tui_model *m)
{
    if (!m)
        return;
    /* findings borrow flows and the correlation borrows traces: free in
     * the reverse order of building */
    diagnose_free(m->diag);
    correlate_free(m->corr);
    for (size_t i = 0; i < m->ncaps; i++) {
        if (m->row_of)
            free(m->row_of[i]);
        trace_free(m->traces[i]);
    }
    free(m->row_of);
    free(m->row_of_n);
    free(m->traces);
    free(m->rows);
    free(m->groups);
    free(m->eips);
    free(m->eip_of);
    free(m);
}

long tui_model_row_of(const tui_model *m, int cap, const nl_flow *f)
{
    if (!f || cap < 0 || (size_t)cap >= m->ncaps || f->id >= m->row_of_n[cap])
        return -1;
    return m->row_of[cap][f->id];
}

static void tui_endpoint(const nl_addr *a, uint16_t port, uint8_t proto, char *buf, size_t len)
{
    char s[64];
    nl_addr_str(a, s, sizeof s);
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP && proto != 132 /* SCTP */)
        snprintf(buf, len, "%s", s);
    else if (nl_addr_is_v4(a))
        snprintf(buf, len, "%s:%u", s, port);
    else
        snprintf(buf, len, "[%s]:%u", s, port);
}

char *tui_model_near_text(const tui_model *m, const tui_row *r, char *buf, size_t len)
{
    char a[80], b[80];
    const nl_flow *f = r->near;
    tui_endpoint(&f->orig_ip, f->orig_port, f->proto, a, sizeof a);
    tui_endpoint(&f->resp_ip, f->resp_port, f->proto, b, sizeof b);
    snprintf(buf, len, "%s %s %s", a, m->utf8 ? "\xe2\x86\x92" : "->", b);
    return buf;
}

char *tui_model_far_text(const tui_model *m, const tui_row *r, int brief, char *buf, size_t len)
{
    char a[80], b[80], na[80], nb[80];
    const nl_flow *f = r->far, *n = r->near;
    if (!f) {
        snprintf(buf, len, "%s", m->utf8 ? "\xe2\x80\x94" : "-");
        return buf;
    }
    if (r->flip) {
        tui_endpoint(&f->resp_ip, f->resp_port, f->proto, a, sizeof a);
        tui_endpoint(&f->orig_ip, f->orig_port, f->proto, b, sizeof b);
    } else {
        tui_endpoint(&f->orig_ip, f->orig_port, f->proto, a, sizeof a);
        tui_endpoint(&f->resp_ip, f->resp_port, f->proto, b, sizeof b);
    }
    if (brief) {
        tui_endpoint(&n->orig_ip, n->orig_port, n->proto, na, sizeof na);
        tui_endpoint(&n->resp_ip, n->resp_port, n->proto, nb, sizeof nb);
        if (!strcmp(a, na))
            strcpy(a, "=");
        if (!strcmp(b, nb))
            strcpy(b, "=");
    }
    snprintf(buf, len, "%s %s %s", a, m->utf8 ? "\xe2\x86\x92" : "->", b);
    return buf;
}

char *tui_model_nat_text(const tui_row *r, char *buf, size_t len)
{
    if (!r->far)
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, "%s%s", correlate_translation_name(r->xlate),
                 r->port_changed ? "+p" : "");
    return buf;
}

char *tui_model_state_text(const tui_row *r, char *buf, size_t len)
{
    const char *a = flow_conn_state(r->near);
    const char *b = r->far ? flow_conn_state(r->far) : NULL;
    if (b && strcmp(a, b))
        snprintf(buf, len, "%s/%s", a, b);
    else
        snprintf(buf, len, "%s", a);
    return buf;
}

char *tui_model_row_text(const tui_model *m, const tui_row *r, char *buf, size_t len)
{
    char a[160], b[160], n[24], s[24], p[8];
    snprintf(buf, len, "%s  %s  %s  %s  %s  %s",
             tui_model_near_text(m, r, a, sizeof a), tui_model_far_text(m, r, 0, b, sizeof b),
             tui_model_nat_text(r, n, sizeof n), tui_model_state_text(r, s, sizeof s),
             flow_proto_name(r->near->proto, p, sizeof p), r->why ? r->why : "");
    return buf;
}

/* ---- ladder --------------------------------------------------------------- */

static uint32_t tui_isn(const nl_flow *f, int d)
{
    if (f->sig[d].has_syn)
        return f->sig[d].syn_isn;
    if (f->sig[d].has_syn)
        return f->sig[d].syn_isn;
    for (uint16_t i = 0; i < f->nrecs; i++)
        if (f->recs[i].dir == d)
            return f->recs[i].seq - ((f->recs[i].tcp_flags & NL_TH_SYN) ? 0 : 1);
    return 0;
}

void tui_model_ladder(const tui_model *m, size_t row, size_t hop, tui_ladder *L)
{
    const tui_row *r = &m->rows[row];
    int16_t twin[NL_FLOW_KEEP_PKTS];
    uint8_t used[NL_FLOW_KEEP_PKTS];
    uint16_t nn, nf;
    memset(L, 0, sizeof *L);
    L->row = r;
    L->near_cap = r->near_cap;
    L->far_cap = -1;
    L->nf = r->near;
    if (r->chain && r->chain->nhops) {
        const nl_hop *hp;
        L->nhops = r->chain->nhops;
        L->hop = hop < L->nhops ? hop : 0;
        hp = &r->chain->hops[L->hop];
        L->near_cap = hp->from;
        L->far_cap = hp->to;
        L->nf = r->chain->flows[hp->from];
        if (hp->present && hp->match) {
            L->match = hp->match;
            L->ff = hp->match->far;
            L->flip = hp->match->flip;
        }
    }
    else if (!r->chain && r->other_cap >= 0 && (size_t)r->other_cap < m->ncaps)
        L->far_cap = r->other_cap;      /* seen on one side only */
    if (!L->nf)
        return;
    for (int d = 0; d < 2; d++) {
        L->isn_n[d] = tui_isn(L->nf, d);
        if (L->ff)
            L->isn_f[d] = tui_isn(L->ff, d ^ L->flip);
    }
    nn = L->nf->nrecs < NL_FLOW_KEEP_PKTS ? L->nf->nrecs : NL_FLOW_KEEP_PKTS;
    nf = L->ff ? (L->ff->nrecs < NL_FLOW_KEEP_PKTS ? L->ff->nrecs : NL_FLOW_KEEP_PKTS) : 0;
    memset(used, 0, sizeof used);
    /* correlate's own pairing: the ladder shows what the offsets came from */
    if (L->match)
        correlate_pkt_twins(L->match, twin);
    for (uint16_t i = 0; i < nn; i++) {
        const nl_pkt_rec *a = &L->nf->recs[i];
        tui_rung *g = &L->r[L->n++];
        g->n = a;
        g->dir = (uint8_t)(a->dir & 1);
        g->t_ns = a->ts_ns;
        if (L->match && twin[i] >= 0 && twin[i] < nf) {
            used[twin[i]] = 1;
            g->f = &L->ff->recs[twin[i]];
        }
    }
    for (uint16_t j = 0; j < nf; j++) {
        const nl_pkt_rec *b = &L->ff->recs[j];
        tui_rung *g;
        if (used[j])
            continue;
        g = &L->r[L->n++];
        g->f = b;
        g->dir = (uint8_t)((b->dir & 1) ^ L->flip);
        g->t_ns = correlate_to_clock(m->corr, L->far_cap, L->near_cap, b->ts_ns);
    }
    /* stable insertion sort by near-clock time (at most 48 rungs) */
    for (size_t i = 1; i < L->n; i++) {
        tui_rung t = L->r[i];
        size_t j = i;
        while (j > 0 && L->r[j - 1].t_ns > t.t_ns) {
            L->r[j] = L->r[j - 1];
            j--;
        }
        L->r[j] = t;
    }
}
