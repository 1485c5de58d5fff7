"""Publishing: outputs → the output folder (staging and swap, the in-place writer, the search index, the last build)."""
