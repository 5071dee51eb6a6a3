import Glibc

public enum Rlimit {
  static let resources: [String: Int32] = [
    "RLIMIT_CPU": 0, "RLIMIT_FSIZE": 1, "RLIMIT_DATA": 2, "RLIMIT_STACK": 3, "RLIMIT_CORE": 4,
    "RLIMIT_RSS": 5, "RLIMIT_NPROC": 6, "RLIMIT_NOFILE": 7, "RLIMIT_MEMLOCK": 8, "RLIMIT_AS": 9,
    "RLIMIT_LOCKS": 10, "RLIMIT_SIGPENDING": 11, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
    "RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": 15,
  ]

  public static func resource(_ name: String) -> Int32? { resources[name] }

  /// setrlimit with an error that says why raising a hard limit fails.
  public static func set(_ name: String, soft: UInt64, hard: UInt64) throws(BerthError) {
    guard let resource = resources[name] else {
      throw BerthError(
        .invalidArgument, "unknown rlimit \"\(name)\"", hint: "use names such as RLIMIT_NOFILE")
    }
    var limit = rlimit(rlim_cur: rlim_t(soft), rlim_max: rlim_t(hard))
    if setrlimit(__rlimit_resource_t(UInt32(resource)), &limit) != 0 {
      let errno = currentErrno
      var current = rlimit()
      getrlimit(__rlimit_resource_t(UInt32(resource)), &current)
      throw .system(
        "cannot set \(name) to soft \(soft) hard \(hard)", errno,
        hint: errno == .notPermitted
          ? "the hard limit here is \(current.rlim_max) and raising it needs CAP_SYS_RESOURCE; ask for at most that"
          : nil)
    }
  }
}
