#!/bin/sh
# run.sh - `goinject inspect`, the catalog and config reload, on real binaries and images.
#
#   tests/inspect/run.sh GOINJECT_BINARY
#
# 1. Builds the test programs in every build mode of the limitations list (build-binaries.sh)
#    and checks every fact and problem of `goinject inspect --json` and its exit status.
# 2. Builds images with Docker and saves them (build-images.sh; skipped with a reason when
#    Docker cannot be used), repackages some as OCI layouts (directory and tar, gzip layers),
#    and checks the image facts; the same layouts with zstd layers give the same facts, and
#    one written with `zstd --long` is refused by name.
# 3. Done-when: the annotations `inspect --annotations` prints, put on a pod, make `goinject
#    review` choose the right wrapper; a catalog rule from `inspect --catalog` does the same
#    without annotations; `goinject serve` picks up a new catalog from a ConfigMap-style
#    symlink swap without a restart.
# 4. Hostile input: truncated and corrupt ELF files and archives, `..` and absolute names,
#    symlink loops: a clear error (exit 2) or a clean answer, never a crash, and nothing
#    written outside the work directory.
# Built binaries and images are cached under build/inspect (GOINJECT_INSPECT_BUILD).
set -u
bin=$(cd "$(dirname "${1:?usage: run.sh GOINJECT_BINARY}")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
build=${GOINJECT_INSPECT_BUILD:-$here/../../build/inspect}
mkdir -p "$build"
build=$(cd "$build" && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0
skipped=0

pass() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }

# inspect_json NAME FILE [FLAGS...]: runs inspect --json into $work/NAME.json, exit status in $rc
inspect_json() {
    _ij_name=$1 _ij_file=$2
    shift 2
    "$bin" inspect --json "$@" "$_ij_file" >"$work/$_ij_name.json" 2>"$work/$_ij_name.err"
    rc=$?
}

# expect NAME WANT_EXIT FIELD=VALUE...: checks the exit status and the fields of $work/NAME.json
expect() {
    _ex_name=$1 _ex_want=$2
    shift 2
    if [ "$rc" != "$_ex_want" ]; then
        fail "$_ex_name: exit $rc, want $_ex_want: $(head -c 300 "$work/$_ex_name.err")"
        return
    fi
    if out=$("$here/expect.py" "$work/$_ex_name.json" "$@"); then pass; else fail "$out"; fi
}

# ---- 1. binaries in every build mode ------------------------------------------------------
if ! "$here/build-binaries.sh" "$build/bin"; then
    fail "build-binaries.sh failed"
fi
# mode exit go static pie libc cgo race stripped linker toolchain problems
while read -r mode want go static pie libc cgo race stripped linker toolchain problems; do
    case $mode in '#'* | '') continue ;; esac
    if [ -f "$build/bin/$mode.skip" ]; then
        skip "binary $mode: $(cat "$build/bin/$mode.skip")"
        continue
    fi
    inspect_json "bin-$mode" "$build/bin/$mode"
    expect "bin-$mode" "$want" go="$go" static="$static" pie="$pie" libc="$libc" cgo="$cgo" \
        race="$race" stripped="$stripped" linker="$linker" toolchain="$toolchain" \
        problems="$problems"
done <<'TABLE'
# mode        exit go   static pie   libc  cgo   race  stripped linker   toolchain problems
static        0    true true   false none  false false false    internal gc        -
external      0    true false  false glibc true  false false    external gc        -
pie-nocgo     1    true false  true  none  false false false    internal gc        pie-no-libc
pie-external  0    true false  true  glibc true  false false    external gc        -
stripped      0    true true   false none  false false true     internal gc        stripped
strip-tool    0    true true   false none  false false true     internal gc        stripped
race          1    true false  false glibc true  true  false    internal gc        race
net-internal  0    true false  false glibc true  false false    internal gc        -
cgo-dynamic   0    true false  false glibc true  false false    external gc        -
cgo-static    1    true true   false none  true  false false    external gc        static-cgo
cgo-stripped  1    true true   false none  true  false true     external gc        static-cgo,stripped
plugin        0    true false  false glibc true  false false    external gc        plugin
musl-external 0    true false  false musl  true  false false    external gc        -
musl-internal 1    true false  false musl  true  false false    internal gc        musl-internal-linker
vendored      0    true true   false none  false false false    internal gc        vendored
linkshared    1    true false  true  glibc false false false    external gc        linkshared
gccgo         1    true false  true  glibc false false false    external gccgo     non-gc-toolchain
TABLE

