#!/usr/bin/env bash
# gpu_machine_check.sh: the script run on a lent GPU machine (an NVIDIA H100/H200 box with no
# network, no Deno and possibly no Vulkan loader) to exercise the harness on a real GPU.
#
# How it is called: from the repository root of the copy of the working tree that travels to
# that machine, as root, with $OUT set to the folder whose files come back:
#
#     bash tools/gpu_machine_check.sh
#
# with `carry` naming the two ignored folders it needs (prepared on the developer machine; see
# below):
#   .gl/      Debian .deb files of the Vulkan/GL loaders (libvulkan1, libegl1, libglvnd0,
#             libopengl0, libgl1, libglx0, libgles2), unpacked into / with `dpkg -x`.
#   .device/  deno.xz (the pinned Deno binary, xz-compressed) and deno_dir/ (a DENO_DIR whose
#             npm cache holds zod, commander and @commander-js/extra-typings at the deno.lock
#             versions, so nothing is fetched).
#
# Preparing them (on the developer machine, with network): `bash tools/prepare_device_carry.sh`
# (both folders are in .gitignore). It also adds up what travels against the device tool's
# 64 MiB (53.6 MiB at Deno 2.9.6: the binary 28 MiB, the npm cache 21 MiB) and shows how to dry
# run this script locally.
#
# Steps (pick with STEPS, default "devices bench smoke spirv probes ab splits tests"; they always run in
# this order, most wanted first: the bench is what only a GPU can give (issue 13's GPU targets),
# the smoke run makes the device's baseline and must pass there, and both are what the issue asks
# to commit, so they come before every A/B (until session 35 the smoke came after the spirv step
# and the A/Bs, whose timeouts add up to 630 s: one slow A/B could leave it too little of TOTAL_S;
# it took 97 s on the H200); CI runs the tests on lavapipe anyway (on the H100 in session 2 the
# tests alone took 151-160 s):
#   devices  `main.ts devices` (human, into the log) and `devices --json --measure` (devices.json:
#            caps, ceilings and the saturation point, the measured SM-count estimate)
#   bench    `main.ts bench --matrix gpu [--backend <each of BENCH_BACKENDS>] --out ...` (the
#            headline and the 4096-token expanded prefill: every case issue 13 sets a GPU target on;
#            a GPU-class device is judged by those targets, bench/cases.ts TARGET_SETS);
#            keeps summary.md and report.json (default: no --backend, so the adapter chooses
#            each path's backend for the device: on a GPU the tiled kernels, whose targets issue
#            13 sets, dense decode included since session 32; BENCH_BACKENDS="wgsl-absorbed
#            wgsl-expanded" benches the lane kernels; BENCH_REPLAY=waited spaces the
#            replays as before session 30, see `bench --help`); while it runs, nvidia-smi
#            samples the SM clock, power and load every 100 ms into the log (with a summary
#            line), so a figure taken at lowered clocks shows as such
#   smoke    `main.ts run --matrix smoke`; keeps summary.md, results.jsonl and report.json
#   spirv    `tools/spirv_audit.ts` (since session 32): the SPIR-V the NVIDIA driver gets for the
#            GPU-class plans, unrolled and rolled, and, where the driver has
#            VK_KHR_pipeline_executable_properties, its own compile statistics of each pipeline
#            (register count, spills) and the local-memory lines of its code: whether the
#            unrolling keeps the register arrays in registers, read without timing anything.
#            The table goes into the log; the .spv/.stats/.ir files stay under $WORK/spirv.
#            Builds the shim with cc, or uses .device/libspirv_shim.so
#   probes   (since session 39) `tools/workgroup_probe.ts`: what a workgroupBarrier adds to a
#            loop trip and the workgroup-memory read bandwidth (distinct and broadcast), at 2
#            workgroups of 256 per SM: what the tiled kernels spend between their FMAs (5
#            barriers a key tile in the decode, 9-19 in the FA2 prefill), measured; into the log
#   ab       `tools/kernel_variants.ts` writes variants of the GPU-shaped kernels that each undo
#            one choice made without a GPU measurement (its --help lists them), and
#            `tools/ab_kernels.ts` times each against the shipped kernel on the case the
#            variant names (AB_ROUNDS rounds, default 4); the tables go into the log. Then
#            (ab_fa2_tile) the 256-token expanded prefill with 64-query tiles
#            (MLA_HARNESS_SM_COUNT=1), against the bench step's 16-query tiles, and
#            (ab_dense_decode) the headline dense decodes on the lane kernel
#            (wgsl-expanded), against the bench step's FA2 kernel (auto's since session 32),
#            and (ab_plans, since session 33) `tools/plan_variants.ts`: variants of the
#            adapter's plan for the tiled decode (128 invocations, 8-row workgroups, 64-key
#            splits), the FA2 prefill's chunks of 4, and (since session 35) the lane query
#            absorption and up-projection instead of the split ones (their figure is the
#            submission ms), and (since session 40) a 48 KiB tier (16-key f16 tiles), each benched (since session 41 the ones that are plan-tuning knobs with MLA_HARNESS_TUNING, the others in a copy of the tree) on the headline absorbed
#            decodes (the FA2 one on the 256-token prefill), against the bench step's figures
#            (T_ABPLAN, default 180 s). STEPS=plans runs ab_plans alone (say, as a second
#            command on the still-warm machine when TOTAL_S cut the first one short)
#   splits   (in the defaults since session 31: its runs now warm up) `main.ts run --matrix tools/gpu_splits_matrix.json
#            --repeats 20`: the headline absorbed decode on the tiled kernel at forced KV
#            splits 8-64, (since session 32) the headline dense decode on the FA2 kernel at
#            8-32 and (since session 35) the 256-token causal prefill on the FA2 kernel at 2-8
#            (its plan: 256 one-warp workgroups, no splits), each against the adapter's choice
#            and checked against the reference; its summary.md (kernel medians in its
#            "Slowest" table) goes into the log
#   tests    the test files that need a GPU (GPU_TESTS below)
#   tune     (not a default step; since session 41) `tools/tune_plan.ts`: the plan tuner
#            (adapter/plan_tuning.ts) over tools/tune_matrix.json, knob by knob (TUNE_KNOBS,
#            default all; TUNE_REPEATS, default 20), every candidate checked against the
#            float64 reference; its table and the tuning file go into the log (T_TUNE, default
#            300 s; the file is rewritten after each trial, so a timeout keeps what was found).
#            Run it as a second command on the still-warm machine: STEPS=tune
# Each step has its own timeout, is tee'd into $OUT/log.txt, and a failing step never stops
# the next one; $OUT/steps.txt records "step exit-code seconds" as each step ends, and the
# script ends with that summary (exit 0 when every step exited 0, else 1).
#
# What comes back from $OUT is limited (8 files, 16 MiB each, 2 folders deep), so it holds
# only: log.txt, steps.txt, devices.json, smoke/{summary.md,results.jsonl,report.json},
# bench/{summary.md,report.json} (or bench/records.jsonl where bench was killed before its
# reports). Everything else is written under $WORK (/tmp). Back on the developer machine,
# `deno run -A tools/gpu_machine_ingest.ts <files_at>` makes docs/gpu_machine/<device>-<date>/
# of them and the device's baseline (from smoke/report.json).
#
# Knobs (environment): STEPS, TOTAL_S (default 570), OUT (default out/gpu_machine),
# GPU_TESTS (space-separated test files), TEST_JOBS (test modules at once, default 4), T_DEVICES T_SPIRV T_PROBES T_TESTS T_SMOKE T_BENCH T_AB T_ABPLAN T_SPLITS T_TUNE (timeouts in s),
# TUNE_KNOBS (comma-separated, the tune step's --knobs), TUNE_REPEATS (its --repeats),
# SMOKE_FILTER, BENCH_FILTER (passed as --filter), BENCH_MATRIX (default gpu),
# BENCH_BACKENDS (default empty: the adapter's choice per path; else one --backend each),
# BENCH_REPLAY (bench --replay: queued, the default, or waited), BENCH_WARMUP_MS (bench
# --warmup-ms: untimed replays of each case for that long before its timed ones),
# BENCH_JSON=1 (bench --json), SKIP_GL=1 (do not unpack .gl; for dry runs elsewhere), WORK (scratch, default /tmp/...).
set -uo pipefail

