// Command dtls-bridge terminates or originates DTLS 1.2 (pion/dtls v2) for the testbed's
// TypeScript roles and relays plaintext datagrams to them over loopback UDP. Events are JSON
// lines on stdout, logs go to stderr, control commands are JSON lines on stdin. See README.md.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"dtlsbridge/bridge"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func usage(stderr io.Writer) int {
	fmt.Fprintln(stderr, "usage: dtls-bridge server|client|fleet|bench [flags]   (dtls-bridge server -h lists the flags)")
	return 2
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "bench" {
		return runBench(args[1:], stdout, stderr)
	}
	if len(args) == 0 || (args[0] != "server" && args[0] != "client" && args[0] != "fleet") {
		return usage(stderr)
	}
	mode := args[0]
	fs := flag.NewFlagSet("dtls-bridge "+mode, flag.ContinueOnError)
	fs.SetOutput(stderr)

	var common bridge.Common
	var server bridge.ServerOptions
	var client bridge.ClientOptions
	maxSessions := bridge.DefaultMaxSessions
	logLevel := fs.String("log-level", "warn", "stderr verbosity: error, warn, info, debug, trace")
	fs.StringVar(&common.CertFile, "cert", "", "PEM certificate chain, leaf first")
	fs.StringVar(&common.KeyFile, "key", "", "PEM private key (PKCS#8, PKCS#1 RSA or SEC 1 EC)")
	fs.StringVar(&common.PSKHex, "psk", "", "pre-shared key in hex; enables the PSK suites")
	fs.StringVar(&common.Ciphers, "ciphers", "", "comma-separated suites: "+strings.Join(bridge.CipherNames(), ", "))
	fs.StringVar(&common.EMS, "extended-master-secret", "request", "RFC 7627 extended master secret: require, request or disable")
	fs.BoolVar(&common.SessionStore, "session-store", false, "keep sessions for session-ID resumption")
	fs.DurationVar(&common.HandshakeTimeout, "handshake-timeout", bridge.DefaultHandshakeTimeout, "bound on one handshake")
	fs.IntVar(&common.MTU, "mtu", bridge.DefaultMTU, "largest handshake datagram pion writes")
	fs.StringVar(&common.KeyLogFile, "keylog", "", "append NSS key log lines (SSLKEYLOGFILE format) to this file, mode 0600")
	if mode == "server" {
		fs.StringVar(&common.CAFile, "ca", "", "PEM CA certificates that issue client certificates")
		fs.StringVar(&common.PSKIdentity, "psk-identity-hint", "", "PSK identity hint sent to clients")
		fs.StringVar(&server.Listen, "listen", "", "DTLS UDP address, e.g. 127.0.0.1:5684")
		fs.StringVar(&server.Plain, "plain", "", "loopback UDP address of the TypeScript role (receives framed plaintext)")
		fs.StringVar(&server.PlainLocal, "plain-local", "127.0.0.1:0", "the bridge's plaintext socket (the TS role answers here)")
		fs.StringVar(&server.ClientAuth, "client-auth", "none", "client certificates: none, request or require")
		fs.BoolVar(&common.UncheckedKeyPair, "unchecked-key-pair", false, "MITM only: serve --cert with a --key that does not match it (replaced-key attack)")
		fs.IntVar(&server.MaxPeers, "max-peers", bridge.DefaultMaxPeers, "connections handshaking or established at once")
	} else {
		fs.StringVar(&common.CAFile, "ca", "", "PEM CA certificates trusted for the server")
		if mode == "client" {
			fs.StringVar(&common.PSKIdentity, "psk-identity", "", "PSK identity sent to the server")
		} else {
			fs.IntVar(&maxSessions, "max-sessions", bridge.DefaultMaxSessions, fmt.Sprintf("fleet: sessions handshaking or established at once (1..%d); each opened by {\"cmd\":\"open\",...}", bridge.MaxFleetSessions))
		}
		fs.StringVar(&client.Connect, "connect", "", "DTLS server UDP address")
		fs.StringVar(&client.Local, "local", "", "local UDP address for the DTLS side (default: any free port)")
		fs.StringVar(&client.Plain, "plain", "", "the bridge's loopback plaintext socket; the TS role sends to and receives from it")
		fs.StringVar(&client.PlainPeer, "plain-peer", "", "only this loopback address may send plaintext (default: the last sender)")
		fs.StringVar(&client.ServerName, "server-name", "", "DNS name the server certificate must carry")
		fs.BoolVar(&client.InsecureSkipVerify, "insecure-skip-verify", false, "no-verify profile: accept any server certificate")
	}
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "dtls-bridge: unexpected arguments %q\n", fs.Args())
		return 2
	}
	level, err := bridge.ParseLogLevel(*logLevel)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	events := bridge.NewEmitter(stdout)
	log := bridge.NewLogger(stderr, level)

	var role bridge.Role
	if mode == "server" {
		server.Common = common
		role, err = bridge.NewServer(server, events, log)
	} else if mode == "fleet" {
		client.Common = common
		role, err = bridge.NewFleet(bridge.FleetOptions{ClientOptions: client, MaxSessions: maxSessions}, events, log)
	} else {
		client.Common = common
		role, err = bridge.NewClient(client, events, log)
	}
	if err == nil {
		err = role.Start()
	}
	if err != nil {
		events.Emit("error", bridge.Event{"scope": "startup", "error": err.Error()})
		fmt.Fprintln(stderr, err)
		return 1
	}

	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	shutdown := make(chan struct{}, 1)
	go readControl(role, stdin, events, shutdown)
	select {
	case sig := <-signals:
		log.Logf(bridge.LogInfo, "%s: shutting down", sig)
	case <-shutdown:
	}
	role.Close()
	return 0
}

// readControl runs control commands from stdin. End of input only ends control: the bridge
// keeps running until a signal or {"cmd":"shutdown"}.
func readControl(role bridge.Role, stdin io.Reader, events *bridge.Emitter, shutdown chan<- struct{}) {
	if bridge.ReadControl(role, stdin, events) {
		shutdown <- struct{}{}
	}
}
