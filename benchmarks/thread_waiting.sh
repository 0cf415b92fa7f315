# How idle OpenMP threads wait, for cvae.py at the study's setting (30 epochs, whole command): on an idle machine
# and beside one busy process. POLICY[:SPINCOUNT]; ACTIVE:300000 is libgomp's own default when nothing is set.
# Usage: sh benchmarks/thread_waiting.sh   (needs UTKFace and its smile labels; run it on an otherwise idle machine)
cd "$(dirname "$0")/.."
U=${UTKFACE_DIR:-../shared/data/utkface}
run() {  # run LABEL POLICY[:SPIN]
  pol=${2%%:*}; spin=${2#*:}; [ "$spin" = "$2" ] && spin=""
  s=$(date +%s.%N)
  env OMP_WAIT_POLICY=$pol ${spin:+GOMP_SPINCOUNT=$spin} .venv/bin/python cvae.py --data $U/UTKFace \
    --labels $U/smiles_dataset.txt --resize 50 --latent_size 20 --batch_size 8 --lr 2e-4 --beta 0.5 --seed 0 \
    --n_epochs 30 --out ${TMPDIR:-/tmp}/thread_waiting_run --overwrite > /dev/null 2>&1
  e=$(date +%s.%N)
  ep=$(awk -F, 'NR>1{s+=$NF} END{print s}' ${TMPDIR:-/tmp}/thread_waiting_run/training.csv)
  echo "$1 policy=$2 whole=$(echo "$e - $s" | bc) epochs=$ep load=$(cut -d' ' -f1 /proc/loadavg)"
}
for p in ACTIVE:300000 ACTIVE:30000 ACTIVE PASSIVE; do run idle $p; done
python3 -c "while True: pass" & B=$!
sleep 2
for p in ACTIVE:300000 ACTIVE:30000 ACTIVE PASSIVE; do run busy1 $p; done
kill $B
