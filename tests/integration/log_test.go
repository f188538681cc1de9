package integration

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestLogIsOneJSONLinePerReviewWithItsFields(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	c := s.client()
	const reviews = 5
	for i := 0; i < reviews; i++ {
		if err := s.review(c, fmt.Sprintf("log-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	skipped := s.mustPost(t, c, "/mutate", reviewFor(v1, "log-skip", "DELETE", "team-b", map[string]any{"kind": "Pod"}))
	if skipped.status != 200 {
		t.Fatalf("DELETE review: %d", skipped.status)
	}
	isReview := msgIs("review")
	if n := s.logs.waitCount(scaled(2*time.Second), reviews+1, isReview); n != reviews+1 {
		t.Fatalf("%d review log lines, want %d", n, reviews+1)
	}
	s.stop()

	for _, l := range s.logs.all() {
		if l.fields == nil {
			t.Errorf("log line is not a JSON object: %q", l.raw)
			continue
		}
		if l.str("time") == "" || l.str("level") == "" || l.str("msg") == "" {
			t.Errorf("log line without time, level or msg: %s", l.raw)
		}
	}
	for i := 0; i < reviews; i++ {
		uid := fmt.Sprintf("log-%d", i)
		if n := s.logs.count(func(l logLine) bool { return isReview(l) && l.str("uid") == uid }); n != 1 {
			t.Errorf("%d review lines for %s, want 1", n, uid)
			continue
		}
		l, _ := s.logs.waitFor(0, func(l logLine) bool { return isReview(l) && l.str("uid") == uid })
		if l.str("level") != "info" || l.str("namespace") != "default" || l.str("pod") != "app-"+uid ||
			l.str("result") != "patched" {
			t.Errorf("review line: want level info, namespace default, pod app-%s, result patched: %s", uid, l.raw)
		}
		actions, ok := l.fields["actions"].(map[string]any)
		if !ok || actions["app"] != "shell-wrapper" {
			t.Errorf("review line: actions %v, want {\"app\": \"shell-wrapper\"}", l.fields["actions"])
		}
		if ms, ok := l.num("durationMs"); !ok || ms < 0 || ms > 1000 {
			t.Errorf("review line: durationMs %v, want a number of milliseconds", l.fields["durationMs"])
		}
	}
	l, _ := s.logs.waitFor(0, func(l logLine) bool { return isReview(l) && l.str("uid") == "log-skip" })
	if l.str("result") != "skipped" || l.str("namespace") != "team-b" {
		t.Errorf("skipped review line: want result skipped, namespace team-b: %s", l.raw)
	}
}

// durationMs is whole microseconds, printed short: 0.291, not 0.29099999999999998.
func TestLogDurationIsShortDecimalOfMilliseconds(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	if err := s.review(s.client(), "duration"); err != nil {
		t.Fatal(err)
	}
	l, ok := s.logs.waitFor(scaled(2*time.Second), msgIs("review"))
	if !ok {
		t.Fatal("no review line")
	}
	if m := regexp.MustCompile(`"durationMs":([0-9.eE+-]+)`).FindStringSubmatch(l.raw); m == nil ||
		!regexp.MustCompile(`^[0-9]+(\.[0-9]{1,3})?$`).MatchString(m[1]) {
		t.Errorf("durationMs is not a decimal with at most 3 places (whole microseconds): %s", l.raw)
	}
}

func TestLogRejectedRequestsAsWarnLinesWithStatusAndPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{args: []string{"--max-body-bytes", "2048"}})
	c := s.client()
	requests := []struct {
		method, path, contentType string
		body                      []byte
		status                    int
	}{
		{"GET", "/mutate", "", nil, 405},
		{"POST", "/healthz", "", nil, 405},
		{"POST", "/mutate?timeout=10s", "text/plain", []byte("{}"), 415},
		{"POST", "/mutate", "application/json", make([]byte, 4096), 413},
		{"GET", "/no/such/path", "", nil, 404},
	}
	for _, rq := range requests {
		if r := s.mustRequest(t, c, rq.method, rq.path, rq.contentType, rq.body); r.status != rq.status {
			t.Errorf("%s %s: %d, want %d", rq.method, rq.path, r.status, rq.status)
		}
	}
	for _, rq := range requests {
		l, ok := s.logs.waitFor(scaled(2*time.Second), func(l logLine) bool {
			status, _ := l.num("status")
			return l.str("msg") == "request rejected" && int(status) == rq.status && l.str("method") == rq.method
		})
		if !ok {
			t.Errorf("no \"request rejected\" line for %s %s (%d)", rq.method, rq.path, rq.status)
			continue
		}
		path, _, _ := strings.Cut(rq.path, "?") // the query is not logged
		if l.str("level") != "warn" || l.str("path") != path || l.str("error") == "" {
			t.Errorf("%s %s: want level warn, path %q and an error: %s", rq.method, rq.path, path, l.raw)
		}
	}
	// A body that is not an AdmissionReview is logged by the review as a warning with the reason.
	if r := s.mustPost(t, c, "/mutate", []byte(`{"kind":"Pod"}`)); r.status != 400 {
		t.Errorf("POST a Pod: %d, want 400", r.status)
	}
	l, ok := s.logs.waitFor(scaled(2*time.Second), func(l logLine) bool { return l.str("result") == "invalid" })
	if !ok {
		t.Fatal("no log line for the invalid review")
	}
	if l.str("level") != "warn" || l.str("error") == "" {
		t.Errorf("invalid review: want a warn line with the error: %s", l.raw)
	}
}

// A method that is not UTF-8 is refused and logged with its status, the method made safe, and
// the path.
func TestLogRejectedNonUTF8MethodKeepsStatusMethodAndPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	conn, err := dialTLS(s, s.tlsConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("P\xffST /mutate HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(scaled(5 * time.Second)))
	answer, _ := io.ReadAll(conn)
	if len(answer) > 0 && !bytes.HasPrefix(answer, []byte("HTTP/1.1 4")) {
		t.Fatalf("answer %.80q, want a 4xx or a closed connection", answer)
	}
	if len(answer) == 0 {
		t.Skip("this libmicrohttpd closes the connection before the request reaches goinject")
	}
	l, ok := s.logs.waitFor(scaled(2*time.Second), func(l logLine) bool {
		return l.str("msg") == "request rejected"
	})
	if !ok {
		t.Fatalf("no \"request rejected\" line; log:\n%s", s.logs.text())
	}
	status, _ := l.num("status")
	if status < 400 || l.str("method") == "" || l.str("path") != "/mutate" {
		t.Errorf("want status, method and path in %s", l.raw)
	}
	if !utf8.ValidString(l.str("method")) {
		t.Errorf("method %q is not valid UTF-8", l.str("method"))
	}
}
