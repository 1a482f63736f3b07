# Omnibus developer and CI entry points. `make test` is what CI runs (after
# `make lint`), so it installs and starts what the tests need by itself.
#
# Every recipe is one bash script (.ONESHELL) that stops at the first failure;
# a leading @ on its first line silences the whole script.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.ONESHELL:
.DEFAULT_GOAL := build

# apt-get must never prompt (CI has no stdin); CI runs as root, a developer
# may not.
export DEBIAN_FRONTEND := noninteractive
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_INSTALL := $(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends

# Where the tests create throwaway databases; when set, the local PostgreSQL
# is left alone.
OMNIBUS_TEST_POSTGRES_URL ?=
PG_READY_TIMEOUT := 30

.PHONY: build run stop-nats test lint fmt bench deps deps-nats deps-postgres deps-chromium k8s-check image-check

## build: release binaries (omnibus, omnictl)
build:
	cargo build --release --bins

## run: everything in one process on a local nats-server and a SQLite file in
## ./data; both listeners on 127.0.0.1 unless OMNIBUS_HTTP_ADDR /
## OMNIBUS_GRPC_ADDR say otherwise. A NATS already on 4222 is reused only
## when it has JetStream; with OMNIBUS_NATS_URL set, that one is used.
run: deps-nats
	@mkdir -p data
	export OMNIBUS_HTTP_ADDR=$${OMNIBUS_HTTP_ADDR:-127.0.0.1:8080}
	export OMNIBUS_GRPC_ADDR=$${OMNIBUS_GRPC_ADDR:-127.0.0.1:50051}
	for addr in "$$OMNIBUS_HTTP_ADDR" "$$OMNIBUS_GRPC_ADDR"; do
	  host=$${addr%:*}; port=$${addr##*:}; [ "$$host" = 0.0.0.0 ] && host=127.0.0.1
	  if (exec 3<>"/dev/tcp/$$host/$$port") 2>/dev/null; then
	    echo "error: $$addr is already in use (another \`make run\`?); stop it or set OMNIBUS_HTTP_ADDR / OMNIBUS_GRPC_ADDR" >&2
	    exit 1
	  fi
	done
	if [ -z "$${OMNIBUS_NATS_URL:-}" ]; then
	  if (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; then
	    exec 3<>/dev/tcp/127.0.0.1/4222
	    info=""; IFS= read -r -t 3 info <&3 || true
	    exec 3<&-
	    case "$$info" in
	      INFO*'"jetstream":true'*) echo "reusing the nats-server already on 127.0.0.1:4222 (JetStream on)" ;;
	      INFO*) echo "error: the NATS on 127.0.0.1:4222 runs without JetStream, which Omnibus needs; stop it, restart it with -js, or set OMNIBUS_NATS_URL" >&2; exit 1 ;;
	      *) echo "error: 127.0.0.1:4222 is taken by something that is not NATS; stop it or set OMNIBUS_NATS_URL" >&2; exit 1 ;;
	    esac
	  else
	    echo "starting nats-server on 127.0.0.1:4222 (store ./data/nats, pid ./data/nats-server.pid)"
	    nats-server -c deploy/nats.conf -js -a 127.0.0.1 -p 4222 -sd ./data/nats -l ./data/nats-server.log &
	    echo $$! > data/nats-server.pid
	    for _ in $$(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null && break; sleep 0.1; done
	  fi
	fi
	echo "webhooks on http://$$OMNIBUS_HTTP_ADDR, gRPC on $$OMNIBUS_GRPC_ADDR"
	OMNIBUS_DATABASE_URL=$${OMNIBUS_DATABASE_URL:-sqlite://./data/omnibus.db} \
	  OMNIBUS_OUTBOUND_ALLOW=$${OMNIBUS_OUTBOUND_ALLOW-127.0.0.1/32} \
	  cargo run --release --bin omnibus -- serve all

## stop-nats: stop the nats-server that `make run` started
stop-nats:
	@if [ -f data/nats-server.pid ]; then
	  kill "$$(cat data/nats-server.pid)" 2>/dev/null || true
	  rm -f data/nats-server.pid
	fi

## test: every test of the workspace, against real nats-server and PostgreSQL,
## after the offline checks of the deployment files
test: deps k8s-check
	@if command -v cargo-nextest >/dev/null; then
	  echo "cargo nextest run --workspace --no-fail-fast"
	  cargo nextest run --workspace --no-fail-fast
	else
	  echo "cargo-nextest not found: cargo test --workspace --no-fail-fast"
	  cargo test --workspace --no-fail-fast
	fi

## k8s-check: render every kustomize overlay of k8s/ and validate it against
## the Kubernetes schemas (offline, kubernetes-validate), and check that
## deploy/Dockerfile, deploy/compose.yaml and the manifests agree with the
## binaries, services and variables of the code (deploy/check.py)
k8s-check:
	@if ! python3 -c 'import kubernetes_validate, yaml' 2>/dev/null; then
	  echo "installing kubernetes-validate and PyYAML"
	  python3 -m pip --version >/dev/null 2>&1 || { $(APT_INSTALL) python3-pip; }
	  pip_install="python3 -m pip install --quiet --disable-pip-version-check"
	  $$pip_install kubernetes-validate pyyaml \
	    || $$pip_install --break-system-packages kubernetes-validate pyyaml
	fi
	if ! command -v kubectl >/dev/null && ! command -v kustomize >/dev/null; then
	  echo "installing kubectl (kubectl kustomize renders the overlays)"
	  $(APT_INSTALL) kubernetes-client
	fi
	python3 deploy/check.py

## image-check: replay deploy/Dockerfile's build stages (skeleton, builder)
## against the checkout with the same commands (no image builder here can
## pull base images); fails when the image would not build
image-check:
	python3 deploy/replay_image_build.py

## lint: formatting and clippy, warnings are errors
lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings

## fmt: format the workspace
fmt:
	cargo fmt --all

## bench: the load benchmarks (crate omnibus-bench); the server under test
## is the omnibus-under-test binary, run as a child process; the PostgreSQL
## replay runs when OMNIBUS_TEST_POSTGRES_URL or a local server answers
bench: deps-nats
	cargo build --release -p omnibus-tests --bins
	cargo run --release -p omnibus-bench -- all

## deps: install nats-server, PostgreSQL and Chromium (with its WebDriver,
## for the console's browser tests) when missing, and start PostgreSQL
deps: deps-nats deps-postgres deps-chromium

deps-chromium:
	@if ! command -v chromedriver >/dev/null || [ ! -x /usr/bin/chromium ]; then
	  echo "installing chromium and chromium-driver"
	  $(APT_INSTALL) chromium chromium-driver
	fi

deps-nats:
	@if ! command -v nats-server >/dev/null; then
	  echo "installing nats-server"
	  $(APT_INSTALL) nats-server
	fi

deps-postgres:
	@if [ -n "$(OMNIBUS_TEST_POSTGRES_URL)" ]; then
	  echo "OMNIBUS_TEST_POSTGRES_URL is set, leaving the local PostgreSQL alone"
	  exit 0
	fi
	if ! command -v psql >/dev/null || ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
	  echo "installing postgresql"
	  $(APT_INSTALL) postgresql
	fi
	version=$$(ls /usr/lib/postgresql | sort -V | tail -n 1)
	if ! pg_isready -q -h 127.0.0.1; then
	  if [ ! -d "/etc/postgresql/$$version/main" ]; then
	    $(SUDO) pg_createcluster "$$version" main
	  fi
	  echo "starting PostgreSQL $$version"
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect "$$version" main start || true
	  for _ in $$(seq $$(( $(PG_READY_TIMEOUT) * 10 ))); do pg_isready -q -h 127.0.0.1 && break; sleep 0.1; done
	  pg_isready -h 127.0.0.1 || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 1; }
	fi
	# The tests connect as postgres over TCP without a password. Only when
	# that is refused (a fresh Debian install asks for one) is loopback
	# trust added to pg_hba.conf.
	if ! PGCONNECT_TIMEOUT=5 psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1; then
	  hba="/etc/postgresql/$$version/main/pg_hba.conf"
	  echo "allowing passwordless loopback connections in $$hba"
	  $(SUDO) sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$$hba"
	  $(SUDO) pg_ctlcluster --skip-systemctl-redirect "$$version" main reload
	  for _ in $$(seq 50); do
	    PGCONNECT_TIMEOUT=5 psql -w -h 127.0.0.1 -U postgres -d postgres -Atqc 'SELECT 1' >/dev/null 2>&1 && break
	    sleep 0.1
	  done
	fi
