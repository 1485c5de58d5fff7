"""The preview: the static host, live reload and the watcher; none of them imports the build."""
