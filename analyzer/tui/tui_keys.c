/* tui_keys.c - the one key table: key -> action, help text, bar label.
 *
 * As in htop, actions change the UI state and return TUI_F_* flags; they
 * never draw. The help screen and the function bar (tui_screen.c) are
 * generated from this table, so a key cannot exist without being
 * documented, nor be documented without existing.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <curses.h>
#include "tui.h"

#define TUI_KEY_ESC 27
#define TUI_KEY_CTRL(c) ((c) & 0x1f)

static size_t tui_cur_count(const tui_ui *ui)
{
    if (!ui->m)
        return 0;
    return tui_panel_get(ui->panel)->count(ui);
}

static int tui_page(const tui_ui *ui)
{
    const tui_panel *p = tui_panel_get(ui->panel);
    int h = ui->body_h - p->header_lines;
    if (!ui->help && p->detail && ui->dl_h > 1)
        h = ui->dl_h;           /* the detail pane's own height */
    return h > 1 ? h - 1 : 1;
}

void tui_keys_move(tui_ui *ui, long delta)
{
    tui_list *l = &ui->list[ui->panel];
    size_t n = tui_cur_count(ui);
    if (ui->help) {
        if (delta < 0 && (size_t)-delta > ui->help_top)
            ui->help_top = 0;
        else
            ui->help_top = (size_t)((long)ui->help_top + delta);
        if (ui->help_top > 4 * tui_nkeys)
            ui->help_top = 4 * tui_nkeys;   /* the help screen clamps it to its lines */
        return;
    }
    if (n == 0)
        return;
    if (delta < 0 && (size_t)-delta > l->cur)
        l->cur = 0;
    else if (delta > 0 && l->cur + (size_t)delta >= n)
        l->cur = n - 1;
    else
        l->cur = (size_t)((long)l->cur + delta);
}

/* Lines, pages, ends: a panel with a detail pane (Findings) scrolls it,
 * the others move their cursor. The arrows always move the cursor. */
static int tui_scroll_or_move(tui_ui *ui, long delta)
{
    const tui_panel *p = tui_panel_get(ui->panel);
    if (!ui->help && ui->m && p->detail)
        return p->detail(ui, delta);
    tui_keys_move(ui, delta);
    return TUI_F_REDRAW;
}

#define TUI_FAR_AWAY ((long)(SIZE_MAX / 4))

static int tui_act_up(tui_ui *ui) { tui_keys_move(ui, -1); return TUI_F_REDRAW; }
static int tui_act_down(tui_ui *ui) { tui_keys_move(ui, 1); return TUI_F_REDRAW; }
static int tui_act_line_up(tui_ui *ui) { return tui_scroll_or_move(ui, -1); }
static int tui_act_line_down(tui_ui *ui) { return tui_scroll_or_move(ui, 1); }
static int tui_act_pgup(tui_ui *ui) { return tui_scroll_or_move(ui, -tui_page(ui)); }
static int tui_act_pgdn(tui_ui *ui) { return tui_scroll_or_move(ui, tui_page(ui)); }
static int tui_act_home(tui_ui *ui) { return tui_scroll_or_move(ui, -TUI_FAR_AWAY); }
static int tui_act_end(tui_ui *ui) { return tui_scroll_or_move(ui, TUI_FAR_AWAY); }

static int tui_goto_panel(tui_ui *ui, int p)
{
    ui->help = 0;
    if (p == TUI_P_PAIR && ui->panel != TUI_P_PAIR) {
        /* from Flows (or the first time) the Pair panel shows the flow
         * under the Flows cursor; from elsewhere the last one shown */
        int back = ui->panel;
        size_t cur = ui->list[TUI_P_FLOWS].cur;
        if ((ui->pair_row < 0 || ui->panel == TUI_P_FLOWS) && ui->m && ui->norder)
            tui_pair_show(ui, (long)ui->order[cur < ui->norder ? cur : 0]);
        ui->back_panel = back;
    }
    ui->panel = p;
    return TUI_F_REDRAW;
}

static int tui_act_p1(tui_ui *ui) { return tui_goto_panel(ui, TUI_P_FLOWS); }
static int tui_act_p2(tui_ui *ui) { return tui_goto_panel(ui, TUI_P_PAIR); }
static int tui_act_p3(tui_ui *ui) { return tui_goto_panel(ui, TUI_P_NAT); }
static int tui_act_p4(tui_ui *ui) { return tui_goto_panel(ui, TUI_P_TIME); }
static int tui_act_p5(tui_ui *ui) { return tui_goto_panel(ui, TUI_P_FIND); }
static int tui_act_next(tui_ui *ui) { return tui_goto_panel(ui, (ui->panel + 1) % TUI_NPANELS); }
static int tui_act_prev(tui_ui *ui)
{
    return tui_goto_panel(ui, (ui->panel + TUI_NPANELS - 1) % TUI_NPANELS);
}

