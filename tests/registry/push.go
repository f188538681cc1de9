package main

// push, index and seed: put `docker save` images into a registry with
// go-containerregistry's remote package, as Docker v2 or OCI manifests, with
// gzip or zstd layers, alone or in an index.

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/compression"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// remoteFlags are the flags every pushing subcommand shares.
type remoteFlags struct {
	addr     string
	ca       string
	user     string
	password string
	insecure bool
	timeout  time.Duration
}

func (rf *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&rf.addr, "addr", "", "registry HOST:PORT (required)")
	fs.StringVar(&rf.ca, "ca", "", "PEM file of the CA to trust (default: the system's)")
	fs.StringVar(&rf.user, "user", "", "user name (Basic, or for the token endpoint)")
	fs.StringVar(&rf.password, "password", "", "password")
	fs.BoolVar(&rf.insecure, "insecure", false, "plain HTTP (the \"plain\" listener)")
	fs.DurationVar(&rf.timeout, "timeout", 5*time.Minute, "bound on the whole operation")
}

// pusher holds what every push needs: the registry, the client options and
// the deadline.
type pusher struct {
	rf   remoteFlags
	ctx  context.Context
	opts []remote.Option
}

// newPusher checks the shared flags and prepares the client. The caller
// cancels the returned function.
func newPusher(rf remoteFlags) (*pusher, context.CancelFunc, error) {
	if rf.addr == "" {
		return nil, nil, errors.New("-addr is required")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if rf.ca != "" {
		pem, err := os.ReadFile(rf.ca)
		if err != nil {
			return nil, nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%s: no PEM certificate", rf.ca)
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	var auth authn.Authenticator = authn.Anonymous
	if rf.user != "" {
		auth = &authn.Basic{Username: rf.user, Password: rf.password}
	}
	ctx, cancel := context.WithTimeout(context.Background(), rf.timeout)
	return &pusher{
		rf:   rf,
		ctx:  ctx,
		opts: []remote.Option{remote.WithTransport(tr), remote.WithAuth(auth), remote.WithContext(ctx)},
	}, cancel, nil
}

// ref turns REF into a reference on -addr, unless REF names its own host.
func (p *pusher) ref(ref string) (name.Reference, error) {
	first, _, hasSlash := strings.Cut(ref, "/")
	if !hasSlash || !(strings.ContainsAny(first, ".:") || first == "localhost") {
		ref = p.rf.addr + "/" + ref
	}
	var opts []name.Option
	if p.rf.insecure {
		opts = append(opts, name.Insecure)
	}
	return name.ParseReference(ref, opts...)
}

// pushImage pushes img to ref and returns its manifest digest.
func (p *pusher) pushImage(img v1.Image, ref string) (v1.Hash, error) {
	r, err := p.ref(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.Write(r, img, p.opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", r, err)
	}
	return img.Digest()
}

// pushIndex pushes idx (and every manifest in it) to ref and returns its digest.
func (p *pusher) pushIndex(idx v1.ImageIndex, ref string) (v1.Hash, error) {
	r, err := p.ref(ref)
	if err != nil {
		return v1.Hash{}, err
	}
	if err := remote.WriteIndex(r, idx, p.opts...); err != nil {
		return v1.Hash{}, fmt.Errorf("pushing %s: %w", r, err)
	}
	return idx.Digest()
}

// loadImage reads the one image of a `docker save` tarball.
func loadImage(path string) (v1.Image, error) {
	img, err := tarball.ImageFromPath(path, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Encodings of a rebuilt image: manifest and config media types, layer
// compression and media type.
type encoding struct {
	manifest, config, layer types.MediaType
	compression             compression.Compression
}

var (
	encDockerGzip = encoding{types.DockerManifestSchema2, types.DockerConfigJSON, types.DockerLayer, compression.GZip}
	encOCIGzip    = encoding{types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayer, compression.GZip}
	encOCIZstd    = encoding{types.OCIManifestSchema1, types.OCIConfigJSON, types.OCILayerZStd, compression.ZStd}
)

// layerCache holds compressed layers by encoding and diff_id, so that a base
// layer shared by several images is compressed once per run.
var layerCache = map[string]v1.Layer{}

// rebuild returns src with the manifest and config media types of enc and
// its layers compressed as enc says. The uncompressed layers, hence the
// config's diff_ids, stay the same.
func rebuild(src v1.Image, enc encoding) (v1.Image, error) {
	cfg, err := src.ConfigFile()
	if err != nil {
		return nil, err
	}
	layers, err := src.Layers()
	if err != nil {
		return nil, err
	}
	var out []v1.Layer
	for _, l := range layers {
		diffID, err := l.DiffID()
		if err != nil {
			return nil, err
		}
		key := string(enc.layer) + " " + diffID.String()
		nl, ok := layerCache[key]
		if !ok {
			nl, err = tarball.LayerFromOpener(l.Uncompressed,
				tarball.WithCompression(enc.compression),
				tarball.WithMediaType(enc.layer),
				tarball.WithCompressedCaching)
			if err != nil {
				return nil, err
			}
			layerCache[key] = nl
		}
		out = append(out, nl)
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, enc.manifest), enc.config)
	img, err := mutate.AppendLayers(base, out...)
	if err != nil {
		return nil, err
	}
	// The original config, with its diff_ids and history, replaces the one
	// AppendLayers made.
	return mutate.ConfigFile(img, cfg.DeepCopy())
}

// loadAs reads a `docker save` tarball and rebuilds its image as enc.
func loadAs(path string, enc encoding) (v1.Image, error) {
	img, err := loadImage(path)
	if err != nil {
		return nil, err
	}
	return rebuild(img, enc)
}

// withPlatform rewrites the config's os, architecture and variant.
func withPlatform(img v1.Image, p *v1.Platform) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Variant, cfg.OSVersion = p.OS, p.Architecture, p.Variant, p.OSVersion
	return mutate.ConfigFile(img, cfg)
}

// withCommand sets the config's Entrypoint and Cmd.
func withCommand(img v1.Image, entrypoint, cmd []string) (v1.Image, error) {
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.Config.Entrypoint, cfg.Config.Cmd = entrypoint, cmd
	return mutate.ConfigFile(img, cfg)
}

// indexEntry is one PLATFORM=SRC argument of index.
type indexEntry struct {
	platform *v1.Platform
	src      string
}

func parseIndexEntry(arg string) (indexEntry, error) {
	plat, src, ok := strings.Cut(arg, "=")
	if !ok || plat == "" || src == "" {
		return indexEntry{}, fmt.Errorf("%q: want PLATFORM=SRC", arg)
	}
	p, err := v1.ParsePlatform(plat)
	if err != nil {
		return indexEntry{}, err
	}
	if p.OS == "" || p.Architecture == "" {
		return indexEntry{}, fmt.Errorf("%q: want os/arch[/variant]", plat)
	}
	return indexEntry{platform: p, src: src}, nil
}

// buildIndex makes an index of the entries: OCI (OCI manifests, gzip layers)
// or, with docker, a Docker manifest list of Docker v2 manifests. With
// attestation a BuildKit-style attestation manifest (platform unknown/unknown)
// for the first entry is added.
func buildIndex(entries []indexEntry, docker, attestation bool) (v1.ImageIndex, error) {
	idxType := types.OCIImageIndex
	if docker {
		idxType = types.DockerManifestList
	}
	var adds []mutate.IndexAddendum
	for _, e := range entries {
		enc := encOCIGzip
		if docker {
			enc = encDockerGzip
		}
		img, err := loadAs(e.src, enc)
		if err != nil {
			return nil, err
		}
		if img, err = withPlatform(img, e.platform); err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: e.platform}})
	}
	if attestation && len(adds) > 0 {
		subject, err := adds[0].Add.Digest()
		if err != nil {
			return nil, err
		}
		att, err := attestationManifest(subject, entries[0].platform)
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.IndexAddendum{Add: att, Descriptor: v1.Descriptor{
			Platform: &v1.Platform{OS: "unknown", Architecture: "unknown"},
			Annotations: map[string]string{
				"vnd.docker.reference.type":   "attestation-manifest",
				"vnd.docker.reference.digest": subject.String(),
			},
		}})
	}
	return mutate.AppendManifests(mutate.IndexMediaType(empty.Index, idxType), adds...), nil
}

