# cachet container action image: a static binary on a distroless base, no shell.
# The runner builds this with `docker build -f Dockerfile .` (context = the repo root)
# and runs it as root, so the final image keeps the default root user: the runner's
# file-command files (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY) belong to the runner and
# would not be writable by a non-root user.
FROM golang:1.26 AS build
WORKDIR /src
COPY . .
# CGO off: a static binary that runs on any base. PKCS#11 (HSM) mode needs cgo, so it
# lives in the release binaries for self-hosted runners, not in this image.
RUN CGO_ENABLED=0 GOFLAGS=-buildvcs=false go build -trimpath \
      -ldflags="-s -w -buildid= -X main.version=$(cat VERSION 2>/dev/null || echo dev)" \
      -o /out/cachet ./cmd/cachet

FROM gcr.io/distroless/static-debian12
COPY --from=build /out/cachet /usr/bin/cachet
ENTRYPOINT ["/usr/bin/cachet"]
