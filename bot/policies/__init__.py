"""Pure decisions: each module turns a snapshot and the repository config into data to apply."""
