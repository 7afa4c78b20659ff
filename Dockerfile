# Switchboard's image: one static binary on an empty base, run as a non-root user, the
# queue on the /data volume, health checked with the binary itself (switchboard probe).
#
#   make image                       (or: docker build --build-arg VERSION=v1.2.3 -t switchboard .)
#   docker run -p 8080:8080 -v switchboard-data:/data \
#     -v "$PWD/switchboard.yaml:/etc/switchboard/switchboard.yaml:ro" switchboard
#
# A mounted config must listen on 0.0.0.0:8080 and keep data_dir /data. GO_IMAGE is the
# toolchain the binary is built with. BUILT names the stage, or a local image, whose /out
# holds the binary and the empty data directory: by default the build stage here.
ARG GO_IMAGE=docker.io/library/golang:1.26-bookworm
ARG BUILT=build

FROM ${GO_IMAGE} AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X switchboard/gateway.version=${VERSION}" \
      -o /out/switchboard ./cmd/switchboard \
 && mkdir -p /out/data

FROM ${BUILT} AS built

FROM scratch
COPY --from=built /out/switchboard /switchboard
COPY --from=built --chown=65532:65532 /out/data /data
COPY deploy/container.yaml /etc/switchboard/switchboard.yaml
# 65532: the conventional "nonroot" user of distroless images; no passwd file is needed.
USER 65532:65532
VOLUME /data
EXPOSE 8080
# /readyz answers 503 while draining on SIGTERM, so an orchestrator stops routing here first.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/switchboard", "probe", "-url", "http://127.0.0.1:8080/readyz"]
# The default stop timeout (10s) is shorter than drain + shutdown: give docker run or the
# orchestrator --stop-timeout 30 or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/switchboard"]
CMD ["serve", "-config", "/etc/switchboard/switchboard.yaml"]
