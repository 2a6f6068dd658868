/* server_ports.h - Zeek's likely_server_ports as a set.
 *
 * When a connection's first packet is not a SYN, Zeek names as responder
 * the side on a "likely server port" (port 80, 53/udp, the UDP tunnel
 * ports...); its default set is what the protocol scripts register, and
 * registering a tunnel port adds it (Zeek's register_for_ports). A trace
 * starts from Zeek's default and adds its tunnel ports (tunnel.h); a user
 * may replace it, as Zeek's `redef likely_server_ports`. 16 KiB, plain
 * data, owned by whoever declares it.
 */
#ifndef NATLENS_SERVER_PORTS_H
#define NATLENS_SERVER_PORTS_H

#include <stddef.h>
#include <stdint.h>

typedef struct nl_server_ports {
    uint8_t tcp[8192], udp[8192];   /* bit `port` set: a likely server port */
} nl_server_ports;

/* Zeek's default set (the base protocol scripts' ports and the UDP tunnels). */
void server_ports_default(nl_server_ports *sp);
void server_ports_add(nl_server_ports *sp, uint8_t proto, uint16_t port);
/* 1 when `port` of proto (6 TCP, 17 UDP) is in the set, 0 otherwise (and
 * for every other protocol). sp NULL: Zeek's default set. */
int server_ports_has(const nl_server_ports *sp, uint8_t proto, uint16_t port);
/* Replace the set with `spec`: "default", "none", or a comma-separated
 * list of PORT/tcp and PORT/udp; a leading '+' adds the list to Zeek's
 * default set instead. Returns 0, or -1 with a message in err. */
int server_ports_parse(nl_server_ports *sp, const char *spec, char *err, size_t errlen);

#endif
