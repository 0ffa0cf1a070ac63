/* test_cli.c — the `ecgnet` command line as its users meet it: outputs, exit codes, messages. */
#include "check.h"

#include <cjson/cJSON.h>
#include <sys/wait.h>

#define ECGNET ECGNET_BINARY_DIR "/cmd/ecgnet"

/* Runs a shell command; returns its exit code and what it printed on stdout (caller frees) and
 * stderr (static). */
static int run(const char *cmd, char **out, char *errbuf, size_t errlen)
{
    return check_run("cli-run", cmd, out, errbuf, errlen);
}

static const char *synth_record(void)
{
    static char rec[1200];
    char dir[1100], cmd[2600], err[4096];
    snprintf(dir, sizeof dir, "%s", check_tmpdir("cli-synth"));
    snprintf(cmd, sizeof cmd, "%s synth '%s' demo --seconds 30 --leads 3 --fs 500 --pvc 0.1 --seed 7", ECGNET, dir);
    int rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 0, "synth exit %d: %s", rc, err);
    snprintf(rec, sizeof rec, "%s/demo", dir);
    return rec;
}

static void help_lists_the_commands_and_exits_0(void)
{
    char *out, err[4096];
    CHECK(run(ECGNET " --help", &out, err, sizeof err) == 0, "exit code");
    CHECK(strstr(out, "analyze") && strstr(out, "eval") && strstr(out, "bench"), "%s", out);
    CHECK(strstr(out, "exit codes"), "documents exit codes");
    free(out);
    const char *cmds[] = {"analyze", "eval", "bench", "synth"};
    for (int i = 0; i < 4; i++) {
        char cmd[256];
        snprintf(cmd, sizeof cmd, "%s %s --help", ECGNET, cmds[i]);
        CHECK(run(cmd, &out, err, sizeof err) == 0 && strstr(out, "usage:"), "%s --help", cmds[i]);
        free(out);
    }
}

static void bad_command_lines_exit_2_with_a_message(void)
{
    char err[4096];
    CHECK(run(ECGNET, NULL, err, sizeof err) == 2, "no command");
    CHECK(run(ECGNET " frobnicate", NULL, err, sizeof err) == 2 && strstr(err, "unknown command"), "%s", err);
    CHECK(run(ECGNET " analyze", NULL, err, sizeof err) == 2 && strstr(err, "no record"), "%s", err);
    CHECK(run(ECGNET " analyze x --mains 55", NULL, err, sizeof err) == 2 && strstr(err, "50 or 60"), "%s", err);
    CHECK(run(ECGNET " eval", NULL, err, sizeof err) == 2, "eval without a directory");
    CHECK(run(ECGNET " eval d --noise n", NULL, err, sizeof err) == 2 && strstr(err, "--snr"), "%s", err);
    CHECK(run(ECGNET " eval d --segments 10", NULL, err, sizeof err) == 2 && strstr(err, "--rhythm"), "%s", err);
    CHECK(run(ECGNET " eval d --rhythm --segments 0", NULL, err, sizeof err) == 2 && strstr(err, "seconds"), "%s", err);
}

static void a_missing_record_exits_1_naming_it(void)
{
    char err[4096];
    int rc = run(ECGNET " analyze /nonexistent/rec42", NULL, err, sizeof err);
    CHECK(rc == 1, "exit %d", rc);
    CHECK(strstr(err, "rec42"), "message names the record: %s", err);
    rc = run(ECGNET " analyze /nonexistent/x.edf", NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "x.edf"), "exit %d: %s", rc, err);
}

static void a_truncated_signal_file_exits_1_saying_truncated(void)
{
    const char *rec = synth_record();
    char cmd[2600], err[4096];
    snprintf(cmd, sizeof cmd, "truncate -s 1000 '%s.dat'", rec);
    CHECK(system(cmd) == 0, "truncate");
    snprintf(cmd, sizeof cmd, "%s analyze '%s'", ECGNET, rec);
    int rc = run(cmd, NULL, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "truncated") && strstr(err, "demo.dat"), "exit %d: %s", rc, err);
}

