/* tui_model.c - the viewer's rows, built from the analysis result.
 *
 * One row per correlation chain (one connection followed through every
 * capture), or per flow with one capture or before the pairing is known.
 * Rows hold pointers into the traces and the correlation plus a few sums
 * for sorting; text is formatted only when a row is drawn or searched
 * (tui_text.c), so 100k flows cost 100k small structs, not 100k strings.
 * Nothing here is recomputed from packets: translation, losses, clock
 * offsets and findings come from correlate.h and diagnose.h as the other
 * commands print them. Every step is linear in flows and findings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "tui.h"

static int tui_state_is_bad(const char *s)
{
    static const char *const bad[] = {"S0", "REJ", "RSTOS0", "RSTRH", "SH", "SHR"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (!strcmp(s, bad[i]))
            return 1;
    return 0;
}

/* A row of a record no capture flow paired with: what the record file
 * holds beyond the capture (another VM, another time), not a flow that
 * went missing; what the record itself says may make it suspect
 * (findings come on top). */
static void tui_row_record_health(const tui_model *m, tui_row *r)
{
    const nl_record_info *ri;
    if (r->far || !(ri = tui_record_info(m, r->near_cap, r->near)))
        return;
    r->health = TUI_H_OK;
    r->why = m->corr ? "a record only: no such flow in the capture" : NULL;
    if (ri->nat_status >= NL_REC_NAT_DROPPED) {
        r->health = TUI_H_WARN;
        r->why = "the record says: no NAT port (dropped)";
    } else if (ri->action == NL_REC_ACTION_REJECT) {
        r->health = TUI_H_WARN;
        r->why = "the record says: rejected by a rule";
    } else if (ri->ct_flags & NL_REC_CT_UNREPLIED) {
        r->health = TUI_H_WARN;
        r->why = "the record says: no reply at the NAT";
    }
}

/* Health from what the row itself shows; findings come on top of it in
 * tui_model_findings(). */
