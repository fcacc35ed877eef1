"""One module per stream: which endpoint it reads, how it pages, how records become rows, what state it keeps."""
