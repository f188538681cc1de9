// Package integration runs the real `goinject serve` binary on loopback and
// talks to it over TLS with Go's net/http and crypto/tls, as kube-apiserver does.
//
// Environment:
//
//	GOINJECT_BIN      the goinject binary (default: ../../build/goinject)
//	GOINJECT_WRAPPER  a command prefix to run it under, split on spaces,
//	                  e.g. "valgrind -q --error-exitcode=99"; timeouts are
//	                  then stretched tenfold
package integration

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	goinjectBin string
	wrapper     []string
	timeScale   = 1.0
)

func TestMain(m *testing.M) {
	goinjectBin = os.Getenv("GOINJECT_BIN")
	if goinjectBin == "" {
		goinjectBin, _ = filepath.Abs("../../build/goinject")
	}
	if _, err := os.Stat(goinjectBin); err != nil {
		fmt.Fprintf(os.Stderr, "integration: no goinject binary (%v); run `make integration` or set GOINJECT_BIN\n", err)
		os.Exit(1)
	}
	wrapper = strings.Fields(os.Getenv("GOINJECT_WRAPPER"))
	if len(wrapper) > 0 {
		timeScale = 10
	}
	os.Exit(m.Run())
}

// scaled stretches a timeout when the binary runs under a slow wrapper.
func scaled(d time.Duration) time.Duration { return time.Duration(float64(d) * timeScale) }

// goinjectCommand builds a command line for the binary, under the wrapper if any.
func goinjectCommand(args ...string) *exec.Cmd {
	argv := append(append(append([]string{}, wrapper...), goinjectBin), args...)
	return exec.Command(argv[0], argv[1:]...)
}

// ---- certificates ----------------------------------------------------------

// certFiles is the layout `goinject certgen` writes (a Kubernetes TLS Secret).
type certFiles struct {
	dir, ca, cert, key string
}

func certsIn(dir string) certFiles {
	return certFiles{dir, filepath.Join(dir, "ca.crt"), filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")}
}

// certgen runs `goinject certgen` for the loopback names into dir.
func certgen(t testing.TB, dir string) certFiles {
	t.Helper()
	out, err := goinjectCommand("certgen", "--out", dir, "--host", "127.0.0.1", "--host", "localhost").CombinedOutput()
	if err != nil {
		t.Fatalf("goinject certgen --out %s: %v\n%s", dir, err, out)
	}
	return certsIn(dir)
}

func readCert(t testing.TB, path string) *x509.Certificate {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("%s: no PEM certificate", path)
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return cert
}

func addCA(t testing.TB, pool *x509.CertPool, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !pool.AppendCertsFromPEM(data) {
		t.Fatalf("%s: no certificate for the pool", path)
	}
}

// ---- the server's log --------------------------------------------------------

type logLine struct {
	raw    string
	fields map[string]any // nil when the line is not a JSON object
}

func (l logLine) str(key string) string {
	s, _ := l.fields[key].(string)
	return s
}

func (l logLine) num(key string) (float64, bool) {
	f, ok := l.fields[key].(float64)
	return f, ok
}

// logSink collects the server's stderr line by line.
type logSink struct {
	mu      sync.Mutex
	partial []byte
	lines   []logLine
	changed chan struct{} // closed and replaced on every new line
}

func newLogSink() *logSink { return &logSink{changed: make(chan struct{})} }

func (s *logSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partial = append(s.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(s.partial, '\n')
		if i < 0 {
			break
		}
		raw := string(s.partial[:i])
		s.partial = s.partial[i+1:]
		line := logLine{raw: raw}
		var fields map[string]any
		if json.Unmarshal([]byte(raw), &fields) == nil {
			line.fields = fields
		}
		s.lines = append(s.lines, line)
		added = true
	}
	if added {
		close(s.changed)
		s.changed = make(chan struct{})
	}
	return len(p), nil
}

func (s *logSink) snapshot() ([]logLine, chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logLine(nil), s.lines...), s.changed
}

func (s *logSink) all() []logLine {
	lines, _ := s.snapshot()
	return lines
}

