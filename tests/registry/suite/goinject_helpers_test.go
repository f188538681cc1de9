package suite

// The goinject server process, AdmissionReviews and their answers, /metrics.

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// ---- the server's log ------------------------------------------------------

type logLine struct {
	raw    string
	fields map[string]any // nil when the line is not JSON
}

func (l logLine) str(key string) string {
	s, _ := l.fields[key].(string)
	return s
}

func (l logLine) num(key string) float64 {
	f, _ := l.fields[key].(float64)
	return f
}

// logSink collects a process's output line by line.
type logSink struct {
	mu      sync.Mutex
	partial []byte
	lines   []logLine
	changed chan struct{}
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
		l := logLine{raw: string(s.partial[:i])}
		s.partial = s.partial[i+1:]
		var f map[string]any
		if json.Unmarshal([]byte(l.raw), &f) == nil {
			l.fields = f
		}
		s.lines = append(s.lines, l)
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

// matching returns the JSON lines that match, in order.
func (s *logSink) matching(match func(logLine) bool) []logLine {
	lines, _ := s.snapshot()
	var out []logLine
	for _, l := range lines {
		if l.fields != nil && match(l) {
			out = append(out, l)
		}
	}
	return out
}

// waitN waits up to timeout until n lines match, and returns the matching lines.
func (s *logSink) waitN(timeout time.Duration, n int, match func(logLine) bool) []logLine {
	deadline := time.After(timeout)
	for {
		_, changed := s.snapshot()
		if got := s.matching(match); len(got) >= n {
			return got
		}
		select {
		case <-changed:
		case <-deadline:
			return s.matching(match)
		}
	}
}

// lookupOf matches the "registry lookup" lines of one repository (as logged: no host).
func lookupOf(repo string) func(logLine) bool {
	return func(l logLine) bool { return l.str("msg") == "registry lookup" && l.str("image") == repo }
}

// ---- the server process ----------------------------------------------------

type goinject struct {
	t       *testing.T
	cmd     *exec.Cmd
	base    string
	client  *http.Client
	logs    *logSink
	exited  chan struct{}
	stopped bool
	cfgPath string
	tmpDir  string
}

var uidCounter atomic.Int64

// startGoinject runs `goinject serve` with cfg as its configuration file
// (nil: no file) and extra flags, on a free loopback port, and stops it when
// the test ends (its exit status must be 0). Its log is printed when the test failed.
func startGoinject(t *testing.T, cfg map[string]any, flags ...string) *goinject {
	t.Helper()
	return startGoinjectWith(t, cfg, nil, flags...)
}

// startGoinjectWith is startGoinject with prepare run on its TMPDIR before it starts.
func startGoinjectWith(t *testing.T, cfg map[string]any, prepare func(tmp string), flags ...string) *goinject {
	t.Helper()
	g := &goinject{t: t, logs: newLogSink(), exited: make(chan struct{})}
	args := []string{"serve", "--listen", "127.0.0.1:0",
		"--tls-cert", filepath.Join(certDir, "tls.crt"), "--tls-key", filepath.Join(certDir, "tls.key")}
	if cfg != nil {
		data, err := json.MarshalIndent(cfg, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		g.cfgPath = filepath.Join(t.TempDir(), "config.json")
		if err := os.WriteFile(g.cfgPath, data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", g.cfgPath)
	}
	args = append(args, flags...)
	g.cmd = exec.Command(goinjectBin, args...)
	g.cmd.Stdout = g.logs
	g.cmd.Stderr = g.logs
	// Lookups spool blobs under $TMPDIR: a directory of this server's own, that
	// must be empty again once it stopped.
	g.tmpDir = filepath.Join(t.TempDir(), "tmp")
	if err := os.Mkdir(g.tmpDir, 0o700); err != nil {
		t.Fatal(err)
	}
	g.cmd.Env = append(os.Environ(), "TMPDIR="+g.tmpDir)
	if prepare != nil {
		prepare(g.tmpDir)
	}
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = g.cmd.Wait()
		close(g.exited)
	}()
	t.Cleanup(func() {
		g.stop()
		if left, _ := os.ReadDir(g.tmpDir); len(left) != 0 {
			var names []string
			for _, e := range left {
				names = append(names, e.Name())
			}
			t.Errorf("goinject left %v in its TMPDIR after it stopped", names)
		}
		if t.Failed() {
			t.Logf("goinject %s log:\n%s", strings.Join(g.cmd.Args[1:], " "), g.logs.text())
		}
	})

	var port int
	deadline := time.Now().Add(10 * time.Second)
	for port == 0 {
		if ls := g.logs.matching(func(l logLine) bool { return l.str("msg") == "listening" }); len(ls) > 0 {
			port = int(ls[0].num("port"))
			if port == 0 {
				t.Fatalf("listening line without a port: %s", ls[0].raw)
			}
			break
		}
		select {
		case <-g.exited:
			g.stopped = true
			t.Fatalf("goinject serve exited before listening (status %d):\n%s", g.cmd.ProcessState.ExitCode(), g.logs.text())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("goinject serve did not log \"listening\" within 10 s:\n%s", g.logs.text())
		}
	}
	g.base = "https://127.0.0.1:" + strconv.Itoa(port)
	pool := x509.NewCertPool()
	pem, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil || !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("reading the goinject CA: %v", err)
	}
	g.client = &http.Client{
		Timeout: 40 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
			MaxIdleConnsPerHost: 64,
		},
	}
	return g
}

