package suite

// The test registry process (`testregistry serve`) and its control API.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// registry is one running `testregistry serve`.
type registry struct {
	Main, Other, Plain string // host:port of each listener
	CA                 string // its CA certificate (PEM file)
	dir                string // its state directory
	seed               map[string]string

	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	client *http.Client
}

type authConfig struct {
	Mode     string `json:"mode"`
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	TokenTTL int    `json:"tokenTTL,omitempty"`
}

type fault struct {
	Match      string `json:"match"`
	Method     string `json:"method,omitempty"`
	Kind       string `json:"kind"`
	DelayMs    int    `json:"delayMs,omitempty"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retryAfter,omitempty"`
	Count      int    `json:"count,omitempty"`
	Listener   string `json:"listener,omitempty"`
}

type logEntry struct {
	Time       string `json:"time"`
	Listener   string `json:"listener"`
	Method     string `json:"method"`
	Path       string `json:"path"`
	Query      string `json:"query"`
	Status     int    `json:"status"`
	Auth       string `json:"auth"`
	Bytes      int64  `json:"bytes"`
	DurationMs int64  `json:"durationMs"`
	Fault      string `json:"fault"`
}

func (e logEntry) String() string {
	s := fmt.Sprintf("%s %s %s -> %d (auth %s", e.Listener, e.Method, e.Path, e.Status, e.Auth)
	if e.Fault != "" {
		s += ", fault " + e.Fault
	}
	return s + ")"
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// startRegistryProcess starts `testregistry serve` with the state directory
// dir and waits for its addr.json.
func startRegistryProcess(dir string) (*registry, error) {
	r := &registry{dir: dir, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	// -exit-after: a registry never outlives a crashed suite for long.
	r.cmd = exec.Command(registryBin, "serve", "-state", dir, "-exit-after", "15m")
	r.cmd.Stderr = r.stderr
	r.cmd.Stdout = r.stderr
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = r.cmd.Wait()
		close(r.exited)
	}()
	var af struct {
		Main, Other, Plain, CA string
		PID                    int
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		data, err := os.ReadFile(filepath.Join(dir, "addr.json"))
		if err == nil && json.Unmarshal(data, &af) == nil && af.PID == r.cmd.Process.Pid {
			break
		}
		select {
		case <-r.exited:
			return nil, fmt.Errorf("testregistry serve exited: %s", r.stderr)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("testregistry serve wrote no addr.json in 10 s: %s", r.stderr)
		}
	}
	r.Main, r.Other, r.Plain, r.CA = af.Main, af.Other, af.Plain, af.CA
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(r.CA)
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		r.stop()
		return nil, fmt.Errorf("reading the registry CA %s: %v", r.CA, err)
	}
	r.client = &http.Client{
		Timeout:   20 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		// The suite looks at what the registry answers, redirects included.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r, nil
}

// stop ends the process (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (r *registry) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(5 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
}

// newRegistry starts a registry of its own for one test, in a fresh state
// directory, stopped when the test ends. Nothing is pushed into it.
func newRegistry(t *testing.T) *registry {
	t.Helper()
	r, err := startRegistryProcess(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("testregistry stderr:\n%s", r.stderr)
		}
		r.stop()
	})
	return r
}

var shared struct {
	once sync.Once
	reg  *registry
	dir  string
	err  error
}

// sharedRegistry is a registry seeded with every fixture (testregistry seed),
// started on first use and stopped after the last test. Tests that use it run
// one at a time; each starts with no auth, no faults and an empty log, and
// leaves no faults and no auth behind.
func sharedRegistry(t *testing.T) *registry {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "goinject-regsuite-registry-")
		if shared.err != nil {
			return
		}
		var r *registry
		if r, shared.err = startRegistryProcess(filepath.Join(shared.dir, "state")); shared.err != nil {
			return
		}
		start := time.Now()
		seedFile := filepath.Join(shared.dir, "seed.json")
		out, err := exec.Command(registryBin, "seed", "-addr", r.Main, "-ca", r.CA, "-images", imagesDir, "-out", seedFile).CombinedOutput()
		if err != nil {
			r.stop()
			shared.err = fmt.Errorf("testregistry seed: %v\n%s", err, out)
			return
		}
		data, err := os.ReadFile(seedFile)
		if err == nil {
			err = json.Unmarshal(data, &r.seed)
		}
		if err != nil {
			r.stop()
			shared.err = fmt.Errorf("reading %s: %v", seedFile, err)
			return
		}
		fmt.Fprintf(os.Stderr, "registry suite: seeded the shared registry (%d refs) in %v\n", len(r.seed), time.Since(start).Round(time.Millisecond))
		shared.reg = r
	})
	if shared.err != nil {
		t.Fatalf("shared registry: %v", shared.err)
	}
	r := shared.reg
	r.reset(t)
	t.Cleanup(func() {
		// After the goinject servers of the test (cleanups run last in, first out).
		r.setFaults(t)
		r.setAuth(t, authConfig{Mode: "none"})
	})
	return r
}

