#!/usr/bin/env bash
# Refreshes producer/fonts/*.woff2, the faces the producer embeds into plans
# (producer/src/plan/fonts/), from the @fontsource packages pinned in
# producer/fonts/packages.lock: `npm pack` each one (the npm registry is the
# only network it uses), check the tarball against the pinned integrity,
# copy each pinned weight's latin woff2, and rewrite producer/fonts/faces.sha256.
# The Rust build never runs this: the files are in the repository, so the
# `hyperframes` binary and the Lambda `bootstrap` embed the same bytes, and a
# producer test checks them against faces.sha256.
#
#   scripts/update-fonts.sh           fetch, check, copy, rewrite faces.sha256
#   scripts/update-fonts.sh --check   fetch and check only: fail if a file differs
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
fonts="$root/producer/fonts"
check=0
[ "${1:-}" = "--check" ] && check=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
sums="$work/faces.sha256"
: > "$sums"
grep -v '^#' "$fonts/packages.lock" | while read -r pkg version integrity weights; do
  [ -n "$pkg" ] || continue
  slug=${pkg#@fontsource/}
  ( cd "$work" && npm pack --silent "$pkg@$version" >/dev/null )
  tgz="$work/fontsource-$slug-$version.tgz"
  got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
  if [ "$got" != "$integrity" ]; then
    echo "$pkg@$version: tarball integrity $got, pinned $integrity" >&2
    exit 1
  fi
  mkdir -p "$work/$slug"
  tar -xzf "$tgz" -C "$work/$slug"
  for w in ${weights//,/ }; do
    file="$slug-latin-$w-normal.woff2"
    src="$work/$slug/package/files/$file"
    [ -f "$src" ] || { echo "$pkg@$version has no $file" >&2; exit 1; }
    if [ "$check" -eq 1 ]; then
      cmp -s "$src" "$fonts/$file" || { echo "$file differs from $pkg@$version" >&2; exit 1; }
    else
      cp "$src" "$fonts/$file"
    fi
    (cd "$fonts" && sha256sum "$file") >> "$sums"
  done
  if [ "$check" -eq 0 ]; then
    cp "$work/$slug/package/LICENSE" "$fonts/LICENSE-$slug" 2>/dev/null || true
  fi
done
if [ "$check" -eq 1 ]; then
  diff -u "$fonts/faces.sha256" "$sums"
else
  cp "$sums" "$fonts/faces.sha256"
fi
echo "fonts: $(wc -l < "$sums") faces, $(cat "$fonts"/*.woff2 | wc -c) bytes" >&2
