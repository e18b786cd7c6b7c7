#!/usr/bin/env bash
# Builds chatlab-redis:dev with no network: Debian's /usr/bin/redis-server
# and every shared library ldd lists for it, in a FROM scratch image. It
# stands in for redis:7-alpine where no image can be pulled
# (docker-compose.offline.yml, the docker chaos target).
#
# Usage: docker/redis/build.sh [IMAGE]   (default chatlab-redis:dev)
set -euo pipefail

image="${1:-chatlab-redis:dev}"
server="$(command -v redis-server || true)"
if [ -z "$server" ]; then
	echo "build.sh: redis-server is not installed (apt-get install -y redis-server)" >&2
	exit 1
fi

context="$(mktemp -d)"
trap 'rm -rf "$context"' EXIT
mkdir -p "$context/rootfs/usr/bin" "$context/rootfs/data" "$context/rootfs/tmp"
# -L: Debian ships redis-server as a link to the one redis binary.
cp -L "$server" "$context/rootfs/usr/bin/redis-server"

# Every library the dynamic linker resolves, and the linker itself, at the
# same paths inside the image.
ldd "$server" | awk '/=> \// { print $3 } /^\t\// { print $1 }' | while read -r library; do
	mkdir -p "$context/rootfs$(dirname "$library")"
	cp -L "$library" "$context/rootfs$library"
done

cat >"$context/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY rootfs/ /
# runc finds the command on PATH, so compose files can say "redis-server"
# for this image and for redis:7-alpine alike.
ENV PATH=/usr/bin
WORKDIR /data
EXPOSE 6379
CMD ["redis-server", "--bind", "0.0.0.0", "--protected-mode", "no"]
DOCKERFILE

docker build -q -t "$image" "$context" >/dev/null
echo "built $image from $server ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
