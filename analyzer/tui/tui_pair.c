/* tui_pair.c - panel 2: the ladder of one connection across two captures.
 *
 * Near capture on the left, far capture on the right, one line per packet
 * in the near capture's clock (correlate_to_clock); the arrow points the
 * way the packet travelled; the far side's fields that a middlebox
 * rewrote are marked '*' (and coloured); a packet one side never saw ends
 * in a cross with "not seen at ...". The rungs come from the model
 * (tui_model_ladder); this file only draws them.
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
    tui_model_ladder(ui->m, (size_t)row, ui->pair_hop, &ui->ladder);
    tui_flows_goto_row(ui, row);
    ui->panel = TUI_P_PAIR;
    return TUI_F_REDRAW;
}

static size_t tui_pair_count(const tui_ui *ui)
{
    return ui->pair_row < 0 ? 0 : ui->ladder.n;
}

static void tui_endpoint(const nl_addr *a, uint16_t port, uint8_t proto, char *buf, size_t len)
{
    char s[64];
    nl_addr_str(a, s, sizeof s);
    if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
        snprintf(buf, len, "%s", s);
    else if (nl_addr_is_v4(a))
        snprintf(buf, len, "%s:%u", s, port);
    else
        snprintf(buf, len, "[%s]:%u", s, port);
}

/* Label of one kept packet. `ref` is the same packet at the near side when
 * this is the far side's record: fields that differ get a '*'. isn[] are
 * this side's ISNs by near direction. */
static void tui_pair_label(const tui_ladder *L, const nl_pkt_rec *p, const nl_pkt_rec *ref,
                           const uint32_t isn[2], int d, char *buf, size_t len)
{
    char fl[48], text[40];
    size_t o = 0;
    int tcp = L->nf->proto == IPPROTO_TCP;
#define ADD(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
    buf[0] = '\0';
    if (tcp) {
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
    } else {
        ADD("%s len=%u", L->nf->proto == IPPROTO_UDP ? "UDP" : "IP", p->payload_len);
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

static void tui_pair_arrow(int y, int x, int w, int dir, int near_seen, int far_seen, int role)
{
    /* dir 0 travels near -> far (left to right) */
    int lw = w - 1;
    if (w < 3)
        return;
    if (dir == 0) {
        if (!near_seen) {
            x += tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
            lw--;
        }
        tui_draw_repeat(y, x, lw - (far_seen ? 0 : 1), role, tui_g.line);
        x += lw - (far_seen ? 0 : 1);
        x += tui_draw_text(y, x, 1, role, tui_g.head_r);
        if (!far_seen)
            tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
    } else {
        if (!near_seen) {
            x += tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
            lw--;
        }
        x += tui_draw_text(y, x, 1, role, tui_g.head_l);
        tui_draw_repeat(y, x, lw - (far_seen ? 0 : 1), role, tui_g.line);
        x += lw - (far_seen ? 0 : 1);
        if (!far_seen)
            tui_draw_text(y, x, 1, TUI_A_BAD, tui_g.cross);
    }
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
    char a[96], b[96], buf[320];
    int x;
    const nl_flow *n = L->nf, *f = L->ff;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    tui_endpoint(&n->orig_ip, n->orig_port, n->proto, a, sizeof a);
    tui_endpoint(&n->resp_ip, n->resp_port, n->proto, b, sizeof b);
    snprintf(buf, sizeof buf, "%s %s %s", a, tui_g.rarrow, b);
    tui_draw_textx(y, xl, xr - xl - 1, TUI_A_HEAD, A_BOLD, buf);
    x = xr;
    if (L->far_cap < 0) {
        /* one capture: the arrows say which way each packet went */
    } else if (!f) {
        snprintf(buf, sizeof buf, "%s  not seen", m->traces[L->far_cap]->name);
        tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, A_BOLD, buf);
    } else {
        /* far endpoints in the near flow's direction; rewritten ones get '*' */
        nl_addr ip[2];
        uint16_t port[2];
        correlate_far_endpoint(L->match, NL_ORIG, &ip[0], &port[0]);
        correlate_far_endpoint(L->match, NL_RESP, &ip[1], &port[1]);
        tui_endpoint(&ip[0], port[0], f->proto, a, sizeof a);
        tui_endpoint(&ip[1], port[1], f->proto, b, sizeof b);
        int ch0 = nl_addr_cmp(&ip[0], &n->orig_ip) || port[0] != n->orig_port;
        int ch1 = nl_addr_cmp(&ip[1], &n->resp_ip) || port[1] != n->resp_port;
        snprintf(buf, sizeof buf, "%s%s", ch0 ? "*" : "", a);
        x += tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, ch0 ? A_BOLD | A_UNDERLINE : 0, buf);
        snprintf(buf, sizeof buf, " %s ", tui_g.rarrow);
        x += tui_draw_text(y, x, COLS - x, TUI_A_HEAD, buf);
        snprintf(buf, sizeof buf, "%s%s", ch1 ? "*" : "", b);
        tui_draw_textx(y, x, COLS - x, TUI_A_HEAD, ch1 ? A_BOLD | A_UNDERLINE : 0, buf);
    }
}

