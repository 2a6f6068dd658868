/* tui_draw.c - drawing primitives: colours, glyphs, sanitized text.
 *
 * Every string reaches the terminal through tui_draw_textx(): control bytes
 * (C0, DEL, C1) and malformed UTF-8 become '?', so nothing taken from a
 * capture (file names, findings text, payload excerpts) can move the cursor
 * or change the terminal's state. Without a UTF-8 locale anything outside
 * ASCII becomes '?' and the glyph table switches to ASCII.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <curses.h>
#include "natlens/text_safe.h"
#include "tui.h"

tui_glyphs tui_g;

static const tui_glyphs tui_glyphs_utf8 = {
    "\xe2\x86\x92", "\xe2\x86\x90", "\xe2\x94\x80", "\xe2\x96\xb6", "\xe2\x97\x80",
    "\xe2\x9c\x97", "\xe2\x96\xb6", "\xe2\x9c\x97", "!", "\xe2\x80\xa6",
    "\xe2\x87\x84", "\xe2\x87\x92", "\xe2\x96\x88", "\xc2\xb7", "\xe2\x80\x94",
    "\xe2\x96\xb2", "\xe2\x96\xbc"
};
static const tui_glyphs tui_glyphs_ascii = {
    "->", "<-", "-", ">", "<", "x", ">", "x", "!", "~", "<>", "=>", "#", ".", "-",
    "^", "v"
};

static int tui_attrs[TUI_NATTR];
static int tui_utf8_on;

void tui_draw_init(tui_ui *ui)
{
    tui_g = ui->utf8 ? tui_glyphs_utf8 : tui_glyphs_ascii;
    tui_utf8_on = ui->utf8;
    for (int i = 0; i < TUI_NATTR; i++)
        tui_attrs[i] = A_NORMAL;
    if (ui->color && has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_WHITE, COLOR_BLUE);   /* title, tabs */
        init_pair(2, COLOR_BLACK, COLOR_CYAN);   /* active tab, cursor, bar */
        init_pair(3, COLOR_BLACK, COLOR_GREEN);  /* column header */
        init_pair(4, COLOR_RED, -1);
        init_pair(5, COLOR_YELLOW, -1);
        init_pair(6, COLOR_MAGENTA, -1);
        init_pair(7, COLOR_GREEN, -1);
        init_pair(8, COLOR_CYAN, -1);
        tui_attrs[TUI_A_TITLE] = (int)(COLOR_PAIR(1) | A_BOLD);
        tui_attrs[TUI_A_TAB] = (int)COLOR_PAIR(1);
        tui_attrs[TUI_A_TAB_ON] = (int)(COLOR_PAIR(2) | A_BOLD);
        tui_attrs[TUI_A_HEAD] = (int)COLOR_PAIR(3);
        tui_attrs[TUI_A_CURSOR] = (int)COLOR_PAIR(2);
        tui_attrs[TUI_A_BAD] = (int)(COLOR_PAIR(4) | A_BOLD);
        tui_attrs[TUI_A_WARN] = (int)COLOR_PAIR(5);
        tui_attrs[TUI_A_XLATE] = (int)(COLOR_PAIR(6) | A_BOLD);
        tui_attrs[TUI_A_DIM] = (int)COLOR_PAIR(8);
        tui_attrs[TUI_A_BAR_KEY] = (int)A_BOLD;
        tui_attrs[TUI_A_BAR] = (int)COLOR_PAIR(2);
        tui_attrs[TUI_A_OK] = (int)COLOR_PAIR(7);
    } else {
        /* NO_COLOR or a monochrome terminal: attributes only; broken rows
         * also carry a mark character so they stand out without colour */
        ui->color = 0;
        tui_attrs[TUI_A_TITLE] = (int)(A_REVERSE | A_BOLD);
        tui_attrs[TUI_A_TAB] = (int)A_REVERSE;
        tui_attrs[TUI_A_TAB_ON] = (int)A_BOLD;
        tui_attrs[TUI_A_HEAD] = (int)A_REVERSE;
        tui_attrs[TUI_A_CURSOR] = (int)A_REVERSE;
        tui_attrs[TUI_A_BAD] = (int)A_BOLD;
        tui_attrs[TUI_A_XLATE] = (int)A_BOLD;
        tui_attrs[TUI_A_DIM] = (int)A_DIM;
        tui_attrs[TUI_A_BAR_KEY] = (int)A_BOLD;
        tui_attrs[TUI_A_BAR] = (int)A_REVERSE;
    }
}

int tui_attr(int role)
{
    return role >= 0 && role < TUI_NATTR ? tui_attrs[role] : (int)A_NORMAL;
}

