/* tui_timeline.c - panel 4: which egress address each destination saw, when.
 *
 * One line per inner host and destination: a time axis (capture 0's clock)
 * with a span per egress address (letters A, B, ... named in the legend, so
 * it reads without colour) and a '|' where the address changed
 * (nl_ip_change). Below: the legend and the list of changes.
 */
#include <stdio.h>
#include <string.h>
#include <curses.h>
#include <netinet/in.h>
#include "natlens/flow_out.h"
#include "tui.h"

static size_t tui_time_count(const tui_ui *ui)
{
    return ui->m->ngroups;
}

static void tui_time_label(const tui_model *m, const tui_group *g, char *buf, size_t len)
{
    const nl_egress *e = &m->corr->egress[g->first];
    char a[64], d[64], pb[8];
    const char *p = flow_proto_name(e->proto, pb, sizeof pb);
    nl_addr_str(&e->inner_ip, a, sizeof a);
    nl_addr_str(&e->dest_ip, d, sizeof d);
    if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP)
        snprintf(buf, len, "%s %s %s:%u/%s", a, m->utf8 ? "\xe2\x86\x92" : "->", d, e->dest_port, p);
    else
        snprintf(buf, len, "%s %s %s/%s", a, m->utf8 ? "\xe2\x86\x92" : "->", d, p);
}

static char *tui_time_text(const tui_ui *ui, size_t i, char *buf, size_t len)
{
    tui_time_label(ui->m, &ui->m->groups[i], buf, len);
    return buf;
}

static int tui_time_col(const tui_model *m, uint64_t t, int w)
{
    double span = (double)(m->t1 - m->t0);
    int x;
    if (span <= 0)
        return 0;
    x = (int)((double)(t - m->t0) / span * (double)(w - 1) + 0.5);
    return x < 0 ? 0 : x >= w ? w - 1 : x;
}

/* a change belongs to a group when inner and destination agree, and the
 * port too unless the change is per destination address */
static int tui_time_change_in(const nl_ip_change *c, const nl_egress *e)
{
    return !nl_addr_cmp(&c->inner_ip, &e->inner_ip) && !nl_addr_cmp(&c->dest_ip, &e->dest_ip) &&
           (!c->has_port || (c->dest_port == e->dest_port && c->proto == e->proto));
}

/* First change of this inner host and destination: ip_changes are sorted
 * by inner, dest, time, so a binary search keeps a frame linear in the
 * rows on screen, not in the changes (a pool makes thousands). */
