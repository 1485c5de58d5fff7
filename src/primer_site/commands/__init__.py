"""The commands: the build pipeline (the one place the stage order is written), check, serve, new, and the CLI."""
