# syntax=docker/dockerfile:1
# The LifeOS relay with the web app, as one small image (docs/operating.md).
#
# Build stage: the same commands .ci/run runs (scripts/test.sh):
# ./web/build.sh for the web app (wasm-release, the wasm-bindgen pinned in
# Cargo.lock, wasm-opt from npm binaryen) and the relay's release build.
FROM rust:1.95-bookworm AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm python3 \
    && rm -rf /var/lib/apt/lists/*
RUN rustup target add wasm32-unknown-unknown
WORKDIR /src
COPY . .
RUN ./web/build.sh
RUN cargo build --release --locked -p lifeos-relay

# Runtime: Debian slim, the binary, the built web app, a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin lifeos \
    && mkdir -p /data /app \
    && chown lifeos:lifeos /data
COPY --from=build /src/target/release/lifeos-relay /usr/local/bin/lifeos-relay
COPY --from=build /src/web/dist /app/web
# The same settings as outside a container (CONTRACT.md); only where things
# live differs. Without DATABASE_URL the relay uses SQLite in /data.
ENV LIFEOS_BIND=0.0.0.0:8080 \
    LIFEOS_DATA_DIR=/data \
    LIFEOS_WEB_DIR=/app/web \
    LIFEOS_LOG_FORMAT=json
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["lifeos-relay", "healthcheck"]
ENTRYPOINT ["lifeos-relay"]
CMD ["serve"]