# A few facts beyond the table.
inspect_json bin-static-more "$build/bin/static"
expect bin-static-more 0 interpreter=null goVersion="$(PATH=$PATH:/usr/local/go/bin go env GOVERSION)" \
    mainModule=example.com/hello settings.CGO_ENABLED=0 settings.GOOS=linux
inspect_json bin-musl-more "$build/bin/musl-external"
expect bin-musl-more 0 interpreter=/lib/ld-musl-x86_64.so.1 settings.CGO_ENABLED=1
inspect_json bin-plugin-more "$build/bin/plugin"
expect bin-plugin-more 0 plugin=true vendored=false evidence.plugin="package plugin is linked"
inspect_json bin-vendored-more "$build/bin/vendored"
expect bin-vendored-more 0 vendored=true plugin=false linkshared=false
"$bin" inspect "$build/bin/static" >"$work/human.txt" 2>&1 && grep -q '^problems: none' "$work/human.txt" &&
    pass || fail "human output of static: $(cat "$work/human.txt")"
"$bin" inspect /bin/sh >"$work/sh.txt" 2>&1 && grep -q '^  go  *no' "$work/sh.txt" &&
    pass || fail "a C program is not Go: $(cat "$work/sh.txt")"

# ---- 2. images ------------------------------------------------------------------------------
"$here/build-images.sh" "$build/bin" "$build/images"
images_rc=$?
images=true
if [ "$images_rc" = 3 ]; then
    skip "images: Docker is not usable here (the image tests in tests/unit still ran)"
    images=false
elif [ "$images_rc" != 0 ]; then
    fail "build-images.sh failed"
    images=false
fi

# image exit staticGo shell libc executable problems
if $images; then
    while read -r name want static shell libc executable problems; do
        case $name in '#'* | '') continue ;; esac
        inspect_json "img-$name" "$build/images/$name.tar"
        expect "img-$name" "$want" staticGo="$static" shell="$shell" libc="$libc" \
            executable="$executable" problems="$problems" format=docker-archive \
            image="localhost/goinject-inspect/$name:test"
    done <<'TABLE'
