/* tui_flows.c - panel 1: one row per connection, near side beside far side.
 *
 * The visible rows are an index array over the model (filter, then sort);
 * the model itself never changes. Column widths follow the terminal: the
 * two tuples come first, the far tuple shortens to the rewritten endpoints
 * ("=" for an unchanged one), then FIRST and BYTES go, so 80 columns still
 * show inner and egress addresses on one line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>
#include "natlens/flow_out.h"
#include "tui.h"

static int tui_flows_cmp(const void *a, const void *b, void *ctx)
{
    const tui_ui *ui = ctx;
    const tui_row *x = &ui->m->rows[*(const size_t *)a], *y = &ui->m->rows[*(const size_t *)b];
    int c = 0;
    switch (ui->sort_col) {
    case TUI_C_NEAR:
        c = nl_addr_cmp(&x->near->orig_ip, &y->near->orig_ip);
        if (!c)
            c = (int)x->near->orig_port - (int)y->near->orig_port;
        if (!c)
            c = nl_addr_cmp(&x->near->resp_ip, &y->near->resp_ip);
        if (!c)
            c = (int)x->near->resp_port - (int)y->near->resp_port;
        break;
    case TUI_C_FAR:
        if (!x->far || !y->far) {
            c = !x->far - !y->far;
        } else {
            const nl_addr *xa = x->flip ? &x->far->resp_ip : &x->far->orig_ip;
            const nl_addr *ya = y->flip ? &y->far->resp_ip : &y->far->orig_ip;
            c = nl_addr_cmp(xa, ya);
            if (!c)
                c = (int)(x->flip ? x->far->resp_port : x->far->orig_port) -
                    (int)(y->flip ? y->far->resp_port : y->far->orig_port);
        }
        break;
    case TUI_C_NAT:
        c = (int)(x->far ? x->xlate * 2 + x->port_changed : -1) -
            (int)(y->far ? y->xlate * 2 + y->port_changed : -1);
        break;
    case TUI_C_STATE: {
        char s1[24], s2[24];
        c = strcmp(tui_model_state_text(x, s1, sizeof s1), tui_model_state_text(y, s2, sizeof s2));
        break;
    }
    case TUI_C_PKTS:
        c = (x->pkts > y->pkts) - (x->pkts < y->pkts);
        break;
    case TUI_C_BYTES:
        c = (x->bytes > y->bytes) - (x->bytes < y->bytes);
        break;
    default:
        c = (x->first_ns > y->first_ns) - (x->first_ns < y->first_ns);
        break;
    }
    if (!c) /* stable: model order */
        c = (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
    else if (ui->sort_rev)
        c = -c;
    return c;
}

/* every space-separated word of the filter must occur (case-insensitive) */
static int tui_flows_match(const tui_ui *ui, const tui_row *r)
{
    char text[512], words[64], *save = NULL, *w;
    if (ui->broken_only && r->health == TUI_H_OK)
        return 0;
    if (!ui->filter[0])
        return 1;
    tui_model_row_text(ui->m, r, text, sizeof text);
    snprintf(words, sizeof words, "%s", ui->filter);
    for (w = strtok_r(words, " ", &save); w; w = strtok_r(NULL, " ", &save))
        if (!strcasestr(text, w))
            return 0;
    return 1;
}

void tui_flows_refresh(tui_ui *ui)
{
    size_t keep = SIZE_MAX, n = 0;
    if (!ui->m)
        return;
    if (ui->norder && ui->list[TUI_P_FLOWS].cur < ui->norder)
        keep = ui->order[ui->list[TUI_P_FLOWS].cur];
    if (!ui->order) {
        ui->order = malloc((ui->m->nrows ? ui->m->nrows : 1) * sizeof *ui->order);
        if (!ui->order) {
            ui->norder = 0;
            return;
        }
    }
    for (size_t i = 0; i < ui->m->nrows; i++)
        if (tui_flows_match(ui, &ui->m->rows[i]))
            ui->order[n++] = i;
    ui->norder = n;
    qsort_r(ui->order, n, sizeof *ui->order, tui_flows_cmp, ui);
    ui->list[TUI_P_FLOWS].cur = 0;
    for (size_t i = 0; i < n && keep != SIZE_MAX; i++)
        if (ui->order[i] == keep) {
            ui->list[TUI_P_FLOWS].cur = i;
            break;
        }
}

