/* beatclass_rules.c — the rules after the beat model: physiological vetoes of a 'V' label judged
 * against the recording's own dominant beat (see bc_rule_opts in beatclass.h). */
#include "beatclass_model.h"

#include <math.h>
#include <string.h>

void bc_rule_opts_default(bc_rule_opts *o)
{
    /* Chosen by 4-fold cross-validation on DS1 (`ecgnet train --cv --folds 4 --rule-...`: the
     * best mean of V and S Se and +P of the held-out records; docs/accuracy.md). */
    o->match_k = 8.0;
    o->match_floor = 0.8;
    o->width_s = 0.05;
    o->match_prem = 0.85;
    o->ontime_prem = 0.95;
    o->match_af = 1;
    o->ontime_beat = 0.7;
}

/* Is the beat the recording's dominant shape: aligned, it correlates with the template on every
 * lead within the template's own spread, is no wider than allowed and of its amplitude? */
static int matches_dominant(const bc_rule_opts *o, const float *f)
{
    if (!(o->match_k > 0)) return 0;
    double need = 1.0 - o->match_k * f[BC_F_DOM_SPREAD];
    if (need < o->match_floor) need = o->match_floor;
    for (int l = 0; l < 2; l++) {
        if (!(f[BC_F_DOM_ACORR + l] >= need)) return 0;
        double amp = f[BC_F_AMP_RATIO + 6 * l];
        if (!(amp >= 0.7 && amp <= 1.4)) return 0;
    }
    /* A shape that comes early is ectopic even when it is the commonest (bigeminy, trigeminy);
     * in AF, where every beat comes early or late, the shape alone tells. */
    int timed = f[BC_F_CLU_PREM] >= o->match_prem && f[BC_F_RR_PRE_LOCAL] >= o->match_prem;
    if (!timed && !(o->match_af && f[BC_F_RHYTHM_AF] > 0.5f)) return 0;
    return f[BC_F_WIDTH_DIFF] <= o->width_s;
}

/* Do the beat and its shape come on time, without a compensatory pause, under 100/min? */
static int on_time(const bc_rule_opts *o, const float *f)
{
    if (!(o->ontime_prem > 0)) return 0;
    return f[BC_F_CLU_PREM] >= o->ontime_prem && f[BC_F_RR_PRE_LOCAL] >= o->ontime_beat &&
           f[BC_F_RR_POST_LOCAL] < 1.0 + (1.0 - o->ontime_beat) && f[BC_F_RR_LOCAL] >= 0.6;
}

char bc_rules_apply(const bc_rule_opts *o, char label, const float *f)
{
    if (label != 'V') return label;
    if (matches_dominant(o, f) || on_time(o, f)) return 'N';
    return label;
}
