package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// tracedReview is one review of a client loop, with the time its request was fully written.
type tracedReview struct {
	uid   string
	wrote time.Time // zero when the request was never written
	err   error
}

func TestSIGTERMCompletesReviewsSentBeforeTheSignalAndExitsZero(t *testing.T) {
	t.Parallel()
	const clients = 6
	s := startServer(t, serverConfig{})
	var mu sync.Mutex
	var results []tracedReview
	var answered atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := s.client()
			for j := 0; ; j++ {
				select {
				case <-stop:
					return
				default:
				}
				rv := tracedReview{uid: fmt.Sprintf("term-%d-%d", i, j)}
				var wroteMu sync.Mutex
				trace := &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
					if info.Err == nil {
						wroteMu.Lock()
						rv.wrote = time.Now()
						wroteMu.Unlock()
					}
				}}
				req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
					http.MethodPost, s.base+"/mutate", bytes.NewReader(podReview(v1, rv.uid, "default")))
				if err != nil {
					t.Error(err)
					return
				}
				req.Header.Set("Content-Type", "application/json")
				r, err := do(c, req)
				if err == nil {
					err = checkPatchedAnswer(r, v1, rv.uid)
				}
				rv.err = err
				if err == nil {
					answered.Add(1)
				}
				wroteMu.Lock()
				mu.Lock()
				results = append(results, rv)
				mu.Unlock()
				wroteMu.Unlock()
				if err != nil {
					time.Sleep(5 * time.Millisecond) // refused after the signal: do not spin
				}
			}
		}(i)
	}
	// Under load: every client has had a few answers.
	for deadline := time.Now().Add(scaled(5 * time.Second)); answered.Load() < clients*5 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	signalled := time.Now()
	s.signal(syscall.SIGTERM)
	status := s.waitExit(scaled(5 * time.Second))
	exitedAfter := time.Since(signalled)
	close(stop)
	wg.Wait()
	if status != 0 {
		t.Fatalf("exit status %d after SIGTERM (-1: still running after 5s), want 0", status)
	}
	t.Logf("exited %v after SIGTERM", exitedAfter)

	before, after, failedBefore := 0, 0, 0
	for _, rv := range results {
		if !rv.wrote.IsZero() && rv.wrote.Before(signalled) {
			before++
			if rv.err != nil {
				failedBefore++
				if failedBefore <= 5 {
					t.Errorf("%s, sent %v before SIGTERM, failed: %v", rv.uid, signalled.Sub(rv.wrote), rv.err)
				}
			}
		} else {
			after++
		}
	}
	t.Logf("%d reviews sent before SIGTERM (%d failed), %d after", before, failedBefore, after)
	if before < clients*5 {
		t.Errorf("only %d reviews before SIGTERM: the load did not run", before)
	}
	if _, ok := s.logs.waitFor(time.Second, msgIs("stopped")); !ok {
		t.Errorf("no \"stopped\" log line")
	}
}

