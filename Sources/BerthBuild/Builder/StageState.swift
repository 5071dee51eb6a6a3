// Where a stage is after each step: the image holding its layers, the
// config it will have, the ARGs in scope and the cache key of the state.
import BerthImage
import BerthOCI

struct StageState: Sendable {
  /// The image whose layers this state has (the base, or an intermediate
  /// image); nil for `FROM scratch` before its first layer.
  var layers: ImageRecord?
  /// The image config so far: runnable config, diff ids and history.
  var image: ImageConfig
  var key: String
  /// ARG values in scope (declared in this stage, or predefined and declared).
  var args: [String: String] = [:]
  /// Layers this build added (for --squash).
  var newLayers = 0

  var config: ImageConfig.Config {
    get { image.config ?? ImageConfig.Config() }
    set { image.config = newValue }
  }

  var env: [String] { config.env ?? [] }

  /// A variable as instructions see it: ENV wins over ARG, as docker has it.
  func lookup(_ name: String) -> String? {
    for entry in env.reversed() {
      let parts = entry.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
      if parts.first.map(String.init) == name { return parts.count > 1 ? String(parts[1]) : "" }
    }
    return args[name]
  }

  mutating func setEnv(_ name: String, _ value: String) {
    var list = env.filter { !$0.hasPrefix(name + "=") && $0 != name }
    list.append(name + "=" + value)
    config.env = list
  }

  /// The shell for shell-form commands: SHELL's, else /bin/sh -c.
  var shell: [String] { config.shell ?? ["/bin/sh", "-c"] }

  var workingDir: String { config.workingDir.flatMap { $0.isEmpty ? nil : $0 } ?? "/" }
}
