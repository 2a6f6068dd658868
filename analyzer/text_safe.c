/* text_safe.c - showing untrusted text safely (see text_safe.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/text_safe.h"

int text_cp_unsafe(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c ||
           cp == 0x200e || cp == 0x200f || (cp >= 0x202a && cp <= 0x202e) ||
           (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
}

size_t text_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    uint32_t c, min;
    size_t len;
    if (n == 0)
        return 0;
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2; c = p[0] & 0x1f; min = 0x80;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3; c = p[0] & 0x0f; min = 0x800;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4; c = p[0] & 0x07; min = 0x10000;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (size_t k = 1; k < len; k++) {
        if ((p[k] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (p[k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

/* Walk `in`: each piece is copied (safe) or escaped; at most one call of
 * emit per piece. */
static size_t ts_walk(const char *in, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = in ? strlen(in) : 0, o = 0;
    for (size_t i = 0; i < n;) {
        char esc[12];
        const char *piece;
        size_t plen;
        uint32_t cp;
        size_t l = text_utf8_decode(p + i, n - i, &cp);
        if (l == 0) {
            snprintf(esc, sizeof esc, "\\x%02x", p[i]);
            piece = esc;
            plen = 4;
            l = 1;
        } else if (text_cp_unsafe(cp)) {
            if (cp < 0x80)
                snprintf(esc, sizeof esc, "\\x%02x", (unsigned)cp);
            else
                snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
            piece = esc;
            plen = strlen(esc);
        } else {
            piece = (const char *)p + i;
            plen = l;
        }
        if (out) {
            if (o + plen + 1 > outlen)
                break;
            memcpy(out + o, piece, plen);
        }
        o += plen;
        i += l;
    }
    if (out && outlen)
        out[o < outlen ? o : outlen - 1] = '\0';
    return o;
}

char *text_safe(char *out, size_t outlen, const char *in)
{
    if (!outlen)
        return out;
    ts_walk(in, out, outlen);
    return out;
}

char *text_safe_dup(const char *in)
{
    size_t n = ts_walk(in, NULL, 0);
    char *s = malloc(n + 1);
    if (s)
        ts_walk(in, s, n + 1);
    return s;
}

int text_is_safe(const char *in)
{
    const unsigned char *p = (const unsigned char *)in;
    size_t n = in ? strlen(in) : 0;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l = text_utf8_decode(p + i, n - i, &cp);
        if (l == 0 || text_cp_unsafe(cp))
            return 0;
        i += l;
    }
    return 1;
}

void text_safe_vfprintf(FILE *f, const char *fmt, va_list ap)
{
    char *msg = NULL, *line, *next;
    if (vasprintf(&msg, fmt, ap) < 0)
        return;
    /* line by line: the format's own line breaks stay, every other
     * control byte (from a file name or a file's content) is escaped */
    for (line = msg; line; line = next) {
        char *safe;
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        if (!*line && !next)
            break;
        safe = text_safe_dup(line);
        fputs(safe ? safe : "?", f);
        if (next)
            fputc('\n', f);
        free(safe);
    }
    free(msg);
}

void text_safe_fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    text_safe_vfprintf(f, fmt, ap);
    va_end(ap);
}
