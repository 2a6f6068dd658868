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
    case TUI_LD_PAIRING: return "pairing";
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

/* The counts a finished stage knows: flows per capture before pairing,
 * paired and one-sided after it, broken and suspect rows. Zero counts are
 * left out so a narrow line keeps what matters. */
static size_t tui_info_counts(const tui_ui *ui, char *buf, size_t len)
{
    const tui_model *m = ui->m;
    size_t o = 0;
#define ADD(...) do { if (o < len) o += (size_t)snprintf(buf + o, len - o, __VA_ARGS__); } while (0)
    if (m->pairing) {
        for (size_t c = 0; c < m->ncaps; c++)
            ADD("%s%zu flow%s at %s", c ? "  " : " ", m->nflows[c], m->nflows[c] == 1 ? "" : "s",
                tui_cap_name(ui, c));
    } else {
        const size_t v[4] = {m->ncaps >= 2 ? m->npaired : m->nrows, m->nnear_only, m->nfar_only,
                             m->nrec_only};
        const char *const name[4] = {m->ncaps >= 2 ? "paired" : "flows", "near-only", "far-only",
                                     "records only"};
        for (int i = 0; i < 4; i++)
            if (i == 0 || v[i])
                ADD("%s%zu %s", i ? "  " : " ", v[i],
                    i == 0 && v[i] == 1 && m->ncaps < 2 ? "flow" : name[i]);
    }
    /* before pairing a broken connection may show once per capture: the
     * counts wait for the pairing */
    if (!m->pairing && (!m->diagnosing || m->nbad))
        ADD("  %zu broken", m->nbad);
    if (!m->pairing && m->nwarn)
        ADD("  %zu suspect", m->nwarn);
    if (m->ncaps < 2)
        ADD("  (one capture: no pairing)");
#undef ADD
    return o;
}

static void tui_draw_info(tui_ui *ui)
{
    char buf[320], st[320] = "";
    const char *pending = tui_ui_pending(ui);
    int x;
    if (!ui->m) {
        snprintf(buf, sizeof buf, " %s %zu capture%s%s", tui_stage_text(ui->stage), ui->ld->npaths,
                 ui->ld->npaths == 1 ? "" : "s", tui_g.ellipsis);
        x = tui_draw_text(1, 0, COLS, TUI_A_NORMAL, buf);
    } else {
        tui_info_counts(ui, buf, sizeof buf);
        x = tui_draw_text(1, 0, COLS, TUI_A_NORMAL, buf);
    }
    if (pending) {
        /* what the worker is doing now: the rows above are usable already */
        snprintf(st, sizeof st, "  %s %s", tui_g.dot, pending);
        x += tui_draw_textx(1, x, COLS - x, TUI_A_WARN, A_BOLD, st);
    } else if (ui->note[0]) {
        snprintf(st, sizeof st, "  %s %s", tui_g.dot, ui->note);
        x += tui_draw_text(1, x, COLS - x, TUI_A_BAD, st);
    }
    if (ui->m && (ui->filter[0] || ui->broken_only)) {
        snprintf(st, sizeof st, "  [%s%s%s]", ui->broken_only ? "broken only" : "",
                 ui->broken_only && ui->filter[0] ? ", " : "", ui->filter);
        x += tui_draw_text(1, x, COLS - x, TUI_A_WARN, st);
        if ((ui->m->pairing && ui->flt.needs_pairing) || (ui->m->diagnosing && ui->flt.needs_findings))
            x += tui_draw_text(1, x, COLS - x, TUI_A_DIM, " (partial until the result is in)");
    }
    /* a capture that lost packets itself: every "missing" packet in the
     * panels may be that loss (the findings say it too) */
    for (size_t i = 0; ui->m && i < ui->m->ncaps && x < COLS; i++)
        if (ui->m->traces[i] && ui->m->traces[i]->capture_drops) {
            snprintf(st, sizeof st, "  %s dropped %llu packets while capturing",
                     ui->m->traces[i]->name, (unsigned long long)ui->m->traces[i]->capture_drops);
            x += tui_draw_text(1, x, COLS - x, TUI_A_WARN, st);
        }
    if (ui->status[0]) {
        int w = tui_text_width(ui->status) + 2;
        int sx = COLS - w > x + 1 ? COLS - w : x + 1;
        tui_draw_text(1, sx, COLS - sx, TUI_A_WARN, ui->status);
    }
}

