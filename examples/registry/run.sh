#!/usr/bin/env bash
# Shares a model through an OCI registry, end to end, for real (see README.md beside this
# script): starts a local registry, pushes the `sage` component, signs it, pulls it by digest,
# trains 2 epochs on a small demo graph with `--plugin oci://…@sha256:…` under a trust policy,
# predicts with `--locked`, checks that `gs serve` refuses a different plugin, serves the model
# with the same reference and sends it one request, and publishes the same component to an
# offline layout. Everything runs in a temporary folder; the registry and the server are
# stopped on exit, whatever happens.
#
# Environment:
#   GS               the gs binary (default: `gs` on PATH)
#   GS_REGISTRY_BIN  a docker-registry 2.x binary (default: what `cargo xtask registry`, run in
#                    this repository, prints; it unpacks Debian's package into your cache)
#   PLUGIN           the component to share (default: the built-in `sage` that `cargo build -p gs`
#                    leaves under target/, else the copy a one-epoch `--plugin sage` run saves)
#   OTHER_PLUGIN     a different component, for the refusal check (default: `rgcn`, found the
#                    same way)
#   KEEP_WORK=1      keep the temporary folder (it is kept anyway when the run fails)
#
# Needs bash and curl. gs's caches and config live in the temporary folder (GS_CACHE_DIR,
# XDG_CONFIG_HOME), so your plugin cache and your own trust policy are left alone.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
demo_yaml="$here/../demo/nc.yaml"
GS="${GS:-gs}"

say() { printf '\n== %s\n' "$*"; }
fail() {
    printf 'run.sh: %s\n' "$*" >&2
    exit 1
}
# Prints a command, then runs it.
show() {
    printf '$ %s\n' "$*"
    "$@"
}

