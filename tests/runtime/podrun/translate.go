package main

// From a container of the pod to the argv of `docker create`, the way a kubelet and a CRI
// runtime would run it. Every user string travels as one argv element of the docker command,
// never through a shell.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"strings"
)

// expand is the kubelet's $(VAR) expansion of command, args and env values: $(NAME) becomes
// NAME's value when lookup knows NAME and stays as written otherwise; $$ becomes $; a $ before
// anything else, an unterminated $( and a $ at the end are kept.
func expand(s string, lookup func(string) (string, bool)) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		switch s[i+1] {
		case '$':
			b.WriteByte('$')
			i++
		case '(':
			end := strings.IndexByte(s[i+2:], ')')
			if end < 0 {
				b.WriteString("$(")
				i++
				continue
			}
			name := s[i+2 : i+2+end]
			if v, ok := lookup(name); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + name + ")")
			}
			i += 2 + end
		default:
			b.WriteByte('$')
		}
	}
	return b.String()
}

// envList is a container's environment as the kubelet computes it: in order of first
// appearance, a later entry of the same name replacing the value, each value expanded against
// the variables defined before it.
type envList struct {
	names  []string
	values map[string]string
}

func (e *envList) lookup(name string) (string, bool) {
	v, ok := e.values[name]
	return v, ok
}

func containerEnv(pod *Pod, c *Container) (*envList, error) {
	env := &envList{values: map[string]string{}}
	for _, v := range c.Env {
		if v.Name == "" || strings.ContainsAny(v.Name, "=\x00") {
			return nil, fmt.Errorf("env name %q is not valid", v.Name)
		}
		var value string
		if v.ValueFrom != nil {
			if v.ValueFrom.FieldRef == nil {
				return nil, fmt.Errorf("env %s: only valueFrom.fieldRef is supported", v.Name)
			}
			switch v.ValueFrom.FieldRef.FieldPath {
			case "metadata.name":
				value = pod.Metadata.Name
			case "metadata.namespace":
				value = pod.Metadata.Namespace
			case "metadata.uid":
				value = pod.Metadata.UID
			default:
				return nil, fmt.Errorf("env %s: fieldRef %s is not supported", v.Name, v.ValueFrom.FieldRef.FieldPath)
			}
		} else {
			value = expand(v.Value, env.lookup)
		}
		if strings.ContainsRune(value, 0) {
			return nil, fmt.Errorf("env %s: a value cannot hold a NUL byte", v.Name)
		}
		if _, seen := env.values[v.Name]; !seen {
			env.names = append(env.names, v.Name)
		}
		env.values[v.Name] = value
	}
	return env, nil
}

// quantity parses a Kubernetes resource quantity ("500m", "64Mi", "1.5", "2e3") to a number.
func quantity(s string) (float64, error) {
	suffixes := []struct {
		suffix string
		factor float64
	}{
		{"Ki", 1 << 10}, {"Mi", 1 << 20}, {"Gi", 1 << 30}, {"Ti", 1 << 40}, {"Pi", 1 << 50},
		{"Ei", 1 << 60}, {"m", 1e-3}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
		{"P", 1e15}, {"E", 1e18},
	}
	number, factor := s, 1.0
	for _, sf := range suffixes {
		if strings.HasSuffix(s, sf.suffix) {
			number, factor = strings.TrimSuffix(s, sf.suffix), sf.factor
			break
		}
	}
	if number == "" || strings.ContainsAny(number, " _xXpP") {
		return 0, fmt.Errorf("quantity %q is not valid", s)
	}
	v, err := strconv.ParseFloat(number, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("quantity %q is not valid", s)
	}
	return v * factor, nil
}

