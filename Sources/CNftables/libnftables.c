// libnftables' functions that berth calls, loaded on first use (see
// lazy_library.h): only commands that change firewall rules need it.
#include "cnftables.h"
#include "lazy_library.h"

static struct berth_lazy_library libnftables = BERTH_LAZY_LIBRARY("libnftables.so.1", "libnftables1");

BERTH_LAZY_FUNCTION(libnftables, struct nft_ctx *, nft_ctx_new, (uint32_t flags), (flags))
BERTH_LAZY_VOID_FUNCTION(libnftables, nft_ctx_free, (struct nft_ctx * context), (context))
BERTH_LAZY_FUNCTION(libnftables, int, nft_ctx_buffer_output, (struct nft_ctx * context), (context))
BERTH_LAZY_FUNCTION(libnftables, int, nft_ctx_buffer_error, (struct nft_ctx * context), (context))
BERTH_LAZY_FUNCTION(libnftables, const char *, nft_ctx_get_error_buffer, (struct nft_ctx * context),
                    (context))
BERTH_LAZY_FUNCTION(libnftables, int, nft_run_cmd_from_buffer,
                    (struct nft_ctx * context, const char *commands), (context, commands))
