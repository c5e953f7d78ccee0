"""Channel adapters: provider update → ``Message``, ``Reply`` → provider call. Nothing else."""
