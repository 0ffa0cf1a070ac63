/* test_openapi.c — docs/openapi.json against the server it describes: a valid OpenAPI 3.0 document
 * whose every path and method the router of a real in-process ecgnetd serves, answering one of
 * the statuses the file lists and asking for the session and CSRF token the file says; and every
 * path of the router (net/http.c) described, so that a route added without its description fails. */
#include <cjson/cJSON.h>
#include <strings.h>

#include "check.h"
#include "log.h"
#include "net_harness.h"
#include "push.h"
#include "server.h"

#define PW_CARD "correct horse battery"
#define PATIENT "P-OA-1"

static char err[1536];
static cJSON *spec;
static int port;
static int64_t rec;
static char session[128], csrf[128];

/* Sent as the body of every write: an empty object, which every handler reads (and most refuse
 * with 400). Not an empty body: the server never answers a PUT with Content-Length: 0 (lws calls
 * no HTTP_BODY_COMPLETION for it, unlike a POST), a bug of net/http.c reported to be fixed there. */
#define WRITE_BODY "{}"

static const char *const methods[] = {"get", "put", "post", "delete", "patch", "head", "options", "trace"};

/* The router's paths and methods, copied from net/http.c (route_api, route_recording, dispatch)
 * and net/push.h (PUSH_PATH): a route added there must be added here and described in the file. */
static const struct {
    const char *path, *method;
} routes[] = {
    {"/api/login", "post"},
    {"/api/logout", "post"},
    {"/api/me", "get"},
    {"/api/worklist", "get"},
    {"/api/worklist/claim-next", "post"},
    {"/api/worklist/live", "get"},
    {"/api/critical", "get"},
    {"/api/recordings/{id}", "get"},
    {"/api/recordings/{id}/signal", "get"},
    {"/api/recordings/{id}/history", "get"},
    {"/api/recordings/{id}/export.hl7", "get"},
    {"/api/recordings/{id}/export.fhir.json", "get"},
    {"/api/recordings/{id}/export.pdf", "get"},
    {"/api/recordings/{id}/critical", "post"},
    {"/api/recordings/{id}/critical/ack", "post"},
    {"/api/recordings/{id}/report", "put"},
    {"/api/recordings/{id}/claim", "post"},
    {"/api/recordings/{id}/release", "post"},
    {"/api/recordings/{id}/sign", "post"},
    {"/api/recordings/{id}/amend", "post"},
    {"/api/recordings/{id}/repeat", "post"},
    {"/api/patients/{patient_id}/recordings", "get"},
    {"/healthz", "get"},
    {"/metrics", "get"},
};

/* ---- the file ---- */