/* The key a bar entry shows: its first name ("F1" of "F1 ?"). */
static void tui_bar_key(const tui_key *k, char *buf, size_t len)
{
    snprintf(buf, len, "%.*s", (int)strcspn(k->name, " /"), k->name);
}

static int tui_bar_entry_w(const tui_key *k)
{
    char key[24];
    tui_bar_key(k, key, sizeof key);
    /* htop's "F1Help"; a named key gets a space: "Enter Open" */
    return tui_text_width(key) + (strlen(key) > 1 && key[0] != 'F' ? 1 : 0) +
           tui_text_width(k->bar) + 2;
}

static int tui_bar_entry(int y, int x, const tui_key *k)
{
    char key[24];
    int x0 = x;
    tui_bar_key(k, key, sizeof key);
    x += tui_draw_text(y, x, COLS - x, TUI_A_BAR_KEY, key);
    if (strlen(key) > 1 && key[0] != 'F')
        x += tui_draw_text(y, x, COLS - x, TUI_A_BAR, " ");
    x += tui_draw_text(y, x, COLS - x, TUI_A_BAR, k->bar);
    x += tui_draw_text(y, x, COLS - x, TUI_A_NORMAL, "  ");
    return x - x0;
}

static void tui_draw_prompt(tui_ui *ui, int y)
{
    int x = tui_draw_text(y, 0, 1, TUI_A_NORMAL, " ");
    x += tui_draw_text(y, x, COLS - x, TUI_A_BAR_KEY,
                       ui->prompt == TUI_PROMPT_SEARCH ? " Search: " : " Filter: ");
    x += tui_draw_text(y, x, COLS - x - 1, TUI_A_NORMAL, ui->input);
    tui_draw_text(y, x, COLS - x, TUI_A_CURSOR, " ");
    x++;
    if (ui->prompt == TUI_PROMPT_FILTER && ui->input_err[0]) {
        /* the error in place, beside what was typed */
        char buf[200];
        snprintf(buf, sizeof buf, "%s %s", tui_g.cross, ui->input_err);
        tui_draw_text(y, x + 1, COLS - x - 1, TUI_A_BAD, buf);
        return;
    }
    tui_draw_text(y, x + 2, COLS - x - 2, TUI_A_DIM, ui->prompt == TUI_PROMPT_FILTER ?
                  "Enter apply  Esc cancel  (port 80, host A, state S0, nat snat, broken; and/or/not)"
                  : "Enter apply  Esc cancel");
}

