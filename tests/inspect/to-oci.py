#!/usr/bin/env python3
"""to-oci.py DOCKER_SAVE.tar OUTDIR [OUT.tar] - repackages a docker save archive as an OCI
image layout: gzip-compressed layer blobs, config and manifest blobs, and an index.json that
names the image (its first RepoTags entry) in the ref-name annotation. With OUT.tar, the
layout is also written as a tar. Used to test goinject inspect on OCI layouts of real images.
"""
import gzip
import hashlib
import json
import os
import sys
import tarfile


def put_blob(outdir, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(outdir, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(outdir, "blobs", "sha256"), exist_ok=True)
    with tarfile.open(src) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))[0]
        config = tar.extractfile(manifest["Config"]).read()
        layers = []
        for name in manifest["Layers"]:
            member = tar.getmember(name)
            while member.issym():  # docker save links duplicate layers
                member = tar.getmember(os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname)))
            data = gzip.compress(tar.extractfile(member).read(), compresslevel=1, mtime=0)
            digest, size = put_blob(outdir, data)
            layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                           "digest": digest, "size": size})
    config_digest, config_size = put_blob(outdir, config)
    image_manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config_size},
        "layers": layers,
    }).encode()
    digest, size = put_blob(outdir, image_manifest)
    name = (manifest.get("RepoTags") or ["unnamed:latest"])[0]
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": digest,
            "size": size, "annotations": {"org.opencontainers.image.ref.name": name}}]}, f)
    with open(os.path.join(outdir, "oci-layout"), "w") as f:
        json.dump({"imageLayoutVersion": "1.0.0"}, f)
    if len(sys.argv) > 3:
        with tarfile.open(sys.argv[3], "w", format=tarfile.PAX_FORMAT) as out:
            for entry in ("oci-layout", "index.json", "blobs"):
                out.add(os.path.join(outdir, entry), arcname=entry)
    print(digest)


main()
