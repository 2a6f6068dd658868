/* ctev.c - encode and decode natlens conntrack event blocks (layout in
 * ctev.h). Decoding reads through a bounded cursor whose `bad` flag
 * sticks: a body shorter than its fields yields zeros and -1, never a read
 * past the end. */
#include <string.h>
#include "natlens/ctev.h"

/* ---- writing ------------------------------------------------------------- */

typedef struct ctev_out {
    uint8_t *p, *end;
    int      over;
} ctev_out;

static void out_bytes(ctev_out *o, const void *v, size_t n)
{
    if (o->over || (size_t)(o->end - o->p) < n) {
        o->over = 1;
        return;
    }
    memcpy(o->p, v, n);
    o->p += n;
}

static void out_u8(ctev_out *o, uint8_t v)
{
    out_bytes(o, &v, 1);
}

static void out_be16(ctev_out *o, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    out_bytes(o, b, 2);
}

static void out_be32(ctev_out *o, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    out_bytes(o, b, 4);
}

static void out_be64(ctev_out *o, uint64_t v)
{
    out_be32(o, (uint32_t)(v >> 32));
    out_be32(o, (uint32_t)v);
}

static int ctev_is_icmp(uint8_t proto)
{
    return proto == 1 || proto == 58;
}

static void out_tuple(ctev_out *o, const nl_ctev_tuple *t, uint8_t family, uint8_t proto)
{
    /* nl_addr keeps IPv4 in its last four bytes (v4-mapped) */
    size_t a = family == 4 ? 4 : 16, off = family == 4 ? 12 : 0;
    out_bytes(o, t->src.b + off, a);
    out_bytes(o, t->dst.b + off, a);
    if (ctev_is_icmp(proto)) {
        out_u8(o, t->type);
        out_u8(o, t->code);
        out_be16(o, t->icmp_id);
    } else {
        out_be16(o, t->sport);
        out_be16(o, t->dport);
    }
}

size_t ctev_encode(const nl_ctev *ev, uint8_t *buf, size_t len)
{
    ctev_out o = {buf, buf + (len < NL_CTEV_DATA_MAX ? len : NL_CTEV_DATA_MAX), 0};
    uint8_t *lenp;
    uint32_t pen = NL_CTEV_PEN;
    if (ev->kind == NL_CTEV_EVENT && ev->family != 4 && ev->family != 6)
        return 0;
    if (ev->kind < NL_CTEV_EVENT || ev->kind > NL_CTEV_END)
        return 0;
    out_bytes(&o, &pen, 4);                 /* section (host) byte order */
    out_bytes(&o, NL_CTEV_TAG, 4);
    out_u8(&o, NL_CTEV_VERSION);
    out_u8(&o, ev->kind);
    lenp = o.p;
    out_be16(&o, 0);                        /* body length, set below */
    switch (ev->kind) {
    case NL_CTEV_EVENT:
        out_u8(&o, ev->event);
        out_u8(&o, ev->family);
        out_u8(&o, ev->proto);
        out_u8(&o, ev->tcp_state);
        out_be16(&o, ev->present);
        out_be16(&o, ev->zone);
        out_be64(&o, ev->recv_ns);
        out_be64(&o, ev->start_ns);
        out_be64(&o, ev->stop_ns);
        out_be32(&o, ev->id);
        out_be32(&o, ev->status);
        out_be32(&o, ev->mark);
        out_be32(&o, ev->timeout);
        out_tuple(&o, &ev->orig, ev->family, ev->proto);
        out_tuple(&o, &ev->reply, ev->family, ev->proto);
        if (ev->present & NL_CTEV_HAS_COUNTERS)
            for (int i = 0; i < 4; i++)
                out_be64(&o, ev->counters[i]);
        break;
    case NL_CTEV_LOSS:
        out_be64(&o, ev->recv_ns);
        out_be32(&o, ev->overruns);
        out_be32(&o, 0);
        break;
    case NL_CTEV_START:
        out_be64(&o, ev->recv_ns);
        out_u8(&o, ev->tstamp_sysctl);
        out_u8(&o, ev->acct_sysctl);
        out_be16(&o, 0);
        out_be32(&o, ev->rcvbuf);
        out_be32(&o, ev->overruns);
        break;
    case NL_CTEV_END:
        out_be64(&o, ev->recv_ns);
        out_be64(&o, ev->events);
        out_be32(&o, ev->overruns);
        out_be32(&o, 0);
        break;
    }
    if (o.over)
        return 0;
    {
        size_t body = (size_t)(o.p - lenp) - 2;
        lenp[0] = (uint8_t)(body >> 8);
        lenp[1] = (uint8_t)body;
    }
    /* every body is a multiple of 4 bytes long: no padding needed */
    return (size_t)(o.p - buf);
}

/* ---- reading ------------------------------------------------------------- */

typedef struct ctev_in {
    const uint8_t *p, *end;
    int bad;                 /* a read went past the end: sticks */
} ctev_in;

static const uint8_t *in_take(ctev_in *c, size_t n)
{
    const uint8_t *q = c->p;
    if (c->bad || (size_t)(c->end - c->p) < n) {
        c->bad = 1;
        return NULL;
    }
    c->p += n;
    return q;
}

static uint8_t in_u8(ctev_in *c)
{
    const uint8_t *q = in_take(c, 1);
    return q ? q[0] : 0;
}

