#!/usr/bin/env bash
# Reproduces the paper's claims (Roulet et al., NeurIPS 2024) at 2-CPU-core scale: runs every
# experiment of experiments/paper/plan.toml (finished runs are skipped, so an interrupted run
# continues), then regenerates experiments/results/ (tables, plots) and experiments/REPORT.md
# from the runs' metrics.
#
#   scripts/reproduce.sh --data-root data        # full runs (hours on 2 cores), release build
#   scripts/reproduce.sh --quick                 # seconds-long pipeline check (CI), dev build
#   scripts/reproduce.sh --profile gpu --data-root data
#                        # paper-scale plan (experiments/paper/plan-gpu.toml) on --backend wgpu,
#                        # into runs/paper-gpu/; exit status 2 with the reason when no GPU answers
#
# Data: `scripts/fetch-datasets.sh data` (or any folder with mnist/, cifar10/, tinyshakespeare/).
# Other options: `cargo run -p cdat-train -- reproduce --help`. CDAT_TRAIN=<binary> uses an
# already built cdat-train instead of `cargo run` (CI does, after `cargo test`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -n "${CDAT_TRAIN:-}" ]; then
  exec "$CDAT_TRAIN" reproduce "$@"
fi
profile=(--release)
for arg in "$@"; do
  if [ "$arg" = "--quick" ]; then profile=(); fi
done
exec cargo run --locked "${profile[@]}" -q -p cdat-train -- reproduce "$@"
