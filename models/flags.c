/* flags.c — the rule table (JSON through cJSON) and its evaluation over rhythm episodes/events.
 *
 * Rule kinds (the evaluator knows them; the table sets their thresholds per recording mode):
 *   episode         a rhythm episode whose label is in "labels", optionally with a mean rate of at
 *                   least "min_rate" (or under "max_rate") and a duration of "min_duration_s";
 *   event           a rhythm event (PAUSE, COUPLET, TRIPLET, VT_RUN, ASYSTOLE) named in "labels",
 *                   optionally at a rate of at least "min_rate" and, for runs, with a QRS
 *                   polymorphism (rh_event.polymorphism) of at least "min_polymorphism";
 *   pause           pauses of at least "min_s", optionally only "within" episodes with those
 *                   labels, or only "outside" them; with "min_count", one flag when there are at
 *                   least that many;
 *   mean_rate       the mean ventricular rate of the recording under "max_rate" (with
 *                   "min_duration_s": over any window of that length);
 *   sustained_rate  the rate, beat to beat over 8-beat averages, under "max_rate" or over
 *                   "min_rate" for at least "min_duration_s";
 *   af_short_rr     within AF/AFL episodes, the third-shortest RR interval under "max_s" (three
 *                   such intervals, not one that a detection error could make).
 * A flag whose time is mostly (half or more) covered by a flag of higher priority is dropped: the
 * cardiologist sees "sustained VT at 160/min" once, not also "VT run".
 */
#include "flags.h"

#include "datafile.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 8
#define HR_BEATS 8           /* sustained_rate: the rate over 8 beats, as monitors show it */
#define SHORT_RRS 3          /* af_short_rr: judged on the third-shortest RR */
#define TABLE_MAX_BYTES (1 << 20)

typedef enum { K_EPISODE, K_EVENT, K_PAUSE, K_MEAN_RATE, K_SUSTAINED_RATE, K_AF_SHORT_RR } rule_kind;

typedef struct {
    int on;                  /* the rule applies in this mode */
    char labels[MAX_LABELS][12];
    int nlabels;
    char within[MAX_LABELS][12];
    int nwithin;
    char outside[MAX_LABELS][12];
    int noutside;
    double min_rate, max_rate, min_duration_s, min_s, max_s, min_poly; /* NAN when not set */
    int min_count;           /* 0 when not set */
} rule_params;

typedef struct {
    char code[32];
    rule_kind kind;
    flag_priority priority;
    rule_params p[2];        /* FLAG_RESTING, FLAG_CONTINUOUS */
    char zh[FLAG_TEXT], en[FLAG_TEXT];
} rule;

struct flag_table {
    rule *rules;
    int nrules;
};

const char *flag_priority_name(flag_priority p)
{
    return p == FLAG_CRITICAL ? "critical" : p == FLAG_URGENT ? "urgent" : "routine";
}

/* ---- the table ---- */

static int labels_of(const cJSON *arr, char out[][12], int *n, const char *name, const char *code,
                     const char *field, char *err, size_t errlen)
{
    *n = 0;
    if (!arr) return 0;
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > MAX_LABELS) {
        snprintf(err, errlen, "%s: rule %s: \"%s\" must be a list of at most %d labels", name, code, field, MAX_LABELS);
        return -1;
    }
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= 12 || !*it->valuestring) {
            snprintf(err, errlen, "%s: rule %s: \"%s\" holds something that is not a label", name, code, field);
            return -1;
        }
        snprintf(out[(*n)++], 12, "%s", it->valuestring);
    }
    return 0;
}

