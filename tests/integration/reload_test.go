package integration

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// reloadWithin is how soon a changed certificate must be served (the server checks
// its files every second).
const reloadWithin = 3 * time.Second

// reviewLoop sends reviews without pause until stopped, counting failures.
type reviewLoop struct {
	name        string
	stop        chan struct{}
	wg          sync.WaitGroup
	ok, failed  atomic.Int64
	mu          sync.Mutex
	errs        []error
	leafSerials map[string]int // serial numbers of the certificates seen
}

func startReviewLoop(s *server, c *http.Client, name string) *reviewLoop {
	l := &reviewLoop{name: name, stop: make(chan struct{}), leafSerials: map[string]int{}}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for i := 0; ; i++ {
			select {
			case <-l.stop:
				return
			default:
			}
			uid := fmt.Sprintf("%s-%d", name, i)
			r, err := s.post(c, "/mutate", podReview(v1, uid, "default"))
			if err == nil {
				err = checkPatchedAnswer(r, v1, uid)
			}
			l.mu.Lock()
			if err != nil {
				l.failed.Add(1)
				if len(l.errs) < 5 {
					l.errs = append(l.errs, fmt.Errorf("%s: %w", uid, err))
				}
			} else {
				l.ok.Add(1)
				if r.tls != nil && len(r.tls.PeerCertificates) > 0 {
					l.leafSerials[r.tls.PeerCertificates[0].SerialNumber.String()]++
				}
			}
			l.mu.Unlock()
		}
	}()
	return l
}

// finish stops the loop and checks that it ran and that nothing failed.
func (l *reviewLoop) finish(t *testing.T) {
	t.Helper()
	close(l.stop)
	l.wg.Wait()
	t.Logf("%s: %d reviews answered, %d failed; certificates seen (serial: reviews): %v", l.name, l.ok.Load(), l.failed.Load(), l.leafSerials)
	if l.ok.Load() == 0 {
		t.Errorf("%s: no review answered", l.name)
	}
	if l.failed.Load() > 0 {
		t.Errorf("%s: %d reviews failed around the certificate change, want none: %v", l.name, l.failed.Load(), l.errs)
	}
}

func (l *reviewLoop) saw(cert *x509.Certificate) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.leafSerials[cert.SerialNumber.String()] > 0
}

// servedLeaf is the certificate a new connection gets now.
func servedLeaf(t *testing.T, s *server) *x509.Certificate {
	t.Helper()
	conn, err := dialTLS(s, s.tlsConfig())
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0]
}

func sameCert(a, b *x509.Certificate) bool {
	return a.SerialNumber.Cmp(b.SerialNumber) == 0 && bytes.Equal(a.RawSubjectPublicKeyInfo, b.RawSubjectPublicKeyInfo)
}

// waitServed polls new connections until they get want; it returns how long that took.
func waitServed(t *testing.T, s *server, want *x509.Certificate, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if sameCert(servedLeaf(t, s), want) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("new connections still get the old certificate %v after the files changed", within)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// assertStillServed checks for a while that new connections keep getting want.
func assertStillServed(t *testing.T, s *server, want *x509.Certificate, period time.Duration) {
	t.Helper()
	for end := time.Now().Add(period); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		if got := servedLeaf(t, s); !sameCert(got, want) {
			t.Fatalf("new connections get certificate %v, want the old one %v", got.SerialNumber, want.SerialNumber)
		}
	}
}

// rotate runs swap while two clients send reviews (one on a kept-alive connection,
// one on a new connection each time), and checks that new connections get the new
// certificate soon, that no review fails, and that the reload is counted and logged.
func rotate(t *testing.T, s *server, newCert string, swap func()) {
	t.Helper()
	oldLeaf := servedLeaf(t, s)
	newLeaf := readCert(t, newCert)
	if sameCert(oldLeaf, newLeaf) {
		t.Fatal("the new certificate is the old one")
	}
	before := s.metrics(t)
	keepAlive := startReviewLoop(s, s.client(), "keep-alive")
	fresh := startReviewLoop(s, s.freshClient(), "new-connections")
	time.Sleep(300 * time.Millisecond)

	swap()
	took := waitServed(t, s, newLeaf, scaled(reloadWithin))
	t.Logf("new connections got the new certificate (serial %v, the old one was %v) %v after the swap",
		newLeaf.SerialNumber, oldLeaf.SerialNumber, took)
	time.Sleep(300 * time.Millisecond)
	keepAlive.finish(t)
	fresh.finish(t)
	if !fresh.saw(oldLeaf) || !fresh.saw(newLeaf) {
		t.Errorf("the new-connection client did not see both certificates")
	}

	after := s.metrics(t)
	const success = `goinject_certificate_reloads_total{result="success"}`
	if after[success] <= before[success] {
		t.Errorf("%s went from %v to %v, want an increase", success, before[success], after[success])
	}
	if got, want := after["goinject_certificate_expiry_timestamp_seconds"], float64(newLeaf.NotAfter.Unix()); got != want {
		t.Errorf("goinject_certificate_expiry_timestamp_seconds = %v, want the new NotAfter %v", got, want)
	}
	if _, ok := s.logs.waitFor(scaled(time.Second), msgIs("serving certificate reloaded")); !ok {
		t.Errorf("no \"serving certificate reloaded\" log line")
	}
}