static uint16_t in_be16(ctev_in *c)
{
    const uint8_t *q = in_take(c, 2);
    return q ? (uint16_t)((q[0] << 8) | q[1]) : 0;
}

static uint32_t in_be32(ctev_in *c)
{
    const uint8_t *q = in_take(c, 4);
    return q ? ((uint32_t)q[0] << 24) | ((uint32_t)q[1] << 16) | ((uint32_t)q[2] << 8) | q[3] : 0;
}

static uint64_t in_be64(ctev_in *c)
{
    uint64_t hi = in_be32(c);
    return (hi << 32) | in_be32(c);
}

static void in_addr(ctev_in *c, nl_addr *a, uint8_t family)
{
    const uint8_t *q = in_take(c, family == 4 ? 4 : 16);
    memset(a, 0, sizeof *a);
    if (!q)
        return;
    if (family == 4)
        nl_addr_from_v4(a, q);
    else
        memcpy(a->b, q, 16);
}

static void in_tuple(ctev_in *c, nl_ctev_tuple *t, uint8_t family, uint8_t proto)
{
    memset(t, 0, sizeof *t);
    in_addr(c, &t->src, family);
    in_addr(c, &t->dst, family);
    if (ctev_is_icmp(proto)) {
        t->type = in_u8(c);
        t->code = in_u8(c);
        t->icmp_id = in_be16(c);
    } else {
        t->sport = in_be16(c);
        t->dport = in_be16(c);
    }
}

static int ctev_decode_event(ctev_in *c, nl_ctev *ev, const char **why)
{
    ev->event = in_u8(c);
    ev->family = in_u8(c);
    ev->proto = in_u8(c);
    ev->tcp_state = in_u8(c);
    ev->present = in_be16(c);
    ev->zone = in_be16(c);
    if (c->bad)
        return *why = "event body cut short", -1;
    if (ev->event < NL_CTEV_NEW || ev->event > NL_CTEV_DESTROY)
        return *why = "unknown event type", -1;
    if (ev->family != 4 && ev->family != 6)
        return *why = "address family is neither 4 nor 6", -1;
    ev->recv_ns = in_be64(c);
    ev->start_ns = in_be64(c);
    ev->stop_ns = in_be64(c);
    ev->id = in_be32(c);
    ev->status = in_be32(c);
    ev->mark = in_be32(c);
    ev->timeout = in_be32(c);
    in_tuple(c, &ev->orig, ev->family, ev->proto);
    in_tuple(c, &ev->reply, ev->family, ev->proto);
    if (ev->present & NL_CTEV_HAS_COUNTERS)
        for (int i = 0; i < 4; i++)
            ev->counters[i] = in_be64(c);
    if (c->bad)
        return *why = "event body shorter than its fields", -1;
    return 1;
}

int ctev_decode(const uint8_t *data, size_t n, nl_ctev *ev, const char **why)
{
    ctev_in c = {data, data + n, 0};
    const uint8_t *tag;
    uint8_t version;
    uint16_t blen;
    memset(ev, 0, sizeof *ev);
    *why = NULL;
    tag = in_take(&c, 4);
    if (!tag || memcmp(tag, NL_CTEV_TAG, 4))
        return 0;   /* someone else's block under the documentation PEN */
    version = in_u8(&c);
    ev->kind = in_u8(&c);
    blen = in_be16(&c);
    if (c.bad)
        return *why = "block header cut short", -1;
    if (version != NL_CTEV_VERSION)
        return *why = "layout version this natlens does not know", -1;
    if (blen > (size_t)(c.end - c.p))
        return *why = "body length past the end of the block", -1;
    c.end = c.p + blen;   /* fields after the ones we know: ignored */
    switch (ev->kind) {
    case NL_CTEV_EVENT:
        return ctev_decode_event(&c, ev, why);
    case NL_CTEV_LOSS:
        ev->recv_ns = in_be64(&c);
        ev->overruns = in_be32(&c);
        break;
    case NL_CTEV_START:
        ev->recv_ns = in_be64(&c);
        ev->tstamp_sysctl = in_u8(&c);
        ev->acct_sysctl = in_u8(&c);
        (void)in_be16(&c);
        ev->rcvbuf = in_be32(&c);
        ev->overruns = in_be32(&c);
        break;
    case NL_CTEV_END:
        ev->recv_ns = in_be64(&c);
        ev->events = in_be64(&c);
        ev->overruns = in_be32(&c);
        break;
    default:
        return 0;   /* a kind added later: skip it */
    }
    if (c.bad)
        return *why = "body shorter than its fields", -1;
    return 1;
}

const char *ctev_event_name(uint8_t event)
{
    return event == NL_CTEV_NEW ? "NEW" : event == NL_CTEV_UPDATE ? "UPDATE"
         : event == NL_CTEV_DESTROY ? "DESTROY" : "?";
}

const char *ctev_tcp_state_name(uint8_t state)
{
    /* libnetfilter_conntrack's names (conntrack -E prints these) */
    static const char *const names[] = {
        "NONE", "SYN_SENT", "SYN_RECV", "ESTABLISHED", "FIN_WAIT",
        "CLOSE_WAIT", "LAST_ACK", "TIME_WAIT", "CLOSE", "SYN_SENT2",
    };
    return state < sizeof names / sizeof names[0] ? names[state] : NULL;
}