static double number_of(const cJSON *o, const char *field)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, field);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int parse_params(const cJSON *o, rule_params *p, const char *name, const char *code, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    p->min_rate = p->max_rate = p->min_duration_s = p->min_s = p->max_s = p->min_poly = NAN;
    if (!o || cJSON_IsNull(o)) return 0; /* not applied in this mode */
    if (!cJSON_IsObject(o)) {
        snprintf(err, errlen, "%s: rule %s: a mode's thresholds must be an object", name, code);
        return -1;
    }
    static const char *known[] = {"labels", "within", "outside", "min_rate", "max_rate", "min_duration_s", "min_s", "max_s", "min_count", "min_polymorphism"};
    const cJSON *it;
    cJSON_ArrayForEach(it, o) {
        size_t k = 0;
        while (k < sizeof known / sizeof *known && strcmp(it->string, known[k])) k++;
        if (k == sizeof known / sizeof *known) {
            snprintf(err, errlen, "%s: rule %s: unknown threshold \"%s\"", name, code, it->string);
            return -1;
        }
        if (k >= 3 && !cJSON_IsNumber(it)) {
            snprintf(err, errlen, "%s: rule %s: \"%s\" must be a number", name, code, it->string);
            return -1;
        }
        /* Rates, durations and counts are never negative and never astronomically large; a bound
           keeps every later conversion to samples or counts well defined. */
        if (k >= 3 && !(it->valuedouble >= 0 && it->valuedouble <= 100000)) {
            snprintf(err, errlen, "%s: rule %s: \"%s\" must be between 0 and 100000", name, code, it->string);
            return -1;
        }
    }
    p->on = 1;
    if (labels_of(cJSON_GetObjectItemCaseSensitive(o, "labels"), p->labels, &p->nlabels, name, code, "labels", err, errlen) ||
        labels_of(cJSON_GetObjectItemCaseSensitive(o, "within"), p->within, &p->nwithin, name, code, "within", err, errlen) ||
        labels_of(cJSON_GetObjectItemCaseSensitive(o, "outside"), p->outside, &p->noutside, name, code, "outside", err, errlen))
        return -1;
    p->min_rate = number_of(o, "min_rate");
    p->max_rate = number_of(o, "max_rate");
    p->min_duration_s = number_of(o, "min_duration_s");
    p->min_s = number_of(o, "min_s");
    p->max_s = number_of(o, "max_s");
    p->min_poly = number_of(o, "min_polymorphism");
    if (!isnan(p->min_poly) && p->min_poly > 1) {
        snprintf(err, errlen, "%s: rule %s: \"min_polymorphism\" is a fraction, 0..1", name, code);
        return -1;
    }
    double c = number_of(o, "min_count");
    /* A count is a small whole number; anything else is a typo in the table, and converting it
       to int unchecked would be undefined behaviour. */
    if (!isnan(c) && c != floor(c)) {
        snprintf(err, errlen, "%s: rule %s: \"min_count\" must be a whole number", name, code);
        return -1;
    }
    p->min_count = isnan(c) ? 0 : (int)c;
    return 0;
}

static int needs(const rule_params *p, rule_kind k, const char *name, const char *code, char *err, size_t errlen)
{
    if (!p->on) return 0;
    const char *missing = NULL;
    if ((k == K_EPISODE || k == K_EVENT) && p->nlabels == 0) missing = "labels";
    if (k == K_PAUSE && isnan(p->min_s)) missing = "min_s";
    if (k == K_MEAN_RATE && isnan(p->max_rate)) missing = "max_rate";
    if (k == K_SUSTAINED_RATE && (isnan(p->min_duration_s) || (isnan(p->min_rate) == isnan(p->max_rate))))
        missing = "min_duration_s and one of min_rate/max_rate";
    if (k == K_AF_SHORT_RR && isnan(p->max_s)) missing = "max_s";
    if (!missing) return 0;
    snprintf(err, errlen, "%s: rule %s: needs %s", name, code, missing);
    return -1;
}

