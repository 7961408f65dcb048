#!/usr/bin/env bash
# Installs the Kubernetes tools that the controller and Helm chart tests run:
# etcd (Debian's etcd-server package), kube-apiserver (built from the
# k8s.io/kubernetes module) and helm (built from helm.sh/helm/v4). Each tool
# goes into a cache outside the checkout, in a folder named after the tool
# and its version, so a second run on the same machine builds nothing.
#
# Usage: hack/install-kube-tools.sh [--print-env]
#
# Without arguments it installs what is missing and prints the paths as
# KUBEBUILDER_ASSETS=DIR and HELM=PATH lines. With --print-env it prints
# `export` lines instead, for `eval` in the Makefile or CI. Progress and
# errors go to stderr, so stdout holds only those lines.
#
# Environment:
#   GATEHOUSE_TOOLS_DIR  cache root (default /var/cache/gatehouse-tools)
#   GO                   go command (default go)
#
# A cold run needs root (for apt-get). Measured on a 2-core machine with empty
# Go module and build caches (GOMODCACHE, GOCACHE), building kube-apiserver
# took 466 s and helm 109 s, 11 CPU-minutes together.
set -euo pipefail

KUBE_VERSION=v1.37.2        # k8s.io/kubernetes release that kube-apiserver is built from
KUBE_MODULE_VERSION=v0.37.2 # the published k8s.io/* modules of that release
HELM_VERSION=v4.3.2

TOOLS_DIR="${GATEHOUSE_TOOLS_DIR:-/var/cache/gatehouse-tools}"
GO="${GO:-go}"

mode=paths
case "${1:-}" in
  "") ;;
  --print-env) mode=env ;;
  *)
    echo "usage: $0 [--print-env]" >&2
    exit 2
    ;;
esac

log() { echo "install-kube-tools: $*" >&2; }

# etcd_version prints the upstream version of the candidate etcd-server
# package, for example 3.4.23 for 3.4.23-4+b4.
etcd_version() {
  local v
  v="$(dpkg-query -W -f='${Version}' etcd-server 2>/dev/null || true)"
  if [ -z "$v" ]; then
    v="$(apt-cache policy etcd-server 2>/dev/null | awk '/Candidate:/ {print $2}')"
  fi
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    apt-get update -qq >&2
    v="$(apt-cache policy etcd-server | awk '/Candidate:/ {print $2}')"
  fi
  if [ -z "$v" ] || [ "$v" = "(none)" ]; then
    log "no etcd-server package found by apt-cache"
    return 1
  fi
  v="${v#*:}"
  echo "${v%%-*}"
}

# etcd_pids prints the PIDs of running processes whose program is
# /usr/bin/etcd, the path that the Debian package installs.
etcd_pids() {
  local pid
  for pid in $(pgrep -x etcd || true); do
    if [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = /usr/bin/etcd ]; then
      echo "$pid"
    fi
  done
}

# apt_install_etcd installs etcd-server without letting the package start a
# system etcd. A policy-rc.d that exits 101 makes invoke-rc.d deny every
# service start. One that is already there (Docker images ship one) is kept.
# A system etcd that appears during the install anyway is stopped by PID.
apt_install_etcd() {
  if [ "$(id -u)" -ne 0 ]; then
    log "etcd-server is missing; run this script as root or install it with apt-get"
    return 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2

  local before created_policy=0
  before=" $(etcd_pids | tr '\n' ' ') "
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  local status=0
  apt-get install -y -qq --no-install-recommends etcd-server >&2 || status=$?
  if [ "$created_policy" -eq 1 ]; then
    rm -f /usr/sbin/policy-rc.d
  fi
  stop_new_etcd "$before"
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl disable etcd >&2 2>/dev/null || true
  fi
  return "$status"
}

# stop_new_etcd stops /usr/bin/etcd processes whose PIDs are not in the
# space-separated list $1, that is, ones the package install started.
stop_new_etcd() {
  local pid
  for pid in $(etcd_pids); do
    case "$1" in
      *" $pid "*) continue ;;
    esac
    log "stopping the system etcd (pid $pid) that the package started"
    kill "$pid" || true
  done
}

# place_binary copies the file $1 to $2 through a temporary name in the same
# folder, so an interrupted copy never leaves a partial binary at $2, which
# the next run would take as installed.
place_binary() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp"
  mv "$2.tmp" "$2"
}

# NOTE: kube-apiserver v1.37.2 logs at start that etcd 3.4.23 does not
# support RequestWatchProgress, a feature that etcd 3.5 clusters have. CRDs,
# CEL rules and Secrets work, but watch-cache behaviour may differ from 3.5.
install_etcd() {
  local version dir
  version="$(etcd_version)"
  dir="$TOOLS_DIR/etcd-$version"
  if [ -x "$dir/etcd" ]; then
    echo "$dir"
    return
  fi
  if [ ! -x /usr/bin/etcd ]; then
    log "installing etcd-server $version with apt-get"
    apt_install_etcd
  fi
  place_binary /usr/bin/etcd "$dir/etcd"
  log "etcd $version in $dir"
  echo "$dir"
}

