package main

// The part of the Pod API that podrun reads, and the check that nothing else is in the pod.
//
// A field podrun cannot translate is an error, never silently dropped: a pod that ran here but
// would run differently under a kubelet proves nothing. Fields without effect on a single run
// on one machine (ports, probes, scheduling) are accepted and listed in the result as ignored.

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

type Pod struct {
	Metadata struct {
		Name         string `json:"name"`
		GenerateName string `json:"generateName"`
		Namespace    string `json:"namespace"`
		UID          string `json:"uid"`
	} `json:"metadata"`
	Spec PodSpec `json:"spec"`
}

type PodSpec struct {
	Containers                    []Container         `json:"containers"`
	InitContainers                []Container         `json:"initContainers"`
	Volumes                       []Volume            `json:"volumes"`
	SecurityContext               *PodSecurityContext `json:"securityContext"`
	TerminationGracePeriodSeconds *int64              `json:"terminationGracePeriodSeconds"`
	Hostname                      string              `json:"hostname"`
}

type Container struct {
	Name            string           `json:"name"`
	Image           string           `json:"image"`
	ImagePullPolicy string           `json:"imagePullPolicy"`
	Command         []string         `json:"command"`
	Args            []string         `json:"args"`
	Env             []EnvVar         `json:"env"`
	WorkingDir      string           `json:"workingDir"`
	VolumeMounts    []VolumeMount    `json:"volumeMounts"`
	SecurityContext *SecurityContext `json:"securityContext"`
	Resources       Resources        `json:"resources"`
	RestartPolicy   string           `json:"restartPolicy"`
}

type EnvVar struct {
	Name      string `json:"name"`
	Value     string `json:"value"`
	ValueFrom *struct {
		FieldRef *struct {
			FieldPath string `json:"fieldPath"`
		} `json:"fieldRef"`
	} `json:"valueFrom"`
}

type VolumeMount struct {
	Name             string `json:"name"`
	MountPath        string `json:"mountPath"`
	SubPath          string `json:"subPath"`
	ReadOnly         bool   `json:"readOnly"`
	MountPropagation string `json:"mountPropagation"`
}

type Capabilities struct {
	Add  []string `json:"add"`
	Drop []string `json:"drop"`
}

type SeccompProfile struct {
	Type string `json:"type"`
}

type SecurityContext struct {
	Capabilities             *Capabilities   `json:"capabilities"`
	Privileged               *bool           `json:"privileged"`
	RunAsUser                *int64          `json:"runAsUser"`
	RunAsGroup               *int64          `json:"runAsGroup"`
	RunAsNonRoot             *bool           `json:"runAsNonRoot"`
	ReadOnlyRootFilesystem   *bool           `json:"readOnlyRootFilesystem"`
	AllowPrivilegeEscalation *bool           `json:"allowPrivilegeEscalation"`
	SeccompProfile           *SeccompProfile `json:"seccompProfile"`
}

type PodSecurityContext struct {
	RunAsUser          *int64          `json:"runAsUser"`
	RunAsGroup         *int64          `json:"runAsGroup"`
	RunAsNonRoot       *bool           `json:"runAsNonRoot"`
	SupplementalGroups []int64         `json:"supplementalGroups"`
	FSGroup            *int64          `json:"fsGroup"`
	SeccompProfile     *SeccompProfile `json:"seccompProfile"`
}

type Resources struct {
	Limits   map[string]string `json:"limits"`
	Requests map[string]string `json:"requests"`
}

type Volume struct {
	Name     string `json:"name"`
	EmptyDir *struct {
		Medium string `json:"medium"`
	} `json:"emptyDir"`
	HostPath *struct {
		Path string `json:"path"`
		Type string `json:"type"`
	} `json:"hostPath"`
}

// fieldRule says what podrun does with one field of an object.
type fieldRule int

const (
	handled fieldRule = iota // translated into docker options
	ignored                  // no effect on one run on one machine; listed in the result
	falsy                    // accepted only when false (or absent)
)

var podSpecFields = map[string]fieldRule{
	"containers": handled, "initContainers": handled, "volumes": handled,
	"securityContext": handled, "terminationGracePeriodSeconds": handled, "hostname": handled,
	"restartPolicy": ignored, "dnsPolicy": ignored, "schedulerName": ignored,
	"serviceAccountName": ignored, "serviceAccount": ignored, "nodeName": ignored,
	"nodeSelector": ignored, "affinity": ignored, "tolerations": ignored, "priority": ignored,
	"priorityClassName": ignored, "preemptionPolicy": ignored, "enableServiceLinks": ignored,
	"automountServiceAccountToken": ignored, "imagePullSecrets": ignored,
	"topologySpreadConstraints": ignored, "subdomain": ignored, "readinessGates": ignored,
	"activeDeadlineSeconds": ignored, "dnsConfig": ignored,
	"hostNetwork": falsy, "hostPID": falsy, "hostIPC": falsy, "shareProcessNamespace": falsy,
	"hostUsers": ignored,
}

