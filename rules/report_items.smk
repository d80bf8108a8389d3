# The summary tables' HTML pages as report items (rules/report.smk writes them beside the
# Parquet files; sparseprobe.report.tables renders them).


def table_page(parquet, caption, subcategory, labels):
    """The HTML page of a summary table (beside it), as a report item."""
    return report(
        parquet.replace(".parquet", ".html"),
        caption=f"../report/tables/{caption}.rst",
        category="tables",
        subcategory=subcategory,
        labels=labels,
    )


def model_table_page(table, caption, label):
    return table_page(
        f"results/summaries/models/{{model}}/{table}.parquet",
        caption,
        "per model",
        {"model": "{model}", "table": label},
    )


def family_table_page(suffix, caption, label):
    return table_page(
        f"results/summaries/scaling/{{family}}{suffix}.parquet",
        caption,
        "per family",
        {"family": "{family}", "table": label},
    )
