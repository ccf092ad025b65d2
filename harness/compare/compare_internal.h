/*
 * compare_internal.h — inside harness/compare only: one side of a comparison (a results
 * folder or a runs.csv) seen as configuration keys, per-metric values and machine facts, so
 * that compare.c never touches the records. input.c implements it on the results module.
 */
#ifndef JB_COMPARE_INTERNAL_H
#define JB_COMPARE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "jb_error.h"
#include "jb_validity.h"

/* One side, opaque: opened with jb_compare_side_open, freed with jb_compare_side_free. */
struct jb_compare_side;

/* Opens arg, a results folder (its runs.csv and meta.json) or a runs.csv file (meta.json
 * beside it), and finds the columns of the n_metrics metrics named in metrics (read here only;
 * values are then asked for by index into them). Sets *out to the side (caller frees) and
 * returns 0, or returns a negative JB_E* code with err naming the file and column (a key
 * column missing, none of the metrics a column, and what the results reader refuses: a cell
 * that is not a finite number where the column holds numbers, a negative energy, time or
 * count, two different rows of one run_id, a NUL byte) and sets *out to NULL. Identical copies
 * of a row count once (the reader warns). A missing or
 * unreadable meta.json is no error: the machine is then unknown. */
int jb_compare_side_open(struct jb_compare_side **out /* OUT */, const char *arg,
    const char *const *metrics, size_t n_metrics, struct jb_err *err);
/* True when any row of the side is projected (energy_method "projected"), not measured. */
bool jb_compare_side_projected(const struct jb_compare_side *s);
/* Counts the rows judged invalid (OUT: t) and, unless allow_invalid, empties their energy
 * columns, so that only valid rows give energy metrics (docs/validity.md). */
void jb_compare_side_validity(
    struct jb_compare_side *s, bool allow_invalid, struct jb_validity_tally *t /* OUT */);
/* Frees a side; accepts NULL. */
void jb_compare_side_free(struct jb_compare_side *s);

/* How many distinct configuration keys the side has. */
size_t jb_compare_side_n_keys(const struct jb_compare_side *s);
/* The i-th configuration key (i < n_keys) in order of first appearance: "model dtype workload
 * scenario batch threads", cut to JB_COMPARE_KEY_LEN - 1 bytes. Owned by the side. */
const char *jb_compare_side_key(const struct jb_compare_side *s, size_t i);

/* The finite values of metric m (an index into the metrics given at open) over the rows of
 * configuration key, empty cells skipped; *n says how many, and *reps (when reps is not NULL)
 * is their repetition numbers (`rep`). The arrays belong to the side and are overwritten by
 * the next call of this or jb_compare_side_reps on the same side. */
const double *jb_compare_side_values(struct jb_compare_side *s, const char *key, size_t m,
    size_t *n /* OUT */, const int64_t **reps /* OUT, may be NULL */);
/* The repetition numbers of every row of configuration key (*n of them; none when runs.csv
 * has no rep column). Owned by the side, overwritten as jb_compare_side_values's. */
const int64_t *jb_compare_side_reps(
    struct jb_compare_side *s, const char *key, size_t *n /* OUT */);
/* The earliest and latest start (timestamp_utc, seconds since the epoch) over the side's rows;
 * false when a row's start is missing or unreadable (the span is then unknown). */
bool jb_compare_side_span(
    const struct jb_compare_side *s, double *first /* OUT */, double *last /* OUT */);
/* The energy_method of the last row of configuration key ("" if the cell is empty), or NULL
 * when the side has no energy_method column or no such row. Owned by the side. */
const char *jb_compare_side_method(const struct jb_compare_side *s, const char *key);
/* The machine's host and CPU model from meta.json, "" where unknown. Owned by the side. */
void jb_compare_side_machine(
    const struct jb_compare_side *s, const char **host /* OUT */, const char **cpu /* OUT */);

#endif
