# syntax=docker/dockerfile:1
# One static, non-root image for every gatehouse subcommand. It holds two
# binaries side by side: /gatehouse, and /gatehouse-controller, which
# `gatehouse controller` runs from the same directory.
#   docker build --build-arg VERSION=$(git describe --tags --always) -t gatehouse .
#   docker run gatehouse extauthz --config /etc/gatehouse/extauthz.yaml
#   docker run gatehouse controller --namespace gatehouse --issuer-url https://auth.example.com

# The builder runs on the build machine's platform and cross-compiles for
# the target, so multi-platform builds need no emulation. Keep the tag in
# step with the go line of go.mod (test/examples checks it). Both images are
# pinned by digest; refresh a digest with `crane digest IMAGE:TAG`.
# NOTE: no registry is reachable from the build machines, so both digests
# come from public Dockerfiles that build with them (2026), not from a pull.
FROM --platform=$BUILDPLATFORM golang:1.26.8@sha256:3c3e25a4da13fd0478eed2df1eb35a0e667094a7124d3993a6a1d30f71c17e79 AS build
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

FROM gcr.io/distroless/static-debian12:nonroot@sha256:afa5c872c891853ca7fcf1f12c3edb23f7eeef36189728842dd51042ff57f7ab
COPY --from=build /out/gatehouse /out/gatehouse-controller /
USER 65532:65532
ENTRYPOINT ["/gatehouse"]
