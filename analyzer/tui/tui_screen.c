/* tui_screen.c - the frame around the panels: title and tabs, the info
 * line, the function bar or prompt, the loading screen and the help screen
 * (both bar and help generated from the key table). */
#include <stdio.h>
#include <string.h>
#include <curses.h>
#include "tui.h"

static const char *tui_stage_text(int stage)
{
    switch (stage) {
    case TUI_LD_READING: return "reading";
    case TUI_LD_CORRELATING: return "correlating the captures";
    case TUI_LD_DIAGNOSING: return "looking for problems";
    case TUI_LD_FAILED: return "failed";
    default: return "ready";
    }
}

static const char *tui_cap_name(const tui_ui *ui, size_t i)
{
    const char *p, *s;
    if (ui->m)
        return ui->m->traces[i]->name;
    p = ui->ld->paths[i];
    s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

static void tui_draw_title(tui_ui *ui)
{
    char buf[128];
    size_t n = ui->ld->npaths;
    int x, tabs_w = 0, tx, short_tabs;
    tui_draw_fill(0, 0, COLS, TUI_A_TITLE);
    /* tabs first: they are what the keys 1-5 refer to */
    for (int p = 0; p < TUI_NPANELS; p++)
        tabs_w += tui_text_width(tui_panel_get(p)->name) + 4;
    short_tabs = COLS - tabs_w < 36;
    if (short_tabs)
        tabs_w = 6 * TUI_NPANELS;
    tx = COLS - tabs_w;
    if (tx < 0)
        tx = 0;
    x = tui_draw_text(0, 0, tx - 1, TUI_A_TITLE, " natlens ");
    for (size_t i = 0; i < n && x < tx - 1; i++) {
        if (i) {
            x += tui_draw_text(0, x, tx - 1 - x, TUI_A_TITLE, " ");
            x += tui_draw_text(0, x, tx - 1 - x, TUI_A_TITLE, tui_g.swap);
        }
        x += tui_draw_text(0, x, tx - 1 - x, TUI_A_TITLE, " ");
        x += tui_draw_text(0, x, tx - 1 - x, TUI_A_TITLE, tui_cap_name(ui, i));
    }
    if (ui->m && ui->m->corr && ui->m->ncaps >= 2) {
        const nl_clock_offset *o = &ui->m->corr->offsets[0];
        if (ui->m->ncaps == 2 && o->known)
            snprintf(buf, sizeof buf, "  %+.3f s", o->offset_s);
        else if (ui->m->ncaps == 2)
            snprintf(buf, sizeof buf, "  clock offset unknown");
        else
            buf[0] = '\0';
        x += tui_draw_text(0, x, tx - 1 - x, TUI_A_TITLE, buf);
    }
    for (int p = 0; p < TUI_NPANELS && tx < COLS; p++) {
        char t[40];
        /* narrow terminals: "1Flow" style, four letters of the name */
        if (short_tabs)
            snprintf(t, sizeof t, " %d%.4s", p + 1, tui_panel_get(p)->name);
        else
            snprintf(t, sizeof t, " %d %s ", p + 1, tui_panel_get(p)->name);
        tx += tui_draw_text(0, tx, COLS - tx, p == ui->panel && !ui->help ? TUI_A_TAB_ON : TUI_A_TAB, t);
    }
}

static void tui_draw_info(tui_ui *ui)
{
    char buf[256], st[128] = "";
    const tui_model *m = ui->m;
    int x;
    if (!m) {
        snprintf(buf, sizeof buf, " %s%s", tui_stage_text(ui->stage), tui_g.ellipsis);
    } else {
        /* zero counts are left out so a narrow line keeps what matters */
        size_t o = 0;
        const size_t v[5] = {m->ncaps >= 2 ? m->npaired : m->nrows, m->nnear_only, m->nfar_only,
                             m->nbad, m->nwarn};
        const char *const name[5] = {m->ncaps >= 2 ? "paired" : "flows", "near-only", "far-only",
                                     "broken", "suspect"};
        for (int i = 0; i < 5 && o < sizeof buf; i++)
            if (i == 0 || v[i])
                o += (size_t)snprintf(buf + o, sizeof buf - o, "%s%zu %s", i ? "  " : " ", v[i],
                                      i == 0 && v[i] == 1 && m->ncaps < 2 ? "flow" : name[i]);
        if (m->ncaps < 2 && o < sizeof buf)
            snprintf(buf + o, sizeof buf - o, "  (one capture: no pairing)");
    }
    x = tui_draw_text(1, 0, COLS, TUI_A_NORMAL, buf);
    if (m && (ui->filter[0] || ui->broken_only)) {
        snprintf(st, sizeof st, "  [%s%s%s%s%s]", ui->broken_only ? "broken only" : "",
                 ui->broken_only && ui->filter[0] ? ", " : "", ui->filter[0] ? "\"" : "",
                 ui->filter, ui->filter[0] ? "\"" : "");
        x += tui_draw_text(1, x, COLS - x, TUI_A_WARN, st);
    }
    /* a capture that lost packets itself: every "missing" packet in the
     * panels may be that loss (the findings say it too) */
    for (size_t i = 0; m && i < m->ncaps && x < COLS; i++)
        if (m->traces[i]->capture_drops) {
            snprintf(st, sizeof st, "  %s dropped %llu packets while capturing", m->traces[i]->name,
                     (unsigned long long)m->traces[i]->capture_drops);
            x += tui_draw_text(1, x, COLS - x, TUI_A_WARN, st);
        }
    if (ui->status[0]) {
        int w = tui_text_width(ui->status) + 2;
        int sx = COLS - w > x + 1 ? COLS - w : x + 1;
        tui_draw_text(1, sx, COLS - sx, TUI_A_WARN, ui->status);
    }
}

static void tui_draw_bar(tui_ui *ui)
{
    int y = LINES - 1, x = 0;
    tui_draw_fill(y, 0, COLS, TUI_A_NORMAL);
    x = tui_draw_text(y, 0, 1, TUI_A_NORMAL, " ");
    if (ui->prompt) {
        x += tui_draw_text(y, x, COLS - x, TUI_A_BAR_KEY,
                           ui->prompt == TUI_PROMPT_SEARCH ? " Search: " : " Filter: ");
        x += tui_draw_text(y, x, COLS - x - 1, TUI_A_NORMAL, ui->input);
        move(y, x);
        tui_draw_text(y, x, COLS - x, TUI_A_CURSOR, " ");
        x++;
        tui_draw_text(y, x + 2, COLS - x - 2, TUI_A_DIM, "Enter apply  Esc cancel");
        return;
    }
    /* table order, except that quitting closes the bar as in htop */
    for (size_t k = 0; k < 2 * tui_nkeys && x < COLS; k++) {
        size_t i = k % tui_nkeys;
        const char *name = tui_keys[i].name;
        char key[24];
        if (!tui_keys[i].bar || (tui_keys[i].keys[0] == 'q') != (k >= tui_nkeys))
            continue;
        /* "q/F10" shows as "q" in the bar: one key is enough there */
        snprintf(key, sizeof key, "%.*s", (int)strcspn(name, "/"), name);
        if (!key[0])
            snprintf(key, sizeof key, "%s", name);
        /* "?Help" for one-letter keys, "Enter Open" for named ones */
        x += tui_draw_text(y, x, COLS - x, TUI_A_BAR_KEY, key);
        if (strlen(key) > 1)
            x += tui_draw_text(y, x, COLS - x, TUI_A_BAR, " ");
        x += tui_draw_text(y, x, COLS - x, TUI_A_BAR, tui_keys[i].bar);
        x += tui_draw_text(y, x, COLS - x, TUI_A_NORMAL, "  ");
    }
}

static void tui_draw_loading(tui_ui *ui, int y, int h)
{
    char buf[256];
    size_t n = ui->ld->npaths;
    int bar = COLS - 70;
    double el = (double)(tui_now_ns() - ui->ld->start_ns) / 1e9;
    if (bar > 40)
        bar = 40;
    if (bar < 10)
        bar = 10;
    snprintf(buf, sizeof buf, "Reading %zu capture%s (first %d packets of every flow kept for the ladder)",
             n, n == 1 ? "" : "s", NL_FLOW_KEEP_PKTS);
    tui_draw_text(y + 1, 2, COLS - 4, TUI_A_NORMAL, buf);
    for (size_t i = 0; i < n && (int)i + 3 < h; i++) {
        const tui_cap_progress *p = &ui->prog[i];
        int yy = y + 3 + (int)i, x = 2, fill = 0;
        double frac = p->total > 0 ? (double)p->done / (double)p->total : 0;
        if (p->finished)
            frac = 1;
        if (frac > 1)
            frac = 1;
        fill = (int)(frac * bar);
        x += tui_draw_text(yy, x, 20, TUI_A_NORMAL, tui_cap_name(ui, i));
        x = 24;
        x += tui_draw_text(yy, x, 1, TUI_A_NORMAL, "[");
        tui_draw_repeat(yy, x, fill, TUI_A_OK, ui->utf8 ? tui_g.bar_full : "#");
        tui_draw_repeat(yy, x + fill, bar - fill, TUI_A_DIM, tui_g.dot);
        x += bar;
        x += tui_draw_text(yy, x, 1, TUI_A_NORMAL, "]");
        if (p->total > 0)
            snprintf(buf, sizeof buf, " %3d%%  %llu packets  %.1f of %.1f MB%s", (int)(frac * 100),
                     (unsigned long long)p->packets, (double)p->done / 1e6, (double)p->total / 1e6,
                     p->finished ? "  done" : "");
        else
            snprintf(buf, sizeof buf, " %llu packets%s", (unsigned long long)p->packets,
                     p->finished ? "  done" : "");
        tui_draw_text(yy, x, COLS - x, TUI_A_NORMAL, buf);
    }
    if ((int)n + 5 < h) {
        snprintf(buf, sizeof buf, "%s%s  %.1f s   (q quits, ? help)",
                 tui_stage_text(ui->stage), tui_g.ellipsis, el);
        tui_draw_text(y + (int)n + 4, 2, COLS - 4, TUI_A_DIM, buf);
    }
}

static void tui_draw_help(tui_ui *ui, int y, int h)
{
    int line = 0, yy = y;
    static const char *const tail[] = {
        "",
        "Rows: red / x = broken (no answer, rejected, never arrived, a finding),",
        "      yellow / ! = suspect (packets lost, seen on one side only).",
        "Ladder: near capture left, far capture right, times in the near clock;",
        "      * marks a field a middlebox rewrote; x marks a packet one side never saw.",
        "NO_COLOR=1 turns colours off. Esc or ? closes this help, q quits.",
    };
    tui_draw_fill(yy, 0, COLS, TUI_A_HEAD);
    tui_draw_text(yy++, 1, COLS - 2, TUI_A_HEAD, "natlens tui keys   (Esc or ? closes, q quits, Up/Down scroll)");
    for (size_t i = 0; i < tui_nkeys + sizeof tail / sizeof tail[0] && yy < y + h; i++, line++) {
        if ((size_t)line < ui->help_top)
            continue;
        if (i < tui_nkeys) {
            tui_draw_text(yy, 2, 14, TUI_A_BAR_KEY, tui_keys[i].name);
            tui_draw_text(yy, 17, COLS - 18, TUI_A_NORMAL, tui_keys[i].help);
        } else {
            tui_draw_text(yy, 2, COLS - 3, TUI_A_DIM, tail[i - tui_nkeys]);
        }
        yy++;
    }
}

void tui_draw_screen(tui_ui *ui)
{
    erase();
    ui->lines = LINES;
    ui->cols = COLS;
    if (LINES < 6 || COLS < 30) {
        tui_draw_text(0, 0, COLS, TUI_A_NORMAL, "natlens: terminal too small (q quits)");
        refresh();
        return;
    }
    ui->body_y = 2;
    ui->body_h = LINES - 3;
    tui_draw_title(ui);
    tui_draw_info(ui);
    if (ui->help)
        tui_draw_help(ui, ui->body_y, ui->body_h);
    else if (!ui->m)
        tui_draw_loading(ui, ui->body_y, ui->body_h);
    else
        tui_panel_get(ui->panel)->draw(ui, ui->body_y, ui->body_h);
    tui_draw_bar(ui);
    if (!ui->prompt)
        move(LINES - 1, COLS - 1);
    refresh();
}