int flag_table_parse(const char *json, const char *name, flag_table **out, char *err, size_t errlen)
{
    *out = NULL;
    flag_table *t = NULL;
    cJSON *root = cJSON_Parse(json);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        snprintf(err, errlen, "%s: not valid JSON near \"%.20s\"", name, at ? at : "");
        return -1;
    }
    const cJSON *rules = cJSON_GetObjectItemCaseSensitive(root, "rules");
    if (!cJSON_IsArray(rules)) {
        snprintf(err, errlen, "%s: no \"rules\" list", name);
        goto fail;
    }
    t = calloc(1, sizeof *t);
    if (!t || !(t->rules = calloc((size_t)cJSON_GetArraySize(rules) + 1, sizeof *t->rules))) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto fail;
    }
    static const char *kinds[] = {"episode", "event", "pause", "mean_rate", "sustained_rate", "af_short_rr"};
    static const char *prios[] = {"critical", "urgent", "routine"};
    const cJSON *r;
    cJSON_ArrayForEach(r, rules) {
        rule *u = &t->rules[t->nrules];
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(r, "code");
        if (!cJSON_IsString(code) || !*code->valuestring || strlen(code->valuestring) >= sizeof u->code) {
            snprintf(err, errlen, "%s: rule %d has no code (1..31 characters)", name, t->nrules + 1);
            goto fail;
        }
        snprintf(u->code, sizeof u->code, "%s", code->valuestring);
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(r, "kind");
        const cJSON *prio = cJSON_GetObjectItemCaseSensitive(r, "priority");
        int k = -1, pr = -1;
        for (int i = 0; cJSON_IsString(kind) && i < 6; i++) if (!strcmp(kind->valuestring, kinds[i])) k = i;
        for (int i = 0; cJSON_IsString(prio) && i < 3; i++) if (!strcmp(prio->valuestring, prios[i])) pr = i;
        if (k < 0) {
            snprintf(err, errlen, "%s: rule %s: unknown kind (episode, event, pause, mean_rate, sustained_rate, af_short_rr)", name, u->code);
            goto fail;
        }
        if (pr < 0) {
            snprintf(err, errlen, "%s: rule %s: priority must be critical, urgent or routine", name, u->code);
            goto fail;
        }
        u->kind = (rule_kind)k;
        u->priority = (flag_priority)pr;
        const cJSON *zh = cJSON_GetObjectItemCaseSensitive(r, "zh"), *en = cJSON_GetObjectItemCaseSensitive(r, "en");
        if (!cJSON_IsString(zh) || !cJSON_IsString(en) || strlen(zh->valuestring) >= FLAG_TEXT / 2 ||
            strlen(en->valuestring) >= FLAG_TEXT / 2) {
            snprintf(err, errlen, "%s: rule %s: needs a reason in \"zh\" and \"en\" (under %d bytes each)", name, u->code, FLAG_TEXT / 2);
            goto fail;
        }
        snprintf(u->zh, sizeof u->zh, "%s", zh->valuestring);
        snprintf(u->en, sizeof u->en, "%s", en->valuestring);
        if (parse_params(cJSON_GetObjectItemCaseSensitive(r, "resting"), &u->p[FLAG_RESTING], name, u->code, err, errlen) ||
            parse_params(cJSON_GetObjectItemCaseSensitive(r, "continuous"), &u->p[FLAG_CONTINUOUS], name, u->code, err, errlen) ||
            needs(&u->p[0], u->kind, name, u->code, err, errlen) || needs(&u->p[1], u->kind, name, u->code, err, errlen))
            goto fail;
        t->nrules++;
    }
    cJSON_Delete(root);
    *out = t;
    return 0;
fail:
    flag_table_free(t);
    cJSON_Delete(root);
    return -1;
}

int flag_table_load(const char *path, flag_table **out, char *err, size_t errlen)
{
    char found[4096];
    *out = NULL;
    if (!path) {
        if (datafile_find("ECGNET_FLAG_TABLE", "critical_values.json", found, sizeof found, err, errlen)) return -1;
        path = found;
    }
    char *text = datafile_read(path, TABLE_MAX_BYTES, err, errlen);
    if (!text) return -1;
    int rc = flag_table_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

void flag_table_free(flag_table *t)
{
    if (!t) return;
    free(t->rules);
    free(t);
}

/* ---- evaluation ---- */

typedef struct {
    flag *v;
    size_t n, cap;
    int oom;
} flag_list;

static int has_label(const char labels[][12], int n, const char *label)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(labels[i], label)) return 1;
    return 0;
}

