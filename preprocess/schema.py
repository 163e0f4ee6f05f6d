"""The shard and errors schemas: the one place that defines what a shard row holds.

Everything else derives from COLUMNS: the Parquet schema (with a description of every field
in its metadata, so `pq.read_schema(f)` explains itself), the row the stages build
(`make_row` refuses a missing or unknown column), the columns each reader asks for
(`columns_for("train" | "eval" | "card" | "resume" | "validate")`), and the README table
(`markdown_table`, checked by a test). Change a column here and bump PIPELINE_VERSION.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, FrozenSet, List

import pyarrow as pa

# 2: words (word timings), word_duration (LRW), crop_scale and source_video columns, source_path absolute,
#    detector resolved (never "auto"), the version and descriptions in the Parquet metadata
PIPELINE_VERSION = "2"
VERSION_KEY = b"lsbench.pipeline_version"  # Parquet schema metadata: a file's version without reading a row


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    description: str
    uses: FrozenSet[str] = frozenset()  # readers that need it: train, eval, card, resume, validate


def _col(name: str, type_: pa.DataType, description: str, *uses: str) -> Column:
    return Column(name, type_, description, frozenset(uses))


WORD = pa.struct([("word", pa.string()), ("start", pa.float32()), ("end", pa.float32()), ("asd", pa.float32())])

COLUMNS: List[Column] = [
    # ids
    _col("clip_id", pa.string(), "unique id: dataset/split/the clip's path in the corpus, without extension",
         "train", "eval", "card", "resume", "validate"),
    _col("dataset", pa.string(), "corpus name (lrs2, lrs3, lrw, voxceleb2, hdtf)", "eval"),
    _col("split", pa.string(), "the corpus's split (lrs2: train/val/test/pretrain; lrs3: pretrain/trainval/test; "
                               "lrw: train/val/test; voxceleb2: dev/test; hdtf: train/test, lsbench's)", "train",
         "eval", "card", "validate"),
    _col("speaker_id", pa.string(), "speaker (VoxCeleb2 idXXXXX, LRS3 speaker id, HDTF identity); the video id for "
                                    "LRS2; empty for LRW"),
    _col("video_id", pa.string(), "source video the clip was cut from (LRS2 videoid, VoxCeleb2 YouTube id, HDTF "
                                  "CATEGORY_Name)"),
    _col("source_path", pa.string(), "absolute path of the clip's video file when it was processed", "eval"),
    _col("transcript", pa.string(), "the corpus's text (LRS2 `Text:` line, LRW word); empty when none"),
    _col("words", pa.list_(WORD), "word timings (LRS2 pretrain, LRS3): word, start and end in seconds of the source "
                                  "clip, ASD score; null when the corpus gives none"),
    _col("word_duration", pa.float32(), "LRW: the `Duration:` of the word in seconds (centred in the clip); "
                                        "null elsewhere"),
    # timing
    _col("fps", pa.int16(), "frame rate of frames/boxes (always 25)"),
    _col("n_frames", pa.int32(), "number of frames kept (after the offset correction)",
         "train", "eval", "card", "validate"),
    _col("start_s", pa.float32(), "where the kept frames start in the source video, in seconds", "eval"),
    # video
    _col("frames", pa.list_(pa.binary()), "n_frames JPEG face crops, RGB, crop_size x crop_size", "train"),
    _col("crop_size", pa.int16(), "side of the square face crops in pixels", "card", "validate", "eval"),
    _col("crop_scale", pa.float32(), "growth of the face box before cropping (0.4 = syncnet_python's crops)", "card",
         "validate", "eval"),
    _col("source_video", pa.binary(), "the source video file's bytes for small, face-centred sources (at most "
                                      "256x256 px per frame: LRS2, LRS3, LRW, VoxCeleb2), so evaluation can rebuild the full "
                                      "frames the official scripts score; null for larger sources (decoded again "
                                      "from source_path)", "eval"),
    _col("boxes", pa.list_(pa.list_(pa.float32(), 4)), "face box per kept frame (x1, y1, x2, y2) in source pixels, "
                                                        "clipped to the frame, before the crop's growth", "eval"),
    # audio
    _col("audio", pa.binary(), "16 kHz mono PCM16 little-endian, n_frames x 640 samples, aligned to frames",
         "train", "eval"),
    _col("sample_rate", pa.int32(), "audio sample rate (always 16000)"),
    _col("mel", pa.list_(pa.list_(pa.float16())), "Wav2Lip log-mel spectrogram of audio, float16 [80][T], "
                                                   "T = 1 + n_frames * 640 // 200", "train"),
    # sync
    _col("av_offset", pa.int8(), "audio-video offset found before correction, frames (syncnet_python sign: "
                                 "positive = audio leads); 0 when sync_method is none", "card"),
    _col("sync_conf", pa.float32(), "confidence of the offset (SyncNet LSE-C, or energy peak height); "
                                    "NaN when not measured", "card"),
    _col("sync_dist", pa.float32(), "SyncNet LSE-D at that offset; NaN for the energy method and none"),
    _col("sync_method", pa.string(), "how the offset was measured: syncnet | energy | none (not measured, "
                                     "kept unshifted)", "card", "validate"),
    _col("offset_applied", pa.bool_(), "true when frames and audio were cut to correct a non-zero offset", "eval"),
    # provenance
    _col("pipeline_version", pa.string(), "version of this row layout (preprocess.schema.PIPELINE_VERSION)",
         "validate"),
    _col("detector", pa.string(), "face detector that ran (resolved name, never auto)", "card", "validate"),
]

_BY_NAME: Dict[str, Column] = {c.name: c for c in COLUMNS}

SHARD_SCHEMA = pa.schema([pa.field(c.name, c.type, metadata={"description": c.description}) for c in COLUMNS],
                         metadata={VERSION_KEY: PIPELINE_VERSION.encode()})

ERRORS_SCHEMA = pa.schema([
    pa.field("clip_id", pa.string(), metadata={"description": "the clip's id, as in the shards"}),
    pa.field("source_path", pa.string(), metadata={"description": "absolute path of the clip's video file"}),
    pa.field("stage", pa.string(), metadata={"description": "where it failed: listed | decode | detect | sync | internal"}),
    pa.field("reason", pa.string(), metadata={"description": "short code: missing_file, empty_file, corrupt, no_audio, "
                                                             "no_video, no_face, face_lost, bad_box, too_short, "
                                                             "too_long, silent_audio, out_of_sync, sync_failed, ..."}),
    pa.field("message", pa.string(), metadata={"description": "human-readable: the file and what is wrong"}),
], metadata={VERSION_KEY: PIPELINE_VERSION.encode()})

# what a processing batch returns: a shard row or an error row, told apart by `ok`
RESULT_SCHEMA = pa.schema(list(SHARD_SCHEMA) + [
    ("ok", pa.bool_()),
    ("error_stage", pa.string()),
    ("error_reason", pa.string()),
    ("error_message", pa.string()),
])


def columns_for(use: str) -> List[str]:
    """The columns a reader (train, eval, card, resume, validate) reads, in schema order."""
    names = [c.name for c in COLUMNS if use in c.uses]
    if not names:
        raise KeyError(f"no shard column is marked for {use!r}")
    return names


def check_columns(names) -> List[str]:
    """`names` as a list, refusing one the shard row does not have (a reader's typo fails here)."""
    unknown = [n for n in names if n not in _BY_NAME]
    if unknown:
        raise KeyError(f"not a shard column: {', '.join(unknown)} (columns: {', '.join(_BY_NAME)})")
    return list(names)


def make_row(**values) -> dict:
    """A shard row with exactly the schema's columns: a column added to COLUMNS but not filled
    in by the stages (or a stray one) fails here, not in a reader months later."""
    missing = [n for n in _BY_NAME if n not in values]
    extra = [n for n in values if n not in _BY_NAME]
    if missing or extra:
        raise ValueError(f"shard row does not match preprocess.schema.COLUMNS: missing {missing}, unknown {extra}")
    return {n: values[n] for n in _BY_NAME}


def description(name: str) -> str:
    return _BY_NAME[name].description


def markdown_table() -> str:
    """The README's shard-column table, generated from COLUMNS."""
    lines = ["| column | Arrow type | meaning |", "|---|---|---|"]
    lines += [f"| `{c.name}` | `{c.type}` | {c.description.replace('|', '/')} |" for c in COLUMNS]
    return "\n".join(lines)
