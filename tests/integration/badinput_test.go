package integration

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// unsized hides the length of a body, so the client sends it chunked.
type unsized struct{ io.Reader }

func chunkedPost(s *server, c *http.Client, path string, body []byte) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, s.base+path, unsized{bytes.NewReader(body)})
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if req.ContentLength != 0 {
		return nil, fmt.Errorf("the request would carry a Content-Length")
	}
	return do(c, req)
}

type badRequest struct {
	name        string
	method      string
	path        string
	contentType string
	body        []byte
	chunked     bool
	status      int
	allow       string // expected Allow header, for 405
}

// expectRejected sends the request, checks status and {"error": ...}, then checks
// that the server still answers a good review on the same client.
func expectRejected(t *testing.T, s *server, c *http.Client, b badRequest) {
	t.Helper()
	var r *response
	var err error
	if b.chunked {
		r, err = chunkedPost(s, c, b.path, b.body)
	} else {
		r, err = s.request(c, b.method, b.path, b.contentType, b.body)
	}
	if err != nil {
		t.Fatalf("%s %s: %v", b.method, b.path, err)
	}
	if r.status != b.status {
		t.Errorf("%s %s: status %d, want %d: %s", b.method, b.path, r.status, b.status, r.body)
	}
	if msg, err := errorBody(r); err != nil {
		t.Errorf("%s %s: %v", b.method, b.path, err)
	} else {
		t.Logf("%d %s", r.status, msg)
	}
	if b.allow != "" && r.header.Get("Allow") != b.allow {
		t.Errorf("%s %s: Allow %q, want %q", b.method, b.path, r.header.Get("Allow"), b.allow)
	}
	if err := s.review(c, "after-"+strings.ReplaceAll(b.name, " ", "-")); err != nil {
		t.Errorf("a good review after %q failed: %v", b.name, err)
	}
}

func TestBadRequestsGetA4xxJSONErrorAndTheServerKeepsServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	good := podReview(v1, "good", "default")
	const limit = 3 * 1024 * 1024 // the default --max-body-bytes
	huge := append(append([]byte{}, good...), bytes.Repeat([]byte(" "), limit)...)
	cases := []badRequest{
		{name: "GET mutate", method: "GET", path: "/mutate", status: 405, allow: "POST"},
		{name: "PUT mutate", method: "PUT", path: "/mutate", contentType: "application/json", body: good, status: 405, allow: "POST"},
		{name: "DELETE mutate", method: "DELETE", path: "/mutate", status: 405, allow: "POST"},
		{name: "POST healthz", method: "POST", path: "/healthz", contentType: "application/json", body: []byte("{}"), status: 405, allow: "GET"},
		{name: "POST readyz", method: "POST", path: "/readyz", status: 405, allow: "GET"},
		{name: "POST metrics", method: "POST", path: "/metrics", status: 405, allow: "GET"},
		{name: "text plain", method: "POST", path: "/mutate", contentType: "text/plain", body: good, status: 415},
		{name: "no content type", method: "POST", path: "/mutate", body: good, status: 415},
		{name: "json prefix", method: "POST", path: "/mutate", contentType: "application/jsonx", body: good, status: 415},
		{name: "too large with length", method: "POST", path: "/mutate", contentType: "application/json", body: huge, status: 413},
		{name: "too large chunked", method: "POST", path: "/mutate", body: huge, chunked: true, status: 413},
		{name: "malformed", method: "POST", path: "/mutate", contentType: "application/json", body: []byte(`{"apiVersion":`), status: 400},
		{name: "trailing garbage", method: "POST", path: "/mutate", contentType: "application/json", body: append(append([]byte{}, good...), '}'), status: 400},
		{name: "not an object", method: "POST", path: "/mutate", contentType: "application/json", body: []byte(`["AdmissionReview"]`), status: 400},
		{name: "wrong kind", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Replace(good, []byte(`"kind":"AdmissionReview"`), []byte(`"kind":"Pod"`), 1), status: 400},
		{name: "wrong apiVersion", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Replace(good, []byte(v1), []byte("admission.k8s.io/v2"), 1), status: 400},
		{name: "missing request", method: "POST", path: "/mutate", contentType: "application/json", body: []byte(`{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`), status: 400},
		{name: "missing uid", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Replace(good, []byte(`"uid":"good"`), []byte(`"uidx":"good"`), 1), status: 400},
		{name: "empty uid", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Replace(good, []byte(`"uid":"good"`), []byte(`"uid":""`), 1), status: 400},
		{name: "deeply nested", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Repeat([]byte("["), 100000), status: 400},
		{name: "deeply nested objects", method: "POST", path: "/mutate", contentType: "application/json", body: bytes.Repeat([]byte(`{"a":`), 50000), status: 400},
		{name: "empty body", method: "POST", path: "/mutate", contentType: "application/json", body: []byte{}, status: 400},
		{name: "unknown path", method: "GET", path: "/nope", status: 404},
		{name: "unknown path POST", method: "POST", path: "/mutatex", contentType: "application/json", body: good, status: 404},
		{name: "path prefix", method: "POST", path: "/mutate/extra", contentType: "application/json", body: good, status: 404},
	}
	c := s.client()
	for _, b := range cases {
		t.Run(b.name, func(t *testing.T) { expectRejected(t, s, c, b) })
	}
	// Still serving on fresh connections too.
	if err := s.review(s.freshClient(), "fresh-after-all"); err != nil {
		t.Errorf("a good review on a new connection failed: %v", err)
	}
}