/* Copies template into out, replacing {value}, {duration} and {count}. */
static void fill(char *out, const char *tpl, double value, double duration, int count)
{
    size_t o = 0;
    for (const char *s = tpl; *s && o + 1 < FLAG_TEXT;) {
        char num[32];
        const char *rep = NULL;
        size_t skip = 0;
        if (!strncmp(s, "{value}", 7)) {
            snprintf(num, sizeof num, fabs(value) < 10 && value != floor(value) ? "%.2f" : "%.0f", value);
            rep = num, skip = 7;
        } else if (!strncmp(s, "{duration}", 10)) {
            snprintf(num, sizeof num, "%.0f", duration);
            rep = num, skip = 10;
        } else if (!strncmp(s, "{count}", 7)) {
            snprintf(num, sizeof num, "%d", count);
            rep = num, skip = 7;
        }
        if (rep) {
            for (; *rep && o + 1 < FLAG_TEXT; rep++) out[o++] = *rep;
            s += skip;
        } else {
            out[o++] = *s++;
        }
    }
    out[o] = '\0';
}

static void add(flag_list *l, const rule *r, const flag_input *in, int64_t start, int64_t end,
                double value, int count)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        flag *v = realloc(l->v, cap * sizeof *v);
        if (!v) {
            l->oom = 1;
            return;
        }
        l->v = v;
        l->cap = cap;
    }
    flag *f = &l->v[l->n++];
    memset(f, 0, sizeof *f);
    snprintf(f->code, sizeof f->code, "%s", r->code);
    f->priority = r->priority;
    f->start = start;
    f->end = end;
    f->value = value;
    f->leads = in->nleads >= 64 ? ~0ULL : (1ULL << in->nleads) - 1;
    f->first_beat = f->last_beat = -1;
    for (size_t i = 0; i < in->nbeats; i++) {
        if (in->beats[i] < start) continue;
        if (in->beats[i] >= end) break;
        if (f->first_beat < 0) f->first_beat = in->beats[i];
        f->last_beat = in->beats[i];
    }
    double duration = (double)(end - start) / in->fs;
    fill(f->reason_zh, r->zh, value, duration, count);
    fill(f->reason_en, r->en, value, duration, count);
}

static int inside(const flag_input *in, const char labels[][12], int n, int64_t start, int64_t end)
{
    for (size_t i = 0; i < in->nepisodes; i++)
        if (has_label(labels, n, in->episodes[i].label) && in->episodes[i].start <= start && end <= in->episodes[i].end)
            return 1;
    return 0;
}

static const char *event_name(rh_event_type t)
{
    switch (t) {
    case RH_PAUSE: return "PAUSE";
    case RH_COUPLET: return "COUPLET";
    case RH_TRIPLET: return "TRIPLET";
    case RH_VT_RUN: return "VT_RUN";
    case RH_ASYSTOLE: return "ASYSTOLE";
    }
    return "?";
}

/* The rate over HR_BEATS beats ending at beat i, bpm. */
static double rate_at(const flag_input *in, size_t i)
{
    size_t w = i < HR_BEATS ? i : HR_BEATS;
    if (w == 0) return NAN;
    return 60.0 * (double)w * in->fs / (double)(in->beats[i] - in->beats[i - w]);
}

