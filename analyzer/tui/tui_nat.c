/* tui_nat.c - panel 3: what each destination sees, per inner host.
 *
 * The answer first (the addresses the last capture point saw, a pool said
 * as one), then one line per nl_egress entry (inner host, destination,
 * the address a capture point saw as source; rows that no confident pair
 * backs are dimmed), grouped by inner host as correlate sorts them. Enter
 * filters the Flows panel to that inner host and destination.
 */
#include <stdio.h>
#include <string.h>
#include <curses.h>
#include <netinet/in.h>
#include "natlens/flow_out.h"
#include "tui.h"

static size_t tui_nat_count(const tui_ui *ui)
{
    return ui->m->corr ? ui->m->corr->negress : 0;
}

static void tui_nat_dest(const nl_egress *e, char *buf, size_t len)
{
    char a[64], pb[8];
    const char *p = flow_proto_name(e->proto, pb, sizeof pb);
    nl_addr_str(&e->dest_ip, a, sizeof a);
    if (e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP)
        snprintf(buf, len, nl_addr_is_v4(&e->dest_ip) ? "%s:%u/%s" : "[%s]:%u/%s", a, e->dest_port, p);
    else
        snprintf(buf, len, "%s/%s", a, p);
}

static char *tui_nat_text(const tui_ui *ui, size_t i, char *buf, size_t len)
{
    const nl_egress *e = &ui->m->corr->egress[i];
    char in[64], d[96], eg[64];
    tui_nat_dest(e, d, sizeof d);
    snprintf(buf, len, "%s  %s  %s", nl_addr_str(&e->inner_ip, in, sizeof in), d,
             nl_addr_str(&e->egress_ip, eg, sizeof eg));
    return buf;
}

static int tui_nat_open(tui_ui *ui)
{
    const nl_egress *e;
    char in[64], d[64];
    int ports;
    if (!tui_nat_count(ui))
        return TUI_F_NONE;
    e = &ui->m->corr->egress[ui->list[TUI_P_NAT].cur];
    ports = e->proto == IPPROTO_TCP || e->proto == IPPROTO_UDP;
    nl_addr_str(&e->inner_ip, in, sizeof in);
    nl_addr_str(&e->dest_ip, d, sizeof d);
    /* the Flows filter for this inner host and destination */
    {
        char expr[TUI_FILTER_LEN + 64], pb[8];
        if (ports)
            snprintf(expr, sizeof expr, "host %s host %s port %u proto %s", in, d, e->dest_port,
                     flow_proto_name(e->proto, pb, sizeof pb));
        else
            snprintf(expr, sizeof expr, "host %s host %s proto %u", in, d, e->proto);
        if (tui_flows_set_filter(ui, expr) < 0)
            return TUI_F_REDRAW;
    }
    ui->panel = TUI_P_FLOWS;
    snprintf(ui->status, sizeof ui->status, "%zu flows (Esc clears the filter)", ui->norder);
    return TUI_F_REDRAW;
}

/* The answer first: the addresses the last capture point's destinations
 * saw on confident pairs (correlate's egress_addrs), most flows first, and
 * whether they form a pool. Without a confident pair there is no allow
 * line, and the line says so. */
static void tui_nat_answer(const tui_ui *ui, int y)
{
    const nl_correlation *c = ui->m->corr;
    int last = (int)ui->m->ncaps - 1, x = 1;
    uint64_t total = 0;
    size_t shown = 0;
    char buf[200], a[64];
    for (size_t i = 0; i < c->negress_addrs; i++)
        if (c->egress_addrs[i].seen_at == last)
            total += c->egress_addrs[i].flows;
    if (!total) {
        tui_draw_text(y, 1, COLS - 2, TUI_A_DIM, "no allow line: no flow was followed on a confident "
                      "pair (exact, strong or recorded)");
        return;
    }
    x += tui_draw_text(y, x, COLS - x, TUI_A_NORMAL, "allow");
    for (size_t i = 0; i < c->negress_addrs && x < COLS - 20; i++) {
        const nl_egress_addr *ea = &c->egress_addrs[i];
        if (ea->seen_at != last)
            continue;
        snprintf(buf, sizeof buf, " %s", nl_addr_str(&ea->ip, a, sizeof a));
        x += tui_draw_textx(y, x, COLS - x, TUI_A_XLATE, A_BOLD, buf);
        shown++;
    }
    {
        size_t o = 0, more = 0;
        const nl_egress_pool *pool = NULL;
        for (size_t i = 0; i < c->negress_addrs; i++)
            more += c->egress_addrs[i].seen_at == last;
        more -= shown;
        for (size_t i = 0; i < c->negress_pools; i++)
            if (c->egress_pools[i].seen_at == last)
                pool = &c->egress_pools[i];
        o += (size_t)snprintf(buf + o, sizeof buf - o, "%s  (%llu flow%s", more ? " ..." : "",
                              (unsigned long long)total, total == 1 ? "" : "s");
        if (pool && o < sizeof buf)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "; a pool of %u addresses for %u host%s",
                                  pool->naddrs, pool->hosts, pool->hosts == 1 ? "" : "s");
        if (o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, "; seen at %s)", ui->m->traces[last]->name);
        tui_draw_text(y, x, COLS - x - 1, TUI_A_DIM, buf);
    }
}

