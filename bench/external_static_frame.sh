#!/usr/bin/env bash
# An external "model" that uses nothing but ffmpeg: the static-frame reference row re-done outside
# lsbench. For every line of TASK/pairs.csv it freezes the target's reference frame for n_frames
# frames and puts the pair's speech under it, losslessly (FFV1 + PCM), as TASK/task.json asks.
#   bench/external_static_frame.sh TASK_DIR OUT_DIR
# then: lsbench evaluate --generated OUT_DIR --name static-frame-ffmpeg --task TASK_DIR --data SHARDS
set -euo pipefail
task=${1:?usage: $0 TASK_DIR OUT_DIR}
out=${2:?usage: $0 TASK_DIR OUT_DIR}
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tail -n +2 "$task/pairs.csv" | while IFS=, read -r pair_id target_clip speech_clip ref_frame n_frames fps width height \
    target_video speech_wav output; do
  output=${output%$'\r'}  # a pairs.csv saved with CRLF line ends
  ref=$ref_frame
  [ "$ref" -lt 0 ] && ref=0  # -1: each frame is its own reference; freeze the first
  ffmpeg -v error -nostdin -y -i "$task/$target_video" -vf "select=eq(n\,$ref)" -frames:v 1 "$tmp/ref.png"
  ffmpeg -v error -nostdin -y -loop 1 -framerate "$fps" -i "$tmp/ref.png" -i "$task/$speech_wav" \
    -frames:v "$n_frames" -map 0:v -map 1:a -c:v ffv1 -pix_fmt bgr0 -c:a pcm_s16le "$out/$output"
done
echo "wrote $(ls "$out" | wc -l) videos to $out"