# rewrite_kube_gomod points the k8s.io/kubernetes go.mod in the current
# folder at the published k8s.io/* modules: the repository replaces them with
# its ./staging folders, which a module zip does not carry as modules.
rewrite_kube_gomod() {
  local module edits=()
  while read -r module; do
    edits+=("-dropreplace=$module" "-require=$module@$KUBE_MODULE_VERSION")
  done < <(grep -E '^\s*k8s\.io/[^ ]+ => \./staging/' go.mod | awk '{print $1}')
  if [ "${#edits[@]}" -eq 0 ]; then
    log "no ./staging replace directives found in k8s.io/kubernetes go.mod"
    return 1
  fi
  GOWORK=off "$GO" mod edit "${edits[@]}"
}

install_kube_apiserver() {
  local dir="$TOOLS_DIR/kube-apiserver-$KUBE_VERSION"
  if [ -x "$dir/kube-apiserver" ]; then
    echo "$dir"
    return
  fi
  local src start
  start=$SECONDS
  work="$(mktemp -d)"
  # main calls this function in a command substitution, which is a subshell,
  # so the EXIT trap fires when the function ends.
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  log "downloading k8s.io/kubernetes@$KUBE_VERSION"
  src="$(cd "$work" && GOWORK=off GOFLAGS=-mod=mod "$GO" mod download -json "k8s.io/kubernetes@$KUBE_VERSION" |
    sed -n 's/^\s*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$src" ]; then
    log "go mod download did not return a folder for k8s.io/kubernetes@$KUBE_VERSION"
    return 1
  fi
  cp -r "$src" "$work/kubernetes"
  chmod -R u+w "$work/kubernetes"
  rm -f "$work/kubernetes/go.work" "$work/kubernetes/go.work.sum"
  (cd "$work/kubernetes" && rewrite_kube_gomod)

  log "building kube-apiserver $KUBE_VERSION (about 8 minutes on 2 cores)"
  local pkg=k8s.io/component-base/version minor
  minor="${KUBE_VERSION#v1.}"
  minor="${minor%%.*}"
  (cd "$work/kubernetes" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod "$GO" build -trimpath \
    -ldflags "-s -w -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean" \
    -o "$work/kube-apiserver" ./cmd/kube-apiserver) >&2
  place_binary "$work/kube-apiserver" "$dir/kube-apiserver"
  log "built kube-apiserver in $((SECONDS - start)) s into $dir"
  echo "$dir"
}

install_helm() {
  local dir="$TOOLS_DIR/helm-$HELM_VERSION"
  if [ -x "$dir/helm" ]; then
    echo "$dir/helm"
    return
  fi
  local start
  start=$SECONDS
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  log "building helm $HELM_VERSION (about 2 minutes on 2 cores)"
  # Built outside any module, so the project's go.mod cannot change helm's
  # dependency versions. Without the -X flag, `helm version` reports v4.3, the
  # default in helm's internal/version package.
  (cd "$work" && CGO_ENABLED=0 GOWORK=off GOBIN="$work" "$GO" install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION") >&2
  place_binary "$work/helm" "$dir/helm"
  log "built helm in $((SECONDS - start)) s into $dir"
  echo "$dir/helm"
}

# link_assets makes the folder that envtest reads through KUBEBUILDER_ASSETS:
# it must contain both etcd and kube-apiserver.
link_assets() {
  local etcd_dir="$1" apiserver_dir="$2" dir
  dir="$TOOLS_DIR/envtest-$KUBE_VERSION-$(basename "$etcd_dir")"
  mkdir -p "$dir"
  ln -sfn "$etcd_dir/etcd" "$dir/etcd"
  ln -sfn "$apiserver_dir/kube-apiserver" "$dir/kube-apiserver"
  echo "$dir"
}

main() {
  mkdir -p "$TOOLS_DIR"
  # One install at a time per cache, so two runs never build into one folder.
  exec 9>"$TOOLS_DIR/.lock"
  flock 9

  local etcd_dir apiserver_dir assets helm
  etcd_dir="$(install_etcd)"
  apiserver_dir="$(install_kube_apiserver)"
  helm="$(install_helm)"
  assets="$(link_assets "$etcd_dir" "$apiserver_dir")"

  if [ "$mode" = env ]; then
    printf 'export KUBEBUILDER_ASSETS=%q\nexport HELM=%q\n' "$assets" "$helm"
    return
  fi
  printf 'KUBEBUILDER_ASSETS=%s\nHELM=%s\n' "$assets" "$helm"
}

main
