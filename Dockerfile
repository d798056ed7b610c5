# Two stages: a cgo build of pgkeep (pg_query_go compiles libpg_query with
# gcc), then a slim runtime with the same Debian release, so the binary's
# glibc matches.

FROM golang:1.26-bookworm AS builder
WORKDIR /src

# Download modules in their own layer, reused while go.mod and go.sum stay the same.
COPY go.mod go.sum ./
RUN go mod download

COPY . .
RUN CGO_ENABLED=1 go build -trimpath -o /out/pgkeep ./cmd/pgkeep

FROM debian:bookworm-slim

RUN groupadd --system pgkeep \
    && useradd --system --gid pgkeep --home-dir /var/lib/pgkeep --shell /usr/sbin/nologin pgkeep \
    && mkdir -p /var/lib/pgkeep \
    && chown pgkeep:pgkeep /var/lib/pgkeep \
    && chmod 0700 /var/lib/pgkeep

COPY --from=builder /out/pgkeep /usr/local/bin/pgkeep

USER pgkeep
EXPOSE 5432
VOLUME /var/lib/pgkeep

# The unix socket is disabled: clients reach the server through the
# published TCP port.
ENTRYPOINT ["pgkeep", "serve", "--data-dir", "/var/lib/pgkeep", "--listen", "0.0.0.0:5432", "--socket-dir", ""]