func TestCertificateReloadByRenamingKeyThenCertificate(t *testing.T) {
	t.Parallel()
	next := certgen(t, t.TempDir())
	s := startServer(t, serverConfig{caFiles: []string{next.ca}})
	// What cert-manager's writer amounts to: each file replaced atomically, key first.
	rotate(t, s, next.cert, func() {
		for _, f := range []struct{ from, to string }{{next.key, s.certs.key}, {next.cert, s.certs.cert}} {
			if err := os.Rename(f.from, f.to); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// A Kubernetes secret volume: tls.crt -> ..data/tls.crt, ..data -> ..TIMESTAMP/,
// and the kubelet swaps ..data atomically to a new timestamped directory.
func TestCertificateReloadInKubernetesSecretVolume(t *testing.T) {
	t.Parallel()
	vol := t.TempDir()
	first := certgen(t, filepath.Join(vol, "..2026_11_26_07_00_00.000000001"))
	for _, link := range [][2]string{
		{filepath.Base(first.dir), "..data"},
		{"..data/tls.crt", "tls.crt"},
		{"..data/tls.key", "tls.key"},
		{"..data/ca.crt", "ca.crt"},
	} {
		if err := os.Symlink(link[0], filepath.Join(vol, link[1])); err != nil {
			t.Fatal(err)
		}
	}
	second := certgen(t, filepath.Join(vol, "..2026_11_26_08_00_00.000000002"))
	s := startServer(t, serverConfig{
		certFile: filepath.Join(vol, "tls.crt"),
		keyFile:  filepath.Join(vol, "tls.key"),
		caFiles:  []string{first.ca, second.ca},
	})
	s.certs = certsIn(vol)
	failures := `goinject_certificate_reloads_total{result="failure"}`
	failedBefore := s.metrics(t)[failures]

	rotate(t, s, second.cert, func() {
		tmp := filepath.Join(vol, "..data_tmp")
		if err := os.Symlink(filepath.Base(second.dir), tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(first.dir); err != nil {
			t.Fatal(err)
		}
	})
	// Both files change in one step, so there is never a mismatched pair to refuse.
	if got := s.metrics(t)[failures]; got != failedBefore {
		t.Errorf("%s went from %v to %v during an atomic swap", failures, failedBefore, got)
	}
}

func TestBrokenCertificatePairKeepsTheOldOneInService(t *testing.T) {
	t.Parallel()
	next := certgen(t, t.TempDir())
	s := startServer(t, serverConfig{caFiles: []string{next.ca}})
	oldLeaf := servedLeaf(t, s)
	const failures = `goinject_certificate_reloads_total{result="failure"}`
	const successes = `goinject_certificate_reloads_total{result="success"}`
	replace := func(path string, content []byte) {
		tmp := path + ".tmp"
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, path); err != nil {
			t.Fatal(err)
		}
	}
	loop := startReviewLoop(s, s.client(), "keep-alive")
	fresh := startReviewLoop(s, s.freshClient(), "new-connections")
	defer func() {
		loop.finish(t)
		fresh.finish(t)
	}()

	steps := []struct {
		name string
		key  []byte
	}{
		{"garbage key", []byte("-----BEGIN PRIVATE KEY-----\nnot a key at all\n-----END PRIVATE KEY-----\n")},
		{"key of another certificate", nil},
	}
	for i, step := range steps {
		before := s.metrics(t)
		key := step.key
		if key == nil {
			var err error
			if key, err = os.ReadFile(next.key); err != nil {
				t.Fatal(err)
			}
		}
		replace(s.certs.key, key)
		got := s.waitMetric(t, failures, before[failures]+1, scaled(reloadWithin))
		if got != before[failures]+1 {
			t.Fatalf("%s: %s went from %v to %v, want +1", step.name, failures, before[failures], got)
		}
		errors := s.logs.waitCount(scaled(time.Second), i+1, func(l logLine) bool {
			return l.str("level") == "error" && l.str("msg") == "serving certificate not reloaded; keeping the old one" &&
				strings.Contains(l.str("error"), "tls.key")
		})
		if errors != i+1 {
			t.Errorf("%s: %d error lines about the refused pair, want %d", step.name, errors, i+1)
		}
		assertStillServed(t, s, oldLeaf, 500*time.Millisecond)
		after := s.metrics(t)
		if after[successes] != before[successes] {
			t.Errorf("%s: %s changed from %v to %v", step.name, successes, before[successes], after[successes])
		}
		if got := after["goinject_certificate_expiry_timestamp_seconds"]; got != float64(oldLeaf.NotAfter.Unix()) {
			t.Errorf("%s: certificate expiry metric %v, want the old NotAfter", step.name, got)
		}
	}

	// The matching certificate arrives: the pair is complete and goes into service.
	if err := os.Rename(next.cert, s.certs.cert); err != nil {
		t.Fatal(err)
	}
	waitServed(t, s, readCert(t, s.certs.cert), scaled(reloadWithin))
	if got := s.metrics(t)[successes]; got != 1 {
		t.Errorf("%s = %v after the good pair, want 1", successes, got)
	}
}