static size_t tui_time_changes_of(const nl_correlation *c, const nl_egress *e)
{
    size_t lo = 0, hi = c->nip_changes;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const nl_ip_change *x = &c->ip_changes[mid];
        int k = nl_addr_cmp(&x->inner_ip, &e->inner_ip);
        if (!k)
            k = nl_addr_cmp(&x->dest_ip, &e->dest_ip);
        if (k < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void tui_time_draw(tui_ui *ui, int y, int h)
{
    const tui_model *m = ui->m;
    const nl_correlation *c = m->corr;
    tui_list *l = &ui->list[TUI_P_TIME];
    char buf[400], t[32], occ[512];
    int lw, bx, bw, nchg_lines, list_h, x;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    if (m->pairing) {
        snprintf(buf, sizeof buf, "pairing %zu captures%s (the flows are ready: 1)", m->ncaps,
                 tui_g.ellipsis);
        tui_draw_message(ui, y + 1, h - 1, buf);
        return;
    }
    if (!c) {
        tui_draw_message(ui, y + 1, h - 1, m->ncaps >= 2 ? "no pairing: see the note above" :
                         "the timeline needs two captures: natlens tui CLIENT.pcap SERVER.pcap");
        return;
    }
    if (!m->ngroups) {
        tui_draw_message(ui, y + 1, h - 1, "no egress address known: no connection was seen at both ends");
        return;
    }
    lw = COLS / 2 - 2;
    if (lw > 42)
        lw = 42;
    bx = 2 + lw + 1;
    bw = COLS - bx - 1;
    flow_out_time(m->t0, t, sizeof t, 0);
    t[12] = '\0';
    snprintf(buf, sizeof buf, "INNER %s DESTINATION", tui_g.rarrow);
    tui_draw_text(y, 2, lw, TUI_A_HEAD, buf);
    tui_draw_text(y, bx, bw, TUI_A_HEAD, t);
    flow_out_time(m->t1, t, sizeof t, 0);
    t[12] = '\0';
    if (bw > 26)
        tui_draw_text(y, bx + bw - 12, 12, TUI_A_HEAD, t);
    /* bottom: legend and the changes, at most a third of the panel */
    nchg_lines = (int)c->nip_changes;
    if (nchg_lines > (h - 3) / 3)
        nchg_lines = (h - 3) / 3;
    list_h = h - 1 - 2 - nchg_lines;
    if (list_h < 1)
        list_h = 1;
    tui_list_fit(l, m->ngroups, list_h);
    for (int k = 0; k < list_h && l->top + (size_t)k < m->ngroups; k++) {
        size_t gi = l->top + (size_t)k;
        const tui_group *g = &m->groups[gi];
        const nl_egress *e0 = &c->egress[g->first];
        int yy = y + 1 + k, cur = gi == l->cur;
        int role = cur ? TUI_A_CURSOR : TUI_A_NORMAL;
        if (cur)
            tui_draw_fill(yy, 0, bx - 1, TUI_A_CURSOR);
        tui_draw_text(yy, 0, 1, role, cur ? tui_g.cursor : " ");
        tui_time_label(m, g, buf, sizeof buf);
        tui_draw_text(yy, 2, lw, role, buf);
        tui_draw_repeat(yy, bx, bw, TUI_A_DIM, tui_g.dot);
        memset(occ, 0, sizeof occ);
        for (size_t j = g->first; j < g->first + g->n; j++) {
            const nl_egress *e = &c->egress[j];
            int a = tui_time_col(m, e->first_ns, bw), b = tui_time_col(m, e->last_ns, bw);
            char letter[2] = {(char)('A' + m->eip_of[j] % 26), '\0'};
            for (int xx = a; xx <= b && xx < (int)sizeof occ; xx++) {
                tui_draw_textx(yy, bx + xx, 1, TUI_A_XLATE, 0, letter);
                occ[xx] = 1;
            }
        }
        /* a change mark goes just before the first span on the new address
         * (a short span must not be hidden under its own mark); a cell
         * taken by a span keeps the span */
        for (size_t j = m->changes_sorted ? tui_time_changes_of(c, e0) : 0; j < c->nip_changes; j++) {
            int xx;
            if (m->changes_sorted && (nl_addr_cmp(&c->ip_changes[j].inner_ip, &e0->inner_ip) ||
                                      nl_addr_cmp(&c->ip_changes[j].dest_ip, &e0->dest_ip)))
                break;
            if (!tui_time_change_in(&c->ip_changes[j], e0))
                continue;
            xx = tui_time_col(m, c->ip_changes[j].at_ns, bw);
            if (xx > 0 && xx - 1 < (int)sizeof occ && !occ[xx - 1])
                xx--;
            if (xx < (int)sizeof occ && !occ[xx])
                tui_draw_textx(yy, bx + xx, 1, TUI_A_BAD, A_BOLD, "|");
        }
    }
    /* legend */
    x = 2;
    {
        int yy = y + 1 + list_h;
        for (size_t i = 0; i < m->neips && x < COLS - 4; i++) {
            char a[64];
            snprintf(buf, sizeof buf, "%c %s   ", (char)('A' + i % 26), nl_addr_str(&m->eips[i], a, sizeof a));
            x += tui_draw_text(yy, x, COLS - x, TUI_A_XLATE, buf);
        }
        if (x < COLS - 20)
            tui_draw_text(yy, x, COLS - x, TUI_A_BAD, "| address changed");
    }
    for (int k = 0; k < nchg_lines; k++) {
        const nl_ip_change *ch = &c->ip_changes[k];
        char in[64], d[64], f[64], to[64];
        int yy = y + 2 + list_h + k;
        flow_out_time(ch->at_ns, t, sizeof t, 0);
        t[12] = '\0';
        nl_addr_str(&ch->inner_ip, in, sizeof in);
        nl_addr_str(&ch->dest_ip, d, sizeof d);
        char dp[40] = " (all ports)", pb[8];
        if (ch->has_port && (ch->proto == IPPROTO_TCP || ch->proto == IPPROTO_UDP))
            snprintf(dp, sizeof dp, ":%u/%s", ch->dest_port, flow_proto_name(ch->proto, pb, sizeof pb));
        else if (ch->has_port)
            snprintf(dp, sizeof dp, "/%s", flow_proto_name(ch->proto, pb, sizeof pb));
        snprintf(buf, sizeof buf, "%s %s %s%s  %s %s %s at %s%s", in, tui_g.rarrow, d,
                 dp, nl_addr_str(&ch->from_ip, f, sizeof f),
                 tui_g.change, nl_addr_str(&ch->to_ip, to, sizeof to), t,
                 ch->old_still_open ? "  (older flows kept the old address)" : "");
        tui_draw_text(yy, 2, COLS - 3, TUI_A_NORMAL, buf);
    }
    if ((size_t)nchg_lines < c->nip_changes) {
        snprintf(buf, sizeof buf, "%s %zu more changes", tui_g.ellipsis, c->nip_changes - (size_t)nchg_lines);
        tui_draw_text(y + h - 1, 2, COLS - 3, TUI_A_DIM, buf);
    }
}

static int tui_time_open(tui_ui *ui)
{
    /* same as the NAT map: show the flows of this inner host and destination */
    const tui_group *g;
    if (!ui->m->ngroups)
        return TUI_F_NONE;
    g = &ui->m->groups[ui->list[TUI_P_TIME].cur];
    ui->list[TUI_P_NAT].cur = g->first;
    return tui_nat_panel.open(ui);
}

const tui_panel tui_timeline_panel = {
    "Timeline", tui_time_count, tui_time_draw, tui_time_open, tui_time_text, 1, NULL
};
