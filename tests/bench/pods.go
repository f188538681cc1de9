package main

// The benchmark pods. They are written the way the API server serialises a
// typed Pod into an AdmissionReview (resources {},
// status {}, canonical quantities), so that a typed decode and re-encode (what
// the controller-runtime peer does) changes nothing but the mutation.

import (
	"encoding/json"
	"fmt"
	"strings"
)

type obj = map[string]any
type arr = []any

func strs(s ...string) arr {
	out := make(arr, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func saToken() obj {
	return obj{"name": "kube-api-access-x7k2p", "projected": obj{"defaultMode": 420, "sources": arr{
		obj{"serviceAccountToken": obj{"expirationSeconds": 3607, "path": "token"}},
		obj{"configMap": obj{"name": "kube-root-ca.crt", "items": arr{obj{"key": "ca.crt", "path": "ca.crt"}}}},
		obj{"downwardAPI": obj{"items": arr{obj{"path": "namespace", "fieldRef": obj{"apiVersion": "v1", "fieldPath": "metadata.namespace"}}}}},
	}}}
}

func saMount() obj {
	return obj{"name": "kube-api-access-x7k2p", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
}

func resources(cpu, mem string) obj {
	return obj{"requests": obj{"cpu": cpu, "memory": mem}, "limits": obj{"memory": mem}}
}

// container is an app container as a Deployment template would give it.
func container(name, image string, command, args []string, env arr) obj {
	c := obj{
		"name": name, "image": image,
		"ports":                    arr{obj{"name": "http", "containerPort": 8080, "protocol": "TCP"}},
		"env":                      env,
		"resources":                resources("100m", "128Mi"),
		"volumeMounts":             arr{saMount()},
		"terminationMessagePath":   "/dev/termination-log",
		"terminationMessagePolicy": "File",
		"imagePullPolicy":          "IfNotPresent",
	}
	if command != nil {
		c["command"] = strs(command...)
	}
	if args != nil {
		c["args"] = strs(args...)
	}
	if env == nil {
		delete(c, "env")
	}
	return c
}

func podEnv(n int) arr {
	env := arr{obj{"name": "POD_NAME", "valueFrom": obj{"fieldRef": obj{"apiVersion": "v1", "fieldPath": "metadata.name"}}}}
	for i := 0; i < n; i++ {
		env = append(env, obj{"name": fmt.Sprintf("SETTING_%d", i), "value": fmt.Sprintf("value-%d", i)})
	}
	return env
}

func podSpec(containers arr, inits arr, volumes arr) obj {
	spec := obj{
		"containers":                    containers,
		"volumes":                       volumes,
		"restartPolicy":                 "Always",
		"terminationGracePeriodSeconds": 30,
		"dnsPolicy":                     "ClusterFirst",
		"serviceAccountName":            "default",
		"serviceAccount":                "default",
		"securityContext":               obj{},
		"schedulerName":                 "default-scheduler",
		"tolerations": arr{
			obj{"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
			obj{"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
		},
		"enableServiceLinks": true,
		"preemptionPolicy":   "PreemptLowerPriority",
		"priority":           0,
	}
	if inits != nil {
		spec["initContainers"] = inits
	}
	return spec
}

func podMeta(app string, annotations obj) obj {
	return obj{
		"generateName": app + "-7d9c5b6f4-",
		"namespace":    "bench",
		"labels":       obj{"app": app, "pod-template-hash": "7d9c5b6f4"},
		"annotations":  annotations,
		"ownerReferences": arr{obj{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": app + "-7d9c5b6f4",
			"uid": "5b0e4b8e-9c3c-4c1d-8a7e-3f5f0b0c1d2e", "controller": true, "blockOwnerDeletion": true}},
	}
}

func pod(meta, spec obj) obj {
	return obj{"kind": "Pod", "apiVersion": "v1", "metadata": meta, "spec": spec, "status": obj{}}
}

// small: one static Go container, the shell known pod-wide.
func smallPod() obj {
	return pod(podMeta("checkout", obj{"goinject.io/static-go": "true", "goinject.io/shell": "/bin/sh"}),
		podSpec(arr{container("app", "registry.example.com/shop/checkout:1.8.2",
			[]string{"/usr/local/bin/checkout"}, []string{"--listen=:8080"}, nil)}, nil, arr{saToken()}))
}

// typical: three containers (a shell wrapper, a tini wrapper, an agent-only
// sidecar), an init container, probes, volumes: about 6 KB.
func typicalPod() obj {
	ann := obj{
		"static-go.goinject.io/api":         "true",
		"shell.goinject.io/api":             "/bin/sh",
		"static-go.goinject.io/worker":      "true",
		"shell.goinject.io/worker":          "none",
		"libc.goinject.io/worker":           "musl",
		"entrypoint.goinject.io/worker":     `["/worker"]`,
		"cmd.goinject.io/worker":            `["run", "--queue", "orders"]`,
		"prometheus.io/scrape":              "true",
		"prometheus.io/port":                "9090",
		"kubectl.kubernetes.io/restartedAt": "2026-11-01T10:00:00Z",
	}
	api := container("api", "registry.example.com/shop/api:2.4.1", []string{"/api", "serve"},
		[]string{"--config", "/etc/api/config.yaml", "--log-format", "json"}, podEnv(8))
	api["readinessProbe"] = obj{"httpGet": obj{"path": "/readyz", "port": 8080, "scheme": "HTTP"},
		"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
	api["livenessProbe"] = obj{"httpGet": obj{"path": "/healthz", "port": 8080, "scheme": "HTTP"},
		"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}
	api["volumeMounts"] = arr{obj{"name": "config", "mountPath": "/etc/api"}, obj{"name": "tmp", "mountPath": "/tmp"}, saMount()}
	worker := container("worker", "registry.example.com/shop/worker:2.4.1", nil, nil, podEnv(6))
	worker["securityContext"] = obj{"runAsNonRoot": true, "runAsUser": 1000, "allowPrivilegeEscalation": false}
	proxy := container("proxy", "registry.example.com/mesh/proxy:1.30.2", []string{"/usr/bin/proxy"},
		[]string{"--admin-port", "15000", "--upstream", "127.0.0.1:8080"}, podEnv(3))
	migrate := container("migrate", "registry.example.com/shop/api:2.4.1", []string{"/api", "migrate"}, nil, podEnv(2))
	delete(migrate, "ports")
	volumes := arr{
		obj{"name": "config", "configMap": obj{"name": "api-config", "defaultMode": 420}},
		obj{"name": "tmp", "emptyDir": obj{}},
		saToken(),
	}
	return pod(podMeta("shop", ann), podSpec(arr{api, worker, proxy}, arr{migrate}, volumes))
}

// large: forty containers, by turns shell-wrapped, tini-wrapped and agent-only.
func largePod() obj {
	ann := obj{}
	var cs arr
	for i := 0; i < 40; i++ {
		name := fmt.Sprintf("shard-%02d", i)
		switch i % 3 {
		case 0:
			ann["static-go.goinject.io/"+name] = "true"
			ann["shell.goinject.io/"+name] = "/bin/bash"
		case 1:
			ann["static-go.goinject.io/"+name] = "true"
			ann["shell.goinject.io/"+name] = "none"
		}
		cs = append(cs, container(name, "registry.example.com/data/shard:3.1.0", []string{"/shard"},
			[]string{"--index", fmt.Sprint(i), "--peers", "40"}, podEnv(2)))
	}
	return pod(podMeta("shards", ann), podSpec(cs, nil, arr{saToken()}))
}

// huge: about 1 MiB: four containers with 1,500 environment variables each and
// a 100 KB annotation.
func hugePod() obj {
	ann := obj{"goinject.io/static-go": "true", "goinject.io/shell": "/bin/sh",
		"example.com/rendered-config": strings.Repeat("settings: {key: value, list: [1, 2, 3]}\n", 2500)}
	var cs arr
	for i := 0; i < 4; i++ {
		env := podEnv(0)
		for j := 0; j < 1500; j++ {
			env = append(env, obj{"name": fmt.Sprintf("FEATURE_FLAG_%02d_%04d", i, j),
				"value": fmt.Sprintf("enabled=true;rollout=%d%%;owner=team-%d;description=%s", j%100, j%17, strings.Repeat("x", 80))})
		}
		cs = append(cs, container(fmt.Sprintf("app-%d", i), "registry.example.com/big/app:1.0",
			[]string{"/app"}, []string{"--id", fmt.Sprint(i)}, env))
	}
	return pod(podMeta("huge", ann), podSpec(cs, nil, arr{saToken()}))
}

var podSizes = []struct {
	name string
	pod  func() obj
}{
	{"small", smallPod},
	{"typical", typicalPod},
	{"large", largePod},
	{"huge", hugePod},
}

// review wraps a pod in an AdmissionReview as the API server sends it.
func review(uid string, p obj) []byte {
	doc := obj{
		"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1",
		"request": obj{
			"uid":             uid,
			"kind":            obj{"group": "", "version": "v1", "kind": "Pod"},
			"resource":        obj{"group": "", "version": "v1", "resource": "pods"},
			"requestKind":     obj{"group": "", "version": "v1", "kind": "Pod"},
			"requestResource": obj{"group": "", "version": "v1", "resource": "pods"},
			"namespace":       "bench",
			"operation":       "CREATE",
			"userInfo": obj{"username": "system:serviceaccount:kube-system:replicaset-controller",
				"groups": strs("system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated")},
			"object":    p,
			"oldObject": nil,
			"dryRun":    false,
			"options":   obj{"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"},
		},
	}
	// The API server writes request.uid first; keep that order (the floor relies on it).
	body, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return reorderUID(body, uid)
}

// reorderUID moves "uid" to the front of the request object: encoding/json sorts keys.
func reorderUID(body []byte, uid string) []byte {
	s := string(body)
	member := `"uid":"` + uid + `"`
	s = strings.Replace(s, ","+member, "", 1)
	s = strings.Replace(s, `"request":{`, `"request":{`+member+",", 1)
	return []byte(s)
}