static cJSON *load_spec(void)
{
    const char *path = ECGNET_SOURCE_DIR "/docs/openapi.json";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    cJSON *o = cJSON_Parse(text);
    if (!o) fprintf(stderr, "%s is not valid JSON (near: %.40s)\n", path, cJSON_GetErrorPtr());
    return o;
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* O itself, or what its "$ref" ("#/components/...") points to; NULL when that is missing. */
static const cJSON *deref(const cJSON *o)
{
    const char *ref = str(o, "$ref");
    if (!ref) return o;
    if (strncmp(ref, "#/", 2)) return NULL;
    const cJSON *at = spec;
    char part[128];
    for (const char *p = ref + 2; at && *p;) {
        size_t len = strcspn(p, "/");
        snprintf(part, sizeof part, "%.*s", (int)len, p);
        at = cJSON_GetObjectItemCaseSensitive(at, part);
        p += len + (p[len] == '/');
    }
    return at;
}

static int is_write(const char *method) { return strcmp(method, "get") && strcmp(method, "head"); }

/* The operation's security: its own, else the document's. */
static const cJSON *security_of(const cJSON *op)
{
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(op, "security");
    return s ? s : cJSON_GetObjectItemCaseSensitive(spec, "security");
}

/* Whether every alternative of SECURITY names SCHEME (0 when it asks for nothing). */
static int requires_scheme(const cJSON *security, const char *scheme)
{
    const cJSON *alt;
    int n = 0;
    cJSON_ArrayForEach(alt, security) {
        if (!cJSON_GetObjectItemCaseSensitive(alt, scheme)) return 0;
        n++;
    }
    return n > 0;
}

/* Whether the operation (or its path) declares the path parameter NAME. */
static int declares_path_param(const cJSON *item, const cJSON *op, const char *name)
{
    const cJSON *lists[2] = {cJSON_GetObjectItemCaseSensitive(item, "parameters"),
                             cJSON_GetObjectItemCaseSensitive(op, "parameters")};
    for (int i = 0; i < 2; i++) {
        const cJSON *p;
        cJSON_ArrayForEach(p, lists[i]) {
            const cJSON *q = deref(p);
            const char *in = str(q, "in"), *pn = str(q, "name");
            if (in && pn && !strcmp(in, "path") && !strcmp(pn, name) && cJSON_IsTrue(cJSON_GetObjectItem(q, "required")))
                return 1;
        }
    }
    return 0;
}

/* ---- a small HTTP/1.1 client (Connection: close) ---- */

typedef struct {
    int status;
    char cookie[128]; /* the ecgnet_session value a Set-Cookie gave, "" if none */
    char body[8192];  /* the start of the body */
} answer;

/* METHOD PATH with the session cookie COOKIE, the CSRF token TOKEN and, unless a GET, a JSON BODY
 * (each NULL: none); METHOD in capitals. */
static answer request(const char *method, const char *path, const char *cookie, const char *token, const char *body)
{
    if (!strcmp(method, "GET")) body = NULL; /* a GET has no body */
    else if (!body) body = "";
    harness_answer h = harness_request(port, method, path, cookie, token, body, body ? strlen(body) : 0, NULL);
    answer a = {h.status, "", ""};
    char c[256];
    const char *v = strstr(harness_header(&h, "set-cookie", c, sizeof c), "ecgnet_session=");
    if (v) snprintf(a.cookie, sizeof a.cookie, "%.*s", (int)strcspn(v + 15, ";"), v + 15);
    snprintf(a.body, sizeof a.body, "%s", h.body ? (char *)h.body : "");
    harness_answer_free(&h);
    return a;
}

/* Logs card1 in through POST /api/login: its cookie and CSRF token into COOKIE and TOKEN. */
static int login(char cookie[128], char token[128])
{
    answer a = request("POST", "/api/login", NULL, NULL, "{\"name\": \"card1\", \"password\": \"" PW_CARD "\"}");
    cJSON *o = cJSON_Parse(a.body);
    const char *c = str(o, "csrf");
    int ok = a.status == 200 && a.cookie[0] && c;
    if (ok) {
        snprintf(cookie, 128, "%s", a.cookie);
        snprintf(token, 128, "%s", c);
    }
    cJSON_Delete(o);
    return ok;
}

/* TEMPLATE with {id} the recording's id and {patient_id} its patient id, into OUT; 0 when it
 * holds another parameter this test does not know. */
static int concrete(const char *template, char *out, size_t len)
{
    size_t o = 0;
    for (const char *p = template; *p && o + 32 < len;) {
        if (!strncmp(p, "{id}", 4)) {
            o += (size_t)snprintf(out + o, len - o, "%lld", (long long)rec);
            p += 4;
        } else if (!strncmp(p, "{patient_id}", 12)) {
            o += (size_t)snprintf(out + o, len - o, "%s", PATIENT);
            p += 12;
        } else if (*p == '{') {
            return 0;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = 0;
    return 1;
}

/* The live worklist's upgrade on a raw socket, with the session COOKIE (NULL: none): the status
 * line's code. */
static int live_upgrade(const char *cookie)
{
    int fd = harness_connect(port);
    if (fd < 0) return 0;
    char req[768];
    int n = snprintf(req, sizeof req,
                     "GET " PUSH_PATH " HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nOrigin: http://127.0.0.1:%d\r\n"
                     "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: " PUSH_PROTOCOL "\r\n%s%s%s\r\n",
                     port, port, cookie ? "Cookie: ecgnet_session=" : "", cookie ? cookie : "", cookie ? "\r\n" : "");
    char buf[1024];
    ssize_t k = write(fd, req, (size_t)n) == n ? read(fd, buf, sizeof buf - 1) : 0;
    close(fd);
    buf[k > 0 ? k : 0] = 0;
    int status = 0;
    /* lws refuses an upgrade with an HTTP/1.0 status line. */
    return sscanf(buf, "HTTP/1.%*d %d", &status) == 1 ? status : 0;
}

/* ---- the cases ---- */

static void it_is_openapi_3_0_with_info_and_paths(void)
{
    const char *v = str(spec, "openapi");
    CHECK(v && !strncmp(v, "3.0.", 4), "openapi is %s, not 3.0.x", v ? v : "missing");
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(spec, "info");
    const char *title = str(info, "title"), *version = str(info, "version"), *desc = str(info, "description");
    CHECK(title && *title, "info.title is missing");
    CHECK(desc && strstr(desc, "docs/api.md"), "info.description does not point to docs/api.md");
    /* The version is the project's, as CMakeLists.txt declares it. */
    FILE *f = fopen(ECGNET_SOURCE_DIR "/CMakeLists.txt", "r");
    char line[256], project[32] = "";
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "project(ecgnet VERSION %31[0-9.]", project) == 1) break;
    if (f) fclose(f);
    CHECK(project[0] && version && !strcmp(version, project), "info.version %s, the project's %s",
          version ? version : "missing", project);
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(spec, "paths");
    CHECK(cJSON_IsObject(paths) && cJSON_GetArraySize(paths) > 0, "no paths");
    /* The session cookie and the CSRF header, named as net/http_auth.c reads them. */
    const cJSON *schemes = deref(cJSON_GetObjectItemCaseSensitive(spec, "components"));
    schemes = cJSON_GetObjectItemCaseSensitive(schemes, "securitySchemes");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(schemes, "session"), *c = cJSON_GetObjectItemCaseSensitive(schemes, "csrf");
    CHECK(s && !strcmp(str(s, "type") ? str(s, "type") : "", "apiKey") && !strcmp(str(s, "in") ? str(s, "in") : "", "cookie") &&
              !strcmp(str(s, "name") ? str(s, "name") : "", "ecgnet_session"),
          "the session scheme is not the cookie ecgnet_session");
    CHECK(c && !strcmp(str(c, "type") ? str(c, "type") : "", "apiKey") && !strcmp(str(c, "in") ? str(c, "in") : "", "header") &&
              !strcmp(str(c, "name") ? str(c, "name") : "", "X-CSRF-Token"),
          "the csrf scheme is not the header X-CSRF-Token");
}

static void every_operation_has_responses_and_declares_its_path_parameters(void)
{
    const cJSON *item;
    int ops = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "paths")) {
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, methods[m]), *r;
            if (!op) continue;
            ops++;
            const cJSON *responses = cJSON_GetObjectItemCaseSensitive(op, "responses");
            CHECK(cJSON_IsObject(responses) && cJSON_GetArraySize(responses) > 0, "%s %s has no responses", methods[m],
                  item->string);
            cJSON_ArrayForEach(r, responses) {
                const cJSON *d = deref(r);
                CHECK(d && str(d, "description"), "%s %s: response %s has no description (or a dangling $ref)",
                      methods[m], item->string, r->string);
            }
            for (const char *p = strchr(item->string, '{'); p; p = strchr(p + 1, '{')) {
                char name[64];
                snprintf(name, sizeof name, "%.*s", (int)strcspn(p + 1, "}"), p + 1);
                CHECK(declares_path_param(item, op, name), "%s %s does not declare its path parameter %s", methods[m],
                      item->string, name);
            }
        }
    }
    CHECK(ops >= (int)(sizeof routes / sizeof *routes), "only %d operations", ops);
}

