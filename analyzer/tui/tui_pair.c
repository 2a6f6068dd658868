/* tui_pair.c - panel 2: the ladder of one connection across two captures.
 *
 * Near capture on the left, far capture on the right, one line per kept
 * packet in the near capture's clock (correlate_to_clock); the arrow points
 * the way the packet travelled; the far side's fields that a middlebox
 * rewrote are marked '*' (and coloured). A packet of a paired flow that the
 * other side's records cover but do not hold ends in a cross, "not seen
 * at ..."; where the other side kept no records, nothing is claimed. A
 * flow seen at the far capture only is drawn on the right. The rungs come
 * from tui_ladder.c; this file only draws them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>
#include <netinet/in.h>
#include "natlens/flow_out.h"
#include "tui.h"

int tui_pair_show(tui_ui *ui, long row)
{
    if (!ui->m || row < 0 || (size_t)row >= ui->m->nrows)
        return TUI_F_NONE;
    if (ui->panel != TUI_P_PAIR)
        ui->back_panel = ui->panel;
    if (row != ui->pair_row) {
        ui->pair_hop = 0;
        ui->list[TUI_P_PAIR].cur = ui->list[TUI_P_PAIR].top = 0;
    }
    ui->pair_row = row;
    if (tui_pair_rebuild(ui) < 0)
        snprintf(ui->status, sizeof ui->status, "out of memory for the ladder");
    tui_flows_goto_row(ui, row);
    ui->panel = TUI_P_PAIR;
    return TUI_F_REDRAW;
}

int tui_pair_rebuild(tui_ui *ui)
{
    int rc;
    if (!ui->m || ui->pair_row < 0 || (size_t)ui->pair_row >= ui->m->nrows)
        return 0;
    rc = tui_ladder_build(ui->m, (size_t)ui->pair_row, ui->pair_hop, &ui->pkts, &ui->ladder);
    if (ui->list[TUI_P_PAIR].cur >= ui->ladder.n)
        ui->list[TUI_P_PAIR].cur = ui->ladder.n ? ui->ladder.n - 1 : 0;
    if (rc == 0)
        tui_pkts_want_more(ui);
    return rc;
}

static size_t tui_pair_count(const tui_ui *ui)
{
    return ui->pair_row < 0 ? 0 : ui->ladder.n;
}

/* The flow a side's label describes (for the protocol). */
static const nl_flow *tui_pair_flow(const tui_ladder *L)
{
    return L->nf ? L->nf : L->ff;
}

/* Label of one kept packet. `ref` is the same packet at the near side when
 * this is the far side's record: fields that differ get a '*'. isn[] are
 * this side's ISNs by near direction. */
static void tui_pair_label(const tui_ladder *L, const nl_pkt_rec *p, const nl_pkt_rec *ref,
                           const uint32_t isn[2], int d, char *buf, size_t len)
{
    char fl[48], text[40];
    size_t o = 0;
    uint8_t proto = tui_pair_flow(L)->proto;
#define ADD(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
    buf[0] = '\0';
    if (proto == IPPROTO_TCP) {
        decode_tcp_flags_str(p->tcp_flags, fl, sizeof fl);
        ADD("%s", fl[0] ? fl : "none");
        if (p->tcp_flags & NL_TH_SYN)
            ADD(" seq=%s%u", ref && ref->seq != p->seq ? "*" : "", p->seq);
        else if (p->payload_len || (p->tcp_flags & (NL_TH_FIN | NL_TH_RST)))
            ADD(" seq=%u", p->seq - isn[d]);
        if ((p->tcp_flags & NL_TH_ACK) && !(p->tcp_flags & NL_TH_SYN && !(p->tcp_flags & NL_TH_ACK)))
            ADD(" ack=%u", p->ack - isn[d ^ 1]);
        if (p->payload_len)
            ADD(" len=%u", p->payload_len);
        if ((p->tcp_flags & NL_TH_SYN) && p->mss)
            ADD(" mss=%s%u", ref && ref->mss != p->mss ? "*" : "", p->mss);
    } else if (proto == IPPROTO_ICMP || proto == IPPROTO_ICMPV6) {
        /* flow_table keeps the ICMP type in ack and the echo seq in seq */
        ADD("ICMP type=%u seq=%s%u len=%u", p->ack, ref && ref->seq != p->seq ? "*" : "", p->seq,
            p->payload_len);
    } else {
        ADD("%s len=%u", proto == IPPROTO_UDP ? "UDP" : "IP", p->payload_len);
    }
    if (ref && ref->ip_id && p->ip_id && ref->ip_id != p->ip_id)
        ADD(" id=*%u", p->ip_id);
    if (p->payload_len && p->text[0]) {
        /* already printable ASCII (flow.h); the drawing layer escapes again */
        snprintf(text, sizeof text, "%.*s", (int)sizeof p->text, p->text);
        ADD(" \"%s\"", text);
    }
#undef ADD
}

