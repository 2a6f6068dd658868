/* report_esc.c - escaping for the report formats. Every string that came
 * from a packet, a file name or host metadata passes through one of these:
 * nothing from a capture can open a tag, end a table cell or a fence.
 * Bytes that are neither printable ASCII nor valid UTF-8 are shown as \xNN,
 * C1 controls and bidirectional formatting characters as \uNNNN. */
#include <stdint.h>
#include <string.h>
#include "natlens/text_safe.h"
#include "report_int.h"

/* Shared walk: printable ASCII goes to put(), safe UTF-8 is copied; what
 * text_safe.h calls unsafe is written visibly instead: C0 controls and
 * DEL and stray bytes as \xNN, C1 controls (U+0080..U+009F) and the
 * bidirectional overrides, isolates and marks as \uNNNN, so nothing from
 * a capture can reorder or hide the text around it in a browser or a
 * Markdown viewer. Newlines and tabs become spaces when nl_space. */
static void esc_walk(FILE *f, const char *s, int nl_space, void (*put)(FILE *, int))
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp;
        size_t l;
        if ((p[i] == '\n' || p[i] == '\t' || p[i] == '\r') && nl_space) {
            fputc(' ', f);
            continue;
        }
        l = text_utf8_decode(p + i, n - i, &cp);
        if (l == 0 || (cp < 0x80 && text_cp_unsafe(cp))) {
            fprintf(f, "\\x%02x", p[i]);
        } else if (text_cp_unsafe(cp)) {
            fprintf(f, "\\u%04x", (unsigned)cp);
            i += l - 1;
        } else if (cp < 0x80) {
            put(f, p[i]);
        } else {
            fwrite(p + i, 1, l, f);
            i += l - 1;
        }
    }
}

static void put_html(FILE *f, int ch)
{
    switch (ch) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&#39;", f); break;
    default: fputc(ch, f);
    }
}

static void put_md(FILE *f, int ch)
{
    switch (ch) {
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '&': fputs("&amp;", f); break;
    case '|': case '`': case '*': case '_': case '[': case ']': case '\\': case '#':
    case '~': case '!':
        fputc('\\', f);
        fputc(ch, f);
        break;
    default: fputc(ch, f);
    }
}

static void put_fence(FILE *f, int ch)
{
    fputc(ch == '`' ? '\'' : ch, f);
}

void report_html_esc(FILE *f, const char *s)
{
    /* newlines become spaces (safe in attributes and text alike): callers
     * that want line breaks split first, as the fix's <pre> does */
    esc_walk(f, s, 1, put_html);
}

void report_md_esc(FILE *f, const char *s)
{
    esc_walk(f, s, 1, put_md);
}

void report_fence_esc(FILE *f, const char *s)
{
    esc_walk(f, s, 1, put_fence);
}
