/*
 * wolfssl-bridge: DTLS 1.3 (RFC 9147) for the testbed's TypeScript roles, from wolfSSL built out
 * of Debian's own source package (cli/wolfssl-build.ts). The same control and plaintext-datagram
 * interface as the pion dtls-bridge (dtls-bridge/README.md), so a profile picks DTLS 1.2 or 1.3
 * in one place (emulators/dtls/).
 */
#include <stdio.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include "modes.h"
#include "options.h"

int main(int argc, char **argv) {
  bridge_options o;
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (parse_options(argc, argv, &o) != 0) return 2;
  if (wolfSSL_Init() != WOLFSSL_SUCCESS) {
    fprintf(stderr, "wolfssl-bridge: wolfSSL_Init failed\n");
    return 1;
  }
  int rc = o.mode == MODE_SERVER ? run_server(&o) : o.mode == MODE_CLIENT ? run_client(&o) : o.mode == MODE_TLS_SERVER ? run_tls_server(&o)
           : o.mode == MODE_TLS_CLIENT ? run_tls_client(&o) : run_bench(&o);
  wolfSSL_Cleanup();
  return rc;
}