# image       exit staticGo shell   libc  executable              problems
shell         0    true     /bin/sh glibc /app/server             -
scratch       1    true     none    none  /server                 no-libc
busybox       1    true     none    none  /app                    no-libc
distroless    0    true     none    glibc /server                 -
path-symlink  0    true     /bin/sh glibc /opt/app/bin-1.0/server -
shell-c       0    true     /bin/sh glibc /app/server             -
musl          0    false    none    musl  /app                    -
cgo-static    1    true     /bin/sh glibc /usr/bin/app            static-cgo
TABLE
    inspect_json img-shell-c "$build/images/shell-c.tar"
    expect img-shell-c 0 parent=/bin/sh 'entrypoint=["/bin/sh", "-c", "exec /app/server \"$@\"", "server"]'
    inspect_json img-path-symlink "$build/images/path-symlink.tar"
    expect img-path-symlink 0 'entrypoint=["server"]' 'cmd=["run", "--verbose"]' binary.go=true
    inspect_json img-cgo-static "$build/images/cgo-static.tar"
    expect img-cgo-static 1 cgo=true binary.cgo=true
    grep -q 'busybox' "$work/img-busybox.json" && pass || fail "busybox note missing"

    # OCI layouts of the same images: gzip layers, as a directory and as a tar.
    for name in shell distroless path-symlink; do
        if ! digest=$("$here/to-oci.py" "$build/images/$name.tar" "$work/oci-$name" "$work/oci-$name.tar"); then
            fail "to-oci.py $name"
            continue
        fi
        for form in "$work/oci-$name" "$work/oci-$name.tar"; do
            inspect_json "oci-$name" "$form"
            expect "oci-$name" 0 format=oci-layout digest="$digest" \
                image="localhost/goinject-inspect/$name:test" \
                staticGo="$(python3 -c "import json;print(json.dumps(json.load(open('$work/img-$name.json'))['staticGo']))")" \
                shell="$(python3 -c "import json;print(json.load(open('$work/img-$name.json'))['shell'])")" \
                libc="$(python3 -c "import json;print(json.load(open('$work/img-$name.json'))['libc'])")"
        done
    done
    # The same layouts with zstd layers: every fact as in the gzip twin, only the digest differs.
    for name in shell distroless path-symlink; do
        if ! digest=$("$here/to-oci.py" --zstd "$build/images/$name.tar" "$work/ociz-$name" "$work/ociz-$name.tar"); then
            fail "to-oci.py --zstd $name"
            continue
        fi
        for form in "$work/ociz-$name" "$work/ociz-$name.tar"; do
            inspect_json "ociz-$name" "$form"
            expect "ociz-$name" 0 format=oci-layout digest="$digest"
            out=$("$here/same-facts.py" "$work/oci-$name.json" "$work/ociz-$name.json") && pass || fail "$out"
        done
    done
    # A window over goinject's limit (zstd --long: 128 MiB) is refused with the reason.
    if "$here/to-oci.py" --zstd --zstd-option=--long=27 "$build/images/shell.tar" "$work/ociz-long" >/dev/null; then
        "$bin" inspect --json "$work/ociz-long" >/dev/null 2>"$work/ociz-long.err"
        [ $? = 2 ] && grep -q 'zstd window is larger than the 32 MiB goinject allows' "$work/ociz-long.err" &&
            pass || fail "zstd --long layer: $(cat "$work/ociz-long.err")"
    else
        fail "to-oci.py --zstd --long"
    fi
    # A layout that records only a tag as the ref name: the catalog rule matches the digest.
    if [ -d "$work/oci-shell" ]; then
        sed -i 's|"org.opencontainers.image.ref.name": "[^"]*"|"org.opencontainers.image.ref.name": "1.0"|' \
            "$work/oci-shell/index.json"
        "$bin" inspect --catalog "$work/oci-shell" >"$work/oci-rule.json" 2>&1
        rc=$?
        expect oci-rule 0 match.digest="$(python3 -c "import json;print(json.load(open('$work/oci-shell/index.json'))['manifests'][0]['digest'])")"
        "$bin" inspect --catalog --image 'registry.example.com/shell:*' "$work/oci-shell" >"$work/oci-rule.json" 2>&1
        expect oci-rule 0 'match.glob=registry.example.com/shell:*'
    fi
fi

# ---- 3. done when: annotations and catalog rules make review choose the right wrapper --------
# image action command-prefix (the first element of the rewritten command, "-" for none)
if $images; then
    : >"$work/rules.json"
    while read -r name action first; do
        case $name in '#'* | '') continue ;; esac
        ref=localhost/goinject-inspect/$name:test
        "$bin" inspect --annotations app "$build/images/$name.tar" >"$work/ann-$name.json" 2>"$work/ann.err"
        case $? in 0 | 1) pass ;; *) fail "inspect --annotations $name: $(cat "$work/ann.err")" ;; esac
        "$bin" inspect --catalog --image "$ref" "$build/images/$name.tar" >>"$work/rules.json" 2>"$work/cat.err"
        case $? in 0 | 1) pass ;; *) fail "inspect --catalog $name: $(cat "$work/cat.err")" ;; esac
        want_first=command.0=$first
        [ "$first" = - ] && want_first=command=null
        "$here/review.py" "$bin" "$ref" --annotations "$work/ann-$name.json" >"$work/rev-$name.json" ||
            fail "review with annotations of $name"
        if out=$("$here/expect.py" "$work/rev-$name.json" action="$action" "$want_first" 2>&1); then
            pass
        else
            fail "annotations of $name: $out"
        fi
        echo "$name $action $want_first" >>"$work/expected-actions"
    done <<'TABLE'
