/* frame_ref.c - frame numbers that say which file of a capture point they
 * are in (frame_ref.h). Pure arithmetic and one scan of the point's name:
 * bounded by the name's length. */
#include <stdio.h>
#include <string.h>
#include "natlens/frame_ref.h"

uint64_t frame_ref_make(unsigned file, uint64_t local)
{
    if (file >= NL_POINT_MAX_FILES)
        return local & NL_FRAME_LOCAL_MASK;
    return ((uint64_t)(file + 1) << NL_FRAME_FILE_SHIFT) | (local & NL_FRAME_LOCAL_MASK);
}

int frame_ref_file(uint64_t frame)
{
    uint64_t f = frame >> NL_FRAME_FILE_SHIFT;
    return f >= 1 && f <= NL_POINT_MAX_FILES ? (int)f - 1 : -1;
}

uint64_t frame_ref_local(uint64_t frame)
{
    return frame_ref_file(frame) < 0 ? frame : frame & NL_FRAME_LOCAL_MASK;
}

int frame_ref_ifx_file(int32_t ifx)
{
    return ifx >= NL_POINT_IFX_BASE && ifx < NL_POINT_IFX_BASE + NL_POINT_MAX_FILES
               ? ifx - NL_POINT_IFX_BASE : -1;
}

int frame_ref_file_name(const char *capname, int file, char *buf, size_t len)
{
    const char *s = capname ? capname : "";
    int k = 0;
    if (!len)
        return -1;
    while (file >= 0 && k < file && (s = strchr(s, '+')))
        s++, k++;
    if (file < 0 || !s || !strchr(capname, '+')) {
        snprintf(buf, len, "%s", capname ? capname : "");
        return -1;
    }
    size_t n = strcspn(s, "+");
    snprintf(buf, len, "%.*s", (int)(n < len ? n : len - 1), s);
    return 0;
}

void frame_ref_cite(const char *capname, uint64_t frame, char *buf, size_t len)
{
    char name[256];
    int f = frame_ref_file(frame);
    if (f >= 0 && frame_ref_file_name(capname, f, name, sizeof name) == 0)
        snprintf(buf, len, "%s #%llu", name, (unsigned long long)frame_ref_local(frame));
    else
        snprintf(buf, len, "#%llu", (unsigned long long)frame_ref_local(frame));
}

const char *frame_ref_where(const char *capname, uint64_t frame, char *buf, size_t len)
{
    int f = frame_ref_file(frame);
    if (f >= 0 && frame_ref_file_name(capname, f, buf, len) == 0)
        return buf;
    return capname;
}

int frame_ref_name_iface(const char *file, char *buf, size_t len)
{
    const char *dash = strrchr(file, '-'), *end;
    size_t n;
    int digit = 0;
    if (!dash || len < 2)
        return -1;
    end = strchr(dash, '.');
    n = end ? (size_t)(end - dash - 1) : strlen(dash + 1);
    if (n == 0 || n > 15 || n >= len)
        return -1;
    for (size_t i = 1; i <= n; i++) {
        char c = dash[i];
        if (c >= '0' && c <= '9')
            digit = 1;
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@'))
            return -1;
    }
    if (!digit)
        return -1;
    memcpy(buf, dash + 1, n);
    buf[n] = '\0';
    return 0;
}
