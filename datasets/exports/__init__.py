"""Exports of frozen split versions: one module per format (jsonl, tabular for csv/parquet, npz,
llava, qevd, flex, croissant), the shared loader (data, labels), class balancing, the dataset
card and manifest, and the service that checks, writes and renames an export into place."""
