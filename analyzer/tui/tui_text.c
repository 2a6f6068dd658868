/* tui_text.c - the text of a row, formatted when it is drawn or searched.
 *
 * Nothing here is stored: a screen of rows costs a screen of snprintf()s,
 * whatever the number of flows. A tuple is kept in parts (addresses, ports,
 * an ICMP tail) until it is written into a cell, so a narrow cell shortens
 * the addresses in the middle and never cuts a port.
 */
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include "tui.h"

static int tui_has_ports(uint8_t proto)
{
    return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == 132 /* SCTP */;
}

static int tui_is_echo(const nl_flow *f)
{
    if (f->proto == IPPROTO_ICMP)
        return f->icmp_type == 8 || f->icmp_type == 0;
    return f->icmp_type == 128 || f->icmp_type == 129;
}

void tui_text_flow(const nl_flow *f, int swap, tui_tuple *t)
{
    const nl_addr *a = swap ? &f->resp_ip : &f->orig_ip, *b = swap ? &f->orig_ip : &f->resp_ip;
    uint16_t pa = swap ? f->resp_port : f->orig_port, pb = swap ? f->orig_port : f->resp_port;
    memset(t, 0, sizeof *t);
    nl_addr_str(a, t->a, sizeof t->a);
    nl_addr_str(b, t->b, sizeof t->b);
    if (tui_has_ports(f->proto)) {
        snprintf(t->pa, sizeof t->pa, "%u", pa);
        snprintf(t->pb, sizeof t->pb, "%u", pb);
        t->v6a = !nl_addr_is_v4(a);
        t->v6b = !nl_addr_is_v4(b);
    } else if (f->proto == IPPROTO_ICMP || f->proto == IPPROTO_ICMPV6) {
        /* the decoder's "ports" of an ICMP flow are the echo id (what a NAT
         * rewrites) or Zeek's type and counterpart/code: say which */
        if (tui_is_echo(f))
            snprintf(t->tail, sizeof t->tail, "echo id=%u", f->orig_port);
        else
            snprintf(t->tail, sizeof t->tail, "type=%u/%u", f->orig_port, f->resp_port);
    }
}

void tui_text_near(const tui_model *m, const tui_row *r, tui_tuple *t)
{
    const nl_flow *f = tui_model_near_flow(m, r);
    if (!f) {
        memset(t, 0, sizeof *t);
        return;
    }
    tui_text_flow(f, 0, t);
    if (r->near_cap > 0 && !t->tail[0])
        /* a middle capture's flow: the NEAR column is capture 0's */
        snprintf(t->tail, sizeof t->tail, "@%s", m->traces[r->near_cap]->name);
}

void tui_text_far(const tui_model *m, const tui_row *r, int brief, tui_tuple *t)
{
    const nl_flow *f = tui_model_far_flow(m, r);
    tui_tuple n;
    if (!f) {
        memset(t, 0, sizeof *t);
        return;
    }
    tui_text_flow(f, r->far ? r->flip : 0, t);
    if ((size_t)r->far_cap + 1 < m->ncaps) {
        /* the connection ends at a middle capture: the FAR column is the
         * last capture's, so say where this one was seen */
        snprintf(t->tail, sizeof t->tail, "@%s", m->traces[r->far_cap]->name);
        return;
    }
    if (!brief || !r->far)
        return;
    tui_text_flow(r->near, 0, &n);
    if (!strcmp(t->a, n.a) && !strcmp(t->pa, n.pa)) {
        strcpy(t->a, "=");
        t->pa[0] = '\0';
        t->v6a = 0;
    }
    if (!strcmp(t->b, n.b) && !strcmp(t->pb, n.pb)) {
        strcpy(t->b, "=");
        t->pb[0] = '\0';
        t->v6b = 0;
    }
    if (!strcmp(t->tail, n.tail))
        t->tail[0] = '\0';
}

/* Columns besides the two addresses. Addresses and ports are ASCII. */
static int tui_tuple_fixed(const tui_tuple *t, int utf8)
{
    int w = utf8 ? 3 : 4;                               /* " → " */
    if (t->pa[0])
        w += 1 + (int)strlen(t->pa) + (t->v6a ? 2 : 0);
    if (t->pb[0])
        w += 1 + (int)strlen(t->pb) + (t->v6b ? 2 : 0);
    if (t->tail[0])
        w += 1 + tui_text_width(t->tail);
    return w;
}

/* addr cut to w columns, the ellipsis in the middle: the network on the
 * left and the host on the right both stay readable */
static void tui_cut(const char *addr, int w, int utf8, char *out, size_t len)
{
    int n = (int)strlen(addr), head, tail;
    if (n <= w || w < 3) {
        snprintf(out, len, "%.*s", w < 1 ? 1 : (n <= w ? n : w), addr);
        return;
    }
    head = (w - 1 + 1) / 2;
    tail = w - 1 - head;
    snprintf(out, len, "%.*s%s%s", head, addr, utf8 ? "\xe2\x80\xa6" : "~", addr + n - tail);
}

