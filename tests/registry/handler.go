package main

// The request path of every listener: control API, request log, token
// endpoint, authentication, faults, and finally the in-memory registry.

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var (
	// repoPath finds the repository of a /v2/ path; the greedy (.+) takes the
	// last keyword, so a repository may contain "blobs" or "tags" as a segment.
	repoPath = regexp.MustCompile(`^/v2/(.+)/(manifests|blobs|tags|referrers)/`)
	// blobPath is a blob read, the only thing the "other" listener serves.
	blobPath = regexp.MustCompile(`^/v2/.+/blobs/sha256:[0-9a-f]{64}$`)
)

// hangLimit bounds a hang fault: the request is dropped after it.
const hangLimit = 60 * time.Second

// handler returns the http.Handler of one listener.
func (s *state) handler(listener string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/_control/") {
			s.control(w, r)
			return
		}
		start := time.Now()
		rec := &recorder{ResponseWriter: w}
		var applied string
		// Deferred so that aborted requests (hang faults, clients that go
		// away) are logged too, with status 0 when nothing was answered.
		defer func() {
			e := logEntry{
				Time:       start.UTC().Format(time.RFC3339Nano),
				Listener:   listener,
				Method:     r.Method,
				Path:       r.URL.Path,
				Query:      r.URL.RawQuery,
				Status:     rec.status,
				Auth:       authScheme(r),
				Bytes:      rec.bytes,
				DurationMs: time.Since(start).Milliseconds(),
				Fault:      applied,
			}
			s.record(e)
			s.verbose.Printf("%s %s %s?%s -> %d (%d bytes, auth %s, fault %q)", e.Listener, e.Method, e.Path, e.Query, e.Status, e.Bytes, e.Auth, e.Fault)
		}()
		s.serve(listener, rec, r, &applied)
	})
}

// serve answers one non-control request; *applied is set to the kind of the
// fault that applied, if any.
func (s *state) serve(listener string, w http.ResponseWriter, r *http.Request, applied *string) {
	switch {
	case listener == listenerOther:
		// The redirect target: blob reads only, and no authentication (like
		// a pre-signed object-store URL).
		if (r.Method != http.MethodGet && r.Method != http.MethodHead) || !blobPath.MatchString(r.URL.Path) {
			writeRegError(w, http.StatusNotFound, "UNSUPPORTED", "this host only serves blob reads")
			return
		}
	case r.URL.Path == "/token":
		if f := s.takeFault(listener, r); f != nil {
			*applied = f.Kind
			if !s.applyFault(f, listener, &w, r) {
				return
			}
		}
		s.serveToken(w, r)
		return
	case r.URL.Path == "/v2" || strings.HasPrefix(r.URL.Path, "/v2/"):
		if !s.authorize(w, r) {
			return
		}
	default:
		writeRegError(w, http.StatusNotFound, "UNSUPPORTED", "not a registry path")
		return
	}
	if f := s.takeFault(listener, r); f != nil {
		*applied = f.Kind
		if !s.applyFault(f, listener, &w, r) {
			return
		}
	}
	if r.Body != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
		// pkg/registry reads upload bodies while holding its one lock. Over
		// HTTP/2 an upload whose handler waits for that lock stops reading, and
		// its unread data can use up the connection's flow-control window, so
		// the upload holding the lock starves: a deadlock. Reading the body
		// before the registry sees it avoids that.
		body, err := io.ReadAll(io.LimitReader(r.Body, maxUploadBytes+1))
		if err != nil {
			return // the client went away
		}
		if len(body) > maxUploadBytes {
			writeRegError(w, http.StatusRequestEntityTooLarge, "SIZE_INVALID", "upload too large for the test registry")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	s.registry.ServeHTTP(w, r)
}

// maxUploadBytes bounds one upload request body (the registry keeps blobs in memory).
const maxUploadBytes = 1 << 30

// applyFault carries out f. It returns true when the request is to be served
// normally afterwards (delay, tamper), with *w possibly replaced.
func (s *state) applyFault(f *fault, listener string, w *http.ResponseWriter, r *http.Request) bool {
	switch f.Kind {
	case faultDelay:
		t := time.NewTimer(time.Duration(f.DelayMs) * time.Millisecond)
		defer t.Stop()
		select {
		case <-t.C:
			return true
		case <-r.Context().Done():
		case <-s.stopping:
		}
		panic(http.ErrAbortHandler) // the client went away meanwhile
	case faultStatus:
		if f.RetryAfter != "" {
			(*w).Header().Set("Retry-After", f.RetryAfter)
		}
		writeRegError(*w, f.Status, errorCode(f.Status, r.URL.Path), fmt.Sprintf("injected fault: status %d", f.Status))
		return false
	case faultRedirect:
		q := "redirected=" + listener
		if r.URL.RawQuery != "" {
			q = r.URL.RawQuery + "&" + q
		}
		(*w).Header().Set("Location", "https://"+s.otherAddr+r.URL.Path+"?"+q)
		(*w).WriteHeader(http.StatusTemporaryRedirect)
		return false
	case faultTamper:
		*w = &tamperWriter{ResponseWriter: *w, offset: f.Offset}
		return true
	case faultHang:
		t := time.NewTimer(hangLimit)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		case <-s.stopping:
		}
		panic(http.ErrAbortHandler) // drop the connection (or HTTP/2 stream) unanswered
	}
	return true
}

