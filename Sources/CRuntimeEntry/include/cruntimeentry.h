#pragma once

/* 1 when the start-up constructor looked at the command line (always, in
   berth-runtime); referenced from Swift so the linker keeps this target. */
int berth_runtime_entry_ran(void);
