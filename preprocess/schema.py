"""The shard and errors schemas: the one place that defines what a shard row holds."""

from __future__ import annotations

import pyarrow as pa

PIPELINE_VERSION = "2"  # 2: crop_scale, source_video

SHARD_SCHEMA = pa.schema([
    # ids
    ("clip_id", pa.string()),
    ("dataset", pa.string()),
    ("split", pa.string()),
    ("speaker_id", pa.string()),
    ("video_id", pa.string()),
    ("source_path", pa.string()),
    ("transcript", pa.string()),
    # timing
    ("fps", pa.int16()),
    ("n_frames", pa.int32()),
    ("start_s", pa.float32()),  # where the kept frames start in the source video
    # video
    ("frames", pa.list_(pa.binary())),  # JPEG face crops
    ("crop_size", pa.int16()),
    ("crop_scale", pa.float32()),  # growth of the face box before cropping
    ("source_video", pa.binary()),  # the source file's bytes for small (face-centred) sources, else null
    ("boxes", pa.list_(pa.list_(pa.float32(), 4))),  # face box per frame, source pixels
    # audio
    ("audio", pa.binary()),  # 16 kHz mono PCM16 little-endian, n_frames * 640 samples
    ("sample_rate", pa.int32()),
    ("mel", pa.list_(pa.list_(pa.float16()))),  # Wav2Lip mel [80][T]
    # sync
    ("av_offset", pa.int8()),  # offset found before correction (syncnet_python sign)
    ("sync_conf", pa.float32()),
    ("sync_dist", pa.float32()),  # SyncNet LSE-D at that offset; NaN for the energy method
    ("sync_method", pa.string()),  # syncnet | energy | none
    ("offset_applied", pa.bool_()),
    # provenance
    ("pipeline_version", pa.string()),
    ("detector", pa.string()),
])

ERRORS_SCHEMA = pa.schema([
    ("clip_id", pa.string()),
    ("source_path", pa.string()),
    ("stage", pa.string()),  # decode | detect | track | sync | features | listed
    ("reason", pa.string()),  # short code: missing_file, corrupt, no_audio, no_face, too_short, out_of_sync, ...
    ("message", pa.string()),  # human-readable: the file and what is wrong
])

# what a processing batch returns: a shard row or an error row, told apart by `ok`
RESULT_SCHEMA = pa.schema(list(SHARD_SCHEMA) + [
    ("ok", pa.bool_()),
    ("error_stage", pa.string()),
    ("error_reason", pa.string()),
    ("error_message", pa.string()),
])