func (s *logSink) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, l := range s.lines {
		b.WriteString(l.raw)
		b.WriteByte('\n')
	}
	b.Write(s.partial)
	return b.String()
}

// waitFor returns the first line that matches, waiting up to timeout for it.
func (s *logSink) waitFor(timeout time.Duration, match func(logLine) bool) (logLine, bool) {
	deadline := time.After(timeout)
	for {
		lines, changed := s.snapshot()
		for _, l := range lines {
			if l.fields != nil && match(l) {
				return l, true
			}
		}
		select {
		case <-changed:
		case <-deadline:
			return logLine{}, false
		}
	}
}

func (s *logSink) count(match func(logLine) bool) int {
	n := 0
	for _, l := range s.all() {
		if l.fields != nil && match(l) {
			n++
		}
	}
	return n
}

// waitCount waits up to timeout for at least want matching lines (the server writes a
// line before it answers, but the copy from its stderr pipe may lag) and returns the count.
func (s *logSink) waitCount(timeout time.Duration, want int, match func(logLine) bool) int {
	deadline := time.After(timeout)
	for {
		_, changed := s.snapshot()
		if n := s.count(match); n >= want {
			return n
		}
		select {
		case <-changed:
		case <-deadline:
			return s.count(match)
		}
	}
}

func msgIs(msg string) func(logLine) bool {
	return func(l logLine) bool { return l.str("msg") == msg }
}

// ---- the server process ------------------------------------------------------

type serverConfig struct {
	args     []string // extra flags for `goinject serve`
	certFile string   // default: a fresh pair from certgen
	keyFile  string
	caFiles  []string // more CAs the test clients trust (besides the certgen CA, if any)
}

type server struct {
	t       testing.TB
	cmd     *exec.Cmd
	port    int
	base    string // https://127.0.0.1:PORT
	certs   certFiles
	pool    *x509.CertPool
	logs    *logSink
	exited  chan struct{}
	stopped bool
}

// startServer runs `goinject serve` on a free loopback port and waits until it listens.
// The process is stopped (and its exit status checked) when the test ends; its log is
// printed when the test failed.
func startServer(t testing.TB, cfg serverConfig) *server {
	t.Helper()
	s := &server{t: t, logs: newLogSink(), exited: make(chan struct{}), pool: x509.NewCertPool()}
	if cfg.certFile == "" {
		s.certs = certgen(t, t.TempDir())
		cfg.certFile, cfg.keyFile = s.certs.cert, s.certs.key
		cfg.caFiles = append([]string{s.certs.ca}, cfg.caFiles...)
	}
	for _, ca := range cfg.caFiles {
		addCA(t, s.pool, ca)
	}
	// The pods here state their facts in annotations: no registry lookups (tests/registry has those).
	args := append([]string{"serve", "--no-registry", "--listen", "127.0.0.1:0", "--tls-cert", cfg.certFile, "--tls-key", cfg.keyFile}, cfg.args...)
	s.cmd = goinjectCommand(args...)
	s.cmd.Stdout = s.logs
	s.cmd.Stderr = s.logs
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %v: %v", s.cmd.Args, err)
	}
	go func() {
		_ = s.cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() {
		if !s.stopped {
			s.stop()
		}
		if t.Failed() {
			t.Logf("server %v log:\n%s", s.cmd.Args, s.logs.text())
		}
	})

	listening := make(chan logLine, 1)
	go func() {
		if l, ok := s.logs.waitFor(scaled(10*time.Second), msgIs("listening")); ok {
			listening <- l
		}
		close(listening)
	}()
	select {
	case l, ok := <-listening:
		port, _ := l.num("port")
		if !ok || port <= 0 {
			t.Fatalf("server did not log a listening line with a port\n%s", s.logs.text())
		}
		s.port = int(port)
	case <-s.exited:
		s.stopped = true
		t.Fatalf("server exited before listening (status %d)\n%s", s.cmd.ProcessState.ExitCode(), s.logs.text())
	}
	s.base = "https://127.0.0.1:" + strconv.Itoa(s.port)
	return s
}

func (s *server) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *server) signal(sig syscall.Signal) {
	s.t.Helper()
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Fatalf("signal %v: %v", sig, err)
	}
}

