"""Training: `tinygpt train`'s loop, its optimizer, schedules, checkpoints and devices."""
