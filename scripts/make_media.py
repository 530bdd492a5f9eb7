"""Make the sandbox's video (resources/media/): a 6-second test clip, synthesised by ffmpeg, as a
progressive MP4 (``clip.mp4``, its index at the front so a player starts at once and seeks with byte
ranges) and as HLS (``clip.m3u8`` and 2-second ``clip<n>.ts`` segments). The sandbox's media server
(sandbox.media) serves them behind the provider's gateway, as the catalog's ``demo-video`` service.

ffmpeg is a build-time tool only, never a run-time dependency of the app: where none is on PATH, this
script uses the static one the ``imageio-ffmpeg`` wheel ships (``pip install imageio-ffmpeg``). The
output is committed; run this again only to change the clip::

    python scripts/make_media.py            # writes resources/media/, prints the files and their sizes
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "resources" / "media"
SECONDS = 6
SEGMENT_SECONDS = 2
MAX_TOTAL_BYTES = 1_000_000  # the bundle ships these: well under 1 MB for both forms together

# a moving test pattern with a running clock, and a 440 Hz tone, at a small size and bitrate
SOURCES = [
    "-f", "lavfi", "-i", f"testsrc2=size=320x180:rate=24:duration={SECONDS}",
    "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=44100:duration={SECONDS}",
]  # fmt: skip
ENCODING = [
    "-c:v", "libx264", "-threads", "1", "-profile:v", "baseline", "-pix_fmt", "yuv420p", "-b:v", "160k",
    "-maxrate", "200k", "-bufsize", "400k", "-g", "48", "-keyint_min", "48", "-sc_threshold", "0",
    "-c:a", "aac", "-b:a", "48k", "-ac", "1",
    "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
]  # fmt: skip


def ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found:
        return found
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("No ffmpeg on PATH: install one, or `pip install imageio-ffmpeg` (a static ffmpeg).")
    return str(imageio_ffmpeg.get_ffmpeg_exe())


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in [*OUT.glob("clip*.ts"), *OUT.glob("clip.*")]:
        old.unlink()
    exe = ffmpeg()
    base = [exe, "-hide_banner", "-loglevel", "error", "-y", *SOURCES, *ENCODING]
    subprocess.run([*base, "-movflags", "+faststart", str(OUT / "clip.mp4")], check=True)
    subprocess.run(
        [
            *base,
            "-f", "hls", "-hls_time", str(SEGMENT_SECONDS), "-hls_list_size", "0",
            "-hls_playlist_type", "vod", "-hls_segment_filename", str(OUT / "clip%d.ts"),
            str(OUT / "clip.m3u8"),
        ],
        check=True,
    )  # fmt: skip
    total = 0
    for path in sorted(OUT.iterdir()):
        total += path.stat().st_size
        print(f"{path.stat().st_size:>9,}  {path.relative_to(OUT.parent.parent)}")
    print(f"{total:>9,}  in all")
    if total > MAX_TOTAL_BYTES:
        sys.exit(f"resources/media/ is {total:,} bytes, over its {MAX_TOTAL_BYTES:,}: lower the bitrate")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
