/* tui_flows.c - panel 1: one row per connection, near side beside far side.
 *
 * The visible rows are an index array over the model (filter, then sort);
 * the model itself never changes. Columns size to what the rows on screen
 * hold (only those are formatted: a screen of snprintf()s per frame,
 * whatever the number of flows). When the terminal is narrow the far tuple
 * shortens to the rewritten endpoints ("=" for an unchanged one), then
 * FIRST, BYTES, PKTS and PROTO go, and last the addresses are cut in the
 * middle; ports are never cut. A flow seen only at the far capture sits
 * in the FAR column.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>
#include "natlens/flow_out.h"
#include "tui.h"

static int tui_cmp_u64(uint64_t a, uint64_t b)
{
    return (a > b) - (a < b);
}

static int tui_cmp_flow(const nl_flow *x, int xs, const nl_flow *y, int ys)
{
    const nl_addr *xa, *ya;
    int c;
    if (!x || !y)
        return !x - !y;         /* "—" last */
    xa = xs ? &x->resp_ip : &x->orig_ip;
    ya = ys ? &y->resp_ip : &y->orig_ip;
    if ((c = nl_addr_cmp(xa, ya)))
        return c;
    if ((c = (int)(xs ? x->resp_port : x->orig_port) - (int)(ys ? y->resp_port : y->orig_port)))
        return c;
    xa = xs ? &x->orig_ip : &x->resp_ip;
    ya = ys ? &y->orig_ip : &y->resp_ip;
    if ((c = nl_addr_cmp(xa, ya)))
        return c;
    return (int)(xs ? x->orig_port : x->resp_port) - (int)(ys ? y->orig_port : y->resp_port);
}

static int tui_flows_cmp(const void *a, const void *b, void *ctx)
{
    const tui_ui *ui = ctx;
    const tui_model *m = ui->m;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    const tui_row *x = &m->rows[ia], *y = &m->rows[ib];
    int c = 0;
    switch (ui->sort_col) {
    case TUI_C_NEAR:
        c = tui_cmp_flow(tui_model_near_flow(m, x), 0, tui_model_near_flow(m, y), 0);
        break;
    case TUI_C_FAR:
        c = tui_cmp_flow(tui_model_far_flow(m, x), x->far && x->flip,
                         tui_model_far_flow(m, y), y->far && y->flip);
        break;
    case TUI_C_PROTO:
        c = (int)x->near->proto - (int)y->near->proto;
        break;
    case TUI_C_NAT:
        c = (int)(x->far ? x->xlate * 2 + x->port_changed : -1) -
            (int)(y->far ? y->xlate * 2 + y->port_changed : -1);
        break;
    case TUI_C_STATE:
        /* the static state names, no formatting per comparison */
        c = strcmp(flow_conn_state(x->near), flow_conn_state(y->near));
        if (!c && (x->far || y->far))
            c = !x->far ? -1 : !y->far ? 1 : strcmp(flow_conn_state(x->far), flow_conn_state(y->far));
        break;
    case TUI_C_PKTS:
        c = tui_cmp_u64(x->pkts, y->pkts);
        break;
    case TUI_C_BYTES:
        c = tui_cmp_u64(x->bytes, y->bytes);
        break;
    default:
        c = tui_cmp_u64(x->first_ns, y->first_ns);
        break;
    }
    if (!c) /* stable: model order */
        c = (ia > ib) - (ia < ib);
    else if (ui->sort_rev)
        c = -c;
    return c;
}

static int tui_flows_match(const tui_ui *ui, const tui_row *r)
{
    if (ui->broken_only && r->health == TUI_H_OK)
        return 0;
    return tui_filter_match(&ui->flt, ui->m, r);
}