static int tui_act_open(tui_ui *ui)
{
    const tui_panel *p = tui_panel_get(ui->panel);
    if (ui->help) {
        ui->help = 0;
        return TUI_F_REDRAW;
    }
    if (!ui->m || !p->open)
        return TUI_F_NONE;
    return p->open(ui);
}

static int tui_act_back(tui_ui *ui)
{
    if (ui->help) {
        ui->help = 0;
        return TUI_F_REDRAW;
    }
    if (ui->panel == TUI_P_PAIR && ui->back_panel != TUI_P_PAIR) {
        ui->panel = ui->back_panel;
        return TUI_F_REDRAW;
    }
    if (ui->panel == TUI_P_FLOWS && (ui->filter[0] || ui->broken_only)) {
        ui->broken_only = 0;
        tui_flows_set_filter(ui, "");
        snprintf(ui->status, sizeof ui->status, "filter cleared");
        return TUI_F_REDRAW;
    }
    if (ui->panel != TUI_P_FLOWS) {
        ui->panel = TUI_P_FLOWS;
        return TUI_F_REDRAW;
    }
    return TUI_F_NONE;
}

static int tui_search_from(tui_ui *ui, size_t start, int dir)
{
    const tui_panel *p = tui_panel_get(ui->panel);
    size_t n = tui_cur_count(ui);
    char buf[512];
    if (!ui->search[0] || !n || !p->text) {
        if (!p->text)
            snprintf(ui->status, sizeof ui->status, "no search in this panel");
        return TUI_F_REDRAW;
    }
    for (size_t k = 0; k < n; k++) {
        size_t i = dir > 0 ? (start + k) % n : (start + n - k % n) % n;
        if (strcasestr(p->text(ui, i, buf, sizeof buf), ui->search)) {
            ui->list[ui->panel].cur = i;
            ui->status[0] = '\0';
            return TUI_F_REDRAW;
        }
    }
    snprintf(ui->status, sizeof ui->status, "not found: %s", ui->search);
    return TUI_F_REDRAW;
}

static int tui_act_search(tui_ui *ui)
{
    ui->prompt = TUI_PROMPT_SEARCH;
    ui->input[0] = '\0';
    ui->input_len = 0;
    return TUI_F_REDRAW;
}

static int tui_act_next_match(tui_ui *ui)
{
    return tui_search_from(ui, ui->list[ui->panel].cur + 1, 1);
}

static int tui_act_prev_match(tui_ui *ui)
{
    size_t cur = ui->list[ui->panel].cur;
    return tui_search_from(ui, cur, -1);
}

static int tui_act_sort(tui_ui *ui)
{
    static const char *const names[TUI_NCOLS] = {"near", "far", "protocol", "nat", "state",
                                                 "packets", "bytes", "first seen"};
    ui->sort_col = (ui->sort_col + 1) % TUI_NCOLS;
    if (ui->m && ui->m->ncaps < 2 && (ui->sort_col == TUI_C_FAR || ui->sort_col == TUI_C_NAT))
        ui->sort_col = ui->sort_col == TUI_C_FAR ? TUI_C_PROTO : TUI_C_STATE;
    tui_flows_refresh(ui);
    ui->panel = ui->panel == TUI_P_PAIR || ui->panel == TUI_P_FLOWS ? ui->panel : TUI_P_FLOWS;
    snprintf(ui->status, sizeof ui->status, "sorted by %s (again: next column, r: reverse)",
             names[ui->sort_col]);
    return TUI_F_REDRAW;
}

static int tui_act_reverse(tui_ui *ui)
{
    ui->sort_rev = !ui->sort_rev;
    tui_flows_refresh(ui);
    return TUI_F_REDRAW;
}

static int tui_act_filter(tui_ui *ui)
{
    ui->prompt = TUI_PROMPT_FILTER;
    snprintf(ui->input, sizeof ui->input, "%s", ui->filter);
    ui->input_len = strlen(ui->input);
    ui->input_err[0] = '\0';
    return TUI_F_REDRAW;
}

static int tui_act_broken(tui_ui *ui)
{
    ui->broken_only = !ui->broken_only;
    tui_flows_refresh(ui);
    ui->panel = TUI_P_FLOWS;
    snprintf(ui->status, sizeof ui->status, "%s", ui->broken_only ?
             "showing broken and suspect flows only" : "showing all flows");
    return TUI_F_REDRAW;
}

