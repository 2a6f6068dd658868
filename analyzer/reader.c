/* reader.c - the table of record readers (see reader.h).
 *
 * A new reader is one file, reader_<name>.c, defining a const nl_reader,
 * and one line in reader_table below. Order matters only for equal sniff
 * scores: the first one wins.
 */
#include <string.h>
#include "natlens/reader.h"
#include "natlens/reader_ndjson.h"

extern const nl_reader reader_conntrack, reader_gcp_nat, reader_gcp_flow,
    reader_aws_flow, reader_azure_flow, reader_zeek_conn;

static const nl_reader *const reader_table[] = {
    &reader_ndjson,
    &reader_conntrack,
    &reader_gcp_nat,
    &reader_gcp_flow,
    &reader_aws_flow,
    &reader_azure_flow,
    &reader_zeek_conn,
    NULL /* keeps the table non-empty; readers go above this line */
};

const nl_reader *reader_sniff(const char *head, size_t n)
{
    const nl_reader *best = NULL;
    int best_score = 0;
    for (const nl_reader *const *r = reader_table; *r; r++) {
        int s = (*r)->sniff(head, n);
        if (s > best_score) {
            best_score = s;
            best = *r;
        }
    }
    return best;
}

const nl_reader *reader_find(const char *name)
{
    for (const nl_reader *const *r = reader_table; *r; r++)
        if (!strcmp((*r)->name, name))
            return *r;
    return NULL;
}

const nl_reader *const *reader_all(size_t *n)
{
    *n = sizeof reader_table / sizeof reader_table[0] - 1;
    return reader_table;
}
