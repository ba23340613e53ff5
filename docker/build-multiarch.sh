#!/bin/sh
# Builds the collector and ingester images for every gateway and server architecture with
# docker buildx. Run from anywhere; the build context is the repository root.
#
#   docker/build-multiarch.sh                 # build all, export OCI archives to docker/build/images/
#   PUSH=1 REGISTRY=registry.example/et docker/build-multiarch.sh   # build and push
#
# Variables: PLATFORMS (default linux/amd64,linux/arm64,linux/arm/v7), REGISTRY (image name
# prefix, default edge-telemetry), TAG (default: the root package.json version), SERVICES
# (default "collector ingester"), PUSH (1 = push to REGISTRY), NODE_IMAGE (base image, e.g. with
# a pinned digest), BUILDER (buildx builder name, default edge-telemetry).
# Cross-building needs QEMU binfmt handlers on the build host, once:
#   docker run --privileged --rm tonistiigi/binfmt --install arm64,arm
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
platforms=${PLATFORMS:-linux/amd64,linux/arm64,linux/arm/v7}
registry=${REGISTRY:-edge-telemetry}
tag=${TAG:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$root/package.json" | head -n 1)}
services=${SERVICES:-collector ingester}
builder=${BUILDER:-edge-telemetry}

[ -n "$tag" ] || { echo "could not read the version from package.json; set TAG" >&2; exit 2; }

# buildx is a plugin that a docker CLI may lack: without this check the builder step below failed
# with "'buildx' is not a docker command" from `docker buildx create`.
command -v docker >/dev/null 2>&1 || {
  echo "docker not found on PATH: install Docker with its buildx plugin (https://docs.docker.com/engine/install/)" >&2
  exit 2
}
docker buildx version >/dev/null 2>&1 || {
  echo "docker buildx is not available: install the buildx plugin (package docker-buildx-plugin from Docker's apt/dnf repository; Docker Desktop has it), see https://docs.docker.com/build/install-buildx/" >&2
  exit 2
}

# A docker-container builder: the default docker driver cannot build for several platforms.
if ! docker buildx inspect "$builder" >/dev/null 2>&1; then
  docker buildx create --name "$builder" --driver docker-container >/dev/null
fi

for svc in $services; do
  dockerfile="$root/docker/$svc.Dockerfile"
  [ -f "$dockerfile" ] || { echo "no Dockerfile for $svc: $dockerfile" >&2; exit 2; }
  if [ "${PUSH:-0}" = 1 ]; then
    output="--push"
  else
    # A multi-platform image cannot be loaded into the local engine; keep it as an OCI archive.
    mkdir -p "$root/docker/build/images"
    output="--output=type=oci,dest=$root/docker/build/images/$svc-$tag.oci.tar"
  fi
  set -- --builder "$builder" --platform "$platforms" --file "$dockerfile" --tag "$registry/$svc:$tag" "$output"
  if [ -n "${NODE_IMAGE:-}" ]; then set -- "$@" --build-arg "NODE_IMAGE=$NODE_IMAGE"; fi
  echo "building $registry/$svc:$tag for $platforms" >&2
  docker buildx build "$@" "$root"
done
