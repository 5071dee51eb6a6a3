import ArgumentParser
import BerthImage
import BerthOCI
import Glibc

struct Login: AsyncParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Log in to a registry.")

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
    guard let username else { throw ValidationError("give --username") }
    var secret = password
    if passwordStdin { secret = readLine(strippingNewline: true) }
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

struct Logout: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Log out of a registry.")

  @OptionGroup var global: GlobalOptions

  @Option(help: "Path of the authentication file.")
  var authfile: String?

  @Argument(help: "Registry host.")
  var registry: String

  func run() throws {
    let removed = try AuthFile(path: authfile).store(nil, for: registry)
    print(removed ? "Removed login credentials for \(registry)" : "Not logged into \(registry)")
  }
}
