/* unit.h - the smallest test harness: CHECK counts failures, main returns
 * non-zero when any failed. Each failure names file:line and the expression. */
#ifndef NATLENS_UNIT_H
#define NATLENS_UNIT_H
#include <stdio.h>

static int unit_failures, unit_checks;

#define CHECK(cond) do { unit_checks++; if (!(cond)) { unit_failures++; \
    fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); unit_checks++; \
    if (a_ != b_) { unit_failures++; fprintf(stderr, "%s:%d: %s == %lld, expected %s == %lld\n", \
    __FILE__, __LINE__, #a, a_, #b, b_); } } while (0)
#define UNIT_END() (printf("%d checks, %d failed\n", unit_checks, unit_failures), unit_failures != 0)

#endif
