#!/usr/bin/env python3
"""review.py GOINJECT IMAGE [--annotations FILE] [--config FILE] [--mode MODE] [--url URL --cacert F]

Sends an AdmissionReview for a pod with one container "app" running IMAGE (with the pod
annotations in FILE, a JSON object) to `goinject review` (or to a running server at URL),
applies the patch of the answer, and prints what happened to the container as JSON:
{"action": ..., "command": ..., "args": ..., "capabilities": ..., "warnings": [...]}.
"""
import argparse
import base64
import json
import ssl
import subprocess
import sys
import urllib.request


def pointer_parts(path):
    return [p.replace("~1", "/").replace("~0", "~") for p in path.split("/")[1:]]


def apply(doc, ops):
    for op in ops:
        if op["op"] not in ("add", "replace"):
            raise SystemExit(f"unexpected op {op}")
        parts = pointer_parts(op["path"])
        target = doc
        for p in parts[:-1]:
            target = target[int(p)] if isinstance(target, list) else target[p]
        last = parts[-1]
        if isinstance(target, list):
            if last == "-":
                target.append(op["value"])
            else:
                target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]
    return doc


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("goinject")
    ap.add_argument("image")
    ap.add_argument("--annotations")
    ap.add_argument("--config")
    ap.add_argument("--mode")
    ap.add_argument("--url")
    ap.add_argument("--cacert")
    a = ap.parse_args()
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "inspect-test", "namespace": "apps"},
        "spec": {"containers": [{"name": "app", "image": a.image}]},
    }
    if a.annotations:
        with open(a.annotations) as f:
            pod["metadata"]["annotations"] = json.load(f)
    review = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-4000-8000-000000000005",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "apps",
            "operation": "CREATE",
            "object": pod,
        },
    }
    body = json.dumps(review).encode()
    if a.url:
        ctx = ssl.create_default_context(cafile=a.cacert)
        req = urllib.request.Request(a.url, body, {"Content-Type": "application/json"})
        answer = json.load(urllib.request.urlopen(req, context=ctx, timeout=10))
    else:
        cmd = [a.goinject, "review"]
        if a.config:
            cmd += ["--config", a.config]
        if a.mode:
            cmd += ["--mode", a.mode]
        out = subprocess.run(cmd + ["-"], input=body, capture_output=True, check=True)
        answer = json.loads(out.stdout)
    response = answer["response"]
    if "patch" in response:
        pod = apply(pod, json.loads(base64.b64decode(response["patch"])))
    status = json.loads(pod["metadata"].get("annotations", {}).get("goinject.io/status", "{}"))
    container = pod["spec"]["containers"][0]
    caps = container.get("securityContext", {}).get("capabilities", {}).get("add", [])
    json.dump({
        "action": status.get("containers", {}).get("app", "none"),
        "command": container.get("command"),
        "args": container.get("args"),
        "capabilities": caps,
        "warnings": response.get("warnings", []),
    }, sys.stdout)
    print()


main()
