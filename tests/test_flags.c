/* test_flags.c — the critical-value table: every default rule on both sides of its threshold, in
 * resting and continuous recordings, and clear errors for bad tables. */
#include "check.h"
#include "flags.h"

#define FS 500.0
#define S(sec) ((int64_t)((sec) * FS))

static flag_table *table;

/* A recording of `seconds` with beats every rr seconds and the given episodes/events. */
typedef struct {
    rh_episode ep[8];
    size_t nep;
    rh_event ev[8];
    size_t nev;
    int64_t beats[4096];
    size_t nbeats;
    double seconds;
} rec;

static void beats_at_rate(rec *r, double from_s, double to_s, double bpm)
{
    for (double t = from_s; t < to_s && r->nbeats < 4096; t += 60.0 / bpm) r->beats[r->nbeats++] = S(t);
    if (to_s > r->seconds) r->seconds = to_s;
}

static void episode(rec *r, const char *label, double from_s, double to_s, double bpm)
{
    rh_episode *e = &r->ep[r->nep++];
    snprintf(e->label, sizeof e->label, "%s", label);
    e->start = S(from_s);
    e->end = S(to_s);
    e->rate_bpm = bpm;
}

static void event(rec *r, rh_event_type type, double from_s, double to_s, int nbeats, double bpm, double rr)
{
    rh_event *e = &r->ev[r->nev++];
    e->type = type;
    e->start = S(from_s);
    e->end = S(to_s);
    e->nbeats = nbeats;
    e->rate_bpm = bpm;
    e->longest_rr_s = rr;
}

/* Evaluates and reports whether a flag with CODE came out (and its priority). */
static int flagged(const rec *r, flag_mode mode, const char *code, flag_priority *prio)
{
    flag_input in = {FS, S(r->seconds), 2, mode, r->ep, r->nep, r->ev, r->nev, r->beats, r->nbeats};
    flag *f = NULL;
    char err[256];
    long n = flag_evaluate(table, &in, &f, err, sizeof err);
    CHECK(n >= 0, "%s", err);
    int found = 0;
    for (long i = 0; i < n; i++) {
        CHECK(f[i].reason_zh[0] && f[i].reason_en[0], "%s has reasons", f[i].code);
        CHECK(!strchr(f[i].reason_en, '{'), "%s: placeholders filled: %s", f[i].code, f[i].reason_en);
        if (i) CHECK(f[i - 1].priority <= f[i].priority, "sorted by priority");
        if (!strcmp(f[i].code, code)) {
            found = 1;
            if (prio) *prio = f[i].priority;
        }
    }
    free(f);
    return found;
}

static void the_default_table_loads_from_the_source_tree(void)
{
    char err[512];
    CHECK(flag_table_load(NULL, &table, err, sizeof err) == 0, "%s", err);
}

static void ventricular_flutter_is_critical_in_both_modes(void)
{
    rec r = {0};
    beats_at_rate(&r, 0, 60, 70);
    episode(&r, "VFL", 20, 30, 300);
    flag_priority p = FLAG_ROUTINE;
    CHECK(flagged(&r, FLAG_RESTING, "VF_FLUTTER", &p) && p == FLAG_CRITICAL, "resting");
    CHECK(flagged(&r, FLAG_CONTINUOUS, "VF_FLUTTER", &p) && p == FLAG_CRITICAL, "continuous");
}

