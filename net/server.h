/* server.h — ecgnetd's network side: one libwebsockets event loop serving HTTP and the ecgnet.v1
 * device WebSocket and the reviewers' live worklist (push.h) on one port, wired to the ingest
 * service and the store.
 *
 * Only the thread that calls server_run touches connections (libwebsockets is single-threaded by
 * design); the ingest workers hand results back through lws_cancel_service.
 */
#ifndef ECGNET_NET_SERVER_H
#define ECGNET_NET_SERVER_H

#include <stddef.h>

#include "ingest.h"

typedef struct {
    const char *listen;     /* address to bind; NULL or "" means 127.0.0.1 */
    int port;               /* 0 picks a free port (tests read it with server_port) */
    const char *tls_cert;   /* PEM certificate and key: TLS (wss://, https://) */
    const char *tls_key;
    int plain;              /* 1: plain ws:// on a non-loopback address — only on a trusted
                               network; without it such a configuration is refused */
    const char *store_url;  /* NULL: sqlite at <data_dir>/ecgnet.db */
    double hello_timeout_s; /* a connection must say hello within this; 0: 10 */
    int live_ping_s;        /* seconds between pings of the live worklist's pages (net/push.h); 0: 20 */
    double claim_timeout_s; /* how long a cardiologist's claim lasts; 0: the store's default (15 min) */
    double critical_ack_s;  /* how long a clinic has to acknowledge a critical value before it
                               escalates; 0: the store's default (15 min) */
    ingest_config ingest;   /* data_dir is required */
} server_config;

typedef struct server server;

/* Opens the store, recovers recordings left by a previous run, starts the workers and binds the
 * port. Returns NULL with a message in err (port in use, TLS files unreadable, plain on a
 * public address without `plain`, store errors). */
server *server_create(const server_config *c, char *err, size_t errlen);

/* The port actually bound. */
int server_port(const server *s);

/* Runs the event loop until server_stop. Returns 0, or -1 if the loop failed. */
int server_run(server *s);

/* Asks server_run to return; safe from any thread and from a signal handler. */
void server_stop(server *s);

/* Closes every connection (devices are told to reconnect and resume), drains the workers so
 * every acknowledged sample is on disk, and frees everything. NULL is a no-op. */
void server_free(server *s);

#endif
