/* http_static.h — ecgnetd serves the cardiologists' web page (the files of web/) over HTTP.
 *
 * Where the page is (http_static_find_dir), first match wins, as models/datafile.h finds the
 * model files:
 *   1. the directory named by the environment variable ECGNET_WEB_DIR, if set (it must then
 *      hold index.html: a wrong setting is an error, not a silent fallback);
 *   2. <directory of the running executable>/../share/ecgnet/web (an installed ecgnet);
 *   3. the source tree's web/ (a plain CMake build: found from this file's own path, which
 *      CMake passes to the compiler as an absolute path).
 * A directory counts only when it holds a readable index.html.
 *
 * Runs on the event loop, like everything that touches connections.
 */
#ifndef ECGNET_NET_HTTP_STATIC_H
#define ECGNET_NET_HTTP_STATIC_H

#include <stddef.h>

#include <libwebsockets.h>

#define HTTP_STATIC_ENV "ECGNET_WEB_DIR"

/* Finds the web directory as described above and writes its path into OUT (OUTLEN bytes).
 * Returns 0, or -1 with a message in ERR listing every place looked (or why $ECGNET_WEB_DIR
 * is unusable). */
int http_static_find_dir(char *out, size_t outlen, char *err, size_t errlen);

/* The Content-Type for PATH's extension (".html", ".css", ".js", ".json", ".svg", ".png",
 * ".ico", ".txt", ".wav"), text types with "; charset=utf-8"; NULL for any other name. A
 * static string. */
const char *http_static_mime(const char *path);

/* Checks URI (the request path, without the query, as libwebsockets decoded it) as a static
 * file's path: "/" means "/index.html"; every segment must be 1..100 characters of
 * A-Z a-z 0-9 . _ - and not start with '.' (so no "..", no hidden files, no empty segment);
 * backslashes and absolute paths beyond the leading '/' are refused by the same rule. Writes
 * the path relative to the web directory (no leading '/') into OUT. Returns 0, or -1 when URI
 * is not such a path (or does not fit OUTLEN). */
int http_static_path(const char *uri, char *out, size_t outlen);

/* Serves URI from WEB_DIR (NULL: http_static_find_dir's answer, looked up on each call) in
 * answer to the GET request on WSI, with lws_serve_http_file, as a libwebsockets HTTP callback
 * would: call it from LWS_CALLBACK_HTTP (once the request's other routes did not match).
 *
 * Returns 1 without answering when the request is not one this function handles: a method
 * other than GET, or a URI whose name has no extension http_static_mime knows (the caller then
 * answers, e.g. 404). Otherwise it answers and returns what the callback must return (0 carry
 * on, -1 close the connection): the file (200, its MIME type, Cache-Control: no-cache,
 * X-Content-Type-Options: nosniff and a Content-Security-Policy that allows only the server's
 * own scripts, styles and API), or 404 for an unsafe path (see http_static_path), a path that
 * leaves WEB_DIR through a symbolic link, a missing or unreadable file or a directory, or 500
 * when no web directory is found (logged). The file's bytes are sent by libwebsockets as the
 * connection takes them; no state is kept here. */
int http_static_serve(struct lws *wsi, const char *web_dir, const char *uri);

#endif
