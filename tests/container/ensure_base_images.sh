#!/usr/bin/env bash
# Makes the Dockerfile's base images in podman's local storage when they are
# missing, because no container registry is reachable from CI:
#   docker.io/library/debian:bookworm       debootstrap --variant=minbase
#   docker.io/library/debian:bookworm-slim  the same rootfs without docs, man
#                                           pages and locales, and a dpkg
#                                           config that keeps them out later
# Both come from the Debian mirror in this machine's apt sources, so the
# Dockerfile stays standard: where a registry exists, the real images serve.
#
#   ensure_base_images.sh [PODMAN]
set -euo pipefail

podman=${1:-podman}
full=docker.io/library/debian:bookworm
slim=docker.io/library/debian:bookworm-slim

have() { "$podman" image exists "$1"; }

have "$full" && have "$slim" && exit 0

# Two test runs at once must not debootstrap twice: the second waits here
# and then finds the images.
lock=${TMPDIR:-/tmp}/wasikv-base-images.lock
exec 9>"$lock"
flock -w 900 9 || { echo "ensure_base_images: timed out waiting for $lock" >&2; exit 1; }
have "$full" && have "$slim" && exit 0

for tool in debootstrap tar; do
  command -v "$tool" >/dev/null ||
    { echo "ensure_base_images: $tool is missing (deploy/quickstart.sh installs it)" >&2; exit 1; }
done

# The first Debian mirror that serves bookworm itself (not -security), from
# one-line sources.list files or deb822 .sources files.
debian_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do [ -f "$f" ] && files+=("$f"); done
  if [ ${#files[@]} -gt 0 ]; then
    sed -E 's/\[[^]]*\]//' "${files[@]}" |
      awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
  fi
  files=()
  for f in /etc/apt/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  if [ ${#files[@]} -gt 0 ]; then
    # One stanza per paragraph; field names are case-insensitive (RFC 822).
    awk 'BEGIN { RS = "" }
      {
        types = uris = suites = ""; enabled = "yes"
        n = split($0, lines, "\n")
        for (i = 1; i <= n; i++) {
          line = lines[i]
          if (line ~ /^#/) continue
          key = tolower(line); sub(/:.*/, "", key)
          value = line; sub(/^[^:]*:[ \t]*/, "", value)
          if (key == "types") types = value
          else if (key == "uris") uris = value
          else if (key == "suites") suites = value
          else if (key == "enabled") enabled = tolower(value)
        }
        if (enabled != "no" && (" " types " ") ~ / deb / && (" " suites " ") ~ / bookworm /) {
          split(uris, u, /[ \t]+/); print u[1]; exit
        }
      }' "${files[@]}"
  fi
}
mirror=$(debian_mirror | head -n1)
if [ -z "$mirror" ]; then
  echo "ensure_base_images: no Debian bookworm mirror in /etc/apt/sources.list{,.d/}" >&2
  exit 1
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/wasikv-rootfs.XXXXXX")
rootfs=$work/rootfs
cleanup() {
  # debootstrap mounts /proc and /sys inside the target; never delete through them.
  umount -R "$rootfs/proc" "$rootfs/sys" 2>/dev/null || true
  rm -rf --one-file-system "$work"
}
trap cleanup EXIT

echo "ensure_base_images: debootstrap bookworm from $mirror" >&2
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { tail -n 30 "$work/debootstrap.log" >&2; exit 1; }
rm -f "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin
rm -rf "$rootfs"/var/lib/apt/lists/*

# CMD as in Debian's official images.
if ! have "$full"; then
  tar -C "$rootfs" --numeric-owner -c . | "$podman" import --change 'CMD ["bash"]' - "$full" >/dev/null
fi

# Licences stay.
find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
  "$rootfs"/usr/share/locale/* "$rootfs"/usr/share/lintian/*
# Packages installed later into the slim image skip the same paths (as in the
# official slim images), keeping only the licences.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF
if ! have "$slim"; then
  tar -C "$rootfs" --numeric-owner -c . | "$podman" import --change 'CMD ["bash"]' - "$slim" >/dev/null
fi
echo "ensure_base_images: made $full and $slim" >&2