// authorize applies the auth mode to a /v2/ request and answers 401 itself
// when the request may not pass.
func (s *state) authorize(w http.ResponseWriter, r *http.Request) bool {
	s.mu.Lock()
	c := s.auth
	s.mu.Unlock()
	switch c.Mode {
	case authBasic:
		if u, p, ok := r.BasicAuth(); ok && equal(u, c.User) && equal(p, c.Password) {
			return true
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="testregistry"`)
		writeRegError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	case authBearer:
		repo := ""
		if m := repoPath.FindStringSubmatch(r.URL.Path); m != nil {
			repo = m[1]
		}
		catalog := r.URL.Path == "/v2/_catalog"
		challenge := fmt.Sprintf(`Bearer realm="https://%s/token",service="testregistry"`, s.mainAddr)
		switch {
		case repo != "":
			// Quoted, with a comma inside: on purpose, for the parsers.
			challenge += fmt.Sprintf(`,scope="repository:%s:pull,push"`, repo)
		case catalog:
			challenge += `,scope="registry:catalog:*"`
		}
		if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			s.mu.Lock()
			t, known := s.tokens[strings.TrimSpace(tok)]
			s.mu.Unlock()
			switch {
			case !known || time.Now().After(t.expires):
				challenge += `,error="invalid_token"`
			case repo != "" && !t.repos[repo], catalog && !t.catalog:
				challenge += `,error="insufficient_scope"`
			default:
				return true
			}
		}
		w.Header().Set("WWW-Authenticate", challenge)
		writeRegError(w, http.StatusUnauthorized, "UNAUTHORIZED", "authentication required")
		return false
	}
	return true
}

// serveToken is the token endpoint of the Bearer flow: GET /token?service=..&scope=..
// With a user configured it wants that user's Basic credentials.
func (s *state) serveToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeRegError(w, http.StatusMethodNotAllowed, "UNSUPPORTED", "the token endpoint answers GET only")
		return
	}
	s.mu.Lock()
	c := s.auth
	s.mu.Unlock()
	if c.User != "" {
		u, p, ok := r.BasicAuth()
		if !ok || !equal(u, c.User) || !equal(p, c.Password) {
			w.Header().Set("WWW-Authenticate", `Basic realm="testregistry"`)
			writeRegError(w, http.StatusUnauthorized, "UNAUTHORIZED", "bad or missing credentials for the token endpoint")
			return
		}
	}
	t := token{repos: map[string]bool{}}
	// Each scope parameter holds space-separated scopes: type:name:actions.
	for _, param := range r.URL.Query()["scope"] {
		for _, scope := range strings.Fields(param) {
			typ, rest, ok := strings.Cut(scope, ":")
			if !ok {
				continue
			}
			i := strings.LastIndex(rest, ":")
			if i < 0 {
				continue
			}
			switch name := rest[:i]; {
			case typ == "repository":
				t.repos[name] = true
			case typ == "registry" && name == "catalog":
				t.catalog = true
			}
		}
	}
	ttl := c.TokenTTL
	if ttl <= 0 {
		ttl = 60
	}
	now := time.Now()
	t.expires = now.Add(time.Duration(ttl) * time.Second)
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	value := "trt_" + hex.EncodeToString(b[:])
	s.mu.Lock()
	// Forget expired tokens so the map stays small over long runs.
	for k, old := range s.tokens {
		if now.After(old.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[value] = t
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token":        value,
		"access_token": value,
		"expires_in":   ttl,
		"issued_at":    now.UTC().Format(time.RFC3339),
	})
}

// writeRegError answers status with an error body of the distribution spec.
func writeRegError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, map[string]any{
		"errors": []map[string]any{{"code": code, "message": message, "detail": nil}},
	})
}

// errorCode is the distribution-spec error code that goes with an injected status.
func errorCode(status int, path string) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "TOOMANYREQUESTS"
	case status == http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case status == http.StatusForbidden:
		return "DENIED"
	case status == http.StatusNotFound && strings.Contains(path, "/manifests/"):
		return "MANIFEST_UNKNOWN"
	case status == http.StatusNotFound && strings.Contains(path, "/blobs/"):
		return "BLOB_UNKNOWN"
	case status == http.StatusNotFound:
		return "NAME_UNKNOWN"
	case status == http.StatusServiceUnavailable:
		return "UNAVAILABLE"
	default:
		return "UNKNOWN"
	}
}

// authScheme names the scheme of the request's Authorization header, for the log.
func authScheme(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "none"
	}
	scheme, _, _ := strings.Cut(h, " ")
	return strings.ToLower(scheme)
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// recorder remembers the status and the body size of an answer.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(p)
	r.bytes += int64(n)
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// tamperWriter changes one byte of a successful answer's body: the byte at
// offset, or the middle one when offset is unset or negative. Length and
// headers (Content-Length, Docker-Content-Digest) stay as they were.
type tamperWriter struct {
	http.ResponseWriter
	offset  *int64
	target  int64 // -1: nothing to change (an error answer)
	written int64
	started bool
}

func (t *tamperWriter) WriteHeader(code int) {
	if !t.started {
		t.started = true
		t.target = -1
		if code == http.StatusOK || code == http.StatusPartialContent {
			t.target = 0
			if t.offset != nil && *t.offset >= 0 {
				t.target = *t.offset
			} else if n, err := strconv.ParseInt(t.Header().Get("Content-Length"), 10, 64); err == nil {
				t.target = n / 2
			}
		}
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tamperWriter) Write(p []byte) (int, error) {
	if !t.started {
		t.WriteHeader(http.StatusOK)
	}
	if t.target >= t.written && t.target < t.written+int64(len(p)) {
		q := append([]byte(nil), p...)
		q[t.target-t.written] ^= 0x01
		p = q
	}
	n, err := t.ResponseWriter.Write(p)
	t.written += int64(n)
	return n, err
}

func (t *tamperWriter) Unwrap() http.ResponseWriter { return t.ResponseWriter }
