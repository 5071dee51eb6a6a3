import Glibc

public enum Signal {
  static let table: [String: Int32] = [
    "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP,
    "ABRT": SIGABRT, "IOT": SIGIOT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL,
    "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM,
    "TERM": SIGTERM, "STKFLT": SIGSTKFLT, "CHLD": SIGCHLD, "CONT": SIGCONT, "STOP": SIGSTOP,
    "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG, "XCPU": SIGXCPU,
    "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF, "WINCH": SIGWINCH, "IO": SIGIO,
    "POLL": SIGPOLL, "PWR": SIGPWR, "SYS": SIGSYS,
  ]

  /// Parses "TERM", "SIGTERM", "sigterm", "15", or "RTMIN+3".
  public static func parse(_ text: String) throws(BerthError) -> Int32 {
    if let n = Int32(text), n > 0, n <= 64 { return n }
    var name = text.uppercased()
    if name.hasPrefix("SIG") { name.removeFirst(3) }
    if let n = table[name] { return n }
    let rtmin = Int32(34)
    let rtmax = Int32(64)
    if name == "RTMIN" { return rtmin }
    if name == "RTMAX" { return rtmax }
    if name.hasPrefix("RTMIN+"), let k = Int32(name.dropFirst(6)), rtmin + k <= rtmax {
      return rtmin + k
    }
    if name.hasPrefix("RTMAX-"), let k = Int32(name.dropFirst(6)), rtmax - k >= rtmin {
      return rtmax - k
    }
    throw BerthError(
      .invalidArgument, "unknown signal \"\(text)\"",
      hint: "use a name such as TERM or KILL, or a number from 1 to 64")
  }
}