/* Draw a label, tokens holding '*' in the highlight colour. */
static void tui_pair_draw_label(int y, int x, int w, int role, int extra, const char *s)
{
    char tok[128];
    int used = 0;
    while (*s && used < w) {
        size_t n = strcspn(s, " ");
        size_t sp = strspn(s + n, " ");
        if (n + sp >= sizeof tok)
            n = sizeof tok - 1 - sp;
        memcpy(tok, s, n + sp);
        tok[n + sp] = '\0';
        used += tui_draw_textx(y, x + used, w - used, memchr(s, '*', n) ? TUI_A_XLATE : role,
                               extra, tok);
        s += n + sp;
    }
}

/* dir 0 travels near -> far (left to right); a cross marks the side that
 * did not see the packet (only where that is known) */
static void tui_pair_arrow(int y, int x, int w, int dir, int near_miss, int far_miss, int role)
{
    int lw = w - 1 - near_miss - far_miss;
    if (w < 3)
        return;
    if (near_miss)
        x += tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
    if (dir != 0)
        x += tui_draw_text(y, x, 1, role, tui_g.head_l);
    tui_draw_repeat(y, x, lw, role, tui_g.line);
    x += lw;
    if (dir == 0)
        x += tui_draw_text(y, x, 1, role, tui_g.head_r);
    if (far_miss)
        tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
}

static void tui_fmt_delta(int64_t ns, char *buf, size_t len)
{
    double a = (double)(ns < 0 ? -ns : ns);
    if (a < 1e9)
        snprintf(buf, len, "%+.2f ms", (double)ns / 1e6);
    else
        snprintf(buf, len, "%+.3f s", (double)ns / 1e9);
}

