"""What the Snakemake rules and the ``sparseprobe`` command call: the workflow plan (targets,
probe jobs, job inputs and resources, in :mod:`.plan`), job resource estimates
(:mod:`.resources`), job logging (:mod:`.logs`), the job-time table of a finished run
(:mod:`.timings`), the checks of stores and tables (:mod:`.verify`), the comparison of two
result trees (:mod:`.compare`) and the DAG-time checks of a config (:mod:`.preflight`)."""
