// Command podrun runs a Pod, as `goinject mutate` prints it, in Docker the way a kubelet would:
// one host directory per emptyDir, the init containers one after the other (each must exit 0),
// then the app containers, each translated to `docker create` options (see translate.go).
//
//	podrun -out DIR [-stop-on-log TEXT] [-stop-after DURATION] [-timeout DURATION] [-keep] POD.json
//
// DIR receives volumes/<name>/ for every emptyDir and result.json: per container the docker
// arguments, the expected argv, the exit code, stdout, stderr and the full `docker inspect` taken
// after the container ended. The pod is stopped like a kubelet deletes it (`docker stop` with
// the pod's terminationGracePeriodSeconds: SIGTERM, SIGKILL when the grace period is over) once
// every app container printed TEXT, or after DURATION; otherwise podrun waits for the app
// containers to exit. Images are never pulled.
//
// Exit status: 0 the pod ran (its containers' exit codes are in result.json), 1 it could not run
// (a docker error, an init container that failed, the timeout), 2 bad usage or a pod podrun
// cannot run faithfully.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type containerResult struct {
	Name       string          `json:"name"`
	Kind       string          `json:"kind"` // init, sidecar or app
	DockerName string          `json:"dockerName"`
	Spec       *runSpec        `json:"spec"`
	Argv       []string        `json:"argv"` // what it should execute: the translated argv over the image's
	StopSent   bool            `json:"stopSent"`
	ExitCode   *int            `json:"exitCode"`
	Stdout     string          `json:"stdout"`
	Stderr     string          `json:"stderr"`
	Inspect    json.RawMessage `json:"inspect"`
	Error      string          `json:"error,omitempty"`
	id         string
}

type result struct {
	Pod            string             `json:"pod"`
	Namespace      string             `json:"namespace"`
	RunID          string             `json:"runId"`
	Volumes        map[string]string  `json:"volumes"`
	Ignored        []string           `json:"ignored"`
	InitContainers []*containerResult `json:"initContainers"`
	Containers     []*containerResult `json:"containers"`
	Error          string             `json:"error,omitempty"`
}

type runner struct {
	dockerBin string
	out       string
	stopOnLog string
	stopAfter time.Duration
	timeout   time.Duration
	keep      bool

	pod    *Pod
	res    *result
	grace  int64
	images map[string]imageConfig
	mu     sync.Mutex
}

type usageError struct{ error }

func main() {
	r := &runner{}
	flag.StringVar(&r.out, "out", "", "directory for the volumes and result.json (required)")
	flag.StringVar(&r.stopOnLog, "stop-on-log", "", "stop the pod once every app container's stdout contains this text")
	flag.DurationVar(&r.stopAfter, "stop-after", 0, "stop the pod after this long")
	flag.DurationVar(&r.timeout, "timeout", 2*time.Minute, "kill the pod when it has not ended by then")
	flag.BoolVar(&r.keep, "keep", false, "keep the containers")
	flag.StringVar(&r.dockerBin, "docker", "docker", "the docker command")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: podrun -out DIR [-stop-on-log TEXT] [-stop-after DURATION] [-timeout DURATION] [-keep] POD.json")
		flag.PrintDefaults()
	}
	flag.Parse()
	if r.out == "" || flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := r.run(ctx, flag.Arg(0))
	if r.res != nil {
		if err != nil {
			r.res.Error = err.Error()
		}
		if werr := r.writeResult(); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "podrun:", err)
		var ue usageError
		if errors.As(err, &ue) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// docker runs the docker command with args (no shell) and returns its stdout.
func (r *runner) docker(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, r.dockerBin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

func (r *runner) writeResult() error {
	data, err := json.MarshalIndent(r.res, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(r.out, "result.json"), append(data, '\n'), 0o644)
}

// mkdirShared makes a directory every user in the pod can write, as the kubelet makes an emptyDir.
func mkdirShared(dir string) error {
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return err
	}
	return os.Chmod(dir, 0o777)
}