func TestSIGTERMWaitsForAReviewStillUploading(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	body := podReview(v1, "uploading", "default")
	pr, pw := io.Pipe()
	req, err := http.NewRequest(http.MethodPost, s.base+"/mutate", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	type result struct {
		r   *response
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := do(s.client(), req)
		done <- result{r, err}
	}()
	if _, err := pw.Write(body[:len(body)/2]); err != nil {
		t.Fatal(err)
	}
	// The server has the headers once it counts the review as in flight.
	if got := s.waitMetric(t, "goinject_inflight_reviews", 1, scaled(3*time.Second)); got != 1 {
		t.Fatalf("goinject_inflight_reviews = %v, want 1 while the body is uploading", got)
	}
	signalled := time.Now()
	s.signal(syscall.SIGTERM)
	if _, ok := s.logs.waitFor(scaled(2*time.Second), msgIs("shutting down: not ready, still serving")); !ok {
		t.Fatal("no shutdown log line after SIGTERM")
	}
	time.Sleep(500 * time.Millisecond)
	if s.waitExit(0) != -1 {
		t.Fatal("the server exited with a review still uploading")
	}
	if _, err := pw.Write(body[len(body)/2:]); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	res := <-done
	if res.err != nil {
		t.Fatalf("the review in flight at SIGTERM failed: %v", res.err)
	}
	if err := checkPatchedAnswer(res.r, v1, "uploading"); err != nil {
		t.Errorf("the review in flight at SIGTERM: %v", err)
	}
	if !res.r.close {
		t.Errorf("the answer during shutdown did not carry Connection: close")
	}
	if status := s.waitExit(scaled(3 * time.Second)); status != 0 {
		t.Fatalf("exit status %d (-1: still running), want 0", status)
	}
	t.Logf("exited %v after SIGTERM", time.Since(signalled))
}

func TestShutdownDelayAnswersReviewsButIsNotReady(t *testing.T) {
	t.Parallel()
	const delay = 1500 * time.Millisecond
	s := startServer(t, serverConfig{args: []string{"--shutdown-delay", fmt.Sprint(delay.Milliseconds())}})
	kept := s.client()
	if err := s.review(kept, "before"); err != nil {
		t.Fatal(err)
	}
	if r := s.mustGet(t, kept, "/readyz"); r.status != http.StatusOK {
		t.Fatalf("GET /readyz before SIGTERM: %d", r.status)
	}

	signalled := time.Now()
	s.signal(syscall.SIGTERM)
	if _, ok := s.logs.waitFor(scaled(time.Second), msgIs("shutting down: not ready, still serving")); !ok {
		t.Fatal("no shutdown log line after SIGTERM")
	}
	checks := 0
	for time.Since(signalled) < delay-400*time.Millisecond {
		checks++
		// On the kept-alive connection (closed after each answer now) and on new ones.
		for _, c := range []*http.Client{kept, s.freshClient()} {
			r := s.mustGet(t, c, "/readyz")
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("GET /readyz during the shutdown delay: %d, want 503", r.status)
			}
			if !r.close {
				t.Errorf("GET /readyz during the shutdown delay: no Connection: close")
			}
			if r := s.mustGet(t, c, "/healthz"); r.status != http.StatusOK {
				t.Errorf("GET /healthz during the shutdown delay: %d, want 200", r.status)
			}
			uid := fmt.Sprintf("delay-%d", checks)
			r = s.mustPost(t, c, "/mutate", podReview(v1, uid, "default"))
			if err := checkPatchedAnswer(r, v1, uid); err != nil {
				t.Errorf("review during the shutdown delay: %v", err)
			}
			if !r.close { // net/http removes the header and sets Response.Close
				t.Errorf("review during the shutdown delay: no Connection: close")
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	if checks == 0 {
		t.Errorf("no round of checks during the delay")
	}
	t.Logf("%d rounds of checks during the delay", checks)
	status := s.waitExit(scaled(delay + 3*time.Second))
	exited := time.Since(signalled)
	if status != 0 {
		t.Fatalf("exit status %d (-1: still running), want 0", status)
	}
	if exited < delay {
		t.Errorf("exited %v after SIGTERM, before the %v shutdown delay was over", exited, delay)
	}
	t.Logf("exited %v after SIGTERM", exited)
}

func TestSIGHUPKeepsServingAndSIGINTStopsLikeSIGTERM(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	s.signal(syscall.SIGHUP) // only a nudge to check the certificate files
	time.Sleep(200 * time.Millisecond)
	if status := s.waitExit(0); status != -1 {
		t.Fatalf("the server exited on SIGHUP with status %d", status)
	}
	if err := s.review(c, "after-hup"); err != nil {
		t.Errorf("review after SIGHUP: %v", err)
	}
	m := s.metrics(t)
	if n := m[`goinject_certificate_reloads_total{result="success"}`] + m[`goinject_certificate_reloads_total{result="failure"}`]; n != 0 {
		t.Errorf("SIGHUP with unchanged files counted %v certificate reloads, want 0", n)
	}
	s.signal(syscall.SIGINT)
	if status := s.waitExit(scaled(5 * time.Second)); status != 0 {
		t.Fatalf("exit status %d after SIGINT (-1: still running), want 0", status)
	}
	if _, ok := s.logs.waitFor(time.Second, func(l logLine) bool {
		return l.str("msg") == "signal received" && l.str("signal") == "SIGINT"
	}); !ok {
		t.Errorf("no \"signal received\" line naming SIGINT")
	}
}
