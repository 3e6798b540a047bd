package main

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"dtlsbridge/testpki"
)

// bridgeBinary is the binary under test: $DTLS_BRIDGE_BIN (test.sh sets it to the one
// build.sh made) or a fresh build of this package.
func bridgeBinary(t *testing.T) string {
	t.Helper()
	if bin := os.Getenv("DTLS_BRIDGE_BIN"); bin != "" {
		return bin
	}
	bin := filepath.Join(t.TempDir(), "dtls-bridge")
	if out, err := exec.Command("go", "build", "-o", bin, "dtlsbridge/cmd/dtls-bridge").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// process is a running bridge with its stdout events on a channel.
type process struct {
	cmd    *exec.Cmd
	events chan map[string]interface{}
}

func startBridge(t *testing.T, args ...string) *process {
	t.Helper()
	return startCommand(t, exec.Command(bridgeBinary(t), args...))
}

// startCommand starts a bridge command the caller prepared (e.g. with a stdin pipe).
func startCommand(t *testing.T, cmd *exec.Cmd) *process {
	t.Helper()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, events: make(chan map[string]interface{}, 64)}
	go func() {
		defer close(p.events)
		lines := bufio.NewScanner(stdout)
		for lines.Scan() {
			var ev map[string]interface{}
			if err := json.Unmarshal(lines.Bytes(), &ev); err != nil {
				t.Errorf("stdout line is not JSON: %q", lines.Text())
				continue
			}
			p.events <- ev
		}
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return p
}

// next returns the next event of the kind, skipping others.
func (p *process) next(t *testing.T, kind string) map[string]interface{} {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-p.events:
			if !ok {
				t.Fatalf("bridge exited before a %s event", kind)
			}
			if ev["event"] == kind {
				return ev
			}
			if ev["event"] == "error" || ev["event"] == "handshake-failed" {
				t.Fatalf("waiting for %s, got %v", kind, ev)
			}
		case <-timeout:
			t.Fatalf("no %s event within 10 s", kind)
		}
	}
}

func udpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	return conn
}

func resolve(t *testing.T, addr interface{}) *net.UDPAddr {
	t.Helper()
	udpAddr, err := net.ResolveUDPAddr("udp", addr.(string))
	if err != nil {
		t.Fatal(err)
	}
	return udpAddr
}

func TestBinaryHandshakeEchoAndShutdown(t *testing.T) {
	pki := testpki.New(t)
	tsServer, tsClient := udpSocket(t), udpSocket(t)

	server := startBridge(t, "server", "--listen", "127.0.0.1:0", "--plain", tsServer.LocalAddr().String(),
		"--cert", pki.ServerCert, "--key", pki.ServerKey, "--session-store")
	listening := server.next(t, "listening")

	client := startBridge(t, "client", "--connect", listening["dtls"].(string), "--plain", "127.0.0.1:0",
		"--ca", pki.CAFile, "--server-name", "cloud.testbed.local", "--session-store")
	clientPlain := resolve(t, client.next(t, "listening")["plain"])
	hs := client.next(t, "handshake")
	if hs["version"] != "DTLS 1.2" || hs["peerCertificate"].(map[string]interface{})["subjectCN"] != "cloud.testbed.local" {
		t.Fatalf("client handshake event: %v", hs)
	}
	peerID := uint32(server.next(t, "handshake")["peerId"].(float64))

	// TS client -> client bridge -> DTLS -> server bridge -> TS server, echoed back.
	if _, err := tsClient.WriteToUDP([]byte("hello cloud"), clientPlain); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 2048)
	n, from, err := tsServer.ReadFromUDP(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := binary.BigEndian.Uint32(buf); got != peerID || string(buf[4:n]) != "hello cloud" {
		t.Fatalf("server TS side got peer %d %q", got, buf[4:n])
	}
	if _, err := tsServer.WriteToUDP(buf[:n], from); err != nil { // echo, same header
		t.Fatal(err)
	}
	n, _, err = tsClient.ReadFromUDP(buf)
	if err != nil || string(buf[:n]) != "hello cloud" {
		t.Fatalf("echo: %q %v", buf[:n], err)
	}

	for _, p := range []*process{client, server} {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		for ev := p.next(t, "closed"); ev["scope"] != "bridge"; ev = p.next(t, "closed") {
		}
		for range p.events { // drain until stdout closes
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
	}
}

func TestBinaryRejectsBadFlags(t *testing.T) {
	cmd := exec.Command(bridgeBinary(t), "client", "--connect", "127.0.0.1:1", "--plain", "127.0.0.1:0", "--ca", "x.pem", "--server-name", "127.0.0.1")
	cmd.Stderr = io.Discard
	out, err := cmd.Output()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("IP literal as --server-name accepted: %v %s", err, out)
	}
}

// An over-long control line used to end the bridge's control channel without a word (the
// scanner's 64 KiB token limit): every later command, shutdown included, was ignored.
func TestBinaryControlLineOverTheLimitIsAnErrorAndControlCarriesOn(t *testing.T) {
	tsServer := udpSocket(t)
	cmd := exec.Command(bridgeBinary(t), "server", "--listen", "127.0.0.1:0", "--plain", tsServer.LocalAddr().String(),
		"--psk", "000102030405060708090a0b0c0d0e0f")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := startCommand(t, cmd)
	p.next(t, "listening")
	line := `{"cmd":"stats","pad":"` + strings.Repeat("x", 70*1024) + `"}` + "\n"
	if _, err := io.WriteString(stdin, line+"{not json\n"+`{"cmd":"stats"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	var failures []string
	timeout := time.After(10 * time.Second)
	for stats := false; !stats; {
		select {
		case ev := <-p.events:
			if ev["event"] == "error" {
				failures = append(failures, ev["error"].(string))
			}
			stats = ev["event"] == "stats"
		case <-timeout:
			t.Fatalf("no stats event within 10 s after the bad lines: the control channel stopped (errors: %q)", failures)
		}
	}
	if len(failures) != 2 || !strings.Contains(failures[0], "over the 65536-byte (64 KiB) limit") || !strings.Contains(failures[1], "is not JSON") {
		t.Fatalf("error events before stats: %q", failures)
	}
	if _, err := io.WriteString(stdin, `{"cmd":"shutdown"}`+"\n"); err != nil {
		t.Fatal(err)
	}
	for range p.events { // drain until stdout closes
	}
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after shutdown: %v", err)
	}
}
