package integration

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refusedWithin reports whether the server closes conn (or fails its handshake) within d.
func refusedWithin(conn net.Conn, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := conn.Read(make([]byte, 1))
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// handshaken opens a TLS connection and completes its handshake.
func handshaken(t *testing.T, s *server) *tls.Conn {
	t.Helper()
	conn, err := dialTLS(s, s.tlsConfig())
	if err != nil {
		t.Fatalf("connection: %v", err)
	}
	return conn
}

// One address may hold --max-connections-per-ip connections: the next is closed at once,
// and a slot that frees is given to the next client.
func TestConnectionsPerAddressAreBounded(t *testing.T) {
	t.Parallel()
	const perIP = 8
	s := startServer(t, serverConfig{args: []string{"--max-connections-per-ip", strconv.Itoa(perIP)}})
	var held []*tls.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < perIP; i++ {
		held = append(held, handshaken(t, s))
	}
	extra, err := net.DialTimeout("tcp", s.addr(), scaled(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer extra.Close()
	if !refusedWithin(extra, scaled(2*time.Second)) {
		t.Errorf("connection %d from one address was kept open, want it closed", perIP+1)
	}
	held[0].Close()
	held = held[1:]
	// The server notices the close on its next loop: retry briefly.
	var c *tls.Conn
	for deadline := time.Now().Add(scaled(3 * time.Second)); c == nil && time.Now().Before(deadline); {
		if c, err = dialTLS(s, s.tlsConfig()); err != nil {
			c = nil
			time.Sleep(50 * time.Millisecond)
		}
	}
	if c == nil {
		t.Fatalf("no connection after one of %d closed: %v", perIP, err)
	}
	held = append(held, c)
}

// Past --max-connections the server stops accepting: a new connection waits in the
// listen queue (it is not reset) and is served as soon as a slot frees.
func TestConnectionsInTotalAreBoundedAndTheRestWait(t *testing.T) {
	t.Parallel()
	const total = 8
	s := startServer(t, serverConfig{args: []string{"--max-connections", strconv.Itoa(total), "--threads", "2",
		"--max-connections-per-ip", "0"}})
	var held []*tls.Conn
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	for i := 0; i < total; i++ {
		held = append(held, handshaken(t, s))
	}
	type result struct {
		conn *tls.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		c, err := dialTLS(s, &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12})
		done <- result{c, err}
	}()
	select {
	case r := <-done:
		if r.err == nil {
			r.conn.Close()
		}
		t.Fatalf("connection %d was handled past --max-connections %d (err %v)", total+1, total, r.err)
	case <-time.After(scaled(time.Second)):
	}
	held[0].Close()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("the waiting connection failed once a slot freed: %v", r.err)
		}
		held = append(held, r.conn)
	case <-time.After(scaled(5 * time.Second)):
		t.Fatal("the waiting connection was not served after a slot freed")
	}
}

// holdBody sends the head of a review with a declared length and part of its body, and
// leaves the connection open.
func holdBody(t *testing.T, s *server, length int) *tls.Conn {
	t.Helper()
	c := handshaken(t, s)
	fmt.Fprintf(c, "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{\"apiVersion\":", length)
	return c
}

