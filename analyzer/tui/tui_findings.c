/* tui_findings.c - panel 5: the findings of diagnose.h, most severe first.
 *
 * The list on top, the selected finding below it: summary, evidence lines
 * (capture, frame, time in that capture's clock, what) and the fix. The
 * detail is laid out once per finding and width as lines pointing into the
 * finding's own strings (no copies), and scrolls on its own (j/k, PgUp/PgDn,
 * Home/End) so the fix is reachable on 80x24; Up/Down pick the finding.
 * Enter opens the ladder of the finding's first flow. All text is
 * diagnose.h's, drawn through the sanitizing text writer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <curses.h>
#include "natlens/flow_out.h"
#include "natlens/frame_ref.h"
#include "tui.h"

/* detail line kinds */
enum { TUI_DL_TITLE, TUI_DL_TEXT, TUI_DL_EV, TUI_DL_EVC, TUI_DL_FIX, TUI_DL_FIXN,
       TUI_DL_FIXC, TUI_DL_BLANK, TUI_DL_MORE };

/* a finding of a port scan can hold thousands of evidence lines: the
 * detail shows this many and says how many more there are */
#define TUI_DL_MAX 4000

static size_t tui_find_count(const tui_ui *ui)
{
    return ui->m->diag ? diagnose_count(ui->m->diag) : 0;
}

static int tui_find_role(nl_severity s)
{
    return s >= NL_SEV_ERROR ? TUI_A_BAD : s >= NL_SEV_WARNING ? TUI_A_WARN : TUI_A_NORMAL;
}

static char *tui_find_text(const tui_ui *ui, size_t i, char *buf, size_t len)
{
    const nl_finding *f = diagnose_get(ui->m->diag, i);
    snprintf(buf, len, "%s %s %s", diagnose_severity_name(f->severity), diagnose_kind_name(f->kind),
             f->summary ? f->summary : "");
    return buf;
}

static int tui_find_open(tui_ui *ui)
{
    const nl_finding *f;
    if (!tui_find_count(ui))
        return TUI_F_NONE;
    f = diagnose_get(ui->m->diag, ui->list[TUI_P_FIND].cur);
    for (size_t i = 0; i < f->nflows; i++) {
        long row = tui_model_row_of(ui->m, f->flows[i].capture, f->flows[i].flow);
        if (row >= 0)
            return tui_pair_show(ui, row);
    }
    snprintf(ui->status, sizeof ui->status, "this finding names no flow");
    return TUI_F_REDRAW;
}

static int tui_find_scroll(tui_ui *ui, long delta)
{
    size_t page = ui->dl_h > 0 ? (size_t)ui->dl_h : 1;
    size_t max = ui->ndl > page ? ui->ndl - page : 0;
    if (delta < 0)
        ui->dl_top = (size_t)-delta > ui->dl_top ? 0 : ui->dl_top - (size_t)-delta;
    else
        ui->dl_top = ui->dl_top + (size_t)delta > max ? max : ui->dl_top + (size_t)delta;
    return TUI_F_REDRAW;
}

/* ---- laying the detail out ---------------------------------------------- */

static int tui_dl_add(tui_ui *ui, int kind, uint32_t ev, const char *s, size_t n)
{
    if (ui->ndl >= TUI_DL_MAX)
        return -1;
    if (ui->ndl == ui->dl_cap) {
        size_t nc = ui->dl_cap ? ui->dl_cap * 2 : 64;
        tui_dline *nd = realloc(ui->dl, nc * sizeof *nd);
        if (!nd)
            return -1;
        ui->dl = nd;
        ui->dl_cap = nc;
    }
    ui->dl[ui->ndl].kind = (uint8_t)kind;
    ui->dl[ui->ndl].ev = ev;
    ui->dl[ui->ndl].s = s;
    ui->dl[ui->ndl].n = (uint16_t)(n > 65535 ? 65535 : n);
    ui->ndl++;
    return 0;
}

