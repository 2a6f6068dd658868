/* report.c - report_write(): the context every format is written from
 * (title, verdict, flow ranking, ladders, redaction), then one of the three
 * writers, then one last redaction pass over the whole document.
 *
 * The document is first written to memory: the final pass needs all of it
 * (strings written by other modules' JSON writers carry addresses too), and
 * a failed report never leaves half a file behind the caller's FILE. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "natlens/flow_out.h"
#include "report_int.h"

#define NS_PER_S ((uint64_t)1000000000)

void report_opts_default(nl_report_opts *o)
{
    memset(o, 0, sizeof *o);
    o->format = NL_REPORT_HTML;
    o->max_rows = 50;
    o->max_ladders = 20;
}

int report_format_from_name(const char *s)
{
    static const struct { const char *name; int fmt; } names[] = {
        {"html", NL_REPORT_HTML}, {"htm", NL_REPORT_HTML}, {"md", NL_REPORT_MD},
        {"markdown", NL_REPORT_MD}, {"json", NL_REPORT_JSON},
    };
    const char *dot;
    if (!s)
        return -1;
    dot = strrchr(s, '.');
    if (dot && !strchr(dot, '/'))
        s = dot + 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcasecmp(s, names[i].name))
            return names[i].fmt;
    return -1;
}

char *report_datetime(uint64_t ts_ns, char *buf, size_t len)
{
    time_t s = (time_t)(ts_ns / NS_PER_S);
    struct tm tm;
    gmtime_r(&s, &tm);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06u", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)((ts_ns % NS_PER_S) / 1000));
    return buf;
}

const char *report_addr(const rep_ctx *c, const nl_addr *a, char *buf, size_t len)
{
    return redact_addr_str(c->rd, a, buf, len);
}

const char *report_ep(const rep_ctx *c, const nl_addr *a, uint16_t port,
                      uint8_t proto, char *buf, size_t len)
{
    char s[64];
    int v6 = !nl_addr_is_v4(a);
    report_addr(c, a, s, sizeof s);
    if (c->rd && redact_addr_name(c->rd, a))
        v6 = 0;                 /* a pseudonym needs no brackets */
    if (proto != 6 && proto != 17 && proto != 132)
        snprintf(buf, len, "%s", s);
    else if (v6)
        snprintf(buf, len, "[%s]:%u", s, port);
    else
        snprintf(buf, len, "%s:%u", s, port);
    return buf;
}

const char *report_tuple(const rep_ctx *c, const nl_flow *f, char *buf, size_t len)
{
    char a[96], b[96];
    report_ep(c, &f->orig_ip, f->orig_port, f->proto, a, sizeof a);
    report_ep(c, &f->resp_ip, f->resp_port, f->proto, b, sizeof b);
    snprintf(buf, len, "%s \xe2\x86\x92 %s", a, b);
    return buf;
}

const char *report_cap_name(const rep_ctx *c, size_t i)
{
    const char *p = redact_file(c->rd, i);
    if (i >= c->in->ncaps || !c->in->caps[i].trace)
        return "?";
    if (p)
        return p;
    return c->in->caps[i].trace->name ? c->in->caps[i].trace->name : c->in->caps[i].trace->path;
}

const char *report_host_value(const rep_ctx *c, const char *key, const char *v)
{
    const char *p;
    /* a role and a filter are the user's words, not the host's names:
     * only what they hold (addresses) is replaced */
    if (!c->rd || !strcmp(key, "role") || !strcmp(key, "filter"))
        return v;
    p = redact_str(c->rd, v);
    return p ? p : v;
}

static char report_text_oom[1];    /* out of memory: nothing unredacted goes out */

char *report_text(const rep_ctx *c, const char *s)
{
    char *t;
    if (!s || !c->rd)
        return (char *)s;
    t = redact_strdup(c->rd, s);
    return t ? t : report_text_oom;
}

void report_text_free(const char *orig, char *t)
{
    if (t && t != orig && t != report_text_oom)
        free(t);
}

/* "SF", or "record" for a record that does not pin a state: a record
 * knows no TCP state unless it says one (Zeek's conn_state). */
static const char *frow_state(const rep_ctx *c, int cap, const nl_flow *f)
{
    const nl_record_info *ri = report_rec(c, cap, f);
    return ri && !(ri->pins & NL_REC_PIN_STATE) ? "record" : flow_conn_state(f);
}