// attestationManifest is an image manifest in the shape BuildKit gives its
// provenance attestations: an unknown/unknown config and one in-toto layer
// whose statement names the subject manifest.
func attestationManifest(subject v1.Hash, p *v1.Platform) (v1.Image, error) {
	const predicateType = "https://slsa.dev/provenance/v0.2"
	stmt, err := json.Marshal(map[string]any{
		"_type":         "https://in-toto.io/Statement/v0.1",
		"predicateType": predicateType,
		"subject": []map[string]any{{
			"name":   "pkg:docker/goinject/testregistry?platform=" + strings.ReplaceAll(p.String(), "/", "%2F"),
			"digest": map[string]string{subject.Algorithm: subject.Hex},
		}},
		"predicate": map[string]any{"buildType": "https://mobyproject.org/buildkit@v1"},
	})
	if err != nil {
		return nil, err
	}
	base := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	base, err = mutate.ConfigFile(base, &v1.ConfigFile{
		OS:           "unknown",
		Architecture: "unknown",
		RootFS:       v1.RootFS{Type: "layers"},
	})
	if err != nil {
		return nil, err
	}
	return mutate.Append(base, mutate.Addendum{
		Layer:       static.NewLayer(stmt, "application/vnd.in-toto+json"),
		Annotations: map[string]string{"in-toto.io/predicate-type": predicateType},
	})
}