func TestChunkedReviewIsAccepted(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	r, err := chunkedPost(s, s.client(), "/mutate", podReview(v1, "chunked", "default"))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPatchedAnswer(r, v1, "chunked"); err != nil {
		t.Error(err)
	}
}

func TestMaxBodyBytesFlagIsTheExactLimit(t *testing.T) {
	t.Parallel()
	const limit = 4096
	s := startServer(t, serverConfig{args: []string{"--max-body-bytes", fmt.Sprint(limit)}})
	c := s.client()
	// A valid review padded with trailing whitespace to exactly the limit.
	body := podReview(v1, "at-limit", "default")
	body = append(body, bytes.Repeat([]byte(" "), limit-len(body))...)
	r := s.mustPost(t, c, "/mutate", body)
	if err := checkPatchedAnswer(r, v1, "at-limit"); err != nil {
		t.Errorf("a body of exactly --max-body-bytes: %v", err)
	}
	r, err := chunkedPost(s, c, "/mutate", body)
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPatchedAnswer(r, v1, "at-limit"); err != nil {
		t.Errorf("a chunked body of exactly --max-body-bytes: %v", err)
	}
	over := append(body, ' ')
	expectRejected(t, s, c, badRequest{name: "one byte over", method: "POST", path: "/mutate", contentType: "application/json", body: over, status: 413})
	expectRejected(t, s, c, badRequest{name: "one byte over chunked", method: "POST", path: "/mutate", body: over, chunked: true, status: 413})
	expectRejected(t, s, c, badRequest{name: "far over chunked", method: "POST", path: "/mutate", body: bytes.Repeat([]byte("x"), 1<<20), chunked: true, status: 413})

	// A chunked body that goes on 16 MiB past the limit is cut off, not read to its end.
	_, err = chunkedPost(s, c, "/mutate", bytes.Repeat([]byte("x"), 24<<20))
	if err == nil {
		t.Error("a chunked body 24 MiB long: got an answer, want the connection closed")
	}
	r = s.mustPost(t, c, "/mutate", podReview(v1, "after-cut", "default"))
	if err := checkPatchedAnswer(r, v1, "after-cut"); err != nil {
		t.Errorf("after cutting off an endless body: %v", err)
	}
}

// libmicrohttpd refuses broken HTTP framing itself, before goinject sees a request.
func TestMalformedHTTPIsRefusedAndTheServerKeepsServing(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	bigHeader := strings.Repeat("a", 40000)
	cases := []struct {
		name, raw string
		statuses  []string // acceptable status lines; none: the connection is just closed
	}{
		{"garbage request line", "GARBAGE\r\n\r\n", []string{"HTTP/1.1 400"}},
		{"bad Content-Length", "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n", []string{"HTTP/1.1 400"}},
		{"bad chunk size", "POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", []string{"HTTP/1.1 400"}},
		{"URL too long", "GET /mutate?x=" + bigHeader + " HTTP/1.1\r\nHost: x\r\n\r\n", []string{"HTTP/1.1 414", "HTTP/1.1 431"}},
		{"header too large", "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + bigHeader + "\r\n\r\n", []string{"HTTP/1.1 431"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := dialTLS(s, s.tlsConfig())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			// The server may refuse (and close) before the client has written it all.
			go func() { _, _ = conn.Write([]byte(tc.raw)) }()
			_ = conn.SetReadDeadline(time.Now().Add(scaled(5 * time.Second)))
			answer, err := io.ReadAll(conn)
			if err != nil && !isClosedErr(err) {
				t.Fatalf("the server did not answer or close the connection: %v", err)
			}
			ok := len(answer) == 0 // closed without an answer
			for _, want := range tc.statuses {
				ok = ok || bytes.HasPrefix(answer, []byte(want))
			}
			if !ok {
				t.Errorf("answer %.80q, want one of %q or a closed connection", answer, tc.statuses)
			}
			if err := s.review(s.client(), "after-"+strings.ReplaceAll(tc.name, " ", "-")); err != nil {
				t.Errorf("a good review afterwards failed: %v", err)
			}
		})
	}
	t.Run("answers are JSON", func(t *testing.T) {
		t.Skip("libmicrohttpd 0.9.75 answers a garbage request line, a bad Content-Length or chunk size and " +
			"oversized heads itself, before any callback (HTML body, no Content-Type, not logged or counted by " +
			"goinject), and has no hook to change that; the 400 for a bad Content-Length even repeats its status " +
			"line and headers (docs/hardening.md). Framing goinject can see is refused by goinject: framing_test.go")
	})
}