// waitExit waits for the process to end; it returns its exit status, or -1 on timeout.
func (s *server) waitExit(timeout time.Duration) int {
	select {
	case <-s.exited:
		s.stopped = true
		return s.cmd.ProcessState.ExitCode()
	case <-time.After(timeout):
		return -1
	}
}

// stop sends SIGTERM and checks that the server exits 0 in time.
func (s *server) stop() {
	s.t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	select {
	case <-s.exited:
		s.t.Errorf("server exited on its own (status %d)", s.cmd.ProcessState.ExitCode())
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	if status := s.waitExit(scaled(10 * time.Second)); status == -1 {
		_ = s.cmd.Process.Kill()
		<-s.exited
		s.t.Errorf("server did not exit within 10s of SIGTERM; killed")
	} else if status != 0 {
		s.t.Errorf("server exited with status %d after SIGTERM, want 0", status)
	}
}

// ---- clients -----------------------------------------------------------------

func (s *server) tlsConfig() *tls.Config {
	return &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
}

func (s *server) transport() *http.Transport {
	return &http.Transport{
		TLSClientConfig:     s.tlsConfig(),
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     30 * time.Second,
		ForceAttemptHTTP2:   false,
	}
}

// client trusts the server's CA and keeps connections alive.
func (s *server) client() *http.Client {
	return &http.Client{Transport: s.transport(), Timeout: scaled(10 * time.Second)}
}

// freshClient opens a new TLS connection for every request.
func (s *server) freshClient() *http.Client {
	tr := s.transport()
	tr.DisableKeepAlives = true
	return &http.Client{Transport: tr, Timeout: scaled(10 * time.Second)}
}

type response struct {
	status int
	header http.Header
	body   []byte
	close  bool
	tls    *tls.ConnectionState
}

func do(c *http.Client, req *http.Request) (*response, error) {
	resp, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the body: %w", req.Method, req.URL, err)
	}
	return &response{resp.StatusCode, resp.Header, body, resp.Close, resp.TLS}, nil
}

func (s *server) request(c *http.Client, method, path, contentType string, body []byte) (*response, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, s.base+path, r)
	if err != nil {
		return nil, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return do(c, req)
}

func (s *server) get(c *http.Client, path string) (*response, error) {
	return s.request(c, http.MethodGet, path, "", nil)
}

func (s *server) post(c *http.Client, path string, body []byte) (*response, error) {
	return s.request(c, http.MethodPost, path, "application/json", body)
}

func (s *server) mustRequest(t testing.TB, c *http.Client, method, path, contentType string, body []byte) *response {
	t.Helper()
	r, err := s.request(c, method, path, contentType, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (s *server) mustGet(t testing.TB, c *http.Client, path string) *response {
	t.Helper()
	return s.mustRequest(t, c, http.MethodGet, path, "", nil)
}

func (s *server) mustPost(t testing.TB, c *http.Client, path string, body []byte) *response {
	t.Helper()
	return s.mustRequest(t, c, http.MethodPost, path, "application/json", body)
}

// ---- admission reviews -----------------------------------------------------------

const (
	v1      = "admission.k8s.io/v1"
	v1beta1 = "admission.k8s.io/v1beta1"
)

// podReview is an AdmissionReview for the CREATE of a pod in namespace ns whose only
// container runs a static Go binary in an image with a shell: a pod goinject patches.
func podReview(apiVersion, uid, ns string) []byte {
	return reviewFor(apiVersion, uid, "CREATE", ns, map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata": map[string]any{
			"name":      "app-" + uid,
			"namespace": ns,
			"annotations": map[string]any{
				"goinject.io/static-go": "true",
				"goinject.io/shell":     "/bin/sh",
			},
		},
		"spec": map[string]any{
			"containers": []any{map[string]any{
				"name":    "app",
				"image":   "example.com/app:1.0",
				"command": []any{"/app", "--name", "it's \"quoted\" $(VAR)"},
			}},
		},
	})
}