void tui_flows_refresh(tui_ui *ui)
{
    size_t keep = SIZE_MAX, n = 0, sorted = 1;
    if (!ui->m)
        return;
    if (ui->norder && ui->list[TUI_P_FLOWS].cur < ui->norder)
        keep = ui->order[ui->list[TUI_P_FLOWS].cur];
    if (ui->order_cap < ui->m->nrows || !ui->order) {
        size_t *no = realloc(ui->order, (ui->m->nrows ? ui->m->nrows : 1) * sizeof *no);
        if (!no) {
            ui->norder = 0;
            snprintf(ui->status, sizeof ui->status, "out of memory");
            return;
        }
        ui->order = no;
        ui->order_cap = ui->m->nrows ? ui->m->nrows : 1;
    }
    for (size_t i = 0; i < ui->m->nrows; i++)
        if (tui_flows_match(ui, &ui->m->rows[i]))
            ui->order[n++] = i;
    ui->norder = n;
    /* rows often come in the order asked for already (first packet):
     * one linear check saves the sort */
    for (size_t i = 1; i < n && sorted; i++)
        sorted = tui_flows_cmp(&ui->order[i - 1], &ui->order[i], ui) <= 0;
    if (!sorted)
        qsort_r(ui->order, n, sizeof *ui->order, tui_flows_cmp, ui);
    ui->list[TUI_P_FLOWS].cur = 0;
    for (size_t i = 0; i < n && keep != SIZE_MAX; i++)
        if (ui->order[i] == keep) {
            ui->list[TUI_P_FLOWS].cur = i;
            break;
        }
}

int tui_flows_set_filter(tui_ui *ui, const char *expr)
{
    tui_filter f;
    if (tui_filter_compile(&f, expr) < 0) {
        snprintf(ui->input_err, sizeof ui->input_err, "%s", f.err);
        return -1;
    }
    ui->input_err[0] = '\0';
    ui->flt = f;
    snprintf(ui->filter, sizeof ui->filter, "%s", expr);
    tui_flows_refresh(ui);
    return 0;
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
        tui_filter_compile(&ui->flt, "");
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
    return tui_text_row(ui->m, &ui->m->rows[ui->order[i]], buf, len);
}

static int tui_flows_open(tui_ui *ui)
{
    if (!ui->norder)
        return TUI_F_NONE;
    return tui_pair_show(ui, (long)ui->order[ui->list[TUI_P_FLOWS].cur]);
}

/* ---- layout -------------------------------------------------------------- */

static const char *const tui_head_full[TUI_NCOLS] = {"NEAR", "FAR", "PROTO", "NAT", "STATE",
                                                     "PKTS", "BYTES", "FIRST"};
static const char *const tui_head_short[TUI_NCOLS] = {"NEAR", "FAR", "PR", "NAT", "ST",
                                                      "PKT", "BYTE", "FIRST"};

typedef struct tui_cols {
    int show[TUI_NCOLS];
    int w[TUI_NCOLS];
    int full_head[TUI_NCOLS];
    int brief_far;
    int time_chars;             /* 15 with microseconds, 12 with milliseconds */
} tui_cols;

/* A row's counts come from its near flow (tui_row_sums): a record there
 * that does not pin them has none to show. */
static int tui_cell_unpinned(const tui_model *m, const tui_row *r, uint16_t pin)
{
    const nl_record_info *ri = tui_record_info(m, r->near_cap, r->near);
    return ri && !(ri->pins & pin);
}

static void tui_cell(const tui_ui *ui, const tui_row *r, int col, int brief, int w,
                     char *buf, size_t len)
{
    const tui_model *m = ui->m;
    tui_tuple t;
    switch (col) {
    case TUI_C_NEAR:
        tui_text_near(m, r, &t);
        if (!t.a[0] && m->pairing)
            snprintf(buf, len, "%s", tui_g.ellipsis);  /* not known yet, not "—" */
        else
            tui_text_fit(&t, w, m->utf8, buf, len);
        break;
    case TUI_C_FAR:
        tui_text_far(m, r, brief, &t);
        if (!t.a[0] && m->pairing)
            snprintf(buf, len, "%s", tui_g.ellipsis);
        else
            tui_text_fit(&t, w, m->utf8, buf, len);
        break;
    case TUI_C_PROTO:
        tui_text_proto(r, buf, len);
        break;
    case TUI_C_NAT:
        tui_text_nat(m, r, buf, len);
        break;
    case TUI_C_STATE:
        tui_text_state(m, r, buf, len);
        break;
    case TUI_C_PKTS:
        if (tui_cell_unpinned(m, r, NL_REC_PIN_PKTS))
            snprintf(buf, len, "%s", tui_g.dash);   /* a record without counts: not 0 */
        else if (r->pkts >= 100000)
            tui_fmt_count(r->pkts, buf, len);
        else
            snprintf(buf, len, "%llu", (unsigned long long)r->pkts);
        break;
    case TUI_C_BYTES:
        if (tui_cell_unpinned(m, r, NL_REC_PIN_PAYLOAD))
            snprintf(buf, len, "%s", tui_g.dash);
        else
            tui_fmt_count(r->bytes, buf, len);
        break;
    default:
        flow_out_time(r->first_ns, buf, len, 0);
        if (len > 15)
            buf[w > 0 && w < 15 ? w : 15] = '\0';
        break;
    }
}

