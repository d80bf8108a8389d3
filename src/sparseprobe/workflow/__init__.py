"""What the Snakemake rules call: the workflow plan (targets, probe jobs, job inputs and
resources, in :mod:`.plan`), job resource estimates (:mod:`.resources`) and job logging
(:mod:`.logs`)."""
