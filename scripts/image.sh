#!/usr/bin/env bash
# Builds the container image without a Docker engine: the same image deploy/Dockerfile describes
# (Debian bookworm with libsqlite3-0, ca-certificates and tzdata, uid 10001, the release binary
# with the static Swift runtime, the policies), from a debootstrap root committed by buildah.
# Usage: scripts/image.sh [OUTPUT_DIR]   (default .build-image)
# Writes OUTPUT_DIR/ghl-gateway-VERSION.oci.tar (an OCI archive tagged ghl-gateway:VERSION; load
# it with `podman load`, `skopeo copy oci-archive:... docker://REGISTRY/...` or `docker load`),
# then starts the image with podman and checks that `--version` prints VERSION.
# Needs root and Debian's debootstrap, buildah, podman, runc (apt-get install -y debootstrap buildah
# podman runc). The check runs podman with runc, cgroupfs and modest rlimits, which also work in a
# VM whose cgroups are hybrid and whose limits a container may not raise (PODMAN_FLAGS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."

VERSION=$(sed -n 's/.*static let current = "\(.*\)".*/\1/p' Sources/GatewayServer/Shared/GatewayVersion.swift)
[ -n "$VERSION" ] || { echo "no version in GatewayVersion.swift" >&2; exit 2; }
OUT=$(mkdir -p "${1:-.build-image}" && cd "${1:-.build-image}" && pwd)
IMAGE="ghl-gateway:$VERSION"
ARCHIVE="$OUT/ghl-gateway-$VERSION.oci.tar"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
# vfs needs no overlay mounts, so buildah and podman work inside a VM or a container too.
export STORAGE_DRIVER=vfs
for tool in debootstrap buildah podman runc; do
    command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y debootstrap buildah podman runc" >&2; exit 2; }
done
read -r -a PODMAN_GLOBAL <<<"${PODMAN_FLAGS:---runtime runc --cgroup-manager=cgroupfs}"
run() { podman "${PODMAN_GLOBAL[@]}" run --rm --network none --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "$@"; }

echo "building the release binary (static Swift runtime)..."
swift build -c release --product ghl-gateway --static-swift-stdlib --scratch-path "$OUT/swift" >"$OUT/build.log" 2>&1 \
    || { grep -E "error:" "$OUT/build.log" | sort -u | head -20 >&2; exit 3; }
BINARY="$OUT/swift/release/ghl-gateway"

# The root is made once and kept (debootstrap takes minutes); remove OUTPUT_DIR/rootfs.tar to renew it.
if [ ! -f "$OUT/rootfs.tar" ]; then
    echo "making the Debian root (debootstrap bookworm, minbase)..."
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    debootstrap --variant=minbase --include=libsqlite3-0,ca-certificates,tzdata bookworm "$work/root" "$MIRROR" \
        >"$OUT/debootstrap.log" 2>&1 || { tail -20 "$OUT/debootstrap.log" >&2; exit 3; }
    chroot "$work/root" useradd --system --uid 10001 --home-dir /var/lib/ghl-gateway --shell /usr/sbin/nologin ghl-gateway \
        2>>"$OUT/debootstrap.log"
    rm -rf "$work/root"/var/lib/apt/lists/* "$work/root"/var/cache/apt/* "$work/root"/usr/share/doc/* "$work/root"/usr/share/man/*
    tar -C "$work/root" --numeric-owner -cf "$OUT/rootfs.tar" .
    rm -rf "$work"
    trap - EXIT
fi

echo "committing $IMAGE..."
container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
mount=$(buildah mount "$container")
tar -C "$mount" --numeric-owner -xf "$OUT/rootfs.tar"
install -D -m 0755 "$BINARY" "$mount/usr/local/bin/ghl-gateway"
install -d -o 10001 -g 10001 -m 0700 "$mount/var/lib/ghl-gateway"
install -d "$mount/etc/ghl-gateway" "$mount/usr/share/ghl-gateway"
cp -r policies "$mount/etc/ghl-gateway/policies"
cp -r policies/openapi "$mount/usr/share/ghl-gateway/openapi"
buildah umount "$container" >/dev/null
buildah config \
    --label org.opencontainers.image.title=ghl-gateway --label "org.opencontainers.image.version=$VERSION" \
    --label org.opencontainers.image.licenses=Apache-2.0 \
    --user ghl-gateway --volume /var/lib/ghl-gateway --port 8080/tcp --port 8081/tcp --port 9090/tcp --stop-signal SIGTERM \
    --entrypoint '["/usr/local/bin/ghl-gateway"]' --cmd 'serve --config /etc/ghl-gateway/gateway.yaml' "$container"
buildah commit --quiet "$container" "$IMAGE" >/dev/null
rm -f "$ARCHIVE"
buildah push --quiet "$IMAGE" "oci-archive:$ARCHIVE:$IMAGE"

echo "checking the image..."
printed=$(run "$IMAGE" --version)
[ "$printed" = "$VERSION" ] || { echo "the image printed '$printed' for --version, not $VERSION" >&2; exit 1; }
# The catalog is built in: a policy check from another folder needs no file of the repository.
run --workdir / "$IMAGE" policy check --policies /etc/ghl-gateway/policies --no-secrets >/dev/null
echo "$IMAGE: $(du -h "$ARCHIVE" | cut -f1) in $ARCHIVE"