# image       action        first element of the new command
shell         shell-wrapper /bin/sh
path-symlink  shell-wrapper /bin/sh
distroless    tini-wrapper  /goinject-agent/tini/glibc/tini
shell-c       ptrace+agent  -
musl          agent         -
scratch       unsupported   -
busybox       unsupported   -
cgo-static    unsupported   -
TABLE
    # The same decisions from a catalog in the configuration, with no annotations at all.
    python3 -c "
import json, sys
text = open('$work/rules.json').read()
rules, dec, pos = [], json.JSONDecoder(), 0
while pos < len(text):
    while pos < len(text) and text[pos].isspace(): pos += 1
    if pos == len(text): break
    rule, pos = dec.raw_decode(text, pos)
    rules.append(rule)
json.dump({'catalog': rules}, open('$work/catalog-config.json', 'w'), indent=1)
" || fail "assembling the catalog"
    "$bin" config --config "$work/catalog-config.json" >/dev/null 2>"$work/config.err" &&
        pass || fail "generated catalog refused: $(cat "$work/config.err")"
    while read -r name action want_first; do
        "$here/review.py" "$bin" "localhost/goinject-inspect/$name:test" --config "$work/catalog-config.json" \
            >"$work/cat-$name.json" || fail "review with the catalog for $name"
        if out=$("$here/expect.py" "$work/cat-$name.json" action="$action" "$want_first" 2>&1); then
            pass
        else
            fail "catalog rule of $name: $out"
        fi
    done <"$work/expected-actions"
    # The shell wrapper executes exactly the image's ENTRYPOINT + CMD.
    "$here/expect.py" "$work/cat-path-symlink.json" \
        'command=["/bin/sh", "-c", "exec \"$0\" \"$@\"", "server"]' 'args=["run", "--verbose"]' \
        'capabilities=["SYS_PTRACE"]' && pass || fail "path-symlink wrapper"
    "$here/expect.py" "$work/cat-distroless.json" \
        'command=["/goinject-agent/tini/glibc/tini", "--", "/server"]' 'args=["serve"]' &&
        pass || fail "distroless wrapper"
fi

# ---- 3b. serve reloads the catalog from a ConfigMap-style volume -----------------------------
cm=$work/configmap
mkdir -p "$cm/..v1" "$work/certs"
echo '{}' >"$cm/..v1/config.json"
ln -s ..v1 "$cm/..data"
ln -s ..data/config.json "$cm/config.json"
if "$bin" certgen --out "$work/certs" --host localhost --host 127.0.0.1 >/dev/null 2>&1; then
    : >"$work/serve.log"
    "$bin" serve --tls-cert "$work/certs/tls.crt" --tls-key "$work/certs/tls.key" \
        --listen 127.0.0.1:0 --config "$cm/config.json" 2>"$work/serve.log" &
    server_pid=$!
    port=""
    for _ in $(seq 50); do
        port=$(sed -n 's/.*"msg":"listening".*"port":\([0-9]*\).*/\1/p' "$work/serve.log")
        [ -n "$port" ] && break
        sleep 0.1
    done
    url=https://127.0.0.1:$port/mutate
    metrics() { curl -s --cacert "$work/certs/ca.crt" "https://127.0.0.1:$port/metrics"; }
    review_served() { "$here/review.py" "$bin" registry.example.com/team/api:1.4 --url "$url" --cacert "$work/certs/ca.crt"; }
    review_served >"$work/before.json" && "$here/expect.py" "$work/before.json" action=agent &&
        pass || fail "serve before the reload: $(cat "$work/before.json")"
    # The kubelet's update: a new directory, then an atomic swap of ..data.
    mkdir "$cm/..v2"
    cat >"$cm/..v2/config.json" <<'EOF'
{"catalog": [{"match": {"glob": "registry.example.com/team/*"},
              "facts": {"staticGo": true, "cgo": false, "shell": "/bin/sh", "libc": "glibc",
                        "entrypoint": ["/api"], "cmd": []}}]}