command -v curl >/dev/null || fail "curl is needed (to talk to the registry and the server)"
command -v "$GS" >/dev/null || fail "no gs binary \`$GS\`: build it (cargo build -p gs) and set GS"
# Paths given relative to where the script was started, made absolute before it moves.
absolute() { if [[ "$1" == /* ]]; then echo "$1"; else echo "$PWD/$1"; fi; }
gs_bin="$(absolute "$(command -v "$GS")")"
gs() { "$gs_bin" "$@"; }
target_dir="$(absolute "${CARGO_TARGET_DIR:-$repo/target}")"
[[ -z "${PLUGIN:-}" ]] || PLUGIN="$(absolute "$PLUGIN")"
[[ -z "${OTHER_PLUGIN:-}" ]] || OTHER_PLUGIN="$(absolute "$OTHER_PLUGIN")"

if [[ -z "${GS_REGISTRY_BIN:-}" ]]; then
    say "finding the registry binary (cargo xtask registry)"
    GS_REGISTRY_BIN="$(cd "$repo" && cargo xtask registry)" ||
        fail "cargo xtask registry failed; set GS_REGISTRY_BIN to a docker-registry 2.x binary"
fi
[[ -x "$GS_REGISTRY_BIN" ]] || fail "GS_REGISTRY_BIN=$GS_REGISTRY_BIN is not an executable"
GS_REGISTRY_BIN="$(absolute "$GS_REGISTRY_BIN")"

work="$(mktemp -d -t gs-registry-example.XXXXXX)"
registry_pid=""
server_pid=""
ok=""

# Stops a process this script started: SIGTERM, up to 10 s, then SIGKILL; always reaped.
stop() {
    local pid="$1" i
    [[ -n "$pid" ]] || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local status=$?
    stop "$server_pid"
    server_pid=""
    stop "$registry_pid"
    registry_pid=""
    if [[ -n "$ok" && "${KEEP_WORK:-}" != 1 ]]; then
        rm -rf "$work"
    else
        printf 'run.sh: the files of this run are in %s\n' "$work" >&2
        if [[ -z "$ok" ]]; then
            for log in "$work"/registry/registry.log "$work"/serve*.log; do
                [[ -f "$log" ]] && printf -- '--- %s (last lines)\n%s\n' "$log" "$(tail -n 20 "$log")" >&2
            done
        fi
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cd "$work"
export GS_CACHE_DIR="$work/gs-cache" XDG_CONFIG_HOME="$work/config"
export GS_REGISTRY_TIMEOUT_S="${GS_REGISTRY_TIMEOUT_S:-10}"

# A loopback port nothing listens on (another process may still take it before we bind: the
# callers retry on a fresh one).
free_port() {
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    fail "found no free loopback port"
}

http_status() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$1" || true; }

# The components: given, from the build's target folder, or saved by a one-epoch run.
component() {
    local name="$1" file
    file="$target_dir/wasm-guests/wasm32-wasip2/release/$name.wasm"
    if [[ -f "$file" ]]; then
        echo "$file"
        return 0
    fi
    # Every checkpoint carries the exact component that trained it.
    gs launch --num-trainers 1 --part-config data/demo.json --cf "$demo_yaml" --plugin "$name" \
        --num-epochs 1 --save-model-path "builtin-$name" >"builtin-$name.log" 2>&1 ||
        fail "training with the built-in $name failed: see $work/builtin-$name.log"
    echo "$work/builtin-$name/epoch-0/plugin.wasm"
}

say "a small demo graph"
show gs generate demo --output-dir data --num-papers 200 --num-authors 100
PLUGIN="${PLUGIN:-$(component sage)}"
OTHER_PLUGIN="${OTHER_PLUGIN:-$(component rgcn)}"
[[ -f "$PLUGIN" ]] || fail "PLUGIN=$PLUGIN does not exist"
[[ -f "$OTHER_PLUGIN" ]] || fail "OTHER_PLUGIN=$OTHER_PLUGIN does not exist"

say "a local registry (docker-registry, plain HTTP on 127.0.0.1)"
mkdir -p registry/data
start_registry() {
    local attempt i
    for ((attempt = 1; attempt <= 5; attempt++)); do
        registry_port="$(free_port)"
        cat >registry/config.yml <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: "$work/registry/data"
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$registry_port
EOF
        (
            # REGISTRY_* variables would override the config file.
            for var in $(compgen -e); do
                [[ "$var" != REGISTRY_* ]] || unset "$var"
            done
            exec "$GS_REGISTRY_BIN" serve registry/config.yml
        ) >registry/registry.log 2>&1 &
        registry_pid=$!
        for ((i = 0; i < 200; i++)); do
            if [[ "$(http_status "http://127.0.0.1:$registry_port/v2/")" == 200 ]]; then
                echo "registry on 127.0.0.1:$registry_port (pid $registry_pid)"
                return 0
            fi
            kill -0 "$registry_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop "$registry_pid"
        registry_pid=""
        grep -q "address already in use" registry/registry.log || break
    done
    fail "the registry did not start: see registry/registry.log"
}
start_registry
host="127.0.0.1:$registry_port"
tagged="oci://$host/gs-examples/sage:1.0"

say "push (the manifest digest it prints is what to share)"
printf '$ gs plugin push %s %s\n' "$PLUGIN" "$tagged"
push_out="$(gs plugin push "$PLUGIN" "$tagged")"
echo "$push_out"
manifest="$(sed -n 's/^manifest: *//p' <<<"$push_out")"
component_digest="$(sed -n 's/^component: *\([^ ]*\).*/\1/p' <<<"$push_out")"
ref="$(sed -n 's/^pull it by digest: *//p' <<<"$push_out")"
[[ "$ref" == "oci://$host/gs-examples/sage@$manifest" ]] || fail "unexpected push output"

say "pull by digest (every blob checked against its digest)"
show gs plugin pull "$ref" | tee pull.log
grep -q "^component: *$component_digest" pull.log || fail "the pulled component is not the pushed one"

say "sign, verify, and a trust policy that requires the team's signature"
mkdir -p keys
show gs plugin keygen --output keys/team
show gs plugin sign "$ref" --key keys/team
show gs plugin verify "$ref" --key keys/team.pub | tee verify.log
key_id="$(sed -n 's/.* is signed by key //p' verify.log)"
cat >policy.toml <<EOF
[default]
require_signature = false

[[namespace]]
prefix = "oci://$host/gs-examples"
keys = ["keys/team.pub"]
require_signature = true
EOF
cat policy.toml

say "train 2 epochs from the registry (gs.lock pins the reference)"
show gs launch --num-trainers 1 --part-config data/demo.json --cf "$demo_yaml" \
    --plugin "$ref" --trust-policy policy.toml --num-epochs 2 --save-model-path model
grep -qF "reference = \"$ref\"" gs.lock || fail "gs.lock does not pin $ref"
grep -qF "\"source\": \"$ref\"" model/epoch-1/checkpoint.json ||
    fail "the checkpoint does not record $ref"

say "predict with --locked (only what gs.lock pins)"
show gs launch --inference --num-trainers 1 --part-config data/demo.json \
    --restore-model-path model/epoch-1 --plugin "$ref" --locked true \
    --trust-policy policy.toml --save-prediction-path pred
[[ -f pred/paper/pred.predict-00000_00000.parquet ]] || fail "no predictions written"

say "gs serve refuses a plugin that did not train the model"
other_push="$(gs plugin push "$OTHER_PLUGIN" "oci://$host/scratch/other:1.0")"
other_ref="$(sed -n 's/^pull it by digest: *//p' <<<"$other_push")"
printf '$ gs serve --model-dir model --plugin %s ...\n' "$other_ref"
if gs serve --model-dir model --plugin "$other_ref" --trust-policy policy.toml \
    --host 127.0.0.1 --port "$(free_port)" >serve-refused.log 2>&1; then
    fail "gs serve accepted a plugin that did not train the model"
fi
cat serve-refused.log
grep -q "is not the plugin that trained" serve-refused.log || fail "gs serve failed for another reason"

say "serve the model with the same reference, checked against the checkpoint"
start_server() {
    local attempt i
    for ((attempt = 1; attempt <= 5; attempt++)); do
        server_port="$(free_port)"
        printf '$ gs serve --model-dir model --plugin %s --trust-policy policy.toml --host 127.0.0.1 --port %s &\n' \
            "$ref" "$server_port"
        # The binary itself in the background (not a shell function), so that $! is its pid.
        "$gs_bin" serve --model-dir model --plugin "$ref" --trust-policy policy.toml \
            --host 127.0.0.1 --port "$server_port" >serve.log 2>&1 &
        server_pid=$!
        for ((i = 0; i < 1200; i++)); do
            if [[ "$(http_status "http://127.0.0.1:$server_port/ping")" == 200 ]]; then
                echo "GET /ping: 200"
                return 0
            fi
            kill -0 "$server_pid" 2>/dev/null || break
            sleep 0.1
        done
        stop "$server_pid"
        server_pid=""
        grep -qi "address already in use" serve.log || break
    done
    fail "gs serve did not become ready: see serve.log"
}
start_server

# One gs-realtime-v0.1 request: paper p0, cited by paper p1 and written by author a0, each
# with a `feat` of the width the graph has.
width() {
    gs graph info --part-config data/demo.json |
        awk -v t="$1:" '/^  [^ ]/ { type = $1 } type == t && $1 == "feat:" { n = $3; gsub(/[^0-9]/, "", n); print n }'
}
vector() {
    local n="$1" seed="$2" i out=""
    for ((i = 0; i < n; i++)); do
        out+="${out:+,}0.$(((i * 7 + seed) % 10))"
    done
    echo "[$out]"
}
paper_width="$(width paper)"
author_width="$(width author)"
[[ "$paper_width" =~ ^[0-9]+$ && "$author_width" =~ ^[0-9]+$ ]] ||
    fail "cannot read the feature widths from gs graph info"
cat >payload.json <<EOF
{
  "version": "gs-realtime-v0.1",
  "gml_task": "node_classification",
  "graph": {
    "nodes": [
      {"node_type": "paper", "node_id": "p0", "features": {"feat": $(vector "$paper_width" 1)}},
      {"node_type": "paper", "node_id": "p1", "features": {"feat": $(vector "$paper_width" 2)}},
      {"node_type": "author", "node_id": "a0", "features": {"feat": $(vector "$author_width" 3)}}
    ],
    "edges": [
      {"edge_type": ["paper", "cites", "paper"], "src_node_id": "p1", "dest_node_id": "p0"},
      {"edge_type": ["author", "writes", "paper"], "src_node_id": "a0", "dest_node_id": "p0"}
    ]
  },
  "targets": [{"node_type": "paper", "node_id": "p0"}]
}
EOF
echo '$ curl -H "Content-Type: application/json" --data-binary @payload.json .../invocations'
invocation_status="$(curl -s -o response.json -w '%{http_code}' --max-time 120 \
    -H 'Content-Type: application/json' --data-binary @payload.json \
    "http://127.0.0.1:$server_port/invocations" || true)"
cat response.json
echo
[[ "$invocation_status" == 200 ]] || fail "POST /invocations answered HTTP $invocation_status"
grep -q '"status_code": *200' response.json || fail "the response's status_code is not 200"
prediction="$(sed -n 's/.*"prediction": *\(\[[^]]*\]\).*/\1/p' response.json)"
[[ -n "$prediction" ]] || fail "the response has no prediction"
stop "$server_pid"
server_pid=""

say "offline: the same component in an image layout (a folder to copy anywhere)"
show gs plugin push "$PLUGIN" oci-layout:layout:1.0 | tee layout-push.log
layout_manifest="$(sed -n 's/^manifest: *//p' layout-push.log)"
[[ "$layout_manifest" == "$manifest" ]] || fail "the layout's manifest differs from the registry's"
show gs plugin sign "oci-layout:layout@$manifest" --key keys/team
show gs plugin verify "oci-layout:layout@$manifest" --key keys/team.pub
show gs plugin list

stop "$registry_pid"
registry_pid=""
ok=1

cat <<EOF

== summary
registry:      http://$host (stopped)
pushed:        $tagged
manifest:      $manifest
component:     $component_digest
signed by:     key $key_id (policy.toml requires it for oci://$host/gs-examples)
trained:       2 epochs with --plugin $ref
gs.lock pins:  $ref
inference:     --locked: predictions written
wrong plugin:  refused by gs serve ($other_ref)
served:        GET /ping 200, POST /invocations 200 on http://127.0.0.1:$server_port (stopped)
prediction:    paper p0 -> $prediction
offline:       oci-layout:layout@$manifest (same manifest, signed, verified)
OK: the registry and the server are stopped
EOF