// parseInterspersed parses flags that may come before, between or after the
// positional arguments, and returns the positional ones.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

func pushMain(args []string) error {
	fs := flag.NewFlagSet("push", flag.ContinueOnError)
	var rf remoteFlags
	rf.register(fs)
	zstd := fs.Bool("zstd", false, "recompress every layer with zstd (OCI manifest, "+string(types.OCILayerZStd)+")")
	variants := fs.Int("variants", 0, "push N copies tagged TAG1..TAGN that differ only in a config label: each has its own digest, the layers are shared")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 2 || *variants < 0 {
		return errors.New("usage: push -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-zstd] [-variants N] SRC REF")
	}
	p, cancel, err := newPusher(rf)
	if err != nil {
		return err
	}
	defer cancel()
	enc := encDockerGzip
	if *zstd {
		enc = encOCIZstd
	}
	img, err := loadAs(pos[0], enc)
	if err != nil {
		return err
	}
	if *variants > 0 {
		return pushVariants(p, img, pos[1], *variants)
	}
	d, err := p.pushImage(img, pos[1])
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", pos[1], d)
	return nil
}

// pushVariants pushes n images made from img, tagged ref's tag + "1" .. "n"
// (ref without a tag: "v1" .. "vn"). Each carries the config label
// goinject.test/variant=i, so each has its own config and manifest digest: a
// client that caches by digest sees n images it has never read, whose layers
// are the same blobs (pushed once).
func pushVariants(p *pusher, img v1.Image, ref string, n int) error {
	repo, tag := ref, "v"
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		repo, tag = ref[:i], ref[i+1:]
	}
	for i := 1; i <= n; i++ {
		cfg, err := img.ConfigFile()
		if err != nil {
			return err
		}
		cfg = cfg.DeepCopy()
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		cfg.Config.Labels["goinject.test/variant"] = fmt.Sprint(i)
		vimg, err := mutate.ConfigFile(img, cfg)
		if err != nil {
			return err
		}
		vref := fmt.Sprintf("%s:%s%d", repo, tag, i)
		d, err := p.pushImage(vimg, vref)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", vref, d)
	}
	return nil
}

