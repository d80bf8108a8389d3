"""What the Snakemake rules call: job resource estimates and job logging."""
