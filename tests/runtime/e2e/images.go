package main

// The test images: built from tests/runtime/images/<name>/Dockerfile with the static Go
// program, cached by a content hash label, and their facts read back from the image itself.

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"strings"
	"time"
)

const hashLabel = "io.goinject.e2e.content-hash"

type imageSpec struct {
	name   string
	binary string // goapp or goapp-cgo
	want   imageFacts
}

// imageFacts are what goinject's annotations state about an image, plus what the checks need.
type imageFacts struct {
	StaticGo    bool     `json:"staticGo"`
	Cgo         bool     `json:"cgo"`
	Shell       string   `json:"shell"`       // "/bin/sh" or "none"
	ShellExe    string   `json:"shellExe"`    // where /bin/sh leads, e.g. /usr/bin/dash
	ShellInterp string   `json:"shellInterp"` // the shell's ELF interpreter
	Libc        string   `json:"libc"`        // glibc, musl or none
	HasGlibc    bool     `json:"hasGlibc"`
	HasMusl     bool     `json:"hasMusl"`
	Entrypoint  []string `json:"entrypoint"`
	Cmd         []string `json:"cmd"`
}

var imageCmd = []string{"image-cmd", "$(POD_NAME)", "$$HOME", "two words", ""}

var imageSpecs = []imageSpec{
	{"debian", "goapp", imageFacts{StaticGo: true, Shell: "/bin/sh", ShellExe: "/usr/bin/dash",
		ShellInterp: "/lib64/ld-linux-x86-64.so.2", Libc: "glibc", HasGlibc: true,
		Entrypoint: []string{"/app"}, Cmd: imageCmd}},
	{"distroless", "goapp", imageFacts{StaticGo: true, Shell: "none", Libc: "glibc", HasGlibc: true,
		Entrypoint: []string{"/app"}, Cmd: imageCmd}},
	{"scratch", "goapp", imageFacts{StaticGo: true, Shell: "none", Libc: "none",
		Entrypoint: []string{"/app"}, Cmd: imageCmd}},
	{"musl", "goapp", imageFacts{StaticGo: true, Shell: "/bin/sh", ShellExe: "/bin/dash",
		ShellInterp: "/lib/ld-musl-x86_64.so.1", Libc: "musl", HasMusl: true,
		Entrypoint: []string{"/app"}, Cmd: imageCmd}},
	{"cgo", "goapp-cgo", imageFacts{StaticGo: true, Cgo: true, Shell: "/bin/sh",
		ShellExe: "/usr/bin/dash", ShellInterp: "/lib64/ld-linux-x86-64.so.2", Libc: "glibc",
		HasGlibc: true, Entrypoint: []string{"/app"}, Cmd: imageCmd}},
}

