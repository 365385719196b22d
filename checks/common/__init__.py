"""What several check families share (split-tunnel decisions, tunnel probes)."""
