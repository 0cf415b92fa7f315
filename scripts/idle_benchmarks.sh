#!/bin/sh
# Every timing of issue 26 that needs an idle machine, one after the other, then one table. About 30 minutes on
# the project's 2-core machine (plus about 8 to draw the 200,000 toy faces at 128 px the first time).
#   sh scripts/idle_benchmarks.sh            # run it when nothing else runs (the load average is printed)
# 1. the whole-command ratio: benchmarks/whole_run.py --compare at 30 epochs, three times (cvae.py at the study's
#    setting against the study's loop rebuilt; goal: at least 5x every time)
# 2. the thread-waiting choice: cvae.py at the study's setting, 30 epochs, with facegen's choice (on an idle CPU
#    GOMP_SPINCOUNT=3000000), libgomp's default spin (300000), spinning until woken (ACTIVE) and PASSIVE, each once
# 3. data_scale.py images/s: 10,000 and 200,000 faces at 128 px, in memory (where it fits) and from shards,
#    1 and 2 processes
# 4. torch.compile on the CPU against eager: the study's setting and 64 px batch 256, compile time included
# Results: benchmarks/results/idle-<date>/ (every JSON), the table on stdout and in table.txt beside them.
set -e
cd "$(dirname "$0")/.."
PY=.venv/bin/python
U=${UTKFACE_DIR:-../shared/data/utkface}
SHARDS=${SHARDS:-data/shards/toy200k}
OUT=benchmarks/results/idle-$(date +%Y-%m-%d-%H%M)
mkdir -p "$OUT"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$OUT/load.txt"

for i in 1 2 3; do
  $PY benchmarks/whole_run.py --compare --epochs_list 30 --out "$OUT/whole_run_compare_$i.json"
done

study="--data $U/UTKFace --labels $U/smiles_dataset.txt --resize 50 --latent_size 20 --batch_size 8 --lr 2e-4
  --beta 0.5 --seed 0 --n_epochs 30 --out ${TMPDIR:-/tmp}/idle_waiting --overwrite"
for policy in facegen default ACTIVE PASSIVE; do
  case $policy in
    facegen) envs="" ;;
    default) envs="GOMP_SPINCOUNT=300000" ;;  # libgomp's own spin when nothing is set
    *) envs="OMP_WAIT_POLICY=$policy" ;;
  esac
  s=$(date +%s.%N)
  env $envs $PY cvae.py $study > /dev/null 2>&1
  e=$(date +%s.%N)
  echo "$policy $(echo "$e - $s" | bc)" >> "$OUT/thread_waiting.txt"
done

if [ ! -f "$SHARDS/shards.json" ]; then
  $PY prepare_data.py --dataset toy --n_toy 200000 --resize 128 --out "$SHARDS"
fi
$PY benchmarks/data_scale.py --shards "$SHARDS" --faces 10000,200000 --train_steps 20 --read_steps 200 \
  --memory_budget_gb 10 --out "$OUT/data_scale.json"

for mode in off reduce-overhead; do
  $PY benchmarks/train_speed.py --models cvae --sizes 50 --batches 8 --data_sizes 185 --max_steps 0 --repeats 5 \
    --compile $mode --out "$OUT/compile_study_$mode.json"
  $PY benchmarks/train_speed.py --models cvae --sizes 64 --batches 256 --data_sizes 5000 --max_steps 8 --repeats 3 \
    --compile $mode --out "$OUT/compile_64px_b256_$mode.json"
done

echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/load.txt"
$PY benchmarks/idle_table.py "$OUT" | tee "$OUT/table.txt"
