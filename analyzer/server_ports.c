/* server_ports.c - Zeek's likely_server_ports as a bit set (server_ports.h).
 * The default comes from conn_zeek.c's lists, so both agree by
 * construction; filling it is 2 x 65536 tests, done once per trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/server_ports.h"
#include "conn_zeek.h"

#define SP_TCP 6
#define SP_UDP 17

void server_ports_add(nl_server_ports *sp, uint8_t proto, uint16_t port)
{
    uint8_t *set = proto == SP_TCP ? sp->tcp : proto == SP_UDP ? sp->udp : NULL;
    if (set)
        set[port >> 3] |= (uint8_t)(1u << (port & 7));
}

int server_ports_has(const nl_server_ports *sp, uint8_t proto, uint16_t port)
{
    const uint8_t *set;
    if (!sp)
        return conn_zeek_likely_server_port(proto, port);
    set = proto == SP_TCP ? sp->tcp : proto == SP_UDP ? sp->udp : NULL;
    return set ? (set[port >> 3] >> (port & 7)) & 1 : 0;
}

void server_ports_default(nl_server_ports *sp)
{
    memset(sp, 0, sizeof *sp);
    for (uint32_t p = 0; p <= 65535; p++) {
        if (conn_zeek_likely_server_port(SP_TCP, (uint16_t)p))
            server_ports_add(sp, SP_TCP, (uint16_t)p);
        if (conn_zeek_likely_server_port(SP_UDP, (uint16_t)p))
            server_ports_add(sp, SP_UDP, (uint16_t)p);
    }
}

int server_ports_parse(nl_server_ports *sp, const char *spec, char *err, size_t errlen)
{
    const char *p = spec;
    if (!strcmp(spec, "default")) {
        server_ports_default(sp);
        return 0;
    }
    memset(sp, 0, sizeof *sp);
    if (!strcmp(spec, "none"))
        return 0;
    if (*p == '+') {
        server_ports_default(sp);
        p++;
    }
    while (*p) {
        char *end;
        unsigned long port = strtoul(p, &end, 10);
        uint8_t proto;
        if (end == p || port > 65535 || *end != '/') {
            snprintf(err, errlen, "likely server ports: '%s' is not PORT/tcp or PORT/udp", p);
            return -1;
        }
        if (!strncmp(end + 1, "tcp", 3))
            proto = SP_TCP;
        else if (!strncmp(end + 1, "udp", 3))
            proto = SP_UDP;
        else {
            snprintf(err, errlen, "likely server ports: '%s' is not PORT/tcp or PORT/udp", p);
            return -1;
        }
        server_ports_add(sp, proto, (uint16_t)port);
        p = end + 4;
        if (*p == ',')
            p++;
        else if (*p) {
            snprintf(err, errlen, "likely server ports: expected ',' at '%s'", p);
            return -1;
        }
    }
    return 0;
}
