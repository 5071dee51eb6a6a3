import ArgumentParser
import BerthImage
import BerthOCI
import Glibc

struct Login: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "login", abstract: "Log in to a registry.")

  @OptionGroup var global: GlobalOptions

  @Option(name: .customLong("tls-verify"), help: "Require HTTPS and verify certificates.")
  var tlsVerify: Bool?

  @Option(help: "Path of the authentication file.")
  var authfile: String?

  @Option(name: .shortAndLong, help: "Username.")
  var username: String?

  @Option(name: .shortAndLong, help: "Password (prefer --password-stdin).")
  var password: String?

  @Flag(help: "Read the password from standard input.")
  var passwordStdin = false

  @Argument(help: "Registry host, e.g. localhost:5000.")
  var registry: String

  func run() async throws {
    var username = self.username
    if username == nil && isatty(0) == 1 {
      printPrompt("Username: ")
      username = readLine(strippingNewline: true)
    }
    guard let username, !username.isEmpty else { throw ValidationError("give --username") }
    var secret = password
    if passwordStdin {
      secret = readLine(strippingNewline: true)
    } else if secret == nil && isatty(0) == 1 {
      secret = readSecret("Password: ")
    }
    guard let secret else { throw ValidationError("give --password or --password-stdin") }
    let credentials = Credentials(username: username, password: secret)
    let file = AuthFile(path: authfile)
    let client = try RegistryClient(
      domain: registry,
      options: RegistryOptions(tlsVerify: tlsVerify, authFile: file, credentials: credentials))
    do {
      try await client.ping()
      await client.shutdown()
    } catch {
      await client.shutdown()
      throw error
    }
    try file.store(credentials, for: registry)
    print("Login Succeeded!")
  }
}

/// Prompts on standard error, as podman does, so stdout stays clean.
private func printPrompt(_ text: String) {
  let bytes = Array(text.utf8)
  _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
}

/// Reads a line from the terminal with echo off.
private func readSecret(_ prompt: String) -> String? {
  printPrompt(prompt)
  var saved = termios()
  let haveTerminal = tcgetattr(0, &saved) == 0
  if haveTerminal {
    var quiet = saved
    quiet.c_lflag &= ~tcflag_t(ECHO)
    _ = tcsetattr(0, TCSAFLUSH, &quiet)
  }
  defer {
    if haveTerminal {
      _ = tcsetattr(0, TCSAFLUSH, &saved)
      printPrompt("\n")
    }
  }
  return readLine(strippingNewline: true)
}

struct Logout: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "logout", abstract: "Log out of a registry.")

  @OptionGroup var global: GlobalOptions

  @Option(help: "Path of the authentication file.")
  var authfile: String?

  @Flag(name: .shortAndLong, help: "Remove the credentials of every registry.")
  var all = false

  @Argument(help: "Registry host.")
  var registry: String?

  func validate() throws {
    if (registry == nil) == !all { throw ValidationError("give a registry or --all") }
  }

  func run() throws {
    let file = AuthFile(path: authfile)
    if all {
      try file.removeAll()
      print("Removed login credentials for all registries")
      return
    }
    let registry = registry ?? ""
    let removed = try file.store(nil, for: registry)
    print(removed ? "Removed login credentials for \(registry)" : "Not logged into \(registry)")
  }
}
