#!/usr/bin/env bash
# Runs controller-gen at the version that generated the committed files in
# controller/api and config/. `go run` builds it once and caches the binary
# in the Go build cache, so later runs start in about a second.
#
# Usage: hack/controller-gen.sh ARGS...
#
# Environment:
#   GO  go command (default go)
set -euo pipefail

CONTROLLER_TOOLS_VERSION=v0.23.0

exec "${GO:-go}" run "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" "$@"
