#!/usr/bin/env bash
# Builds dtls-bridge/bin/dtls-bridge from Debian's Go packages (GOPATH mode, no network).
# Rebuilds only when a Go source (or this script) is newer than the binary.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

BIN="$DTLS_BRIDGE_DIR/bin/dtls-bridge"
if [ -x "$BIN" ] && [ -z "$(find "$DTLS_BRIDGE_DIR" -path "$PRIVATE_GOPATH" -prune -o \
      \( -name '*.go' -o -name '*.sh' \) -newer "$BIN" -print | head -n 1)" ]; then
  echo "dtls-bridge: $BIN is up to date"
  exit 0
fi

mkdir -p "$DTLS_BRIDGE_DIR/bin"
start=$(date +%s%N)
go build -o "$BIN" dtlsbridge/cmd/dtls-bridge
echo "dtls-bridge: built $BIN with $(go version | cut -d' ' -f3) (GOPATH=$GOPATH) in $(( ($(date +%s%N) - start) / 1000000 )) ms"
