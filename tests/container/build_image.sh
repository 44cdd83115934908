#!/usr/bin/env bash
# container_image: builds the repository's Dockerfile with podman, as the
# other container tests' fixture, and checks what the image promises before
# anything runs it.
#   build_image.sh SOURCE_DIR IMAGE
set -euo pipefail
test_name=container_image
source "$(dirname "${BASH_SOURCE[0]}")/podman_test_env.sh"
source_dir=$1
image=$2

"$container_test_dir/ensure_base_images.sh" ||
  fail "could not make the debian:bookworm base images"

# The build stage is tagged too, so that each image this replaces can be
# removed with its own layers: every source change would otherwise leave
# untagged layers behind, run after run.
build_stage=${image%:*}-build:${image##*:}
image_id() { podman image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }
old_ids=("$(image_id "$image")" "$(image_id "$build_stage")")
start=$SECONDS
# chroot isolation: the default OCI isolation fails on these hosts' cgroups.
# Docker format: OCI images drop HEALTHCHECK.
podman build --isolation=chroot --format docker -t "$image" \
  -f "$source_dir/Dockerfile" "$source_dir" || fail "podman build failed"
echo "$test_name: built $image in $((SECONDS - start)) s"
# All cached by the build above.
podman build --isolation=chroot --format docker -t "$build_stage" --target build \
  -f "$source_dir/Dockerfile" "$source_dir" >/dev/null || fail "podman build --target build failed"
new_ids=" $(image_id "$image") $(image_id "$build_stage") "
for id in "${old_ids[@]}"; do
  # rmi fails, harmlessly, while a container still uses the old image.
  if [ -n "$id" ] && [[ "$new_ids" != *" $id "* ]]; then podman rmi "$id" >/dev/null 2>&1 || true; fi
done

inspect() { podman image inspect --format "$1" "$image"; }
[ "$(inspect '{{.Config.User}}')" = "10001:10001" ] ||
  fail "image user is '$(inspect '{{.Config.User}}')', want 10001:10001"
health=$(inspect '{{json .Config.Healthcheck}}')
case "$health" in
  *'"/usr/bin/wasikv"'*'"health"'*) ;;
  *) fail "image has no wasikv health check: $health" ;;
esac
[ "$(inspect '{{json .Config.Entrypoint}}')" = '["/usr/bin/wasikvd"]' ] ||
  fail "entrypoint is $(inspect '{{json .Config.Entrypoint}}')"
[ "$(inspect '{{index .Config.Labels "org.opencontainers.image.licenses"}}')" = "Apache-2.0" ] ||
  fail "licence label missing"
# Runtime libraries only: no compiler, no headers.
dev=$(podman run --rm --entrypoint dpkg-query "$image" -W -f '${Package}\n' |
  grep -E -- '-dev$|^(gcc|g\+\+|cpp)(-[0-9]+)?$|^(cmake|ninja-build|ccache)$' || true)
[ -z "$dev" ] || fail "build packages in the runtime image: $dev"
podman run --rm --entrypoint /usr/bin/wasikvd "$image" --version ||
  fail "wasikvd does not start in the image (a missing runtime library?)"

echo "$test_name: size $(inspect '{{.Size}}') bytes"
podman images "$image"