func reviewFor(apiVersion, uid, operation, ns string, pod map[string]any) []byte {
	doc := map[string]any{
		"apiVersion": apiVersion,
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":       uid,
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"operation": operation,
			"namespace": ns,
			"userInfo":  map[string]any{"username": "system:serviceaccount:default:test"},
			"object":    pod,
		},
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return out
}

type admissionAnswer struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Response   *struct {
		UID       string   `json:"uid"`
		Allowed   bool     `json:"allowed"`
		PatchType string   `json:"patchType"`
		Patch     string   `json:"patch"`
		Warnings  []string `json:"warnings"`
	} `json:"response"`
}

// checkPatchedAnswer checks a 200 answer to podReview: uid and apiVersion echoed,
// allowed, and a JSONPatch that decodes to a non-empty array of operations.
func checkPatchedAnswer(r *response, apiVersion, uid string) error {
	if r.status != http.StatusOK {
		return fmt.Errorf("status %d, want 200: %s", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		return fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var a admissionAnswer
	if err := json.Unmarshal(r.body, &a); err != nil {
		return fmt.Errorf("answer is not JSON: %v: %s", err, r.body)
	}
	if a.APIVersion != apiVersion || a.Kind != "AdmissionReview" || a.Response == nil {
		return fmt.Errorf("answer is not an AdmissionReview %s with a response: %s", apiVersion, r.body)
	}
	if a.Response.UID != uid {
		return fmt.Errorf("response.uid %q, want %q", a.Response.UID, uid)
	}
	if !a.Response.Allowed {
		return fmt.Errorf("response.allowed is false: %s", r.body)
	}
	if a.Response.PatchType != "JSONPatch" {
		return fmt.Errorf("response.patchType %q, want JSONPatch", a.Response.PatchType)
	}
	raw, err := base64.StdEncoding.DecodeString(a.Response.Patch)
	if err != nil {
		return fmt.Errorf("response.patch is not base64: %v", err)
	}
	var ops []map[string]any
	if err := json.Unmarshal(raw, &ops); err != nil {
		return fmt.Errorf("response.patch is not a JSON array: %v: %s", err, raw)
	}
	if len(ops) == 0 {
		return fmt.Errorf("response.patch is an empty array")
	}
	for _, op := range ops {
		if _, ok := op["op"].(string); !ok {
			return fmt.Errorf("patch operation without op: %v", op)
		}
		if _, ok := op["path"].(string); !ok {
			return fmt.Errorf("patch operation without path: %v", op)
		}
	}
	return nil
}

// review sends podReview and checks the answer.
func (s *server) review(c *http.Client, uid string) error {
	r, err := s.post(c, "/mutate", podReview(v1, uid, "default"))
	if err != nil {
		return err
	}
	return checkPatchedAnswer(r, v1, uid)
}

// errorBody checks a {"error": "..."} JSON body and returns the message.
func errorBody(r *response) (string, error) {
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		return "", fmt.Errorf("Content-Type %q, want application/json", ct)
	}
	var body map[string]any
	if err := json.Unmarshal(r.body, &body); err != nil {
		return "", fmt.Errorf("error body is not JSON: %v: %q", err, r.body)
	}
	msg, _ := body["error"].(string)
	if msg == "" || len(body) != 1 {
		return "", fmt.Errorf(`body %s, want {"error": "..."}`, r.body)
	}
	return msg, nil
}

// ---- metrics ---------------------------------------------------------------------

var sampleLine = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$`)

// metrics reads /metrics into series -> value, e.g. `goinject_reviews_total{result="patched"}`.
func (s *server) metrics(t testing.TB) map[string]float64 {
	t.Helper()
	r := s.mustGet(t, s.client(), "/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", r.status)
	}
	return parseMetrics(t, r.body)
}

func parseMetrics(t testing.TB, body []byte) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("/metrics: not a Prometheus sample: %q", line)
		}
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		out[m[1]] = v
	}
	return out
}

// waitMetric polls /metrics until series reaches at least want.
func (s *server) waitMetric(t testing.TB, series string, want float64, timeout time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.metrics(t)[series]
		if got >= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isClosedErr tells a connection closed by the peer from a timeout or other failure.
func isClosedErr(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	return err != nil && strings.Contains(err.Error(), "connection reset")
}