static void tui_pair_header(tui_ui *ui, int y, int xl, int xr)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    char buf[320];
    tui_tuple t;
    int x;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    if (L->nf) {
        tui_text_flow(L->nf, 0, &t);
        tui_text_fit(&t, xr - xl - 1, m->utf8, buf, sizeof buf);
        tui_draw_textx(y, xl, xr - xl - 1, TUI_A_HEAD, A_BOLD, buf);
    } else {
        /* while pairing nothing is known about the other capture */
        snprintf(buf, sizeof buf, L->pending ? "%s pairing%s" : "%s not at %s", tui_g.dash,
                 L->pending ? tui_g.ellipsis : m->traces[L->near_cap]->name);
        tui_draw_textx(y, xl, xr - xl - 1, TUI_A_HEAD, 0, buf);
    }
    x = xr;
    if (L->far_cap < 0) {
        /* one side: the arrows say which way each packet went */
    } else if (!L->ff) {
        snprintf(buf, sizeof buf, "%s not at %s", tui_g.dash, m->traces[L->far_cap]->name);
        tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, 0, buf);
    } else if (!L->match) {
        tui_text_flow(L->ff, 0, &t);
        tui_text_fit(&t, COLS - x, m->utf8, buf, sizeof buf);
        tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, A_BOLD, buf);
    } else {
        /* far endpoints in the near flow's direction; rewritten ones get '*' */
        const nl_flow *n = L->nf;
        int ports = n->proto == IPPROTO_TCP || n->proto == IPPROTO_UDP || n->proto == 132;
        nl_addr ip[2];
        uint16_t port[2];
        char e[2][100], tail[40] = "";
        int ch[2];
        correlate_far_endpoint(L->match, NL_ORIG, &ip[0], &port[0]);
        correlate_far_endpoint(L->match, NL_RESP, &ip[1], &port[1]);
        /* without ports (ICMP) only the addresses count; the echo id a
         * NAT rewrote is said after them */
        ch[0] = nl_addr_cmp(&ip[0], &n->orig_ip) || (ports && port[0] != n->orig_port);
        ch[1] = nl_addr_cmp(&ip[1], &n->resp_ip) || (ports && port[1] != n->resp_port);
        for (int k = 0; k < 2; k++) {
            char a[64];
            nl_addr_str(&ip[k], a, sizeof a);
            if (ports)
                snprintf(e[k], sizeof e[k], nl_addr_is_v4(&ip[k]) ? "%s%s:%u" : "%s[%s]:%u",
                         ch[k] ? "*" : "", a, port[k]);
            else
                snprintf(e[k], sizeof e[k], "%s%s", ch[k] ? "*" : "", a);
        }
        if (!ports && (n->proto == IPPROTO_ICMP || n->proto == IPPROTO_ICMPV6)) {
            tui_tuple ft;
            tui_text_flow(L->ff, L->flip, &ft);
            if (ft.tail[0])
                snprintf(tail, sizeof tail, " %s%s", port[0] != n->orig_port ? "*" : "", ft.tail);
        }
        x += tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, ch[0] ? A_BOLD | A_UNDERLINE : 0, e[0]);
        snprintf(buf, sizeof buf, " %s ", tui_g.rarrow);
        x += tui_draw_text(y, x, COLS - x, TUI_A_HEAD, buf);
        x += tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, ch[1] ? A_BOLD | A_UNDERLINE : 0, e[1]);
        tui_draw_text(y, x, COLS - x, TUI_A_HEAD, tail);
    }
}

/* Is either side of the open hop a record flow (record.h)? Then the
 * panel shows the record, not a packet ladder. */
static int tui_pair_is_record(const tui_ui *ui)
{
    const tui_ladder *L = &ui->ladder;
    return tui_record_info(ui->m, L->near_cap, L->nf) ||
           (L->far_cap >= 0 && tui_record_info(ui->m, L->far_cap, L->ff));
}

