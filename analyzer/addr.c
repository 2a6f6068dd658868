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

char *nl_addr_str(const nl_addr *a, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    buf[0] = '\0';
    if (nl_addr_is_v4(a))
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
