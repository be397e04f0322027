"""One module per area; each defines `register(main)` adding its commands to the CLI group."""
