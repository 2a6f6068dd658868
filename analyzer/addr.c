/* addr.c - nl_addr: IPv4 kept as IPv4-mapped IPv6 so one type fits both. */
#include <arpa/inet.h>
#include <string.h>
#include "natlens/decode.h"

static const uint8_t v4_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int nl_addr_is_v4(const nl_addr *a)
{
    return memcmp(a->b, v4_prefix, 12) == 0;
}

void nl_addr_from_v4(nl_addr *a, const uint8_t v4[4])
{
    memcpy(a->b, v4_prefix, 12);
    memcpy(a->b + 12, v4, 4);
}

/* a.b.c.d by hand: every printed flow formats two addresses, and
 * inet_ntop spends ~1.8k instructions on one (it goes through sprintf).
 * buf holds >= 16 bytes. */
static void addr_v4_str(const uint8_t *v, char *buf)
{
    char *p = buf;
    for (int i = 0; i < 4; i++) {
        unsigned x = v[i];
        if (x >= 100) {
            *p++ = (char)('0' + x / 100);
            x %= 100;
            *p++ = (char)('0' + x / 10);
        } else if (x >= 10) {
            *p++ = (char)('0' + x / 10);
        }
        *p++ = (char)('0' + x % 10);
        if (i < 3)
            *p++ = '.';
    }
    *p = '\0';
}

char *nl_addr_str(const nl_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (nl_addr_is_v4(a) && len >= 16)
        addr_v4_str(a->b + 12, buf);
    else if (nl_addr_is_v4(a))
        inet_ntop(AF_INET, a->b + 12, buf, (socklen_t)len);
    else
        inet_ntop(AF_INET6, a->b, buf, (socklen_t)len);
    return buf;
}

int nl_addr_parse(nl_addr *a, const char *s)
{
    uint8_t v4[4];
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, v4) == 1) {
        nl_addr_from_v4(a, v4);
        return 0;
    }
    return inet_pton(AF_INET6, s, a->b) == 1 ? 0 : -1;
}

int nl_addr_cmp(const nl_addr *a, const nl_addr *b)
{
    return memcmp(a->b, b->b, 16);
}
