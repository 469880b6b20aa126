#!/usr/bin/env bash
# Builds the app's Debian package with the Tauri bundler (a release build; 15-20 minutes cold on
# two cores):
#
#   scripts/deb.sh
#
# The package lands in $CARGO_TARGET_DIR/release/bundle/deb/. The Tauri CLI comes from npm
# (@tauri-apps/cli, fetched by npx on first use), which is much quicker than `cargo install
# tauri-cli`. Install it with `sudo apt install ./Gerbang_*.deb`; it depends on WebKitGTK 4.1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
export CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}"

"$root/scripts/deps.sh"
(cd "$root/ui" && npm run --silent build -- --logLevel warn)
cd "$root"
npx --yes @tauri-apps/cli@2 build --bundles deb "$@"
ls -l "$CARGO_TARGET_DIR"/release/bundle/deb/*.deb