static void every_route_of_the_server_is_described(void)
{
    const cJSON *paths = cJSON_GetObjectItemCaseSensitive(spec, "paths");
    for (size_t i = 0; i < sizeof routes / sizeof *routes; i++) {
        const cJSON *item = cJSON_GetObjectItemCaseSensitive(paths, routes[i].path);
        CHECK(cJSON_GetObjectItemCaseSensitive(item, routes[i].method), "%s %s is routed but not in docs/openapi.json",
              routes[i].method, routes[i].path);
    }
}

/* For every operation of the file, a request as the file says (the session, the CSRF token on a
 * write; the body of every write the empty object, WRITE_BODY) reaches a handler: never 405 nor the router's 404 "no such path", and its
 * status is one the file lists for it. */
static void every_described_operation_is_served(void)
{
    const cJSON *item;
    int sent = 0;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "paths")) {
        char path[512];
        if (!concrete(item->string, path, sizeof path)) {
            CHECK(0, "%s: a path parameter this test cannot fill", item->string);
            continue;
        }
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, methods[m]);
            if (!op) continue;
            char method[16], code[8];
            size_t k;
            for (k = 0; methods[m][k] && k + 1 < sizeof method; k++) method[k] = (char)(methods[m][k] - 'a' + 'A');
            method[k] = 0;
            int status;
            static answer a; /* static: 8 KiB off the stack */
            a.body[0] = 0;
            if (!strcmp(item->string, PUSH_PATH)) {
                /* The live worklist is a WebSocket: the router sees a GET here only without the
                 * upgrade headers, and answers it 404 "no such path" like any path it does not
                 * serve, since lws hands an upgrade to net/push.c before the router. So the
                 * operation is tried as the file describes it, as an upgrade. */
                status = live_upgrade(session);
                CHECK(status == 101, "the live worklist's upgrade answered %d, not 101", status);
            } else if (!strcmp(item->string, "/api/logout")) {
                /* Logging out ends the session: a session of its own, so the others go on. */
                char c2[128], t2[128];
                CHECK(login(c2, t2), "a second login failed");
                a = request(method, path, c2, is_write(methods[m]) ? t2 : NULL, WRITE_BODY);
                status = a.status;
                CHECK(request("GET", "/api/me", c2, NULL, NULL).status == 401, "the session lives on after the logout");
            } else {
                a = request(method, path, session, is_write(methods[m]) ? csrf : NULL, WRITE_BODY);
                status = a.status;
            }
            sent++;
            CHECK(status != 0, "%s %s: no answer", method, path);
            CHECK(status != 405, "%s %s: 405, the router has another method there", method, path);
            CHECK(!(status == 404 && strstr(a.body, "no such path")), "%s %s: the router does not know the path", method,
                  path);
            snprintf(code, sizeof code, "%d", status);
            CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(op, "responses"), code),
                  "%s %s answered %d, which the file does not list", method, path, status);
        }
    }
    CHECK(sent >= (int)(sizeof routes / sizeof *routes), "only %d requests", sent);
}