// The bodies held together stay within --body-budget-bytes: a large body past the
// budget's large share gets 503 with Retry-After at once, while reviews of the usual size
// still pass; once bodies are let go, large ones are taken again.
func TestBodiesHeldTogetherStayWithinTheBudget(t *testing.T) {
	t.Parallel()
	const maxBody, budget, large = 1 << 20, 4 << 20, 900000 // large share: 3 MiB, room for 3
	s := startServer(t, serverConfig{args: []string{"--max-body-bytes", strconv.Itoa(maxBody),
		"--body-budget-bytes", strconv.Itoa(budget)}})
	var held []*tls.Conn
	for i := 0; i < 3; i++ {
		held = append(held, holdBody(t, s, large))
	}
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	if got := s.waitMetric(t, "goinject_request_body_bytes", 3*(large+1), scaled(3*time.Second)); got != 3*(large+1) {
		t.Fatalf("goinject_request_body_bytes = %v with three bodies held, want %d", got, 3*(large+1))
	}
	head := fmt.Sprintf("POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n", large)
	answer, closed := rawExchange(t, s, s.tlsConfig(), head+"Expect: 100-continue\r\n\r\n", scaled(5*time.Second))
	if err := oneAnswer(answer, http.StatusServiceUnavailable); err != nil {
		t.Errorf("a fourth large body, waiting for 100 Continue: %v", err)
	}
	if !bytes.Contains(answer, []byte("Retry-After: 1\r\n")) {
		t.Errorf("the 503 has no Retry-After: 1: %.300q", answer)
	}
	if !closed {
		t.Errorf("the connection stayed open after the 503")
	}
	// Sent whole, the body is read and dropped, and the 503 comes after it.
	c := handshaken(t, s)
	defer c.Close()
	go func() { c.Write([]byte(head + "\r\n" + strings.Repeat(" ", large))) }()
	_ = c.SetReadDeadline(time.Now().Add(scaled(5 * time.Second)))
	r, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("a fourth large body sent whole: %v", err)
	}
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") != "1" {
		t.Errorf("a fourth large body sent whole: %d, Retry-After %q; want 503, 1", r.StatusCode, r.Header.Get("Retry-After"))
	}
	if err := s.review(s.freshClient(), "small-while-full"); err != nil {
		t.Errorf("a review of the usual size while large bodies hold the budget: %v", err)
	}
	held[0].Close()
	held = held[1:]
	if got := s.waitMetricBelow(t, "goinject_request_body_bytes", 2*(large+1), scaled(3*time.Second)); got > 2*(large+1) {
		t.Fatalf("goinject_request_body_bytes = %v after a connection closed", got)
	}
	body := podReview(v1, "large-again", "default")
	body = append(body, bytes.Repeat([]byte(" "), large-len(body))...)
	if err := checkPatchedAnswer(s.mustPost(t, s.freshClient(), "/mutate", body), v1, "large-again"); err != nil {
		t.Errorf("a large body once the budget had room: %v", err)
	}
	for _, c := range held {
		c.Close()
	}
	held = nil
	if got := s.waitMetricBelow(t, "goinject_request_body_bytes", 0, scaled(3*time.Second)); got != 0 {
		t.Errorf("goinject_request_body_bytes = %v with no request open, want 0", got)
	}
}

