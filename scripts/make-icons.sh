#!/usr/bin/env bash
# Regenerates the app icons in icons/ from nothing but ImageMagick drawing primitives.
#
# The mark is a bold white "G" drawn as geometry (an open ring and a crossbar, like a gate's arm)
# on a teal (#0f766e) rounded square. It is drawn once at 1024x1024 and scaled down, so every size
# is the same picture. No font is used, so the result does not depend on which fonts a machine has,
# and PNG time stamps are left out, so running this twice gives the same bytes.
#
# Usage: scripts/make-icons.sh    (needs ImageMagick 6 or 7: `convert` or `magick`)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$root/icons"
mkdir -p "$out"

if command -v magick >/dev/null 2>&1; then
    im=(magick)
elif [ -x /usr/bin/convert ]; then
    # Prefer Debian's real convert over any wrapper earlier on PATH.
    im=(/usr/bin/convert)
elif command -v convert >/dev/null 2>&1; then
    im=(convert)
else
    echo "make-icons: ImageMagick is not installed; run scripts/deps.sh (or apt-get install imagemagick)" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

teal='#0f766e'
# Only filled shapes, no strokes (ImageMagick 6 strokes open arcs unevenly): a white disc with a
# teal hole makes the ring (centre 512,512; radii 335 and 185), a teal wedge from -45 degrees to
# 3 o'clock opens the G's mouth, and a white bar from the right edge towards the centre, flush with
# the cut, is the crossbar.
"${im[@]}" -size 1024x1024 xc:none \
    -stroke none \
    -fill "$teal" -draw 'roundrectangle 40,40 983,983 210,210' \
    -fill white -draw 'circle 512,512 847,512' \
    -fill "$teal" -draw 'circle 512,512 697,512' \
    -draw 'polygon 512,512 866,158 930,158 930,512' \
    -fill white -draw 'rectangle 540,512 847,652' \
    "PNG32:$tmp/master.png"

# `-strip` and the excluded chunks drop time stamps so the output is reproducible.
png() {
    "${im[@]}" "$tmp/master.png" -filter Lanczos -resize "$1x$1" -strip \
        -define png:exclude-chunks=date,time "PNG32:$out/$2"
}
png 32 32x32.png
png 128 128x128.png
png 256 128x128@2x.png
png 512 icon.png

# Windows icon with the usual sizes; Tauri's bundler wants it present even on Linux.
"${im[@]}" "$tmp/master.png" -filter Lanczos -define icon:auto-resize=256,128,64,48,32,16 \
    "$out/icon.ico"

echo "make-icons: wrote icons/{32x32,128x128,128x128@2x,icon}.png and icons/icon.ico"