// stop sends SIGTERM and expects a clean exit within 15 s.
func (g *goinject) stop() {
	g.t.Helper()
	if g.stopped {
		return
	}
	g.stopped = true
	select {
	case <-g.exited:
		g.t.Errorf("goinject exited on its own (status %d)", g.cmd.ProcessState.ExitCode())
		return
	default:
	}
	start := time.Now()
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.exited:
		if code := g.cmd.ProcessState.ExitCode(); code != 0 {
			g.t.Errorf("goinject exited with status %d after SIGTERM, want 0", code)
		}
		if d := time.Since(start); d > 5*time.Second {
			g.t.Logf("note: goinject took %v to exit after SIGTERM", d.Round(time.Millisecond))
		}
	case <-time.After(15 * time.Second):
		_ = g.cmd.Process.Kill()
		<-g.exited
		g.t.Errorf("goinject did not exit within 15 s of SIGTERM; killed")
	}
}

// ---- configuration -------------------------------------------------------

// regConfig is a goinject configuration whose registry block trusts r's CA,
// with the given budget; more registry settings are merged from extra.
func regConfig(r *registry, budgetMs int, extra map[string]any) map[string]any {
	block := map[string]any{"enabled": true, "budgetMs": budgetMs}
	if r != nil {
		block["caFile"] = r.CA
	}
	for k, v := range extra {
		block[k] = v
	}
	return map[string]any{"registry": block}
}