static void tui_nat_draw(tui_ui *ui, int y, int h)
{
    const tui_model *m = ui->m;
    tui_list *l = &ui->list[TUI_P_NAT];
    char buf[200], t1[32], t2[32];
    int wi = 16, wd = 24, we = 22, wf = 6, x;
    size_t n = tui_nat_count(ui);
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    if (m->pairing) {
        snprintf(buf, sizeof buf, "pairing %zu captures%s (the flows are ready: 1)", m->ncaps,
                 tui_g.ellipsis);
        tui_draw_message(ui, y + 1, h - 1, buf);
        return;
    }
    if (!m->corr) {
        tui_draw_message(ui, y + 1, h - 1, m->ncaps >= 2 ? "no pairing: see the note above" :
                         "the NAT map needs two captures: natlens tui CLIENT.pcap SERVER.pcap");
        return;
    }
    if (!n) {
        tui_draw_message(ui, y + 1, h - 1, "no connection was seen at both ends: no egress address known");
        return;
    }
    /* the answer on the first line, the rows under the column names */
    tui_nat_answer(ui, y);
    y++;
    h--;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    /* widths from the rows on screen only: a pool can make 100k rows */
    tui_list_fit(l, n, h - 1);
    for (size_t i = l->top; i < n && i < l->top + (size_t)(h > 1 ? h - 1 : 1); i++) {
        const nl_egress *e = &m->corr->egress[i];
        int w = tui_text_width(nl_addr_str(&e->inner_ip, buf, sizeof buf)) + 1;
        if (w > wi)
            wi = w > 40 ? 40 : w;
        tui_nat_dest(e, buf, sizeof buf);
        w = tui_text_width(buf) + 1;
        if (w > wd)
            wd = w > 48 ? 48 : w;
        w = tui_text_width(nl_addr_str(&e->egress_ip, buf, sizeof buf)) + 1;
        if (w > we)
            we = w > 40 ? 40 : w;
    }
    tui_draw_text(y, 2, wi, TUI_A_HEAD, "INNER");
    x = 2 + wi + 1;
    tui_draw_text(y, x, wd, TUI_A_HEAD, "DESTINATION");
    x += wd + 1;
    tui_draw_text(y, x, we + 1, TUI_A_HEAD, "SEEN AS");
    x += we + 2;
    tui_draw_text(y, x, wf, TUI_A_HEAD, "FLOWS");
    x += wf + 1;
    snprintf(buf, sizeof buf, "FIRST %s LAST (%s clock)", tui_g.rarrow, m->traces[0]->name);
    tui_draw_text(y, x, COLS - x, TUI_A_HEAD, buf);
    for (int k = 0; k < h - 1 && l->top + (size_t)k < n; k++) {
        size_t i = l->top + (size_t)k;
        const nl_egress *e = &m->corr->egress[i];
        int yy = y + 1 + k, cur = i == l->cur, ex = 0;
        int new_inner = i == 0 || nl_addr_cmp(&m->corr->egress[i - 1].inner_ip, &e->inner_ip);
        int role = cur ? TUI_A_CURSOR : TUI_A_NORMAL;
        if (cur)
            tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
        tui_draw_text(yy, 0, 1, role, cur ? tui_g.cursor : " ");
        x = 2;
        if (new_inner || cur || k == 0)
            tui_draw_textx(yy, x, wi, role, new_inner ? A_BOLD : 0,
                           nl_addr_str(&e->inner_ip, buf, sizeof buf));
        x += wi + 1;
        tui_nat_dest(e, buf, sizeof buf);
        tui_draw_textx(yy, x, wd, role, ex, buf);
        x += wd + 1;
        nl_addr_str(&e->egress_ip, buf, sizeof buf);
        if (e->seen_at != (int)m->ncaps - 1 && e->seen_at >= 0 && (size_t)e->seen_at < m->ncaps)
            /* a middle capture point's row says where it was seen */
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " @%s", m->traces[e->seen_at]->name);
        /* rows without a confident pair make no allow line: dimmed */
        tui_draw_textx(yy, x, we + 1, cur ? role : !e->confident ? TUI_A_DIM :
                       nl_addr_cmp(&e->egress_ip, &e->inner_ip) ? TUI_A_XLATE : TUI_A_NORMAL, ex, buf);
        x += we + 2;
        snprintf(buf, sizeof buf, "%*u", wf, e->flows);
        tui_draw_textx(yy, x, wf, role, ex, buf);
        x += wf + 1;
        flow_out_time(e->first_ns, t1, sizeof t1, 0);
        flow_out_time(e->last_ns, t2, sizeof t2, 0);
        t1[12] = t2[12] = '\0';
        snprintf(buf, sizeof buf, "%s %s %s", t1, tui_g.rarrow, t2);
        tui_draw_textx(yy, x, COLS - x, role, ex, buf);
    }
}

const tui_panel tui_nat_panel = {
    "NAT", tui_nat_count, tui_nat_draw, tui_nat_open, tui_nat_text, 2, NULL
};