/* What the file's security says is what the server enforces: an operation needing the session
 * answers 401 without it; one needing the CSRF token answers 403 without it (with the session);
 * one needing nothing answers without either. */
static void the_security_of_each_operation_is_enforced(void)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(spec, "paths")) {
        char path[512];
        if (!concrete(item->string, path, sizeof path)) continue;
        for (size_t m = 0; m < sizeof methods / sizeof *methods; m++) {
            const cJSON *op = cJSON_GetObjectItemCaseSensitive(item, methods[m]);
            if (!op) continue;
            const cJSON *sec = security_of(op);
            int needs_session = requires_scheme(sec, "session"), needs_csrf = requires_scheme(sec, "csrf");
            char method[16];
            size_t k;
            for (k = 0; methods[m][k] && k + 1 < sizeof method; k++) method[k] = (char)(methods[m][k] - 'a' + 'A');
            method[k] = 0;
            /* The CSRF token is asked for on exactly the writes. */
            CHECK(needs_csrf == is_write(methods[m]) || !needs_session, "%s %s: csrf %d on a %s", method, path,
                  needs_csrf, is_write(methods[m]) ? "write" : "read");
            if (!strcmp(item->string, PUSH_PATH)) {
                /* An upgrade, as above; the CSRF token does not apply to a GET. */
                CHECK(needs_session && live_upgrade(NULL) == 401, "the live worklist without a session: not 401");
                continue;
            }
            int without = request(method, path, NULL, NULL, WRITE_BODY).status;
            if (needs_session) CHECK(without == 401, "%s %s without a session: %d, not 401", method, path, without);
            else CHECK(without != 401 && without != 403, "%s %s needs nothing, yet answered %d", method, path, without);
            if (needs_csrf) {
                int no_token = request(method, path, session, NULL, WRITE_BODY).status;
                CHECK(no_token == 403, "%s %s without X-CSRF-Token: %d, not 403", method, path, no_token);
            }
        }
    }
}

int main(void)
{
    char data_dir[1024], rec_dir[1024], store_url[1200], token[STORE_TOKEN_CHARS + 1];
    device_source src;
    int32_t *src_samples = NULL;
    net_log_set_level(NET_LOG_ERROR);
    spec = load_spec();
    if (!spec) return 2;
    snprintf(data_dir, sizeof data_dir, "%s", check_tmpdir("openapi-data"));
    snprintf(rec_dir, sizeof rec_dir, "%s", check_tmpdir("openapi-records"));
    snprintf(store_url, sizeof store_url, "sqlite:%s/ecgnet.db", data_dir);
    harness_record(rec_dir, "syn", 2, 250, 4, &src, &src_samples);
    snprintf(src.patient.id, sizeof src.patient.id, PATIENT);
    store *s = store_open(store_url, err, sizeof err);
    if (!s || store_device_add(s, "dev-a", "Test Township", token, err, sizeof err) ||
        store_user_add(s, "card1", "cardiologist", NULL, PW_CARD, err, sizeof err)) {
        fprintf(stderr, "setup: %s\n", err);
        return 2;
    }
    store_close(s);
    server_config c = {0};
    c.ingest.data_dir = data_dir;
    c.ingest.workers = 1;
    harness_server hs = harness_serve(&c);
    port = server_port(hs.sv);
    rec = harness_stream_recording(port, store_url, &src, "dev-a", token, "rec-oa");
    if (!login(session, csrf)) {
        fprintf(stderr, "setup: POST /api/login as card1 failed\n");
        return 2;
    }

    RUN(it_is_openapi_3_0_with_info_and_paths);
    RUN(every_operation_has_responses_and_declares_its_path_parameters);
    RUN(every_route_of_the_server_is_described);
    RUN(every_described_operation_is_served);
    RUN(the_security_of_each_operation_is_enforced);
    harness_stop(&hs);
    free(src_samples);
    cJSON_Delete(spec);
    return check_report();
}