static void tui_row_health(const tui_model *m, tui_row *r)
{
    const char *st = flow_conn_state(r->near);
    r->health = TUI_H_OK;
    r->why = NULL;
    if (r->unm_reason == NL_UNM_NEVER_ARRIVED + 1 && m->ncaps > 1) {
        r->health = TUI_H_BAD;
        r->why = "never arrived at the far capture";
    } else if (r->unm_reason == NL_UNM_FROM_ELSEWHERE + 1) {
        r->health = TUI_H_WARN;
        r->why = "only at the far capture";
    } else if (r->unm_reason == NL_UNM_OUTSIDE_WINDOW + 1) {
        r->why = "outside the other capture's time span";
    } else if (r->unm_reason == NL_UNM_NOT_LOGGED + 1) {
        r->why = "not logged: the record file holds no entry of this protocol";
    } else if (r->unm_reason == NL_UNM_NO_CLOCK + 1) {
        r->why = "not paired: the captures share no clock";
    } else if (r->unm_reason == NL_UNM_ANSWERED_ELSEWHERE + 1) {
        /* answered, so it arrived somewhere: not lost, not at that capture */
        r->why = "answered elsewhere (not at the next capture)";
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
    tui_row_record_health(m, r);
}

static void tui_row_sums(tui_row *r)
{
    r->pkts = r->near->pkts[0] + r->near->pkts[1];
    r->bytes = r->near->bytes[0] + r->near->bytes[1];
}

static void tui_index_put(tui_model *m, int cap, const nl_flow *f, size_t row)
{
    if (f && cap >= 0 && (size_t)cap < m->ncaps && f->id < m->row_of_n[cap] &&
        m->row_of[cap][f->id] < 0)
        m->row_of[cap][f->id] = (int32_t)row;
}

/* per capture, flow id -> row (both legs of a twin capture) */
static int tui_model_index(tui_model *m)
{
    m->row_of = calloc(m->ncaps, sizeof *m->row_of);
    m->row_of_n = calloc(m->ncaps, sizeof *m->row_of_n);
    if (!m->row_of || !m->row_of_n)
        return -1;
    for (size_t c = 0; c < m->ncaps; c++) {
        size_t n = m->nflows[c];
        m->row_of_n[c] = n + 1;
        m->row_of[c] = malloc((n + 1) * sizeof **m->row_of);
        if (!m->row_of[c])
            return -1;
        memset(m->row_of[c], 0xff, (n + 1) * sizeof **m->row_of);
    }
    for (size_t i = 0; i < m->nrows; i++) {
        const tui_row *r = &m->rows[i];
        if (!r->chain) {
            tui_index_put(m, r->near_cap, r->near, i);
            continue;
        }
        for (int c = r->near_cap; c <= r->far_cap; c++) {
            tui_index_put(m, c, r->chain->flows[c], i);
            if (r->chain->alt)
                tui_index_put(m, c, r->chain->alt[c], i);
        }
    }
    return 0;
}

/* Later pieces of a connection (Zeek splits a 5-tuple reused after a
 * RST; correlate pairs connections and names their first pieces) belong
 * to their first piece's row, whose counts take them in. One pass over
 * the flows, a lookup each. */
static void tui_model_pieces(tui_model *m)
{
    for (size_t c = 0; c < m->ncaps; c++) {
        const nl_corr_input *in = &m->corr->caps[c];
        for (size_t i = 0; i < in->nflows; i++) {
            const nl_flow *f = in->flows[i], *h;
            long row;
            if (f->id >= m->row_of_n[c] || m->row_of[c][f->id] >= 0)
                continue;
            h = correlate_conn_head(m->corr, (int)c, f);
            if (h == f || (row = tui_model_row_of(m, (int)c, h)) < 0)
                continue;
            m->row_of[c][f->id] = (int32_t)row;
            if (m->rows[row].near_cap == (int)c) {
                m->rows[row].pkts += f->pkts[0] + f->pkts[1];
                m->rows[row].bytes += f->bytes[0] + f->bytes[1];
            }
        }
    }
}

/* Per capture, flow id -> unmatched reason + 1: one pass over the
 * unmatched list instead of a search per row. */
static uint8_t **tui_unm_map(const tui_model *m)
{
    const nl_correlation *c = m->corr;
    uint8_t **u = calloc(m->ncaps, sizeof *u);
    if (!u)
        return NULL;
    for (size_t k = 0; k < m->ncaps; k++)
        if (!(u[k] = calloc(m->nflows[k] + 1, 1)))
            goto fail;
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *x = &c->unmatched[i];
        if (x->capture >= 0 && (size_t)x->capture < m->ncaps && x->flow &&
            x->flow->id <= m->nflows[x->capture])
            u[x->capture][x->flow->id] = (uint8_t)(x->reason + 1);
    }
    return u;
fail:
    for (size_t k = 0; k < m->ncaps; k++)
        free(u[k]);
    free(u);
    return NULL;
}

static void tui_unm_free(const tui_model *m, uint8_t **u)
{
    for (size_t k = 0; u && k < m->ncaps; k++)
        free(u[k]);
    free(u);
}

static void tui_row_count(tui_model *m, const tui_row *r)
{
    if (r->far)
        m->npaired++;
    else if (m->ncaps > 1 && tui_record_info(m, r->near_cap, r->near))
        m->nrec_only++;
    else if (r->near_cap == 0)
        m->nnear_only++;
    else
        m->nfar_only++;
}

/* Does a hop start or end at a record flow? Its lost count would set a
 * capture's packets against a record's counters: not a loss. */
static int tui_hop_is_record(const tui_model *m, const nl_chain *ch, const nl_hop *hp)
{
    const nl_flow *from = hp->via_alt && ch->alt ? ch->alt[hp->from] : ch->flows[hp->from];
    return tui_record_info(m, hp->from, from) || tui_record_info(m, hp->from, ch->flows[hp->from]) ||
           (hp->present && tui_record_info(m, hp->to, ch->flows[hp->to]));
}

