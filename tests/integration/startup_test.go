package integration

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveFails runs `goinject serve` with a configuration it must refuse, and returns
// its exit status and log once it has exited.
func serveFails(t *testing.T, args ...string) (int, *logSink) {
	t.Helper()
	logs := newLogSink()
	cmd := goinjectCommand(append([]string{"serve"}, args...)...)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(scaled(5 * time.Second)):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("serve %v is still running after 5s, want it to refuse the configuration\n%s", args, logs.text())
	}
	return cmd.ProcessState.ExitCode(), logs
}

func TestServeRefusesABadStartupConfiguration(t *testing.T) {
	t.Parallel()
	good := certgen(t, t.TempDir())
	other := certgen(t, t.TempDir())
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return path
	}
	garbage := write("garbage.pem", "this is not PEM\n")
	empty := write("empty.pem", "")
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() }) // the parallel subtests run after this function returns
	serving := []string{"--listen", "127.0.0.1:0", "--tls-cert", good.cert, "--tls-key", good.key}

	cases := []struct {
		name   string
		args   []string
		status int
		log    string // a word the error log line must contain
	}{
		{"missing key flag", []string{"--tls-cert", good.cert}, 2, ""},
		{"unknown flag", append([]string{"--no-such-flag"}, serving...), 2, ""},
		{"certificate file missing", []string{"--listen", "127.0.0.1:0", "--tls-cert", filepath.Join(dir, "nope.crt"), "--tls-key", good.key}, 1, "nope.crt"},
		{"garbage key", []string{"--listen", "127.0.0.1:0", "--tls-cert", good.cert, "--tls-key", garbage}, 1, "garbage.pem"},
		{"key of another certificate", []string{"--listen", "127.0.0.1:0", "--tls-cert", good.cert, "--tls-key", other.key}, 1, "key"},
		{"bad listen address", []string{"--listen", "127.0.0.1", "--tls-cert", good.cert, "--tls-key", good.key}, 1, "--listen"},
		{"port in use", []string{"--listen", taken.Addr().String(), "--tls-cert", good.cert, "--tls-key", good.key}, 1, taken.Addr().String()},
		{"client CA missing", append(append([]string{}, serving...), "--client-ca", filepath.Join(dir, "nope-ca.crt")), 1, "--client-ca"},
		{"client CA without certificates", append(append([]string{}, serving...), "--client-ca", garbage), 1, "--client-ca"},
		{"client CA empty", append(append([]string{}, serving...), "--client-ca", empty), 1, "--client-ca"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			status, logs := serveFails(t, tc.args...)
			if status != tc.status {
				t.Errorf("exit status %d, want %d\n%s", status, tc.status, logs.text())
			}
			if tc.log == "" {
				return
			}
			if _, ok := logs.waitFor(0, func(l logLine) bool {
				return l.str("level") == "error" && strings.Contains(l.raw, tc.log)
			}); !ok {
				t.Errorf("no error log line naming %q:\n%s", tc.log, logs.text())
			}
		})
	}
}
