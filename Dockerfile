# syntax=docker/dockerfile:1
# One static, non-root image for every gatehouse subcommand. It holds two
# binaries side by side: /gatehouse, and /gatehouse-controller, which
# `gatehouse controller` runs from the same directory.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t gatehouse .
#   docker run gatehouse extauthz --config /etc/gatehouse/extauthz.yaml
#   docker run gatehouse controller --namespace gatehouse --issuer-url https://auth.example.com

# The builder runs on the build machine's platform and cross-compiles for
# the target, so multi-platform builds need no emulation. Keep the tag in
# step with the go line of go.mod.
FROM --platform=$BUILDPLATFORM golang:1.26.8 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS
ARG TARGETARCH
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/ ./cmd/gatehouse ./cmd/gatehouse-controller

# TODO: pin this image by digest as well as by tag; no registry was
# reachable to read the digest when this file was written.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/gatehouse /out/gatehouse-controller /
USER 65532:65532
ENTRYPOINT ["/gatehouse"]
