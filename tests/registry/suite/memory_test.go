package suite

// What analysing an image may cost the server in memory, whatever the image
// or the registry: executables are mapped from the spool, the file index is
// bounded, and the registry's JSON is parsed within a ceiling.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	ociManifest = "application/vnd.oci.image.manifest.v1+json"
	ociConfig   = "application/vnd.oci.image.config.v1+json"
	ociLayer    = "application/vnd.oci.image.layer.v1.tar" // uncompressed: no unpacking in the spool
)

// rssAnon is the anonymous resident memory of process pid, in bytes: what
// the kernel cannot reclaim under the chart's memory limit (mapped file pages
// it can).
func rssAnon(pid int) (int64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "RssAnon:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no RssAnon in /proc/%d/status", pid)
}

// sanitized: goinject runs under AddressSanitizer (make test-asan sets its options).
func sanitized() bool { return os.Getenv("ASAN_OPTIONS") != "" }

// peakSampler records the highest RssAnon of a process until stopped.
type peakSampler struct {
	stop chan struct{}
	done chan struct{}
	peak int64
}

func samplePeak(pid int) *peakSampler {
	s := &peakSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			if v, err := rssAnon(pid); err == nil && v > s.peak {
				s.peak = v
			}
			select {
			case <-s.stop:
				return
			case <-time.After(2 * time.Millisecond):
			}
		}
	}()
	return s
}

func (s *peakSampler) end() int64 {
	close(s.stop)
	<-s.done
	return s.peak
}

// tarLayer writes a tar of the entries add makes to w.
func tarLayer(w io.Writer, add func(tw *tar.Writer) error) error {
	tw := tar.NewWriter(w)
	if err := add(tw); err != nil {
		return err
	}
	return tw.Close()
}

// blob is a layer made on demand (twice: once for its digest, once to send it).
type blob struct {
	size   int64
	digest string
	write  func(w io.Writer) error
}

func newBlob(t *testing.T, write func(w io.Writer) error) blob {
	t.Helper()
	h := sha256.New()
	n := &countingWriter{w: h}
	if err := write(n); err != nil {
		t.Fatal(err)
	}
	return blob{size: n.n, digest: "sha256:" + hex.EncodeToString(h.Sum(nil)), write: write}
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// putBlob uploads b to repo in one request (POST, then PUT with the digest).
func (r *registry) putBlob(t *testing.T, repo string, b blob) {
	t.Helper()
	resp, err := r.client.Post("https://"+r.Main+"/v2/"+repo+"/blobs/uploads/", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("starting an upload to %s: status %d, Location %q", repo, resp.StatusCode, loc)
	}
	if !strings.HasPrefix(loc, "http") {
		loc = "https://" + r.Main + loc
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(b.write(pw)) }()
	req, err := http.NewRequest(http.MethodPut, loc+sep+"digest="+b.digest, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = b.size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading %s to %s: status %d", b.digest[:19], repo, resp.StatusCode)
	}
}

// putManifest stores body as repo:tag and returns its digest.
func (r *registry) putManifest(t *testing.T, repo, tag string, body []byte) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, "https://"+r.Main+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ociManifest)
	resp, err := r.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("putting the manifest %s:%s: status %d", repo, tag, resp.StatusCode)
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// pushImage stores an image of the layers of base (an image of the registry,
// "" for none) and these layers, whose entrypoint is entrypoint, with
// annotations (may be nil) in its manifest; returns the manifest digest.
func (r *registry) pushImage(t *testing.T, repo, tag, base string, entrypoint []string, annotations map[string]string, layers ...blob) string {
	t.Helper()
	diffIDs := []string{}
	descs := []any{}
	if base != "" {
		repoOf, ref, _ := strings.Cut(base, ":")
		baseLayers, _ := r.manifest(t, repoOf, ref)["layers"].([]any)
		descs = append(descs, baseLayers...)
		for _, l := range baseLayers {
			diffIDs = append(diffIDs, l.(map[string]any)["digest"].(string)) // not checked by goinject
		}
	}
	for _, l := range layers {
		r.putBlob(t, repo, l)
		diffIDs = append(diffIDs, l.digest)
		descs = append(descs, map[string]any{"mediaType": ociLayer, "digest": l.digest, "size": l.size})
	}
	config, _ := json.Marshal(map[string]any{
		"architecture": "amd64", "os": "linux",
		"config": map[string]any{"Entrypoint": entrypoint},
		"rootfs": map[string]any{"type": "layers", "diff_ids": diffIDs},
	})
	cb := newBlob(t, func(w io.Writer) error { _, err := w.Write(config); return err })
	r.putBlob(t, repo, cb)
	m := map[string]any{
		"schemaVersion": 2, "mediaType": ociManifest,
		"config": map[string]any{"mediaType": ociConfig, "digest": cb.digest, "size": cb.size},
		"layers": descs,
	}
	if annotations != nil {
		m["annotations"] = annotations
	}
	body, _ := json.Marshal(m)
	return r.putManifest(t, repo, tag, body)
}