static void analyze_json_has_the_documented_fields(void)
{
    const char *rec = synth_record();
    char cmd[2600], err[4096], *out;
    snprintf(cmd, sizeof cmd, "%s analyze '%s' --json", ECGNET, rec);
    CHECK(run(cmd, &out, err, sizeof err) == 0, "exit: %s", err);
    cJSON *j = cJSON_Parse(out);
    CHECK(j != NULL, "stdout is JSON only: %.200s", out);
    if (j) {
        CHECK(cJSON_GetObjectItem(j, "fs")->valuedouble == 500, "fs");
        CHECK(cJSON_GetObjectItem(j, "n_samples")->valuedouble == 15000, "n_samples");
        CHECK(cJSON_GetObjectItem(j, "duration_s")->valuedouble == 30, "duration_s");
        cJSON *leads = cJSON_GetObjectItem(j, "leads");
        CHECK(cJSON_GetArraySize(leads) == 3, "3 leads");
        CHECK(!strcmp(cJSON_GetObjectItem(cJSON_GetArrayItem(leads, 1), "name")->valuestring, "II"), "lead name");
        CHECK(cJSON_GetObjectItem(cJSON_GetArrayItem(leads, 0), "uv_per_unit")->valuedouble == 1, "uv_per_unit");
        double beats = cJSON_GetObjectItem(j, "beat_count")->valuedouble;
        CHECK(beats >= 33 && beats <= 40, "beat_count %g for 30 s at 72 bpm", beats);
        cJSON *hr = cJSON_GetObjectItem(j, "heart_rate");
        double mean = cJSON_GetObjectItem(hr, "mean")->valuedouble;
        CHECK(mean > 65 && mean < 80, "mean heart rate %g", mean);
        CHECK(cJSON_GetObjectItem(hr, "min")->valuedouble <= mean && cJSON_GetObjectItem(hr, "max")->valuedouble >= mean, "min <= mean <= max");
        cJSON_Delete(j);
    }
    free(out);
}

static void beats_csv_matches_the_reference_and_eval_scores_it_perfectly(void)
{
    const char *rec = synth_record();
    char cmd[4000], err[4096], *out, csv[1300];
    snprintf(csv, sizeof csv, "%s.beats.csv", rec);
    snprintf(cmd, sizeof cmd, "%s analyze '%s' --beats '%s'", ECGNET, rec, csv);
    CHECK(run(cmd, NULL, err, sizeof err) == 0, "exit: %s", err);
    FILE *f = fopen(csv, "r");
    char line[128];
    CHECK(f && fgets(line, sizeof line, f) && !strcmp(line, "sample,label\n"), "CSV header");
    long n = 0, prev = -1;
    int sorted = 1, labels = 1;
    while (f && fgets(line, sizeof line, f)) {
        long s;
        char c;
        if (sscanf(line, "%ld,%c", &s, &c) != 2) { labels = 0; break; }
        sorted &= s > prev;
        labels &= strchr("NSVFQ", c) != NULL;
        prev = s;
        n++;
    }
    if (f) fclose(f);
    CHECK(n >= 33 && sorted && labels, "%ld beats, sorted %d, labels %d", n, sorted, labels);
    /* The reference beats are the generator's: all found, none extra. */
    const char *slash = strrchr(rec, '/');
    snprintf(cmd, sizeof cmd, "%s eval '%.*s' --records demo --from 0 --json --min-se 100 --min-ppv 100",
             ECGNET, (int)(slash - rec), rec);
    int rc = run(cmd, &out, err, sizeof err);
    CHECK(rc == 0, "eval exit %d: %s %s", rc, err, out);
    free(out);
}

static void edf_out_round_trips_through_analyze(void)
{
    const char *rec = synth_record();
    char cmd[4000], err[4096], *a, *b, edf[1300];
    snprintf(edf, sizeof edf, "%s.edf", rec);
    snprintf(cmd, sizeof cmd, "%s analyze '%s' --json --edf-out '%s'", ECGNET, rec, edf);
    CHECK(run(cmd, &a, err, sizeof err) == 0, "exit: %s", err);
    snprintf(cmd, sizeof cmd, "%s analyze '%s' --json", ECGNET, edf);
    CHECK(run(cmd, &b, err, sizeof err) == 0, "exit: %s", err);
    cJSON *ja = cJSON_Parse(a), *jb = cJSON_Parse(b);
    CHECK(ja && jb, "both JSON");
    if (ja && jb) {
        CHECK(cJSON_GetObjectItem(ja, "beat_count")->valuedouble == cJSON_GetObjectItem(jb, "beat_count")->valuedouble,
              "same beats from the EDF copy");
        CHECK(!strcmp(cJSON_GetObjectItem(jb, "format")->valuestring, "EDF+"), "written as EDF+");
    }
    cJSON_Delete(ja);
    cJSON_Delete(jb);
    free(a);
    free(b);
}

static void bench_reports_throughput_and_state(void)
{
    char *out, err[4096];
    int rc = run(ECGNET " bench --seconds 10 --leads 2 --fs 250 --min-time 0", &out, err, sizeof err);
    CHECK(rc == 0, "exit %d: %s", rc, err);
    CHECK(strstr(out, "lead-samples/s") && strstr(out, "scalar") && strstr(out, "state"), "%s", out);
    free(out);
}

int main(void)
{
    RUN(help_lists_the_commands_and_exits_0);
    RUN(bad_command_lines_exit_2_with_a_message);
    RUN(a_missing_record_exits_1_naming_it);
    RUN(a_truncated_signal_file_exits_1_saying_truncated);
    RUN(analyze_json_has_the_documented_fields);
    RUN(beats_csv_matches_the_reference_and_eval_scores_it_perfectly);
    RUN(edf_out_round_trips_through_analyze);
    RUN(bench_reports_throughput_and_state);
    return check_report();
}
