#pragma once

/* What the start-up constructor found (referenced from Swift, which also
   keeps this target linked in). */
enum berth_runtime_entry {
  BERTH_ENTRY_NOT_RUN = 0,        /* the constructor did not run: not linked in */
  BERTH_ENTRY_NOT_NEEDED = 1,     /* the command puts no process into a container */
  BERTH_ENTRY_PROTECTED = 2,      /* running from a copy nothing can write */
  BERTH_ENTRY_UNPROTECTED = 3,    /* needed, but the re-exec failed */
};
enum berth_runtime_entry berth_runtime_entry_state(void);
