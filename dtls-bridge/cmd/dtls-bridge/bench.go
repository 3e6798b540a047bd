package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"dtlsbridge/bridge"
)

// runBench is `dtls-bridge bench`: the pion-to-pion baseline of bench/dtls.ts, printed as one
// JSON line ({"event":"bench", …}).
func runBench(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("dtls-bridge bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o bridge.BenchOptions
	fs.StringVar(&o.ServerCert, "cert", "", "server PEM certificate chain")
	fs.StringVar(&o.ServerKey, "key", "", "server PEM key")
	fs.StringVar(&o.ClientCert, "client-cert", "", "client PEM certificate chain (mutual authentication)")
	fs.StringVar(&o.ClientKey, "client-key", "", "client PEM key")
	fs.StringVar(&o.CAFile, "ca", "", "PEM CAs both sides trust")
	fs.StringVar(&o.ServerName, "server-name", "", "DNS name the server certificate carries")
	fs.StringVar(&o.Ciphers, "ciphers", "ECDHE-ECDSA-AES128-GCM-SHA256", "cipher suites")
	fs.IntVar(&o.Handshakes, "handshakes", 100, "sequential full handshakes")
	fs.IntVar(&o.Datagrams, "datagrams", 10000, "datagrams on one connection, each answered")
	fs.IntVar(&o.Window, "window", 50, "datagrams in flight")
	fs.IntVar(&o.PayloadBytes, "payload", 97, "datagram size (a reading datagram is 97 bytes)")
	fs.IntVar(&o.AnswerBytes, "answer", 26, "answer size (an ack of one sequence is 26 bytes)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if o.ServerCert == "" || o.CAFile == "" || o.ServerName == "" {
		fmt.Fprintln(stderr, "dtls-bridge bench: --cert, --key, --ca and --server-name are required")
		return 2
	}
	res, err := bridge.RunBench(o)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	line, _ := json.Marshal(struct {
		Event string `json:"event"`
		bridge.BenchResult
	}{"bench", res})
	fmt.Fprintln(stdout, string(line))
	return 0
}
