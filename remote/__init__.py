"""Named, check-then-act shell steps that components run on the nodes over SSH."""