func (r *runner) prepareVolumes() error {
	seen := map[string]bool{}
	for _, v := range r.pod.Spec.Volumes {
		if v.Name == "" || seen[v.Name] || strings.ContainsAny(v.Name, "/\\") || v.Name == "." || v.Name == ".." {
			return usageError{fmt.Errorf("volume name %q is empty, repeated or not a plain name", v.Name)}
		}
		seen[v.Name] = true
		switch {
		case v.EmptyDir != nil && v.HostPath == nil:
			// medium Memory would be a tmpfs the kubelet shares between the containers; a host
			// directory behaves the same for everything but memory accounting.
			dir := filepath.Join(r.out, "volumes", v.Name)
			if err := mkdirShared(dir); err != nil {
				return err
			}
			if psc := r.pod.Spec.SecurityContext; psc != nil && psc.FSGroup != nil {
				// The kubelet gives the volume to fsGroup, setgid, group-writable.
				if err := os.Chown(dir, -1, int(*psc.FSGroup)); err != nil {
					return err
				}
				if err := os.Chmod(dir, 0o777|os.ModeSetgid); err != nil {
					return err
				}
			}
			r.res.Volumes[v.Name] = dir
		case v.HostPath != nil && v.EmptyDir == nil:
			p := v.HostPath.Path
			if !filepath.IsAbs(p) {
				return usageError{fmt.Errorf("volume %s: hostPath %q is not absolute", v.Name, p)}
			}
			switch v.HostPath.Type {
			case "DirectoryOrCreate":
				if err := os.MkdirAll(p, 0o755); err != nil {
					return err
				}
			case "Directory":
				if st, err := os.Stat(p); err != nil || !st.IsDir() {
					return fmt.Errorf("volume %s: hostPath %s is not a directory", v.Name, p)
				}
			case "":
			default:
				return usageError{fmt.Errorf("volume %s: hostPath type %s is not supported", v.Name, v.HostPath.Type)}
			}
			r.res.Volumes[v.Name] = p
		default:
			return usageError{fmt.Errorf("volume %s: only emptyDir and hostPath volumes are supported", v.Name)}
		}
	}
	return nil
}

func (r *runner) inspectImage(ctx context.Context, image string) (imageConfig, error) {
	if cfg, ok := r.images[image]; ok {
		return cfg, nil
	}
	out, err := r.docker(ctx, "image", "inspect", "--format", "{{json .Config}}", image)
	if err != nil {
		return imageConfig{}, fmt.Errorf("image %s is not on this machine (podrun never pulls): %v", image, err)
	}
	var cfg imageConfig
	if err := json.Unmarshal([]byte(out), &cfg); err != nil {
		return imageConfig{}, fmt.Errorf("image %s: %v", image, err)
	}
	r.images[image] = cfg
	return cfg, nil
}

// create translates a container and creates it; the result is recorded even when it fails.
func (r *runner) create(ctx context.Context, c *Container, kind string) (*containerResult, error) {
	cr := &containerResult{Name: c.Name, Kind: kind}
	r.mu.Lock()
	if kind == "app" {
		r.res.Containers = append(r.res.Containers, cr)
	} else {
		r.res.InitContainers = append(r.res.InitContainers, cr)
	}
	r.mu.Unlock()
	switch c.ImagePullPolicy {
	case "", "IfNotPresent", "Never", "Always":
	default:
		return cr, usageError{fmt.Errorf("container %s: imagePullPolicy %q", c.Name, c.ImagePullPolicy)}
	}
	image, err := r.inspectImage(ctx, c.Image)
	if err != nil {
		return cr, err
	}
	cr.DockerName = fmt.Sprintf("podrun-%s-%s-%s", r.res.Pod, c.Name, r.res.RunID)
	spec, err := translate(translateInput{
		pod: r.pod, c: c, dockerName: cr.DockerName, hostname: r.hostname(),
		labels: []string{
			"io.goinject.podrun.run=" + r.res.RunID,
			"io.goinject.podrun.pod=" + r.res.Pod,
			"io.goinject.podrun.container=" + c.Name,
		},
		volumes: r.res.Volumes, image: image,
	})
	if err != nil {
		return cr, usageError{err}
	}
	cr.Spec = spec
	cr.Argv = executedArgv(spec, image)
	out, err := r.docker(ctx, spec.Args...)
	if err != nil {
		return cr, err
	}
	cr.id = strings.TrimSpace(out)
	return cr, nil
}

func (r *runner) hostname() string {
	if r.pod.Spec.Hostname != "" {
		return r.pod.Spec.Hostname
	}
	return r.res.Pod
}

