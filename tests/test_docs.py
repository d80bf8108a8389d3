"""docs/datasets.md is generated from the code and the default config: it must not drift."""

from pathlib import Path

from sparseprobe.datasets.docs import configured_datasets, render

ROOT = Path(__file__).resolve().parent.parent


def test_datasets_page_matches_the_code():
    expected = render(configured_datasets(ROOT))
    actual = (ROOT / "docs" / "datasets.md").read_text()
    assert actual == expected, "regenerate: python -m sparseprobe.datasets.docs > docs/datasets.md"