static void vt_is_critical_from_150_per_min_for_30_s_and_urgent_below(void)
{
    for (int mode = 0; mode <= 1; mode++) {
        rec fast = {0}, slow = {0}, brief = {0};
        beats_at_rate(&fast, 0, 90, 150);
        episode(&fast, "VT", 10, 40, 150);
        event(&fast, RH_VT_RUN, 10, 40, 75, 150, 0.4);
        CHECK(flagged(&fast, (flag_mode)mode, "VT_FAST_SUSTAINED", NULL), "150/min for 30 s");
        CHECK(!flagged(&fast, (flag_mode)mode, "VT_RUN", NULL), "the run is not flagged again under the critical flag");
        beats_at_rate(&slow, 0, 90, 149);
        episode(&slow, "VT", 10, 40, 149);
        event(&slow, RH_VT_RUN, 10, 40, 74, 149, 0.4);
        CHECK(!flagged(&slow, (flag_mode)mode, "VT_FAST_SUSTAINED", NULL), "149/min is not critical");
        flag_priority p = FLAG_ROUTINE;
        CHECK(flagged(&slow, (flag_mode)mode, "VT_RUN", &p) && p == FLAG_URGENT, "but an urgent VT run");
        beats_at_rate(&brief, 0, 90, 160);
        episode(&brief, "VT", 10, 39, 160);
        CHECK(!flagged(&brief, (flag_mode)mode, "VT_FAST_SUSTAINED", NULL), "29 s is not sustained");
    }
}

static void polymorphic_vt_from_150_per_min_is_critical_and_below_either_threshold_urgent(void)
{
    for (int mode = 0; mode <= 1; mode++) {
        rec poly = {0}, slow = {0}, mono = {0};
        beats_at_rate(&poly, 0, 60, 70);
        event(&poly, RH_VT_RUN, 20, 24, 10, 150, 0.4);
        poly.ev[0].polymorphism = 0.5;
        flag_priority p = FLAG_ROUTINE;
        CHECK(flagged(&poly, (flag_mode)mode, "VT_POLYMORPHIC", &p) && p == FLAG_CRITICAL,
              "half the beats change shape at 150/min");
        CHECK(!flagged(&poly, (flag_mode)mode, "VT_RUN", NULL), "not also an urgent run");
        beats_at_rate(&slow, 0, 60, 70);
        event(&slow, RH_VT_RUN, 20, 24, 10, 149, 0.4);
        slow.ev[0].polymorphism = 1.0;
        CHECK(!flagged(&slow, (flag_mode)mode, "VT_POLYMORPHIC", NULL), "149/min is not");
        CHECK(flagged(&slow, (flag_mode)mode, "VT_RUN", &p) && p == FLAG_URGENT, "149/min: an urgent run");
        beats_at_rate(&mono, 0, 60, 70);
        event(&mono, RH_VT_RUN, 20, 24, 10, 220, 0.3);
        mono.ev[0].polymorphism = 0.49;
        CHECK(!flagged(&mono, (flag_mode)mode, "VT_POLYMORPHIC", NULL), "polymorphism 0.49 is not");
        CHECK(flagged(&mono, (flag_mode)mode, "VT_RUN", NULL), "0.49: an urgent run");
    }
}

static void a_polymorphism_threshold_above_1_is_refused(void)
{
    const char *json = "{\"rules\": [{\"code\": \"X\", \"kind\": \"event\", \"priority\": \"critical\","
                       " \"resting\": {\"labels\": [\"VT_RUN\"], \"min_polymorphism\": 2},"
                       " \"zh\": \"x\", \"en\": \"x\"}]}";
    flag_table *t = NULL;
    char err[256] = "";
    CHECK(flag_table_parse(json, "t.json", &t, err, sizeof err) != 0, "refused");
    CHECK(strstr(err, "t.json") && strstr(err, "min_polymorphism"), "names the file and field: %s", err);
    flag_table_free(t);
}