// waitMetricBelow polls /metrics until series is at most want.
func (s *server) waitMetricBelow(t testing.TB, series string, want float64, timeout time.Duration) float64 {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := s.metrics(t)[series]
		if got <= want || time.Now().After(deadline) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The whole request (the handshake of a new connection, the head and the body) must
// arrive within --request-timeout; the wait between requests on a kept-alive connection
// does not count.
func TestTheWholeRequestHasADeadline(t *testing.T) {
	t.Parallel()
	const timeout = 2 * time.Second
	s := startServer(t, serverConfig{args: []string{"--request-timeout", "2"}})
	review := podReview(v1, "late", "default")
	head := fmt.Sprintf("POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(review))

	// closedUnanswered: the server closes c without an answer by the deadline counted from start.
	closedUnanswered := func(t *testing.T, c net.Conn, start time.Time) {
		t.Helper()
		answer, _ := readUntilClosed(c, scaled(timeout+3*time.Second))
		if len(answer) > 0 || time.Since(start) > scaled(timeout+2*time.Second) {
			t.Errorf("after %v: %.200q; want the connection closed without an answer by %v",
				time.Since(start).Round(time.Millisecond), answer, timeout+time.Second)
		}
	}
	t.Run("a body that stops", func(t *testing.T) {
		t.Parallel()
		c := handshaken(t, s)
		defer c.Close()
		start := time.Now()
		c.Write([]byte(head))
		c.Write(review[:len(review)/2])
		closedUnanswered(t, c, start)
	})
	t.Run("a body that trickles", func(t *testing.T) {
		t.Parallel()
		c := handshaken(t, s)
		defer c.Close()
		start := time.Now()
		c.Write([]byte(head))
		stop := make(chan struct{})
		go func() { // one byte every 200 ms keeps any idle timeout from firing
			for i := 0; i < len(review)-1; i++ {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				if _, err := c.Write(review[i : i+1]); err != nil {
					return
				}
			}
		}()
		defer close(stop)
		closedUnanswered(t, c, start)
	})
	t.Run("a head that trickles", func(t *testing.T) {
		t.Parallel()
		c := handshaken(t, s)
		defer c.Close()
		for _, b := range []byte(head[:40]) {
			c.Write([]byte{b})
			time.Sleep(timeout / 30)
		}
		c.Write([]byte(head[40:]))
		c.Write(review)
		answer, closed := readUntilClosed(c, scaled(5*time.Second))
		if err := oneAnswer(answer, http.StatusRequestTimeout); err != nil {
			t.Error(err)
		}
		if !closed {
			t.Error("the connection stayed open after the 408")
		}
	})
	t.Run("kept alive between requests", func(t *testing.T) {
		t.Parallel()
		c := s.client()
		if err := s.review(c, "before-the-wait"); err != nil {
			t.Fatal(err)
		}
		time.Sleep(timeout + 500*time.Millisecond)
		reused := false
		trace := &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }}
		req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
			http.MethodPost, s.base+"/mutate", bytes.NewReader(podReview(v1, "after-the-wait", "default")))
		req.Header.Set("Content-Type", "application/json")
		r, err := do(c, req)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkPatchedAnswer(r, v1, "after-the-wait"); err != nil {
			t.Error(err)
		}
		if !reused {
			t.Errorf("the second review did not reuse the kept-alive connection")
		}
	})
}

// readUntilClosed reads until the server closes the connection or d passes.
func readUntilClosed(c net.Conn, d time.Duration) ([]byte, bool) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	answer, err := io.ReadAll(c)
	return answer, err == nil || isClosedErr(err)
}

// --metrics-listen serves /metrics, /healthz and /readyz over plain HTTP; the webhook
// port then answers /metrics with 404, and the metrics listener serves no reviews.
func TestMetricsListenerServesMetricsAndProbes(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{args: []string{"--metrics-listen", "127.0.0.1:0"}})
	l, _ := s.logs.waitFor(time.Second, msgIs("listening"))
	port, ok := l.num("metricsPort")
	if !ok || port <= 0 {
		t.Fatalf("the listening line has no metricsPort: %s", l.raw)
	}
	base := "http://127.0.0.1:" + strconv.Itoa(int(port))
	if err := s.review(s.client(), "counted"); err != nil {
		t.Fatal(err)
	}
	plain := &http.Client{Timeout: scaled(5 * time.Second)}
	get := func(path string) (*response, error) {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		return do(plain, req)
	}
	r, err := get("/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusOK || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET /metrics on the metrics listener: %d %s", r.status, r.header.Get("Content-Type"))
	}
	if got := parseMetrics(t, r.body)[`goinject_reviews_total{result="patched"}`]; got != 1 {
		t.Errorf(`goinject_reviews_total{result="patched"} = %v, want 1`, got)
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if r, err := get(path); err != nil || r.status != http.StatusOK {
			t.Errorf("GET %s on the metrics listener: %v %v", path, r, err)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/mutate", bytes.NewReader(podReview(v1, "x", "default")))
	req.Header.Set("Content-Type", "application/json")
	if r, err := do(plain, req); err != nil || r.status != http.StatusNotFound {
		t.Errorf("POST /mutate on the metrics listener: %v %v, want 404", r, err)
	}
	if r := s.mustGet(t, s.client(), "/metrics"); r.status != http.StatusNotFound {
		t.Errorf("GET /metrics on the webhook port with a metrics listener: %d, want 404", r.status)
	}
	// A scrape is a plain HTTP/1.1 exchange that a kept-alive client can repeat.
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(int(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	br := bufio.NewReader(conn)
	for i := 0; i < 2; i++ {
		fmt.Fprintf(conn, "GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("request %d on one connection: %v", i+1, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}
