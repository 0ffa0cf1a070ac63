/* flags.h — findings to prioritised flags, by one configurable rule table (危急值, critical values).
 *
 * The table is a JSON file (models/critical_values.json holds the defaults: the Zhejiang 2017
 * provincial critical-value list); a province may ship its own. Each rule has a code, a priority
 * (critical, urgent, routine), one threshold set for resting recordings and one for continuous
 * (Holter-style) recordings, and a reason in Chinese and English with {placeholders} for the
 * measured values. Evaluating the table over a recording's rhythm episodes and events gives flags,
 * each with the samples and beats behind it and the reason a person can read.
 */
#ifndef ECGNET_MODELS_FLAGS_H
#define ECGNET_MODELS_FLAGS_H

#include <stddef.h>
#include <stdint.h>

#include "rhythm.h"

typedef enum { FLAG_CRITICAL = 0, FLAG_URGENT = 1, FLAG_ROUTINE = 2 } flag_priority;
typedef enum { FLAG_RESTING = 0, FLAG_CONTINUOUS = 1 } flag_mode;

#define FLAG_TEXT 256

typedef struct {
    char code[32];            /* the rule's code, e.g. "PAUSE_LONG" */
    flag_priority priority;
    int64_t start, end;       /* samples, end exclusive */
    int64_t first_beat, last_beat; /* samples of the first and last beat behind it (-1: none) */
    uint64_t leads;           /* bit l set: lead l shows it (all leads for rhythm findings) */
    double value;             /* the measured value the rule compared (rate, seconds, count); for
                                 routine flags, how many times the finding occurred */
    char reason_zh[FLAG_TEXT];
    char reason_en[FLAG_TEXT];
} flag;

typedef struct flag_table flag_table;

/* Loads a rule table. PATH NULL means the default table, found as the beat model is:
 * $ECGNET_FLAG_TABLE, <exe dir>/../share/ecgnet/critical_values.json, the source tree's
 * models/critical_values.json. Returns 0 and *out (free with flag_table_free), or -1 with a message
 * in err naming the file and, for a bad rule, the rule and the field. */
int flag_table_load(const char *path, flag_table **out, char *err, size_t errlen);

/* Parses a rule table from JSON text; as flag_table_load. NAME is used in messages. */
int flag_table_parse(const char *json, const char *name, flag_table **out, char *err, size_t errlen);

void flag_table_free(flag_table *t);

/* What a recording shows, for the rules. All arrays sorted by time; the caller owns them. */
typedef struct {
    double fs;
    int64_t nsamples;
    int nleads;
    flag_mode mode;
    const rh_episode *episodes; /* rhythm episodes (rhythm.h) */
    size_t nepisodes;
    const rh_event *events;     /* pauses, ventricular runs, asystole */
    size_t nevents;
    const int64_t *beats;       /* beat samples */
    size_t nbeats;
} flag_input;

/* Evaluates every rule; *out receives a new array of flags (free with free(); NULL when there are
 * none), sorted by priority, then start. A flag half or more covered by a flag of higher
 * priority is left out; routine flags of one code are merged into one (first to last
 * occurrence, value = count). Returns the number of flags, or -1 with err (out of memory). */
long flag_evaluate(const flag_table *t, const flag_input *in, flag **out, char *err, size_t errlen);

/* "critical", "urgent", "routine". */
const char *flag_priority_name(flag_priority p);

#endif
