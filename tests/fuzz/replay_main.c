/* replay_main.c - run a fuzz target's entry point on files, without
 * libFuzzer: for replaying tests/damaged/ regressions and seeds under plain
 * ASan/UBSan (any compiler). usage: <target> FILE...
 * Exit 0 when every file ran (a sanitizer report aborts the process).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv)
{
    int i, rc = 0;
    for (i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf = NULL;
        size_t len = 0, cap = 0, n;
        if (!f) {
            perror(argv[i]);
            rc = 2;
            continue;
        }
        for (;;) {
            if (len == cap) {
                uint8_t *nb = realloc(buf, cap ? cap * 2 : 65536);
                if (!nb) {
                    fclose(f);
                    free(buf);
                    return 2;
                }
                buf = nb;
                cap = cap ? cap * 2 : 65536;
            }
            n = fread(buf + len, 1, cap - len, f);
            if (n == 0)
                break;
            len += n;
        }
        fclose(f);
        {
            /* exact-size copy, so reads past the end are caught */
            uint8_t *exact = malloc(len ? len : 1);
            if (!exact) {
                free(buf);
                return 2;
            }
            for (n = 0; n < len; n++)
                exact[n] = buf[n];
            LLVMFuzzerTestOneInput(exact, len);
            free(exact);
        }
        free(buf);
    }
    return rc;
}
