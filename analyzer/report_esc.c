/* report_esc.c - escaping for the report formats. Every string that came
 * from a packet, a file name or host metadata passes through one of these:
 * nothing from a capture can open a tag, end a table cell or a fence.
 * Bytes that are neither printable ASCII nor valid UTF-8 are shown as \xNN. */
#include <string.h>
#include "report_int.h"

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if invalid. */
static size_t esc_utf8_len(const unsigned char *p, size_t n)
{
    size_t len = (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3 : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!len || len > n || (len == 2 && p[0] < 0xc2))
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((p[k] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Shared walk: printable ASCII goes to put(), UTF-8 is copied, the rest
 * becomes \xNN (or a space for newlines and tabs when nl_space). */
static void esc_walk(FILE *f, const char *s, int nl_space, void (*put)(FILE *, int))
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = s ? strlen(s) : 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80) {
            size_t l = esc_utf8_len(p + i, n - i);
            if (l) {
                fwrite(p + i, 1, l, f);
                i += l - 1;
                continue;
            }
            fprintf(f, "\\x%02x", p[i]);
        } else if ((p[i] == '\n' || p[i] == '\t' || p[i] == '\r') && nl_space) {
            fputc(' ', f);
        } else if (p[i] < 0x20 || p[i] == 0x7f) {
            fprintf(f, "\\x%02x", p[i]);
        } else {
            put(f, p[i]);
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