int tui_flows_goto_row(tui_ui *ui, long row)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < ui->norder; i++)
            if ((long)ui->order[i] == row) {
                ui->list[TUI_P_FLOWS].cur = i;
                return 1;
            }
        /* hidden by the filter: show everything, then look again */
        ui->filter[0] = '\0';
        ui->broken_only = 0;
        tui_flows_refresh(ui);
    }
    return 0;
}

static size_t tui_flows_count(const tui_ui *ui)
{
    return ui->norder;
}

static char *tui_flows_text(const tui_ui *ui, size_t i, char *buf, size_t len)
{
    return tui_model_row_text(ui->m, &ui->m->rows[ui->order[i]], buf, len);
}

static int tui_flows_open(tui_ui *ui)
{
    if (!ui->norder)
        return TUI_F_NONE;
    return tui_pair_show(ui, (long)ui->order[ui->list[TUI_P_FLOWS].cur]);
}

typedef struct tui_cols {
    int show[TUI_NCOLS];
    int w[TUI_NCOLS];
    int brief_far;
    int time_chars;             /* 15 with microseconds, 12 with milliseconds */
} tui_cols;

static void tui_flows_layout(const tui_ui *ui, size_t top, int h, tui_cols *c)
{
    int near_w = 12, far_w = 12, far_brief_w = 12, avail, fixed;
    char buf[256];
    int two = ui->m->ncaps >= 2;
    for (size_t i = top; i < ui->norder && i < top + (size_t)h; i++) {
        const tui_row *r = &ui->m->rows[ui->order[i]];
        int w = tui_text_width(tui_model_near_text(ui->m, r, buf, sizeof buf));
        if (w > near_w)
            near_w = w;
        w = tui_text_width(tui_model_far_text(ui->m, r, 0, buf, sizeof buf));
        if (w > far_w)
            far_w = w;
        w = tui_text_width(tui_model_far_text(ui->m, r, 1, buf, sizeof buf));
        if (w > far_brief_w)
            far_brief_w = w;
    }
    for (int i = 0; i < TUI_NCOLS; i++)
        c->show[i] = 1;
    c->show[TUI_C_FAR] = c->show[TUI_C_NAT] = two;
    /* narrow on purpose: "snat+p", "SF/S0", 99999 fit; rarer longer
     * values end in an ellipsis rather than pushing the tuples off;
     * tui_fmt_count keeps BYTES within 5 ("98.5k") */
    c->w[TUI_C_NAT] = 6;
    c->w[TUI_C_STATE] = 5;
    c->w[TUI_C_PKTS] = 5;
    c->w[TUI_C_BYTES] = 5;
    c->time_chars = COLS >= 120 ? 15 : 12;
    c->w[TUI_C_FIRST] = c->time_chars;
    c->brief_far = 0;
    for (;;) {
        fixed = 2;
        for (int i = TUI_C_NAT; i < TUI_NCOLS; i++)
            if (c->show[i])
                fixed += c->w[i] + 1;
        avail = COLS - fixed - (two ? 2 : 1);
        if (near_w + (two ? (c->brief_far ? far_brief_w : far_w) : 0) <= avail)
            break;
        if (two && !c->brief_far)
            c->brief_far = 1;
        else if (c->show[TUI_C_FIRST])
            c->show[TUI_C_FIRST] = 0;
        else if (c->show[TUI_C_BYTES])
            c->show[TUI_C_BYTES] = 0;
        else
            break;              /* truncate below */
    }
    if (!two) {
        c->w[TUI_C_NEAR] = near_w < avail ? near_w : avail;
        c->w[TUI_C_FAR] = 0;
    } else {
        int fw = c->brief_far ? far_brief_w : far_w;
        if (near_w + fw <= avail) {
            c->w[TUI_C_NEAR] = near_w;
            c->w[TUI_C_FAR] = fw;
        } else {
            /* share what is left in proportion to the widths wanted */
            c->w[TUI_C_NEAR] = avail * near_w / (near_w + fw);
            if (c->w[TUI_C_NEAR] < 4)
                c->w[TUI_C_NEAR] = 4;
            c->w[TUI_C_FAR] = avail - c->w[TUI_C_NEAR];
        }
    }
}