func indexMain(args []string) error {
	fs := flag.NewFlagSet("index", flag.ContinueOnError)
	var rf remoteFlags
	rf.register(fs)
	docker := fs.Bool("docker", false, "a Docker manifest list of Docker v2 manifests (default: OCI index, OCI manifests)")
	attestation := fs.Bool("attestation", false, "add a BuildKit-style attestation manifest (unknown/unknown) for the first entry")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return errors.New("usage: index -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] [-docker] [-attestation] REF PLATFORM=SRC...")
	}
	var entries []indexEntry
	for _, a := range pos[1:] {
		e, err := parseIndexEntry(a)
		if err != nil {
			return err
		}
		entries = append(entries, e)
	}
	p, cancel, err := newPusher(rf)
	if err != nil {
		return err
	}
	defer cancel()
	idx, err := buildIndex(entries, *docker, *attestation)
	if err != nil {
		return err
	}
	d, err := p.pushIndex(idx, pos[0])
	if err != nil {
		return err
	}
	fmt.Printf("%s %s\n", pos[0], d)
	return nil
}

// seedImages are the docker-save tarballs of tests/inspect/build-images.sh
// that seed pushes as goinject/<name>:test.
var seedImages = []string{"shell", "scratch", "busybox", "distroless", "path-symlink", "shell-c", "musl", "cgo-static"}

func seedMain(args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	var rf remoteFlags
	rf.register(fs)
	images := fs.String("images", "", "directory of the docker-save tarballs (build/inspect/images; required)")
	outFile := fs.String("out", "", "where the ref -> digest JSON goes (default: IMAGES/../registry-seed.json)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *images == "" || fs.NArg() != 0 {
		return errors.New("usage: seed -addr HOST:PORT [-ca FILE] [-user U -password P] [-insecure] -images DIR [-out FILE]")
	}
	if *outFile == "" {
		*outFile = filepath.Join(filepath.Dir(filepath.Clean(*images)), "registry-seed.json")
	}
	p, cancel, err := newPusher(rf)
	if err != nil {
		return err
	}
	defer cancel()
	tarPath := func(n string) string { return filepath.Join(*images, n+".tar") }

	digests := map[string]string{}
	done := func(ref string, d v1.Hash, err error) error {
		if err != nil {
			return err
		}
		digests[ref] = d.String()
		fmt.Printf("%s/%s %s\n", rf.addr, ref, d)
		return nil
	}

	for _, n := range seedImages {
		img, err := loadAs(tarPath(n), encDockerGzip)
		if err != nil {
			return err
		}
		ref := "goinject/" + n + ":test"
		d, err := p.pushImage(img, ref)
		if err := done(ref, d, err); err != nil {
			return err
		}
	}

	// distroless with zstd layers.
	img, err := loadAs(tarPath("distroless"), encOCIZstd)
	if err != nil {
		return err
	}
	d, err := p.pushImage(img, "goinject/zstd:test")
	if err := done("goinject/zstd:test", d, err); err != nil {
		return err
	}

	// An OCI index whose platforms differ (amd64: shell, arm64: distroless),
	// with an attestation entry.
	idx, err := buildIndex([]indexEntry{
		{platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, src: tarPath("shell")},
		{platform: &v1.Platform{OS: "linux", Architecture: "arm64"}, src: tarPath("distroless")},
	}, false, true)
	if err != nil {
		return err
	}
	d, err = p.pushIndex(idx, "goinject/multiarch:test")
	if err := done("goinject/multiarch:test", d, err); err != nil {
		return err
	}

	// A Docker manifest list whose platforms hold the same image (scratch).
	idx, err = buildIndex([]indexEntry{
		{platform: &v1.Platform{OS: "linux", Architecture: "amd64"}, src: tarPath("scratch")},
		{platform: &v1.Platform{OS: "linux", Architecture: "arm64"}, src: tarPath("scratch")},
	}, true, false)
	if err != nil {
		return err
	}
	d, err = p.pushIndex(idx, "goinject/samearch:test")
	if err := done("goinject/samearch:test", d, err); err != nil {
		return err
	}

	// shell's image started by a dynamically linked program: /bin/sleep 3600.
	if img, err = loadAs(tarPath("shell"), encDockerGzip); err != nil {
		return err
	}
	if img, err = withCommand(img, []string{"/bin/sleep"}, []string{"3600"}); err != nil {
		return err
	}
	d, err = p.pushImage(img, "goinject/dynamic:test")
	if err := done("goinject/dynamic:test", d, err); err != nil {
		return err
	}

	data, err := json.MarshalIndent(digests, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(*outFile, append(data, '\n'))
}