static int tui_act_pair_step(tui_ui *ui, long d)
{
    if (!ui->m || ui->panel != TUI_P_PAIR || !ui->norder)
        return TUI_F_NONE;
    ui->panel = TUI_P_FLOWS;
    tui_keys_move(ui, d);
    ui->panel = TUI_P_PAIR;
    {
        int back = ui->back_panel;
        tui_pair_show(ui, (long)ui->order[ui->list[TUI_P_FLOWS].cur]);
        ui->back_panel = back;
    }
    return TUI_F_REDRAW;
}

static int tui_act_prev_flow(tui_ui *ui) { return tui_act_pair_step(ui, -1); }
static int tui_act_next_flow(tui_ui *ui) { return tui_act_pair_step(ui, 1); }

static int tui_act_hop(tui_ui *ui)
{
    if (ui->panel != TUI_P_PAIR || ui->pair_row < 0 || ui->ladder.nhops < 2)
        return TUI_F_NONE;
    ui->pair_hop = (ui->pair_hop + 1) % ui->ladder.nhops;
    ui->list[TUI_P_PAIR].cur = ui->list[TUI_P_PAIR].top = 0;
    if (tui_pair_rebuild(ui) < 0)
        snprintf(ui->status, sizeof ui->status, "out of memory for the ladder");
    return TUI_F_REDRAW;
}

static int tui_act_help(tui_ui *ui)
{
    ui->help = !ui->help;
    ui->help_top = 0;
    return TUI_F_REDRAW;
}

static int tui_act_redraw(tui_ui *ui)
{
    clearok(curscr, TRUE);
    return TUI_F_REDRAW;
}

static int tui_act_quit(tui_ui *ui)
{
    return TUI_F_QUIT;
}

/* Order: the function bar's (labelled entries, Quit drawn last), then
 * the help screen's. htop's function keys and the letters do the same. */
const tui_key tui_keys[] = {
    {{KEY_F(1), '?', 0}, "F1 ?", "Help", "this help", tui_act_help},
    {{KEY_F(3), '/', 0}, "F3 /", "Search", "search the current list (case-insensitive)", tui_act_search},
    {{KEY_F(4), 'f', '\\', 0}, "F4 f \\", "Filter",
     "filter flows: port 80, host 10.1.2.3, net 10.0.0.0/8, state S0, nat snat, proto udp, "
     "broken, suspect, paired, near-only, far-only, record, action reject, nat dropped, unreplied, "
     "words; and, or, not, ( )", tui_act_filter},
    {{KEY_F(6), 's', 0}, "F6 s", "Sort", "sort flows by the next column", tui_act_sort},
    {{'b', 0}, "b", "Broken", "show only broken and suspect flows (toggle)", tui_act_broken},
    {{'\n', '\r', KEY_ENTER, 0}, "Enter", "Open", "open: flow -> ladder, finding -> its flow", tui_act_open},
    {{TUI_KEY_ESC, KEY_BACKSPACE, 0}, "Esc", "Back", "back: leave the ladder or help, clear the filter", tui_act_back},
    {{KEY_F(10), 'q', 0}, "F10 q", "Quit", "quit", tui_act_quit},
    {{'n', 0}, "n", NULL, "next match", tui_act_next_match},
    {{'N', 0}, "N", NULL, "previous match", tui_act_prev_match},
    {{'r', 0}, "r", NULL, "reverse the sort order", tui_act_reverse},
    {{KEY_UP, 0}, "Up", NULL, "move up (Findings: previous finding)", tui_act_up},
    {{KEY_DOWN, 0}, "Down", NULL, "move down (Findings: next finding)", tui_act_down},
    {{'k', 0}, "k", NULL, "up a line (Findings: scroll the detail)", tui_act_line_up},
    {{'j', 0}, "j", NULL, "down a line (Findings: scroll the detail)", tui_act_line_down},
    {{KEY_PPAGE, 0}, "PgUp", NULL, "page up (Findings: the detail)", tui_act_pgup},
    {{KEY_NPAGE, ' ', 0}, "PgDn Space", NULL, "page down (Findings: the detail)", tui_act_pgdn},
    {{KEY_HOME, 'g', 0}, "Home g", NULL, "first line (Findings: top of the detail)", tui_act_home},
    {{KEY_END, 'G', 0}, "End G", NULL, "last line (Findings: end of the detail, the fix)", tui_act_end},
    {{'\t', 0}, "Tab", NULL, "next panel", tui_act_next},
    {{KEY_BTAB, 0}, "S-Tab", NULL, "previous panel", tui_act_prev},
    {{'1', 0}, "1", NULL, "Flows: one row per connection, near and far side", tui_act_p1},
    {{'2', 0}, "2", NULL, "Pair: packet ladder of the selected flow", tui_act_p2},
    {{'3', 0}, "3", NULL, "NAT map: inner host -> egress address per destination", tui_act_p3},
    {{'4', 0}, "4", NULL, "Timeline: egress addresses over time, changes marked", tui_act_p4},
    {{'5', 0}, "5", NULL, "Findings: what broke, with evidence and fix", tui_act_p5},
    {{'[', 0}, "[", NULL, "ladder of the previous flow", tui_act_prev_flow},
    {{']', 0}, "]", NULL, "ladder of the next flow", tui_act_next_flow},
    {{'h', 0}, "h", NULL, "ladder of the next hop (three or more captures)", tui_act_hop},
    {{TUI_KEY_CTRL('l'), 0}, "C-l", NULL, "redraw the screen", tui_act_redraw},
};
const size_t tui_nkeys = sizeof tui_keys / sizeof tui_keys[0];

