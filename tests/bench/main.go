// Command bench is `make bench`: goinject serve against a controller-runtime
// webhook doing the same mutation (tests/bench/peer) and against goinject's
// own floor (serve --bench-floor of the bench build, build/bench/goinject:
// TLS and HTTP without reading the pod), for four pod sizes, over TLS 1.3
// keep-alive connections on loopback.
//
// The load generator (this process) and the server under test are pinned to
// different CPUs; the three servers are loaded one after the other, never at
// the same time, in an order that rotates every round; each figure is the
// median over the rounds, and every ratio compares figures of the same run.
//
// Then the registry rows (registry.go), against the test registry: a pod
// whose image facts come from goinject's caches against the same pod with the
// facts as annotations, cold lookups, and the bytes a lookup reads.
package main

import (
	"bufio"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

var (
	goinjectBin = flag.String("goinject", "build/goinject", "the goinject binary")
	floorBin    = flag.String("floor", "build/bench/goinject", "the bench build of goinject (-DGOINJECT_BENCH), for the floor")
	peerBin     = flag.String("peer", "build/bench/peer", "the controller-runtime peer binary")
	outFile     = flag.String("out", "build/bench.json", "where the results go")
	rounds      = flag.Int("rounds", 5, "rounds; every figure is the median over them")
	seconds     = flag.Float64("seconds", 3, "seconds of load per measurement (doubled for the huge pod)")
	conns       = flag.Int("conns", 16, "keep-alive connections")
	serverCPUs  = flag.String("server-cpus", "1", "taskset CPU list for the servers (empty: no pinning)")
	sizesFlag   = flag.String("sizes", "small,typical,large,huge", "pod sizes to run (none: only the registry rows)")
	dumpDir     = flag.String("dump", "", "only write each size's AdmissionReview to DIR/SIZE.json (for profiling) and exit")
	loadAddr    = flag.String("load-addr", "", "profiling aid: only load the server at ADDR (trusting -ca) with the first of -sizes for -seconds, print the rate, exit")
	loadCA      = flag.String("ca", "", "the CA file for -load-addr")
	loadRate    = flag.Float64("rate", 0, "with -load-addr: offer this many requests per second (open loop) instead of saturating")
	rateShare   = flag.Float64("rate-share", 0.5, "the fixed moderate rate, as a share of the slowest server's saturation throughput")
)

// ---- servers -----------------------------------------------------------------

type kind string

const (
	kindGoinject kind = "goinject"
	kindPeer     kind = "peer"
	kindFloor    kind = "floor"
)

var kinds = []kind{kindGoinject, kindPeer, kindFloor}

type proc struct {
	anonPeakMB float64
	kind       kind
	cmd        *exec.Cmd
	port       int
	readyMs    float64
	target     *target
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fatalf("no free port: %v", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// serverWrapper goes before goinject's argv (valgrind for -callgrind).
var serverWrapper []string

// slowdown: how many times longer than normal goinject may take to start and stop.
func slowdown() int {
	if len(serverWrapper) > 0 {
		return 10
	}
	return 1
}

func startServer(k kind, certDir string, pool *x509.CertPool) *proc {
	return startServerWith(k, certDir, pool, "", nil)
}

// startServerWith starts the server of kind k; goinject kinds get --config
// config when it is not empty, and their log goes to logTo (nil: nowhere).
func startServerWith(k kind, certDir string, pool *x509.CertPool, config string, logTo io.Writer) *proc {
	port := freePort()
	var argv []string
	if *serverCPUs != "" {
		argv = []string{"taskset", "-c", *serverCPUs}
	}
	switch k {
	case kindPeer:
		argv = append(argv, *peerBin, "--port", strconv.Itoa(port), "--cert-dir", certDir)
	default:
		bin := *goinjectBin
		if k == kindFloor {
			bin = *floorBin
		}
		argv = append(append(argv, serverWrapper...), bin, "serve", "--listen", "127.0.0.1:"+strconv.Itoa(port),
			"--tls-cert", filepath.Join(certDir, "tls.crt"), "--tls-key", filepath.Join(certDir, "tls.key"))
		if !k.registryOn() {
			argv = append(argv, "--no-registry")
		}
		if config != "" {
			argv = append(argv, "--config", config)
		}
		if k == kindFloor {
			argv = append(argv, "--bench-floor")
		}
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	// Both servers log one line per review; the log goes nowhere, at the same cost for both.
	cmd.Stdout, cmd.Stderr = nil, logTo
	p := &proc{kind: k, cmd: cmd, port: port, target: newTarget("127.0.0.1:"+strconv.Itoa(port), pool)}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		fatalf("start %v: %v", argv, err)
	}
	if !waitReady(p.target, 20*time.Second*time.Duration(slowdown())) {
		p.stop()
		fatalf("%s did not become ready", k)
	}
	p.readyMs = float64(time.Since(start).Microseconds()) / 1000
	return p
}

// waitReady polls GET /readyz on a fresh connection every millisecond until it answers 200.
func waitReady(t *target, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	req := request{raw: []byte("GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")}
	for time.Now().Before(deadline) {
		k := &conn{t: t}
		status, _, err := k.roundTrip(&req)
		k.close()
		if err == nil && status == 200 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second * time.Duration(slowdown())):
		_ = p.cmd.Process.Kill()
		<-done
	}
}

// sampleAnon records the peak RssAnon every 50 ms until the returned function is called.
func (p *proc) sampleAnon() func() {
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			if v := statusKB(p.cmd.Process.Pid, "RssAnon") / 1024; v > p.anonPeakMB {
				p.anonPeakMB = v
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return func() { close(stop); <-done }
}

var clockTick = 100.0 // USER_HZ on Linux

// cpuSeconds is utime+stime of the process (all its threads), from /proc/PID/stat.
func (p *proc) cpuSeconds() float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return math.NaN()
	}
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	utime, _ := strconv.ParseFloat(fields[11], 64)
	stime, _ := strconv.ParseFloat(fields[12], 64)
	return (utime + stime) / clockTick
}

// statusKB reads a "Vm...:" line of /proc/PID/status in KiB.
func statusKB(pid int, field string) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return math.NaN()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), field+":") {
			v, _ := strconv.ParseFloat(strings.Fields(sc.Text())[1], 64)
			return v
		}
	}
	return math.NaN()
}

