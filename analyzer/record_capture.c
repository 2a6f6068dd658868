/* record_capture.c - records inside a capture: the conntrack events
 * `natlens-capture --conntrack` wrote into a pcapng file (layout: ctev.h)
 * become record flows of the capture's own trace (record.h), read in the
 * same pass as the packets (the source hands over each custom block as it
 * reads past it).
 *
 * Each event goes through the same step as a line of `conntrack -E`
 * (rec_ct_add in reader_conntrack.c): events of one entry merge by
 * conntrack id, the original tuple is the inner leg, the reply tuple gives
 * the outer one. An event's time is the time natlens-capture read it, or
 * the kernel's own stop for a DESTROY that carries one; the kernel's start
 * (DESTROY events carry it with nf_conntrack_timestamp) starts the entry
 * exactly, before the NEW event was read. All are the capturing host's
 * clock, the one its packets carry. `line` in the record info is the frame
 * number (Wireshark's) of the entry's first event block.
 *
 * After the last packet the record flows go after the packet flows, so
 * record_info_of() tells them apart and packet matching never sees them.
 * What goes wrong is told in the trace's warning, bounded: blocks that do
 * not decode (damaged, a layout version we do not know) are skipped and
 * the first CAPREC_SAY of them named by byte offset; LOSS blocks (the
 * kernel dropped events while capturing) are counted and the first named.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/ctev.h"
#include "record_int.h"

#define CAPREC_SAY 5

struct nl_record_capture {
    nl_trace *t;
    rec_batch b;
    nl_record_capture_stats st;
    char    *said[CAPREC_SAY];     /* the first bad blocks, as sentences */
    uint64_t first_loss_off, first_loss_frame;
    int      full_said;
};

nl_record_capture *record_capture_new(nl_trace *t)
{
    nl_record_capture *c = calloc(1, sizeof *c);
    if (c) {
        c->t = t;
        c->st.tstamp = 255;
    }
    return c;
}

static void caprec_bad(nl_record_capture *c, uint64_t off, uint64_t frame, const char *why)
{
    char buf[256];
    if (c->st.bad_blocks++ >= CAPREC_SAY)
        return;
    snprintf(buf, sizeof buf, "%s: conntrack event block at byte offset %llu (frame %llu) "
             "skipped: %s", c->t->name, (unsigned long long)off, (unsigned long long)frame, why);
    c->said[c->st.bad_blocks - 1] = strdup(buf);
}

static void caprec_tuple(rec_ct_tuple *o, const nl_ctev_tuple *in, uint8_t proto)
{
    memset(o, 0, sizeof *o);
    o->src = in->src;
    o->dst = in->dst;
    o->has_src = o->has_dst = 1;
    if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
        o->type = in->type;
        o->code = in->code;
        o->id = in->icmp_id;
        o->has_type = o->has_id = 1;
    } else {
        o->sport = in->sport;
        o->dport = in->dport;
        o->has_ports = 1;
    }
}

/* An event block as conntrack(8) would have printed it: the record that
 * rec_ct_add() takes from the text reader too. */
static void caprec_event(const nl_ctev *ev, rec_ct_event *r)
{
    const char *st = ev->proto == IPPROTO_TCP ? ctev_tcp_state_name(ev->tcp_state) : NULL;
    memset(r, 0, sizeof *r);
    r->event = ev->event == NL_CTEV_NEW ? 'N' : ev->event == NL_CTEV_DESTROY ? 'D' : 'U';
    r->proto = ev->proto;
    r->ts_ns = ev->recv_ns;
    if (ev->event == NL_CTEV_NEW && (ev->present & NL_CTEV_HAS_START) && ev->start_ns)
        r->ts_ns = ev->start_ns;
    if (ev->event == NL_CTEV_DESTROY && (ev->present & NL_CTEV_HAS_STOP) && ev->stop_ns)
        r->ts_ns = ev->stop_ns;
    if (ev->present & NL_CTEV_HAS_START)
        r->start_ns = ev->start_ns;
    if (st)
        snprintf(r->state, sizeof r->state, "%s", st);
    caprec_tuple(&r->t[0], &ev->orig, ev->proto);
    caprec_tuple(&r->t[1], &ev->reply, ev->proto);
    if (ev->present & NL_CTEV_HAS_COUNTERS) {
        r->t[0].has_counts = r->t[1].has_counts = 1;
        r->t[0].pkts = ev->counters[0];
        r->t[0].bytes = ev->counters[1];
        r->t[1].pkts = ev->counters[2];
        r->t[1].bytes = ev->counters[3];
    }
    if (ev->present & NL_CTEV_HAS_STATUS) {   /* as conntrack prints the flags */
        r->unreplied = !(ev->status & NL_CTEV_IPS_SEEN_REPLY);
        r->assured = !!(ev->status & NL_CTEV_IPS_ASSURED);
    }
    if (ev->present & NL_CTEV_HAS_ID)
        r->id = ev->id;
    if (ev->present & NL_CTEV_HAS_MARK) {
        r->has_mark = 1;
        r->mark = ev->mark;
    }
    if (ev->present & NL_CTEV_HAS_ZONE) {
        r->has_zone = 1;
        r->zone = ev->zone;
    }
}