/* Bytes of s that fit in w columns, broken after a space when the text
 * goes on (or at '\n'); UTF-8 continuation bytes take no column. *next
 * gets where the following line starts, *nl whether it starts a new line
 * of the text (not a wrapped part of this one). */
static size_t tui_wrap_take(const char *s, int w, const char **next, int *nl)
{
    size_t take = 0, last_sp = 0;
    int width = 0;
    while (s[take] && s[take] != '\n') {
        unsigned char ch = (unsigned char)s[take];
        if ((ch & 0xc0) != 0x80) {
            if (width >= w)
                break;
            width++;
        }
        if (ch == ' ')
            last_sp = take;
        take++;
    }
    if (s[take] && s[take] != '\n' && last_sp > 0)
        take = last_sp;
    *next = s + take;
    *nl = 0;
    while (**next == ' ')
        (*next)++;
    if (**next == '\n') {
        (*next)++;
        *nl = 1;
    }
    return take;
}

/* Wrap s into lines: the first of kind k1, a line after a '\n' of kind
 * kn, a wrapped part of kind kc (w1 columns for k1 and kn, wc for kc). */
static int tui_dl_wrap(tui_ui *ui, int k1, int kn, int kc, uint32_t ev, const char *s, int w1,
                       int wc)
{
    int kind = k1, nl = 1;
    w1 = w1 < 1 ? 1 : w1;       /* at least one column: every line moves on */
    wc = wc < 1 ? 1 : wc;
    if (!*s)
        return tui_dl_add(ui, k1, ev, s, 0);
    while (*s) {
        const char *next;
        size_t n = tui_wrap_take(s, kind == kc ? wc : w1, &next, &nl);
        if (tui_dl_add(ui, kind, ev, s, n) < 0)
            return -1;
        kind = nl ? kn : kc;
        s = next;
    }
    return 0;
}

typedef struct tui_dgeo {
    int capw;                   /* capture name column (<= 24) */
    int tw;                     /* time column: 15 (µs) or 12 (ms) */
    int ev_x;                   /* column of an evidence's text, from the left margin */
} tui_dgeo;

/* The evidence columns for a detail w columns wide: the text keeps at
 * least 28 columns, taken from the time's microseconds, then from the
 * capture names. */
static void tui_find_geo(const tui_ui *ui, int w, tui_dgeo *g)
{
    const tui_model *m = ui->m;
    g->capw = 4;
    g->tw = 15;
    for (size_t i = 0; i < m->ncaps; i++) {
        int cw = tui_text_width(m->traces[i]->name);
        if (cw > g->capw)
            g->capw = cw > 24 ? 24 : cw;
    }
    /* "evidence " + capture + " #12345 " + "04:55:57.734925 " */
    g->ev_x = 9 + g->capw + 8 + g->tw + 1;
    if (w - g->ev_x < 28) {
        g->tw = 12;
        g->ev_x -= 3;
    }
    if (w - g->ev_x < 28) {
        int cut = 28 - (w - g->ev_x);
        cut = cut > g->capw - 4 ? g->capw - 4 : cut;
        g->capw -= cut;
        g->ev_x -= cut;
    }
}

static void tui_find_layout(tui_ui *ui, const nl_finding *f, int w)
{
    tui_dgeo g;
    int ok = 0;
    if (w < 20)
        w = 20;
    tui_find_geo(ui, w, &g);
    ui->ndl = 0;
    if (tui_dl_add(ui, TUI_DL_TITLE, 0, "", 0) < 0 ||
        tui_dl_wrap(ui, TUI_DL_TEXT, TUI_DL_TEXT, TUI_DL_TEXT, 0, f->summary ? f->summary : "", w - 2,
                    w - 2) < 0)
        goto more;
    for (size_t i = 0; i < f->nevidence; i++)
        if (tui_dl_wrap(ui, TUI_DL_EV, TUI_DL_EVC, TUI_DL_EVC, (uint32_t)i,
                        f->evidence[i].what ? f->evidence[i].what : "", w - g.ev_x, w - g.ev_x) < 0)
            goto more;
    if (f->fix && (tui_dl_add(ui, TUI_DL_BLANK, 0, "", 0) < 0 ||
                   tui_dl_wrap(ui, TUI_DL_FIX, TUI_DL_FIXN, TUI_DL_FIXC, 0, f->fix, w - 9, w - 11) < 0))
        goto more;
    ok = 1;
more:
    if (!ok && ui->ndl) {
        /* keep the fix reachable: the last line says what was left out */
        ui->dl[ui->ndl - 1].kind = TUI_DL_MORE;
    }
}

