/* text_safe.h - text from a file (names, host context, packet strings)
 * made safe to show: nothing that could act on a terminal or reorder the
 * text around it survives.
 *
 * Unsafe code points: C0 controls and DEL (ESC starts terminal sequences,
 * BEL, backspace...), C1 controls U+0080-U+009F (U+009B is CSI on
 * terminals that take 8-bit controls), the bidirectional formatting
 * characters U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069 (an RLO
 * turns "exe.txt" into what looks like "txt.exe"), and the line and
 * paragraph separators U+2028, U+2029. Bytes that are not valid UTF-8 are
 * unsafe too. text_safe() writes them visibly: "\xNN" for a byte, "\uNNNN"
 * for a code point; everything else is copied.
 *
 * One predicate, used by every presenter (text, reports, the viewer), so
 * they all agree on what is shown raw.
 */
#ifndef NATLENS_TEXT_SAFE_H
#define NATLENS_TEXT_SAFE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* 1 when code point cp must not reach a terminal or a report raw. */
int text_cp_unsafe(uint32_t cp);

/* Length of the valid UTF-8 sequence at p (n bytes left) and its code
 * point in *cp; 0 when the bytes are not valid UTF-8 (overlong forms,
 * surrogates and values past U+10FFFF are invalid). */
size_t text_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp);

/* Copy `in` into out (outlen >= 1, always NUL-terminated, cut on a whole
 * escape) with unsafe bytes and code points escaped. Returns out. */
char *text_safe(char *out, size_t outlen, const char *in);

/* The same into a new malloc'd string (NULL when out of memory). */
char *text_safe_dup(const char *in);

/* 1 when text_safe() would change nothing. */
int text_is_safe(const char *in);

/* fprintf() whose result is shown safely: every line of the formatted
 * text goes through text_safe(), the format's own newlines stay. For
 * messages that name files or quote them. */
void text_safe_fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_safe_vfprintf(FILE *f, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
