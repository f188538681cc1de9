package main

// The registry rows of `make bench`, against the test registry
// (tests/registry) seeded with the inspect images (tests/inspect):
//
//   - cache hits: the typical pod with its images in the registry and no fact
//     annotations, sent to goinject with the registry layer on once every
//     image is in its caches, against the same pod with the facts as
//     annotations (registry on, and --no-registry); CPU per review as the
//     size rows measure it, the three servers in rotating order;
//   - cold lookups: reviews of pods whose images goinject has never seen
//     (each a distinct digest), one at a time, with a budget long enough for
//     the review to wait for the lookup: review latency per fixture;
//   - bytes: what each cold lookup read from the registry (goinject's
//     "registry lookup" log line) against the image's size in the registry
//     (manifest + config + compressed layers) and as a `docker save` tarball.

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

var (
	registryRows     = flag.Bool("registry", true, "also run the registry rows: cache hits against annotations, cold lookups, bytes fetched")
	testRegistry     = flag.String("testregistry", "build/registry/testregistry", "the test registry binary (make build/registry/testregistry)")
	imagesDir        = flag.String("images", "build/inspect/images", "the docker-save tarballs of tests/inspect/build-images.sh")
	coldLookups      = flag.Int("cold", 30, "cold lookups per fixture")
	coldBudgetMs     = flag.Int("cold-budget-ms", 20000, "registry.budgetMs of the servers of the registry rows (the cold reviews wait this long at most)")
	callgrindDir     = flag.String("callgrind", "", "profiling aid: only run the cache-hit servers under valgrind's callgrind, write DIR/callgrind.out.KIND, print instructions per review, exit")
	callgrindReviews = flag.Int("callgrind-reviews", 300, "reviews per server with -callgrind")
	hitTarget        = 1.10 // the bound on CPU per review, cache hit over annotations
	coldFixtures     = []string{"distroless", "shell"}
	typicalImages    = map[string]string{"api": "shell", "worker": "distroless", "proxy": "musl", "migrate": "shell"}
)

const (
	kindCached       kind = "cached"                // registry on, no fact annotations, every image in the caches
	kindAnnotated    kind = "annotated"             // registry on, the facts as annotations (no lookup needed)
	kindAnnotatedOff kind = "annotated-no-registry" // --no-registry, the facts as annotations
	kindCold         kind = "cold"                  // registry on, for the cold lookups
)

var registryKinds = []kind{kindCached, kindAnnotated, kindAnnotatedOff}

// registryOn: whether goinject of this kind runs with its registry layer.
func (k kind) registryOn() bool {
	return k == kindCached || k == kindAnnotated || k == kindCold
}

type coldResult struct {
	Fixture        string    `json:"fixture"`
	Lookups        int       `json:"lookups"`
	ReviewMs       []float64 `json:"review_ms"`
	ReviewP50      float64   `json:"review_p50_ms"`
	ReviewP99      float64   `json:"review_p99_ms"`
	ReviewMax      float64   `json:"review_max_ms"`
	LookupP50      float64   `json:"lookup_p50_ms"`                     // "ms" of goinject's log line
	ServerCPUP50   float64   `json:"server_cpu_ms_p50"`                 // goinject's utime+stime over the review
	BytesFetched   int64     `json:"bytes_fetched"`                     // median of the log lines' "bytes"
	ExactReads     int       `json:"lookups_reading_exactly_the_image"` // bytes == that variant's manifest + config + layers
	ManifestBytes  int64     `json:"manifest_bytes"`
	ConfigBytes    int64     `json:"config_bytes"`
	LayerBytes     int64     `json:"layer_bytes"` // compressed, as stored
	Layers         int       `json:"layers"`
	ImageBytes     int64     `json:"image_bytes"` // manifest + config + layers (median over the variants: the label's digits vary)
	TarBytes       int64     `json:"docker_save_bytes"`
	FetchedOverImg float64   `json:"fetched_over_image"`
	FetchedOverTar float64   `json:"fetched_over_docker_save"`
}

