/* plural.c - counted nouns in English text (see plural.h). */
#include <stdio.h>
#include "natlens/plural.h"

const char *plural_word(uint64_t n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

char *plural_count(uint64_t n, const char *one, const char *many, char *buf, size_t len)
{
    snprintf(buf, len, "%llu %s", (unsigned long long)n, plural_word(n, one, many));
    return buf;
}
