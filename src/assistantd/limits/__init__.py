"""Rate-limit buckets, in-process or shared by every process through Redis."""
