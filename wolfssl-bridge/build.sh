#!/usr/bin/env bash
# Builds wolfssl-bridge/bin/wolfssl-bridge against the static wolfSSL that setup builds from
# Debian's source package (cli/wolfssl-build.ts). Static wolfSSL: Debian's libwolfssl35 (same
# SONAME, no DTLS 1.3) can never be loaded instead. Rebuilds only when a source is newer.
# Exit 3: wolfSSL is not built (the one failure a scenario may report as a skip, outside CI).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
prefix="$here/build/prefix"
bin="$here/bin/wolfssl-bridge"
if [ ! -f "$prefix/lib/libwolfssl.a" ] || ! grep -q '#define WOLFSSL_DTLS13' "$prefix/include/wolfssl/options.h" 2>/dev/null; then
  echo "wolfssl-bridge: wolfSSL with DTLS 1.3 is not built in $prefix; build it (as root, about 3 min) with: node bin/testbed.js setup --only wolfssl" >&2
  exit 3
fi
if [ -x "$bin" ] && [ -z "$(find "$here/src" "$here/build.sh" "$prefix/lib/libwolfssl.a" -newer "$bin" -print | head -n 1)" ]; then
  echo "wolfssl-bridge: $bin is up to date"
  exit 0
fi
mkdir -p "$here/bin"
start=$(date +%s%N)
# -Wall -Wextra -Werror: a warning is a defect here. libm for wolfSSL's math; -lpthread for its mutexes.
gcc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -I"$prefix/include" -o "$bin.tmp" "$here"/src/*.c "$prefix/lib/libwolfssl.a" -lm -lpthread
mv "$bin.tmp" "$bin"
echo "wolfssl-bridge: built $bin in $(( ($(date +%s%N) - start) / 1000000 )) ms ($(grep -o 'LIBWOLFSSL_VERSION_STRING "[^"]*"' "$prefix/include/wolfssl/version.h"))"
