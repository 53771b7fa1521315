#!/usr/bin/env bash
# lavapipe_backports.sh: run a command on a newer lavapipe (Mesa from Debian's
# bookworm-backports) without installing it: the driver and the two libdrm libraries it needs
# are downloaded and unpacked into a folder of their own, and the command runs with the Vulkan
# loader pointed at that driver. The system's Mesa is left alone. Debian 12 (bookworm) only.
#
#   bash tools/lavapipe_backports.sh deno task harness bench --matrix headline
#   bash tools/lavapipe_backports.sh deno task harness devices      # "llvmpipe (LLVM ...)"
#
# Knobs (environment): DIR (default /tmp/mesa-backports), SUITE (default bookworm-backports).
# The first call downloads about 11 MB; later calls reuse DIR. docs/benchmarks.md has what
# Mesa 25.0.7 did with the harness's kernels (session 6).
set -euo pipefail
DIR=${DIR:-/tmp/mesa-backports}
SUITE=${SUITE:-bookworm-backports}
ROOT=$DIR/root
ICD=$DIR/lvp_icd.json
if [ $# -eq 0 ] || [ "$1" = --help ] || [ "$1" = -h ]; then
  # --help was taken for the command: the driver downloaded, then "exec: --help: not found"
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  [ $# -eq 0 ] && exit 2
  exit 0
fi
if ! [ -f "$ICD" ]; then
  mkdir -p "$DIR/lists/partial" "$DIR/debs"
  # apt with a sources list of its own: the system's apt configuration is not touched.
  printf 'deb http://deb.debian.org/debian %s main\n' "$SUITE" >"$DIR/sources.list"
  apt_opts=(-o "Dir::Etc::SourceList=$DIR/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
    -o "Dir::State::Lists=$DIR/lists" -o "Debug::NoLocking=1" -o "APT::Sandbox::User=root")
  echo "lavapipe_backports: fetching the package lists of $SUITE" >&2
  apt-get "${apt_opts[@]}" update -qq
  (cd "$DIR/debs" && apt-get "${apt_opts[@]}" download \
    "mesa-vulkan-drivers/$SUITE" "libdrm2/$SUITE" "libdrm-amdgpu1/$SUITE")
  for f in "$DIR"/debs/*.deb; do dpkg -x "$f" "$ROOT"; done
  lib=$ROOT/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so
  [ -f "$lib" ] || { echo "lavapipe_backports: no $lib in the packages" >&2; exit 1; }
  # The packaged ICD names the library relative to the loader's search path; this one is
  # absolute, so the system's lavapipe can never be picked by mistake.
  printf '{"file_format_version": "1.0.0", "ICD": {"library_path": "%s", "api_version": "1.3.0"}}\n' \
    "$lib" >"$ICD"
  echo "lavapipe_backports: $(ls "$DIR"/debs | tr '\n' ' ')" >&2
fi
export VK_ICD_FILENAMES=$ICD
export LD_LIBRARY_PATH=$ROOT/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-vulkan}
exec "$@"
