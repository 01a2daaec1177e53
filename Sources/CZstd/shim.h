// Zstandard, for zstd-compressed WAL segments (barman-cloud's `.zst`).
#include <zstd.h>
