#!/usr/bin/env python3
"""to-oci.py [--zstd [--zstd-option OPT]...] DOCKER_SAVE.tar OUTDIR [OUT.tar] - repackages a
docker save archive as an OCI image layout: compressed layer blobs (gzip, or with --zstd the
`zstd` command, Debian's zstd package, reading a pipe so the frames carry no content size, as
a streaming encoder writes them; --zstd-option passes an option such as --long=27 on), config
and manifest blobs, and an index.json that names the image (its first RepoTags entry) in the
ref-name annotation. With OUT.tar, the layout is also written as a tar. Prints the manifest
digest. Used to test goinject inspect on OCI layouts of real images.
"""
import argparse
import gzip
import hashlib
import json
import os
import subprocess
import tarfile


def put_blob(outdir, data):
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(outdir, "blobs", "sha256", digest)
    with open(path, "wb") as f:
        f.write(data)
    return "sha256:" + digest, len(data)


def compress(data, args):
    """The layer blob and its media type."""
    if not args.zstd:
        return (gzip.compress(data, compresslevel=1, mtime=0),
                "application/vnd.oci.image.layer.v1.tar+gzip")
    out = subprocess.run(["zstd", "-q", "-c", "-3", "-T1", *args.zstd_option], input=data,
                         stdout=subprocess.PIPE, check=True).stdout
    return out, "application/vnd.oci.image.layer.v1.tar+zstd"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--zstd", action="store_true")
    parser.add_argument("--zstd-option", action="append", default=[])
    parser.add_argument("src")
    parser.add_argument("outdir")
    parser.add_argument("out_tar", nargs="?")
    args = parser.parse_args()
    src, outdir = args.src, args.outdir
    os.makedirs(os.path.join(outdir, "blobs", "sha256"), exist_ok=True)
    with tarfile.open(src) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))[0]
        config = tar.extractfile(manifest["Config"]).read()
        layers = []
        for name in manifest["Layers"]:
            member = tar.getmember(name)
            while member.issym():  # docker save links duplicate layers
                member = tar.getmember(os.path.normpath(os.path.join(os.path.dirname(member.name), member.linkname)))
            data, media_type = compress(tar.extractfile(member).read(), args)
            digest, size = put_blob(outdir, data)
            layers.append({"mediaType": media_type, "digest": digest, "size": size})
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
    if args.out_tar:
        with tarfile.open(args.out_tar, "w", format=tarfile.PAX_FORMAT) as out:
            for entry in ("oci-layout", "index.json", "blobs"):
                out.add(os.path.join(outdir, entry), arcname=entry)
    print(digest)


main()