static void evaluate(const rule *r, const rule_params *p, const flag_input *in, flag_list *l)
{
    double fs = in->fs;
    switch (r->kind) {
    case K_EPISODE:
        for (size_t i = 0; i < in->nepisodes; i++) {
            const rh_episode *e = &in->episodes[i];
            double dur = (double)(e->end - e->start) / fs;
            if (!has_label(p->labels, p->nlabels, e->label)) continue;
            if (!isnan(p->min_rate) && !(e->rate_bpm >= p->min_rate)) continue;
            if (!isnan(p->max_rate) && !(e->rate_bpm < p->max_rate)) continue;
            if (!isnan(p->min_duration_s) && dur < p->min_duration_s) continue;
            add(l, r, in, e->start, e->end, e->rate_bpm, 0);
        }
        break;
    case K_EVENT:
        for (size_t i = 0; i < in->nevents; i++) {
            const rh_event *e = &in->events[i];
            if (!has_label(p->labels, p->nlabels, event_name(e->type))) continue;
            if (!isnan(p->min_rate) && !(e->rate_bpm >= p->min_rate)) continue;
            if (!isnan(p->min_poly) && !(e->polymorphism >= p->min_poly)) continue;
            add(l, r, in, e->start, e->end, e->type == RH_PAUSE ? e->longest_rr_s : e->rate_bpm, e->nbeats);
        }
        break;
    case K_PAUSE: {
        int count = 0;
        int64_t first = -1, last = -1;
        double longest = 0.0;
        for (size_t i = 0; i < in->nevents; i++) {
            const rh_event *e = &in->events[i];
            if (e->type != RH_PAUSE || !(e->longest_rr_s >= p->min_s)) continue;
            if (p->nwithin && !inside(in, p->within, p->nwithin, e->start, e->end)) continue;
            if (p->noutside && inside(in, p->outside, p->noutside, e->start, e->end)) continue;
            if (p->min_count) {
                if (first < 0) first = e->start;
                last = e->end;
                count++;
                longest = fmax(longest, e->longest_rr_s);
            } else {
                add(l, r, in, e->start, e->end, e->longest_rr_s, 1);
            }
        }
        if (p->min_count && count >= p->min_count) add(l, r, in, first, last, count, count);
        break;
    }
    case K_MEAN_RATE: {
        if (in->nbeats < 2) break;
        if (isnan(p->min_duration_s)) {
            double rate = 60.0 * (double)(in->nbeats - 1) * fs / (double)(in->beats[in->nbeats - 1] - in->beats[0]);
            if (rate < p->max_rate) add(l, r, in, in->beats[0], in->beats[in->nbeats - 1] + 1, rate, (int)in->nbeats);
            break;
        }
        /* Continuous recordings: any window of min_duration_s whose mean rate is under the bar. */
        int64_t win = (int64_t)(p->min_duration_s * fs);
        size_t j = 0;
        int64_t flagged_until = -1;
        for (size_t i = 1; i < in->nbeats; i++) {
            while (in->beats[i] - in->beats[j] > win) j++;
            if (i == j || in->beats[i] - in->beats[j] < win * 9 / 10) continue;
            double rate = 60.0 * (double)(i - j) * fs / (double)(in->beats[i] - in->beats[j]);
            if (rate < p->max_rate && in->beats[j] >= flagged_until) {
                add(l, r, in, in->beats[j], in->beats[i] + 1, rate, (int)(i - j + 1));
                flagged_until = in->beats[i] + 1;
            }
        }
        break;
    }
    case K_SUSTAINED_RATE: {
        int64_t need = (int64_t)(p->min_duration_s * fs), start = -1;
        double extreme = 0.0;
        for (size_t i = 1; i <= in->nbeats; i++) {
            double rate = i < in->nbeats ? rate_at(in, i) : NAN;
            int hit = !isnan(rate) && (!isnan(p->max_rate) ? rate < p->max_rate : rate > p->min_rate);
            if (hit) {
                if (start < 0) {
                    start = in->beats[i - (i < HR_BEATS ? i : HR_BEATS)];
                    extreme = rate;
                }
                extreme = !isnan(p->max_rate) ? fmin(extreme, rate) : fmax(extreme, rate);
                continue;
            }
            if (start >= 0 && in->beats[i - 1] - start >= need)
                add(l, r, in, start, in->beats[i - 1] + 1, extreme, 0);
            start = -1;
        }
        break;
    }
    case K_AF_SHORT_RR:
        /* The third-shortest RR, so that one or two detection errors (a T wave counted, a beat
         * split) cannot raise a critical flag on their own. */
        for (size_t k = 0; k < in->nepisodes; k++) {
            const rh_episode *e = &in->episodes[k];
            if (strcmp(e->label, "AFIB") && strcmp(e->label, "AFL")) continue;
            double shortest[SHORT_RRS] = {INFINITY, INFINITY, INFINITY};
            for (size_t i = 1; i < in->nbeats; i++) {
                if (in->beats[i - 1] < e->start || in->beats[i] >= e->end) continue;
                double rr = (double)(in->beats[i] - in->beats[i - 1]) / fs;
                for (int j = 0; j < SHORT_RRS; j++)
                    if (rr < shortest[j]) {
                        double t = shortest[j];
                        shortest[j] = rr;
                        rr = t;
                    }
            }
            if (shortest[SHORT_RRS - 1] < p->max_s) add(l, r, in, e->start, e->end, shortest[SHORT_RRS - 1], 0);
        }
        break;
    }
}