static void tui_pair_info(tui_ui *ui, int y)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    const tui_row *r = L->row;
    char buf[400], ev[120] = "";
    size_t o = 0;
    int x = 1;
    if (L->match && tui_pair_is_record(ui)) {
        /* a record pairs "recorded" (it holds the NAT's mapping) or
         * "likely" (a tuple in its time window); it counts no losses */
        const nl_match *mt = L->match;
        for (uint32_t bit = 1; bit && bit < (1u << NL_EV_COUNT); bit <<= 1)
            if ((mt->evidence & bit) && correlate_evidence_name(bit) && o < sizeof ev)
                o += (size_t)snprintf(ev + o, sizeof ev - o, "%s%s", o ? "," : "",
                                      correlate_evidence_name(bit));
        snprintf(buf, sizeof buf, "%s%s %s %s (%s) %s far clock %+.3f s%s",
                 correlate_translation_name(mt->translation),
                 mt->sport_changed || mt->dport_changed ? "+port" : "", tui_g.dot,
                 mt->level == NL_CONF_RECORDED ? "recorded by the NAT" : "likely: a tuple in the record's time window",
                 ev[0] ? ev : "-", tui_g.dot, correlate_offset_s(m->corr, L->near_cap, L->far_cap),
                 L->nhops > 1 ? "  (h: next hop)" : "");
        x += tui_draw_text(y, x, COLS - x - 1, mt->translation ? TUI_A_XLATE : TUI_A_NORMAL, buf);
    } else if (L->match) {
        const nl_match *mt = L->match;
        double off = correlate_offset_s(m->corr, L->near_cap, L->far_cap);
        for (uint32_t bit = 1; bit && bit < (1u << NL_EV_COUNT); bit <<= 1)
            if ((mt->evidence & bit) && correlate_evidence_name(bit) && o < sizeof ev)
                o += (size_t)snprintf(ev + o, sizeof ev - o, "%s%s", o ? "," : "",
                                      correlate_evidence_name(bit));
        snprintf(buf, sizeof buf, "%s%s %s %s %.0f%% %s far clock %+.3f s %s lost %llu%s%s",
                 correlate_translation_name(mt->translation),
                 mt->sport_changed || mt->dport_changed ? "+port" : "", tui_g.dot,
                 ev[0] ? ev : "-", mt->confidence * 100, tui_g.dot, off, tui_g.dot,
                 (unsigned long long)(mt->lost[0] + mt->lost[1]),
                 mt->has_seq_offset ? "  seq rewritten" : "",
                 L->nhops > 1 ? "  (h: next hop)" : "");
        x += tui_draw_text(y, x, COLS - x - 1, mt->translation ? TUI_A_XLATE : TUI_A_NORMAL, buf);
    } else if (L->pending) {
        snprintf(buf, sizeof buf, "pairing %zu captures%s the other side's packets follow",
                 m->ncaps, tui_g.ellipsis);
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_DIM, buf);
    } else if (L->far_cap >= 0 && tui_pair_is_record(ui) && (!L->nf || !L->ff)) {
        /* a record no capture flow paired with: what the record file holds
         * beyond the capture, not a flow that went missing */
        int other = L->nf ? L->far_cap : L->near_cap;
        snprintf(buf, sizeof buf, "a record only: no such flow at %s%s", m->traces[other]->name,
                 r->unm_reason == NL_UNM_OUTSIDE_WINDOW + 1 ? " (outside its time span)" : "");
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_DIM, buf);
    } else if (L->far_cap >= 0) {
        /* correlate's verdict on the whole flow; no packet is judged */
        int far_only = !L->nf;
        const char *why = r->unm_reason ? correlate_reason_name((uint8_t)(r->unm_reason - 1)) : NULL;
        snprintf(buf, sizeof buf, "only at %s: no twin at %s%s%s%s",
                 m->traces[far_only ? L->far_cap : L->near_cap]->name,
                 m->traces[far_only ? L->near_cap : L->far_cap]->name,
                 why ? " (" : "", why ? why : "", why ? ")" : "");
        x += tui_draw_text(y, x, COLS - x - 1, far_only ? TUI_A_WARN : TUI_A_BAD, buf);
    } else if (tui_pair_is_record(ui)) {
        snprintf(buf, sizeof buf, "records of one capture point: give a capture of the same traffic "
                 "beside them to pair");
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_DIM, buf);
    } else {
        snprintf(buf, sizeof buf, "one capture (%s from the originator, %s from the responder); "
                 "give a second capture to pair", tui_g.head_r, tui_g.head_l);
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_DIM, buf);
    }
    if (r->why) {
        snprintf(buf, sizeof buf, "  %s %s", tui_g.dot, r->why);
        tui_draw_text(y, x, COLS - x - 1, r->health == TUI_H_BAD ? TUI_A_BAD :
                      r->health == TUI_H_WARN ? TUI_A_WARN : TUI_A_DIM, buf);
    }
}

/* What a side of the ladder misses and why, said under the rungs instead
 * of an empty or short ladder: its packets being read again, why they
 * cannot be (standard input, a tunnel, ...), or the cap reached. NULL:
 * the side shows every packet (or is a record, tui_pair_records). */