static void tui_pair_info(tui_ui *ui, int y)
{
    const tui_ladder *L = &ui->ladder;
    const tui_model *m = ui->m;
    const tui_row *r = L->row;
    char buf[400], ev[120] = "";
    size_t o = 0;
    int x = 1;
    if (L->match) {
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
    } else if (L->far_cap >= 0) {
        snprintf(buf, sizeof buf, "%s not seen at %s", tui_g.cross, m->traces[L->far_cap]->name);
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_BAD, buf);
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

static void tui_pair_draw(tui_ui *ui, int y, int h)
{
    tui_ladder *L = &ui->ladder;
    tui_list *l = &ui->list[TUI_P_PAIR];
    const tui_model *m = ui->m;
    char buf[256], lab[200];
    int rest, aw, dw = 10, lw, rw, xl, xa, xd, xr, body;
    if (ui->pair_row < 0 || !L->nf) {
        tui_draw_message(ui, y, h, "no flow selected: press Enter on a row of the Flows panel (1)");
        return;
    }
    rest = COLS - 17;
    aw = rest >= 80 ? 12 : 6;
    if (L->far_cap < 0) {
        lw = rest - aw - 2 > 48 ? 48 : rest - aw - 2;
        rw = dw = 0;
    } else {
        lw = (rest - aw - dw - 3) / 2;
        rw = rest - lw - aw - dw - 3;
    }
    xl = 17;
    xa = xl + lw + 1;
    xd = xa + aw + 1;
    xr = xd + dw + 1;
    tui_pair_header(ui, y, xl, L->far_cap < 0 ? xa + aw + 1 : xd);
    tui_pair_info(ui, y + 1);
    tui_draw_fill(y + 2, 0, COLS, TUI_A_DIM);
    tui_draw_text(y + 2, 1, 15, TUI_A_DIM, "TIME near clock");
    tui_draw_text(y + 2, xl, lw, TUI_A_DIM, m->traces[L->near_cap]->name);
    if (L->far_cap >= 0) {
        tui_draw_text(y + 2, xd, dw, TUI_A_DIM, "transit");
        tui_draw_text(y + 2, xr, rw, TUI_A_DIM, m->traces[L->far_cap]->name);
    }
    body = h - 4;               /* header, info, column names, footer */
    if (body < 1)
        return;
    tui_list_fit(l, L->n, body);
    for (int k = 0; k < body && l->top + (size_t)k < L->n; k++) {
        size_t i = l->top + (size_t)k;
        const tui_rung *g = &L->r[i];
        int yy = y + 3 + k, cur = i == l->cur;
        int ex = cur ? A_REVERSE : 0;
        int role = g->dir == 0 ? TUI_A_NORMAL : TUI_A_OK;
        if (cur)
            tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
        flow_out_time(g->t_ns, buf, sizeof buf, 0);
        tui_draw_textx(yy, 1, 15, g->n ? TUI_A_NORMAL : TUI_A_DIM, ex, buf);
        if (g->n) {
            tui_pair_label(L, g->n, NULL, L->isn_n, g->dir, lab, sizeof lab);
            tui_pair_draw_label(yy, xl, lw, TUI_A_NORMAL, ex, lab);
        } else {
            snprintf(lab, sizeof lab, "%s not seen at %s", tui_g.cross, m->traces[L->near_cap]->name);
            tui_draw_textx(yy, xl, lw, TUI_A_BAD, ex, lab);
        }
        if (L->far_cap < 0) {
            tui_pair_arrow(yy, xa, aw, g->dir, 1, 1, role);
            continue;
        }
        tui_pair_arrow(yy, xa, aw, g->dir, g->n != NULL, g->f != NULL,
                       g->n && g->f ? role : TUI_A_BAD);
        if (g->f) {
            if (g->n) {
                uint64_t ft = correlate_to_clock(m->corr, L->far_cap, L->near_cap, g->f->ts_ns);
                /* time in flight, whichever way the packet went */
                int64_t dt = (int64_t)(ft - g->n->ts_ns);
                tui_fmt_delta(g->dir == 0 ? dt : -dt, buf, sizeof buf);
                tui_draw_textx(yy, xd, dw, TUI_A_DIM, ex, buf);
            }
            tui_pair_label(L, g->f, g->n, L->isn_f, g->dir, lab, sizeof lab);
            tui_pair_draw_label(yy, xr, rw, TUI_A_NORMAL, ex, lab);
        } else {
            /* the arrow already ends in the cross */
            snprintf(lab, sizeof lab, "not seen at %s", m->traces[L->far_cap]->name);
            tui_draw_textx(yy, xd, dw + 1 + rw, TUI_A_BAD, ex, lab);
        }
    }
    /* footer: the cursor packet's frame numbers and the kept-packets bound */
    if (L->n && l->cur < L->n) {
        const tui_rung *g = &L->r[l->cur];
        size_t o = 0;
        if (g->n)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s #%llu ttl %u", m->traces[L->near_cap]->name,
                                  (unsigned long long)g->n->frame, g->n->ttl);
        if (g->f && o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%s #%llu ttl %u", o ? "  " : "",
                                  m->traces[L->far_cap]->name, (unsigned long long)g->f->frame,
                                  g->f->ttl);
        {
            /* the payload excerpt in full: the ladder columns cut it */
            const nl_pkt_rec *p = g->n ? g->n : g->f;
            if (p->payload_len && p->text[0] && o < sizeof buf)
                o += (size_t)snprintf(buf + o, sizeof buf - o, "  \"%.*s\"", (int)sizeof p->text, p->text);
        }
        if (o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "   packets %llu",
                                  (unsigned long long)(L->nf->pkts[0] + L->nf->pkts[1]));
        if (L->ff && o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " / %llu",
                                  (unsigned long long)(L->ff->pkts[0] + L->ff->pkts[1]));
        if (o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, " (first %d kept per side)", NL_FLOW_KEEP_PKTS);
        tui_draw_text(y + h - 1, 1, COLS - 2, TUI_A_DIM, buf);
    } else if (!L->n) {
        tui_draw_message(ui, y + 3, h - 4, "no packets kept for this flow");
    }
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
    "Pair", tui_pair_count, tui_pair_draw, NULL, tui_pair_text, 3
};
