/* fuzz_flags.c — libFuzzer target: the critical-value rule table parser, then evaluating what it
 * accepted over a small fixed recording. */
#include "flags.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    if (!json) return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    flag_table *t = NULL;
    char err[512];
    if (flag_table_parse(json, "fuzz.json", &t, err, sizeof err) == 0) {
        static const int64_t beats[] = {0, 400, 800, 1200, 2900, 3300, 3400, 3500, 3600, 5000};
        rh_episode ep[2] = {{"AFIB", 0, 2000, 150}, {"VT", 2000, 4000, 200}};
        rh_event ev[2] = {{RH_PAUSE, 1200, 2900, 2, 30, 3.4, 0}, {RH_VT_RUN, 3300, 3700, 4, 200, 0.3, 0.8}};
        for (int mode = 0; mode <= 1; mode++) {
            flag_input in = {500.0, 6000, 2, (flag_mode)mode, ep, 2, ev, 2, beats, 10};
            flag *f = NULL;
            long n = flag_evaluate(t, &in, &f, err, sizeof err);
            for (long i = 0; i < n; i++)
                if (!memchr(f[i].reason_en, 0, FLAG_TEXT) || !memchr(f[i].reason_zh, 0, FLAG_TEXT)) abort();
            free(f);
        }
        flag_table_free(t);
    } else if (!err[0]) {
        abort(); /* a refusal always says why */
    }
    free(json);
    return 0;
}
