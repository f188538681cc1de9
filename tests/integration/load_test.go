package integration

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestConcurrentKeepAliveClientsAllGetCorrectAnswers(t *testing.T) {
	t.Parallel()
	const clients, perClient = 32, 50
	s := startServer(t, serverConfig{})
	var reused, fresh atomic.Int64
	errs := make(chan error, clients*perClient)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			tr := s.transport()
			tr.MaxIdleConnsPerHost = 2
			c := &http.Client{Transport: tr, Timeout: scaled(10 * time.Second)}
			defer tr.CloseIdleConnections()
			for j := 0; j < perClient; j++ {
				uid := fmt.Sprintf("c%02d-%03d", i, j)
				trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
					if info.Reused {
						reused.Add(1)
					} else {
						fresh.Add(1)
					}
				}}
				ctx := httptrace.WithClientTrace(context.Background(), trace)
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/mutate",
					bytes.NewReader(podReview(v1, uid, "default")))
				if err != nil {
					errs <- err
					return
				}
				req.Header.Set("Content-Type", "application/json")
				r, err := do(c, req)
				if err == nil {
					err = checkPatchedAnswer(r, v1, uid)
				}
				if err != nil {
					errs <- fmt.Errorf("%s: %w", uid, err)
				}
			}
		}(i)
	}
	wg.Wait()
	close(errs)
	failed := 0
	for err := range errs {
		if failed++; failed <= 10 {
			t.Error(err)
		}
	}
	if failed > 0 {
		t.Fatalf("%d of %d reviews failed", failed, clients*perClient)
	}
	total := reused.Load() + fresh.Load()
	t.Logf("%d requests: %d on reused connections, %d on new ones", total, reused.Load(), fresh.Load())
	if total != clients*perClient {
		t.Errorf("traced %d connections for %d requests", total, clients*perClient)
	}
	if reused.Load()*10 < total*9 {
		t.Errorf("only %d of %d requests reused a connection, want at least 90%%", reused.Load(), total)
	}
	// Each client needs one connection; a few more are tolerable, not one per request.
	if fresh.Load() > 2*clients {
		t.Errorf("%d new connections for %d clients: keep-alive is not working", fresh.Load(), clients)
	}
	if n := s.logs.waitCount(scaled(2*time.Second), clients*perClient, msgIs("review")); n != clients*perClient {
		t.Errorf("%d review log lines, want %d", n, clients*perClient)
	}
}

// Connections that never finish their handshake or their request must not take
// the server away from the API server, and must be closed after the handshake timeout.
func TestStalledConnectionsDoNotStarveRealClientsAndAreClosed(t *testing.T) {
	t.Parallel()
	const rawStalled, tlsStalled, reviews = 200, 50, 50
	const handshakeTimeout = 10 * time.Second // the server's default
	// Every connection here comes from 127.0.0.1: lift the per-address limit (limits_test.go has it).
	s := startServer(t, serverConfig{args: []string{"--max-connections-per-ip", "0"}})

	type stalled struct {
		conn   net.Conn
		opened time.Time
		what   string
	}
	var conns []stalled
	defer func() {
		for _, c := range conns {
			c.conn.Close()
		}
	}()
	for i := 0; i < rawStalled; i++ {
		conn, err := net.DialTimeout("tcp", s.addr(), scaled(5*time.Second))
		if err != nil {
			t.Fatalf("raw connection %d: %v", i, err)
		}
		what := "silent TCP"
		if i%2 == 1 {
			// The start of a TLS record (a ClientHello of 512 bytes) that never comes.
			if _, err := conn.Write([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}); err != nil {
				t.Fatal(err)
			}
			what = "partial ClientHello"
		}
		conns = append(conns, stalled{conn, time.Now(), what})
	}
	for i := 0; i < tlsStalled; i++ {
		conn, err := dialTLS(s, s.tlsConfig())
		if err != nil {
			t.Fatalf("TLS connection %d: %v", i, err)
		}
		if _, err := conn.Write([]byte("POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n")); err != nil {
			t.Fatal(err)
		}
		conns = append(conns, stalled{conn, time.Now(), "partial HTTP request"})
	}

	// Real reviews, each on a new connection: accept and handshake must keep up.
	c := s.freshClient()
	var slowest time.Duration
	var took []time.Duration
	for i := 0; i < reviews; i++ {
		start := time.Now()
		err := s.review(c, fmt.Sprintf("real-%02d", i))
		d := time.Since(start)
		took = append(took, d)
		if err != nil {
			t.Errorf("review %d while %d connections stall: %v", i, len(conns), err)
		}
		if d > scaled(time.Second) {
			t.Errorf("review %d took %v, want under 1s", i, d)
		}
		if d > slowest {
			slowest = d
		}
	}
	sort.Slice(took, func(i, j int) bool { return took[i] < took[j] })
	t.Logf("%d reviews beside %d stalled connections: median %v, slowest %v", reviews, len(conns), took[len(took)/2], slowest)

	// Every stalled connection is closed by the server within ~15s of opening.
	var wg sync.WaitGroup
	var mu sync.Mutex
	notClosed := map[string]int{}
	var latest time.Duration
	for _, sc := range conns {
		wg.Add(1)
		go func(sc stalled) {
			defer wg.Done()
			_ = sc.conn.SetReadDeadline(sc.opened.Add(scaled(handshakeTimeout + 5*time.Second)))
			buf := make([]byte, 512)
			var err error
			for err == nil {
				_, err = sc.conn.Read(buf) // a TLS alert or the like may come first
			}
			mu.Lock()
			defer mu.Unlock()
			if !isClosedErr(err) && !strings.Contains(err.Error(), "remote error") {
				notClosed[sc.what+": "+err.Error()]++
				return
			}
			if d := time.Since(sc.opened); d > latest {
				latest = d
			}
		}(sc)
	}
	wg.Wait()
	for what, n := range notClosed {
		t.Errorf("%d stalled connections not closed by the server: %s", n, what)
	}
	t.Logf("the last stalled connection was closed %v after it opened", latest)
	if err := s.review(s.client(), "after-stalls"); err != nil {
		t.Errorf("review after the stalled connections: %v", err)
	}
}
