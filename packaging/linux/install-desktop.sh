#!/bin/sh
# Add DFECS Studio to this user's application menu and let a double-click on a rating pack's
# pack.json open it in rater mode. Run from the unpacked bundle folder; nothing needs root.
# Undo: ./install-desktop.sh --remove
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
apps="$data/applications"; mime="$data/mime"; icons="$data/icons/hicolor"
if [ "${1:-}" = "--remove" ]; then
  rm -f "$apps/dfecs-studio.desktop" "$apps/dfecs-rating-pack.desktop" \
        "$mime/packages/dfecs-rating-pack.xml" "$icons/scalable/apps/dfecs-studio.svg" \
        "$icons/256x256/apps/dfecs-studio.png"
else
  mkdir -p "$apps" "$mime/packages" "$icons/scalable/apps" "$icons/256x256/apps"
  for f in dfecs-studio.desktop dfecs-rating-pack.desktop; do
    sed "s|^Exec=dfecs-studio|Exec=\"$here/dfecs-studio\"|" "$here/$f" > "$apps/$f"
  done
  cp "$here/dfecs-rating-pack.xml" "$mime/packages/"
  icon_dir="$here/_internal/icons"
  cp "$icon_dir/dfecs-studio.svg" "$icons/scalable/apps/"
  cp "$icon_dir/dfecs-studio.png" "$icons/256x256/apps/"
  echo "installed DFECS Studio for $(id -un): menu entry, rating-pack file type, icon"
fi
command -v update-mime-database >/dev/null && update-mime-database "$mime" || true
command -v update-desktop-database >/dev/null && update-desktop-database "$apps" || true
command -v xdg-mime >/dev/null && [ "${1:-}" != "--remove" ] && \
  xdg-mime default dfecs-rating-pack.desktop application/x-dfecs-rating-pack || true