static const char *tui_pair_side_note(const tui_ui *ui, int s, char *buf, size_t len)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    const nl_flow *f = s ? L->ff : L->nf;
    int cap = L->pcap[s];
    const char *why = NULL, *name;
    int capped = 0, asked = 0;
    if (!f || cap < 0 || tui_record_info(m, cap, f))
        return NULL;
    name = m->traces[cap]->name;
    for (size_t p = 0; p < L->np[s]; p++) {
        const tui_pkts_ent *e;
        if (L->whole[s][p])
            continue;
        asked = 1;
        if (!(e = tui_pkts_entry(&ui->pkts, cap, L->piece[s][p])))
            continue;
        if (e->why[0] && !why)
            why = e->why;
        capped |= e->capped;
    }
    if (!asked && !L->more_pieces)
        return NULL;
    if (tui_pkts_busy(&ui->pkts) && !why && !capped) {
        snprintf(buf, len, "%s: %llu of %llu packets kept; reading the others again%s", name,
                 (unsigned long long)L->kept[s], (unsigned long long)L->pkts[s], tui_g.ellipsis);
    } else if (why) {
        snprintf(buf, len, "%s: %s; the ladder shows the packets kept (%llu of %llu)", name, why,
                 (unsigned long long)L->kept[s], (unsigned long long)L->pkts[s]);
    } else if (capped) {
        snprintf(buf, len, "%s: the first %llu of %llu packets, read again (at most %d a capture)",
                 name, (unsigned long long)L->kept[s], (unsigned long long)L->pkts[s],
                 TUI_PKTS_CAP);
    } else if (m->pairing) {
        snprintf(buf, len, "%s: %llu of %llu packets kept; the rest are read again once paired",
                 name, (unsigned long long)L->kept[s], (unsigned long long)L->pkts[s]);
    } else if (asked) {
        snprintf(buf, len, "%s: %llu of %llu packets kept", name,
                 (unsigned long long)L->kept[s], (unsigned long long)L->pkts[s]);
    } else {
        return NULL;
    }
    return buf;
}

static void tui_pair_footer(tui_ui *ui, int y)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    const tui_rung *g = &L->r[ui->list[TUI_P_PAIR].cur];
    char buf[400];
    size_t o = 0;
#define ADD(...) do { if (o < sizeof buf) o += (size_t)snprintf(buf + o, sizeof buf - o, __VA_ARGS__); } while (0)
    if (g->n)
        ADD("%s #%llu ttl %u", m->traces[L->near_cap]->name, (unsigned long long)g->n->frame, g->n->ttl);
    if (g->f)
        ADD("%s%s #%llu ttl %u", o ? "  " : "", m->traces[L->far_cap]->name,
            (unsigned long long)g->f->frame, g->f->ttl);
    {
        /* the payload excerpt in full: the ladder columns cut it */
        const nl_pkt_rec *p = g->n ? g->n : g->f;
        if (p->payload_len && p->text[0])
            ADD("  \"%.*s\"", (int)sizeof p->text, p->text);
    }
    /* where the cursor is, and what was kept of how much */
    ADD("   %zu/%zu", ui->list[TUI_P_PAIR].cur + 1, L->n);
    {
        /* a record side kept no packets: nothing to count there */
        int nk = L->nf && !tui_record_info(m, L->near_cap, L->nf);
        int fk = L->ff && L->far_cap >= 0 && !tui_record_info(m, L->far_cap, L->ff);
        if (nk)
            ADD("   kept %llu of %llu", (unsigned long long)L->kept[0], (unsigned long long)L->pkts[0]);
        if (fk)
            ADD("%s%llu of %llu", nk ? " / " : "   kept ", (unsigned long long)L->kept[1],
                (unsigned long long)L->pkts[1]);
    }
    ADD(" packets");
    {
        /* which captures the ladder read again (tui_pkts.c) */
        int again[2] = {0, 0};
        for (int s = 0; s < 2; s++)
            for (size_t p = 0; p < L->np[s] && !again[s]; p++) {
                const tui_pkts_ent *e = tui_pkts_entry(&ui->pkts, L->pcap[s], L->piece[s][p]);
                again[s] = e && e->n && !e->why[0];
            }
        if (again[0] && again[1])
            ADD(" (both read again)");
        else if (again[0] || again[1])
            ADD(" (%s read again)", m->traces[L->pcap[again[0] ? 0 : 1]]->name);
    }
    if (L->npieces[0] > 1 || L->npieces[1] > 1)
        ADD(" in %zu/%zu pieces%s", L->npieces[0], L->npieces[1], L->more_pieces ? " (more not drawn)" : "");
