/* http_static.c — serves the files of web/ (the cardiologists' page) safely over HTTP. */
#include "http_static.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define SEGMENT_MAX 100

/* The page loads only its own files and talks only to its own server; nothing may frame it
 * (a framed review page could be clicked through by another site). */
static const char security_headers[] =
    "cache-control: no-cache\x0d\x0a"
    "x-content-type-options: nosniff\x0d\x0a"
    "referrer-policy: no-referrer\x0d\x0a"
    "content-security-policy: default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'\x0d\x0a";

static const struct {
    const char *ext, *type;
} mime_types[] = {
    {".html", "text/html; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".txt", "text/plain; charset=utf-8"},
    {".wav", "audio/wav"},
};

const char *http_static_mime(const char *path)
{
    const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
    if (!dot || (slash && dot < slash)) return NULL;
    for (size_t i = 0; i < sizeof mime_types / sizeof *mime_types; i++)
        if (!strcmp(dot, mime_types[i].ext)) return mime_types[i].type;
    return NULL;
}

static int segment_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

int http_static_path(const char *uri, char *out, size_t outlen)
{
    if (!uri || uri[0] != '/') return -1;
    if (!strcmp(uri, "/")) uri = "/index.html";
    const char *p = uri + 1;
    size_t n = strlen(p);
    if (n == 0 || n >= outlen) return -1;
    /* Segment by segment: a whitelist of characters, no leading dot, no empty segment. That one
     * rule refuses "..", ".", hidden files, "//" (an absolute path after the first '/'), "\",
     * "%" left over from double encoding and control characters. */
    for (const char *s = p; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len == 0 || len > SEGMENT_MAX || s[0] == '.') return -1;
        for (size_t i = 0; i < len; i++)
            if (!segment_char(s[i])) return -1;
        if (!e) break;
        s = e + 1;
        if (!*s) return -1; /* a trailing '/': a directory */
    }
    memcpy(out, p, n + 1);
    return 0;
}

/* DIR counts as the web directory when it holds a readable index.html. */
static int has_index(const char *dir)
{
    char path[PATH_MAX + 16];
    if (snprintf(path, sizeof path, "%s/index.html", dir) >= (int)sizeof path) return 0;
    return access(path, R_OK) == 0;
}

/* The directory holding DIR_OF (a file's path), with SUFFIX appended, into OUT; 0 or -1. */
static int sibling(const char *dir_of, const char *suffix, char *out, size_t outlen)
{
    const char *slash = strrchr(dir_of, '/');
    if (!slash) return -1;
    int n = snprintf(out, outlen, "%.*s%s", (int)(slash - dir_of), dir_of, suffix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int http_static_find_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    const char *env = getenv(HTTP_STATIC_ENV);
    if (env && *env) {
        if (has_index(env) && strlen(env) < outlen) {
            memcpy(out, env, strlen(env) + 1);
            return 0;
        }
        net_errf(err, errlen, "%s: no readable index.html in the directory named by $%s", env, HTTP_STATIC_ENV);
        return -1;
    }
    char exe[PATH_MAX], installed[PATH_MAX + 32] = "", source[PATH_MAX] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        if (!sibling(exe, "/../share/ecgnet/web", installed, sizeof installed) && has_index(installed) &&
            strlen(installed) < outlen) {
            memcpy(out, installed, strlen(installed) + 1);
            return 0;
        }
    }
    /* __FILE__ is <source>/net/http_static.c: its directory's parent holds web/. */
    char net_dir[PATH_MAX];
    if (!sibling(__FILE__, "", net_dir, sizeof net_dir) && !sibling(net_dir, "/web", source, sizeof source) &&
        has_index(source) && strlen(source) < outlen) {
        memcpy(out, source, strlen(source) + 1);
        return 0;
    }
    net_errf(err, errlen, "the web page (index.html) was not found: looked in $%s (unset), %s and %s",
             HTTP_STATIC_ENV, installed[0] ? installed : "<exe dir>/../share/ecgnet/web",
             source[0] ? source : "<source tree>/web");
    return -1;
}

/* A short plain-text answer (404, 500) written at once; returns the callback's return value. */
static int reply_text(struct lws *wsi, unsigned code, const char *text)
{
    uint8_t buf[LWS_PRE + 1024], *start = buf + LWS_PRE, *p = start, *end = buf + sizeof buf - 1;
    size_t len = strlen(text);
    if (lws_add_http_common_headers(wsi, code, "text/plain; charset=utf-8", (lws_filepos_t)len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL, (const unsigned char *)"no-store", 8, &p,
                                     end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* The body goes out with the same headroom rule: LWS_PRE bytes before it. */
    uint8_t body[LWS_PRE + 256];
    if (len > sizeof body - LWS_PRE) len = sizeof body - LWS_PRE;
    memcpy(body + LWS_PRE, text, len);
    if (lws_write(wsi, body + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) < (int)len) return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

static int not_found(struct lws *wsi) { return reply_text(wsi, HTTP_STATUS_NOT_FOUND, "not found\n"); }

int http_static_serve(struct lws *wsi, const char *web_dir, const char *uri)
{
    char *u = NULL;
    int ulen = 0;
    if (lws_http_get_uri_and_method(wsi, &u, &ulen) != LWSHUMETH_GET || !uri) return 1;
    const char *named = strcmp(uri, "/") ? uri : "/index.html";
    const char *type = http_static_mime(named);
    if (!type) return 1;

    char rel[PATH_MAX / 2];
    if (http_static_path(uri, rel, sizeof rel)) return not_found(wsi);

    char found[PATH_MAX], err[PATH_MAX * 3];
    if (!web_dir) {
        if (http_static_find_dir(found, sizeof found, err, sizeof err)) {
            net_log(NET_LOG_ERROR, "http.static", "error=\"%s\"", err);
            return reply_text(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR, "the web page is not installed on this server\n");
        }
        web_dir = found;
    }
    /* The path is already free of "..", but a symbolic link inside the web directory could still
     * lead out of it: the file's real path must lie under the directory's real path. */
    char path[PATH_MAX + PATH_MAX / 2 + 2], real_dir[PATH_MAX], real_file[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", web_dir, rel) >= (int)sizeof path) return not_found(wsi);
    if (!realpath(web_dir, real_dir) || !realpath(path, real_file)) return not_found(wsi);
    size_t dl = strlen(real_dir);
    if (strncmp(real_file, real_dir, dl) || real_file[dl] != '/') return not_found(wsi);
    struct stat st;
    if (stat(real_file, &st) || !S_ISREG(st.st_mode) || access(real_file, R_OK)) return not_found(wsi);

    int n = lws_serve_http_file(wsi, real_file, type, security_headers, (int)strlen(security_headers));
    /* <0: failed, close; >0: sent already, the transaction is over (keep the connection if we
     * may); 0: libwebsockets sends the rest as the connection takes it. */
    if (n < 0 || (n > 0 && lws_http_transaction_completed(wsi))) return -1;
    return 0;
}