static int tui_cols_total(const tui_cols *c)
{
    int t = 2;
    for (int i = 0; i < TUI_NCOLS; i++)
        if (c->show[i])
            t += c->w[i] + 1;
    return t - 1;
}

static void tui_flows_layout(const tui_ui *ui, size_t top, int h, tui_cols *c)
{
    const tui_model *m = ui->m;
    int two = m->ncaps >= 2, far_full = 1, far_brief = 1;
    char buf[256];
    memset(c, 0, sizeof *c);
    for (int i = 0; i < TUI_NCOLS; i++) {
        c->show[i] = 1;
        c->w[i] = tui_text_width(tui_head_short[i]) + (i == ui->sort_col);
    }
    c->show[TUI_C_FAR] = c->show[TUI_C_NAT] = two;
    c->time_chars = 15;
    /* what the rows on screen need, and nothing more */
    for (size_t i = top; i < ui->norder && i < top + (size_t)h; i++) {
        const tui_row *r = &m->rows[ui->order[i]];
        for (int col = 0; col < TUI_NCOLS; col++) {
            int w;
            if (!c->show[col] || col == TUI_C_FIRST)
                continue;
            tui_cell(ui, r, col, 0, 0, buf, sizeof buf);
            w = tui_text_width(buf);
            if (col == TUI_C_FAR) {
                far_full = w > far_full ? w : far_full;
                tui_cell(ui, r, col, 1, 0, buf, sizeof buf);
                w = tui_text_width(buf);
                far_brief = w > far_brief ? w : far_brief;
                continue;
            }
            if (w > c->w[col])
                c->w[col] = w;
        }
    }
    if (far_full > c->w[TUI_C_FAR])
        c->w[TUI_C_FAR] = far_full;
    c->w[TUI_C_FIRST] = 15;
    /* too wide: give up what matters least first */
    static const int drop[] = {TUI_C_FIRST, TUI_C_BYTES, TUI_C_PKTS, TUI_C_PROTO};
    size_t step = 0;
    while (tui_cols_total(c) > COLS) {
        if (c->show[TUI_C_FIRST] && c->time_chars == 15) {
            c->time_chars = c->w[TUI_C_FIRST] = 12;    /* milliseconds first */
        } else if (two && !c->brief_far) {
            int hw = tui_text_width(tui_head_short[TUI_C_FAR]) + (ui->sort_col == TUI_C_FAR);
            c->brief_far = 1;
            c->w[TUI_C_FAR] = far_brief > hw ? far_brief : hw;
        } else if (step < sizeof drop / sizeof drop[0]) {
            c->show[drop[step++]] = 0;
        } else {
            /* still too wide: NEAR (the inner side, what rows are read
             * by) keeps its width while FAR still gets a third; the
             * cells cut lose address digits, never ports (tui_text_fit) */
            int nw = c->w[TUI_C_NEAR], fw = two ? c->w[TUI_C_FAR] : 0;
            int avail = COLS - (tui_cols_total(c) - nw - fw) - (two ? 0 : 0);
            int far_min = two ? (fw < avail / 3 ? fw : avail / 3) : 0;
            if (avail < 8)
                avail = 8;
            c->w[TUI_C_NEAR] = nw < avail - far_min ? nw : avail - far_min;
            if (c->w[TUI_C_NEAR] < 4)
                c->w[TUI_C_NEAR] = 4;
            if (two)
                c->w[TUI_C_FAR] = avail - c->w[TUI_C_NEAR] > 4 ? avail - c->w[TUI_C_NEAR] : 4;
            break;
        }
    }
    /* spare room: full header names where they fit */
    for (int i = 0; i < TUI_NCOLS; i++) {
        int fw = tui_text_width(tui_head_full[i]) + (i == ui->sort_col);
        if (!c->show[i])
            continue;
        if (c->w[i] >= fw) {
            c->full_head[i] = 1;
        } else if (tui_cols_total(c) + fw - c->w[i] <= COLS) {
            c->w[i] = fw;
            c->full_head[i] = 1;
        }
    }
}