static void tui_draw_bar(tui_ui *ui)
{
    int y = LINES - 1, x = 0, quit_w = 0;
    const tui_key *quit = NULL;
    tui_draw_fill(y, 0, COLS, TUI_A_NORMAL);
    if (ui->prompt) {
        tui_draw_prompt(ui, y);
        return;
    }
    /* the key table's labelled entries in order; Quit last, as in htop,
     * and kept when the line is too short for all of them */
    for (size_t i = 0; i < tui_nkeys; i++)
        if (tui_keys[i].bar && !strcmp(tui_keys[i].bar, "Quit")) {
            quit = &tui_keys[i];
            quit_w = tui_bar_entry_w(quit);
        }
    x = tui_draw_text(y, 0, 1, TUI_A_NORMAL, " ");
    for (size_t i = 0; i < tui_nkeys; i++) {
        const tui_key *k = &tui_keys[i];
        if (!k->bar || k == quit)
            continue;
        if (x + tui_bar_entry_w(k) + quit_w > COLS)
            break;
        x += tui_bar_entry(y, x, k);
    }
    if (quit)
        tui_bar_entry(y, x, quit);
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
    snprintf(buf, sizeof buf, "Reading %zu capture%s: the flows show as soon as they are read, "
             "pairing and findings follow", n, n == 1 ? "" : "s");
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

/* Bytes of s that fit in w columns, broken at a space when s goes on. */
static size_t tui_help_take(const char *s, int w)
{
    size_t n = 0, sp = 0;
    int cols = 0;
    while (s[n] && cols < w) {
        if (((unsigned char)s[n] & 0xc0) != 0x80)
            cols++;
        if (s[n] == ' ')
            sp = n;
        n++;
    }
    while (s[n] && ((unsigned char)s[n] & 0xc0) == 0x80)
        n++;
    return s[n] && sp ? sp : n;
}

/* Draw (or, with draw 0, only count) the help: every key of the table
 * with its text wrapped, then the notes. Lines before `top` are skipped. */
static int tui_help_lines(int y, int h, size_t top, int draw)
{
    static const char *const tail[] = {
        "",
        "Rows: red / x = broken (no answer, rejected, never arrived, a finding),",
        "      yellow / ! = suspect (packets lost, seen on one side only).",
        "Ladder: near capture left, far capture right, times in the near clock;",
        "      * marks a field a middlebox rewrote; x marks a packet the other side's",
        "      records cover but do not hold; ? where that side kept no records.",
        "Records (conntrack, NAT and flow logs, conn.log): STATE says what the record",
        "      says (NAT OK, DROPPED, REJECT, UNREPLIED); the Pair panel shows the record.",
        "Filter: terms combine with and (or a space), or, not and parentheses;",
        "      any other word matches as text, \"quoted words\" too.",
        "NO_COLOR=1 turns colours off. Esc or F1 closes this help, F10 or q quits.",
    };
    int line = 0, yy = y, w = COLS - 18 > 10 ? COLS - 18 : 10;
    for (size_t i = 0; i < tui_nkeys + sizeof tail / sizeof tail[0]; i++) {
        const char *s = i < tui_nkeys ? tui_keys[i].help : tail[i - tui_nkeys];
        int first = 1;
        do {
            char part[400];
            size_t n = i < tui_nkeys ? tui_help_take(s, w) : strlen(s);
            snprintf(part, sizeof part, "%.*s", (int)n, s);
            if (draw && (size_t)line >= top && yy < y + h) {
                if (i >= tui_nkeys)
                    tui_draw_text(yy, 2, COLS - 3, TUI_A_DIM, part);
                else {
                    if (first)
                        tui_draw_text(yy, 2, 14, TUI_A_BAR_KEY, tui_keys[i].name);
                    tui_draw_text(yy, first ? 17 : 19, COLS - 20, TUI_A_NORMAL, part);
                }
                yy++;
            }
            line++;
            first = 0;
            s += n;
            while (*s == ' ')
                s++;
        } while (*s);
    }
    return line;
}

static void tui_draw_help(tui_ui *ui, int y, int h)
{
    int total = tui_help_lines(y + 1, h - 1, 0, 0);
    if (ui->help_top + (size_t)(h - 1) > (size_t)total)
        ui->help_top = total > h - 1 ? (size_t)(total - (h - 1)) : 0;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    tui_draw_text(y, 1, COLS - 2, TUI_A_HEAD, "natlens tui keys   (Esc or F1 closes, F10 quits, Up/Down scroll)");
    tui_help_lines(y + 1, h - 1, ui->help_top, 1);
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
    if (!ui->first_row_ns && ui->m && ui->norder && ui->panel == TUI_P_FLOWS && !ui->help)
        ui->first_row_ns = tui_now_ns();    /* on the terminal now */
}
