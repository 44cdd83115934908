// A guest that imports something the adapter does not provide (WASI's
// fd_write): loading it must fail with a message naming the import.
#include <stdint.h>

__attribute__((import_module("wasi_snapshot_preview1"), import_name("fd_write"))) int32_t FdWrite(
    int32_t fd, int32_t iovs, int32_t iovs_len, int32_t written);

__attribute__((export_name("run"))) int32_t run(void) { return FdWrite(1, 0, 0, 0); }