/* Next code point of a NUL-terminated UTF-8 string; bad sequences give
 * U+FFFD and advance one byte. */
static unsigned tui_utf8_next(const unsigned char **ps)
{
    const unsigned char *s = *ps;
    unsigned c = s[0], cp, need, min;
    if (c < 0x80) {
        *ps = s + 1;
        return c;
    }
    if ((c & 0xe0) == 0xc0) {
        cp = c & 0x1f; need = 1; min = 0x80;
    } else if ((c & 0xf0) == 0xe0) {
        cp = c & 0x0f; need = 2; min = 0x800;
    } else if ((c & 0xf8) == 0xf0) {
        cp = c & 0x07; need = 3; min = 0x10000;
    } else {
        *ps = s + 1;
        return 0xfffd;
    }
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *ps = s + 1;
            return 0xfffd;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    *ps = s + 1 + need;
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0xfffd;
    return cp;
}

/* Display form of one code point: '?' for anything that could act on the
 * terminal or that this locale cannot show. */
static unsigned tui_safe_cp(unsigned cp, int *w)
{
    /* what may act on a terminal or reorder the text around it is the
     * library's one definition (text_safe.h: C0, DEL, C1, bidi controls) */
    if (text_cp_unsafe(cp) || cp == 0xfffd || (!tui_utf8_on && cp >= 0x80)) {
        *w = 1;
        return '?';
    }
    if (cp < 0x80) {
        *w = 1;
        return cp;
    }
    *w = wcwidth((wchar_t)cp);
    if (*w < 0) {
        *w = 1;
        return '?';
    }
    return cp;
}

int tui_text_width(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int w, total = 0;
    while (*p) {
        tui_safe_cp(tui_utf8_next(&p), &w);
        total += w;
    }
    return total;
}

int tui_draw_textx(int y, int x, int maxw, int role, int extra, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int used = 0, w, full, ell;
    if (maxw <= 0 || y < 0 || x < 0 || y >= LINES || x >= COLS)
        return 0;
    if (x + maxw > COLS)
        maxw = COLS - x;
    full = tui_text_width(s);
    /* truncated text ends in an ellipsis so a cut address is not mistaken
     * for a whole one */
    ell = full > maxw && maxw >= 2;
    attrset((attr_t)(tui_attr(role) | extra));
    move(y, x);
    while (*p) {
        wchar_t wc;
        unsigned cp = tui_safe_cp(tui_utf8_next(&p), &w);
        if (w == 0)
            continue;           /* combining marks: dropped, widths stay exact */
        if (used + w > maxw - (ell ? 1 : 0))
            break;
        wc = (wchar_t)cp;
        addnwstr(&wc, 1);
        used += w;
    }
    if (ell) {
        unsigned cp;
        wchar_t wc;
        const unsigned char *e = (const unsigned char *)tui_g.ellipsis;
        while (*e && used < maxw) {
            cp = tui_utf8_next(&e);
            wc = (wchar_t)cp;
            addnwstr(&wc, 1);
            used++;
        }
    }
    attrset(A_NORMAL);
    return used;
}

int tui_draw_text(int y, int x, int maxw, int role, const char *s)
{
    return tui_draw_textx(y, x, maxw, role, 0, s);
}

void tui_draw_fill(int y, int x, int w, int role)
{
    if (y < 0 || y >= LINES || x >= COLS || w <= 0)
        return;
    if (x + w > COLS)
        w = COLS - x;
    attrset((attr_t)tui_attr(role));
    mvhline(y, x, ' ', w);
    attrset(A_NORMAL);
}

void tui_draw_repeat(int y, int x, int n, int role, const char *glyph)
{
    for (int i = 0; i < n && x + i < COLS; i++)
        tui_draw_text(y, x + i, 1, role, glyph);
}

void tui_draw_message(tui_ui *ui, int y, int h, const char *msg)
{
    (void)ui;
    if (h > 0)
        tui_draw_text(y + (h > 2 ? 1 : 0), 2, COLS - 4, TUI_A_DIM, msg);
}

void tui_list_fit(tui_list *l, size_t count, int h)
{
    if (h < 1)
        h = 1;
    if (count == 0) {
        l->cur = l->top = 0;
        return;
    }
    if (l->cur >= count)
        l->cur = count - 1;
    if (l->cur < l->top)
        l->top = l->cur;
    if (l->cur >= l->top + (size_t)h)
        l->top = l->cur - (size_t)h + 1;
    if (l->top + (size_t)h > count)
        l->top = count > (size_t)h ? count - (size_t)h : 0;
}
