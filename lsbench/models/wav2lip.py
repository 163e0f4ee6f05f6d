"""Wav2Lip's official checkpoints. The generator port lands with issue 6; the files are
declared here, next to where the model will live, so `lsbench weights` can fetch them now."""

from ..weights import WeightSpec

_SP = ("https://iiitaphyd-my.sharepoint.com/personal/radrabha_m_research_iiit_ac_in/_layouts/15/"
       "download.aspx?SourceUrl=%2Fpersonal%2Fradrabha%5Fm%5Fresearch%5Fiiit%5Fac%5Fin%2FDocuments%2F"
       "Wav2Lip%5FModels%2F")

WEIGHTS = [
    WeightSpec("wav2lip", "wav2lip.pth", _SP + "wav2lip%2Epth", None, None, "wav2lip",
               note="sha-256 not published; pinned in the lock file on first download"),
    WeightSpec("wav2lip_gan", "wav2lip_gan.pth", _SP + "wav2lip%5Fgan%2Epth", None, None, "wav2lip",
               note="sha-256 not published; pinned in the lock file on first download"),
    WeightSpec("lipsync_expert", "lipsync_expert.pth", _SP + "lipsync%5Fexpert%2Epth", None, None, "wav2lip",
               note="sha-256 not published; pinned in the lock file on first download"),
]
