package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/registry"
)

// The three listeners. "main" and "plain" serve the whole registry; "other"
// is a second host that only serves blob reads, as the target of cross-host
// redirects (like a CDN or object store behind a real registry).
const (
	listenerMain  = "main"
	listenerOther = "other"
	listenerPlain = "plain"
)

// addrFile is DIR/addr.json, written once every listener accepts connections.
type addrFile struct {
	Main  string `json:"main"`
	Other string `json:"other"`
	Plain string `json:"plain"`
	CA    string `json:"ca"`
	PID   int    `json:"pid"`
}

func serveMain(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	stateDir := fs.String("state", "", "directory for ca.crt and addr.json (required)")
	exitAfter := fs.Duration("exit-after", 0, "stop by itself after this long (0: only on SIGTERM/SIGINT)")
	noH2 := fs.Bool("no-h2", false, "serve HTTP/1.1 only on the TLS listeners (default: HTTP/2 offered by ALPN)")
	verbose := fs.Bool("v", false, "log every request to stderr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *stateDir == "" || fs.NArg() != 0 {
		return errors.New("usage: serve -state DIR [-exit-after D] [-no-h2] [-v]")
	}
	if err := os.MkdirAll(*stateDir, 0o755); err != nil {
		return err
	}
	dir, err := filepath.Abs(*stateDir)
	if err != nil {
		return err
	}

	cert, caPEM, err := makeCertificates()
	if err != nil {
		return fmt.Errorf("certificates: %w", err)
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := writeFileAtomic(caFile, caPEM); err != nil {
		return err
	}

	// Listen first: the realm and redirect URLs need the ports.
	mainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	otherLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		return fmt.Errorf("127.0.0.2 (the redirect target): %w", err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}

	reqLog := io.Discard
	if *verbose {
		reqLog = os.Stderr
	}
	st := newState(mainLn.Addr().String(), otherLn.Addr().String())
	st.verbose = log.New(reqLog, "testregistry: ", log.LstdFlags|log.Lmicroseconds)
	// One registry behind every listener: what is pushed to one is read from all.
	st.registry = registry.New(registry.Logger(log.New(io.Discard, "", 0)))

	tlsConf := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	servers := map[string]*http.Server{}
	errc := make(chan error, 3)
	for _, l := range []struct {
		name string
		ln   net.Listener
		tls  bool
	}{{listenerMain, mainLn, true}, {listenerOther, otherLn, true}, {listenerPlain, plainLn, false}} {
		srv := &http.Server{
			Handler:           st.handler(l.name),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       60 * time.Second,
			ErrorLog:          log.New(io.Discard, "", 0),
		}
		ln := l.ln
		if l.tls {
			conf := tlsConf.Clone()
			if *noH2 {
				conf.NextProtos = []string{"http/1.1"}
				srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
			} else {
				conf.NextProtos = []string{"h2", "http/1.1"}
			}
			srv.TLSConfig = conf
			ln = tls.NewListener(ln, conf)
		}
		servers[l.name] = srv
		go func(srv *http.Server, ln net.Listener) {
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		}(srv, ln)
	}

	// The listeners accept from here on: publish the addresses.
	addrPath := filepath.Join(dir, "addr.json")
	af, _ := json.MarshalIndent(addrFile{
		Main:  mainLn.Addr().String(),
		Other: otherLn.Addr().String(),
		Plain: plainLn.Addr().String(),
		CA:    caFile,
		PID:   os.Getpid(),
	}, "", "  ")
	if err := writeFileAtomic(addrPath, append(af, '\n')); err != nil {
		return err
	}
	// A later reader must never find the addresses of a stopped server.
	defer os.Remove(addrPath)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	var timeout <-chan time.Time
	if *exitAfter > 0 {
		timeout = time.After(*exitAfter)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case <-timeout:
		fmt.Fprintf(os.Stderr, "testregistry serve: stopping after -exit-after %v\n", *exitAfter)
	case runErr = <-errc:
	}

	// Release hanging handlers, then give the rest a moment to finish.
	close(st.stopping)
	shutCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutCtx); err != nil {
			srv.Close()
		}
	}
	return runErr
}

// makeCertificates returns a serving certificate for every listener's name
// (127.0.0.1, 127.0.0.2, ::1, localhost) and the PEM of the throwaway CA that
// signed it. Both keys live only in memory.
func makeCertificates() (tls.Certificate, []byte, error) {
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "goinject testregistry CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return tls.Certificate{}, nil, err
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: "testregistry"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("127.0.0.2"), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return tls.Certificate{}, nil, err
	}
	cert := tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key}
	return cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return n
}

// writeFileAtomic writes data to a temporary file next to path and renames it
// into place, so a reader sees either no file or all of it.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // fails harmlessly after the rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