static void a_pause_of_3_s_is_critical_at_rest_and_4_s_in_continuous_recordings(void)
{
    rec a = {0}, b = {0}, c = {0}, d = {0};
    beats_at_rate(&a, 0, 60, 70);
    event(&a, RH_PAUSE, 20, 23, 2, 20, 3.0);
    beats_at_rate(&b, 0, 60, 70);
    event(&b, RH_PAUSE, 20, 22.9, 2, 20.7, 2.9);
    CHECK(flagged(&a, FLAG_RESTING, "PAUSE_LONG", NULL), "resting 3.0 s");
    CHECK(!flagged(&b, FLAG_RESTING, "PAUSE_LONG", NULL), "resting 2.9 s");
    CHECK(flagged(&b, FLAG_RESTING, "PAUSE", NULL), "2.9 s is a routine pause");
    beats_at_rate(&c, 0, 60, 70);
    event(&c, RH_PAUSE, 20, 24, 2, 15, 4.0);
    beats_at_rate(&d, 0, 60, 70);
    event(&d, RH_PAUSE, 20, 23.9, 2, 15.4, 3.9);
    CHECK(flagged(&c, FLAG_CONTINUOUS, "PAUSE_LONG", NULL), "continuous 4.0 s");
    CHECK(!flagged(&d, FLAG_CONTINUOUS, "PAUSE_LONG", NULL), "continuous 3.9 s");
    CHECK(!flagged(&a, FLAG_CONTINUOUS, "PAUSE_LONG", NULL), "continuous 3.0 s");
}

static void three_pauses_of_3_s_are_critical_in_continuous_recordings_two_are_not(void)
{
    rec r = {0};
    beats_at_rate(&r, 0, 120, 70);
    event(&r, RH_PAUSE, 20, 23.1, 2, 19, 3.1);
    event(&r, RH_PAUSE, 50, 53.1, 2, 19, 3.1);
    CHECK(!flagged(&r, FLAG_CONTINUOUS, "PAUSES_REPEATED", NULL), "two");
    event(&r, RH_PAUSE, 80, 83.1, 2, 19, 3.1);
    CHECK(flagged(&r, FLAG_CONTINUOUS, "PAUSES_REPEATED", NULL), "three");
}

static void in_af_only_an_rr_of_5_s_is_critical_in_continuous_recordings(void)
{
    rec r = {0}, s = {0};
    beats_at_rate(&r, 0, 120, 90);
    episode(&r, "AFIB", 0, 120, 90);
    event(&r, RH_PAUSE, 50, 54.9, 2, 12, 4.9);
    CHECK(!flagged(&r, FLAG_CONTINUOUS, "PAUSE_LONG", NULL), "4.9 s in AF is not the sinus rule's");
    CHECK(!flagged(&r, FLAG_CONTINUOUS, "PAUSE_IN_AF", NULL), "4.9 s in AF");
    beats_at_rate(&s, 0, 120, 90);
    episode(&s, "AFIB", 0, 120, 90);
    event(&s, RH_PAUSE, 50, 55, 2, 12, 5.0);
    CHECK(flagged(&s, FLAG_CONTINUOUS, "PAUSE_IN_AF", NULL), "5.0 s in AF");
}

static void a_mean_rate_under_35_is_critical(void)
{
    rec slow = {0}, ok = {0};
    beats_at_rate(&slow, 0, 10, 34);
    beats_at_rate(&ok, 0, 10, 36);
    CHECK(flagged(&slow, FLAG_RESTING, "RATE_VERY_LOW", NULL), "34/min at rest");
    CHECK(!flagged(&ok, FLAG_RESTING, "RATE_VERY_LOW", NULL), "36/min at rest");
    rec hol = {0}, hol_ok = {0};
    beats_at_rate(&hol, 0, 100, 70);
    beats_at_rate(&hol, 100, 170, 34);
    beats_at_rate(&hol, 170, 250, 70);
    beats_at_rate(&hol_ok, 0, 100, 70);
    beats_at_rate(&hol_ok, 100, 170, 36);
    beats_at_rate(&hol_ok, 170, 250, 70);
    CHECK(flagged(&hol, FLAG_CONTINUOUS, "RATE_VERY_LOW", NULL), "a minute at 34/min in a Holter");
    CHECK(!flagged(&hol_ok, FLAG_CONTINUOUS, "RATE_VERY_LOW", NULL), "a minute at 36/min");
}

