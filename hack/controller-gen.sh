#!/usr/bin/env bash
# Generates the Kubernetes files of the controller with controller-gen, at
# the version pinned below:
#
#   object     the deep copy functions, controller/api/v1alpha1/zz_generated.deepcopy.go
#   manifests  the CRD in config/crd/bases and the RBAC in config/rbac
#
# Usage: hack/controller-gen.sh object|manifests [OUTDIR]
#
# Without OUTDIR the files go to their places in the checkout (what `make
# generate manifests` runs). With OUTDIR they go to the same relative paths
# under OUTDIR, which the staleness test in controller/ compares with the
# committed files. Run it from the checkout root.
#
# `go run` builds controller-gen once and caches the binary in the Go build
# cache, so later runs start in about a second.
#
# Environment:
#   GO  go command (default go)
set -euo pipefail

CONTROLLER_TOOLS_VERSION=v0.23.0
API_PACKAGE=controller/api/v1alpha1

usage() {
  echo "usage: $0 object|manifests [OUTDIR]" >&2
  exit 2
}

[ $# -ge 1 ] && [ $# -le 2 ] || usage
mode="$1"
out="${2:-.}"

controller_gen() {
  "${GO:-go}" run "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" "$@"
}

case "$mode" in
  object)
    # NOTE: output:object:dir writes every package's file into one folder,
    # so this handles a single API package; add a loop for a second one.
    controller_gen object "paths=./$API_PACKAGE/..." "output:object:dir=$out/$API_PACKAGE"
    ;;
  manifests)
    controller_gen crd rbac:roleName=gatehouse-controller paths=./controller/... \
      "output:crd:dir=$out/config/crd/bases" "output:rbac:dir=$out/config/rbac"
    ;;
  *) usage ;;
esac
