"""Development aids: the benchmark, the fresh-clone check of the quick start, make clean."""
