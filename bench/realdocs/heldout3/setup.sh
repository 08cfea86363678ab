#!/usr/bin/env bash
# Build the third held-out corpus for bench/realdocs/heldout3: manuals NOT used to tune ragd.
#
#   bench/realdocs/heldout3/setup.sh [CORPUS_DIR]      (default: data/heldout3/corpus)
#
# Installs (idempotent, needs root or sudo) zsh-doc and haproxy-doc, then copies:
#   zsh/        the Z shell manual as Texinfo HTML (186 files; many are one-line redirect stubs
#               to a section of a larger page, as texi2any writes them)
#   haproxy/    HAProxy 2.6's configuration manual (one 2.6 MB HTML page), management guide and
#               starter guide
# The corpus folder is recreated from scratch every run, so it is always the same set.
set -euo pipefail

CORPUS=${1:-data/heldout3/corpus}
PACKAGES=(zsh-doc haproxy-doc)

source "$(dirname "$0")/../packages.sh"
install_packages "${PACKAGES[@]}"

rm -rf "$CORPUS"
mkdir -p "$CORPUS/zsh" "$CORPUS/haproxy"
cp /usr/share/doc/zsh-common/html/*.html "$CORPUS/zsh/"
cp /usr/share/doc/haproxy/html/*.html "$CORPUS/haproxy/"
for p in "${PACKAGES[@]}"; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
echo "corpus: $(find "$CORPUS" -type f | wc -l) files in $CORPUS"
