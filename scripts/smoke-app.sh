#!/usr/bin/env bash
# Starts the built app on the current X display, waits until its window is up and the UI has
# painted, takes a screenshot, and stops the app. scripts/test.sh runs it inside `xvfb-run`.
#
#   scripts/smoke-app.sh BINARY SCREENSHOT.png
#
# Fails when the app exits early, when no "Gerbang" window appears within $SMOKE_TIMEOUT seconds
# (default 60), or when the window never shows the UI's teal header (a blank or error page).
set -euo pipefail

bin="$1"
shot="$2"
deadline_s="${SMOKE_TIMEOUT:-60}"
log="$(dirname "$shot")/gerbang-smoke.log"

[ -n "${DISPLAY:-}" ] || { echo "smoke: DISPLAY is not set; run me under xvfb-run" >&2; exit 1; }
[ -x "$bin" ] || { echo "smoke: $bin is not built" >&2; exit 1; }

# Xvfb has no GPU, and WebKitGTK's DMA-BUF renderer can leave the window blank without one; the
# shared-memory path always works there.
export WEBKIT_DISABLE_DMABUF_RENDERER=1
# A fresh profile each run: the app's (and WebKit's) saved data, such as the chosen language, stays
# out of the developer's own and cannot change what the first screen looks like.
profile="$(dirname "$shot")/profile"
rm -rf "$profile"
export XDG_DATA_HOME="$profile/data" XDG_CONFIG_HOME="$profile/config"

# Its own session and process group, so stopping it also stops WebKit's helper processes.
setsid "$bin" >"$log" 2>&1 &
app=$!
stop_app() {
    kill -TERM -- "-$app" 2>/dev/null || true
    wait "$app" 2>/dev/null || true
}
trap stop_app EXIT

fail() {
    echo "smoke: $*" >&2
    echo "smoke: the app's output ($log):" >&2
    sed 's/^/    /' "$log" >&2 || true
    exit 1
}

deadline=$((SECONDS + deadline_s))

# 1. The window: a top-level X window named exactly "Gerbang".
win=""
while [ -z "$win" ]; do
    kill -0 "$app" 2>/dev/null || fail "the app exited before opening its window"
    [ "$SECONDS" -lt "$deadline" ] || fail "no \"Gerbang\" window within ${deadline_s}s"
    win="$(xwininfo -root -tree 2>/dev/null | awk '/"Gerbang": \(/ { print $1; exit }')"
    [ -n "$win" ] || sleep 0.2
done
echo "smoke: window $win is up after ${SECONDS}s"

# 2. The UI: the header's teal (#0f766e) just inside the window's top-left corner. Until the page
# has loaded and painted, that pixel is white or black.
geometry="$(xwininfo -id "$win")"
x="$(awk '/Absolute upper-left X:/ { print $NF }' <<<"$geometry")"
y="$(awk '/Absolute upper-left Y:/ { print $NF }' <<<"$geometry")"
is_teal() {
    local hex r g b
    hex="$(import -silent -window root -crop "1x1+$((x + 6))+$((y + 6))" +repage -depth 8 txt:- 2>/dev/null |
        grep -o '#[0-9A-Fa-f]\{6\}' | head -n1)"
    [ -n "$hex" ] || return 1
    r=$((16#${hex:1:2})) g=$((16#${hex:3:2})) b=$((16#${hex:5:2}))
    # Allow a little for colour rounding.
    [ "${r#-}" -le 30 ] && [ $((g - 118)) -le 8 ] && [ $((118 - g)) -le 8 ] &&
        [ $((b - 110)) -le 8 ] && [ $((110 - b)) -le 8 ]
}
until is_teal; do
    kill -0 "$app" 2>/dev/null || fail "the app exited before its UI was painted"
    [ "$SECONDS" -lt "$deadline" ] || fail "the window never showed the UI within ${deadline_s}s"
    sleep 0.2
done
echo "smoke: UI painted after ${SECONDS}s"

# The verdict above is already in; this pause only lets the footer's app_info answer and the web
# font land before the picture is taken, so the screenshot shows the finished first screen.
sleep 1

import -silent -window root "$shot"
echo "smoke: screenshot $shot"
