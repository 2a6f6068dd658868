/* tui_findings.c - panel 5: the findings of diagnose.h, most severe first.
 *
 * The list on top, the selected finding below it: summary, evidence lines
 * (capture, frame, time in that capture's clock, what) and the fix. Enter
 * opens the ladder of the finding's first flow. All text is diagnose.h's,
 * drawn through the sanitizing text writer.
 */
#include <stdio.h>
#include <string.h>
#include <curses.h>
#include "natlens/flow_out.h"
#include "tui.h"

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

/* Word-wrap s into lines of width w starting at (y, x); at most maxl lines.
 * Returns lines used. */
static int tui_find_wrap(int y, int x, int w, int maxl, int role, const char *s)
{
    char line[512];
    int n = 0;
    while (*s && n < maxl) {
        size_t take = 0, last_sp = 0, len = strlen(s);
        int width = 0;
        /* byte-wise with UTF-8 continuation bytes counted as zero width */
        while (take < len && s[take] != '\n') {
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
        if (take < len && s[take] != '\n' && last_sp > 0)
            take = last_sp;
        if (take >= sizeof line)
            take = sizeof line - 1;
        memcpy(line, s, take);
        line[take] = '\0';
        tui_draw_text(y + n, x, w, role, line);
        n++;
        s += take;
        while (*s == ' ' || *s == '\n')
            s++;
    }
    return n;
}

static void tui_find_detail(const tui_ui *ui, const nl_finding *f, int y, int h)
{
    const tui_model *m = ui->m;
    char buf[600], t[32];
    int yy = y, w = COLS - 4, capw = 4;
    if (h < 1)
        return;
    for (size_t i = 0; i < m->ncaps; i++) {
        int cw = tui_text_width(m->traces[i]->name);
        if (cw > capw)
            capw = cw > 24 ? 24 : cw;
    }
    snprintf(buf, sizeof buf, "%s  %s%s", diagnose_severity_name(f->severity), diagnose_kind_name(f->kind),
             f->connections > 1 ? "" : "");
    tui_draw_textx(yy++, 2, w, tui_find_role(f->severity), A_BOLD, buf);
    yy += tui_find_wrap(yy, 4, w - 2, y + h - yy, TUI_A_NORMAL, f->summary ? f->summary : "");
    for (size_t i = 0; i < f->nevidence && yy < y + h; i++) {
        const nl_evidence *e = &f->evidence[i];
        const char *cap = e->capture >= 0 && (size_t)e->capture < m->ncaps ?
                          m->traces[e->capture]->name : diagnose_capture_name(m->diag, e->capture);
        char fr[32] = "";
        if (e->frame)
            snprintf(fr, sizeof fr, "#%llu", (unsigned long long)e->frame);
        if (e->ts_ns)
            flow_out_time(e->ts_ns, t, sizeof t, 0);
        else
            t[0] = '\0';
        snprintf(buf, sizeof buf, "%-9s%-*s %-6s %-15s %s", i ? "" : "evidence", capw, cap, fr, t,
                 e->what ? e->what : "");
        tui_draw_text(yy++, 4, w - 2, TUI_A_NORMAL, buf);
    }
    if (f->fix && yy < y + h) {
        const char *s = f->fix;
        int first = 1;
        while (*s && yy < y + h) {
            size_t n = strcspn(s, "\n");
            snprintf(buf, sizeof buf, "%-9s%.*s", first ? "fix" : "", (int)(n < 400 ? n : 400), s);
            tui_draw_text(yy++, 4, w - 2, first ? TUI_A_OK : TUI_A_OK, buf);
            first = 0;
            s += n;
            if (*s == '\n')
                s++;
        }
    }
}

static void tui_find_draw(tui_ui *ui, int y, int h)
{
    const tui_model *m = ui->m;
    tui_list *l = &ui->list[TUI_P_FIND];
    size_t n = tui_find_count(ui);
    char buf[600];
    int list_h;
    tui_draw_fill(y, 0, COLS, TUI_A_HEAD);
    tui_draw_text(y, 2, COLS - 3, TUI_A_HEAD, "SEVERITY KIND               SUMMARY");
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
    tui_draw_fill(y + 1 + list_h, 0, COLS, TUI_A_DIM);
    tui_draw_text(y + 1 + list_h, 2, COLS - 3, TUI_A_DIM, "Enter: ladder of the first flow");
    if (l->cur < n)
        tui_find_detail(ui, diagnose_get(m->diag, l->cur), y + 2 + list_h, h - 2 - list_h);
}

const tui_panel tui_findings_panel = {
    "Findings", tui_find_count, tui_find_draw, tui_find_open, tui_find_text, 1
};
