# Sourced by the scripts that train on real faces: sets $real to the first folder holding UTKFace/ and
# smiles_dataset.txt among data/, $UTKFACE_DIR and ../shared/data/utkface ("" when there is none).
real=""
for dir in data "${UTKFACE_DIR:-}" ../shared/data/utkface; do
    if [ -n "$dir" ] && [ -d "$dir/UTKFace" ] && [ -f "$dir/smiles_dataset.txt" ]; then
        real="$dir"
        break
    fi
done