/* "5/5", or "—" for a record that does not pin packet counts. */
static void frow_pkts(const rep_ctx *c, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_record_info *ri = report_rec(c, cap, f);
    if (ri && !(ri->pins & NL_REC_PIN_PKTS))
        snprintf(buf, len, "\xe2\x80\x94");
    else if (ri && !(ri->pins & NL_REC_PIN_RESP))
        snprintf(buf, len, "%" PRIu64 "/?", f->pkts[0]);
    else
        snprintf(buf, len, "%" PRIu64 "/%" PRIu64, f->pkts[0], f->pkts[1]);
}

/* Does hop h of a chain start or end at a record flow? Its "lost" count
 * would compare a capture's packets with a record's counters. */
static int frow_record_hop(const rep_ctx *c, const nl_chain *ch, const nl_hop *hp)
{
    const nl_flow *from = hp->via_alt && ch->alt ? ch->alt[hp->from] : ch->flows[hp->from];
    return report_rec(c, hp->from, from) || report_rec(c, hp->from, ch->flows[hp->from]) ||
           (hp->present && report_rec(c, hp->to, ch->flows[hp->to]));
}

/* A record flow no capture flow paired with: what the record file holds
 * beyond the capture (another VM, another time), not a lost packet. */
static void frow_record_only(const rep_ctx *c, const rep_frow *r, rep_fcells *o)
{
    const nl_correlation *co = c->in->corr;
    const nl_unmatched *u = r->unm;
    const nl_record_info *ri = report_rec(c, u->capture, u->flow);
    const char *other = report_cap_name(c, (size_t)u->other);
    o->broken = ri->nat_status >= NL_REC_NAT_DROPPED || ri->action == NL_REC_ACTION_REJECT ||
                (ri->ct_flags & NL_REC_CT_UNREPLIED);
    if (u->reason == NL_UNM_OUTSIDE_WINDOW)
        snprintf(o->seen, sizeof o->seen, "%d of %zu: record only, outside %.40s's span", u->capture + 1,
                 co->ncaps, other);
    else
        snprintf(o->seen, sizeof o->seen, "%d of %zu: record only, not at %.48s", u->capture + 1,
                 co->ncaps, other);
}

