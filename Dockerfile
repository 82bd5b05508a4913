# Dockerfile - one image with every binary of the project: tenant-service,
# notification-service, graph-sim and mint-token. docker-compose.yml picks the binary
# per container with `command:`.
#
#   docker build -t bakery-whatsapp .
#   docker run --rm bakery-whatsapp notification-service --help
#
# Two stages on Debian 12. The build stage has the compiler and the -dev packages of
# every library the Makefile links (its PKGS line); the run stage has only the matching
# runtime libraries. tests/shell/test_deploy.sh checks the two package lists against the
# Makefile, so a library added there must be added here too. Migrations are compiled into
# the binaries (tools/embed), and so is each service's part of docs/openapi.yaml
# (tools/openapi-embed, which needs libyaml-dev in the build stage only): no SQL or YAML
# file is copied.

FROM debian:bookworm-slim AS build
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        build-essential pkg-config \
        libmicrohttpd-dev libpq-dev libcurl4-openssl-dev libjansson-dev uuid-dev \
        libssl-dev libjwt-dev libyaml-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# .dockerignore keeps build/, .run/, node_modules, .git and .env out of the context.
COPY . .
RUN make -j"$(nproc)" bins \
    && strip --strip-unneeded build/tenant-service build/notification-service \
        build/graph-sim build/mint-token

FROM debian:bookworm-slim AS run
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libmicrohttpd12 libpq5 libcurl4 libjansson4 libuuid1 libssl3 libjwt0 \
        ca-certificates curl \
    && rm -rf /var/lib/apt/lists/*
# A fixed uid, so volume permissions and runAsNonRoot-style policies can rely on it.
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /nonexistent --no-create-home \
        --shell /usr/sbin/nologin app
COPY --from=build /src/build/tenant-service /src/build/notification-service \
    /src/build/graph-sim /src/build/mint-token /usr/local/bin/
COPY frontend-static/ /usr/share/bakery-whatsapp/frontend-static/
# Containers listen on every interface (the binaries default to 127.0.0.1; graph-sim
# has its own variable).
ENV BIND_ADDRESS=0.0.0.0 \
    GRAPH_SIM_BIND_ADDRESS=0.0.0.0 \
    STATIC_DIR=/usr/share/bakery-whatsapp/frontend-static
USER app
EXPOSE 8001 8002 8090
# The binaries stop cleanly on SIGTERM (Docker's default stop signal) within 10 s.
STOPSIGNAL SIGTERM
CMD ["tenant-service"]