static void tui_find_line(const tui_ui *ui, const nl_finding *f, const tui_dline *d, int y, int w)
{
    const tui_model *m = ui->m;
    char seg[1024], buf[1200], t[32], fr[32];
    tui_dgeo g;
    size_t n = d->n < sizeof seg - 1 ? d->n : sizeof seg - 1;
    memcpy(seg, d->s, n);
    seg[n] = '\0';
    tui_find_geo(ui, w < 20 ? 20 : w, &g);
    switch (d->kind) {
    case TUI_DL_TITLE:
        snprintf(buf, sizeof buf, "%s  %s", diagnose_severity_name(f->severity), diagnose_kind_name(f->kind));
        if (f->connections > 1)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "   (%u connections)", f->connections);
        tui_draw_textx(y, 2, w, tui_find_role(f->severity), A_BOLD, buf);
        break;
    case TUI_DL_TEXT:
        tui_draw_text(y, 4, w - 2, TUI_A_NORMAL, seg);
        break;
    case TUI_DL_EV: {
        const nl_evidence *e = &f->evidence[d->ev];
        char capbuf[32], filebuf[256];
        const char *cap;
        if (e->capture >= 0 && (size_t)e->capture < m->ncaps) {
            /* a capture point of several files: the file the frame is in */
            cap = frame_ref_where(m->traces[e->capture]->name, e->frame, filebuf, sizeof filebuf);
        } else {
            /* an index past the captures shown: named by its number */
            snprintf(capbuf, sizeof capbuf, "capture %d", e->capture);
            cap = capbuf;
        }
        fr[0] = t[0] = '\0';
        if (e->frame)
            snprintf(fr, sizeof fr, "#%llu", (unsigned long long)frame_ref_local(e->frame));
        if (e->ts_ns)
            flow_out_time(e->ts_ns, t, sizeof t, 0);
        t[g.tw] = '\0';
        snprintf(buf, sizeof buf, "%-9s%-*.*s %-6s %-*s ", d->ev ? "" : "evidence", g.capw, g.capw,
                 cap, fr, g.tw, t);
        tui_draw_text(y, 4, g.ev_x, TUI_A_DIM, buf);
        tui_draw_text(y, 4 + g.ev_x, w - g.ev_x, TUI_A_NORMAL, seg);
        break;
    }
    case TUI_DL_EVC:
        tui_draw_text(y, 4 + g.ev_x, w - g.ev_x, TUI_A_NORMAL, seg);
        break;
    case TUI_DL_FIX:
        tui_draw_text(y, 4, 9, TUI_A_OK, "fix");
        tui_draw_text(y, 13, w - 9, TUI_A_OK, seg);
        break;
    case TUI_DL_FIXN:
        tui_draw_text(y, 13, w - 9, TUI_A_OK, seg);
        break;
    case TUI_DL_FIXC:
        /* a wrapped part of a fix line starts two columns further in, so
         * it is not mistaken for a command of its own */
        tui_draw_text(y, 15, w - 11, TUI_A_OK, seg);
        break;
    case TUI_DL_MORE:
        tui_draw_text(y, 4, w - 2, TUI_A_DIM, "... more lines than the viewer shows: "
                      "`natlens correlate --json` lists everything");
        break;
    default:
        break;
    }
}