#undef ADD
    tui_draw_text(y, 1, COLS - 2, TUI_A_DIM, buf);
}

typedef struct tui_pair_geo {
    int xl, xa, xd, xr, lw, aw, dw, rw;
} tui_pair_geo;

/* One rung. one: only the side that holds packets is drawn (one capture,
 * or a record on the other side), in the left column. */
static void tui_pair_rung(tui_ui *ui, int yy, size_t i, const tui_pair_geo *G, int one)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    const tui_rung *g = &L->r[i];
    char buf[64], lab[200];
    int cur = i == ui->list[TUI_P_PAIR].cur, ex = cur ? A_REVERSE : 0;
    int role = g->dir == 0 ? TUI_A_NORMAL : TUI_A_OK;
    if (one) {
        const nl_pkt_rec *p = g->n ? g->n : g->f;
        if (cur)
            tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
        flow_out_time(g->t_ns, buf, sizeof buf, 0);
        tui_draw_textx(yy, 1, 15, TUI_A_NORMAL, ex, buf);
        if (p) {
            tui_pair_label(L, p, NULL, g->n ? L->isn_n : L->isn_f, g->dir, lab, sizeof lab);
            tui_pair_draw_label(yy, G->xl, G->lw, TUI_A_NORMAL, ex, lab);
        }
        tui_pair_arrow(yy, G->xa, G->aw, g->dir, 0, 0, role);
        return;
    }
    /* a miss is claimed only for a paired flow whose records reach it */
    int near_miss = L->match && !g->n && !g->unknown;
    int far_miss = L->match && !g->f && !g->unknown;
    if (cur)
        tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
    flow_out_time(g->t_ns, buf, sizeof buf, 0);
    tui_draw_textx(yy, 1, 15, g->n ? TUI_A_NORMAL : TUI_A_DIM, ex, buf);
    if (g->n) {
        tui_pair_label(L, g->n, NULL, L->isn_n, g->dir, lab, sizeof lab);
        tui_pair_draw_label(yy, G->xl, G->lw, TUI_A_NORMAL, ex, lab);
    } else if (near_miss) {
        snprintf(lab, sizeof lab, "%s not seen at %s", tui_g.cross, m->traces[L->near_cap]->name);
        tui_draw_textx(yy, G->xl, G->lw, TUI_A_BAD, ex, lab);
    } else {
        tui_draw_textx(yy, G->xl, G->lw, TUI_A_DIM, ex, tui_g.dot);
    }
    tui_pair_arrow(yy, G->xa, G->aw, g->dir, near_miss, far_miss,
                   near_miss || far_miss ? TUI_A_BAD : g->n && g->f ? role : TUI_A_DIM);
    if (g->f) {
        if (g->n) {
            uint64_t ft = correlate_to_clock(m->corr, L->far_cap, L->near_cap, g->f->ts_ns);
            /* time in flight, whichever way the packet went */
            int64_t dt = (int64_t)(ft - g->n->ts_ns);
            tui_fmt_delta(g->dir == 0 ? dt : -dt, buf, sizeof buf);
            tui_draw_textx(yy, G->xd, G->dw, TUI_A_DIM, ex, buf);
        }
        tui_pair_label(L, g->f, g->n, L->isn_f, g->dir, lab, sizeof lab);
        tui_pair_draw_label(yy, G->xr, G->rw, TUI_A_NORMAL, ex, lab);
    } else if (far_miss) {
        snprintf(lab, sizeof lab, "not seen at %s", m->traces[L->far_cap]->name);
        tui_draw_textx(yy, G->xd, G->dw + 1 + G->rw, TUI_A_BAD, ex, lab);
    } else if (g->unknown) {
        tui_draw_textx(yy, G->xd, G->dw + 1 + G->rw, TUI_A_DIM, ex, "? not kept there");
    } else {
        tui_draw_textx(yy, G->xr, G->rw, TUI_A_DIM, ex, tui_g.dot);
    }
}

