/* rhythm_ref.h — reference rhythm episodes from WFDB annotations, for scoring rh_stream. */
#ifndef ECGNET_MODELS_RHYTHM_REF_H
#define ECGNET_MODELS_RHYTHM_REF_H

#include <stddef.h>
#include <stdint.h>

#include "annot.h"
#include "rhythm.h"

/* The episodes the reference annotations describe over [0, nsamples): each rhythm annotation
 * ('+', aux "(AFIB", "(N", …) starts an episode labelled with its aux text without the '('
 * (at most 7 characters) that lasts until the next one; ventricular flutter brackets '[' … ']'
 * are an episode "VFL", after which the bracketed rhythm resumes. Time before the first rhythm
 * annotation is not covered. Returns 0 and sets *out (free()) and *n, or -1 with err naming
 * NAME (out of memory). */
int rh_reference_episodes(const fmt_annot_list *ann, int64_t nsamples, const char *name,
                          rh_episode **out, size_t *n, char *err, size_t errlen);

/* 1 when the label is atrial fibrillation or flutter ("AFIB", "AFL"). */
int rh_label_is_af(const char *label);

#endif