# No arguments: STEPS picks the steps. Any argument (`--help`, a step's name) once started the
# whole run, minutes of a lent machine's device time: --help/-h now prints this header, and
# anything else is refused before anything runs (exit 2).
if [ "$#" -gt 0 ]; then
  if [ "$1" = --help ] || [ "$1" = -h ]; then
    sed -n '2,/^set -uo pipefail$/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
    exit 0
  fi
  echo "gpu_machine_check: takes no arguments (got: $*); pick the steps with STEPS=\"...\" (--help lists them)" >&2
  exit 2
fi
cd "$(dirname "$0")/.." || exit 2
ROOT=$PWD

STEPS=${STEPS:-devices bench smoke spirv probes ab splits tests}
# A step name it does not know ran nothing for it, silently (STEPS=benh: an empty run).
KNOWN_STEPS="devices bench smoke spirv probes ab splits tests tune plans"
for s in $STEPS; do
  case " $KNOWN_STEPS " in
  *" $s "*) ;;
  *)
    echo "gpu_machine_check: STEPS: unknown step \"$s\" (known: $KNOWN_STEPS); nothing was run" >&2
    exit 2
    ;;
  esac
done
OUT=${OUT:-out/gpu_machine}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
WORK=${WORK:-/tmp/gpu_machine_work}
rm -rf "$WORK" && mkdir -p "$WORK"
LOG=$OUT/log.txt
STEPLOG=$OUT/steps.txt
: >"$LOG"
: >"$STEPLOG"

