package faults

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// SIGTERM during steady load with --shutdown-delay: the "service" routes new
// connections to the first instance while it is ready and to the second one
// after, as kube-proxy does once the endpoint is gone; clients are Go's
// net/http like kube-apiserver's. Not one review may fail.
func TestSIGTERMUnderLoadLosesNoReview(t *testing.T) {
	dir := t.TempDir()
	certgen(t, dir)
	p := pool(t, filepath.Join(dir, "ca.crt"))
	a := startServer(t, dir, "--shutdown-delay", "1500")
	b := startServer(t, dir)
	var route atomic.Value
	route.Store(a.addr)
	stopWatch := make(chan struct{})
	var unreadyAt atomic.Int64
	go func() { // the endpoints controller: readiness decides the route
		for {
			select {
			case <-stopWatch:
				return
			case <-time.After(50 * time.Millisecond):
			}
			if route.Load() == a.addr && !readyz(p, a.addr) {
				route.Store(b.addr)
				unreadyAt.Store(time.Now().UnixNano())
			}
		}
	}()
	var perBackend sync.Map
	countingDial := func() string {
		r := route.Load().(string)
		v, _ := perBackend.LoadOrStore(r, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
		return r
	}
	stop := make(chan struct{})
	res := runLoad(16, func() *http.Client {
		return &http.Client{Timeout: 15 * time.Second, Transport: transport(p, countingDial)}
	}, func() string { return "https://service" }, stop, 0)
	time.Sleep(1500 * time.Millisecond)
	sent := time.Now()
	a.cmd.Process.Signal(syscall.SIGTERM)
	status := a.waitExit(30 * time.Second)
	exitedAfter := time.Since(sent)
	time.Sleep(time.Second) // keep going on the second instance
	close(stop)
	res.wait()
	close(stopWatch)
	if status != 0 {
		t.Errorf("first instance exited %d after SIGTERM, want 0", status)
	}
	dials := func(addr string) int64 {
		if v, ok := perBackend.Load(addr); ok {
			return v.(*atomic.Int64).Load()
		}
		return 0
	}
	summary(t, "sigterm: %d reviews, %d failed; unready %v after SIGTERM, exited %v after (status %d); connections: %d to the first instance, %d to the second",
		res.ok+res.failed, res.failed, time.Duration(unreadyAt.Load()-sent.UnixNano()).Round(time.Millisecond),
		exitedAfter.Round(time.Millisecond), status, dials(a.addr), dials(b.addr))
	if res.failed > 0 {
		t.Errorf("%d reviews failed: %v", res.failed, res.errs)
	}
	if res.ok < 100 || dials(b.addr) == 0 {
		t.Errorf("too little load to mean anything: %d reviews, %d connections to the second instance", res.ok, dials(b.addr))
	}
}

// Certificate rotation under load: the pair is swapped the way a Secret
// volume does it (a ..data symlink replaced atomically) every 300 ms while
// clients open a new TLS connection for every review. No handshake may fail,
// and the clients must have seen several certificates.
func TestCertificateRotationUnderLoadFailsNoHandshake(t *testing.T) {
	root := t.TempDir()
	const pairs = 4
	var cas []string
	for i := 0; i < pairs; i++ {
		d := filepath.Join(root, fmt.Sprintf("pair%d", i))
		certgen(t, d)
		cas = append(cas, filepath.Join(d, "ca.crt"))
	}
	vol := filepath.Join(root, "volume")
	os.Mkdir(vol, 0o755)
	swap := func(i int) {
		tmp := filepath.Join(vol, "..data_tmp")
		os.Remove(tmp)
		if err := os.Symlink(filepath.Join(root, fmt.Sprintf("pair%d", i)), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
	}
	swap(0)
	os.Symlink("..data/tls.crt", filepath.Join(vol, "tls.crt"))
	os.Symlink("..data/tls.key", filepath.Join(vol, "tls.key"))
	s := startServer(t, vol)
	p := pool(t, cas...)
	var serialsMu sync.Mutex
	serials := map[string]bool{}
	var handshakes atomic.Int64
	newClient := func() *http.Client {
		tr := transport(p, func() string { return s.addr })
		tr.DisableKeepAlives = true
		tr.TLSClientConfig.VerifyConnection = func(cs tls.ConnectionState) error {
			handshakes.Add(1)
			serialsMu.Lock()
			serials[cs.PeerCertificates[0].SerialNumber.String()] = true
			serialsMu.Unlock()
			return nil
		}
		return &http.Client{Timeout: 10 * time.Second, Transport: tr}
	}
	stop := make(chan struct{})
	res := runLoad(8, newClient, func() string { return "https://service" }, stop, 0)
	rotations := 0
	for end := time.Now().Add(6 * time.Second); time.Now().Before(end); rotations++ {
		time.Sleep(300 * time.Millisecond)
		swap((rotations + 1) % pairs)
	}
	time.Sleep(1500 * time.Millisecond) // the last pair is picked up within a second
	close(stop)
	res.wait()
	summary(t, "rotation: %d rotations, %d handshakes, %d reviews, %d failed, %d certificates seen",
		rotations, handshakes.Load(), res.ok+res.failed, res.failed, len(serials))
	if res.failed > 0 {
		t.Errorf("%d reviews failed: %v", res.failed, res.errs)
	}
	if len(serials) < 3 {
		t.Errorf("clients saw %d certificates, want at least 3: the server did not rotate", len(serials))
	}
}

// 1,000 stalled connections (half never send a byte, half finish the TLS
// handshake and send half a request) must not slow real reviews: p99 within
// 2x of the p99 without them (plus 2 ms for timer noise). Each phase is five
// windows of 700 ms and its p99 is the median of theirs, so one burst of other
// work on a shared machine does not decide the outcome.
func TestStalledConnectionsDoNotSlowReviews(t *testing.T) {
	dir := t.TempDir()
	certgen(t, dir)
	p := pool(t, filepath.Join(dir, "ca.crt"))
	// All from one address, past the default limits: what is measured is the cost of
	// many stalled connections to the event loops, not the limits (attacks_test.go).
	s := startServer(t, dir, "--max-connections", "2048", "--max-connections-per-ip", "0")
	window := func() latencies {
		stop := make(chan struct{})
		res := runLoad(4, func() *http.Client {
			return &http.Client{Timeout: 10 * time.Second, Transport: transport(p, func() string { return s.addr })}
		}, func() string { return "https://service" }, stop, 2*time.Millisecond)
		time.Sleep(700 * time.Millisecond)
		close(stop)
		res.wait()
		if res.failed > 0 {
			t.Errorf("%d reviews failed: %v", res.failed, res.errs)
		}
		return res.lat
	}
	measure := func() (p50, p99 time.Duration, n int) {
		var p50s, p99s latencies
		for i := 0; i < 5; i++ {
			l := window()
			p50s, p99s, n = append(p50s, l.pct(0.5)), append(p99s, l.pct(0.99)), n+len(l)
		}
		return p50s.pct(0.5), p99s.pct(0.5), n
	}
	window() // warm up
	p50b, p99b, nb := measure()
	var stalled []net.Conn
	defer func() {
		for _, c := range stalled {
			c.Close()
		}
	}()
	for i := 0; i < 1000; i++ {
		c, err := net.DialTimeout("tcp", s.addr, 5*time.Second)
		if err != nil {
			t.Fatalf("stalled connection %d: %v", i, err)
		}
		if i%2 == 1 {
			tc := tls.Client(c, &tls.Config{RootCAs: p, ServerName: "127.0.0.1"})
			tc.SetDeadline(time.Now().Add(5 * time.Second))
			if err := tc.Handshake(); err != nil {
				t.Fatalf("stalled connection %d: handshake: %v", i, err)
			}
			tc.Write([]byte("POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"apiVer"))
			c = tc
		}
		stalled = append(stalled, c)
	}
	p50d, p99d, nd := measure()
	summary(t, "stalls: 1000 stalled connections; reviews p50 %v -> %v, p99 %v -> %v (%d and %d samples)",
		p50b.Round(10*time.Microsecond), p50d.Round(10*time.Microsecond),
		p99b.Round(10*time.Microsecond), p99d.Round(10*time.Microsecond), nb, nd)
	if p99d > 2*p99b+2*time.Millisecond {
		t.Errorf("p99 with stalled connections %v, more than 2x %v", p99d, p99b)
	}
}

// Malformed, huge and deeply nested bodies while steady load runs: each gets
// its 4xx, the steady load loses nothing, the server stays up.
func TestBadInputUnderLoadGets4xxAndServerStaysUp(t *testing.T) {
	dir := t.TempDir()
	certgen(t, dir)
	p := pool(t, filepath.Join(dir, "ca.crt"))
	s := startServer(t, dir)
	stop := make(chan struct{})
	res := runLoad(4, func() *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: transport(p, func() string { return s.addr })}
	}, func() string { return "https://service" }, stop, 0)
	post := func(contentType string, body []byte) []byte {
		head := "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: " + contentType + "\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
		return append([]byte(head), body...)
	}
	deep := append(bytes.Repeat([]byte("["), 100000), bytes.Repeat([]byte("]"), 100000)...)
	deepReview := []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":` +
		strings.Repeat(`{"a":`, 3000) + "1" + strings.Repeat("}", 3000) + "}}")
	huge := bytes.Repeat([]byte("x"), 4<<20)
	cases := []struct {
		name string
		req  []byte
		want int
	}{
		{"malformed", post("application/json", []byte(`{"apiVersion": "admission.k8s.io/v1", "kind": `)), 400},
		{"not a review", post("application/json", []byte(`{"kind":"Pod"}`)), 400},
		{"invalid UTF-8", post("application/json", []byte("{\"a\":\"\xff\xfe\"}")), 400},
		{"deep arrays", post("application/json", deep), 400},
		{"deep review", post("application/json", deepReview), 400},
		{"huge", post("application/json", huge), 413},
		{"text/plain", post("text/plain", []byte(`{}`)), 415},
		{"GET", []byte("GET /mutate HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 405},
	}
	bad := 0
	for round := 0; round < 20; round++ {
		for _, c := range cases {
			status, err := rawRequest(p, s.addr, c.req)
			if err != nil || status != c.want {
				t.Errorf("%s: status %d (%v), want %d", c.name, status, err, c.want)
			}
			bad++
		}
	}
	close(stop)
	res.wait()
	up := readyz(p, s.addr)
	summary(t, "badinput: %d bad requests answered 4xx while %d reviews ran (%d failed); server up: %v",
		bad, res.ok+res.failed, res.failed, up)
	if res.failed > 0 {
		t.Errorf("%d reviews failed: %v", res.failed, res.errs)
	}
	if !up {
		t.Errorf("server not ready after the bad input")
	}
}

// Memory stays flat over SOAK_REVIEWS reviews (default 1,000,000): RSS is
// sampled every second; after the first tenth (warm-up: thread arenas,
// connection buffers), it may grow by at most 8 MiB.
func TestMemoryFlatOverManyReviews(t *testing.T) {
	total := 1000000
	if v, err := strconv.Atoi(os.Getenv("SOAK_REVIEWS")); err == nil && v > 0 {
		total = v
	}
	dir := t.TempDir()
	certgen(t, dir)
	p := pool(t, filepath.Join(dir, "ca.crt"))
	s := startServer(t, dir)
	var done atomic.Int64
	var failed atomic.Int64
	var wg sync.WaitGroup
	var firstErr atomic.Value
	start := time.Now()
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := &http.Client{Timeout: 10 * time.Second, Transport: transport(p, func() string { return s.addr })}
			for n := 0; ; n++ {
				k := done.Add(1)
				if k > int64(total) {
					return
				}
				if err := review(c, "https://service", fmt.Sprintf("s%d-%d", i, n)); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		}(i)
	}
	var samples []int
	var base int
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
loop:
	for {
		select {
		case <-finished:
			break loop
		case <-tick.C:
			rss := s.rssKB()
			samples = append(samples, rss)
			if base == 0 && done.Load() >= int64(total/10) {
				base = rss
			}
		}
	}
	final := s.rssKB()
	if base == 0 {
		base = samples[0]
	}
	peak := 0
	for _, v := range samples {
		peak = max(peak, v)
	}
	elapsed := time.Since(start)
	summary(t, "soak: %d reviews in %v (%.0f/s), %d failed; RSS after warm-up %d KiB, peak %d KiB, final %d KiB (growth %d KiB)",
		total, elapsed.Round(time.Second), float64(total)/elapsed.Seconds(), failed.Load(), base, peak, final, final-base)
	if failed.Load() > 0 {
		t.Errorf("%d reviews failed; first: %v", failed.Load(), firstErr.Load())
	}
	if final-base > 8*1024 {
		t.Errorf("RSS grew by %d KiB over the soak, more than 8 MiB", final-base)
	}
}