int tui_keys_dispatch(tui_ui *ui, int ch)
{
    for (size_t i = 0; i < tui_nkeys; i++)
        for (int k = 0; k < 4 && tui_keys[i].keys[k]; k++)
            if (tui_keys[i].keys[k] == ch) {
                int open_help = ui->help;
                int f = tui_keys[i].action(ui);
                /* in help, keys other than scrolling and quitting close it */
                if (open_help && ui->help && tui_keys[i].action != tui_act_up &&
                    tui_keys[i].action != tui_act_down && tui_keys[i].action != tui_act_pgup &&
                    tui_keys[i].action != tui_act_pgdn && tui_keys[i].action != tui_act_home &&
                    tui_keys[i].action != tui_act_end && tui_keys[i].action != tui_act_quit &&
                    tui_keys[i].action != tui_act_line_up &&
                    tui_keys[i].action != tui_act_line_down) {
                    ui->help = 0;
                    f |= TUI_F_REDRAW;
                }
                return f;
            }
    if (ui->help) {
        ui->help = 0;
        return TUI_F_REDRAW;
    }
    return TUI_F_NONE;
}

int tui_keys_prompt(tui_ui *ui, int ch)
{
    int kind = ui->prompt;
    if (ch == TUI_KEY_ESC) {
        ui->prompt = TUI_PROMPT_NONE;
        ui->input_err[0] = '\0';
        return TUI_F_REDRAW;
    }
    if (ch == '\n' || ch == '\r' || ch == KEY_ENTER) {
        if (kind == TUI_PROMPT_FILTER) {
            /* a bad expression keeps the prompt open, the error beside it */
            if (tui_flows_set_filter(ui, ui->input) < 0)
                return TUI_F_REDRAW;
            ui->prompt = TUI_PROMPT_NONE;
            ui->panel = TUI_P_FLOWS;
            if (ui->m)
                snprintf(ui->status, sizeof ui->status, "%zu flow%s match", ui->norder,
                         ui->norder == 1 ? "" : "s");
            return TUI_F_REDRAW;
        }
        ui->prompt = TUI_PROMPT_NONE;
        snprintf(ui->search, sizeof ui->search, "%s", ui->input);
        return tui_search_from(ui, ui->list[ui->panel].cur, 1);
    }
    if (ch == KEY_BACKSPACE || ch == 127 || ch == 8) {
        if (ui->input_len)
            ui->input[--ui->input_len] = '\0';
    } else if (ch == TUI_KEY_CTRL('u')) {
        ui->input_len = 0;
        ui->input[0] = '\0';
    } else if (ch >= 0x20 && ch < 0x7f && ui->input_len + 1 < sizeof ui->input &&
               (kind == TUI_PROMPT_FILTER || ui->input_len + 1 < sizeof ui->search)) {
        /* ASCII only: addresses, ports, state letters, kinds */
        ui->input[ui->input_len++] = (char)ch;
        ui->input[ui->input_len] = '\0';
    } else {
        return TUI_F_NONE;
    }
    if (kind == TUI_PROMPT_SEARCH) {
        /* incremental, as in htop: jump while typing */
        snprintf(ui->search, sizeof ui->search, "%s", ui->input);
        if (ui->input_len)
            tui_search_from(ui, ui->list[ui->panel].cur, 1);
    } else {
        /* checked while typing: the error shows in place */
        tui_filter f;
        if (tui_filter_compile(&f, ui->input) < 0)
            snprintf(ui->input_err, sizeof ui->input_err, "%s", f.err);
        else
            ui->input_err[0] = '\0';
    }
    return TUI_F_REDRAW;
}