void record_capture_block(void *ctx, uint32_t type, const uint8_t *data, size_t n, int swap,
                          uint64_t off, uint64_t frame)
{
    nl_record_capture *c = ctx;
    uint32_t pen;
    const char *why;
    nl_ctev ev;
    rec_ct_event r;
    int rc;
    (void)type;   /* copiable or not: the content is the same */
    if (!c)
        return;
    if (!data) {
        caprec_bad(c, off, frame, "larger than 64 KiB");   /* ours are < 256 bytes */
        return;
    }
    if (n < 4)
        return;
    memcpy(&pen, data, 4);
    if ((swap ? __builtin_bswap32(pen) : pen) != NL_CTEV_PEN)
        return;   /* another vendor's block */
    rc = ctev_decode(data + 4, n - 4, &ev, &why);
    if (rc == 0)
        return;   /* another tag under the documentation PEN, or a later kind */
    if (rc < 0) {
        caprec_bad(c, off, frame, why);
        return;
    }
    switch (ev.kind) {
    case NL_CTEV_START:
        c->st.listener = 1;
        c->st.tstamp = ev.tstamp_sysctl;
        return;
    case NL_CTEV_END:
        c->st.listener = 1;
        return;
    case NL_CTEV_LOSS:
        if (c->st.losses++ == 0) {
            c->first_loss_off = off;
            c->first_loss_frame = frame;
        }
        return;
    default:
        break;
    }
    caprec_event(&ev, &r);
    if (rec_ct_add(c->t, &c->b, &r, frame) < 0) {
        if (!c->full_said)
            caprec_bad(c, off, frame, c->b.full ? "too many entries (4M)" : "out of memory");
        c->full_said = 1;
        return;
    }
    c->st.events++;
}

/* Append one line to the trace's warning (lines joined by '\n'). */
static void caprec_warn(nl_trace *t, const char *w)
{
    size_t a = t->warning ? strlen(t->warning) : 0, b = strlen(w);
    char *n = realloc(t->warning, a + b + 2);
    if (!n)
        return;
    if (a)
        n[a++] = '\n';
    memcpy(n + a, w, b + 1);
    t->warning = n;
}

int record_capture_finish(nl_record_capture *c)
{
    char buf[400], err[512];
    int rc = 0;
    if (!c)
        return 0;
    for (int i = 0; i < CAPREC_SAY; i++)
        if (c->said[i]) {
            caprec_warn(c->t, c->said[i]);
            free(c->said[i]);
        }
    if (c->st.bad_blocks > CAPREC_SAY) {
        snprintf(buf, sizeof buf, "%s: %llu more conntrack event blocks skipped", c->t->name,
                 (unsigned long long)(c->st.bad_blocks - CAPREC_SAY));
        caprec_warn(c->t, buf);
    }
    if (c->st.losses) {
        snprintf(buf, sizeof buf, "%s: the kernel dropped conntrack events %llu time%s while "
                 "capturing (first before byte offset %llu, frame %llu): NAT mappings may be "
                 "missing", c->t->name, (unsigned long long)c->st.losses, c->st.losses > 1 ? "s" : "",
                 (unsigned long long)c->first_loss_off, (unsigned long long)c->first_loss_frame);
        caprec_warn(c->t, buf);
    }
    if (c->st.listener || c->st.events || c->st.bad_blocks || c->st.losses) {
        nl_record_capture_stats *st = record_capture_stats_mut(c->t);
        if (st)
            *st = c->st;
        if (c->b.n && record_emit(c->t, &c->b, err) < 0)
            rc = -1;
    }
    rec_batch_free(&c->b);
    free(c);
    return rc;
}
