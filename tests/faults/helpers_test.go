// Package faults runs `goinject serve` under steady load and injects faults:
// SIGTERM, certificate rotation, stalled connections, bad input, a long soak.
// Each test prints one "FAULT <name>: ..." summary line. Stdlib only.
//
// Environment: GOINJECT_BIN (default ../../build/goinject), SOAK_REVIEWS
// (reviews in the memory soak, default 1,000,000).
package faults

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var goinjectBin string

func TestMain(m *testing.M) {
	goinjectBin = os.Getenv("GOINJECT_BIN")
	if goinjectBin == "" {
		goinjectBin, _ = filepath.Abs("../../build/goinject")
	}
	if _, err := os.Stat(goinjectBin); err != nil {
		fmt.Fprintf(os.Stderr, "faults: no goinject binary (%v); run `make faults`\n", err)
		os.Exit(1)
	}
	// Stalled connections need descriptors on our side too.
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil {
		lim.Cur = lim.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	os.Exit(m.Run())
}

func summary(t *testing.T, format string, args ...any) {
	fmt.Printf("FAULT "+format+"\n", args...)
}

// certgen writes a CA and serving pair for the loopback names into dir.
func certgen(t *testing.T, dir string) {
	t.Helper()
	out, err := exec.Command(goinjectBin, "certgen", "--out", dir, "--host", "127.0.0.1", "--host", "localhost").CombinedOutput()
	if err != nil {
		t.Fatalf("certgen: %v\n%s", err, out)
	}
}

type server struct {
	t      *testing.T
	cmd    *exec.Cmd
	port   int
	addr   string
	logs   *syncBuffer
	exited chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs goinject serve on a free port with the pair in certDir.
func startServer(t *testing.T, certDir string, args ...string) *server {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	argv := append([]string{"serve", "--no-registry", "--listen", "127.0.0.1:" + strconv.Itoa(port),
		"--tls-cert", filepath.Join(certDir, "tls.crt"), "--tls-key", filepath.Join(certDir, "tls.key"),
		"--log-level", "warn"}, args...)
	s := &server{t: t, cmd: exec.Command(goinjectBin, argv...), port: port, addr: "127.0.0.1:" + strconv.Itoa(port),
		logs: &syncBuffer{}, exited: make(chan struct{})}
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		if t.Failed() {
			t.Logf("server log:\n%s", s.logs.String())
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", s.addr)
		if err == nil {
			c.Close()
			return s
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("server did not listen\n%s", s.logs.String())
	return nil
}

func (s *server) waitExit(timeout time.Duration) int {
	select {
	case <-s.exited:
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

func (s *server) rssKB() int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			v, _ := strconv.Atoi(strings.Fields(line)[1])
			return v
		}
	}
	return -1
}

func pool(t *testing.T, caFiles ...string) *x509.CertPool {
	p := x509.NewCertPool()
	for _, f := range caFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p.AppendCertsFromPEM(data)
	}
	return p
}

// transport behaves like kube-apiserver's webhook client: Go's net/http,
// HTTP/1.1 keep-alive, which retries a request on a new connection only when
// nothing of it was written. dial picks the backend for each new connection.
func transport(p *x509.CertPool, dial func() string) *http.Transport {
	d := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: p, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12},
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     30 * time.Second,
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, dial())
		},
	}
}

// podReview is an AdmissionReview goinject patches (one static Go container).
func podReview(uid string) []byte {
	return []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"` + uid +
		`","kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},` +
		`"namespace":"default","operation":"CREATE","object":{"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"app-",` +
		`"annotations":{"goinject.io/static-go":"true","goinject.io/shell":"/bin/sh"}},"spec":{"containers":[{"name":"app",` +
		`"image":"example.com/app:1","command":["/app","--flag"],"env":[{"name":"A","value":"1"}]}]}}}}`)
}

// admissionResponse is the part of an AdmissionReview answer the fault tests check.
type admissionResponse struct {
	UID      string   `json:"uid"`
	Allowed  bool     `json:"allowed"`
	Patch    string   `json:"patch"`
	Warnings []string `json:"warnings"`
}

// postReview posts body to /mutate and decodes a 200 answer; the raw body comes back for messages.
func postReview(c *http.Client, base string, body []byte) (admissionResponse, []byte, error) {
	var a struct {
		Response admissionResponse `json:"response"`
	}
	resp, err := c.Post(base+"/mutate", "application/json", bytes.NewReader(body))
	if err != nil {
		return a.Response, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return a.Response, data, err
	}
	if resp.StatusCode != 200 {
		return a.Response, data, fmt.Errorf("status %d: %.300s", resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a.Response, data, fmt.Errorf("not an AdmissionReview: %v: %.300s", err, data)
	}
	return a.Response, data, nil
}

// review posts one review and checks a 200 AdmissionReview that echoes uid with a patch.
func review(c *http.Client, base, uid string) error {
	a, body, err := postReview(c, base, podReview(uid))
	if err != nil {
		return err
	}
	if a.UID != uid || !a.Allowed || a.Patch == "" {
		return fmt.Errorf("bad answer for %s: %.200s", uid, body)
	}
	return nil
}

type latencies []time.Duration

func (l latencies) pct(p float64) time.Duration {
	if len(l) == 0 {
		return 0
	}
	s := append(latencies(nil), l...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(p*float64(len(s)-1))]
}

// load runs n clients doing reviews until stop closes; it returns counts and latencies.
type loadResult struct {
	done   chan struct{}
	mu     sync.Mutex
	ok     int
	failed int
	errs   []error
	lat    latencies
}

func (r *loadResult) add(d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.failed++
		if len(r.errs) < 5 {
			r.errs = append(r.errs, err)
		}
		return
	}
	r.ok++
	r.lat = append(r.lat, d)
}

func runLoad(clients int, newClient func() *http.Client, base func() string, stop <-chan struct{}, pause time.Duration) *loadResult {
	r := &loadResult{done: make(chan struct{})}
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := newClient()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				err := review(c, base(), fmt.Sprintf("c%d-%d", i, n))
				r.add(time.Since(start), err)
				if pause > 0 {
					time.Sleep(pause)
				}
			}
		}(i)
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}

func (r *loadResult) wait() { <-r.done }

// readyz reports whether GET /readyz answers 200 on a fresh connection.
func readyz(p *x509.CertPool, addr string) bool {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true,
		TLSClientConfig: &tls.Config{RootCAs: p, ServerName: "127.0.0.1"}}}
	resp, err := c.Get("https://" + addr + "/readyz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == 200
}

// rawRequest sends bytes on a fresh TLS connection and returns the status code.
func rawRequest(p *x509.CertPool, addr string, req []byte) (int, error) {
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: p, ServerName: "127.0.0.1"})
	if err != nil {
		return 0, err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	go func() { _, _ = c.Write(req) }()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
