/* diagnose_scope.c - what the captures can vouch for, said before anything
 * they cannot.
 *
 * Per adjacent pair of captures:
 *   - the same capture given twice (identical packets, times, sizes):
 *     same_capture, nothing paired;
 *   - no connection agreed on one clock (no strong key, no consensus of
 *     weak ones): no_time_overlap when the two spans do not even overlap
 *     (raw clocks), else no_common_traffic - "are these the two ends of one
 *     path?" - with each capture's span;
 *   - the captures overlap only partly (after clock correction), or one is
 *     much shorter than the other: partial_capture, naming the overlap, so
 *     a verdict about the rest is not read as "no problem".
 * Per capture: damaged or cut (libpcap stopped early), or record lines
 * that could not be read: partial_capture naming where.
 * All are facts about the inputs, not about a connection (they claim no
 * flow in the per-connection merge).
 */
#define NATLENS_DIAGNOSE_INTERNAL
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include "natlens/diagnose.h"
#include "natlens/flow_out.h"

#define SCOPE_SHORT_RATIO 0.5    /* overlap below this share of the longer span */

static const char *cap_name(const nl_findings *fs, int cap)
{
    return diagnose_capture_name(fs, cap);
}

/* "04:55:39.705 → 04:55:40.311 (0.606 s)" into buf. */
static char *span_text(const nl_corr_input *in, char *buf, size_t len)
{
    char a[40], b[40];
    flow_out_time(in->first_ns, a, sizeof a, 0);
    flow_out_time(in->last_ns, b, sizeof b, 0);
    double d = in->last_ns > in->first_ns ? (double)(in->last_ns - in->first_ns) / 1e9 : 0;
    snprintf(buf, len, "%s \xe2\x86\x92 %s (%.3f s)", a, b, d);
    return buf;
}

static dg_case *scope_case(nl_findings *fs, nl_finding_kind kind, nl_severity sev,
                           int a, int b, const char *tag)
{
    dg_case *k = diagnose_case_new(fs, kind, sev);
    k->claims = 0;
    k->rank = 10;
    snprintf(k->group, sizeof k->group, "%s|%d|%d", tag, a, b);
    return k;
}

static void scope_spans(dg_case *k, const nl_findings *fs, const nl_correlation *c,
                        int a, int b)
{
    char s[120];
    diagnose_case_ev(k, a, 0, c->caps[a].first_ns, "%s spans %s (its clock)", cap_name(fs, a),
                     span_text(&c->caps[a], s, sizeof s));
    diagnose_case_ev(k, b, 0, c->caps[b].first_ns, "%s spans %s (its clock)", cap_name(fs, b),
                     span_text(&c->caps[b], s, sizeof s));
}

static void rule_pair_scope(nl_findings *fs, const nl_correlation *c, size_t i)
{
    const nl_clock_offset *o = &c->offsets[i];
    int a = (int)i, b = (int)i + 1;
    const nl_corr_input *x = &c->caps[a], *y = &c->caps[b];
    if (x->nflows == 0 || y->nflows == 0)
        return;
    if (o->same_capture) {
        dg_case *k = scope_case(fs, NL_FK_SAME_CAPTURE, NL_SEV_WARNING, a, b, "same");
        snprintf(k->subject1, sizeof k->subject1, "%s and %s", cap_name(fs, a), cap_name(fs, b));
        snprintf(k->predicate, sizeof k->predicate,
                 "are the same capture (the same packets, times and sizes): nothing was paired "
                 "between them; give the captures of two points of the path");
        scope_spans(k, fs, c, a, b);
        return;
    }
    if (o->basis == NL_CLOCK_NONE) {
        int apart = o->overlap_ns < 0;
        dg_case *k = scope_case(fs, apart ? NL_FK_NO_TIME_OVERLAP : NL_FK_NO_COMMON_TRAFFIC,
                                NL_SEV_ERROR, a, b, "none");
        snprintf(k->subject1, sizeof k->subject1, "%s and %s", cap_name(fs, a), cap_name(fs, b));
        snprintf(k->predicate, sizeof k->predicate,
                 "%sshare no traffic (no connection agreed on one clock): are these the two "
                 "ends of one path? Nothing is paired, and no egress address is claimed",
                 apart ? "do not overlap in time and " : "");
        scope_spans(k, fs, c, a, b);
        if (apart)
            diagnose_case_ev(k, a, 0, 0, "%.3f s between the end of one and the start of the "
                             "other (clocks as recorded)", (double)-o->overlap_ns / 1e9);
        return;
    }
    uint64_t lx = x->last_ns - x->first_ns, ly = y->last_ns - y->first_ns;
    uint64_t longer = lx > ly ? lx : ly;
    double ov = o->overlap_ns > 0 ? (double)o->overlap_ns : 0;
    if (longer > 2000000000ull && ov < SCOPE_SHORT_RATIO * (double)longer) {
        int shorter = lx < ly ? a : b, other = lx < ly ? b : a;
        dg_case *k = scope_case(fs, NL_FK_PARTIAL_CAPTURE, NL_SEV_WARNING, a, b, "overlap");
        snprintf(k->subject1, sizeof k->subject1, "%s and %s", cap_name(fs, a), cap_name(fs, b));
        snprintf(k->predicate, sizeof k->predicate,
                 "overlap for %.3f s of %.3f s: only traffic inside the overlap is judged; what "
                 "%s did not cover (addresses used, connections lost) is unknown",
                 ov / 1e9, (double)longer / 1e9, cap_name(fs, shorter));
        (void)other;
        scope_spans(k, fs, c, a, b);
    }
}

static void rule_damaged(nl_findings *fs, const nl_correlation *c, size_t i)
{
    const nl_trace *t = c->caps[i].trace;
    if (!t || (!t->warning && !t->bad_records))
        return;
    dg_case *k = scope_case(fs, NL_FK_PARTIAL_CAPTURE, NL_SEV_WARNING, (int)i, (int)i, "dmg");
    snprintf(k->subject1, sizeof k->subject1, "%s", cap_name(fs, (int)i));
    if (t->warning) {
        snprintf(k->predicate, sizeof k->predicate,
                 "was read only in part (stopped at byte %" PRIu64 " after %" PRIu64
                 " frames): the verdict covers what was read", t->damage_offset, t->packets);
        diagnose_case_ev(k, (int)i, 0, 0, "%s", t->warning);
    } else {
        snprintf(k->predicate, sizeof k->predicate,
                 "has %" PRIu64 " record line%s that could not be read (skipped): the verdict "
                 "covers the others", t->bad_records, t->bad_records == 1 ? "" : "s");
        for (size_t j = 0; j < NL_TRACE_BAD_KEEP && j < t->bad_records; j++)
            if (t->bad_first[j])
                diagnose_case_ev(k, (int)i, 0, 0, "%s", t->bad_first[j]);
    }
}

void diagnose_scope_run(nl_findings *fs, const nl_correlation *c)
{
    for (size_t i = 0; i < c->ncaps; i++)
        rule_damaged(fs, c, i);
    for (size_t i = 0; i + 1 < c->ncaps; i++)
        rule_pair_scope(fs, c, i);
}
