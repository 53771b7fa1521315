#!/usr/bin/env bash
# prepare_device_carry.sh: prepares, on the developer machine (with network), the two ignored
# folders that tools/gpu_machine_check.sh needs on a lent GPU machine, and checks that the
# tree that travels stays under the device tool's 64 MiB:
#
#     bash tools/prepare_device_carry.sh          # then: carry [".device", ".gl"]
#
#   .device/deno.xz    the Deno binary on PATH, xz-compressed (-9: about 30 MB for Deno 2.9.6)
#   .device/deno_dir/  a DENO_DIR holding the npm packages of deno.lock (`deno install`), so
#                      that `--cached-only` runs and type-checks offline; source maps and
#                      Markdown files are dropped from it (nothing reads them; 3-4 MB), and
#                      so are Deno's own caches (a dry run adds them)
#   .device/libspirv_shim.so  tools/spirv_shim/icd_shim.c built with cc (tools/spirv_audit.ts
#                      --shim, where the GPU machine has no compiler)
#   .device/revision   `git rev-parse HEAD` (with -dirty for uncommitted changes): the copy
#                      that travels has no .git, so gpu_machine_check.sh passes it on as
#                      MLA_HARNESS_REVISION and the reports and baseline record which harness
#                      ran (the H200 baseline of session 37 records none); written anew on
#                      every run of this script, so run it right before the device run
#   .gl/               the Vulkan/GL loader packages the device README names (apt-get download)
#
# What travels is every tracked file, every untracked file git does not ignore, and the carried
# folders; the script adds them up and exits 1 when they pass 64 MiB (and 0 with the figure
# otherwise). An existing .device/deno.xz or .gl/*.deb is kept (delete it to make it anew).
# A local dry run of the check afterwards (no GPU needed; the loaders are not unpacked):
#
#     SKIP_GL=1 STEPS="devices smoke bench" SMOKE_FILTER='preset=tiny;dtype=f32' \
#       BENCH_FILTER='path=absorbed;sq=1;dtype=f32' OUT=/tmp/gmc bash tools/gpu_machine_check.sh
# and this script again before the device run (it drops the caches the dry run left).
set -euo pipefail
# It takes no arguments: `--help` (or anything) once ran it all (minutes: xz -9 of Deno).
if [ "$#" -gt 0 ]; then
  if [ "$1" = --help ] || [ "$1" = -h ]; then
    sed -n '2,/^set -euo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
  fi
  echo "prepare_device_carry: takes no arguments (got: $*); --help says what it does" >&2
  exit 2
fi
cd "$(dirname "$0")/.."
LIMIT=$((64 * 1024 * 1024))

command -v deno >/dev/null || { echo "prepare_device_carry: no deno on PATH" >&2; exit 2; }
command -v xz >/dev/null || { echo "prepare_device_carry: no xz (apt-get install xz-utils)" >&2; exit 2; }

mkdir -p .device/deno_dir .gl
rev=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain)" ]; then rev=$rev-dirty; fi
echo "$rev" >.device/revision
echo "harness revision $rev in .device/revision"
if ! [ -s .device/deno.xz ]; then
  echo "compressing $(readlink -f "$(command -v deno)") into .device/deno.xz"
  xz -T0 -9 -c "$(readlink -f "$(command -v deno)")" >.device/deno.xz.part
  mv .device/deno.xz.part .device/deno.xz
fi
echo "caching the npm packages of deno.lock in .device/deno_dir"
DENO_DIR=$PWD/.device/deno_dir DENO_TLS_CA_STORE=${DENO_TLS_CA_STORE:-system,mozilla} deno install
find .device/deno_dir/npm -type f \( -name '*.map' -o -name '*.md' \) -delete
# Only npm/ is needed: the type-check, V8 code and analysis caches are rebuilt there, and a
# local dry run of the check (which uses this DENO_DIR) adds 10 MB of them.
find .device/deno_dir -mindepth 1 -maxdepth 1 ! -name npm -exec rm -rf {} +

if ! ls .gl/*.deb >/dev/null 2>&1; then
  echo "downloading the loader packages into .gl"
  mkdir -p /tmp/amd64/partial
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64)
  apt-get "${o[@]}" update >/dev/null
  (cd .gl && apt-get "${o[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 \
    libglx0 libgles2)
fi

# The SPIR-V audit's Vulkan shim (tools/spirv_shim/icd_shim.c), for a GPU machine without a C
# compiler: gpu_machine_check.sh's spirv step builds it there when it can, else uses this one.
if command -v cc >/dev/null 2>&1; then
  cc -shared -fPIC -O2 -o .device/libspirv_shim.so tools/spirv_shim/icd_shim.c -ldl
else
  echo "prepare_device_carry: no cc here; the spirv step needs one on the GPU machine" >&2
fi

# What travels: tracked files, untracked files git does not ignore, and the carried folders.
tree=$( (git ls-files -z --cached --others --exclude-standard | xargs -0 -r du -cb 2>/dev/null |
  tail -n 1 | cut -f 1) || echo 0)
device=$(du -sb .device | cut -f 1)
gl=$(du -sb .gl | cut -f 1)
total=$((tree + device + gl))
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo "travels: tree $(mib "$tree") + .device $(mib "$device") + .gl $(mib "$gl")" \
  "= $(mib "$total") of the 64 MiB limit"
if [ "$total" -gt "$LIMIT" ]; then
  echo "prepare_device_carry: over the limit; the device tool would refuse the run" >&2
  exit 1
fi
