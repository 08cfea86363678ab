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

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

rm -rf "$CORPUS"
mkdir -p "$CORPUS/bash" "$CORPUS/diffutils"
cp /usr/share/doc/bash/bashref.pdf "$CORPUS/bash/"
cp /usr/share/doc/diffutils/*.html "$CORPUS/diffutils/"
for p in bash-doc diffutils-doc; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
echo "corpus: $(find "$CORPUS" -type f | wc -l) files in $CORPUS"