void report_frow_cells(const rep_ctx *c, const rep_frow *r, rep_fcells *o)
{
    const nl_correlation *co = c->in->corr;
    const nl_flow *a = r->flow;
    int rcap;
    const nl_flow *rf = report_frow_record(c, r, &rcap);
    memset(o, 0, sizeof *o);
    report_tuple(c, a, o->near, sizeof o->near);
    if (rf)
        report_rec_says(c, rcap, rf, o->rec, sizeof o->rec);
    if (r->chain) {
        const nl_chain *ch = r->chain;
        const nl_flow *b = ch->flows[ch->last_cap];
        uint8_t nat = 0, level = NL_CONF_RECORDED;
        uint64_t lost = 0;
        uint32_t ev = 0;
        size_t k = 0, packet_hops = 0;
        frow_pkts(c, ch->first_cap, a, o->pkts, sizeof o->pkts);
        for (size_t h = 0; h < ch->nhops; h++) {
            const nl_hop *hp = &ch->hops[h];
            int rec_hop = frow_record_hop(c, ch, hp);
            if (hp->present) {
                nat |= hp->translation;
                if (hp->match && !ev)
                    ev = hp->match->evidence;
                if (hp->match && rec_hop && hp->match->level < level)
                    level = hp->match->level;
            } else {
                o->broken = 1;
            }
            if (!rec_hop) {
                lost += hp->lost_packets;
                packet_hops++;
            }
        }
        if (b != a)
            report_tuple(c, b, o->far, sizeof o->far);
        if (ch->last_cap != ch->first_cap)
            snprintf(o->seen, sizeof o->seen, "%d\xe2\x80\x93%d of %zu%s", ch->first_cap + 1,
                     ch->last_cap + 1, co->ncaps, o->broken ? " \xe2\x9c\x97" : "");
        else
            snprintf(o->seen, sizeof o->seen, "%d of %zu%s", ch->first_cap + 1, co->ncaps,
                     o->broken ? " \xe2\x9c\x97" : "");
        snprintf(o->nat, sizeof o->nat, "%s", correlate_translation_name(nat));
        snprintf(o->state, sizeof o->state, "%s%s%s", frow_state(c, ch->first_cap, a), b != a ? "/" : "",
                 b != a ? frow_state(c, ch->last_cap, b) : "");
        /* a pair with a record is "recorded" (the NAT's own mapping) or
         * "likely" (a tuple in a time window), never more */
        if (rf)
            k = (size_t)snprintf(o->by, sizeof o->by, "%s:",
                                 level == NL_CONF_RECORDED ? "recorded" : correlate_level_name(level));
        for (int bit = 0; bit < NL_EV_COUNT; bit++)
            if ((ev & (1u << bit)) && k < sizeof o->by)
                k += (size_t)snprintf(o->by + k, sizeof o->by - k, "%s%s", k ? " " : "",
                                      correlate_evidence_name(1u << bit));
        if (packet_hops)
            snprintf(o->lost, sizeof o->lost, "%" PRIu64, lost);
        else
            snprintf(o->lost, sizeof o->lost, "\xe2\x80\x94");   /* records count no losses */
    } else if (r->unm) {
        /* a lone flow is broken only when it should have been seen:
         * not when it was answered, outside the span or unpairable */
        o->broken = r->unm->reason == NL_UNM_NEVER_ARRIVED ||
                    r->unm->reason == NL_UNM_FROM_ELSEWHERE;
        /* the cross only where something went missing */
        snprintf(o->seen, sizeof o->seen, "%d of %zu %s%s", r->unm->capture + 1, co->ncaps,
                 o->broken ? "\xe2\x9c\x97 " : "", correlate_reason_name(r->unm->reason));
        if (rf)
            frow_record_only(c, r, o);
        snprintf(o->nat, sizeof o->nat, "\xe2\x80\x94");
        snprintf(o->state, sizeof o->state, "%s", frow_state(c, r->unm->capture, a));
        frow_pkts(c, r->unm->capture, a, o->pkts, sizeof o->pkts);
        snprintf(o->by, sizeof o->by, "\xe2\x80\x94");
        snprintf(o->lost, sizeof o->lost, "\xe2\x80\x94");
    }
}

size_t report_limit(const rep_ctx *c, size_t n)
{
    return c->o->max_rows && n > c->o->max_rows ? c->o->max_rows : n;
}

static int frow_cmp(const void *a, const void *b)
{
    const rep_frow *x = a, *y = b;
    if (x->pkts != y->pkts)
        return x->pkts > y->pkts ? -1 : 1;
    if (x->flow->first_ns != y->flow->first_ns)
        return x->flow->first_ns < y->flow->first_ns ? -1 : 1;
    return x->flow->id < y->flow->id ? -1 : x->flow->id > y->flow->id;
}

/* Rank the flow table: chains through the captures, or the flows of a lone
 * capture; most packets first (the "top N"). */
static int report_rank_flows(rep_ctx *c)
{
    const nl_correlation *co = c->in->corr;
    size_t n = 0;
    if (co) {
        c->rows = calloc(co->nchains + co->nunmatched + 1, sizeof *c->rows);
        if (!c->rows)
            return -1;
        for (size_t i = 0; i < co->nchains; i++) {
            const nl_chain *ch = &co->chains[i];
            const nl_flow *f = ch->flows[ch->first_cap];
            if (!f)
                continue;
            c->rows[n].chain = ch;
            c->rows[n].flow = f;
            c->rows[n].pkts = f->pkts[0] + f->pkts[1];
            n++;
        }
        /* a flow with no twin is listed once, where it was seen; with three
         * or more captures a flow in the middle can lack both twins and be
         * listed twice by correlate: keep the first */
        for (size_t i = 0; i < co->nunmatched; i++) {
            const nl_unmatched *u = &co->unmatched[i];
            if (i && co->unmatched[i - 1].flow == u->flow)
                continue;
            if (correlate_match_for(co, u->capture, u->flow, 0) ||
                correlate_match_for(co, u->capture, u->flow, 1))
                continue;   /* part of a chain already */
            if (report_rec_leg_shown(c, u))
                continue;   /* the other leg of a record stands for it */
            c->rows[n].unm = u;
            c->rows[n].flow = u->flow;
            c->rows[n].pkts = u->flow->pkts[0] + u->flow->pkts[1];
            n++;
        }
    } else {
        size_t nf;
        nl_flow **fl = trace_flows(c->in->caps[0].trace, &nf);
        c->rows = calloc(nf ? nf : 1, sizeof *c->rows);
        if (!c->rows)
            return -1;
        for (size_t i = 0; i < nf; i++) {
            c->rows[n].flow = fl[i];
            c->rows[n].pkts = fl[i]->pkts[0] + fl[i]->pkts[1];
            n++;
        }
    }
    qsort(c->rows, n, sizeof *c->rows, frow_cmp);
    c->nrows_total = n;
    c->nrows = (c->o->max_rows && n > c->o->max_rows) ? c->o->max_rows : n;
    return 0;
}

