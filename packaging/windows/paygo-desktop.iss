; Inno Setup script for PayGo Desktop on Windows. UNTESTED: written on Linux, never compiled or run here.
; See docs/packaging.md, "Windows". Build on Windows (x64), from the repository root:
;
;   py -3.11 -m venv .venv && .venv\Scripts\pip install --require-hashes -r requirements.lock
;   .venv\Scripts\pip install --no-deps --no-build-isolation -e .
;   .venv\Scripts\python packaging\render_icons.py --ico build\icons\paygo-desktop.ico
;   set PAYGO_ICON=build\icons\paygo-desktop.ico
;   .venv\Scripts\pyinstaller --noconfirm --clean --distpath build\bundle --workpath build\pyinstaller packaging\paygo-desktop.spec
;   for /f %v in ('.venv\Scripts\python -c "import paygo_desktop; print(paygo_desktop.__version__)"') do set PAYGO_VERSION=%v
;   "%ProgramFiles(x86)%\Inno Setup 6\ISCC.exe" /DAppVersion=%PAYGO_VERSION% packaging\windows\paygo-desktop.iss
;
; Output: dist\paygo-desktop-<version>-windows-x64-setup.exe. Per-user install by default (no admin rights
; needed); the user may choose an all-users install. Sign the bundle's .exe before this step and the
; installer after it (signtool; see docs/packaging.md).

#ifndef AppVersion
  #error Pass the version: ISCC /DAppVersion=X.Y.Z (paygo_desktop.__version__)
#endif
#define AppName "PayGo Desktop"
#define AppExe "paygo-desktop.exe"
; Root: the repository, seen from packaging\windows.
#define Root "..\.."

[Setup]
; A fixed AppId: upgrades replace the installed version instead of installing beside it. Never change it.
AppId={{6F1B2A4E-5C1D-4B8E-9E55-2B0F6C3A9D71}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=PayGo Desktop developers
DefaultDirName={autopf}\PayGo Desktop
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
OutputDir={#Root}\dist
OutputBaseFilename=paygo-desktop-{#AppVersion}-windows-x64-setup
SetupIconFile={#Root}\build\icons\paygo-desktop.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; The user's data (wallet keystores, database, settings) lives in their profile, not under {app}, and is
; never removed by the uninstaller.

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[Files]
; The whole one-folder bundle built by PyInstaller.
Source: "{#Root}\build\bundle\paygo-desktop\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
; Python may write caches beside the bundle; the user's data is elsewhere and stays.
Type: filesandordirs; Name: "{app}\_internal\__pycache__"