static int by_priority_then_start(const void *a, const void *b)
{
    const flag *x = a, *y = b;
    if (x->priority != y->priority) return x->priority < y->priority ? -1 : 1;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Half or more of f lies under a flag of higher priority. */
static int covered(const flag *f, const flag *all, size_t n)
{
    int64_t len = f->end - f->start;
    for (size_t i = 0; i < n; i++) {
        const flag *g = &all[i];
        if (g->priority >= f->priority) continue;
        int64_t ov = (f->end < g->end ? f->end : g->end) - (f->start > g->start ? f->start : g->start);
        if (ov > 0 && 2 * ov >= len) return 1;
    }
    return 0;
}

/* Routine findings come many times in a long recording (every couplet, every pause of 2 s):
 * each code becomes one flag spanning its first to last occurrence, with the count appended to
 * its reason. Critical and urgent flags stay one by one: each may need its own action. */
static size_t merge_routine(flag *v, size_t n)
{
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        flag *f = &v[i];
        size_t j = 0;
        if (f->priority == FLAG_ROUTINE)
            for (; j < kept; j++)
                if (v[j].priority == FLAG_ROUTINE && !strcmp(v[j].code, f->code)) break;
        if (f->priority != FLAG_ROUTINE || j == kept) {
            v[kept] = *f;
            v[kept++].value = f->priority == FLAG_ROUTINE ? 1 : f->value; /* routine: a count */
            continue;
        }
        flag *g = &v[j];
        if (f->end > g->end) g->end = f->end;
        if (f->last_beat > g->last_beat) g->last_beat = f->last_beat;
        g->value += 1;
    }
    for (size_t j = 0; j < kept; j++) {
        flag *g = &v[j];
        if (g->priority != FLAG_ROUTINE || g->value < 2) continue;
        size_t zh = strlen(g->reason_zh), en = strlen(g->reason_en);
        snprintf(g->reason_zh + zh, FLAG_TEXT - zh, "（%.0f 次）", g->value);
        snprintf(g->reason_en + en, FLAG_TEXT - en, " (%.0f times)", g->value);
    }
    return kept;
}

long flag_evaluate(const flag_table *t, const flag_input *in, flag **out, char *err, size_t errlen)
{
    flag_list l = {0};
    *out = NULL;
    for (int i = 0; i < t->nrules; i++) {
        const rule_params *p = &t->rules[i].p[in->mode == FLAG_CONTINUOUS];
        if (p->on) evaluate(&t->rules[i], p, in, &l);
    }
    if (l.oom) {
        free(l.v);
        snprintf(err, errlen, "flags: out of memory");
        return -1;
    }
    if (l.n == 0) return 0; /* *out stays NULL */
    qsort(l.v, l.n, sizeof *l.v, by_priority_then_start);
    /* Decide every flag against the full list first, then compact. */
    unsigned char *keep = malloc(l.n + 1);
    if (!keep) {
        free(l.v);
        snprintf(err, errlen, "flags: out of memory");
        return -1;
    }
    for (size_t i = 0; i < l.n; i++) keep[i] = !covered(&l.v[i], l.v, l.n);
    size_t kept = 0;
    for (size_t i = 0; i < l.n; i++)
        if (keep[i]) l.v[kept++] = l.v[i];
    free(keep);
    kept = merge_routine(l.v, kept);
    *out = l.v;
    return (long)kept;
}