static void tui_endpoint(char *buf, size_t len, const char *a, const char *p, int v6)
{
    if (!p[0])
        snprintf(buf, len, "%s", a);
    else if (v6)
        snprintf(buf, len, "[%s]:%s", a, p);
    else
        snprintf(buf, len, "%s:%s", a, p);
}

char *tui_text_fit(const tui_tuple *t, int w, int utf8, char *buf, size_t len)
{
    char a[80], b[80], ea[96], eb[96];
    int la, lb, room;
    if (!t->a[0]) {
        snprintf(buf, len, "%s", utf8 ? "\xe2\x80\x94" : "-");
        return buf;
    }
    la = (int)strlen(t->a);
    lb = (int)strlen(t->b);
    room = w > 0 ? w - tui_tuple_fixed(t, utf8) : la + lb;
    /* shorten the longer address first, down to 3 columns each */
    while (la + lb > room && (la > 3 || lb > 3)) {
        if (la >= lb && la > 3)
            la--;
        else
            lb--;
    }
    tui_cut(t->a, la, utf8, a, sizeof a);
    tui_cut(t->b, lb, utf8, b, sizeof b);
    tui_endpoint(ea, sizeof ea, a, t->pa, t->v6a);
    tui_endpoint(eb, sizeof eb, b, t->pb, t->v6b);
    snprintf(buf, len, "%s %s %s%s%s", ea, utf8 ? "\xe2\x86\x92" : "->", eb,
             t->tail[0] ? " " : "", t->tail);
    return buf;
}

char *tui_text_nat(const tui_model *m, const tui_row *r, char *buf, size_t len)
{
    if (m->pairing)
        snprintf(buf, len, "%s", m->utf8 ? "\xe2\x80\xa6" : "...");
    else if (!r->far)
        snprintf(buf, len, "%s", m->utf8 ? "\xe2\x80\x94" : "-");
    else
        snprintf(buf, len, "%s%s", correlate_translation_name(r->xlate),
                 r->port_changed ? "+p" : "");
    return buf;
}

/* A flow's state as the row shows it: the packet state, or for a record
 * that pins none what the record says (record.h). */
static const char *tui_state_of(const tui_model *m, int cap, const nl_flow *f, char *buf, size_t len)
{
    const nl_record_info *ri = tui_record_info(m, cap, f);
    if (ri && !(ri->pins & NL_REC_PIN_STATE))
        return tui_record_word(ri, buf, len);
    return flow_conn_state(f);
}

char *tui_text_state(const tui_model *m, const tui_row *r, char *buf, size_t len)
{
    char wa[24], wb[24];
    const char *a = tui_state_of(m, r->near_cap, r->near, wa, sizeof wa);
    const char *b = r->far ? tui_state_of(m, r->far_cap, r->far, wb, sizeof wb) : NULL;
    if (b && strcmp(a, b))
        snprintf(buf, len, "%s/%s", a, b);
    else
        snprintf(buf, len, "%s", a);
    return buf;
}

char *tui_text_proto(const tui_row *r, char *buf, size_t len)
{
    char tmp[8];
    if (r->near->proto == IPPROTO_ICMPV6)
        snprintf(buf, len, "icmp6");
    else
        snprintf(buf, len, "%s", flow_proto_name(r->near->proto, tmp, sizeof tmp));
    return buf;
}

char *tui_text_row(const tui_model *m, const tui_row *r, char *buf, size_t len)
{
    char a[160], b[160], n[24], s[48], p[8], rec[400] = "";
    const nl_flow *rf;
    int rcap;
    tui_tuple t;
    tui_text_near(m, r, &t);
    tui_text_fit(&t, 0, m->utf8, a, sizeof a);
    if (m->ncaps >= 2) {
        tui_text_far(m, r, 0, &t);
        tui_text_fit(&t, 0, m->utf8, b, sizeof b);
    } else {
        b[0] = '\0';
    }
    /* a record's words too: its file and line, gateway, VM, status */
    if ((rf = tui_record_of_row(m, r, &rcap)))
        tui_record_text(m, rcap, rf, rec, sizeof rec);
    snprintf(buf, len, "%s  %s  %s  %s  %s  %s%s%s", a, b, tui_text_proto(r, p, sizeof p),
             m->ncaps >= 2 ? tui_text_nat(m, r, n, sizeof n) : "",
             tui_text_state(m, r, s, sizeof s), r->why ? r->why : "", rec[0] ? "  " : "", rec);
    return buf;
}

char *tui_fmt_count(uint64_t v, char *buf, size_t len)
{
    /* at most five columns: 9999, 98.5k, 123k, 45.6M, 789M, 1.2G */
    if (v < 10000)
        snprintf(buf, len, "%llu", (unsigned long long)v);
    else if (v < 99950)
        snprintf(buf, len, "%.1fk", (double)v / 1e3);
    else if (v < 999500)
        snprintf(buf, len, "%.0fk", (double)v / 1e3);
    else if (v < 99950000)
        snprintf(buf, len, "%.1fM", (double)v / 1e6);
    else if (v < 999500000)
        snprintf(buf, len, "%.0fM", (double)v / 1e6);
    else
        snprintf(buf, len, "%.1fG", (double)v / 1e9);
    return buf;
}