# Per-step timeouts (seconds), each also cut to what is left of TOTAL_S (counted from the
# start of this script, 15 s kept for the end), so the whole script ends inside the device's
# 600 s per command; a step with under 10 s left is skipped (recorded as "skip").
TOTAL_S=${TOTAL_S:-570}
T_DEVICES=${T_DEVICES:-60}
T_TESTS=${T_TESTS:-180}
T_SMOKE=${T_SMOKE:-240} # 97 s on the H200 unwarmed; run --warmup-ms auto adds 0.5 s a case
T_BENCH=${T_BENCH:-150}
T_AB=${T_AB:-170} # 69 s for 4 variants on the H200 (session 30); 8 since session 34, 9 since 37
BENCH_MATRIX=${BENCH_MATRIX:-gpu}

# The tests that need a WebGPU adapter (the others are pure CPU and run in CI anyway): found by
# content, so test files added later are included: they use tests/gpu_helpers.ts, hasAdapter()
# or GpuContext (some spawn the CLI against the GPU), plus any tests/gpu_* and tests/kernels_*.
# Among them: bench_cli cli_devices_compile decode_paged drift_real faults gpu_device
# gpu_loop_budget kernels_edge kernels_parity kernels_rope layer_cli layer_parity runner
# smoke_matrix (64 files in session 38; smoke_matrix's drift check against the committed
# baseline is ignored unless baselines/<this device's key>.json exists). GPU_TESTS overrides
# the list.
if [ -z "${GPU_TESTS:-}" ]; then
  GPU_TESTS=$( (grep -lE 'gpu_helpers|hasAdapter|HAS_ADAPTER|GpuContext' tests/*_test.ts
    ls tests/gpu_*_test.ts tests/kernels_*_test.ts) 2>/dev/null | sort -u | tr '\n' ' ')
fi

log() { printf '%s\n' "$*" | tee -a "$LOG"; }
wanted() { case " $STEPS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# step NAME SECONDS [--stdout FILE] CMD...: run CMD under `timeout`, stderr (and stdout unless
# --stdout sends it to FILE) tee'd into the log; record the exit code and the duration.
# At the limit CMD gets SIGINT (`run` then stops after the current case and still writes its
# reports for what finished), and SIGKILL 10 s later; the exit code is then 124 (137 if killed).
FAILED=0
step() {
  local name=$1 secs=$2 so="" rc t0
  shift 2
  if [ "${1:-}" = "--stdout" ]; then so=$2; shift 2; fi
  local left=$((TOTAL_S - 15 - SECONDS))
  [ "$secs" -gt "$left" ] && secs=$left
  log ""
  if [ "$secs" -lt 10 ]; then
    log "=== step $name: skipped, only ${left}s left of TOTAL_S=${TOTAL_S}s"
    printf '%-14s %4s %5ss\n' "$name" skip 0 >>"$STEPLOG"
    FAILED=1
    return 0
  fi
  log "=== step $name (timeout ${secs}s): $*"
  t0=$SECONDS
  if [ -n "$so" ]; then
    timeout -s INT -k 10 "$secs" "$@" >"$so" 2> >(tee -a "$LOG" >&2)
    rc=$?
    wait # the tee of the process substitution
  else
    timeout -s INT -k 10 "$secs" "$@" 2>&1 | tee -a "$LOG"
    rc=${PIPESTATUS[0]}
  fi
  [ "$rc" = 124 ] || [ "$rc" = 137 ] && log "(step $name: timed out after ${secs}s)"
  log "=== step $name: exit $rc in $((SECONDS - t0))s"
  printf '%-14s %4s %5ss\n' "$name" "$rc" "$((SECONDS - t0))" >>"$STEPLOG"
  [ "$rc" = 0 ] || FAILED=1
  return 0
}

# ---------------------------------------------------------------- setup
T_START=$SECONDS
log "gpu_machine_check: $(date -u +%FT%TZ) on $(uname -n) ($(uname -m)), root $ROOT"
log "steps: $STEPS; out: $OUT"

# 1. Vulkan/GL loaders. Only these seven packages go into / (others could break the image).
if [ "${SKIP_GL:-0}" != 1 ] && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" / || log "dpkg -x $f failed"; done
  ldconfig || log "ldconfig failed"
  log "unpacked $(ls .gl/*.deb | wc -l) loader packages from .gl"
else
  log "no .gl/*.deb unpacked (SKIP_GL=${SKIP_GL:-0})"
fi
ldconfig -p 2>/dev/null | grep -E 'libvulkan\.so' | tee -a "$LOG"

# 2. Deno: the carried binary, unpacked to /tmp/deno/deno (kept if already there).
DENO_BIN=/tmp/deno/deno
if ! [ -x "$DENO_BIN" ]; then
  mkdir -p /tmp/deno
  if command -v xz >/dev/null 2>&1; then
    xz -dc .device/deno.xz >"$DENO_BIN.part"
  else # no xz: Python's lzma reads the same file
    python3 -c 'import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2],"wb"))' \
      .device/deno.xz "$DENO_BIN.part"
  fi && chmod +x "$DENO_BIN.part" && mv "$DENO_BIN.part" "$DENO_BIN"
fi
export PATH=/tmp/deno:$PATH
# Offline: the carried cache, no registry override, no upgrade check, no prompts.
export DENO_DIR=$ROOT/.device/deno_dir DENO_NO_UPDATE_CHECK=1 DENO_NO_PROMPT=1
# The copy here has no .git: the revision prepare_device_carry.sh wrote, for the fingerprints
if [ -s .device/revision ] && ! git -C "$ROOT" rev-parse HEAD >/dev/null 2>&1; then
  MLA_HARNESS_REVISION=$(cat .device/revision)
  export MLA_HARNESS_REVISION
  echo "harness revision (from .device/revision): $MLA_HARNESS_REVISION"
fi
unset NPM_CONFIG_REGISTRY GITHUB_STEP_SUMMARY
if ! deno --version >/dev/null 2>&1; then
  log "FATAL: no usable deno at $DENO_BIN (is .device carried?)"
  printf '%-14s %4s\n' setup 99 >>"$STEPLOG"
  cat "$STEPLOG"
  exit 1
fi
deno --version | tee -a "$LOG"

# 3. Vulkan driver: when no NVIDIA ICD is in the standard folders, point the loader at the
# driver's own (read-only) folder, where the NVIDIA container runtime mounts it.
icds=$(ls /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json 2>/dev/null | tr "\n" " ")
log "Vulkan ICDs in the standard folders: ${icds:-none}"
if ! printf '%s' "$icds" | grep -qi nvidia; then
  nv_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  [ -f "$nv_icd" ] || nv_icd=$(find /usr/local/nvidia /usr/share /etc -name 'nvidia_icd*.json' 2>/dev/null | head -n 1)
  if [ -n "$nv_icd" ] && [ -f "$nv_icd" ]; then
    export VK_DRIVER_FILES=$nv_icd
    nv_egl=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
    [ -f "$nv_egl" ] && export __EGL_VENDOR_LIBRARY_FILENAMES=$nv_egl
    log "using VK_DRIVER_FILES=$VK_DRIVER_FILES __EGL_VENDOR_LIBRARY_FILENAMES=${__EGL_VENDOR_LIBRARY_FILENAMES:-}"
  else
    log "no NVIDIA Vulkan ICD found; the loader uses whatever the standard folders hold"
  fi
fi
for d in /usr/local/nvidia/lib64 /usr/local/nvidia/lib; do
  [ -d "$d" ] && export LD_LIBRARY_PATH=$d${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
done
export DENO_WEBGPU_BACKEND=vulkan NO_COLOR=1
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -L 2>&1 | tee -a "$LOG"
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv 2>&1 | tee -a "$LOG"
fi
log "setup took $((SECONDS - T_START))s"

# Permissions of `deno task harness` (deno.json).
HARNESS=(deno run --cached-only --allow-read --allow-write --allow-env --allow-sys --allow-run=git main.ts)

# ---------------------------------------------------------------- steps
if wanted devices; then
  step devices 30 "${HARNESS[@]}" devices
  step devices_json "$T_DEVICES" --stdout "$OUT/devices.json" "${HARNESS[@]}" devices --json --measure
fi

if wanted bench; then
  # `bench` prints one progress line per case (stderr, with or without --json) and, without
  # --json, a table (stdout) into the log, so a timed-out run still shows what it measured;
  # report.json in --out holds the same JSON that --json would print. BENCH_JSON=1 adds --json
  # (stdout then kept in $WORK).
  BENCH_BACKENDS=${BENCH_BACKENDS-}
  args=(bench --matrix "$BENCH_MATRIX" --out "$WORK/bench"
    --title "Benchmark ($BENCH_MATRIX${BENCH_BACKENDS:+; $BENCH_BACKENDS})")
  for b in $BENCH_BACKENDS; do args+=(--backend "$b"); done
  [ -n "${BENCH_REPLAY:-}" ] && args+=(--replay "$BENCH_REPLAY")
  [ -n "${BENCH_WARMUP_MS:-}" ] && args+=(--warmup-ms "$BENCH_WARMUP_MS")
  # The GPU's clocks while the bench runs (nvidia-smi's own loop, every 100 ms).
  clocks_pid=""
  if command -v nvidia-smi >/dev/null 2>&1; then
    nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,utilization.gpu \
      --format=csv,noheader,nounits -lms 100 >"$WORK/clocks.csv" 2>&1 &
    clocks_pid=$!
  fi
  [ -n "${BENCH_FILTER:-}" ] && args+=(--filter "$BENCH_FILTER")
  if [ "${BENCH_JSON:-0}" = 1 ]; then
    step bench "$T_BENCH" --stdout "$WORK/bench_stdout.json" "${HARNESS[@]}" "${args[@]}" --json
  else
    step bench "$T_BENCH" "${HARNESS[@]}" "${args[@]}"
  fi
  if [ -n "$clocks_pid" ]; then
    kill "$clocks_pid" 2>/dev/null
    wait "$clocks_pid" 2>/dev/null
    log "bench: GPU samples every 100 ms (time, SM MHz, memory MHz, W, % load):"
    tee -a "$LOG" <"$WORK/clocks.csv" >/dev/null
    # SM clock: min / median / max over the samples, and how many were under half the max.
    sort -t, -k2 -n "$WORK/clocks.csv" | awk -F, 'NF >= 5 { v[n++] = $2 + 0 }
      END { if (n) { h = 0; for (i = 0; i < n; i++) if (v[i] < v[n-1] / 2) h++;
        printf "bench: SM clock over %d samples: min %d, median %d, max %d MHz; %d under half the max\n",
          n, v[0], v[int(n / 2)], v[n-1], h } }' | tee -a "$LOG"
  fi
  mkdir -p "$OUT/bench"
  for f in summary.md report.json; do
    [ -f "$WORK/bench/$f" ] && cp "$WORK/bench/$f" "$OUT/bench/"
  done
  if ! [ -f "$OUT/bench/report.json" ] && [ -s "$WORK/bench_stdout.json" ]; then
    cp "$WORK/bench_stdout.json" "$OUT/bench/report.json"
  fi
  # At the step's limit bench gets SIGINT and writes its reports after the current case; a
  # case that outlasts the 10 s to SIGKILL leaves only the records streamed as cases ended
  # (the file count stays within what comes back: no report.json, no summary.md then).
  if ! [ -f "$OUT/bench/report.json" ] && [ -s "$WORK/bench/records.jsonl" ]; then
    cp "$WORK/bench/records.jsonl" "$OUT/bench/"
  fi
  log "bench: kept $(ls "$OUT/bench" | tr '\n' ' ')"
fi

if wanted smoke; then
  args=(run --matrix smoke --out "$WORK/smoke")
  [ -n "${SMOKE_FILTER:-}" ] && args+=(--filter "$SMOKE_FILTER")
  step smoke "$T_SMOKE" "${HARNESS[@]}" "${args[@]}"
  # results.jsonl is appended case by case, so even a timed-out run leaves what finished.
  mkdir -p "$OUT/smoke"
  # report.json too: `baseline update --from-report` makes this device's baseline from it.
  for f in summary.md results.jsonl report.json; do
    [ -f "$WORK/smoke/$f" ] && cp "$WORK/smoke/$f" "$OUT/smoke/"
  done
  log "smoke: kept $(ls "$OUT/smoke" | tr '\n' ' ')(all of it in $WORK/smoke)"
fi

if wanted spirv; then
  shim=()
  if ! command -v cc >/dev/null 2>&1 && [ -f .device/libspirv_shim.so ]; then
    shim=(--shim .device/libspirv_shim.so)
  fi
  step spirv "${T_SPIRV:-90}" deno run --cached-only -A tools/spirv_audit.ts --cached-only \
    "${shim[@]}" --keep "$WORK/spirv"
fi

if wanted probes; then
  step probes "${T_PROBES:-45}" deno run --cached-only -A tools/workgroup_probe.ts
fi

if wanted ab; then
  # Each variant of tools/kernel_variants.ts undoes one GPU-shape choice made without a GPU
  # measurement; ab_kernels times it against the shipped kernel on its case (the tables go
  # into the log). One step for all: a variant that fails is reported and the next runs.
  export WORK AB_ROUNDS=${AB_ROUNDS:-4}
  # shellcheck disable=SC2016 # expanded by the inner bash
  step ab "$T_AB" bash -c '
    t="deno run --cached-only --allow-read --allow-write --allow-env --allow-sys"
    $t tools/kernel_variants.ts "$WORK/variants" >"$WORK/variants.txt" || exit 1
    rc=0
    while IFS= read -r line; do
      echo "--- $line"
      # The printed command line, run with the offline permissions above.
      eval "${line/deno run -A/$t} --rounds $AB_ROUNDS --reps 5" || rc=1
    done <"$WORK/variants.txt"
    exit "$rc"'
  # The FA2 query tile (adapter/tiled_plan.ts fa2QueryTile): on this GPU's SM count the
  # 256-token prefill runs 16-query tiles (the bench step's figure); an SM count of 1 asks
  # for no more workgroups than 64-query tiles give, so this bench times 64-query tiles.
  step ab_fa2_tile 60 env MLA_HARNESS_SM_COUNT=1 "${HARNESS[@]}" bench \
    --filter "path=expanded;b=1;sq=256"
  # The dense decode (the expanded path at one query a sequence): since session 32
  # auto:expanded takes the FA2 kernel with KV splits on a GPU (5 on 132 SMs at the
  # headline; the bench step's figure), a rule made without a GPU: before, the lane kernel
  # wgsl-expanded, which took 22-65 ms on the H200. This times the lane kernel on the same
  # headline cases, so the two are measured side by side.
  step ab_dense_decode 60 "${HARNESS[@]}" bench --filter "path=expanded;sq=1" \
    --backend wgsl-expanded
  # Variants of the adapter's plan (tools/plan_variants.ts: the tiled decode at 128
  # invocations, 8-row workgroups, 64-key splits, a 48 KiB tier; the FA2 prefill's chunks of
  # 4 vec4s; the lane query absorption and up-projection, whose figure is the submission ms),
  # each benched (a tuning with MLA_HARNESS_TUNING, or edits in a copy of the tree) on the
  # headline absorbed decodes (the FA2 one on
  # the 256-token prefill), against the bench step's figures for the shipped plan.
  # Also alone, as STEPS=plans.
fi
if wanted ab || wanted plans; then
  step ab_plans "${T_ABPLAN:-180}" deno run --cached-only -A tools/plan_variants.ts \
    --work "$WORK/plans" --cached-only
fi

if wanted splits; then
  step splits "${T_SPLITS:-120}" "${HARNESS[@]}" run --matrix tools/gpu_splits_matrix.json \
    --repeats 20 --out "$WORK/splits"
  # Into the log, not a file of $OUT: with the smoke's three files and the bench's two,
  # $OUT already holds the 8 files that come back.
  if [ -f "$WORK/splits/summary.md" ]; then
    log "splits: summary.md of the run:"
    tee -a "$LOG" <"$WORK/splits/summary.md" >/dev/null
  fi
fi

if wanted tune; then
  step tune "${T_TUNE:-300}" deno run --cached-only -A tools/tune_plan.ts --cached-only \
    --out "$WORK/tuning.json" --work "$WORK/tune" --repeats "${TUNE_REPEATS:-20}" \
    ${TUNE_KNOBS:+--knobs "$TUNE_KNOBS"}
  # Into the log, not a file of $OUT (it already holds the 8 files that come back).
  if [ -f "$WORK/tuning.json" ]; then
    log "tune: $WORK/tuning.json:"
    tee -a "$LOG" <"$WORK/tuning.json" >/dev/null
  fi
fi

if wanted tests; then
  log "GPU test files: $GPU_TESTS"
  # modules side by side (TEST_JOBS at once, default 4), as `deno task test` runs them: more
  # of the list fits the step's timeout; the machine has 16 CPUs and one GPU with room for four
  # test modules' buffers many times over
  # shellcheck disable=SC2086 # GPU_TESTS is a word list
  step tests "$T_TESTS" env DENO_JOBS="${TEST_JOBS:-4}" deno test --cached-only --parallel \
    --allow-read --allow-write --allow-env --allow-run --allow-sys --allow-net=127.0.0.1 $GPU_TESTS
fi

# ---------------------------------------------------------------- what comes back
# At most 8 files, 16 MiB each: trim oversized files to their tail, move extras to $WORK.
log ""
log "total $((SECONDS - T_START))s"
while IFS= read -r f; do
  if [ "$(stat -c %s "$f")" -gt 15000000 ]; then
    tail -c 15000000 "$f" >"$f.tail" && mv "$f.tail" "$f"
    echo "(trimmed $f to its last 15 MB)" >>"$LOG"
  fi
done < <(find "$OUT" -type f)
n=2 # log.txt and steps.txt always stay
while IFS= read -r f; do
  n=$((n + 1))
  if [ "$n" -gt 8 ]; then mv "$f" "$WORK/" && echo "(moved $f out of \$OUT: over 8 files)" >>"$LOG"; fi
done < <(find "$OUT" -type f ! -name log.txt ! -name steps.txt | sort)

echo ""
echo "=== gpu_machine_check summary (step, exit code, seconds) ==="
cat "$STEPLOG"
echo "files in \$OUT:"
(cd "$OUT" && find . -type f -printf '  %p %s bytes\n' | sort)
exit "$FAILED"
