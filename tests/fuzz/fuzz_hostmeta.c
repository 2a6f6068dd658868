/* fuzz_hostmeta.c - libFuzzer target for the host-metadata JSON readers.
 *
 * hostmeta.c reads JSON written by natlens-capture, but a capture file is
 * untrusted input: the document is fuzzed directly. Input: JSON text. The
 * validator runs on it as is; when it accepts, route lookups for IPv4 and
 * IPv6 destinations, interface names and string members are asked for.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "natlens/hostmeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *dsts[] = {"198.51.100.8", "10.0.0.1", "0.0.0.0", "2001:db8::1", "::1", "bogus"};
    char *s = malloc(size + 1), dev[32], gw[64], name[16], out[40];
    size_t i;

    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    /* the validator gets the exact length; the readers need a NUL-terminated
     * document, which only a valid one (no NUL inside) is */
    if (hostmeta_json_valid(s, size) && memchr(s, '\0', size) == NULL) {
        for (i = 0; i < sizeof dsts / sizeof dsts[0]; i++) {
            hostmeta_route_lookup(s, dsts[i], dev, sizeof dev, gw, sizeof gw);
            hostmeta_route_dev(s, dsts[i], dev, 4);
        }
        for (i = 0; i < 4; i++)
            hostmeta_ifname(s, (int)i - 1, name, sizeof name);
        hostmeta_get_str(s, "hostname", out, sizeof out);
        hostmeta_get_str(s, "role", out, 4);
        hostmeta_get_str(s, "", out, sizeof out);
    }
    free(s);
    return 0;
}
