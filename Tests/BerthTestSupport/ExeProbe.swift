/// CVE-2019-5736 probe: a shell command that runs `exec c sleep 1.5`
/// with the runtime command in $RT (split into words: binary and flags), holds /proc/PID/exe of that runtime process as
/// an attacker in the container would, waits for it to exit, and then
/// tries to write through it. It prints what the exe was ("memfd" or
/// "file") and how the write went: an errno name, or WRITABLE.
/// The exec lives 1.5 s and the probe opens its exe after 0.2 s, a margin
/// for a loaded machine.
public enum ExeProbe {
  public static let command = "$RT exec c sleep 1.5 & p=$!; sleep 0.2; python3 -c \"$PROBE\" $p"

  public static let python = """
    import errno, os, sys, time
    pid = sys.argv[1]
    kind = "memfd" if os.readlink(f"/proc/{pid}/exe").startswith("/memfd:") else "file"
    held = os.open(f"/proc/{pid}/exe", os.O_PATH)
    while os.path.exists(f"/proc/{pid}/exe"):
        time.sleep(0.05)
    # On a loaded machine the file can still count as executing for a
    # moment after the process is gone (ETXTBSY): asked again until the
    # answer is the file's own.
    for attempt in range(40):
        try:
            fd = os.open(f"/proc/self/fd/{held}", os.O_RDWR)
            # A sealed memfd opens read-write but refuses the write (here an
            # append, which would only lengthen the test's own copy).
            os.pwrite(fd, b"\\0", os.fstat(fd).st_size)
            print(kind, "WRITABLE")
            break
        except OSError as e:
            if e.errno == errno.ETXTBSY and attempt < 39:
                time.sleep(0.05)
                continue
            print(kind, errno.errorcode[e.errno])
            break
    """

  /// The environment the command needs.
  public static func environment(runtime: String) -> [String: String] {
    ["RT": runtime, "PROBE": python]
  }
}