static void af_at_180_per_min_is_critical_and_slower_af_urgent(void)
{
    rec fast = {0}, slow = {0};
    beats_at_rate(&fast, 0, 30, 180);
    episode(&fast, "AFIB", 0, 30, 180);
    beats_at_rate(&slow, 0, 30, 179);
    episode(&slow, "AFIB", 0, 30, 179);
    CHECK(flagged(&fast, FLAG_RESTING, "AF_RAPID", NULL), "180/min");
    CHECK(!flagged(&slow, FLAG_RESTING, "AF_RAPID", NULL), "179/min");
    flag_priority p = FLAG_ROUTINE;
    CHECK(flagged(&slow, FLAG_RESTING, "AF", &p) && p == FLAG_URGENT, "AF is urgent");
    CHECK(!flagged(&fast, FLAG_RESTING, "AF", NULL), "not repeated under the critical flag");
}

/* AF at 100/min with `n` pairs of beats rr seconds apart. */
static void af_with_short_pairs(rec *r, int n, double rr)
{
    double t = 0;
    for (int k = 0; k < n; k++) {
        beats_at_rate(r, t, t + 5, 100);
        r->beats[r->nbeats++] = S(t + 5.4);
        r->beats[r->nbeats++] = S(t + 5.4 + rr);
        t += 6.2;
    }
    beats_at_rate(r, t, t + 5, 100);
    episode(r, "AFIB", 0, S(t + 5) / FS, 110);
}

static void af_with_three_rr_under_250_ms_is_critical_one_or_two_are_not(void)
{
    rec three = {0}, slower = {0}, two = {0};
    af_with_short_pairs(&three, 3, 0.24);
    af_with_short_pairs(&slower, 3, 0.26);
    af_with_short_pairs(&two, 2, 0.20);
    CHECK(flagged(&three, FLAG_RESTING, "AF_PREEXCITED", NULL), "three RRs of 240 ms");
    CHECK(!flagged(&slower, FLAG_RESTING, "AF_PREEXCITED", NULL), "three of 260 ms");
    CHECK(!flagged(&two, FLAG_RESTING, "AF_PREEXCITED", NULL), "two of 200 ms could be detection errors");
}

static void svt_at_230_per_min_is_critical(void)
{
    rec fast = {0}, slow = {0};
    beats_at_rate(&fast, 0, 20, 230);
    episode(&fast, "SVTA", 0, 20, 230);
    beats_at_rate(&slow, 0, 20, 229);
    episode(&slow, "SVTA", 0, 20, 229);
    CHECK(flagged(&fast, FLAG_RESTING, "SVT_FAST", NULL), "230/min");
    CHECK(!flagged(&slow, FLAG_RESTING, "SVT_FAST", NULL), "229/min");
    flag_priority p = FLAG_ROUTINE;
    CHECK(flagged(&slow, FLAG_RESTING, "RATE_HIGH_SUSTAINED", &p) && p == FLAG_URGENT,
          "still urgent: over 150/min for 20 s");
    CHECK(!flagged(&slow, FLAG_RESTING, "TACHYCARDIA", NULL), "the routine tachycardia lies under it");
}

static void a_rate_under_40_or_over_150_for_10_s_is_urgent(void)
{
    rec low = {0}, low_ok = {0}, high = {0}, high_ok = {0}, high_brief = {0};
    beats_at_rate(&low, 0, 30, 70);
    beats_at_rate(&low, 30, 50, 39);
    beats_at_rate(&low, 50, 80, 70);
    beats_at_rate(&low_ok, 0, 30, 70);
    beats_at_rate(&low_ok, 30, 50, 41);
    beats_at_rate(&low_ok, 50, 80, 70);
    CHECK(flagged(&low, FLAG_RESTING, "RATE_LOW_SUSTAINED", NULL), "39/min for 20 s");
    CHECK(!flagged(&low_ok, FLAG_RESTING, "RATE_LOW_SUSTAINED", NULL), "41/min");
    beats_at_rate(&high, 0, 30, 70);
    beats_at_rate(&high, 30, 45, 151);
    beats_at_rate(&high, 45, 80, 70);
    beats_at_rate(&high_ok, 0, 30, 70);
    beats_at_rate(&high_ok, 30, 45, 149);
    beats_at_rate(&high_ok, 45, 80, 70);
    beats_at_rate(&high_brief, 0, 30, 70);
    beats_at_rate(&high_brief, 30, 37, 151);
    beats_at_rate(&high_brief, 37, 80, 70);
    CHECK(flagged(&high, FLAG_CONTINUOUS, "RATE_HIGH_SUSTAINED", NULL), "151/min for 15 s");
    CHECK(!flagged(&high_ok, FLAG_CONTINUOUS, "RATE_HIGH_SUSTAINED", NULL), "149/min");
    CHECK(!flagged(&high_brief, FLAG_CONTINUOUS, "RATE_HIGH_SUSTAINED", NULL), "151/min for 7 s");
}

