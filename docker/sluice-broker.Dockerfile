# syntax=docker/dockerfile:1
# The sluice-broker image. Build from the repository root:
#   docker build -f docker/sluice-broker.Dockerfile -t sluice-broker .
# It moves to crates/sluice-broker/Dockerfile once that crate is on this branch: a folder under
# crates/ without a Cargo.toml breaks the workspace's `crates/*` members glob.
# UID/GID 10001, as for sluice-control, so one securityContext fits both.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p sluice-broker --bin sluice-broker \
    && install -D -m 0755 target/release/sluice-broker /out/sluice-broker

FROM debian:bookworm-slim
# The data directory is created owned by the broker's user, so an empty volume mounted there
# (with fsGroup 10001) is writable.
RUN groupadd --system --gid 10001 sluice \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin sluice \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/sluice
COPY --from=build /out/sluice-broker /usr/local/bin/sluice-broker
USER 10001:10001
ENV SLUICE_DATA_DIR=/var/lib/sluice \
    SLUICE_LISTENERS=PLAINTEXT://0.0.0.0:9092
VOLUME ["/var/lib/sluice"]
EXPOSE 9092
ENTRYPOINT ["/usr/local/bin/sluice-broker"]
