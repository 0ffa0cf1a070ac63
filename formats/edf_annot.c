/* edf_annot.c — an EDF+/BDF+ file's annotations through EDFlib, copied into a caller-owned list. */
#include "edf_annot.h"

#include "edf_lib.h"
#include "record_impl.h"

#include <stdlib.h>
#include <string.h>

void fmt_edf_annot_list_free(fmt_edf_annot_list *list)
{
    if (!list) return;
    for (size_t i = 0; i < list->count; i++) free(list->items[i].text);
    free(list->items);
    list->items = NULL;
    list->count = 0;
}

typedef struct {
    fmt_edf_annot a;
    size_t seq; /* file order, to keep the sort stable */
} seq_annot;

static int by_onset(const void *pa, const void *pb)
{
    const seq_annot *x = pa, *y = pb;
    if (x->a.onset != y->a.onset) return x->a.onset < y->a.onset ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* EDFlib returns annotations in file order, which is the order the writer added them; callers
 * want time order, ties in file order. */
static int sort_by_onset(fmt_edf_annot_list *l)
{
    seq_annot *t = malloc(l->count * sizeof *t);
    if (!t) return -1;
    for (size_t i = 0; i < l->count; i++) t[i] = (seq_annot){l->items[i], i};
    qsort(t, l->count, sizeof *t, by_onset);
    for (size_t i = 0; i < l->count; i++) l->items[i] = t[i].a;
    free(t);
    return 0;
}

int fmt_edf_read_annotations(const char *path, fmt_edf_annot_list *out, char *err, size_t errlen)
{
    out->items = NULL;
    out->count = 0;
    if (!path || !*path) return fmt_fail(err, errlen, "no EDF path given");
    struct edf_hdr_struct *h = malloc(sizeof *h);
    if (!h) return fmt_fail(err, errlen, "%s: out of memory", path);
    int handle = fmt_edf_open_readonly(path, h, EDFLIB_READ_ALL_ANNOTATIONS, err, errlen);
    if (handle < 0) goto fail;
    long long n = h->annotations_in_file;
    if (n > 0) {
        out->items = calloc((size_t)n, sizeof *out->items);
        if (!out->items) {
            fmt_fail(err, errlen, "%s: out of memory for %lld annotations", path, n);
            goto fail;
        }
    }
    for (long long i = 0; i < n; i++) {
        struct edf_annotation_struct a;
        if (edf_get_annotation(handle, (int)i, &a)) {
            fmt_fail(err, errlen, "%s: EDFlib cannot return annotation %lld of %lld", path, i, n);
            goto fail;
        }
        fmt_edf_annot *t = &out->items[out->count];
        t->onset = (double)a.onset / EDFLIB_TIME_DIMENSION;
        /* an empty duration string is EDF+'s "no duration"; a written "0" is a real zero */
        t->duration = a.duration[0] ? (double)a.duration_l / EDFLIB_TIME_DIMENSION : -1.0;
        t->text = strdup(a.annotation);
        if (!t->text) {
            fmt_fail(err, errlen, "%s: out of memory", path);
            goto fail;
        }
        out->count++;
    }
    if (out->count > 1 && sort_by_onset(out)) {
        fmt_fail(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    fmt_edf_close(handle);
    free(h);
    return 0;
fail:
    fmt_edf_annot_list_free(out);
    if (handle >= 0) fmt_edf_close(handle);
    free(h);
    return -1;
}