var containerFields = map[string]fieldRule{
	"name": handled, "image": handled, "imagePullPolicy": handled, "command": handled,
	"args": handled, "env": handled, "workingDir": handled, "volumeMounts": handled,
	"securityContext": handled, "resources": handled, "restartPolicy": handled,
	"ports": ignored, "terminationMessagePath": ignored, "terminationMessagePolicy": ignored,
	"livenessProbe": ignored, "readinessProbe": ignored, "startupProbe": ignored,
	"stdin": falsy, "stdinOnce": falsy, "tty": falsy,
}

var securityContextFields = map[string]fieldRule{
	"capabilities": handled, "privileged": handled, "runAsUser": handled, "runAsGroup": handled,
	"runAsNonRoot": handled, "readOnlyRootFilesystem": handled,
	"allowPrivilegeEscalation": handled, "seccompProfile": handled,
}

var podSecurityContextFields = map[string]fieldRule{
	"runAsUser": handled, "runAsGroup": handled, "runAsNonRoot": handled,
	"supplementalGroups": handled, "fsGroup": handled, "seccompProfile": handled,
	"fsGroupChangePolicy": ignored,
}

var volumeFields = map[string]fieldRule{"name": handled, "emptyDir": handled, "hostPath": handled}
var mountFields = map[string]fieldRule{
	"name": handled, "mountPath": handled, "subPath": handled, "readOnly": handled,
	"mountPropagation": handled,
}
var envFields = map[string]fieldRule{"name": handled, "value": handled, "valueFrom": handled}
var resourceFields = map[string]fieldRule{"limits": handled, "requests": handled, "claims": falsy}

// checkFields returns an error naming every field of the object raw that rules do not accept,
// and appends the ignored ones (as where.field) to *ignoredOut.
func checkFields(raw json.RawMessage, where string, rules map[string]fieldRule, ignoredOut *[]string) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return fmt.Errorf("%s: %v", where, err)
	}
	var bad []string
	for key, value := range obj {
		rule, known := rules[key]
		switch {
		case !known:
			bad = append(bad, key)
		case rule == ignored:
			*ignoredOut = append(*ignoredOut, where+"."+key)
		case rule == falsy:
			v := strings.TrimSpace(string(value))
			if v != "false" && v != "null" && v != "[]" && v != "" {
				bad = append(bad, key)
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: podrun cannot run %s faithfully", where, strings.Join(bad, ", "))
	}
	return nil
}

// checkPod applies checkFields to the pod and every object podrun reads from it.
func checkPod(data []byte) (ignoredFields []string, err error) {
	var top struct {
		Spec json.RawMessage `json:"spec"`
	}
	if err := json.Unmarshal(data, &top); err != nil {
		return nil, err
	}
	var ign []string
	if err := checkFields(top.Spec, "spec", podSpecFields, &ign); err != nil {
		return nil, err
	}
	var spec struct {
		Containers      []json.RawMessage `json:"containers"`
		InitContainers  []json.RawMessage `json:"initContainers"`
		Volumes         []json.RawMessage `json:"volumes"`
		SecurityContext json.RawMessage   `json:"securityContext"`
	}
	if err := json.Unmarshal(top.Spec, &spec); err != nil {
		return nil, err
	}
	if err := checkFields(spec.SecurityContext, "spec.securityContext", podSecurityContextFields, &ign); err != nil {
		return nil, err
	}
	for i, v := range spec.Volumes {
		if err := checkFields(v, fmt.Sprintf("spec.volumes[%d]", i), volumeFields, &ign); err != nil {
			return nil, err
		}
	}
	lists := []struct {
		name  string
		items []json.RawMessage
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}}
	for _, list := range lists {
		for i, c := range list.items {
			where := fmt.Sprintf("spec.%s[%d]", list.name, i)
			if err := checkFields(c, where, containerFields, &ign); err != nil {
				return nil, err
			}
			var parts struct {
				SecurityContext json.RawMessage   `json:"securityContext"`
				VolumeMounts    []json.RawMessage `json:"volumeMounts"`
				Env             []json.RawMessage `json:"env"`
				Resources       json.RawMessage   `json:"resources"`
			}
			if err := json.Unmarshal(c, &parts); err != nil {
				return nil, err
			}
			if err := checkFields(parts.SecurityContext, where+".securityContext", securityContextFields, &ign); err != nil {
				return nil, err
			}
			if err := checkFields(parts.Resources, where+".resources", resourceFields, &ign); err != nil {
				return nil, err
			}
			for j, m := range parts.VolumeMounts {
				if err := checkFields(m, fmt.Sprintf("%s.volumeMounts[%d]", where, j), mountFields, &ign); err != nil {
					return nil, err
				}
			}
			for j, e := range parts.Env {
				if err := checkFields(e, fmt.Sprintf("%s.env[%d]", where, j), envFields, &ign); err != nil {
					return nil, err
				}
			}
		}
	}
	sort.Strings(ign)
	return ign, nil
}