static void routine_findings_are_flagged_routine(void)
{
    rec r = {0};
    beats_at_rate(&r, 0, 200, 55);
    episode(&r, "SBR", 0, 100, 55);
    episode(&r, "B", 100, 130, 70);
    episode(&r, "T", 130, 160, 70);
    event(&r, RH_COUPLET, 170, 171, 2, 100, 0.6);
    static const char *codes[] = {"BRADYCARDIA", "BIGEMINY", "TRIGEMINY", "VENTRICULAR_COUPLET"};
    for (int i = 0; i < 4; i++) {
        flag_priority p = FLAG_CRITICAL;
        CHECK(flagged(&r, FLAG_RESTING, codes[i], &p) && p == FLAG_ROUTINE, "%s", codes[i]);
    }
    rec short_brady = {0};
    beats_at_rate(&short_brady, 0, 100, 55);
    episode(&short_brady, "SBR", 0, 50, 55);
    CHECK(!flagged(&short_brady, FLAG_CONTINUOUS, "BRADYCARDIA", NULL), "under a minute of bradycardia in a Holter");
    CHECK(flagged(&short_brady, FLAG_RESTING, "BRADYCARDIA", NULL), "but reported at rest");
}

static void repeated_routine_findings_become_one_flag_with_their_count(void)
{
    rec r = {0};
    beats_at_rate(&r, 0, 200, 70);
    event(&r, RH_COUPLET, 20, 21, 2, 100, 0.6);
    event(&r, RH_COUPLET, 80, 81, 2, 100, 0.6);
    event(&r, RH_COUPLET, 150, 151, 2, 100, 0.6);
    flag_input in = {FS, S(r.seconds), 2, FLAG_CONTINUOUS, r.ep, r.nep, r.ev, r.nev, r.beats, r.nbeats};
    flag *f = NULL;
    char err[256];
    long n = flag_evaluate(table, &in, &f, err, sizeof err);
    CHECK(n == 1, "%ld flags", n);
    if (n == 1) {
        CHECK(f[0].start == S(20) && f[0].end == S(151), "spans first to last: %lld..%lld", (long long)f[0].start, (long long)f[0].end);
        CHECK(f[0].value == 3, "count %g", f[0].value);
        CHECK(strstr(f[0].reason_en, "(3 times)") && strstr(f[0].reason_zh, "3 次"), "%s / %s", f[0].reason_en, f[0].reason_zh);
    }
    free(f);
}

static void flags_carry_their_samples_beats_value_and_readable_reasons(void)
{
    rec r = {0};
    beats_at_rate(&r, 0, 60, 70);
    event(&r, RH_PAUSE, 20, 23.5, 2, 17, 3.5);
    flag_input in = {FS, S(r.seconds), 2, FLAG_RESTING, r.ep, r.nep, r.ev, r.nev, r.beats, r.nbeats};
    flag *f = NULL;
    char err[256];
    long n = flag_evaluate(table, &in, &f, err, sizeof err);
    CHECK(n == 1, "one flag (the routine pause is covered by the critical one), got %ld", n);
    if (n >= 1) {
        CHECK(!strcmp(f[0].code, "PAUSE_LONG") && f[0].priority == FLAG_CRITICAL, "%s", f[0].code);
        CHECK(f[0].start == S(20) && f[0].end == S(23.5), "samples %lld..%lld", (long long)f[0].start, (long long)f[0].end);
        CHECK(f[0].value == 3.5, "value %g", f[0].value);
        CHECK(f[0].leads == 3, "both leads");
        CHECK(f[0].first_beat >= S(20) && f[0].last_beat < S(23.5), "beats behind it");
        CHECK(strstr(f[0].reason_en, "3.50 s") != NULL, "%s", f[0].reason_en);
        CHECK(strstr(f[0].reason_zh, "3.50 秒") != NULL, "%s", f[0].reason_zh);
    }
    free(f);
    CHECK(!strcmp(flag_priority_name(FLAG_URGENT), "urgent"), "priority names");
}

