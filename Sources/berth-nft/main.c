// berth-nft: runs one nft script, read from standard input, through
// Debian's libnftables as one kernel transaction (all of it or nothing).
//
// The berth CLI is a static executable: no dynamic loader work at each of
// its starts. libnftables ships only as a shared library (with five more
// behind it), and loading one into a static program would bring a second
// libc into it, so the firewall changes run here, in this small dynamic
// helper installed beside berth-monitor.
//
// Exit status: 0 done; 1 nft refused the script (its error on stderr);
// 125 the script could not be read or libnftables gave no context.
#include <nftables/libnftables.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { script_limit = 16 << 20 };

int main(void) {
  size_t capacity = 64 << 10, length = 0;
  char *script = malloc(capacity);
  for (;;) {
    if (!script) {
      fputs("berth-nft: out of memory\n", stderr);
      return 125;
    }
    if (length + 1 == capacity) {
      if (capacity >= script_limit) {
        fputs("berth-nft: the script is over 16 MiB\n", stderr);
        return 125;
      }
      capacity *= 2;
      script = realloc(script, capacity);
      continue;
    }
    ssize_t count = read(0, script + length, capacity - 1 - length);
    if (count == 0) break;
    if (count < 0) {
      perror("berth-nft: cannot read the script");
      return 125;
    }
    length += (size_t)count;
  }
  script[length] = 0;

  struct nft_ctx *context = nft_ctx_new(NFT_CTX_DEFAULT);
  if (!context) {
    fputs("berth-nft: libnftables gave no context\n", stderr);
    return 125;
  }
  nft_ctx_buffer_output(context);
  nft_ctx_buffer_error(context);
  int status = nft_run_cmd_from_buffer(context, script) == 0 ? 0 : 1;
  if (status != 0) {
    const char *message = nft_ctx_get_error_buffer(context);
    fputs(message && *message ? message : "nft failed\n", stderr);
  }
  nft_ctx_free(context);
  free(script);
  return status;
}
