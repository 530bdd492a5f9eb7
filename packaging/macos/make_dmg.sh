#!/usr/bin/env bash
# Build "PayGo Desktop.app" and a .dmg on macOS. UNTESTED: written on Linux, never run here.
# See docs/packaging.md, "macOS". From the repository root, with the project's environment (.venv) made
# from requirements.lock on the Mac (arm64 or x86_64: PyInstaller builds for the machine it runs on):
#
#   packaging/macos/make_dmg.sh
#
# Signing and notarization run only when their variables are set:
#   PAYGO_CODESIGN_IDENTITY="Developer ID Application: NAME (TEAMID)"  codesign the .app (hardened runtime)
#   PAYGO_NOTARY_PROFILE=profile-name   notarize the .dmg (xcrun notarytool store-credentials made it) and staple
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
export PYTHONHASHSEED=0

VERSION=$("$PYTHON" -c 'import paygo_desktop; print(paygo_desktop.__version__)')
ARCH=$(uname -m)
APP="$ROOT/build/bundle/PayGo Desktop.app"
DMG="$ROOT/dist/paygo-desktop-$VERSION-macos-$ARCH.dmg"
mkdir -p "$ROOT/build/icons" "$ROOT/dist"

"$PYTHON" packaging/render_icons.py --icns "$ROOT/build/icons/paygo-desktop.icns"
PAYGO_ICON="$ROOT/build/icons/paygo-desktop.icns" "$PYTHON" -m PyInstaller --noconfirm --clean \
  --distpath "$ROOT/build/bundle" --workpath "$ROOT/build/pyinstaller" packaging/paygo-desktop.spec

if [[ -n "${PAYGO_CODESIGN_IDENTITY:-}" ]]; then
  codesign --force --deep --timestamp --options runtime \
    --entitlements packaging/macos/entitlements.plist --sign "$PAYGO_CODESIGN_IDENTITY" "$APP"
  codesign --verify --strict --verbose=2 "$APP"
fi

# The self-test from the .app itself before packing it.
QT_QPA_PLATFORM=offscreen "$APP/Contents/MacOS/paygo-desktop" --self-test --data-dir "$(mktemp -d)"

STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
rm -f "$DMG"
hdiutil create -volname "PayGo Desktop $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"
rm -rf "$STAGE"

if [[ -n "${PAYGO_CODESIGN_IDENTITY:-}" ]]; then
  codesign --force --timestamp --sign "$PAYGO_CODESIGN_IDENTITY" "$DMG"
fi
if [[ -n "${PAYGO_NOTARY_PROFILE:-}" ]]; then
  xcrun notarytool submit "$DMG" --keychain-profile "$PAYGO_NOTARY_PROFILE" --wait
  xcrun stapler staple "$DMG"
fi
echo "$DMG"