func stopSharedRegistry() {
	if shared.reg != nil {
		shared.reg.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
}

// reset: no auth, no faults, an empty log.
func (r *registry) reset(t *testing.T) {
	t.Helper()
	r.setAuth(t, authConfig{Mode: "none"})
	r.setFaults(t)
	r.clearLog(t)
}

// control calls the control API on the main listener.
func (r *registry) control(method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, "https://"+r.Main+"/_control/"+path, body)
	if err != nil {
		return err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s /_control/%s: status %d: %s", method, path, resp.StatusCode, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

func (r *registry) setAuth(t *testing.T, c authConfig) {
	t.Helper()
	if err := r.control(http.MethodPut, "auth", c, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *registry) setFaults(t *testing.T, fs ...fault) {
	t.Helper()
	if fs == nil {
		fs = []fault{}
	}
	if err := r.control(http.MethodPut, "faults", fs, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *registry) clearLog(t *testing.T) {
	t.Helper()
	if err := r.control(http.MethodDelete, "log", nil, nil); err != nil {
		t.Fatal(err)
	}
}

func (r *registry) log(t *testing.T) []logEntry {
	t.Helper()
	var entries []logEntry
	if err := r.control(http.MethodGet, "log", nil, &entries); err != nil {
		t.Fatal(err)
	}
	return entries
}

// settledLog waits until the log stops growing (requests of a background
// lookup may still arrive) for up to timeout, and returns it.
func (r *registry) settledLog(t *testing.T, quiet, timeout time.Duration) []logEntry {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := r.log(t)
	for time.Now().Before(deadline) {
		time.Sleep(quiet)
		now := r.log(t)
		if len(now) == len(last) {
			return now
		}
		last = now
	}
	return last
}

func logText(entries []logEntry) string {
	var b strings.Builder
	for _, e := range entries {
		b.WriteString("\n  ")
		b.WriteString(e.String())
	}
	if len(entries) == 0 {
		b.WriteString(" (empty)")
	}
	return b.String()
}

// push puts a docker-save tarball of the fixtures into the registry as ref
// (repository:tag) and returns its digest. extra: more flags (-user, -zstd...).
func (r *registry) push(t *testing.T, fixture, ref string, extra ...string) string {
	t.Helper()
	args := append([]string{"push", "-addr", r.Main, "-ca", r.CA}, extra...)
	args = append(args, filepath.Join(imagesDir, fixture+".tar"), ref)
	out, err := exec.Command(registryBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("testregistry %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	f := strings.Fields(string(out))
	if len(f) < 2 || !strings.HasPrefix(f[len(f)-1], "sha256:") {
		t.Fatalf("testregistry push printed %q, want REF DIGEST", out)
	}
	return f[len(f)-1]
}

// manifest GETs /v2/<repo>/manifests/<ref> from the main listener as an
// anonymous client with the OCI and Docker media types.
func (r *registry) manifest(t *testing.T, repo, ref string) map[string]any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "https://"+r.Main+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, mt := range []string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	} {
		req.Header.Add("Accept", mt)
	}
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET manifest %s:%s: status %d, %v: %s", repo, ref, resp.StatusCode, err, data)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// layerDigests lists the layer digests of a single-platform image.
func (r *registry) layerDigests(t *testing.T, repo, ref string) []string {
	t.Helper()
	var out []string
	layers, _ := r.manifest(t, repo, ref)["layers"].([]any)
	for _, l := range layers {
		if d, _ := l.(map[string]any)["digest"].(string); d != "" {
			out = append(out, d)
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s:%s has no layers", repo, ref)
	}
	return out
}

// selectLog keeps the entries that match.
func selectLog(entries []logEntry, keep func(logEntry) bool) []logEntry {
	var out []logEntry
	for _, e := range entries {
		if keep(e) {
			out = append(out, e)
		}
	}
	return out
}

func isManifestHead(e logEntry) bool {
	return e.Method == http.MethodHead && strings.Contains(e.Path, "/manifests/")
}

func isManifestGet(e logEntry) bool {
	return e.Method == http.MethodGet && strings.Contains(e.Path, "/manifests/")
}

func isBlobGet(e logEntry) bool {
	return e.Method == http.MethodGet && strings.Contains(e.Path, "/blobs/")
}

func isToken(e logEntry) bool { return e.Path == "/token" }