EOF
    ln -s ..v2 "$cm/..data_tmp" && mv -T "$cm/..data_tmp" "$cm/..data"
    reloaded=false
    for _ in $(seq 50); do
        metrics | grep -q '^goinject_config_reloads_total{result="success"} 1$' && reloaded=true && break
        sleep 0.1
    done
    $reloaded && pass || fail "no successful reload in the metrics: $(metrics | grep config)"
    review_served >"$work/after.json" &&
        "$here/expect.py" "$work/after.json" action=shell-wrapper 'command=["/bin/sh", "-c", "exec \"$0\" \"$@\"", "/api"]' &&
        pass || fail "serve after the reload: $(cat "$work/after.json")"
    metrics | grep -q '^goinject_catalog_rules 1$' && pass || fail "goinject_catalog_rules"
    # A broken update is refused; the catalog in service stays.
    mkdir "$cm/..v3"
    echo '{"catalog": [{"match": {"glob": "*"}, "facts": {"libc": "uclibc"}}]}' >"$cm/..v3/config.json"
    ln -s ..v3 "$cm/..data_tmp" && mv -T "$cm/..data_tmp" "$cm/..data"
    rejected=false
    for _ in $(seq 50); do
        metrics | grep -q '^goinject_config_reloads_total{result="failure"} 1$' && rejected=true && break
        sleep 0.1
    done
    $rejected && pass || fail "no failed reload in the metrics"
    metrics | grep -q '^goinject_config_last_reload_successful 0$' && pass || fail "last_reload_successful"
    grep -q '"msg":"configuration not reloaded; keeping the old one".*catalog\[0\].facts.libc' "$work/serve.log" &&
        pass || fail "the rejection is not logged with the field: $(tail -n 3 "$work/serve.log")"
    review_served >"$work/kept.json" && "$here/expect.py" "$work/kept.json" action=shell-wrapper &&
        pass || fail "serve after a rejected reload"
    kill "$server_pid"
    wait "$server_pid" 2>/dev/null
    server_pid=""
else
    fail "certgen"
fi

# ---- 4. hostile input ----------------------------------------------------------------------
# expect_clean NAME FILE: exit 0, 1 or 2 (never a signal), and one line on stderr when 2
expect_clean() {
    "$bin" inspect --json "$2" >"$work/h.out" 2>"$work/h.err"
    hrc=$?
    if [ "$hrc" -ge 128 ] || [ "$hrc" -gt 2 ]; then
        fail "$1: exit $hrc (crash?)"
    elif [ "$hrc" = 2 ] && [ "$(wc -l <"$work/h.err")" != 1 ]; then
        fail "$1: exit 2 without a one-line reason: $(cat "$work/h.err")"
    else
        pass
    fi
}
static=$build/bin/static
for n in 3 60 100 4000 100000 1000000; do
    head -c "$n" "$static" >"$work/trunc-$n"
    expect_clean "ELF truncated to $n bytes" "$work/trunc-$n"
done
"$bin" inspect "$work/trunc-60" >/dev/null 2>"$work/t.err"
[ $? = 2 ] && grep -q 'truncated ELF header' "$work/t.err" && pass || fail "truncated ELF message: $(cat "$work/t.err")"
python3 - "$static" "$work" <<'EOF'
import random, sys
data = bytearray(open(sys.argv[1], "rb").read())
rng = random.Random(5)
for i in range(40):
    d = bytearray(data)
    for _ in range(rng.choice([1, 8, 64])):  # corrupt headers and tables, where offsets live
        pos = rng.randrange(0, 4096) if rng.random() < 0.7 else rng.randrange(len(d))
        d[pos] = rng.randrange(256)
    if i % 5 == 0:  # absurd counts and offsets in the ELF header
        d[32:40] = (0xffffffffffffff00 + i).to_bytes(8, "little")
        d[56:58] = (0xffff).to_bytes(2, "little")
    open(f"{sys.argv[2]}/corrupt-{i}", "wb").write(d)
