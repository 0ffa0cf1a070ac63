/* rhythm_ref.c — reference rhythm episodes from '+' rhythm annotations and '[' ']' brackets. */
#include "rhythm_ref.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CODE_RHYTHM 28
#define CODE_VFON 32
#define CODE_VFOFF 33

int rh_label_is_af(const char *label)
{
    return !strcmp(label, "AFIB") || !strcmp(label, "AFL");
}

static void label_of(const char *aux, char *out, size_t len)
{
    if (*aux == '(') aux++;
    size_t i = 0;
    while (aux[i] && aux[i] != ' ' && aux[i] != '\t' && i + 1 < len) {
        out[i] = aux[i];
        i++;
    }
    out[i] = 0;
}

/* Appends [start, end) with label (merging with an equal neighbour); -1 when out of memory. */
static int push(rh_episode **v, size_t *n, size_t *cap, const char *label, int64_t start, int64_t end)
{
    if (end <= start || !*label) return 0;
    if (*n && (*v)[*n - 1].end == start && !strcmp((*v)[*n - 1].label, label)) {
        (*v)[*n - 1].end = end;
        return 0;
    }
    if (*n == *cap) {
        size_t c = *cap ? 2 * *cap : 16;
        rh_episode *nv = realloc(*v, c * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = c;
    }
    rh_episode *e = &(*v)[(*n)++];
    memset(e, 0, sizeof *e);
    snprintf(e->label, sizeof e->label, "%s", label);
    e->start = start;
    e->end = end;
    return 0;
}

int rh_reference_episodes(const fmt_annot_list *ann, int64_t nsamples, const char *name,
                          rh_episode **out, size_t *n, char *err, size_t errlen)
{
    rh_episode *v = NULL;
    size_t count = 0, cap = 0;
    char rhythm[8] = "", current[8] = "";
    int bracket = 0; /* inside '[' ... ']' */
    int64_t since = 0;
    for (size_t i = 0; i < ann->count; i++) {
        const fmt_annot *a = &ann->items[i];
        int64_t s = a->sample < 0 ? 0 : (a->sample > nsamples ? nsamples : a->sample);
        char next[8];
        if (a->code == CODE_RHYTHM && a->aux[0] == '(') {
            char label[8];
            label_of(a->aux, label, sizeof label);
            /* MIT-BIH writes "(VFL" just after each '[': the flutter is the bracket's, and the
             * rhythm that resumes at ']' is the last one that was not flutter. */
            if (strcmp(label, "VFL")) snprintf(rhythm, sizeof rhythm, "%s", label);
            if (bracket) continue;
            snprintf(next, sizeof next, "%s", label);
        } else if (a->code == CODE_VFON) {
            bracket = 1;
            snprintf(next, sizeof next, "VFL");
        } else if (a->code == CODE_VFOFF) {
            bracket = 0;
            snprintf(next, sizeof next, "%s", rhythm);
        } else {
            continue;
        }
        if (push(&v, &count, &cap, current, since, s)) goto fail;
        snprintf(current, sizeof current, "%s", next);
        since = s;
    }
    if (push(&v, &count, &cap, current, since, nsamples)) goto fail;
    *out = v;
    *n = count;
    return 0;
fail:
    free(v);
    snprintf(err, errlen, "%s: out of memory building the reference rhythm episodes", name);
    return -1;
}
