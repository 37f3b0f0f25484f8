#!/usr/bin/env bash
# Builds the pinned Pulumi toolchain from Go modules (no prebuilt download is reachable here)
# and caches Go's module/build caches and the binaries outside the repo, keyed by version.
#   tools/toolchain.sh build   build what is missing (seconds when cached)
#   tools/toolchain.sh env     print the environment the wrapper exports
#   tools/toolchain.sh check   exit 0 when every binary is present
set -euo pipefail

# The CLI's version lives in tools/pulumi-version, which the workflow's pulumi/actions reads too. It is not the
# SDK's (requirements.txt): the Go proxy here serves no pkg/v3 at the newest Python SDK's version.
PULUMI_VERSION=v$(<"$(dirname "${BASH_SOURCE[0]}")/pulumi-version")
CACHE_ROOT=${PROXMOX_HA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/proxmox-ha}
TOOLS_DIR=$CACHE_ROOT/toolchain/pulumi-$PULUMI_VERSION
BIN_DIR=$TOOLS_DIR/bin

export GOMODCACHE=$CACHE_ROOT/go/mod
export GOCACHE=$CACHE_ROOT/go/build
export GOTOOLCHAIN=local
export GOFLAGS=-mod=mod
# sum.golang.org is unreachable here; module zips still carry their own go.sum.
export GOSUMDB=off

log() { printf '[toolchain] %s\n' "$*" >&2; }

fail() {
  log "FAILED: $1"
  log "what to try: $2"
  exit 1
}

build_cli() {
  local out=$BIN_DIR/pulumi
  if [[ -x $out ]]; then log "pulumi $PULUMI_VERSION: cached at $out"; return; fi
  log "pulumi $PULUMI_VERSION: downloading github.com/pulumi/pulumi/pkg/v3 (step 1/3)"
  local dir
  dir=$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])') \
    || fail "go mod download github.com/pulumi/pulumi/pkg/v3@$PULUMI_VERSION" \
            "check that the Go proxy serves this version: go list -m -versions github.com/pulumi/pulumi/pkg/v3"
  local work=$CACHE_ROOT/src/pkg-$PULUMI_VERSION
  rm -rf "$work" && mkdir -p "$work" && cp -r "$dir/." "$work" && chmod -R u+w "$work"
  # The module's go.mod points sdk/v3 at ../sdk (a sibling in the monorepo); use the served sdk of the same version.
  (cd "$work" && go mod edit -dropreplace github.com/pulumi/pulumi/sdk/v3 \
      -require "github.com/pulumi/pulumi/sdk/v3@$PULUMI_VERSION")
  log "pulumi $PULUMI_VERSION: resolving dependencies (step 2/3)"
  (cd "$work" && go mod download) \
    || fail "dependencies of pkg/v3@$PULUMI_VERSION" "see which module the proxy refused above; rerun 'make tools' to resume"
  log "pulumi $PULUMI_VERSION: compiling cmd/pulumi (step 3/3, the slow one: about 3-4 min cold on 2 cores)"
  mkdir -p "$BIN_DIR"
  (cd "$work" && go build -trimpath -o "$out.tmp" \
      -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION" ./cmd/pulumi) \
    || fail "go build ./cmd/pulumi of pkg/v3@$PULUMI_VERSION" "rerun 'make tools'; the Go build cache in $GOCACHE keeps finished packages"
  mv "$out.tmp" "$out"
  log "pulumi $PULUMI_VERSION: installed $out"
}

# One build at a time per cache: callers that find the CLI missing at once (pytest-xdist's workers running
# bin/pulumi or deploy, two makes) would otherwise share $work and $out.tmp. The one that waited finds it cached.
build_one_at_a_time() {
  if command -v flock >/dev/null; then
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/toolchain.lock"
    flock 9
  fi
  build_cli
}

case ${1:-build} in
  build) build_one_at_a_time ;;
  check) [[ -x $BIN_DIR/pulumi ]] ;;
  env)   printf 'PROXMOX_HA_TOOLS_BIN=%q\n' "$BIN_DIR" ;;
  *) echo "usage: $0 build|check|env" >&2; exit 2 ;;
esac