static void bad_tables_are_refused_naming_the_rule_and_field(void)
{
    static const struct {
        const char *json, *want;
    } cases[] = {
        {"{", "not valid JSON"},
        {"{\"rules\": 3}", "no \"rules\" list"},
        {"{\"rules\": [{\"kind\": \"pause\"}]}", "no code"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"magic\", \"priority\": \"urgent\"}]}", "unknown kind"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"soon\"}]}", "priority must be"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"zh\": \"a\", \"en\": \"b\", \"resting\": {}}]}", "needs min_s"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"zh\": \"a\", \"en\": \"b\", \"resting\": {\"min_s\": 2, \"minn\": 1}}]}", "unknown threshold \"minn\""},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"zh\": \"a\", \"en\": \"b\", \"resting\": {\"min_s\": \"2\"}}]}", "must be a number"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"zh\": \"a\", \"en\": \"b\", \"continuous\": {\"min_s\": 3, \"min_count\": 1e89}}]}", "min_count\" must be between 0 and 100000"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"zh\": \"a\", \"en\": \"b\", \"continuous\": {\"min_s\": 3, \"min_count\": 2.5}}]}", "min_count\" must be a whole number"},
        {"{\"rules\": [{\"code\": \"X\", \"kind\": \"pause\", \"priority\": \"urgent\", \"resting\": {\"min_s\": 2}}]}", "reason in \"zh\" and \"en\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        flag_table *t = NULL;
        char err[512] = "";
        CHECK(flag_table_parse(cases[i].json, "test.json", &t, err, sizeof err) == -1 && !t, "case %zu accepted", i);
        CHECK(strstr(err, cases[i].want) && strstr(err, "test.json"), "case %zu: '%s' lacks '%s'", i, err, cases[i].want);
    }
    flag_table *t = NULL;
    char err[512];
    CHECK(flag_table_load("/nonexistent/rules.json", &t, err, sizeof err) == -1 && strstr(err, "/nonexistent/rules.json"), "%s", err);
}

int main(void)
{
    RUN(the_default_table_loads_from_the_source_tree);
    if (!table) return check_report();
    RUN(ventricular_flutter_is_critical_in_both_modes);
    RUN(vt_is_critical_from_150_per_min_for_30_s_and_urgent_below);
    RUN(polymorphic_vt_from_150_per_min_is_critical_and_below_either_threshold_urgent);
    RUN(a_polymorphism_threshold_above_1_is_refused);
    RUN(a_pause_of_3_s_is_critical_at_rest_and_4_s_in_continuous_recordings);
    RUN(three_pauses_of_3_s_are_critical_in_continuous_recordings_two_are_not);
    RUN(in_af_only_an_rr_of_5_s_is_critical_in_continuous_recordings);
    RUN(a_mean_rate_under_35_is_critical);
    RUN(af_at_180_per_min_is_critical_and_slower_af_urgent);
    RUN(af_with_three_rr_under_250_ms_is_critical_one_or_two_are_not);
    RUN(svt_at_230_per_min_is_critical);
    RUN(a_rate_under_40_or_over_150_for_10_s_is_urgent);
    RUN(routine_findings_are_flagged_routine);
    RUN(repeated_routine_findings_become_one_flag_with_their_count);
    RUN(flags_carry_their_samples_beats_value_and_readable_reasons);
    RUN(bad_tables_are_refused_naming_the_rule_and_field);
    flag_table_free(table);
    return check_report();
}
