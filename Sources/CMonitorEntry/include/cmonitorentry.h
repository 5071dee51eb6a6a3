#pragma once

/* 1 when berth-monitor's start-up constructor has already forked away from
   its starter (a rootful `start-when-told`): main then only becomes the
   monitor. Referenced from Swift, which also keeps this target linked in. */
int berth_monitor_detached_early(void);
