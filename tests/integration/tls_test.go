package integration

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func dialTLS(s *server, cfg *tls.Config) (*tls.Conn, error) {
	d := &net.Dialer{Timeout: scaled(5 * time.Second)}
	return tls.DialWithDialer(d, "tcp", s.addr(), cfg)
}

func TestTLS12AndTLS13HandshakesSucceed(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		cfg := s.tlsConfig()
		cfg.MinVersion, cfg.MaxVersion = v, v
		conn, err := dialTLS(s, cfg)
		if err != nil {
			t.Errorf("%s handshake: %v", tls.VersionName(v), err)
			continue
		}
		if got := conn.ConnectionState().Version; got != v {
			t.Errorf("negotiated %s, want %s", tls.VersionName(got), tls.VersionName(v))
		}
		conn.Close()

		c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}, Timeout: scaled(10 * time.Second)}
		r := s.mustPost(t, c, "/mutate", podReview(v1, "tls", "default"))
		if err := checkPatchedAnswer(r, v1, "tls"); err != nil {
			t.Errorf("review over %s: %v", tls.VersionName(v), err)
		}
		if r.tls == nil || r.tls.Version != v {
			t.Errorf("review not over %s", tls.VersionName(v))
		}
	}
}

func TestTLS10AndTLS11AreRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		cfg := s.tlsConfig()
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, v
		conn, err := dialTLS(s, cfg)
		if err == nil {
			t.Errorf("%s handshake succeeded (negotiated %s), want it refused",
				tls.VersionName(v), tls.VersionName(conn.ConnectionState().Version))
			conn.Close()
			continue
		}
		// The refusal must come from the server (an alert or a closed connection),
		// not from a client that would not even try.
		if !strings.Contains(err.Error(), "remote error") && !isClosedErr(err) {
			t.Errorf("%s: %v; want the server to refuse with an alert", tls.VersionName(v), err)
		}
		t.Logf("%s refused: %v", tls.VersionName(v), err)
	}
	// The refused handshakes did not hurt the server.
	if err := s.review(s.client(), "after-old-tls"); err != nil {
		t.Error(err)
	}
}

func TestTLS12NegotiatesOnlyAEADCipherSuites(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	aead := map[uint16]bool{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       true,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       true,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: true,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         true,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         true,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   true,
	}
	// Go's default offer, and each AEAD suite alone.
	offers := [][]uint16{nil}
	for _, id := range []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	} {
		offers = append(offers, []uint16{id})
	}
	for _, offer := range offers {
		cfg := s.tlsConfig()
		cfg.MaxVersion = tls.VersionTLS12
		cfg.CipherSuites = offer
		conn, err := dialTLS(s, cfg)
		if err != nil {
			t.Errorf("TLS 1.2 offering %v: %v", offer, err)
			continue
		}
		suite := conn.ConnectionState().CipherSuite
		conn.Close()
		if !aead[suite] {
			t.Errorf("TLS 1.2 offering %v negotiated %s, not an AEAD suite", offer, tls.CipherSuiteName(suite))
		}
	}
	// Only CBC suites on offer: the server must refuse.
	cfg := s.tlsConfig()
	cfg.MaxVersion = tls.VersionTLS12
	cfg.CipherSuites = []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	}
	if conn, err := dialTLS(s, cfg); err == nil {
		t.Errorf("TLS 1.2 with only CBC suites negotiated %s, want refused", tls.CipherSuiteName(conn.ConnectionState().CipherSuite))
		conn.Close()
	}
}

// kube-apiserver offers h2 by ALPN; the webhook speaks HTTP/1.1 and the client falls back.
func TestClientOfferingHTTP2GetsHTTP11(t *testing.T) {
	t.Parallel()
	s := startServer(t, serverConfig{})
	tr := s.transport()
	tr.ForceAttemptHTTP2 = true
	c := &http.Client{Transport: tr, Timeout: scaled(10 * time.Second)}
	resp, err := c.Post(s.base+"/mutate", "application/json", bytes.NewReader(podReview(v1, "h2", "default")))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.ProtoMajor != 1 || resp.ProtoMinor != 1 {
		t.Errorf("protocol %s, want HTTP/1.1", resp.Proto)
	}
	if err := checkPatchedAnswer(&response{status: resp.StatusCode, header: resp.Header, body: body}, v1, "h2"); err != nil {
		t.Error(err)
	}
}