// credentialsFile writes a dockerconfigjson for host with user:password and returns its path.
func credentialsFile(t *testing.T, host, user, password string) string {
	t.Helper()
	doc := map[string]any{"auths": map[string]any{
		host: map[string]any{"auth": base64.StdEncoding.EncodeToString([]byte(user + ":" + password))},
	}}
	data, _ := json.Marshal(doc)
	p := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// ---- pods and reviews -----------------------------------------------------

type podOpt func(pod map[string]any)

// newPod is a pod with one container "app" running image, without command or
// args (so the image's ENTRYPOINT and CMD matter) and without annotations.
func newPod(image string, opts ...podOpt) map[string]any {
	p := map[string]any{
		"apiVersion": "v1",
		"kind":       "Pod",
		"metadata":   map[string]any{"name": "app", "namespace": "default"},
		"spec": map[string]any{
			"containers": []any{map[string]any{"name": "app", "image": image}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withAnnotations(a map[string]string) podOpt {
	return func(p map[string]any) {
		m := map[string]any{}
		for k, v := range a {
			m[k] = v
		}
		p["metadata"].(map[string]any)["annotations"] = m
	}
}

// withContainer adds a container (no command, no args) after the others.
func withContainer(name, image string) podOpt {
	return func(p map[string]any) {
		spec := p["spec"].(map[string]any)
		spec["containers"] = append(spec["containers"].([]any), map[string]any{"name": name, "image": image})
	}
}

func withNodeSelector(kv ...string) podOpt {
	return func(p map[string]any) {
		sel := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			sel[kv[i]] = kv[i+1]
		}
		p["spec"].(map[string]any)["nodeSelector"] = sel
	}
}

// withRequiredArch: required node affinity kubernetes.io/arch In archs.
func withRequiredArch(archs ...string) podOpt {
	return func(p map[string]any) {
		values := []any{}
		for _, a := range archs {
			values = append(values, a)
		}
		p["spec"].(map[string]any)["affinity"] = map[string]any{
			"nodeAffinity": map[string]any{
				"requiredDuringSchedulingIgnoredDuringExecution": map[string]any{
					"nodeSelectorTerms": []any{map[string]any{
						"matchExpressions": []any{map[string]any{
							"key": "kubernetes.io/arch", "operator": "In", "values": values,
						}},
					}},
				},
			},
		}
	}
}

// answer is goinject's answer to one review.
type answer struct {
	Allowed  bool
	Warnings []string
	Ops      []map[string]any
	Pod      map[string]any // the pod with the patch applied
	Elapsed  time.Duration
	Raw      []byte
}

// review sends the CREATE of pod as an AdmissionReview v1 to /mutate (with
// ?timeout=30s, as an API server with a 30 s webhook timeout would) and checks
// the HTTP level: 200, JSON, the uid echoed, allowed. The patch is applied.
func (g *goinject) review(t *testing.T, pod map[string]any) *answer {
	t.Helper()
	a, err := g.tryReview(pod)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// reviewQuery is review with another query string for /mutate ("" for none).
func (g *goinject) reviewQuery(t *testing.T, pod map[string]any, query string) *answer {
	t.Helper()
	a, err := g.tryReviewQuery(pod, query)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// tryReview is review for goroutines: errors instead of t.Fatal.
func (g *goinject) tryReview(pod map[string]any) (*answer, error) {
	return g.tryReviewQuery(pod, "timeout=30s")
}

func (g *goinject) tryReviewQuery(pod map[string]any, query string) (*answer, error) {
	uid := fmt.Sprintf("uid-%d", uidCounter.Add(1))
	doc := map[string]any{
		"apiVersion": "admission.k8s.io/v1",
		"kind":       "AdmissionReview",
		"request": map[string]any{
			"uid":       uid,
			"kind":      map[string]any{"group": "", "version": "v1", "kind": "Pod"},
			"resource":  map[string]any{"group": "", "version": "v1", "resource": "pods"},
			"operation": "CREATE",
			"namespace": "default",
			"userInfo":  map[string]any{"username": "system:serviceaccount:default:registry-suite"},
			"object":    pod,
		},
	}
	body, _ := json.Marshal(doc)
	start := time.Now()
	url := g.base + "/mutate"
	if query != "" {
		url += "?" + query
	}
	resp, err := g.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("POST /mutate: %v", err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	elapsed := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("POST /mutate: reading the answer: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("POST /mutate: status %d, want 200: %s", resp.StatusCode, data)
	}
	var ar struct {
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
	if err := json.Unmarshal(data, &ar); err != nil || ar.Response == nil {
		return nil, fmt.Errorf("answer is not an AdmissionReview with a response (%v): %s", err, data)
	}
	if ar.APIVersion != "admission.k8s.io/v1" || ar.Kind != "AdmissionReview" || ar.Response.UID != uid {
		return nil, fmt.Errorf("answer apiVersion/kind/uid %q/%q/%q, want admission.k8s.io/v1/AdmissionReview/%q", ar.APIVersion, ar.Kind, ar.Response.UID, uid)
	}
	if !ar.Response.Allowed {
		return nil, fmt.Errorf("the pod was denied: %s", data)
	}
	a := &answer{Allowed: true, Warnings: ar.Response.Warnings, Elapsed: elapsed, Raw: data}
	for _, w := range a.Warnings {
		if !strings.HasPrefix(w, "goinject: ") || len(w) > 256 {
			return nil, fmt.Errorf("warning %q does not start with \"goinject: \" or is over 256 characters", w)
		}
	}
	a.Pod = deepCopy(pod)
	if ar.Response.Patch != "" {
		if ar.Response.PatchType != "JSONPatch" {
			return nil, fmt.Errorf("patchType %q, want JSONPatch", ar.Response.PatchType)
		}
		raw, err := base64.StdEncoding.DecodeString(ar.Response.Patch)
		if err != nil {
			return nil, fmt.Errorf("patch is not base64: %v", err)
		}
		if err := json.Unmarshal(raw, &a.Ops); err != nil {
			return nil, fmt.Errorf("patch is not a JSON array: %v: %s", err, raw)
		}
		var doc any = a.Pod
		if doc, err = applyPatch(doc, a.Ops); err != nil {
			return nil, fmt.Errorf("applying the patch %s: %v", raw, err)
		}
		a.Pod = doc.(map[string]any)
	}
	return a, nil
}

func deepCopy(v map[string]any) map[string]any {
	data, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return out
}

func (a *answer) container() map[string]any { return a.containerAt(0) }

func (a *answer) containerAt(i int) map[string]any {
	cs, _ := a.Pod["spec"].(map[string]any)["containers"].([]any)
	c, _ := cs[i].(map[string]any)
	return c
}

func (a *answer) spec() map[string]any { return a.Pod["spec"].(map[string]any) }

func (a *answer) annotation(key string) string {
	md, _ := a.Pod["metadata"].(map[string]any)
	an, _ := md["annotations"].(map[string]any)
	s, _ := an[key].(string)
	return s
}

// status is the goinject.io/status annotation, decoded.
func (a *answer) status(t *testing.T) map[string]any {
	t.Helper()
	text := a.annotation("goinject.io/status")
	if text == "" {
		t.Fatalf("no goinject.io/status annotation; answer %s", a.Raw)
	}
	var st map[string]any
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		t.Fatalf("goinject.io/status is not JSON: %v: %q", err, text)
	}
	return st
}

// facts is status.facts.app (nil when absent).
func (a *answer) facts(t *testing.T) map[string]any {
	t.Helper()
	return a.factsOf(t, "app")
}

// factsOf is status.facts.<container> (nil when absent).
func (a *answer) factsOf(t *testing.T, container string) map[string]any {
	t.Helper()
	f, _ := a.status(t)["facts"].(map[string]any)
	c, _ := f[container].(map[string]any)
	return c
}

// registryState is status.facts.app.registry ("" when absent).
func (a *answer) registryState(t *testing.T) string {
	t.Helper()
	s, _ := a.facts(t)["registry"].(string)
	return s
}

// action is status.containers.app.
func (a *answer) action(t *testing.T) string {
	t.Helper()
	cs, _ := a.status(t)["containers"].(map[string]any)
	s, _ := cs["app"].(string)
	return s
}

// strs turns a decoded JSON array of strings into []string (nil when absent).
func strs(v any) []string {
	arr, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i], _ = x.(string)
	}
	return out
}

func (a *answer) command() []string { return strs(a.container()["command"]) }
func (a *answer) args() []string    { return strs(a.container()["args"]) }

func (a *answer) hasPtrace() bool {
	sc, _ := a.container()["securityContext"].(map[string]any)
	caps, _ := sc["capabilities"].(map[string]any)
	for _, c := range strs(caps["add"]) {
		if c == "SYS_PTRACE" {
			return true
		}
	}
	return false
}

func (a *answer) hasAgentMount() bool {
	mounts, _ := a.container()["volumeMounts"].([]any)
	for _, m := range mounts {
		if mm, _ := m.(map[string]any); mm["name"] == "goinject-agent" && mm["mountPath"] == "/goinject-agent" {
			return true
		}
	}
	return false
}

func (a *answer) hasInitContainer() bool {
	ics, _ := a.spec()["initContainers"].([]any)
	for _, c := range ics {
		if cm, _ := c.(map[string]any); cm["name"] == "goinject-agent" {
			return true
		}
	}
	return false
}

// warningWith returns the first warning containing every part, or "".
func (a *answer) warningWith(parts ...string) string {
next:
	for _, w := range a.Warnings {
		for _, p := range parts {
			if !strings.Contains(w, p) {
				continue next
			}
		}
		return w
	}
	return ""
}

// specOps are the patch operations on /spec, in order.
func (a *answer) specOps() []map[string]any {
	var out []map[string]any
	for _, op := range a.Ops {
		if p, _ := op["path"].(string); strings.HasPrefix(p, "/spec") {
			out = append(out, op)
		}
	}
	return out
}

// Wrappers as DESIGN.md defines them.
func shellWrapper(e0 string) []string {
	return []string{"/bin/sh", "-c", `exec "$0" "$@"`, e0}
}

func tiniWrapper(e0 string) []string {
	return []string{"/goinject-agent/tini/glibc/tini", "--", e0}
}

// ---- JSON Patch (RFC 6902) ------------------------------------------------

func applyPatch(doc any, ops []map[string]any) (any, error) {
	var err error
	for _, op := range ops {
		kind, _ := op["op"].(string)
		path, _ := op["path"].(string)
		switch kind {
		case "add", "replace":
			doc, err = patchAt(doc, pointerTokens(path), kind, op["value"])
		case "remove":
			doc, err = patchAt(doc, pointerTokens(path), kind, nil)
		case "test":
			var got any
			if got, err = lookupPointer(doc, pointerTokens(path)); err == nil && !reflect.DeepEqual(got, op["value"]) {
				err = fmt.Errorf("test %s failed", path)
			}
		default:
			err = fmt.Errorf("unexpected op %q", kind)
		}
		if err != nil {
			return nil, fmt.Errorf("%v: %w", op, err)
		}
	}
	return doc, nil
}

func pointerTokens(p string) []string {
	if p == "" {
		return nil
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks
}

func lookupPointer(doc any, toks []string) (any, error) {
	for _, t := range toks {
		switch d := doc.(type) {
		case map[string]any:
			v, ok := d[t]
			if !ok {
				return nil, fmt.Errorf("no member %q", t)
			}
			doc = v
		case []any:
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i >= len(d) {
				return nil, fmt.Errorf("bad index %q", t)
			}
			doc = d[i]
		default:
			return nil, fmt.Errorf("cannot descend into %T at %q", doc, t)
		}
	}
	return doc, nil
}

// patchAt returns doc with the op carried out at toks (containers are rebuilt on the way).
func patchAt(doc any, toks []string, kind string, value any) (any, error) {
	if len(toks) == 0 {
		if kind == "remove" {
			return nil, fmt.Errorf("cannot remove the root")
		}
		return value, nil
	}
	t := toks[0]
	last := len(toks) == 1
	switch d := doc.(type) {
	case map[string]any:
		if last {
			_, exists := d[t]
			switch kind {
			case "add":
				d[t] = value
			case "replace":
				if !exists {
					return nil, fmt.Errorf("replace of a missing member %q", t)
				}
				d[t] = value
			case "remove":
				if !exists {
					return nil, fmt.Errorf("remove of a missing member %q", t)
				}
				delete(d, t)
			}
			return d, nil
		}
		child, ok := d[t]
		if !ok {
			return nil, fmt.Errorf("no member %q", t)
		}
		nc, err := patchAt(child, toks[1:], kind, value)
		if err != nil {
			return nil, err
		}
		d[t] = nc
		return d, nil
	case []any:
		if last {
			if t == "-" && kind == "add" {
				return append(d, value), nil
			}
			i, err := strconv.Atoi(t)
			if err != nil || i < 0 || i > len(d) || (kind != "add" && i == len(d)) {
				return nil, fmt.Errorf("bad index %q", t)
			}
			switch kind {
			case "add":
				out := append(append(append([]any{}, d[:i]...), value), d[i:]...)
				return out, nil
			case "replace":
				d[i] = value
				return d, nil
			case "remove":
				return append(append([]any{}, d[:i]...), d[i+1:]...), nil
			}
		}
		i, err := strconv.Atoi(t)
		if err != nil || i < 0 || i >= len(d) {
			return nil, fmt.Errorf("bad index %q", t)
		}
		nc, err := patchAt(d[i], toks[1:], kind, value)
		if err != nil {
			return nil, err
		}
		d[i] = nc
		return d, nil
	}
	return nil, fmt.Errorf("cannot descend into %T at %q", doc, t)
}

// ---- metrics ----------------------------------------------------------------

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var (
	sampleRE = regexp.MustCompile(`^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$`)
	labelRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)
)

type metricSet []sample

func (g *goinject) metrics(t *testing.T) metricSet {
	t.Helper()
	resp, err := g.client.Get(g.base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %d %v", resp.StatusCode, err)
	}
	var out metricSet
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m := sampleRE.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("/metrics: not a sample line: %q", line)
		}
		v, err := strconv.ParseFloat(m[3], 64)
		if err != nil {
			t.Fatalf("/metrics: %q: %v", line, err)
		}
		s := sample{name: m[1], labels: map[string]string{}, value: v}
		for _, l := range labelRE.FindAllStringSubmatch(m[2], -1) {
			s.labels[l[1]] = l[2]
		}
		out = append(out, s)
	}
	return out
}

// sum adds the samples of name whose labels include kv (name, value pairs).
func (ms metricSet) sum(name string, kv ...string) float64 {
	total := 0.0
next:
	for _, s := range ms {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		total += s.value
	}
	return total
}

// has reports whether a sample of name with labels kv exists.
func (ms metricSet) has(name string, kv ...string) bool {
next:
	for _, s := range ms {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if s.labels[kv[i]] != kv[i+1] {
				continue next
			}
		}
		return true
	}
	return false
}

// dump is the samples of the names with a prefix, for failure messages.
func (ms metricSet) dump(prefix string) string {
	var lines []string
	for _, s := range ms {
		if strings.HasPrefix(s.name, prefix) && !strings.HasSuffix(s.name, "_bucket") {
			var ls []string
			for k, v := range s.labels {
				ls = append(ls, k+"="+strconv.Quote(v))
			}
			sort.Strings(ls)
			lines = append(lines, fmt.Sprintf("%s{%s} %g", s.name, strings.Join(ls, ","), s.value))
		}
	}
	return strings.Join(lines, "\n")
}

// waitPendingZero polls goinject_facts_pending until it is 0.
func (g *goinject) waitPendingZero(t *testing.T, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ms := g.metrics(t)
		if !ms.has("goinject_facts_pending") {
			t.Fatalf("/metrics has no goinject_facts_pending")
		}
		if ms.sum("goinject_facts_pending") == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("goinject_facts_pending still %g after %v", ms.sum("goinject_facts_pending"), timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeFile(path string, data []byte) error { return os.WriteFile(path, data, 0o644) }
