/* edf_annot.h — reading an EDF+/BDF+ file's annotations (onset, duration, UTF-8 text). */
#ifndef ECGNET_FORMATS_EDF_ANNOT_H
#define ECGNET_FORMATS_EDF_ANNOT_H

#include <stddef.h>

typedef struct {
    double onset;    /* seconds from the start of the file (EDFlib's 100 ns resolution) */
    double duration; /* seconds, or -1 when the annotation gives none */
    char *text;      /* UTF-8, NUL-terminated, owned by the list */
} fmt_edf_annot;

typedef struct {
    fmt_edf_annot *items; /* by onset; equal onsets in file order */
    size_t count;
} fmt_edf_annot_list;

/* Reads every annotation of the EDF+/BDF+ file PATH into *out (free with
 * fmt_edf_annot_list_free). Plain EDF and BDF have no annotations: 0 with an empty list.
 * Reads the annotation signal of every data record, so it costs a pass over the file.
 * Returns 0, or -1 with a message naming the file in err (and *out empty). */
int fmt_edf_read_annotations(const char *path, fmt_edf_annot_list *out, char *err, size_t errlen);

/* Frees the list's memory and empties it; NULL and an empty list are allowed. */
void fmt_edf_annot_list_free(fmt_edf_annot_list *list);

#endif
