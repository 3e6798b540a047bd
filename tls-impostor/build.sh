#!/usr/bin/env bash
# Builds tls-impostor from Go's standard library only (no network, no modules): Debian golang-go.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
bin="$here/bin/tls-impostor"
if ! command -v go >/dev/null; then
  echo "tls-impostor: Go is not installed; run: apt-get install golang-go (or testbed doctor)" >&2
  exit 1
fi
if [ -x "$bin" ] && [ "$bin" -nt "$here/main.go" ]; then exit 0; fi
mkdir -p "$here/bin" "$here/.cache"
cd "$here"
GO111MODULE=off GOPROXY=off CGO_ENABLED=0 GOCACHE="$here/.cache" go build -o "$bin" main.go
echo "tls-impostor: built $bin"
