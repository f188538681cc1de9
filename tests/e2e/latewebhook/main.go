// Command latewebhook is a second mutating admission webhook for goinject's
// end-to-end tests. It adds a container named "late" to every pod it is sent
// (once: a pod that already has it is left alone), with the facts goinject
// needs as per-container annotations. Registered after goinject with
// reinvocationPolicy IfNeeded, it makes the API server reinvoke goinject,
// which must then handle the late container and nothing else.
//
//	latewebhook --tls-cert FILE --tls-key FILE --port-file FILE [--listen 127.0.0.1:0]
//
// It serves POST /mutate over TLS, writes the port it listens on to
// --port-file, and logs one line per review on stderr. Standard library only.
package main

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// The container and the facts the webhook adds: a static Go binary in an
// image without a shell, on musl, so cloud-native goinject gives it the musl
// tini wrapper and classic goinject gives it SYS_PTRACE.
var lateContainer = map[string]any{
	"name":    "late",
	"image":   "registry.invalid/e2e/late:1",
	"command": []string{"/late"},
	"args":    []string{"--from", "the late webhook"},
}

var lateFacts = map[string]string{
	"static-go.goinject.io/late": "true",
	"shell.goinject.io/late":     "none",
	"libc.goinject.io/late":      "musl",
}

type review struct {
	APIVersion string    `json:"apiVersion"`
	Kind       string    `json:"kind"`
	Request    *request  `json:"request,omitempty"`
	Response   *response `json:"response,omitempty"`
}

type request struct {
	UID       string          `json:"uid"`
	Namespace string          `json:"namespace"`
	Operation string          `json:"operation"`
	Object    json.RawMessage `json:"object"`
}

type response struct {
	UID       string `json:"uid"`
	Allowed   bool   `json:"allowed"`
	PatchType string `json:"patchType,omitempty"`
	Patch     string `json:"patch,omitempty"`
}

type pod struct {
	Metadata struct {
		Name         string            `json:"name"`
		GenerateName string            `json:"generateName"`
		Annotations  map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Containers []struct {
			Name string `json:"name"`
		} `json:"containers"`
	} `json:"spec"`
}

type op struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	Value any    `json:"value"`
}

// pointerEscape escapes one JSON Pointer segment (RFC 6901).
func pointerEscape(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// patchFor returns the JSON Patch that adds the late container, or nil when
// the pod has it already.
func patchFor(p *pod) []op {
	for _, c := range p.Spec.Containers {
		if c.Name == "late" {
			return nil
		}
	}
	ops := []op{{"add", "/spec/containers/-", lateContainer}}
	if p.Metadata.Annotations == nil {
		ops = append(ops, op{"add", "/metadata/annotations", lateFacts})
	} else {
		for k, v := range lateFacts {
			ops = append(ops, op{"add", "/metadata/annotations/" + pointerEscape(k), v})
		}
	}
	return ops
}

func mutate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var in review
	if err := json.Unmarshal(body, &in); err != nil || in.Request == nil {
		http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
		return
	}
	out := review{APIVersion: in.APIVersion, Kind: "AdmissionReview",
		Response: &response{UID: in.Request.UID, Allowed: true}}
	var p pod
	action := "unchanged"
	if in.Request.Operation == "CREATE" && json.Unmarshal(in.Request.Object, &p) == nil {
		if ops := patchFor(&p); ops != nil {
			patch, err := json.Marshal(ops)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			out.Response.PatchType = "JSONPatch"
			out.Response.Patch = base64.StdEncoding.EncodeToString(patch)
			action = "added late container"
		}
	}
	name := p.Metadata.Name
	if name == "" {
		name = p.Metadata.GenerateName
	}
	log.Printf("review namespace=%s pod=%s containers=%d: %s",
		in.Request.Namespace, name, len(p.Spec.Containers), action)
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(out); err != nil {
		log.Printf("writing the answer: %v", err)
	}
}

func main() {
	certFile := flag.String("tls-cert", "", "serving certificate (PEM)")
	keyFile := flag.String("tls-key", "", "its private key (PEM)")
	listen := flag.String("listen", "127.0.0.1:0", "address to listen on")
	portFile := flag.String("port-file", "", "write the port listened on to this file")
	flag.Parse()
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("latewebhook: ")
	if *certFile == "" || *keyFile == "" || *portFile == "" {
		fmt.Fprintln(os.Stderr, "usage: latewebhook --tls-cert FILE --tls-key FILE --port-file FILE [--listen ADDR]")
		os.Exit(2)
	}
	cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	if err := os.WriteFile(*portFile, []byte(fmt.Sprintf("%d\n", port)), 0o644); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/mutate", mutate)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		TLSConfig:         &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12},
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("listening on 127.0.0.1:%d", port)
	if err := srv.ServeTLS(ln, "", ""); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
