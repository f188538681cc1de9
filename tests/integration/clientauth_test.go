package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

var serial int64 = 1000

func newSerial() *big.Int {
	serial++
	return big.NewInt(serial)
}

func newCA(t testing.TB, cn string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          newSerial(),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// clientCert issues a client-auth certificate, as kube-apiserver's
// --admission-control-config-file kubeconfig would present.
func (ca *testCA) clientCert(t testing.TB, cn string) tls.Certificate {
	t.Helper()
	return ca.clientCertValid(t, cn, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

func (ca *testCA) clientCertValid(t testing.TB, cn string, notBefore, notAfter time.Time) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: newSerial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

func (s *server) clientWithCert(cert *tls.Certificate) *http.Client {
	tr := s.transport()
	if cert != nil {
		// Always present it: with Certificates, Go would send nothing when the
		// server's list of acceptable CAs does not name the issuer.
		tr.TLSClientConfig.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return cert, nil
		}
	}
	return &http.Client{Transport: tr, Timeout: scaled(10 * time.Second)}
}

func TestClientCertificatesAreRequiredForMutateWhenClientCAIsSet(t *testing.T) {
	t.Parallel()
	clientCA := newCA(t, "apiserver client CA")
	otherCA := newCA(t, "some other CA")
	caFile := filepath.Join(t.TempDir(), "client-ca.crt")
	if err := os.WriteFile(caFile, clientCA.pem, 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, serverConfig{args: []string{"--client-ca", caFile}})
	if l, _ := s.logs.waitFor(time.Second, msgIs("listening")); l.fields["clientAuth"] != true {
		t.Errorf("listening line: clientAuth = %v, want true", l.fields["clientAuth"])
	}
	good := clientCA.clientCert(t, "kube-apiserver")
	stranger := otherCA.clientCert(t, "kube-apiserver")
	expired := clientCA.clientCertValid(t, "kube-apiserver", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))

	t.Run("without a certificate", func(t *testing.T) {
		r := s.mustPost(t, s.clientWithCert(nil), "/mutate", podReview(v1, "anon", "default"))
		if r.status != http.StatusUnauthorized {
			t.Errorf("status %d, want 401: %s", r.status, r.body)
		}
		if _, err := errorBody(r); err != nil {
			t.Error(err)
		}
	})
	for name, cert := range map[string]*tls.Certificate{"from another CA": &stranger, "expired": &expired} {
		t.Run("with a certificate "+name, func(t *testing.T) {
			r, err := s.post(s.clientWithCert(cert), "/mutate", podReview(v1, "stranger", "default"))
			if err != nil {
				t.Logf("refused in the handshake: %v", err)
				return
			}
			t.Logf("%d %s", r.status, r.body)
			if r.status != http.StatusUnauthorized {
				t.Errorf("status %d, want 401 (or a refused handshake): %s", r.status, r.body)
			}
			if _, err := errorBody(r); err != nil {
				t.Error(err)
			}
		})
	}
	t.Run("with the right certificate", func(t *testing.T) {
		c := s.clientWithCert(&good)
		for i := 0; i < 3; i++ { // also on the kept-alive connection
			if err := s.review(c, "trusted"); err != nil {
				t.Error(err)
			}
		}
	})
	t.Run("probes without a certificate, metrics only with one", func(t *testing.T) {
		c := s.clientWithCert(nil)
		for _, path := range []string{"/healthz", "/readyz"} {
			if r := s.mustGet(t, c, path); r.status != http.StatusOK {
				t.Errorf("GET %s: status %d, want 200", path, r.status)
			}
		}
		if r := s.mustGet(t, c, "/metrics"); r.status != http.StatusUnauthorized {
			t.Errorf("GET /metrics without a certificate: status %d, want 401", r.status)
		}
		if r := s.mustGet(t, s.clientWithCert(&good), "/metrics"); r.status != http.StatusOK {
			t.Errorf("GET /metrics with the client certificate: status %d, want 200", r.status)
		}
	})
	r := s.mustGet(t, s.clientWithCert(&good), "/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", r.status)
	}
	if n := parseMetrics(t, r.body)[`goinject_http_responses_total{code="401"}`]; n < 1 {
		t.Errorf(`goinject_http_responses_total{code="401"} = %v, want at least 1`, n)
	}
}