// wait blocks until the container has exited and returns its exit code.
func (r *runner) wait(ctx context.Context, cr *containerResult) (int, error) {
	out, err := r.docker(ctx, "wait", cr.id)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// collect records the exit code, the logs and the inspection of an ended container.
func (r *runner) collect(ctx context.Context, cr *containerResult) {
	if cr.id == "" {
		return
	}
	if out, err := r.docker(ctx, "inspect", "--type", "container", cr.id); err == nil {
		var list []json.RawMessage
		if json.Unmarshal([]byte(out), &list) == nil && len(list) == 1 {
			cr.Inspect = list[0]
			var st struct {
				State struct {
					Running  bool
					ExitCode int
				}
			}
			if json.Unmarshal(list[0], &st) == nil && !st.State.Running {
				code := st.State.ExitCode
				cr.ExitCode = &code
			}
		}
	} else if cr.Error == "" {
		cr.Error = err.Error()
	}
	cmd := exec.CommandContext(ctx, r.dockerBin, "logs", cr.id)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil && cr.Error == "" {
		cr.Error = "docker logs: " + err.Error()
	}
	cr.Stdout, cr.Stderr = stdout.String(), stderr.String()
}

func (r *runner) stop(ctx context.Context, crs []*containerResult) {
	var wg sync.WaitGroup
	for _, cr := range crs {
		if cr.id == "" {
			continue
		}
		cr.StopSent = true
		wg.Add(1)
		go func(cr *containerResult) {
			defer wg.Done()
			if _, err := r.docker(ctx, "stop", "--time", strconv.FormatInt(r.grace, 10), cr.id); err != nil && cr.Error == "" {
				cr.Error = err.Error()
			}
		}(cr)
	}
	wg.Wait()
}

func (r *runner) cleanup() {
	if r.keep || r.res == nil {
		return
	}
	var ids []string
	for _, cr := range append(append([]*containerResult{}, r.res.InitContainers...), r.res.Containers...) {
		if cr.id != "" {
			ids = append(ids, cr.id)
		}
	}
	if len(ids) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		r.docker(ctx, append([]string{"rm", "--force"}, ids...)...)
	}
}