// mountSpec is the value of docker's --mount for a bind mount. Docker reads it as one CSV
// record, so each field is CSV-quoted when it holds a comma or a quote.
func mountSpec(source, target string, readOnly bool) (string, error) {
	if strings.ContainsAny(source+target, "\n\r\x00") {
		return "", fmt.Errorf("mount %q -> %q: paths with newlines cannot be passed to docker", source, target)
	}
	fields := []string{"type=bind", "source=" + source, "target=" + target}
	if readOnly {
		fields = append(fields, "readonly")
	}
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.Write(fields); err != nil {
		return "", err
	}
	w.Flush()
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// imageConfig is what podrun needs from `docker image inspect`.
type imageConfig struct {
	User       string   `json:"User"`
	Entrypoint []string `json:"Entrypoint"`
	Cmd        []string `json:"Cmd"`
}

// runSpec is one container, translated.
type runSpec struct {
	Args       []string `json:"dockerArgs"` // after "docker"
	Env        []string `json:"env"`        // NAME=value, as passed
	Entrypoint *string  `json:"entrypoint"` // --entrypoint, nil when the image's is kept
	Cmd        []string `json:"cmd"`        // after the image name; empty keeps the image's CMD
}

type translateInput struct {
	pod        *Pod
	c          *Container
	dockerName string
	hostname   string
	labels     []string
	volumes    map[string]string // volume name -> host directory
	image      imageConfig
}

func boolValue(p *bool) bool { return p != nil && *p }

// translate builds `docker create ...` for one container.
func translate(in translateInput) (*runSpec, error) {
	c, pod := in.c, in.pod
	if c.Image == "" {
		return nil, fmt.Errorf("container %s has no image", c.Name)
	}
	env, err := containerEnv(pod, c)
	if err != nil {
		return nil, fmt.Errorf("container %s: %v", c.Name, err)
	}
	args := []string{"create", "--name", in.dockerName, "--hostname", in.hostname, "--pull", "never"}
	for _, l := range in.labels {
		args = append(args, "--label", l)
	}

	// Identity: container securityContext over pod securityContext, as the kubelet merges them.
	sc := c.SecurityContext
	if sc == nil {
		sc = &SecurityContext{}
	}
	psc := pod.Spec.SecurityContext
	if psc == nil {
		psc = &PodSecurityContext{}
	}
	runAsUser, runAsGroup, runAsNonRoot := sc.RunAsUser, sc.RunAsGroup, sc.RunAsNonRoot
	if runAsUser == nil {
		runAsUser = psc.RunAsUser
	}
	if runAsGroup == nil {
		runAsGroup = psc.RunAsGroup
	}
	if runAsNonRoot == nil {
		runAsNonRoot = psc.RunAsNonRoot
	}
	imageUser, _, _ := strings.Cut(in.image.User, ":")
	if boolValue(runAsNonRoot) {
		// The kubelet refuses to start such a container (CreateContainerConfigError).
		if runAsUser != nil {
			if *runAsUser == 0 {
				return nil, fmt.Errorf("container %s: runAsNonRoot and runAsUser 0", c.Name)
			}
		} else {
			uid, err := strconv.ParseInt(imageUser, 10, 64)
			if imageUser == "" || imageUser == "root" {
				return nil, fmt.Errorf("container %s: runAsNonRoot and the image runs as root", c.Name)
			}
			if err != nil {
				return nil, fmt.Errorf("container %s: runAsNonRoot and the image user %q is not numeric", c.Name, imageUser)
			}
			if uid == 0 {
				return nil, fmt.Errorf("container %s: runAsNonRoot and the image runs as root", c.Name)
			}
		}
	}
	switch {
	case runAsUser != nil && runAsGroup != nil:
		args = append(args, "--user", fmt.Sprintf("%d:%d", *runAsUser, *runAsGroup))
	case runAsUser != nil:
		args = append(args, "--user", strconv.FormatInt(*runAsUser, 10))
	case runAsGroup != nil:
		user := imageUser
		if user == "" {
			user = "0"
		}
		args = append(args, "--user", fmt.Sprintf("%s:%d", user, *runAsGroup))
	}
	groups := append([]int64{}, psc.SupplementalGroups...)
	if psc.FSGroup != nil {
		groups = append(groups, *psc.FSGroup)
	}
	for _, g := range groups {
		args = append(args, "--group-add", strconv.FormatInt(g, 10))
	}

	// Privileges.
	if caps := sc.Capabilities; caps != nil {
		for _, d := range caps.Drop {
			args = append(args, "--cap-drop", d)
		}
		for _, a := range caps.Add {
			args = append(args, "--cap-add", a)
		}
	}
	if boolValue(sc.Privileged) {
		args = append(args, "--privileged")
	}
	if boolValue(sc.ReadOnlyRootFilesystem) {
		args = append(args, "--read-only")
	}
	if sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation {
		args = append(args, "--security-opt", "no-new-privileges=true")
	}
	seccomp := sc.SeccompProfile
	if seccomp == nil {
		seccomp = psc.SeccompProfile
	}
	switch {
	case seccomp != nil && seccomp.Type == "RuntimeDefault":
		// Docker's default profile is the runtime default.
	case seccomp == nil || seccomp.Type == "Unconfined":
		// A kubelet without --seccomp-default runs such containers unconfined.
		if !boolValue(sc.Privileged) {
			args = append(args, "--security-opt", "seccomp=unconfined")
		}
	default:
		return nil, fmt.Errorf("container %s: seccompProfile %s is not supported", c.Name, seccomp.Type)
	}

	// Resources: limits as the runtime enforces them, CPU requests as shares.
	if m, ok := c.Resources.Limits["memory"]; ok {
		size, err := quantity(m)
		if err != nil {
			return nil, fmt.Errorf("container %s: limits.memory: %v", c.Name, err)
		}
		n := strconv.FormatInt(int64(math.Ceil(size)), 10)
		args = append(args, "--memory", n, "--memory-swap", n)
	}
	if cpu, ok := c.Resources.Limits["cpu"]; ok {
		v, err := quantity(cpu)
		if err != nil {
			return nil, fmt.Errorf("container %s: limits.cpu: %v", c.Name, err)
		}
		args = append(args, "--cpus", strconv.FormatFloat(v, 'f', 3, 64))
	}
	if cpu, ok := c.Resources.Requests["cpu"]; ok {
		v, err := quantity(cpu)
		if err != nil {
			return nil, fmt.Errorf("container %s: requests.cpu: %v", c.Name, err)
		}
		shares := int64(math.Ceil(v*1000)) * 1024 / 1000
		if shares < 2 {
			shares = 2
		}
		args = append(args, "--cpu-shares", strconv.FormatInt(shares, 10))
	}

	if c.WorkingDir != "" {
		args = append(args, "--workdir", c.WorkingDir)
	}

	spec := &runSpec{}
	for _, name := range env.names {
		kv := name + "=" + env.values[name]
		spec.Env = append(spec.Env, kv)
		args = append(args, "--env", kv)
	}

	targets := map[string]bool{}
	for _, m := range c.VolumeMounts {
		host, ok := in.volumes[m.Name]
		if !ok {
			return nil, fmt.Errorf("container %s: volumeMount %s names no volume", c.Name, m.Name)
		}
		if !filepath.IsAbs(m.MountPath) || targets[filepath.Clean(m.MountPath)] {
			return nil, fmt.Errorf("container %s: mountPath %q is not absolute or is mounted twice", c.Name, m.MountPath)
		}
		targets[filepath.Clean(m.MountPath)] = true
		if m.MountPropagation != "" && m.MountPropagation != "None" {
			return nil, fmt.Errorf("container %s: mountPropagation %s is not supported", c.Name, m.MountPropagation)
		}
		if m.SubPath != "" {
			if filepath.IsAbs(m.SubPath) || strings.HasPrefix(filepath.Clean(m.SubPath), "..") {
				return nil, fmt.Errorf("container %s: subPath %q leaves the volume", c.Name, m.SubPath)
			}
			host = filepath.Join(host, m.SubPath)
			if err := mkdirShared(host); err != nil {
				return nil, err
			}
		}
		mount, err := mountSpec(host, m.MountPath, m.ReadOnly)
		if err != nil {
			return nil, fmt.Errorf("container %s: %v", c.Name, err)
		}
		args = append(args, "--mount", mount)
	}

	// The argv: the kubelet expands $(VAR) in command and args against the container's env;
	// command replaces the image ENTRYPOINT (and drops its CMD), args replace the CMD. Docker's
	// --entrypoint takes one string, so command[0] goes there and the rest of command, then the
	// args, become the CMD.
	lookup := env.lookup
	var command, cmdArgs []string
	for _, s := range c.Command {
		command = append(command, expand(s, lookup))
	}
	for _, s := range c.Args {
		cmdArgs = append(cmdArgs, expand(s, lookup))
	}
	for _, s := range append(append([]string{}, command...), cmdArgs...) {
		if strings.ContainsRune(s, 0) {
			return nil, fmt.Errorf("container %s: an argument cannot hold a NUL byte", c.Name)
		}
	}
	if len(command) > 0 {
		if command[0] == "" {
			return nil, fmt.Errorf("container %s: command[0] is empty", c.Name)
		}
		ep := command[0]
		spec.Entrypoint = &ep
		spec.Cmd = append(append([]string{}, command[1:]...), cmdArgs...)
		args = append(args, "--entrypoint", ep)
	} else {
		spec.Cmd = cmdArgs
	}
	args = append(args, c.Image)
	args = append(args, spec.Cmd...)
	spec.Args = args
	return spec, nil
}

// executedArgv is the argv the container will execute, from the translated spec and the image.
func executedArgv(spec *runSpec, image imageConfig) []string {
	if spec.Entrypoint != nil {
		return append([]string{*spec.Entrypoint}, spec.Cmd...)
	}
	argv := append([]string{}, image.Entrypoint...)
	if len(spec.Cmd) > 0 {
		return append(argv, spec.Cmd...)
	}
	return append(argv, image.Cmd...)
}
