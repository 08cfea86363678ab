#!/usr/bin/env bash
# Build the real-document corpus for bench/realdocs from Debian -doc packages.
#
#   bench/realdocs/setup.sh [CORPUS_DIR]      (default: data/realdocs/corpus)
#
# Installs (idempotent, needs root or sudo) git-doc, sqlite3-doc, lua5.2-doc, gnuplot-doc,
# octave-doc and poppler-utils, then copies a FIXED subset of their files into CORPUS_DIR:
#   git/      HTML manual pages (asciidoc) + git howto notes as plain text
#   sqlite/   HTML pages of the SQLite documentation site
#   lua/      the Lua 5.2 reference manual (one long HTML page) + readme + contents
#   gnuplot/  gnuplot.pdf (311 pages)
#   octave/   octave.pdf (1158 pages), liboctave.pdf (57 pages), refcard-a4.pdf
# The corpus folder is recreated from scratch every run, so it is always the same set.
set -euo pipefail

CORPUS=${1:-data/realdocs/corpus}
PACKAGES=(git-doc sqlite3-doc lua5.2-doc gnuplot-doc octave-doc poppler-utils)
DOC=/usr/share/doc

source "$(dirname "$0")/packages.sh"
install_packages "${PACKAGES[@]}"

GIT_HTML=(
  git git-add git-am git-apply git-archive git-bisect git-blame git-branch git-bundle git-cat-file
  git-checkout git-cherry-pick git-cherry git-clean git-clone git-commit git-config git-credential
  git-credential-cache git-credential-store git-daemon git-describe git-diff git-difftool git-fetch
  git-format-patch git-fsck git-gc git-grep git-help git-init git-log git-ls-files git-maintenance
  git-merge git-mergetool git-mv git-notes git-pull git-push git-range-diff git-rebase git-reflog
  git-remote git-repack git-reset git-restore git-revert git-rev-parse git-rm git-send-email
  git-shortlog git-show git-sparse-checkout git-stash git-status git-submodule git-switch git-tag
  git-worktree gitattributes gitignore githooks gitglossary gittutorial gitworkflows gitrevisions
  gitcredentials gitmodules gitfaq giteveryday user-manual
)
SQLITE_HTML=(
  autoinc atomiccommit backup cli compile csv datatype3 dbstat different eqp faq fileformat2
  floatingpoint foreignkeys fts5 gencol howtocorrupt inmemorydb isolation json1 limits loadext
  lockingv3 mmap nulls optoverview partialindex pragma printf queryplanner quirks rescode rowvalue
  rtree security series sharedcache sqlar sqldiff stricttables tempfiles threadsafe uri
  versionnumbers vtab wal whentouse windowfunctions withoutrowid zipfile
)

rm -rf "$CORPUS"
mkdir -p "$CORPUS"/{git/howto,sqlite,lua,gnuplot,octave}

for f in "${GIT_HTML[@]}"; do cp "$DOC/git-doc/$f.html" "$CORPUS/git/"; done
for f in "$DOC"/git-doc/howto/*.txt; do cp "$f" "$CORPUS/git/howto/"; done
for f in "${SQLITE_HTML[@]}"; do cp "$DOC/sqlite3/$f.html" "$CORPUS/sqlite/"; done
for f in "$DOC"/sqlite3/lang*.html; do cp "$f" "$CORPUS/sqlite/"; done
cp "$DOC"/lua5.2/{manual,readme,contents}.html "$CORPUS/lua/"
cp "$DOC/gnuplot/gnuplot.pdf" "$CORPUS/gnuplot/"
cp "$DOC"/octave/{octave,liboctave,refcard-a4}.pdf "$CORPUS/octave/"
# Some Debian versions ship documents gzip-compressed: keep them readable.
find "$CORPUS" -name '*.gz' -exec gunzip -f {} +

echo "corpus: $CORPUS"
for d in "$CORPUS"/*/; do
  printf '  %-9s %4d files  %s\n' "$(basename "$d")" "$(find "$d" -type f | wc -l)" "$(du -sh "$d" | cut -f1)"
done
printf '  %-9s %4d files  %s\n' total "$(find "$CORPUS" -type f | wc -l)" "$(du -sh "$CORPUS" | cut -f1)"
echo "packages:"
dpkg-query -W -f='  ${Package} ${Version}\n' "${PACKAGES[@]}"