static void tui_row_from_chain(tui_model *m, tui_row *r, const nl_chain *ch, uint8_t **unm)
{
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
            if (!tui_hop_is_record(m, ch, hp))
                r->lost += hp->lost_packets;
        } else if (!hp->present) {
            r->other_cap = hp->to;      /* where it vanished */
        }
    }
    if (!r->far) {
        r->unm_reason = unm[r->near_cap][r->near->id];
        if (r->other_cap < 0)
            r->other_cap = r->near_cap == 0 ? 1 : r->near_cap - 1;
    } else if (ch->last_cap + 1 < (int)m->ncaps && r->far->id <= m->nflows[r->far_cap]) {
        r->unm_reason = unm[r->far_cap][r->far->id];
    }
}

/* One row per record: a NAT mapping's outer leg nothing paired with
 * stands behind its inner leg's row, and a leg whose other leg is in a
 * chain is that chain's (tui_model_legs() points both at the row). */
static int tui_rec_leg_hidden(const tui_model *m, const nl_unmatched *u)
{
    const nl_record_info *ri = tui_record_info(m, u->capture, u->flow);
    const nl_flow *tw;
    if (!ri || !ri->other_leg || !(tw = correlate_twin_of(m->corr, u->capture, u->flow)))
        return 0;
    if (correlate_match_for(m->corr, u->capture, tw, 0) || correlate_match_for(m->corr, u->capture, tw, 1))
        return 1;
    return ri->side == NL_REC_SIDE_OUTER;
}

/* A record's outer leg with an inner leg beside it (record.h): before
 * pairing, or with one capture, the inner leg's row stands for both. */
static int tui_rec_outer_leg(const tui_model *m, int cap, const nl_flow *f)
{
    const nl_record_info *ri = tui_record_info(m, cap, f);
    return ri && ri->side == NL_REC_SIDE_OUTER && ri->other_leg;
}

/* A record leg without a row of its own belongs to its other leg's row
 * (findings name either leg). One pass over the unmatched flows. */
static void tui_model_legs(tui_model *m)
{
    const nl_correlation *c = m->corr;
    if (!c) {
        /* rows from the traces: the outer legs left out above */
        for (size_t k = 0; k < m->ncaps; k++) {
            size_t n;
            nl_flow **fl = trace_flows(m->traces[k], &n);
            for (size_t i = 0; i < n; i++) {
                const nl_flow *tw;
                long row;
                if (fl[i]->id >= m->row_of_n[k] || m->row_of[k][fl[i]->id] >= 0 ||
                    !tui_rec_outer_leg(m, (int)k, fl[i]) ||
                    !(tw = tui_record_other_leg(m, (int)k, fl[i])) ||
                    (row = tui_model_row_of(m, (int)k, tw)) < 0)
                    continue;
                m->row_of[k][fl[i]->id] = (int32_t)row;
            }
        }
        return;
    }
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        const nl_flow *tw;
        long row;
        if (u->capture < 0 || (size_t)u->capture >= m->ncaps || !u->flow ||
            u->flow->id >= m->row_of_n[u->capture] || m->row_of[u->capture][u->flow->id] >= 0 ||
            !tui_record_info(m, u->capture, u->flow) ||
            !(tw = correlate_twin_of(c, u->capture, u->flow)) ||
            (row = tui_model_row_of(m, u->capture, tw)) < 0)
            continue;
        m->row_of[u->capture][u->flow->id] = (int32_t)row;
    }
}