static void report_title(rep_ctx *c)
{
    size_t k = 0;
    if (c->o->title && *c->o->title) {
        snprintf(c->title, sizeof c->title, "%s", c->o->title);
        return;
    }
    k = (size_t)snprintf(c->title, sizeof c->title, "natlens report: ");
    for (size_t i = 0; i < c->in->ncaps && k < sizeof c->title; i++) {
        if (i == 3) {
            snprintf(c->title + k, sizeof c->title - k, " \xe2\x87\x84 %zu more", c->in->ncaps - 3);
            break;
        }
        k += (size_t)snprintf(c->title + k, sizeof c->title - k, "%s%s",
                              i ? " \xe2\x87\x84 " : "", report_cap_name(c, i));
    }
}

/* The answer first: the worst finding, or what the destinations see. */
static void report_verdict(rep_ctx *c)
{
    const nl_correlation *co = c->in->corr;
    char *v = c->verdict;
    size_t len = sizeof c->verdict;
    if (c->nfnd) {
        const nl_finding *f = diagnose_get(c->in->findings, 0);
        size_t errs = diagnose_count_at_least(c->in->findings, NL_SEV_ERROR);
        char *s = report_text(c, f->summary);
        size_t warns = diagnose_count_at_least(c->in->findings, NL_SEV_WARNING) - errs;
        if (c->nfnd == 1)
            snprintf(v, len, "1 finding (%s): %s", diagnose_severity_name(f->severity), s ? s : "");
        else
            snprintf(v, len, "%zu findings (%zu error%s, %zu warning%s); the worst: %s", c->nfnd, errs,
                     errs == 1 ? "" : "s", warns, warns == 1 ? "" : "s", s ? s : "");
        report_text_free(f->summary, s);
        return;
    }
    char ans[1024], note[1024];
    int at;
    if (co && report_answer(c, ans, sizeof ans, note, sizeof note, &at)) {
        snprintf(v, len, "No problems found. The destinations see this traffic coming from %.400s (%.400s).",
                 ans, note);
        return;
    }
    if (co)
        snprintf(v, len, "No problems found in %zu flows; %zu of them followed across the %zu captures.",
                 c->nrows_total, co->nchains, c->in->ncaps);
    else
        snprintf(v, len, "No problems found in %zu flows of one capture.", c->nrows_total);
}

static int cap_is_record(const rep_ctx *c, int i)
{
    return i >= 0 && (size_t)i < c->in->ncaps && c->in->caps[i].trace->is_record;
}

char *report_pair_sentence(const rep_ctx *c, const nl_clock_offset *o, char *buf, size_t len)
{
    const char *to = report_cap_name(c, (size_t)o->to), *from = report_cap_name(c, (size_t)o->from);
    size_t k;
    if (o->same_capture) {
        snprintf(buf, len, "%s is the same capture as %s: nothing was paired", to, from);
        return buf;
    }
    if (o->basis == NL_CLOCK_NONE) {
        snprintf(buf, len, "%s shares no traffic with %s (no connection agreed on one clock)%s", to,
                 from, o->overlap_ns < 0 ? " and their spans do not overlap" : "");
        return buf;
    }
    if (o->basis == NL_CLOCK_RECORDS || !o->known)
        k = (size_t)snprintf(buf, len, "%s is paired with %s on exact tuples inside the records' "
                             "time windows (clocks assumed in step)", to, from);
    else
        k = (size_t)snprintf(buf, len, "%s runs %+.6f s ahead of %s (\xc2\xb1%.3f ms over %" PRIu32
                             " %s times of %" PRIu32 " paired flow%s%s%s)", to, o->offset_s, from,
                             o->spread_s * 1e3, o->samples,
                             cap_is_record(c, o->to) || cap_is_record(c, o->from) ? "packet and record" : "packet", o->anchors, o->anchors == 1 ? "" : "s",
                             o->basis == NL_CLOCK_CONSENSUS ? ", agreed by payloads alone" : "",
                             o->two_way ? ", both directions: one-way latency removed" : "");
    if (k < len)
        snprintf(buf + k, len - k, "; their spans overlap for %.3f s", o->overlap_ns > 0 ?
                 (double)o->overlap_ns / 1e9 : 0.0);
    return buf;
}

