"""One model's results as a page of the HTML report: the headline beside the paper's pythia-70m
figures, chosen on test vs chosen on validation, the per-category F1s and peak layers, and the
strongest neuron candidates with their top contexts.

The numbers are those of docs/results.md (:mod:`sparseprobe.report.results_doc`, the same
functions over the same tables), for every model of a run rather than one model beside another.
Like them, the page describes this run only: every "best" is chosen on the split that
``summaries.selection`` names (validation by default) and reported on test; a single-neuron F1 at
or above 0.9 names a candidate, not a neuron shown to be dedicated to the feature.
"""

from __future__ import annotations

import html

from markdown_it import MarkdownIt

from sparseprobe.report.results_doc import (
    CATEGORY_TEXT,
    NEURONS_TEXT,
    Run,
    category_table,
    headline_sections,
    markdown,
    neuron_section,
    shape_of,
)

PAGE_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 72rem; margin: 1.5rem auto;
       padding: 0 1rem; line-height: 1.45; color: #1a1a1a; }
table { border-collapse: collapse; margin: 0.8rem 0 1.2rem; font-size: 0.92rem; }
th, td { border: 1px solid #c8c8c8; padding: 0.25rem 0.55rem; text-align: left;
         vertical-align: top; }
th { background: #f0f0f0; }
tr:nth-child(even) td { background: #fafafa; }
code { font-size: 0.88rem; background: #f4f4f4; padding: 0 0.2rem; }
"""


def model_page(run: Run, n_neurons: int = 10) -> str:
    """The page's Markdown for one model of a finished run."""
    lines = [
        f"# Results: {run.model}",
        "",
        f"{shape_of(run)}; {run.config} (results of commit `{run.commit()}`). Generated "
        "from this run's tables by the "
        "workflow's `results_page` rule; docs/results.md is the same text for a model beside "
        "another (`sparseprobe results-doc`).",
        "",
        *headline_sections([run], [run]),
        "## Per category",
        "",
        CATEGORY_TEXT,
        "",
        markdown(category_table(run)),
        "",
        "## Strongest monosemantic neuron candidates",
        "",
        NEURONS_TEXT,
        "",
        *neuron_section(run, n_neurons),
        "",
    ]
    return "\n".join(lines)


def to_html(text: str, title: str) -> str:
    """A standalone HTML page of Markdown ``text`` (CommonMark with tables; raw HTML in the
    text is escaped, except the ``<br>`` line breaks the neuron table uses)."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    body = parser.render(text).replace("&lt;br&gt;", "<br>")
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{html.escape(title)}</title>\n<style>{PAGE_STYLE}</style>\n</head>\n"
            f"<body>\n{body}</body>\n</html>\n")