func (r *runner) run(parent context.Context, podFile string) error {
	data, err := os.ReadFile(podFile)
	if err != nil {
		return usageError{err}
	}
	var doc struct {
		Kind string `json:"kind"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return usageError{fmt.Errorf("%s: %v", podFile, err)}
	}
	if doc.Kind != "Pod" {
		return usageError{fmt.Errorf("%s: kind is %q, not Pod", podFile, doc.Kind)}
	}
	ignoredFields, err := checkPod(data)
	if err != nil {
		return usageError{err}
	}
	r.pod = &Pod{}
	if err := json.Unmarshal(data, r.pod); err != nil {
		return usageError{err}
	}
	if len(r.pod.Spec.Containers) == 0 {
		return usageError{errors.New("the pod has no containers")}
	}
	name := r.pod.Metadata.Name
	if name == "" {
		name = r.pod.Metadata.GenerateName + randomHex(3)[:5]
	}
	r.pod.Metadata.Name = name
	if r.pod.Metadata.Namespace == "" {
		r.pod.Metadata.Namespace = "default"
	}
	r.grace = 30
	if g := r.pod.Spec.TerminationGracePeriodSeconds; g != nil {
		r.grace = *g
	}
	names := map[string]bool{}
	for _, c := range append(append([]Container{}, r.pod.Spec.InitContainers...), r.pod.Spec.Containers...) {
		if c.Name == "" || names[c.Name] {
			return usageError{fmt.Errorf("container name %q is empty or repeated", c.Name)}
		}
		names[c.Name] = true
	}
	if err := os.MkdirAll(r.out, 0o755); err != nil {
		return err
	}
	r.images = map[string]imageConfig{}
	r.res = &result{
		Pod: name, Namespace: r.pod.Metadata.Namespace, RunID: randomHex(4),
		Volumes: map[string]string{}, Ignored: ignoredFields,
		InitContainers: []*containerResult{}, Containers: []*containerResult{},
	}
	defer r.cleanup()
	if err := r.prepareVolumes(); err != nil {
		return err
	}

	ctx, cancel := context.WithTimeout(parent, r.timeout)
	defer cancel()
	// Teardown gets its own time: a pod that ran out of time is still collected and removed.
	collectCtx := context.Background()

	// Init containers, in order; a native sidecar (restartPolicy Always) keeps running.
	var sidecars []*containerResult
	for i := range r.pod.Spec.InitContainers {
		c := &r.pod.Spec.InitContainers[i]
		kind := "init"
		if c.RestartPolicy == "Always" {
			kind = "sidecar"
		} else if c.RestartPolicy != "" {
			return usageError{fmt.Errorf("init container %s: restartPolicy %s", c.Name, c.RestartPolicy)}
		}
		cr, err := r.create(ctx, c, kind)
		if err != nil {
			r.collect(collectCtx, cr)
			return err
		}
		if _, err := r.docker(ctx, "start", cr.id); err != nil {
			r.collect(collectCtx, cr)
			return err
		}
		if kind == "sidecar" {
			sidecars = append(sidecars, cr)
			continue
		}
		code, err := r.wait(ctx, cr)
		r.collect(collectCtx, cr)
		if err != nil {
			r.stop(collectCtx, sidecars)
			return fmt.Errorf("init container %s: %v", c.Name, err)
		}
		if code != 0 {
			r.stop(collectCtx, sidecars)
			for _, s := range sidecars {
				r.collect(collectCtx, s)
			}
			return fmt.Errorf("init container %s exited %d; the app containers were not started", c.Name, code)
		}
	}

	// App containers: all created, then started in order, then stopped or waited for.
	var apps []*containerResult
	for i := range r.pod.Spec.Containers {
		c := &r.pod.Spec.Containers[i]
		if c.RestartPolicy != "" {
			return usageError{fmt.Errorf("container %s: restartPolicy belongs to init containers", c.Name)}
		}
		cr, err := r.create(ctx, c, "app")
		if err != nil {
			return err
		}
		apps = append(apps, cr)
	}
	for _, cr := range apps {
		if _, err := r.docker(ctx, "start", cr.id); err != nil {
			r.stop(collectCtx, apps)
			for _, a := range apps {
				r.collect(collectCtx, a)
			}
			return err
		}
	}

	exited := make(chan struct{})
	var waitErr error
	var once sync.Once
	go func() {
		var wg sync.WaitGroup
		for _, cr := range apps {
			wg.Add(1)
			go func(cr *containerResult) {
				defer wg.Done()
				if _, err := r.wait(ctx, cr); err != nil {
					once.Do(func() { waitErr = err })
				}
			}(cr)
		}
		wg.Wait()
		close(exited)
	}()

	stopped := false
	var stopping sync.WaitGroup
	stopPod := func() {
		stopped = true
		stopping.Add(1)
		go func() {
			defer stopping.Done()
			r.stop(ctx, apps)
		}()
	}
	var stopTimer <-chan time.Time
	if r.stopAfter > 0 {
		stopTimer = time.After(r.stopAfter)
	}
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	var runErr error
loop:
	for {
		select {
		case <-exited:
			break loop
		case <-ctx.Done():
			runErr = fmt.Errorf("the pod did not end within %s", r.timeout)
			if parent.Err() != nil {
				runErr = errors.New("interrupted")
			}
			for _, cr := range append(append([]*containerResult{}, apps...), sidecars...) {
				r.docker(collectCtx, "kill", cr.id)
			}
			<-exited
			break loop
		case <-stopTimer:
			if !stopped {
				stopPod()
			}
		case <-poll.C:
			if stopped || r.stopOnLog == "" {
				continue
			}
			ready := true
			for _, cr := range apps {
				out, err := r.docker(ctx, "logs", cr.id)
				if err != nil || !strings.Contains(out, r.stopOnLog) {
					ready = false
					break
				}
			}
			if ready {
				stopPod()
			}
		}
	}
	stopping.Wait()
	if runErr == nil && waitErr != nil {
		runErr = waitErr
	}
	// The kubelet stops native sidecars after the app containers.
	r.stop(collectCtx, sidecars)
	for _, cr := range append(append([]*containerResult{}, apps...), sidecars...) {
		r.collect(collectCtx, cr)
	}
	return runErr
}
