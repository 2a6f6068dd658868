/* plural.h - counted nouns in English text: "1 flow", "3 flows".
 * One helper so no output says "1 flows" or "3 connection". */
#ifndef NATLENS_PLURAL_H
#define NATLENS_PLURAL_H

#include <stddef.h>
#include <stdint.h>

/* one when n == 1, else many (both static strings the caller gives). */
const char *plural_word(uint64_t n, const char *one, const char *many);

/* "<n> <one|many>" into buf. Returns buf. */
char *plural_count(uint64_t n, const char *one, const char *many, char *buf, size_t len);

#endif
