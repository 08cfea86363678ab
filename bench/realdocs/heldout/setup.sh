#!/usr/bin/env bash
# Build the held-out corpus for bench/realdocs/heldout: manuals NOT used to tune ragd.
#
#   bench/realdocs/heldout/setup.sh [CORPUS_DIR]      (default: data/heldout/corpus)
#
# Installs (idempotent, needs root or sudo) bash-doc and diffutils-doc, then copies:
#   bash/       bashref.pdf (the Bash Reference Manual, 196 pages, Texinfo PDF)
#   diffutils/  the GNU diffutils manual, one HTML page per node (112 pages)
# The corpus folder is recreated from scratch every run, so it is always the same set.
set -euo pipefail

CORPUS=${1:-data/heldout/corpus}
PACKAGES=(bash-doc diffutils-doc poppler-utils)

source "$(dirname "$0")/../packages.sh"
install_packages "${PACKAGES[@]}"

rm -rf "$CORPUS"
mkdir -p "$CORPUS/bash" "$CORPUS/diffutils"
cp /usr/share/doc/bash/bashref.pdf "$CORPUS/bash/"
cp /usr/share/doc/diffutils/*.html "$CORPUS/diffutils/"
for p in bash-doc diffutils-doc; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
echo "corpus: $(find "$CORPUS" -type f | wc -l) files in $CORPUS"
