"""What a build keeps: the caches on disk, the build's inputs, the reads a page made; posts and bodies read through them."""
