# syntax=docker/dockerfile:1
#
# One image for the whole fleet: the six workers and the `hotline` admin command; the entrypoint
# runs the program named by the first argument:
#
#   docker build -t hotline:local .
#   docker run --rm hotline:local hotline --help
#   docker run --rm -e DATABASE_URL_FILE=/run/secrets/database_url … hotline:local intake-extraction
#
# Build: a release build linked against the Swift runtime's shared libraries, which go once into
# /opt/hotline/lib (the programs find them through their $ORIGIN/../lib run path; the builder's
# toolchain folder, also in the run path, does not exist in the runtime image): seven programs
# share one copy of Foundation and its ICU data. Linked statically instead, every program
# carried its own (about 98 MB each, 666 MB in all). The runtime image then needs only glibc,
# libstdc++, libgcc_s and zlib (all in debian:bookworm-slim) plus ca-certificates (TLS to the SMS
# gateway and to PostgreSQL with sslmode=verify-full), tzdata and curl (the health check).
# `hotline-bench` stays out: it starts its own PostgreSQL clusters and belongs on a build
# machine, not in production.
#
# ops/image-build performs these same steps natively (no Docker engine needed) and checks the
# result; Tests/DeployKitTests checks that the two name the same programs, files and packages.

ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------------------------
FROM ${SWIFT_IMAGE} AS build

# Kept in step with ops/image-build (products, swift_build_flags, data_files).
ARG HOTLINE_PRODUCTS="intake-extraction auto-dispatch sla-timer escalation sms-notify satisfaction-callback hotline"
ARG SWIFT_BUILD_FLAGS="-c release -Xlinker -rpath -Xlinker \$ORIGIN/../lib"
ARG HOTLINE_DATA_FILES="complaints-corpus.tsv callback-replies.tsv callback-replies-holdout.tsv README.md"

WORKDIR /src
# The manifest first, so dependency resolution is cached while only our sources change.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
COPY sql ./sql
COPY data ./data
COPY ops/hotline-entrypoint ./ops/hotline-entrypoint

# Release build of each product, then the image's layout under /staging (as ops/image-build):
#   /opt/hotline/bin   the programs and hotline-entrypoint (debug info stripped, symbols kept
#                      so a crash report still names functions)
#   /opt/hotline/lib   the Swift runtime libraries the programs use (what ldd finds in the toolchain)
#   /opt/hotline/sql   the migrations `hotline migrate` applies
#   /opt/hotline/data  the labelled corpus `hotline load-corpus` loads, the reply corpora
RUN set -eu; \
    for product in $HOTLINE_PRODUCTS; do \
        swift build $SWIFT_BUILD_FLAGS --product "$product"; \
    done; \
    bin=$(swift build $SWIFT_BUILD_FLAGS --show-bin-path); \
    mkdir -p /staging/opt/hotline/bin /staging/opt/hotline/lib /staging/opt/hotline/sql /staging/opt/hotline/data; \
    for product in $HOTLINE_PRODUCTS; do \
        install -m 0755 "$bin/$product" /staging/opt/hotline/bin/; \
        strip --strip-debug /staging/opt/hotline/bin/"$product"; \
    done; \
    for product in $HOTLINE_PRODUCTS; do \
        ldd "$bin/$product" | awk '$3 ~ /\/swift\/linux\// { print $3 }'; \
    done | sort -u | xargs -r install -m 0644 -t /staging/opt/hotline/lib/; \
    strip --strip-debug /staging/opt/hotline/lib/*.so; \
    install -m 0755 ops/hotline-entrypoint /staging/opt/hotline/bin/hotline-entrypoint; \
    install -m 0644 sql/*.sql /staging/opt/hotline/sql/; \
    for file in $HOTLINE_DATA_FILES; do \
        install -m 0644 "data/$file" /staging/opt/hotline/data/; \
    done

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE}

# Kept in step with ops/image-build (runtime_packages).
ARG RUNTIME_PACKAGES="ca-certificates tzdata curl"
RUN export DEBIAN_FRONTEND=noninteractive \
    && apt-get update -q \
    && apt-get install -y -q --no-install-recommends $RUNTIME_PACKAGES \
    && rm -rf /var/lib/apt/lists/*

# A fixed non-root user, so Kubernetes' runAsNonRoot and file ownership of mounted secrets work;
# /var/lib/hotline/sms is its only writable folder (the file SMS gateway's spool, a volume).
RUN groupadd --system --gid 10001 hotline \
    && useradd --system --uid 10001 --gid hotline --home-dir /opt/hotline --no-create-home --shell /usr/sbin/nologin hotline \
    && install -d -o 10001 -g 10001 -m 0750 /var/lib/hotline /var/lib/hotline/sms

COPY --from=build /staging/opt/hotline /opt/hotline

ENV PATH=/opt/hotline/bin:$PATH \
    HOTLINE_SQL_DIR=/opt/hotline/sql \
    HOTLINE_HTTP_HOST=0.0.0.0 \
    HOTLINE_LOG_FORMAT=json

WORKDIR /opt/hotline
USER 10001:10001
# Status ports of the six workers (/healthz, /metrics): 9401 … 9406.
EXPOSE 9401 9402 9403 9404 9405 9406
# Workers drain on SIGTERM (HOTLINE_SHUTDOWN_GRACE_SECONDS, then release their jobs).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/hotline/bin/hotline-entrypoint"]
CMD ["--help"]