static int tui_rows_from_chains(tui_model *m)
{
    const nl_correlation *c = m->corr;
    uint8_t **seen = NULL, **unm = tui_unm_map(m);
    int rc = -1;
    m->rows = calloc(c->nchains + c->nunmatched + 1, sizeof *m->rows);
    seen = calloc(m->ncaps, sizeof *seen);
    if (!m->rows || !seen || !unm)
        goto out;
    for (size_t k = 0; k < m->ncaps; k++)
        if (!(seen[k] = calloc(m->nflows[k] + 1, 1)))
            goto out;
    for (size_t i = 0; i < c->nchains; i++) {
        const nl_chain *ch = &c->chains[i];
        tui_row *r = &m->rows[m->nrows];
        if (ch->first_cap < 0 || (size_t)ch->last_cap >= m->ncaps || !ch->flows[ch->first_cap] ||
            ch->flows[ch->first_cap]->id > m->nflows[ch->first_cap])
            continue;
        tui_row_from_chain(m, r, ch, unm);
        tui_row_sums(r);
        r->first_ns = correlate_to_clock(c, r->near_cap, 0, r->near->first_ns);
        tui_row_count(m, r);
        for (int k = r->near_cap; k <= r->far_cap; k++)
            if (ch->flows[k] && ch->flows[k]->id <= m->nflows[k])
                seen[k][ch->flows[k]->id] = 1;
        m->nrows++;
    }
    /* a flow seen at one capture only is a result too: if the chains left
     * it out, its unmatched entry makes the row */
    for (size_t i = 0; i < c->nunmatched; i++) {
        const nl_unmatched *u = &c->unmatched[i];
        tui_row *r = &m->rows[m->nrows];
        if (u->capture < 0 || (size_t)u->capture >= m->ncaps || !u->flow ||
            u->flow->id > m->nflows[u->capture] || seen[u->capture][u->flow->id])
            continue;
        seen[u->capture][u->flow->id] = 1;
        if (tui_rec_leg_hidden(m, u))
            continue;
        r->near = u->flow;
        r->near_cap = r->far_cap = u->capture;
        r->other_cap = u->other;
        r->unm_reason = (uint8_t)(u->reason + 1);
        tui_row_sums(r);
        r->first_ns = correlate_to_clock(c, r->near_cap, 0, r->near->first_ns);
        tui_row_count(m, r);
        m->nrows++;
    }
    rc = 0;
out:
    for (size_t k = 0; seen && k < m->ncaps; k++)
        free(seen[k]);
    free(seen);
    tui_unm_free(m, unm);
    return rc;
}

/* Every flow of every capture, merged by first packet (each capture's own
 * clock: the offset is not known before pairing). ncaps is small, so
 * picking the earliest head is linear in flows. */
static int tui_rows_from_traces(tui_model *m)
{
    size_t total = 0, *pos = calloc(m->ncaps, sizeof *pos);
    nl_flow ***fl = calloc(m->ncaps, sizeof *fl);
    int rc = -1;
    for (size_t c = 0; c < m->ncaps; c++)
        total += m->nflows[c];
    m->rows = calloc(total ? total : 1, sizeof *m->rows);
    if (!m->rows || !pos || !fl)
        goto out;
    for (size_t c = 0; c < m->ncaps; c++)
        fl[c] = trace_flows(m->traces[c], &m->nflows[c]);
    for (;;) {
        size_t best = SIZE_MAX;
        tui_row *r;
        for (size_t c = 0; c < m->ncaps; c++)
            if (pos[c] < m->nflows[c] &&
                (best == SIZE_MAX || fl[c][pos[c]]->first_ns < fl[best][pos[best]]->first_ns))
                best = c;
        if (best == SIZE_MAX)
            break;
        if (tui_rec_outer_leg(m, (int)best, fl[best][pos[best]])) {
            pos[best]++;        /* one row per record: its inner leg's */
            continue;
        }
        r = &m->rows[m->nrows++];
        r->near = fl[best][pos[best]++];
        r->near_cap = r->far_cap = (int)best;
        r->other_cap = -1;
        tui_row_sums(r);
        r->first_ns = r->near->first_ns;
    }
    rc = 0;
out:
    free(pos);
    free(fl);
    return rc;
}

/* Findings on top of the rows' own health: one pass over the findings
 * (most severe first, so the first one naming a row is its worst). */