static void tui_flows_header(const tui_ui *ui, int y, const tui_cols *c)
{
    static const char *const names[TUI_NCOLS] = {"NEAR", "FAR", "NAT", "STATE", "PKTS",
                                                 "BYTES", "FIRST"};
    char buf[160];
    int x = 2;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    for (int i = 0; i < TUI_NCOLS; i++) {
        const char *name = names[i];
        if (!c->show[i])
            continue;
        if (i == TUI_C_NEAR && ui->m->ncaps >= 2)
            snprintf(buf, sizeof buf, "%s %s", name, ui->m->traces[0]->name);
        else if (i == TUI_C_NEAR)
            snprintf(buf, sizeof buf, "FLOW %s", ui->m->traces[0]->name);
        else if (i == TUI_C_FAR)
            snprintf(buf, sizeof buf, "%s %s", name, ui->m->traces[ui->m->ncaps - 1]->name);
        else
            snprintf(buf, sizeof buf, "%s", name);
        if (i == ui->sort_col) {
            size_t l = strlen(buf);
            snprintf(buf + l, sizeof buf - l, "%s", ui->sort_rev ? tui_g.sort_down : tui_g.sort_up);
        }
        tui_draw_textx(y, x, c->w[i], TUI_A_HEAD, i == ui->sort_col ? A_BOLD : 0, buf);
        x += c->w[i] + 1;
    }
}

static void tui_flows_draw(tui_ui *ui, int y, int h)
{
    tui_list *l = &ui->list[TUI_P_FLOWS];
    tui_cols c;
    char buf[256];
    if (ui->norder == 0) {
        tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
        tui_draw_message(ui, y + 1, h - 1, ui->m->nrows ? "no flow matches the filter (Esc clears it)"
                                                       : "no flows in the capture");
        return;
    }
    tui_list_fit(l, ui->norder, h - 1);
    tui_flows_layout(ui, l->top, h - 1, &c);
    tui_flows_header(ui, y, &c);
    for (int k = 0; k < h - 1 && l->top + (size_t)k < ui->norder; k++) {
        size_t i = l->top + (size_t)k;
        const tui_row *r = &ui->m->rows[ui->order[i]];
        int yy = y + 1 + k, x = 2, cur = i == l->cur;
        int role = r->health == TUI_H_BAD ? TUI_A_BAD : r->health == TUI_H_WARN ? TUI_A_WARN
                                                                                : TUI_A_NORMAL;
        /* the cursor row: healthy rows take the cursor colour, broken
         * ones keep theirs, reversed, so the colour still says why */
        int ex = 0;
        if (cur) {
            tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
            if (role == TUI_A_NORMAL)
                role = TUI_A_CURSOR;
            else
                ex = A_REVERSE;
        }
        tui_draw_textx(yy, 0, 1, role, ex, cur ? tui_g.cursor : " ");
        tui_draw_textx(yy, 1, 1, role, ex,
                       r->health == TUI_H_BAD ? tui_g.bad : r->health == TUI_H_WARN ? tui_g.warn : " ");
        for (int col = 0; col < TUI_NCOLS; col++) {
            int rr = role;
            if (!c.show[col])
                continue;
            switch (col) {
            case TUI_C_NEAR:
                tui_model_near_text(ui->m, r, buf, sizeof buf);
                break;
            case TUI_C_FAR:
                tui_model_far_text(ui->m, r, c.brief_far, buf, sizeof buf);
                if (r->xlate && r->health == TUI_H_OK && !cur)
                    rr = TUI_A_XLATE;
                break;
            case TUI_C_NAT:
                tui_model_nat_text(r, buf, sizeof buf);
                if (r->xlate && r->health == TUI_H_OK && !cur)
                    rr = TUI_A_XLATE;
                break;
            case TUI_C_STATE:
                tui_model_state_text(r, buf, sizeof buf);
                break;
            case TUI_C_PKTS:
                if (r->pkts >= 100000)
                    tui_fmt_count(r->pkts, buf, sizeof buf);
                else
                    snprintf(buf, sizeof buf, "%llu", (unsigned long long)r->pkts);
                break;
            case TUI_C_BYTES:
                tui_fmt_count(r->bytes, buf, sizeof buf);
                break;
            default:
                flow_out_time(r->first_ns, buf, sizeof buf, 0);
                buf[c.time_chars] = '\0';
                break;
            }
            if (col == TUI_C_PKTS || col == TUI_C_BYTES) {
                int w = tui_text_width(buf);
                tui_draw_textx(yy, x + (c.w[col] > w ? c.w[col] - w : 0), c.w[col], rr, ex, buf);
            } else {
                tui_draw_textx(yy, x, c.w[col], rr, ex, buf);
            }
            x += c.w[col] + 1;
        }
    }
}

const tui_panel tui_flows_panel = {
    "Flows", tui_flows_count, tui_flows_draw, tui_flows_open, tui_flows_text, 1
};
