"""Who runs a pipeline's steps: `base` (the seam and the local executor), the Ray executor
(`ray_driver` in the driver, `ray_task` on the workers, `ray_cluster` for the connection)."""