EOF
for i in $(seq 0 39); do expect_clean "corrupt ELF $i" "$work/corrupt-$i"; done
printf 'just text\n' >"$work/text"
"$bin" inspect "$work/text" >/dev/null 2>"$work/t.err"
[ $? = 2 ] && grep -q 'neither an ELF executable nor an image' "$work/t.err" && pass || fail "text input: $(cat "$work/t.err")"
gzip -c "$static" >"$work/static.gz"
"$bin" inspect "$work/static.gz" >/dev/null 2>"$work/t.err"
[ $? = 2 ] && grep -q 'decompress it first' "$work/t.err" && pass || fail "gzip input: $(cat "$work/t.err")"
"$bin" inspect "$work/does-not-exist" >/dev/null 2>"$work/t.err"
[ $? = 2 ] && grep -q 'cannot open' "$work/t.err" && pass || fail "missing input"
# Usage errors: exit 2 with the reason first.
for args in "" "--json --catalog $static" "--annotations Not_A_Label $static" \
    "--annotations app $static" "--prefix -bad $static" "--image -bad $static" "a b"; do
    # shellcheck disable=SC2086 # the arguments are meant to split
    "$bin" inspect $args >/dev/null 2>"$work/u.err"
    urc=$?
    [ "$urc" = 2 ] && head -n 1 "$work/u.err" | grep -q '^goinject: inspect: ' && pass ||
        fail "inspect $args: exit $urc: $(head -n 1 "$work/u.err")"
done

# Archives with escaping names and links: read in memory only, so nothing lands outside.
canary=/tmp/goinject-inspect-canary-$$
rm -f "$canary"
python3 - "$work" "$canary" "$static" <<'EOF'
import io, json, sys, tarfile
work, canary, static = sys.argv[1], sys.argv[2], sys.argv[3]
def member(tar, name, data=b"", kind=tarfile.REGTYPE, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size, info.mode = kind, link, len(data), 0o755
    tar.addfile(info, io.BytesIO(data) if data else None)
layer = io.BytesIO()
with tarfile.open(fileobj=layer, mode="w", format=tarfile.GNU_FORMAT) as t:
    member(t, "../../../../.." + canary, b"escaped")
    member(t, canary, b"absolute")
    member(t, "bin/sh", kind=tarfile.SYMTYPE, link="../../../../bin/sh")
    member(t, "loop/a", kind=tarfile.SYMTYPE, link="../loop/b")
    member(t, "loop/b", kind=tarfile.SYMTYPE, link="/loop/a")
    member(t, "app", open(static, "rb").read())
    member(t, "hard", kind=tarfile.LNKTYPE, link="../../../etc/passwd")
config = json.dumps({"config": {"Entrypoint": ["/loop/a"], "Cmd": []}}).encode()
manifest = json.dumps([{"Config": "c.json", "RepoTags": ["evil:1"], "Layers": ["l/layer.tar"]}]).encode()
with tarfile.open(f"{work}/evil.tar", "w") as t:
    member(t, "l/layer.tar", layer.getvalue())
    member(t, "c.json", config)
    member(t, "manifest.json", manifest)
with tarfile.open(f"{work}/evil2.tar", "w") as t:
    member(t, "l/layer.tar", layer.getvalue())
    member(t, "c.json", config)
    member(t, "manifest.json", json.dumps([{"Config": "/../../../etc/passwd", "Layers": []}]).encode())
EOF
(cd "$work" && "$bin" inspect --json evil.tar >"$work/evil.json" 2>"$work/evil.err")
erc=$?
[ "$erc" -le 2 ] && pass || fail "evil.tar: exit $erc"
"$here/expect.py" "$work/evil.json" staticGo=null shell=none && pass || fail "evil.tar facts"
grep -q 'too many levels of symbolic links' "$work/evil.json" && pass || fail "loop note missing"
[ ! -e "$canary" ] && pass || fail "something was written to $canary"
expect_clean "manifest with an escaping config path" "$work/evil2.tar"
for n in 100 700 3000 20000; do
    head -c "$n" "$build/images/scratch.tar" >"$work/img-trunc-$n" 2>/dev/null || head -c "$n" "$work/evil.tar" >"$work/img-trunc-$n"
    expect_clean "image archive truncated to $n bytes" "$work/img-trunc-$n"
done

echo "inspect: $passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
