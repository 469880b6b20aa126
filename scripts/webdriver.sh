#!/usr/bin/env bash
# The real app over WebDriver: two instances of the built `gerbang` binary driven through
# tauri-driver and WebKitWebDriver inside a virtual X display (tests/webdriver/app.test.mjs).
#
#   scripts/webdriver.sh [SCREENSHOT_DIR]
#
# Screenshots of every screen go to SCREENSHOT_DIR (default: a temporary folder; pass
# docs/screenshots to refresh the README's pictures). Expects the app to be built
# ($CARGO_TARGET_DIR/debug/gerbang), as scripts/test.sh does before it runs this.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/gerbang-target}"
bin="$CARGO_TARGET_DIR/debug/gerbang"
shots="${1:-$(mktemp -d "${TMPDIR:-/tmp}/gerbang-webdriver.XXXXXX")}"
mkdir -p "$shots"

[ -x "$bin" ] || { echo "webdriver: $bin is not built (cargo build -p gerbang-app)" >&2; exit 1; }
command -v tauri-driver >/dev/null || { echo "webdriver: tauri-driver is missing; run scripts/deps.sh" >&2; exit 1; }
command -v WebKitWebDriver >/dev/null || { echo "webdriver: WebKitWebDriver is missing (Debian package webkit2gtk-driver); run scripts/deps.sh" >&2; exit 1; }

echo "webdriver: screenshots in $shots"
# A screen large enough for the 1280x800 window.
exec xvfb-run -a -s "-screen 0 1400x900x24" node "$root/tests/webdriver/app.test.mjs" "$bin" "$shots"