type registryResult struct {
	Pod             string            `json:"pod"`
	Images          map[string]string `json:"images"` // container -> fixture
	ReviewBytes     map[kind]int      `json:"review_bytes"`
	Rounds          map[kind][]sample `json:"rounds"`
	Median          map[kind]sample   `json:"median"`
	HitOverAnn      float64           `json:"cached_over_annotated_cpu"`
	HitOverAnnOff   float64           `json:"cached_over_annotated_no_registry_cpu"`
	RoundRatios     []float64         `json:"cached_over_annotated_cpu_by_round"`
	RoundRatiosOff  []float64         `json:"cached_over_annotated_no_registry_cpu_by_round"`
	Target          float64           `json:"target"`
	TargetMet       bool              `json:"target_met"`
	HitsPerReview   float64           `json:"facts_cache_hits_per_review"`
	RequestsInRound float64           `json:"registry_requests_while_measuring"`
	ColdBudgetMs    int               `json:"cold_budget_ms"`
	Cold            []*coldResult     `json:"cold"`
	ColdBytesTotal  float64           `json:"cold_registry_bytes_total"` // goinject_registry_bytes_total over the cold lookups
}

// ---- the test registry ----------------------------------------------------------

type testReg struct {
	cmd   *exec.Cmd
	dir   string
	addr  string // the TLS listener, 127.0.0.1:PORT
	ca    string
	trust *x509.CertPool
}