static void tui_find_detail(tui_ui *ui, size_t fi, int y, int h)
{
    const nl_finding *f = diagnose_get(ui->m->diag, fi);
    int w = COLS - 4;
    if (h < 1)
        return;
    if (ui->dl_for != (long)fi || ui->dl_w != w) {
        tui_find_layout(ui, f, w);
        if (ui->dl_for != (long)fi)
            ui->dl_top = 0;
        ui->dl_for = (long)fi;
        ui->dl_w = w;
    }
    ui->dl_h = h;
    tui_find_scroll(ui, 0);     /* clamp after a resize */
    for (int k = 0; k < h && ui->dl_top + (size_t)k < ui->ndl; k++)
        tui_find_line(ui, f, &ui->dl[ui->dl_top + (size_t)k], y + k, w);
}

static void tui_find_draw(tui_ui *ui, int y, int h)
{
    const tui_model *m = ui->m;
    tui_list *l = &ui->list[TUI_P_FIND];
    size_t n = tui_find_count(ui);
    char buf[600];
    int list_h, sep;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    tui_draw_text(y, 2, COLS - 3, TUI_A_HEAD, "SEVERITY KIND               SUMMARY");
    if (m->pairing || m->diagnosing) {
        snprintf(buf, sizeof buf, "%s%s  (the flows are ready: 1)",
                 m->pairing ? "pairing the captures, then looking for problems" : "looking for problems",
                 tui_g.ellipsis);
        tui_draw_message(ui, y + 1, h - 1, buf);
        return;
    }
    if (!m->diag) {
        tui_draw_message(ui, y + 1, h - 1, "findings unavailable (out of memory while diagnosing)");
        return;
    }
    if (!n) {
        tui_draw_message(ui, y + 1, h - 1, "no findings: every connection looks healthy");
        return;
    }
    list_h = (int)n;
    if (list_h > (h - 1) / 3)
        list_h = (h - 1) / 3;
    if (list_h < 1)
        list_h = 1;
    tui_list_fit(l, n, list_h);
    for (int k = 0; k < list_h && l->top + (size_t)k < n; k++) {
        size_t i = l->top + (size_t)k;
        const nl_finding *f = diagnose_get(m->diag, i);
        int yy = y + 1 + k, cur = i == l->cur;
        int role = tui_find_role(f->severity);
        if (cur)
            tui_draw_fill(yy, 0, COLS, TUI_A_CURSOR);
        tui_draw_textx(yy, 0, 1, role, cur ? A_REVERSE : 0, cur ? tui_g.cursor : " ");
        snprintf(buf, sizeof buf, "%-8s %-18s %s", diagnose_severity_name(f->severity),
                 diagnose_kind_name(f->kind), f->summary ? f->summary : "");
        tui_draw_textx(yy, 2, COLS - 3, role, cur ? A_REVERSE : 0, buf);
    }
    sep = y + 1 + list_h;
    tui_draw_fill(sep, 0, COLS, TUI_A_DIM);
    snprintf(buf, sizeof buf, "%zu/%zu  Up/Down finding  Enter ladder", l->cur + 1, n);
    tui_draw_text(sep, 2, COLS - 3, TUI_A_DIM, buf);
    if (l->cur < n)
        tui_find_detail(ui, l->cur, sep + 1, h - 2 - list_h);
    if (ui->ndl > (size_t)ui->dl_h) {
        /* where the detail is, and how to see the rest (over the hint) */
        size_t last = ui->dl_top + (size_t)ui->dl_h;
        int bw;
        snprintf(buf, sizeof buf, " lines %zu-%zu of %zu %s j/k PgDn/PgUp End ", ui->dl_top + 1,
                 last < ui->ndl ? last : ui->ndl, ui->ndl,
                 last < ui->ndl ? tui_g.sort_down : tui_g.sort_up);
        bw = tui_text_width(buf);
        tui_draw_text(sep, COLS - bw > 14 ? COLS - bw - 1 : 14, bw, TUI_A_DIM, buf);
    }
}

const tui_panel tui_findings_panel = {
    "Findings", tui_find_count, tui_find_draw, tui_find_open, tui_find_text, 1, tui_find_scroll
};
