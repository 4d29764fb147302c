"""Importers of the public dataset formats (RepCount-A, Fitness-AQA, QEVD, FLEX, FormLab jsonl,
plain split CSV): safe file reading, one parser per format, and the writer that stores a whole
import in one transaction."""