func startTestRegistry() *testReg {
	dir, err := os.MkdirTemp("", "goinject-bench-registry-")
	if err != nil {
		fatalf("%v", err)
	}
	r := &testReg{dir: dir}
	state := filepath.Join(dir, "state")
	// Not pinned: it inherits the load generator's CPUs, away from the server under test.
	r.cmd = exec.Command(*testRegistry, "serve", "-state", state, "-exit-after", "30m")
	r.cmd.Stderr = os.Stderr
	if err := r.cmd.Start(); err != nil {
		fatalf("start %s: %v", *testRegistry, err)
	}
	var addr struct{ Main, CA string }
	for i := 0; i < 200; i++ {
		if data, err := os.ReadFile(filepath.Join(state, "addr.json")); err == nil && json.Unmarshal(data, &addr) == nil && addr.Main != "" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if addr.Main == "" {
		r.stop()
		fatalf("the test registry wrote no addr.json")
	}
	r.addr, r.ca = addr.Main, addr.CA
	pem, err := os.ReadFile(r.ca)
	if err != nil {
		r.stop()
		fatalf("%v", err)
	}
	r.trust = x509.NewCertPool()
	r.trust.AppendCertsFromPEM(pem)
	atFatal = append(atFatal, r.stop)
	return r
}

func (r *testReg) stop() {
	if r.cmd.Process != nil && r.cmd.ProcessState == nil {
		_ = r.cmd.Process.Signal(syscall.SIGTERM)
		_ = r.cmd.Wait()
	}
	os.RemoveAll(r.dir)
}

// tool runs a testregistry subcommand against r and returns its output.
func (r *testReg) tool(args ...string) string {
	argv := append([]string{args[0], "-addr", r.addr, "-ca", r.ca}, args[1:]...)
	out, err := exec.Command(*testRegistry, argv...).Output()
	if err != nil {
		fatalf("testregistry %s: %v", strings.Join(argv, " "), err)
	}
	return string(out)
}

// manifestSizes reads the manifest of repo:tag and returns its length, its
// config's size, the sum of its layers' sizes and how many layers it has.
func (r *testReg) manifestSizes(repo, tag string) (manifest, config, layers int64, n int) {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: r.trust}}}
	req, _ := http.NewRequest("GET", "https://"+r.addr+"/v2/"+repo+"/manifests/"+tag, nil)
	req.Header.Set("Accept", "application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json")
	resp, err := client.Do(req)
	if err != nil {
		fatalf("manifest of %s:%s: %v", repo, tag, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m struct {
		Config struct{ Size int64 }
		Layers []struct{ Size int64 }
	}
	if resp.StatusCode != 200 || json.Unmarshal(body, &m) != nil || len(m.Layers) == 0 {
		fatalf("manifest of %s:%s: HTTP %d %.200s", repo, tag, resp.StatusCode, body)
	}
	for _, l := range m.Layers {
		layers += l.Size
	}
	return int64(len(body)), m.Config.Size, layers, len(m.Layers)
}

// ---- goinject's side ------------------------------------------------------------

// metrics reads /metrics of p: each series ("name{labels}") to its value.
func (p *proc) metrics() map[string]float64 {
	k := &conn{t: p.target}
	defer k.close()
	req := request{raw: []byte("GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")}
	status, body, err := k.roundTrip(&req)
	if err != nil || status != 200 {
		fatalf("%s: GET /metrics: %d %v", p.kind, status, err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(string(body), "\n") {
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// sum adds up the series of metric name whose labels contain every one of labels.
func sum(m map[string]float64, name string, labels ...string) float64 {
	total := 0.0
	for series, v := range m {
		if series != name && !strings.HasPrefix(series, name+"{") {
			continue
		}
		ok := true
		for _, l := range labels {
			ok = ok && strings.Contains(series, l)
		}
		if ok {
			total += v
		}
	}
	return total
}

// registryStatus posts req to p and returns the "registry" entry of the
// status annotation's facts per container ("hit", "fetched", ...).
func registryStatus(p *proc, k *conn, req *request) map[string]string {
	status, body, err := k.roundTrip(req)
	if err := check(req, status, body, err); err != nil {
		fatalf("%s: %v", p.kind, err)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil {
		fatalf("%s: answer %.300s", p.kind, body)
	}
	patch, _ := base64.StdEncoding.DecodeString(a.Response.Patch)
	var ops []struct {
		Path  string
		Value json.RawMessage
	}
	_ = json.Unmarshal(patch, &ops)
	out := map[string]string{}
	for _, op := range ops {
		if op.Path != "/metadata/annotations/goinject.io~1status" {
			continue
		}
		var text string
		_ = json.Unmarshal(op.Value, &text)
		var st struct {
			Facts map[string]struct{ Registry string }
		}
		_ = json.Unmarshal([]byte(text), &st)
		for c, f := range st.Facts {
			out[c] = f.Registry
		}
	}
	return out
}

// lookupLog collects goinject's "registry lookup" log lines.
type lookupLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []lookupLine
}

type lookupLine struct {
	Msg    string
	Image  string
	Result string
	Ms     float64
	Bytes  int64
	Digest string
}

func (l *lookupLog) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		var line lookupLine
		if json.Unmarshal(l.partial[:i], &line) == nil && line.Msg == "registry lookup" {
			l.lines = append(l.lines, line)
		}
		l.partial = l.partial[i+1:]
	}
	return len(b), nil
}

// wait returns the log line of the lookup of digest, waiting up to a second for it.
func (l *lookupLog) wait(digest string) (lookupLine, bool) {
	for deadline := time.Now().Add(time.Second); ; {
		l.mu.Lock()
		for _, line := range l.lines {
			if line.Digest == digest {
				l.mu.Unlock()
				return line, true
			}
		}
		l.mu.Unlock()
		if time.Now().After(deadline) {
			return lookupLine{}, false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// ---- pods -----------------------------------------------------------------------

// registryTypicalPod is the typical pod with its images in the test registry
// at reg (typicalImages) and, instead of its fact annotations, facts (none:
// every fact is left to the registry).
func registryTypicalPod(reg string, facts map[string]string) obj {
	p := typicalPod()
	meta := p["metadata"].(obj)
	ann := obj{}
	for k, v := range meta["annotations"].(obj) {
		if !strings.Contains(k, "goinject.io") {
			ann[k] = v
		}
	}
	for k, v := range facts {
		ann[k] = v
	}
	meta["annotations"] = ann
	spec := p["spec"].(obj)
	for _, list := range []string{"containers", "initContainers"} {
		for _, c := range spec[list].(arr) {
			c := c.(obj)
			c["image"] = reg + "/goinject/" + typicalImages[c["name"].(string)] + ":test"
		}
	}
	return p
}

// coldPod is the small pod without fact annotations, of image.
func coldPod(image string) obj {
	p := smallPod()
	p["metadata"].(obj)["annotations"] = obj{}
	p["spec"].(obj)["containers"].(arr)[0].(obj)["image"] = image
	return p
}

// ---- the rows -------------------------------------------------------------------

// registryReady reports whether the registry rows can run, and why not.
func registryReady() bool {
	for _, f := range []string{"shell", "distroless", "musl", "scratch"} {
		if _, err := os.Stat(filepath.Join(*imagesDir, f+".tar")); err != nil {
			fmt.Printf("bench: registry rows skipped: no %s/%s.tar (tests/inspect/build-images.sh needs Docker)\n", *imagesDir, f)
			return false
		}
	}
	if _, err := os.Stat(*testRegistry); err != nil {
		fmt.Printf("bench: registry rows skipped: no %s (make build/registry/testregistry)\n", *testRegistry)
		return false
	}
	return true
}

// setupRegistry starts the test registry, seeds it, pushes variants cold
// variants of each cold fixture and writes goinject's configuration for it.
// It returns the registry, the configuration file and the variants' digests.
func setupRegistry(variants int) (*testReg, string, map[string]string) {
	setup := time.Now()
	reg := startTestRegistry()
	reg.tool("seed", "-images", *imagesDir, "-out", filepath.Join(reg.dir, "seed.json"))
	// Every cold lookup is of an image goinject has not seen: a digest of its own (the
	// layers are the same blobs, so each lookup reads the whole image again).
	digests := map[string]string{} // repo:tag -> digest
	for _, f := range coldFixtures {
		if variants == 0 {
			break
		}
		out := reg.tool("push", "-variants", strconv.Itoa(variants), filepath.Join(*imagesDir, f+".tar"), "goinject/cold-"+f+":t")
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if ref, d, ok := strings.Cut(line, " "); ok {
				digests[ref] = d
			}
		}
	}
	config := filepath.Join(reg.dir, "config.json")
	cfg, _ := json.Marshal(obj{"registry": obj{"caFile": reg.ca, "budgetMs": *coldBudgetMs}})
	if err := os.WriteFile(config, cfg, 0o644); err != nil {
		reg.stop()
		fatalf("%v", err)
	}
	fmt.Printf("bench: test registry at %s seeded in %.1f s (%d cold variants per fixture)\n", reg.addr, time.Since(setup).Seconds(), variants)
	return reg, config, digests
}

func newRegistryResult() *registryResult {
	return &registryResult{Pod: "typical", Images: typicalImages, ReviewBytes: map[kind]int{},
		Rounds: map[kind][]sample{}, Median: map[kind]sample{}, Target: hitTarget, ColdBudgetMs: *coldBudgetMs}
}

func runRegistry(certDir string, pool *x509.CertPool) *registryResult {
	if !registryReady() {
		return nil
	}
	reg, config, digests := setupRegistry(*coldLookups)
	defer reg.stop()
	res := newRegistryResult()
	hitRows(res, reg, config, certDir, pool)
	coldRows(res, reg, config, digests, certDir, pool)
	return res
}

// callgrindRows runs goinject of each registry kind under callgrind: started
// with instrumentation off, warmed (for kindCached: every image in the
// caches), instrumentation on, *callgrindReviews reviews one at a time, stop.
// Writes DIR/callgrind.out.KIND and prints the instructions per review.
func callgrindRows(certDir string, pool *x509.CertPool) {
	if !registryReady() {
		os.Exit(1)
	}
	dir, err := filepath.Abs(*callgrindDir)
	if err == nil {
		err = os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		fatalf("%v", err)
	}
	reg, config, _ := setupRegistry(0)
	defer reg.stop()
	res := newRegistryResult()
	h := newHitSetup(res, reg, config, certDir, pool)
	h.warmFor = 5 * time.Minute // the first lookups run under valgrind
	perReview := map[kind]float64{}
	for _, k := range registryKinds {
		out := filepath.Join(dir, "callgrind.out."+string(k))
		serverWrapper = []string{"valgrind", "--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + out}
		p := h.start(k)
		serverWrapper = nil
		if b, err := exec.Command("callgrind_control", "-i", "on", strconv.Itoa(p.cmd.Process.Pid)).CombinedOutput(); err != nil {
			p.stop()
			fatalf("callgrind_control -i on: %v %s", err, b)
		}
		c := &conn{t: p.target}
		for i := 0; i < *callgrindReviews; i++ {
			req := &h.reqs[k][i%len(h.reqs[k])]
			status, body, err := c.roundTrip(req)
			if err := check(req, status, body, err); err != nil {
				p.stop()
				fatalf("%s under callgrind: %v", k, err)
			}
		}
		c.close()
		// Off before SIGTERM: the shutdown (caches freed, connections closed) is not a review's.
		if b, err := exec.Command("callgrind_control", "-i", "off", strconv.Itoa(p.cmd.Process.Pid)).CombinedOutput(); err != nil {
			p.stop()
			fatalf("callgrind_control -i off: %v %s", err, b)
		}
		p.stop()
		perReview[k] = callgrindTotal(out) / float64(*callgrindReviews)
		fmt.Printf("bench: callgrind %-22s %9.0f instructions per review (review %d bytes) -> %s\n", k, perReview[k], res.ReviewBytes[k], out)
	}
	fmt.Printf("bench: callgrind: cached / annotated %.3f, cached / annotated-no-registry %.3f (%d reviews each; per function: callgrind_annotate --inclusive=yes %s/callgrind.out.KIND)\n",
		perReview[kindCached]/perReview[kindAnnotated], perReview[kindCached]/perReview[kindAnnotatedOff], *callgrindReviews, dir)
}

// callgrindTotal is the instruction count of a callgrind output file.
func callgrindTotal(path string) float64 {
	data, err := os.ReadFile(path)
	if err != nil {
		fatalf("%v", err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(strings.TrimPrefix(line, "totals:")); strings.HasPrefix(line, "totals:") && len(f) > 0 {
			v, _ := strconv.ParseFloat(f[0], 64)
			return v
		}
	}
	fatalf("%s: no totals", path)
	return 0
}

// hitSetup holds the pods and requests of the cache-hit rows.
type hitSetup struct {
	reg      *testReg
	config   string
	certDir  string
	pool     *x509.CertPool
	reqs     map[kind][]request
	podBytes map[kind][]byte
	warm     request
	warmFor  time.Duration // how long the first lookups may take
}

func newHitSetup(res *registryResult, reg *testReg, config, certDir string, pool *x509.CertPool) *hitSetup {
	h := &hitSetup{reg: reg, config: config, certDir: certDir, pool: pool,
		reqs: map[kind][]request{}, podBytes: map[kind][]byte{}, warmFor: 10 * time.Second}
	// The annotated pod states what goinject itself reads from each image.
	facts := map[string]string{}
	for c, f := range typicalImages {
		if c == "migrate" { // an init container: no rules, no facts
			continue
		}
		out, err := exec.Command(*goinjectBin, "inspect", "--config", config, "--annotations", c, reg.addr+"/goinject/"+f+":test").Output()
		var ann map[string]string
		if err != nil || json.Unmarshal(out, &ann) != nil {
			fatalf("goinject inspect --annotations %s of %s: %v %s", c, f, err, out)
		}
		for k, v := range ann {
			facts[k] = v
		}
	}
	pods := map[kind]obj{kindCached: registryTypicalPod(reg.addr, nil)}
	pods[kindAnnotated] = registryTypicalPod(reg.addr, facts)
	pods[kindAnnotatedOff] = pods[kindAnnotated]
	for _, k := range registryKinds {
		var bodies [][]byte
		var uids []string
		for i := 0; i < 16; i++ {
			uid := fmt.Sprintf("0b1e55ed-0000-4000-8000-%012d", i)
			uids = append(uids, uid)
			bodies = append(bodies, review(uid, pods[k]))
		}
		h.reqs[k] = buildRequests("/mutate?timeout=10s", bodies, uids)
		h.podBytes[k], _ = json.Marshal(pods[k])
		res.ReviewBytes[k] = len(bodies[0])
	}
	warmUID := "0b1e55ed-0000-4000-8000-0000000000ff"
	h.warm = buildRequests("/mutate?timeout=30s", [][]byte{review(warmUID, pods[kindCached])}, []string{warmUID})[0]
	return h
}

// start starts goinject of kind k; for kindCached it returns once every image
// of the pod is in goinject's caches (the first review waits for the lookups,
// the next is all hits).
func (h *hitSetup) start(k kind) *proc {
	p := startServerWith(k, h.certDir, h.pool, h.config, nil)
	if k != kindCached {
		return p
	}
	c := &conn{t: p.target}
	defer c.close()
	var st map[string]string
	for deadline := time.Now().Add(h.warmFor); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		st = registryStatus(p, c, &h.warm)
		if st["api"] == "hit" && st["worker"] == "hit" && st["proxy"] == "hit" {
			return p
		}
	}
	p.stop()
	fatalf("cached: the images did not get into goinject's caches: %v", st)
	return nil
}

// hitRows: the typical pod from the caches against the same pod annotated.
func hitRows(res *registryResult, reg *testReg, config, certDir string, pool *x509.CertPool) {
	h := newHitSetup(res, reg, config, certDir, pool)
	reqs, podBytes, start := h.reqs, h.podBytes, h.start

	// The three must make the same pod, or the comparison means nothing.
	procs := map[kind]*proc{}
	patched := map[kind]any{}
	ops := map[kind]int{}
	for _, k := range registryKinds {
		procs[k] = start(k)
		patched[k], ops[k] = patchedPod(procs[k], reqs[k], podBytes[k])
	}
	m := procs[kindAnnotated].metrics()
	if n := sum(m, "goinject_registry_requests_total") + sum(m, "goinject_facts_lookups_total"); n != 0 {
		fatalf("annotated: goinject asked the registry (%v requests and lookups) though the annotations settle every fact", n)
	}
	for _, k := range registryKinds {
		procs[k].stop()
	}
	specOf := func(doc any) any { return doc.(map[string]any)["spec"] }
	reasonOf := func(doc any) any {
		return doc.(map[string]any)["metadata"].(map[string]any)["annotations"].(map[string]any)["goinject.io/reason"]
	}
	for _, k := range []kind{kindAnnotated, kindAnnotatedOff} {
		if d := firstDifference(specOf(patched[kindCached]), specOf(patched[k]), "/spec"); d != "" {
			fatalf("registry: the cached pod's patched spec differs from the %s one at %s", k, d)
		}
		if reasonOf(patched[kindCached]) != reasonOf(patched[k]) {
			fatalf("registry: reasons differ: %v against %v (%s)", reasonOf(patched[kindCached]), reasonOf(patched[k]), k)
		}
	}
	fmt.Printf("bench: registry typical pod (review %d bytes, annotated %d): patched specs equal (%s; %d / %d / %d ops)\n",
		res.ReviewBytes[kindCached], res.ReviewBytes[kindAnnotated], reasonOf(patched[kindCached]),
		ops[kindCached], ops[kindAnnotated], ops[kindAnnotatedOff])

	d := time.Duration(*seconds * float64(time.Second))
	for round := 0; round < *rounds; round++ {
		order := rotate(registryKinds, round)
		procs := map[kind]*proc{}
		for _, k := range order {
			procs[k] = start(k)
		}
		before := procs[kindCached].metrics()
		samples, rate := measureRound(order, procs, func(k kind) []request { return reqs[k] }, d)
		after := procs[kindCached].metrics()
		requests := sum(after, "goinject_registry_requests_total") - sum(before, "goinject_registry_requests_total")
		reviews := sum(after, "goinject_reviews_total") - sum(before, "goinject_reviews_total")
		hits := sum(after, "goinject_facts_lookups_total", `result="hit"`) - sum(before, "goinject_facts_lookups_total", `result="hit"`)
		res.RequestsInRound = math.Max(res.RequestsInRound, requests)
		res.HitsPerReview = hits / reviews
		for _, k := range order {
			procs[k].stop()
			res.Rounds[k] = append(res.Rounds[k], *samples[k])
		}
		c, a, o := samples[kindCached], samples[kindAnnotated], samples[kindAnnotatedOff]
		res.RoundRatios = append(res.RoundRatios, ratio(c.CPUPer1000, a.CPUPer1000))
		res.RoundRatiosOff = append(res.RoundRatiosOff, ratio(c.CPUPer1000, o.CPUPer1000))
		fmt.Printf("bench: registry round %d: CPU µs/review cached %.1f annotated %.1f (--no-registry %.1f): %.3fx; p99 at %.0f/s: %.2f / %.2f / %.2f ms; %.0f registry requests, %.2f cache hits per review\n",
			round+1, c.CPUPer1000*1000, a.CPUPer1000*1000, o.CPUPer1000*1000, ratio(c.CPUPer1000, a.CPUPer1000),
			rate, c.RateP99, a.RateP99, o.RateP99, requests, hits/reviews)
	}
	for _, k := range registryKinds {
		res.Median[k] = medianSample(res.Rounds[k])
	}
	res.HitOverAnn = ratio(res.Median[kindCached].CPUPer1000, res.Median[kindAnnotated].CPUPer1000)
	res.HitOverAnnOff = ratio(res.Median[kindCached].CPUPer1000, res.Median[kindAnnotatedOff].CPUPer1000)
	res.TargetMet = res.HitOverAnn <= hitTarget
}

// coldRows: one review at a time, each of an image goinject has never seen,
// the fixtures taking turns.
func coldRows(res *registryResult, reg *testReg, config string, digests map[string]string, certDir string, pool *x509.CertPool) {
	log := &lookupLog{}
	p := startServerWith(kindCold, certDir, pool, config, log)
	defer p.stop()
	k := &conn{t: p.target}
	defer k.close()
	post := func(image string, n int) (time.Duration, float64, map[string]string) {
		uid := fmt.Sprintf("c01d0000-0000-4000-8000-%012d", n)
		req := buildRequests(fmt.Sprintf("/mutate?timeout=%ds", *coldBudgetMs/1000+2), [][]byte{review(uid, coldPod(image))}, []string{uid})[0]
		cpu0, t0 := p.cpuSeconds(), time.Now()
		st := registryStatus(p, k, &req)
		return time.Since(t0), (p.cpuSeconds() - cpu0) * 1000, st
	}
	// The process's first lookup (connections, TLS sessions) is not one of the measured.
	if _, _, st := post(reg.addr+"/goinject/scratch:test", 0); st["app"] != "fetched" {
		fatalf("cold: the warm-up lookup was not fetched: %v", st)
	}
	before := p.metrics()
	byFixture := map[string]*coldResult{}
	lookupMs, cpuMs, fetched, sizes := map[string][]float64{}, map[string][]float64{}, map[string][]float64{}, map[string][]float64{}
	for _, f := range coldFixtures {
		r := &coldResult{Fixture: f}
		r.ManifestBytes, r.ConfigBytes, r.LayerBytes, r.Layers = reg.manifestSizes("goinject/cold-"+f, "t1")
		if st, err := os.Stat(filepath.Join(*imagesDir, f+".tar")); err == nil {
			r.TarBytes = st.Size()
		}
		byFixture[f] = r
		res.Cold = append(res.Cold, r)
	}
	t0 := time.Now()
	for i := 1; i <= *coldLookups; i++ {
		order := coldFixtures
		if i%2 == 0 {
			order = []string{coldFixtures[1], coldFixtures[0]}
		}
		for _, f := range order {
			ref := fmt.Sprintf("goinject/cold-%s:t%d", f, i)
			lat, cpu, st := post(reg.addr+"/"+ref, i)
			if st["app"] != "fetched" {
				fatalf("cold: %s was not fetched within the review (status %v)", ref, st)
			}
			line, ok := log.wait(digests[ref])
			if !ok || line.Result != "ok" {
				fatalf("cold: no successful \"registry lookup\" log line for %s (%s)", ref, digests[ref])
			}
			r := byFixture[f]
			m, c, l, _ := reg.manifestSizes("goinject/cold-"+f, fmt.Sprintf("t%d", i))
			if line.Bytes == m+c+l {
				r.ExactReads++
			}
			sizes[f] = append(sizes[f], float64(m+c+l))
			r.Lookups++
			r.ReviewMs = append(r.ReviewMs, ms(lat))
			lookupMs[f] = append(lookupMs[f], line.Ms)
			cpuMs[f] = append(cpuMs[f], cpu)
			fetched[f] = append(fetched[f], float64(line.Bytes))
		}
	}
	after := p.metrics()
	res.ColdBytesTotal = sum(after, "goinject_registry_bytes_total") - sum(before, "goinject_registry_bytes_total")
	for _, r := range res.Cold {
		lat := append([]float64(nil), r.ReviewMs...)
		sort.Float64s(lat)
		r.ReviewP50 = median(lat)
		r.ReviewP99 = lat[int(math.Ceil(0.99*float64(len(lat))))-1] // nearest rank
		r.ReviewMax = lat[len(lat)-1]
		r.LookupP50 = median(lookupMs[r.Fixture])
		r.ServerCPUP50 = median(cpuMs[r.Fixture])
		r.BytesFetched = int64(median(fetched[r.Fixture]))
		r.ImageBytes = int64(median(sizes[r.Fixture]))
		r.FetchedOverImg = float64(r.BytesFetched) / float64(r.ImageBytes)
		r.FetchedOverTar = float64(r.BytesFetched) / float64(r.TarBytes)
	}
	fmt.Printf("bench: %d cold lookups in %.1f s\n", len(coldFixtures)**coldLookups, time.Since(t0).Seconds())
}

func (r *registryResult) report() {
	c, a, o := r.Median[kindCached], r.Median[kindAnnotated], r.Median[kindAnnotatedOff]
	fmt.Printf("\nregistry: the %s pod with its images in the test registry (%s), medians of %d rounds\n", r.Pod, imageList(r.Images), len(r.RoundRatios))
	fmt.Printf("%-28s %7s | %13s | %13s | %8s | %16s | %13s\n", "goinject", "review", "CPU µs/review", "capacity/core", "rps", "p99 ms @rate", "RSS MB (anon)")
	for _, row := range []struct {
		name string
		k    kind
		s    sample
	}{{"registry on, from the caches", kindCached, c}, {"registry on, annotated", kindAnnotated, a}, {"--no-registry, annotated", kindAnnotatedOff, o}} {
		fmt.Printf("%-28s %6.1fK | %13.1f | %13.0f | %8.0f | %7.2f @%-7.0f | %5.1f (%4.1f)\n", row.name, float64(r.ReviewBytes[row.k])/1024,
			row.s.CPUPer1000*1000, row.s.Capacity, row.s.RPS, row.s.RateP99, row.s.Rate, row.s.RSSMB, row.s.AnonMB)
	}
	verdict := "met"
	if !r.TargetMet {
		verdict = "MISSED"
	}
	fmt.Printf("targets registry: a cache hit costs %.3fx the CPU of the annotated pod (<= %.2f: %s); %.3fx the annotated pod without the registry layer; by round %s\n",
		r.HitOverAnn, r.Target, verdict, r.HitOverAnnOff, fmtRatios(r.RoundRatios))
	fmt.Printf("(while measuring: %.0f registry requests, %.2f facts cache hits per review)\n", r.RequestsInRound, r.HitsPerReview)
	fmt.Printf("\ncold lookups: one review at a time, each of an image goinject has not seen (budget %d ms)\n", r.ColdBudgetMs)
	fmt.Printf("%-10s %7s | %24s | %9s | %7s | %12s | %29s | %14s | %19s\n", "fixture", "lookups", "review ms p50 / p99 / max", "lookup ms", "CPU ms", "bytes read", "image: manifest+config+layers", "read / image", "docker save (read ÷)")
	for _, x := range r.Cold {
		fmt.Printf("%-10s %7d | %7.1f / %7.1f / %7.1f | %9.1f | %7.1f | %12d | %15d (%d layers) | %6.4f (%2d/%2d) | %11d (%.2fx)\n", x.Fixture, x.Lookups,
			x.ReviewP50, x.ReviewP99, x.ReviewMax, x.LookupP50, x.ServerCPUP50, x.BytesFetched, x.ImageBytes, x.Layers,
			x.FetchedOverImg, x.ExactReads, x.Lookups, x.TarBytes, x.FetchedOverTar)
	}
	fmt.Printf("(p99: nearest rank; lookup ms: goinject's log line; CPU ms: goinject's utime+stime over the review; bytes read: the log line's bytes, median;\n" +
		" (n/m): lookups that read exactly their image's manifest + config + layers)\n")
}

func imageList(m map[string]string) string {
	var parts []string
	for _, c := range []string{"api", "worker", "proxy", "migrate"} {
		parts = append(parts, c+": "+m[c])
	}
	return strings.Join(parts, ", ")
}

func fmtRatios(xs []float64) string {
	var parts []string
	for _, x := range xs {
		parts = append(parts, fmt.Sprintf("%.3f", x))
	}
	return strings.Join(parts, " ")
}