static void tui_flows_header(const tui_ui *ui, int y, const tui_cols *c)
{
    char buf[160];
    int x = 2;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    for (int i = 0; i < TUI_NCOLS; i++) {
        const char *name = c->full_head[i] ? tui_head_full[i] : tui_head_short[i];
        const char *mark = i == ui->sort_col ? (ui->sort_rev ? tui_g.sort_down : tui_g.sort_up) : "";
        if (!c->show[i])
            continue;
        /* the capture names after NEAR and FAR come last, so a narrow
         * column cuts them and keeps the sort mark */
        if (i == TUI_C_NEAR || i == TUI_C_FAR) {
            int cap = i == TUI_C_NEAR ? 0 : (int)ui->m->ncaps - 1;
            const char *lab = ui->m->ncaps >= 2 ? name : "FLOW";
            int lw = tui_text_width(lab) + tui_text_width(mark);
            snprintf(buf, sizeof buf, "%s%s", lab, mark);
            tui_draw_textx(y, x, c->w[i], TUI_A_HEAD, i == ui->sort_col ? A_BOLD : 0, buf);
            if (lw + 2 < c->w[i])
                tui_draw_text(y, x + lw + 1, c->w[i] - lw - 1, TUI_A_HEAD, ui->m->traces[cap]->name);
        } else {
            snprintf(buf, sizeof buf, "%s%s", name, mark);
            tui_draw_textx(y, x, c->w[i], TUI_A_HEAD, i == ui->sort_col ? A_BOLD : 0, buf);
        }
        x += c->w[i] + 1;
    }
}

static void tui_flows_row(tui_ui *ui, int yy, const tui_row *r, int cur, const tui_cols *c)
{
    char buf[256];
    int x = 2, ex = 0;
    int role = r->health == TUI_H_BAD ? TUI_A_BAD : r->health == TUI_H_WARN ? TUI_A_WARN
                                                                            : TUI_A_NORMAL;
    /* the cursor row: healthy rows take the cursor colour, broken ones
     * keep theirs, reversed, so the colour still says why */
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
        if (!c->show[col])
            continue;
        tui_cell(ui, r, col, c->brief_far, c->w[col], buf, sizeof buf);
        if ((col == TUI_C_FAR || col == TUI_C_NAT) && r->xlate && r->health == TUI_H_OK && !cur)
            rr = TUI_A_XLATE;
        if (ui->m->pairing && (col == TUI_C_NAT || !strcmp(buf, tui_g.ellipsis)) && !cur)
            rr = TUI_A_DIM;
        if (col == TUI_C_PKTS || col == TUI_C_BYTES) {
            int w = tui_text_width(buf);
            tui_draw_textx(yy, x + (c->w[col] > w ? c->w[col] - w : 0), c->w[col], rr, ex, buf);
        } else {
            tui_draw_textx(yy, x, c->w[col], rr, ex, buf);
        }
        x += c->w[col] + 1;
    }
}

static void tui_flows_draw(tui_ui *ui, int y, int h)
{
    tui_list *l = &ui->list[TUI_P_FLOWS];
    tui_cols c;
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
        tui_flows_row(ui, y + 1 + k, &ui->m->rows[ui->order[i]], i == l->cur, &c);
    }
}

const tui_panel tui_flows_panel = {
    "Flows", tui_flows_count, tui_flows_draw, tui_flows_open, tui_flows_text, 1, NULL
};
