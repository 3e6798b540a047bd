#!/usr/bin/env bash
# Builds link-delay/bin/link-delay (standard library only: no module download), static so it
# runs inside the containers from the /testbed mount. Rebuilds only when main.go is newer.
set -euo pipefail
DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BIN="$DIR/bin/link-delay"
if [ -x "$BIN" ] && [ "$BIN" -nt "$DIR/main.go" ] && [ "$BIN" -nt "$DIR/build.sh" ]; then
  echo "link-delay: $BIN is up to date"
  exit 0
fi
command -v go >/dev/null || { echo "link-delay: go is missing; install it (testbed setup --only go) to build $BIN" >&2; exit 3; }
mkdir -p "$DIR/bin"
cd "$DIR" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -o "$BIN" .
echo "link-delay: built $BIN with $(go version | cut -d' ' -f3)"