func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

// ---- one measurement -------------------------------------------------------------

type sample struct {
	RPS        float64 `json:"rps"`
	SatP50     float64 `json:"sat_p50_ms"`
	SatP99     float64 `json:"sat_p99_ms"`
	RateP50    float64 `json:"rate_p50_ms"`
	RateP99    float64 `json:"rate_p99_ms"`
	Rate       float64 `json:"rate_rps"`
	CPUPer1000 float64 `json:"cpu_s_per_1000"`
	RSSMB      float64 `json:"rss_mb"`       // VmHWM: peak resident set, shared library pages included
	AnonMB     float64 `json:"anon_mb"`      // peak RssAnon sampled every 50 ms: the process's own memory
	Capacity   float64 `json:"capacity_rps"` // 1000 / CPU seconds per 1000 reviews: reviews per second one whole core would serve
	ReadyMs    float64 `json:"ready_ms"`
	ClientCPU  float64 `json:"client_cpu_share"` // the load generator's CPU use during saturation, in cores
	Errors     int     `json:"errors"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func die(k kind, r *result) {
	if r.errors > 0 {
		fatalf("%s: %d of %d requests failed; first: %v", k, r.errors, r.errors+r.count, r.firstErr)
	}
}

// ---- verification ----------------------------------------------------------------

type answer struct {
	Response struct {
		UID     string `json:"uid"`
		Allowed bool   `json:"allowed"`
		Patch   string `json:"patch"`
	} `json:"response"`
}

// patchedPod posts one review and applies the patch of the answer to the pod.
func patchedPod(p *proc, reqs []request, podBytes []byte) (any, int) {
	k := &conn{t: p.target}
	defer k.close()
	status, body, err := k.roundTrip(&reqs[0])
	if err := check(&reqs[0], status, body, err); err != nil {
		fatalf("verify %s: %v", p.kind, err)
	}
	var a answer
	if err := json.Unmarshal(body, &a); err != nil || !a.Response.Allowed {
		fatalf("verify %s: answer %.300s", p.kind, body)
	}
	patch, err := base64.StdEncoding.DecodeString(a.Response.Patch)
	if err != nil || len(patch) == 0 {
		fatalf("verify %s: no patch in the answer", p.kind)
	}
	var ops []any
	_ = json.Unmarshal(patch, &ops)
	doc, err := applyPatch(podBytes, patch)
	if err != nil {
		fatalf("verify %s: applying its patch: %v", p.kind, err)
	}
	return doc, len(ops)
}

// ---- main ---------------------------------------------------------------------

type sizeResult struct {
	Name     string            `json:"name"`
	PodBytes int               `json:"pod_bytes"`
	Review   int               `json:"review_bytes"`
	Rounds   map[kind][]sample `json:"rounds"`
	Median   map[kind]sample   `json:"median"`
	PatchOps map[kind]int      `json:"patch_ops"`
}

func median(xs []float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	if len(ys) == 0 {
		return math.NaN()
	}
	if len(ys)%2 == 1 {
		return ys[len(ys)/2]
	}
	return (ys[len(ys)/2-1] + ys[len(ys)/2]) / 2
}

func medianSample(ss []sample) sample {
	pick := func(f func(sample) float64) float64 {
		var xs []float64
		for _, s := range ss {
			xs = append(xs, f(s))
		}
		return median(xs)
	}
	return sample{
		RPS:        pick(func(s sample) float64 { return s.RPS }),
		SatP50:     pick(func(s sample) float64 { return s.SatP50 }),
		SatP99:     pick(func(s sample) float64 { return s.SatP99 }),
		RateP50:    pick(func(s sample) float64 { return s.RateP50 }),
		RateP99:    pick(func(s sample) float64 { return s.RateP99 }),
		Rate:       pick(func(s sample) float64 { return s.Rate }),
		CPUPer1000: pick(func(s sample) float64 { return s.CPUPer1000 }),
		RSSMB:      pick(func(s sample) float64 { return s.RSSMB }),
		AnonMB:     pick(func(s sample) float64 { return s.AnonMB }),
		Capacity:   pick(func(s sample) float64 { return s.Capacity }),
		ReadyMs:    pick(func(s sample) float64 { return s.ReadyMs }),
		ClientCPU:  pick(func(s sample) float64 { return s.ClientCPU }),
	}
}

// atFatal holds what fatalf undoes before it exits (the test registry, temporary directories).
var atFatal []func()

func fatalf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...)
	for i := len(atFatal) - 1; i >= 0; i-- {
		atFatal[i]()
	}
	os.Exit(1)
}

func loadavg() string {
	data, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// onlineCPUs counts the machine's CPUs (runtime.NumCPU only sees our own pinning).
func onlineCPUs() int {
	data, _ := os.ReadFile("/proc/cpuinfo")
	return strings.Count(string(data), "\nprocessor\t") + strings.Count(string(data)[:min(len(data), 10)], "processor")
}

func cpuModel() string {
	data, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "model name") {
			return strings.TrimSpace(line[strings.IndexByte(line, ':')+1:])
		}
	}
	return "?"
}

func main() {
	flag.Parse()
	if *dumpDir != "" {
		for _, size := range podSizes {
			if err := os.WriteFile(filepath.Join(*dumpDir, size.name+".json"), review("0b1e55ed-0000-4000-8000-000000000000", size.pod()), 0o644); err != nil {
				fatalf("%v", err)
			}
		}
		return
	}
	if *loadAddr != "" {
		loadOnly()
		return
	}
	certDir, err := os.MkdirTemp("", "goinject-bench-")
	if err != nil {
		fatalf("%v", err)
	}
	defer os.RemoveAll(certDir)
	atFatal = append(atFatal, func() { os.RemoveAll(certDir) })
	if out, err := exec.Command(*goinjectBin, "certgen", "--out", certDir, "--host", "127.0.0.1").CombinedOutput(); err != nil {
		fatalf("certgen: %v\n%s", err, out)
	}
	// The peer's certificate watcher reads the key as whoever runs it; certgen keeps it 0600, fine for root or the same user.
	caPEM, err := os.ReadFile(filepath.Join(certDir, "ca.crt"))
	if err != nil {
		fatalf("%v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)

	if *callgrindDir != "" {
		callgrindRows(certDir, pool)
		return
	}
	wanted := map[string]bool{}
	for _, s := range strings.Split(*sizesFlag, ",") {
		wanted[strings.TrimSpace(s)] = true
	}
	loadStart := loadavg()
	fmt.Printf("bench: %d CPUs (%s), load average %s; servers on CPU %q, load generator on the others; %d rounds of %.0f s, %d connections\n",
		onlineCPUs(), cpuModel(), loadStart, *serverCPUs, *rounds, *seconds, *conns)

	var results []*sizeResult
	for _, size := range podSizes {
		if !wanted[size.name] {
			continue
		}
		podDoc := size.pod()
		podBytes, _ := json.Marshal(podDoc)
		variants := 16
		if len(podBytes) > 256<<10 {
			variants = 4
		}
		var bodies [][]byte
		var uids []string
		for i := 0; i < variants; i++ {
			uid := fmt.Sprintf("0b1e55ed-0000-4000-8000-%012d", i)
			uids = append(uids, uid)
			bodies = append(bodies, review(uid, podDoc))
		}
		reqs := buildRequests("/mutate?timeout=10s", bodies, uids)
		res := &sizeResult{Name: size.name, PodBytes: len(podBytes), Review: len(bodies[0]),
			Rounds: map[kind][]sample{}, Median: map[kind]sample{}, PatchOps: map[kind]int{}}
		results = append(results, res)

		// The peer must produce the same pod as goinject, or the comparison means nothing.
		gi, peer := startServer(kindGoinject, certDir, pool), startServer(kindPeer, certDir, pool)
		giPod, giOps := patchedPod(gi, reqs, podBytes)
		peerPod, peerOps := patchedPod(peer, reqs, podBytes)
		gi.stop()
		peer.stop()
		if d := firstDifference(giPod, peerPod, ""); d != "" {
			fatalf("%s pod: the peer's patched pod differs from goinject's at %s", size.name, d)
		}
		res.PatchOps[kindGoinject], res.PatchOps[kindPeer] = giOps, peerOps
		fmt.Printf("bench: %s pod (%d bytes, review %d bytes): patched pods equal (goinject %d ops, peer %d ops)\n",
			size.name, len(podBytes), len(bodies[0]), giOps, peerOps)

		d := time.Duration(*seconds * float64(time.Second))
		if len(podBytes) > 256<<10 {
			d *= 2
		}
		for round := 0; round < *rounds; round++ {
			order := rotate(kinds, round)
			procs := map[kind]*proc{}
			for _, k := range order {
				procs[k] = startServer(k, certDir, pool)
			}
			samples, rate := measureRound(order, procs, func(kind) []request { return reqs }, d)
			for _, k := range order {
				procs[k].stop()
				res.Rounds[k] = append(res.Rounds[k], *samples[k])
			}
			g, pe, f := samples[kindGoinject], samples[kindPeer], samples[kindFloor]
			fmt.Printf("bench: %s round %d: rps goinject %.0f peer %.0f floor %.0f; p99 at %.0f/s: %.2f / %.2f / %.2f ms\n",
				size.name, round+1, g.RPS, pe.RPS, f.RPS, rate, g.RateP99, pe.RateP99, f.RateP99)
		}
		for _, k := range kinds {
			res.Median[k] = medianSample(res.Rounds[k])
		}
	}
	var reg *registryResult
	if *registryRows {
		reg = runRegistry(certDir, pool)
	}
	report(results, reg, loadStart)
}

// rotate is ks started at round % len(ks): the order the servers of a round are loaded in.
func rotate(ks []kind, round int) []kind {
	i := round % len(ks)
	return append(append([]kind{}, ks[i:]...), ks[:i]...)
}

// measureRound loads the running servers one after the other in order: each is
// warmed up, saturated for d (CPU per review, throughput, latency), then, once
// all are measured, offered the same moderate rate (rateShare of the slowest
// one's throughput) for d. reqs gives each kind its requests.
func measureRound(order []kind, procs map[kind]*proc, reqs func(kind) []request, d time.Duration) (map[kind]*sample, float64) {
	samples := map[kind]*sample{}
	minRPS := math.Inf(1)
	for _, k := range order {
		p := procs[k]
		saturate(p.target, reqs(k), *conns, d/4) // warm up: connections, caches, heap
		cpu0, self0, t0 := p.cpuSeconds(), selfCPUSeconds(), time.Now()
		stopSampling := p.sampleAnon()
		r := saturate(p.target, reqs(k), *conns, d)
		stopSampling()
		cpu1, self1 := p.cpuSeconds(), selfCPUSeconds()
		die(k, r)
		cpu := (cpu1 - cpu0) / float64(r.count) * 1000
		samples[k] = &sample{RPS: r.rps(), SatP50: ms(r.percentile(0.50)), SatP99: ms(r.percentile(0.99)),
			CPUPer1000: cpu, Capacity: 1000 / cpu, ReadyMs: p.readyMs,
			ClientCPU: (self1 - self0) / time.Since(t0).Seconds()}
		minRPS = math.Min(minRPS, r.rps())
	}
	rate := math.Max(1, minRPS**rateShare)
	for _, k := range order {
		p := procs[k]
		r := atRate(p.target, reqs(k), *conns, rate, d)
		die(k, r)
		s := samples[k]
		s.Rate, s.RateP50, s.RateP99 = rate, ms(r.percentile(0.50)), ms(r.percentile(0.99))
		s.RSSMB = statusKB(p.cmd.Process.Pid, "VmHWM") / 1024
		s.AnonMB = p.anonPeakMB
	}
	return samples, rate
}

// loadOnly drives an already running server, for perf or valgrind attached to it.
func loadOnly() {
	caPEM, err := os.ReadFile(*loadCA)
	if err != nil {
		fatalf("-ca: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	name := strings.Split(*sizesFlag, ",")[0]
	for _, size := range podSizes {
		if size.name != name {
			continue
		}
		uid := "0b1e55ed-0000-4000-8000-000000000000"
		reqs := buildRequests("/mutate", [][]byte{review(uid, size.pod())}, []string{uid})
		d := time.Duration(*seconds * float64(time.Second))
		var r *result
		if *loadRate > 0 {
			r = atRate(newTarget(*loadAddr, pool), reqs, *conns, *loadRate, d)
		} else {
			r = saturate(newTarget(*loadAddr, pool), reqs, *conns, d)
		}
		die(kindGoinject, r)
		fmt.Printf("bench: %d %s reviews in %.1f s (%.0f/s), p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, p99.9 %.2f ms, max %.2f ms\n", r.count, name,
			r.elapsed.Seconds(), r.rps(), ms(r.percentile(0.5)), ms(r.percentile(0.9)), ms(r.percentile(0.99)), ms(r.percentile(0.999)), ms(r.percentile(1)))
		return
	}
	fatalf("no pod size %q", name)
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func report(results []*sizeResult, reg *registryResult, loadStart string) {
	type row map[string]any
	rows := []row{}
	if len(results) > 0 {
		sizeTable(results)
	}
	for _, r := range results {
		g, p, f := r.Median[kindGoinject], r.Median[kindPeer], r.Median[kindFloor]
		rows = append(rows, row{
			"pod": r.Name, "pod_bytes": r.PodBytes, "review_bytes": r.Review,
			"goinject_rps": g.RPS, "peer_rps": p.RPS, "floor_rps": f.RPS,
			"goinject_capacity_rps": g.Capacity, "peer_capacity_rps": p.Capacity, "floor_capacity_rps": f.Capacity,
			"capacity_ratio_peer": ratio(g.Capacity, p.Capacity), "floor_over_goinject_capacity": ratio(f.Capacity, g.Capacity),
			"rps_ratio_peer": ratio(g.RPS, p.RPS), "floor_over_goinject": ratio(f.RPS, g.RPS),
			"fixed_rate_rps":  g.Rate,
			"goinject_p50_ms": g.RateP50, "peer_p50_ms": p.RateP50, "floor_p50_ms": f.RateP50,
			"goinject_p99_ms": g.RateP99, "peer_p99_ms": p.RateP99, "floor_p99_ms": f.RateP99,
			"goinject_sat_p50_ms": g.SatP50, "peer_sat_p50_ms": p.SatP50, "floor_sat_p50_ms": f.SatP50,
			"goinject_sat_p99_ms": g.SatP99, "peer_sat_p99_ms": p.SatP99, "floor_sat_p99_ms": f.SatP99,
			"goinject_cpu_s_per_1000": g.CPUPer1000, "peer_cpu_s_per_1000": p.CPUPer1000, "floor_cpu_s_per_1000": f.CPUPer1000,
			"goinject_cpu_us_per_kb": g.CPUPer1000 * 1000 / (float64(r.Review) / 1024),
			"goinject_rss_mb":        g.RSSMB, "peer_rss_mb": p.RSSMB, "floor_rss_mb": f.RSSMB,
			"goinject_anon_mb": g.AnonMB, "peer_anon_mb": p.AnonMB, "floor_anon_mb": f.AnonMB,
			"goinject_ready_ms": g.ReadyMs, "peer_ready_ms": p.ReadyMs,
			"client_cpu_cores": row{"goinject": g.ClientCPU, "peer": p.ClientCPU, "floor": f.ClientCPU},
			"patch_ops":        r.PatchOps,
			"rounds":           r.Rounds,
		})
	}
	if reg != nil {
		reg.report()
	}
	host, _ := os.Hostname()
	doc := map[string]any{
		"machine": map[string]any{"cpus": onlineCPUs(), "cpu_model": cpuModel(), "host": host,
			"load_average_start": loadStart, "load_average_end": loadavg()},
		"settings": map[string]any{"rounds": *rounds, "seconds": *seconds, "connections": *conns,
			"server_cpus": *serverCPUs, "rate_share": *rateShare, "tls": "1.3", "keep_alive": true},
		"sizes": rows,
	}
	if reg != nil {
		doc["registry"] = reg
	}
	data, _ := json.MarshalIndent(doc, "", "  ")
	err := os.MkdirAll(filepath.Dir(*outFile), 0o755)
	if err == nil {
		err = os.WriteFile(*outFile, append(data, '\n'), 0o644)
	}
	if err != nil {
		fatalf("writing %s: %v", *outFile, err)
	}
	fmt.Printf("bench: wrote %s (load average at the end %s)\n", *outFile, loadavg())
}

// sizeTable prints the table of the size rows and the targets for them.
func sizeTable(results []*sizeResult) {
	fmt.Printf("\n%-8s %6s | %-22s | %-20s | %-22s | %-17s | %-17s | %-19s | %-11s\n",
		"pod", "review", "capacity/core g/p/fl", "x peer, floor/g", "measured rps g/p/fl", "p99 ms @rate g/p", "CPU ms/review g/p", "RSS MB g/p (anon)", "ready ms g/p")
	for _, r := range results {
		g, p, f := r.Median[kindGoinject], r.Median[kindPeer], r.Median[kindFloor]
		fmt.Printf("%-8s %5.0fK | %6.0f %6.0f %7.0f | %5.2fx %5.2fx @%-4.0f | %6.0f %6.0f %7.0f | %7.2f %7.2f @%-4.0f | %7.3f %8.3f | %4.1f %5.1f (%3.1f %4.1f) | %4.1f %5.1f\n",
			r.Name, float64(r.Review)/1024, g.Capacity, p.Capacity, f.Capacity, ratio(g.Capacity, p.Capacity), ratio(f.Capacity, g.Capacity), g.Rate,
			g.RPS, p.RPS, f.RPS, g.RateP99, p.RateP99, g.Rate, g.CPUPer1000, p.CPUPer1000,
			g.RSSMB, p.RSSMB, g.AnonMB, p.AnonMB, g.ReadyMs, p.ReadyMs)
	}
	fmt.Printf("\n(capacity/core: 1000 / CPU seconds per 1000 reviews, the reviews one whole core serves; measured rps: closed loop with %d connections, "+
		"bounded by the scheduler on a busy machine; p99 @rate: open loop at %.0f%% of the slowest server's measured rps; RSS: VmHWM, anon: peak RssAnon)\n", *conns, *rateShare*100)
	targets(results)
}

// targets prints which of the targets this run meets.
func targets(results []*sizeResult) {
	verdict := func(ok bool) string {
		if ok {
			return "met"
		}
		return "MISSED"
	}
	var perKB []float64
	for _, r := range results {
		g, p, f := r.Median[kindGoinject], r.Median[kindPeer], r.Median[kindFloor]
		fmt.Printf("targets %-8s throughput %.2fx peer by capacity (>= 3: %s; measured %.2fx), p99 @rate %.2f of peer (<= 0.33: %s), p99 sat %.2f of peer, RSS %.2f of peer (<= 0.2: %s; anon %.2f)",
			r.Name, ratio(g.Capacity, p.Capacity), verdict(ratio(g.Capacity, p.Capacity) >= 3), ratio(g.RPS, p.RPS),
			ratio(g.RateP99, p.RateP99), verdict(ratio(g.RateP99, p.RateP99) <= 1.0/3),
			ratio(g.SatP99, p.SatP99), ratio(g.RSSMB, p.RSSMB), verdict(ratio(g.RSSMB, p.RSSMB) <= 0.2), ratio(g.AnonMB, p.AnonMB))
		if r.Name == "typical" {
			fmt.Printf(", floor capacity %.2fx goinject's (<= 2: %s)", ratio(f.Capacity, g.Capacity), verdict(ratio(f.Capacity, g.Capacity) <= 2))
		}
		fmt.Println()
		// Cost above the floor, per KiB of review.
		perKB = append(perKB, (g.CPUPer1000-f.CPUPer1000)*1000/(float64(r.Review)/1024))
	}
	var parts []string
	for i, r := range results {
		parts = append(parts, fmt.Sprintf("%s %.1f", r.Name, perKB[i]))
	}
	fmt.Printf("targets linear: CPU µs per KiB of review above the floor: %s (flat or falling: no worse than linear)\n", strings.Join(parts, ", "))
}