static void tui_pair_geometry(int one, tui_pair_geo *G)
{
    int rest = COLS - 17;
    G->aw = rest >= 80 ? 12 : 6;
    G->dw = 10;
    if (one) {
        G->lw = rest - G->aw - 2 > 48 ? 48 : rest - G->aw - 2;
        G->rw = G->dw = 0;
    } else {
        G->lw = (rest - G->aw - G->dw - 3) / 2;
        G->rw = rest - G->lw - G->aw - G->dw - 3;
    }
    G->xl = 17;
    G->xa = G->xl + G->lw + 1;
    G->xd = G->xa + G->aw + 1;
    G->xr = G->xd + G->dw + 1;
}

/* A pair with a record: the record itself (where, legs, names, verdicts,
 * counts where pinned, time window, what it pins) in place of a packet
 * ladder, then the packets of the side that has them, one-sided. */
static void tui_pair_records(tui_ui *ui, int y, int h)
{
    tui_ladder *L = &ui->ladder;
    tui_list *l = &ui->list[TUI_P_PAIR];
    const tui_model *m = ui->m;
    tui_rline rl[2][TUI_RLINES];
    size_t nrl[2] = {0, 0}, total, shown = 0;
    int pk = 0, yy, avail;
    tui_pair_geo G, H;
    char buf[320];
    const char *pcap = NULL;
    if (tui_record_info(m, L->near_cap, L->nf))
        nrl[0] = tui_record_lines(m, L->near_cap, L->nf, rl[0], TUI_RLINES);
    else if (L->nf)
        pcap = m->traces[L->near_cap]->name;
    if (L->far_cap >= 0 && tui_record_info(m, L->far_cap, L->ff))
        nrl[1] = tui_record_lines(m, L->far_cap, L->ff, rl[1], TUI_RLINES);
    else if (L->ff && L->far_cap >= 0)
        pcap = m->traces[L->far_cap]->name;
    total = nrl[0] + nrl[1];
    tui_pair_geometry(1, &G);
    tui_pair_geometry(L->far_cap < 0, &H);
    tui_pair_header(ui, y, H.xl, L->far_cap < 0 ? H.xa + H.aw + 1 : H.xd);
    tui_pair_info(ui, y + 1);
    /* the packets of the other side keep a few lines when there are any */
    if (L->n && h > 8) {
        pk = (int)(L->n < 4 ? L->n : 4) + 1;
        if ((int)total + 3 + pk < h)
            pk = h - 3 - (int)total;
        if (pk > (int)L->n + 1)
            pk = (int)L->n + 1;
    }
    avail = h - 2 - pk - (pk ? 1 : 0);
    yy = y + 2;
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < nrl[side]; i++) {
            if ((int)shown + 1 >= avail && shown + 1 < total) {
                snprintf(buf, sizeof buf, "%s %zu more line%s of the record (a taller window shows them)",
                         tui_g.ellipsis, total - shown, total - shown == 1 ? "" : "s");
                tui_draw_text(yy, 2, COLS - 4, TUI_A_DIM, buf);
                side = 2;
                break;
            }
            if (rl[side][i].role == TUI_A_HEAD) {
                tui_draw_fill(yy, 0, COLS, TUI_A_DIM);
                tui_draw_textx(yy, 1, 12, TUI_A_DIM, A_BOLD, "RECORD");
                tui_draw_textx(yy, 14, COLS - 15, TUI_A_DIM, A_BOLD, rl[side][i].text);
            } else {
                tui_draw_text(yy, 3, 11, TUI_A_DIM, rl[side][i].label);
                tui_draw_text(yy, 15, COLS - 16, rl[side][i].role, rl[side][i].text);
            }
            yy++;
            shown++;
        }
    if (!pk)
        return;
    /* right under the record: the other side's packets */
    tui_draw_fill(yy, 0, COLS, TUI_A_DIM);
    tui_draw_text(yy, 1, 15, TUI_A_DIM, "TIME near clock");
    snprintf(buf, sizeof buf, "%s: its packets (the record holds none)", pcap ? pcap : "");
    tui_draw_text(yy, G.xl, COLS - G.xl - 1, TUI_A_DIM, buf);
    tui_list_fit(l, L->n, pk - 1);
    for (int k = 0; k < pk - 1 && l->top + (size_t)k < L->n; k++)
        tui_pair_rung(ui, yy + 1 + k, l->top + (size_t)k, &G, 1);
    if (l->cur < L->n)
        tui_pair_footer(ui, y + h - 1);
}

