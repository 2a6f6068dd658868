/* report_sha256.c - the SHA-256 of a capture file (nettle), so a reader of
 * the report can check they hold the very files it was made from. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <nettle/sha2.h>
#include "natlens/report.h"

int report_sha256_file(const char *path, char hex[65], char *errbuf)
{
    struct sha256_ctx sc;
    uint8_t dig[SHA256_DIGEST_SIZE];
    uint8_t buf[65536];
    size_t n;
    FILE *f;

    hex[0] = '\0';
    f = fopen(path, "rb");
    if (!f) {
        snprintf(errbuf, 256, "%s: %s", path, strerror(errno));
        return -1;
    }
    sha256_init(&sc);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        sha256_update(&sc, n, buf);
    if (ferror(f)) {
        snprintf(errbuf, 256, "%s: read error", path);
        fclose(f);
        return -1;
    }
    fclose(f);
    sha256_digest(&sc, sizeof dig, dig);
    for (size_t i = 0; i < sizeof dig; i++)
        snprintf(hex + 2 * i, 3, "%02x", dig[i]);
    return 0;
}
