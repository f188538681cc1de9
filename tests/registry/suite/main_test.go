package suite

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

var (
	goinjectBin string
	registryBin string
	imagesDir   string
	// certDir holds one serving certificate (goinject certgen) that every
	// goinject server of the suite uses.
	certDir string
)

// fixtures are the tarballs the suite reads besides the registry.
var fixtures = []string{"shell", "scratch", "busybox", "distroless", "path-symlink", "shell-c", "musl", "cgo-static"}

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := filepath.Abs("../../..")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	goinjectBin = pathFromEnv("GOINJECT_BIN", filepath.Join(root, "build/goinject"))
	registryBin = pathFromEnv("TESTREGISTRY_BIN", filepath.Join(root, "build/registry/testregistry"))
	imagesDir = pathFromEnv("INSPECT_IMAGES", filepath.Join(root, "build/inspect/images"))
	need := []string{goinjectBin, registryBin}
	for _, f := range fixtures {
		need = append(need, filepath.Join(imagesDir, f+".tar"))
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			fmt.Fprintf(os.Stderr, "registry suite: %v\n(run `make registry-test`, which builds goinject, the test registry and the images)\n", err)
			return 1
		}
	}

	certDir, err = os.MkdirTemp("", "goinject-regsuite-certs-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(certDir)
	out, err := exec.Command(goinjectBin, "certgen", "--out", certDir, "--host", "127.0.0.1", "--host", "localhost").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "goinject certgen: %v\n%s", err, out)
		return 1
	}

	code := m.Run()
	stopSharedRegistry()
	return code
}

func pathFromEnv(name, def string) string {
	p := os.Getenv(name)
	if p == "" {
		p = def
	}
	if abs, err := filepath.Abs(p); err == nil {
		p = abs
	}
	return p
}