static int tui_model_findings(tui_model *m)
{
    size_t nf = diagnose_count(m->diag);
    uint8_t *done = calloc(m->nrows ? m->nrows : 1, 1);
    if (!done)
        return -1;
    for (size_t i = 0; i < nf; i++) {
        const nl_finding *fd = diagnose_get(m->diag, i);
        int h = fd->severity >= NL_SEV_ERROR ? TUI_H_BAD :
                fd->severity >= NL_SEV_WARNING ? TUI_H_WARN : TUI_H_OK;
        for (size_t j = 0; j < fd->nflows; j++) {
            long row = tui_model_row_of(m, fd->flows[j].capture, fd->flows[j].flow);
            tui_row *r;
            if (row < 0 || done[row])
                continue;
            done[row] = 1;
            r = &m->rows[row];
            if (h >= r->health) {
                r->health = (uint8_t)h;
                r->why = diagnose_kind_name(fd->kind);
            }
        }
    }
    free(done);
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
    /* distinct egress addresses: the timeline's legend letters; at most
     * 255 are told apart, so the scan per entry is bounded */
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
    /* the timeline searches the changes by inner host and destination; a
     * linear check that they are in that order guards the search */
    m->changes_sorted = 1;
    for (size_t i = 1; i < c->nip_changes && m->changes_sorted; i++) {
        const nl_ip_change *a = &c->ip_changes[i - 1], *b = &c->ip_changes[i];
        int k = nl_addr_cmp(&a->inner_ip, &b->inner_ip);
        m->changes_sorted = k < 0 || (!k && nl_addr_cmp(&a->dest_ip, &b->dest_ip) <= 0);
    }
    for (size_t i = 0; i < c->nip_changes; i++) {
        if (c->ip_changes[i].at_ns < m->t0)
            m->t0 = c->ip_changes[i].at_ns;
        if (c->ip_changes[i].at_ns > m->t1)
            m->t1 = c->ip_changes[i].at_ns;
    }
    return 0;
}

tui_model *tui_model_build(nl_trace *const *traces, size_t ntraces, const nl_correlation *corr,
                           const nl_findings *diag, int diagnosing, int utf8, char *err)
{
    tui_model *m = calloc(1, sizeof *m);
    if (!m || !(m->nflows = calloc(ntraces ? ntraces : 1, sizeof *m->nflows)))
        goto oom;
    m->ncaps = ntraces;
    m->traces = traces;
    m->corr = corr;
    m->diag = diag;
    m->pairing = ntraces >= 2 && !corr;
    m->diagnosing = diagnosing;
    m->utf8 = utf8;
    for (size_t c = 0; c < ntraces; c++)
        trace_flows(traces[c], &m->nflows[c]);
    if ((corr ? tui_rows_from_chains(m) : tui_rows_from_traces(m)) < 0 || tui_model_index(m) < 0)
        goto oom;
    if (corr)
        tui_model_pieces(m);
    tui_model_legs(m);
    for (size_t i = 0; i < m->nrows; i++)
        tui_row_health(m, &m->rows[i]);
    if ((diag && tui_model_findings(m) < 0) || tui_groups_build(m) < 0)
        goto oom;
    for (size_t i = 0; i < m->nrows; i++) {
        if (m->rows[i].health == TUI_H_BAD)
            m->nbad++;
        else if (m->rows[i].health == TUI_H_WARN)
            m->nwarn++;
    }
    return m;
oom:
    tui_model_free(m);
    snprintf(err, 256, "out of memory");
    return NULL;
}

void tui_model_free(tui_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->row_of && i < m->ncaps; i++)
        free(m->row_of[i]);
    free(m->row_of);
    free(m->row_of_n);
    free(m->rows);
    free(m->groups);
    free(m->eips);
    free(m->eip_of);
    free(m->nflows);
    free(m);
}

long tui_model_row_of(const tui_model *m, int cap, const nl_flow *f)
{
    if (!f || cap < 0 || (size_t)cap >= m->ncaps || f->id >= m->row_of_n[cap])
        return -1;
    return m->row_of[cap][f->id];
}

const nl_flow *tui_model_far_flow(const tui_model *m, const tui_row *r)
{
    if (m->ncaps < 2)
        return NULL;
    if (r->far)
        return r->far;
    /* seen at the last capture only (or not paired yet): the FAR column */
    return (size_t)r->near_cap == m->ncaps - 1 ? r->near : NULL;
}

const nl_flow *tui_model_near_flow(const tui_model *m, const tui_row *r)
{
    if (m->ncaps >= 2 && (size_t)r->near_cap == m->ncaps - 1)
        return NULL;
    return r->near;
}
