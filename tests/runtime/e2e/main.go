// Command e2e is goinject's proof at runtime (`make e2e-runtime`, README "Proof at runtime"):
// pods mutated by `goinject mutate` run in real containers (tests/runtime/podrun), and the probe
// agent shows which processes an LD_PRELOAD agent would have been loaded into.
//
//	e2e -goinject build/goinject -podrun PODRUN -bin DIR -image IMAGE -base BASE_IMAGE -work DIR
//
// It builds the test images (tests/runtime/images; skipped when an image with the same content
// hash exists, GOINJECT_E2E_REBUILD=1 rebuilds them without Docker's cache), reads each image's
// facts from the image itself, and for each image and mode mutates a pod, runs it and checks
// it. Every check prints one line; the last line is "e2e-runtime: N passed, M failed". The
// evidence table goes to WORK/evidence.md.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

type suite struct {
	goinject   string // the goinject binary
	podrun     string // the podrun binary
	bin        string // directory with goapp and goapp-cgo
	probeDir   string // build/probe: glibc/ and musl/ builds of the probe
	repo       string // the repository root
	image      string // the goinject image `make image` built
	base       string // the Debian base image
	work       string
	version    string
	pinned     string // the goinject image, pinned by ID under a private tag
	passed     int
	failed     int
	evidence   []evidenceRow
	facts      map[string]*imageFacts // image name -> facts read from the image
	imageTags  map[string]string      // image name -> tag
	brokenImgs map[string]string      // image name -> why its cases cannot run
	out        io.Writer              // where checks are printed
	node       *nodeEnv               // -node: the runtime proof on a real node
}

// check counts and prints one check.
func (s *suite) check(group, name string, ok bool, format string, args ...any) bool {
	if ok {
		s.passed++
		fmt.Fprintf(s.out, "ok   %s: %s\n", group, name)
	} else {
		s.failed++
		fmt.Fprintf(s.out, "FAIL %s: %s: %s\n", group, name, fmt.Sprintf(format, args...))
	}
	return ok
}

// run executes a command without a shell and returns stdout, stderr and its error.
func run(ctx context.Context, name string, args ...string) (string, string, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	return stdout.String(), stderr.String(), err
}

func docker(ctx context.Context, args ...string) (string, error) {
	out, errOut, err := run(ctx, "docker", args...)
	if err != nil {
		return out, fmt.Errorf("docker %s: %v: %s", args[0], err, strings.TrimSpace(errOut))
	}
	return out, nil
}

func main() {
	s := &suite{out: os.Stdout}
	flag.StringVar(&s.goinject, "goinject", "build/goinject", "the goinject binary")
	flag.StringVar(&s.podrun, "podrun", "build/runtime/bin/podrun", "the podrun binary")
	flag.StringVar(&s.bin, "bin", "build/runtime/bin", "directory with goapp and goapp-cgo")
	flag.StringVar(&s.probeDir, "probe", "build/probe", "directory with the probe builds")
	flag.StringVar(&s.repo, "repo", ".", "the repository root")
	flag.StringVar(&s.image, "image", "", "the goinject image (make image)")
	flag.StringVar(&s.base, "base", "localhost/goinject-base/debian:bookworm", "the Debian base image")
	flag.StringVar(&s.work, "work", "build/runtime/work", "scratch directory (emptied first)")
	onNode := flag.Bool("node", false, "run the pods on a real node with kubectl (KUBECONFIG), mutated by goinject in the cluster")
	ne := &nodeEnv{ns: map[string]string{}}
	flag.StringVar(&ne.kubectl, "kubectl", "kubectl", "-node: the kubectl command")
	flag.StringVar(&ne.root, "kubelet-root", "", "-node: the kubelet's root directory")
	flag.StringVar(&ne.ctrAddress, "ctr-address", "", "-node: the node's containerd socket")
	flag.StringVar(&ne.ranFile, "ran-file", "", "-node: append the uid of every pod that ran here")
	for _, k := range []string{"classic", "glibc", "musl", "restricted", "plain"} {
		flag.StringVar(new(string), "ns-"+k, "", "")
	}
	flag.Parse()
	if *onNode {
		for _, k := range []string{"classic", "glibc", "musl", "restricted", "plain"} {
			ne.ns[k] = flag.Lookup("ns-" + k).Value.String()
			if ne.ns[k] == "" {
				fmt.Fprintf(os.Stderr, "e2e: -node needs -ns-%s\n", k)
				os.Exit(2)
			}
		}
		if ne.root == "" || ne.ctrAddress == "" {
			fmt.Fprintln(os.Stderr, "e2e: -node needs -kubelet-root and -ctr-address")
			os.Exit(2)
		}
		s.node = ne
	}
	if s.image == "" {
		fmt.Fprintln(os.Stderr, "e2e: -image is required")
		os.Exit(2)
	}
	start := time.Now()
	for _, p := range []*string{&s.goinject, &s.podrun, &s.bin, &s.probeDir, &s.repo, &s.work} {
		abs, err := filepath.Abs(*p)
		if err != nil {
			fmt.Fprintln(os.Stderr, "e2e:", err)
			os.Exit(2)
		}
		*p = abs
	}
	if v, err := os.ReadFile(filepath.Join(s.repo, "VERSION")); err == nil {
		s.version = strings.TrimSpace(string(v))
	}
	os.RemoveAll(s.work)
	if err := os.MkdirAll(s.work, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(2)
	}
	ctx := context.Background()

	if s.node != nil {
		// The goinject image is the one the cluster runs (imported into the node by tests/e2e).
		s.pinned = s.image
		s.buildImages(ctx)
		s.importImages(ctx)
		s.runNodeCases(ctx)
		s.writeEvidence()
		fmt.Printf("e2e-runtime (node): %s in %s\n", s.work, time.Since(start).Round(time.Second))
		fmt.Printf("e2e-runtime (node): %d passed, %d failed\n", s.passed, s.failed)
		if s.failed > 0 {
			os.Exit(1)
		}
		return
	}
	s.probeTests(ctx)
	if s.pinImage(ctx) {
		s.buildImages(ctx)
		s.runCases(ctx)
		// The pinned tag only lives for the run; the image keeps its public tag.
		docker(ctx, "rmi", s.pinned)
	}
	s.writeEvidence()
	fmt.Printf("e2e-runtime: %s in %s\n", s.work, time.Since(start).Round(time.Second))
	fmt.Printf("e2e-runtime: %d passed, %d failed\n", s.passed, s.failed)
	if s.failed > 0 {
		os.Exit(1)
	}
}

// pinImage tags the goinject image under a private name by its ID, so that a rebuild of the
// public tag by someone else on this machine cannot change the image in the middle of the run.
func (s *suite) pinImage(ctx context.Context) bool {
	id, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", s.image)
	if !s.check("setup", "goinject image "+s.image+" exists", err == nil, "%v (run make image)", err) {
		return false
	}
	full := strings.TrimSpace(id)
	short := strings.TrimPrefix(full, "sha256:")
	if len(short) > 12 {
		short = short[:12]
	}
	s.pinned = fmt.Sprintf("localhost/goinject-e2e/goinject:%s-%s", s.version, short)
	_, err = docker(ctx, "tag", full, s.pinned)
	return s.check("setup", "goinject image pinned as "+s.pinned, err == nil, "%v", err)
}
