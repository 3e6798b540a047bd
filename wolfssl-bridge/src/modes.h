/* The bridge's modes, each its own file. */
#ifndef WOLFSSL_BRIDGE_MODES_H
#define WOLFSSL_BRIDGE_MODES_H
#include "options.h"

int run_server(const bridge_options *o);
int run_client(const bridge_options *o);
int run_bench(const bridge_options *o);
int run_tls_server(const bridge_options *o); /* tls-server.c: TLS 1.3 over TCP, a front of a TCP service */
int run_tls_client(const bridge_options *o); /* tls-client.c */
void fcntl_nonblock(int fd);
#endif