func (s *suite) buildImages(ctx context.Context) {
	s.facts = map[string]*imageFacts{}
	s.imageTags = map[string]string{}
	s.brokenImgs = map[string]string{}
	baseID, err := docker(ctx, "image", "inspect", "--format", "{{.Id}}", s.base)
	if !s.check("images", "base image "+s.base+" exists", err == nil, "%v", err) {
		for _, spec := range imageSpecs {
			s.brokenImgs[spec.name] = "no base image"
		}
		return
	}
	for _, spec := range imageSpecs {
		tag := "localhost/goinject-e2e/" + spec.name + ":test"
		s.imageTags[spec.name] = tag
		group := "image " + spec.name
		took, cached, err := s.buildImage(ctx, spec, tag, strings.TrimSpace(baseID))
		how := fmt.Sprintf("built in %s", took.Round(100*time.Millisecond))
		if cached {
			how = "cached (same content hash)"
		}
		if !s.check(group, "docker build: "+how, err == nil, "%v", err) {
			s.brokenImgs[spec.name] = "build failed"
			continue
		}
		facts, err := readFacts(ctx, tag)
		if !s.check(group, "facts read from the image", err == nil, "%v", err) {
			s.brokenImgs[spec.name] = "facts unreadable"
			continue
		}
		ok := s.check(group, fmt.Sprintf("facts are as intended (static-go %t, cgo %t, shell %s, libc %s)",
			facts.StaticGo, facts.Cgo, facts.Shell, facts.Libc),
			reflect.DeepEqual(*facts, spec.want), "got %s, want %s", jsonString(facts), jsonString(spec.want))
		if spec.name == "musl" {
			ok = s.check(group, "no glibc in the image, musl loader present", facts.HasMusl && !facts.HasGlibc,
				"musl %t glibc %t", facts.HasMusl, facts.HasGlibc) && ok
			ok = s.check(group, "/bin/sh is dynamically linked against musl (interpreter /lib/ld-musl-x86_64.so.1)",
				facts.ShellInterp == "/lib/ld-musl-x86_64.so.1", "interpreter %q", facts.ShellInterp) && ok
		}
		if spec.name == "distroless" {
			ok = s.check(group, "no /bin/sh in the image, glibc present", facts.Shell == "none" && facts.HasGlibc,
				"shell %s glibc %t", facts.Shell, facts.HasGlibc) && ok
		}
		if !ok {
			s.brokenImgs[spec.name] = "facts differ"
		}
		s.facts[spec.name] = facts
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// buildImage builds one image unless an image of the same tag carries the same content hash:
// of the Dockerfile, the program and the base image's ID.
func (s *suite) buildImage(ctx context.Context, spec imageSpec, tag, baseID string) (time.Duration, bool, error) {
	start := time.Now()
	dockerfile, err := os.ReadFile(filepath.Join(s.repo, "tests/runtime/images", spec.name, "Dockerfile"))
	if err != nil {
		return 0, false, err
	}
	program, err := os.ReadFile(filepath.Join(s.bin, spec.binary))
	if err != nil {
		return 0, false, err
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte("Dockerfile"), dockerfile, []byte("goapp"), program, []byte("base"), []byte(baseID)} {
		fmt.Fprintf(h, "%d:", len(part))
		h.Write(part)
	}
	hash := hex.EncodeToString(h.Sum(nil))
	rebuild := os.Getenv("GOINJECT_E2E_REBUILD") == "1"
	if got, err := docker(ctx, "image", "inspect", "--format", "{{index .Config.Labels \""+hashLabel+"\"}}", tag); err == nil && strings.TrimSpace(got) == hash && !rebuild {
		return time.Since(start), true, nil
	}
	dir := filepath.Join(s.work, "images", spec.name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), dockerfile, 0o644); err != nil {
		return 0, false, err
	}
	if err := os.WriteFile(filepath.Join(dir, "goapp"), program, 0o755); err != nil {
		return 0, false, err
	}
	log, err := os.Create(filepath.Join(s.work, "images", spec.name+".build.log"))
	if err != nil {
		return 0, false, err
	}
	defer log.Close()
	args := []string{"build", "--label", hashLabel + "=" + hash, "-t", tag}
	if rebuild {
		args = append(args, "--no-cache")
	}
	if spec.name != "scratch" {
		args = append(args, "--build-arg", "BASE_IMAGE="+s.base)
	}
	cmd := exec.CommandContext(ctx, "docker", append(args, dir)...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return 0, false, fmt.Errorf("%v (log: %s)", err, log.Name())
	}
	return time.Since(start), false, nil
}

// tree is an image's file system as `docker export` lists it.
type tree map[string]*tar.Header

// resolve follows symbolic links, component by component, to the path a lookup would reach.
func (t tree) resolve(p string) (string, bool) {
	parts := strings.Split(strings.Trim(path.Clean("/"+p), "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0; {
		next := path.Join(cur, parts[0])
		parts = parts[1:]
		h, ok := t[strings.TrimPrefix(next, "/")]
		if !ok {
			return "", false
		}
		if h.Typeflag == tar.TypeSymlink {
			if hops++; hops > 40 {
				return "", false
			}
			target := h.Linkname
			if !path.IsAbs(target) {
				target = path.Join(cur, target)
			}
			rest := strings.Split(strings.Trim(path.Clean(target), "/"), "/")
			if path.Clean(target) == "/" {
				rest = nil
			}
			parts = append(rest, parts...)
			cur = "/"
			continue
		}
		cur = next
	}
	return cur, true
}

// readFacts reads an image's facts from its configuration and its files.
func readFacts(ctx context.Context, tag string) (*imageFacts, error) {
	cfgJSON, err := docker(ctx, "image", "inspect", "--format", "{{json .Config}}", tag)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		Entrypoint []string
		Cmd        []string
	}
	if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
		return nil, err
	}
	id, err := docker(ctx, "create", "--pull", "never", tag)
	if err != nil {
		return nil, err
	}
	id = strings.TrimSpace(id)
	defer docker(context.Background(), "rm", "--force", id)

	cmd := exec.CommandContext(ctx, "docker", "export", id)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := tree{}
	tr := tar.NewReader(stdout)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			cmd.Wait()
			return nil, err
		}
		t[strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")] = h
	}
	if err := cmd.Wait(); err != nil {
		return nil, err
	}

	f := &imageFacts{Entrypoint: cfg.Entrypoint, Cmd: cfg.Cmd, Shell: "none", Libc: "none"}
	for name, h := range t {
		base := path.Base(name)
		if h.Typeflag == tar.TypeReg && (base == "libc.so.6" || strings.HasPrefix(base, "ld-linux")) {
			f.HasGlibc = true
		}
		if strings.HasPrefix(base, "ld-musl-") {
			f.HasMusl = true
		}
	}
	if _, ok := t.resolve("/lib64/ld-linux-x86-64.so.2"); ok {
		f.Libc = "glibc"
	} else if _, ok := t.resolve("/lib/ld-musl-x86_64.so.1"); ok {
		f.Libc = "musl"
	}

	if len(cfg.Entrypoint) > 0 {
		exe, ok := t.resolve(cfg.Entrypoint[0])
		if !ok {
			return nil, fmt.Errorf("the ENTRYPOINT %s is not in the image", cfg.Entrypoint[0])
		}
		data, err := copyOut(ctx, id, exe)
		if err != nil {
			return nil, err
		}
		interp, dynamic, err := elfLinking(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", exe, err)
		}
		if info, err := buildinfo.Read(bytes.NewReader(data)); err == nil && interp == "" && !dynamic {
			f.StaticGo = true
			for _, setting := range info.Settings {
				if setting.Key == "CGO_ENABLED" && setting.Value == "1" {
					f.Cgo = true
				}
			}
		}
	}
	if sh, ok := t.resolve("/bin/sh"); ok {
		data, err := copyOut(ctx, id, sh)
		if err != nil {
			return nil, err
		}
		if interp, _, err := elfLinking(data); err == nil && interp != "" {
			f.Shell, f.ShellExe, f.ShellInterp = "/bin/sh", sh, interp
		}
	}
	return f, nil
}

// copyOut reads one regular file out of a container.
func copyOut(ctx context.Context, id, file string) ([]byte, error) {
	out, err := docker(ctx, "cp", id+":"+file, "-")
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(strings.NewReader(out))
	if _, err := tr.Next(); err != nil {
		return nil, fmt.Errorf("docker cp %s: %v", file, err)
	}
	return io.ReadAll(tr)
}

// elfLinking returns an executable's ELF interpreter ("" when none) and whether it has a
// dynamic section.
func elfLinking(data []byte) (string, bool, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return "", false, err
	}
	defer f.Close()
	interp, dynamic := "", false
	for _, p := range f.Progs {
		switch p.Type {
		case elf.PT_INTERP:
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return "", false, err
			}
			interp = strings.TrimRight(string(b), "\x00")
		case elf.PT_DYNAMIC:
			dynamic = true
		}
	}
	return interp, dynamic, nil
}
