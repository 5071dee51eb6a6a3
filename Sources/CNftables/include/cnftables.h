// Debian's libnftables: nft's own parser and netlink code in process, so a
// rule change is one library call, not a `nft` process per container.
#pragma once
#include <nftables/libnftables.h>
