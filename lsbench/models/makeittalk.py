"""MakeItTalk's four official checkpoints (issue 9 brings the port)."""

from ..weights import WeightSpec

_PAGE = "https://github.com/yzhou359/MakeItTalk#pre-trained-models"
_NOTE = "The authors publish it on Google Drive, linked from the MakeItTalk README."
WEIGHTS = [
    WeightSpec(f"makeittalk_{part}", fname, _PAGE, None, None, "makeittalk", direct=False, note=_NOTE)
    for part, fname in [
        ("autovc", "ckpt_autovc.pth"),
        ("content_branch", "ckpt_content_branch.pth"),
        ("speaker_branch", "ckpt_speaker_branch.pth"),
        ("i2i", "ckpt_116_i2i_comb.pth"),
    ]
]