static void tui_pair_draw(tui_ui *ui, int y, int h)
{
    tui_ladder *L = &ui->ladder;
    tui_list *l = &ui->list[TUI_P_PAIR];
    const tui_model *m = ui->m;
    char msg[2][300];
    const char *nr, *fr;
    tui_pair_geo G;
    int body;
    if (ui->pair_row < 0 || !L->row || (!L->nf && !L->ff)) {
        tui_draw_message(ui, y, h, "no flow selected: press Enter on a row of the Flows panel (1)");
        return;
    }
    if (tui_pair_is_record(ui)) {
        tui_pair_records(ui, y, h);
        return;
    }
    tui_pair_geometry(L->far_cap < 0, &G);
    tui_pair_header(ui, y, G.xl, L->far_cap < 0 ? G.xa + G.aw + 1 : G.xd);
    tui_pair_info(ui, y + 1);
    tui_draw_fill(y + 2, 0, COLS, TUI_A_DIM);
    /* before pairing a far flow's times are its own capture's */
    tui_draw_text(y + 2, 1, 15, TUI_A_DIM, L->pending && !L->nf ? "TIME own clock" : "TIME near clock");
    tui_draw_text(y + 2, G.xl, G.lw, TUI_A_DIM, m->traces[L->near_cap]->name);
    if (L->far_cap >= 0) {
        tui_draw_text(y + 2, G.xd, G.dw, TUI_A_DIM, "transit");
        tui_draw_text(y + 2, G.xr, G.rw, TUI_A_DIM, m->traces[L->far_cap]->name);
    }
    nr = tui_pair_side_note(ui, 0, msg[0], sizeof msg[0]);
    fr = L->far_cap >= 0 ? tui_pair_side_note(ui, 1, msg[1], sizeof msg[1]) : NULL;
    body = h - 4 - (nr && L->n ? 1 : 0) - (fr && L->n ? 1 : 0);
    if (body < 1)
        return;
    if (!L->n) {
        int yy = y + 3;
        if (nr)
            tui_draw_text(yy++, 2, COLS - 4, TUI_A_WARN, nr);
        if (fr)
            tui_draw_text(yy++, 2, COLS - 4, TUI_A_WARN, fr);
        if (!nr && !fr)
            tui_draw_text(yy, 2, COLS - 4, TUI_A_DIM, "no packets for this flow");
        return;
    }
    tui_list_fit(l, L->n, body);
    for (int k = 0; k < body && l->top + (size_t)k < L->n; k++)
        tui_pair_rung(ui, y + 3 + k, l->top + (size_t)k, &G, L->far_cap < 0);
    {
        /* one side kept records, the other not: say so under the rungs */
        int yy = y + 3 + body;
        if (nr)
            tui_draw_text(yy++, 2, COLS - 4, TUI_A_WARN, nr);
        if (fr)
            tui_draw_text(yy, 2, COLS - 4, TUI_A_WARN, fr);
    }
    if (l->cur < L->n)
        tui_pair_footer(ui, y + h - 1);
}

static char *tui_pair_text(const tui_ui *ui, size_t i, char *buf, size_t len)
{
    const tui_rung *g = &ui->ladder.r[i];
    char a[200] = "", b[200] = "";
    if (g->n)
        tui_pair_label(&ui->ladder, g->n, NULL, ui->ladder.isn_n, g->dir, a, sizeof a);
    if (g->f)
        tui_pair_label(&ui->ladder, g->f, g->n, ui->ladder.isn_f, g->dir, b, sizeof b);
    snprintf(buf, len, "%s  %s", a, b);
    return buf;
}

const tui_panel tui_pair_panel = {
    "Pair", tui_pair_count, tui_pair_draw, NULL, tui_pair_text, 3, NULL
};