// A large static Go executable (a real one, padded to 200 MiB) among
// 120,000 files: the lookup finds its facts and the pod gets the shell wrapper, and the server's anonymous
// memory grows by a fraction of the executable's size (it is mapped from
// the spool; before, it was read into memory, and over 64 MiB not at all).
func TestLargeImageAnalysedInBoundedMemory(t *testing.T) {
	reg := sharedRegistry(t)
	bin, err := os.ReadFile(filepath.Join(filepath.Dir(imagesDir), "bin", "static"))
	if err != nil {
		t.Fatalf("the static Go program of tests/inspect: %v", err)
	}
	const pad = 200 << 20
	program := newBlob(t, func(w io.Writer) error {
		return tarLayer(w, func(tw *tar.Writer) error {
			if err := tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755}); err != nil {
				return err
			}
			hdr := &tar.Header{Name: "app/server", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin)) + pad}
			if err := tw.WriteHeader(hdr); err != nil {
				return err
			}
			if _, err := tw.Write(bin); err != nil {
				return err
			}
			_, err := io.CopyN(tw, zeros{}, pad)
			return err
		})
	})
	const nfiles = 120000
	files := newBlob(t, func(w io.Writer) error {
		return tarLayer(w, func(tw *tar.Writer) error {
			for i := 0; i < nfiles; i++ {
				name := fmt.Sprintf("usr/share/data/d%03d/file-%06d.txt", i%500, i)
				if err := tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Mode: 0o644}); err != nil {
					return err
				}
			}
			return nil
		})
	})
	// On the shell fixture (glibc, /bin/sh), whose /app/server the large one replaces.
	digest := reg.pushImage(t, "goinject/large", "test", "goinject/shell:test", []string{"/app/server"}, nil, files, program)

	g := startGoinject(t, regConfig(reg, 20000, nil))
	g.review(t, newPod(reg.Main+"/goinject/ready:none")) // warm: TLS, libcurl, a first lookup
	g.logs.waitN(20*time.Second, 1, lookupOf("goinject/ready"))
	pid := g.cmd.Process.Pid
	before, err := rssAnon(pid)
	if err != nil {
		t.Fatal(err)
	}
	s := samplePeak(pid)
	a := g.review(t, newPod(reg.Main+"/goinject/large:test"))
	lines := g.logs.waitN(60*time.Second, 1, lookupOf("goinject/large"))
	peak := s.end()
	if len(lines) == 0 || lines[0].str("result") != "ok" {
		t.Fatalf("the lookup of goinject/large did not succeed: %v\n%s", lines, g.logs.text())
	}
	if a.facts(t)["registry"] != "fetched" {
		a = g.review(t, newPod(reg.Main+"/goinject/large:test")) // over the budget: now cached
	}
	checkFetched(t, a, a.facts(t)["registry"].(string), digest)
	if got, want := a.command(), shellWrapper("/app/server"); !slices.Equal(got, want) || !a.hasPtrace() {
		t.Errorf("the large static Go program: action %q, command %q, SYS_PTRACE %v; want %q and SYS_PTRACE",
			a.action(t), got, a.hasPtrace(), want)
	}
	growth := peak - before
	t.Logf("RssAnon %.1f MiB before, %.1f MiB at the peak of the lookup (+%.1f MiB) for a %d MiB executable among %d files",
		float64(before)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20), (len(bin)+pad)>>20, nfiles)
	if sanitized() {
		t.Log("not compared: AddressSanitizer's shadow and quarantine are anonymous memory too")
	} else if growth > 48<<20 {
		t.Errorf("analysing the image grew the server's anonymous memory by %.1f MiB, want under 48 MiB", float64(growth)/(1<<20))
	}
}

// A manifest that its registry filled with 250,000 annotations (3.5 MiB of
// JSON, 30 MiB or more as jansson's values) is refused at the lookup's
// ceiling: the lookup fails with a reason that says so, the pod is admitted
// with the warning of unknown facts, and the server's memory stays bounded.
func TestHostileManifestParsedWithinCeiling(t *testing.T) {
	reg := sharedRegistry(t)
	annotations := make(map[string]string, 250000)
	for i := 0; i < 250000; i++ {
		annotations["a"+strconv.Itoa(i)] = ""
	}
	layer := newBlob(t, func(w io.Writer) error {
		return tarLayer(w, func(tw *tar.Writer) error {
			return tw.WriteHeader(&tar.Header{Name: "app/", Typeflag: tar.TypeDir, Mode: 0o755})
		})
	})
	reg.pushImage(t, "goinject/hostile", "test", "", []string{"/app/server"}, annotations, layer)

	g := startGoinject(t, regConfig(reg, 20000, nil))
	pid := g.cmd.Process.Pid
	before, err := rssAnon(pid)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	s := samplePeak(pid)
	answers := make([]*answer, 4)
	for i := range answers { // four reviews at once share one lookup
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			answers[i], _ = g.tryReview(newPod(reg.Main + "/goinject/hostile:test"))
		}(i)
	}
	wg.Wait()
	lines := g.logs.waitN(30*time.Second, 1, lookupOf("goinject/hostile"))
	peak := s.end()
	growth := peak - before
	t.Logf("RssAnon %.1f MiB before, %.1f MiB at the peak (+%.1f MiB)", float64(before)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20))
	if len(lines) == 0 || !strings.Contains(lines[0].str("error"), "need more than 8 MiB of memory") {
		t.Fatalf("the lookup of goinject/hostile: %v, want an error about its memory\n%s", lines, g.logs.text())
	}
	for i, a := range answers {
		if a == nil || !a.Allowed {
			t.Fatalf("review %d: %v, want the pod admitted", i, a)
		}
		if a.warningWith("goinject/hostile") == "" {
			t.Errorf("review %d: warnings %q name nothing about the image", i, a.Warnings)
		}
	}
	if sanitized() {
		t.Log("not compared: AddressSanitizer's shadow and quarantine are anonymous memory too")
	} else if growth > 24<<20 {
		t.Errorf("the hostile manifest grew the server's anonymous memory by %.1f MiB, want under 24 MiB", float64(growth)/(1<<20))
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