/* --redact: everything the inputs hold that the report must not give
 * away (redact.h), found also as this format escapes it. */
static nl_redact *report_redactor(const nl_report_input *in, int format)
{
    nl_redact *rd = redact_new();
    int rc = 0;
    if (!rd)
        return NULL;
    if (in->corr)
        rc |= redact_learn_correlation(rd, in->corr);
    for (size_t i = 0; i < in->ncaps; i++) {
        if (!in->corr)
            rc |= redact_learn_trace(rd, in->caps[i].trace, i, 0);
        rc |= redact_learn_hostmeta(rd, in->caps[i].hostmeta);
    }
    if (format == NL_REPORT_HTML)
        rc |= redact_add_escaper(rd, report_html_esc);
    else if (format == NL_REPORT_MD)
        rc |= redact_add_escaper(rd, report_md_esc) | redact_add_escaper(rd, report_fence_esc);
    if (rc) {
        redact_free(rd);
        return NULL;
    }
    return rd;
}

int report_ctx_init(rep_ctx *c, FILE *out, const nl_report_input *in,
                    const nl_report_opts *o)
{
    memset(c, 0, sizeof *c);
    c->out = out;
    c->in = in;
    c->o = o;
    c->nfnd = in->findings ? diagnose_count(in->findings) : 0;
    for (size_t i = 0; i < in->ncaps; i++)
        c->has_records |= report_cap_has_records(c, i);
    if (o->redact) {
        c->rd = report_redactor(in, o->format);
        if (!c->rd)
            return -1;
    }
    if (report_rank_flows(c) < 0 || report_ladders_build(c) < 0) {
        report_ctx_free(c);
        return -1;
    }
    report_title(c);
    report_verdict(c);
    return 0;
}

void report_ctx_free(rep_ctx *c)
{
    report_ladders_free(c);
    free(c->rows);
    c->rows = NULL;
    redact_free(c->rd);
    c->rd = NULL;
}

int report_write(FILE *out, const nl_report_input *in, const nl_report_opts *o,
                 char *errbuf)
{
    rep_ctx c;
    char *doc = NULL;
    size_t n = 0;
    FILE *m;
    int rc;

    if (!in || in->ncaps < 1 || !in->caps || (in->ncaps > 1 && !in->corr)) {
        snprintf(errbuf, 256, "report: nothing to report (no capture, or several without a correlation)");
        return -1;
    }
    for (size_t i = 0; i < in->ncaps; i++)
        if (!in->caps[i].trace) {
            snprintf(errbuf, 256, "report: capture %zu has no trace", i);
            return -1;
        }
    m = open_memstream(&doc, &n);
    if (!m) {
        snprintf(errbuf, 256, "report: out of memory");
        return -1;
    }
    if (report_ctx_init(&c, m, in, o) < 0) {
        fclose(m);
        free(doc);
        snprintf(errbuf, 256, "report: out of memory");
        return -1;
    }
    switch (o->format) {
    case NL_REPORT_MD: rc = report_md_write(&c); break;
    case NL_REPORT_JSON: rc = report_json_write(&c); break;
    default: rc = report_html_write(&c); break;
    }
    if (fclose(m) != 0 || rc < 0) {
        report_ctx_free(&c);
        free(doc);
        snprintf(errbuf, 256, "report: out of memory while writing");
        return -1;
    }
    /* the last pass: addresses written by other modules' writers too */
    if (c.rd)
        redact_write(c.rd, doc, n, out, 0);
    else
        fwrite(doc, 1, n, out);
    report_ctx_free(&c);
    free(doc);
    if (fflush(out) != 0 || ferror(out)) {
        snprintf(errbuf, 256, "report: write error: %s", strerror(errno));
        return -1;
    }
    return 0;
}
