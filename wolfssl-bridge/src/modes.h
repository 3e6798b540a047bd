/* The bridge's modes, each its own file. */
#ifndef WOLFSSL_BRIDGE_MODES_H
#define WOLFSSL_BRIDGE_MODES_H
#include "options.h"

int run_server(const bridge_options *o);
int run_client(const bridge_options *o);
int run_bench(const bridge_options *o);
void fcntl_nonblock(int fd);
#endif
