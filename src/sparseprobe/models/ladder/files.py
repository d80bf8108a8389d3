"""Writing a rung's files safely: stale temporaries, the tokenizer copy, the atomic rename, the report."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

from sparseprobe.models.ladder.spec import LadderError, TrainingReport

_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def remove_stale_temps(out_path: Path) -> list[Path]:
    """Remove the ``.{name}.tmp-<uuid>`` files and directories a killed run for ``out_path``
    left beside it (a kill skips the ``finally`` that removes them); returns what was removed.
    Safe because Snakemake never runs two jobs for one output at once."""
    out_path = Path(out_path)
    stale = sorted(out_path.parent.glob(f".{out_path.name}.tmp-*"))
    for path in stale:
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return stale


def copy_tokenizer(src: Path, dst: Path, model_max_length: int) -> None:
    """Copy the tokenizer files, setting ``model_max_length`` to the context length.

    (Copying rather than ``from_pretrained`` + ``save_pretrained``: transformers 5 would
    add loading-time keys such as ``local_files_only`` to ``tokenizer_config.json``.)
    """
    for name in _TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)
    config_path = dst / "tokenizer_config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config["model_max_length"] = model_max_length
    config_path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")



def replace_dir(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, replacing an existing ``dst`` directory."""
    if dst.exists() or dst.is_symlink():
        trash = dst.with_name(f".{dst.name}.old-{uuid.uuid4().hex}")
        os.replace(dst, trash)
        try:
            os.replace(src, dst)
        except BaseException:
            os.replace(trash, dst)
            raise
        if trash.is_dir() and not trash.is_symlink():
            shutil.rmtree(trash, ignore_errors=True)
        else:
            trash.unlink(missing_ok=True)
    else:
        os.replace(src, dst)


def read_report(out_dir: Path) -> TrainingReport:
    """Load ``<out_dir>/training.json`` written by :func:`train_model`."""
    path = Path(out_dir) / "training.json"
    if not path.is_file():
        raise LadderError(f"no training.json in {out_dir}")
    return TrainingReport.from_json(path.read_text())
