# Gatehouse build and test entry points. `make test` is the one command
# that runs every test; `make dev` runs the whole stack on this machine.

GO        ?= go
BIN       ?= bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 20s

.PHONY: all build build-gatehouse build-controller dev test test-deps unit vet fuzz bench loadtest clean image

all: build

## build: both binaries. `gatehouse controller` runs bin/gatehouse-controller,
## so the two must stay in one directory.
build: build-gatehouse build-controller

build-gatehouse:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gatehouse ./cmd/gatehouse

build-controller:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/gatehouse-controller ./cmd/gatehouse-controller

## image: the container image, tagged with VERSION (needs a Docker engine).
image:
	docker build --build-arg VERSION=$(VERSION) -t gatehouse:$(VERSION) .

dev: build-gatehouse
	$(BIN)/gatehouse dev --log-format=text

test-deps:
	hack/install-test-deps.sh

## test: every test, with the real components they need installed first.
## KUBEBUILDER_ASSETS and HELM point the Kubernetes tests at the cached tools.
test: test-deps vet
	kube_env="$$(hack/install-kube-tools.sh --print-env)" && eval "$$kube_env" && \
	$(GO) test -race -count=1 ./...

unit:
	$(GO) test -short -count=1 ./...

vet:
	$(GO) vet ./...

## fuzz: run each fuzz target for FUZZTIME.
fuzz:
	hack/fuzz.sh $(FUZZTIME)

bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

## loadtest: the pinned gRPC load run recorded in docs/benchmarks.md.
loadtest:
	hack/bench-check.sh

clean:
	rm -rf $(BIN)

.PHONY: generate manifests

## generate: the deep copy functions of the controller's API types.
generate:
	hack/controller-gen.sh object

## manifests: the OAuthClient CRD (config/crd/bases) and the controller's
## RBAC (config/rbac) from the kubebuilder markers in controller/.
manifests:
	hack/controller-gen.sh manifests

.PHONY: chart-crds

## chart-crds: copy the generated CRDs into the Helm chart, which renders
## them as templates. go test ./test/chart fails while the copies are stale.
chart-crds:
	rm -f charts/gatehouse/files/crds/*.yaml
	cp config/crd/bases/*.yaml charts/gatehouse/files/crds/
