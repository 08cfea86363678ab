#!/usr/bin/env bash
# Build the second held-out corpus for bench/realdocs/heldout2: manuals NOT used to tune ragd.
#
#   bench/realdocs/heldout2/setup.sh [CORPUS_DIR]      (default: data/heldout2/corpus)
#
# Installs (idempotent, needs root or sudo) apache2-doc and flex-doc, then copies:
#   apache/     the Apache HTTP Server 2.4 manual in English: its top-level pages, howto/, vhosts/
#               and every module page mod/ (184 HTML pages, each with the site's navigation:
#               breadcrumbs, language bar, "See also" sidebar, comments and footer)
#   flex/       flex.pdf (the flex manual, 140 pages, Texinfo PDF; gunzipped)
# The corpus folder is recreated from scratch every run, so it is always the same set.
set -euo pipefail

CORPUS=${1:-data/heldout2/corpus}
PACKAGES=(apache2-doc flex-doc poppler-utils)
MANUAL=/usr/share/doc/apache2-doc/manual/en

source "$(dirname "$0")/../packages.sh"
install_packages "${PACKAGES[@]}"

rm -rf "$CORPUS"
mkdir -p "$CORPUS/apache" "$CORPUS/flex"
for sub in . howto vhosts mod; do
  mkdir -p "$CORPUS/apache/$sub"
  cp "$MANUAL/$sub"/*.html "$CORPUS/apache/$sub/"
done
gunzip -c /usr/share/doc/flex-doc/flex.pdf.gz >"$CORPUS/flex/flex.pdf"
for p in apache2-doc flex-doc; do dpkg-query -W -f='${Package} ${Version}\n' "$p"; done
echo "corpus: $(find "$CORPUS" -type f | wc -l) files in $CORPUS"
