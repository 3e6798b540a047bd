#!/usr/bin/env bash
# go vet + go test for the bridge, in the same GOPATH mode as build.sh. Extra arguments go to
# `go test` (e.g. ./test.sh -run Resumption -v). The end-to-end test execs the built binary.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$here/build.sh"
source "$here/env.sh"
# Listed explicitly: "..." patterns do not follow the symlinked dtlsbridge tree.
PACKAGES="dtlsbridge/bridge dtlsbridge/testpki dtlsbridge/cmd/dtls-bridge"
go vet $PACKAGES
DTLS_BRIDGE_BIN="$here/bin/dtls-bridge" go test -count=1 "$@" $PACKAGES
