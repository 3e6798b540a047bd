# Sourced by build.sh and test.sh: checks the Debian packages and prepares a private GOPATH.
# Debian ships pion/dtls with a v2/ folder, but pion/transport and pion/udp without one, while
# dtls v2 imports them as .../transport/v2 and .../udp/v2; the symlinks below bridge that gap.
# Everything comes from /usr/share/gocode: no network, no Go module proxy (GOPROXY=off).

DTLS_BRIDGE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
GOCODE_SRC=/usr/share/gocode/src
APT_HINT="apt-get install golang-go golang-github-pion-dtls.v2-dev"

# Exit status 3 means "a prerequisite is missing" (a skip outside CI); any other failure of
# build.sh, a Go compile error above all, is a failure with the compiler's message
# (emulators/dtls/dtls-bridge-process.ts tells the two apart by this status).
DTLS_BRIDGE_MISSING_PREREQUISITE=3
dtls_bridge_fail() {
  echo "dtls-bridge: $1; install the Debian packages with: $APT_HINT" >&2
  exit "$DTLS_BRIDGE_MISSING_PREREQUISITE"
}

command -v go >/dev/null 2>&1 || dtls_bridge_fail "the 'go' command is not on PATH"
for dep in github.com/pion/dtls/v2 github.com/pion/transport github.com/pion/udp \
           github.com/pion/logging golang.org/x/crypto golang.org/x/net; do
  [ -d "$GOCODE_SRC/$dep" ] || dtls_bridge_fail "Go sources for $dep are missing under $GOCODE_SRC"
done

PRIVATE_GOPATH="$DTLS_BRIDGE_DIR/.gopath"
mkdir -p "$PRIVATE_GOPATH/src/github.com/pion/transport" "$PRIVATE_GOPATH/src/github.com/pion/udp"
ln -sfn "$GOCODE_SRC/github.com/pion/transport" "$PRIVATE_GOPATH/src/github.com/pion/transport/v2"
ln -sfn "$GOCODE_SRC/github.com/pion/udp" "$PRIVATE_GOPATH/src/github.com/pion/udp/v2"
# The bridge itself is importable as "dtlsbridge/..." from the private GOPATH.
ln -sfn "$DTLS_BRIDGE_DIR" "$PRIVATE_GOPATH/src/dtlsbridge"

export GO111MODULE=off GOPROXY=off GOFLAGS= CGO_ENABLED=0
export GOPATH="$PRIVATE_GOPATH:/usr/share/gocode"
