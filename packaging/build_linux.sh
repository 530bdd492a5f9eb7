#!/usr/bin/env bash
# Build PayGo Desktop's Linux packages from this checkout: the PyInstaller bundle, a .tar.gz of it and a
# .deb (installs to /opt/paygo-desktop, launcher /usr/bin/paygo-desktop, .desktop entry, hicolor icons).
#
#   packaging/build_linux.sh            # or: make package
#   PYTHON=/path/to/python packaging/build_linux.sh
#
# Needs: the project's environment (make install: Python deps incl. PyInstaller, pinned in
# requirements.lock), binutils (PyInstaller's objdump/strip), dpkg-deb, tar, gzip. Downloads nothing.
# Output: dist/paygo-desktop-<version>-linux-<arch>.tar.gz, dist/paygo-desktop_<version>_<arch>.deb, and
# build/bundle/paygo-desktop/ (the unpacked bundle). Timestamps come from SOURCE_DATE_EPOCH (default: the
# last commit's time), so two builds of one commit with the same lock give the same archives.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PYINSTALLER=("$PYTHON" -m PyInstaller)
if [[ -z "${SOURCE_DATE_EPOCH:-}" ]]; then
  SOURCE_DATE_EPOCH=$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
export PYTHONHASHSEED=0          # stable set/dict orders in PyInstaller's output
export QT_QPA_PLATFORM=offscreen # icons are rendered with Qt, with no display
export LC_ALL=C.UTF-8 TZ=UTC

VERSION=$("$PYTHON" -c 'import paygo_desktop; print(paygo_desktop.__version__)')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
NAME=paygo-desktop
BUILD=$ROOT/build
BUNDLE=$BUILD/bundle/$NAME
DIST=$ROOT/dist
TARBALL=$DIST/$NAME-$VERSION-linux-$ARCH.tar.gz
DEB=$DIST/${NAME}_${VERSION}_${ARCH}.deb
STAGE=$BUILD/deb/$NAME

say() { printf '==> %s\n' "$*"; }
normalize_tree() {  # owner-independent modes and the commit's time on every file, link and folder
  chmod -R u+rwX,go+rX,go-w "$1"
  find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
}

say "PayGo Desktop $VERSION for $ARCH; SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH"
rm -rf "$BUILD/bundle" "$BUILD/deb" "$BUILD/icons"
rm -f "$DIST/$NAME"-*.tar.gz "$DIST/${NAME}"_*.deb  # one version at a time in dist/
mkdir -p "$DIST"

say "bundle (PyInstaller $("$PYTHON" -c 'import PyInstaller; print(PyInstaller.__version__)'))"
"${PYINSTALLER[@]}" --noconfirm --clean --log-level WARN \
  --distpath "$BUILD/bundle" --workpath "$BUILD/pyinstaller" packaging/paygo-desktop.spec

say "libraries the bundle takes from the host"
# Everything but the optional Qt plugins (GTK theme, Wayland, input methods) must resolve here; what the
# bundle links outside itself is listed for the .deb's Depends (packaging/linux/control.in).
: > "$BUILD/host-libraries.txt"
missing=0
while IFS= read -r -d '' file; do
  head -c 4 "$file" | grep -q $'\x7fELF' || continue
  links=$(LD_LIBRARY_PATH="$BUNDLE/_internal" ldd "$file" 2>/dev/null || true)
  awk -v bundle="$BUNDLE/" '$2 == "=>" && index($3, bundle) != 1 && $3 != "not" {print $1, $3}' \
    <<< "$links" >> "$BUILD/host-libraries.txt"
  absent=$(awk '/not found/ {print $1}' <<< "$links" | tr '\n' ' ')
  if [[ -n $absent ]]; then
    case "$file" in
      */plugins/platformthemes/*|*/plugins/wayland-*|*/plugins/platforms/libqwayland*|*/plugins/platforminputcontexts/*|*/libQt6Wayland*|*/libQt6Wl*)
        echo "   optional, not on this machine: ${file#"$BUNDLE"/}: $absent";;
      *)
        echo "   MISSING for ${file#"$BUNDLE"/}: $absent"
        missing=1;;
    esac
  fi
done < <(find "$BUNDLE" -type f \( -name '*.so*' -o -name "$NAME" \) -print0)
sort -u -o "$BUILD/host-libraries.txt" "$BUILD/host-libraries.txt"
if [[ $missing != 0 ]]; then
  echo "error: the bundle needs libraries that are neither bundled nor on this machine" >&2
  exit 1
fi
GLIBC=$({ find "$BUNDLE" -type f \( -name '*.so*' -o -name "$NAME" \) -exec objdump -T {} + 2>/dev/null || true; } \
  | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
echo "   $(wc -l < "$BUILD/host-libraries.txt") host libraries (build/host-libraries.txt); needs glibc >= $GLIBC"

say "icons"
"$PYTHON" packaging/render_icons.py --hicolor "$BUILD/icons/hicolor" > /dev/null

say "tarball $TARBALL"
normalize_tree "$BUNDLE"
tar --sort=name --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$BUILD/bundle" -cf - "$NAME" | gzip -n -9 > "$TARBALL"

say "deb $DEB"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/icons" "$STAGE/usr/share/doc/$NAME"
cp -a "$BUNDLE" "$STAGE/opt/$NAME"
ln -s "../../opt/$NAME/$NAME" "$STAGE/usr/bin/$NAME"  # relative: also runs from a `dpkg -x` root
cp packaging/linux/paygo-desktop.desktop "$STAGE/usr/share/applications/$NAME.desktop"
cp -a "$BUILD/icons/hicolor" "$STAGE/usr/share/icons/hicolor"
cp packaging/linux/copyright "$STAGE/usr/share/doc/$NAME/copyright"
INSTALLED_SIZE=$(du -sk --apparent-size "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
  -e "s/@GLIBC@/$GLIBC/" packaging/linux/control.in > "$STAGE/DEBIAN/control"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) \
  > "$STAGE/DEBIAN/md5sums"
normalize_tree "$STAGE"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz -z6 --build "$STAGE" "$DEB" > /dev/null

say "done"
du -sh --apparent-size "$BUNDLE" | sed 's/^/   bundle unpacked: /'
for f in "$TARBALL" "$DEB"; do
  printf '   %s  %s  %s\n' "$(du -h --apparent-size "$f" | cut -f1)" "$(sha256sum "$f" | cut -c1-16)" "${f#"$ROOT"/}"
done
