#!/usr/bin/env bash
# Updates the Mini App's vendored chart library (uPlot, MIT) from the npm registry.
#
#   scripts/vendor_chart.sh [VERSION]     (default: the version in the VERSION file)
#
# `npm pack` fetches the published tarball and checks it against the registry's integrity hash;
# this keeps the minified script, its stylesheet and the licence, and writes VERSION with the
# tarball's sha512 integrity. Nothing is built: the page loads these files as they are.
set -euo pipefail
cd "$(dirname "$0")/.."
target=bot/miniapp/static/vendor/uplot
version="${1:-$(sed -n 's/^uplot@//p' "$target/VERSION" 2>/dev/null || true)}"
version="${version:-latest}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent --json "uplot@$version" > pack.json)
tarball="$(cd "$work" && python3 -c 'import json; print(json.load(open("pack.json"))[0]["filename"])')"
integrity="$(cd "$work" && python3 -c 'import json; print(json.load(open("pack.json"))[0]["integrity"])')"
resolved="$(cd "$work" && python3 -c 'import json; print(json.load(open("pack.json"))[0]["version"])')"
tar -xzf "$work/$tarball" -C "$work"

mkdir -p "$target"
cp "$work/package/dist/uPlot.iife.min.js" "$target/uPlot.iife.min.js"
cp "$work/package/dist/uPlot.min.css" "$target/uPlot.min.css"
cp "$work/package/LICENSE" "$target/LICENSE"
printf 'uplot@%s\nintegrity %s\nfrom the npm registry by scripts/vendor_chart.sh\n' \
  "$resolved" "$integrity" > "$target/VERSION"
echo "vendored uplot@$resolved into $target"
